//! Batch handlers and retry topics against a real Apache Kafka (`KAFKA_BOOTSTRAP`).

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use kafkar::consumer::ConsumerRecord;
use kafkar::producer::ProducerRecord;
use kafkar_app::dead_letter::{EXCEPTION_MESSAGE, ORIGINAL_OFFSET, ORIGINAL_PARTITION, ORIGINAL_TOPIC};
use kafkar_app::retry_topic::{ATTEMPTS, BACKOFF_TIMESTAMP};
use kafkar_app::{
    BatchDelivery, DeadLetterConfig, Delivery, HandlerConsumer, HandlerError, Permanent, Retriable, RetryPolicy,
    RetryTopics,
};
use support::*;

#[derive(Debug, thiserror::Error)]
#[error("poison record {0}")]
struct Poison(String);

#[derive(Debug, thiserror::Error)]
#[error("downstream busy: {0}")]
struct Busy(String);

fn text(r: &ConsumerRecord) -> String {
    String::from_utf8(r.value.clone().unwrap_or_default().to_vec()).unwrap()
}

fn be_int(r: &ConsumerRecord, key: &str) -> i64 {
    let v = header(r, key).unwrap_or_else(|| panic!("{key} missing"));
    match v.len() {
        4 => i64::from(i32::from_be_bytes(v[..].try_into().unwrap())),
        8 => i64::from_be_bytes(v[..].try_into().unwrap()),
        n => panic!("{key}: {n} bytes"),
    }
}

