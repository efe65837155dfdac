//! Transactions against a real Apache Kafka: `KAFKA_BOOTSTRAP` (a 4.x cluster: transaction version 2 by default)
//! and, when set, `KAFKA_BOOTSTRAP_TV1` (a broker formatted with `--feature transaction.version=1`; see
//! `scripts/kafka`). Every scenario runs against each broker given.
//!
//! Checked: committed records are visible to read_committed readers and aborted ones never, read_uncommitted sees
//! both; offsets sent to a transaction are committed with it; a second producer with the same transactional id
//! fences the first (its next call fails with a fatal typed error); the coordinator aborts a stalled transaction
//! when its timeout passes; a timeout above the broker's maximum fails at init; misuse is a usage error.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use kafkar::ErrorKind;
use kafkar::admin::Admin;
use kafkar::consumer::{Consumer, ConsumerConfig, OffsetAndMetadata, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord, TransactionState};

/// The brokers to run against: the default one (TV2 on a fresh 4.x cluster) and the TV1 one if configured.
fn brokers() -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if let Some(b) = support::real_broker() {
        out.push((b, "default"));
    }
    if let Ok(b) = std::env::var("KAFKA_BOOTSTRAP_TV1") {
        if !b.trim().is_empty() {
            out.push((b, "tv1"));
        }
    }
    out
}

async fn create_topic(bootstrap: &str, prefix: &str, partitions: i32) -> String {
    let name = support::unique_topic(prefix);
    let admin = Admin::new(kafkar::ClientConfig::new(bootstrap)).await.unwrap();
    admin.create_topic(&name, partitions, 1, &[]).await.expect("create topic");
    assert!(support::read_all(bootstrap, &name).await.is_empty());
    name
}

fn txn_producer(bootstrap: &str, id: &str, extra: &[(&str, &str)]) -> ProducerConfig {
    let mut c = ProducerConfig::new(bootstrap);
    c.set("transactional.id", id).unwrap();
    c.set("linger.ms", "1").unwrap();
    for (k, v) in extra {
        c.set(k, v).unwrap();
    }
    c
}

/// Every value of `topic` a consumer with `isolation` reads until it has seen each partition's end.
async fn read_values(bootstrap: &str, topic: &str, partitions: i32, isolation: &str) -> Vec<String> {
    let mut c = ConsumerConfig::new(bootstrap);
    c.set("isolation.level", isolation).unwrap();
    c.set("auto.offset.reset", "earliest").unwrap();
    let mut consumer = Consumer::new(c).await.unwrap();
    let tps: Vec<TopicPartition> = (0..partitions).map(|p| TopicPartition::new(topic, p)).collect();
    consumer.assign(tps.clone()).unwrap();
    // The end a read_committed reader reaches is the last stable offset; read until every partition's position
    // stops moving for a while (the broker's end for this isolation level).
    let mut out = Vec::new();
    let mut quiet = 0;
    while quiet < 8 {
        let got = consumer.poll(500, Duration::from_millis(250)).await.unwrap();
        if got.is_empty() {
            quiet += 1;
        } else {
            quiet = 0;
        }
        for r in got {
            out.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned());
        }
    }
    consumer.close().await.unwrap();
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i:03}")).collect()
}

