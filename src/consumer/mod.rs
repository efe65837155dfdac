//! The consumer: [`Consumer`] reads records from assigned partitions, keeps positions, and commits offsets to a
//! consumer group's coordinator; group assignment and membership (classic and KIP-848) are socket-free state
//! machines that a driver feeds with responses and the current time.
//!
//! - [`assignor`]: client-side partition assignors (range, roundrobin, sticky, cooperative-sticky).
//! - `membership` (internal): the classic and KIP-848 group membership state machines.
//! - `group`: the driver task that runs a membership machine for [`Consumer::subscribe`], and the
//!   [`RebalanceListener`] it reports assignment changes to.
//! - [`config`]: [`ConsumerConfig`] with the Java client's property names and defaults.
//! - `fetcher`: per-partition fetch state, one fetch in flight per leader within a fetch session (KIP-227),
//!   prefetch bounded by `fetch.max.bytes`, offset resets, leader-epoch validation and error handling.
//! - `fetched`: lazy, zero-copy decoding of one partition's fetched data, with transaction filtering.
//! - `session`: fetch session bookkeeping.
//! - `offsets`: ListOffsets, OffsetForLeaderEpoch, and the group's committed offsets (OffsetFetch/OffsetCommit).
//! - [`ConsumerMetrics`]: a metrics snapshot.
//!
//! Like the Java consumer, a [`Consumer`] is used from one task at a time (`&mut self`); its network work runs in
//! background tasks, so reading records overlaps with fetching the next ones.

pub mod assignor;
pub mod config;
mod fetched;
mod fetcher;
mod group;
// Internal since the public API was settled (issue 7): the state machines keep accessors their own tests use and
// the driver does not (yet).
#[allow(dead_code)]
pub(crate) mod membership;
mod metrics;
pub(crate) mod offsets;
mod pattern;
mod record;
mod session;
mod topic_partition;

use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use kafkar_protocol::messages::list_offsets::{EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};
use tracing::{debug, warn};

pub use config::{AssignmentStrategy, ConsumerConfig, GroupProtocol, IsolationLevel, OffsetReset};
pub use group::RebalanceListener;
pub use metrics::ConsumerMetrics;
pub use offsets::CommitIdentity;
pub use record::{ConsumerRecord, OffsetAndMetadata, OffsetAndTimestamp};
pub use topic_partition::TopicPartition;

pub use crate::producer::ConsumerGroupMetadata;
pub(crate) use offsets::find_coordinator as find_group_coordinator;

use crate::cluster::{Cluster, validate_topic_name};
use crate::error::{Error, ErrorKind, Result};
use fetcher::{FetchState, Fetcher};
use group::{GroupCommand, GroupEvent, GroupHandle, Subscription};
use offsets::{CommitAs, GroupOffsets, deadline_in, list_offsets, within};
use pattern::TopicPattern;

/// What to do when a commit finishes.
enum CommitDone {
    Wait(oneshot::Sender<Result<()>>),
    Callback(Box<dyn FnOnce(Result<()>) + Send>),
    Auto,
}

struct CommitJob {
    offsets: Vec<(TopicPartition, OffsetAndMetadata)>,
    who: CommitAs,
    deadline: Instant,
    done: CommitDone,
}

/// The last automatic commit (periodic, on revocation, on close) that failed, for [`Consumer::close`] to report.
type AutoCommitFailure = Arc<std::sync::Mutex<Option<Error>>>;

/// Runs commits one after another, so that they (and their callbacks) complete in the order they were made.
async fn run_commits(
    group: Arc<GroupOffsets>,
    mut jobs: mpsc::UnboundedReceiver<CommitJob>,
    auto_failure: AutoCommitFailure,
) {
    while let Some(mut job) = jobs.recv().await {
        let result = group.commit(&job.offsets, &mut job.who, job.deadline).await;
        match job.done {
            CommitDone::Wait(tx) => {
                let _ = tx.send(result);
            }
            CommitDone::Callback(f) => f(result),
            CommitDone::Auto => match result {
                Ok(()) => debug!(group = group.group_id(), partitions = job.offsets.len(), "auto-commit done"),
                Err(e) => {
                    warn!(group = group.group_id(), error = %e, "auto-commit failed");
                    *auto_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                }
            },
        }
    }
}

