//! The sender task: takes ready batches from the accumulator, seals them (compression and CRC happen here, off
//! the `send` path), assigns sequences, groups them per partition leader into Produce requests and handles the
//! replies: completion, retries in order, metadata refreshes, epoch bumps and delivery timeouts.
//!
//! Per partition the sender keeps the batches not yet sent (`queued`, still open builders), the batches waiting to
//! be sent again (`retry`, in creation order) and how many are in flight. After any failure a partition is
//! "recovering": nothing more is sent for it until all its in-flight batches have come back, then its retries go
//! first, in order. With idempotence this is what keeps sequence numbers contiguous: a retried batch always carries
//! the sequence it had, and a batch behind it never overtakes it.
//!
//! The sender owns every batch from drain to completion. A Produce reply comes back over the sender's event channel
//! straight from the connection's reader task (no task per request); spawned tasks only wait for dials,
//! InitProducerId and metadata and report back over the same channel, so no lock is held across a network wait.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use kafkar_protocol::messages::init_producer_id::InitProducerIdRequest;
use kafkar_protocol::messages::produce::{ProduceRequest, TOPIC_ID_VERSION};
use kafkar_protocol::messages::splice::SPLICE_MIN;
use kafkar_protocol::primitives::Uuid;
use kafkar_protocol::records::EncodedBatch;
use kafkar_protocol::{ApiKey, ErrorCode};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{Instrument, debug, debug_span, trace, warn};

use super::Shared;
use super::accumulator::{OpenBatch, Want};
use super::config::Acks;
use super::idempotence::{IdempotenceState, ProducerIdAndEpoch, SequenceVerdict, TopicPartition};
use super::metrics::Counters;
use super::record::{BatchHandle, BatchOutcome, Delivered, SendFailure};
use super::transaction::{self, AddOutcome, TransactionState};
use crate::cluster::MetadataSnapshot;
use crate::error::{Error, ErrorKind, Result};
use crate::net::Connection;

/// The broker keeps the metadata of the last 5 batches per producer and partition for deduplication: never more
/// than this many batches of one partition in flight with idempotence.
const MAX_IN_FLIGHT_PER_PARTITION: usize = 5;

/// What the head of a Produce frame will take, or a little more: allocated at that size at once (a head grown by
/// doubling would copy what it holds and leave up to half its allocation unused until written). `topics` are the
/// lengths of the topic names, `partitions` the batches, `batch_bytes` the total size of the batches copied into the
/// head (those under [`SPLICE_MIN`]; larger ones are written from their own buffers).
fn produce_frame_size_hint(
    client_id: &str,
    transactional_id_len: usize,
    topics: impl Iterator<Item = usize>,
    partitions: usize,
    batch_bytes: usize,
) -> usize {
    batch_bytes
        + FRAME_HEADROOM
        + client_id.len()
        + transactional_id_len
        + topics.map(|name| name + PER_TOPIC_HEADROOM).sum::<usize>()
        + partitions * PER_PARTITION_HEADROOM
}

/// Bytes of a Produce frame besides its batches and names: size prefix, request header, acks, timeout, array
/// lengths and tagged fields (a generous bound: a frame hint that is short by a byte doubles the allocation).
const FRAME_HEADROOM: usize = 64;
/// Bytes per topic of a Produce request besides its name: a topic id, the partition array's length, tags.
const PER_TOPIC_HEADROOM: usize = 32;
/// Bytes per partition of a Produce request besides its batch: index, the batch's length prefix, tags.
const PER_PARTITION_HEADROOM: usize = 16;

/// Starts the sender task of `shared`.
pub(crate) fn spawn(shared: Arc<Shared>) {
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let snapshot = shared.cluster.snapshot();
    let sender = Sender {
        idempotence: shared.idempotent.then(IdempotenceState::new),
        acks: shared.config.acks,
        delivery_timeout: shared.config.effective_delivery_timeout(),
        retry_backoff: shared.config.client.retry_backoff,
        shared,
        topics: HashMap::new(),
        nodes: HashMap::new(),
        requests: HashMap::new(),
        next_request: 0,
        events_tx,
        events_rx,
        snapshot,
        metadata: MetadataRefresh::default(),
        init_retry_at: None,
        scratch: Vec::new(),
        adds: AddsState::default(),
    };
    let watched = sender.shared.clone();
    let task = tokio::spawn(sender.run().instrument(debug_span!("producer_sender")));
    tokio::spawn(async move {
        if let Err(e) = task.await {
            // The sender's batches failed as they were dropped (see BatchHandle); fail what the accumulator holds
            // and every later send.
            tracing::error!(error = %e, "producer sender task died");
            watched.set_fatal(Error::new(ErrorKind::Closed).with_message(Some(format!("producer sender died: {e}"))));
            watched.closed.store(true, Ordering::Release);
            watched.accumulator.close_all();
            let mut dropped = Vec::new();
            watched.accumulator.drain_ready(Instant::now(), true, |_, _| Want::Yes, &mut dropped);
            for b in dropped {
                watched.memory.release(b.reserved);
                watched.accumulator.untrack(b.id);
            }
            watched.stopped.send_replace(true);
        }
    });
}

/// A sealed batch on its way: sent, in flight, or waiting for a retry.
struct SentBatch {
    id: u64,
    tp: TopicPartition,
    batch: EncodedBatch,
    outcome: BatchHandle,
    records: i32,
    created: Instant,
    reserved: usize,
    forget: u32,
    /// Times sent.
    attempts: u32,
    producer: ProducerIdAndEpoch,
    base_sequence: i32,
    retry_at: Instant,
    last_error: Option<Error>,
    /// For a piece of a batch split after MESSAGE_TOO_LARGE: the split it belongs to and the index of its first
    /// record in the original batch.
    split: Option<(Arc<std::sync::Mutex<Split>>, i32)>,
}

impl SentBatch {
    /// Creation order, pieces of a split batch in record order: the order batches of a partition must be written.
    fn order(&self) -> (u64, i32) {
        (self.id, self.split.as_ref().map_or(0, |s| s.1))
    }
}

/// A batch the broker refused as too large, being sent again in pieces. The original outcome, memory and flush
/// tracking are completed once: when every piece is written, or when the first piece fails.
struct Split {
    id: u64,
    outcome: BatchHandle,
    reserved: usize,
    records: i32,
    forget: u32,
    /// Pieces not done yet.
    left: usize,
    /// (first record index, base offset) of the pieces written.
    written: Vec<(i32, i64)>,
    log_append_time: i64,
    done: bool,
}

