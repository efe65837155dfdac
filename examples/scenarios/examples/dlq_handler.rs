//! Dead letters: a kafkar-app handler consumer takes orders as typed JSON (kafkar-serdes); a record that does not
//! deserialize, or breaks a business rule, fails permanently and goes straight to `<topic>.DLT`; a record whose
//! handler fails with a retriable error is retried with backoff, and dead-lettered only when every attempt failed.
//! The dead letters keep the original key, value and headers and carry Spring Kafka's `kafka_dlt-*` headers (the
//! original topic, partition, offset, timestamp, group, and the error).
//!
//! ```sh
//! KAFKA_BOOTSTRAP=127.0.0.1:9092 cargo run -p kafkar-examples --example dlq_handler
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar::admin::NewTopic;
use kafkar::protocol::records::Header;
use kafkar::{Producer, ProducerRecord};
use kafkar_app::dead_letter::{EXCEPTION_FQCN, EXCEPTION_MESSAGE, ORIGINAL_OFFSET, ORIGINAL_PARTITION, ORIGINAL_TOPIC};
use kafkar_app::{
    DeadLetterConfig, Delivery, HandlerConsumer, HandlerError, HandlerMetrics, HandlerSettings, Permanent, Retriable,
    RetryPolicy, Shutdown,
};
use kafkar_examples::{Config, Result, create_topics, delete_topics, read_all, wait_until};
use kafkar_serdes::{Context, Deserializer, JsonSerde, Part};
use serde::{Deserialize, Serialize};

const PARTITIONS: i32 = 2;
/// Attempts per record before it is dead-lettered.
pub const ATTEMPTS: u32 = 3;

/// An order as the handler expects it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order id.
    pub id: u32,
    /// What.
    pub item: String,
    /// How many (must be positive).
    pub quantity: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("order {0}: quantity must be positive")]
struct InvalidOrder(u32);

#[derive(Debug, thiserror::Error)]
#[error("the inventory service did not answer (attempt {0})")]
struct InventoryDown(u32);

/// The orders sent: their raw values, and which are expected to be dead-lettered.
pub fn inputs() -> Vec<(String, bool)> {
    let order = |id: u32, item: &str, quantity: u32| {
        serde_json::to_string(&Order { id, item: item.into(), quantity }).unwrap_or_default()
    };
    let mut out: Vec<(String, bool)> = (0..12).map(|i| (order(i, "widget", 1 + i % 3), false)).collect();
    out[3] = ("order 3, not JSON".into(), true);
    out[5] = (order(5, "flaky-gadget", 2), false); // fails twice, then succeeds
    out[7] = (r#"{"id": 7, "item": "widget"}"#.into(), true); // no quantity: does not deserialize
    out[8] = (order(8, "widget", 0), true); // breaks a business rule
    out[10] = (order(10, "down-gadget", 1), true); // fails on every attempt
    out
}

/// A dead letter as read back.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    /// The original value.
    pub value: String,
    /// `kafka_dlt-original-topic`.
    pub original_topic: String,
    /// `kafka_dlt-original-partition`.
    pub original_partition: i32,
    /// `kafka_dlt-original-offset`.
    pub original_offset: i64,
    /// `kafka_dlt-exception-fqcn`: the error's type.
    pub exception: String,
    /// `kafka_dlt-exception-message`.
    pub message: String,
}

/// What the run handled and dead-lettered.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The input topic.
    pub topic: String,
    /// Ids of the orders handled, with the attempt that succeeded.
    pub handled: BTreeMap<u32, u32>,
    /// The dead-letter topic's records.
    pub dead_letters: Vec<DeadLetter>,
    /// Each input value with its (partition, offset).
    pub input_positions: BTreeMap<String, (i32, i64)>,
    /// The handler consumer's final metrics.
    pub metrics: HandlerMetrics,
}

async fn handle(d: Delivery, handled: Arc<Mutex<BTreeMap<u32, u32>>>) -> std::result::Result<(), HandlerError> {
    let headers: Vec<Header> = d.record.headers.to_vec();
    let ctx = Context { topic: &d.record.topic, part: Part::Value, headers: &headers };
    // A value that does not deserialize is a typed, per-record error: permanent, so straight to the DLT.
    let order: Order = JsonSerde::new().deserialize(d.record.value.as_ref(), &ctx).map_err(HandlerError::permanent)?;
    if order.quantity == 0 {
        return Err(Permanent(InvalidOrder(order.id)).into());
    }
    if order.item == "down-gadget" || (order.item == "flaky-gadget" && d.attempt < 3) {
        return Err(Retriable(InventoryDown(d.attempt)).into());
    }
    tracing::info!(order = order.id, attempt = d.attempt, "order handled");
    handled.lock().unwrap_or_else(|p| p.into_inner()).insert(order.id, d.attempt);
    Ok(())
}

