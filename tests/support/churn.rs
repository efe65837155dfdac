//! The consumer-group churn scenario of tests/group_churn.rs (the shared broker) and
//! tests/group_churn_cluster_real.rs (a 3-node cluster of its own, whose group coordinator is also bounced): keyed
//! records flow into a topic while member processes (examples/journaled_member.rs) are killed with SIGKILL and
//! replaced, added, and stopped with SIGTERM (they then commit and close). Each member journals every record it
//! processes before committing, and every commit that succeeded.
//!
//! At the end: nothing is lost (every offset of every partition was processed), every record processed twice is
//! explained by a kill (a killed member processed it at or after its last successful commit of that partition),
//! so graceful stops and bounces cause none, and the group's committed offsets equal the end offsets.
//!
//! Every wait on a client call, a member process or `scripts/kafka` is bounded: what never returns fails the test
//! with a message instead of hanging it.
#![allow(dead_code)]

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar::ClientConfig;
use kafkar::admin::Admin;
use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use tokio::time::Instant;

use crate::support::{self, OwnKafka, within};

/// How long one client call of the test itself may take (the clients' own timeouts are shorter).
const CALL: Duration = Duration::from_secs(90);

/// The number in environment variable `name`, else `default`.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One run of the scenario.
pub struct Scenario<'a> {
    /// The cluster's bootstrap, for the members, the producer and the observer.
    pub bootstrap: &'a str,
    /// `classic` (cooperative-sticky) or `consumer` (KIP-848).
    pub protocol: &'static str,
    /// Seconds of traffic (at least: it also goes on until [`Bounce::at_least`] bounces are done).
    pub secs: u64,
    /// Records per second.
    pub rate: u64,
    /// Partitions of the topic.
    pub partitions: i32,
    /// Replication factor of the topic.
    pub replication: i16,
    /// The producer's configuration.
    pub producer: ProducerConfig,
    /// Whether and how to bounce the group coordinator's broker.
    pub bounce: Option<Bounce<'a>>,
}

impl<'a> Scenario<'a> {
    /// A run on one broker without bounces, with `KAFKAR_CHURN_SECS` (else `secs`) seconds of traffic at
    /// `KAFKAR_CHURN_RATE` (else 1000) records/s into `KAFKAR_CHURN_PARTITIONS` (else 12) partitions (RF 1), from
    /// a producer of the default configuration.
    pub fn from_knobs(bootstrap: &'a str, protocol: &'static str, secs: u64) -> Scenario<'a> {
        Scenario {
            bootstrap,
            protocol,
            secs: knob("KAFKAR_CHURN_SECS", secs),
            rate: knob("KAFKAR_CHURN_RATE", 1000),
            partitions: knob("KAFKAR_CHURN_PARTITIONS", 12) as i32,
            replication: 1,
            producer: ProducerConfig::new(bootstrap),
            bounce: None,
        }
    }
}

/// Bounces of the group coordinator's broker of a 3-node cluster while records flow: alternately SIGKILLed
/// (`kill-node`) and stopped with SIGTERM (`stop-node`), down about 1 s, then `start-node`; each only when the
/// cluster is healthy ([`support::wait_healthy`] on the topic and `__consumer_offsets`).
pub struct Bounce<'a> {
    /// The cluster.
    pub kafka: &'a OwnKafka,
    /// The pause before each bounce: between `every` and twice `every`, from the end of the previous one.
    pub every: Duration,
    /// Traffic goes on past [`Scenario::secs`] until this many bounces are done.
    pub at_least: u32,
}

/// The member program (examples/journaled_member.rs), built once per test run: `cargo test --all-targets` builds
/// examples as test harnesses, not as the program.
fn member_program() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--example", "journaled_member"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("run cargo build --example journaled_member");
            assert!(status.success(), "cargo build --example journaled_member failed");
            let exe = std::env::current_exe().expect("the test binary's path");
            // target/debug/deps/group_churn-HASH → target/debug/examples/journaled_member
            let debug = exe.parent().and_then(Path::parent).expect("target/debug");
            let program = debug.join("examples").join("journaled_member");
            assert!(program.exists(), "{} is missing after the build", program.display());
            program
        })
        .clone()
}

