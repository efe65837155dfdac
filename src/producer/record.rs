//! What goes in and comes out of a producer: [`ProducerRecord`], [`RecordMetadata`], and the [`DeliveryFuture`]
//! that resolves to a record's result.
//!
//! Results are shared per batch: every record appended to a batch holds the same [`BatchOutcome`] (one allocation
//! per batch) plus its offset delta and timestamp, and the sender completes the batch once.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use kafkar_protocol::records::Header;
use tracing::error;

use crate::error::{Error, Result};

/// A record to send.
///
/// The topic is an `Arc<str>`: keep one per topic and clone it into each record, and no record allocates a topic
/// name (the clone is a reference count increment; the producer keeps sharing that `Arc` down to the delivery
/// result). `ProducerRecord::new("orders")` with a `&str` allocates the name once per record instead.
///
/// ```
/// use std::sync::Arc;
/// use kafkar::producer::ProducerRecord;
///
/// let orders: Arc<str> = Arc::from("orders");
/// let records: Vec<ProducerRecord> =
///     (0..3).map(|i| ProducerRecord::new(orders.clone()).value(format!("order {i}"))).collect();
/// assert!(records.iter().all(|r| Arc::ptr_eq(&r.topic, &orders)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerRecord {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition, or `None` to let the partitioner choose.
    pub partition: Option<i32>,
    /// The key; `None` is null.
    pub key: Option<Bytes>,
    /// The value; `None` is null (a tombstone).
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<Header>,
    /// The timestamp in milliseconds since the epoch, or `None` for the time of `send`.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record for `topic` with null key and value, no headers, and the partitioner's choice of partition. Pass a
    /// clone of an `Arc<str>` kept per topic to avoid allocating the name per record.
    pub fn new(topic: impl Into<Arc<str>>) -> ProducerRecord {
        ProducerRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Bytes>) -> ProducerRecord {
        self.key = Some(key.into());
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: impl Into<Bytes>) -> ProducerRecord {
        self.value = Some(value.into());
        self
    }

    /// Sets the partition.
    pub fn partition(mut self, partition: i32) -> ProducerRecord {
        self.partition = Some(partition);
        self
    }

    /// Sets the timestamp (milliseconds since the epoch).
    pub fn timestamp(mut self, timestamp_ms: i64) -> ProducerRecord {
        self.timestamp = Some(timestamp_ms);
        self
    }

    /// Adds a header.
    pub fn header(mut self, key: impl Into<Bytes>, value: Option<Bytes>) -> ProducerRecord {
        self.headers.push(Header::new(key, value));
        self
    }

    /// Replaces the headers.
    pub fn headers(mut self, headers: Vec<Header>) -> ProducerRecord {
        self.headers = headers;
        self
    }
}

/// Where a record was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset; -1 when unknown (`acks=0`).
    pub offset: i64,
    /// The record's timestamp: its create time, or the broker's append time for `LogAppendTime` topics.
    pub timestamp: i64,
}

/// A record that `send_forget` could not deliver, reported on the producer's error channel
/// ([`Producer::take_errors`](super::Producer::take_errors)). One report per failed batch.
#[derive(Clone, Debug)]
pub struct SendFailure {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// How many fire-and-forget records of the batch failed.
    pub records: u32,
    /// Why.
    pub error: Error,
}

/// What a successful batch learnt from the broker.
#[derive(Clone, Debug)]
pub(crate) struct Delivered {
    /// The offset of the batch's first record (-1 with acks=0).
    pub base_offset: i64,
    /// The broker's append time for `LogAppendTime` topics, else -1.
    pub log_append_time: i64,
    /// For a batch the broker refused as too large and that was sent again in pieces: the index of each later
    /// piece's first record and that piece's base offset, ascending.
    pub pieces: Option<Arc<Vec<(i32, i64)>>>,
}

impl Delivered {
    /// A batch written in one piece at `base_offset`.
    pub(crate) fn new(base_offset: i64, log_append_time: i64) -> Delivered {
        Delivered { base_offset, log_append_time, pieces: None }
    }

    /// The offset of the record at index `delta` of the batch.
    fn offset_of(&self, delta: i32) -> i64 {
        let (start, base) = self
            .pieces
            .as_ref()
            .and_then(|p| p.iter().rev().find(|(start, _)| *start <= delta).copied())
            .unwrap_or((0, self.base_offset));
        if base < 0 { -1 } else { base + i64::from(delta - start) }
    }
}