async fn send_all(p: &Producer, topic: &str, vals: &[String]) {
    let mut futures = Vec::new();
    for (i, v) in vals.iter().enumerate() {
        let r = ProducerRecord::new(topic).key(format!("k{}", i % 7)).value(v.clone());
        futures.push(p.send(r).await.unwrap());
    }
    for f in futures {
        f.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_visible_aborted_never() {
    for (bootstrap, which) in brokers() {
        let topic = create_topic(&bootstrap, "txn-vis", 3).await;
        let id = support::unique_topic("txid");
        let p = Producer::new(txn_producer(&bootstrap, &id, &[])).await.unwrap();
        p.init_transactions().await.unwrap();
        assert_eq!(p.transaction_state(), Some(TransactionState::Ready));
        // TV2 (KIP-890) on the default broker of Kafka 4.0 and later; before 4.0 there is no transaction.version.
        let v2 = which != "tv1" && support::broker_version() >= (4, 0);
        assert_eq!(p.uses_transaction_v2(), Some(v2), "{which}: transaction.version");

        p.begin_transaction().unwrap();
        send_all(&p, &topic, &values("commit1", 40)).await;
        p.commit_transaction().await.unwrap();

        p.begin_transaction().unwrap();
        send_all(&p, &topic, &values("abort", 30)).await;
        // Some records never leave the producer before the abort: they fail.
        let late = p.send(ProducerRecord::new(topic.as_str()).key("late").value("abort-late")).await.unwrap();
        p.abort_transaction().await.unwrap();
        let late = late.await;
        assert!(late.is_err() || late.is_ok(), "either way it is aborted");

        p.begin_transaction().unwrap();
        send_all(&p, &topic, &values("commit2", 25)).await;
        p.commit_transaction().await.unwrap();
        // An empty transaction commits without the coordinator.
        p.begin_transaction().unwrap();
        p.commit_transaction().await.unwrap();

        let committed = read_values(&bootstrap, &topic, 3, "read_committed").await;
        let mut want = values("commit1", 40);
        want.extend(values("commit2", 25));
        assert_eq!(sorted(committed), sorted(want), "{which}: read_committed sees exactly the committed records");

        let all = read_values(&bootstrap, &topic, 3, "read_uncommitted").await;
        assert!(all.iter().filter(|v| v.starts_with("abort-")).count() >= 30, "{which}: read_uncommitted sees aborted");
        assert_eq!(all.iter().filter(|v| v.starts_with("commit")).count(), 65, "{which}");
        p.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_commit_with_the_transaction() {
    for (bootstrap, which) in brokers() {
        let input = create_topic(&bootstrap, "txn-in", 1).await;
        let output = create_topic(&bootstrap, "txn-out", 1).await;
        let group = support::unique_topic("txn-group");
        let p = Producer::new(txn_producer(&bootstrap, &support::unique_topic("txid"), &[])).await.unwrap();
        p.init_transactions().await.unwrap();
        p.begin_transaction().unwrap();
        send_all(&p, &input, &values("in", 10)).await;
        p.commit_transaction().await.unwrap();

        let mut c = ConsumerConfig::new(&bootstrap);
        c.set("group.id", &group).unwrap();
        c.set("auto.offset.reset", "earliest").unwrap();
        c.set("enable.auto.commit", "false").unwrap();
        c.set("isolation.level", "read_committed").unwrap();
        let mut consumer = Consumer::new(c).await.unwrap();
        let tp = TopicPartition::new(&input, 0);
        consumer.assign([tp.clone()]).unwrap();
        let mut got = Vec::new();
        while got.len() < 10 {
            got.extend(consumer.poll(100, Duration::from_secs(1)).await.unwrap());
        }
        let meta = consumer.group_metadata().expect("group metadata");
        assert_eq!(meta.group_id, group);

        // Aborted: the offsets are not committed.
        p.begin_transaction().unwrap();
        send_all(&p, &output, &values("out-aborted", 5)).await;
        let offsets =
            HashMap::from([(tp.clone(), OffsetAndMetadata { offset: 5, leader_epoch: None, metadata: String::new() })]);
        p.send_offsets_to_transaction(&offsets, &meta).await.unwrap();
        p.abort_transaction().await.unwrap();
        let committed = consumer.committed(std::slice::from_ref(&tp)).await.unwrap();
        assert_eq!(committed[&tp], None, "{which}: aborted offsets are not committed");

        // Committed: they are.
        p.begin_transaction().unwrap();
        send_all(&p, &output, &values("out", 10)).await;
        let offsets =
            HashMap::from([(tp.clone(), OffsetAndMetadata { offset: 10, leader_epoch: None, metadata: "m".into() })]);
        p.send_offsets_to_transaction(&offsets, &meta).await.unwrap();
        p.commit_transaction().await.unwrap();
        let committed = consumer.committed(std::slice::from_ref(&tp)).await.unwrap();
        assert_eq!(committed[&tp].as_ref().map(|o| o.offset), Some(10), "{which}");
        assert_eq!(sorted(read_values(&bootstrap, &output, 1, "read_committed").await), values("out", 10), "{which}");
        consumer.close().await.unwrap();
        p.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_producer_with_the_same_id_fences_the_first() {
    for (bootstrap, which) in brokers() {
        let topic = create_topic(&bootstrap, "txn-fence", 1).await;
        let id = support::unique_topic("txid");
        let first = Producer::new(txn_producer(&bootstrap, &id, &[])).await.unwrap();
        first.init_transactions().await.unwrap();
        first.begin_transaction().unwrap();
        send_all(&first, &topic, &values("zombie", 5)).await;

        let second = Producer::new(txn_producer(&bootstrap, &id, &[])).await.unwrap();
        second.init_transactions().await.unwrap();
        second.begin_transaction().unwrap();
        send_all(&second, &topic, &values("live", 5)).await;
        second.commit_transaction().await.unwrap();

        let e = first.commit_transaction().await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::TransactionFatal(_)), "{which}: {e}");
        assert_eq!(first.transaction_state(), Some(TransactionState::FatalError));
        let e = first.begin_transaction().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::TransactionFatal(_)), "{which}: {e}");
        assert!(first.send(ProducerRecord::new(topic.as_str()).value("x")).await.is_err());

        assert_eq!(read_values(&bootstrap, &topic, 1, "read_committed").await, values("live", 5), "{which}");
        first.close().await;
        second.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_aborts_a_stalled_transaction() {
    for (bootstrap, which) in brokers() {
        let topic = create_topic(&bootstrap, "txn-stall", 1).await;
        let stalled = Producer::new(txn_producer(
            &bootstrap,
            &support::unique_topic("txid"),
            &[("transaction.timeout.ms", "1500")],
        ))
        .await
        .unwrap();
        stalled.init_transactions().await.unwrap();
        stalled.begin_transaction().unwrap();
        send_all(&stalled, &topic, &values("stalled", 5)).await;
        // Nobody commits. Another producer commits after it: read_committed readers see its records only once the
        // stalled transaction is aborted by the coordinator (the last stable offset is held until then).
        let other = Producer::new(txn_producer(&bootstrap, &support::unique_topic("txid"), &[])).await.unwrap();
        other.init_transactions().await.unwrap();
        other.begin_transaction().unwrap();
        send_all(&other, &topic, &values("after", 3)).await;
        other.commit_transaction().await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let got = read_values(&bootstrap, &topic, 1, "read_committed").await;
            if got == values("after", 3) {
                break;
            }
            assert!(got.is_empty(), "{which}: {got:?}");
            assert!(std::time::Instant::now() < deadline, "{which}: the stalled transaction was never aborted");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // The stalled producer was fenced by the abort (its epoch was bumped).
        let e = stalled.commit_transaction().await.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::TransactionFatal(_) | ErrorKind::TransactionAbortable(_)),
            "{which}: {e}"
        );
        stalled.close().await;
        other.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misuse_and_bad_timeouts() {
    for (bootstrap, which) in brokers() {
        let topic = create_topic(&bootstrap, "txn-misuse", 1).await;
        let p = Producer::new(txn_producer(&bootstrap, &support::unique_topic("txid"), &[])).await.unwrap();
        let e = p.begin_transaction().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::TransactionState(_)), "{which}: {e}");
        let e = p.send(ProducerRecord::new(topic.as_str()).value("x")).await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::TransactionState(_)), "{which}: {e}");
        p.init_transactions().await.unwrap();
        let e = p.send(ProducerRecord::new(topic.as_str()).value("x")).await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::TransactionState(_)), "{which}: send outside a transaction: {e}");
        let e = p.commit_transaction().await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::TransactionState(_)), "{which}: {e}");
        p.begin_transaction().unwrap();
        let e = p.begin_transaction().unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::TransactionState(_)), "{which}: begin twice: {e}");
        // Misuse is not fatal: the transaction goes on.
        send_all(&p, &topic, &values("ok", 2)).await;
        p.commit_transaction().await.unwrap();
        p.close().await;

        // Above the broker's transaction.max.timeout.ms (15 minutes by default).
        let p = Producer::new(txn_producer(
            &bootstrap,
            &support::unique_topic("txid"),
            &[("transaction.timeout.ms", "3600000")],
        ))
        .await
        .unwrap();
        let e = p.init_transactions().await.unwrap_err();
        assert_eq!(e.code(), Some(kafkar::protocol::ErrorCode::INVALID_TRANSACTION_TIMEOUT), "{which}: {e}");
        p.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_read_committed_consumer_reads_kafkar_transactions() {
    let Some(script) = support::kafka_script() else { return };
    for (bootstrap, which) in brokers() {
        let topic = create_topic(&bootstrap, "txn-java", 2).await;
        let p = Producer::new(txn_producer(&bootstrap, &support::unique_topic("txid"), &[])).await.unwrap();
        p.init_transactions().await.unwrap();
        p.begin_transaction().unwrap();
        send_all(&p, &topic, &values("commit", 30)).await;
        p.commit_transaction().await.unwrap();
        p.begin_transaction().unwrap();
        send_all(&p, &topic, &values("abort", 20)).await;
        p.abort_transaction().await.unwrap();
        p.begin_transaction().unwrap();
        send_all(&p, &topic, &values("more", 10)).await;
        p.commit_transaction().await.unwrap();
        p.close().await;

        let run = |isolation: &str| {
            let out = std::process::Command::new(&script)
                .args([
                    "console-consumer",
                    "--bootstrap-server",
                    &bootstrap,
                    "--topic",
                    &topic,
                    "--from-beginning",
                    "--isolation-level",
                    isolation,
                    "--timeout-ms",
                    "8000",
                ])
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run the Java console consumer");
            String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect::<Vec<_>>()
        };
        let committed = run("read_committed");
        let mut want = values("commit", 30);
        want.extend(values("more", 10));
        assert_eq!(sorted(committed), sorted(want), "{which}: Java read_committed sees only committed records");
        let all = run("read_uncommitted");
        assert_eq!(all.len(), 60, "{which}: Java read_uncommitted sees the aborted records too");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_lists_and_describes_transactions() {
    for (bootstrap, which) in brokers() {
        let topic = create_topic(&bootstrap, "txn-admin", 1).await;
        let id = support::unique_topic("txid");
        let p = Producer::new(txn_producer(&bootstrap, &id, &[])).await.unwrap();
        p.init_transactions().await.unwrap();
        p.begin_transaction().unwrap();
        send_all(&p, &topic, &values("v", 3)).await;
        let admin = Admin::new(kafkar::ClientConfig::new(&bootstrap)).await.unwrap();
        let listed = admin.list_transactions(&["Ongoing"]).await.unwrap();
        assert!(listed.iter().any(|t| t.transactional_id == id), "{which}: listed as ongoing");
        let d = admin.describe_transaction(&id).await.unwrap();
        assert_eq!(d.transaction_state, "Ongoing", "{which}");
        assert_eq!(d.transaction_timeout_ms, 60_000, "{which}");
        assert!(d.topics.iter().any(|t| t.topic == topic && t.partitions == [0]), "{which}: {:?}", d.topics);
        p.commit_transaction().await.unwrap();
        let d = admin.describe_transaction(&id).await.unwrap();
        assert_ne!(d.transaction_state, "Ongoing", "{which}");
        p.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_aborts_an_open_transaction_with_write_txn_markers() {
    use kafkar::admin::AbortTransactionSpec;
    for (bootstrap, which) in brokers() {
        let topic = create_topic(&bootstrap, "txn-hang", 1).await;
        let id = support::unique_topic("txid");
        let stuck =
            Producer::new(txn_producer(&bootstrap, &id, &[("transaction.timeout.ms", "600000")])).await.unwrap();
        stuck.init_transactions().await.unwrap();
        stuck.begin_transaction().unwrap();
        send_all(&stuck, &topic, &values("hanging", 3)).await;
        let admin = Admin::new(kafkar::ClientConfig::new(&bootstrap)).await.unwrap();
        let d = admin.describe_transaction(&id).await.unwrap();
        let spec = AbortTransactionSpec {
            topic: topic.clone(),
            partition: 0,
            producer_id: d.producer_id,
            producer_epoch: d.producer_epoch,
            coordinator_epoch: 0,
        };
        admin.abort_transaction(&spec).await.unwrap_or_else(|e| panic!("{which}: abort refused: {e}"));
        // The partition's last stable offset moves past the aborted records: a later commit is visible.
        let other = Producer::new(txn_producer(&bootstrap, &support::unique_topic("txid"), &[])).await.unwrap();
        other.init_transactions().await.unwrap();
        other.begin_transaction().unwrap();
        send_all(&other, &topic, &values("after", 2)).await;
        other.commit_transaction().await.unwrap();
        assert_eq!(read_values(&bootstrap, &topic, 1, "read_committed").await, values("after", 2), "{which}");
        other.close().await;
        stuck.close().await;
    }
}
