//! Admin operations where replication matters, on a 3-node cluster of the test's own (base port 25092, every node
//! a broker and a controller; `scripts/kafka start --nodes 3`), so the shared broker is not disturbed:
//!
//! - Preferred leader election: a partition whose replica order changed is led by its new preferred replica after
//!   `elect_leaders(Preferred)`; one already led by it answers ELECTION_NOT_NEEDED.
//! - Partition reassignment: a move completes (the replicas change); a move held back by a replication throttle
//!   (set with `incremental_alter_configs`) is listed while it runs, with the replicas being added, and cancelled.
//! - Unclean leader election: a partition whose only in-sync replica died has no leader; a preferred election fails
//!   for it, an unclean one makes the out-of-sync replica its leader.
//!
//! One test runs all three in that order (the last one takes a node down for good).

mod support;

use std::time::{Duration, Instant};

use kafkar::admin::{Admin, AdminConfig, AlterConfigOp, ConfigResource, ElectionType, NewTopic, PartitionDescription};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use kafkar::protocol::ErrorCode;

const PORT: &str = "25092";

async fn admin(bootstrap: &str) -> Admin {
    let mut c = AdminConfig::new(bootstrap);
    c.set("request.timeout.ms", "15000").unwrap();
    c.set("retry.backoff.ms", "100").unwrap();
    Admin::new(c).await.unwrap()
}

/// Partition `p` of `topic` as the cluster describes it now.
async fn partition(admin: &Admin, topic: &str, p: i32) -> PartitionDescription {
    let mut d = admin.describe_topics(&[topic]).await.expect("describe");
    let t = d.remove(topic).expect("answered").expect("topic described");
    t.partitions.into_iter().find(|x| x.partition == p).expect("partition described")
}

