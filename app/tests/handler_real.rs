//! The handler consumer against a real Apache Kafka (`KAFKA_BOOTSTRAP`): retries, dead letters with Spring's
//! headers, commits of the finished prefix only, shutdown commits, a failed dead-letter write holding its partition,
//! and trace ids across a produce → consume hop.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kafkar::producer::ProducerRecord;
use kafkar_app::dead_letter::{
    EXCEPTION_FQCN, EXCEPTION_MESSAGE, ORIGINAL_CONSUMER_GROUP, ORIGINAL_OFFSET, ORIGINAL_PARTITION,
    ORIGINAL_TIMESTAMP, ORIGINAL_TIMESTAMP_TYPE, ORIGINAL_TOPIC,
};
use kafkar_app::trace::{TRACEPARENT, X_TRACE_ID, send_traced};
use kafkar_app::{
    Classification, DeadLetterConfig, Delivery, HandlerConsumer, HandlerError, Permanent, Retriable, RetryPolicy,
    TraceContext,
};
use support::*;

#[derive(Debug, thiserror::Error)]
#[error("poison record {0}")]
struct Poison(String);

#[derive(Debug, thiserror::Error)]
#[error("downstream busy")]
struct Busy;

/// A delivery's trace context and the one current in its handler.
type Seen2 = (TraceContext, Option<TraceContext>);

type Seen = Arc<Mutex<BTreeMap<(i32, i64), u32>>>;

