//! Shared helpers for kafkar-serdes's tests: the real broker and unique names.
#![allow(dead_code)]

pub mod registry;
pub mod tls;

use kafkar::admin::Admin;
use kafkar::consumer::TopicPartition;
use kafkar::{ClientConfig, Consumer, ConsumerConfig, Producer, ProducerConfig};

/// The real broker's bootstrap address, or `None` (test skipped) outside CI when KAFKA_BOOTSTRAP is unset.
pub fn real_broker() -> Option<String> {
    match std::env::var("KAFKA_BOOTSTRAP") {
        Ok(b) if !b.trim().is_empty() => Some(b),
        _ => {
            assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "KAFKA_BOOTSTRAP is not set (CI never skips)");
            eprintln!("skipped: KAFKA_BOOTSTRAP is not set");
            None
        }
    }
}

/// A topic name unique to this process and call.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos:x}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A new one-partition topic on the real broker: (bootstrap, name).
pub async fn topic(prefix: &str) -> Option<(String, String)> {
    let bootstrap = real_broker()?;
    let name = unique(prefix);
    let admin = Admin::new(ClientConfig::new(&bootstrap)).await.unwrap();
    admin.create_topic(&name, 1, 1, &[]).await.expect("create topic");
    Some((bootstrap, name))
}

/// A producer for the real broker.
pub async fn producer(bootstrap: &str) -> Producer {
    Producer::new(ProducerConfig::new(bootstrap)).await.unwrap()
}

/// A consumer assigned to partition 0 of `topic`, from the beginning.
pub async fn consumer(bootstrap: &str, topic: &str) -> Consumer {
    let mut c = ConsumerConfig::new(bootstrap);
    c.set("auto.offset.reset", "earliest").unwrap();
    c.set("fetch.max.wait.ms", "100").unwrap();
    let mut consumer = Consumer::new(c).await.unwrap();
    consumer.assign([TopicPartition::new(topic, 0)]).unwrap();
    consumer
}
