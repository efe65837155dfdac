//! Flow control of a handler consumer against a real Apache Kafka (`KAFKA_BOOTSTRAP`): backpressure pauses a
//! partition whose work piles up while the consumer keeps polling, and a shutdown while records keep arriving
//! commits exactly what a batch handler finished.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar::producer::ProducerRecord;
use kafkar_app::{BatchDelivery, Delivery, HandlerConsumer};
use support::*;
use tokio::sync::Semaphore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piled_up_work_pauses_the_partition_while_polling_goes_on_and_resumes_when_it_drains() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-backpressure");
    let producer = topic_with_records(&bootstrap, &topic, 1, 200).await;
    let group = unique("app-backpressure-group");
    let mut config = consumer_config(&bootstrap, &group);
    config.set("max.poll.records", "5").unwrap();
    let mut settings = settings();
    settings.max_pending_per_partition = 20;
    // The handler waits for permits the test hands out.
    let gate = Arc::new(Semaphore::new(0));
    let g = gate.clone();
    let consumer = HandlerConsumer::new(config, [&topic], settings, move |_: Delivery| {
        let g = g.clone();
        async move {
            g.acquire().await.expect("gate").forget();
            Ok(())
        }
    })
    .await
    .unwrap();
    let monitor = consumer.monitor();
    let (shutdown, run) = spawn_run(consumer);
    eventually("the partition paused", || monitor.metrics().paused_partitions == 1).await;
    // Held there: nothing more is handed out, and the consumer still polls (its group membership stays alive).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let m = monitor.metrics();
    assert_eq!(m.paused_partitions, 1);
    assert!(m.records_received >= 20 && m.records_received <= 25, "received {}", m.records_received);
    assert_eq!(m.records_handled, 0);
    let health = monitor.health(Duration::from_millis(500));
    assert!(health.healthy, "polling goes on while paused: {health:?}");
    // Half of the pending work done: resumed, and the rest flows.
    gate.add_permits(12);
    eventually("resumed and more received", || {
        let m = monitor.metrics();
        m.paused_partitions == 0 || m.records_received > 25
    })
    .await;
    gate.add_permits(1000);
    eventually("everything handled", || monitor.metrics().records_handled == 200).await;
    shutdown.trigger();
    let m = run.await.unwrap().unwrap();
    assert_eq!(m.paused_partitions, 0);
    assert_eq!(committed(&bootstrap, &group, &topic, 1).await[&0], Some(200));
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_while_records_keep_arriving_commits_exactly_the_finished_batches() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-batch-shutdown");
    create_topic(&bootstrap, &topic, 3).await;
    let producer = producer(&bootstrap).await;
    // A producer keeps writing until the test ends.
    let writing = Arc::new(AtomicBool::new(true));
    let (p, t, w) = (producer.clone(), topic.clone(), writing.clone());
    let writer = tokio::spawn(async move {
        let mut i = 0;
        while w.load(Ordering::Relaxed) {
            p.send_forget(ProducerRecord::new(t.as_str()).partition(i % 3).value(format!("r{i}"))).await.unwrap();
            i += 1;
            if i % 30 == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        p.flush().await;
    });
    let group = unique("app-batch-shutdown-group");
    let mut settings = settings();
    // Commits only at shutdown; small batches that take a while.
    settings.commit_interval = Duration::from_secs(3600);
    settings.max_batch_records = 7;
    let done: Arc<Mutex<BTreeMap<i32, Vec<i64>>>> = Arc::default();
    let d = done.clone();
    let consumer = HandlerConsumer::new_batch(consumer_config(&bootstrap, &group), [&topic], settings, {
        move |b: BatchDelivery| {
            let d = d.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(15)).await;
                d.lock().unwrap().entry(b.partition()).or_default().extend(b.records.iter().map(|r| r.offset));
                Ok(())
            }
        }
    })
    .await
    .unwrap();
    let (shutdown, run) = spawn_run(consumer);
    eventually("work under way", || done.lock().unwrap().values().map(Vec::len).sum::<usize>() >= 100).await;
    shutdown.trigger();
    let metrics = run.await.unwrap().unwrap();
    writing.store(false, Ordering::Relaxed);
    writer.await.unwrap();
    let done = done.lock().unwrap().clone();
    let handled: usize = done.values().map(Vec::len).sum();
    assert_eq!(metrics.records_handled as usize, handled);
    assert!(metrics.records_received as usize > handled, "shutdown came with records still queued");
    let committed = committed(&bootstrap, &group, &topic, 3).await;
    for p in 0..3 {
        let offsets = done.get(&p).cloned().unwrap_or_default();
        assert_eq!(offsets, (0..offsets.len() as i64).collect::<Vec<_>>(), "partition {p}: each record once, in order");
        let expected = (!offsets.is_empty()).then_some(offsets.len() as i64);
        assert_eq!(committed[&p], expected, "partition {p}: committed = finished");
    }
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_bounds_handler_calls_across_partitions() {
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique("app-concurrency");
    let producer = topic_with_records(&bootstrap, &topic, 4, 40).await;
    let group = unique("app-concurrency-group");
    let mut settings = settings();
    settings.max_concurrency = Some(2);
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let consumer = start(&bootstrap, &group, &topic, settings, move |_: Delivery| {
        let (r, m) = (r.clone(), m.clone());
        async move {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            r.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        }
    })
    .await;
    let metrics = run_until_finished(consumer, 40).await;
    assert_eq!(metrics.records_handled, 40);
    assert_eq!(most.load(Ordering::SeqCst), 2, "four partitions with work, two handler calls at a time");
    let committed = committed(&bootstrap, &group, &topic, 4).await;
    assert!((0..4).all(|p| committed[&p] == Some(10)), "{committed:?}");
    producer.close().await;
}
