//! The `e2e` workload: end-to-end latency, produce → consume, with one client library on both sides in one
//! process.
//!
//! A consumer of the same library (its own thread, its own client) subscribes to the topic through a KIP-848
//! group, as in `consume`. The producer first sends one warm-up record to each of the topic's `--partitions`
//! partitions and waits until the consumer has read all of them: by then the group has formed, every partition is
//! assigned and fetched, and nothing of the join is charged to the run. Then it sends `--records` records open
//! loop at `--rate` (linger 0), on the schedule of the `latency` workload (record *i* is due at `start + i /
//! rate`; a slow client is charged for the records it makes late). Every value starts with a 16-byte stamp: the
//! record index and its intended send time (nanoseconds since the start), both little-endian u64; the rest is the
//! usual random filler. The latency of a record is from its intended send time to the moment the consumer's poll
//! hands it to the harness (first arrival; a second one is counted as a duplicate).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::measure::{self, Acks, MallocSampler, Usage, WARM_UP};
use crate::{Plan, Res, err};

/// Bytes of the stamp at the head of every value: the record index, then its intended send time.
const STAMP: usize = 16;

/// A value of `filler`'s length starting with the stamp (`index`, then `field`: the intended send time in ns since
/// the start, or for a warm-up record its partition).
fn stamped(index: u64, field: u64, filler: &[u8]) -> Vec<u8> {
    let mut v = filler.to_vec();
    v[..8].copy_from_slice(&index.to_le_bytes());
    v[8..STAMP].copy_from_slice(&field.to_le_bytes());
    v
}

/// The stamp of a value, if it has one.
fn read_stamp(v: &[u8]) -> Option<(u64, u64)> {
    let index = u64::from_le_bytes(v.get(..8)?.try_into().ok()?);
    let field = u64::from_le_bytes(v.get(8..STAMP)?.try_into().ok()?);
    Some((index, field))
}

/// What the consumer thread shows the producer side while it runs.
#[derive(Default)]
struct Progress {
    /// Partitions whose warm-up record has been read.
    warm: AtomicUsize,
    /// Distinct records of the run read so far.
    received: AtomicU64,
    /// Set by the producer side: stop polling and close.
    stop: AtomicBool,
}

/// What the consumer thread hands back when it stops.
struct Tally {
    /// Per record: µs from the intended send time to the first arrival, `u32::MAX` if it never arrived.
    latencies_us: Vec<u32>,
    /// Records read again after their first arrival.
    duplicates: u64,
    /// Values without a valid stamp, or read before the start was known.
    stray: u64,
}

