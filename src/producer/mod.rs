//! The producer: partitioning, the record accumulator, the sender and idempotence.
//!
//! [`Producer`] is a cheap, clonable handle. [`Producer::send`] picks a partition, reserves `buffer.memory`, and
//! encodes the record straight into its partition's open batch; it never does network IO (it only waits for topic
//! metadata the first time a topic is used, and for memory when the buffer is full). One sender task per producer
//! drains ready batches (full, lingered or flushed), compresses and seals them, groups them per partition leader
//! into Produce requests (at most one batch per partition per request, up to `max.in.flight` requests per
//! connection), and completes each batch's shared [`DeliveryFuture`] result when the broker answers.
//!
//! A record's result reaches the application one of four ways: a [`DeliveryFuture`] ([`Producer::send`]), a
//! boxed callback ([`Producer::send_with_callback`]), a producer-wide [`DeliveryHandler`] called with the tag the
//! record was sent with ([`Producer::send_reported`]: the batch keeps only `(offset delta, timestamp, tag)`, so
//! nothing is allocated per record), or not at all ([`Producer::send_forget`]: failures go to the error channel).
//!
//! With idempotence (the default) batches carry a producer id, epoch and per-partition sequence numbers assigned at
//! drain; retries resend the same sequences in order, so a retry after a lost reply is deduplicated by the broker
//! and nothing is reordered. The internal `idempotence` module says how sequence errors are resolved.
//!
//! A batch of several records the broker refuses with MESSAGE_TOO_LARGE (the topic's `max.message.bytes` is below
//! `batch.size`) is split in halves and the pieces sent in its place, again until they fit, keeping its sequence
//! range; each record's delivery reports the offset of the piece it went out in.
//!
//! With `transactional.id`, the producer is transactional: see [`transaction`].
//!
//! Differences from the Java client: the idempotent epoch bump asks the broker (InitProducerId with the current id and epoch, which for a producer
//! without transactional id returns a fresh id) instead of incrementing the epoch locally; `buffer.memory` counts
//! the encoded bytes of records rather than pooled `batch.size` buffers; callbacks run on the sender task; a batch
//! that lingered out but is not full waits while its partition has a batch in flight (a broker answers a
//! connection's requests one at a time, so it would only queue there), and goes when the reply comes: at linger.ms 0
//! and a steady rate, one request per round trip rather than a stream of small ones. Full batches go up to
//! `max.in.flight` per partition.

mod accumulator;
mod clock;
mod config;
mod idempotence;
mod metrics;
pub mod partitioner;
mod record;
mod sender;
pub mod transaction;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;
use tracing::debug;

pub use config::{Acks, ProducerConfig};
pub use idempotence::ProducerIdAndEpoch;
pub use metrics::ProducerMetrics;
pub use partitioner::Partitioner;
pub use record::{DeliveryFuture, DeliveryHandler, ProducerRecord, RecordMetadata, SendFailure};
pub use transaction::{ConsumerGroupMetadata, TransactionManager, TransactionState};

use accumulator::{AccumulatorConfig, BufferMemory, Delivery, RecordAccumulator, record_size_upper_bound};
use metrics::Counters;

use crate::cluster::{Cluster, validate_topic_name};
use crate::error::{Error, ErrorKind, Result};

/// How many fire-and-forget failures the error channel holds before further ones are only logged.
const ERROR_CHANNEL_CAPACITY: usize = 1024;

/// State shared by the producer handles and the sender task.
pub(crate) struct Shared {
    pub config: ProducerConfig,
    pub idempotent: bool,
    pub cluster: Arc<Cluster>,
    /// Transactions, when `transactional.id` is set.
    pub txn: Option<Arc<transaction::TxnShared>>,
    pub accumulator: RecordAccumulator,
    pub memory: BufferMemory,
    pub counters: Counters,
    /// Wakes the sender: a batch was opened or closed, a flush started, memory is wanted, or shutdown.
    pub wake: Notify,
    /// No more sends are accepted.
    pub closed: AtomicBool,
    /// The sender exits once nothing is left to send.
    pub shutdown: AtomicBool,
    /// The sender fails everything left with `Closed` and exits.
    pub abort: AtomicBool,
    has_fatal: AtomicBool,
    fatal: Mutex<Option<Error>>,
    errors_tx: mpsc::Sender<SendFailure>,
    errors_rx: Mutex<Option<mpsc::Receiver<SendFailure>>>,
    /// Set to true by the sender when it has exited.
    pub stopped: watch::Sender<bool>,
}

