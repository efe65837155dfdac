//! A consumer-group member that processes at least once: it writes every record it processes to a journal before
//! committing, commits every 200 records or 500 ms, commits the revoked partitions in its rebalance listener, and on
//! SIGTERM (or ctrl-c) commits what it processed and closes (leaving the group).
//!
//! ```sh
//! cargo run --example journaled_member -- BOOTSTRAP TOPIC GROUP classic|consumer JOURNAL
//! ```
//!
//! The journal has one line per event, `<kind> <partition> <offset> <unix ms>`:
//! - `R p o t`: record `o` of partition `p` processed;
//! - `C p o t`: offset `o` (the next record to read) of partition `p` committed successfully;
//! - `L 0 micros t`: one commit took `micros`;
//! - `E 0 0 t message`: a commit failed.
//!
//! The churn tests (tests/support/churn.rs) run several of these, kill and stop them, and read the journals back.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kafkar::consumer::{Consumer, ConsumerConfig, OffsetAndMetadata, RebalanceListener, TopicPartition};

/// The journal, shared by the processing loop, the rebalance listener and commit callbacks.
#[derive(Clone)]
struct Journal(Arc<Mutex<std::fs::File>>);

impl Journal {
    fn line(&self, kind: char, partition: i32, offset: i64, extra: &str) {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let mut f = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // A write per line: what reached the file survives a SIGKILL of this process.
        let _ = writeln!(f, "{kind} {partition} {offset} {ms}{extra}");
    }

    /// Journals the committed offsets, or the failure.
    fn committed(
        &self,
        offsets: &HashMap<TopicPartition, OffsetAndMetadata>,
        result: &kafkar::Result<()>,
        took: Duration,
    ) {
        match result {
            Ok(()) => {
                for (tp, o) in offsets {
                    self.line('C', tp.partition, o.offset, "");
                }
                self.line('L', 0, took.as_micros() as i64, "");
            }
            Err(e) => self.line('E', 0, 0, &format!(" {e}")),
        }
    }
}

/// The next offset to commit per partition: what has been processed and not yet committed.
type Processed = Arc<Mutex<HashMap<TopicPartition, i64>>>;

/// Commits the processed offsets of the revoked partitions before they are given up.
struct CommitOnRevoke {
    processed: Processed,
    journal: Journal,
}

impl RebalanceListener for CommitOnRevoke {
    fn on_revoked(&mut self, consumer: &mut Consumer, partitions: &[TopicPartition]) {
        // Taken out of `processed`: once given up, these partitions are never committed by this member again.
        let offsets: HashMap<TopicPartition, OffsetAndMetadata> = {
            let mut processed = self.processed.lock().unwrap_or_else(|p| p.into_inner());
            partitions
                .iter()
                .filter_map(|tp| processed.remove(tp).map(|o| (tp.clone(), OffsetAndMetadata::new(o))))
                .collect()
        };
        if offsets.is_empty() {
            return;
        }
        let journal = self.journal.clone();
        let started = Instant::now();
        let logged = offsets.clone();
        if let Err(e) =
            consumer.commit_offsets_async(offsets, move |r| journal.committed(&logged, &r, started.elapsed()))
        {
            self.journal.line('E', 0, 0, &format!(" {e}"));
        }
    }

    fn on_lost(&mut self, _consumer: &mut Consumer, partitions: &[TopicPartition]) {
        let mut processed = self.processed.lock().unwrap_or_else(|p| p.into_inner());
        for tp in partitions {
            processed.remove(tp);
        }
    }
}

/// Commits every processed offset and journals the result.
async fn commit(consumer: &mut Consumer, processed: &Processed, journal: &Journal) -> kafkar::Result<()> {
    let offsets: HashMap<TopicPartition, OffsetAndMetadata> = processed
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(tp, &o)| (tp.clone(), OffsetAndMetadata::new(o)))
        .collect();
    if offsets.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let result = consumer.commit_offsets(offsets.clone()).await;
    journal.committed(&offsets, &result, started.elapsed());
    result
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, bootstrap, topic, group, protocol, journal_path] = args.as_slice() else {
        eprintln!("usage: journaled_member BOOTSTRAP TOPIC GROUP classic|consumer JOURNAL");
        std::process::exit(2);
    };
    // The client's logs on stderr, as RUST_LOG asks (the churn test keeps each member's stderr in a file).
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init();
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(journal_path)?;
    let journal = Journal(Arc::new(Mutex::new(file)));

    let mut config = ConsumerConfig::new(bootstrap);
    config.set("group.id", group)?;
    config.set("group.protocol", protocol)?;
    config.set("auto.offset.reset", "earliest")?;
    config.set("enable.auto.commit", "false")?;
    if protocol == "classic" {
        config.set("partition.assignment.strategy", "cooperative-sticky")?;
        config.set("session.timeout.ms", "6000")?;
        config.set("heartbeat.interval.ms", "500")?;
    }
    let mut consumer = Consumer::new(config).await?;
    let processed = Processed::default();
    consumer.subscribe_with_listener(
        [topic.as_str()],
        CommitOnRevoke { processed: processed.clone(), journal: journal.clone() },
    )?;

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut since_commit = 0usize;
    let mut last_commit = Instant::now();
    loop {
        let records = tokio::select! {
            r = consumer.poll(100, Duration::from_millis(100)) => r?,
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        };
        for record in &records {
            journal.line('R', record.partition, record.offset, "");
            processed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(TopicPartition::new(record.topic.as_ref(), record.partition), record.offset + 1);
            since_commit += 1;
        }
        if since_commit >= 200 || (since_commit > 0 && last_commit.elapsed() >= Duration::from_millis(500)) {
            // A failed commit (a rebalance under way, a fenced member) is journalled; the loop goes on.
            let _ = commit(&mut consumer, &processed, &journal).await;
            since_commit = 0;
            last_commit = Instant::now();
        }
    }
    let committed = commit(&mut consumer, &processed, &journal).await;
    let closed = consumer.close().await;
    if let Err(e) = &closed {
        journal.line('E', 0, 0, &format!(" close: {e}"));
    }
    committed.and(closed)?;
    Ok(())
}
