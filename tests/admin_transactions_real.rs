//! Fencing producers and describing transactions per id with the admin client, against a real Apache Kafka:
//! `KAFKA_BOOTSTRAP` (transaction version 2) and, when set, `KAFKA_BOOTSTRAP_TV1` (a transaction-version-1 broker,
//! see `scripts/test`). Listing, describing one id and aborting a hanging transaction are in
//! tests/transactions_real.rs.
//!
//! Checked: `fence_producers` bumps the epoch of a producer with an open transaction, the coordinator aborts that
//! transaction (the partition's last stable offset catches up with its high watermark), and the fenced producer's
//! next commit fails with a fatal error; `describe_transactions` answers per id, an unknown id failing alone;
//! `list_transactions_matching` filters by producer id, transactional id pattern and duration.

mod support;

use std::time::{Duration, Instant};

use kafkar::ErrorKind;
use kafkar::admin::{Admin, ListTransactionsFilter, OffsetSpec};
use kafkar::consumer::{IsolationLevel, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use kafkar::protocol::ErrorCode;

fn brokers() -> Vec<String> {
    let mut out: Vec<String> = support::real_broker().into_iter().collect();
    out.extend(std::env::var("KAFKA_BOOTSTRAP_TV1").ok().filter(|b| !b.trim().is_empty()));
    out
}

/// The partition's end for `isolation`: the high watermark, or for read_committed the last stable offset.
async fn end_offset(admin: &Admin, tp: &TopicPartition, isolation: IsolationLevel) -> i64 {
    let found = admin.list_offsets(&[(tp.clone(), OffsetSpec::Latest)], isolation).await.expect("list offsets");
    found[tp].as_ref().expect("offset of the partition").offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fencing_a_producer_aborts_its_open_transaction_and_its_next_commit_fails() {
    for bootstrap in brokers() {
        let admin = Admin::new(kafkar::ClientConfig::new(&bootstrap)).await.unwrap();
        let topic = support::unique_topic("admin-fence");
        admin.create_topic(&topic, 1, 1, &[]).await.expect("create topic");
        let tp = TopicPartition::new(topic.as_str(), 0);

        let id = support::unique_topic("txid");
        let mut config = ProducerConfig::new(&bootstrap);
        config.set("transactional.id", &id).unwrap();
        config.set("transaction.timeout.ms", "600000").unwrap();
        let zombie = Producer::new(config).await.unwrap();
        zombie.init_transactions().await.unwrap();
        zombie.begin_transaction().unwrap();
        for i in 0..3 {
            zombie.send(ProducerRecord::new(topic.as_str()).value(format!("z{i}"))).await.unwrap().await.unwrap();
        }
        let before = admin.describe_transaction(&id).await.expect("describe");
        assert_eq!(before.transaction_state, "Ongoing", "{bootstrap}");
        // The open transaction holds the last stable offset back.
        let hw = end_offset(&admin, &tp, IsolationLevel::ReadUncommitted).await;
        assert_eq!(hw, 3, "{bootstrap}");
        assert_eq!(end_offset(&admin, &tp, IsolationLevel::ReadCommitted).await, 0, "{bootstrap}");

        // Listed by its producer id and by a pattern naming it; not among transactions older than an hour.
        let by_pid = ListTransactionsFilter { producer_ids: vec![before.producer_id], ..Default::default() };
        let listed = admin.list_transactions_matching(&by_pid).await.expect("list by producer id");
        let ids: Vec<&str> = listed.iter().map(|t| t.transactional_id.as_str()).collect();
        assert_eq!(ids, [id.as_str()], "{bootstrap}");
        assert_eq!(listed[0].transaction_state, "Ongoing", "{bootstrap}");
        let by_pattern =
            ListTransactionsFilter { transactional_id_pattern: Some(format!("^{id}$")), ..Default::default() };
        if support::broker_version() >= (4, 1) {
            let listed = admin.list_transactions_matching(&by_pattern).await.expect("list by pattern");
            assert_eq!(listed.len(), 1, "{bootstrap}: {listed:?}");
        } else {
            // The pattern filter is ListTransactions v2 (Kafka 4.1): refused, typed, never a wider listing.
            let e = admin.list_transactions_matching(&by_pattern).await.expect_err("a pattern before 4.1");
            assert!(matches!(e.kind(), kafkar::ErrorKind::UnsupportedVersion { .. }), "{bootstrap}: {e}");
        }
        let old = ListTransactionsFilter {
            producer_ids: vec![before.producer_id],
            running_longer_than: Some(Duration::from_secs(3600)),
            ..Default::default()
        };
        assert!(admin.list_transactions_matching(&old).await.expect("list old").is_empty(), "{bootstrap}");

        let fenced = admin.fence_producers(&[id.as_str()]).await.expect("fence");
        let pe = fenced[&id].as_ref().unwrap_or_else(|e| panic!("{bootstrap}: fencing failed: {e}"));
        assert!(pe.id >= 0, "{bootstrap}: {pe:?}");
        assert!(
            pe.id != before.producer_id || pe.epoch > before.producer_epoch,
            "{bootstrap}: a new epoch (or id) after {}/{}: {pe:?}",
            before.producer_id,
            before.producer_epoch
        );

        // The coordinator aborts the open transaction: its abort marker lets the last stable offset catch up.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let hw = end_offset(&admin, &tp, IsolationLevel::ReadUncommitted).await;
            if end_offset(&admin, &tp, IsolationLevel::ReadCommitted).await == hw && hw > 3 {
                break;
            }
            assert!(Instant::now() < deadline, "{bootstrap}: the fenced transaction was not aborted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let after = admin.describe_transaction(&id).await.expect("describe after fencing");
        assert_ne!(after.transaction_state, "Ongoing", "{bootstrap}");

        let e = zombie.commit_transaction().await.expect_err("the fenced producer cannot commit");
        assert!(matches!(e.kind(), ErrorKind::TransactionFatal(_)), "{bootstrap}: {e}");
        zombie.close().await;
        admin.delete_topic(&topic).await.expect("delete topic");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_described_per_id_and_an_unknown_id_fails_alone() {
    for bootstrap in brokers() {
        let admin = Admin::new(kafkar::ClientConfig::new(&bootstrap)).await.unwrap();
        let id = support::unique_topic("txid");
        let mut config = ProducerConfig::new(&bootstrap);
        config.set("transactional.id", &id).unwrap();
        let p = Producer::new(config).await.unwrap();
        p.init_transactions().await.unwrap();
        let unknown = support::unique_topic("never-used-txid");
        let described = admin.describe_transactions(&[id.as_str(), unknown.as_str()]).await.expect("describe");
        assert_eq!(described.len(), 2, "{bootstrap}");
        let d = described[&id].as_ref().unwrap_or_else(|e| panic!("{bootstrap}: {e}"));
        assert_eq!(d.transaction_state, "Empty", "{bootstrap}");
        assert!(d.producer_id >= 0, "{bootstrap}");
        let e = described[&unknown].as_ref().expect_err("unknown id");
        assert_eq!(e.code(), Some(ErrorCode::TRANSACTIONAL_ID_NOT_FOUND), "{bootstrap}: {e}");
        // Fencing an id no producer ever used creates its producer id: it succeeds too.
        let fenced = admin.fence_producers(&[unknown.as_str()]).await.expect("fence");
        assert!(fenced[&unknown].is_ok(), "{bootstrap}: {:?}", fenced[&unknown]);
        p.close().await;
    }
}