impl Shared {
    /// A non-recoverable error (InitProducerId refused): every batch and every later send fails with it.
    pub(crate) fn set_fatal(&self, e: Error) {
        let mut f = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            *f = Some(e);
            self.has_fatal.store(true, Ordering::Release);
        }
    }

    pub(crate) fn fatal(&self) -> Option<Error> {
        if !self.has_fatal.load(Ordering::Acquire) {
            return None;
        }
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reports a failed batch with fire-and-forget records on the error channel.
    pub(crate) fn report_failure(&self, f: SendFailure) {
        if self.errors_tx.try_send(f).is_err() {
            debug!("producer error channel full or not taken; failure only logged");
        }
    }
}

/// Stops the sender (gracefully: it finishes what is queued) when the last [`Producer`] handle is dropped.
struct HandleGuard {
    shared: Arc<Shared>,
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.shutdown.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

/// A Kafka producer. Cloning is cheap (all clones share one sender and buffer); it is `Send + Sync`.
///
/// ```no_run
/// # async fn demo() -> kafkar::Result<()> {
/// use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
/// let producer = Producer::new(ProducerConfig::new("localhost:9092")).await?;
/// let meta = producer.send_and_wait(ProducerRecord::new("orders").key("k").value("v")).await?;
/// println!("{}-{}@{}", meta.topic, meta.partition, meta.offset);
/// producer.close().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Producer {
    shared: Arc<Shared>,
    _guard: Arc<HandleGuard>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer").field("config", &self.shared.config).finish()
    }
}

impl Producer {
    /// Validates `config` and starts the producer's sender task. No connection is made until the first send.
    pub async fn new(config: ProducerConfig) -> Result<Producer> {
        config.validate()?;
        let idempotent = config.idempotent();
        let cluster = Cluster::new(config.client.clone(), true)?;
        let accumulator = RecordAccumulator::new(
            AccumulatorConfig {
                batch_size: config.batch_size.max(1),
                compression: config.compression,
                compression_level: config.effective_compression_level(),
                linger: config.linger,
                transactional: config.transactional_id.is_some(),
            },
            config.partitioner.clone(),
            config.delivery_handler.clone(),
        );
        let (errors_tx, errors_rx) = mpsc::channel(ERROR_CHANNEL_CAPACITY);
        let txn = config.transactional_id.as_ref().map(|id| {
            let timeout_ms = config.transaction_timeout.as_millis().min(i32::MAX as u128) as i32;
            Arc::new(transaction::TxnShared::new(cluster.clone(), id.clone(), timeout_ms))
        });
        let shared = Arc::new(Shared {
            txn,
            memory: BufferMemory::new(config.buffer_memory),
            config,
            idempotent,
            cluster,
            accumulator,
            counters: Counters::default(),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            abort: AtomicBool::new(false),
            has_fatal: AtomicBool::new(false),
            fatal: Mutex::new(None),
            errors_tx,
            errors_rx: Mutex::new(Some(errors_rx)),
            stopped: watch::channel(false).0,
        });
        sender::spawn(shared.clone());
        // The CreateTime clock calibrates its counter once per process (under a millisecond, up to 200 ms on a busy
        // machine): done off the runtime now rather than in the first send.
        drop(tokio::task::spawn_blocking(clock::calibrate));
        debug!(idempotent, "producer started");
        Ok(Producer { _guard: Arc::new(HandleGuard { shared: shared.clone() }), shared })
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.shared.config
    }

    /// Whether the producer is idempotent (see [`ProducerConfig::idempotent`]).
    pub fn is_idempotent(&self) -> bool {
        self.shared.idempotent
    }

