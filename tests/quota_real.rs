//! Broker quotas (KIP-219) against a real Apache Kafka: a client id given a small byte-rate quota with
//! `kafka-configs` (through `scripts/kafka`) is throttled; the client counts the throttling in its metrics, holds
//! its requests back while a throttle lasts, and nothing fails or times out because of it.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafkar::ClientConfig;
use kafkar::admin::Admin;
use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};

/// 512 KiB/s: 2 MB takes about 4 s, so the broker throttles many responses. (A broker measures a quota over
/// `quota.window.num` one-second windows, at least all but one of them even when the client is younger:
/// scripts/kafka sets 2, so the quota bites within a second or two; with Kafka's default 11 this test would
/// produce ten seconds' worth before the first throttle.)
const RATE: &str = "524288";
const RECORDS: usize = 2_000;
const VALUE: usize = 1_000;

/// Gives `client_id` a `producer_byte_rate` and `consumer_byte_rate` quota of [`RATE`] with Kafka's own tool.
fn set_quota(bootstrap: &str, client_id: &str) {
    let script = std::env::var_os("KAFKAR_KAFKA_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka"));
    let out = Command::new(&script)
        .args(["configs", "--bootstrap-server", bootstrap, "--alter", "--entity-type", "clients"])
        .args(["--entity-name", client_id, "--add-config"])
        .arg(format!("producer_byte_rate={RATE},consumer_byte_rate={RATE}"))
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    assert!(out.status.success(), "kafka-configs failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn a_quota_throttles_producer_and_consumer_without_failing_a_request() {
    let Some(bootstrap) = support::real_broker() else { return };
    let topic = support::unique_topic("quota");
    let client_id = format!("quota-client-{}", std::process::id());
    Admin::new(ClientConfig::new(&bootstrap)).await.unwrap().create_topic(&topic, 1, 1, &[]).await.unwrap();
    set_quota(&bootstrap, &client_id);

    // A short request timeout: a request held by a throttled broker past it would fail the delivery.
    let mut pc = ProducerConfig::new(&bootstrap);
    for (k, v) in [("client.id", client_id.as_str()), ("request.timeout.ms", "4000"), ("linger.ms", "5")] {
        pc.set(k, v).unwrap();
    }
    pc.set("delivery.timeout.ms", "60000").unwrap();
    let producer = Producer::new(pc).await.unwrap();
    let t: Arc<str> = topic.as_str().into();
    let started = Instant::now();
    let mut futures = Vec::new();
    for i in 0..RECORDS {
        let value = format!("{i:08}").repeat(VALUE / 8);
        futures.push(producer.send(ProducerRecord::new(t.clone()).value(value)).await.unwrap());
    }
    for (i, f) in futures.into_iter().enumerate() {
        let meta = f.await.unwrap_or_else(|e| panic!("record {i} failed under the quota: {e}"));
        assert_eq!(meta.offset, i as i64, "records land in order");
    }
    let produced_in = started.elapsed();
    let pm = producer.metrics();
    producer.close().await;
    assert!(pm.throttled_responses > 0, "the broker throttled the producer: {pm:?}");
    assert!(pm.throttle_time >= Duration::from_secs(1), "throttle time counted: {:?}", pm.throttle_time);
    // ~2 MB at 512 KiB/s: the quota held the producer back (without a quota this takes well under a second).
    assert!(produced_in >= Duration::from_secs(2), "produced in {produced_in:?}: the quota was not enforced");

    let mut cc = ConsumerConfig::new(&bootstrap);
    for (k, v) in [("client.id", client_id.as_str()), ("auto.offset.reset", "earliest"), ("request.timeout.ms", "4000")]
    {
        cc.set(k, v).unwrap();
    }
    let mut consumer = Consumer::new(cc).await.unwrap();
    consumer.assign([TopicPartition::new(topic.as_str(), 0)]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut next = 0i64;
    while next < RECORDS as i64 {
        assert!(Instant::now() < deadline, "read {next} of {RECORDS} in 60 s");
        for r in consumer.poll(1_000, Duration::from_millis(500)).await.unwrap() {
            assert_eq!(r.offset, next, "each record once, in order");
            next += 1;
        }
    }
    let cm = consumer.metrics();
    assert_eq!(cm.fetch_errors, 0, "no fetch failed under the quota: {cm:?}");
    assert!(cm.throttled_responses > 0, "the broker throttled the consumer: {cm:?}");
}