struct AutoCommit {
    timer: Pin<Box<Sleep>>,
    last: Vec<(TopicPartition, i64)>,
}

/// A Kafka consumer.
///
/// ```no_run
/// # async fn run() -> kafkar::Result<()> {
/// use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};
///
/// let mut config = ConsumerConfig::new("localhost:9092");
/// config.set("group.id", "billing")?;
/// config.set("auto.offset.reset", "earliest")?;
/// let mut consumer = Consumer::new(config).await?;
/// consumer.assign([TopicPartition::new("orders", 0), TopicPartition::new("orders", 1)])?;
/// loop {
///     let record = consumer.recv().await?;
///     println!("{}-{}@{}: {:?}", record.topic, record.partition, record.offset, record.value);
/// }
/// # }
/// ```
pub struct Consumer {
    config: Arc<ConsumerConfig>,
    cluster: Arc<Cluster>,
    fetcher: Fetcher,
    group: Option<Arc<GroupOffsets>>,
    commits: Option<mpsc::UnboundedSender<CommitJob>>,
    committer: Option<JoinHandle<()>>,
    auto_commit_failure: AutoCommitFailure,
    auto_commit: Option<AutoCommit>,
    identity: CommitIdentity,
    membership: Option<GroupHandle>,
    /// In a mutex only to make the consumer `Sync` (a `&Consumer` held across an await in a spawned task needs it);
    /// it is only ever reached through `&mut self`, so never locked.
    listener: Option<std::sync::Mutex<Box<dyn RebalanceListener>>>,
    group_error: Option<Error>,
    fast_polls: u32,
}

/// How often at most the application's polls are reported to the group driver (`max.poll.interval.ms`).
const POLL_SIGNAL_INTERVAL: Duration = Duration::from_millis(200);

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("group_id", &self.config.group_id)
            .field("assignment", &self.assignment())
            .finish()
    }
}

