//! Exactly once under crashes, against a real broker (`KAFKA_BOOTSTRAP`): the `exactly_once` example runs as a
//! child process (this test binary re-run with `KAFKAR_EOS_CHILD` set), copying an input topic to an output topic in
//! transactions that also commit the input offsets. The test keeps writing input, SIGKILLs the child at random
//! points at least 20 times and restarts it, then lets a last child drain the input. The output read_committed
//! readers see must hold every input record exactly once, in order per key. Runs against `KAFKA_BOOTSTRAP` and, when
//! set, `KAFKA_BOOTSTRAP_TV1` (a transaction.version=1 broker).

mod support;

#[path = "../examples/exactly_once.rs"]
#[allow(dead_code)]
mod exactly_once;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kafkar::admin::Admin;
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};

const CHILD_ENV: &str = "KAFKAR_EOS_CHILD";
const PARTITIONS: i32 = 3;
const KEYS: usize = 17;
const PER_ROUND: usize = 60;
const KILLS: usize = 22;

/// The child's role: runs the example until killed. Does nothing in a normal test run.
#[test]
fn eos_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let parts: Vec<&str> = spec.split('|').collect();
    let [bootstrap, input, output, group] = parts.as_slice() else { panic!("bad {CHILD_ENV}: {spec}") };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(exactly_once::run(bootstrap, input, output, group, || false)).expect("copier failed");
}

fn spawn_child(spec: &str) -> Child {
    let exe = std::env::current_exe().unwrap();
    Command::new(exe)
        .args(["--exact", "eos_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// A small deterministic-per-run random source (xorshift), seeded from the clock and printed for reruns.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn exactly_once_under_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let Some(bootstrap) = support::real_broker() else { return };
    run_crash_test(&bootstrap);
    // A transaction.version=1 broker too, when one is given (scripts/test starts one).
    if let Some(tv1) = std::env::var("KAFKA_BOOTSTRAP_TV1").ok().filter(|b| !b.trim().is_empty()) {
        run_crash_test(&tv1);
    }
}

fn run_crash_test(bootstrap: &str) {
    let bootstrap = bootstrap.to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("exactly_once_under_sigkill: seed {seed}");
    let mut rng = Rng(seed);
    let started = Instant::now();

    let input = support::unique_topic("eos-in");
    let output = support::unique_topic("eos-out");
    let group = support::unique_topic("eos-group");
    let producer = rt.block_on(async {
        let admin = Admin::new(kafkar::ClientConfig::new(&bootstrap)).await.unwrap();
        admin.create_topic(&input, PARTITIONS, 1, &[]).await.unwrap();
        admin.create_topic(&output, PARTITIONS, 1, &[]).await.unwrap();
        let mut pc = ProducerConfig::new(&bootstrap);
        pc.set("linger.ms", "1").unwrap();
        Producer::new(pc).await.unwrap()
    });
    let mut next_seq = [0usize; KEYS];
    let mut total = 0usize;
    let mut write_round = |rng: &mut Rng| {
        rt.block_on(async {
            let mut futures = Vec::new();
            for _ in 0..PER_ROUND {
                let k = (rng.next() % KEYS as u64) as usize;
                let v = format!("k{k:02}-{:05}", next_seq[k]);
                next_seq[k] += 1;
                futures.push(
                    producer.send(ProducerRecord::new(input.as_str()).key(format!("k{k:02}")).value(v)).await.unwrap(),
                );
            }
            for f in futures {
                f.await.unwrap();
            }
        });
        total += PER_ROUND;
    };
    let spec = format!("{bootstrap}|{input}|{output}|{group}");
    for round in 0..KILLS {
        write_round(&mut rng);
        let mut child = spawn_child(&spec);
        let wait = Duration::from_millis(300 + rng.next() % 2200);
        std::thread::sleep(wait);
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        eprintln!("round {round}: killed after {wait:?}");
    }
    write_round(&mut rng);
    let mut last = spawn_child(&spec);
    let out: Vec<(i32, String, String)> = rt
        .block_on(support::read_committed(&bootstrap, &output, PARTITIONS, total, Duration::from_secs(120)))
        .into_iter()
        .map(|r| {
            let key = String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned();
            let value = String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
            (r.partition, key, value)
        })
        .collect();
    last.kill().ok();
    last.wait().ok();
    rt.block_on(producer.close());
    eprintln!("{KILLS} kills, {total} records, {:?}", started.elapsed());

    // Exactly once: every input value, transformed, once.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (_, _, v) in &out {
        *counts.entry(v.as_str()).or_default() += 1;
    }
    let dupes: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dupes.is_empty(), "duplicates: {dupes:?}");
    assert_eq!(out.len(), total, "every input exactly once ({} of {total})", out.len());
    // In order per key (one key lives in one partition, read in offset order).
    let mut last_seen: HashMap<&str, i64> = HashMap::new();
    for (_, k, v) in &out {
        let seq: i64 = v.rsplit('-').next().unwrap().parse().unwrap();
        let prev = last_seen.insert(k.as_str(), seq).unwrap_or(-1);
        assert_eq!(seq, prev + 1, "key {k}: {v} after {prev}");
        assert!(v.starts_with("out:K"), "transformed: {v}");
    }
}