pub(crate) type Callback = Box<dyn FnOnce(Result<RecordMetadata>) + Send + 'static>;

/// A producer-wide handler of delivery reports (librdkafka's `dr_msg_cb`, rust-rdkafka's
/// `ProducerContext::delivery`), set with [`ProducerConfig::with_delivery_handler`](super::ProducerConfig::with_delivery_handler).
/// It is called once for every record sent with [`Producer::send_reported`](super::Producer::send_reported), with
/// the tag the record was sent with and its result.
///
/// Unlike a [`send_with_callback`](super::Producer::send_with_callback) closure it costs no allocation per record:
/// the record's batch keeps only its tag. Calls run on the producer's sender task, in the order of the records within
/// a batch: keep them short. Any `Fn(u64, Result<RecordMetadata>)` closure is a handler.
pub trait DeliveryHandler: Send + Sync + 'static {
    /// The record sent with `tag` was written (its metadata) or failed (the error of its batch).
    fn delivered(&self, tag: u64, result: Result<RecordMetadata>);
}

impl<F> DeliveryHandler for F
where
    F: Fn(u64, Result<RecordMetadata>) + Send + Sync + 'static,
{
    fn delivered(&self, tag: u64, result: Result<RecordMetadata>) {
        self(tag, result)
    }
}

/// A registered callback: the record's offset delta and timestamp, and the callback.
type CallbackEntry = (i32, i64, Callback);

/// A registered delivery report: the record's offset delta, timestamp and tag.
type ReportEntry = (i32, i64, u64);

/// The largest chunk of [`Chunks`], in bytes (32 KiB: 1024 callbacks, about 1,365 reports).
const CHUNK_BYTES_MAX: usize = 32 * 1024;

/// Entries in chunks that never reallocate: each chunk as large as all before it (from 8 entries up to
/// [`CHUNK_BYTES_MAX`]). A batch of ten thousand records thus holds at most one partly used chunk, where a doubling
/// `Vec` would hold up to twice its entries and copy them all at every doubling.
struct Chunks<T> {
    chunks: Vec<Vec<T>>,
    count: usize,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks { chunks: Vec::new(), count: 0 }
    }
}

impl<T> Chunks<T> {
    const MAX: usize = CHUNK_BYTES_MAX / std::mem::size_of::<T>();

    fn push(&mut self, entry: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < chunk.capacity() => chunk.push(entry),
            _ => {
                let mut chunk = Vec::with_capacity(self.count.clamp(8, Self::MAX));
                chunk.push(entry);
                self.chunks.push(chunk);
            }
        }
        self.count += 1;
    }

    fn into_iter(self) -> impl Iterator<Item = T> {
        self.chunks.into_iter().flatten()
    }
}

#[derive(Default)]
struct Waiters {
    wakers: Vec<Waker>,
    callbacks: Chunks<CallbackEntry>,
    /// The producer's handler (set with the first report) and the records that report to it.
    reports: Option<(Arc<dyn DeliveryHandler>, Chunks<ReportEntry>)>,
}

/// The shared result of one batch: every [`DeliveryFuture`] of the batch points here.
pub(crate) struct BatchOutcome {
    topic: Arc<str>,
    partition: i32,
    result: OnceLock<Result<Delivered>>,
    waiters: Mutex<Waiters>,
}

impl std::fmt::Debug for BatchOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchOutcome")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("result", &self.result.get())
            .finish()
    }
}

impl BatchOutcome {
    pub(crate) fn new(topic: Arc<str>, partition: i32) -> Arc<BatchOutcome> {
        Arc::new(BatchOutcome { topic, partition, result: OnceLock::new(), waiters: Mutex::default() })
    }

    pub(crate) fn topic(&self) -> &Arc<str> {
        &self.topic
    }

    pub(crate) fn partition(&self) -> i32 {
        self.partition
    }

    pub(crate) fn is_done(&self) -> bool {
        self.result.get().is_some()
    }

    fn metadata(&self, r: &Result<Delivered>, delta: i32, timestamp: i64) -> Result<RecordMetadata> {
        match r {
            Ok(d) => Ok(RecordMetadata {
                topic: self.topic.clone(),
                partition: self.partition,
                offset: d.offset_of(delta),
                timestamp: if d.log_append_time >= 0 { d.log_append_time } else { timestamp },
            }),
            Err(e) => Err(e.clone()),
        }
    }

