//! A handler consumer with retries and a dead-letter topic: ten orders, two of them poison (sent to
//! `<topic>.DLT` with Spring Kafka's `kafka_dlt-*` headers) and one flaky (retried, then handled).
//!
//! ```sh
//! KAFKA_BOOTSTRAP=127.0.0.1:9092 cargo run -p kafkar-app --example dlq_handler
//! ```

use std::sync::Arc;
use std::time::Duration;

use kafkar::consumer::{Consumer, ConsumerConfig, OffsetReset, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use kafkar::{Admin, AdminConfig};
use kafkar_app::{
    DeadLetterConfig, Delivery, HandlerConsumer, HandlerError, HandlerSettings, Permanent, Retriable, RetryPolicy,
    Shutdown,
};

#[derive(Debug, thiserror::Error)]
#[error("order is not valid JSON: {0}")]
struct NotJson(String);

#[derive(Debug, thiserror::Error)]
#[error("inventory service busy")]
struct Busy;

async fn handle(d: Delivery) -> Result<(), HandlerError> {
    let value = String::from_utf8_lossy(d.record.value.as_deref().unwrap_or_default()).into_owned();
    if !value.starts_with('{') {
        return Err(Permanent(NotJson(value)).into());
    }
    if value.contains("flaky") && d.attempt < 3 {
        return Err(Retriable(Busy).into());
    }
    tracing::info!(offset = d.record.offset, attempt = d.attempt, "order handled");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let topic = format!("orders-dlq-demo-{}", std::process::id());
    let admin = Admin::new(AdminConfig::new(&bootstrap)).await?;
    admin.create_topic(&topic, 2, 1, &[]).await?;
    admin.create_topic(&format!("{topic}.DLT"), 2, 1, &[]).await?;

    let producer = Arc::new(Producer::new(ProducerConfig::new(&bootstrap)).await?);
    for i in 0..10 {
        let value = match i {
            3 | 7 => format!("order {i}, not JSON"),
            5 => format!("{{\"order\": {i}, \"note\": \"flaky\"}}"),
            _ => format!("{{\"order\": {i}}}"),
        };
        producer.send(ProducerRecord::new(topic.as_str()).key(format!("customer-{i}")).value(value)).await?.await?;
    }

    let settings = HandlerSettings {
        retry: RetryPolicy::exponential(3, Duration::from_millis(50), Duration::from_secs(1)),
        dead_letter: Some(DeadLetterConfig::new(producer.clone())),
        ..HandlerSettings::default()
    };
    let config = ConsumerConfig::new(&bootstrap)
        .with_group_id(format!("{topic}-billing"))
        .with_auto_offset_reset(OffsetReset::Earliest);
    let consumer = HandlerConsumer::new(config, [topic.as_str()], settings, handle).await?;
    let monitor = consumer.monitor();
    let shutdown = Shutdown::new();
    let run = tokio::spawn(consumer.run(shutdown.clone()));
    while {
        let m = monitor.metrics();
        m.records_handled + m.dead_lettered < 10
    } {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.trigger();
    let metrics = run.await??;
    println!(
        "handled {}, dead-lettered {}, retries {}",
        metrics.records_handled, metrics.dead_lettered, metrics.retries
    );

    // Read the dead letters back.
    let mut dlt = Consumer::new(ConsumerConfig::new(&bootstrap).with_auto_offset_reset(OffsetReset::Earliest)).await?;
    dlt.assign((0..2).map(|p| TopicPartition::new(format!("{topic}.DLT"), p)))?;
    let mut seen = 0;
    while seen < metrics.dead_lettered {
        for r in dlt.poll(100, Duration::from_secs(1)).await? {
            seen += 1;
            println!("dead letter {:?}", String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()));
            for h in r.headers.iter().filter(|h| h.key.starts_with(b"kafka_dlt-")) {
                let value = h.value.unwrap_or_default();
                let shown = match value.len() {
                    4 if h.key.ends_with(b"partition") => {
                        i32::from_be_bytes([value[0], value[1], value[2], value[3]]).to_string()
                    }
                    8 if !h.key.ends_with(b"type") => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&value);
                        i64::from_be_bytes(b).to_string()
                    }
                    _ => String::from_utf8_lossy(&value).into_owned(),
                };
                println!("  {} = {shown}", String::from_utf8_lossy(&h.key));
            }
        }
    }
    dlt.close().await?;
    producer.close().await;
    admin.delete_topic(&topic).await?;
    admin.delete_topic(&format!("{topic}.DLT")).await?;
    Ok(())
}
