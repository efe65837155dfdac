//! A handler consumer SIGKILLed mid-run, again and again (a child process: this test binary re-run with
//! `KAFKAR_APP_CRASH_CHILD` set), against a real Apache Kafka: every record is handled at least once, and after
//! every kill the group's committed offsets are never ahead of the records the handler finished.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kafkar::producer::ProducerRecord;
use kafkar_app::{BatchDelivery, Delivery, HandlerConsumer, Shutdown};
use support::*;

const CHILD_ENV: &str = "KAFKAR_APP_CRASH_CHILD";
const PARTITIONS: i32 = 3;
const RECORDS: i32 = 900;
const KILLS: usize = 5;

/// Appends journal lines `partition offset .` for `records`, written before the handler returns, so the journal
/// holds every finished record.
///
/// The lines go out in one `write` on a file opened for appending. (`writeln!` on a `File` issues one `write` per
/// formatted piece — partition, space, offset, newline — so pieces of concurrent handlers once interleaved
/// (`12  9695`) and a SIGKILL could cut a line, gluing it to the next process's first line. Either way a finished
/// record went missing from the journal: the test then saw its committed offset "ahead of finished records", or
/// waited forever for a record that was committed, rightly, and so never handled again.) One `write` to an
/// `O_APPEND` file is never interleaved with another; the kernel may still cut it short when SIGKILL comes while it
/// crosses a page boundary, so each write starts on a new line and each line ends with ` .`: a cut line is one the
/// handler never finished, and [`journal`] leaves it out.
fn append(journal: &std::path::Path, records: impl Iterator<Item = (i32, i64)>) {
    let mut text = String::from("\n");
    for (p, o) in records {
        text.push_str(&format!("{p} {o} .\n"));
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(journal).expect("journal");
    let written = f.write(text.as_bytes()).expect("journal write");
    assert_eq!(written, text.len(), "journal lines written in one piece");
}

async fn handle(journal: std::path::PathBuf, d: Delivery) -> Result<(), kafkar_app::HandlerError> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    append(&journal, std::iter::once((d.record.partition, d.record.offset)));
    Ok(())
}

async fn handle_batch(journal: std::path::PathBuf, b: BatchDelivery) -> Result<(), kafkar_app::HandlerError> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    append(&journal, b.records.iter().map(|r| (r.partition, r.offset)));
    Ok(())
}

async fn member(bootstrap: &str, topic: &str, group: &str, journal: &str, batch: bool) -> HandlerConsumer {
    let mut settings = settings();
    settings.commit_interval = Duration::from_millis(50);
    settings.max_batch_records = 4;
    let journal = std::path::PathBuf::from(journal);
    let mut config = consumer_config(bootstrap, group);
    config.set("heartbeat.interval.ms", "100").unwrap();
    // A restarted process comes back as the same static member (as a pod restarted in place), so it takes over
    // the killed one's partitions at once instead of after its session times out.
    config.set("group.instance.id", "crash-member").unwrap();
    config.set("session.timeout.ms", "6000").unwrap();
    let consumer = if batch {
        HandlerConsumer::new_batch(config, [topic], settings, move |b| handle_batch(journal.clone(), b)).await
    } else {
        HandlerConsumer::new(config, [topic], settings, move |d| handle(journal.clone(), d)).await
    };
    consumer.unwrap()
}

/// The child's role: handles records until killed. Does nothing in a normal test run.
#[test]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let parts: Vec<&str> = spec.split('|').collect();
    let [bootstrap, topic, group, journal, mode] = parts.as_slice() else { panic!("bad {CHILD_ENV}: {spec}") };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let consumer = member(bootstrap, topic, group, journal, *mode == "batch").await;
        consumer.run(Shutdown::new()).await.unwrap();
    });
}

