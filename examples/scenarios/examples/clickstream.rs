//! Click-stream counting: page views counted per page in event-time tumbling windows of one minute, the counts
//! written to a compacted output topic keyed by page and window (the latest count per key is the answer). The
//! counter is stopped in the worst place, after writing counts for a batch and before committing its offsets, and
//! restarted: it rebuilds its counts from the input up to the committed offsets and goes on from there, so no view
//! is counted twice (nor missed).
//!
//! ```sh
//! KAFKA_BOOTSTRAP=127.0.0.1:9092 cargo run -p kafkar-examples --example clickstream
//! ```
//!
//! Why restarts cannot double count: the output holds absolute counts, each a function of the input up to some
//! offset, never increments. The committed offset says how far the input has been counted *and written*; a restart
//! recounts exactly that prefix (without writing), then counts on. Counts written after the last commit are
//! written again with the same values. Views are keyed by page, so a page's views (and so each output key) belong
//! to one input partition: counters can share the partitions of a group, each rebuilding only its own. Windows are
//! by event time (the view's own timestamp, also the record timestamp), so late and out-of-order views land in the
//! window they belong to.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafkar::admin::NewTopic;
use kafkar::consumer::TopicPartition;
use kafkar::{Consumer, Producer, ProducerRecord};
use kafkar_examples::{Config, Result, create_topics, delete_topics, end_offsets, reached, read_all, read_until};
use serde::{Deserialize, Serialize};

const PARTITIONS: i32 = 3;
/// The window length: one minute.
pub const WINDOW_MS: i64 = 60_000;
const PAGES: [&str; 5] = ["/home", "/products", "/cart", "/checkout", "/about"];

/// A page view, as the site sends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageView {
    /// Who.
    pub user: String,
    /// Which page.
    pub page: String,
    /// When it happened (milliseconds since the epoch): the event time.
    pub ts: i64,
}

/// One output record: the views of a page in a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowCount {
    /// The page.
    pub page: String,
    /// The window's start (inclusive), ms since the epoch.
    pub window_start: i64,
    /// The window's end (exclusive).
    pub window_end: i64,
    /// Views of the page in the window.
    pub count: u64,
}

/// The output key of a page's window.
pub fn window_key(page: &str, window_start: i64) -> String {
    format!("{page}@{window_start}")
}

/// The start of the window `ts` falls in.
pub fn window_of(ts: i64) -> i64 {
    ts - ts.rem_euclid(WINDOW_MS)
}

/// What one counter instance did.
#[derive(Clone, Debug, Default)]
pub struct InstanceReport {
    /// Input records recounted from offset 0 up to the committed offsets at start.
    pub rebuilt: u64,
    /// The committed offsets found at start (partition → offset).
    pub committed_at_start: BTreeMap<i32, i64>,
    /// Input records counted (and written) after the rebuild.
    pub counted: u64,
    /// Of those, records whose counts were written but whose offsets were not committed (the simulated crash).
    pub written_not_committed: u64,
}

/// The outcome: the counts on the output topic and a direct count over the input, across a restart.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The first instance (stopped between writing and committing).
    pub first: InstanceReport,
    /// The restarted instance.
    pub second: InstanceReport,
    /// The latest count per key on the output topic.
    pub output: BTreeMap<String, u64>,
    /// Counts made directly over every input record.
    pub direct: BTreeMap<String, u64>,
    /// Input records in all.
    pub views: usize,
}

/// One counter instance: rebuilds from the committed offsets, then counts until the input reaches `until` (per
/// partition), or until it has counted `crash_after` records: then it writes the batch's counts and stops without
/// committing them, as a crash there would.
async fn counter(
    cfg: &Config,
    group: &str,
    input: &str,
    output: &str,
    until: &BTreeMap<i32, i64>,
    crash_after: Option<u64>,
) -> Result<InstanceReport> {
    let tps: Vec<TopicPartition> = (0..PARTITIONS).map(|p| TopicPartition::new(input, p)).collect();
    let config = cfg.consumer_config().with_group_id(group).with_auto_commit(false).with_max_poll_records(50);
    let mut consumer = Consumer::new(config).await?;
    let mut report = InstanceReport::default();
    for (tp, committed) in consumer.committed(&tps).await? {
        if let Some(c) = committed {
            report.committed_at_start.insert(tp.partition, c.offset);
        }
    }
    // Rebuild: recount the committed prefix, writing nothing.
    let mut counts: BTreeMap<(String, i64), u64> = BTreeMap::new();
    for r in read_until(cfg, input, &report.committed_at_start).await? {
        let view: PageView = serde_json::from_slice(r.value.as_deref().unwrap_or_default())?;
        *counts.entry((view.page, window_of(view.ts))).or_default() += 1;
        report.rebuilt += 1;
    }
    tracing::info!(rebuilt = report.rebuilt, committed = ?report.committed_at_start, "counts rebuilt");

    // Count on from the committed offsets (assigned with the group id, the consumer starts there).
    consumer.assign(tps.clone())?;
    let producer = Producer::new(cfg.producer_config()).await?;
    let deadline = tokio::time::Instant::now() + cfg.timeout;
    while !reached(&mut consumer, input, until).await? {
        if tokio::time::Instant::now() > deadline {
            return Err("the counter did not reach the end of its input in time".into());
        }
        let batch = consumer.poll(50, Duration::from_millis(100)).await?;
        let mut changed = BTreeSet::new();
        for r in &batch {
            // A view that does not parse is skipped (a real job would dead-letter it).
            let Ok(view) = serde_json::from_slice::<PageView>(r.value.as_deref().unwrap_or_default()) else {
                tracing::warn!(partition = r.partition, offset = r.offset, "not a page view");
                continue;
            };
            let key = (view.page, window_of(view.ts));
            *counts.entry(key.clone()).or_default() += 1;
            changed.insert(key);
        }
        let mut sent = Vec::new();
        for (page, start) in changed {
            let value = WindowCount {
                page: page.clone(),
                window_start: start,
                window_end: start + WINDOW_MS,
                count: counts[&(page.clone(), start)],
            };
            let record = ProducerRecord::new(output).key(window_key(&page, start)).value(serde_json::to_vec(&value)?);
            sent.push(producer.send(record).await?);
        }
        for delivery in sent {
            delivery.await?;
        }
        report.counted += batch.len() as u64;
        if crash_after.is_some_and(|n| report.counted >= n) {
            report.written_not_committed = batch.len() as u64;
            tracing::info!(counted = report.counted, "stopping after writing, before committing (a crash)");
            break;
        }
        consumer.commit().await?;
    }
    producer.close().await;
    consumer.close().await?;
    Ok(report)
}

