//! Counters of a handler consumer ([`HandlerMetrics`], a snapshot of them), its health ([`Health`]), a producer
//! [`ping`], and (feature `prometheus`) their Prometheus text form.

#[cfg(feature = "prometheus")]
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kafkar::consumer::ConsumerMetrics;
use kafkar::metrics::LatencyRecorder;
pub use kafkar::metrics::{LATENCY_BOUNDS, LatencyHistogram};
#[cfg(feature = "prometheus")]
use kafkar::producer::ProducerMetrics;

/// The live counters (shared by the poll loop and the partition workers).
#[derive(Debug)]
pub(crate) struct Counters {
    pub records_received: AtomicU64,
    pub records_handled: AtomicU64,
    pub handler_failures: AtomicU64,
    pub retries: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub dead_letter_failures: AtomicU64,
    pub retry_topic_forwards: AtomicU64,
    pub commits: AtomicU64,
    pub commit_failures: AtomicU64,
    /// Handler call durations.
    pub handler_latency: LatencyRecorder,
    pub batches: AtomicU64,
    pub assigned_partitions: AtomicUsize,
    pub paused_partitions: AtomicUsize,
    pub pending_records: AtomicUsize,
    pub started: Instant,
    /// Nanoseconds after `started` of the last poll.
    pub last_poll_nanos: AtomicU64,
    pub running: std::sync::atomic::AtomicBool,
    pub consumer: Mutex<Option<ConsumerMetrics>>,
}

impl Counters {
    pub fn new() -> Counters {
        Counters {
            records_received: AtomicU64::new(0),
            records_handled: AtomicU64::new(0),
            handler_failures: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            dead_letter_failures: AtomicU64::new(0),
            retry_topic_forwards: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            commit_failures: AtomicU64::new(0),
            handler_latency: LatencyRecorder::new(),
            batches: AtomicU64::new(0),
            assigned_partitions: AtomicUsize::new(0),
            paused_partitions: AtomicUsize::new(0),
            pending_records: AtomicUsize::new(0),
            started: Instant::now(),
            last_poll_nanos: AtomicU64::new(0),
            running: std::sync::atomic::AtomicBool::new(false),
            consumer: Mutex::new(None),
        }
    }

    pub fn handler_took(&self, d: Duration) {
        self.handler_latency.record(d);
    }

