//! What the kafkar scenarios share: the broker to talk to and a run id that keeps each run's topics and groups
//! apart ([`Config`]), topic creation and clean-up, reading a topic to its end, bounded waits, and logging.
//!
//! Each scenario lives in `examples/NAME.rs` as `pub async fn run(&Config) -> Result<Outcome>` plus a `main`, and
//! `tests/scenarios.rs` runs the same `run` against the real broker and asserts on its `Outcome`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use kafkar::admin::{ConfigResource, NewTopic};
use kafkar::consumer::{ConsumerRecord, OffsetReset, TopicPartition};
use kafkar::{Admin, AdminConfig, Consumer, ConsumerConfig, ProducerConfig};

/// The small Schema Registry server that kafkar-serdes's tests use (loopback HTTP; the same file, included), so the
/// `schema_registry` scenario runs without a Confluent registry.
#[path = "../../../serdes/tests/support/registry.rs"]
pub mod test_registry;

/// Any error a scenario can end with.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A scenario's result.
pub type Result<T> = std::result::Result<T, Error>;

/// Where a scenario runs: the bootstrap servers, and a run id appended to every topic and group name it makes.
#[derive(Clone, Debug)]
pub struct Config {
    /// The bootstrap servers (`KAFKA_BOOTSTRAP`, default `127.0.0.1:9092`).
    pub bootstrap: String,
    /// Unique per run: the process id and the clock.
    pub run_id: String,
    /// The longest any waiting step of a scenario may take before it fails.
    pub timeout: Duration,
}

impl Config {
    /// The broker from `KAFKA_BOOTSTRAP` (default `127.0.0.1:9092`) and a fresh run id.
    pub fn from_env() -> Config {
        let bootstrap = std::env::var("KAFKA_BOOTSTRAP")
            .ok()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| "127.0.0.1:9092".to_owned());
        Config::new(bootstrap)
    }

    /// The broker at `bootstrap` and a fresh run id.
    pub fn new(bootstrap: impl Into<String>) -> Config {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let run_id = format!("{}-{:x}-{}", std::process::id(), nanos & 0xffff_ffff, N.fetch_add(1, Ordering::Relaxed));
        Config { bootstrap: bootstrap.into(), run_id, timeout: Duration::from_secs(60) }
    }

    /// `base` made unique to this run (topic and group names).
    pub fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.run_id)
    }

    /// A producer config for this broker (idempotent, as by default; 5 ms linger).
    pub fn producer_config(&self) -> ProducerConfig {
        let mut config = ProducerConfig::new(&self.bootstrap);
        config.linger = Duration::from_millis(5);
        config
    }

    /// A consumer config for this broker that starts at the earliest offset and waits at most 100 ms per fetch.
    pub fn consumer_config(&self) -> ConsumerConfig {
        ConsumerConfig::new(&self.bootstrap).with_auto_offset_reset(OffsetReset::Earliest).with_fetch(
            1,
            50 << 20,
            Duration::from_millis(100),
        )
    }

    /// An admin client for this broker.
    pub async fn admin(&self) -> Result<Admin> {
        Ok(Admin::new(AdminConfig::new(&self.bootstrap)).await?)
    }
}

/// Creates `topics` (one replica each unless set), failing on the first that could not be created.
pub async fn create_topics(admin: &Admin, topics: &[NewTopic]) -> Result<()> {
    for (name, result) in admin.create_topics(topics, false).await? {
        result.map_err(|e| format!("creating topic {name}: {e}"))?;
    }
    Ok(())
}

/// Deletes `topics`, logging (not failing on) those that could not be deleted: clean-up after a run.
pub async fn delete_topics(admin: &Admin, topics: &[String]) {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    match admin.delete_topics(&names).await {
        Ok(results) => {
            for (name, result) in results {
                if let Err(e) = result {
                    tracing::warn!(topic = %name, error = %e, "topic not deleted");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "topics not deleted"),
    }
}

/// The value of config `name` of `topic`, as the broker describes it.
pub async fn topic_config(admin: &Admin, topic: &str, name: &str) -> Result<Option<String>> {
    let resource = ConfigResource::topic(topic);
    let mut described = admin.describe_configs(std::slice::from_ref(&resource)).await?;
    let entries = described.remove(&resource).ok_or_else(|| format!("no configs of {topic} in the answer"))??;
    Ok(entries.into_iter().find(|e| e.name == name).and_then(|e| e.value))
}

/// The log end offset of each of `partitions` partitions of `topic`.
pub async fn end_offsets(config: &Config, topic: &str, partitions: i32) -> Result<BTreeMap<i32, i64>> {
    let consumer = Consumer::new(config.consumer_config()).await?;
    let mut ends = BTreeMap::new();
    for p in 0..partitions {
        ends.insert(p, consumer.watermarks(&TopicPartition::new(topic, p)).await?.1);
    }
    consumer.close().await?;
    Ok(ends)
}

/// Every record of `partitions` partitions of `topic`, read from the beginning up to the log end as it is when
/// the read starts; per partition in offset order, partitions one after another.
pub async fn read_all(config: &Config, topic: &str, partitions: i32) -> Result<Vec<ConsumerRecord>> {
    read_until(config, topic, &end_offsets(config, topic, partitions).await?).await
}

/// The records of `topic` from the beginning of each partition in `ends` up to (not including) its offset there;
/// per partition in offset order, partitions one after another.
pub async fn read_until(config: &Config, topic: &str, ends: &BTreeMap<i32, i64>) -> Result<Vec<ConsumerRecord>> {
    let mut consumer = Consumer::new(config.consumer_config()).await?;
    let tps: Vec<TopicPartition> = ends.keys().map(|p| TopicPartition::new(topic, *p)).collect();
    consumer.assign(tps.clone())?;
    let mut by_partition: BTreeMap<i32, Vec<ConsumerRecord>> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + config.timeout;
    while !reached(&mut consumer, topic, ends).await? {
        if tokio::time::Instant::now() > deadline {
            return Err(format!("reading {topic} took longer than {:?}", config.timeout).into());
        }
        for r in consumer.poll(1000, Duration::from_millis(200)).await? {
            if ends.get(&r.partition).is_some_and(|end| r.offset < *end) {
                by_partition.entry(r.partition).or_default().push(r);
            }
        }
    }
    consumer.close().await?;
    Ok(by_partition.into_values().flatten().collect())
}

/// Whether `consumer`'s position in every partition of `topic` in `ends` has reached the offset there.
pub async fn reached(consumer: &mut Consumer, topic: &str, ends: &BTreeMap<i32, i64>) -> Result<bool> {
    for (p, end) in ends {
        if consumer.position(&TopicPartition::new(topic, *p)).await? < *end {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Waits until `done` says so, checking every 20 ms, for at most `timeout`; the error names `what`.
pub async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    while !done() {
        if tokio::time::Instant::now() > deadline {
            return Err(format!("{what}: not done within {timeout:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Logs to stderr at `info` (or as `RUST_LOG` says), for the scenarios' `main`s.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::test_registry::TestRegistry;

    /// The test registry answers a malformed percent-escape (half a character after '%') with a 404, not a panic.
    #[tokio::test]
    async fn test_registry_survives_a_non_ascii_escape() {
        let registry = TestRegistry::start("u:p").await;
        let address = registry.url.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let request = "GET /subjects/%a\u{e9}/versions/latest HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpw\r\n\r\n";
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    }
}