/// `n` views starting at `from_ms`, four a second, each up to 40 s early or late (out of order).
fn views(n: usize, from_ms: i64, seed: u64) -> Vec<PageView> {
    let mut x = seed | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let jitter = (x % 80_000) as i64 - 40_000;
            PageView {
                user: format!("user-{}", (x >> 20) % 40),
                page: PAGES[((x >> 8) % PAGES.len() as u64) as usize].to_owned(),
                ts: from_ms + i as i64 * 250 + jitter,
            }
        })
        .collect()
}

async fn produce(producer: &Producer, topic: &str, views: &[PageView]) -> Result<()> {
    let mut sent = Vec::new();
    for v in views {
        let record = ProducerRecord::new(topic).key(v.page.clone()).value(serde_json::to_vec(v)?).timestamp(v.ts);
        sent.push(producer.send(record).await?);
    }
    for delivery in sent {
        delivery.await?;
    }
    Ok(())
}

/// Counts two rounds of page views with a crash and a restart in between.
pub async fn run(cfg: &Config) -> Result<Outcome> {
    let admin = cfg.admin().await?;
    let input = cfg.name("clicks-page-views");
    let output = cfg.name("clicks-page-counts");
    let group = cfg.name("clicks-counter");
    create_topics(
        &admin,
        &[
            NewTopic::new(&input, PARTITIONS, 1),
            NewTopic::new(&output, PARTITIONS, 1).config("cleanup.policy", "compact"),
        ],
    )
    .await?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let start = window_of(now) - 10 * WINDOW_MS;
    let producer = Producer::new(cfg.producer_config()).await?;

    produce(&producer, &input, &views(600, start, 0x9e37_79b9_7f4a_7c15)).await?;
    let ends = end_offsets(cfg, &input, PARTITIONS).await?;
    let first = counter(cfg, &group, &input, &output, &ends, Some(300)).await?;

    produce(&producer, &input, &views(600, start + 150_000, 0xd1b5_4a32_d192_ed03)).await?;
    producer.close().await;
    let ends = end_offsets(cfg, &input, PARTITIONS).await?;
    let second = counter(cfg, &group, &input, &output, &ends, None).await?;

    let mut direct = BTreeMap::new();
    let all = read_all(cfg, &input, PARTITIONS).await?;
    for r in &all {
        let view: PageView = serde_json::from_slice(r.value.as_deref().unwrap_or_default())?;
        *direct.entry(window_key(&view.page, window_of(view.ts))).or_default() += 1;
    }
    let mut counted = BTreeMap::new();
    for r in read_all(cfg, &output, PARTITIONS).await? {
        let key = String::from_utf8(r.key.as_deref().unwrap_or_default().to_vec())?;
        let value: WindowCount = serde_json::from_slice(r.value.as_deref().unwrap_or_default())?;
        counted.insert(key, value.count);
    }
    delete_topics(&admin, &[input, output]).await;
    Ok(Outcome { first, second, output: counted, direct, views: all.len() })
}

#[tokio::main]
async fn main() -> Result<()> {
    kafkar_examples::init_logging();
    let outcome = run(&Config::from_env()).await?;
    println!("first instance: {:?}", outcome.first);
    println!("restarted instance: {:?}", outcome.second);
    for (key, count) in &outcome.output {
        println!("{key}: {count} (direct count {:?})", outcome.direct.get(key));
    }
    let same = outcome.output == outcome.direct;
    println!("{} views; output equals the direct count: {same}", outcome.views);
    Ok(())
}