/// The members' log filter: `KAFKAR_CHURN_MEMBER_LOG`, else `RUST_LOG`, else `info`.
fn member_log_filter() -> String {
    ["KAFKAR_CHURN_MEMBER_LOG", "RUST_LOG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "info".to_owned())
}

/// One member process, its journal and its log (stderr).
struct Member {
    name: String,
    child: Child,
    journal: PathBuf,
    log: PathBuf,
    killed: bool,
    /// Sent SIGTERM: it commits, closes and exits.
    terminated: bool,
}

/// Every journal line of one member.
#[derive(Default)]
struct Journal {
    /// (partition, offset, ms) of each processed record, in order.
    processed: Vec<(i32, i64, u64)>,
    /// (partition, offset, position in `processed` when journalled) of each successful commit.
    commits: Vec<(i32, i64, usize)>,
    /// Commit latencies in microseconds.
    latencies: Vec<u64>,
    errors: Vec<String>,
}

fn read_journal(path: &Path) -> Journal {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut j = Journal::default();
    for line in text.lines() {
        let mut f = line.splitn(5, ' ');
        let (Some(kind), Some(a), Some(b), Some(t)) = (f.next(), f.next(), f.next(), f.next()) else { continue };
        let (Ok(a), Ok(b), Ok(t)) = (a.parse::<i32>(), b.parse::<i64>(), t.parse::<u64>()) else { continue };
        match kind {
            "R" => j.processed.push((a, b, t)),
            "C" => j.commits.push((a, b, j.processed.len())),
            "L" => j.latencies.push(b as u64),
            "E" => j.errors.push(f.next().unwrap_or_default().to_owned()),
            _ => {}
        }
    }
    j
}

struct Churn {
    bootstrap: String,
    topic: String,
    group: String,
    protocol: &'static str,
    dir: PathBuf,
    members: Vec<Member>,
    started: usize,
    /// When the run started: the time of each event line.
    since: Instant,
}

/// Seconds since `since`, for event lines.
fn at(since: Instant) -> String {
    format!("{:.1} s", since.elapsed().as_secs_f64())
}

/// Milliseconds since the Unix epoch (the journals' clock).
fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Churn {
    fn start_member(&mut self) {
        self.started += 1;
        let name = format!("m{}", self.started);
        let journal = self.dir.join(format!("{name}.journal"));
        let log = self.dir.join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).expect("member log");
        let child = Command::new(member_program())
            .args([&self.bootstrap, &self.topic, &self.group, self.protocol, journal.to_str().expect("utf-8 path")])
            .env("RUST_LOG", member_log_filter())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start a member");
        eprintln!("churn[{}] {}: started {name} (pid {})", self.protocol, at(self.since), child.id());
        self.members.push(Member { name, child, journal, log, killed: false, terminated: false });
    }

    fn live(&mut self) -> Vec<usize> {
        (0..self.members.len()).filter(|&i| matches!(self.members[i].child.try_wait(), Ok(None))).collect()
    }

    fn kill(&mut self, i: usize) {
        let m = &mut self.members[i];
        let _ = m.child.kill();
        let _ = m.child.wait();
        m.killed = true;
        eprintln!("churn[{}] {}: SIGKILLed {}", self.protocol, at(self.since), m.name);
    }

    fn terminate(&mut self, i: usize) {
        let m = &mut self.members[i];
        let _ = Command::new("kill").args(["-TERM", &m.child.id().to_string()]).status();
        m.terminated = true;
        eprintln!("churn[{}] {}: SIGTERM to {}", self.protocol, at(self.since), m.name);
    }

    /// Waits for a terminated member to exit (it commits and closes), at most 60 s; then kills it and says so.
    async fn reap(&mut self, i: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.members[i].child.try_wait() {
                Ok(Some(status)) => {
                    let m = &self.members[i];
                    assert!(status.success(), "{} exited with {status} after SIGTERM:\n{}", m.name, log_tail(&m.log));
                    return;
                }
                Ok(None) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => {
                    self.kill(i);
                    panic!(
                        "{} did not close within 60 s of SIGTERM:\n{}",
                        self.members[i].name,
                        log_tail(&self.members[i].log)
                    );
                }
            }
        }
    }

    /// Fails the test when a member exited on its own (neither killed nor told to stop), with the end of its log.
    fn assert_none_exited_on_its_own(&mut self) {
        for m in &mut self.members {
            if m.killed || m.terminated {
                continue;
            }
            if let Ok(Some(status)) = m.child.try_wait() {
                panic!("{} exited on its own with {status}:\n{}", m.name, log_tail(&m.log));
            }
        }
    }
}

