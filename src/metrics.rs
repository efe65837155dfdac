//! A lock-free, fixed-bucket latency histogram: [`LatencyRecorder`] (the live counters, updated with a few relaxed
//! atomic operations per observation) and [`LatencyHistogram`] (a snapshot of them, with cumulative buckets in the
//! shape Prometheus exports, and [`quantile`](LatencyHistogram::quantile) estimates).
//!
//! The producer keeps one for Produce requests
//! ([`ProducerMetrics::request_latency`](crate::producer::ProducerMetrics::request_latency)), the consumer one for
//! Fetch requests ([`ConsumerMetrics::fetch_latency`](crate::consumer::ConsumerMetrics::fetch_latency)).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The bucket bounds in microseconds: a 1–2.5–5 series from 0.5 ms to 30 s.
const BOUNDS_US: [u64; 15] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000,
    10_000_000, 30_000_000,
];

/// The same bounds in nanoseconds, which [`LatencyRecorder::record`] compares against.
const BOUNDS_NS: [u64; 15] = {
    let mut out = [0; 15];
    let mut i = 0;
    while i < out.len() {
        out[i] = BOUNDS_US[i] * 1_000;
        i += 1;
    }
    out
};

/// The upper bounds (inclusive) of the histogram's finite buckets, ascending: 0.5 ms, 1 ms, 2.5 ms, 5 ms, 10 ms,
/// 25 ms, 50 ms, 100 ms, 250 ms, 500 ms, 1 s, 2.5 s, 5 s, 10 s and 30 s. One more bucket, `+Inf`, takes the rest.
pub const LATENCY_BOUNDS: [Duration; 15] = {
    let mut out = [Duration::ZERO; 15];
    let mut i = 0;
    while i < out.len() {
        out[i] = Duration::from_micros(BOUNDS_US[i]);
        i += 1;
    }
    out
};

/// The number of buckets: one per bound in [`LATENCY_BOUNDS`] and the `+Inf` one.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS.len() + 1;

/// The live side of a latency histogram: one atomic counter per bucket, the sum and the maximum. Recording is three
/// relaxed atomic operations and a search of 15 bounds: no lock, no allocation.
#[derive(Debug)]
pub struct LatencyRecorder {
    /// Observations per bucket (not cumulative).
    buckets: [AtomicU64; LATENCY_BUCKETS],
    /// The observations' total, in nanoseconds (saturating per observation at `u64::MAX`, about 584 years).
    sum_ns: AtomicU64,
    /// The longest observation, in nanoseconds.
    max_ns: AtomicU64,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyRecorder {
    /// An empty recorder.
    pub const fn new() -> LatencyRecorder {
        LatencyRecorder {
            buckets: [const { AtomicU64::new(0) }; LATENCY_BUCKETS],
            sum_ns: AtomicU64::new(0),
            max_ns: AtomicU64::new(0),
        }
    }

    /// Counts one observation of `d`: in the first bucket whose bound is at least `d` (Prometheus' `le`).
    pub fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = BOUNDS_NS.partition_point(|&b| b < ns);
        // `partition_point` is at most BOUNDS_NS.len(), the +Inf bucket's index.
        if let Some(b) = self.buckets.get(i) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// The counters now. Each is read on its own (relaxed), so an observation recorded meanwhile may be in the
    /// buckets and not yet in the sum; the count is always the buckets' total.
    pub fn snapshot(&self) -> LatencyHistogram {
        let mut cumulative = [0; LATENCY_BUCKETS];
        let mut total = 0u64;
        for (c, b) in cumulative.iter_mut().zip(&self.buckets) {
            total = total.saturating_add(b.load(Ordering::Relaxed));
            *c = total;
        }
        LatencyHistogram {
            cumulative,
            count: total,
            sum: Duration::from_nanos(self.sum_ns.load(Ordering::Relaxed)),
            max: Duration::from_nanos(self.max_ns.load(Ordering::Relaxed)),
        }
    }
}

/// A snapshot of a [`LatencyRecorder`]: cumulative bucket counts over [`LATENCY_BOUNDS`] and `+Inf`, the count, the
/// sum and the maximum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatencyHistogram {
    /// `cumulative[i]`: observations of at most `LATENCY_BOUNDS[i]`; the last entry (`+Inf`) equals `count`.
    pub cumulative: [u64; LATENCY_BUCKETS],
    /// Observations.
    pub count: u64,
    /// The observations' total.
    pub sum: Duration,
    /// The longest observation (zero when there is none).
    pub max: Duration,
}

