//! Subscribed consumers in a group against a real Apache Kafka (`KAFKA_BOOTSTRAP`): joining, committing and
//! resuming, and a group of three over six partitions under the classic protocol (every assignor: range,
//! roundrobin, sticky, cooperative-sticky) and the consumer protocol (KIP-848) while members join, close, and
//! vanish without leaving.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafkar::cluster::Cluster;
use kafkar::consumer::{Consumer, ConsumerConfig, RebalanceListener, TopicPartition};
use kafkar::protocol::compression::Compression;
use kafkar::protocol::records::RecordBatchBuilder;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(30);

/// Writes `n` records `tag-i` to one partition in one batch.
async fn produce(cluster: &Cluster, topic: &str, partition: i32, n: usize, tag: &str) {
    let mut b = RecordBatchBuilder::new(Compression::None);
    for i in 0..n {
        b.append(0, None, Some(format!("{tag}-{i}").as_bytes()), &[]).unwrap();
    }
    support::produce_batch(cluster, topic, partition, b.build().unwrap().into_bytes()).await;
}

async fn produce_all(cluster: &Cluster, topic: &str, partitions: i32, per_partition: usize, tag: &str) {
    for p in 0..partitions {
        produce(cluster, topic, p, per_partition, tag).await;
    }
}

fn config(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> ConsumerConfig {
    let mut c = ConsumerConfig::new(bootstrap);
    for (k, v) in [("group.id", group), ("auto.offset.reset", "earliest"), ("fetch.max.wait.ms", "100")]
        .into_iter()
        .chain(extra.iter().copied())
    {
        c.set(k, v).unwrap();
    }
    c
}

/// `kafka-consumer-groups --describe`: partition → consumer id, for the rows of `topic`.
fn describe_group(bootstrap: &str, group: &str, topic: &str) -> Option<BTreeMap<i32, String>> {
    let script = support::kafka_script()?;
    let out = Command::new(script)
        .args(["consumer-groups", "--bootstrap-server", bootstrap, "--describe", "--group", group])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut rows = BTreeMap::new();
    for line in stdout.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() >= 7 && cols[1] == topic {
            if let Ok(p) = cols[2].parse::<i32>() {
                rows.insert(p, cols[6].to_owned());
            }
        }
    }
    Some(rows)
}

#[tokio::test]
async fn a_subscribed_consumer_reads_commits_and_a_successor_resumes() {
    let Some((bootstrap, cluster, topic)) = support::real_topic("grp-resume", 3).await else { return };
    let group = support::unique_topic("g-resume");
    produce_all(&cluster, &topic, 3, 20, "before").await;

    let cfg = config(&bootstrap, &group, &[("enable.auto.commit", "false")]);
    let mut c = Consumer::new(cfg.clone()).await.unwrap();
    c.subscribe([topic.as_str()]).unwrap();
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + WAIT;
    while seen.len() < 60 {
        assert!(Instant::now() < deadline, "only {} of 60 records", seen.len());
        for r in c.poll(100, Duration::from_millis(500)).await.unwrap() {
            assert!(seen.insert((r.partition, r.offset)), "duplicate {}-{}", r.partition, r.offset);
        }
    }
    let mut assignment = c.assignment();
    assignment.sort();
    assert_eq!(assignment, (0..3).map(|p| TopicPartition::new(&topic, p)).collect::<Vec<_>>());
    produce_all(&cluster, &topic, 3, 10, "after").await;
    while seen.len() < 90 {
        assert!(Instant::now() < deadline, "only {} of 90 records", seen.len());
        for r in c.poll(100, Duration::from_millis(500)).await.unwrap() {
            assert!(seen.insert((r.partition, r.offset)), "duplicate {}-{}", r.partition, r.offset);
        }
    }
    c.commit().await.unwrap();
    let committed = c.committed(&assignment).await.unwrap();
    for tp in &assignment {
        assert_eq!(committed[tp].as_ref().map(|o| o.offset), Some(30), "{tp}");
    }
    c.close().await.unwrap();

    produce_all(&cluster, &topic, 3, 5, "later").await;
    let mut d = Consumer::new(cfg).await.unwrap();
    d.subscribe([topic.as_str()]).unwrap();
    let mut next = Vec::new();
    while next.len() < 15 {
        assert!(Instant::now() < deadline + WAIT, "only {} of 15 new records", next.len());
        next.extend(d.poll(100, Duration::from_millis(500)).await.unwrap());
    }
    for r in &next {
        assert!(r.offset >= 30, "re-delivered committed record {}-{}", r.partition, r.offset);
        assert!(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).starts_with("later-"));
    }
    let extra = d.poll(100, Duration::from_millis(500)).await.unwrap();
    assert!(extra.is_empty(), "unexpected records after the new ones");
    d.close().await.unwrap();
}