/// Counts attempts per (partition, offset).
fn note(seen: &Seen, d: &Delivery) -> u32 {
    let mut s = seen.lock().unwrap();
    let n = s.entry((d.record.partition, d.record.offset)).or_default();
    *n += 1;
    *n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_records_go_to_the_dlt_with_spring_headers_and_flaky_ones_are_retried() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-dlt");
    let dlt = format!("{topic}.DLT");
    create_topic(&bootstrap, &topic, 2).await;
    create_topic(&bootstrap, &dlt, 2).await;
    let producer = producer(&bootstrap).await;
    // 30 records over two partitions: every 7th is poison (permanent), every 5th is flaky (fails twice).
    for i in 0..30 {
        let kind = if i % 7 == 3 {
            "poison"
        } else if i % 5 == 1 {
            "flaky"
        } else {
            "ok"
        };
        let r = ProducerRecord::new(topic.as_str())
            .partition(i % 2)
            .key(format!("k{i}"))
            .value(format!("{kind}-{i}"))
            .header("origin", Some(Bytes::from_static(b"test")));
        producer.send(r).await.unwrap().await.unwrap();
    }
    let poison = (0..30).filter(|i| i % 7 == 3).count();
    let group = unique("app-dlt-group");
    let seen: Seen = Arc::default();
    let mut settings = settings();
    settings.retry = RetryPolicy::exponential(3, Duration::from_millis(20), Duration::from_millis(100));
    settings.dead_letter = Some(DeadLetterConfig::new(producer.clone()));
    let s = seen.clone();
    let consumer = start(&bootstrap, &group, &topic, settings, move |d: Delivery| {
        let attempt = note(&s, &d);
        assert_eq!(attempt, d.attempt, "attempt numbers count the handler's calls");
        let value = String::from_utf8(d.record.value.clone().unwrap_or_default().to_vec()).unwrap();
        async move {
            if value.starts_with("poison") {
                return Err(Permanent(Poison(value)).into());
            }
            if value.starts_with("flaky") && attempt < 3 {
                Err(Retriable(Busy))?;
            }
            Ok(())
        }
    })
    .await;
    let metrics = run_until_finished(consumer, 30).await;
    assert_eq!(metrics.dead_lettered, poison as u64);
    assert_eq!(metrics.records_handled, 30 - poison as u64);
    let flaky = (0..30).filter(|i| i % 7 != 3 && i % 5 == 1).count() as u64;
    assert_eq!(metrics.retries, 2 * flaky, "each flaky record took two retries; poison none");

    // Every record was tried: ok once, flaky three times, poison once (permanent: no retry).
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 30);
    let attempts: Vec<u32> = seen.values().copied().collect();
    assert_eq!(attempts.iter().filter(|a| **a == 3).count() as u64, flaky);
    assert!(attempts.iter().all(|a| *a == 1 || *a == 3), "{attempts:?}");

    // The dead letters: same partition, key, value and headers, plus Spring's provenance headers.
    let letters = read(&bootstrap, &dlt, 2, poison).await;
    assert_eq!(letters.len(), poison);
    for l in &letters {
        let value = String::from_utf8(l.value.clone().unwrap().to_vec()).unwrap();
        assert!(value.starts_with("poison-"), "{value}");
        let i: i32 = value["poison-".len()..].parse().unwrap();
        assert_eq!(l.key.as_deref(), Some(format!("k{i}").as_bytes()));
        assert_eq!(l.partition, i % 2, "same partition as the original");
        assert_eq!(header(l, "origin").as_deref(), Some(&b"test"[..]));
        assert_eq!(header(l, ORIGINAL_TOPIC).as_deref(), Some(topic.as_bytes()));
        let partition = i32::from_be_bytes(header(l, ORIGINAL_PARTITION).unwrap()[..].try_into().unwrap());
        assert_eq!(partition, i % 2);
        let offset = i64::from_be_bytes(header(l, ORIGINAL_OFFSET).unwrap()[..].try_into().unwrap());
        assert_eq!(offset, i64::from(i / 2), "records alternate partitions, so record i is at offset i/2");
        let ts = i64::from_be_bytes(header(l, ORIGINAL_TIMESTAMP).unwrap()[..].try_into().unwrap());
        assert!(ts > 1_600_000_000_000, "{ts}");
        assert_eq!(header(l, ORIGINAL_TIMESTAMP_TYPE).as_deref(), Some(&b"CreateTime"[..]));
        assert_eq!(header(l, ORIGINAL_CONSUMER_GROUP).as_deref(), Some(group.as_bytes()));
        let fqcn = String::from_utf8(header(l, EXCEPTION_FQCN).unwrap().to_vec()).unwrap();
        assert!(fqcn.ends_with("Poison"), "{fqcn}");
        assert_eq!(header(l, EXCEPTION_MESSAGE).as_deref(), Some(format!("poison record {value}").as_bytes()));
    }
    // Everything was committed: 15 records per partition.
    let committed = committed(&bootstrap, &group, &topic, 2).await;
    assert_eq!(committed[&0], Some(15));
    assert_eq!(committed[&1], Some(15));
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_finished_prefix_is_committed_and_a_restart_redelivers_the_rest() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-prefix");
    create_topic(&bootstrap, &topic, 1).await;
    let producer = producer(&bootstrap).await;
    for i in 0..20 {
        producer.send(ProducerRecord::new(topic.as_str()).value(format!("r{i}"))).await.unwrap().await.unwrap();
    }
    let group = unique("app-prefix-group");
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let mut settings = settings();
    settings.shutdown_timeout = Duration::from_millis(300);
    // Offset 10 hangs (a stuck call): the first run never finishes it.
    let consumer = start(&bootstrap, &group, &topic, settings, move |d: Delivery| {
        note(&s, &d);
        let offset = d.record.offset;
        async move {
            if offset == 10 {
                std::future::pending::<()>().await;
            }
            Ok(())
        }
    })
    .await;
    let monitor = consumer.monitor();
    let (shutdown, run) = spawn_run(consumer);
    eventually("the stuck record reached", || seen.lock().unwrap().contains_key(&(0, 10))).await;
    // Several commit intervals pass: the commit stays at the stuck record.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(committed(&bootstrap, &group, &topic, 1).await[&0], Some(10));
    assert_eq!(monitor.metrics().records_handled, 10);
    assert!(monitor.health(Duration::from_secs(5)).healthy, "{:?}", monitor.health(Duration::from_secs(5)));
    // Shutdown abandons the stuck handler after its timeout; nothing past it is committed.
    shutdown.trigger();
    run.await.unwrap().unwrap();
    assert_eq!(committed(&bootstrap, &group, &topic, 1).await[&0], Some(10));
    assert!(!monitor.health(Duration::from_secs(5)).healthy);

    // A restart (same group) redelivers from offset 10, and this time it finishes.
    let again: Seen = Arc::default();
    let a = again.clone();
    let consumer = start(&bootstrap, &group, &topic, support::settings(), move |d: Delivery| {
        note(&a, &d);
        async { Ok(()) }
    })
    .await;
    let (shutdown, run) = spawn_run(consumer);
    eventually("the rest handled", || again.lock().unwrap().len() == 10).await;
    shutdown.trigger();
    run.await.unwrap().unwrap();
    let offsets: BTreeSet<i64> = again.lock().unwrap().keys().map(|(_, o)| *o).collect();
    assert_eq!(offsets, (10..20).collect(), "exactly the unfinished records came again");
    assert_eq!(committed(&bootstrap, &group, &topic, 1).await[&0], Some(20));
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_commits_exactly_what_was_processed() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-shutdown");
    let producer = topic_with_records(&bootstrap, &topic, 3, 300).await;
    let group = unique("app-shutdown-group");
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let mut settings = settings();
    // Commits only at shutdown.
    settings.commit_interval = Duration::from_secs(3600);
    let consumer = start(&bootstrap, &group, &topic, settings, move |d: Delivery| {
        note(&s, &d);
        async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(())
        }
    })
    .await;
    let (shutdown, run) = spawn_run(consumer);
    eventually("some work done", || seen.lock().unwrap().len() >= 60).await;
    shutdown.trigger();
    let metrics = run.await.unwrap().unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() < 300, "shutdown came while records were left: {}", seen.len());
    assert_eq!(metrics.records_handled as usize, seen.len());
    let committed = committed(&bootstrap, &group, &topic, 3).await;
    for p in 0..3 {
        let done: Vec<i64> = seen.keys().filter(|(q, _)| *q == p).map(|(_, o)| *o).collect();
        assert_eq!(done, (0..done.len() as i64).collect::<Vec<_>>(), "partition {p} handled in order");
        let expected = if done.is_empty() { None } else { Some(done.len() as i64) };
        assert_eq!(committed[&p], expected, "partition {p}: committed = handled");
    }
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_dead_letter_write_holds_the_partition_and_never_commits_the_record() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-dltfail");
    create_topic(&bootstrap, &topic, 1).await;
    let producer = producer(&bootstrap).await;
    for i in 0..6 {
        producer.send(ProducerRecord::new(topic.as_str()).value(format!("r{i}"))).await.unwrap().await.unwrap();
    }
    let group = unique("app-dltfail-group");
    let mut settings = settings();
    settings.retry = RetryPolicy::exponential(2, Duration::from_millis(10), Duration::from_millis(50))
        .with_classifier(|_| Classification::Retriable);
    // A topic name the client refuses: every dead-letter write fails.
    settings.dead_letter = Some(DeadLetterConfig::new(producer.clone()).with_topic(|_| "not a valid topic!".into()));
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let consumer = start(&bootstrap, &group, &topic, settings, move |d: Delivery| {
        note(&s, &d);
        let offset = d.record.offset;
        async move {
            if offset == 2 {
                return Err(HandlerError::message(Classification::Permanent, "Bad", "bad record"));
            }
            Ok(())
        }
    })
    .await;
    let monitor = consumer.monitor();
    let (shutdown, run) = spawn_run(consumer);
    eventually("dead-letter writes retried", || monitor.metrics().dead_letter_failures >= 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = monitor.metrics();
    assert_eq!(m.records_handled, 2, "the partition stops at the record it cannot dead-letter");
    assert_eq!(m.dead_lettered, 0);
    assert_eq!(seen.lock().unwrap().get(&(0, 2)), Some(&2), "tried twice (classifier: retriable)");
    assert!(!seen.lock().unwrap().contains_key(&(0, 3)));
    assert_eq!(committed(&bootstrap, &group, &topic, 1).await[&0], Some(2));
    shutdown.trigger();
    run.await.unwrap().unwrap();
    assert_eq!(committed(&bootstrap, &group, &topic, 1).await[&0], Some(2), "the record was not lost");
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_ids_survive_a_produce_consume_hop() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-trace");
    let out = format!("{topic}-out");
    create_topic(&bootstrap, &topic, 1).await;
    create_topic(&bootstrap, &out, 1).await;
    let producer = producer(&bootstrap).await;
    // 0: sent inside a trace (W3C and X-Trace-Id); 1: only the seed's X-Trace-Id; 2: no trace headers.
    let root = TraceContext::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    let sent =
        root.clone().scope(send_traced(&producer, ProducerRecord::new(topic.as_str()).value("w3c"))).await.unwrap();
    sent.await.unwrap();
    let r = ProducerRecord::new(topic.as_str()).value("plain").header(X_TRACE_ID, Some(Bytes::from_static(b"abc123")));
    producer.send(r).await.unwrap().await.unwrap();
    producer.send(ProducerRecord::new(topic.as_str()).value("none")).await.unwrap().await.unwrap();

    let group = unique("app-trace-group");
    let got: Arc<Mutex<Vec<Seen2>>> = Arc::default();
    let g = got.clone();
    let p = producer.clone();
    let out_topic = out.clone();
    let consumer = start(&bootstrap, &group, &topic, settings(), move |d: Delivery| {
        let (g, p, out_topic) = (g.clone(), p.clone(), out_topic.clone());
        async move {
            g.lock().unwrap().push((d.trace.clone(), TraceContext::current()));
            let reply = ProducerRecord::new(out_topic.as_str()).value(d.record.value.clone().unwrap_or_default());
            send_traced(&p, reply).await?.await?;
            Ok(())
        }
    })
    .await;
    let (shutdown, run) = spawn_run(consumer);
    eventually("three records handled", || got.lock().unwrap().len() == 3).await;
    shutdown.trigger();
    run.await.unwrap().unwrap();
    let got = got.lock().unwrap().clone();
    for (ctx, current) in &got {
        assert_eq!(current.as_ref(), Some(ctx), "the delivery's context is current in the handler");
    }
    let (w3c, plain, none) = (&got[0].0, &got[1].0, &got[2].0);
    assert_eq!(w3c.trace_id, root.trace_id);
    assert_ne!(w3c.span_id, root.span_id, "the handler's span is a child of the sender's");
    assert_eq!(w3c.x_trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(plain.x_trace_id, "abc123");
    assert_eq!(none.x_trace_id, none.trace_id_hex(), "a new trace");

    // The replies carry each trace on.
    let replies = read(&bootstrap, &out, 1, 3).await;
    for (reply, (ctx, _)) in replies.iter().zip(&got) {
        let parent = String::from_utf8(header(reply, TRACEPARENT).unwrap().to_vec()).unwrap();
        let parsed = TraceContext::parse_traceparent(&parent).unwrap();
        assert_eq!(parsed.trace_id, ctx.trace_id);
        assert_ne!(parsed.span_id, ctx.span_id);
        assert_eq!(header(reply, X_TRACE_ID).as_deref(), Some(ctx.x_trace_id.as_bytes()));
    }
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_commits_the_revoked_partitions_finished_work_so_nothing_is_handled_twice() {
    rebalance_hands_over_finished_work("classic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kip848_rebalance_commits_the_revoked_partitions_finished_work_so_nothing_is_handled_twice() {
    rebalance_hands_over_finished_work("consumer").await;
}

/// Two members share four partitions: the second joins while the first works (60 ms per record), the first's
/// revoked partitions are committed at their finished prefix, and the second goes on from there.
async fn rebalance_hands_over_finished_work(protocol: &str) {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-rebalance");
    let producer = topic_with_records(&bootstrap, &topic, 4, 200).await;
    let group = unique("app-rebalance-group");
    let seen: Seen = Arc::default();
    let mut settings = settings();
    // Commits come from revocations and shutdowns only.
    settings.commit_interval = Duration::from_secs(3600);
    let member = |seen: Seen| {
        let settings = settings.clone();
        let (bootstrap, group, topic) = (bootstrap.clone(), group.clone(), topic.clone());
        async move {
            let mut config = consumer_config(&bootstrap, &group);
            config.set("heartbeat.interval.ms", "100").unwrap();
            config.set("group.protocol", protocol).unwrap();
            HandlerConsumer::new(config, [topic.as_str()], settings, move |d: Delivery| {
                note(&seen, &d);
                async {
                    tokio::time::sleep(Duration::from_millis(60)).await;
                    Ok(())
                }
            })
            .await
            .unwrap()
        }
    };
    let first = member(seen.clone()).await;
    let first_monitor = first.monitor();
    let (stop_first, run_first) = spawn_run(first);
    eventually("the first member at work", || seen.lock().unwrap().len() >= 20).await;
    let second = member(seen.clone()).await;
    let second_monitor = second.monitor();
    let (stop_second, run_second) = spawn_run(second);
    eventually("every record handled", || seen.lock().unwrap().len() == 200).await;
    assert!(second_monitor.metrics().records_handled > 0, "the second member got partitions");
    assert!(first_monitor.metrics().commits > 0, "the first member committed on revocation");
    stop_first.trigger();
    stop_second.trigger();
    run_first.await.unwrap().unwrap();
    run_second.await.unwrap().unwrap();
    let twice: Vec<_> = seen.lock().unwrap().iter().filter(|(_, n)| **n > 1).map(|(k, _)| *k).collect();
    assert!(twice.is_empty(), "handled twice: {twice:?}");
    let committed = committed(&bootstrap, &group, &topic, 4).await;
    for p in 0..4 {
        assert_eq!(committed[&p], Some(50), "partition {p}");
    }
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_key_concurrency_keeps_each_keys_order_and_commits_only_the_finished_prefix() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-keys");
    create_topic(&bootstrap, &topic, 1).await;
    let producer = producer(&bootstrap).await;
    // 60 records over keys k0..k5; offset 7 (key k1) hangs.
    for i in 0..60 {
        producer
            .send_forget(ProducerRecord::new(topic.as_str()).key(format!("k{}", i % 6)).value(format!("{i}")))
            .await
            .unwrap();
    }
    producer.flush().await;
    let group = unique("app-keys-group");
    let mut settings = settings();
    settings.key_concurrency = Some(4);
    settings.shutdown_timeout = Duration::from_millis(300);
    // (key, offset, true at the start / false at the end of a handler call), in the order they happened.
    type Log = Arc<Mutex<Vec<(String, i64, bool)>>>;
    let events: Log = Arc::default();
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (e, r, m) = (events.clone(), running.clone(), most.clone());
    let consumer = start(&bootstrap, &group, &topic, settings, move |d: Delivery| {
        let key = String::from_utf8(d.record.key.clone().unwrap().to_vec()).unwrap();
        let offset = d.record.offset;
        e.lock().unwrap().push((key.clone(), offset, true));
        let (e, r, m) = (e.clone(), r.clone(), m.clone());
        async move {
            use std::sync::atomic::Ordering;
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            if offset == 7 {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            r.fetch_sub(1, Ordering::SeqCst);
            e.lock().unwrap().push((key, offset, false));
            Ok(())
        }
    })
    .await;
    let (shutdown, run) = spawn_run(consumer);
    // Every key but k1 runs to its end; k1 stops at offset 7.
    let ends = |events: &Log| events.lock().unwrap().iter().filter(|(_, _, start)| !start).count();
    eventually("the other keys done", || ends(&events) == 60 - 9).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(committed(&bootstrap, &group, &topic, 1).await[&0], Some(7), "the prefix ends at the stuck record");
    shutdown.trigger();
    run.await.unwrap().unwrap();
    assert_eq!(committed(&bootstrap, &group, &topic, 1).await[&0], Some(7));
    let most = most.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=4).contains(&most), "records ran concurrently, at most 4: {most}");
    // Each key's records ran one at a time, in offset order: start, end, start, end...
    let events = events.lock().unwrap().clone();
    for k in 0..6 {
        let key = format!("k{k}");
        let mine: Vec<(i64, bool)> = events.iter().filter(|(s, _, _)| *s == key).map(|(_, o, b)| (*o, *b)).collect();
        let mut expected = Vec::new();
        for o in (0..60).filter(|i| i % 6 == k) {
            expected.push((o, true));
            if o == 7 {
                break;
            }
            expected.push((o, false));
        }
        assert_eq!(mine, expected, "key {key}");
    }
    producer.close().await;
}