    pub fn polled(&self) {
        let n = self.started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        self.last_poll_nanos.store(n.max(1), Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HandlerMetrics {
        let handler_latency = self.handler_latency.snapshot();
        HandlerMetrics {
            records_received: self.records_received.load(Ordering::Relaxed),
            records_handled: self.records_handled.load(Ordering::Relaxed),
            handler_failures: self.handler_failures.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            dead_letter_failures: self.dead_letter_failures.load(Ordering::Relaxed),
            retry_topic_forwards: self.retry_topic_forwards.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            commit_failures: self.commit_failures.load(Ordering::Relaxed),
            handler_latency_avg: handler_latency.mean(),
            handler_latency_max: handler_latency.max,
            handler_latency,
            batches: self.batches.load(Ordering::Relaxed),
            assigned_partitions: self.assigned_partitions.load(Ordering::Relaxed),
            paused_partitions: self.paused_partitions.load(Ordering::Relaxed),
            pending_records: self.pending_records.load(Ordering::Relaxed),
            consumer: self.consumer.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    pub fn health(&self, max_poll_age: Duration) -> Health {
        let last = self.last_poll_nanos.load(Ordering::Relaxed);
        let since_last_poll = (last > 0).then(|| self.started.elapsed().saturating_sub(Duration::from_nanos(last)));
        let running = self.running.load(Ordering::Relaxed);
        let assigned_partitions = self.assigned_partitions.load(Ordering::Relaxed);
        Health {
            running,
            assigned_partitions,
            since_last_poll,
            healthy: running && since_last_poll.is_some_and(|d| d <= max_poll_age),
        }
    }
}

/// A snapshot of a handler consumer's counters.
#[derive(Clone, Debug, Default)]
pub struct HandlerMetrics {
    /// Records handed to handlers.
    pub records_received: u64,
    /// Records handled successfully.
    pub records_handled: u64,
    /// Failed handler attempts.
    pub handler_failures: u64,
    /// Attempts after the first.
    pub retries: u64,
    /// Records written to a dead-letter topic.
    pub dead_lettered: u64,
    /// Failed dead-letter and retry-topic writes (each retried).
    pub dead_letter_failures: u64,
    /// Records forwarded to a retry topic.
    pub retry_topic_forwards: u64,
    /// Offset commits that succeeded.
    pub commits: u64,
    /// Offset commits that failed.
    pub commit_failures: u64,
    /// Mean handler call duration.
    pub handler_latency_avg: Duration,
    /// Longest handler call.
    pub handler_latency_max: Duration,
    /// Handler call durations (buckets over [`LATENCY_BOUNDS`], shared with the client's request latencies).
    pub handler_latency: LatencyHistogram,
    /// Batches handed to a batch handler, each counted once whatever its attempts (records per batch:
    /// `records_received / batches`).
    pub batches: u64,
    /// Partitions owned.
    pub assigned_partitions: usize,
    /// Partitions paused because their work piled up.
    pub paused_partitions: usize,
    /// Records handed out and not yet committable (running, waiting, or finished after an unfinished one).
    pub pending_records: usize,
    /// The underlying consumer's metrics (fetches, bytes, lag per partition), as of the last poll.
    pub consumer: Option<ConsumerMetrics>,
}

/// Whether a handler consumer is alive: running, and polling recently.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// The poll loop runs (started and not shut down).
    pub running: bool,
    /// Partitions owned.
    pub assigned_partitions: usize,
    /// Time since the last poll returned; `None` before the first.
    pub since_last_poll: Option<Duration>,
    /// Running and polled within the allowed age.
    pub healthy: bool,
}

#[cfg(feature = "prometheus")]
impl HandlerMetrics {
    /// The metrics in the Prometheus text exposition format, names prefixed `kafkar_handler_` (and
    /// `kafkar_consumer_` for the consumer's, with a `partition` label on lag).
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(out, "# HELP kafkar_handler_{name} {help}");
            let _ = writeln!(out, "# TYPE kafkar_handler_{name} {kind}");
            let _ = writeln!(out, "kafkar_handler_{name} {value}");
        };
        metric("records_received_total", "counter", "Records handed to handlers.", self.records_received.to_string());
        metric("records_handled_total", "counter", "Records handled successfully.", self.records_handled.to_string());
        metric("failures_total", "counter", "Failed handler attempts.", self.handler_failures.to_string());
        metric("retries_total", "counter", "Attempts after the first.", self.retries.to_string());
        metric("dead_lettered_total", "counter", "Records dead-lettered.", self.dead_lettered.to_string());
        metric(
            "dead_letter_failures_total",
            "counter",
            "Failed dead-letter writes.",
            self.dead_letter_failures.to_string(),
        );
        metric(
            "retry_topic_forwards_total",
            "counter",
            "Records forwarded to a retry topic.",
            self.retry_topic_forwards.to_string(),
        );
        metric("commits_total", "counter", "Offset commits that succeeded.", self.commits.to_string());
        metric("commit_failures_total", "counter", "Offset commits that failed.", self.commit_failures.to_string());
        metric(
            "latency_avg_seconds",
            "gauge",
            "Mean handler call duration.",
            self.handler_latency_avg.as_secs_f64().to_string(),
        );
        metric(
            "latency_max_seconds",
            "gauge",
            "Longest handler call.",
            self.handler_latency_max.as_secs_f64().to_string(),
        );
        metric("batches_total", "counter", "Batches handed to a batch handler.", self.batches.to_string());
        metric("assigned_partitions", "gauge", "Partitions owned.", self.assigned_partitions.to_string());
        metric("paused_partitions", "gauge", "Partitions paused by backpressure.", self.paused_partitions.to_string());
        metric("pending_records", "gauge", "Records not yet committable.", self.pending_records.to_string());
        histogram(&mut out, "kafkar_handler_latency_seconds", "Handler call durations.", &self.handler_latency);
        if let Some(c) = &self.consumer {
            for (name, kind, value) in [
                ("records_consumed_total", "counter", c.records_consumed.to_string()),
                ("bytes_consumed_total", "counter", c.bytes_consumed.to_string()),
                ("fetch_requests_total", "counter", c.fetch_requests.to_string()),
                ("fetch_errors_total", "counter", c.fetch_errors.to_string()),
                ("fetch_latency_avg_seconds", "gauge", c.fetch_latency_avg.as_secs_f64().to_string()),
                ("fetch_latency_max_seconds", "gauge", c.fetch_latency_max.as_secs_f64().to_string()),
                ("buffered_bytes", "gauge", c.buffered_bytes.to_string()),
            ] {
                let _ = writeln!(out, "# TYPE kafkar_consumer_{name} {kind}");
                let _ = writeln!(out, "kafkar_consumer_{name} {value}");
            }
            histogram(
                &mut out,
                "kafkar_consumer_fetch_latency_seconds",
                "Time from sending a fetch to its reply.",
                &c.fetch_latency,
            );
            let _ = writeln!(out, "# HELP kafkar_consumer_lag Records behind the high watermark.");
            let _ = writeln!(out, "# TYPE kafkar_consumer_lag gauge");
            for (tp, lag) in &c.lag {
                let topic = tp.topic.replace('\\', "\\\\").replace('"', "\\\"");
                let _ = writeln!(out, "kafkar_consumer_lag{{topic=\"{topic}\",partition=\"{}\"}} {lag}", tp.partition);
            }
        }
        out
    }
}

/// The producer's metrics in the Prometheus text format, names prefixed `kafkar_producer_`.
#[cfg(feature = "prometheus")]
pub fn producer_prometheus(m: &ProducerMetrics) -> String {
    let mut out = String::new();
    for (name, kind, value) in [
        ("records_sent_total", "counter", m.records_sent.to_string()),
        ("bytes_sent_total", "counter", m.bytes_sent.to_string()),
        ("batches_sent_total", "counter", m.batches_sent.to_string()),
        ("requests_sent_total", "counter", m.requests_sent.to_string()),
        ("batch_size_avg_bytes", "gauge", m.avg_batch_size.to_string()),
        ("records_per_batch_avg", "gauge", m.avg_records_per_batch.to_string()),
        ("in_flight_requests", "gauge", m.in_flight_requests.to_string()),
        ("queued_batches", "gauge", m.queued_batches.to_string()),
        ("throttled_responses_total", "counter", m.throttled_responses.to_string()),
        ("retries_total", "counter", m.retries.to_string()),
        ("record_errors_total", "counter", m.record_errors.to_string()),
        ("queued_bytes", "gauge", m.queued_bytes.to_string()),
        ("request_latency_avg_seconds", "gauge", m.request_latency_avg.as_secs_f64().to_string()),
        ("request_latency_max_seconds", "gauge", m.request_latency_max.as_secs_f64().to_string()),
    ] {
        let _ = writeln!(out, "# TYPE kafkar_producer_{name} {kind}");
        let _ = writeln!(out, "kafkar_producer_{name} {value}");
    }
    histogram(
        &mut out,
        "kafkar_producer_request_latency_seconds",
        "Time from writing a Produce request to its reply.",
        &m.request_latency,
    );
    out
}

/// Writes `h` as the Prometheus histogram `name`: cumulative `name_bucket{le="..."}` series in seconds (the last
/// `+Inf`), `name_sum` in seconds and `name_count`.
#[cfg(feature = "prometheus")]
fn histogram(out: &mut String, name: &str, help: &str, h: &LatencyHistogram) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (bound, cumulative) in h.buckets() {
        let le = bound.map_or_else(|| "+Inf".to_owned(), |b| b.as_secs_f64().to_string());
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let _ = writeln!(out, "{name}_sum {}", h.sum.as_secs_f64());
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// Checks that the cluster behind `producer` answers (a metadata request within `timeout`): the seed's
/// `producer.Ping`.
pub async fn ping(producer: &kafkar::Producer, timeout: Duration) -> kafkar::Result<()> {
    match tokio::time::timeout(timeout, producer.cluster().refresh()).await {
        Ok(r) => r.map(|_| ()),
        Err(_) => Err(kafkar::Error::new(kafkar::ErrorKind::Timeout)),
    }
}
