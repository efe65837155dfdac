//! The admin client against the real broker (`KAFKA_BOOTSTRAP`): topics, configs, the cluster, groups and their
//! offsets, and records, each with its per-item errors (one failed topic, config resource, group or partition does
//! not hide the others).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kafkar::ClientConfig;
use kafkar::admin::{
    Admin, AlterConfigOp, ConfigResource, ConfigResourceType, ConfigSource, GroupType, LagEnd, ListGroupsFilter,
    NewPartitions, NewTopic, OffsetSpec, ResetOffsets,
};
use kafkar::consumer::{Consumer, ConsumerConfig, IsolationLevel, TopicPartition};
use kafkar::producer::{Producer, ProducerConfig, ProducerRecord};
use kafkar::protocol::ErrorCode;
use tokio::time::Instant;

async fn admin(bootstrap: &str) -> Admin {
    Admin::new(ClientConfig::new(bootstrap)).await.unwrap().with_timeout(Duration::from_secs(15))
}

fn code<T: std::fmt::Debug>(r: &kafkar::Result<T>) -> Option<ErrorCode> {
    r.as_ref().err().and_then(|e| e.code())
}

/// Produces `n` records to each partition of `topic`, with timestamps 1000, 2000, ... per partition.
async fn produce(bootstrap: &str, topic: &str, partitions: i32, n: i64) {
    let producer = Producer::new(ProducerConfig::new(bootstrap)).await.unwrap();
    for p in 0..partitions {
        for i in 0..n {
            let r = ProducerRecord::new(topic).partition(p).timestamp(1000 * (i + 1)).value(format!("v{i}"));
            producer.send(r).await.unwrap().await.unwrap();
        }
    }
    producer.close().await;
}

#[tokio::test]
async fn topics_are_created_described_grown_and_deleted_with_per_topic_results() {
    let Some(bootstrap) = support::real_broker() else { return };
    let admin = admin(&bootstrap).await;
    let cluster = admin.describe_cluster().await.unwrap();
    let broker = cluster.brokers[0].id;
    let a = support::unique_topic("admin-a");
    let b = support::unique_topic("admin-b");
    let c = support::unique_topic("admin-c");

    // Validate-only creates nothing.
    let checked = admin.create_topics(&[NewTopic::new(&a, 2, 1)], true).await.unwrap();
    assert!(checked[&a].is_ok(), "{checked:?}");
    assert!(!admin.topic_exists(&a).await.unwrap());

    let created = admin
        .create_topics(
            &[
                NewTopic::new(&a, 2, 1).config("retention.ms", "3600000"),
                NewTopic::with_assignment(&b, vec![vec![broker]]),
            ],
            false,
        )
        .await
        .unwrap();
    let ca = created[&a].as_ref().unwrap();
    assert_eq!((ca.partitions, ca.replication_factor), (2, 1));
    assert!(!ca.topic_id.is_zero());
    assert!(ca.configs.iter().any(|(k, v)| k == "retention.ms" && v.as_deref() == Some("3600000")));
    assert!(created[&b].is_ok(), "{created:?}");

    // A batch with an existing topic and a new one: the existing one fails alone.
    let again = admin.create_topics(&[NewTopic::new(&a, 1, 1), NewTopic::new(&c, 1, 1)], false).await.unwrap();
    assert_eq!(code(&again[&a]), Some(ErrorCode::TOPIC_ALREADY_EXISTS));
    assert!(again[&c].is_ok(), "{again:?}");
    // An invalid name fails alone too, before anything is sent.
    let bad = admin.create_topics(&[NewTopic::new("bad name", 1, 1)], false).await.unwrap();
    assert!(bad["bad name"].is_err());

    let missing = support::unique_topic("admin-missing");
    let described = admin.describe_topics(&[&a, &b, &missing]).await.unwrap();
    let da = described[&a].as_ref().unwrap();
    assert_eq!(da.partitions.iter().map(|p| p.partition).collect::<Vec<_>>(), vec![0, 1]);
    for p in &da.partitions {
        assert!(p.leader.is_some());
        assert_eq!(p.replicas.len(), 1);
        assert_eq!(p.isr, p.replicas);
    }
    assert_eq!(described[&b].as_ref().unwrap().partitions[0].replicas, vec![broker]);
    assert_eq!(code(&described[&missing]), Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));

    let listed = admin.list_topics(false).await.unwrap();
    assert!(listed.iter().any(|t| t.name == a && t.partitions == 2));
    assert!(listed.iter().all(|t| !t.is_internal));
    let all = admin.list_topics(true).await.unwrap();
    assert!(all.len() >= listed.len());

    // Growing: one topic grows, a shrink fails alone.
    let grown = admin
        .create_partitions(
            &[(a.as_str(), NewPartitions::increase_to(4)), (c.as_str(), NewPartitions::increase_to(1))],
            false,
        )
        .await
        .unwrap();
    assert!(grown[&a].is_ok(), "{grown:?}");
    assert_eq!(code(&grown[&c]), Some(ErrorCode::INVALID_PARTITIONS));
    let da = admin.describe_topics(&[&a]).await.unwrap().remove(&a).unwrap().unwrap();
    assert_eq!(da.partitions.len(), 4);
    assert_eq!(admin.topic_partitions(&a).await.unwrap().len(), 4);

    // Deleting: by name (an unknown one fails alone) and by id.
    let deleted = admin.delete_topics(&[&a, &missing]).await.unwrap();
    assert!(deleted[&a].is_ok(), "{deleted:?}");
    assert_eq!(code(&deleted[&missing]), Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
    assert!(!admin.topic_exists(&a).await.unwrap());
    let id_b = described[&b].as_ref().unwrap().topic_id;
    let by_id = admin.delete_topics_by_id(&[id_b]).await.unwrap();
    assert!(by_id[&id_b].is_ok(), "{by_id:?}");
    assert!(!admin.topic_exists(&b).await.unwrap());
    admin.delete_topics(&[&c]).await.unwrap();
}