impl LatencyHistogram {
    /// The buckets as (upper bound, cumulative count), ascending; the last bound is `None`, `+Inf`.
    pub fn buckets(&self) -> impl Iterator<Item = (Option<Duration>, u64)> + '_ {
        LATENCY_BOUNDS.iter().copied().map(Some).chain([None]).zip(self.cumulative.iter().copied())
    }

    /// The mean observation (zero when there is none).
    pub fn mean(&self) -> Duration {
        match u32::try_from(self.count) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.sum / n,
            Err(_) => Duration::from_secs_f64(self.sum.as_secs_f64() / self.count as f64),
        }
    }

    /// An estimate of the `q` quantile (`0.0..=1.0`; 0.99 is the 99th percentile): the bucket holding that rank,
    /// interpolated linearly between its bounds, and never above the maximum (which also stands in for the upper
    /// bound of `+Inf`). `None` when there are no observations or `q` is outside `0.0..=1.0`. The error is at most
    /// the width of the bucket: within a factor of 2.5 of the true value below 30 s.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * self.count as f64;
        let mut below = 0u64;
        let mut lower = Duration::ZERO;
        for (bound, cumulative) in self.buckets() {
            if cumulative > 0 && cumulative as f64 >= rank {
                let upper = bound.unwrap_or(self.max).min(self.max).max(lower);
                // Not empty: either `below` is 0 and `cumulative` > 0, or `below` < rank <= `cumulative`.
                let in_bucket = (cumulative - below) as f64;
                let fraction = ((rank - below as f64) / in_bucket).clamp(0.0, 1.0);
                return Some(lower + (upper - lower).mul_f64(fraction));
            }
            below = cumulative;
            lower = bound.unwrap_or(lower);
        }
        // Unreachable when the last cumulative count equals `count`; a hand-built snapshot may not hold that.
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn bounds_ascend_and_match() {
        assert!(LATENCY_BOUNDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(LATENCY_BOUNDS[0], Duration::from_micros(500));
        assert_eq!(LATENCY_BOUNDS[14], Duration::from_secs(30));
        for (d, ns) in LATENCY_BOUNDS.iter().zip(BOUNDS_NS) {
            assert_eq!(d.as_nanos(), u128::from(ns));
        }
    }

    #[test]
    fn a_value_on_a_bound_counts_in_that_bucket() {
        let r = LatencyRecorder::new();
        r.record(Duration::ZERO);
        r.record(Duration::from_micros(500));
        r.record(Duration::from_nanos(500_001));
        r.record(ms(1));
        r.record(Duration::from_secs(30));
        r.record(Duration::from_nanos(30_000_000_001));
        r.record(Duration::MAX);
        let h = r.snapshot();
        let per_bucket: Vec<u64> =
            h.cumulative.iter().scan(0, |prev, &c| Some(c - std::mem::replace(prev, c))).collect();
        let mut want = [0; LATENCY_BUCKETS];
        want[0] = 2; // 0 and 0.5 ms
        want[1] = 2; // just above 0.5 ms, and 1 ms
        want[14] = 1; // 30 s
        want[15] = 2; // above 30 s (+Inf)
        assert_eq!(per_bucket, want);
        assert_eq!(h.count, 7);
        assert_eq!(h.cumulative[LATENCY_BUCKETS - 1], h.count);
        assert_eq!(h.max, Duration::from_nanos(u64::MAX), "saturated");
        let bounds: Vec<_> = h.buckets().map(|(b, _)| b).collect();
        assert_eq!(bounds.len(), LATENCY_BUCKETS);
        assert_eq!(bounds[0], Some(Duration::from_micros(500)));
        assert_eq!(bounds[LATENCY_BUCKETS - 1], None);
    }

    #[test]
    fn sum_mean_and_max() {
        let r = LatencyRecorder::default();
        assert_eq!(r.snapshot(), LatencyHistogram::default());
        assert_eq!(r.snapshot().mean(), Duration::ZERO);
        r.record(ms(2));
        r.record(ms(4));
        let h = r.snapshot();
        assert_eq!((h.count, h.sum, h.max, h.mean()), (2, ms(6), ms(4), ms(3)));
    }

    #[test]
    fn quantiles_interpolate_within_the_bucket() {
        let r = LatencyRecorder::new();
        assert_eq!(r.snapshot().quantile(0.5), None, "no observations");
        // 100 observations of 6..=10 ms (all in the 5-10 ms bucket) and one of 2 s.
        for i in 0..100 {
            r.record(ms(6) + Duration::from_micros(i * 40));
        }
        r.record(Duration::from_secs(2));
        let h = r.snapshot();
        assert_eq!(h.quantile(-0.1), None);
        assert_eq!(h.quantile(1.1), None);
        assert_eq!(h.quantile(f64::NAN), None);
        // Rank 50.5 of 100 in the (5 ms, 10 ms] bucket: 5 ms + 50.5% of 5 ms.
        let p50 = h.quantile(0.5).unwrap();
        assert!((p50.as_secs_f64() - 0.007525).abs() < 1e-9, "{p50:?}");
        let p99 = h.quantile(0.99).unwrap();
        assert!(p99 > ms(9) && p99 <= ms(10), "{p99:?}");
        // The top rank is the 2 s observation, in (1 s, 2.5 s] but capped at the maximum.
        assert_eq!(h.quantile(1.0), Some(Duration::from_secs(2)));
        // The lowest rank is in the first non-empty bucket, at its lower bound.
        assert_eq!(h.quantile(0.0), Some(ms(5)));
    }

    #[test]
    fn quantile_in_the_infinite_bucket_is_bounded_by_the_maximum() {
        let r = LatencyRecorder::new();
        r.record(Duration::from_secs(40));
        r.record(Duration::from_secs(60));
        let h = r.snapshot();
        let p50 = h.quantile(0.5).unwrap();
        assert!(p50 >= Duration::from_secs(30) && p50 <= Duration::from_secs(60), "{p50:?}");
        assert_eq!(h.quantile(1.0), Some(Duration::from_secs(60)));
        // A single sub-bucket value: never estimated above what was seen.
        let r = LatencyRecorder::new();
        r.record(Duration::from_micros(100));
        assert_eq!(r.snapshot().quantile(1.0), Some(Duration::from_micros(100)));
    }

    #[test]
    fn concurrent_recording_loses_nothing() {
        let r = LatencyRecorder::new();
        let threads = 4u64;
        let per = 10_000u64;
        std::thread::scope(|s| {
            for t in 0..threads {
                let r = &r;
                s.spawn(move || {
                    for i in 0..per {
                        // Spread over every bucket, +Inf included.
                        r.record(Duration::from_micros((i * 7919 + t) % 40_000_000));
                    }
                });
            }
        });
        let h = r.snapshot();
        assert_eq!(h.count, threads * per);
        assert_eq!(h.cumulative[LATENCY_BUCKETS - 1], h.count);
        assert!(h.cumulative.windows(2).all(|w| w[0] <= w[1]));
        let want_sum: u64 =
            (0..threads).flat_map(|t| (0..per).map(move |i| (i * 7919 + t) % 40_000_000)).sum::<u64>() * 1_000;
        assert_eq!(h.sum, Duration::from_nanos(want_sum));
        assert!(h.cumulative[LATENCY_BUCKETS - 2] < h.count, "some above 30 s");
    }
}
