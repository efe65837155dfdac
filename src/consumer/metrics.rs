//! [`ConsumerMetrics`]: a snapshot of what a consumer has done (records and bytes consumed, fetches and their
//! latency, lag per partition).

use std::time::Duration;

use super::TopicPartition;
use crate::metrics::{LatencyHistogram, LatencyRecorder};

/// Counters and figures at the time of [`Consumer::metrics`](super::Consumer::metrics).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ConsumerMetrics {
    /// Records handed to the application.
    pub records_consumed: u64,
    /// Record data bytes received in fetch responses (the `records` of every partition).
    pub bytes_consumed: u64,
    /// Fetch requests sent.
    pub fetch_requests: u64,
    /// Fetch requests that failed (no reply, or an error for the whole request).
    pub fetch_errors: u64,
    /// Mean time from sending a fetch to its reply (includes the broker's `fetch.max.wait.ms` wait).
    pub fetch_latency_avg: Duration,
    /// Longest time from sending a fetch to its reply.
    pub fetch_latency_max: Duration,
    /// Times from sending a fetch to its reply, as a histogram (one observation per reply; includes the broker's
    /// `fetch.max.wait.ms` wait, so an idle consumer's fetches sit near that bound).
    pub fetch_latency: LatencyHistogram,
    /// Response bytes fetched but not yet handed to the application.
    pub buffered_bytes: usize,
    /// Per assigned partition with a known position and high watermark: high watermark (last stable offset under
    /// read_committed) minus position, from the last fetch.
    pub lag: Vec<(TopicPartition, i64)>,
    /// Responses in which a broker asked this client to back off for a quota (KIP-219 `throttle_time_ms` > 0),
    /// over all its connections.
    pub throttled_responses: u64,
    /// The sum of those throttle times: how long connections held requests back for quotas.
    pub throttle_time: Duration,
}

/// The running counters behind [`ConsumerMetrics`].
#[derive(Debug, Default)]
pub(crate) struct MetricsCounters {
    pub records_consumed: u64,
    pub bytes_consumed: u64,
    pub fetch_requests: u64,
    pub fetch_errors: u64,
    pub fetch_latency: LatencyRecorder,
}

impl MetricsCounters {
    pub fn fetch_reply(&mut self, latency: Duration) {
        self.fetch_latency.record(latency);
    }

    pub fn snapshot(&self, buffered_bytes: usize, lag: Vec<(TopicPartition, i64)>) -> ConsumerMetrics {
        let latency = self.fetch_latency.snapshot();
        ConsumerMetrics {
            records_consumed: self.records_consumed,
            bytes_consumed: self.bytes_consumed,
            fetch_requests: self.fetch_requests,
            fetch_errors: self.fetch_errors,
            fetch_latency_avg: latency.mean(),
            fetch_latency_max: latency.max,
            fetch_latency: latency,
            buffered_bytes,
            lag,
            throttled_responses: 0,
            throttle_time: Duration::ZERO,
        }
    }
}