impl Consumer {
    /// A consumer for `config`. No connection is made until there is something to do.
    pub async fn new(config: ConsumerConfig) -> Result<Consumer> {
        config.validate()?;
        let config = Arc::new(config);
        let cluster = Cluster::new(config.client.clone(), config.allow_auto_create_topics)?;
        let group = config.group_id.clone().map(|g| Arc::new(GroupOffsets::new(cluster.clone(), g)));
        let auto_commit_failure = AutoCommitFailure::default();
        let (commits, committer) = match &group {
            Some(g) => {
                let (tx, rx) = mpsc::unbounded_channel();
                (Some(tx), Some(tokio::spawn(run_commits(g.clone(), rx, auto_commit_failure.clone()))))
            }
            None => (None, None),
        };
        let auto_commit = config
            .auto_commit()
            .then(|| AutoCommit { timer: Box::pin(tokio::time::sleep(config.auto_commit_interval)), last: Vec::new() });
        let fetcher = Fetcher::new(cluster.clone(), config.clone(), group.clone());
        Ok(Consumer {
            config,
            cluster,
            fetcher,
            group,
            commits,
            committer,
            auto_commit_failure,
            auto_commit,
            identity: CommitIdentity::default(),
            membership: None,
            listener: None,
            group_error: None,
            fast_polls: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// Connection counters over all of this client's broker connections: dials, dial failures, reconnects,
    /// authentication failures and KIP-368 re-authentications.
    pub fn connection_metrics(&self) -> crate::ConnectionMetrics {
        self.cluster.pool().connection_metrics()
    }

    /// The cluster metadata this consumer uses.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// Assigns these partitions by hand (no group membership), replacing the assignment. Partitions that stay
    /// assigned keep their positions; new ones start from the committed offset (with a `group.id`) or
    /// `auto.offset.reset`. With auto-commit on, the consumed positions are committed (asynchronously) first.
    /// Fails while the consumer is subscribed (the group assigns then).
    pub fn assign(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) -> Result<()> {
        if self.membership.is_some() {
            return Err(Error::invalid("assign is not allowed while subscribed; the group assigns partitions"));
        }
        let partitions: Vec<TopicPartition> = partitions.into_iter().collect();
        for tp in &partitions {
            validate_topic_name(&tp.topic)?;
            if tp.partition < 0 {
                return Err(Error::invalid(format!("partition {tp} has a negative index")));
            }
        }
        if self.auto_commit.is_some() {
            // As the Java client does: commit what was consumed before the assignment changes.
            let offsets = self.consumed_offsets();
            if !offsets.is_empty() {
                if let Err(e) = self.submit(offsets, CommitDone::Auto) {
                    warn!(error = %e, "auto-commit before reassignment could not be queued");
                }
            }
        }
        self.fetcher.assign(&partitions);
        Ok(())
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.fetcher.assignment().cloned().collect()
    }

    /// Subscribes to `topics` as a member of the consumer group (`group.id`, protocol by `group.protocol`): the
    /// group's coordinator (classic) or a client-side assignor (consumer protocol, KIP-848: the coordinator)
    /// assigns partitions, which start at their committed offsets (or `auto.offset.reset`). A background task keeps
    /// the membership (joins, heartbeats, rebalances); assignment changes are applied, and the listener called, in
    /// `recv`/`poll`. Calling it again changes the subscription. Fails after a manual [`assign`](Self::assign).
    pub fn subscribe(&mut self, topics: impl IntoIterator<Item = impl Into<String>>) -> Result<()> {
        let topics: Vec<String> = topics.into_iter().map(Into::into).collect();
        for t in &topics {
            validate_topic_name(t)?;
        }
        if topics.is_empty() {
            return Err(Error::invalid("subscribe needs at least one topic"));
        }
        // Their metadata (topic ids, leaders) is fetched while the group is joined, so that the assignment, which
        // names topics by id, finds it there instead of waiting for a refresh then.
        self.cluster.want(topics.iter().cloned());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let cluster = self.cluster.clone();
            runtime.spawn(async move { cluster.refresh().await.map(|_| ()) });
        }
        self.start_subscription(Subscription::Topics(topics))
    }

    fn start_subscription(&mut self, subscription: Subscription) -> Result<()> {
        if let Some(g) = &self.membership {
            return g.commands.send(GroupCommand::Subscribe(subscription)).map_err(|_| Error::new(ErrorKind::Closed));
        }
        if self.fetcher.assignment().next().is_some() {
            return Err(Error::invalid("subscribe is not allowed after a manual assign"));
        }
        self.membership = Some(GroupHandle::start(&self.config, self.cluster.clone(), subscription)?);
        Ok(())
    }

    /// Subscribes, like [`subscribe`](Self::subscribe), to every topic whose name `pattern` matches, and follows
    /// the topics as they come and go.
    ///
    /// The pattern is a regular expression in the syntax of the [`regex`](https://docs.rs/regex) crate and must
    /// match the **whole** topic name (as the Java client's `Pattern.matcher(topic).matches()`): `orders-.*`
    /// matches `orders-eu` but not `old-orders-eu`. Internal topics (`__consumer_offsets`, ...) never match.
    ///
    /// The consumer then asks the cluster for the metadata of all topics and matches the pattern again after every
    /// metadata refresh (at least every `metadata.max.age.ms`); when the set of matching topics changes, the
    /// subscription changes with it (a rebalance). With `group.protocol=consumer` (KIP-848) and a coordinator that
    /// supports ConsumerGroupHeartbeat version 1 (Kafka 4.0+), the pattern itself is sent (`SubscribedTopicRegex`)
    /// and the coordinator resolves it, with RE2/J syntax and whole-name matching; older coordinators get the
    /// names this client matched. Calling it again (or [`subscribe`](Self::subscribe)) replaces the subscription. Fails for
    /// an invalid pattern and after a manual [`assign`](Self::assign).
    pub fn subscribe_pattern(&mut self, pattern: &str) -> Result<()> {
        self.start_subscription(Subscription::Pattern(TopicPattern::new(pattern)?))
    }

    /// Like [`subscribe_pattern`](Self::subscribe_pattern), with a listener for assignment changes.
    pub fn subscribe_pattern_with_listener(
        &mut self,
        pattern: &str,
        listener: impl RebalanceListener + 'static,
    ) -> Result<()> {
        let pattern = TopicPattern::new(pattern)?;
        self.listener = Some(std::sync::Mutex::new(Box::new(listener)));
        self.start_subscription(Subscription::Pattern(pattern))
    }

    /// Like [`subscribe`](Self::subscribe), with a listener for assignment changes.
    pub fn subscribe_with_listener(
        &mut self,
        topics: impl IntoIterator<Item = impl Into<String>>,
        listener: impl RebalanceListener + 'static,
    ) -> Result<()> {
        self.listener = Some(std::sync::Mutex::new(Box::new(listener)));
        self.subscribe(topics)
    }

    /// Identity used for commits: outside the group by default; [`subscribe`](Self::subscribe) uses the member's.
    pub fn set_commit_identity(&mut self, identity: CommitIdentity) {
        self.identity = identity;
    }

    // ---- reading ----

    fn poll_record(&mut self, cx: &mut Context<'_>) -> Poll<Result<ConsumerRecord>> {
        // Fast path: data is buffered and nothing has happened in the background.
        if self.fetcher.idle_events() && (self.membership.is_none() || self.fast_polls < 256) {
            if let Some(r) = self.fetcher.next_buffered() {
                self.fast_polls += 1;
                return Poll::Ready(r);
            }
        }
        if self.membership.is_some() {
            self.fast_polls = 0;
            if let Some(e) = self.drive_group(cx) {
                return Poll::Ready(Err(e));
            }
        }
        self.maybe_auto_commit(cx);
        self.fetcher.drive(cx);
        if let Some(e) = self.fetcher.take_error() {
            return Poll::Ready(Err(e));
        }
        if let Some(r) = self.fetcher.next_buffered() {
            return Poll::Ready(r);
        }
        if self.fetcher.partitions().is_empty() && self.membership.is_none() {
            return Poll::Ready(Err(Error::invalid("no partitions are assigned to this consumer")));
        }
        // Handing out data may have freed prefetch budget.
        self.fetcher.start_work();
        Poll::Pending
    }

    /// The next record, waiting as long as it takes. Errors of single partitions (a corrupt batch, an offset out of
    /// range with `auto.offset.reset=none`) come out here once; the partition then stops until it is `seek`ed,
    /// while the others go on.
    pub async fn recv(&mut self) -> Result<ConsumerRecord> {
        poll_fn(|cx| self.poll_record(cx)).await
    }

    /// Up to `max_records` records (at most `max.poll.records`): waits up to `timeout` for the first, then takes
    /// what is already buffered. An empty vector means the timeout passed. An error found after some records were
    /// collected is returned by the next call.
    pub async fn poll(&mut self, max_records: usize, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let max = max_records.min(self.config.max_poll_records).max(1);
        let first = match tokio::time::timeout(timeout, self.recv()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(r) => r?,
        };
        let mut out = Vec::with_capacity(max);
        out.push(first);
        while out.len() < max {
            match self.fetcher.next_buffered() {
                Some(Ok(r)) => out.push(r),
                Some(Err(e)) => {
                    self.fetcher.put_back_error(e);
                    break;
                }
                None => break,
            }
        }
        Ok(out)
    }

    /// The records as a [`Stream`](futures_core::Stream) (it never ends; errors are items).
    pub fn stream(&mut self) -> RecordStream<'_> {
        RecordStream { consumer: self }
    }

    // ---- positions ----

    /// Sets the next offset to read from `tp` (dropping what was prefetched for it).
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        self.fetcher.seek(tp, offset, None)
    }

