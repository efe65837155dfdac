//! The metadata cache. Readers take a cheap immutable [`MetadataSnapshot`]; a refresh builds a new snapshot and
//! swaps it in. Refreshes happen on demand (a producer or consumer that meets NOT_LEADER_OR_FOLLOWER,
//! UNKNOWN_TOPIC_OR_PARTITION or a stale leader epoch asks for one), and at least every `metadata.max.age.ms` in the
//! background. A partition's entry is never replaced by one with an older leader epoch.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use kafkar_protocol::ErrorCode;
use kafkar_protocol::messages::metadata::{MetadataRequest, MetadataResponse};
use kafkar_protocol::primitives::Uuid;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::config::ClientConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::net::{BrokerPool, Connection};

/// A broker as metadata lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Node id.
    pub node_id: i32,
    /// Host name.
    pub host: String,
    /// Port.
    pub port: i32,
    /// Rack, if configured.
    pub rack: Option<String>,
}

impl BrokerInfo {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// One partition's leadership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub partition: i32,
    /// Leader node id, -1 when there is none.
    pub leader: i32,
    /// Leader epoch, -1 when unknown.
    pub leader_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
    /// The partition-level error metadata reported (e.g. LEADER_NOT_AVAILABLE).
    pub error: ErrorCode,
}

/// One topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicInfo {
    /// Name.
    pub name: String,
    /// Topic id (zero for brokers that do not report one).
    pub id: Uuid,
    /// Whether it is an internal topic.
    pub is_internal: bool,
    /// Partitions, indexed by partition number.
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    /// Number of partitions.
    pub fn partition_count(&self) -> i32 {
        self.partitions.len() as i32
    }

    /// Partitions that currently have a leader.
    pub fn available_partitions(&self) -> Vec<i32> {
        self.partitions.iter().filter(|p| p.leader >= 0).map(|p| p.partition).collect()
    }
}

/// An immutable view of the cluster at one refresh.
#[derive(Clone, Debug, Default)]
pub struct MetadataSnapshot {
    /// Cluster id.
    pub cluster_id: Option<String>,
    /// Controller node id (-1 when unknown).
    pub controller_id: i32,
    /// Brokers by node id.
    pub brokers: HashMap<i32, BrokerInfo>,
    /// Topics by name.
    pub topics: HashMap<String, Arc<TopicInfo>>,
    /// Topics the last refresh reported with a topic-level error (UNKNOWN_TOPIC_OR_PARTITION, ...).
    pub topic_errors: HashMap<String, ErrorCode>,
}

impl MetadataSnapshot {
    /// A topic by name.
    pub fn topic(&self, name: &str) -> Option<&Arc<TopicInfo>> {
        self.topics.get(name)
    }

    /// A topic by id.
    pub fn topic_by_id(&self, id: Uuid) -> Option<&Arc<TopicInfo>> {
        self.topics.values().find(|t| t.id == id)
    }

    /// The leader of a partition, if known.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<&BrokerInfo> {
        let p = self.topics.get(topic)?.partitions.get(usize::try_from(partition).ok()?)?;
        self.brokers.get(&p.leader)
    }
}