    /// Registers a callback for the record at `delta`; runs it at once if the batch is already done.
    pub(crate) fn add_callback(&self, delta: i32, timestamp: i64, cb: Callback) {
        let mut w = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = self.result.get() {
            drop(w);
            run_callback(cb, self.metadata(r, delta, timestamp));
            return;
        }
        w.callbacks.push((delta, timestamp, cb));
    }

    /// Takes over a closing batch's delivery reports to `handler`; reports at once if the batch is done.
    fn add_reports(&self, handler: Arc<dyn DeliveryHandler>, entries: Chunks<ReportEntry>) {
        let mut w = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = self.result.get() {
            drop(w);
            for (delta, ts, tag) in entries.into_iter() {
                run_report(handler.as_ref(), tag, self.metadata(r, delta, ts));
            }
            return;
        }
        // One open batch hands its reports over once, when it closes.
        debug_assert!(w.reports.is_none(), "a batch's reports handed over twice");
        w.reports = Some((handler, entries));
    }

    /// Sets the result (first call wins), wakes every waiting future and runs the callbacks.
    pub(crate) fn complete(&self, result: Result<Delivered>) {
        if self.result.set(result).is_err() {
            return;
        }
        let waiters = std::mem::take(&mut *self.waiters.lock().unwrap_or_else(|p| p.into_inner()));
        for w in waiters.wakers {
            w.wake();
        }
        if let Some(r) = self.result.get() {
            for (delta, ts, cb) in waiters.callbacks.into_iter() {
                run_callback(cb, self.metadata(r, delta, ts));
            }
            if let Some((handler, reports)) = waiters.reports {
                for (delta, ts, tag) in reports.into_iter() {
                    run_report(handler.as_ref(), tag, self.metadata(r, delta, ts));
                }
            }
        }
    }
}

/// The producer's own handle on a batch's outcome. Dropping it while the batch is not complete (a bug, or a sender
/// task that died) fails the batch, so that no [`DeliveryFuture`] waits forever.
pub(crate) struct BatchHandle(Arc<BatchOutcome>);

impl BatchHandle {
    pub(crate) fn new(topic: Arc<str>, partition: i32) -> BatchHandle {
        BatchHandle(BatchOutcome::new(topic, partition))
    }

    /// A reference for a record's [`DeliveryFuture`].
    pub(crate) fn share(&self) -> Arc<BatchOutcome> {
        self.0.clone()
    }
}

impl std::ops::Deref for BatchHandle {
    type Target = BatchOutcome;

    fn deref(&self) -> &BatchOutcome {
        &self.0
    }
}

impl std::fmt::Debug for BatchHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Drop for BatchHandle {
    fn drop(&mut self) {
        if !self.0.is_done() {
            self.0.complete(Err(Error::new(crate::error::ErrorKind::Closed)
                .with_partition(&self.0.topic, self.0.partition)
                .with_message(Some("the producer stopped before the batch completed".into()))));
        }
    }
}

/// The delivery reports of an open batch's records ([`Producer::send_reported`](super::Producer::send_reported)),
/// kept with the batch under the accumulator's lock, so that a record costs no lock of its own: handed to the
/// batch's outcome by [`settle`](Self::settle) when the batch closes, before the sender sees it (and, should the batch
/// be dropped unsettled, on drop: its reports then carry the outcome's error).
#[derive(Default)]
pub(crate) struct PendingReports {
    to: Option<(Arc<dyn DeliveryHandler>, Arc<BatchOutcome>)>,
    entries: Chunks<ReportEntry>,
}

impl PendingReports {
    /// Adds the report of the record at `delta` of the batch whose outcome is `outcome`.
    pub(crate) fn push(
        &mut self,
        handler: &Arc<dyn DeliveryHandler>,
        outcome: &BatchHandle,
        delta: i32,
        timestamp: i64,
        tag: u64,
    ) {
        if self.to.is_none() {
            self.to = Some((handler.clone(), outcome.share()));
        }
        self.entries.push((delta, timestamp, tag));
    }

    /// Hands the reports to the batch's outcome (they are made when it completes).
    pub(crate) fn settle(&mut self) {
        if let Some((handler, outcome)) = self.to.take() {
            outcome.add_reports(handler, std::mem::take(&mut self.entries));
        }
    }
}

impl Drop for PendingReports {
    fn drop(&mut self) {
        self.settle();
    }
}

fn run_callback(cb: Callback, r: Result<RecordMetadata>) {
    // A panicking user callback must not take the sender task down with it.
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || cb(r))).is_err() {
        error!("a producer delivery callback panicked");
    }
}