    /// Like [`seek`](Consumer::seek), with the leader epoch of the record before `offset` (as committed offsets
    /// carry it): the position is validated against the leader's log before fetching.
    pub fn seek_with_epoch(&mut self, tp: &TopicPartition, offset: i64, leader_epoch: i32) -> Result<()> {
        self.fetcher.seek(tp, offset, Some(leader_epoch).filter(|e| *e >= 0))
    }

    fn targets(&self, tps: &[TopicPartition]) -> Vec<TopicPartition> {
        if tps.is_empty() { self.assignment() } else { tps.to_vec() }
    }

    /// Moves these partitions (all assigned ones when empty) to their earliest offset, looked up at the next poll.
    pub fn seek_to_beginning(&mut self, tps: &[TopicPartition]) -> Result<()> {
        for tp in self.targets(tps) {
            self.fetcher.reset(&tp, OffsetReset::Earliest)?;
        }
        Ok(())
    }

    /// Moves these partitions (all assigned ones when empty) to their log end, looked up at the next poll.
    pub fn seek_to_end(&mut self, tps: &[TopicPartition]) -> Result<()> {
        for tp in self.targets(tps) {
            self.fetcher.reset(&tp, OffsetReset::Latest)?;
        }
        Ok(())
    }

    /// The next offset that will be read from `tp`, looking it up (committed offset or reset) if it is not known
    /// yet; bounded by `default.api.timeout.ms`.
    pub async fn position(&mut self, tp: &TopicPartition) -> Result<i64> {
        let i = self.fetcher.index(tp).ok_or_else(|| Error::invalid(format!("partition {tp} is not assigned")))?;
        let deadline = deadline_in(self.config.default_api_timeout);
        let fetcher = &mut self.fetcher;
        within(
            "position",
            deadline,
            poll_fn(|cx| {
                fetcher.drive(cx);
                let p = &fetcher.partitions()[i];
                match p.state {
                    FetchState::Fetching => Poll::Ready(Ok(p.position)),
                    FetchState::Failed => Poll::Ready(Err(p
                        .failure
                        .clone()
                        .unwrap_or_else(|| Error::new(ErrorKind::NoOffset).with_partition(&tp.topic, tp.partition)))),
                    _ => Poll::Pending,
                }
            }),
        )
        .await
    }