#[derive(Default)]
struct PartitionState {
    /// Closed batches not yet sealed or sent, in creation order.
    queued: VecDeque<OpenBatch>,
    /// Sealed batches waiting to be sent again, in creation (and so sequence) order.
    retry: VecDeque<SentBatch>,
    /// Batches of this partition in outstanding requests.
    in_flight: usize,
    /// A batch failed: send nothing until `in_flight` is 0, then the retries first.
    recovering: bool,
}

impl PartitionState {
    fn has_work(&self) -> bool {
        !self.queued.is_empty() || !self.retry.is_empty()
    }
}

#[derive(Default)]
struct NodeState {
    conn: Option<Connection>,
    connecting: bool,
    in_flight: usize,
    /// Where the next request starts among the node's partitions, so that a request that fills up before the
    /// last partition does not starve it (as Java's drain index).
    drain_start: usize,
}

struct InFlightRequest {
    node: i32,
    /// The connection it went out on: decodes its reply (and honours the reply's throttle time).
    conn: Connection,
    version: i16,
    batches: Vec<SentBatch>,
    /// Topic ids of the request (v13+ replies name topics by id).
    ids: Vec<(Uuid, Arc<str>)>,
    sent_at: Instant,
}

/// TV1: the AddPartitionsToTxn the sender runs.
#[derive(Default)]
struct AddsState {
    in_flight: bool,
    retry_at: Option<Instant>,
}

enum Event {
    /// AddPartitionsToTxn answered, per partition.
    PartitionsAdded(Vec<(TopicPartition, Result<()>)>),
    /// A Produce request's outcome, straight from the connection's reader (or writer, with acks=0): the reply
    /// body, an empty body once written with acks=0, or the error that failed the request. Decoded by the sender.
    Produced {
        request: u64,
        outcome: Result<Bytes>,
    },
    Connected {
        node: i32,
        result: Result<Connection>,
    },
    ProducerId(Result<ProducerIdAndEpoch>),
    Metadata,
}

#[derive(Default)]
struct MetadataRefresh {
    running: bool,
    wanted: bool,
    last: Option<Instant>,
}

/// What the broker said about one batch.
enum Answer {
    Ok(Delivered),
    Failed(Error),
}

/// Errors after which the partition's leader (or the topic) may have moved: metadata is refreshed.
fn invalidates_metadata(e: &Error) -> bool {
    match e.code() {
        Some(c) => [
            ErrorCode::NOT_LEADER_OR_FOLLOWER,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode::LEADER_NOT_AVAILABLE,
            ErrorCode::KAFKA_STORAGE_ERROR,
            ErrorCode::NETWORK_EXCEPTION,
            ErrorCode::FENCED_LEADER_EPOCH,
            ErrorCode::UNKNOWN_LEADER_EPOCH,
            ErrorCode::UNKNOWN_TOPIC_ID,
            ErrorCode::NOT_ENOUGH_REPLICAS,
        ]
        .contains(&c),
        None => matches!(e.kind(), ErrorKind::Io(_) | ErrorKind::Disconnected(_) | ErrorKind::Timeout),
    }
}

/// Whether a batch may be sent again after `e`: the broker's retriable errors, lost connections and timeouts,
/// and replies that could not be read (the write may have happened; with idempotence a resend is deduplicated).
fn retriable(e: &Error) -> bool {
    e.is_retriable() || matches!(e.kind(), ErrorKind::Decode(_) | ErrorKind::Protocol(_))
}

