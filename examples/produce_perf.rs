//! Producer throughput: sends N records of S bytes to a fresh topic and reports records/s, MB/s and the
//! producer's metrics. Run in release mode against a local broker:
//!
//! ```text
//! cargo run --release --example produce_perf -- [bootstrap] [records] [size] [compression] [acks] [linger.ms] [partitions]
//! cargo run --release --example produce_perf -- 127.0.0.1:19092 1000000 100 lz4 all 5 6
//! ```

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use kafkar::ClientConfig;
use kafkar::admin::Admin;
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};

#[tokio::main]
async fn main() -> kafkar::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_owned());
    let bootstrap = arg(0, "127.0.0.1:9092");
    let records: usize = arg(1, "1000000").parse().expect("records");
    let size: usize = arg(2, "100").parse().expect("size");
    let compression = arg(3, "none");
    let acks = arg(4, "all");
    let linger = arg(5, "5");
    let partitions: i32 = arg(6, "6").parse().expect("partitions");

    let topic = format!(
        "perf-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
    );
    let admin = Admin::new(ClientConfig::new(&bootstrap))?;
    admin.create_topic(&topic, partitions, 1, &[]).await?;

    let config = ProducerConfig::from_iter([
        ("bootstrap.servers", bootstrap.as_str()),
        ("compression.type", compression.as_str()),
        ("acks", acks.as_str()),
        ("linger.ms", linger.as_str()),
    ])?;
    let producer = Producer::new(config).await?;
    let topic: Arc<str> = topic.into();
    // Random capital letters, as Java's kafka-producer-perf-test sends: compressible about as much as text.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let value = Bytes::from(
        (0..size)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                b'A' + (seed % 26) as u8
            })
            .collect::<Vec<u8>>(),
    );
    // Warm up: metadata and producer id.
    producer.send_and_wait(ProducerRecord::new(topic.clone()).value(value.clone())).await?;

    let t0 = Instant::now();
    for _ in 0..records {
        let r = ProducerRecord {
            topic: topic.clone(),
            partition: None,
            key: None,
            value: Some(value.clone()),
            headers: Vec::new(),
            timestamp: None,
        };
        producer.send_forget(r).await?;
    }
    producer.flush().await;
    let elapsed = t0.elapsed();
    let m = producer.metrics();
    producer.close().await;
    admin.delete_topic(&topic).await?;

    let secs = elapsed.as_secs_f64();
    println!(
        "{records} records x {size} B, {compression}, acks={acks}, linger.ms={linger}, {partitions} partitions: \
         {:.3} s, {:.0} records/s, {:.1} MB/s (payload)",
        secs,
        records as f64 / secs,
        (records * size) as f64 / secs / 1e6
    );
    println!(
        "batches {} (avg {:.0} B on the wire, {:.0} records), requests {}, retries {}, errors {}, latency avg {:?} max {:?}",
        m.batches_sent,
        m.avg_batch_size,
        m.avg_records_per_batch,
        m.requests_sent,
        m.retries,
        m.record_errors,
        m.request_latency_avg,
        m.request_latency_max
    );
    Ok(())
}