    fn check_open(&self) -> Result<()> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::Closed));
        }
        if let Some(e) = self.shared.fatal() {
            return Err(e);
        }
        if let Some(txn) = &self.shared.txn {
            txn.lock().check_send()?;
        }
        Ok(())
    }

    /// Checks what can be checked without metadata and returns the bytes to reserve.
    fn check_record(&self, record: &ProducerRecord) -> Result<usize> {
        let size = record_size_upper_bound(record);
        let limit = self.shared.config.max_request_size;
        if size > limit {
            return Err(Error::new(ErrorKind::RecordTooLarge { size, limit }).with_topic(&record.topic));
        }
        if size > self.shared.memory.limit() {
            return Err(Error::new(ErrorKind::RecordTooLarge { size, limit: self.shared.memory.limit() })
                .with_topic(&record.topic));
        }
        if let Some(ts) = record.timestamp {
            if ts < 0 {
                return Err(Error::invalid(format!("timestamp {ts} is negative")).with_topic(&record.topic));
            }
        }
        Ok(size)
    }

    fn timestamp(record: &ProducerRecord) -> i64 {
        record.timestamp.unwrap_or_else(clock::now_ms)
    }

    /// Appends with `size` bytes already reserved; gives them back on failure.
    fn append(&self, record: &ProducerRecord, size: usize, delivery: Delivery) -> Result<Option<DeliveryFuture>> {
        match self.shared.accumulator.append(record, Self::timestamp(record), size, delivery) {
            Ok(a) => {
                if a.wake_sender {
                    self.shared.wake.notify_one();
                }
                Ok(a.future)
            }
            Err(e) => {
                self.shared.memory.release(size);
                Err(e)
            }
        }
    }

    async fn load_topic(&self, topic: &str, deadline: Instant) -> Result<()> {
        validate_topic_name(topic)?;
        let wait = deadline.saturating_duration_since(Instant::now());
        let info =
            tokio::time::timeout_at(deadline, self.shared.cluster.topic(topic, wait)).await.map_err(|_| {
                Error::new(ErrorKind::Timeout).with_topic(topic).with_message(Some(format!(
                    "topic metadata not available within max.block.ms ({} ms)",
                    self.shared.config.max_block.as_millis()
                )))
            })??;
        if info.partition_count() == 0 {
            return Err(Error::broker(kafkar_protocol::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION).with_topic(topic));
        }
        self.shared.accumulator.update_topic(info);
        Ok(())
    }

    /// Queues `record`; its future for [`Delivery::Future`].
    async fn enqueue(&self, record: &ProducerRecord, delivery: Delivery) -> Result<Option<DeliveryFuture>> {
        self.check_open()?;
        let size = self.check_record(record)?;
        // Fast path: memory free and metadata known, one lock, no await.
        if self.shared.memory.try_reserve(size) {
            match self.append(record, size, delivery) {
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock(_)) => {}
                r => return r,
            }
        }
        // Boxed: keeps the future of every send small (it is moved around on the fast path too).
        Box::pin(self.enqueue_waiting(record, size, delivery)).await
    }

    /// The slow path of `enqueue`: wait for metadata and memory.
    async fn enqueue_waiting(
        &self,
        record: &ProducerRecord,
        size: usize,
        delivery: Delivery,
    ) -> Result<Option<DeliveryFuture>> {
        let deadline = Instant::now() + self.shared.config.max_block;
        if !self.shared.accumulator.knows(&record.topic) {
            self.load_topic(&record.topic, deadline).await?;
        }
        let shared = &self.shared;
        shared.memory.reserve(size, deadline, || shared.wake.notify_one()).await.map_err(|e| {
            e.with_topic(&record.topic).with_message(Some(format!(
                "buffer.memory ({} bytes) full for max.block.ms ({} ms)",
                shared.memory.limit(),
                shared.config.max_block.as_millis()
            )))
        })?;
        self.check_open().inspect_err(|_| self.shared.memory.release(size))?;
        self.append(record, size, delivery)
    }

    /// Queues `record` and returns its future.
    async fn enqueue_future(&self, record: &ProducerRecord) -> Result<DeliveryFuture> {
        self.enqueue(record, Delivery::Future).await.and_then(expect_future)
    }

    /// Queues `record` and returns a future of its delivery. Waits (up to `max.block.ms`) only for the topic's
    /// metadata on first use and for `buffer.memory` when it is full; never for the network otherwise.
    ///
    /// Fails at once with [`RecordTooLarge`](ErrorKind::RecordTooLarge) for a record above `max.request.size`,
    /// [`InvalidArgument`](ErrorKind::InvalidArgument) for an invalid topic name, a partition the topic does not
    /// have or a negative timestamp, [`Closed`](ErrorKind::Closed) after [`close`](Self::close), and
    /// [`QueueFull`](ErrorKind::QueueFull) when the buffer stayed full for `max.block.ms`.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture> {
        self.enqueue_future(&record).await
    }

    /// Like [`send`](Self::send) but never waits: [`QueueFull`](ErrorKind::QueueFull) when the buffer is full, and
    /// [`WouldBlock`](ErrorKind::WouldBlock) when the topic's metadata is not known yet (a fetch is started, so a
    /// later `try_send` can succeed).
    pub fn try_send(&self, record: ProducerRecord) -> Result<DeliveryFuture> {
        self.check_open()?;
        let size = self.check_record(&record)?;
        if !self.shared.accumulator.knows(&record.topic) {
            validate_topic_name(&record.topic)?;
            self.prefetch(record.topic.clone());
            return Err(Error::new(ErrorKind::WouldBlock(format!("metadata of topic {} not known yet", record.topic)))
                .with_topic(&record.topic));
        }
        if !self.shared.memory.try_reserve(size) {
            self.shared.wake.notify_one();
            return Err(Error::new(ErrorKind::QueueFull).with_topic(&record.topic));
        }
        self.append(&record, size, Delivery::Future).and_then(expect_future)
    }

    fn prefetch(&self, topic: Arc<str>) {
        let p = self.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + p.shared.config.max_block;
            if let Err(e) = p.load_topic(&topic, deadline).await {
                debug!(topic = %topic, error = %e, "metadata prefetch failed");
            }
        });
    }

    /// Sends `record` and waits for its delivery.
    pub async fn send_and_wait(&self, record: ProducerRecord) -> Result<RecordMetadata> {
        self.send(record).await?.await
    }

    /// Sends `record` and calls `callback` with its result once the batch completes. The callback runs on the
    /// producer's sender task: keep it short. An error returned here (the record was not queued) means the
    /// callback is dropped without being called.
    pub async fn send_with_callback<F>(&self, record: ProducerRecord, callback: F) -> Result<()>
    where
        F: FnOnce(Result<RecordMetadata>) + Send + 'static,
    {
        let f = self.enqueue_future(&record).await?;
        f.on_complete(Box::new(callback));
        Ok(())
    }

    /// Sends `record` and reports its result, with `tag`, to the producer's [`DeliveryHandler`]
    /// ([`ProducerConfig::with_delivery_handler`]) once its batch completes: librdkafka's delivery report callback
    /// and per-message opaque. The fastest way to learn every record's result: no future or closure is allocated
    /// per record. Fails as [`send`](Self::send) does, and with [`InvalidArgument`](ErrorKind::InvalidArgument)
    /// when the producer has no handler; an error here means the record was not queued and is not reported.
    pub async fn send_reported(&self, record: ProducerRecord, tag: u64) -> Result<()> {
        if self.shared.config.delivery_handler.is_none() {
            return Err(Error::invalid(
                "send_reported needs a delivery handler (ProducerConfig::with_delivery_handler)",
            )
            .with_topic(&record.topic));
        }
        self.enqueue(&record, Delivery::Report(tag)).await.map(drop)
    }

    /// Sends `record` without a result to wait for. A failure is reported (once per failed batch) on the channel
    /// of [`take_errors`](Self::take_errors), and logged.
    pub async fn send_forget(&self, record: ProducerRecord) -> Result<()> {
        self.enqueue(&record, Delivery::Forget).await.map(drop)
    }

    /// The receiving end of the error channel of [`send_forget`](Self::send_forget): one [`SendFailure`] per batch
    /// whose fire-and-forget records failed. The first call takes it; later calls return `None`. It holds up to
    /// 1024 failures; when it is full (or never taken) further failures are only logged.
    pub fn take_errors(&self) -> Option<mpsc::Receiver<SendFailure>> {
        self.shared.errors_rx.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Sends every record queued before this call at once (lingering ends) and waits until each has its result.
    pub async fn flush(&self) {
        let target = self.shared.accumulator.close_all();
        self.shared.wake.notify_one();
        let mut stopped = self.shared.stopped.subscribe();
        tokio::select! {
            _ = self.shared.accumulator.wait_complete_below(target) => {}
            // A stopped sender completes nothing more (it failed what it held).
            _ = stopped.wait_for(|s| *s) => {}
        }
    }

    /// Refuses further sends, flushes, and stops the sender. Records then still incomplete (none, unless the
    /// sender stopped early) fail with [`Closed`](ErrorKind::Closed).
    pub async fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.flush().await;
        self.stop(false).await;
    }

    /// Like [`close`](Self::close), but gives up waiting after `timeout`: whatever is still incomplete then fails
    /// with [`Closed`](ErrorKind::Closed).
    pub async fn close_timeout(&self, timeout: std::time::Duration) {
        self.shared.closed.store(true, Ordering::Release);
        if tokio::time::timeout(timeout, self.flush()).await.is_err() {
            self.stop(true).await;
        } else {
            self.stop(false).await;
        }
    }

    async fn stop(&self, abort: bool) {
        if abort {
            self.shared.abort.store(true, Ordering::Release);
        }
        self.shared.shutdown.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        let mut rx = self.shared.stopped.subscribe();
        let _ = rx.wait_for(|s| *s).await;
        self.shared.cluster.close();
    }

    /// A snapshot of the producer's counters.
    pub fn metrics(&self) -> ProducerMetrics {
        let mut m =
            self.shared.counters.snapshot(self.shared.memory.used(), self.shared.accumulator.incomplete_batches());
        let throttle = self.shared.cluster.pool().throttle_stats();
        m.throttled_responses = throttle.throttled_responses();
        m.throttle_time = throttle.total();
        m
    }

    /// Connection counters over all of this client's broker connections: dials, dial failures, reconnects,
    /// authentication failures and KIP-368 re-authentications.
    pub fn connection_metrics(&self) -> crate::ConnectionMetrics {
        self.shared.cluster.pool().connection_metrics()
    }

    /// The cluster metadata this producer uses.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.shared.cluster
    }
}

/// The future an append with [`Delivery::Future`] returns.
fn expect_future(f: Option<DeliveryFuture>) -> Result<DeliveryFuture> {
    f.ok_or_else(|| Error::invalid("internal: an append for a future returned none"))
}
