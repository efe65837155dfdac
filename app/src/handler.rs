//! The handler consumer: a consumer-group member that runs an async handler per record, at least once.
//!
//! - The poll loop owns the [`Consumer`]: it polls, hands each record to its partition's worker task, commits on an
//!   interval, pauses partitions whose work piles up and resumes them when it drains, and applies assignment changes
//!   (through a [`RebalanceListener`]).
//! - One worker task per partition runs the handler for one record at a time, in offset order (or, opted in with
//!   [`HandlerSettings::key_concurrency`], several at once, one per key, each key in order), with retries
//!   (in-memory backoff, so other partitions go on), then the next retry topic (if [`RetryTopics`] are set) or
//!   the dead-letter topic after the last attempt. A batch handler's worker runs one batch at a time instead.
//! - Per partition an [`OffsetTracker`] keeps which records finished; only the contiguous finished prefix is ever
//!   committed, so a crash redelivers what was not finished and never skips it.
//! - On revocation the partition's worker stops taking records, its running handler gets up to `revoke_timeout` to
//!   finish, and the finished prefix is committed before the partition is released.
//! - On shutdown: stop fetching, let running handlers finish within `shutdown_timeout`, flush the dead-letter
//!   and retry-topic producers, commit, leave the group.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafkar::consumer::{
    Consumer, ConsumerConfig, ConsumerRecord, OffsetAndMetadata, RebalanceListener, TopicPartition,
};
use kafkar::producer::RecordMetadata;
use kafkar::{Error, ErrorKind};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{Instrument, debug, error, info, warn};

use crate::dead_letter::{DeadLetterConfig, DeadLetterPartition, original_topic, retry_record, send_to};
use crate::metrics::{Counters, HandlerMetrics, Health};
use crate::progress::OffsetTracker;
use crate::retry::{Classification, HandlerError, RetryPolicy};
use crate::retry_topic::{self, RetryTopics};
use crate::shutdown::Shutdown;
use crate::trace;
use crate::trace::TraceContext;

/// One attempt at one record, as a handler receives it.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The record.
    pub record: ConsumerRecord,
    /// The attempt number within this delivery: 1 for the first.
    pub attempt: u32,
    /// 0 for a record read from its original topic; `n` for one read from the n-th
    /// [retry topic](crate::retry_topic) (after `n` failed deliveries).
    pub hop: u32,
    /// The record's trace context (extracted from its headers, or a new trace), as a child span; also current
    /// ([`TraceContext::current`]) while the handler runs.
    pub trace: TraceContext,
}

/// One attempt at a batch of records of one partition, in offset order, as a batch handler
/// ([`HandlerConsumer::new_batch`]) receives it.
#[derive(Clone, Debug)]
pub struct BatchDelivery {
    /// The records: at least one, all of one partition, in offset order.
    pub records: Vec<ConsumerRecord>,
    /// The attempt number: 1 for the first. A failed batch is retried whole.
    pub attempt: u32,
    /// Each record's trace context (extracted from its headers, or a new trace), as a child span; parallel to
    /// `records`.
    pub traces: Vec<TraceContext>,
}

impl BatchDelivery {
    /// The records' topic.
    pub fn topic(&self) -> &str {
        self.records.first().map_or("", |r| &r.topic)
    }

