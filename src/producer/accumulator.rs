//! The record accumulator: one open batch per partition, records encoded straight into it, closed batches queued
//! for the sender; and [`BufferMemory`], the `buffer.memory` budget.
//!
//! `send` appends here and never does network IO. A batch is closed when the next record could take it past
//! `batch.size` as built, by [`RecordBatchBuilder::size_bound_after`]: exact when uncompressed; for lz4 and snappy,
//! which compress block by block as records come, the bytes compressed so far plus the rest at the codec's worst case
//! (the rest is compressed early, as a short block, when it alone stands in the way), so that a batch never comes out
//! over `batch.size` (the ratio estimate let an lz4 batch of incompressible records close at `batch.size` of records,
//! and come out up to 75 bytes over it: with `batch.size` 1 MiB, over a broker's default limit, 1 MiB + 12, so refused
//! and split); for gzip and zstd, which compress at close, the records scaled by a per-topic ratio learnt from built
//! batches (as Java does, with its 5% margin) plus the codec's worst-case overhead. A batch is handed to the sender
//! when closed, lingered (`linger.ms` since it was opened), flushed, or when a `send` waits for memory. The sender
//! seals batches (and compresses gzip and zstd ones) itself, outside this lock.
//!
//! Keyless records stick to one partition per topic; when a keyless record does not fit the sticky partition's
//! batch, that batch is closed and the topic moves to another partition, where the record goes (KIP-480).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar_protocol::compression::Compression;
use kafkar_protocol::records::{RECORD_BATCH_OVERHEAD, RecordBatchBuilder, encoded_record_size};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::partitioner::{Partitioner, key_partition};
use super::record::{BatchHandle, DeliveryFuture, DeliveryHandler, PendingReports, ProducerRecord};
use crate::cluster::TopicInfo;
use crate::error::{Error, ErrorKind, Result};

/// Slack added to a record's size at offset and timestamp delta 0 to bound its size at any position in a batch
/// (offset delta varint up to 5 bytes, timestamp delta varlong up to 10).
const RECORD_SIZE_SLACK: usize = 14;

/// The margin on the compression-ratio estimate of gzip and zstd batches, Java's `COMPRESSION_RATE_ESTIMATION_FACTOR`:
/// a batch may compress a little worse than the ones before it. Records within 5% of not compressing at all are then
/// counted at the codec's worst case, a bound.
const RATIO_MARGIN: f32 = 1.05;

/// The least a new batch's buffer is allocated at (or the first record's size, if larger); it grows as records come.
const INITIAL_BATCH_CAPACITY: usize = 16 << 10;

/// The bytes a record may take in a batch of its own: batch header plus the record, upper bound.
pub(crate) fn record_size_upper_bound(r: &ProducerRecord) -> usize {
    RECORD_BATCH_OVERHEAD
        + encoded_record_size(0, 0, r.key.as_ref().map(|k| k.len()), r.value.as_ref().map(|v| v.len()), &r.headers)
        + RECORD_SIZE_SLACK
}

/// The most a batch's buffer is grown to ahead of its records. Where the buffer receives the records (uncompressed,
/// gzip, zstd): room for `batch.size` of output at the topic's compression `ratio`, at most twice `batch.size`.
/// Where it receives compressed blocks as records come (lz4, snappy): `batch.size`, near which the batch closes. The
/// record's `reserved` bytes if larger.
fn batch_capacity(compresses_as_it_goes: bool, batch_size: usize, ratio: f32, reserved: usize) -> usize {
    if compresses_as_it_goes {
        batch_size.max(reserved)
    } else {
        ((batch_size as f32 / ratio) as usize).max(reserved).min(batch_size.max(reserved) * 2)
    }
}

/// The `buffer.memory` budget: bytes of records held by the producer from `send` until their batch completes.
#[derive(Debug)]
pub(crate) struct BufferMemory {
    limit: usize,
    used: AtomicUsize,
    waiters: AtomicUsize,
    freed: Notify,
}

