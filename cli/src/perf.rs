//! `kafkar perf produce|consume`: throughput and latency of the kafkar producer and consumer against a real broker,
//! reported like Kafka's producer-perf-test: a progress line each second on stderr, a summary on stdout (or one
//! JSON object with `--json`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Subcommand;
use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};

use crate::connection::Connection;
use crate::failure::{CliResult, Failure};

/// `kafkar perf` subcommands.
#[derive(Subcommand, Debug)]
pub enum PerfAction {
    /// Produce records to a topic; report records/s, MB/s and the send-to-acknowledgement latency.
    #[command(after_help = "Example:
  kafkar perf produce -t bench -p 6 -n 1000000 -s 100 --throughput 50000 -X acks=all -X compression.type=lz4")]
    Produce {
        /// Topic (created when --partitions is given).
        #[arg(short, long)]
        topic: String,
        /// Number of records.
        #[arg(short = 'n', long, default_value_t = 1_000_000)]
        records: u64,
        /// Value size in bytes (random capital letters), unless --payload-file.
        #[arg(short, long, default_value_t = 100)]
        size: usize,
        /// Values from this file, one per line, picked at random for each record.
        #[arg(long, value_name = "FILE")]
        payload_file: Option<PathBuf>,
        /// At most this many records per second (default: as fast as possible).
        #[arg(long, value_name = "RECORDS_PER_SEC")]
        throughput: Option<f64>,
        /// Create the topic with this many partitions first.
        #[arg(short, long)]
        partitions: Option<i32>,
        /// With `-X transactional.id=...`: commit a transaction every this many records.
        #[arg(long, default_value_t = 1000)]
        transaction_size: u64,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Read records from every partition of a topic, from the beginning; report records/s, MB/s and the time to
    /// the first record.
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
        /// Stop when no record comes for this many seconds.
        #[arg(long, default_value_t = 10)]
        idle_timeout: u64,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `perf` subcommand.
pub async fn run(conn: &Connection, action: PerfAction) -> CliResult {
    match action {
        PerfAction::Produce { topic, records, size, payload_file, throughput, partitions, transaction_size, json } => {
            let payloads = match payload_file {
                Some(path) => {
                    let text = std::fs::read(&path)
                        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
                    let lines: Vec<Bytes> =
                        text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(Bytes::copy_from_slice).collect();
                    if lines.is_empty() {
                        return Err(Failure::usage(format!("{} has no payloads", path.display())));
                    }
                    lines
                }
                None => vec![random_letters(size)],
            };
            if throughput.is_some_and(|t| t.is_nan() || t <= 0.0) {
                return Err(Failure::usage("--throughput must be positive"));
            }
            let config: ProducerConfig = conn.load(&[])?;
            if let Some(p) = partitions {
                // The producer's shared settings (servers, security), not its own: -X may name producer properties.
                let admin = kafkar::Admin::new(config.client.clone()).await?;
                crate::topics::create(&admin, &topic, p, 1, &[]).await?;
            }
            let plan = ProducePlan { records, payloads, throughput, transaction_size: transaction_size.max(1) };
            let summary = produce(config, &topic, plan).await?;
            print_summary(&summary, json);
            if summary.errors > 0 {
                return Err(Failure::Kafka(summary.first_error.unwrap_or_else(|| {
                    kafkar::Error::new(kafkar::ErrorKind::InvalidArgument("records failed".into()))
                })));
            }
        }
        PerfAction::Consume { topic, records, group, idle_timeout, json } => {
            let mut command = vec![("auto.offset.reset", "earliest".to_owned())];
            if let Some(g) = &group {
                command.push(("group.id", g.clone()));
            }
            let config: ConsumerConfig = conn.load(&command)?;
            let summary = consume(config, &topic, records, group.is_some(), Duration::from_secs(idle_timeout)).await?;
            print_summary(&summary, json);
        }
    }
    Ok(())
}

/// Random capital letters, as Java's producer-perf-test sends: compressible about as much as text.
fn random_letters(size: usize) -> Bytes {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    Bytes::from(
        (0..size)
            .map(|_| {
                seed = xorshift(seed);
                b'A' + (seed % 26) as u8
            })
            .collect::<Vec<u8>>(),
    )
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// What `perf produce` sends.
struct ProducePlan {
    records: u64,
    payloads: Vec<Bytes>,
    throughput: Option<f64>,
    transaction_size: u64,
}

/// Acknowledgements as the delivery callbacks count them: totals, the current one-second window, every latency.
#[derive(Default)]
struct Acks {
    records: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    window_records: AtomicU64,
    window_bytes: AtomicU64,
    window_latency_us: AtomicU64,
    window_max_us: AtomicU64,
    latencies_us: Mutex<Vec<u32>>,
    first_error: Mutex<Option<kafkar::Error>>,
}

/// A produced record's delivery-report tag: when it was sent (microseconds since the run's epoch, the high 40 bits:
/// 12 days) and its value's size (the low 24 bits). A larger value goes through a callback instead.
const TAG_SIZE_BITS: u32 = 24;

fn tag(epoch: Instant, sent: Instant, bytes: u64) -> Option<u64> {
    let us = u64::try_from(sent.saturating_duration_since(epoch).as_micros()).ok()?;
    (bytes < 1 << TAG_SIZE_BITS && us < 1 << (64 - TAG_SIZE_BITS)).then_some(us << TAG_SIZE_BITS | bytes)
}

fn untag(epoch: Instant, tag: u64) -> (Instant, u64) {
    (epoch + Duration::from_micros(tag >> TAG_SIZE_BITS), tag & ((1 << TAG_SIZE_BITS) - 1))
}

impl Acks {
    fn record(&self, sent: Instant, bytes: u64, result: kafkar::Result<()>) {
        match result {
            Ok(()) => {
                let us = sent.elapsed().as_micros().min(u32::MAX as u128) as u32;
                self.records.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(bytes, Ordering::Relaxed);
                self.window_records.fetch_add(1, Ordering::Relaxed);
                self.window_bytes.fetch_add(bytes, Ordering::Relaxed);
                self.window_latency_us.fetch_add(us as u64, Ordering::Relaxed);
                self.window_max_us.fetch_max(us as u64, Ordering::Relaxed);
                if let Ok(mut l) = self.latencies_us.lock() {
                    l.push(us);
                }
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert(e);
                }
            }
        }
    }

    /// The progress line of the window that just ended (and starts the next one).
    fn window_line(&self, secs: f64) -> String {
        let n = self.window_records.swap(0, Ordering::Relaxed);
        let bytes = self.window_bytes.swap(0, Ordering::Relaxed);
        let lat = self.window_latency_us.swap(0, Ordering::Relaxed);
        let max = self.window_max_us.swap(0, Ordering::Relaxed);
        format!(
            "{n} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            n as f64 / secs,
            bytes as f64 / secs / 1e6,
            if n > 0 { lat as f64 / n as f64 / 1000.0 } else { 0.0 },
            max as f64 / 1000.0
        )
    }
}

/// A perf run's result.
struct Summary {
    kind: &'static str,
    records: u64,
    bytes: u64,
    secs: f64,
    errors: u64,
    first_error: Option<kafkar::Error>,
    /// Produce: sorted per-record latencies in µs.
    latencies_us: Vec<u32>,
    /// Consume: time from start to the first record.
    first_record: Option<Duration>,
}

impl Summary {
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((p * self.latencies_us.len() as f64).ceil() as usize).clamp(1, self.latencies_us.len()) - 1;
        self.latencies_us[i] as f64 / 1000.0
    }

    fn avg_ms(&self) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        self.latencies_us.iter().map(|&u| u as f64).sum::<f64>() / self.latencies_us.len() as f64 / 1000.0
    }
}