struct Sender {
    shared: Arc<Shared>,
    idempotence: Option<IdempotenceState>,
    acks: Acks,
    delivery_timeout: Duration,
    retry_backoff: Duration,
    topics: HashMap<Arc<str>, Vec<PartitionState>>,
    nodes: HashMap<i32, NodeState>,
    requests: HashMap<u64, InFlightRequest>,
    next_request: u64,
    events_tx: mpsc::UnboundedSender<Event>,
    events_rx: mpsc::UnboundedReceiver<Event>,
    snapshot: Arc<MetadataSnapshot>,
    metadata: MetadataRefresh,
    init_retry_at: Option<Instant>,
    scratch: Vec<OpenBatch>,
    adds: AddsState,
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl Sender {
    async fn run(mut self) {
        loop {
            if self.shared.abort.load(Ordering::Acquire) {
                self.fail_everything(Error::new(ErrorKind::Closed));
                break;
            }
            if let Some(e) = self.shared.fatal() {
                self.fail_everything(e);
            }
            let now = Instant::now();
            self.sync_metadata();
            let mut deadline = self.pull_ready(now);
            deadline = earliest(deadline, self.expire(now));
            deadline = earliest(deadline, self.maybe_init_producer_id(now));
            self.sync_transaction();
            deadline = earliest(deadline, self.send_ready(now).await);
            deadline = earliest(deadline, self.maybe_add_partitions(now));
            deadline = earliest(deadline, self.maybe_refresh_metadata(now));
            if self.shared.shutdown.load(Ordering::Acquire) && self.idle() {
                break;
            }
            tokio::select! {
                ev = self.events_rx.recv() => {
                    if let Some(ev) = ev {
                        self.handle(ev);
                    }
                    while let Ok(ev) = self.events_rx.try_recv() {
                        self.handle(ev);
                    }
                }
                _ = self.shared.wake.notified() => {}
                _ = sleep_until_opt(deadline) => {}
            }
        }
        debug!("producer sender stopped");
        self.shared.stopped.send_replace(true);
    }

    fn idle(&self) -> bool {
        self.requests.is_empty()
            && self.topics.values().all(|ps| ps.iter().all(|p| !p.has_work()))
            && !self.shared.accumulator.has_batches()
    }

    fn partition_mut(&mut self, tp: &TopicPartition) -> &mut PartitionState {
        let ps = self.topics.entry(tp.0.clone()).or_default();
        let i = tp.1.max(0) as usize;
        if ps.len() <= i {
            ps.resize_with(i + 1, PartitionState::default);
        }
        &mut ps[i]
    }

    /// Takes a newer metadata snapshot, if the cluster has one, into the accumulator's topic cache.
    fn sync_metadata(&mut self) {
        let snap = self.shared.cluster.snapshot();
        if Arc::ptr_eq(&snap, &self.snapshot) {
            return;
        }
        for name in self.shared.accumulator.topic_names() {
            if let Some(t) = snap.topic(&name) {
                self.shared.accumulator.update_topic(t.clone());
            }
        }
        self.snapshot = snap;
    }

    /// Moves ready batches from the accumulator into the partitions' queues. Full (closed) batches are always taken.
    /// An open batch that lingered out is only taken when its partition has nothing queued and nothing in flight:
    /// while the partition waits (for a connection, an in-flight slot or the reply to its last batch) the open batch
    /// keeps filling, and goes as one request when the partition is free.
    ///
    /// Waiting for the reply costs nothing on the broker's side: a broker handles the requests of one connection
    /// one at a time, in order, so a second small batch of the partition sent at once would only wait in the
    /// broker's queue, and cost it a request of its own. With linger.ms 0 at a steady rate this turns a stream of
    /// one-record requests, each queued behind the others, into one request per round trip carrying what arrived
    /// meanwhile (benches/RESULTS.md, 2026-12-07). Full batches still go up to 5 per partition in flight, so
    /// throughput is not bound by the round trip.
    fn pull_ready(&mut self, now: Instant) -> Option<Instant> {
        let force = self.shared.memory.waiters() > 0 || self.shared.closed.load(Ordering::Acquire);
        let mut out = std::mem::take(&mut self.scratch);
        let topics = &self.topics;
        let next = self.shared.accumulator.drain_ready(
            now,
            force,
            |t, p| match topics.get(t).and_then(|ps| ps.get(p as usize)) {
                None => Want::Yes,
                Some(ps) if !ps.queued.is_empty() => Want::Later,
                // Every request in flight ends in an event (its reply or its failure), which frees the partition.
                Some(ps) if ps.in_flight > 0 => Want::AfterEvent,
                Some(_) => Want::Yes,
            },
            &mut out,
        );
        for b in out.drain(..) {
            let tp = (b.outcome.topic().clone(), b.outcome.partition());
            self.partition_mut(&tp).queued.push_back(b);
        }
        self.scratch = out;
        next
    }

    /// Fails batches older than `delivery.timeout.ms` that are not in flight. Returns when the next one expires.
    fn expire(&mut self, now: Instant) -> Option<Instant> {
        let timeout = self.delivery_timeout;
        let mut expired: Vec<(Result<SentBatch, OpenBatch>, TopicPartition)> = Vec::new();
        let mut next = None;
        for (topic, ps) in self.topics.iter_mut() {
            for (p, st) in ps.iter_mut().enumerate() {
                while st.retry.front().is_some_and(|b| b.created + timeout <= now) {
                    if let Some(b) = st.retry.pop_front() {
                        expired.push((Ok(b), (topic.clone(), p as i32)));
                    }
                }
                while st.queued.front().is_some_and(|b| b.created + timeout <= now) {
                    if let Some(b) = st.queued.pop_front() {
                        expired.push((Err(b), (topic.clone(), p as i32)));
                    }
                }
                next = earliest(next, st.retry.front().map(|b| b.created + timeout));
                next = earliest(next, st.queued.front().map(|b| b.created + timeout));
            }
        }
        for (b, tp) in expired {
            let e = |records: i32, last: Option<Error>| {
                last.unwrap_or_else(|| Error::new(ErrorKind::Timeout)).with_partition(&tp.0, tp.1).with_message(Some(
                    format!("{records} record(s) expired: delivery.timeout.ms ({} ms) passed", timeout.as_millis()),
                ))
            };
            match b {
                Ok(mut b) => {
                    let err = e(b.records, b.last_error.take());
                    if let Some(idem) = self.idempotence.as_mut() {
                        idem.failed(&tp, b.producer, b.base_sequence);
                    }
                    self.fail_sent(&b, err);
                }
                Err(b) => {
                    let err = e(b.builder.record_count(), None);
                    self.fail(b.id, &b.outcome, b.reserved, b.builder.record_count(), b.forget, err);
                }
            }
        }
        next
    }

    /// Sends InitProducerId when the idempotent producer needs an id (first need) or an epoch bump.
    fn maybe_init_producer_id(&mut self, now: Instant) -> Option<Instant> {
        if self.shared.txn.is_some() {
            // The transaction manager gets the id from the transaction coordinator (init_transactions).
            return None;
        }
        let idem = self.idempotence.as_mut()?;
        if let Some(t) = self.init_retry_at {
            if t > now {
                return Some(t);
            }
            self.init_retry_at = None;
        }
        let first_need = idem.current().is_none();
        if first_need && !self.topics.values().any(|ps| ps.iter().any(PartitionState::has_work)) {
            return None;
        }
        let current = idem.init_wanted()?;
        idem.init_started();
        let pool = self.shared.cluster.pool().clone();
        let tx = self.events_tx.clone();
        tokio::spawn(
            async move {
                let result = async {
                    let conn = pool.any().await?;
                    let version = conn.versions().pick::<InitProducerIdRequest>()?;
                    let mut req = InitProducerIdRequest::idempotent();
                    if version >= 3 && current.is_valid() {
                        req = req.with_current(current.id, current.epoch);
                    }
                    let resp = conn.send_at(&req, version).await?;
                    if resp.error_code.is_err() {
                        return Err(Error::broker(resp.error_code).with_api(ApiKey::INIT_PRODUCER_ID));
                    }
                    Ok(ProducerIdAndEpoch { id: resp.producer_id, epoch: resp.producer_epoch })
                }
                .await;
                let _ = tx.send(Event::ProducerId(result));
            }
            .instrument(debug_span!("init_producer_id", producer_id = current.id, epoch = current.epoch)),
        );
        None
    }

    /// Transactions: takes the producer id and epoch of the transaction manager, and fails the batches not sent
    /// when an abort asks for it (or the transaction already failed).
    fn sync_transaction(&mut self) {
        let Some(txn) = self.shared.txn.clone() else { return };
        let (producer, state, error) = {
            let m = txn.lock();
            (m.producer(), m.state(), m.error())
        };
        if let (Some(p), Some(idem)) = (producer, self.idempotence.as_mut()) {
            if idem.current() != Some(p) {
                idem.set_current(p);
            }
        }
        let abort = txn.abort_unsent.swap(false, Ordering::AcqRel);
        if abort || state == TransactionState::AbortableError {
            let cause = error.unwrap_or_else(|| {
                Error::new(ErrorKind::TransactionAbortable(Arc::new(Error::new(ErrorKind::TransactionState(
                    "the transaction was aborted".into(),
                )))))
            });
            self.fail_unsent(cause);
            if abort {
                txn.abort_done.notify_one();
            }
        }
    }

    /// TV1: sends AddPartitionsToTxn for the partitions whose first batch waits (found by `send_ready`).
    fn maybe_add_partitions(&mut self, now: Instant) -> Option<Instant> {
        let txn = self.shared.txn.clone()?;
        if self.adds.in_flight {
            return None;
        }
        if let Some(t) = self.adds.retry_at {
            if t > now {
                return Some(t);
            }
            self.adds.retry_at = None;
        }
        let (producer, partitions) = txn.lock().take_adds()?;
        self.adds.in_flight = true;
        let tx = self.events_tx.clone();
        tokio::spawn(
            async move {
                let id = txn.lock().transactional_id().to_owned();
                let results = transaction::add_partitions(&txn.coordinator, &id, producer, &partitions).await;
                let _ = tx.send(Event::PartitionsAdded(results));
            }
            .instrument(debug_span!("add_partitions_to_txn")),
        );
        None
    }

    /// Fails every batch not sent yet (the accumulator's, the queued and the retries), with `err`; what is in
    /// flight is left to finish.
    fn fail_unsent(&mut self, err: Error) {
        let mut out = Vec::new();
        self.shared.accumulator.close_all();
        self.shared.accumulator.drain_ready(Instant::now(), true, |_, _| Want::Yes, &mut out);
        for b in out {
            self.fail(b.id, &b.outcome, b.reserved, b.builder.record_count(), b.forget, err.clone());
        }
        let mut lost_sequences = false;
        let mut queued: Vec<OpenBatch> = Vec::new();
        let mut retries: Vec<SentBatch> = Vec::new();
        for st in self.topics.values_mut().flat_map(|ps| ps.iter_mut()) {
            queued.extend(st.queued.drain(..));
            retries.extend(st.retry.drain(..));
        }
        for b in queued {
            self.fail(b.id, &b.outcome, b.reserved, b.builder.record_count(), b.forget, err.clone());
        }
        for b in retries {
            if let Some(idem) = self.idempotence.as_mut() {
                idem.failed(&b.tp, b.producer, b.base_sequence);
            }
            lost_sequences = true;
            self.fail_sent(&b, err.clone());
        }
        if lost_sequences {
            if let Some(txn) = &self.shared.txn {
                txn.lock().fail(err, transaction::ErrorClass::Abortable { bump_epoch: true });
            }
        }
    }

    fn want_metadata(&mut self) {
        self.metadata.wanted = true;
    }

    fn maybe_refresh_metadata(&mut self, now: Instant) -> Option<Instant> {
        if !self.metadata.wanted || self.metadata.running {
            return None;
        }
        if let Some(last) = self.metadata.last {
            let at = last + self.retry_backoff;
            if at > now {
                return Some(at);
            }
        }
        self.metadata.wanted = false;
        self.metadata.running = true;
        self.metadata.last = Some(now);
        let cluster = self.shared.cluster.clone();
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            if let Err(e) = cluster.refresh().await {
                debug!(error = %e, "metadata refresh failed");
            }
            let _ = tx.send(Event::Metadata);
        });
        None
    }

    /// A live connection to `node`, or `None` while one is being dialled.
    fn connection(&mut self, node: i32) -> Option<Connection> {
        let ns = self.nodes.entry(node).or_default();
        if let Some(c) = &ns.conn {
            if !c.is_closed() {
                return Some(c.clone());
            }
            ns.conn = None;
        }
        if !ns.connecting {
            ns.connecting = true;
            let cluster = self.shared.cluster.clone();
            let tx = self.events_tx.clone();
            tokio::spawn(async move {
                let result = cluster.pool().node(node).await;
                let _ = tx.send(Event::Connected { node, result });
            });
        }
        None
    }

    /// The next batch of a partition that may be sent now, sealed and sequenced; `Err(Some(t))` when one will be
    /// at `t`.
    fn next_batch(&mut self, tp: &TopicPartition, now: Instant) -> Result<SentBatch, Option<Instant>> {
        let idempotent = self.idempotence.is_some();
        let Some(st) = self.topics.get_mut(&tp.0).and_then(|ps| ps.get_mut(tp.1 as usize)) else { return Err(None) };
        if let Some(idem) = self.idempotence.as_mut() {
            if idem.current().is_none()
                || st.in_flight >= MAX_IN_FLIGHT_PER_PARTITION
                || (st.in_flight > 0 && idem.awaiting_first_ack(tp))
            {
                return Err(None);
            }
            if idem.needs_reset(tp) {
                if st.in_flight > 0 || !idem.reset_ready(tp) {
                    return Err(None);
                }
                // Re-sequence every unacknowledged batch (all of them wait in `retry` now) from 0 under the new
                // producer id and epoch, in their original order.
                idem.reset_partition(tp);
                for b in st.retry.iter_mut() {
                    let (producer, seq) = idem.assign(tp, b.records);
                    b.batch.set_producer_state(producer.id, producer.epoch, seq);
                    b.producer = producer;
                    b.base_sequence = seq;
                }
                debug!(topic = %tp.0, partition = tp.1, batches = st.retry.len(), "partition re-sequenced");
            }
        }
        if st.recovering {
            if st.in_flight > 0 {
                return Err(None);
            }
            st.recovering = false;
        }
        if let Some(b) = st.retry.front() {
            if b.retry_at > now {
                return Err(Some(b.retry_at));
            }
            return st.retry.pop_front().ok_or(None);
        }
        loop {
            if st.queued.is_empty() {
                return Err(None);
            }
            if let Some(idem) = self.idempotence.as_mut() {
                if !idem.can_sequence_new(tp) {
                    return Err(None);
                }
            }
            if let Some(txn) = &self.shared.txn {
                if !txn.lock().partition_ready(tp) {
                    return Err(None);
                }
            }
            let Some(ob) = st.queued.pop_front() else { return Err(None) };
            let records = ob.builder.record_count();
            let uncompressed = ob.builder.uncompressed_size();
            // Only gzip and zstd batches are sized by a ratio estimate (lz4's and snappy's bound is exact).
            let estimated = ob.builder.compression() != kafkar_protocol::compression::Compression::None
                && !ob.builder.compresses_as_it_goes();
            let mut batch = match ob.builder.build() {
                Ok(b) => b,
                Err(e) => {
                    let err = Error::from(e).with_partition(&tp.0, tp.1);
                    Counters::add(&self.shared.counters.record_errors, records as u64);
                    fail_outcome(&self.shared, ob.id, &ob.outcome, ob.reserved, records, ob.forget, err);
                    continue;
                }
            };
            if estimated && uncompressed > 0 {
                self.shared.accumulator.observe_compression(&tp.0, batch.len() as f32 / uncompressed as f32);
            }
            let (producer, base_sequence) = match self.idempotence.as_mut() {
                Some(idem) => {
                    let (p, s) = idem.assign(tp, records);
                    batch.set_producer_state(p.id, p.epoch, s);
                    (p, s)
                }
                None => (ProducerIdAndEpoch::NONE, -1),
            };
            debug_assert!(idempotent || base_sequence == -1);
            return Ok(SentBatch {
                id: ob.id,
                tp: tp.clone(),
                batch,
                outcome: ob.outcome,
                records,
                created: ob.created,
                reserved: ob.reserved,
                forget: ob.forget,
                attempts: 0,
                producer,
                base_sequence,
                retry_at: now,
                last_error: None,
                split: None,
            });
        }
    }

    /// Builds and sends every request that may go now. Returns when a retry backoff ends.
    async fn send_ready(&mut self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        // Partitions with something to send, by leader.
        let mut candidates: Vec<(i32, TopicPartition)> = Vec::new();
        let snapshot = self.snapshot.clone();
        for (topic, ps) in &self.topics {
            for (p, st) in ps.iter().enumerate() {
                if !st.has_work() {
                    continue;
                }
                let leader = snapshot.topic(topic).and_then(|t| t.partitions.get(p)).map_or(-1, |i| i.leader);
                if leader < 0 || !snapshot.brokers.contains_key(&leader) {
                    self.metadata.wanted = true;
                    continue;
                }
                candidates.push((leader, (topic.clone(), p as i32)));
            }
        }
        if candidates.is_empty() {
            return None;
        }
        if let Some(idem) = &self.idempotence {
            idem.current()?;
        }
        candidates.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.0.cmp(&b.1.0)).then(a.1.1.cmp(&b.1.1)));
        let max_in_flight = self.shared.config.max_in_flight;
        let max_request = self.shared.config.max_request_size;
        let mut start = 0;
        while start < candidates.len() {
            let node = candidates[start].0;
            let end = start + candidates[start..].iter().take_while(|c| c.0 == node).count();
            let group: Vec<TopicPartition> = candidates[start..end].iter().map(|c| c.1.clone()).collect();
            start = end;
            loop {
                if self.nodes.get(&node).is_some_and(|n| n.in_flight >= max_in_flight) {
                    break;
                }
                let Some(conn) = self.connection(node) else { break };
                let mut batches = Vec::new();
                let mut size = 0usize;
                let first = self.nodes.get(&node).map_or(0, |n| n.drain_start) % group.len();
                let mut visited = 0;
                for tp in group[first..].iter().chain(&group[..first]) {
                    if !batches.is_empty() && size >= max_request {
                        break;
                    }
                    visited += 1;
                    // Peek at the size first so that a batch that does not fit stays where it is.
                    match self.next_batch(tp, now) {
                        Ok(b) => {
                            if !batches.is_empty() && size + b.batch.len() > max_request {
                                self.put_back(b);
                                continue;
                            }
                            size += b.batch.len();
                            batches.push(b);
                        }
                        Err(t) => next = earliest(next, t),
                    }
                }
                if batches.is_empty() {
                    break;
                }
                if let Some(n) = self.nodes.get_mut(&node) {
                    n.drain_start = (first + visited) % group.len();
                }
                self.send_request(node, conn, batches).await;
            }
        }
        next
    }

    /// Returns a batch taken by [`next_batch`](Self::next_batch) but not sent to the front of its partition's
    /// retry queue (it keeps its sequence).
    fn put_back(&mut self, b: SentBatch) {
        let st = self.partition_mut(&b.tp.clone());
        st.retry.push_front(b);
    }

    async fn send_request(&mut self, node: i32, conn: Connection, mut batches: Vec<SentBatch>) {
        let mut version = match conn.versions().pick::<ProduceRequest>() {
            Ok(v) => v,
            Err(e) => {
                for b in batches {
                    self.on_answer(b, Answer::Failed(e.clone()));
                }
                return;
            }
        };
        let mut ids: Vec<(Uuid, Arc<str>)> = Vec::new();
        for b in &batches {
            let id = self.snapshot.topic(&b.tp.0).map_or(Uuid::ZERO, |t| t.id);
            if !ids.iter().any(|(_, n)| n == &b.tp.0) {
                ids.push((id, b.tp.0.clone()));
            }
        }
        if version >= TOPIC_ID_VERSION && ids.iter().any(|(id, _)| id.is_zero()) {
            version = TOPIC_ID_VERSION - 1;
        }
        let transactional_id = self.shared.txn.as_ref().map(|t| {
            let m = t.lock();
            if !m.is_tv2() {
                version = version.min(transaction::TV1_MAX_PRODUCE);
            }
            m.transactional_id().to_owned()
        });
        batches.sort_by(|a, b| a.tp.0.cmp(&b.tp.0).then(a.tp.1.cmp(&b.tp.1)));
        let timeout_ms = self.shared.config.client.request_timeout.as_millis().min(i32::MAX as u128) as i32;
        let mut req = ProduceRequest::new(self.acks.wire_value(), timeout_ms);
        let txn_id_len = transactional_id.as_ref().map_or(0, String::len);
        if let Some(id) = transactional_id {
            req = req.with_transactional_id(id);
        }
        let mut bytes = 0usize;
        let mut copied = 0usize;
        let mut records = 0i64;
        for b in batches.iter_mut() {
            let id = ids.iter().find(|(_, n)| n == &b.tp.0).map_or(Uuid::ZERO, |(id, _)| *id);
            req.add_batch(version, &b.tp.0, id, b.tp.1, b.batch.bytes().clone());
            bytes += b.batch.len();
            if b.batch.len() < SPLICE_MIN {
                copied += b.batch.len();
            }
            records += i64::from(b.records);
            b.attempts += 1;
            if b.attempts > 1 {
                Counters::add(&self.shared.counters.retries, 1);
            }
        }
        for b in &batches {
            self.partition_mut(&b.tp.clone()).in_flight += 1;
        }
        let size_hint = produce_frame_size_hint(
            &self.shared.config.client.client_id,
            txn_id_len,
            ids.iter().map(|(_, name)| name.len()),
            batches.len(),
            copied,
        );
        let request = self.next_request;
        self.next_request += 1;
        self.nodes.entry(node).or_default().in_flight += 1;
        self.shared.counters.in_flight_requests.fetch_add(1, Ordering::Relaxed);
        Counters::add(&self.shared.counters.requests_sent, 1);
        trace!(request, version, broker = conn.addr(), node, bytes, records, batches = batches.len(), "produce");
        let sent_at = Instant::now();
        let expect_reply = self.acks != Acks::None;
        self.requests.insert(request, InFlightRequest { node, conn: conn.clone(), version, batches, ids, sent_at });
        // The reply goes from the connection's reader straight into this task's events: no task per request.
        let tx = self.events_tx.clone();
        let on_reply = move |outcome| {
            let _ = tx.send(Event::Produced { request, outcome });
        };
        if let Err(e) = conn.queue_then(&req, version, size_hint, expect_reply, on_reply).await {
            let _ = self.events_tx.send(Event::Produced { request, outcome: Err(e) });
        }
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::PartitionsAdded(results) => {
                self.adds.in_flight = false;
                let Some(txn) = self.shared.txn.clone() else { return };
                let outcome = txn.lock().adds_answered(results);
                match outcome {
                    AddOutcome::Done => {}
                    AddOutcome::Retry { relookup } => {
                        let wait = if relookup { self.retry_backoff } else { transaction::ADD_PARTITIONS_RETRY };
                        self.adds.retry_at = Some(Instant::now() + wait);
                    }
                    AddOutcome::Failed => self.check_transaction_fatal(),
                }
            }
            Event::Produced { request, outcome } => self.on_produced(request, outcome),
            Event::Connected { node, result } => {
                let ns = self.nodes.entry(node).or_default();
                ns.connecting = false;
                match result {
                    Ok(c) => ns.conn = Some(c),
                    Err(e) => {
                        debug!(node, error = %e, "connecting to the leader failed");
                        self.want_metadata();
                    }
                }
            }
            Event::ProducerId(result) => {
                let Some(idem) = self.idempotence.as_mut() else { return };
                match result {
                    Ok(p) => idem.init_done(p),
                    Err(e) => {
                        idem.init_failed();
                        if retriable(&e) || e.code() == Some(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS) {
                            debug!(error = %e, "InitProducerId failed; retrying");
                            self.init_retry_at = Some(Instant::now() + self.retry_backoff);
                        } else {
                            warn!(error = %e, "InitProducerId refused; the producer cannot send");
                            self.shared.set_fatal(e);
                        }
                    }
                }
            }
            Event::Metadata => {
                self.metadata.running = false;
                self.sync_metadata();
            }
        }
    }

    fn on_produced(&mut self, request: u64, outcome: Result<Bytes>) {
        let Some(req) = self.requests.remove(&request) else { return };
        let result = if self.acks == Acks::None {
            outcome.map(|_| None).map_err(|e| e.with_broker(req.conn.addr()))
        } else {
            req.conn.decode_queued::<ProduceRequest>(outcome, req.version).map(Some)
        };
        match &result {
            Ok(_) => trace!(request, node = req.node, "produce reply"),
            Err(e) => debug!(request, node = req.node, error = %e, "produce request failed"),
        }
        if let Some(ns) = self.nodes.get_mut(&req.node) {
            ns.in_flight = ns.in_flight.saturating_sub(1);
        }
        self.shared.counters.in_flight_requests.fetch_sub(1, Ordering::Relaxed);
        self.shared.counters.record_latency(req.sent_at.elapsed());
        match result {
            Ok(None) => {
                for b in req.batches {
                    self.on_answer(b, Answer::Ok(Delivered::new(-1, -1)));
                }
            }
            Ok(Some(resp)) => {
                let by_id = req.version >= TOPIC_ID_VERSION;
                let mut answers: HashMap<(Arc<str>, i32), Answer> = HashMap::with_capacity(req.batches.len());
                for t in resp.responses {
                    let name = if by_id {
                        req.ids.iter().find(|(id, _)| *id == t.topic_id).map(|(_, n)| n.clone())
                    } else {
                        req.ids.iter().find(|(_, n)| **n == *t.name).map(|(_, n)| n.clone())
                    };
                    let Some(name) = name else { continue };
                    for p in t.partition_responses {
                        let answer = if p.error_code.is_ok() || p.error_code == ErrorCode::DUPLICATE_SEQUENCE_NUMBER {
                            if p.error_code.is_err() {
                                debug!(topic = %name, partition = p.index, "duplicate batch: already written");
                            }
                            Answer::Ok(Delivered::new(p.base_offset, p.log_append_time_ms))
                        } else {
                            let msg = p
                                .error_message
                                .or_else(|| p.record_errors.first().and_then(|r| r.batch_index_error_message.clone()));
                            Answer::Failed(
                                Error::broker(p.error_code)
                                    .with_api(ApiKey::PRODUCE)
                                    .with_partition(&name, p.index)
                                    .with_message(msg),
                            )
                        };
                        answers.insert((name.clone(), p.index), answer);
                    }
                }
                for b in req.batches {
                    let a = answers.remove(&b.tp).unwrap_or_else(|| {
                        Answer::Failed(
                            Error::protocol("the Produce reply does not mention the partition")
                                .with_api(ApiKey::PRODUCE)
                                .with_partition(&b.tp.0, b.tp.1),
                        )
                    });
                    self.on_answer(b, a);
                }
            }
            Err(e) => {
                if invalidates_metadata(&e) {
                    self.want_metadata();
                }
                for b in req.batches {
                    let err = e.clone().with_partition(&b.tp.0, b.tp.1);
                    self.on_answer(b, Answer::Failed(err));
                }
            }
        }
    }

    fn on_answer(&mut self, mut b: SentBatch, answer: Answer) {
        let tp = b.tp.clone();
        {
            let st = self.partition_mut(&tp);
            st.in_flight = st.in_flight.saturating_sub(1);
        }
        let err = match answer {
            Answer::Ok(d) => {
                if let Some(idem) = self.idempotence.as_mut() {
                    idem.acked(&tp, b.producer, b.base_sequence, b.records);
                }
                let c = &self.shared.counters;
                Counters::add(&c.records_sent, b.records as u64);
                Counters::add(&c.bytes_sent, b.batch.len() as u64);
                Counters::add(&c.batches_sent, 1);
                if let Some((split, first)) = b.split.take() {
                    self.piece_written(&split, first, d);
                    return;
                }
                b.outcome.complete(Ok(d));
                self.shared.memory.release(b.reserved);
                self.shared.accumulator.untrack(b.id);
                return;
            }
            Answer::Failed(e) => e,
        };
        let code = err.code();
        if code == Some(ErrorCode::MESSAGE_TOO_LARGE) && b.records > 1 {
            match self.split_batch(b) {
                Ok(()) => return,
                Err(back) => b = *back,
            }
        }
        #[derive(PartialEq)]
        enum Verdict {
            Retry,
            Bump,
            Fail,
        }
        let transactional = self.shared.txn.is_some();
        let mut verdict = match (self.idempotence.as_mut(), code) {
            (Some(idem), Some(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)) => {
                match idem.out_of_order(&tp, b.producer, b.base_sequence) {
                    SequenceVerdict::Retry => Verdict::Retry,
                    SequenceVerdict::BumpEpoch => Verdict::Bump,
                }
            }
            (Some(_), Some(ErrorCode::UNKNOWN_PRODUCER_ID | ErrorCode::INVALID_PRODUCER_EPOCH)) => Verdict::Bump,
            _ if retriable(&err) => Verdict::Retry,
            _ => Verdict::Fail,
        };
        let now = Instant::now();
        let expired = b.created + self.delivery_timeout <= now;
        let retries = self.shared.config.retries.max(0) as u32;
        if transactional && verdict == Verdict::Bump {
            // A transactional producer does not bump its epoch in the middle of a transaction: the batch fails,
            // the transaction must be aborted, and the abort brings the new epoch.
            verdict = Verdict::Fail;
        }
        if verdict != Verdict::Fail && (expired || b.attempts > retries) {
            debug!(topic = %tp.0, partition = tp.1, attempts = b.attempts, expired, "batch not retried again");
            verdict = Verdict::Fail;
        }
        if verdict == Verdict::Fail {
            if let Some(idem) = self.idempotence.as_mut() {
                idem.failed(&tp, b.producer, b.base_sequence);
            }
            let err = if expired {
                err.with_message(Some(format!(
                    "delivery.timeout.ms ({} ms) passed; last error: {}",
                    self.delivery_timeout.as_millis(),
                    code.map_or_else(|| "see cause".to_string(), |c| c.to_string())
                )))
            } else {
                err
            };
            if let Some(txn) = &self.shared.txn {
                txn.lock().batch_failed(&err);
                self.check_transaction_fatal();
            }
            self.fail_sent(&b, err);
            return;
        }
        if verdict == Verdict::Bump {
            if let Some(idem) = self.idempotence.as_mut() {
                idem.request_bump(&tp);
            }
        }
        if invalidates_metadata(&err) {
            self.want_metadata();
        }
        debug!(topic = %tp.0, partition = tp.1, sequence = b.base_sequence, error = %err, "batch will be retried");
        b.retry_at = now + self.retry_backoff;
        b.last_error = Some(err);
        let st = self.partition_mut(&tp);
        st.recovering = true;
        let key = b.order();
        let at = st.retry.iter().position(|r| r.order() > key).unwrap_or(st.retry.len());
        st.retry.insert(at, b);
    }

    /// Makes a fatal transaction error the producer's fatal error (every batch and later send fails with it).
    fn check_transaction_fatal(&self) {
        if let Some(txn) = &self.shared.txn {
            let m = txn.lock();
            if m.state() == TransactionState::FatalError {
                if let Some(e) = m.error() {
                    drop(m);
                    self.shared.set_fatal(e);
                }
            }
        }
    }

    /// Fails a sealed batch: its own outcome, or for a piece of a split batch the original's (once).
    fn fail_sent(&self, b: &SentBatch, err: Error) {
        match &b.split {
            None => self.fail(b.id, &b.outcome, b.reserved, b.records, b.forget, err),
            Some((split, _)) => {
                let mut s = split.lock().unwrap_or_else(|p| p.into_inner());
                s.left = s.left.saturating_sub(1);
                if !s.done {
                    s.done = true;
                    self.fail(s.id, &s.outcome, s.reserved, s.records, s.forget, err);
                }
            }
        }
    }

    /// A piece of a split batch was written; the last one completes the original batch.
    fn piece_written(&self, split: &std::sync::Mutex<Split>, first: i32, d: Delivered) {
        let mut s = split.lock().unwrap_or_else(|p| p.into_inner());
        s.left = s.left.saturating_sub(1);
        s.written.push((first, d.base_offset));
        if d.log_append_time >= 0 {
            s.log_append_time = d.log_append_time;
        }
        if s.left > 0 || s.done {
            return;
        }
        s.done = true;
        s.written.sort_unstable();
        let base = s.written.first().map_or(-1, |w| w.1);
        let pieces = std::mem::take(&mut s.written);
        s.outcome.complete(Ok(Delivered {
            base_offset: base,
            log_append_time: s.log_append_time,
            pieces: Some(Arc::new(pieces)),
        }));
        self.shared.memory.release(s.reserved);
        self.shared.accumulator.untrack(s.id);
    }

    /// Splits a batch the broker refused as too large into two halves (each split again if still too large, as
    /// the Java producer does) and queues them for sending in its place, first in the partition's order. The pieces
    /// keep the batch's producer id, epoch and sequence range, so later batches' sequences stay valid.
    fn split_batch(&mut self, mut b: SentBatch) -> std::result::Result<(), Box<SentBatch>> {
        use kafkar_protocol::records::{ReadOptions, RecordBatchBuilder, RecordBatchReader};
        let mut records = Vec::with_capacity(b.records.max(0) as usize);
        let mut compression = kafkar_protocol::compression::Compression::None;
        for batch in RecordBatchReader::new(b.batch.bytes().clone(), ReadOptions::default()) {
            let Ok(batch) = batch else { return Err(Box::new(b)) };
            compression = batch.header().compression;
            let Ok(rs) = batch.records() else { return Err(Box::new(b)) };
            for r in rs {
                let Ok(r) = r else { return Err(Box::new(b)) };
                records.push(r);
            }
        }
        if records.len() < 2 || records.len() != b.records as usize {
            return Err(Box::new(b));
        }
        let half = records.len().div_ceil(2);
        let chunks: Vec<&[kafkar_protocol::records::Record]> = records.chunks(half).collect();
        let mut sealed = Vec::with_capacity(chunks.len());
        for chunk in &chunks {
            let mut builder = RecordBatchBuilder::with_capacity(compression, b.batch.len() / chunks.len() + 64)
                .with_compression_level(self.shared.config.effective_compression_level())
                .with_transactional(self.shared.txn.is_some());
            for r in chunk.iter() {
                let headers = r.headers.to_vec();
                if builder.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers).is_err() {
                    return Err(Box::new(b));
                }
            }
            match builder.build() {
                Ok(sb) => sealed.push((sb, chunk.len() as i32)),
                Err(_) => return Err(Box::new(b)),
            }
        }
        let counts: Vec<i32> = sealed.iter().map(|(_, n)| *n).collect();
        let bases: Vec<i32> = match self.idempotence.as_mut() {
            Some(idem) if b.base_sequence >= 0 => idem.split(&b.tp, b.base_sequence, &counts),
            _ => vec![-1; counts.len()],
        };
        debug!(topic = %b.tp.0, partition = b.tp.1, records = b.records, pieces = counts.len(),
            "batch too large for the broker: split");
        Counters::add(&self.shared.counters.batch_splits, 1);
        let (split, offset) = match b.split {
            // A piece split again: its halves belong to the same original batch.
            Some((split, first)) => {
                split.lock().unwrap_or_else(|p| p.into_inner()).left += counts.len() - 1;
                (split, first)
            }
            None => (
                Arc::new(std::sync::Mutex::new(Split {
                    id: b.id,
                    // The original handle moves to the split; what `b` keeps is a stand-in nobody waits on.
                    outcome: std::mem::replace(&mut b.outcome, BatchHandle::new(b.tp.0.clone(), b.tp.1)),
                    reserved: b.reserved,
                    records: b.records,
                    forget: b.forget,
                    left: counts.len(),
                    written: Vec::new(),
                    log_append_time: -1,
                    done: false,
                })),
                0,
            ),
        };
        let now = Instant::now();
        let mut first = offset;
        let mut pieces = Vec::with_capacity(sealed.len());
        for ((mut batch, n), seq) in sealed.into_iter().zip(bases) {
            if seq >= 0 {
                batch.set_producer_state(b.producer.id, b.producer.epoch, seq);
            }
            pieces.push(SentBatch {
                id: b.id,
                tp: b.tp.clone(),
                batch,
                // Pieces complete the split, never an outcome of their own: a stand-in.
                outcome: BatchHandle::new(b.tp.0.clone(), b.tp.1),
                records: n,
                created: b.created,
                reserved: 0,
                forget: 0,
                attempts: 0,
                producer: b.producer,
                base_sequence: seq,
                retry_at: now,
                last_error: None,
                split: Some((split.clone(), first)),
            });
            first += n;
        }
        let st = self.partition_mut(&b.tp);
        st.recovering = true;
        let key = (b.id, offset);
        let at = st.retry.iter().position(|r| r.order() > key).unwrap_or(st.retry.len());
        for (k, p) in pieces.into_iter().enumerate() {
            st.retry.insert(at + k, p);
        }
        Ok(())
    }

    fn fail(&self, id: u64, outcome: &BatchOutcome, reserved: usize, records: i32, forget: u32, err: Error) {
        Counters::add(&self.shared.counters.record_errors, records.max(0) as u64);
        fail_outcome(&self.shared, id, outcome, reserved, records, forget, err);
    }

    /// Fails every batch, wherever it is (abort, or a fatal error).
    fn fail_everything(&mut self, err: Error) {
        let mut out = Vec::new();
        self.shared.accumulator.close_all();
        self.shared.accumulator.drain_ready(Instant::now(), true, |_, _| Want::Yes, &mut out);
        for b in out {
            self.fail(b.id, &b.outcome, b.reserved, b.builder.record_count(), b.forget, err.clone());
        }
        let topics = std::mem::take(&mut self.topics);
        for (_, ps) in topics {
            for st in ps {
                for b in st.queued {
                    self.fail(b.id, &b.outcome, b.reserved, b.builder.record_count(), b.forget, err.clone());
                }
                for b in st.retry {
                    self.fail_sent(&b, err.clone());
                }
            }
        }
        let requests = std::mem::take(&mut self.requests);
        for (_, r) in requests {
            self.shared.counters.in_flight_requests.fetch_sub(1, Ordering::Relaxed);
            for b in r.batches {
                self.fail_sent(&b, err.clone());
            }
        }
        for ns in self.nodes.values_mut() {
            ns.in_flight = 0;
        }
    }
}