impl BufferMemory {
    pub(crate) fn new(limit: usize) -> BufferMemory {
        BufferMemory { limit, used: AtomicUsize::new(0), waiters: AtomicUsize::new(0), freed: Notify::new() }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Tasks waiting for memory (the sender then sends every batch, lingered or not, to free some).
    pub(crate) fn waiters(&self) -> usize {
        self.waiters.load(Ordering::Relaxed)
    }

    /// Reserves `n` bytes if they fit.
    pub(crate) fn try_reserve(&self, n: usize) -> bool {
        let mut cur = self.used.load(Ordering::Relaxed);
        loop {
            let Some(next) = cur.checked_add(n).filter(|&next| next <= self.limit) else { return false };
            match self.used.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Reserves `n` bytes, waiting until `deadline` for completed batches to free them; then `QueueFull`.
    /// `on_wait` runs when the caller starts waiting (to wake the sender).
    pub(crate) async fn reserve(&self, n: usize, deadline: Instant, on_wait: impl Fn()) -> Result<()> {
        loop {
            if self.try_reserve(n) {
                return Ok(());
            }
            let notified = self.freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.try_reserve(n) {
                return Ok(());
            }
            // The guard keeps the count right when this future is dropped mid-wait (a `send` inside `select!` or
            // a timeout): a leaked count would make the sender believe someone waits forever and never linger.
            let waiting = WaiterGuard::enter(&self.waiters);
            on_wait();
            let timed_out = tokio::time::timeout_at(deadline, notified).await.is_err();
            drop(waiting);
            if timed_out && !self.try_reserve(n) {
                return Err(Error::new(ErrorKind::QueueFull));
            } else if timed_out {
                return Ok(());
            }
        }
    }

    /// Returns `n` bytes to the budget and wakes waiting senders.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.used.fetch_sub(n, Ordering::AcqRel);
        if self.waiters.load(Ordering::Acquire) > 0 {
            self.freed.notify_waiters();
        }
    }
}

/// One task counted in [`BufferMemory::waiters`] for as long as the guard lives.
struct WaiterGuard<'a>(&'a AtomicUsize);

impl<'a> WaiterGuard<'a> {
    fn enter(waiters: &'a AtomicUsize) -> WaiterGuard<'a> {
        waiters.fetch_add(1, Ordering::AcqRel);
        WaiterGuard(waiters)
    }
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether the sender takes a partition's open batch that is ready to go (lingered out, or forced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Want {
    /// Take it.
    Yes,
    /// Not now: look again in a millisecond.
    Later,
    /// Not now, and no need to look before the sender's next event: something the sender waits for anyway (the
    /// reply to the partition's batch in flight) frees the partition.
    AfterEvent,
}

/// A batch being filled (open) or closed and waiting for the sender.
pub(crate) struct OpenBatch {
    /// Producer-wide batch number, in creation order (flush waits for every batch below a number).
    pub id: u64,
    pub builder: RecordBatchBuilder,
    pub outcome: BatchHandle,
    pub created: Instant,
    /// `buffer.memory` bytes reserved by its records; released when the batch completes.
    pub reserved: usize,
    /// Records sent with `send_forget` (their failures go to the error channel).
    pub forget: u32,
    /// Reports of records sent with `send_reported`, handed to `outcome` when the batch closes.
    pub reports: PendingReports,
}

impl std::fmt::Debug for OpenBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenBatch")
            .field("id", &self.id)
            .field("records", &self.builder.record_count())
            .field("bytes", &self.builder.uncompressed_size())
            .finish()
    }
}

#[derive(Default)]
struct PartitionQueue {
    open: Option<OpenBatch>,
    closed: VecDeque<OpenBatch>,
    /// The bytes the partition's last closed batch held (uncompressed): what its next batch's buffer starts at.
    last_batch_bytes: usize,
}

impl PartitionQueue {
    /// Takes the open batch out, remembering its size for the next one's buffer.
    fn take_open(&mut self) -> Option<OpenBatch> {
        let mut b = self.open.take()?;
        self.last_batch_bytes = b.builder.uncompressed_size();
        // Before anything can complete the batch (and before `flush` can see it done).
        b.reports.settle();
        Some(b)
    }

    /// Closes the open batch, if any: it joins the closed ones, ready to send.
    fn close_open(&mut self) {
        if let Some(b) = self.take_open() {
            self.closed.push_back(b);
        }
    }

    /// What a new batch's buffer starts at: the last batch's size rounded up to a power of two, within
    /// [`INITIAL_BATCH_CAPACITY`] and `batch_size`, and at least the first record's `reserved` bytes. A partition whose
    /// batches fill (a fast one) starts each at its full size, with no copy as it grows; one whose batches linger out
    /// with a few records (low rates, many partitions) starts small, and does not hold `batch.size` per batch.
    fn next_capacity(&self, batch_size: usize, reserved: usize) -> usize {
        let hint = self.last_batch_bytes.checked_next_power_of_two().unwrap_or(usize::MAX);
        hint.clamp(INITIAL_BATCH_CAPACITY, batch_size.max(INITIAL_BATCH_CAPACITY))
            .min(batch_size.max(reserved))
            .max(reserved)
    }
}

struct TopicQueues {
    name: Arc<str>,
    info: Arc<TopicInfo>,
    /// Partitions with a leader, for the sticky choice.
    available: Vec<i32>,
    sticky: Option<i32>,
    /// Estimated compressed size / uncompressed size of this topic's batches.
    compression_ratio: f32,
    partitions: Vec<PartitionQueue>,
}

impl TopicQueues {
    fn new(name: Arc<str>, info: Arc<TopicInfo>) -> TopicQueues {
        let mut t = TopicQueues {
            name,
            info: info.clone(),
            available: Vec::new(),
            sticky: None,
            compression_ratio: 1.0,
            partitions: Vec::new(),
        };
        t.update(info);
        t
    }

    fn update(&mut self, info: Arc<TopicInfo>) {
        let n = info.partitions.len();
        if self.partitions.len() < n {
            self.partitions.resize_with(n, PartitionQueue::default);
        }
        self.available = info.available_partitions();
        if self.sticky.is_some_and(|p| p as usize >= n) {
            self.sticky = None;
        }
        self.info = info;
    }
}

/// A fast hasher for the topic table, looked up once per record: topic names are not attacker-chosen keys here
/// (the application picks them), so SipHash's flood resistance buys nothing. Multiply-rotate over 8-byte words.
#[derive(Default, Clone, Copy)]
struct TopicHasher(u64);

impl std::hash::Hasher for TopicHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(tail) ^ (rest.len() as u64) << 59).wrapping_mul(K);
    }

    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type TopicMap<V> = HashMap<Arc<str>, V, std::hash::BuildHasherDefault<TopicHasher>>;