    /// The records' partition.
    pub fn partition(&self) -> i32 {
        self.records.first().map_or(-1, |r| r.partition)
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;
type HandlerFn = Arc<dyn Fn(Delivery) -> BoxFuture + Send + Sync>;
type BatchFn = Arc<dyn Fn(BatchDelivery) -> BoxFuture + Send + Sync>;

/// A record handler or a batch handler.
#[derive(Clone)]
enum Handler {
    Record(HandlerFn),
    Batch(BatchFn),
}

/// Settings of a [`HandlerConsumer`] beyond the consumer's own.
#[derive(Clone, Debug)]
pub struct HandlerSettings {
    /// The retry policy.
    pub retry: RetryPolicy,
    /// Where records go after their last failed attempt. `None`: they are logged (error level) and skipped.
    pub dead_letter: Option<DeadLetterConfig>,
    /// Retry topics for long backoffs: a record still failing (retriable) after the in-memory attempts of
    /// `retry` is forwarded to the next retry topic instead of the dead-letter topic, until the retry topics run
    /// out. The consumer subscribes to each topic's retry topics too (they must exist).
    pub retry_topics: Option<RetryTopics>,
    /// A batch handler's largest batch ([`HandlerConsumer::new_batch`]): it gets what its partition has
    /// received, up to this many records. Record handlers ignore it.
    pub max_batch_records: usize,
    /// How often finished work is committed.
    pub commit_interval: Duration,
    /// A partition with this many records handed out and not yet committable is paused until half of them are.
    pub max_pending_per_partition: usize,
    /// How long a revoked partition's running handler may take to finish before it is abandoned (its record is
    /// then not committed, and the partition's next owner handles it again).
    pub revoke_timeout: Duration,
    /// How long running handlers may take to finish on shutdown.
    pub shutdown_timeout: Duration,
    /// How long one poll waits for records (also the longest a shutdown waits for the poll loop).
    pub poll_timeout: Duration,
    /// `None` (the default): one record at a time per partition. `Some(n)`: up to `n` records of a partition at
    /// once, never two of the same key, and each key's records in offset order (keyless records share one key).
    /// Batch handlers ignore it (one batch at a time per partition).
    pub key_concurrency: Option<usize>,
    /// `None` (the default): every partition's handler runs whenever it has work. `Some(n)`: at most `n` handler
    /// calls at once across all partitions (a backoff or a due-time wait holds no slot).
    pub max_concurrency: Option<usize>,
}

impl Default for HandlerSettings {
    /// Three attempts, no dead-letter topic, no retry topics, commits every second, 1000 pending records per
    /// partition, batches of up to 500 records, 10 s to finish on revocation, 30 s on shutdown.
    fn default() -> HandlerSettings {
        HandlerSettings {
            retry: RetryPolicy::default(),
            dead_letter: None,
            retry_topics: None,
            max_batch_records: 500,
            commit_interval: Duration::from_secs(1),
            max_pending_per_partition: 1000,
            revoke_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(30),
            poll_timeout: Duration::from_millis(100),
            key_concurrency: None,
            max_concurrency: None,
        }
    }
}

/// What a handler consumer's worker for one partition shares with the poll loop.
#[derive(Debug)]
struct PartitionWork {
    tracker: Mutex<OffsetTracker>,
    /// Set on revocation and shutdown: take no further record, abandon waits.
    stop: watch::Sender<bool>,
    /// The last offset sent in a commit (-1: none, or the last one failed).
    committed: AtomicI64,
}

impl PartitionWork {
    fn tracker(&self) -> std::sync::MutexGuard<'_, OffsetTracker> {
        self.tracker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The offset to commit if it moved since the last commit.
    fn due(&self) -> Option<OffsetAndMetadata> {
        let (offset, epoch) = self.tracker().committable()?;
        if offset == self.committed.load(Ordering::Relaxed) {
            return None;
        }
        let mut o = OffsetAndMetadata::new(offset);
        if let Some(e) = epoch {
            o = o.with_leader_epoch(e);
        }
        Some(o)
    }
}

#[derive(Debug)]
struct Slot {
    work: Arc<PartitionWork>,
    records: mpsc::UnboundedSender<ConsumerRecord>,
    task: JoinHandle<()>,
    paused: bool,
}

impl Slot {
    /// Stops the worker at once: its running handler is aborted and its record stays unfinished.
    fn abandon(&self) {
        self.work.stop.send_replace(true);
        self.task.abort();
    }
}

type Slots = Arc<Mutex<HashMap<TopicPartition, Slot>>>;

fn lock(slots: &Slots) -> std::sync::MutexGuard<'_, HashMap<TopicPartition, Slot>> {
    slots.lock().unwrap_or_else(|p| p.into_inner())
}

/// What every worker needs.
struct WorkerContext {
    handler: Handler,
    /// Slots for handler calls, with [`HandlerSettings::max_concurrency`].
    limit: Option<Arc<tokio::sync::Semaphore>>,
    settings: HandlerSettings,
    group: Option<String>,
    counters: Arc<Counters>,
}

/// A read-only view of a running handler consumer: metrics and health, from any task.
#[derive(Clone, Debug)]
pub struct Monitor {
    counters: Arc<Counters>,
}

impl Monitor {
    /// A snapshot of the counters.
    pub fn metrics(&self) -> HandlerMetrics {
        self.counters.snapshot()
    }

    /// Running, and polled within `max_poll_age`?
    pub fn health(&self, max_poll_age: Duration) -> Health {
        self.counters.health(max_poll_age)
    }
}

/// A consumer-group member that runs an async handler per record: at least once, per partition in order, with
/// retries, dead letters, commits of finished work only, and a graceful shutdown. See the module docs.
///
/// ```no_run
/// # async fn run() -> kafkar::Result<()> {
/// use kafkar::consumer::ConsumerConfig;
/// use kafkar_app::{Delivery, HandlerConsumer, HandlerSettings, Shutdown};
///
/// let config = ConsumerConfig::new("localhost:9092").with_group_id("billing");
/// let consumer = HandlerConsumer::new(config, ["orders"], HandlerSettings::default(), |d: Delivery| async move {
///     tracing::info!(offset = d.record.offset, "order");
///     Ok(())
/// })
/// .await?;
/// consumer.run(Shutdown::on_signal()).await?;
/// # Ok(()) }
/// ```
pub struct HandlerConsumer {
    consumer: Consumer,
    slots: Slots,
    ctx: Arc<WorkerContext>,
}

impl std::fmt::Debug for HandlerConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerConsumer").field("consumer", &self.consumer).finish_non_exhaustive()
    }
}