    /// Stops fetching these partitions; records already buffered for them are kept for when they resume.
    pub fn pause(&mut self, tps: &[TopicPartition]) -> Result<()> {
        for tp in tps {
            self.fetcher.pause(tp)?;
        }
        Ok(())
    }

    /// Resumes paused partitions.
    pub fn resume(&mut self, tps: &[TopicPartition]) -> Result<()> {
        for tp in tps {
            self.fetcher.resume(tp)?;
        }
        Ok(())
    }

    /// The paused partitions.
    pub fn paused(&self) -> Vec<TopicPartition> {
        self.fetcher.partitions().iter().filter(|p| p.paused).map(|p| p.tp.clone()).collect()
    }

    /// For each partition, the earliest offset whose record's timestamp is at or after the given timestamp (ms since
    /// the epoch); `None` when there is none. Bounded by `default.api.timeout.ms`.
    pub async fn offsets_for_times(
        &self,
        timestamps: &HashMap<TopicPartition, i64>,
    ) -> Result<HashMap<TopicPartition, Option<OffsetAndTimestamp>>> {
        let wanted: Vec<(TopicPartition, i64)> = timestamps
            .iter()
            .map(|(tp, ts)| {
                if *ts < 0 {
                    Err(Error::invalid(format!("timestamp {ts} for {tp} is negative")))
                } else {
                    Ok((tp.clone(), *ts))
                }
            })
            .collect::<Result<_>>()?;
        let deadline = deadline_in(self.config.default_api_timeout);
        let got = within(
            "offsets_for_times",
            deadline,
            list_offsets(&self.cluster, self.config.isolation_level.code(), &wanted, deadline),
        )
        .await?;
        Ok(wanted
            .into_iter()
            .map(|(tp, _)| {
                let v = got.get(&tp).filter(|o| o.offset >= 0).map(|o| OffsetAndTimestamp {
                    offset: o.offset,
                    timestamp: o.timestamp,
                    leader_epoch: o.leader_epoch,
                });
                (tp, v)
            })
            .collect())
    }

    /// The low and high watermarks of `tp` (earliest offset and log end offset) asked of its leader now.
    pub async fn watermarks(&self, tp: &TopicPartition) -> Result<(i64, i64)> {
        let deadline = deadline_in(self.config.default_api_timeout);
        let wanted_low = [(tp.clone(), EARLIEST_TIMESTAMP)];
        let wanted_high = [(tp.clone(), LATEST_TIMESTAMP)];
        let work = async {
            let low = list_offsets(&self.cluster, 0, &wanted_low, deadline).await?;
            let high = list_offsets(&self.cluster, 0, &wanted_high, deadline).await?;
            let get = |m: &HashMap<TopicPartition, offsets::ListedOffset>| {
                m.get(tp).map(|o| o.offset).ok_or_else(|| Error::protocol("ListOffsets left out the partition"))
            };
            Ok((get(&low)?, get(&high)?))
        };
        within("watermarks", deadline, work).await
    }

