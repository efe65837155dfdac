//! A consumer group under churn, against the real broker (`KAFKA_BOOTSTRAP`): keyed records flow into a topic
//! while member processes (examples/journaled_member.rs) are killed with SIGKILL and replaced, added, and stopped
//! with SIGTERM (they then commit and close). Each member journals every record it processes before committing,
//! and every commit that succeeded.
//!
//! At the end: nothing is lost (every offset of every partition was processed), every record processed twice is
//! explained by a kill (a killed member processed it at or after its last successful commit of that partition),
//! so graceful stops cause none, and the group's committed offsets equal the end offsets.
//!
//! The CI variant runs about 40 s of traffic per protocol. `scripts/chaos churn` runs the long one; the knobs are
//! `KAFKAR_CHURN_SECS` (seconds of traffic), `KAFKAR_CHURN_RATE` (records/s) and `KAFKAR_CHURN_PARTITIONS`.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kafkar::ClientConfig;
use kafkar::admin::Admin;
use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use tokio::time::Instant;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
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

/// One member process and its journal.
struct Member {
    name: String,
    child: Child,
    journal: PathBuf,
    killed: bool,
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
}

impl Churn {
    fn start_member(&mut self) {
        self.started += 1;
        let name = format!("m{}", self.started);
        let journal = self.dir.join(format!("{name}.journal"));
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).expect("member log");
        let child = Command::new(member_program())
            .args([&self.bootstrap, &self.topic, &self.group, self.protocol, journal.to_str().expect("utf-8 path")])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start a member");
        eprintln!("churn[{}]: started {name} (pid {})", self.protocol, child.id());
        self.members.push(Member { name, child, journal, killed: false });
    }

    fn live(&mut self) -> Vec<usize> {
        (0..self.members.len()).filter(|&i| matches!(self.members[i].child.try_wait(), Ok(None))).collect()
    }

    fn kill(&mut self, i: usize) {
        let m = &mut self.members[i];
        let _ = m.child.kill();
        let _ = m.child.wait();
        m.killed = true;
        eprintln!("churn[{}]: SIGKILLed {}", self.protocol, m.name);
    }

    fn terminate(&mut self, i: usize) {
        let m = &mut self.members[i];
        let _ = Command::new("kill").args(["-TERM", &m.child.id().to_string()]).status();
        eprintln!("churn[{}]: SIGTERM to {}", self.protocol, m.name);
    }

    /// Waits for a terminated member to exit (it commits and closes), at most 60 s; then kills it and says so.
    fn reap(&mut self, i: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            match self.members[i].child.try_wait() {
                Ok(Some(status)) => {
                    assert!(
                        status.success(),
                        "{} exited with {status} after SIGTERM (see its log)",
                        self.members[i].name
                    );
                    return;
                }
                Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                _ => {
                    self.kill(i);
                    panic!("{} did not close within 60 s of SIGTERM", self.members[i].name);
                }
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

async fn run(protocol: &'static str) {
    let Some(bootstrap) = support::real_broker() else { return };
    let secs = knob("KAFKAR_CHURN_SECS", 40);
    let rate = knob("KAFKAR_CHURN_RATE", 1000);
    let partitions = knob("KAFKAR_CHURN_PARTITIONS", 12) as i32;
    let topic = support::unique_topic(&format!("churn-{protocol}"));
    let admin = Admin::new(ClientConfig::new(&bootstrap)).await.unwrap();
    admin.create_topic(&topic, partitions, 1, &[]).await.unwrap();
    let dir = std::env::temp_dir().join(&topic);
    std::fs::create_dir_all(&dir).unwrap();
    let mut churn = Churn {
        bootstrap: bootstrap.clone(),
        group: format!("{topic}-group"),
        topic: topic.clone(),
        protocol,
        dir: dir.clone(),
        members: Vec::new(),
        started: 0,
    };
    for _ in 0..3 {
        churn.start_member();
    }

    // Keyed records at `rate` per second for `secs` seconds, from a task of their own.
    let producer = Producer::new(ProducerConfig::new(&bootstrap)).await.unwrap();
    let total = rate * secs;
    let produce = {
        let topic = topic.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let per_tick = (rate / 100).max(1);
            let mut i = 0u64;
            while i < total {
                tick.tick().await;
                for _ in 0..per_tick.min(total - i) {
                    let record =
                        ProducerRecord::new(topic.as_str()).key(format!("key-{}", i % 1000)).value(format!("v{i}"));
                    let delivery = producer.send(record).await.expect("queued");
                    tokio::spawn(async move { delivery.await.expect("delivered") });
                    i += 1;
                }
            }
            producer.flush().await;
            producer.close().await;
        })
    };

    // One random action every 3–6 s while records flow.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
    let (mut kills, mut stops, mut adds) = (0, 0, 0);
    while !produce.is_finished() {
        tokio::time::sleep(Duration::from_millis(3000 + rng.next(3000))).await;
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
                churn.reap(i);
                stops += 1;
            }
            _ => {
                churn.start_member();
                adds += 1;
            }
        }
    }
    produce.await.unwrap();

    // Everything produced; wait until the group has committed up to the end of every partition.
    let mut config = ConsumerConfig::new(&bootstrap);
    config.set("group.id", &churn.group).unwrap();
    let observer = Consumer::new(config).await.unwrap();
    let tps: Vec<TopicPartition> = (0..partitions).map(|p| TopicPartition::new(topic.as_str(), p)).collect();
    let mut ends = BTreeMap::new();
    for tp in &tps {
        ends.insert(tp.partition, observer.watermarks(tp).await.unwrap().1);
    }
    assert_eq!(ends.values().sum::<i64>() as u64, total, "the log holds every record once");
    let deadline = Instant::now() + Duration::from_secs(120);
    let committed = loop {
        let committed: BTreeMap<i32, i64> = observer
            .committed(&tps)
            .await
            .unwrap()
            .into_iter()
            .map(|(tp, o)| (tp.partition, o.map_or(-1, |o| o.offset)))
            .collect();
        if committed == ends || Instant::now() >= deadline {
            break committed;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // Stop the members gracefully.
    for i in churn.live() {
        churn.terminate(i);
    }
    for i in 0..churn.members.len() {
        if !churn.members[i].killed {
            churn.reap(i);
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
    let max_stall =
        by_partition.values().flat_map(|ts| ts.iter().zip(ts.iter().skip(1)).map(|(a, b)| b - a)).max().unwrap_or(0);
    latencies.sort_unstable();
    eprintln!(
        "churn[{protocol}]: {total} records, {partitions} partitions, {secs} s at {rate}/s; members started {}, \
         killed {kills}, stopped {stops}, added {adds}; duplicates explained by kills {explained}, unexplained {}; \
         max partition stall {max_stall} ms; commits {} (p50 {} us, p99 {} us, max {} us); commit errors {commit_errors}",
        churn.started,
        unexplained.len(),
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
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_cooperative_group_under_churn_loses_nothing_and_duplicates_only_after_kills() {
    run("classic").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_group_under_churn_loses_nothing_and_duplicates_only_after_kills() {
    run("consumer").await;
}
