//! KIP-368 re-authentication counted through the client's connection metrics, and authentication failures with a
//! bounded number of dials, against the real secured broker of `scripts/kafka start --secure`.
//!
//! The re-authentication test needs the broker's SASL_PLAINTEXT listener started with a short
//! `connections.max.reauth.ms` (`scripts/test` uses `--prop connections.max.reauth.ms=5000`). It produces for
//! `KAFKAR_REAUTH_SECS` seconds (default 12) with 5 Produce requests in flight and asserts at least
//! `KAFKAR_REAUTH_MIN` re-authentications (default 2), no reconnect, no failed dial, and every record acknowledged
//! and read back once, in order. `scripts/chaos reauth` runs it for 60 s against a broker with a 3 s session.
//!
//! Without `KAFKAR_SECURE_SSL_BOOTSTRAP` (exported from `scripts/kafka secure-info`) every test reports itself
//! skipped; under `CI=true` it fails instead.

#[path = "support/secure.rs"]
mod secure;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kafkar::consumer::{Consumer, ConsumerConfig, TopicPartition};
use kafkar::producer::DeliveryFuture;
use kafkar::{Admin, AdminConfig, ErrorKind, Producer, ProducerConfig, ProducerRecord};
use secure::SecureBroker;

fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos:x}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// SASL_PLAINTEXT with SCRAM-SHA-512 as alice.
fn sasl_plaintext(broker: &SecureBroker) -> Vec<(&'static str, String)> {
    vec![
        ("bootstrap.servers", broker.address("SASL_PLAINTEXT")),
        ("security.protocol", "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism", "SCRAM-SHA-512".into()),
        ("sasl.username", broker.var("SCRAM_USERNAME")),
        ("sasl.password", broker.var("SCRAM_PASSWORD")),
    ]
}

#[tokio::test]
async fn producing_through_reauthentications_needs_no_reconnect_and_loses_nothing() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let secs = env_u64("KAFKAR_REAUTH_SECS", 12);
    let min_reauths = env_u64("KAFKAR_REAUTH_MIN", 2);
    let props = sasl_plaintext(&broker);

    let mut ac = AdminConfig::default();
    for (k, v) in &props {
        ac.set(k, v).unwrap();
    }
    let admin = Admin::new(ac).await.expect("admin");
    let topic = unique("reauth");
    admin.create_topic(&topic, 1, 1, &[]).await.expect("create topic");

    let mut pc = ProducerConfig::default();
    for (k, v) in &props {
        pc.set(k, v).unwrap();
    }
    for (k, v) in [
        ("max.in.flight.requests.per.connection", "5"),
        ("linger.ms", "2"),
        ("batch.size", "4096"),
        ("enable.idempotence", "true"),
        ("delivery.timeout.ms", "60000"),
    ] {
        pc.set(k, v).unwrap();
    }
    let producer = Producer::new(pc).await.expect("producer");
    let t: Arc<str> = topic.as_str().into();
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let mut sent = 0u64;
    let mut deliveries: Vec<(u64, DeliveryFuture)> = Vec::new();
    let mut acked = 0u64;
    let mut last_offset = -1i64;
    while Instant::now() < until {
        // Bursts of 40 records every 10 ms (about 4,000 records/s): several batches in flight at once.
        for _ in 0..40 {
            let record = ProducerRecord::new(t.clone()).key(format!("k{sent}")).value(format!("{sent}"));
            deliveries.push((sent, producer.send(record).await.expect("send")));
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        if deliveries.len() > 4000 {
            for (i, d) in deliveries.drain(..2000) {
                let meta = d.await.unwrap_or_else(|e| panic!("record {i} failed: {e}"));
                assert!(meta.offset > last_offset, "record {i} at offset {} after {last_offset}", meta.offset);
                last_offset = meta.offset;
                acked += 1;
            }
        }
    }
    for (i, d) in deliveries.drain(..) {
        let meta = d.await.unwrap_or_else(|e| panic!("record {i} failed: {e}"));
        assert!(meta.offset > last_offset, "record {i} at offset {} after {last_offset}", meta.offset);
        last_offset = meta.offset;
        acked += 1;
    }
    let elapsed = started.elapsed();
    let m = producer.connection_metrics();
    let pm = producer.metrics();
    producer.close().await;
    eprintln!(
        "reauth: {secs}s, {sent} records acknowledged {acked}, {} produce requests, {} retries, {:?} dials, \
         elapsed {elapsed:?}",
        pm.requests_sent, pm.retries, m
    );
    assert_eq!(acked, sent);
    assert!(
        m.reauthentications >= min_reauths,
        "{} re-authentications in {secs}s, wanted at least {min_reauths} (is the broker's \
         connections.max.reauth.ms short?): {m:?}",
        m.reauthentications
    );
    assert_eq!((m.reconnects, m.dial_failures, m.reauthentication_failures), (0, 0, 0), "{m:?}");
    // One bootstrap/metadata (control) connection and one produce (data) connection, each dialled once.
    assert_eq!(m.dials, 2, "{m:?}");
    assert_eq!(pm.retries, 0, "{pm:?}");

    // Read everything back: each record once, in order.
    let mut cc = ConsumerConfig::default();
    for (k, v) in &props {
        cc.set(k, v).unwrap();
    }
    cc.set("fetch.max.wait.ms", "100").unwrap();
    cc.set("auto.offset.reset", "earliest").unwrap();
    let mut consumer = Consumer::new(cc).await.expect("consumer");
    consumer.assign([TopicPartition::new(topic.as_str(), 0)]).unwrap();
    let mut next = 0u64;
    let deadline = Instant::now() + Duration::from_secs(30 + secs);
    while next < sent {
        assert!(Instant::now() < deadline, "read back only {next} of {sent}");
        for r in consumer.poll(5000, Duration::from_millis(500)).await.expect("poll") {
            let value = r.value.as_deref().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default();
            assert_eq!(value, next.to_string(), "record at offset {} out of order or duplicated", r.offset);
            next += 1;
        }
    }
    assert!(consumer.poll(100, Duration::from_millis(300)).await.expect("poll").is_empty(), "nothing more");
    consumer.close().await.expect("close");
    admin.delete_topic(&topic).await.expect("delete topic");
}
