//! Pattern subscriptions (`Consumer::subscribe_pattern`) against a real Apache Kafka (`KAFKA_BOOTSTRAP`): the
//! consumer reads the matching topics only, and picks up a matching topic created while it runs, under the classic
//! protocol and the consumer protocol (KIP-848, where a Kafka 4.0+ coordinator resolves the regex itself: it does
//! so asynchronously, on its own schedule, which makes that test take about 15 s).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kafkar::cluster::Cluster;
use kafkar::consumer::{Consumer, ConsumerConfig};
use kafkar::protocol::compression::Compression;
use kafkar::protocol::records::RecordBatchBuilder;

const WAIT: Duration = Duration::from_secs(30);

/// Writes `n` records `<topic>/i` to partition 0 of `topic`.
async fn produce(cluster: &Cluster, topic: &str, n: usize) {
    let mut b = RecordBatchBuilder::new(Compression::None);
    for i in 0..n {
        b.append(0, None, Some(format!("{topic}/{i}").as_bytes()), &[]).unwrap();
    }
    support::produce_batch(cluster, topic, 0, b.build().unwrap().into_bytes()).await;
}

/// Reads until `want` records per topic are counted (any other topic fails the test).
async fn read_until(consumer: &mut Consumer, counts: &mut BTreeMap<String, usize>, want: &BTreeMap<String, usize>) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while counts != want {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!left.is_zero(), "timed out: read {counts:?}, want {want:?}");
        let Ok(r) = tokio::time::timeout(left, consumer.recv()).await else { continue };
        let r = r.unwrap();
        assert!(want.contains_key(&*r.topic), "record from a topic outside the pattern: {}", r.topic);
        *counts.entry(r.topic.to_string()).or_default() += 1;
    }
}

async fn pattern_subscription(protocol: &str) {
    let Some(bootstrap) = support::real_broker() else { return };
    let cluster = support::cluster(&bootstrap);
    // unique_topic names are [a-z0-9-], so the prefix needs no escaping in a pattern.
    let prefix = support::unique_topic(&format!("pat-{protocol}"));
    let (a, b, c) = (format!("{prefix}-a"), format!("{prefix}-b"), format!("{prefix}-c"));
    // Matched by an unanchored search for the pattern, but not as a whole name.
    let unrelated = format!("x{prefix}-a");
    for t in [&a, &b, &unrelated] {
        support::create_topic(&cluster, t, 1, &[]).await;
        produce(&cluster, t, 5).await;
    }

    let mut config = ConsumerConfig::new(&bootstrap);
    let group = support::unique_topic("g-pattern");
    for (k, v) in [
        ("group.id", group.as_str()),
        ("group.protocol", protocol),
        ("auto.offset.reset", "earliest"),
        ("fetch.max.wait.ms", "100"),
        ("metadata.max.age.ms", "1000"),
    ] {
        config.set(k, v).unwrap();
    }
    let mut consumer = Consumer::new(config).await.unwrap();
    consumer.subscribe_pattern(&format!("{prefix}-.*")).unwrap();
    let mut counts = BTreeMap::new();
    let mut want = BTreeMap::from([(a.clone(), 5), (b.clone(), 5)]);
    read_until(&mut consumer, &mut counts, &want).await;

    support::create_topic(&cluster, &c, 1, &[]).await;
    produce(&cluster, &c, 3).await;
    want.insert(c.clone(), 3);
    read_until(&mut consumer, &mut counts, &want).await;
    let mut assigned: Vec<String> = consumer.assignment().into_iter().map(|tp| tp.topic).collect();
    assigned.sort();
    assert_eq!(assigned, [a, b, c]);
    consumer.close().await.unwrap();
}

#[tokio::test]
async fn classic_pattern_subscription_follows_matching_topics() {
    pattern_subscription("classic").await;
}

#[tokio::test]
async fn consumer_protocol_pattern_subscription_follows_matching_topics() {
    pattern_subscription("consumer").await;
}