/// Checks a topic name the way Kafka does: 1–249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid(format!("invalid topic name {name:?}: {why}")));
    if name.is_empty() {
        return bad("empty");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are not allowed");
    }
    if name.len() > 249 {
        return bad("longer than 249 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return bad("only ASCII letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

/// The cluster as this client knows it: the broker pool plus the metadata cache.
pub struct Cluster {
    pool: Arc<BrokerPool>,
    snapshot: RwLock<Arc<MetadataSnapshot>>,
    refreshing: tokio::sync::Mutex<()>,
    wanted: Mutex<HashSet<String>>,
    all_topics: AtomicBool,
    updates: tokio::sync::watch::Sender<u64>,
    last_refresh: Mutex<Option<Instant>>,
    failures: Mutex<RefreshFailures>,
    allow_auto_create: bool,
}

/// Consecutive failed refreshes, for the backoff before the next attempt.
#[derive(Debug, Default)]
struct RefreshFailures {
    /// How many refreshes in a row failed (0 after a success).
    count: u32,
    /// When the last one failed, and how.
    last: Option<(Instant, Error)>,
}

impl RefreshFailures {
    /// When the next attempt may start: `retry.backoff.ms` after the first failure, doubling per further failure
    /// up to `retry.backoff.max.ms`, as the Java client backs off its metadata requests (KIP-580).
    fn next_attempt(&self, config: &ClientConfig) -> Option<Instant> {
        let (at, _) = self.last.as_ref()?;
        Some(*at + config.retry_backoff_after(self.count.saturating_sub(1)))
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("pool", &self.pool).finish()
    }
}

impl Cluster {
    /// A cluster handle for `config`; starts the periodic refresh task. `allow_auto_create` is sent in Metadata
    /// requests (the Java producer sends true so that topics are created where the broker allows it).
    /// Outside a tokio runtime it fails with [`InvalidArgument`](ErrorKind::InvalidArgument) instead of panicking.
    pub fn new(config: ClientConfig, allow_auto_create: bool) -> Result<Arc<Cluster>> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::invalid("kafkar clients must be created within a tokio runtime"));
        }
        let pool = Arc::new(BrokerPool::new(Arc::new(config))?);
        let c = Arc::new(Cluster {
            pool,
            snapshot: RwLock::new(Arc::new(MetadataSnapshot { controller_id: -1, ..Default::default() })),
            refreshing: tokio::sync::Mutex::new(()),
            wanted: Mutex::default(),
            all_topics: AtomicBool::new(false),
            updates: tokio::sync::watch::Sender::new(0),
            last_refresh: Mutex::new(None),
            failures: Mutex::default(),
            allow_auto_create,
        });
        tokio::spawn(periodic_refresh(Arc::downgrade(&c)));
        Ok(c)
    }

    /// The broker pool (internal: for kafkar's own tests and CLI).
    #[doc(hidden)]
    pub fn pool(&self) -> &Arc<BrokerPool> {
        &self.pool
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        self.pool.config()
    }

    /// The current snapshot (cheap).
    pub fn snapshot(&self) -> Arc<MetadataSnapshot> {
        self.snapshot.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adds topics that every refresh asks about.
    pub fn want(&self, topics: impl IntoIterator<Item = String>) {
        self.wanted.lock().unwrap_or_else(|p| p.into_inner()).extend(topics);
    }

    /// Makes every later refresh ask for all topics of the cluster (for topic patterns); topics that a refresh no
    /// longer lists are dropped from the snapshot then.
    pub fn want_all_topics(&self) {
        self.all_topics.store(true, Ordering::Relaxed);
    }

    /// A receiver that is notified after each successful metadata refresh (periodic, requested, or for a missing
    /// topic); the value counts the refreshes.
    pub fn updates(&self) -> tokio::sync::watch::Receiver<u64> {
        self.updates.subscribe()
    }

    /// Refreshes metadata for every wanted topic (one refresh at a time; a caller that waited for a running
    /// refresh that ended after it asked gets that one's result, success or failure).
    ///
    /// After a failed refresh the next one waits `retry.backoff.ms`, doubling with each further failure up to
    /// `retry.backoff.max.ms`, so that callers retrying on failure (fetcher, sender, group driver) never make a busy
    /// loop of Metadata requests against a broker that keeps failing them.
    pub async fn refresh(&self) -> Result<Arc<MetadataSnapshot>> {
        let asked = Instant::now();
        let _guard = self.refreshing.lock().await;
        if self.last_refresh.lock().unwrap_or_else(|p| p.into_inner()).is_some_and(|t| t >= asked) {
            return Ok(self.snapshot());
        }
        let next_attempt = {
            let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, e)) = &failures.last {
                if *at >= asked {
                    return Err(e.clone());
                }
            }
            failures.next_attempt(self.config())
        };
        if let Some(at) = next_attempt {
            tokio::time::sleep_until(at).await;
        }
        let result = self.refresh_now().await;
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(_) => *failures = RefreshFailures::default(),
            Err(e) => {
                failures.count = failures.count.saturating_add(1);
                failures.last = Some((Instant::now(), e.clone()));
                debug!(error = %e, failures = failures.count, "metadata refresh failed");
            }
        }
        result
    }

    async fn refresh_now(&self) -> Result<Arc<MetadataSnapshot>> {
        let all = self.all_topics.load(Ordering::Relaxed);
        let topics: Vec<String> = self.wanted.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect();
        let conn = self.pool.any().await?;
        let resp = match self.fetch(&conn, if all { None } else { Some(&topics[..]) }).await {
            // KIP-1102: the broker says this client's view of the cluster is stale; ask the bootstrap servers at once.
            Err(e) if e.code() == Some(ErrorCode::REBOOTSTRAP_REQUIRED) => {
                self.pool.request_rebootstrap();
                let conn = self.pool.any().await?;
                self.fetch(&conn, if all { None } else { Some(&topics[..]) }).await?
            }
            r => r?,
        };
        let snap = self.merge(resp, all);
        *self.last_refresh.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.updates.send_modify(|n| *n = n.wrapping_add(1));
        Ok(snap)
    }

    /// A Metadata request for `topics` (`None`: all topics).
    async fn fetch(&self, conn: &Connection, topics: Option<&[String]>) -> Result<MetadataResponse> {
        let version = conn.versions().pick::<MetadataRequest>()?;
        let mut req = match topics {
            None => MetadataRequest::all_topics(),
            Some([]) => MetadataRequest::no_topics(),
            Some(topics) => MetadataRequest::topics(topics.iter().cloned()),
        };
        if version >= 4 {
            req = req.with_allow_auto_topic_creation(self.allow_auto_create);
        }
        let resp = conn.send_at(&req, version).await?;
        if resp.error_code.is_err() {
            return Err(Error::broker(resp.error_code).with_api(kafkar_protocol::ApiKey::METADATA));
        }
        Ok(resp)
    }

    /// Merges a response into the snapshot; `complete` when it lists every topic of the cluster (the others are
    /// gone).
    fn merge(&self, resp: MetadataResponse, complete: bool) -> Arc<MetadataSnapshot> {
        let old = self.snapshot();
        let brokers: HashMap<i32, BrokerInfo> = resp
            .brokers
            .into_iter()
            .map(|b| (b.node_id, BrokerInfo { node_id: b.node_id, host: b.host, port: b.port, rack: b.rack }))
            .collect();
        self.pool.set_nodes(brokers.values().map(|b| (b.node_id, b.addr())));
        let mut topics = if complete { HashMap::new() } else { old.topics.clone() };
        let mut topic_errors = HashMap::new();
        for t in resp.topics {
            let Some(name) = t.name else { continue };
            if t.error_code.is_err() {
                debug!(topic = %name, error = %t.error_code, "metadata topic error");
                topic_errors.insert(name.clone(), t.error_code);
                if t.error_code == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
                    || t.error_code == ErrorCode::INVALID_TOPIC_EXCEPTION
                {
                    topics.remove(&name);
                } else if let Some(prev) = old.topics.get(&name).filter(|_| complete) {
                    // A transient error (no leader yet): keep what was known.
                    topics.insert(name.clone(), prev.clone());
                }
                continue;
            }
            let mut parts: Vec<PartitionInfo> = t
                .partitions
                .into_iter()
                .map(|p| PartitionInfo {
                    partition: p.partition_index,
                    leader: p.leader_id,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes,
                    isr: p.isr_nodes,
                    error: p.error_code,
                })
                .collect();
            parts.sort_by_key(|p| p.partition);
            // Keep an entry with a newer leader epoch than the reply's (the reply came from a stale broker).
            if let Some(prev) = old.topics.get(&name).filter(|prev| prev.id == t.topic_id) {
                for p in parts.iter_mut() {
                    if let Some(q) = prev.partitions.get(p.partition as usize) {
                        if q.leader_epoch > p.leader_epoch && p.leader_epoch >= 0 {
                            *p = q.clone();
                        }
                    }
                }
            }
            if parts.iter().enumerate().any(|(i, p)| p.partition != i as i32) {
                warn!(topic = %name, "metadata lists a non-contiguous partition set; ignoring the topic");
                continue;
            }
            topics.insert(
                name.clone(),
                Arc::new(TopicInfo { name, id: t.topic_id, is_internal: t.is_internal, partitions: parts }),
            );
        }
        let snap = Arc::new(MetadataSnapshot {
            cluster_id: resp.cluster_id,
            controller_id: resp.controller_id,
            brokers,
            topics,
            topic_errors,
        });
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = snap.clone();
        snap
    }

    /// The topic's metadata, refreshing (and waiting, up to `timeout`) until the broker knows it. A topic the
    /// broker reports as unknown keeps being asked for (it may be auto-created) until the timeout; then the error is
    /// UNKNOWN_TOPIC_OR_PARTITION.
    pub async fn topic(&self, name: &str, timeout: Duration) -> Result<Arc<TopicInfo>> {
        if let Some(t) = self.snapshot().topic(name) {
            return Ok(t.clone());
        }
        validate_topic_name(name)?;
        self.want([name.to_owned()]);
        let deadline = Instant::now() + timeout;
        let mut last_err: Option<Error> = None;
        loop {
            match self.refresh().await {
                Ok(s) => {
                    if let Some(t) = s.topic(name) {
                        if t.partitions.iter().all(|p| p.leader >= 0) || Instant::now() >= deadline {
                            return Ok(t.clone());
                        }
                    } else if let Some(code) = s.topic_errors.get(name) {
                        if !code.is_retriable() {
                            return Err(Error::broker(*code).with_topic(name));
                        }
                        last_err = Some(Error::broker(*code).with_topic(name));
                    }
                }
                Err(e) if e.is_retriable() => last_err = Some(e),
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Err(last_err
                    .unwrap_or_else(|| Error::broker(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION))
                    .with_topic(name));
            }
            tokio::time::sleep(self.config().retry_backoff).await;
        }
    }

    /// A [`ConnectionClass::Control`](crate::net::ConnectionClass) connection to the leader of a partition, from
    /// the current snapshot (for short requests such as OffsetForLeaderEpoch; also used by kafkar's own tests).
    #[doc(hidden)]
    pub async fn leader(&self, topic: &str, partition: i32) -> Result<(i32, Connection)> {
        let snap = self.snapshot();
        let b = snap.leader(topic, partition).ok_or_else(|| {
            Error::new(ErrorKind::Broker(ErrorCode::LEADER_NOT_AVAILABLE)).with_partition(topic, partition)
        })?;
        let conn = self.pool.get_for(crate::net::ConnectionClass::Control, &b.addr()).await?;
        Ok((b.node_id, conn))
    }

    /// Closes every connection.
    pub fn close(&self) {
        self.pool.close();
    }
}

async fn periodic_refresh(cluster: Weak<Cluster>) {
    loop {
        let age = match cluster.upgrade() {
            Some(c) => c.config().metadata_max_age,
            None => return,
        };
        tokio::time::sleep(age).await;
        let Some(c) = cluster.upgrade() else { return };
        if let Err(e) = c.refresh().await {
            debug!(error = %e, "periodic metadata refresh failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        for ok in ["a", "orders.v1", "A-b_c", &"x".repeat(249)] {
            assert!(validate_topic_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "has space", "ümlaut", "a/b", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad}");
        }
    }
}