    /// How far `tp`'s position is behind its high watermark (last stable offset under read_committed), from the
    /// last fetch; `None` before the first fetch answer or without a position.
    pub fn lag(&self, tp: &TopicPartition) -> Option<i64> {
        self.fetcher.partition(tp).ok()?.lag(self.config.isolation_level)
    }

    /// A metrics snapshot.
    pub fn metrics(&self) -> ConsumerMetrics {
        let mut m = self.fetcher.metrics();
        let throttle = self.cluster.pool().throttle_stats();
        m.throttled_responses = throttle.throttled_responses();
        m.throttle_time = throttle.total();
        m
    }

    // ---- offsets ----

    fn group(&self) -> Result<&Arc<GroupOffsets>> {
        self.group.as_ref().ok_or_else(|| Error::config("committed offsets need a group.id"))
    }

    /// The group's committed offsets for `tps` (`None`: nothing committed). Needs `group.id`.
    pub async fn committed(
        &self,
        tps: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, Option<OffsetAndMetadata>>> {
        let group = self.group()?;
        let deadline = deadline_in(self.config.default_api_timeout);
        within("committed", deadline, group.committed(tps, true, deadline)).await
    }

    /// The positions of every assigned partition that has one, as offsets to commit.
    fn consumed_offsets(&self) -> Vec<(TopicPartition, OffsetAndMetadata)> {
        self.fetcher
            .partitions()
            .iter()
            .filter(|p| p.has_position())
            .map(|p| {
                (
                    p.tp.clone(),
                    OffsetAndMetadata { offset: p.position, leader_epoch: p.position_epoch, metadata: String::new() },
                )
            })
            .collect()
    }

    /// The consumer's group identity for [`Producer::send_offsets_to_transaction`](crate::producer::Producer::send_offsets_to_transaction):
    /// the group id and the generation (or member epoch), member id and group instance id the coordinator accepts
    /// now, so that a transaction of a consumer fenced out of the group cannot commit its offsets. `None` without
    /// `group.id`.
    pub fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        let group_id = self.config.group_id.clone()?;
        let id = match &self.membership {
            // Outside a generation (joining, fenced) the coordinator sees generation -1: a transaction then fails
            // to commit its offsets rather than committing them for a member that does not own the partitions.
            Some(g) => g.member.borrow().commit.clone().unwrap_or_else(|| CommitIdentity {
                group_instance_id: self.config.group_instance_id.clone(),
                ..CommitIdentity::default()
            }),
            None => self.identity.clone(),
        };
        Some(ConsumerGroupMetadata {
            group_id,
            generation_id: id.generation,
            member_id: id.member_id,
            group_instance_id: id.group_instance_id,
        })
    }

    fn commit_as(&self) -> CommitAs {
        match &self.membership {
            Some(g) => CommitAs::Member(g.member.clone()),
            None => CommitAs::Fixed(self.identity.clone()),
        }
    }

    fn submit(&self, offsets: Vec<(TopicPartition, OffsetAndMetadata)>, done: CommitDone) -> Result<()> {
        let tx = self.commits.as_ref().ok_or_else(|| Error::config("commits need a group.id"))?;
        let job =
            CommitJob { offsets, who: self.commit_as(), deadline: deadline_in(self.config.default_api_timeout), done };
        tx.send(job).map_err(|_| Error::new(ErrorKind::Closed))
    }

    /// Commits the position of every assigned partition (what has been handed to the application) and waits for
    /// the coordinator's answer.
    pub async fn commit(&mut self) -> Result<()> {
        let offsets = self.consumed_offsets();
        self.commit_offsets_vec(offsets).await
    }

    /// Commits these offsets (with their metadata) and waits for the answer.
    pub async fn commit_offsets(&mut self, offsets: HashMap<TopicPartition, OffsetAndMetadata>) -> Result<()> {
        self.commit_offsets_vec(offsets.into_iter().collect()).await
    }