struct State {
    /// Index in `queues` by name (topics are never removed).
    topics: TopicMap<usize>,
    queues: Vec<TopicQueues>,
    /// The topic of the last append, as that record named it, and its index: a producer sending to one topic
    /// from one `Arc<str>` finds it without hashing the name.
    last: Option<(Arc<str>, usize)>,
    next_batch_id: u64,
    rng: u64,
}

impl State {
    fn queues_of(&mut self, topic: &str) -> Option<&mut TopicQueues> {
        let i = *self.topics.get(topic)?;
        self.queues.get_mut(i)
    }

    /// The index of `topic`'s queues, through the one-entry cache.
    fn index_of(&mut self, topic: &Arc<str>) -> Option<usize> {
        if let Some((name, i)) = &self.last {
            if Arc::ptr_eq(name, topic) || **name == **topic {
                return Some(*i);
            }
        }
        let i = *self.topics.get(&**topic)?;
        self.last = Some((topic.clone(), i));
        Some(i)
    }
}

/// xorshift64*: partition choice only, not security.
fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// How the result of an appended record is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// A [`DeliveryFuture`] (also the way to a callback).
    Future,
    /// Nowhere: failures go to the error channel (`send_forget`).
    Forget,
    /// To the producer's [`DeliveryHandler`] with this tag (`send_reported`).
    Report(u64),
}

/// What an append did, for the caller to act on.
pub(crate) struct Appended {
    /// The record's future, for [`Delivery::Future`].
    pub future: Option<DeliveryFuture>,
    /// A batch was closed or opened: the sender should look (a closed batch is ready; an open one starts a linger
    /// timer).
    pub wake_sender: bool,
}

/// The settings the accumulator needs.
#[derive(Clone, Debug)]
pub(crate) struct AccumulatorConfig {
    pub batch_size: usize,
    pub compression: Compression,
    pub compression_level: Option<i32>,
    pub linger: Duration,
    /// Batches are marked transactional (the producer has a `transactional.id`).
    pub transactional: bool,
}

/// Open and closed batches of every partition, plus the set of batches not yet completed (for `flush`).
pub(crate) struct RecordAccumulator {
    config: AccumulatorConfig,
    partitioner: Option<Arc<dyn Partitioner>>,
    /// Where [`Delivery::Report`] records report.
    handler: Option<Arc<dyn DeliveryHandler>>,
    state: Mutex<State>,
    incomplete: Mutex<BTreeSet<u64>>,
    /// The smallest incomplete batch id (`u64::MAX` when none is incomplete).
    min_incomplete: watch::Sender<u64>,
}

impl std::fmt::Debug for RecordAccumulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordAccumulator").field("config", &self.config).finish()
    }
}

/// Where a record goes: the explicit partition, else the custom partitioner's, else murmur2 of the key; `None` for
/// the sticky choice.
fn chosen_partition(partitioner: Option<&Arc<dyn Partitioner>>, r: &ProducerRecord, count: i32) -> Result<Option<i32>> {
    let p = match r.partition {
        Some(p) => Some(p),
        None => match partitioner.and_then(|c| c.partition(&r.topic, r.key.as_deref(), r.value.as_deref(), count)) {
            Some(p) => Some(p),
            None => r.key.as_ref().map(|k| key_partition(k, count)),
        },
    };
    if let Some(p) = p {
        if p < 0 || p >= count {
            return Err(Error::invalid(format!(
                "partition {p} does not exist: topic {} has {count} partitions",
                r.topic
            ))
            .with_topic(&r.topic));
        }
    }
    Ok(p)
}