/// One batch as the handler saw it: partition, offsets, attempt, and how many of its records it finished (all, or
/// those before the record it named as failed; none when the whole batch failed).
type Batches = Arc<Mutex<Vec<(i32, Vec<i64>, u32, usize)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_handler_gets_ordered_partition_batches_retries_them_and_dead_letters_failed_records() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-batch");
    let dlt = format!("{topic}.DLT");
    create_topic(&bootstrap, &topic, 2).await;
    create_topic(&bootstrap, &dlt, 2).await;
    let producer = producer(&bootstrap).await;
    // 100 records per partition. Partition 0 offset 37 is poison: its whole batch fails for good. Partition 1
    // offset 50 is flaky: its batch fails once, then succeeds. Partition 1 offset 80 is bad: the handler names it
    // as the failed record, so only it is dead-lettered.
    for i in 0..200 {
        let (p, o) = (i % 2, i64::from(i / 2));
        let kind = match (p, o) {
            (0, 37) => "poison",
            (1, 50) => "flaky",
            (1, 80) => "bad",
            _ => "ok",
        };
        let r = ProducerRecord::new(topic.as_str()).partition(p).key(format!("k{i}")).value(format!("{kind}-{p}-{o}"));
        producer.send_forget(r).await.unwrap();
    }
    producer.flush().await;
    let group = unique("app-batch-group");
    let batches: Batches = Arc::default();
    let mut settings = settings();
    settings.max_batch_records = 16;
    settings.retry = RetryPolicy::exponential(3, Duration::from_millis(20), Duration::from_millis(50));
    settings.dead_letter = Some(DeadLetterConfig::new(producer.clone()));
    let b = batches.clone();
    let consumer = HandlerConsumer::new_batch(consumer_config(&bootstrap, &group), [&topic], settings, {
        move |d: BatchDelivery| {
            assert!(!d.records.is_empty());
            assert_eq!(d.traces.len(), d.records.len());
            assert!(d.records.iter().all(|r| r.partition == d.partition() && *r.topic == *d.topic()));
            let offsets: Vec<i64> = d.records.iter().map(|r| r.offset).collect();
            let values: Vec<String> = d.records.iter().map(text).collect();
            let result: Result<(), HandlerError> = if let Some(v) = values.iter().find(|v| v.starts_with("poison")) {
                Err(Permanent(Poison(v.clone())).into())
            } else if values.iter().any(|v| v.starts_with("flaky")) && d.attempt == 1 {
                Err(Retriable(Busy("flaky".into())).into())
            } else if let Some(i) = values.iter().position(|v| v.starts_with("bad")) {
                Err(HandlerError::from(Permanent(Poison(values[i].clone()))).at_record(i))
            } else {
                Ok(())
            };
            let finished = match &result {
                Ok(()) => offsets.len(),
                Err(e) => e.failed_record().unwrap_or(0),
            };
            b.lock().unwrap().push((d.partition(), offsets, d.attempt, finished));
            async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                result
            }
        }
    })
    .await
    .unwrap();
    let dead_count = |batches: &Batches| {
        let b = batches.lock().unwrap();
        let poison = b.iter().find(|(p, o, _, _)| *p == 0 && o.contains(&37)).map_or(0, |b| b.1.len());
        poison as u64 + 1
    };
    let monitor = consumer.monitor();
    let (shutdown, run) = spawn_run(consumer);
    eventually("every record finished", || {
        let m = monitor.metrics();
        m.records_handled + m.dead_lettered == 200 && m.dead_lettered == dead_count(&batches)
    })
    .await;
    shutdown.trigger();
    let metrics = run.await.unwrap().unwrap();

    let batches = batches.lock().unwrap().clone();
    assert!(batches.iter().all(|(_, o, _, _)| o.len() <= 16), "max_batch_records holds");
    assert!(batches.iter().any(|(_, o, _, _)| o.len() > 1), "records come in batches: {batches:?}");
    let batch_of = |p: i32, o: i64| {
        batches.iter().find(|(q, offs, a, _)| *q == p && *a == 1 && offs.contains(&o)).unwrap().1.clone()
    };
    // The poison batch: tried once (permanent), then each of its records dead-lettered.
    let poison = batch_of(0, 37);
    assert_eq!(batches.iter().filter(|(q, o, _, _)| *q == 0 && *o == poison).count(), 1);
    // The flaky batch: retried whole, once.
    let flaky = batch_of(1, 50);
    let flaky_attempts: Vec<u32> = batches.iter().filter(|(q, o, _, _)| *q == 1 && *o == flaky).map(|b| b.2).collect();
    assert_eq!(flaky_attempts, [1, 2]);
    // The bad record's batch: the records after it come again in a new batch that starts right after it.
    let bad = batch_of(1, 80);
    if bad.last() != Some(&80) {
        assert!(batches.iter().any(|(q, o, a, _)| *q == 1 && o.first() == Some(&81) && *a == 1), "{batches:?}");
    }
    assert_eq!(metrics.retries, 1);
    assert_eq!(metrics.dead_lettered, poison.len() as u64 + 1);
    assert_eq!(metrics.records_handled, 200 - poison.len() as u64 - 1);
    // Per partition every record is finished exactly once, in order: handled, or dead-lettered.
    let letters = read(&bootstrap, &dlt, 2, poison.len() + 1).await;
    for p in 0..2 {
        let mut dead: Vec<i64> =
            letters.iter().filter(|l| l.partition == p).map(|l| be_int(l, ORIGINAL_OFFSET)).collect();
        dead.sort_unstable();
        assert_eq!(dead, if p == 0 { poison.clone() } else { vec![80] }, "partition {p}: the dead letters");
        let mut finished: Vec<i64> = batches
            .iter()
            .filter(|(q, _, _, _)| *q == p)
            .flat_map(|(_, o, _, n)| o[..*n].to_vec())
            .chain(dead)
            .collect();
        finished.sort_unstable();
        assert_eq!(finished, (0..100).collect::<Vec<i64>>(), "partition {p}: each record finished once");
    }
    for l in &letters {
        assert_eq!(be_int(l, ORIGINAL_PARTITION), i64::from(l.partition));
        let want = if l.partition == 0 { "poison record poison-0-37" } else { "poison record bad-1-80" };
        assert_eq!(header(l, EXCEPTION_MESSAGE).as_deref(), Some(want.as_bytes()));
    }
    let committed = committed(&bootstrap, &group, &topic, 2).await;
    assert_eq!(committed[&0], Some(100));
    assert_eq!(committed[&1], Some(100));
    producer.close().await;
}

