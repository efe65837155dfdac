//! What a handler consumer shows the outside world, against a real Apache Kafka (`KAFKA_BOOTSTRAP`): OpenTelemetry
//! semantic-convention spans (feature `otel`) with W3C `traceparent`/`tracestate` carried over two hops, Prometheus
//! text (feature `prometheus`), health and `ping`. One test per binary: it installs a global span collector.

mod support;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar::producer::ProducerRecord;
use kafkar_app::metrics::{ping, producer_prometheus};
use kafkar_app::trace::{TRACESTATE, send_traced};
use kafkar_app::{Delivery, TraceContext};
use support::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type Spans = Arc<Mutex<Vec<(String, BTreeMap<String, String>)>>>;

/// Collects every new span's name and fields.
struct Collector {
    spans: Spans,
    next: AtomicU64,
}

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Collector {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut fields = Fields(BTreeMap::new());
        attrs.record(&mut fields);
        self.spans.lock().unwrap().push((attrs.metadata().name().to_owned(), fields.0));
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// `name{labels} value` lines of a Prometheus text body (every other line a comment), by series.
fn series(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line:?}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
        assert!(out.insert(name.to_owned(), value).is_none(), "series {name} twice");
    }
    out
}

/// Checks the Prometheus histogram `name` in `m`: buckets cumulative in ascending `le` order, the last `+Inf`,
/// equal to `_count`, and a `_sum` of at least 0. Returns (count, sum).
fn histogram(m: &BTreeMap<String, f64>, name: &str) -> (f64, f64) {
    let prefix = format!("{name}_bucket{{le=\"");
    let mut buckets: Vec<(f64, f64)> = m
        .iter()
        .filter_map(|(k, v)| {
            let le = k.strip_prefix(&prefix)?.strip_suffix("\"}")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap_or_else(|_| panic!("bad le {k}")) };
            Some((le, *v))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(buckets.len() > 2, "{name}: buckets {buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{name}: buckets not cumulative: {buckets:?}");
    let (last_le, last) = buckets[buckets.len() - 1];
    assert_eq!(last_le, f64::INFINITY, "{name}: no +Inf bucket");
    let (count, sum) = (m[&format!("{name}_count")], m[&format!("{name}_sum")]);
    assert_eq!(last, count, "{name}: +Inf bucket is the count");
    assert!(sum >= 0.0, "{name}: sum {sum}");
    (count, sum)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_follow_the_semantic_conventions_and_metrics_export_as_prometheus_text() {
    let Some(bootstrap) = real_broker() else { return };
    let test_started = std::time::Instant::now();
    let spans: Spans = Arc::default();
    tracing::subscriber::set_global_default(Collector { spans: spans.clone(), next: AtomicU64::new(1) }).unwrap();
    let topic = unique("app-observe");
    let out = format!("{topic}-out");
    create_topic(&bootstrap, &topic, 2).await;
    create_topic(&bootstrap, &out, 1).await;
    let producer = producer(&bootstrap).await;
    ping(&producer, Duration::from_secs(10)).await.unwrap();

    // One record sent inside a trace with vendor state, then 19 more without.
    let mut root = TraceContext::parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
    root.tracestate = Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".into());
    let first = ProducerRecord::new(topic.as_str()).partition(0).key("k0").value("v0");
    root.clone().scope(send_traced(&producer, first)).await.unwrap().await.unwrap();
    for i in 1..20 {
        producer
            .send_forget(ProducerRecord::new(topic.as_str()).partition(i % 2).value(format!("v{i}")))
            .await
            .unwrap();
    }
    producer.flush().await;

    let group = unique("app-observe-group");
    let seen: Arc<Mutex<Vec<TraceContext>>> = Arc::default();
    let (s, p, out_topic) = (seen.clone(), producer.clone(), out.clone());
    let consumer = start(&bootstrap, &group, &topic, settings(), move |d: Delivery| {
        let (s, p, out_topic) = (s.clone(), p.clone(), out_topic.clone());
        async move {
            tokio::time::sleep(Duration::from_millis(3)).await;
            if d.record.key.as_deref() == Some(&b"k0"[..]) {
                s.lock().unwrap().push(d.trace.clone());
                let reply = ProducerRecord::new(out_topic.as_str()).value("reply");
                send_traced(&p, reply).await?.await?;
            }
            Ok(())
        }
    })
    .await;
    let monitor = consumer.monitor();
    let (shutdown, run) = spawn_run(consumer);
    eventually("every record handled", || monitor.metrics().records_handled == 20).await;
    // Let a commit tick store the consumer's metrics (lag) once everything is read.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let health = monitor.health(Duration::from_secs(5));
    assert!(health.healthy && health.assigned_partitions == 2, "{health:?}");
    let live = monitor.metrics();
    shutdown.trigger();
    run.await.unwrap().unwrap();
    assert!(!monitor.health(Duration::from_secs(5)).healthy, "not running after shutdown");

    // tracestate and the trace id survive both hops.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].trace_id, root.trace_id);
    assert_eq!(seen[0].tracestate, root.tracestate);
    let reply = &read(&bootstrap, &out, 1, 1).await[0];
    assert_eq!(header(reply, TRACESTATE).as_deref(), root.tracestate.as_deref().map(str::as_bytes));

    // The spans: send (producer) → process (consumer) → send (producer), in one trace.
    let spans = spans.lock().unwrap().clone();
    let trace_hex = root.trace_id_hex();
    let in_trace = |name: &str, otel_name: &str| {
        spans
            .iter()
            .filter(|(n, f)| {
                n == name
                    && f.get("trace_id") == Some(&trace_hex)
                    && f.get("otel.name").map(String::as_str) == Some(otel_name)
            })
            .map(|(_, f)| f.clone())
            .collect::<Vec<_>>()
    };
    let sends = in_trace("send", &format!("send {topic}"));
    assert_eq!(sends.len(), 1, "{spans:?}");
    let send = &sends[0];
    assert_eq!(send["otel.kind"], "producer");
    assert_eq!(send["messaging.system"], "kafka");
    assert_eq!(send["messaging.operation.type"], "send");
    assert_eq!(send["messaging.destination.name"], topic);
    assert_eq!(send["messaging.destination.partition.id"], "0");
    assert_eq!(send["messaging.kafka.message.key"], "k0");
    assert_eq!(send["messaging.message.body.size"], "2");
    let processes = in_trace("process", &format!("process {topic}"));
    assert_eq!(processes.len(), 1, "{spans:?}");
    let process = &processes[0];
    assert_eq!(process["otel.kind"], "consumer");
    assert_eq!(process["messaging.system"], "kafka");
    assert_eq!(process["messaging.operation.type"], "process");
    assert_eq!(process["messaging.operation.name"], "process");
    assert_eq!(process["messaging.destination.name"], topic);
    assert_eq!(process["messaging.destination.partition.id"], "0");
    assert_eq!(process["messaging.consumer.group.name"], group);
    assert_eq!(process["messaging.kafka.offset"], "0");
    assert_eq!(process["messaging.kafka.message.key"], "k0");
    assert_eq!(process["messaging.message.body.size"], "2");
    assert_ne!(process["span_id"], send["span_id"], "the process span is the send span's child");
    let replies = in_trace("send", &format!("send {out}"));
    assert_eq!(replies.len(), 1, "{spans:?}");
    assert_eq!(replies[0]["otel.kind"], "producer");
    let untraced = spans.iter().filter(|(n, f)| n == "process" && f.get("trace_id") != Some(&trace_hex)).count();
    assert_eq!(untraced, 19, "every other record in a process span of its own trace");

    // Prometheus text: the handler's counters and latency histogram, the consumer's lag, the producer's counters.
    let text = live.prometheus();
    let m = series(&text);
    assert_eq!(m["kafkar_handler_records_handled_total"], 20.0);
    assert_eq!(m["kafkar_handler_records_received_total"], 20.0);
    assert_eq!(m["kafkar_handler_dead_lettered_total"], 0.0);
    assert_eq!(m["kafkar_handler_latency_seconds_count"], 20.0);
    assert_eq!(m["kafkar_handler_latency_seconds_bucket{le=\"+Inf\"}"], 20.0);
    assert_eq!(m["kafkar_handler_latency_seconds_bucket{le=\"0.001\"}"], 0.0, "every call slept 3 ms");
    let (calls, sum) = histogram(&m, "kafkar_handler_latency_seconds");
    assert_eq!(calls, 20.0);
    assert!(sum >= 0.06, "{sum}");
    // The consumer's fetches: some answered, each within the consumer's life.
    let (fetches, fetch_time) = histogram(&m, "kafkar_consumer_fetch_latency_seconds");
    assert!(fetches > 0.0 && fetches <= m["kafkar_consumer_fetch_requests_total"], "{text}");
    assert!(fetch_time > 0.0 && fetch_time <= fetches * test_started.elapsed().as_secs_f64(), "{text}");
    assert_eq!(m["kafkar_handler_assigned_partitions"], 2.0);
    assert_eq!(m["kafkar_consumer_records_consumed_total"], 20.0);
    assert!(m["kafkar_consumer_bytes_consumed_total"] > 0.0);
    for p in 0..2 {
        assert_eq!(m[&format!("kafkar_consumer_lag{{topic=\"{topic}\",partition=\"{p}\"}}")], 0.0, "{text}");
    }
    assert!(text.contains("# TYPE kafkar_handler_latency_seconds histogram"));
    let pm = series(&producer_prometheus(&producer.metrics()));
    assert_eq!(pm["kafkar_producer_records_sent_total"], 21.0, "20 records and the reply");
    assert!(pm["kafkar_producer_bytes_sent_total"] > 0.0);
    assert_eq!(pm["kafkar_producer_record_errors_total"], 0.0);
    // One request latency observation per Produce request, each within the test's time.
    let (requests, request_time) = histogram(&pm, "kafkar_producer_request_latency_seconds");
    assert!(requests > 0.0, "{pm:?}");
    assert_eq!(requests, pm["kafkar_producer_requests_sent_total"]);
    assert!(request_time > 0.0 && request_time <= requests * test_started.elapsed().as_secs_f64(), "{pm:?}");
    producer.close().await;
}
