//! Exactly-once processing: read an input topic in a consumer group, write one transformed record per input record,
//! and commit the input offsets in the same transaction. Killed at any point and restarted, the output that
//! read_committed readers see holds every input record exactly once, in order per key.
//!
//! ```text
//! cargo run --example exactly_once -- BOOTSTRAP INPUT OUTPUT GROUP
//! ```
//!
//! The transactional id is derived from the group and the input topic, so a restarted instance fences the one it
//! replaces (and the coordinator aborts that one's open transaction). The consumer is a static member
//! (`group.instance.id`) of a classic group, so a restart takes its partitions over at once instead of waiting for
//! the old member's session to expire. (A KIP-848 group refuses the instance id with UNRELEASED_INSTANCE_ID until a
//! crashed member's session expires.)

use std::collections::HashMap;
use std::time::Duration;

use kafkar::ErrorKind;
use kafkar::consumer::{Consumer, ConsumerConfig, OffsetAndMetadata, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};

/// The transformation: upper-cases the value and prefixes it.
pub fn transform(value: &[u8]) -> Vec<u8> {
    let mut out = b"out:".to_vec();
    out.extend(value.iter().map(u8::to_ascii_uppercase));
    out
}

/// Copies `input` to `output` through `transform`, exactly once, until the process is killed (or `stop` says so).
pub async fn run(
    bootstrap: &str,
    input: &str,
    output: &str,
    group: &str,
    stop: impl Fn() -> bool,
) -> kafkar::Result<()> {
    let mut cc = ConsumerConfig::new(bootstrap);
    cc.set("group.id", group)?;
    cc.set("group.protocol", "classic")?;
    cc.set("group.instance.id", &format!("{group}-instance"))?;
    cc.set("isolation.level", "read_committed")?;
    cc.set("enable.auto.commit", "false")?;
    cc.set("auto.offset.reset", "earliest")?;
    let mut consumer = Consumer::new(cc).await?;
    consumer.subscribe([input])?;

    let mut pc = ProducerConfig::new(bootstrap);
    pc.set("transactional.id", &format!("{group}-{input}-copier"))?;
    pc.set("linger.ms", "5")?;
    let producer = Producer::new(pc).await?;
    producer.init_transactions().await?;

    while !stop() {
        let records = consumer.poll(500, Duration::from_millis(200)).await?;
        if records.is_empty() {
            continue;
        }
        let Some(group_metadata) = consumer.group_metadata() else { break };
        producer.begin_transaction()?;
        let mut offsets: HashMap<TopicPartition, OffsetAndMetadata> = HashMap::new();
        let mut sent = Vec::with_capacity(records.len());
        let mut failed = None;
        for r in &records {
            let mut out = ProducerRecord::new(output).value(transform(r.value.as_deref().unwrap_or_default()));
            if let Some(k) = &r.key {
                out = out.key(k.clone());
            }
            match producer.send(out).await {
                Ok(f) => sent.push(f),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            let next =
                OffsetAndMetadata { offset: r.offset + 1, leader_epoch: r.leader_epoch, metadata: String::new() };
            offsets.insert(TopicPartition::new(&*r.topic, r.partition), next);
        }
        let result = match failed {
            Some(e) => Err(e),
            None => match producer.send_offsets_to_transaction(&offsets, &group_metadata).await {
                Ok(()) => producer.commit_transaction().await,
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(()) => {}
            Err(e) if matches!(e.kind(), ErrorKind::TransactionFatal(_)) => return Err(e),
            Err(e) => {
                // Abort, then read again from the last committed offsets.
                tracing::warn!(error = %e, "transaction failed; aborting");
                producer.abort_transaction().await?;
                let assigned = consumer.assignment();
                let committed = consumer.committed(&assigned).await?;
                for tp in assigned {
                    match committed.get(&tp).and_then(Option::as_ref) {
                        Some(o) => consumer.seek(&tp, o.offset)?,
                        None => consumer.seek_to_beginning(std::slice::from_ref(&tp))?,
                    }
                }
            }
        }
        drop(sent);
    }
    producer.close().await;
    consumer.close().await
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> kafkar::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap, input, output, group] = args.as_slice() else {
        eprintln!("usage: exactly_once BOOTSTRAP INPUT OUTPUT GROUP");
        std::process::exit(2);
    };
    run(bootstrap, input, output, group, || false).await
}
