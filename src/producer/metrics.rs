//! Producer metrics: counters the sender and `send` update with relaxed atomics, and the [`ProducerMetrics`]
//! snapshot the application reads.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::metrics::{LatencyHistogram, LatencyRecorder};

/// A snapshot of a producer's counters since it was created.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ProducerMetrics {
    /// Records acknowledged (or written, with acks=0).
    pub records_sent: u64,
    /// Bytes of record batches acknowledged, as sent (after compression).
    pub bytes_sent: u64,
    /// Batches acknowledged.
    pub batches_sent: u64,
    /// Average size in bytes of an acknowledged batch, as sent.
    pub avg_batch_size: f64,
    /// Average records per acknowledged batch.
    pub avg_records_per_batch: f64,
    /// Produce requests sent (retries included).
    pub requests_sent: u64,
    /// Batches sent again after a retriable error.
    pub retries: u64,
    /// Records whose batch failed for good.
    pub record_errors: u64,
    /// Batches split into smaller ones after a broker refused them as too large (MESSAGE_TOO_LARGE or
    /// RECORD_LIST_TOO_LARGE; Java's `batch-split-total`).
    pub batch_splits: u64,
    /// Produce requests waiting for their reply now.
    pub in_flight_requests: usize,
    /// Bytes of `buffer.memory` held by records not yet completed.
    pub queued_bytes: usize,
    /// Batches not yet completed (open, queued, in flight or waiting for a retry).
    pub queued_batches: usize,
    /// Average time from writing a Produce request to its reply.
    pub request_latency_avg: Duration,
    /// Longest time from writing a Produce request to its reply.
    pub request_latency_max: Duration,
    /// Times from writing a Produce request to its reply (or to its failure), as a histogram: one observation per
    /// request, retries included.
    pub request_latency: LatencyHistogram,
    /// Responses in which a broker asked this client to back off for a quota (KIP-219 `throttle_time_ms` > 0),
    /// over all its connections.
    pub throttled_responses: u64,
    /// The sum of those throttle times: how long connections held requests back for quotas.
    pub throttle_time: Duration,
}

/// The live counters behind [`ProducerMetrics`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub records_sent: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub batches_sent: AtomicU64,
    pub requests_sent: AtomicU64,
    pub retries: AtomicU64,
    pub record_errors: AtomicU64,
    pub batch_splits: AtomicU64,
    pub in_flight_requests: AtomicUsize,
    latency: LatencyRecorder,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn record_latency(&self, d: Duration) {
        self.latency.record(d);
    }

    pub(crate) fn snapshot(&self, queued_bytes: usize, queued_batches: usize) -> ProducerMetrics {
        let batches = self.batches_sent.load(Ordering::Relaxed);
        let bytes = self.bytes_sent.load(Ordering::Relaxed);
        let records = self.records_sent.load(Ordering::Relaxed);
        let latency = self.latency.snapshot();
        let per = |x: u64| if batches == 0 { 0.0 } else { x as f64 / batches as f64 };
        ProducerMetrics {
            records_sent: records,
            bytes_sent: bytes,
            batches_sent: batches,
            avg_batch_size: per(bytes),
            avg_records_per_batch: per(records),
            requests_sent: self.requests_sent.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            record_errors: self.record_errors.load(Ordering::Relaxed),
            batch_splits: self.batch_splits.load(Ordering::Relaxed),
            in_flight_requests: self.in_flight_requests.load(Ordering::Relaxed),
            queued_bytes,
            queued_batches,
            request_latency_avg: latency.mean(),
            request_latency_max: latency.max,
            request_latency: latency,
            throttled_responses: 0,
            throttle_time: Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages() {
        let c = Counters::default();
        Counters::add(&c.batches_sent, 2);
        Counters::add(&c.bytes_sent, 300);
        Counters::add(&c.records_sent, 10);
        c.record_latency(Duration::from_millis(2));
        c.record_latency(Duration::from_millis(4));
        let m = c.snapshot(5, 1);
        assert_eq!(m.avg_batch_size, 150.0);
        assert_eq!(m.avg_records_per_batch, 5.0);
        assert_eq!(m.request_latency_avg, Duration::from_millis(3));
        assert_eq!(m.request_latency_max, Duration::from_millis(4));
        assert_eq!((m.queued_bytes, m.queued_batches), (5, 1));
        assert_eq!((m.request_latency.count, m.request_latency.sum), (2, Duration::from_millis(6)));
        // 2 ms is in the (1 ms, 2.5 ms] bucket, 4 ms in (2.5 ms, 5 ms].
        assert_eq!(m.request_latency.cumulative[1..4], [0, 1, 2]);
    }
}