impl HandlerConsumer {
    /// Creates the consumer (automatic commits are turned off: this type commits) and subscribes to `topics`.
    pub async fn new<F, Fut>(
        config: ConsumerConfig,
        topics: impl IntoIterator<Item = impl Into<String>>,
        settings: HandlerSettings,
        handler: F,
    ) -> kafkar::Result<HandlerConsumer>
    where
        F: Fn(Delivery) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let handler: HandlerFn = Arc::new(move |d| Box::pin(handler(d)));
        HandlerConsumer::start(config, topics, settings, Handler::Record(handler)).await
    }

    /// The same with a batch handler: it gets the records of one partition a batch at a time (what the partition
    /// has received, up to [`HandlerSettings::max_batch_records`]), at least once. A failed batch is retried whole
    /// by the retry policy; after its last attempt each of its records goes through the same path as a failed
    /// record (the next retry topic, or the dead-letter topic). A handler naming the failed record
    /// ([`HandlerError::at_record`]) has the records before it finished, the retries start at it, and only it
    /// takes the failure path. Finished records are committed as for record handlers.
    ///
    /// ```no_run
    /// # async fn run() -> kafkar::Result<()> {
    /// use kafkar::consumer::ConsumerConfig;
    /// use kafkar_app::{BatchDelivery, HandlerConsumer, HandlerSettings, Shutdown};
    ///
    /// let config = ConsumerConfig::new("localhost:9092").with_group_id("loader");
    /// let consumer = HandlerConsumer::new_batch(config, ["events"], HandlerSettings::default(), |b: BatchDelivery| async move {
    ///     tracing::info!(partition = b.partition(), records = b.records.len(), "bulk insert");
    ///     Ok(())
    /// })
    /// .await?;
    /// consumer.run(Shutdown::on_signal()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn new_batch<F, Fut>(
        config: ConsumerConfig,
        topics: impl IntoIterator<Item = impl Into<String>>,
        settings: HandlerSettings,
        handler: F,
    ) -> kafkar::Result<HandlerConsumer>
    where
        F: Fn(BatchDelivery) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        let handler: BatchFn = Arc::new(move |d| Box::pin(handler(d)));
        HandlerConsumer::start(config, topics, settings, Handler::Batch(handler)).await
    }

    async fn start(
        mut config: ConsumerConfig,
        topics: impl IntoIterator<Item = impl Into<String>>,
        settings: HandlerSettings,
        handler: Handler,
    ) -> kafkar::Result<HandlerConsumer> {
        if config.group_id.is_none() {
            return Err(Error::new(ErrorKind::InvalidArgument("a handler consumer needs group.id".into())));
        }
        config.enable_auto_commit = false;
        let group = config.group_id.clone();
        let mut consumer = Consumer::new(config).await?;
        let counters = Arc::new(Counters::new());
        let slots: Slots = Arc::default();
        let mut all: Vec<String> = Vec::new();
        for topic in topics {
            let topic = topic.into();
            if let Some(rt) = &settings.retry_topics {
                all.extend(rt.topics(&topic));
            }
            all.push(topic);
        }
        let limit = settings.max_concurrency.map(|n| Arc::new(tokio::sync::Semaphore::new(n.max(1))));
        let ctx = Arc::new(WorkerContext { handler, limit, settings, group, counters });
        let listener = Rebalance { slots: slots.clone(), ctx: ctx.clone() };
        consumer.subscribe_with_listener(all, listener)?;
        Ok(HandlerConsumer { consumer, slots, ctx })
    }

    /// A view for metrics and health checks, usable while [`run`](Self::run) runs.
    pub fn monitor(&self) -> Monitor {
        Monitor { counters: self.ctx.counters.clone() }
    }

    /// Runs until `shutdown` is triggered (or a fatal consumer error), then shuts down gracefully and returns the
    /// final metrics. A fatal error is returned after the same shutdown steps.
    pub async fn run(mut self, shutdown: Shutdown) -> kafkar::Result<HandlerMetrics> {
        let counters = self.ctx.counters.clone();
        counters.running.store(true, Ordering::Relaxed);
        // Commits are due between polls: a poll is never cut short for one (a timer racing the poll in a select
        // would cancel every poll that waits as long as the commit interval, and the loop would stop polling).
        let interval = self.ctx.settings.commit_interval;
        let mut next_commit = tokio::time::Instant::now() + interval;
        let max_poll = self.consumer.config().max_poll_records;
        let poll_timeout = self.ctx.settings.poll_timeout;
        let mut fatal = None;
        loop {
            let now = tokio::time::Instant::now();
            if now >= next_commit {
                self.commit_due();
                *counters.consumer.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.consumer.metrics());
                next_commit = now + interval;
            }
            let wait = poll_timeout.min(next_commit - now).max(Duration::from_millis(1));
            tokio::select! {
                biased;
                () = shutdown.wait() => break,
                r = self.consumer.poll(max_poll, wait) => {
                    counters.polled();
                    match r {
                        Ok(records) => self.dispatch(records),
                        Err(e) if is_fatal(&e) => {
                            error!(error = %e, "handler consumer stops on a fatal consumer error");
                            fatal = Some(e);
                            break;
                        }
                        Err(e) => {
                            warn!(error = %e, "consumer error");
                            tokio::time::sleep(poll_timeout).await;
                        }
                    }
                }
            }
            self.backpressure();
        }
        info!("handler consumer shutting down");
        let result = self.shut_down().await;
        counters.running.store(false, Ordering::Relaxed);
        match fatal {
            Some(e) => Err(e),
            None => result.map(|()| counters.snapshot()),
        }
    }

    /// Hands records to their partitions' workers (starting a worker for a partition seen first).
    fn dispatch(&mut self, records: Vec<ConsumerRecord>) {
        if records.is_empty() {
            return;
        }
        let mut slots = lock(&self.slots);
        let mut assignment: Option<Vec<TopicPartition>> = None;
        for record in records {
            let tp = TopicPartition::new(&*record.topic, record.partition);
            if !slots.contains_key(&tp) {
                let owned = assignment.get_or_insert_with(|| self.consumer.assignment());
                if !owned.contains(&tp) {
                    debug!(topic = %tp.topic, partition = tp.partition, "record of a partition no longer owned");
                    continue;
                }
                slots.insert(tp.clone(), start_worker(&self.ctx));
            }
            let Some(slot) = slots.get(&tp) else { continue };
            if !slot.work.tracker().dispatched(record.offset, record.leader_epoch) {
                continue;
            }
            self.ctx.counters.records_received.fetch_add(1, Ordering::Relaxed);
            if slot.records.send(record).is_err() {
                warn!(topic = %tp.topic, partition = tp.partition, "partition worker has stopped");
            }
        }
    }

    /// Pauses partitions whose pending work reached the limit and resumes those drained to half of it.
    fn backpressure(&mut self) {
        let high = self.ctx.settings.max_pending_per_partition.max(1);
        let mut slots = lock(&self.slots);
        let (mut paused, mut pending) = (0, 0);
        for (tp, slot) in slots.iter_mut() {
            let n = slot.work.tracker().pending();
            pending += n;
            if !slot.paused && n >= high {
                debug!(topic = %tp.topic, partition = tp.partition, pending = n, "pausing: work piles up");
                slot.paused = self.consumer.pause(std::slice::from_ref(tp)).is_ok();
            } else if slot.paused && n <= high / 2 {
                debug!(topic = %tp.topic, partition = tp.partition, pending = n, "resuming");
                let _ = self.consumer.resume(std::slice::from_ref(tp));
                slot.paused = false;
            }
            paused += usize::from(slot.paused);
        }
        let c = &self.ctx.counters;
        c.paused_partitions.store(paused, Ordering::Relaxed);
        c.pending_records.store(pending, Ordering::Relaxed);
        c.assigned_partitions.store(self.consumer.assignment().len(), Ordering::Relaxed);
    }

    /// Commits (without waiting) every partition's finished prefix that moved since its last commit.
    fn commit_due(&mut self) {
        let due = due_offsets(lock(&self.slots).iter().map(|(tp, s)| (tp, &s.work)));
        if due.is_empty() {
            return;
        }
        let counters = self.ctx.counters.clone();
        let works: Vec<(Arc<PartitionWork>, i64)> = due.iter().map(|(_, (w, o))| (w.clone(), o.offset)).collect();
        for (w, o) in &works {
            w.committed.store(*o, Ordering::Relaxed);
        }
        let offsets = due.into_iter().map(|(tp, (_, o))| (tp, o)).collect();
        let queued = self.consumer.commit_offsets_async(offsets, move |r| match r {
            Ok(()) => {
                counters.commits.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                warn!(error = %e, "commit failed; retried at the next interval");
                counters.commit_failures.fetch_add(1, Ordering::Relaxed);
                for (w, o) in works {
                    let _ = w.committed.compare_exchange(o, -1, Ordering::Relaxed, Ordering::Relaxed);
                }
            }
        });
        if let Err(e) = queued {
            warn!(error = %e, "commit could not be queued");
        }
    }

    /// Stop fetching (the loop has stopped polling), let running handlers finish, flush the dead-letter and
    /// retry-topic producers, commit, leave the group.
    async fn shut_down(mut self) -> kafkar::Result<()> {
        let taken: Vec<(TopicPartition, Slot)> = lock(&self.slots).drain().collect();
        let deadline = tokio::time::Instant::now() + self.ctx.settings.shutdown_timeout;
        let mut taken = stop_and_wait(taken, deadline).await;
        // Dead-letter and retry-topic writes are acknowledged before their records count as finished; flushing
        // also settles what a handler sent through the same producers.
        if let Some(dl) = &self.ctx.settings.dead_letter {
            dl.producer.flush().await;
        }
        if let Some(rt) = &self.ctx.settings.retry_topics {
            rt.producer.flush().await;
        }
        let due = due_offsets(taken.iter().map(|(tp, s)| (tp, &s.work)));
        let mut result = Ok(());
        if !due.is_empty() {
            let offsets = due.iter().map(|(tp, (_, o))| (tp.clone(), o.clone())).collect();
            match self.consumer.commit_offsets(offsets).await {
                Ok(()) => {
                    self.ctx.counters.commits.fetch_add(1, Ordering::Relaxed);
                    info!(partitions = due.len(), "committed finished work on shutdown");
                }
                Err(e) => {
                    self.ctx.counters.commit_failures.fetch_add(1, Ordering::Relaxed);
                    error!(error = %e, "commit on shutdown failed: finished records will be handled again");
                    result = Err(e);
                }
            }
        }
        taken.clear();
        let closed = self.consumer.close().await;
        result.and(closed)
    }
}