impl RecordAccumulator {
    pub(crate) fn new(
        config: AccumulatorConfig,
        partitioner: Option<Arc<dyn Partitioner>>,
        handler: Option<Arc<dyn DeliveryHandler>>,
    ) -> RecordAccumulator {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            | 1;
        RecordAccumulator {
            config,
            partitioner,
            handler,
            state: Mutex::new(State {
                topics: TopicMap::default(),
                queues: Vec::new(),
                last: None,
                next_batch_id: 0,
                rng: seed,
            }),
            incomplete: Mutex::new(BTreeSet::new()),
            min_incomplete: watch::channel(u64::MAX).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the topic's metadata is cached here.
    pub(crate) fn knows(&self, topic: &str) -> bool {
        self.lock().topics.contains_key(topic)
    }

    /// Caches (or updates) a topic's metadata.
    pub(crate) fn update_topic(&self, info: Arc<TopicInfo>) {
        let mut s = self.lock();
        match s.queues_of(info.name.as_str()) {
            Some(t) => {
                if !Arc::ptr_eq(&t.info, &info) {
                    t.update(info)
                }
            }
            None => {
                let name: Arc<str> = info.name.as_str().into();
                let i = s.queues.len();
                s.queues.push(TopicQueues::new(name.clone(), info));
                s.topics.insert(name, i);
            }
        }
    }

    /// Topics cached here.
    pub(crate) fn topic_names(&self) -> Vec<Arc<str>> {
        self.lock().topics.keys().cloned().collect()
    }

    /// Folds an observed compression ratio of a built batch into the topic's estimate (as Java: quick to grow,
    /// slow to shrink). At most 1: [`RecordBatchBuilder::size_bound_after`] adds the codec's worst-case overhead to
    /// the records at that ratio, which bounds what does not compress.
    pub(crate) fn observe_compression(&self, topic: &str, observed: f32) {
        if let Some(t) = self.lock().queues_of(topic) {
            t.compression_ratio = if observed > t.compression_ratio {
                (t.compression_ratio + 0.05).max(observed)
            } else {
                (t.compression_ratio - 0.005).max(observed)
            }
            .clamp(0.05, 1.0);
        }
    }

    /// Appends `record` (whose topic must be cached) and returns its delivery future. `reserved` bytes of
    /// `buffer.memory` were reserved for it and now belong to its batch.
    pub(crate) fn append(
        &self,
        record: &ProducerRecord,
        timestamp: i64,
        reserved: usize,
        delivery: Delivery,
    ) -> Result<Appended> {
        // The handler and tag of a reported record; checked before the lock.
        let report = match delivery {
            Delivery::Report(tag) => match &self.handler {
                Some(h) => Some((h, tag)),
                None => return Err(Error::invalid("the producer has no delivery handler").with_topic(&record.topic)),
            },
            _ => None,
        };
        let mut guard = self.lock();
        let s = &mut *guard;
        let Some(topic) = s.index_of(&record.topic).and_then(|i| s.queues.get_mut(i)) else {
            return Err(Error::new(ErrorKind::WouldBlock(format!("no metadata for topic {}", record.topic))));
        };
        let count = topic.info.partition_count();
        if count <= 0 {
            return Err(Error::new(ErrorKind::WouldBlock(format!("topic {} has no partitions yet", record.topic))));
        }
        let explicit = chosen_partition(self.partitioner.as_ref(), record, count)?;
        let mut wake = false;
        // Used by gzip and zstd batches only (and their buffer's size): the others' bound needs no estimate.
        let ratio =
            if self.config.compression == Compression::None { 1.0 } else { topic.compression_ratio * RATIO_MARGIN };
        let batch_size = self.config.batch_size;
        // `reserved` bounds the record's encoded size from above (batch header included), so the bound after it
        // holds whatever its offset and timestamp deltas come to.
        let record_bound = reserved.saturating_sub(RECORD_BATCH_OVERHEAD);
        // May compress an lz4 or snappy batch's staged records early to make room (`room_for`).
        let fits = |b: &mut OpenBatch| b.builder.is_empty() || b.builder.room_for(record_bound, batch_size, ratio);
        let partition = match explicit {
            Some(p) => {
                let q = &mut topic.partitions[p as usize];
                if q.open.as_mut().is_some_and(|b| !fits(b)) {
                    q.close_open();
                    wake = true;
                }
                p
            }
            None => {
                let mut p = match topic.sticky {
                    Some(p) => p,
                    None => {
                        let p = pick_sticky(&topic.available, count, None, next_random(&mut s.rng));
                        topic.sticky = Some(p);
                        p
                    }
                };
                let q = &mut topic.partitions[p as usize];
                if q.open.as_mut().is_some_and(|b| !fits(b)) {
                    // The sticky partition's batch is full: close it and move on (KIP-480).
                    q.close_open();
                    wake = true;
                    p = pick_sticky(&topic.available, count, Some(p), next_random(&mut s.rng));
                    topic.sticky = Some(p);
                    let q = &mut topic.partitions[p as usize];
                    if q.open.as_mut().is_some_and(|b| !fits(b)) {
                        q.close_open();
                    }
                }
                p
            }
        };
        let q = &mut topic.partitions[partition as usize];
        if q.open.is_none() {
            let id = s.next_batch_id;
            s.next_batch_id += 1;
            // Not batch.size at once: a batch that lingers out with a few records (low rates, many partitions) would
            // hold all of it until acknowledged. It starts at what the partition's last batch needed and doubles
            // when records outgrow it (below).
            let capacity = q.next_capacity(batch_size, reserved);
            let builder = RecordBatchBuilder::with_capacity(self.config.compression, capacity)
                .with_compression_level(self.config.compression_level)
                .with_transactional(self.config.transactional);
            q.open = Some(OpenBatch {
                id,
                builder,
                outcome: BatchHandle::new(record.topic.clone(), partition),
                created: Instant::now(),
                reserved: 0,
                forget: 0,
                reports: PendingReports::default(),
            });
            self.track(id);
            wake = true;
        }
        let Some(b) = q.open.as_mut() else {
            return Err(Error::invalid("internal: no open batch"));
        };
        let delta = b.builder.record_count();
        let needed = b.builder.uncompressed_size() + record_bound;
        if needed > b.builder.capacity() {
            // Doubled, up to room for batch.size of output: a record that passed `fits` then fits, but for gzip and
            // zstd (whose buffer holds the records, sized by the ratio estimate, which is only an estimate): their
            // buffer may outgrow it, and then grows on its own.
            let full = batch_capacity(b.builder.compresses_as_it_goes(), batch_size, ratio, reserved);
            let grown = b.builder.capacity().saturating_mul(2).max(needed).min(full);
            if b.builder.capacity() < grown {
                b.builder.reserve_total(grown);
            }
        }
        if let Err(e) = b.builder.append(timestamp, record.key.as_deref(), record.value.as_deref(), &record.headers) {
            if b.builder.is_empty() {
                // Never leave an empty batch behind.
                if let Some(b) = q.open.take() {
                    drop(guard);
                    self.untrack(b.id);
                }
            }
            return Err(Error::from(e).with_partition(&record.topic, partition));
        }
        b.reserved += reserved;
        let future = if let Some((h, tag)) = report {
            b.reports.push(h, &b.outcome, delta, timestamp, tag);
            None
        } else if matches!(delivery, Delivery::Future) {
            Some(DeliveryFuture::new(b.outcome.share(), delta, timestamp))
        } else {
            b.forget += 1;
            None
        };
        // A batch at or past batch.size takes no more records: close it now so the sender sends it. Only a first
        // record can take it past (`fits` kept any other within batch.size), and a batch that a later record
        // brought to batch.size exactly closes when the next record finds no room.
        if delta == 0 && b.builder.size_bound_after(0, ratio) >= batch_size {
            q.close_open();
            wake = true;
            if explicit.is_none() {
                let next = pick_sticky(&topic.available, count, Some(partition), next_random(&mut s.rng));
                topic.sticky = Some(next);
            }
        }
        Ok(Appended { future, wake_sender: wake })
    }

    /// Closes every open batch (flush): they become ready at once. Returns the id below which every batch must
    /// complete for the flush to be done.
    pub(crate) fn close_all(&self) -> u64 {
        let mut s = self.lock();
        for t in &mut s.queues {
            for q in &mut t.partitions {
                q.close_open();
            }
        }
        s.next_batch_id
    }

    /// Moves ready batches out: every closed batch, and open batches that lingered (or all open batches when
    /// `force`) whose partition `wants` them. Returns when to look again: the earliest time an open batch left behind
    /// will linger out, or in a millisecond for a lingered one its partition wants [`Later`](Want::Later).
    pub(crate) fn drain_ready(
        &self,
        now: Instant,
        force: bool,
        mut wants: impl FnMut(&str, i32) -> Want,
        out: &mut Vec<OpenBatch>,
    ) -> Option<Instant> {
        let mut s = self.lock();
        let mut next: Option<Instant> = None;
        for t in &mut s.queues {
            let name = &*t.name;
            for (p, q) in t.partitions.iter_mut().enumerate() {
                out.extend(q.closed.drain(..));
                if let Some(b) = &q.open {
                    let due = b.created + self.config.linger;
                    let want = if force || due <= now { wants(name, p as i32) } else { Want::Later };
                    match want {
                        Want::Yes => out.extend(q.take_open()),
                        Want::Later => {
                            let due = if due <= now { now + Duration::from_millis(1) } else { due };
                            next = Some(next.map_or(due, |n| n.min(due)));
                        }
                        Want::AfterEvent => {}
                    }
                }
            }
        }
        next
    }

    /// Whether any batch is waiting here (open or closed).
    pub(crate) fn has_batches(&self) -> bool {
        self.lock().queues.iter().any(|t| t.partitions.iter().any(|q| q.open.is_some() || !q.closed.is_empty()))
    }

    fn track(&self, id: u64) {
        let mut set = self.incomplete.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(id);
        let min = set.first().copied().unwrap_or(u64::MAX);
        self.min_incomplete.send_if_modified(|m| std::mem::replace(m, min) != min);
    }

    /// Marks batch `id` complete (for flush).
    pub(crate) fn untrack(&self, id: u64) {
        let mut set = self.incomplete.lock().unwrap_or_else(|p| p.into_inner());
        set.remove(&id);
        let min = set.first().copied().unwrap_or(u64::MAX);
        self.min_incomplete.send_if_modified(|m| std::mem::replace(m, min) != min);
    }

    /// Waits until every batch with an id below `target` is complete.
    pub(crate) async fn wait_complete_below(&self, target: u64) {
        let mut rx = self.min_incomplete.subscribe();
        let _ = rx.wait_for(|m| *m >= target).await;
    }

    /// Batches not yet completed.
    pub(crate) fn incomplete_batches(&self) -> usize {
        self.incomplete.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// A partition for keyless records: a random one with a leader (any partition when none has one), other than
/// `avoid` when there is a choice.
fn pick_sticky(available: &[i32], count: i32, avoid: Option<i32>, random: u64) -> i32 {
    if !available.is_empty() {
        let skip = avoid.filter(|a| available.contains(a));
        let n = available.len() - usize::from(skip.is_some());
        if n == 0 {
            return available[0];
        }
        let mut i = (random % n as u64) as usize;
        for &p in available {
            if Some(p) == skip {
                continue;
            }
            if i == 0 {
                return p;
            }
            i -= 1;
        }
        return available[0];
    }
    let count = count.max(1);
    match avoid {
        Some(a) if count > 1 && (0..count).contains(&a) => {
            let r = (random % (count as u64 - 1)) as i32;
            if r >= a { r + 1 } else { r }
        }
        _ => (random % count as u64) as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PartitionInfo;
    use kafkar_protocol::ErrorCode;
    use kafkar_protocol::primitives::Uuid;

    fn info(name: &str, partitions: i32) -> Arc<TopicInfo> {
        Arc::new(TopicInfo {
            name: name.into(),
            id: Uuid::ZERO,
            is_internal: false,
            partitions: (0..partitions)
                .map(|p| PartitionInfo {
                    partition: p,
                    leader: 1,
                    leader_epoch: 0,
                    replicas: vec![1],
                    isr: vec![1],
                    error: ErrorCode::NONE,
                })
                .collect(),
        })
    }

    fn acc(batch_size: usize, linger_ms: u64) -> RecordAccumulator {
        let a = RecordAccumulator::new(
            AccumulatorConfig {
                batch_size,
                compression: Compression::None,
                compression_level: None,
                linger: Duration::from_millis(linger_ms),
                transactional: false,
            },
            None,
            None,
        );
        a.update_topic(info("t", 4));
        a
    }

    fn rec(key: Option<&'static [u8]>, value_len: usize) -> ProducerRecord {
        let mut r = ProducerRecord::new("t").value(vec![7u8; value_len]);
        if let Some(k) = key {
            r = r.key(k);
        }
        r
    }

    /// Appends with the reservation `send` would make.
    fn put(a: &RecordAccumulator, r: ProducerRecord) -> Result<Appended> {
        let bound = record_size_upper_bound(&r);
        a.append(&r, 1, bound, Delivery::Future)
    }

    fn drain_all(a: &RecordAccumulator, force: bool) -> Vec<OpenBatch> {
        let mut out = Vec::new();
        a.drain_ready(Instant::now(), force, |_, _| Want::Yes, &mut out);
        out
    }

    #[tokio::test]
    async fn records_of_interleaved_topics_land_in_their_own_topics() {
        let a = acc(1 << 20, 60_000);
        a.update_topic(info("u", 2));
        let (t, u): (Arc<str>, Arc<str>) = ("t".into(), "u".into());
        // The same Arcs, fresh Arcs of the same names, and a topic the accumulator does not know, interleaved.
        for i in 0..30 {
            let topic = match i % 3 {
                0 => t.clone(),
                1 => u.clone(),
                _ => Arc::from(if i % 2 == 0 { "t" } else { "u" }),
            };
            put(&a, ProducerRecord::new(topic).value(vec![1u8; 10]).partition(1)).unwrap();
            let e = put(&a, ProducerRecord::new("v").value("x")).err().unwrap();
            assert!(matches!(e.kind(), ErrorKind::WouldBlock(_)), "{e}");
        }
        let mut counts: Vec<(String, i32, i32)> = drain_all(&a, true)
            .iter()
            .map(|b| (b.outcome.topic().to_string(), b.outcome.partition(), b.builder.record_count()))
            .collect();
        counts.sort();
        assert_eq!(counts, [("t".to_string(), 1, 15), ("u".to_string(), 1, 15)]);
    }

    #[tokio::test]
    async fn a_batch_closes_when_the_next_record_would_not_fit() {
        let a = acc(1000, 60_000);
        let mut futs = Vec::new();
        for _ in 0..20 {
            futs.push(put(&a, rec(Some(b"k"), 100).partition(1)).unwrap().future.unwrap());
        }
        // 61-byte header plus ~110 bytes per record: 8 records fit in 1000 bytes.
        let ready = drain_all(&a, false);
        assert_eq!(ready.len(), 2, "two full batches closed, the third still open");
        for b in &ready {
            assert!(b.builder.uncompressed_size() <= 1000);
            assert_eq!(b.builder.record_count(), 8);
            assert_eq!(b.reserved, 8 * record_size_upper_bound(&rec(Some(b"k"), 100)));
        }
        assert!(ready[0].id < ready[1].id);
        let rest = drain_all(&a, true);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].builder.record_count(), 4);
        assert!(futs.iter().all(|f| f.partition() == 1));
    }

    #[tokio::test]
    async fn batch_buffers_start_at_what_the_partitions_last_batch_needed_and_double_up_to_batch_size() {
        let batch_size = 1_000_000; // not a power of two: doubling from the start size would overshoot it
        let a = acc(batch_size, 60_000);
        put(&a, rec(None, 100).partition(0)).unwrap();
        let open = drain_all(&a, true);
        assert!(open[0].builder.capacity() <= INITIAL_BATCH_CAPACITY, "{}", open[0].builder.capacity());
        // The first batch of a fast partition starts small and doubles; it never holds more than batch.size.
        put(&a, rec(None, 100).partition(1)).unwrap();
        let mut capacities = vec![];
        for _ in 0..20_000 {
            put(&a, rec(None, 100).partition(1)).unwrap();
            let s = a.lock();
            if let Some(b) = &s.queues[s.topics["t"]].partitions[1].open {
                if capacities.last() != Some(&b.builder.capacity()) {
                    capacities.push(b.builder.capacity());
                }
            }
        }
        assert_eq!(capacities.first(), Some(&INITIAL_BATCH_CAPACITY), "{capacities:?}");
        assert!(capacities.windows(2).all(|w| w[1] == batch_size || w[1] == 2 * w[0]), "{capacities:?}");
        let full = drain_all(&a, false);
        assert!(full.len() >= 2, "{}", full.len());
        for b in &full {
            assert!(b.builder.uncompressed_size() > batch_size - 200);
            assert_eq!(b.builder.capacity(), batch_size, "batch.size exactly, not the doubling past it");
        }
        // Batches after a full one start at batch.size: no copy as they fill.
        assert_eq!(full[1].builder.capacity(), batch_size);
        assert_eq!(capacities.iter().filter(|&&c| c == batch_size).count(), 1, "{capacities:?}");
        // Once a batch of that partition lingers out with a few records, the next starts small again.
        let rest = drain_all(&a, true);
        assert_eq!(rest.len(), 1);
        put(&a, rec(None, 100).partition(1)).unwrap();
        let small = drain_all(&a, true);
        put(&a, rec(None, 100).partition(1)).unwrap();
        let after_small = drain_all(&a, true);
        assert_eq!(small[0].builder.record_count(), 1);
        assert_eq!(after_small[0].builder.capacity(), INITIAL_BATCH_CAPACITY);
    }

    #[tokio::test]
    async fn a_block_compressed_batch_grows_to_batch_size_of_output_and_no_further() {
        let batch_size = 1_000_000;
        let a = RecordAccumulator::new(
            AccumulatorConfig {
                batch_size,
                compression: Compression::Lz4,
                compression_level: None,
                linger: Duration::from_secs(60),
                transactional: false,
            },
            None,
            None,
        );
        a.update_topic(info("t", 1));
        // Incompressible values, so that the output grows as fast as the records.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..12_000 {
            put(&a, ProducerRecord::new("t").value(noise(100, &mut x)).partition(0)).unwrap();
        }
        let closed = drain_all(&a, false);
        assert!(!closed.is_empty());
        let cap = closed[0].builder.capacity();
        assert!(closed[0].builder.compresses_as_it_goes());
        // batch.size plus a block's working room, not what doubling past it would come to (1,154,896 bytes here).
        assert!((batch_size..batch_size + (64 << 10)).contains(&cap), "capacity {cap}: grown by doubling?");
    }

    /// `len` incompressible bytes (xorshift), continuing from `x`.
    fn noise(len: usize, x: &mut u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                *x as u8
            })
            .collect()
    }

