//! Removing members from a classic group with the admin client, against a real Apache Kafka (`KAFKA_BOOTSTRAP`).
//!
//! A static member (`group.instance.id`) that closes does not leave its group (it would come back under the same
//! identity): it stays until its session times out. `remove_group_members` takes it out at once, by instance id
//! (an unknown instance id failing alone) or, with no ids, every member.

mod support;

use std::time::Duration;

use kafkar::admin::{Admin, NewTopic};
use kafkar::consumer::{Consumer, ConsumerConfig};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use kafkar::protocol::ErrorCode;

/// A static classic member of `group` reads one record of `topic`, then closes (without leaving).
async fn static_member_reads_and_closes(bootstrap: &str, topic: &str, group: &str, instance: &str) {
    let mut c = ConsumerConfig::new(bootstrap);
    for (k, v) in [
        ("group.id", group),
        ("group.instance.id", instance),
        ("group.protocol", "classic"),
        ("auto.offset.reset", "earliest"),
        // Each member reads the same record: nothing committed.
        ("enable.auto.commit", "false"),
    ] {
        c.set(k, v).unwrap();
    }
    let mut consumer = Consumer::new(c).await.unwrap();
    consumer.subscribe([topic]).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await;
    r.expect("a record within 30 s").expect("no consumer error");
    consumer.close().await.expect("close");
}

/// The instance ids of `group`'s members.
async fn instances(admin: &Admin, group: &str) -> Vec<Option<String>> {
    let d = admin.describe_groups(&[group]).await.expect("describe");
    let g = d[group].as_ref().expect("described");
    g.members.iter().map(|m| m.instance_id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_members_are_removed_by_instance_id_or_all_at_once() {
    let Some(bootstrap) = support::real_broker() else { return };
    let admin = Admin::new(kafkar::ClientConfig::new(&bootstrap)).await.unwrap();
    let topic = support::unique_topic("remove-members");
    admin.create_topics(&[NewTopic::new(&topic, 1, 1)], false).await.expect("create")[&topic]
        .as_ref()
        .expect("created");
    let producer = Producer::new(ProducerConfig::new(&bootstrap)).await.unwrap();
    producer.send_and_wait(ProducerRecord::new(topic.as_str()).value("x")).await.expect("produce");
    producer.close().await;
    let group = support::unique_topic("remove-members-group");

    static_member_reads_and_closes(&bootstrap, &topic, &group, "inst-a").await;
    assert_eq!(instances(&admin, &group).await, [Some("inst-a".to_owned())], "closed, a static member stays");
    let removed = admin.remove_group_members(&group, &["inst-a", "inst-unknown"]).await.expect("remove");
    removed["inst-a"].as_ref().expect("inst-a removed");
    assert_eq!(removed["inst-unknown"].as_ref().unwrap_err().code(), Some(ErrorCode::UNKNOWN_MEMBER_ID));
    assert!(instances(&admin, &group).await.is_empty(), "no member left");

    // The group is empty, so a new static member joins at once; then every member goes.
    static_member_reads_and_closes(&bootstrap, &topic, &group, "inst-b").await;
    assert_eq!(instances(&admin, &group).await, [Some("inst-b".to_owned())]);
    let removed = admin.remove_group_members(&group, &[]).await.expect("remove all");
    assert_eq!(removed.len(), 1, "{removed:?}");
    removed["inst-b"].as_ref().expect("inst-b removed");
    assert!(instances(&admin, &group).await.is_empty(), "no member left");

    let e = admin.remove_group_members(&support::unique_topic("no-such-group"), &["x"]).await;
    assert!(e.is_err() || e.as_ref().is_ok_and(|m| m["x"].is_err()), "an unknown group: {e:?}");
    admin.delete_topic(&topic).await.expect("delete topic");
}
