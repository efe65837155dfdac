//! Batch splitting against a real broker (`KAFKA_BOOTSTRAP`): a topic whose `max.message.bytes` is below
//! `batch.size` refuses full batches with MESSAGE_TOO_LARGE; the producer splits them (again and again if needed)
//! and sends the pieces, for plain, idempotent and transactional producers, with 5 requests in flight. Every record
//! lands once at the offset its delivery reported, and in order per partition with idempotence (a plain producer
//! with several requests in flight may reorder on any retry, as Java's).

mod support;

use std::collections::HashMap;

use kafkar::admin::Admin;
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};

const RECORDS: usize = 1500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_too_large_for_the_topic_are_split() {
    let Some(bootstrap) = support::real_broker() else { return };
    for mode in ["plain", "idempotent", "transactional"] {
        let topic = support::unique_topic("split");
        let admin = Admin::new(kafkar::ClientConfig::new(&bootstrap)).await.unwrap();
        admin.create_topic(&topic, 2, 1, &[("max.message.bytes", "3000")]).await.unwrap();
        assert!(support::read_all(&bootstrap, &topic).await.is_empty());
        let mut c = ProducerConfig::new(&bootstrap);
        c.set("batch.size", "16384").unwrap();
        c.set("linger.ms", "20").unwrap();
        c.set("max.in.flight.requests.per.connection", "5").unwrap();
        match mode {
            "plain" => {
                c.set("enable.idempotence", "false").unwrap();
            }
            "transactional" => {
                c.set("transactional.id", &support::unique_topic("split-tx")).unwrap();
            }
            _ => {}
        }
        let p = Producer::new(c).await.unwrap();
        if mode == "transactional" {
            p.init_transactions().await.unwrap();
            p.begin_transaction().unwrap();
        }
        let mut futures = Vec::new();
        for i in 0..RECORDS {
            let r = ProducerRecord::new(topic.as_str())
                .key(format!("k{}", i % 5))
                .value(format!("{i:06}-{}", "x".repeat(150)));
            futures.push((i, p.send(r).await.unwrap()));
        }
        let mut reported: HashMap<(i32, i64), usize> = HashMap::new();
        for (i, f) in futures {
            let m = f.await.unwrap_or_else(|e| panic!("{mode}: record {i}: {e}"));
            assert!(reported.insert((m.partition, m.offset), i).is_none(), "{mode}: offset reported twice");
        }
        if mode == "transactional" {
            p.commit_transaction().await.unwrap();
        }
        let metrics = p.metrics();
        assert!(metrics.batches_sent > (RECORDS * 160 / 16384) as u64, "{mode}: batches were split");
        assert!(metrics.batch_splits > 0, "{mode}: the splits are counted");
        p.close().await;

        let got = support::read_all(&bootstrap, &topic).await;
        let data: Vec<_> = got.iter().filter(|r| r.value.as_ref().is_some_and(|v| v.len() > 100)).collect();
        assert_eq!(data.len(), RECORDS, "{mode}: every record once");
        let mut last: HashMap<String, usize> = HashMap::new();
        for r in data {
            let v = String::from_utf8_lossy(r.value.as_deref().unwrap());
            let i: usize = v[..6].parse().unwrap();
            assert_eq!(reported.get(&(r.partition, r.offset)), Some(&i), "{mode}: reported offset of record {i}");
            let k = String::from_utf8_lossy(r.key.as_deref().unwrap()).into_owned();
            // Without idempotence a batch already in flight behind the split one can be written first (as with the
            // Java producer, max.in.flight above 1 without idempotence may reorder on retries).
            if let Some(prev) = last.insert(k.clone(), i) {
                assert!(mode == "plain" || i > prev, "{mode}: key {k}: {i} after {prev}");
            }
        }
    }
}