#[tokio::test]
async fn configs_are_described_and_altered_incrementally_per_resource() {
    let Some(bootstrap) = support::real_broker() else { return };
    let admin = admin(&bootstrap).await;
    let topic = support::unique_topic("admin-configs");
    admin.create_topics(&[NewTopic::new(&topic, 1, 1)], false).await.unwrap()[&topic].as_ref().unwrap();
    let res = ConfigResource::topic(&topic);
    let missing = ConfigResource::topic(support::unique_topic("admin-configs-missing"));

    let altered = admin
        .incremental_alter_configs(
            &[
                (
                    res.clone(),
                    vec![
                        AlterConfigOp::Set("retention.ms".into(), "1234567".into()),
                        AlterConfigOp::Append("cleanup.policy".into(), "compact".into()),
                    ],
                ),
                (missing.clone(), vec![AlterConfigOp::Set("retention.ms".into(), "1".into())]),
            ],
            false,
        )
        .await
        .unwrap();
    assert!(altered[&res].is_ok(), "{altered:?}");
    assert_eq!(code(&altered[&missing]), Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));

    let entry = |m: &BTreeMap<ConfigResource, kafkar::Result<Vec<kafkar::admin::ConfigEntry>>>, name: &str| {
        m[&res].as_ref().unwrap().iter().find(|e| e.name == name).unwrap().clone()
    };
    let described = admin.describe_configs(&[res.clone(), missing.clone()]).await.unwrap();
    let retention = entry(&described, "retention.ms");
    assert_eq!(retention.value.as_deref(), Some("1234567"));
    assert_eq!(retention.source, ConfigSource::DynamicTopic);
    assert!(!retention.synonyms.is_empty());
    assert_eq!(entry(&described, "cleanup.policy").value.as_deref(), Some("delete,compact"));
    assert_eq!(code(&described[&missing]), Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));

    // Subtract and delete; an invalid value is refused for its resource, and validate-only changes nothing.
    let altered = admin
        .incremental_alter_configs(
            &[(
                res.clone(),
                vec![
                    AlterConfigOp::Subtract("cleanup.policy".into(), "delete".into()),
                    AlterConfigOp::Delete("retention.ms".into()),
                ],
            )],
            false,
        )
        .await
        .unwrap();
    assert!(altered[&res].is_ok(), "{altered:?}");
    let bad = admin
        .incremental_alter_configs(
            &[(res.clone(), vec![AlterConfigOp::Set("retention.ms".into(), "soon".into())])],
            false,
        )
        .await
        .unwrap();
    assert_eq!(code(&bad[&res]), Some(ErrorCode::INVALID_CONFIG));
    let dry = admin
        .incremental_alter_configs(&[(res.clone(), vec![AlterConfigOp::Set("retention.ms".into(), "42".into())])], true)
        .await
        .unwrap();
    assert!(dry[&res].is_ok());
    let described = admin.describe_configs(std::slice::from_ref(&res)).await.unwrap();
    assert_eq!(entry(&described, "cleanup.policy").value.as_deref(), Some("compact"));
    let retention = entry(&described, "retention.ms");
    assert!(retention.is_default(), "{retention:?}");
    assert_ne!(retention.value.as_deref(), Some("42"));

    // A broker's own configs come from that broker.
    let broker = admin.describe_cluster().await.unwrap().brokers[0].id;
    let b = ConfigResource::broker(broker);
    let described = admin.describe_configs(std::slice::from_ref(&b)).await.unwrap();
    let entries = described[&b].as_ref().unwrap();
    assert!(entries.iter().any(|e| e.name == "log.retention.hours"), "{} entries", entries.len());

    // Group configs (KIP-848) and the listing of config resources.
    let group = support::unique_topic("admin-configs-group");
    let g = ConfigResource::group(&group);
    let altered = admin
        .incremental_alter_configs(
            &[(g.clone(), vec![AlterConfigOp::Set("consumer.session.timeout.ms".into(), "50000".into())])],
            false,
        )
        .await
        .unwrap();
    if support::broker_version() < (4, 0) {
        // Group config resources came with Kafka 4.0: older brokers refuse the resource type, per item.
        let e = altered[&g].as_ref().unwrap_err();
        assert_eq!(e.code(), Some(kafkar::protocol::ErrorCode::INVALID_REQUEST), "{e}");
        admin.delete_topics(&[&topic]).await.unwrap();
        return;
    }
    assert!(altered[&g].is_ok(), "{altered:?}");
    // The controller commits the change; the broker that answers DescribeConfigs applies it from the metadata log
    // a moment later (it showed the broker default once under load), so read until it arrives.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let described = admin.describe_configs(std::slice::from_ref(&g)).await.unwrap();
        let entries = described[&g].as_ref().unwrap();
        let e = entries.iter().find(|e| e.name == "consumer.session.timeout.ms").unwrap();
        if e.value.as_deref() == Some("50000") {
            break;
        }
        assert!(Instant::now() < deadline, "the group config never showed the value set: {e:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ListConfigResources lists group resources from v1 (Kafka 4.1; tests/broker_versions_real.rs covers v0).
    if support::broker_version() >= (4, 1) {
        let listed = admin.list_config_resources(&[ConfigResourceType::Group]).await.unwrap();
        assert!(listed.contains(&g), "{listed:?}");
    }
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn cluster_is_described_and_pinged() {
    let Some(bootstrap) = support::real_broker() else { return };
    let admin = admin(&bootstrap).await;
    let d = admin.describe_cluster().await.unwrap();
    assert!(!d.cluster_id.is_empty());
    assert!(!d.brokers.is_empty());
    assert!(d.brokers.iter().all(|b| b.port > 0 && !b.host.is_empty()));
    let rtt = admin.ping(Duration::from_secs(5)).await.unwrap();
    assert!(rtt < Duration::from_secs(5));

    // Nothing listens there: the ping fails by its deadline.
    let dead = Admin::new(ClientConfig::new("127.0.0.1:1")).await.unwrap();
    let start = Instant::now();
    assert!(dead.ping(Duration::from_millis(500)).await.is_err());
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
}

fn consumer_config(bootstrap: &str, group: &str, protocol: &str) -> ConsumerConfig {
    let mut c = ConsumerConfig::new(bootstrap);
    for (k, v) in [
        ("group.id", group),
        ("group.protocol", protocol),
        ("auto.offset.reset", "earliest"),
        ("enable.auto.commit", "false"),
        ("heartbeat.interval.ms", "200"),
    ] {
        c.set(k, v).unwrap();
    }
    c
}

/// Consumes `n` records in `group` and commits them; returns the consumer, still a member.
async fn consume_and_commit(bootstrap: &str, topic: &str, group: &str, protocol: &str, n: usize) -> Consumer {
    let mut consumer = Consumer::new(consumer_config(bootstrap, group, protocol)).await.unwrap();
    consumer.subscribe([topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = 0;
    while got < n {
        assert!(Instant::now() < deadline, "read {got} of {n}");
        got += consumer.poll(100, Duration::from_millis(200)).await.unwrap().len();
    }
    consumer.commit().await.unwrap();
    consumer
}

#[tokio::test]
async fn classic_groups_are_listed_described_reset_and_deleted() {
    let Some(bootstrap) = support::real_broker() else { return };
    let admin = admin(&bootstrap).await;
    let topic = support::unique_topic("admin-groups");
    admin.create_topics(&[NewTopic::new(&topic, 2, 1)], false).await.unwrap()[&topic].as_ref().unwrap();
    produce(&bootstrap, &topic, 2, 5).await;
    let group = format!("{topic}-g");
    let consumer = consume_and_commit(&bootstrap, &topic, &group, "classic", 10).await;
    let tp0 = TopicPartition::new(topic.clone(), 0);
    let tp1 = TopicPartition::new(topic.clone(), 1);

    // Active: listed with its state and type, described with its member's assignment, and not resettable.
    let listed =
        admin.list_groups(&ListGroupsFilter { types: vec!["classic".into()], ..Default::default() }).await.unwrap();
    let g = listed.iter().find(|g| g.group_id == group).expect("listed");
    assert_eq!(g.protocol_type, "consumer");
    assert_eq!(g.group_type.as_deref(), Some("classic"));
    let filtered = admin
        .list_groups(&ListGroupsFilter { protocol_types: vec!["no-such-protocol".into()], ..Default::default() })
        .await
        .unwrap();
    assert!(filtered.iter().all(|g| g.group_id != group));
    let missing = format!("{group}-missing");
    let described = admin.describe_groups(&[&group, &missing]).await.unwrap();
    let d = described[&group].as_ref().unwrap();
    assert_eq!(d.group_type, GroupType::Classic);
    assert_eq!(d.state, "Stable");
    assert_eq!(d.members.len(), 1);
    assert_eq!(d.members[0].assignment, vec![tp0.clone(), tp1.clone()]);
    assert_eq!(d.members[0].subscribed_topics, vec![topic.clone()]);
    assert!(described[&missing].is_err());
    let refused =
        admin.reset_group_offsets(&group, std::slice::from_ref(&tp0), ResetOffsets::Earliest).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::NON_EMPTY_GROUP), "{refused}");
    // Deleting an active group fails for it alone.
    let deleted = admin.delete_groups(&[&group]).await.unwrap();
    assert_eq!(code(&deleted[&group]), Some(ErrorCode::NON_EMPTY_GROUP));
    consumer.close().await.unwrap();

    let offsets = admin.list_group_offsets(&group).await.unwrap();
    assert_eq!(
        offsets.iter().map(|(tp, o)| (tp.clone(), o.offset)).collect::<Vec<_>>(),
        vec![(tp0.clone(), 5), (tp1.clone(), 5)]
    );
    let lag = admin.group_lag(&group, IsolationLevel::ReadCommitted).await.unwrap();
    assert!(lag.iter().all(|l| l.lag == 0 && l.end == LagEnd::LastStableOffset), "{lag:?}");

    let both = [tp0.clone(), tp1.clone()];
    let reset = admin.reset_group_offsets(&group, &both, ResetOffsets::Earliest).await.unwrap();
    assert_eq!(reset.values().copied().collect::<Vec<_>>(), vec![0, 0]);
    let lag = admin.group_lag(&group, IsolationLevel::ReadUncommitted).await.unwrap();
    assert!(lag.iter().all(|l| l.lag == 5 && l.end_offset == 5 && l.end == LagEnd::HighWatermark), "{lag:?}");
    assert_eq!(admin.reset_group_offsets(&group, &both, ResetOffsets::ShiftBy(3)).await.unwrap()[&tp0], 3);
    assert_eq!(admin.reset_group_offsets(&group, &both, ResetOffsets::ShiftBy(-10)).await.unwrap()[&tp0], 0);
    assert_eq!(admin.reset_group_offsets(&group, &both, ResetOffsets::Offset(999)).await.unwrap()[&tp1], 5);
    assert_eq!(admin.reset_group_offsets(&group, &both, ResetOffsets::Timestamp(2500)).await.unwrap()[&tp0], 2);
    assert_eq!(admin.reset_group_offsets(&group, &both, ResetOffsets::Latest).await.unwrap()[&tp1], 5);
    assert_eq!(admin.list_group_offsets(&group).await.unwrap()[&tp0].offset, 5);

    // A consumer resumes where the reset put the group.
    admin.reset_group_offsets(&group, &both, ResetOffsets::Offset(4)).await.unwrap();
    let resumed = consume_and_commit(&bootstrap, &topic, &group, "classic", 2).await;
    resumed.close().await.unwrap();
    assert_eq!(admin.list_group_offsets(&group).await.unwrap()[&tp0].offset, 5);

    // Offsets are deleted per partition; the group, then, as a whole (an unknown one fails alone).
    let dropped = admin.delete_group_offsets(&group, std::slice::from_ref(&tp0)).await.unwrap();
    assert!(dropped[&tp0].is_ok(), "{dropped:?}");
    assert!(!admin.list_group_offsets(&group).await.unwrap().contains_key(&tp0));
    let deleted = admin.delete_groups(&[&group, &missing]).await.unwrap();
    assert!(deleted[&group].is_ok(), "{deleted:?}");
    assert_eq!(code(&deleted[&missing]), Some(ErrorCode::GROUP_ID_NOT_FOUND));
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn consumer_protocol_groups_are_described_with_epochs_and_assignments() {
    let Some(bootstrap) = support::real_broker() else { return };
    let admin = admin(&bootstrap).await;
    let topic = support::unique_topic("admin-848");
    admin.create_topics(&[NewTopic::new(&topic, 2, 1)], false).await.unwrap()[&topic].as_ref().unwrap();
    produce(&bootstrap, &topic, 2, 2).await;
    let group = format!("{topic}-g");
    let consumer = consume_and_commit(&bootstrap, &topic, &group, "consumer", 4).await;
    let d = admin.describe_groups(&[&group]).await.unwrap().remove(&group).unwrap().unwrap();
    assert_eq!(d.group_type, GroupType::Consumer);
    assert!(d.group_epoch.is_some_and(|e| e > 0));
    assert_eq!(d.members.len(), 1);
    let m = &d.members[0];
    assert!(m.member_epoch.is_some_and(|e| e > 0));
    assert_eq!(m.subscribed_topics, vec![topic.clone()]);
    assert_eq!(m.assignment.len(), 2);
    let listed =
        admin.list_groups(&ListGroupsFilter { types: vec!["consumer".into()], ..Default::default() }).await.unwrap();
    assert!(listed.iter().any(|g| g.group_id == group));
    let refused = admin
        .reset_group_offsets(&group, &[TopicPartition::new(topic.clone(), 0)], ResetOffsets::Earliest)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::NON_EMPTY_GROUP), "{refused}");
    consumer.close().await.unwrap();
    let reset =
        admin.reset_group_offsets(&group, &[TopicPartition::new(topic.clone(), 0)], ResetOffsets::Earliest).await;
    assert!(reset.is_ok(), "{reset:?}");
    admin.delete_groups(&[&group]).await.unwrap();
    admin.delete_topics(&[&topic]).await.unwrap();
}