/// Is a poll error the end of this consumer (closed, misconfigured, fenced out of the group for good)? Errors of
/// one partition are not: that partition stops and the others go on.
fn is_fatal(e: &Error) -> bool {
    if e.context().partition.is_some() {
        return false;
    }
    matches!(e.kind(), ErrorKind::Closed | ErrorKind::Config(_) | ErrorKind::InvalidArgument(_))
        || matches!(e.kind(), ErrorKind::Broker(_) if !e.is_retriable())
}

/// The partitions whose finished prefix moved since their last commit, and what to commit.
fn due_offsets<'a>(
    works: impl Iterator<Item = (&'a TopicPartition, &'a Arc<PartitionWork>)>,
) -> HashMap<TopicPartition, (Arc<PartitionWork>, OffsetAndMetadata)> {
    works.filter_map(|(tp, w)| Some((tp.clone(), (w.clone(), w.due()?)))).collect()
}

/// Tells the workers of `slots` to stop, waits until `deadline` for their running handlers, and aborts the rest
/// (their records stay uncommitted).
async fn stop_and_wait(
    mut slots: Vec<(TopicPartition, Slot)>,
    deadline: tokio::time::Instant,
) -> Vec<(TopicPartition, Slot)> {
    for (_, s) in &slots {
        s.work.stop.send_replace(true);
    }
    for (tp, s) in &mut slots {
        if tokio::time::timeout_at(deadline, &mut s.task).await.is_err() {
            warn!(topic = %tp.topic, partition = tp.partition, "handler did not finish in time; abandoned");
            s.task.abort();
        }
    }
    slots
}

