//! A topic deleted and created again (a new topic id) under a running producer and consumer, against a real
//! broker. As the Java client: the producer sees the old id refused (`UNKNOWN_TOPIC_ID`), refreshes its metadata
//! and writes later records to the new topic, and every record it acknowledges is in the new topic at the offset
//! the acknowledgement gave; the consumer notices that its positions are past the new topic's end and resets by
//! `auto.offset.reset`, reading the new incarnation from the start. Nothing waits forever.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafkar::ClientConfig;
use kafkar::admin::Admin;
use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};

async fn read(consumer: &mut Consumer, n: usize, within: Duration) -> Vec<(i64, String)> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    while out.len() < n {
        assert!(Instant::now() < deadline, "read {} of {n}: {out:?}", out.len());
        for r in consumer.poll(n - out.len(), Duration::from_millis(200)).await.unwrap() {
            out.push((r.offset, String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned()));
        }
    }
    out
}

async fn send(producer: &Producer, topic: &Arc<str>, tag: &str, n: usize) -> Vec<i64> {
    let mut futures = Vec::new();
    for i in 0..n {
        futures.push(producer.send(ProducerRecord::new(topic.clone()).value(format!("{tag}-{i}"))).await.unwrap());
    }
    let mut offsets = Vec::new();
    for f in futures {
        offsets.push(f.await.expect("delivered").offset);
    }
    offsets
}

#[tokio::test]
async fn a_recreated_topic_is_followed_by_producer_and_consumer() {
    let Some(bootstrap) = support::real_broker() else { return };
    let admin = Admin::new(ClientConfig::new(&bootstrap)).await.unwrap();
    let name = support::unique_topic("recreate");
    let topic: Arc<str> = name.as_str().into();
    admin.create_topic(&name, 1, 1, &[]).await.unwrap();

    let mut pc = ProducerConfig::new(&bootstrap);
    pc.set("request.timeout.ms", "10000").unwrap();
    pc.set("delivery.timeout.ms", "30000").unwrap();
    pc.set("metadata.max.age.ms", "1000").unwrap();
    let producer = Producer::new(pc).await.unwrap();
    let mut cc = ConsumerConfig::new(&bootstrap);
    cc.set("auto.offset.reset", "earliest").unwrap();
    cc.set("fetch.max.wait.ms", "100").unwrap();
    cc.set("metadata.max.age.ms", "1000").unwrap();
    let mut consumer = Consumer::new(cc).await.unwrap();
    consumer.assign([TopicPartition::new(name.as_str(), 0)]).unwrap();

    assert_eq!(send(&producer, &topic, "old", 100).await, (0..100).collect::<Vec<_>>());
    assert_eq!(read(&mut consumer, 100, Duration::from_secs(20)).await.len(), 100);

    admin.delete_topic(&name).await.unwrap();
    // The name is free again once the deletion has gone through the controller.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match admin.create_topic(&name, 1, 1, &[]).await {
            Ok(_) => break,
            Err(e) => {
                assert!(Instant::now() < deadline, "could not create {name} again: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    // The producer follows the new topic id: its new records land in the new topic from offset 0.
    let offsets = send(&producer, &topic, "new", 50).await;
    let log = support::read_all(&bootstrap, &name).await;
    let values: Vec<String> =
        log.iter().map(|f| String::from_utf8_lossy(f.value.as_deref().unwrap_or_default()).into_owned()).collect();
    assert_eq!(values, (0..50).map(|i| format!("new-{i}")).collect::<Vec<_>>(), "only new records in the new topic");
    assert_eq!(offsets, (0..50).collect::<Vec<_>>(), "acknowledged at their offsets in the new topic");

    // The consumer, at offset 100 of the old topic, resets to the new topic's start and reads its records.
    let got = read(&mut consumer, 50, Duration::from_secs(30)).await;
    assert_eq!(got, (0..50).map(|i| (i, format!("new-{i}"))).collect::<Vec<_>>());
    producer.close().await;
}