    /// With batch.size 1 MiB, a broker's default limit (`message.max.bytes` is 1 MiB + 12 bytes), no batch of
    /// incompressible records may come out over it, whatever the codec, or the broker refuses it and the sender
    /// splits it. lz4 used to: its stored blocks cost 4 bytes each, plus the frame's 11, over the records.
    #[tokio::test]
    async fn no_batch_of_incompressible_records_is_built_over_batch_size() {
        const BATCH_SIZE: usize = 1 << 20;
        const BROKER_LIMIT: usize = BATCH_SIZE + 12;
        for codec in Compression::ALL.into_iter().filter(|c| c.can_compress()) {
            let a = RecordAccumulator::new(
                AccumulatorConfig {
                    batch_size: BATCH_SIZE,
                    compression: codec,
                    compression_level: None,
                    linger: Duration::from_secs(60),
                    transactional: false,
                },
                None,
                None,
            );
            a.update_topic(info("t", 1));
            // Built as the sender builds them, which also teaches the accumulator the compression ratio.
            let mut built = Vec::new();
            let mut build = |batches: Vec<OpenBatch>| {
                for b in batches {
                    let uncompressed = b.builder.uncompressed_size();
                    let batch = b.builder.build().unwrap();
                    a.observe_compression("t", batch.len() as f32 / uncompressed as f32);
                    built.push(batch.len());
                }
            };
            // 100-byte random values, 3.3 MiB of them.
            let mut x = 0x2545_f491_4f6c_dd1du64;
            for i in 0..30_000 {
                put(&a, ProducerRecord::new("t").value(noise(100, &mut x)).partition(0)).unwrap();
                if i % 2_000 == 1_999 {
                    build(drain_all(&a, false));
                }
            }
            build(drain_all(&a, true));
            assert!(built.len() >= 4, "{codec}: {built:?}");
            for &len in &built {
                assert!(len <= BROKER_LIMIT, "{codec}: a batch of {len} bytes, over the broker's limit: {built:?}");
                assert!(len <= BATCH_SIZE, "{codec}: a batch of {len} bytes, over batch.size: {built:?}");
            }
            // Not by closing batches early: lz4, snappy and none within a record of batch.size; gzip and zstd
            // (counted at their worst case) within a few percent.
            for &len in &built[..built.len() - 1] {
                assert!(len > BATCH_SIZE * 9 / 10, "{codec}: a full batch of only {len} bytes: {built:?}");
            }
        }
    }