/// One handler call: topic, hop, the record's value, when.
type Calls = Arc<Mutex<Vec<(String, u32, String, SystemTime)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_topics_redeliver_after_their_delays_then_the_dead_letter_topic() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-rt");
    let producer = producer(&bootstrap).await;
    let delays = [Duration::from_secs(1), Duration::from_secs(2)];
    let retry_topics = RetryTopics::new(producer.clone(), delays);
    let names = retry_topics.topics(&topic);
    assert_eq!(names, [format!("{topic}-retry-1000"), format!("{topic}-retry-2000")]);
    let dlt = format!("{topic}.DLT");
    for t in [&topic, &names[0], &names[1], &dlt] {
        create_topic(&bootstrap, t, 2).await;
    }
    // Per partition: ok records, one failing once (handled from the first retry topic), one always failing
    // (both retry topics, then the DLT), one poison (permanent: the DLT at once).
    let kinds = ["ok", "once", "ok", "always", "poison", "ok"];
    for p in 0..2 {
        for (o, kind) in kinds.iter().enumerate() {
            let r = ProducerRecord::new(topic.as_str())
                .partition(p)
                .key(format!("k{p}-{o}"))
                .value(format!("{kind}-{p}-{o}"));
            producer.send(r).await.unwrap().await.unwrap();
        }
    }
    let group = unique("app-rt-group");
    let calls: Calls = Arc::default();
    let mut settings = settings();
    settings.retry = RetryPolicy::exponential(2, Duration::from_millis(10), Duration::from_millis(10));
    settings.retry_topics = Some(retry_topics);
    settings.dead_letter = Some(DeadLetterConfig::new(producer.clone()));
    let c = calls.clone();
    let consumer = start(&bootstrap, &group, &topic, settings, move |d: Delivery| {
        let value = text(&d.record);
        c.lock().unwrap().push((d.record.topic.to_string(), d.hop, value.clone(), SystemTime::now()));
        let hop = d.hop;
        async move {
            if value.starts_with("poison") {
                return Err(Permanent(Poison(value)).into());
            }
            if value.starts_with("always") || (value.starts_with("once") && hop == 0) {
                Err(Retriable(Busy(value)))?;
            }
            Ok(())
        }
    })
    .await;
    let metrics = run_until_finished(consumer, 12).await;
    // Handled: 6 ok + 2 once (from the first retry topic); dead-lettered: 2 always + 2 poison.
    assert_eq!(metrics.records_handled, 8);
    assert_eq!(metrics.dead_lettered, 4);
    assert_eq!(metrics.retry_topic_forwards, 2 + 2 * 2, "once: one hop; always: two hops");

    let calls = calls.lock().unwrap().clone();
    let of = |value: &str| -> Vec<(String, u32, SystemTime)> {
        calls.iter().filter(|c| c.2 == value).map(|c| (c.0.clone(), c.1, c.3)).collect()
    };
    for p in 0..2 {
        assert_eq!(of(&format!("ok-{p}-0")).len(), 1);
        assert_eq!(of(&format!("poison-{p}-4")).len(), 1, "permanent: no retry, no retry topic");
        let once = of(&format!("once-{p}-1"));
        // Two in-memory attempts on the original topic, then one delivery from the first retry topic.
        let hops: Vec<(&str, u32)> = once.iter().map(|(t, h, _)| (t.as_str(), *h)).collect();
        assert_eq!(hops, [(topic.as_str(), 0), (topic.as_str(), 0), (names[0].as_str(), 1)]);
        let waited = once[2].2.duration_since(once[1].2).unwrap();
        assert!(waited >= Duration::from_millis(950), "first retry after its 1 s delay: {waited:?}");
        let always = of(&format!("always-{p}-3"));
        let hops: Vec<(&str, u32)> = always.iter().map(|(t, h, _)| (t.as_str(), *h)).collect();
        assert_eq!(
            hops,
            [
                (topic.as_str(), 0),
                (topic.as_str(), 0),
                (names[0].as_str(), 1),
                (names[0].as_str(), 1),
                (names[1].as_str(), 2),
                (names[1].as_str(), 2)
            ]
        );
        let first_wait = always[2].2.duration_since(always[1].2).unwrap();
        let second_wait = always[4].2.duration_since(always[3].2).unwrap();
        assert!(first_wait >= Duration::from_millis(950), "{first_wait:?}");
        assert!(second_wait >= Duration::from_millis(1950), "{second_wait:?}");
    }

    // The forwarded records carry Spring's retry headers and the original's provenance.
    let forwarded = read(&bootstrap, &names[0], 2, 4).await;
    for r in &forwarded {
        assert_eq!(be_int(r, ATTEMPTS), 2);
        assert!(be_int(r, BACKOFF_TIMESTAMP) > 1_600_000_000_000);
        assert_eq!(header(r, ORIGINAL_TOPIC).as_deref(), Some(topic.as_bytes()));
        assert_eq!(be_int(r, ORIGINAL_PARTITION), i64::from(r.partition));
        let o = be_int(r, ORIGINAL_OFFSET);
        assert!(o == 1 || o == 3, "{o}");
    }
    assert_eq!(read(&bootstrap, &names[1], 2, 2).await.iter().map(|r| be_int(r, ATTEMPTS)).collect::<Vec<_>>(), [3, 3]);
    // The dead letters: in the original topic's DLT, provenance of the original record, the latest error.
    let letters = read(&bootstrap, &dlt, 2, 4).await;
    let mut dead: BTreeMap<String, &ConsumerRecord> = BTreeMap::new();
    for l in &letters {
        dead.insert(text(l), l);
    }
    for p in 0..2 {
        let always = dead[&format!("always-{p}-3")];
        assert_eq!(header(always, ORIGINAL_TOPIC).as_deref(), Some(topic.as_bytes()));
        assert_eq!(be_int(always, ORIGINAL_OFFSET), 3);
        assert_eq!(be_int(always, ORIGINAL_PARTITION), i64::from(p));
        assert_eq!(always.partition, p);
        assert_eq!(
            header(always, EXCEPTION_MESSAGE).as_deref(),
            Some(format!("downstream busy: always-{p}-3").as_bytes())
        );
        let poison = dead[&format!("poison-{p}-4")];
        assert_eq!(be_int(poison, ORIGINAL_OFFSET), 4);
        assert!(header(poison, ATTEMPTS).is_none());
    }
    // Everything committed, in the original topic and in the retry topics.
    for (t, end) in [(&topic, 6), (&names[0], 2), (&names[1], 1)] {
        let committed = committed(&bootstrap, &group, t, 2).await;
        assert_eq!(committed[&0], Some(end), "{t}");
        assert_eq!(committed[&1], Some(end), "{t}");
    }
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_out_a_retry_topic_delay_and_leaves_the_waiting_record_uncommitted() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-rt-wait");
    let producer = producer(&bootstrap).await;
    let retry_topics = RetryTopics::new(producer.clone(), [Duration::from_secs(60)]);
    let retry_topic = retry_topics.topics(&topic).remove(0);
    create_topic(&bootstrap, &topic, 1).await;
    create_topic(&bootstrap, &retry_topic, 1).await;
    producer.send(ProducerRecord::new(topic.as_str()).value("fails")).await.unwrap().await.unwrap();
    let group = unique("app-rt-wait-group");
    let mut settings = settings();
    settings.retry = RetryPolicy::none();
    settings.retry_topics = Some(retry_topics);
    let calls: Calls = Arc::default();
    let c = calls.clone();
    let consumer = start(&bootstrap, &group, &topic, settings, move |d: Delivery| {
        c.lock().unwrap().push((d.record.topic.to_string(), d.hop, text(&d.record), SystemTime::now()));
        async { Err(Retriable(Busy("still down".into())).into()) }
    })
    .await;
    let monitor = consumer.monitor();
    let (shutdown, run) = spawn_run(consumer);
    // Forwarded, and read back from the retry topic, where it waits for its due time.
    eventually("forwarded and read back", || {
        let m = monitor.metrics();
        m.retry_topic_forwards == 1 && m.records_received == 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = tokio::time::Instant::now();
    shutdown.trigger();
    let metrics = run.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "shutdown took {:?}", started.elapsed());
    assert_eq!(calls.lock().unwrap().len(), 1, "the retry is not due yet");
    assert_eq!(metrics.records_handled + metrics.dead_lettered, 0);
    assert_eq!(committed(&bootstrap, &group, &topic, 1).await[&0], Some(1), "forwarded: done in its topic");
    assert_eq!(committed(&bootstrap, &group, &retry_topic, 1).await[&0], None, "waiting: not committed");
    producer.close().await;
}
