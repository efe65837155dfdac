//! The fetcher: per-partition fetch state (position, leader epoch, buffered data), one fetch in flight per leader
//! broker within a fetch session, and the background work that gives partitions a position (committed offsets,
//! `auto.offset.reset` via ListOffsets, leader-epoch validation via OffsetForLeaderEpoch).
//!
//! Nothing here blocks: the consumer calls [`Fetcher::drive`] from its poll functions, which handles the events
//! that background tasks sent back (fetch replies, look-up results, metadata refreshes) and starts whatever is due.
//! Each fetch, connect and look-up runs in its own task and reports on one channel, whose waker is the consumer's.
//!
//! Prefetch: a partition's fetch offset runs ahead of its position (the next record for the application), so the
//! next fetch to a broker goes out as soon as the last one is answered, while the application still reads the data
//! of that one — as long as the response bytes buffered stay below the budget: two fetches' worth of the assigned
//! partitions (`max.partition.fetch.bytes` each), or `fetch.max.bytes` if smaller. At most one fetch is in
//! flight per broker (a fetch session needs its epochs in order). Records are slices of their response, so what
//! memory holds is whole responses: each broker's fetches may keep responses of one `max.partition.fetch.bytes`
//! per partition alive, and a fetch asks for a third of that (`Fetcher::response_budget`).
//!
//! Follower fetching (KIP-392): with `client.rack` set, a leader may name a preferred read replica; the partition is
//! then fetched from that broker until `metadata.max.age.ms` passes or the replica fails (errors, out-of-range
//! answers from a lagging follower), when it goes back to its leader.
//!
//! Every partition carries a generation, bumped when its position is set from outside the fetch path (seek,
//! reset, validation); data and answers that were asked for under an older generation are dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use kafkar_protocol::ErrorCode;
use kafkar_protocol::messages::fetch::{FetchPartition, FetchRequest, FetchTopic, ForgottenTopic};
use kafkar_protocol::messages::fetch_view::{FetchResponseView, PartitionView, TopicRef};
use kafkar_protocol::messages::list_offsets::{EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use kafkar_protocol::primitives::Uuid;
use kafkar_protocol::records::ReadOptions;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, trace, warn};

use super::TopicPartition;
use super::config::{ConsumerConfig, IsolationLevel, OffsetReset};
use super::fetched::{FetchedRecords, end_offset};
use super::metrics::{ConsumerMetrics, MetricsCounters};
use super::offsets::{
    GroupOffsets, ListedOffset, deadline_in, end_offset_for_epoch, is_leadership_error, list_offsets_once,
};
use super::record::{ConsumerRecord, OffsetAndMetadata};
use super::session::{FetchPlan, FetchSession, SentPartition, SessionKey};
use crate::cluster::Cluster;
use crate::error::{Error, ErrorKind, Result};
use crate::net::{Connection, ConnectionClass};

/// Where a partition stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FetchState {
    /// No position yet: look up the committed offset (with a group), else reset.
    NeedsPosition,
    /// Reset the position with ListOffsets.
    Reset(OffsetReset),
    /// The position is known but the leader changed: check it against the leader's log (OffsetForLeaderEpoch).
    Validate,
    /// Fetching from the position.
    Fetching,
    /// Stopped by an error the application was told about; `seek` restarts it.
    Failed,
}

/// One assigned partition.
pub(crate) struct PartitionState {
    pub tp: TopicPartition,
    pub topic: Arc<str>,
    pub state: FetchState,
    /// The next offset to hand to the application.
    pub position: i64,
    /// The leader epoch of the last record handed out (or of the committed offset).
    pub position_epoch: Option<i32>,
    /// The next offset to fetch (at or past `position`: data in between is buffered or in flight).
    pub fetch_offset: i64,
    /// The leader epoch fetches are sent with (from metadata); -1 before the first fetch.
    pub leader_epoch: i32,
    pub generation: u64,
    pub paused: bool,
    pub buffered: VecDeque<FetchedRecords>,
    /// Whether the partition is in the ready queue.
    queued: bool,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// A look-up (committed, reset, validation) for this partition is running.
    op_in_flight: bool,
    retry_at: Option<Instant>,
    /// The error that stopped the partition, while [`FetchState::Failed`].
    pub failure: Option<Error>,
    /// The replica the leader told us to read from (KIP-392 follower fetching), until it expires.
    read_replica: Option<(i32, Instant)>,
    /// A fetch that includes this partition is in flight (to whichever broker).
    in_fetch: bool,
}

impl PartitionState {
    fn new(tp: TopicPartition, generation: u64) -> PartitionState {
        PartitionState {
            topic: Arc::from(tp.topic.as_str()),
            tp,
            state: FetchState::NeedsPosition,
            position: -1,
            position_epoch: None,
            fetch_offset: -1,
            leader_epoch: -1,
            generation,
            paused: false,
            buffered: VecDeque::new(),
            queued: false,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
            op_in_flight: false,
            retry_at: None,
            failure: None,
            read_replica: None,
            in_fetch: false,
        }
    }

    /// Whether the application can read from the position now.
    pub fn has_position(&self) -> bool {
        matches!(self.state, FetchState::Fetching)
    }

    /// High watermark (last stable offset under read_committed) minus position, when both are known.
    pub fn lag(&self, isolation: IsolationLevel) -> Option<i64> {
        let end = self.readable_end(isolation);
        (end >= 0 && self.position >= 0 && self.has_position()).then(|| (end - self.position).max(0))
    }

    /// The end of what this consumer may read, as the broker last reported it: the last stable offset under
    /// read_committed (once known), else the high watermark; -1 while unknown.
    fn readable_end(&self, isolation: IsolationLevel) -> i64 {
        match isolation {
            IsolationLevel::ReadCommitted if self.last_stable_offset >= 0 => self.last_stable_offset,
            _ => self.high_watermark,
        }
    }

    fn due(&self, now: Instant) -> bool {
        self.retry_at.is_none_or(|t| t <= now)
    }
}

/// A fetch session and connection with one broker.
#[derive(Default)]
struct NodeState {
    conn: Option<Connection>,
    connecting: bool,
    in_flight: bool,
    session: FetchSession,
    retry_at: Option<Instant>,
    /// Bytes of this broker's fetch responses that buffered data still keeps alive (see [`FrameHold`]).
    held: Arc<AtomicUsize>,
}

/// One fetch response's record bytes, counted in its broker's `held` for as long as any partition's buffered data
/// from that response is unread. Records are slices of the response frame, which is one allocation: it lives until
/// the last of its partitions is read, however early the others were, so the budget counts whole responses, not the
/// unread bytes.
pub(crate) struct FrameHold {
    bytes: usize,
    held: Arc<AtomicUsize>,
}

