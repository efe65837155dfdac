//! Helpers of the kafkar-app tests against the real broker (`KAFKA_BOOTSTRAP`, set by `scripts/test`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kafkar::consumer::{Consumer, ConsumerConfig, ConsumerRecord, OffsetReset, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use kafkar::{Admin, AdminConfig};
use kafkar_app::{Delivery, HandlerConsumer, HandlerError, HandlerSettings, Shutdown};
use tokio::time::Instant;

// The client crate's test support: `real_broker` and `unique_topic`.
#[path = "../../../tests/support/mod.rs"]
mod client;
pub use client::{real_broker, unique_topic as unique};

pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32) {
    let admin = Admin::new(AdminConfig::new(bootstrap)).await.unwrap();
    admin.create_topic(name, partitions, 1, &[]).await.unwrap();
}

/// Creates `topic` with `partitions` partitions and writes records `r0`, `r1`, ... `r<n-1>` to it round-robin over
/// the partitions (record `i` in partition `i % partitions`, at offset `i / partitions`); returns the producer.
pub async fn topic_with_records(bootstrap: &str, topic: &str, partitions: i32, n: i32) -> Arc<Producer> {
    create_topic(bootstrap, topic, partitions).await;
    let producer = producer(bootstrap).await;
    for i in 0..n {
        let record = ProducerRecord::new(topic).partition(i % partitions).value(format!("r{i}"));
        producer.send_forget(record).await.unwrap();
    }
    producer.flush().await;
    producer
}

pub async fn producer(bootstrap: &str) -> Arc<Producer> {
    let mut config = ProducerConfig::new(bootstrap);
    config.set("linger.ms", "1").unwrap();
    Arc::new(Producer::new(config).await.unwrap())
}

pub fn consumer_config(bootstrap: &str, group: &str) -> ConsumerConfig {
    ConsumerConfig::new(bootstrap).with_group_id(group).with_auto_offset_reset(OffsetReset::Earliest)
}

/// Fast commits and short timeouts for tests.
pub fn settings() -> HandlerSettings {
    HandlerSettings {
        commit_interval: Duration::from_millis(100),
        shutdown_timeout: Duration::from_secs(5),
        revoke_timeout: Duration::from_secs(5),
        ..HandlerSettings::default()
    }
}

/// Starts `consumer.run` on a task; returns the shutdown token and the task.
pub fn spawn_run(
    consumer: HandlerConsumer,
) -> (Shutdown, tokio::task::JoinHandle<kafkar::Result<kafkar_app::HandlerMetrics>>) {
    let shutdown = Shutdown::new();
    let s = shutdown.clone();
    (shutdown, tokio::spawn(consumer.run(s)))
}

pub async fn start<F, Fut>(
    bootstrap: &str,
    group: &str,
    topic: &str,
    settings: HandlerSettings,
    handler: F,
) -> HandlerConsumer
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    HandlerConsumer::new(consumer_config(bootstrap, group), [topic], settings, handler).await.unwrap()
}

/// Runs `consumer` until `n` records are handled or dead-lettered, then shuts it down; returns its final metrics.
pub async fn run_until_finished(consumer: HandlerConsumer, n: u64) -> kafkar_app::HandlerMetrics {
    let monitor = consumer.monitor();
    let (shutdown, run) = spawn_run(consumer);
    eventually("every record finished", || {
        let m = monitor.metrics();
        m.records_handled + m.dead_lettered == n
    })
    .await;
    shutdown.trigger();
    run.await.unwrap().unwrap()
}

/// Waits up to 60 s for `cond`.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The group's committed offsets of `topic`'s partitions 0..partitions.
pub async fn committed(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> HashMap<i32, Option<i64>> {
    let consumer = Consumer::new(consumer_config(bootstrap, group)).await.unwrap();
    let tps: Vec<TopicPartition> = (0..partitions).map(|p| TopicPartition::new(topic, p)).collect();
    let c = consumer.committed(&tps).await.unwrap();
    c.into_iter().map(|(tp, o)| (tp.partition, o.map(|o| o.offset))).collect()
}

/// Reads `n` records of `topic` (every partition, from the start) with a manually assigned consumer.
pub async fn read(bootstrap: &str, topic: &str, partitions: i32, n: usize) -> Vec<ConsumerRecord> {
    let config = ConsumerConfig::new(bootstrap).with_auto_offset_reset(OffsetReset::Earliest);
    let mut consumer = Consumer::new(config).await.unwrap();
    consumer.assign((0..partitions).map(|p| TopicPartition::new(topic, p))).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while out.len() < n {
        assert!(Instant::now() < deadline, "read {} of {n} records of {topic}", out.len());
        out.extend(consumer.poll(500, Duration::from_millis(200)).await.unwrap());
    }
    out
}

pub fn header(r: &ConsumerRecord, key: &str) -> Option<bytes::Bytes> {
    r.headers.last(key.as_bytes()).and_then(|h| h.value)
}