impl Drop for Churn {
    fn drop(&mut self) {
        for m in &mut self.members {
            let _ = m.child.kill();
            let _ = m.child.wait();
        }
    }
}

/// The last 30 lines of a member's log, named.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!("--- the end of {} ---\n{}", path.display(), lines[lines.len().saturating_sub(30)..].join("\n"))
}

/// A small xorshift generator: the actions and their timing.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Delivery failures of the traffic.
#[derive(Default)]
struct Failures {
    count: AtomicU64,
    first: Mutex<Option<String>>,
}

/// Keyed records at `rate` per second from a task of their own until `stop`; the task returns how many it sent.
fn traffic(
    producer: Producer,
    topic: &str,
    rate: u64,
    stop: Arc<AtomicBool>,
    failures: Arc<Failures>,
) -> tokio::task::JoinHandle<u64> {
    let topic = topic.to_owned();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let per_tick = (rate / 100).max(1);
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            tick.tick().await;
            for _ in 0..per_tick {
                let record =
                    ProducerRecord::new(topic.as_str()).key(format!("key-{}", i % 1000)).value(format!("v{i}"));
                let failures = failures.clone();
                producer
                    .send_with_callback(record, move |r| {
                        if let Err(e) = r {
                            failures.count.fetch_add(1, Ordering::Relaxed);
                            failures.first.lock().unwrap().get_or_insert_with(|| format!("record {i}: {e}"));
                        }
                    })
                    .await
                    .expect("queued");
                i += 1;
            }
        }
        producer.close().await;
        i
    })
}