impl FrameHold {
    fn new(held: &Arc<AtomicUsize>, bytes: usize) -> Arc<FrameHold> {
        held.fetch_add(bytes, Ordering::Relaxed);
        Arc::new(FrameHold { bytes, held: held.clone() })
    }
}

impl Drop for FrameHold {
    fn drop(&mut self) {
        self.held.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// What background tasks report.
enum Event {
    Connected { node: i32, result: Result<Connection> },
    Fetched { node: i32, inflight: Box<InFlightFetch>, result: Result<FetchResponseView>, latency: Duration },
    Committed { items: Vec<(TopicPartition, u64)>, result: Result<HashMap<TopicPartition, Option<OffsetAndMetadata>>> },
    Reset { items: Vec<(TopicPartition, u64)>, result: HashMap<TopicPartition, Result<ListedOffset>> },
    Validated { tp: TopicPartition, generation: u64, result: Result<(i32, i64)> },
    MetadataRefreshed(Result<()>),
    Wake,
}

/// What a fetch asked for, to make sense of its reply.
struct InFlightFetch {
    plan: FetchPlan,
    /// Each session partition's generation when the request was built.
    generations: HashMap<SessionKey, u64>,
    /// Topic names by id (v13+ replies name topics by id).
    names: HashMap<Uuid, Arc<str>>,
    by_id: bool,
}

/// The prefetch budget in fetches of every assigned partition (see [`Fetcher::prefetch_budget`]).
const PREFETCH_FETCHES: usize = 2;

/// Per-partition fetch state plus the machinery that moves it along.
pub(crate) struct Fetcher {
    cluster: Arc<Cluster>,
    config: Arc<ConsumerConfig>,
    group: Option<Arc<GroupOffsets>>,
    parts: Vec<PartitionState>,
    by_topic: HashMap<Arc<str>, HashMap<i32, usize>>,
    nodes: HashMap<i32, NodeState>,
    /// Partitions with data to hand out, in the order it arrived.
    ready: VecDeque<usize>,
    /// The partition being handed out (until its current data is drained).
    current: Option<usize>,
    buffered_bytes: usize,
    /// A partition is fetched again once less than this much of its data is unread (half of
    /// `max.partition.fetch.bytes`, at least 1).
    refetch_below: usize,
    /// Handing out records made a partition fetchable again (or freed prefetch budget): the next poll drives.
    work_due: bool,
    /// Errors for the application, in order.
    errors: VecDeque<Error>,
    events_tx: mpsc::UnboundedSender<Event>,
    events_rx: mpsc::UnboundedReceiver<Event>,
    next_generation: u64,
    metadata_in_flight: bool,
    metadata_wanted: bool,
    metadata_retry_at: Option<Instant>,
    /// Refreshes in a row after which some partition still waited for a leader: the next one waits
    /// `retry.backoff.ms` doubled per such refresh, up to `retry.backoff.max.ms` (KIP-580).
    metadata_refreshes_waiting: u32,
    /// The earliest wake-up already scheduled.
    wake_at: Option<Instant>,
    read_options: ReadOptions,
    pub metrics: MetricsCounters,
}

impl Fetcher {
    pub fn new(cluster: Arc<Cluster>, config: Arc<ConsumerConfig>, group: Option<Arc<GroupOffsets>>) -> Fetcher {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let read_options = ReadOptions {
            verify_crc: config.check_crcs,
            max_decompressed_size: (config.fetch_max_bytes as usize).max(ReadOptions::DEFAULT_MAX_DECOMPRESSED_SIZE),
        };
        let refetch_below = (usize::try_from(config.max_partition_fetch_bytes).unwrap_or(0) / 2).max(1);
        Fetcher {
            cluster,
            config,
            group,
            parts: Vec::new(),
            by_topic: HashMap::new(),
            nodes: HashMap::new(),
            ready: VecDeque::new(),
            current: None,
            buffered_bytes: 0,
            refetch_below,
            work_due: false,
            errors: VecDeque::new(),
            events_tx,
            events_rx,
            next_generation: 1,
            metadata_in_flight: false,
            metadata_wanted: false,
            metadata_retry_at: None,
            metadata_refreshes_waiting: 0,
            wake_at: None,
            read_options,
            metrics: MetricsCounters::default(),
        }
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    // ---- assignment and positions ----

    /// Replaces the assignment. Partitions that stay keep their position and buffered data.
    pub fn assign(&mut self, partitions: &[TopicPartition]) {
        let mut old: HashMap<TopicPartition, PartitionState> =
            self.parts.drain(..).map(|p| (p.tp.clone(), p)).collect();
        let mut parts = Vec::with_capacity(partitions.len());
        for tp in partitions {
            if parts.iter().any(|p: &PartitionState| &p.tp == tp) {
                continue;
            }
            let p = match old.remove(tp) {
                Some(mut p) => {
                    p.queued = false;
                    p
                }
                None => {
                    let g = self.generation();
                    PartitionState::new(tp.clone(), g)
                }
            };
            parts.push(p);
        }
        for p in old.values() {
            self.buffered_bytes -= p.buffered.iter().map(|b| b.bytes).sum::<usize>();
        }
        self.parts = parts;
        self.by_topic.clear();
        for (i, p) in self.parts.iter().enumerate() {
            self.by_topic.entry(p.topic.clone()).or_default().insert(p.tp.partition, i);
        }
        self.current = None;
        self.ready.clear();
        for i in 0..self.parts.len() {
            self.enqueue(i);
        }
        self.cluster.want(partitions.iter().map(|tp| tp.topic.clone()));
        // An empty assignment needs no leaders (a member assigned nothing must not keep asking for metadata).
        if !self.parts.is_empty() {
            self.metadata_wanted = true;
        }
        // The leaders' fetch connections dial while the positions are looked up (OffsetFetch, ListOffsets), not
        // after them.
        let snap = self.cluster.snapshot();
        let mut leaders: Vec<i32> = partitions
            .iter()
            .filter_map(|tp| snap.topic(&tp.topic)?.partitions.get(usize::try_from(tp.partition).ok()?))
            .map(|info| info.leader)
            .filter(|&leader| leader >= 0)
            .collect();
        leaders.sort_unstable();
        leaders.dedup();
        for leader in leaders {
            self.cluster.pool().warm_node(ConnectionClass::Data, leader);
        }
    }

    /// The assigned partitions, in assignment order.
    pub fn assignment(&self) -> impl Iterator<Item = &TopicPartition> {
        self.parts.iter().map(|p| &p.tp)
    }

    pub fn partitions(&self) -> &[PartitionState] {
        &self.parts
    }

    pub fn index(&self, tp: &TopicPartition) -> Option<usize> {
        self.by_topic.get(tp.topic.as_str())?.get(&tp.partition).copied()
    }

    fn index_of(&self, topic: &str, partition: i32) -> Option<usize> {
        self.by_topic.get(topic)?.get(&partition).copied()
    }

    pub fn partition(&self, tp: &TopicPartition) -> Result<&PartitionState> {
        self.index(tp).map(|i| &self.parts[i]).ok_or_else(|| not_assigned(tp))
    }

    fn clear_buffer(&mut self, i: usize) {
        let p = &mut self.parts[i];
        let freed: usize = p.buffered.drain(..).map(|b| b.bytes).sum();
        self.buffered_bytes -= freed;
        if self.current == Some(i) {
            self.current = None;
        }
    }

    /// Sets the position to `offset` (with the epoch of the record before it, if known).
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64, epoch: Option<i32>) -> Result<()> {
        let i = self.index(tp).ok_or_else(|| not_assigned(tp))?;
        if offset < 0 {
            return Err(Error::invalid(format!("seek offset {offset} for {tp} is negative")));
        }
        self.restart(i, if epoch.is_some() { FetchState::Validate } else { FetchState::Fetching });
        let p = &mut self.parts[i];
        p.position = offset;
        p.fetch_offset = offset;
        p.position_epoch = epoch;
        Ok(())
    }

    /// Asks for the position to be reset with `policy` at the next poll.
    pub fn reset(&mut self, tp: &TopicPartition, policy: OffsetReset) -> Result<()> {
        let i = self.index(tp).ok_or_else(|| not_assigned(tp))?;
        self.restart(i, FetchState::Reset(policy));
        Ok(())
    }

    /// Drops buffered and in-flight data and look-ups for partition `i` and puts it in `state`.
    fn restart(&mut self, i: usize, state: FetchState) {
        self.clear_buffer(i);
        let g = self.generation();
        let p = &mut self.parts[i];
        p.generation = g;
        p.state = state;
        p.op_in_flight = false;
        p.retry_at = None;
        p.failure = None;
    }

    fn fail(&mut self, i: usize, error: Error) {
        self.restart(i, FetchState::Failed);
        let p = &mut self.parts[i];
        let error = error.with_partition(&p.tp.topic, p.tp.partition);
        warn!(partition = %p.tp, error = %error, "partition stopped until seek");
        p.failure = Some(error.clone());
        self.errors.push_back(error);
    }

    pub fn pause(&mut self, tp: &TopicPartition) -> Result<()> {
        let i = self.index(tp).ok_or_else(|| not_assigned(tp))?;
        self.parts[i].paused = true;
        // A paused partition's data no longer counts against its broker's response budget: left counted, pausing
        // partitions from different responses could use it up and stop the fetching of the others. Its response
        // stays in memory until the data is read or dropped.
        for b in &mut self.parts[i].buffered {
            b.frame = None;
        }
        if self.current == Some(i) {
            self.current = None;
        }
        Ok(())
    }

    pub fn resume(&mut self, tp: &TopicPartition) -> Result<()> {
        let i = self.index(tp).ok_or_else(|| not_assigned(tp))?;
        self.parts[i].paused = false;
        self.enqueue(i);
        Ok(())
    }

    fn enqueue(&mut self, i: usize) {
        let p = &mut self.parts[i];
        if !p.queued && !p.paused && !p.buffered.is_empty() {
            p.queued = true;
            self.ready.push_back(i);
        }
    }

    /// True when no background event waits to be handled, no error waits for the application and handing out
    /// records made no partition fetchable again: the consumer may hand out buffered records without driving.
    pub fn idle_events(&self) -> bool {
        self.errors.is_empty() && self.events_rx.is_empty() && !self.work_due
    }

    /// Takes the next error for the application.
    pub fn take_error(&mut self) -> Option<Error> {
        self.errors.pop_front()
    }

    /// Puts an error back at the head (it is returned by the next poll).
    pub fn put_back_error(&mut self, e: Error) {
        self.errors.push_front(e);
    }

    pub fn metrics(&self) -> ConsumerMetrics {
        let lag =
            self.parts.iter().filter_map(|p| p.lag(self.config.isolation_level).map(|l| (p.tp.clone(), l))).collect();
        self.metrics.snapshot(self.buffered_bytes, lag)
    }

    // ---- handing out records ----

    /// The next buffered record, or an error a partition ran into; `None` when nothing is buffered.
    pub fn next_buffered(&mut self) -> Option<Result<ConsumerRecord>> {
        loop {
            let i = match self.current {
                Some(i) => i,
                None => {
                    let i = self.ready.pop_front()?;
                    self.parts[i].queued = false;
                    self.current = Some(i);
                    i
                }
            };
            let p = &mut self.parts[i];
            if p.paused || p.state != FetchState::Fetching {
                // Kept for later (paused) or dropped by a restart already.
                self.current = None;
                continue;
            }
            let only_chunk = p.buffered.len() == 1;
            let Some(chunk) = p.buffered.front_mut() else {
                self.current = None;
                continue;
            };
            if chunk.generation != p.generation {
                let b = chunk.bytes;
                p.buffered.pop_front();
                self.buffered_bytes -= b;
                continue;
            }
            match chunk.next(&mut p.position) {
                Some(Ok(f)) => {
                    if !chunk.refetch_signalled && only_chunk && chunk.unread() < self.refetch_below {
                        // The partition may be fetched again (see `start_fetches`): once per chunk.
                        chunk.refetch_signalled = true;
                        self.work_due = true;
                    }
                    if f.leader_epoch.is_some() {
                        p.position_epoch = f.leader_epoch;
                    }
                    self.metrics.records_consumed += 1;
                    let r = f.record;
                    return Some(Ok(ConsumerRecord {
                        topic: p.topic.clone(),
                        partition: p.tp.partition,
                        offset: r.offset,
                        timestamp: r.timestamp,
                        timestamp_type: f.timestamp_type,
                        key: r.key,
                        value: r.value,
                        headers: r.headers,
                        leader_epoch: f.leader_epoch,
                    }));
                }
                Some(Err(e)) => {
                    let offset = p.position;
                    self.fail(i, Error::from(e).with_message(Some(format!("record batch at offset {offset}"))));
                    return self.take_error().map(Err);
                }
                None => {
                    let b = chunk.bytes;
                    p.buffered.pop_front();
                    self.buffered_bytes -= b;
                    self.current = None;
                    self.work_due = true;
                    // Let other partitions go first before this one's next chunk.
                    self.enqueue(i);
                }
            }
        }
    }

    // ---- driving ----

    /// Handles every event that has arrived and starts what is due. Registers `cx` to be woken by the next event.
    pub fn drive(&mut self, cx: &mut Context<'_>) {
        while let Poll::Ready(Some(ev)) = self.events_rx.poll_recv(cx) {
            self.handle(ev);
        }
        self.start_work();
    }

    fn schedule_wake(&mut self, at: Instant) {
        if self.wake_at.is_some_and(|w| w <= at && w > Instant::now()) {
            return;
        }
        self.wake_at = Some(at);
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let _ = tx.send(Event::Wake);
        });
    }

