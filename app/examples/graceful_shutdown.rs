//! Graceful shutdown on SIGTERM or ctrl-c: a handler consumer works through a topic (50 ms per record); on the
//! signal it stops fetching, lets the running handlers finish, commits exactly what was handled and leaves the
//! group. Run it, press ctrl-c (or `kill -TERM`), run it again: it starts where the first run stopped.
//!
//! ```sh
//! KAFKA_BOOTSTRAP=127.0.0.1:9092 cargo run -p kafkar-app --example graceful_shutdown -- my-topic
//! ```
//!
//! Without a topic argument it creates one with 1000 records. `DEMO_SECONDS=5` shuts down after five seconds
//! instead of waiting for a signal.

use std::time::Duration;

use kafkar::consumer::{ConsumerConfig, OffsetReset};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use kafkar::{Admin, AdminConfig};
use kafkar_app::{Delivery, HandlerConsumer, HandlerSettings, Shutdown};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let topic = match std::env::args().nth(1) {
        Some(t) => t,
        None => {
            let topic = format!("shutdown-demo-{}", std::process::id());
            Admin::new(AdminConfig::new(&bootstrap)).await?.create_topic(&topic, 3, 1, &[]).await?;
            let producer = Producer::new(ProducerConfig::new(&bootstrap)).await?;
            for i in 0..1000 {
                producer.send_forget(ProducerRecord::new(topic.as_str()).value(format!("job {i}"))).await?;
            }
            producer.close().await;
            println!("created {topic} with 1000 records");
            topic
        }
    };
    let shutdown = match std::env::var("DEMO_SECONDS").ok().and_then(|s| s.parse::<u64>().ok()) {
        Some(secs) => {
            let s = Shutdown::new();
            let t = s.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                t.trigger();
            });
            s
        }
        None => Shutdown::on_signal(),
    };
    let config = ConsumerConfig::new(&bootstrap)
        .with_group_id("graceful-shutdown-demo")
        .with_auto_offset_reset(OffsetReset::Earliest);
    let settings = HandlerSettings { shutdown_timeout: Duration::from_secs(10), ..HandlerSettings::default() };
    let consumer = HandlerConsumer::new(config, [topic.as_str()], settings, |d: Delivery| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        tracing::info!(partition = d.record.partition, offset = d.record.offset, "job done");
        Ok(())
    })
    .await?;
    println!("working; send SIGTERM or press ctrl-c to stop");
    let metrics = consumer.run(shutdown).await?;
    println!("stopped: {} records handled, {} commits", metrics.records_handled, metrics.commits);
    Ok(())
}