    async fn commit_offsets_vec(&mut self, offsets: Vec<(TopicPartition, OffsetAndMetadata)>) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.submit(offsets, CommitDone::Wait(tx))?;
        rx.await.map_err(|_| Error::new(ErrorKind::Closed))?
    }

    /// Commits the position of every assigned partition without waiting; `callback` gets the result (on a
    /// background task). Commits complete, and callbacks run, in the order they were made.
    pub fn commit_async(&mut self, callback: impl FnOnce(Result<()>) + Send + 'static) -> Result<()> {
        let offsets = self.consumed_offsets();
        self.submit(offsets, CommitDone::Callback(Box::new(callback)))
    }

    /// Commits these offsets without waiting; `callback` gets the result.
    pub fn commit_offsets_async(
        &mut self,
        offsets: HashMap<TopicPartition, OffsetAndMetadata>,
        callback: impl FnOnce(Result<()>) + Send + 'static,
    ) -> Result<()> {
        self.submit(offsets.into_iter().collect(), CommitDone::Callback(Box::new(callback)))
    }

    /// Reports the application's poll to the group driver (at most every [`POLL_SIGNAL_INTERVAL`]) and applies
    /// the driver's assignment changes. Returns a fatal group error once.
    fn drive_group(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        let g = self.membership.as_mut()?;
        let now = Instant::now();
        if now.duration_since(g.last_poll_signal) >= POLL_SIGNAL_INTERVAL {
            g.last_poll_signal = now;
            let _ = g.commands.send(GroupCommand::ApplicationPoll(now.into_std()));
        }
        loop {
            let g = self.membership.as_mut()?;
            match g.events.poll_recv(cx) {
                Poll::Ready(Some(event)) => self.apply_group_event(event),
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        self.group_error.take()
    }

    fn run_listener(&mut self, f: impl FnOnce(&mut dyn RebalanceListener, &mut Consumer)) {
        if let Some(l) = self.listener.take() {
            let mut l = l.into_inner().unwrap_or_else(|p| p.into_inner());
            f(l.as_mut(), self);
            if self.listener.is_none() {
                self.listener = Some(std::sync::Mutex::new(l));
            }
        }
    }

    fn apply_group_event(&mut self, event: GroupEvent) {
        match event {
            GroupEvent::Assigned(partitions) => {
                debug!(?partitions, "group assigned partitions");
                let mut all = self.assignment();
                all.extend(partitions.iter().cloned());
                self.fetcher.assign(&all);
                self.run_listener(|l, c| l.on_assigned(c, &partitions));
            }
            GroupEvent::Revoked { partitions, commit } => {
                debug!(?partitions, commit, "group revoked partitions");
                if commit {
                    let offsets: Vec<_> =
                        self.consumed_offsets().into_iter().filter(|(tp, _)| partitions.contains(tp)).collect();
                    if !offsets.is_empty() {
                        if let Err(e) = self.submit(offsets, CommitDone::Auto) {
                            warn!(error = %e, "commit of revoked partitions could not be queued");
                        }
                    }
                }
                self.run_listener(|l, c| l.on_revoked(c, &partitions));
                self.drop_partitions(&partitions);
                // Acknowledged once every commit queued so far (the one above, the listener's) has completed.
                let tx = self.membership.as_ref().map(|g| g.commands.clone());
                let ack = move |_: Result<()>| {
                    if let Some(tx) = tx {
                        let _ = tx.send(GroupCommand::RevocationComplete);
                    }
                };
                if let Err(e) = self.submit(Vec::new(), CommitDone::Callback(Box::new(ack))) {
                    warn!(error = %e, "revocation could not be acknowledged after the commits");
                }
            }
            GroupEvent::Lost(partitions) => {
                debug!(?partitions, "group lost partitions");
                self.run_listener(|l, c| l.on_lost(c, &partitions));
                self.drop_partitions(&partitions);
            }
            GroupEvent::Fatal(e) => self.group_error = Some(e),
        }
    }

    fn drop_partitions(&mut self, partitions: &[TopicPartition]) {
        let keep: Vec<TopicPartition> = self.assignment().into_iter().filter(|tp| !partitions.contains(tp)).collect();
        self.fetcher.assign(&keep);
    }

    fn maybe_auto_commit(&mut self, cx: &mut Context<'_>) {
        let Some(ac) = self.auto_commit.as_mut() else { return };
        if ac.timer.as_mut().poll(cx).is_pending() {
            return;
        }
        let interval = self.config.auto_commit_interval;
        ac.timer.as_mut().reset(Instant::now() + interval);
        // Register the re-armed timer.
        let _ = ac.timer.as_mut().poll(cx);
        let offsets = self.consumed_offsets();
        let now: Vec<(TopicPartition, i64)> = offsets.iter().map(|(tp, o)| (tp.clone(), o.offset)).collect();
        let Some(ac) = self.auto_commit.as_mut() else { return };
        if now == ac.last || offsets.is_empty() {
            return;
        }
        ac.last = now;
        if let Err(e) = self.submit(offsets, CommitDone::Auto) {
            warn!(error = %e, "auto-commit could not be queued");
        }
    }

    /// Leaves the group (after revoking the partitions, which the listener sees) and stops the driver.
    async fn leave_group(&mut self) {
        let Some(g) = self.membership.as_ref() else { return };
        let _ = g.commands.send(GroupCommand::Leave);
        let deadline = deadline_in(self.config.default_api_timeout);
        loop {
            let Some(g) = self.membership.as_mut() else { return };
            // The driver ends the event channel when it stops.
            let next = tokio::select! {
                e = g.events.recv() => e,
                () = tokio::time::sleep_until(deadline) => {
                    warn!("the group driver did not stop before close's deadline");
                    None
                }
            };
            match next {
                Some(event) => self.apply_group_event(event),
                None => break,
            }
        }
        if let Some(g) = self.membership.take() {
            g.task.abort();
        }
    }

    /// Closes the consumer: commits the positions when auto-commit is on, leaves the group (after revoking the
    /// partitions; a static member stays until its session times out), closes the fetch sessions, waits for
    /// queued commits, and closes the connections. Closing a session waits for the fetch in flight on that
    /// connection (brokers answer in order), so this can take up to `fetch.max.wait.ms`.
    ///
    /// A close during a rebalance commits with the member's generation; if the group is completing a rebalance,
    /// the commit waits (within `default.api.timeout.ms`) for the member's next generation. The consumer is closed
    /// in any case, but if an automatic commit made by the close (or one still queued) failed, the close returns
    /// that error: the records after the last successful commit will be delivered again to the partitions' next
    /// owner.
    pub async fn close(mut self) -> Result<()> {
        *self.auto_commit_failure.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let mut failure = None;
        if self.auto_commit.is_some() {
            let offsets = self.consumed_offsets();
            if !offsets.is_empty() {
                if let Err(e) = self.commit_offsets_vec(offsets).await {
                    warn!(error = %e, "auto-commit on close failed");
                    failure = Some(e);
                }
            }
        }
        self.leave_group().await;
        self.fetcher.close_sessions(self.config.client.request_timeout.min(Duration::from_secs(5))).await;
        self.commits = None;
        if let Some(h) = self.committer.take() {
            if tokio::time::timeout(self.config.default_api_timeout, h).await.is_err() {
                warn!("queued commits did not finish before close");
            }
        }
        self.cluster.close();
        let queued = self.auto_commit_failure.lock().unwrap_or_else(|p| p.into_inner()).take();
        match failure.or(queued) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// [`Consumer::stream`]: the consumer's records as a [`Stream`](futures_core::Stream).
#[derive(Debug)]
pub struct RecordStream<'a> {
    consumer: &'a mut Consumer,
}

impl futures_core::Stream for RecordStream<'_> {
    type Item = Result<ConsumerRecord>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.consumer.poll_record(cx).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}
    fn assert_sync<T: Sync>() {}

    #[test]
    fn consumer_and_its_futures_can_move_between_tasks() {
        assert_send::<Consumer>();
        assert_sync::<Consumer>();
        assert_send::<RecordStream<'static>>();
        fn recv_future(c: &mut Consumer) -> impl std::future::Future<Output = Result<ConsumerRecord>> + Send + '_ {
            c.recv()
        }
        fn poll_future(c: &mut Consumer) -> impl std::future::Future + Send + '_ {
            c.poll(10, Duration::from_secs(1))
        }
        fn commit_future(c: &mut Consumer) -> impl std::future::Future + Send + '_ {
            c.commit()
        }
        // Futures of `&self` methods hold a `&Consumer`: Send only when the consumer is Sync (a spawned task that
        // awaited `committed` did not compile while the rebalance listener made it !Sync).
        fn committed_future<'a>(c: &'a Consumer, tps: &'a [TopicPartition]) -> impl std::future::Future + Send + 'a {
            c.committed(tps)
        }
        let _ = (recv_future, poll_future, commit_future, committed_future);
    }
}
