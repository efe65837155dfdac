//! `kafkar perf produce|consume`: throughput of the kafkar producer and consumer against a real broker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Subcommand;
use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};

use crate::connection::Connection;
use crate::failure::CliResult;

/// `kafkar perf` subcommands.
#[derive(Subcommand, Debug)]
pub enum PerfAction {
    /// Produce records of a fixed size to a topic and report the rate.
    Produce {
        /// Topic (created when --partitions is given).
        #[arg(short, long)]
        topic: String,
        /// Number of records.
        #[arg(short = 'n', long, default_value_t = 1_000_000)]
        records: u64,
        /// Value size in bytes.
        #[arg(short, long, default_value_t = 100)]
        size: usize,
        /// Create the topic with this many partitions first.
        #[arg(short, long)]
        partitions: Option<i32>,
        /// With `-X transactional.id=...`: commit a transaction every this many records.
        #[arg(long, default_value_t = 1000)]
        transaction_size: u64,
    },
    /// Read records from every partition of a topic, from the beginning, and report the rate.
    Consume {
        /// Topic.
        #[arg(short, long)]
        topic: String,
        /// Number of records to read.
        #[arg(short = 'n', long, default_value_t = 1_000_000)]
        records: u64,
        /// Consume as a member of this consumer group (subscribe) instead of assigning every partition.
        #[arg(short, long)]
        group: Option<String>,
    },
}

/// Runs a `perf` subcommand.
pub async fn run(conn: &Connection, action: PerfAction) -> CliResult {
    match action {
        PerfAction::Produce { topic, records, size, partitions, transaction_size } => {
            if let Some(p) = partitions {
                let admin = crate::topics::admin(conn).await?;
                crate::topics::create(&admin, &topic, p, 1).await?;
            }
            let config: ProducerConfig = conn.load(&[])?;
            produce(config, &topic, records, size, transaction_size).await?;
        }
        PerfAction::Consume { topic, records, group } => {
            let mut command = vec![("auto.offset.reset", "earliest".to_owned())];
            if let Some(g) = &group {
                command.push(("group.id", g.clone()));
            }
            let config: ConsumerConfig = conn.load(&command)?;
            consume(config, &topic, records, group.as_deref()).await?;
        }
    }
    Ok(())
}

/// Sends `records` records of `size` bytes to `topic` (which must exist) and waits for all of them.
pub async fn produce(
    config: ProducerConfig,
    topic: &str,
    records: u64,
    size: usize,
    transaction_size: u64,
) -> kafkar::Result<()> {
    let transactional = config.transactional_id.is_some();
    let transaction_size = transaction_size.max(1);
    let producer = Producer::new(config).await?;
    if transactional {
        producer.init_transactions().await?;
        producer.begin_transaction()?;
    }
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
    // Warm up: metadata and the producer id.
    producer.send_and_wait(ProducerRecord::new(topic.clone()).value(value.clone())).await?;
    let mut errors = producer.take_errors();
    let mut transactions = 0u64;
    if transactional {
        producer.commit_transaction().await?;
        producer.begin_transaction()?;
    }
    let t0 = Instant::now();
    for i in 1..records {
        producer.send_forget(ProducerRecord::new(topic.clone()).value(value.clone())).await?;
        if transactional && i % transaction_size == 0 {
            producer.commit_transaction().await?;
            producer.begin_transaction()?;
            transactions += 1;
        }
    }
    if transactional {
        producer.commit_transaction().await?;
        transactions += 1;
    }
    producer.flush().await;
    let secs = t0.elapsed().as_secs_f64();
    let m = producer.metrics();
    producer.close().await;
    if let Some(rx) = errors.as_mut() {
        if let Ok(failure) = rx.try_recv() {
            return Err(failure.error);
        }
    }
    println!(
        "produced {records} records x {size} B in {secs:.3} s: {:.0} records/s, {:.1} MB/s",
        records as f64 / secs,
        (records as usize * size) as f64 / secs / 1e6
    );
    if transactional {
        println!("  {transactions} transactions of up to {transaction_size} records");
    }
    println!(
        "  batches {} (avg {:.0} B, {:.0} records), requests {}, retries {}, errors {}, latency avg {:?} max {:?}",
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

/// Reads `count` records from every partition of `topic`, from the beginning: as a member of consumer group
/// `group` when given (subscribe; the group assigns the partitions), else by assigning every partition.
pub async fn consume(config: ConsumerConfig, topic: &str, count: u64, group: Option<&str>) -> kafkar::Result<()> {
    let mut consumer = Consumer::new(config).await?;
    let joined = Instant::now();
    if group.is_some() {
        consumer.subscribe([topic])?;
    } else {
        let info = consumer.cluster().topic(topic, Duration::from_secs(30)).await?;
        consumer.assign((0..info.partition_count()).map(|p| TopicPartition::new(topic, p)))?;
    }
    let first = consumer.recv().await?;
    if let Some(g) = group {
        println!(
            "joined group {g} and got the first record in {:.3} s; assigned {} partition(s)",
            joined.elapsed().as_secs_f64(),
            consumer.assignment().len()
        );
    }
    let start = Instant::now();
    let mut records = 1u64;
    let mut bytes = first.value.as_ref().map_or(0, |v| v.len()) as u64;
    while records < count {
        let batch = consumer.poll(usize::MAX, Duration::from_secs(10)).await?;
        if batch.is_empty() {
            tracing::warn!(records, "no records for 10 s; stopping");
            break;
        }
        for r in &batch {
            bytes += r.value.as_ref().map_or(0, |v| v.len()) as u64 + r.key.as_ref().map_or(0, |k| k.len()) as u64;
        }
        records += batch.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    let m = consumer.metrics();
    consumer.close().await?;
    println!(
        "consumed {records} records ({:.1} MB of keys+values) in {secs:.3} s: {:.0} records/s, {:.1} MB/s; {} fetches",
        bytes as f64 / 1e6,
        records as f64 / secs,
        bytes as f64 / 1e6 / secs,
        m.fetch_requests,
    );
    Ok(())
}
