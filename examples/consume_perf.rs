//! Consumer throughput: reads COUNT records from every partition of TOPIC, from the beginning, and prints the rate.
//!
//! ```text
//! cargo run --release --example consume_perf -- 127.0.0.1:9092 TOPIC 1000000
//! ```
//!
//! Fill the topic first, e.g. with Kafka's own producer-perf:
//! `scripts/kafka producer-perf --topic TOPIC --num-records 1000000 --record-size 100 --throughput -1
//!  --producer-props bootstrap.servers=127.0.0.1:9092`

use std::time::{Duration, Instant};

use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};

#[tokio::main]
async fn main() -> kafkar::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(bootstrap), Some(topic)) = (args.next(), args.next()) else {
        eprintln!("usage: consume_perf BOOTSTRAP TOPIC [COUNT] [key=value ...]");
        std::process::exit(2);
    };
    let count: u64 = args.next().and_then(|c| c.parse().ok()).unwrap_or(1_000_000);
    let mut config = ConsumerConfig::new(&bootstrap);
    config.set("auto.offset.reset", "earliest")?;
    for kv in args {
        if let Some((k, v)) = kv.split_once('=') {
            config.set(k, v)?;
        }
    }
    let mut consumer = Consumer::new(config).await?;
    let info = consumer.cluster().topic(&topic, Duration::from_secs(30)).await?;
    consumer.assign((0..info.partition_count()).map(|p| TopicPartition::new(topic.as_str(), p)))?;

    let first = consumer.recv().await?;
    let start = Instant::now();
    let mut records = 1u64;
    let mut bytes = first.value.as_ref().map_or(0, |v| v.len()) as u64;
    while records < count {
        let batch = consumer.poll(usize::MAX, Duration::from_secs(10)).await?;
        if batch.is_empty() {
            eprintln!("no records for 10 s after {records}; stopping");
            break;
        }
        for r in &batch {
            bytes += r.value.as_ref().map_or(0, |v| v.len()) as u64 + r.key.as_ref().map_or(0, |k| k.len()) as u64;
        }
        records += batch.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    let m = consumer.metrics();
    println!(
        "{records} records, {:.1} MB of keys+values in {secs:.3} s: {:.0} records/s, {:.1} MB/s; {} fetches, mean fetch latency {:?}",
        bytes as f64 / 1e6,
        records as f64 / secs,
        bytes as f64 / 1e6 / secs,
        m.fetch_requests,
        m.fetch_latency_avg,
    );
    consumer.close().await
}
