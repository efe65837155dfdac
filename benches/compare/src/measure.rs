//! What the harness measures, the same way for every client: a counting global allocator (live Rust heap), a
//! sampler of the C allocator's bytes in use (librdkafka allocates with malloc, not through Rust's allocator),
//! getrusage, and the acknowledgement counters and latencies the clients' delivery callbacks fill in.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// The counting allocator the repository's tests use too.
#[path = "../../../tests/support/counting_alloc.rs"]
mod counting_alloc;

/// The system allocator, counting the bytes it has handed out and not yet got back, and their peak (not the bytes
/// handed out in all: an atomic add less per allocation).
pub type CountingAlloc = counting_alloc::CountingAllocator<false>;

/// The allocator value for `#[global_allocator]`.
pub const COUNTING_ALLOC: CountingAlloc = counting_alloc::CountingAllocator;

/// The highest live Rust heap seen so far, in bytes.
pub fn heap_peak() -> usize {
    counting_alloc::peak()
}

/// Bytes the C allocator has handed out and not got back (glibc `mallinfo2`: small blocks plus mmapped ones).
/// Covers Rust's allocations too, since `System` is malloc.
fn malloc_in_use() -> usize {
    // SAFETY: mallinfo2 takes no arguments and only reads the allocator's statistics.
    let m = unsafe { libc::mallinfo2() };
    m.uordblks + m.hblkhd
}

/// Samples [`malloc_in_use`] every 10 ms on its own thread and keeps the highest value.
pub struct MallocSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl MallocSampler {
    /// Starts sampling.
    pub fn start() -> MallocSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicUsize::new(malloc_in_use()));
        let thread = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(malloc_in_use(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        MallocSampler { stop, peak, thread: Some(thread) }
    }

    /// Stops sampling; the highest value seen.
    pub fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed).max(malloc_in_use())
    }
}

/// CPU time and peak RSS of this process so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// User CPU seconds.
    pub user: f64,
    /// System CPU seconds.
    pub sys: f64,
    /// Peak resident set size, KiB.
    pub max_rss_kb: i64,
}

impl Usage {
    /// getrusage(RUSAGE_SELF): every thread of this process, the client's included.
    pub fn now() -> Usage {
        // SAFETY: an all-zero rusage is a valid value, and getrusage only writes into it.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a valid, writable rusage.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Usage { user: secs(ru.ru_utime), sys: secs(ru.ru_stime), max_rss_kb: ru.ru_maxrss }
    }

    /// CPU seconds (user + sys) spent since `earlier`.
    pub fn cpu_since(&self, earlier: &Usage) -> f64 {
        (self.user - earlier.user) + (self.sys - earlier.sys)
    }
}

/// What the delivery callbacks report, shared by the sending loop and the client's callback.
pub struct Acks {
    /// Records acknowledged without error.
    pub ok: AtomicU64,
    /// Records that failed.
    pub failed: AtomicU64,
    /// The first failure's text.
    pub first_error: Mutex<Option<String>>,
    /// With a fixed rate: the intended send time of record `i` is `start + i / rate`.
    rate: Option<f64>,
    start: OnceLock<Instant>,
    /// With a fixed rate: microseconds from record `i`'s intended send time to its acknowledgement.
    latencies_us: Vec<AtomicU32>,
    /// Nanoseconds from the start to the latest outcome stamped so far (see [`Acks::record`]).
    last_ns: AtomicU64,
    /// The records of the run (the warm-up record aside).
    records: u64,
}

/// Unpaced runs read the clock at every this many-th outcome and at the last one, not at each: a clock read per
/// record in the callback would add the same ~20 ns per record to every client's CPU figure.
const STAMP_EVERY: u64 = 1024;

/// The record index the warm-up record is sent with: acknowledged, never counted.
pub const WARM_UP: u64 = u64::MAX;

impl Acks {
    /// Counters for `records` records; latencies too when `rate` is given.
    pub fn new(records: u64, rate: Option<f64>) -> Arc<Acks> {
        let latencies_us =
            if rate.is_some() { (0..records).map(|_| AtomicU32::new(u32::MAX)).collect() } else { Vec::new() };
        Arc::new(Acks {
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
            rate,
            start: OnceLock::new(),
            latencies_us,
            last_ns: AtomicU64::new(0),
            records,
        })
    }

    /// Whether records go out at a fixed rate (the latency workload).
    pub fn paced(&self) -> bool {
        self.rate.is_some()
    }