/// Runs the scenario, asserts its promises and prints its figures (the `churn[PROTOCOL]: N records` line).
pub async fn run(s: Scenario<'_>) {
    let Scenario { bootstrap, protocol, secs, rate, partitions, replication, producer, bounce } = s;
    let topic = support::unique_topic(&format!("churn-{protocol}"));
    let admin = within(CALL, "Admin::new", Admin::new(ClientConfig::new(bootstrap))).await.unwrap();
    within(CALL, "create_topic", admin.create_topic(&topic, partitions, replication, &[])).await.unwrap();
    if bounce.is_some() {
        support::wait_healthy(bootstrap, &[&topic]).await;
    }
    member_program(); // built before the clock starts
    let dir = std::env::temp_dir().join(&topic);
    std::fs::create_dir_all(&dir).unwrap();
    let mut churn = Churn {
        bootstrap: bootstrap.to_owned(),
        group: format!("{topic}-group"),
        topic: topic.clone(),
        protocol,
        dir: dir.clone(),
        members: Vec::new(),
        started: 0,
        since: Instant::now(),
    };
    let (since, since_ms) = (churn.since, unix_ms());
    let group = churn.group.clone();
    for _ in 0..3 {
        churn.start_member();
    }

    let producer = within(CALL, "Producer::new", Producer::new(producer)).await.unwrap();
    let (stop, failures) = (Arc::new(AtomicBool::new(false)), Arc::new(Failures::default()));
    let sending = traffic(producer.clone(), &topic, rate, stop.clone(), failures.clone());
    let flowing = Instant::now();
    let bounces = Cell::new(0u32);
    let at_least = bounce.as_ref().map_or(0, |b| b.at_least);

    // One random member action every 3–6 s while records flow.
    let churning = async {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
        let (mut kills, mut stops, mut adds) = (0, 0, 0);
        loop {
            tokio::time::sleep(Duration::from_millis(3000 + rng.next(3000))).await;
            churn.assert_none_exited_on_its_own();
            // The sender ends only when told to, or when it failed: its error comes out below.
            if sending.is_finished() || (flowing.elapsed() >= Duration::from_secs(secs) && bounces.get() >= at_least) {
                stop.store(true, Ordering::Relaxed);
                break;
            }
            let live = churn.live();
            match rng.next(3) {
                0 if !live.is_empty() => {
                    let i = live[rng.next(live.len() as u64) as usize];
                    churn.kill(i);
                    churn.start_member();
                    kills += 1;
                }
                1 if live.len() < 5 => {
                    churn.start_member();
                    adds += 1;
                }
                _ if live.len() > 2 => {
                    let i = live[rng.next(live.len() as u64) as usize];
                    churn.terminate(i);
                    churn.reap(i).await;
                    stops += 1;
                }
                _ => {
                    churn.start_member();
                    adds += 1;
                }
            }
        }
        (kills, stops, adds, flowing.elapsed().as_secs())
    };
    // The coordinator's broker bounced every `every` to 2×`every` while records flow.
    let bouncing = async {
        let Some(b) = &bounce else { return };
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ u64::from(std::process::id()));
        loop {
            let until = Instant::now() + b.every + Duration::from_millis(rng.next(b.every.as_millis() as u64 + 1));
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            if stop.load(Ordering::Relaxed) {
                return;
            }
            support::wait_healthy(bootstrap, &[&topic, "__consumer_offsets"]).await;
            let node = support::group_coordinator(bootstrap, &group).await.to_string();
            let (how, done) =
                if bounces.get().is_multiple_of(2) { ("kill-node", "SIGKILLed") } else { ("stop-node", "stopped") };
            eprintln!("churn[{protocol}] {}: bounce {}: the coordinator is node {node}", at(since), bounces.get() + 1);
            let down = Instant::now();
            b.kafka.run(&[how, &node]).await;
            let gone = down.elapsed();
            tokio::time::sleep(Duration::from_secs(1)).await;
            b.kafka.run(&["start-node", &node]).await;
            bounces.set(bounces.get() + 1);
            eprintln!(
                "churn[{protocol}] {}: bounce {}: node {node} {done} in {:.1} s, back after {:.1} s",
                at(since),
                bounces.get(),
                gone.as_secs_f64(),
                down.elapsed().as_secs_f64()
            );
        }
    };
    let ((kills, stops, adds, flowed), ()) = tokio::join!(churning, bouncing);
    // Every record is acknowledged or failed within delivery.timeout.ms; past that and a margin the producer is
    // stuck, and the failure shows its state.
    let total = match tokio::time::timeout(Duration::from_secs(240), sending).await {
        Ok(sent) => sent.expect("the producer's task"),
        Err(_) => panic!("the producer did not finish within 240 s: {:?}", producer.metrics()),
    };
    assert_eq!(
        failures.count.load(Ordering::Relaxed),
        0,
        "no record failed; the first: {:?}",
        failures.first.lock().unwrap()
    );

    // Everything produced; wait until the group has committed up to the end of every partition.
    let mut config = ConsumerConfig::new(bootstrap);
    config.set("group.id", &group).unwrap();
    let observer = within(CALL, "Consumer::new", Consumer::new(config)).await.unwrap();
    let tps: Vec<TopicPartition> = (0..partitions).map(|p| TopicPartition::new(topic.as_str(), p)).collect();
    let mut ends = BTreeMap::new();
    for tp in &tps {
        ends.insert(tp.partition, within(CALL, "watermarks", observer.watermarks(tp)).await.unwrap().1);
    }
    assert_eq!(ends.values().sum::<i64>() as u64, total, "the log holds every record once");
    let deadline = Instant::now() + Duration::from_secs(120);
    let committed = loop {
        // An error (the coordinator moving after a bounce) is asked again until the deadline.
        let committed: BTreeMap<i32, i64> = match within(CALL, "committed", observer.committed(&tps)).await {
            Ok(c) => c.into_iter().map(|(tp, o)| (tp.partition, o.map_or(-1, |o| o.offset))).collect(),
            Err(e) => {
                eprintln!("churn[{protocol}]: committed: {e}");
                BTreeMap::new()
            }
        };
        if committed == ends || Instant::now() >= deadline {
            break committed;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Stop the members gracefully.
    churn.assert_none_exited_on_its_own();
    for i in churn.live() {
        churn.terminate(i);
    }
    for i in 0..churn.members.len() {
        if !churn.members[i].killed {
            churn.reap(i).await;
        }
    }
    assert_eq!(committed, ends, "the group's committed offsets reach the end of every partition");

    // Read the journals back.
    let mut seen: HashMap<(i32, i64), Vec<(usize, usize)>> = HashMap::new(); // (member, position in its journal)
    let journals: Vec<Journal> = churn.members.iter().map(|m| read_journal(&m.journal)).collect();
    let mut latencies: Vec<u64> = Vec::new();
    let mut commit_errors = 0;
    for (mi, j) in journals.iter().enumerate() {
        for (pos, &(p, o, _)) in j.processed.iter().enumerate() {
            seen.entry((p, o)).or_default().push((mi, pos));
        }
        latencies.extend(&j.latencies);
        commit_errors += j.errors.len();
    }
    let lost: Vec<(i32, i64)> =
        ends.iter().flat_map(|(&p, &end)| (0..end).map(move |o| (p, o))).filter(|k| !seen.contains_key(k)).collect();
    assert!(lost.is_empty(), "{} records never processed, e.g. {:?}", lost.len(), &lost[..lost.len().min(10)]);

    // A record a killed member processed at or after its last successful commit of that partition was never
    // committed by it: processing it again is what at-least-once promises after a crash.
    let explained_by_kill = |mi: usize, p: i32, o: i64| -> bool {
        let last_commit = journals[mi].commits.iter().filter(|&&(cp, _, _)| cp == p).map(|&(_, co, _)| co).max();
        churn.members[mi].killed && last_commit.is_none_or(|c| o >= c)
    };
    let (mut explained, mut unexplained) = (0usize, Vec::new());
    for (&(p, o), times) in &seen {
        if times.len() < 2 {
            continue;
        }
        // All but one processing must each be a killed member's uncommitted work.
        let uncommitted = times.iter().filter(|&&(mi, _)| explained_by_kill(mi, p, o)).count();
        if uncommitted >= times.len() - 1 {
            explained += times.len() - 1;
        } else {
            unexplained.push(((p, o), times.iter().map(|&(mi, _)| churn.members[mi].name.clone()).collect::<Vec<_>>()));
        }
    }

    // The longest time a partition went without a processed record while records were flowing.
    let mut by_partition: BTreeMap<i32, BTreeSet<u64>> = BTreeMap::new();
    for j in &journals {
        for &(p, _, t) in &j.processed {
            by_partition.entry(p).or_default().insert(t);
        }
    }
    // (length, partition, start) of the longest gap.
    let (max_stall, stall_partition, stall_from) = by_partition
        .iter()
        .flat_map(|(&p, ts)| ts.iter().zip(ts.iter().skip(1)).map(move |(&a, &b)| (b - a, p, a)))
        .max()
        .unwrap_or_default();
    latencies.sort_unstable();
    let bounced = if bounce.is_some() { format!("; coordinator bounces {}", bounces.get()) } else { String::new() };
    eprintln!(
        "churn[{protocol}]: {total} records, {partitions} partitions, {flowed} s at {rate}/s; members started {}, \
         killed {kills}, stopped {stops}, added {adds}; duplicates explained by kills {explained}, unexplained {}; \
         max partition stall {max_stall} ms (partition {stall_partition} from {:.1} s); commits {} (p50 {} us, p99 {} us, max {} us); \
         commit errors {commit_errors}{bounced}",
        churn.started,
        unexplained.len(),
        stall_from.saturating_sub(since_ms) as f64 / 1000.0,
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
    );
    assert!(
        unexplained.is_empty(),
        "{} duplicates no kill explains, e.g. {:?}",
        unexplained.len(),
        &unexplained[..unexplained.len().min(10)]
    );
    if std::env::var_os("KAFKAR_CHURN_KEEP").is_some() {
        eprintln!("churn[{protocol}]: journals and member logs kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