    fn backoff(&self) -> Duration {
        self.config.client.retry_backoff
    }

    fn want_metadata(&mut self) {
        self.metadata_wanted = true;
    }

    /// Starts whatever is due: metadata refresh, position look-ups, resets, validations, connects and fetches.
    pub fn start_work(&mut self) {
        self.work_due = false;
        let now = Instant::now();
        self.start_metadata(now);
        self.start_committed_lookups(now);
        self.start_resets(now);
        self.start_validations(now);
        self.start_fetches(now);
        // Whatever waits for a backoff must be woken when it ends: one timer for the earliest.
        let partitions = self.parts.iter().filter_map(|p| p.retry_at);
        let nodes = self.nodes.values().filter_map(|n| n.retry_at);
        let metadata = self.metadata_retry_at.filter(|_| self.metadata_wanted);
        if let Some(t) = partitions.chain(nodes).chain(metadata).filter(|t| *t > now).min() {
            self.schedule_wake(t);
        }
    }

    fn start_metadata(&mut self, now: Instant) {
        if !self.metadata_wanted || self.metadata_in_flight {
            return;
        }
        if let Some(t) = self.metadata_retry_at.filter(|t| *t > now) {
            self.schedule_wake(t);
            return;
        }
        self.metadata_wanted = false;
        self.metadata_in_flight = true;
        let cluster = self.cluster.clone();
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            let r = cluster.refresh().await.map(|_| ());
            let _ = tx.send(Event::MetadataRefreshed(r));
        });
    }

    fn start_committed_lookups(&mut self, now: Instant) {
        let mut items = Vec::new();
        let has_group = self.group.is_some();
        let policy = self.config.auto_offset_reset;
        for p in &mut self.parts {
            if p.state != FetchState::NeedsPosition || p.op_in_flight || !p.due(now) {
                continue;
            }
            if has_group {
                p.op_in_flight = true;
                items.push((p.tp.clone(), p.generation));
            } else {
                p.state = FetchState::Reset(policy);
            }
        }
        let Some(group) = self.group.clone().filter(|_| !items.is_empty()) else { return };
        let tx = self.events_tx.clone();
        let deadline = deadline_in(self.config.default_api_timeout);
        tokio::spawn(async move {
            let tps: Vec<TopicPartition> = items.iter().map(|(tp, _)| tp.clone()).collect();
            let result = group.committed(&tps, true, deadline).await;
            let _ = tx.send(Event::Committed { items, result });
        });
    }

    fn start_resets(&mut self, now: Instant) {
        let mut wanted = Vec::new();
        let mut items = Vec::new();
        let mut failed = Vec::new();
        for (i, p) in self.parts.iter_mut().enumerate() {
            let FetchState::Reset(policy) = p.state else { continue };
            if p.op_in_flight || !p.due(now) {
                continue;
            }
            let ts = match policy {
                OffsetReset::Earliest => EARLIEST_TIMESTAMP,
                OffsetReset::Latest => LATEST_TIMESTAMP,
                OffsetReset::None => {
                    failed.push(i);
                    continue;
                }
            };
            p.op_in_flight = true;
            wanted.push((p.tp.clone(), ts));
            items.push((p.tp.clone(), p.generation));
        }
        for i in failed {
            self.fail(i, Error::new(ErrorKind::NoOffset));
        }
        if items.is_empty() {
            return;
        }
        let cluster = self.cluster.clone();
        let tx = self.events_tx.clone();
        let isolation = self.config.isolation_level.code();
        tokio::spawn(async move {
            let result = list_offsets_once(&cluster, isolation, &wanted).await;
            let _ = tx.send(Event::Reset { items, result });
        });
    }

    fn start_validations(&mut self, now: Instant) {
        if self.metadata_wanted || self.metadata_in_flight {
            // Validate against the leader the refresh is about to name.
            return;
        }
        let snap = self.cluster.snapshot();
        let mut resumed = Vec::new();
        for (i, p) in self.parts.iter_mut().enumerate() {
            if p.state != FetchState::Validate || p.op_in_flight || !p.due(now) {
                continue;
            }
            let Some(epoch) = p.position_epoch else {
                p.state = FetchState::Fetching;
                resumed.push(i);
                continue;
            };
            let Some(info) = snap.topic(&p.tp.topic).and_then(|t| t.partitions.get(p.tp.partition as usize)) else {
                self.metadata_wanted = true;
                continue;
            };
            p.leader_epoch = info.leader_epoch;
            p.op_in_flight = true;
            let (cluster, tx, tp, g, current) =
                (self.cluster.clone(), self.events_tx.clone(), p.tp.clone(), p.generation, info.leader_epoch);
            tokio::spawn(async move {
                let result = end_offset_for_epoch(&cluster, &tp, current, epoch).await;
                let _ = tx.send(Event::Validated { tp, generation: g, result });
            });
        }
        for i in resumed {
            self.enqueue(i);
        }
    }

    /// Response bytes buffered below which another fetch may go out: two full fetches of every assigned partition
    /// (`max.partition.fetch.bytes` each), or `fetch.max.bytes` if smaller. Enough to keep a broker's next response
    /// in flight while the application reads, without holding `fetch.max.bytes` (50 MiB by default) of responses
    /// whenever the application is slower than the broker: with 6 partitions at the defaults, 12 MiB.
    fn prefetch_budget(&self) -> usize {
        let per_partition = usize::try_from(self.config.max_partition_fetch_bytes).unwrap_or(0);
        let fetches = per_partition.saturating_mul(self.parts.len().max(1)).saturating_mul(PREFETCH_FETCHES);
        fetches.min(usize::try_from(self.config.fetch_max_bytes).unwrap_or(0))
    }

    fn start_fetches(&mut self, now: Instant) {
        if self.buffered_bytes >= self.prefetch_budget() {
            trace!(buffered = self.buffered_bytes, "prefetch budget used up");
            return;
        }
        let snap = self.cluster.snapshot();
        // Per node: (partition index, topic id, caught up: fetched to the end the broker last reported).
        let mut by_node: HashMap<i32, Vec<(usize, Uuid, bool)>> = HashMap::new();
        let mut need_metadata = false;
        let mut earliest_retry: Option<Instant> = None;
        // A partition is fetched again once less than half a fetch of its data is left unread: the next response
        // is in flight while the application reads the rest, and each partition holds at most one and a half
        // fetches (`max.partition.fetch.bytes`) buffered or in flight (Java's fetcher: one, fetching a partition
        // only once its data is drained).
        let refetch_below = self.refetch_below;
        let isolation = self.config.isolation_level;
        // Nodes with a partition whose data is still being read (not fetched again yet).
        let mut reading_on: Vec<i32> = Vec::new();
        // Partitions fetched from each node, being read or due for a fetch (the size of its response budget).
        let mut on_node: HashMap<i32, usize> = HashMap::new();
        for (i, p) in self.parts.iter_mut().enumerate() {
            if p.state != FetchState::Fetching || p.paused || p.in_fetch {
                continue;
            }
            let reading = p.buffered.iter().map(FetchedRecords::unread).sum::<usize>() >= refetch_below;
            if !p.due(now) {
                earliest_retry = earliest_retry.min(p.retry_at).or(p.retry_at);
                continue;
            }
            let topic = snap.topic(&p.tp.topic);
            let Some(info) = topic.and_then(|t| t.partitions.get(usize::try_from(p.tp.partition).ok()?)) else {
                need_metadata = true;
                continue;
            };
            if info.leader < 0 {
                need_metadata = true;
                continue;
            }
            if info.leader_epoch > p.leader_epoch {
                let known = p.leader_epoch;
                p.leader_epoch = info.leader_epoch;
                if known >= 0 && p.position_epoch.is_some() {
                    debug!(partition = %p.tp, from = known, to = info.leader_epoch, "leader epoch changed; validating position");
                    p.state = FetchState::Validate;
                    continue;
                }
            }
            let target = match p.read_replica {
                Some((node, until)) if until > now && snap.brokers.contains_key(&node) => node,
                Some(_) => {
                    p.read_replica = None;
                    info.leader
                }
                None => info.leader,
            };
            *on_node.entry(target).or_default() += 1;
            if reading {
                if !reading_on.contains(&target) {
                    reading_on.push(target);
                }
                continue;
            }
            let end = p.readable_end(isolation);
            let caught_up = end >= 0 && p.fetch_offset >= end;
            by_node.entry(target).or_default().push((i, topic.map(|t| t.id).unwrap_or(Uuid::ZERO), caught_up));
        }
        if need_metadata {
            self.want_metadata();
        }
        if let Some(t) = earliest_retry {
            self.schedule_wake(t);
        }
        for (node_id, list) in by_node {
            // A fetch of caught-up partitions only waits at the broker (up to `fetch.max.wait.ms`) for new data, and
            // it is the node's one fetch in flight: while another partition of the node still has data to read (it
            // wants its next fetch before long), the caught-up ones wait to go out with that fetch.
            if list.iter().all(|(_, _, caught_up)| *caught_up) && reading_on.contains(&node_id) {
                trace!(node = node_id, partitions = list.len(), "caught-up partitions wait for the node's next fetch");
                continue;
            }
            let (budget, per_fetch) = self.response_budget(on_node.get(&node_id).copied().unwrap_or(0));
            let held = self.nodes.get(&node_id).map_or(0, |n| n.held.load(Ordering::Relaxed));
            let room = budget.saturating_sub(held);
            if room < self.partition_max_bytes().min(per_fetch) {
                trace!(node = node_id, held, budget, "the node's responses held use up its budget");
                continue;
            }
            // Never below `fetch.min.bytes`: a response capped under it could only ever wait `fetch.max.wait.ms`.
            let min_bytes = usize::try_from(self.config.fetch_min_bytes).unwrap_or(0);
            let max_bytes = i32::try_from(room.min(per_fetch).max(min_bytes)).unwrap_or(i32::MAX);
            self.fetch_from(node_id, list.into_iter().map(|(i, id, _)| (i, id)).collect(), max_bytes, now);
        }
    }

    /// `max.partition.fetch.bytes`, at least 1.
    fn partition_max_bytes(&self) -> usize {
        usize::try_from(self.config.max_partition_fetch_bytes).unwrap_or(0).max(1)
    }

    /// For a broker from which `partitions` partitions are fetched: the response bytes its fetches may keep alive
    /// (responses whose data is still being read, counted whole: see [`FrameHold`]), and the most one fetch asks
    /// for. The budget is one `max.partition.fetch.bytes` per partition (at least two), capped by
    /// `fetch.max.bytes`; a fetch asks for a third of it (at least one partition's worth). So responses of about a
    /// third of the partitions each take turns, one read while the next waits and a third is in flight, and the
    /// memory they hold stays near one fetch of every partition. A single fetch of all of them kept its whole
    /// response alive until its last partition was read, while the partitions read first were fetched again: about
    /// two fetches of every partition at the peak.
    fn response_budget(&self, partitions: usize) -> (usize, usize) {
        let per = self.partition_max_bytes();
        let max = usize::try_from(self.config.fetch_max_bytes).unwrap_or(0).max(1);
        let budget = per.saturating_mul(partitions.max(2)).min(max);
        (budget, (budget / 3).max(per).min(max))
    }

    fn fetch_from(&mut self, node_id: i32, list: Vec<(usize, Uuid)>, max_bytes: i32, now: Instant) {
        let node = self.nodes.entry(node_id).or_default();
        if node.in_flight || node.connecting {
            return;
        }
        if let Some(t) = node.retry_at.filter(|t| *t > now) {
            self.schedule_wake(t);
            return;
        }
        let conn = match node.conn.as_ref().filter(|c| !c.is_closed()) {
            Some(c) => c.clone(),
            None => {
                node.conn = None;
                node.connecting = true;
                let (cluster, tx) = (self.cluster.clone(), self.events_tx.clone());
                tokio::spawn(async move {
                    let result = cluster.pool().node(node_id).await;
                    let _ = tx.send(Event::Connected { node: node_id, result });
                });
                return;
            }
        };
        let mut version = match conn.versions().pick::<FetchRequest>() {
            Ok(v) => v,
            Err(e) => {
                node.retry_at = Some(now + Duration::from_secs(1));
                warn!(node = node_id, error = %e, "cannot fetch from broker");
                return;
            }
        };
        let by_id = version >= 13 && list.iter().all(|(_, id)| !id.is_zero());
        if !by_id {
            version = version.min(12);
        }
        let partition_max_bytes = self.config.max_partition_fetch_bytes;
        let mut wanted = Vec::with_capacity(list.len());
        let mut generations = HashMap::with_capacity(list.len());
        for (i, id) in &list {
            let p = &self.parts[*i];
            let key: SessionKey = (p.topic.clone(), p.tp.partition);
            generations.insert(key.clone(), p.generation);
            wanted.push((
                key,
                SentPartition {
                    topic_id: if by_id { *id } else { Uuid::ZERO },
                    fetch_offset: p.fetch_offset,
                    current_leader_epoch: p.leader_epoch,
                    max_bytes: partition_max_bytes,
                },
            ));
        }
        let node = self.nodes.entry(node_id).or_default();
        let plan = node.session.plan(wanted, by_id);
        let sessions = version >= 7;
        let mut req = FetchRequest {
            max_wait_ms: i32::try_from(self.config.fetch_max_wait.as_millis()).unwrap_or(i32::MAX),
            min_bytes: self.config.fetch_min_bytes,
            max_bytes,
            isolation_level: self.config.isolation_level.code(),
            session_id: if sessions { plan.session_id } else { 0 },
            session_epoch: if sessions { plan.epoch } else { -1 },
            rack_id: if version >= 11 { self.config.client_rack.clone().unwrap_or_default() } else { String::new() },
            ..Default::default()
        };
        for (key, sent) in &plan.send {
            let fp = FetchPartition {
                partition: key.1,
                current_leader_epoch: if version >= 9 { sent.current_leader_epoch } else { -1 },
                fetch_offset: sent.fetch_offset,
                partition_max_bytes: sent.max_bytes,
                ..Default::default()
            };
            match req
                .topics
                .iter_mut()
                .rev()
                .find(|t| if by_id { t.topic_id == sent.topic_id } else { *t.topic == *key.0 })
            {
                Some(t) => t.partitions.push(fp),
                None => req.topics.push(FetchTopic {
                    topic: if by_id { String::new() } else { key.0.to_string() },
                    topic_id: sent.topic_id,
                    partitions: vec![fp],
                    ..Default::default()
                }),
            }
        }
        if sessions {
            for (key, id) in &plan.forget {
                match req
                    .forgotten_topics_data
                    .iter_mut()
                    .find(|t| if by_id { t.topic_id == *id } else { *t.topic == *key.0 })
                {
                    Some(t) => t.partitions.push(key.1),
                    None => req.forgotten_topics_data.push(ForgottenTopic {
                        topic: if by_id { String::new() } else { key.0.to_string() },
                        topic_id: if by_id { *id } else { Uuid::ZERO },
                        partitions: vec![key.1],
                        ..Default::default()
                    }),
                }
            }
        }
        let names: HashMap<Uuid, Arc<str>> =
            if by_id { plan.partitions().map(|(k, s)| (s.topic_id, k.0.clone())).collect() } else { HashMap::new() };
        trace!(
            node = node_id,
            version,
            session = plan.session_id,
            epoch = plan.epoch,
            sent = plan.send.len(),
            forgotten = plan.forget.len(),
            "fetch"
        );
        node.in_flight = true;
        for (i, _) in &list {
            self.parts[*i].in_fetch = true;
        }
        self.metrics.fetch_requests += 1;
        let inflight = Box::new(InFlightFetch { plan, generations, names, by_id });
        let timeout = self.config.client.request_timeout + self.config.fetch_max_wait;
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let result = conn.fetch_view(&req, version, timeout).await;
            let _ = tx.send(Event::Fetched { node: node_id, inflight, result, latency: start.elapsed() });
        });
    }

    /// Closes the fetch sessions with every broker (a fetch with the session's id and epoch -1 and no partitions,
    /// as the Java client does on close), waiting at most `timeout` for the answers.
    pub async fn close_sessions(&mut self, timeout: Duration) {
        let mut replies = Vec::new();
        for (node_id, node) in &mut self.nodes {
            let id = node.session.id();
            let Some(conn) = node.conn.as_ref().filter(|c| !c.is_closed() && id != 0) else { continue };
            let Ok(version) = conn.versions().pick::<FetchRequest>() else { continue };
            if version < 7 {
                continue;
            }
            let req = FetchRequest {
                session_id: id,
                session_epoch: -1,
                max_wait_ms: 0,
                min_bytes: 0,
                isolation_level: self.config.isolation_level.code(),
                ..Default::default()
            };
            let (conn, node_id) = (conn.clone(), *node_id);
            node.session.on_failure();
            replies.push(tokio::spawn(async move {
                if let Err(e) = conn.send_at_with_timeout(&req, version, timeout).await {
                    debug!(node = node_id, error = %e, "closing the fetch session failed");
                }
            }));
        }
        let _ = tokio::time::timeout(timeout, async {
            for r in replies {
                let _ = r.await;
            }
        })
        .await;
    }

    // ---- events ----

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Wake => {
                if self.wake_at.is_some_and(|w| w <= Instant::now()) {
                    self.wake_at = None;
                }
            }
            Event::MetadataRefreshed(r) => {
                self.metadata_in_flight = false;
                // The next refresh waits either way, so that a partition whose leader stays unknown (a topic not
                // created yet, an election) does not make a busy loop of Metadata requests; the wait doubles while
                // refreshes keep leaving partitions without a leader, so their rate falls to one per
                // `retry.backoff.max.ms` instead of staying at one per `retry.backoff.ms` for as long as it lasts.
                let snap = self.cluster.snapshot();
                let all_led = self.parts.iter().all(|p| snap.leader(&p.tp.topic, p.tp.partition).is_some());
                if r.is_ok() && all_led {
                    self.metadata_refreshes_waiting = 0;
                } else {
                    self.metadata_refreshes_waiting = self.metadata_refreshes_waiting.saturating_add(1);
                }
                let wait = self.config.client.retry_backoff_after(self.metadata_refreshes_waiting.saturating_sub(1));
                self.metadata_retry_at = Some(Instant::now() + wait);
                if let Err(e) = r {
                    debug!(error = %e, "metadata refresh failed");
                    // Retried only while some partition still needs it.
                    self.metadata_wanted = !self.parts.is_empty();
                }
            }
            Event::Connected { node, result } => {
                let backoff = self.backoff();
                let n = self.nodes.entry(node).or_default();
                n.connecting = false;
                match result {
                    Ok(c) => n.conn = Some(c),
                    Err(e) => {
                        debug!(node, error = %e, "cannot connect to partition leader");
                        n.retry_at = Some(Instant::now() + backoff);
                        self.want_metadata();
                    }
                }
            }
            Event::Fetched { node, inflight, result, latency } => self.handle_fetch(node, *inflight, result, latency),
            Event::Committed { items, result } => self.handle_committed(items, result),
            Event::Reset { items, result } => self.handle_reset(items, result),
            Event::Validated { tp, generation, result } => self.handle_validated(tp, generation, result),
        }
    }

    fn current(&self, tp: &TopicPartition, generation: u64) -> Option<usize> {
        self.index(tp).filter(|&i| self.parts[i].generation == generation)
    }

    fn retry_later(&mut self, i: usize) {
        let at = Instant::now() + self.backoff();
        let p = &mut self.parts[i];
        p.op_in_flight = false;
        p.retry_at = Some(at);
        self.schedule_wake(at);
    }

    fn handle_committed(
        &mut self,
        items: Vec<(TopicPartition, u64)>,
        result: Result<HashMap<TopicPartition, Option<OffsetAndMetadata>>>,
    ) {
        let policy = self.config.auto_offset_reset;
        match result {
            Ok(map) => {
                for (tp, g) in items {
                    let Some(i) = self.current(&tp, g) else { continue };
                    let p = &mut self.parts[i];
                    p.op_in_flight = false;
                    match map.get(&tp).cloned().flatten() {
                        Some(o) => {
                            debug!(partition = %tp, offset = o.offset, "starting at the committed offset");
                            p.position = o.offset;
                            p.fetch_offset = o.offset;
                            p.position_epoch = o.leader_epoch;
                            p.state =
                                if o.leader_epoch.is_some() { FetchState::Validate } else { FetchState::Fetching };
                        }
                        None => p.state = FetchState::Reset(policy),
                    }
                }
            }
            Err(e) => {
                warn!(error = %e, "fetching committed offsets failed");
                let retriable = e.is_retriable();
                for (tp, g) in &items {
                    if let Some(i) = self.current(tp, *g) {
                        self.retry_later(i);
                    }
                }
                if !retriable {
                    self.errors.push_back(e);
                }
            }
        }
    }

    fn handle_reset(
        &mut self,
        items: Vec<(TopicPartition, u64)>,
        result: HashMap<TopicPartition, Result<ListedOffset>>,
    ) {
        for (tp, g) in items {
            let Some(i) = self.current(&tp, g) else { continue };
            match result.get(&tp) {
                Some(Ok(o)) => {
                    let p = &mut self.parts[i];
                    info!(partition = %tp, offset = o.offset, policy = ?p.state, "resetting position");
                    p.op_in_flight = false;
                    p.position = o.offset;
                    p.fetch_offset = o.offset;
                    p.position_epoch = o.leader_epoch;
                    p.state = FetchState::Fetching;
                }
                Some(Err(e)) if e.is_retriable() || e.code().is_some_and(is_leadership_error) => {
                    debug!(partition = %tp, error = %e, "offset reset will be retried");
                    self.want_metadata();
                    self.retry_later(i);
                }
                Some(Err(e)) => self.fail(i, e.clone()),
                None => self.retry_later(i),
            }
        }
    }

    fn handle_validated(&mut self, tp: TopicPartition, generation: u64, result: Result<(i32, i64)>) {
        let Some(i) = self.current(&tp, generation) else { return };
        let has_policy = self.config.auto_offset_reset != OffsetReset::None;
        match result {
            Ok((epoch, end_offset)) => self.complete_validation(i, epoch, end_offset, has_policy),
            Err(e)
                if e.code() == Some(ErrorCode::UNSUPPORTED_VERSION)
                    || matches!(e.kind(), ErrorKind::UnsupportedVersion { .. }) =>
            {
                let p = &mut self.parts[i];
                p.op_in_flight = false;
                p.state = FetchState::Fetching;
                self.enqueue(i);
            }
            Err(e) => {
                debug!(partition = %tp, error = %e, "position validation will be retried");
                if e.code().is_some_and(is_leadership_error) {
                    self.want_metadata();
                }
                self.retry_later(i);
            }
        }
    }

    /// Applies an OffsetForLeaderEpoch answer (or a fetch's diverging epoch) the way the Java client does: an end
    /// offset below the position is a truncation, reset to that end offset when a reset policy is set; an unknown
    /// epoch resets with the policy; otherwise the position stands.
    fn complete_validation(&mut self, i: usize, epoch: i32, end_offset: i64, has_policy: bool) {
        let policy = self.config.auto_offset_reset;
        let p = &mut self.parts[i];
        p.op_in_flight = false;
        let position = p.position;
        if epoch < 0 || end_offset < 0 {
            if has_policy {
                info!(partition = %p.tp, offset = position, "truncation detected (no epoch known); resetting position");
                self.restart(i, FetchState::Reset(policy));
            } else {
                self.fail(i, Error::new(ErrorKind::LogTruncation { offset: position, divergent_offset: None }));
            }
        } else if end_offset < position {
            if has_policy {
                info!(partition = %p.tp, offset = position, diverging = end_offset, "truncation detected; resetting to the first offset known to diverge");
                self.restart(i, FetchState::Fetching);
                let p = &mut self.parts[i];
                p.position = end_offset;
                p.fetch_offset = end_offset;
                p.position_epoch = Some(epoch);
            } else {
                self.fail(
                    i,
                    Error::new(ErrorKind::LogTruncation { offset: position, divergent_offset: Some(end_offset) }),
                );
            }
        } else {
            p.state = FetchState::Fetching;
            // Data fetched before the leader change is still good.
            self.enqueue(i);
        }
    }

    fn handle_fetch(
        &mut self,
        node_id: i32,
        inflight: InFlightFetch,
        result: Result<FetchResponseView>,
        latency: Duration,
    ) {
        let backoff = self.backoff();
        for key in inflight.generations.keys() {
            if let Some(i) = self.index_of(&key.0, key.1) {
                self.parts[i].in_fetch = false;
            }
        }
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                debug!(node = node_id, error = %e, "fetch failed");
                let node = self.nodes.entry(node_id).or_default();
                node.in_flight = false;
                node.session.on_failure();
                if node.conn.as_ref().is_some_and(|c| c.is_closed()) {
                    node.conn = None;
                }
                node.retry_at = Some(Instant::now() + backoff);
                self.metrics.fetch_errors += 1;
                self.want_metadata();
                for p in &mut self.parts {
                    if p.read_replica.is_some_and(|(n, _)| n == node_id) {
                        debug!(partition = %p.tp, node = node_id, "read replica failed; back to the leader");
                        p.read_replica = None;
                    }
                }
                return;
            }
        };
        self.metrics.fetch_reply(latency);
        let InFlightFetch { plan, generations, names, by_id } = inflight;
        let node = self.nodes.entry(node_id).or_default();
        node.in_flight = false;
        let top_error = resp.error_code();
        if top_error.is_err() {
            // The two session errors are answered at once with a full fetch; anything else (including
            // FETCH_SESSION_TOPIC_ID_ERROR, which a full fetch with stale topic ids would meet again) waits for
            // the backoff and fresh metadata.
            let session_error = top_error == ErrorCode::FETCH_SESSION_ID_NOT_FOUND
                || top_error == ErrorCode::INVALID_FETCH_SESSION_EPOCH;
            debug!(node = node_id, error = %top_error, "fetch failed at the top; the next fetch is a full one");
            node.session.on_response(plan, top_error, resp.session_id());
            self.metrics.fetch_errors += 1;
            if !session_error {
                node.retry_at = Some(Instant::now() + backoff);
                self.want_metadata();
            }
            return;
        }
        node.session.on_response(plan, ErrorCode::NONE, resp.session_id());
        let frame_bytes: usize = resp.partitions().filter_map(|(_, p)| p.records).map(<[u8]>::len).sum();
        let hold = (frame_bytes > 0).then(|| FrameHold::new(&node.held, frame_bytes));
        // Partitions come topic by topic: the topic is looked up once per run of its partitions.
        let mut current: Option<(TopicRef<'_>, Option<Arc<str>>)> = None;
        for (t, pd) in resp.partitions() {
            if current.as_ref().is_none_or(|(c, _)| *c != t) {
                let topic: Option<Arc<str>> = if by_id { names.get(&t.id).cloned() } else { Some(Arc::from(t.name)) };
                if topic.is_none() {
                    debug!(topic_id = %t.id, "fetch reply names a topic id not asked for");
                }
                current = Some((t, topic));
            }
            let Some((_, Some(topic))) = &current else { continue };
            let key: SessionKey = (topic.clone(), pd.partition_index);
            let Some(&g) = generations.get(&key) else { continue };
            let Some(i) = self.index_of(topic, pd.partition_index) else { continue };
            if self.parts[i].generation != g || self.parts[i].state != FetchState::Fetching {
                continue;
            }
            self.handle_partition_data(i, g, node_id, &pd, resp.body(), hold.as_ref());
        }
    }

    fn handle_partition_data(
        &mut self,
        i: usize,
        generation: u64,
        node_id: i32,
        pd: &PartitionView<'_>,
        body: &Bytes,
        hold: Option<&Arc<FrameHold>>,
    ) {
        let code = pd.error_code;
        let from_replica = self.parts[i].read_replica.is_some_and(|(n, _)| n == node_id);
        if code.is_ok() {
            let max_age = self.config.client.metadata_max_age;
            let p = &mut self.parts[i];
            p.high_watermark = pd.high_watermark;
            p.last_stable_offset = pd.last_stable_offset;
            p.log_start_offset = pd.log_start_offset;
            if pd.preferred_read_replica >= 0 && pd.preferred_read_replica != node_id {
                debug!(partition = %p.tp, replica = pd.preferred_read_replica, "leader prefers another read replica");
                p.read_replica = Some((pd.preferred_read_replica, Instant::now() + max_age));
            }
            if let Some(diverging) = pd.diverging_epoch().filter(|d| d.epoch >= 0) {
                let (epoch, end) = (diverging.epoch, diverging.end_offset);
                let has_policy = self.config.auto_offset_reset != OffsetReset::None;
                self.complete_validation(i, epoch, end, has_policy);
                return;
            }
            let Some(records) = pd.records.filter(|r| !r.is_empty()).map(|r| body.slice_ref(r)) else { return };
            let Some(end) = end_offset(&records) else {
                warn!(partition = %p.tp, bytes = records.len(), "fetch returned no complete batch; raise max.partition.fetch.bytes?");
                return;
            };
            if end <= p.fetch_offset {
                return;
            }
            p.fetch_offset = end;
            let read_committed = self.config.isolation_level == IsolationLevel::ReadCommitted;
            let aborted: Option<Vec<_>> =
                if read_committed { pd.aborted_transactions.clone().map(Iterator::collect) } else { None };
            let mut chunk =
                FetchedRecords::new(records, aborted.as_deref(), read_committed, self.read_options, generation);
            chunk.frame = hold.cloned();
            self.metrics.bytes_consumed += chunk.bytes as u64;
            self.buffered_bytes += chunk.bytes;
            self.parts[i].buffered.push_back(chunk);
            self.enqueue(i);
        } else if code == ErrorCode::OFFSET_OUT_OF_RANGE && from_replica {
            // A follower may lag the leader: ask the leader before resetting anything (as Java does).
            debug!(partition = %self.parts[i].tp, node = node_id, "offset out of range at the read replica; back to the leader");
            self.parts[i].read_replica = None;
        } else if code == ErrorCode::OFFSET_OUT_OF_RANGE {
            let p = &self.parts[i];
            let offset = p.fetch_offset;
            match self.config.auto_offset_reset {
                OffsetReset::None => self.fail(i, Error::new(ErrorKind::OffsetOutOfRange { offset })),
                policy => {
                    info!(partition = %p.tp, offset, policy = policy.name(), "fetch offset out of range; resetting");
                    self.restart(i, FetchState::Reset(policy));
                }
            }
        } else if is_leadership_error(code) {
            debug!(partition = %self.parts[i].tp, error = %code, "leadership error; refreshing metadata");
            self.want_metadata();
            self.parts[i].read_replica = None;
            if code == ErrorCode::FENCED_LEADER_EPOCH && self.parts[i].position_epoch.is_some() {
                self.parts[i].state = FetchState::Validate;
            }
            self.retry_later(i);
        } else if code.is_retriable() {
            debug!(partition = %self.parts[i].tp, error = %code, "retriable fetch error");
            self.retry_later(i);
        } else {
            self.fail(i, Error::broker(code).with_api(kafkar_protocol::ApiKey::FETCH));
        }
    }
}

fn not_assigned(tp: &TopicPartition) -> Error {
    Error::invalid(format!("partition {tp} is not assigned to this consumer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_uses_the_last_stable_offset_under_read_committed() {
        let mut p = PartitionState::new(TopicPartition::new("t", 0), 1);
        assert_eq!(p.lag(IsolationLevel::ReadUncommitted), None, "no position yet");
        p.state = FetchState::Fetching;
        p.position = 40;
        assert_eq!(p.lag(IsolationLevel::ReadUncommitted), None, "no high watermark yet");
        p.high_watermark = 100;
        p.last_stable_offset = 90;
        assert_eq!(p.lag(IsolationLevel::ReadUncommitted), Some(60));
        assert_eq!(p.lag(IsolationLevel::ReadCommitted), Some(50));
        p.position = 120;
        assert_eq!(p.lag(IsolationLevel::ReadUncommitted), Some(0), "never negative");
    }
}