    /// Marks the start of the timed run (the intended send time of record 0).
    pub fn start(&self) -> Instant {
        *self.start.get_or_init(Instant::now)
    }

    /// The intended send time of record `i`.
    pub fn due(&self, i: u64) -> Option<Instant> {
        let start = *self.start.get()?;
        Some(match self.rate {
            Some(rate) => start + Duration::from_secs_f64(i as f64 / rate),
            None => start,
        })
    }

    /// A delivery callback's report for record `i`.
    pub fn record(&self, i: u64, error: Option<String>) {
        if i == WARM_UP {
            return;
        }
        let counter = if error.is_none() { &self.ok } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        let done = self.done();
        if self.paced() || done % STAMP_EVERY == 0 || done >= self.records {
            if let Some(start) = self.start.get() {
                self.last_ns.fetch_max(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
        }
        match error {
            None => {
                if let (Some(slot), Some(due)) = (self.latencies_us.get(i as usize), self.due(i)) {
                    let us = Instant::now().saturating_duration_since(due).as_micros().min(u32::MAX as u128 - 1);
                    slot.store(us as u32, Ordering::Relaxed);
                }
            }
            Some(e) => {
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert(e);
                }
            }
        }
    }

    /// From the start to the latest outcome (the last acknowledgement, once all are in).
    pub fn last_outcome(&self) -> Duration {
        Duration::from_nanos(self.last_ns.load(Ordering::Relaxed))
    }

    /// Records acknowledged or failed so far.
    pub fn done(&self) -> u64 {
        self.ok.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }

    /// The recorded latencies in µs, sorted (records without an acknowledgement left out).
    pub fn sorted_latencies(&self) -> Vec<u32> {
        let mut v: Vec<u32> =
            self.latencies_us.iter().map(|a| a.load(Ordering::Relaxed)).filter(|&us| us != u32::MAX).collect();
        v.sort_unstable();
        v
    }
}

/// The nearest-rank percentile `p` (0..=1) of sorted µs values, in ms.
pub fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let i = ((p * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len()) - 1;
    sorted_us[i] as f64 / 1000.0
}

/// Sleeps until `when` (no spinning: on 2 shared cores a spinning sender would take a core from the client; the
/// kernel's timer slack, about 50 µs, is small against the 100 µs between records at 10k/s).
pub fn sleep_until(when: Instant) {
    let now = Instant::now();
    if when > now {
        std::thread::sleep(when - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u32> = (1..=1000).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&v, 0.5), 500.0);
        assert_eq!(percentile_ms(&v, 0.99), 990.0);
        assert_eq!(percentile_ms(&v, 0.999), 999.0);
        assert_eq!(percentile_ms(&v, 1.0), 1000.0);
        assert!(percentile_ms(&[], 0.5).is_nan());
    }

    #[test]
    fn latencies_run_from_the_intended_send_time() {
        let acks = Acks::new(3, Some(1000.0));
        let start = acks.start();
        assert_eq!(acks.due(2), Some(start + Duration::from_millis(2)));
        acks.record(WARM_UP, None);
        acks.record(0, None);
        acks.record(1, Some("boom".into()));
        assert_eq!(acks.ok.load(Ordering::Relaxed), 1);
        assert_eq!(acks.failed.load(Ordering::Relaxed), 1);
        assert_eq!(acks.sorted_latencies().len(), 1);
        assert_eq!(acks.first_error.lock().unwrap().as_deref(), Some("boom"));
    }

    #[test]
    fn an_unpaced_run_ends_at_its_last_outcome() {
        let acks = Acks::new(2 * STAMP_EVERY + 5, None);
        acks.start();
        for i in 0..2 * STAMP_EVERY {
            acks.record(i, None);
        }
        let stamped = acks.last_outcome();
        assert!(stamped > Duration::ZERO);
        std::thread::sleep(Duration::from_millis(20));
        for i in 2 * STAMP_EVERY..2 * STAMP_EVERY + 4 {
            acks.record(i, None);
        }
        assert_eq!(acks.last_outcome(), stamped, "between stamps the clock is not read");
        acks.record(2 * STAMP_EVERY + 4, Some("late".into()));
        assert!(acks.last_outcome() >= stamped + Duration::from_millis(20), "the last outcome is stamped");
        assert_eq!(acks.done(), 2 * STAMP_EVERY + 5);
    }
}