fn start_worker(ctx: &Arc<WorkerContext>) -> Slot {
    let (records, rx) = mpsc::unbounded_channel();
    let work = Arc::new(PartitionWork {
        tracker: Mutex::new(OffsetTracker::default()),
        stop: watch::channel(false).0,
        committed: AtomicI64::new(-1),
    });
    let task = tokio::spawn(run_partition(ctx.clone(), work.clone(), rx));
    Slot { work, records, task, paused: false }
}

/// Returns once `stop` is set.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The partition's next record; `None` once `stop` is set or the channel is closed (`stop` wins when both are).
async fn next_record(
    stop: &mut watch::Receiver<bool>,
    records: &mut mpsc::UnboundedReceiver<ConsumerRecord>,
) -> Option<ConsumerRecord> {
    tokio::select! {
        biased;
        () = stopped(stop) => None,
        r = records.recv() => r,
    }
}

/// One partition's worker: its records one at a time, in order, until stopped or its channel closes.
async fn run_partition(
    ctx: Arc<WorkerContext>,
    work: Arc<PartitionWork>,
    mut records: mpsc::UnboundedReceiver<ConsumerRecord>,
) {
    let mut stop = work.stop.subscribe();
    let handler = match ctx.handler.clone() {
        Handler::Batch(f) => return run_partition_batch(ctx, work, records, stop, f).await,
        Handler::Record(f) => f,
    };
    if let Some(n) = ctx.settings.key_concurrency.filter(|n| *n > 1) {
        return run_partition_by_key(ctx, work, records, stop, n, handler).await;
    }
    loop {
        let Some(record) = next_record(&mut stop, &mut records).await else { return };
        if !process(&ctx, &mut stop, &record, &handler).await {
            return;
        }
        work.tracker().finished(record.offset);
    }
}