/// Polls `partition(topic, p)` until `ok` holds (up to 30 s); the last description.
async fn wait_partition(
    admin: &Admin,
    topic: &str,
    p: i32,
    what: &str,
    ok: impl Fn(&PartitionDescription) -> bool,
) -> PartitionDescription {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = partition(admin, topic, p).await;
        if ok(&d) {
            return d;
        }
        assert!(Instant::now() < deadline, "{topic}-{p}: {what} did not happen in 30 s: {d:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates `topic` with partition `i` on the brokers `assignment[i]` (preferred leader first).
async fn create_assigned(admin: &Admin, topic: &str, assignment: Vec<Vec<i32>>) {
    create(admin, NewTopic::with_assignment(topic, assignment)).await;
}

async fn create(admin: &Admin, topic: NewTopic) {
    let created = admin.create_topics(std::slice::from_ref(&topic), false).await.expect("create");
    created[&topic.name].as_ref().expect("created");
}

/// Writes `n` records of `size` bytes to partition 0 of `topic`.
async fn produce(bootstrap: &str, topic: &str, n: usize, size: usize) {
    let mut c = ProducerConfig::new(bootstrap);
    c.set("linger.ms", "5").unwrap();
    c.set("request.timeout.ms", "10000").unwrap();
    c.set("delivery.timeout.ms", "30000").unwrap();
    let p = Producer::new(c).await.unwrap();
    let mut acks = Vec::with_capacity(n);
    for i in 0..n {
        let r = ProducerRecord::new(topic).partition(0).value(vec![(i % 251) as u8; size]);
        acks.push(p.send(r).await.expect("queued"));
    }
    for a in acks {
        a.await.expect("acknowledged");
    }
    p.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elections_and_reassignments_on_three_brokers() {
    if support::real_broker().is_none() {
        return;
    }
    let started = Instant::now();
    let (kafka, bootstrap) =
        support::OwnKafka::start(PORT, &["--nodes", "3", "--prop", "broker.session.timeout.ms=5000"]).await;
    eprintln!("3-node cluster up in {:?}", started.elapsed());
    let admin = admin(&bootstrap).await;
    preferred_election(&admin).await;
    reassignments(&admin, &bootstrap).await;
    unclean_election(&admin, &kafka, &bootstrap).await;
    eprintln!("admin on 3 brokers: {:?} in all", started.elapsed());
}

async fn preferred_election(admin: &Admin) {
    let topic = support::unique_topic("elect-preferred");
    create_assigned(admin, &topic, vec![vec![1, 2, 3], vec![2, 3, 1]]).await;
    wait_partition(admin, &topic, 0, "leader 1", |d| d.leader == Some(1) && d.isr.len() == 3).await;
    // Reorder partition 0's replicas (same set: done at once); its leader stays 1 until an election.
    let moved = admin.alter_partition_reassignments(&[((topic.clone(), 0), Some(vec![2, 1, 3]))]).await;
    moved.expect("reorder")[0].1.as_ref().expect("reordered");
    let d = wait_partition(admin, &topic, 0, "reorder", |d| d.replicas == [2, 1, 3]).await;
    assert_eq!(d.leader, Some(1), "no election yet");

    let parts = [(topic.clone(), 0), (topic.clone(), 1)];
    let results = admin.elect_leaders(ElectionType::Preferred, Some(&parts)).await.expect("elect");
    let by = |p: i32| results.iter().find(|(tp, _)| tp.1 == p).map(|(_, r)| r).expect("partition answered");
    by(0).as_ref().expect("partition 0: its preferred replica elected");
    assert_eq!(by(1).as_ref().unwrap_err().code(), Some(ErrorCode::ELECTION_NOT_NEEDED));
    wait_partition(admin, &topic, 0, "preferred leader 2", |d| d.leader == Some(2)).await;
    assert_eq!(partition(admin, &topic, 1).await.leader, Some(2), "partition 1 keeps its leader");
}

async fn reassignments(admin: &Admin, bootstrap: &str) {
    // A move that completes: partition 0 from broker 1 to brokers 2 and 3.
    let topic = support::unique_topic("reassign");
    create_assigned(admin, &topic, vec![vec![1]]).await;
    produce(bootstrap, &topic, 100, 100).await;
    let r = admin.alter_partition_reassignments(&[((topic.clone(), 0), Some(vec![2, 3]))]).await.expect("alter");
    r[0].1.as_ref().expect("reassignment accepted");
    let d = wait_partition(admin, &topic, 0, "move to [2, 3]", |d| d.replicas == [2, 3] && d.isr.len() == 2).await;
    assert!(matches!(d.leader, Some(2 | 3)), "{d:?}");

    // A move held back by a 1 byte/s replication throttle: listed while it runs, then cancelled.
    let slow = support::unique_topic("reassign-slow");
    create_assigned(admin, &slow, vec![vec![1]]).await;
    // More than one replica fetch (replica.fetch.max.bytes, 1 MiB) can carry before the throttle bites.
    produce(bootstrap, &slow, 4096, 1024).await;
    let throttle = |k: &str| AlterConfigOp::Set(k.into(), "1".into());
    let all = |k: &str| AlterConfigOp::Set(k.into(), "*".into());
    let set = admin
        .incremental_alter_configs(
            &[
                (
                    ConfigResource::broker_defaults(),
                    vec![
                        throttle("leader.replication.throttled.rate"),
                        throttle("follower.replication.throttled.rate"),
                    ],
                ),
                (
                    ConfigResource::topic(&slow),
                    vec![all("leader.replication.throttled.replicas"), all("follower.replication.throttled.replicas")],
                ),
            ],
            false,
        )
        .await
        .expect("throttle");
    assert!(set.values().all(|r| r.is_ok()), "{set:?}");
    let tp = (slow.clone(), 0);
    let r = admin.alter_partition_reassignments(&[(tp.clone(), Some(vec![1, 2]))]).await.expect("alter");
    r[0].1.as_ref().expect("reassignment accepted");
    let listed = admin.list_partition_reassignments(Some(std::slice::from_ref(&tp))).await.expect("list");
    assert_eq!(listed.len(), 1, "in progress: {listed:?}");
    assert_eq!(listed[0].partition, tp);
    assert_eq!(listed[0].adding, [2], "{listed:?}");
    assert!(listed[0].removing.is_empty(), "{listed:?}");
    assert!(listed[0].replicas.contains(&1) && listed[0].replicas.contains(&2), "{listed:?}");
    // The throttle holds it back: still running a second later.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all_listed = admin.list_partition_reassignments(None).await.expect("list all");
    assert!(all_listed.iter().any(|r| r.partition == tp), "listed among all: {all_listed:?}");

    let cancelled = admin.alter_partition_reassignments(&[(tp.clone(), None)]).await.expect("cancel");
    cancelled[0].1.as_ref().expect("cancelled");
    assert!(admin.list_partition_reassignments(Some(std::slice::from_ref(&tp))).await.expect("list").is_empty());
    wait_partition(admin, &slow, 0, "back to [1]", |d| d.replicas == [1]).await;
    // Cancelling again: nothing in progress, for that partition only.
    let again = admin.alter_partition_reassignments(&[(tp, None)]).await.expect("cancel again");
    assert_eq!(again[0].1.as_ref().unwrap_err().code(), Some(ErrorCode::NO_REASSIGNMENT_IN_PROGRESS));
    let unset = |k: &str| AlterConfigOp::Delete(k.into());
    let reset = admin
        .incremental_alter_configs(
            &[(
                ConfigResource::broker_defaults(),
                vec![unset("leader.replication.throttled.rate"), unset("follower.replication.throttled.rate")],
            )],
            false,
        )
        .await
        .expect("unthrottle");
    assert!(reset.values().all(|r| r.is_ok()), "{reset:?}");
}

async fn unclean_election(admin: &Admin, kafka: &support::OwnKafka, bootstrap: &str) {
    let topic = support::unique_topic("elect-unclean");
    // The cluster's min.insync.replicas is 2: this topic takes writes with one replica in sync.
    create(admin, NewTopic::with_assignment(&topic, vec![vec![3, 2]]).config("min.insync.replicas", "1")).await;
    wait_partition(admin, &topic, 0, "both in sync", |d| d.leader == Some(3) && d.isr.len() == 2).await;
    // Broker 2 leaves the ISR (controlled shutdown); a record is written to broker 3 alone.
    kafka.run(&["stop-node", "2"]).await;
    wait_partition(admin, &topic, 0, "ISR [3]", |d| d.isr == [3]).await;
    produce(bootstrap, &topic, 1, 10).await;
    // Broker 3, the only in-sync replica, dies; broker 2 comes back (the quorum with it), out of sync.
    kafka.run(&["kill-node", "3"]).await;
    kafka.run(&["start-node", "2"]).await;
    wait_partition(admin, &topic, 0, "no leader", |d| d.leader.is_none()).await;

    let tp = [(topic.clone(), 0)];
    let preferred = admin.elect_leaders(ElectionType::Preferred, Some(&tp)).await.expect("elect preferred");
    assert!(preferred[0].1.is_err(), "the preferred replica is dead: {preferred:?}");
    let unclean = admin.elect_leaders(ElectionType::Unclean, Some(&tp)).await.expect("elect unclean");
    unclean[0].1.as_ref().expect("the out-of-sync replica elected");
    let d = wait_partition(admin, &topic, 0, "unclean leader 2", |d| d.leader == Some(2)).await;
    assert_eq!(d.isr, [2], "{d:?}");
}