#[tokio::test]
async fn records_are_deleted_and_offsets_listed_per_partition() {
    let Some(bootstrap) = support::real_broker() else { return };
    let admin = admin(&bootstrap).await;
    let topic = support::unique_topic("admin-records");
    admin.create_topics(&[NewTopic::new(&topic, 2, 1)], false).await.unwrap()[&topic].as_ref().unwrap();
    produce(&bootstrap, &topic, 2, 6).await;
    let tp0 = TopicPartition::new(topic.clone(), 0);
    let tp1 = TopicPartition::new(topic.clone(), 1);
    let nowhere = TopicPartition::new(topic.clone(), 7);

    let deleted = admin.delete_records(&[(tp0.clone(), 4), (nowhere.clone(), 1)]).await.unwrap();
    assert_eq!(deleted[&tp0].as_ref().unwrap(), &4);
    assert!(deleted[&nowhere].is_err());

    let list = |spec: OffsetSpec| {
        let admin = admin.clone();
        let wanted = vec![(tp0.clone(), spec), (tp1.clone(), spec), (nowhere.clone(), spec)];
        async move { admin.list_offsets(&wanted, IsolationLevel::ReadUncommitted).await.unwrap() }
    };
    let earliest = list(OffsetSpec::Earliest).await;
    assert_eq!(earliest[&tp0].as_ref().unwrap().offset, 4);
    assert_eq!(earliest[&tp1].as_ref().unwrap().offset, 0);
    assert_eq!(code(&earliest[&nowhere]), Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
    let latest = list(OffsetSpec::Latest).await;
    assert_eq!(latest[&tp1].as_ref().unwrap().offset, 6);
    let max = list(OffsetSpec::MaxTimestamp).await;
    let m = max[&tp1].as_ref().unwrap();
    assert_eq!((m.offset, m.timestamp), (5, 6000));
    let by_time = list(OffsetSpec::Timestamp(3500)).await;
    let t = by_time[&tp1].as_ref().unwrap();
    assert_eq!((t.offset, t.timestamp), (3, 4000));
    let after = list(OffsetSpec::Timestamp(10_000)).await;
    assert_eq!(after[&tp1].as_ref().unwrap().offset, -1);
    admin.delete_topics(&[&topic]).await.unwrap();
}