fn run_report(handler: &dyn DeliveryHandler, tag: u64, r: Result<RecordMetadata>) {
    // As a callback: a panicking handler must not take the sender task down with it.
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler.delivered(tag, r))).is_err() {
        error!(tag, "the producer's delivery handler panicked");
    }
}

/// Resolves to the [`RecordMetadata`] of one sent record, or the error that failed its batch.
///
/// Dropping it does not cancel the send.
#[must_use = "the record is sent either way, but its result is only seen by awaiting this; use send_forget to ignore it"]
pub struct DeliveryFuture {
    outcome: Arc<BatchOutcome>,
    delta: i32,
    timestamp: i64,
    registered: Option<usize>,
}

impl std::fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("topic", &self.outcome.topic)
            .field("partition", &self.outcome.partition)
            .field("delta", &self.delta)
            .field("done", &self.outcome.is_done())
            .finish()
    }
}

impl DeliveryFuture {
    pub(crate) fn new(outcome: Arc<BatchOutcome>, delta: i32, timestamp: i64) -> DeliveryFuture {
        DeliveryFuture { outcome, delta, timestamp, registered: None }
    }

    /// The partition the record was appended to.
    pub fn partition(&self) -> i32 {
        self.outcome.partition
    }

    /// Turns the future into a callback run when the batch completes (at once if it already has).
    pub(crate) fn on_complete(self, cb: Callback) {
        self.outcome.add_callback(self.delta, self.timestamp, cb);
    }