/// What one member's task reports.
#[derive(Default)]
struct MemberView {
    assignment: Vec<TopicPartition>,
    revoked: Vec<TopicPartition>,
    lost: Vec<TopicPartition>,
    delivered: Vec<(i32, i64)>,
    /// With `keep_values`: each delivered value read as a big-endian u64.
    values: Vec<u64>,
}

struct Recorder(Arc<Mutex<MemberView>>);

impl RebalanceListener for Recorder {
    fn on_revoked(&mut self, _consumer: &mut Consumer, partitions: &[TopicPartition]) {
        self.0.lock().unwrap().revoked.extend(partitions.iter().cloned());
    }

    fn on_lost(&mut self, _consumer: &mut Consumer, partitions: &[TopicPartition]) {
        self.0.lock().unwrap().lost.extend(partitions.iter().cloned());
    }
}

enum Stop {
    Close(oneshot::Sender<()>),
    Drop,
}

/// A member polling in its own task until told to close or to vanish (drop without close).
fn member(cfg: ConsumerConfig, topic: String) -> (Arc<Mutex<MemberView>>, mpsc::UnboundedSender<Stop>) {
    member_with(cfg, topic, false)
}

fn member_with(
    cfg: ConsumerConfig,
    topic: String,
    keep_values: bool,
) -> (Arc<Mutex<MemberView>>, mpsc::UnboundedSender<Stop>) {
    let view = Arc::new(Mutex::new(MemberView::default()));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let v = view.clone();
    tokio::spawn(async move {
        let mut c = Consumer::new(cfg).await.unwrap();
        c.subscribe_with_listener([topic], Recorder(v.clone())).unwrap();
        loop {
            match rx.try_recv() {
                Ok(Stop::Close(done)) => {
                    c.close().await.unwrap();
                    let _ = done.send(());
                    return;
                }
                Ok(Stop::Drop) => {
                    drop(c);
                    return;
                }
                Err(_) => {}
            }
            let got = c.poll(2000, Duration::from_millis(100)).await.unwrap();
            let mut view = v.lock().unwrap();
            view.delivered.extend(got.iter().map(|r| (r.partition, r.offset)));
            if keep_values {
                view.values.extend(got.iter().map(|r| {
                    let v = r.value.as_deref().expect("a value");
                    u64::from_be_bytes(v.try_into().expect("an 8-byte value"))
                }));
            }
            view.assignment = c.assignment();
        }
    });
    (view, tx)
}

/// Waits until the members' assignments cover partitions 0..n exactly once, evenly (every assignor here balances
/// one topic; waiting for the even split also waits out a cooperative rebalance's intermediate steps).
async fn wait_for_cover(views: &[&Arc<Mutex<MemberView>>], n: i32, what: &str) {
    wait_for_cover_within(views, n, what, Duration::from_secs(60)).await;
}