fn print_summary(s: &Summary, json: bool) {
    let rate = s.records as f64 / s.secs.max(1e-9);
    let mbs = s.bytes as f64 / s.secs.max(1e-9) / 1e6;
    let pct = [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p99_9", 0.999)];
    if json {
        let mut fields = vec![
            format!("\"kind\":\"{}\"", s.kind),
            format!("\"records\":{}", s.records),
            format!("\"bytes\":{}", s.bytes),
            format!("\"seconds\":{:.3}", s.secs),
            format!("\"records_per_sec\":{rate:.1}"),
            format!("\"mb_per_sec\":{mbs:.3}"),
            format!("\"errors\":{}", s.errors),
        ];
        if s.kind == "produce" {
            fields.push(format!("\"latency_avg_ms\":{:.3}", s.avg_ms()));
            for (name, p) in pct {
                fields.push(format!("\"latency_{name}_ms\":{:.3}", s.percentile_ms(p)));
            }
            fields.push(format!("\"latency_max_ms\":{:.3}", s.percentile_ms(1.0)));
        }
        if let Some(f) = s.first_record {
            fields.push(format!("\"first_record_ms\":{:.1}", f.as_secs_f64() * 1000.0));
        }
        println!("{{{}}}", fields.join(","));
    } else if s.kind == "produce" {
        println!(
            "{} records sent, {rate:.1} records/sec ({mbs:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, \
             {:.2} ms 50th, {:.2} ms 95th, {:.2} ms 99th, {:.2} ms 99.9th.{}",
            s.records,
            s.avg_ms(),
            s.percentile_ms(1.0),
            s.percentile_ms(0.5),
            s.percentile_ms(0.95),
            s.percentile_ms(0.99),
            s.percentile_ms(0.999),
            if s.errors > 0 { format!(" {} records failed.", s.errors) } else { String::new() }
        );
    } else {
        println!(
            "{} records received, {rate:.1} records/sec ({mbs:.2} MB/sec) in {:.3} s; first record after {:.1} ms.",
            s.records,
            s.secs,
            s.first_record.unwrap_or_default().as_secs_f64() * 1000.0
        );
    }
}

/// Prints `line()` on stderr each second until dropped.
struct Progress(tokio::task::JoinHandle<()>);

impl Progress {
    fn start(line: impl Fn(f64) -> String + Send + 'static) -> Progress {
        Progress(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            let mut last = Instant::now();
            loop {
                tick.tick().await;
                eprintln!("{}", line(last.elapsed().as_secs_f64()));
                last = Instant::now();
            }
        }))
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends the plan's records to `topic` (which must exist) and waits for every acknowledgement.
async fn produce(config: ProducerConfig, topic: &str, plan: ProducePlan) -> kafkar::Result<Summary> {
    let transactional = config.transactional_id.is_some();
    // Results come back as delivery reports (no allocation per record); the tag carries the send time and size.
    let acks = Arc::new(Acks::default());
    let epoch = Instant::now();
    let handler_acks = acks.clone();
    let config = config.with_delivery_handler(move |tag: u64, r: kafkar::Result<kafkar::producer::RecordMetadata>| {
        let (sent, bytes) = untag(epoch, tag);
        handler_acks.record(sent, bytes, r.map(drop))
    });
    let producer = Producer::new(config).await?;
    if transactional {
        producer.init_transactions().await?;
    }
    let topic: Arc<str> = topic.into();
    // Warm up (metadata, the producer id), not counted.
    if let Some(first) = plan.payloads.first() {
        if transactional {
            producer.begin_transaction()?;
        }
        producer.send_and_wait(ProducerRecord::new(topic.clone()).value(first.clone())).await?;
        if transactional {
            producer.commit_transaction().await?;
        }
    }
    let progress = {
        let acks = acks.clone();
        Progress::start(move |secs| acks.window_line(secs))
    };
    if transactional {
        producer.begin_transaction()?;
    }
    let t0 = Instant::now();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..plan.records {
        if let Some(rate) = plan.throughput {
            let due = t0 + Duration::from_secs_f64(i as f64 / rate);
            let now = Instant::now();
            if due > now + Duration::from_millis(1) {
                tokio::time::sleep(due - now).await;
            }
        }
        let value = if plan.payloads.len() == 1 {
            plan.payloads[0].clone()
        } else {
            seed = xorshift(seed);
            plan.payloads[(seed % plan.payloads.len() as u64) as usize].clone()
        };
        let bytes = value.len() as u64;
        let sent = Instant::now();
        let record = ProducerRecord::new(topic.clone()).value(value);
        match tag(epoch, sent, bytes) {
            Some(tag) => producer.send_reported(record, tag).await?,
            None => {
                let acks = acks.clone();
                producer.send_with_callback(record, move |r| acks.record(sent, bytes, r.map(drop))).await?
            }
        }
        if transactional && (i + 1) % plan.transaction_size == 0 && i + 1 < plan.records {
            producer.commit_transaction().await?;
            producer.begin_transaction()?;
        }
    }
    if transactional {
        producer.commit_transaction().await?;
    }
    producer.flush().await;
    let secs = t0.elapsed().as_secs_f64();
    drop(progress);
    producer.close().await;
    let mut latencies = acks.latencies_us.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
    latencies.sort_unstable();
    Ok(Summary {
        kind: "produce",
        records: acks.records.load(Ordering::Relaxed),
        bytes: acks.bytes.load(Ordering::Relaxed),
        secs,
        errors: acks.errors.load(Ordering::Relaxed),
        first_error: acks.first_error.lock().ok().and_then(|mut e| e.take()),
        latencies_us: latencies,
        first_record: None,
    })
}

/// Reads `count` records of `topic` from the beginning: as a group member when the config has a `group.id`
/// (`subscribe`), else by assigning every partition. Stops early after `idle` without records.
async fn consume(
    config: ConsumerConfig,
    topic: &str,
    count: u64,
    subscribe: bool,
    idle: Duration,
) -> kafkar::Result<Summary> {
    let mut consumer = Consumer::new(config).await?;
    let t0 = Instant::now();
    if subscribe {
        consumer.subscribe([topic])?;
    } else {
        let timeout = consumer.config().default_api_timeout;
        let info = consumer.cluster().topic(topic, timeout).await?;
        consumer.assign((0..info.partition_count()).map(|p| TopicPartition::new(topic, p)))?;
        consumer.seek_to_beginning(&[])?;
    }
    let window = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let progress = {
        let window = window.clone();
        Progress::start(move |secs| {
            let n = window.0.swap(0, Ordering::Relaxed);
            let b = window.1.swap(0, Ordering::Relaxed);
            format!("{n} records received, {:.1} records/sec ({:.2} MB/sec).", n as f64 / secs, b as f64 / secs / 1e6)
        })
    };
    let mut records = 0u64;
    let mut bytes = 0u64;
    let mut first_record = None;
    let mut started = t0;
    while records < count {
        let batch = consumer.poll(usize::MAX, idle).await?;
        if batch.is_empty() {
            tracing::warn!(records, "no records for {idle:?}; stopping");
            break;
        }
        if first_record.is_none() {
            first_record = Some(t0.elapsed());
            started = Instant::now();
        }
        let got: u64 = batch
            .iter()
            .map(|r| r.value.as_ref().map_or(0, |v| v.len()) as u64 + r.key.as_ref().map_or(0, |k| k.len()) as u64)
            .sum();
        records += batch.len() as u64;
        bytes += got;
        window.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        window.1.fetch_add(got, Ordering::Relaxed);
    }
    let secs = started.elapsed().as_secs_f64();
    drop(progress);
    consumer.close().await?;
    Ok(Summary {
        kind: "consume",
        records,
        bytes,
        secs,
        errors: 0,
        first_error: None,
        latencies_us: Vec::new(),
        first_record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_carries_the_send_time_and_size() {
        let epoch = Instant::now();
        let sent = epoch + Duration::from_micros(123_456_789);
        let t = tag(epoch, sent, 100).unwrap();
        assert_eq!(untag(epoch, t), (sent, 100));
        let max = (1 << TAG_SIZE_BITS) - 1;
        assert_eq!(untag(epoch, tag(epoch, sent, max).unwrap()), (sent, max));
        // Too large a value, or a run longer than the tag holds: no tag (a callback instead).
        assert_eq!(tag(epoch, sent, max + 1), None);
        assert_eq!(tag(epoch, epoch + Duration::from_secs(13 * 86_400), 1), None);
    }

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let s = Summary {
            kind: "produce",
            records: 1000,
            bytes: 0,
            secs: 1.0,
            errors: 0,
            first_error: None,
            latencies_us: (1..=1000).map(|i| i * 1000).collect(),
            first_record: None,
        };
        assert_eq!(s.percentile_ms(0.5), 500.0);
        assert_eq!(s.percentile_ms(0.99), 990.0);
        assert_eq!(s.percentile_ms(0.999), 999.0);
        assert_eq!(s.percentile_ms(1.0), 1000.0);
        assert_eq!(s.avg_ms(), 500.5);
    }
}
