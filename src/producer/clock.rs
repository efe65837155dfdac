//! The wall clock that stamps a record's CreateTime when the application gives none.
//!
//! Reading the system's wall clock (`SystemTime::now`, a vDSO `clock_gettime`) and converting it to milliseconds
//! costs about 35 ns here: a tenth of the producer's whole per-record CPU for 100 B records. The processor's
//! counter (the invariant TSC on x86-64, the virtual counter on aarch64, through `quanta`) reads in about 10 ns.
//! [`now_ms`] reads the counter and adds what it says has passed since an *anchor*: one reading of the wall clock
//! and the counter together, kept per thread and taken again every [`REANCHOR`]. So a timestamp is the wall
//! clock's to within the counter's calibration error over at most [`REANCHOR`] (microseconds), and a step of the
//! system clock (NTP, an operator) reaches the timestamps within [`REANCHOR`]. Where the processor has no usable
//! counter, `quanta` reads the OS's monotonic clock instead and this costs what the wall clock would.

use std::cell::Cell;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// How long an anchor serves before the wall clock is read again.
const REANCHOR: u64 = 100_000_000; // ns

/// How many times [`take_anchor`] tries for a tight pair of readings.
const ANCHOR_TRIES: usize = 4;
/// A pair of readings this close (ns) is taken at once.
const ANCHOR_GAP_OK: u64 = 10_000;

/// A wall-clock reading and the counter's value at that moment.
#[derive(Clone, Copy)]
struct Anchor {
    counter: u64,
    wall_ns: i64,
}

thread_local! {
    static ANCHOR: Cell<Option<Anchor>> = const { Cell::new(None) };
}

/// The calibrated counter, shared by every thread (calibrated once per process: under a millisecond here, at most
/// 200 ms).
fn counter() -> &'static quanta::Clock {
    static COUNTER: OnceLock<quanta::Clock> = OnceLock::new();
    COUNTER.get_or_init(quanta::Clock::new)
}

/// Calibrates the counter now, if no thread has yet (a producer starting does this off its runtime's threads).
pub(crate) fn calibrate() {
    counter();
}

/// The wall clock in nanoseconds since the Unix epoch (0 if the clock is set before it).
fn wall_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// Milliseconds since the Unix epoch, as `SystemTime::now` would say to within [`REANCHOR`]'s drift.
pub(crate) fn now_ms() -> i64 {
    let clock = counter();
    let now = clock.raw();
    ANCHOR.with(|cell| {
        if let Some(anchor) = cell.get() {
            // 0 if the counter reads behind the anchor (another core's counter a few ticks behind).
            let elapsed = clock.delta_as_nanos(anchor.counter, now);
            if elapsed < REANCHOR {
                return (anchor.wall_ns + elapsed as i64) / 1_000_000;
            }
        }
        let anchor = take_anchor(clock);
        cell.set(Some(anchor));
        anchor.wall_ns / 1_000_000
    })
}

/// Pairs a wall-clock reading with the counter: the counter is read just before and just after the wall clock and
/// the anchor takes their midpoint, from the tightest of a few tries (a thread preempted between the reads would
/// otherwise pair the wall clock with a counter value from before the pause, and every timestamp until the next
/// anchor would be off by the pause).
fn take_anchor(clock: &quanta::Clock) -> Anchor {
    let (mut gap, mut best) = reading_pair(clock);
    for _ in 1..ANCHOR_TRIES {
        if gap <= ANCHOR_GAP_OK {
            break;
        }
        let (g, a) = reading_pair(clock);
        if g < gap {
            (gap, best) = (g, a);
        }
    }
    best
}

/// The wall clock between two counter readings: the readings' gap in ns, and the anchor at their midpoint.
fn reading_pair(clock: &quanta::Clock) -> (u64, Anchor) {
    let before = clock.raw();
    let wall_ns = wall_ns();
    let after = clock.raw();
    let counter = before.saturating_add(after.saturating_sub(before) / 2);
    (clock.delta_as_nanos(before, after), Anchor { counter, wall_ns })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn system_ms() -> i64 {
        wall_ns() / 1_000_000
    }

    #[test]
    fn follows_the_system_clock_across_several_anchors() {
        // 350 ms: the first anchor, three more, and readings between them; each bracketed by the system clock.
        // The counter's calibration error over one anchor's life is microseconds; 1 ms of slack covers a reading
        // that lands on the other side of a millisecond boundary.
        let end = std::time::Instant::now() + Duration::from_millis(350);
        let mut readings = 0;
        let mut last = 0;
        while std::time::Instant::now() < end {
            let before = system_ms();
            let now = now_ms();
            let after = system_ms();
            assert!(now >= before - 1 && now <= after + 1, "{before} <= {now} <= {after}");
            assert!(now >= last - 1, "went back from {last} to {now}");
            last = now;
            readings += 1;
            if readings % 1000 == 0 {
                std::thread::sleep(Duration::from_millis(7));
            }
        }
        assert!(readings > 1000);
    }

    #[test]
    fn each_thread_keeps_its_own_anchor() {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..10_000).all(|_| {
                        let before = system_ms();
                        let now = now_ms();
                        now >= before - 1 && now <= system_ms() + 1
                    })
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().expect("thread panicked"));
        }
    }
}
