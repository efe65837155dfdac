//! The group coordinator's requests never wait behind fetches, against the real broker (`KAFKA_BOOTSTRAP`): a
//! broker answers one request of a connection at a time, so a commit sent on the connection of a long-poll Fetch
//! would wait out `fetch.max.wait.ms`, and a Fetch sent on the connection of a pending JoinGroup would wait for the
//! whole join phase. Membership, offsets and fetches each have their own connection.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar::ClientConfig;
use kafkar::admin::Admin;
use kafkar::consumer::{Consumer, ConsumerConfig};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use tokio::time::Instant;

fn consumer_config(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> ConsumerConfig {
    let mut c = ConsumerConfig::new(bootstrap);
    for (k, v) in [
        ("group.id", group),
        ("group.protocol", "classic"),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
        ("partition.assignment.strategy", "cooperative-sticky"),
        ("heartbeat.interval.ms", "100"),
        ("session.timeout.ms", "30000"),
    ] {
        c.set(k, v).unwrap();
    }
    for (k, v) in extra {
        c.set(k, v).unwrap();
    }
    c
}

#[tokio::test]
async fn a_commit_does_not_wait_for_a_long_poll_fetch() {
    let Some(bootstrap) = support::real_broker() else { return };
    let topic = support::unique_topic("commit-latency");
    Admin::new(ClientConfig::new(&bootstrap)).unwrap().create_topic(&topic, 1, 1, &[]).await.unwrap();
    let producer = Producer::new(ProducerConfig::new(&bootstrap)).await.unwrap();
    for i in 0..10 {
        producer.send(ProducerRecord::new(topic.as_str()).value(format!("v{i}"))).await.unwrap().await.unwrap();
    }
    producer.close().await;

    let group = format!("{topic}-g");
    let mut consumer =
        Consumer::new(consumer_config(&bootstrap, &group, &[("fetch.max.wait.ms", "2000")])).await.unwrap();
    consumer.subscribe([topic.as_str()]).unwrap();
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while got < 10 {
        assert!(Instant::now() < deadline, "read {got} of 10 records");
        got += consumer.poll(100, Duration::from_millis(200)).await.unwrap().len();
    }
    // Each empty poll leaves a Fetch parked at the broker for up to 2 s; the commit right after it must not wait.
    let mut took = Vec::new();
    for _ in 0..5 {
        assert!(consumer.poll(100, Duration::from_millis(300)).await.unwrap().is_empty());
        let started = Instant::now();
        consumer.commit().await.unwrap();
        took.push(started.elapsed());
    }
    assert!(
        took.iter().all(|t| *t < Duration::from_millis(1000)),
        "commits waited for the long-poll Fetch (fetch.max.wait.ms=2000): {took:?}"
    );
    consumer.close().await.unwrap();
}

/// Polls `consumer` until `stop`, recording when each record arrived.
fn spawn_reader(mut consumer: Consumer, stop: Arc<Mutex<bool>>) -> tokio::task::JoinHandle<(Consumer, Vec<Instant>)> {
    tokio::spawn(async move {
        let mut arrivals = Vec::new();
        while !*stop.lock().unwrap() {
            let records = consumer.poll(100, Duration::from_millis(50)).await.unwrap();
            let now = Instant::now();
            arrivals.extend(records.iter().map(|_| now));
        }
        (consumer, arrivals)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cooperative_member_keeps_receiving_records_while_another_member_joins() {
    let Some(bootstrap) = support::real_broker() else { return };
    let topic = support::unique_topic("coop-join");
    Admin::new(ClientConfig::new(&bootstrap)).unwrap().create_topic(&topic, 6, 1, &[]).await.unwrap();
    let group = format!("{topic}-g");

    // Records into every partition, 300 a second, until the end of the test.
    let stop_producing = Arc::new(Mutex::new(false));
    let producing = {
        let (bootstrap, topic, stop) = (bootstrap.clone(), topic.clone(), stop_producing.clone());
        tokio::spawn(async move {
            let producer = Producer::new(ProducerConfig::new(&bootstrap)).await.unwrap();
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut i = 0;
            while !*stop.lock().unwrap() {
                tick.tick().await;
                for _ in 0..3 {
                    let record = ProducerRecord::new(topic.as_str()).partition(i % 6).value(format!("v{i}"));
                    drop(producer.send(record).await.unwrap());
                    i += 1;
                }
            }
            producer.close().await;
        })
    };

    // A notices rebalances within 100 ms; `slow` only every 5 s, so a join phase lasts until its next heartbeat.
    let mut a = Consumer::new(consumer_config(&bootstrap, &group, &[])).await.unwrap();
    a.subscribe([topic.as_str()]).unwrap();
    let slow_config = consumer_config(&bootstrap, &group, &[("heartbeat.interval.ms", "5000")]);
    let mut slow = Consumer::new(slow_config).await.unwrap();
    slow.subscribe([topic.as_str()]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while a.assignment().len() + slow.assignment().len() < 6
        || a.assignment().is_empty()
        || slow.assignment().is_empty()
    {
        assert!(Instant::now() < deadline, "a: {:?}, slow: {:?}", a.assignment(), slow.assignment());
        let _ = a.poll(100, Duration::from_millis(20)).await.unwrap();
        let _ = slow.poll(100, Duration::from_millis(20)).await.unwrap();
    }
    let stop_reading = Arc::new(Mutex::new(false));
    let reading_a = spawn_reader(a, stop_reading.clone());
    let reading_slow = spawn_reader(slow, stop_reading.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A third member joins: A rejoins at once and its JoinGroup waits for the slow member's next heartbeat.
    let joined_at = Instant::now();
    let mut b = Consumer::new(consumer_config(&bootstrap, &group, &[])).await.unwrap();
    b.subscribe([topic.as_str()]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while b.assignment().is_empty() {
        assert!(Instant::now() < deadline, "the joining member got no partitions");
        let _ = b.poll(100, Duration::from_millis(20)).await.unwrap();
    }
    let assigned_at = Instant::now();
    *stop_reading.lock().unwrap() = true;
    let (a, arrivals) = reading_a.await.unwrap();
    let (slow, _) = reading_slow.await.unwrap();
    *stop_producing.lock().unwrap() = true;
    producing.await.unwrap();

    let window = assigned_at - joined_at;
    let mut marks: Vec<Instant> = vec![joined_at];
    marks.extend(arrivals.iter().copied().filter(|t| *t > joined_at && *t < assigned_at));
    marks.push(assigned_at);
    let longest_gap = marks.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default();
    eprintln!(
        "the join took {window:?}; member A received {} records meanwhile, longest gap {longest_gap:?}",
        marks.len() - 2
    );
    assert!(window >= Duration::from_millis(1000), "the join phase was too short to show anything: {window:?}");
    assert!(
        longest_gap < Duration::from_millis(1000),
        "member A's fetches stalled during the other member's join: {longest_gap:?} of {window:?}"
    );
    for c in [a, slow, b] {
        c.close().await.unwrap();
    }
}