async fn wait_for_cover_within(views: &[&Arc<Mutex<MemberView>>], n: i32, what: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let mut all: Vec<i32> = Vec::new();
        let mut each = Vec::new();
        for v in views {
            let a: Vec<i32> = v.lock().unwrap().assignment.iter().map(|tp| tp.partition).collect();
            each.push(a.len());
            all.extend(a);
        }
        all.sort();
        if all == (0..n).collect::<Vec<_>>() && each.iter().all(|c| c.abs_diff(n as usize / views.len()) <= 1) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: assignments never covered the topic: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What a group run expects of the assignor besides "every partition exactly once".
#[derive(Clone, Copy)]
struct Expect {
    /// Members that stay keep the partitions they owned when another one leaves.
    sticky: bool,
    /// Members that stay see nothing revoked when another one leaves (incremental rebalancing).
    cooperative: bool,
}

async fn group_of_three(protocol: &[(&str, &str)], expect: Expect) {
    let Some((bootstrap, cluster, topic)) = support::real_topic("grp-three", 6).await else { return };
    let group = support::unique_topic("g-three");
    let mut extra = vec![("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "1000")];
    extra.extend_from_slice(protocol);
    let cfg = config(&bootstrap, &group, &extra);
    let (v0, s0) = member(cfg.clone(), topic.clone());
    let (v1, s1) = member(cfg.clone(), topic.clone());
    let (v2, s2) = member(cfg.clone(), topic.clone());
    wait_for_cover(&[&v0, &v1, &v2], 6, "three members").await;
    // The broker agrees (the tool lists owners only once the group is stable on its side too: retry a while).
    let deadline = Instant::now() + WAIT;
    while let Some(rows) = describe_group(&bootstrap, &group, &topic) {
        let owners: BTreeSet<&String> = rows.values().collect();
        if rows.len() == 6 && owners.len() == 3 && !owners.contains(&"-".to_owned()) {
            break;
        }
        assert!(Instant::now() < deadline, "kafka-consumer-groups: {rows:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for v in [&v0, &v1] {
        let mut v = v.lock().unwrap();
        v.revoked.clear();
        v.lost.clear();
    }
    let before: HashMap<usize, Vec<TopicPartition>> =
        [&v0, &v1].iter().enumerate().map(|(i, v)| (i, v.lock().unwrap().assignment.clone())).collect();
    produce_all(&cluster, &topic, 6, 500, "one").await;

    // One member closes: the other two take its partitions.
    let (done, closed) = oneshot::channel();
    s2.send(Stop::Close(done)).unwrap();
    tokio::time::timeout(WAIT, closed).await.unwrap().unwrap();
    wait_for_cover(&[&v0, &v1], 6, "after a close").await;
    for (i, v) in [&v0, &v1].iter().enumerate() {
        let v = v.lock().unwrap();
        if expect.cooperative {
            assert!(v.revoked.is_empty(), "member {i} had {:?} revoked (owned {:?})", v.revoked, before[&i]);
            assert!(v.lost.is_empty(), "member {i} lost {:?} (owned {:?})", v.lost, before[&i]);
        }
        if expect.sticky {
            for tp in &before[&i] {
                assert!(v.assignment.contains(tp), "member {i} lost {tp} (now owns {:?})", v.assignment);
            }
        }
    }
    produce_all(&cluster, &topic, 6, 500, "two").await;

    // One member vanishes without leaving: its partitions move after the session timeout (6 s here; for KIP-848 the
    // broker's, which is 45 s by default on a broker not started by scripts/kafka: hence the longer wait).
    s1.send(Stop::Drop).unwrap();
    wait_for_cover_within(&[&v0], 6, "after a member vanished", Duration::from_secs(90)).await;
    produce_all(&cluster, &topic, 6, 500, "three").await;

    // Every record is processed at least once.
    let total = 6 * 1500;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut seen: BTreeSet<(i32, i64)> = BTreeSet::new();
        for v in [&v0, &v1, &v2] {
            seen.extend(v.lock().unwrap().delivered.iter().copied());
        }
        if seen.len() == total {
            break;
        }
        assert!(Instant::now() < deadline, "only {} of {total} records processed", seen.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Duplicates only of what the vanished member had processed.
    let mut count: HashMap<(i32, i64), usize> = HashMap::new();
    for v in [&v0, &v1, &v2] {
        for r in &v.lock().unwrap().delivered {
            *count.entry(*r).or_default() += 1;
        }
    }
    let by_dropped: BTreeSet<(i32, i64)> = v1.lock().unwrap().delivered.iter().copied().collect();
    let dups: Vec<&(i32, i64)> =
        count.iter().filter(|(r, n)| **n > 1 && !by_dropped.contains(r)).map(|(r, _)| r).collect();
    assert!(
        dups.is_empty(),
        "{} records were processed twice, e.g. {:?}",
        dups.len(),
        dups.iter().take(5).collect::<Vec<_>>()
    );

    let (done, closed) = oneshot::channel();
    s0.send(Stop::Close(done)).unwrap();
    tokio::time::timeout(WAIT, closed).await.unwrap().unwrap();
}

/// The classic protocol with one client-side assignor (`partition.assignment.strategy`).
async fn classic_group_of_three(strategy: &str) {
    let expect = Expect {
        sticky: matches!(strategy, "sticky" | "cooperative-sticky"),
        cooperative: strategy == "cooperative-sticky",
    };
    group_of_three(&[("group.protocol", "classic"), ("partition.assignment.strategy", strategy)], expect).await;
}

#[tokio::test]
async fn classic_range_group_of_three_over_six_partitions() {
    classic_group_of_three("range").await;
}

#[tokio::test]
async fn classic_roundrobin_group_of_three_over_six_partitions() {
    classic_group_of_three("roundrobin").await;
}

#[tokio::test]
async fn classic_sticky_group_of_three_keeps_partitions_of_members_that_stay() {
    classic_group_of_three("sticky").await;
}

#[tokio::test]
async fn classic_cooperative_sticky_group_of_three_keeps_unaffected_partitions() {
    classic_group_of_three("cooperative-sticky").await;
}

/// KIP-848: the broker owns the session timeout (`group.consumer.session.timeout.ms`, default 45 s with a 45 s
/// minimum); scripts/kafka sets it to 6 s, so the dropped member's partitions move within the test's waits.
#[tokio::test]
async fn consumer_protocol_group_of_three_over_six_partitions() {
    group_of_three(&[("group.protocol", "consumer")], Expect { sticky: true, cooperative: true }).await;
}

/// Scale: kafkar's producer writes `KAFKAR_GROUP_SCALE_RECORDS` (default 1,000,000) 8-byte records over six
/// partitions while a classic cooperative-sticky group changes under it: two members start, a third joins, the
/// first closes, a fourth joins, the second closes. Every record is processed exactly once (members only leave
/// by closing, which commits what they were given) and the two that remain end up splitting the topic evenly.
#[tokio::test]
async fn classic_cooperative_sticky_group_under_continuous_load_while_members_come_and_go() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
    let Some(bootstrap) = support::real_broker() else { return };
    let total: usize = std::env::var("KAFKAR_GROUP_SCALE_RECORDS").map_or(1_000_000, |v| v.parse().unwrap());
    let started = Instant::now();
    let cluster = support::cluster(&bootstrap);
    let topic = support::unique_topic("grp-scale");
    let group = support::unique_topic("g-scale");
    support::create_topic(&cluster, &topic, 6, &[]).await;
    let cfg = config(
        &bootstrap,
        &group,
        &[
            ("group.protocol", "classic"),
            ("partition.assignment.strategy", "cooperative-sticky"),
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "1000"),
            ("auto.commit.interval.ms", "500"),
        ],
    );

    let mut pcfg = ProducerConfig::new(&bootstrap);
    for (k, v) in [("linger.ms", "5"), ("batch.size", "65536"), ("compression.type", "lz4")] {
        pcfg.set(k, v).unwrap();
    }
    let producer = Producer::new(pcfg).await.unwrap();
    let mut errors = producer.take_errors().unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    // The last tenth of the records waits for the group's last change, so records keep coming through every
    // membership change however slowly the group settles (on a loaded machine it took longer than SPREAD).
    let (changes_over, last_change) = oneshot::channel::<()>();
    let writer = {
        let (producer, sent, topic) = (producer.clone(), sent.clone(), Arc::<str>::from(topic.as_str()));
        tokio::spawn(async move {
            // Paced over at least SPREAD, so the records keep coming through every membership change.
            const SPREAD: Duration = Duration::from_secs(10);
            let start = Instant::now();
            let mut last_change = Some(last_change);
            for i in 0..total {
                if i % 10_000 == 0 {
                    tokio::time::sleep_until(start + SPREAD.mul_f64(i as f64 / total as f64)).await;
                }
                if i >= total / 10 * 9 {
                    if let Some(last_change) = last_change.take() {
                        let _ = last_change.await;
                    }
                }
                let r = ProducerRecord::new(topic.clone())
                    .partition((i % 6) as i32)
                    .value((i as u64).to_be_bytes().to_vec());
                producer.send_forget(r).await.unwrap();
                sent.store(i + 1, Ordering::Relaxed);
            }
            producer.flush().await;
        })
    };
    let until_sent = |fraction: f64| {
        let sent = sent.clone();
        async move {
            while (sent.load(Ordering::Relaxed) as f64) < fraction * total as f64 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let close = |s: mpsc::UnboundedSender<Stop>| async move {
        let (done, closed) = oneshot::channel();
        s.send(Stop::Close(done)).unwrap();
        tokio::time::timeout(WAIT, closed).await.unwrap().unwrap();
    };

    // Each change waits for the group to settle from the one before (a member closing mid-rebalance cannot
    // commit, and what it had processed is then processed again: at-least-once, which this test does not want).
    let (v0, s0) = member_with(cfg.clone(), topic.clone(), true);
    let (v1, s1) = member_with(cfg.clone(), topic.clone(), true);
    until_sent(0.1).await;
    wait_for_cover(&[&v0, &v1], 6, "two members").await;
    let (v2, s2) = member_with(cfg.clone(), topic.clone(), true);
    until_sent(0.3).await;
    wait_for_cover(&[&v0, &v1, &v2], 6, "a third joined").await;
    close(s0).await;
    until_sent(0.5).await;
    wait_for_cover(&[&v1, &v2], 6, "the first closed").await;
    let (v3, s3) = member_with(cfg.clone(), topic.clone(), true);
    until_sent(0.7).await;
    wait_for_cover(&[&v1, &v2, &v3], 6, "a fourth joined").await;
    close(s1).await;
    let changes_done = sent.load(Ordering::Relaxed);
    let _ = changes_over.send(());
    tokio::time::timeout(Duration::from_secs(120), writer).await.unwrap().unwrap();
    assert!(errors.try_recv().is_err(), "a produce failed");
    let produced_in = started.elapsed();
    assert!(changes_done < total, "the producer finished before the group's last change");

    let views = [&v0, &v1, &v2, &v3];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: usize = views.iter().map(|v| v.lock().unwrap().delivered.len()).sum();
        if n >= total {
            break;
        }
        assert!(Instant::now() < deadline, "only {n} of {total} records processed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_cover(&[&v2, &v3], 6, "the two members left").await;
    // Nothing more arrives, and what arrived is every record once: positions and values.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut positions: Vec<(i32, i64)> = Vec::with_capacity(total);
    let mut values: Vec<u64> = Vec::with_capacity(total);
    for v in views {
        let v = v.lock().unwrap();
        positions.extend(&v.delivered);
        values.extend(&v.values);
    }
    assert_eq!(positions.len(), total, "records processed (duplicates included)");
    positions.sort_unstable();
    positions.dedup();
    assert_eq!(positions.len(), total, "distinct records processed");
    values.sort_unstable();
    assert!(values.iter().copied().eq(0..total as u64), "the values read are not exactly 0..{total}");
    close(s2).await;
    close(s3).await;
    producer.close().await;
    eprintln!("{total} records: produced in {produced_in:?}, all consumed after {:?}", started.elapsed());
}

/// A member subscribed to a topic that does not exist yet is assigned its partitions once it is created: the
/// classic leader notices the topic in a later metadata refresh (here the periodic one, metadata.max.age.ms=1000)
/// and rebalances; a KIP-848 member resolves the topic id the coordinator assigns.
async fn subscribed_before_the_topic_exists(protocol: &str) {
    let Some(bootstrap) = support::real_broker() else { return };
    let cluster = support::cluster(&bootstrap);
    let topic = support::unique_topic("grp-later");
    let group = support::unique_topic("g-later");
    let extra = [("group.protocol", protocol), ("metadata.max.age.ms", "1000"), ("allow.auto.create.topics", "false")];
    let mut c = Consumer::new(config(&bootstrap, &group, &extra)).await.unwrap();
    c.subscribe([topic.clone()]).unwrap();
    let settle = Instant::now() + Duration::from_secs(3);
    while Instant::now() < settle {
        assert!(c.poll(10, Duration::from_millis(100)).await.unwrap().is_empty());
    }
    assert!(c.assignment().is_empty());
    support::create_topic(&cluster, &topic, 2, &[]).await;
    let deadline = Instant::now() + WAIT;
    while c.assignment().len() < 2 {
        assert!(Instant::now() < deadline, "{protocol}: partitions of the new topic never assigned");
        let _ = c.poll(10, Duration::from_millis(100)).await.unwrap();
    }
    c.close().await.unwrap();
}

#[tokio::test]
async fn classic_member_is_assigned_a_topic_created_after_it_subscribed() {
    subscribed_before_the_topic_exists("classic").await;
}

#[tokio::test]
async fn consumer_protocol_member_is_assigned_a_topic_created_after_it_subscribed() {
    subscribed_before_the_topic_exists("consumer").await;
}