/// Completes a batch with an error, gives back its memory, and reports fire-and-forget records.
fn fail_outcome(
    shared: &Shared,
    id: u64,
    outcome: &BatchOutcome,
    reserved: usize,
    records: i32,
    forget: u32,
    err: Error,
) {
    debug!(topic = %outcome.topic(), partition = outcome.partition(), records, error = %err, "batch failed");
    if forget > 0 {
        warn!(topic = %outcome.topic(), partition = outcome.partition(), records = forget, error = %err,
            "fire-and-forget records failed");
        shared.report_failure(SendFailure {
            topic: outcome.topic().clone(),
            partition: outcome.partition(),
            records: forget,
            error: err.clone(),
        });
    }
    outcome.complete(Err(err));
    shared.memory.release(reserved);
    shared.accumulator.untrack(id);
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use bytes::BytesMut;
    use kafkar_protocol::header::{RequestHeader, request_header_version};
    use kafkar_protocol::messages::splice::encode_spliced;
    use kafkar_protocol::messages::{Message, Request};

    use super::*;

    /// The head of the frame `Connection` writes for `req` (size prefix, request header, body, without the batches
    /// spliced out of it).
    fn frame_head_len(req: &ProduceRequest, version: i16, client_id: &str) -> usize {
        let flexible = ProduceRequest::is_flexible(version);
        let mut buf = BytesMut::new();
        let header = RequestHeader {
            api_key: ProduceRequest::API_KEY.0,
            api_version: version,
            correlation_id: 0,
            client_id: Some(client_id.to_owned()),
            unknown_tagged_fields: Vec::new(),
        };
        header.encode(&mut buf, request_header_version(flexible)).unwrap();
        4 + encode_spliced(req, buf, version).unwrap().head.len()
    }

    #[test]
    fn the_produce_frame_hint_covers_the_frame_without_much_slack() {
        let client_id = "a-client-id-of-some-length";
        let txn = "transactional-id-1";
        let topics = ["t", "orders-with-a-rather-long-topic-name-for-the-test", "x"];
        // Batch sizes around the varint length steps of the records' size prefix.
        let sizes = [0usize, 1, 126, 127, 128, 16_383, 16_384, 1 << 20, (1 << 21) + 3];
        for version in [3i16, 8, 9, 12, 13] {
            if !ProduceRequest::SPEC.versions.contains(version) {
                continue;
            }
            let mut req = ProduceRequest::new(-1, 30_000).with_transactional_id(txn.to_owned());
            let mut partitions = 0;
            let mut bytes = 0;
            for (t, name) in topics.iter().enumerate() {
                for (p, &size) in sizes.iter().enumerate() {
                    let id = Uuid::from_u64_pair(1, t as u64 + 1);
                    req.add_batch(version, name, id, p as i32, Bytes::from(vec![0u8; size]));
                    partitions += 1;
                    if size < SPLICE_MIN {
                        bytes += size;
                    }
                }
            }
            let actual = frame_head_len(&req, version, client_id);
            let hint = produce_frame_size_hint(client_id, txn.len(), topics.iter().map(|t| t.len()), partitions, bytes);
            assert!(hint >= actual, "v{version}: hint {hint} < frame {actual}");
            assert!(hint - actual < 1024, "v{version}: hint {hint} far above frame {actual}");
        }
    }
}
