//! Idempotence across a broker crash: 1M records are produced while the broker is killed (SIGKILL) and restarted
//! by `scripts/kafka`; afterwards every record is in the log exactly once, and in send order per partition.
//!
//! The test runs its own single-node broker on base port 29092 so that the shared test broker is not disturbed.
//! It runs wherever the other real-broker tests run (KAFKA_BOOTSTRAP set; always in CI).

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafkar::admin::Admin;
use kafkar::producer::{Producer, ProducerRecord};

const PORT: &str = "29092";
const RECORDS: u64 = 1_000_000;
const PARTITIONS: i32 = 3;

fn value(i: u64) -> Bytes {
    let mut v = BytesMut::with_capacity(100);
    v.put_u64(i);
    v.put_bytes(b'x', 92);
    v.freeze()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_records_survive_a_broker_kill_exactly_once_and_in_order() {
    if support::real_broker().is_none() {
        return;
    }
    let (kafka, bootstrap) = support::OwnKafka::start(PORT, &[]).await;

    let admin = Admin::new(kafkar::ClientConfig::new(&bootstrap)).await.unwrap();
    let topic = support::unique_topic("idem-restart");
    admin.create_topic(&topic, PARTITIONS, 1, &[]).await.unwrap();
    let mut config = support::restart_proof_producer(&bootstrap);
    config.set("retry.backoff.ms", "100").unwrap();
    let producer = Producer::new(config).await.unwrap();
    let topic_name: Arc<str> = topic.as_str().into();

    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let queued = Arc::new(AtomicU64::new(0));
    let sender = {
        let (producer, acked, failed, queued, topic_name) =
            (producer.clone(), acked.clone(), failed.clone(), queued.clone(), topic_name.clone());
        tokio::spawn(async move {
            for i in 0..RECORDS {
                let key = format!("key-{}", i % 1000);
                let record = ProducerRecord::new(topic_name.clone()).key(key).value(value(i));
                let (a, f) = (acked.clone(), failed.clone());
                producer
                    .send_with_callback(record, move |r| match r {
                        Ok(_) => {
                            a.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            f.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                    .await
                    .expect("record queued");
                queued.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    // Kill the broker mid-stream, once a good part of the records has been acknowledged.
    while acked.load(Ordering::Relaxed) < RECORDS / 4 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kafka.run(&["kill-node", "1"]).await;
    let acked_at_kill = acked.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    kafka.run(&["start-node", "1"]).await;

    sender.await.unwrap();
    producer.flush().await;
    let m = producer.metrics();
    producer.close().await;
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no record failed");
    assert_eq!(acked.load(Ordering::Relaxed), RECORDS, "every record acknowledged");
    assert!(acked_at_kill < RECORDS, "the kill happened mid-stream ({acked_at_kill} acknowledged)");
    assert!(m.retries > 0, "the producer had to retry across the restart: {m:?}");

    let back = support::read_all(&bootstrap, &topic).await;
    assert_eq!(back.len() as u64, RECORDS, "exactly {RECORDS} records in the log");
    let mut seen = vec![false; RECORDS as usize];
    let mut last: HashMap<i32, u64> = HashMap::new();
    for f in &back {
        let v = f.value.as_ref().expect("value");
        let i = u64::from_be_bytes(v[..8].try_into().unwrap());
        assert!(!seen[i as usize], "record {i} is in the log twice");
        seen[i as usize] = true;
        if let Some(prev) = last.insert(f.partition, i) {
            assert!(i > prev, "partition {}: record {i} after {prev}", f.partition);
        }
        let key = f.key.as_ref().expect("key");
        assert_eq!(&key[..], format!("key-{}", i % 1000).as_bytes());
    }
    assert!(seen.iter().all(|s| *s), "every record present");
}