fn spawn_child(spec: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// The finished (partition, offset) pairs in the journal: its complete lines (a cut one, see [`append`], is not a
/// finished record). A complete line that does not parse fails the test: it would hide a finished record.
fn journal(path: &str) -> Vec<(i32, i64)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // A last line without its newline is a write in progress (the child still runs): left for the next read.
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    let mut out = Vec::new();
    let mut cut = 0;
    for l in complete.lines().filter(|l| !l.is_empty()) {
        let Some(fields) = l.strip_suffix(" .") else {
            cut += 1;
            continue;
        };
        let parsed = fields.split_once(' ').and_then(|(p, o)| Some((p.parse().ok()?, o.parse().ok()?)));
        out.push(parsed.unwrap_or_else(|| panic!("malformed journal line {l:?} in {path}")));
    }
    // Each kill cuts at most the writes of the handlers running then (one per partition).
    assert!(cut <= KILLS * PARTITIONS as usize, "{cut} cut journal lines in {path}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_handler_consumers_commit_only_finished_records_and_lose_none() {
    crash_and_restart("record").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_batch_handler_consumers_commit_only_finished_batches_and_lose_none() {
    crash_and_restart("batch").await;
}

/// Kills a member `KILLS` times mid-run; checks the commits after each kill and every record at the end.
async fn crash_and_restart(mode: &str) {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let Some(bootstrap) = real_broker() else { return };
    let topic = unique(&format!("app-crash-{mode}"));
    create_topic(&bootstrap, &topic, PARTITIONS).await;
    let producer = producer(&bootstrap).await;
    for i in 0..RECORDS {
        producer
            .send_forget(ProducerRecord::new(topic.as_str()).partition(i % PARTITIONS).value(format!("{i}")))
            .await
            .unwrap();
    }
    producer.flush().await;
    producer.close().await;
    let group = unique("app-crash-group");
    let path = std::env::temp_dir().join(format!("{topic}.journal"));
    let path = path.to_str().unwrap().to_owned();
    let spec = format!("{bootstrap}|{topic}|{group}|{path}|{mode}");
    for kill in 0..KILLS {
        let before = journal(&path).len();
        let mut child = spawn_child(&spec);
        // Kill once the child has finished a few more records (or after a while, whatever it did).
        let want = before + 40 + kill * 10;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while journal(&path).len() < want && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let finished: BTreeSet<(i32, i64)> = journal(&path).into_iter().collect();
        let committed = committed(&bootstrap, &group, &topic, PARTITIONS).await;
        for (p, c) in committed {
            let Some(c) = c else { continue };
            for o in 0..c {
                assert!(finished.contains(&(p, o)), "kill {kill}: committed {p}@{c} but {p}@{o} never finished");
            }
        }
    }
    // A last member (in process) finishes the rest and shuts down.
    let consumer = member(&bootstrap, &topic, &group, &path, mode == "batch").await;
    let (shutdown, run) = spawn_run(consumer);
    eventually("every record handled", || {
        journal(&path).into_iter().collect::<BTreeSet<_>>().len() == RECORDS as usize
    })
    .await;
    shutdown.trigger();
    run.await.unwrap().unwrap();
    let lines = journal(&path);
    let mut per_partition: HashMap<i32, BTreeSet<i64>> = HashMap::new();
    for (p, o) in &lines {
        per_partition.entry(*p).or_default().insert(*o);
    }
    for p in 0..PARTITIONS {
        let want: BTreeSet<i64> = (0..i64::from(RECORDS / PARTITIONS)).collect();
        assert_eq!(per_partition.get(&p), Some(&want), "partition {p}: every record handled");
    }
    let committed = committed(&bootstrap, &group, &topic, PARTITIONS).await;
    for p in 0..PARTITIONS {
        assert_eq!(committed[&p], Some(i64::from(RECORDS / PARTITIONS)));
    }
    eprintln!("{mode}: {} records handled for {RECORDS} records over {KILLS} kills", lines.len());
    let _ = std::fs::remove_file(&path);
}