impl Tally {
    /// Takes one value the consumer was handed at `now`; a warm-up record marks its partition in `warm`.
    fn arrive(&mut self, value: &[u8], now: Instant, start: Option<Instant>, warm: &mut [bool], progress: &Progress) {
        match read_stamp(value) {
            Some((WARM_UP, partition)) => {
                if let Some(seen) = warm.get_mut(partition as usize)
                    && !*seen
                {
                    *seen = true;
                    progress.warm.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some((i, due_ns)) => match (self.latencies_us.get_mut(i as usize), start) {
                (Some(slot), Some(start)) if *slot == u32::MAX => {
                    let us = now.saturating_duration_since(start + Duration::from_nanos(due_ns)).as_micros();
                    *slot = us.min(u128::from(u32::MAX - 1)) as u32;
                    progress.received.fetch_add(1, Ordering::Relaxed);
                }
                (Some(_), Some(_)) => self.duplicates += 1,
                _ => self.stray += 1,
            },
            None => self.stray += 1,
        }
    }
}

/// The consumer side: subscribes, then hands every value to the tally until told to stop.
fn consume(client: &str, plan: &Plan, acks: &Acks, progress: &Progress) -> Res<Tally> {
    let mut c = crate::consumer(client, plan)?;
    c.subscribe()?;
    let mut tally = Tally { latencies_us: vec![u32::MAX; plan.records as usize], duplicates: 0, stray: 0 };
    let mut warm = vec![false; plan.partitions.max(1) as usize];
    while !progress.stop.load(Ordering::Relaxed) {
        // The start is known once the first record of the run is due (`acks.due(0)`), before it is sent.
        c.poll_values(&mut |v| tally.arrive(v, Instant::now(), acks.due(0), &mut warm, progress))?;
    }
    c.close()?;
    Ok(tally)
}

/// Waits (polling every 5 ms) until `done`, the consumer thread ends (an error: it stopped early), or `timeout`.
fn wait_for(what: &str, timeout: Duration, consumer: &JoinHandle<Res<Tally>>, done: impl Fn() -> bool) -> Res<()> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if consumer.is_finished() {
            return Err(format!("the consumer stopped while waiting for {what}"));
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// What the producer side measured.
struct Sent {
    before: Usage,
    /// From the start to the last record's arrival (or to giving up on it).
    secs: f64,
    cpu: f64,
    /// Set when some records never arrived.
    incomplete: Option<String>,
}

/// The producer side: warm-up, the paced run, then the wait for every record to arrive.
fn produce(
    client: &str,
    plan: &Plan,
    acks: &Arc<Acks>,
    progress: &Progress,
    consumer: &JoinHandle<Res<Tally>>,
) -> Res<Sent> {
    let partitions = plan.partitions.max(1) as usize;
    let filler = plan.values();
    let mut p = crate::producer(client, plan, acks.clone())?;
    // These are the producer's warm-up too (metadata, producer id): `warm_up` would send an unstamped record.
    for partition in 0..partitions {
        p.send_value(WARM_UP, Some(partition as i32), stamped(WARM_UP, partition as u64, &filler[0]))?;
    }
    p.flush()?;
    wait_for("the warm-up records on every partition", plan.timeout, consumer, || {
        progress.warm.load(Ordering::Relaxed) >= partitions
    })?;
    let before = Usage::now();
    let start = acks.start();
    crate::paced(acks, start, plan.rate, plan.records, |from, to| {
        for i in from..to {
            let due_ns = acks.due(i).map_or(0, |due| (due - start).as_nanos() as u64);
            p.send_value(i, None, stamped(i, due_ns, &filler[(i % filler.len() as u64) as usize]))?;
        }
        Ok(())
    })?;
    p.flush()?;
    let incomplete = wait_for("every record to arrive", plan.timeout, consumer, || {
        progress.received.load(Ordering::Relaxed) >= plan.records
    })
    .err();
    let secs = start.elapsed().as_secs_f64();
    let cpu = Usage::now().cpu_since(&before);
    p.close()?;
    Ok(Sent { before, secs, cpu, incomplete })
}

/// Runs the e2e workload for `client` and prints its result line.
pub fn run(client: &str, plan: &Plan) -> Res<()> {
    if plan.size < STAMP {
        return Err(format!("e2e needs --size {STAMP} or more (the stamp), not {}", plan.size));
    }
    let malloc = MallocSampler::start();
    let acks = Acks::new(plan.records, Some(plan.rate));
    let progress = Arc::new(Progress::default());
    let consumer = {
        let (client, plan, acks, progress) = (client.to_owned(), plan.clone(), acks.clone(), progress.clone());
        std::thread::Builder::new()
            .name("e2e-consumer".into())
            .spawn(move || consume(&client, &plan, &acks, &progress))
            .map_err(err("consumer thread"))?
    };
    let sent = produce(client, plan, &acks, &progress, &consumer);
    progress.stop.store(true, Ordering::Relaxed);
    let tally = consumer.join().map_err(|_| "the consumer thread panicked".to_owned())?;
    let (sent, tally) = match (sent, tally) {
        (Ok(s), Ok(t)) => (s, t),
        // The consumer's error explains a producer side that gave up waiting for it.
        (_, Err(e)) | (Err(e), _) => return Err(e),
    };
    let mut lat: Vec<u32> = tally.latencies_us.iter().copied().filter(|&us| us != u32::MAX).collect();
    lat.sort_unstable();
    let received = lat.len() as u64;
    let ack = acks.sorted_latencies();
    let failed = acks.failed.load(Ordering::Relaxed);
    let mut l = crate::header(client, "e2e", plan);
    l.int("records", received);
    l.int("acknowledged", acks.ok.load(Ordering::Relaxed));
    l.int("failed", failed);
    l.int("missing", plan.records - received);
    l.int("duplicates", tally.duplicates);
    l.int("stray", tally.stray);
    l.int("partitions", plan.partitions.max(1) as u64);
    l.num("seconds", sent.secs);
    l.num("records_per_sec", received as f64 / sent.secs);
    l.num("rate", plan.rate);
    l.num("p50_ms", measure::percentile_ms(&lat, 0.5));
    l.num("p99_ms", measure::percentile_ms(&lat, 0.99));
    l.num("p99_9_ms", measure::percentile_ms(&lat, 0.999));
    l.num("max_ms", measure::percentile_ms(&lat, 1.0));
    l.num("ack_p50_ms", measure::percentile_ms(&ack, 0.5));
    l.num("ack_p99_ms", measure::percentile_ms(&ack, 0.99));
    if let Ok(Some(e)) = acks.first_error.lock().map(|e| e.clone()) {
        l.str("first_error", &e);
    }
    crate::finish(l, received, sent.cpu, &sent.before, malloc);
    match sent.incomplete {
        Some(e) => Err(format!("{e}: {received} of {} records arrived, {failed} failed", plan.records)),
        None if failed > 0 => Err(format!("{failed} records failed")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_read_back() {
        let v = stamped(7, 1_500_000, &[0xaa; 100]);
        assert_eq!(v.len(), 100);
        assert_eq!(read_stamp(&v), Some((7, 1_500_000)));
        assert_eq!(v[STAMP], 0xaa);
        assert_eq!(read_stamp(&v[..15]), None);
    }

    #[test]
    fn arrivals_count_once_and_mark_warm_up_partitions() {
        let progress = Progress::default();
        let mut tally = Tally { latencies_us: vec![u32::MAX; 2], duplicates: 0, stray: 0 };
        let mut warm = vec![false; 2];
        let start = Instant::now();
        let now = start + Duration::from_millis(5);
        tally.arrive(&stamped(WARM_UP, 1, &[0; 16]), now, None, &mut warm, &progress);
        tally.arrive(&stamped(WARM_UP, 1, &[0; 16]), now, None, &mut warm, &progress);
        assert_eq!(progress.warm.load(Ordering::Relaxed), 1);
        assert_eq!(warm, [false, true]);
        // Due 2 ms after the start, arrived 5 ms after it.
        tally.arrive(&stamped(1, 2_000_000, &[0; 16]), now, Some(start), &mut warm, &progress);
        tally.arrive(&stamped(1, 2_000_000, &[0; 16]), now, Some(start), &mut warm, &progress);
        tally.arrive(&stamped(9, 0, &[0; 16]), now, Some(start), &mut warm, &progress);
        tally.arrive(b"short", now, Some(start), &mut warm, &progress);
        assert_eq!(tally.latencies_us, [u32::MAX, 3000]);
        assert_eq!((tally.duplicates, tally.stray), (1, 2));
        assert_eq!(progress.received.load(Ordering::Relaxed), 1);
    }
}