/// A partition's worker for a batch handler: what the partition received (up to `max_batch_records`) as one
/// batch, one batch at a time.
async fn run_partition_batch(
    ctx: Arc<WorkerContext>,
    work: Arc<PartitionWork>,
    mut records: mpsc::UnboundedReceiver<ConsumerRecord>,
    mut stop: watch::Receiver<bool>,
    handler: BatchFn,
) {
    let max = ctx.settings.max_batch_records.max(1);
    loop {
        let Some(first) = next_record(&mut stop, &mut records).await else { return };
        let mut batch = vec![first];
        while batch.len() < max {
            match records.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let done = process_batch(&ctx, &mut stop, &batch, &handler).await;
        {
            let mut tracker = work.tracker();
            for r in &batch[..done] {
                tracker.finished(r.offset);
            }
        }
        if done < batch.len() {
            return;
        }
    }
}

/// A partition's worker with per-key concurrency: up to `max` records at once, one per key, each key in order.
async fn run_partition_by_key(
    ctx: Arc<WorkerContext>,
    work: Arc<PartitionWork>,
    mut records: mpsc::UnboundedReceiver<ConsumerRecord>,
    mut stop: watch::Receiver<bool>,
    max: usize,
    handler: HandlerFn,
) {
    let mut backlog: VecDeque<ConsumerRecord> = VecDeque::new();
    let mut busy: HashSet<Option<Bytes>> = HashSet::new();
    let mut running: JoinSet<(Option<Bytes>, i64, bool)> = JoinSet::new();
    let mut open = true;
    loop {
        if open && !*stop.borrow() {
            while running.len() < max {
                let Some(record) = next_startable(&mut backlog, &busy) else { break };
                busy.insert(record.key.clone());
                let (ctx, mut stop, handler) = (ctx.clone(), work.stop.subscribe(), handler.clone());
                running.spawn(async move {
                    let done = process(&ctx, &mut stop, &record, &handler).await;
                    (record.key, record.offset, done)
                });
            }
        }
        if !open && running.is_empty() {
            return;
        }
        tokio::select! {
            biased;
            Some(joined) = running.join_next(), if !running.is_empty() => match joined {
                Ok((key, offset, done)) => {
                    busy.remove(&key);
                    if done {
                        work.tracker().finished(offset);
                    }
                }
                Err(e) => warn!(error = %e, "handler task failed; its record stays unfinished"),
            },
            () = stopped(&mut stop), if open => {
                // Take no more records; the running ones finish (or give up their waits) first.
                open = false;
                backlog.clear();
            }
            r = records.recv(), if open => match r {
                Some(record) => backlog.push_back(record),
                None => {
                    open = false;
                    backlog.clear();
                }
            },
        }
    }
}

/// The first record of the backlog whose key is not running (being the first, no earlier record of its key waits).
fn next_startable(backlog: &mut VecDeque<ConsumerRecord>, busy: &HashSet<Option<Bytes>>) -> Option<ConsumerRecord> {
    let i = backlog.iter().position(|r| !busy.contains(&r.key))?;
    backlog.remove(i)
}

/// How a run of attempts ended.
enum Attempts {
    Done,
    /// `stop` came during a backoff.
    Stopped,
    /// Failed for good: permanent, or the last attempt (its number given).
    Failed(HandlerError, u32),
}

/// Runs `call(attempt)` until it succeeds, fails permanently or for the last time, or `stop` comes during a backoff
/// (backoffs wait in memory: other partitions go on). `failed` sees each failure before it is judged.
async fn run_attempts(
    ctx: &WorkerContext,
    stop: &mut watch::Receiver<bool>,
    span: &tracing::Span,
    mut call: impl FnMut(u32) -> BoxFuture,
    mut failed: impl FnMut(&HandlerError),
) -> Attempts {
    let retry = &ctx.settings.retry;
    let counters = &ctx.counters;
    let mut attempt = 1;
    loop {
        let slot = match &ctx.limit {
            None => None,
            Some(limit) => tokio::select! {
                biased;
                () = stopped(stop) => return Attempts::Stopped,
                permit = limit.clone().acquire_owned() => permit.ok(),
            },
        };
        let started = Instant::now();
        let result = call(attempt).await;
        counters.handler_took(started.elapsed());
        drop(slot);
        let e = match result {
            Ok(()) => return Attempts::Done,
            Err(e) => e,
        };
        counters.handler_failures.fetch_add(1, Ordering::Relaxed);
        failed(&e);
        if retry.classify(&e) == Classification::Permanent || attempt >= retry.max_attempts {
            return Attempts::Failed(e, attempt);
        }
        let wait = retry.backoff(attempt);
        span.in_scope(|| debug!(attempt, error = %e, ?wait, "handler failed; retrying"));
        if !sleep_unless_stopped(stop, wait).await {
            return Attempts::Stopped;
        }
        attempt += 1;
        counters.retries.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sleeps `wait`; false when `stop` came first.
async fn sleep_unless_stopped(stop: &mut watch::Receiver<bool>, wait: Duration) -> bool {
    if wait.is_zero() {
        return !*stop.borrow();
    }
    tokio::select! {
        biased;
        () = stopped(stop) => false,
        () = tokio::time::sleep(wait) => true,
    }
}

/// Waits until every record of `records` that came through a retry topic is due; false when `stop` came first.
async fn wait_until_due(ctx: &WorkerContext, stop: &mut watch::Receiver<bool>, records: &[ConsumerRecord]) -> bool {
    if ctx.settings.retry_topics.is_none() {
        return true;
    }
    let wait = records.iter().map(retry_topic::wait_for).max().unwrap_or_default();
    sleep_unless_stopped(stop, wait).await
}

/// The hop a record is on (0 unless retry topics are set).
fn hop_of(ctx: &WorkerContext, record: &ConsumerRecord) -> u32 {
    if ctx.settings.retry_topics.is_some() { retry_topic::hop(record) } else { 0 }
}

/// A record's trace context: a child of the one its headers carry, or a new trace.
fn record_trace(record: &ConsumerRecord) -> TraceContext {
    TraceContext::extract(&record.headers).map(|c| c.child()).unwrap_or_else(TraceContext::new_root)
}

/// Runs the handler on `record` with retries, then forwards it to the next retry topic or dead-letters it if it
/// still fails. True when the record is done (handled, forwarded or dead-lettered); false when `stop` came first
/// (the record is left unfinished).
async fn process(
    ctx: &WorkerContext,
    stop: &mut watch::Receiver<bool>,
    record: &ConsumerRecord,
    handler: &HandlerFn,
) -> bool {
    let trace = record_trace(record);
    let span = trace.process_span(record, ctx.group.as_deref());
    if !wait_until_due(ctx, stop, std::slice::from_ref(record)).await {
        return false;
    }
    let hop = hop_of(ctx, record);
    let call = |attempt| {
        let delivery = Delivery { record: record.clone(), attempt, hop, trace: trace.clone() };
        Box::pin(trace.clone().scope(handler(delivery)).instrument(span.clone())) as BoxFuture
    };
    let outcome = run_attempts(ctx, stop, &span, call, |_| {}).await;
    match outcome {
        Attempts::Done => {
            ctx.counters.records_handled.fetch_add(1, Ordering::Relaxed);
            true
        }
        Attempts::Stopped => false,
        Attempts::Failed(error, attempt) => fail_record(ctx, stop, record, &error, attempt, &span).await,
    }
}

/// Runs the batch handler on `batch` with retries; after the last attempt the failed record (when the handler
/// named one, [`HandlerError::at_record`]) or each record goes through [`fail_record`]. Returns how many records from
/// the front are done (all, or fewer when `stop` came first).
async fn process_batch(
    ctx: &WorkerContext,
    stop: &mut watch::Receiver<bool>,
    batch: &[ConsumerRecord],
    handler: &BatchFn,
) -> usize {
    let Some(first) = batch.first() else { return 0 };
    let span = trace::batch_span(&first.topic, first.partition, first.offset, batch.len(), ctx.group.as_deref());
    if !wait_until_due(ctx, stop, batch).await {
        return 0;
    }
    let traces: Vec<TraceContext> = batch.iter().map(record_trace).collect();
    ctx.counters.batches.fetch_add(1, Ordering::Relaxed);
    let handled = |n: usize| ctx.counters.records_handled.fetch_add(n as u64, Ordering::Relaxed);
    // The records before `start` are done; a failure naming its record moves `start` up to it.
    let start = AtomicUsize::new(0);
    while start.load(Ordering::Relaxed) < batch.len() {
        let call = |attempt| {
            let from = start.load(Ordering::Relaxed);
            let delivery = BatchDelivery { records: batch[from..].to_vec(), attempt, traces: traces[from..].to_vec() };
            Box::pin(handler(delivery).instrument(span.clone())) as BoxFuture
        };
        let failed = |e: &HandlerError| {
            let from = start.load(Ordering::Relaxed);
            if let Some(i) = e.failed_record().filter(|i| from + i < batch.len()) {
                handled(i);
                start.store(from + i, Ordering::Relaxed);
            }
        };
        match run_attempts(ctx, stop, &span, call, failed).await {
            Attempts::Done => {
                handled(batch.len() - start.load(Ordering::Relaxed));
                return batch.len();
            }
            Attempts::Stopped => return start.load(Ordering::Relaxed),
            Attempts::Failed(error, attempt) => {
                let from = start.load(Ordering::Relaxed);
                let to =
                    if error.failed_record().is_some_and(|i| i < batch.len() - from) { from + 1 } else { batch.len() };
                for (i, record) in batch.iter().enumerate().take(to).skip(from) {
                    if !fail_record(ctx, stop, record, &error, attempt, &span).await {
                        return i;
                    }
                }
                start.store(to, Ordering::Relaxed);
            }
        }
    }
    batch.len()
}

/// A record that failed for good in this delivery: to the next retry topic (a retriable error, retry topics set
/// and not used up), else to the dead-letter topic (or logged and skipped without one). True when done; false
/// when `stop` came while a write was failing (the record is left unfinished).
async fn fail_record(
    ctx: &WorkerContext,
    stop: &mut watch::Receiver<bool>,
    record: &ConsumerRecord,
    error: &HandlerError,
    attempt: u32,
    span: &tracing::Span,
) -> bool {
    let group = ctx.group.as_deref();
    let counters = &ctx.counters;
    let hop = hop_of(ctx, record);
    let next = match &ctx.settings.retry_topics {
        Some(rt) if ctx.settings.retry.classify(error) == Classification::Retriable => {
            rt.next_hop(&original_topic(record), hop).map(|next| (rt, next))
        }
        _ => None,
    };
    if let Some((rt, (topic, delay))) = next {
        let out = retry_record(record, error, group, &topic, hop + 2, retry_topic::due_millis(delay));
        let send = || send_to(&rt.producer, out.clone(), DeadLetterPartition::Same, record.partition);
        let Some(meta) = write_until_acked(ctx, stop, span, "retry-topic", send).await else { return false };
        counters.retry_topic_forwards.fetch_add(1, Ordering::Relaxed);
        span.in_scope(|| {
            info!(attempt, hop, error = %error, ?delay, retry_topic = %meta.topic, retry_partition = meta.partition,
                retry_offset = meta.offset, "record forwarded to a retry topic")
        });
        return true;
    }
    let Some(dl) = &ctx.settings.dead_letter else {
        span.in_scope(|| error!(attempt, error = %error, "record failed and no dead-letter topic is set; skipped"));
        return true;
    };
    let publish = || dl.publish(record, error, group);
    let Some(meta) = write_until_acked(ctx, stop, span, "dead-letter", publish).await else { return false };
    counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
    span.in_scope(|| {
        warn!(attempt, hop, error = %error, dlt = %meta.topic, dlt_partition = meta.partition, dlt_offset = meta.offset,
            "record dead-lettered")
    });
    true
}

/// Calls `write` until the broker acknowledges it, backing off between failures (the partition waits: a record
/// is never dropped because its dead-letter or retry-topic write failed). `None` when `stop` came first.
async fn write_until_acked<F, Fut>(
    ctx: &WorkerContext,
    stop: &mut watch::Receiver<bool>,
    span: &tracing::Span,
    what: &str,
    mut write: F,
) -> Option<RecordMetadata>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = kafkar::Result<RecordMetadata>>,
{
    let mut attempt = 1;
    loop {
        match write().instrument(span.clone()).await {
            Ok(meta) => return Some(meta),
            Err(e) => {
                ctx.counters.dead_letter_failures.fetch_add(1, Ordering::Relaxed);
                let wait = ctx.settings.retry.backoff(attempt);
                span.in_scope(|| error!(error = %e, ?wait, what, "write failed; the partition waits and retries"));
                if !sleep_unless_stopped(stop, wait).await {
                    return None;
                }
                attempt = attempt.saturating_add(1);
            }
        }
    }
}

/// Applies assignment changes to the workers: a revoked partition's worker stops, its running handler gets
/// `revoke_timeout`, and its finished prefix is committed before the partition goes; a lost partition's worker is
/// stopped at once and nothing is committed.
struct Rebalance {
    slots: Slots,
    ctx: Arc<WorkerContext>,
}

impl Rebalance {
    fn take(&self, partitions: &[TopicPartition]) -> Vec<(TopicPartition, Slot)> {
        let mut slots = lock(&self.slots);
        partitions.iter().filter_map(|tp| slots.remove_entry(tp)).collect()
    }
}

impl RebalanceListener for Rebalance {
    fn on_assigned(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        debug!(?partitions, "assigned");
        self.ctx.counters.assigned_partitions.store(consumer.assignment().len(), Ordering::Relaxed);
    }

    fn on_revoked(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        let taken = self.take(partitions);
        if taken.is_empty() {
            return;
        }
        let deadline = tokio::time::Instant::now() + self.ctx.settings.revoke_timeout;
        // The listener runs inside the consumer's poll: waiting for handlers (other tasks) blocks this thread, which
        // a multi-threaded runtime allows through block_in_place. A current-thread runtime cannot run the handlers
        // while this thread waits, so there the running handlers are abandoned.
        let handle = tokio::runtime::Handle::current();
        let taken = if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(|| handle.block_on(stop_and_wait(taken, deadline)))
        } else {
            warn!("revocation on a current-thread runtime: running handlers are abandoned, not awaited");
            for (_, s) in &taken {
                s.abandon();
            }
            taken
        };
        let due = due_offsets(taken.iter().map(|(tp, s)| (tp, &s.work)));
        info!(?partitions, committing = due.len(), "revoked");
        if due.is_empty() {
            return;
        }
        let counters = self.ctx.counters.clone();
        let offsets = due.into_iter().map(|(tp, (_, o))| (tp, o)).collect();
        // Queued before the consumer acknowledges the revocation, which waits for it.
        let queued = consumer.commit_offsets_async(offsets, move |r| match r {
            Ok(()) => {
                counters.commits.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                counters.commit_failures.fetch_add(1, Ordering::Relaxed);
                warn!(error = %e, "commit of revoked partitions failed: their finished records will be handled again");
            }
        });
        if let Err(e) = queued {
            warn!(error = %e, "commit of revoked partitions could not be queued");
        }
    }

    fn on_lost(&mut self, _consumer: &mut Consumer, partitions: &[TopicPartition]) {
        warn!(?partitions, "partitions lost: their running handlers are abandoned, nothing is committed");
        for (_, s) in self.take(partitions) {
            s.abandon();
        }
    }
}