    #[tokio::test]
    async fn a_record_larger_than_batch_size_gets_its_own_batch() {
        let a = acc(200, 60_000);
        put(&a, rec(None, 10).partition(0)).unwrap();
        put(&a, rec(None, 1000).partition(0)).unwrap();
        put(&a, rec(None, 10).partition(0)).unwrap();
        let ready = drain_all(&a, true);
        let counts: Vec<i32> = ready.iter().map(|b| b.builder.record_count()).collect();
        assert_eq!(counts, vec![1, 1, 1]);
        assert!(ready[1].builder.uncompressed_size() > 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn open_batches_linger_then_become_ready() {
        let a = acc(16384, 50);
        put(&a, rec(Some(b"x"), 10)).unwrap();
        let mut out = Vec::new();
        let next = a.drain_ready(Instant::now(), false, |_, _| Want::Yes, &mut out);
        assert!(out.is_empty());
        let due = next.unwrap();
        assert!(due > Instant::now() && due <= Instant::now() + Duration::from_millis(50));
        tokio::time::advance(Duration::from_millis(51)).await;
        // Not taken while the partition does not want more (its previous batches are still waiting): looked at again
        // shortly, or only at the sender's next event.
        assert!(a.drain_ready(Instant::now(), false, |_, _| Want::Later, &mut out).is_some());
        assert!(out.is_empty());
        assert!(a.drain_ready(Instant::now(), false, |_, _| Want::AfterEvent, &mut out).is_none());
        assert!(out.is_empty());
        assert!(a.drain_ready(Instant::now(), false, |_, _| Want::Yes, &mut out).is_none());
        assert_eq!(out.len(), 1);
    }

    #[tokio::test]
    async fn keyless_records_stick_until_the_batch_fills() {
        let a = acc(1000, 60_000);
        let mut parts = Vec::new();
        for _ in 0..40 {
            parts.push(put(&a, rec(None, 100)).unwrap().future.unwrap().partition());
        }
        // Runs of the same partition, switching each time a batch fills.
        let mut runs = vec![(parts[0], 1)];
        for p in &parts[1..] {
            match runs.last_mut() {
                Some((q, n)) if q == p => *n += 1,
                _ => runs.push((*p, 1)),
            }
        }
        assert!(runs.len() >= 4, "{runs:?}");
        for w in runs.windows(2) {
            assert_ne!(w[0].0, w[1].0);
        }
        assert!(runs[..runs.len() - 1].iter().all(|(_, n)| *n == 8), "{runs:?}");
    }

    #[tokio::test]
    async fn keyed_records_follow_murmur2_and_bad_partitions_fail() {
        let a = acc(16384, 5);
        let f = put(&a, rec(Some(b"key-a"), 1)).unwrap().future.unwrap();
        assert_eq!(f.partition(), key_partition(b"key-a", 4));
        let e = put(&a, rec(None, 1).partition(4)).err().unwrap();
        assert!(matches!(e.kind(), ErrorKind::InvalidArgument(_)), "{e}");
        let e = a.append(&ProducerRecord::new("unknown"), 1, 10, Delivery::Future).err().unwrap();
        assert!(matches!(e.kind(), ErrorKind::WouldBlock(_)), "{e}");
    }

    #[tokio::test]
    async fn flush_target_and_completion_tracking() {
        let a = acc(16384, 60_000);
        put(&a, rec(None, 1).partition(0)).unwrap();
        put(&a, rec(None, 1).partition(1)).unwrap();
        let target = a.close_all();
        assert_eq!(target, 2);
        assert_eq!(a.incomplete_batches(), 2);
        let ready = drain_all(&a, false);
        assert_eq!(ready.len(), 2);
        put(&a, rec(None, 1).partition(2)).unwrap(); // after the flush: not waited for
        let waiter = a.wait_complete_below(target);
        tokio::pin!(waiter);
        assert!(futures_poll_once(waiter.as_mut()).await.is_none());
        a.untrack(ready[0].id);
        assert!(futures_poll_once(waiter.as_mut()).await.is_none());
        a.untrack(ready[1].id);
        tokio::time::timeout(Duration::from_secs(1), waiter).await.unwrap();
        assert_eq!(a.incomplete_batches(), 1);
    }

    async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
        tokio::time::timeout(Duration::from_millis(10), f).await.ok()
    }

    #[tokio::test]
    async fn buffer_memory_waits_then_fails_and_release_wakes() {
        let m = Arc::new(BufferMemory::new(1000));
        assert!(m.try_reserve(600));
        assert!(!m.try_reserve(600));
        let t = std::time::Instant::now();
        let e = m.reserve(600, Instant::now() + Duration::from_millis(50), || {}).await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::QueueFull));
        assert!(t.elapsed() >= Duration::from_millis(45));
        let m2 = m.clone();
        let waiter = tokio::spawn(async move { m2.reserve(600, Instant::now() + Duration::from_secs(5), || {}).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(m.waiters(), 1);
        m.release(600);
        waiter.await.unwrap().unwrap();
        assert_eq!(m.used(), 600);
        m.release(600);
        assert_eq!(m.used(), 0);
    }

    #[tokio::test]
    async fn a_dropped_reserve_does_not_leak_its_waiter_count() {
        let m = Arc::new(BufferMemory::new(1000));
        assert!(m.try_reserve(1000));
        // Dropped by the timeout while waiting (as a `send` in `select!` or under `tokio::time::timeout`).
        let r = tokio::time::timeout(
            Duration::from_millis(20),
            m.reserve(10, Instant::now() + Duration::from_secs(60), || {}),
        )
        .await;
        assert!(r.is_err(), "still waiting when dropped");
        assert_eq!(m.waiters(), 0);
        // Dropped after the first poll, by hand.
        let mut fut = Box::pin(m.reserve(10, Instant::now() + Duration::from_secs(60), || {}));
        assert!(futures_poll_once(fut.as_mut()).await.is_none());
        assert_eq!(m.waiters(), 1);
        drop(fut);
        assert_eq!(m.waiters(), 0);
        m.release(1000);
        assert_eq!(m.used(), 0);
    }

    #[test]
    fn sticky_pick_avoids_the_full_partition() {
        for r in 0..100u64 {
            let p = pick_sticky(&[0, 1, 2, 3], 4, Some(2), r);
            assert!(p != 2 && (0..4).contains(&p));
            let p = pick_sticky(&[], 4, Some(1), r);
            assert!(p != 1 && (0..4).contains(&p));
            // The only partition with a leader is kept even though its batch filled.
            assert_eq!(pick_sticky(&[3], 4, Some(3), r), 3);
            assert_eq!(pick_sticky(&[3], 4, Some(1), r), 3);
        }
    }
}