    /// The result if the batch is already done, without waiting.
    pub fn try_result(&self) -> Option<Result<RecordMetadata>> {
        self.outcome.result.get().map(|r| self.outcome.metadata(r, self.delta, self.timestamp))
    }
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(r) = this.try_result() {
            return Poll::Ready(r);
        }
        let mut w = this.outcome.waiters.lock().unwrap_or_else(|p| p.into_inner());
        // Checked again under the lock: `complete` sets the result before it takes the lock.
        if let Some(r) = this.outcome.result.get() {
            drop(w);
            return Poll::Ready(this.outcome.metadata(r, this.delta, this.timestamp));
        }
        match this.registered {
            Some(i) if i < w.wakers.len() => {
                if !w.wakers[i].will_wake(cx.waker()) {
                    w.wakers[i] = cx.waker().clone();
                }
            }
            _ => {
                this.registered = Some(w.wakers.len());
                w.wakers.push(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_outcome_resolves_every_record_of_the_batch() {
        let o = BatchOutcome::new("t".into(), 3);
        let futs: Vec<_> = (0..4).map(|d| DeliveryFuture::new(o.clone(), d, 1000 + d as i64)).collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        o.add_callback(4, 2000, Box::new(move |r| s.lock().unwrap().push(r.unwrap().offset)));
        let waiter = tokio::spawn(async move {
            let mut out = Vec::new();
            for f in futs {
                out.push(f.await.unwrap());
            }
            out
        });
        tokio::task::yield_now().await;
        o.complete(Ok(Delivered::new(100, -1)));
        let metas = waiter.await.unwrap();
        assert_eq!(metas.iter().map(|m| m.offset).collect::<Vec<_>>(), vec![100, 101, 102, 103]);
        assert_eq!(metas[2].timestamp, 1002);
        assert_eq!(metas[0].partition, 3);
        assert_eq!(*seen.lock().unwrap(), vec![104]);
        // A second completion is ignored; late callbacks run at once.
        o.complete(Err(Error::new(crate::ErrorKind::Timeout)));
        let late = Arc::new(Mutex::new(None));
        let l = late.clone();
        o.add_callback(0, 0, Box::new(move |r| *l.lock().unwrap() = Some(r.unwrap().offset)));
        assert_eq!(*late.lock().unwrap(), Some(100));
    }

    #[test]
    fn many_callbacks_run_once_each_in_registration_order() {
        let o = BatchOutcome::new("t".into(), 0);
        let seen = Arc::new(Mutex::new(Vec::new()));
        // Past several chunk sizes, and not a multiple of any.
        let n = 3 * 1024 + 77;
        for d in 0..n as i32 {
            let s = seen.clone();
            o.add_callback(d, i64::from(d) * 10, Box::new(move |r| s.lock().unwrap().push(r.unwrap())));
        }
        {
            let w = o.waiters.lock().unwrap();
            assert_eq!(w.callbacks.count, n);
            let held: usize = w.callbacks.chunks.iter().map(Vec::capacity).sum();
            let max = Chunks::<CallbackEntry>::MAX;
            assert_eq!(max, 1024);
            assert!(held < n + max, "{held} entries allocated for {n}");
            assert!(w.callbacks.chunks.iter().all(|c| c.capacity() <= max));
        }
        o.complete(Ok(Delivered::new(500, -1)));
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), n);
        for (d, m) in seen.iter().enumerate() {
            assert_eq!((m.offset, m.timestamp), (500 + d as i64, d as i64 * 10));
        }
    }

    #[test]
    fn reports_go_to_the_handler_once_each_in_order_with_their_tags() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let handler: Arc<dyn DeliveryHandler> =
            Arc::new(move |tag: u64, r: Result<RecordMetadata>| s.lock().unwrap().push((tag, r.map(|m| m.offset))));
        let h = BatchHandle::new("t".into(), 1);
        let mut pending = PendingReports::default();
        let n = 2 * Chunks::<ReportEntry>::MAX + 5;
        for d in 0..n as i32 {
            pending.push(&handler, &h, d, 0, 1000 + d as u64);
        }
        assert!(pending.entries.chunks.iter().all(|c| c.capacity() <= Chunks::<ReportEntry>::MAX));
        assert!(h.waiters.lock().unwrap().reports.is_none(), "kept with the batch until it closes");
        pending.settle();
        assert_eq!(h.waiters.lock().unwrap().reports.as_ref().map(|(_, r)| r.count), Some(n));
        drop(pending);
        assert!(seen.lock().unwrap().is_empty());
        h.complete(Ok(Delivered::new(40, -1)));
        let got = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(got.len(), n);
        for (d, (tag, offset)) in got.into_iter().enumerate() {
            assert_eq!((tag, offset.unwrap()), (1000 + d as u64, 40 + d as i64));
        }
        // Reports settled after completion are made at once.
        let mut late = PendingReports::default();
        late.push(&handler, &h, 3, 0, 7);
        late.settle();
        assert_eq!(
            std::mem::take(&mut *seen.lock().unwrap())
                .iter()
                .map(|(t, o)| (*t, *o.as_ref().unwrap()))
                .collect::<Vec<_>>(),
            [(7, 43)]
        );

        // A batch dropped with its reports unsettled (a sender that died) reports its error to every tag, and a
        // panicking handler is contained.
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = calls.clone();
        let panicky: Arc<dyn DeliveryHandler> = Arc::new(move |tag: u64, r: Result<RecordMetadata>| {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            assert!(matches!(r.unwrap_err().kind(), crate::ErrorKind::Closed));
            if tag == 0 {
                panic!("user bug");
            }
        });
        let h = BatchHandle::new("t".into(), 1);
        let mut pending = PendingReports::default();
        for d in 0..3 {
            pending.push(&panicky, &h, d, 0, d as u64);
        }
        drop(h);
        drop(pending);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn log_append_time_and_unknown_offsets() {
        let o = BatchOutcome::new("t".into(), 0);
        o.complete(Ok(Delivered::new(-1, 77)));
        let m = DeliveryFuture::new(o, 5, 10).try_result().unwrap().unwrap();
        assert_eq!((m.offset, m.timestamp), (-1, 77));
    }

    #[tokio::test]
    async fn a_dropped_handle_fails_its_batch() {
        let h = BatchHandle::new("t".into(), 2);
        let f = DeliveryFuture::new(h.share(), 0, 0);
        drop(h);
        let e = f.await.unwrap_err();
        assert!(matches!(e.kind(), crate::ErrorKind::Closed), "{e}");
        assert_eq!(e.context().partition, Some(2));
    }

    #[test]
    fn a_panicking_callback_is_contained() {
        let o = BatchOutcome::new("t".into(), 0);
        o.add_callback(0, 0, Box::new(|_| panic!("user bug")));
        o.complete(Ok(Delivered::new(0, -1)));
        assert!(o.is_done());
    }

    #[test]
    fn a_split_batch_reports_each_record_at_its_piece() {
        let d = Delivered {
            base_offset: 100,
            log_append_time: -1,
            pieces: Some(Arc::new(vec![(0, 100), (3, 250), (5, 400)])),
        };
        let got: Vec<i64> = (0..7).map(|i| d.offset_of(i)).collect();
        assert_eq!(got, [100, 101, 102, 250, 251, 400, 401]);
        assert_eq!(Delivered::new(-1, -1).offset_of(3), -1);
        assert_eq!(Delivered::new(10, -1).offset_of(3), 13);
    }
}