fn header(headers: &[Header], key: &str) -> Option<Vec<u8>> {
    headers.iter().rev().find(|h| h.key == key.as_bytes()).and_then(|h| h.value.as_ref()).map(|v| v.to_vec())
}

fn header_text(headers: &[Header], key: &str) -> String {
    String::from_utf8_lossy(&header(headers, key).unwrap_or_default()).into_owned()
}

/// Sends the orders, handles them until each is handled or dead-lettered, and reads the dead letters back.
pub async fn run(cfg: &Config) -> Result<Outcome> {
    let admin = cfg.admin().await?;
    let topic = cfg.name("dlq-orders");
    let dlt = format!("{topic}.DLT");
    create_topics(&admin, &[NewTopic::new(&topic, PARTITIONS, 1), NewTopic::new(&dlt, PARTITIONS, 1)]).await?;

    let producer = Arc::new(Producer::new(cfg.producer_config()).await?);
    let inputs = inputs();
    let mut sent = Vec::new();
    for (i, (value, _)) in inputs.iter().enumerate() {
        let record = ProducerRecord::new(topic.as_str()).key(format!("customer-{}", i % 4)).value(value.clone());
        sent.push(producer.send(record).await?);
    }
    for delivery in sent {
        delivery.await?;
    }

    let settings = HandlerSettings {
        retry: RetryPolicy::exponential(ATTEMPTS, Duration::from_millis(20), Duration::from_millis(200)),
        dead_letter: Some(DeadLetterConfig::new(producer.clone())),
        commit_interval: Duration::from_millis(200),
        ..HandlerSettings::default()
    };
    let handled = Arc::new(Mutex::new(BTreeMap::new()));
    let state = handled.clone();
    let config = cfg.consumer_config().with_group_id(cfg.name("dlq-billing"));
    let consumer = HandlerConsumer::new(config, [topic.as_str()], settings, move |d| handle(d, state.clone())).await?;
    let monitor = consumer.monitor();
    let shutdown = Shutdown::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    let total = inputs.len() as u64;
    let finished = wait_until("every order handled or dead-lettered", cfg.timeout, || {
        let m = monitor.metrics();
        m.records_handled + m.dead_lettered >= total || running.is_finished()
    })
    .await;
    shutdown.trigger();
    let metrics = running.await??;
    finished?;
    producer.close().await;

    let mut dead_letters = Vec::new();
    for r in read_all(cfg, &dlt, PARTITIONS).await? {
        let h = r.headers.to_vec();
        let int = |key: &str| header(&h, key).unwrap_or_default();
        dead_letters.push(DeadLetter {
            value: String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned(),
            original_topic: header_text(&h, ORIGINAL_TOPIC),
            original_partition: int(ORIGINAL_PARTITION).try_into().map(i32::from_be_bytes).unwrap_or(-1),
            original_offset: int(ORIGINAL_OFFSET).try_into().map(i64::from_be_bytes).unwrap_or(-1),
            exception: header_text(&h, EXCEPTION_FQCN),
            message: header_text(&h, EXCEPTION_MESSAGE),
        });
    }
    let input_positions = read_all(cfg, &topic, PARTITIONS)
        .await?
        .into_iter()
        .map(|r| {
            (String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned(), (r.partition, r.offset))
        })
        .collect();
    delete_topics(&admin, &[topic.clone(), dlt]).await;
    let handled = std::mem::take(&mut *handled.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Outcome { topic, handled, dead_letters, input_positions, metrics })
}

#[tokio::main]
async fn main() -> Result<()> {
    kafkar_examples::init_logging();
    let outcome = run(&Config::from_env()).await?;
    println!("handled (order: attempt): {:?}", outcome.handled);
    for d in &outcome.dead_letters {
        println!(
            "dead letter from {}-{}@{}: {:?}\n  {}: {}",
            d.original_topic, d.original_partition, d.original_offset, d.value, d.exception, d.message
        );
    }
    let m = &outcome.metrics;
    println!("handled {}, dead-lettered {}, retries {}", m.records_handled, m.dead_lettered, m.retries);
    Ok(())
}
