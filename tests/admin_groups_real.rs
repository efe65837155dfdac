//! Removing members from a classic group with the admin client, against a real Apache Kafka (`KAFKA_BOOTSTRAP`).
//!
//! A static member (`group.instance.id`) that goes away without LeaveGroup stays in its group (it would come back
//! under the same identity) until its session times out. `remove_group_members` takes it out at once, by instance id
//! (an unknown instance id failing alone) or, with no ids, every member.

mod support;

use kafkar::ClientConfig;
use kafkar::admin::Admin;
use kafkar::cluster::Cluster;
use kafkar::protocol::ErrorCode;
use kafkar::protocol::messages::find_coordinator::{CoordinatorType, FindCoordinatorRequest};
use kafkar::protocol::messages::join_group::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafkar::protocol::messages::sync_group::{SyncGroupRequest, SyncGroupRequestAssignment};

/// Makes `instance` a static member of the classic group `group` (JoinGroup, then SyncGroup as its leader), then
/// goes quiet: the member stays until its session (60 s) times out. Joined by hand: kafkar's own consumer does not
/// join as a static classic member yet (see the report on the adminfin branch).
async fn join_static(bootstrap: &str, group: &str, instance: &str) {
    let cluster = Cluster::new(ClientConfig::new(bootstrap), false).unwrap();
    let any = cluster.pool().any().await.expect("a broker");
    let v = any.versions().pick::<FindCoordinatorRequest>().unwrap();
    let found = any.send_at(&FindCoordinatorRequest::for_key(v, CoordinatorType::GROUP, group), v).await.unwrap();
    let c = found.coordinator(v, group).expect("coordinator found");
    let conn = cluster.pool().get(&format!("{}:{}", c.host, c.port)).await.expect("coordinator");
    let v = conn.versions().pick::<JoinGroupRequest>().unwrap();
    let join = JoinGroupRequest {
        group_id: group.to_owned(),
        session_timeout_ms: 60_000,
        rebalance_timeout_ms: 10_000,
        group_instance_id: Some(instance.to_owned()),
        protocol_type: "consumer".into(),
        protocols: vec![JoinGroupRequestProtocol { name: "range".into(), ..Default::default() }],
        ..Default::default()
    };
    let joined = conn.send_at(&join, v).await.expect("join");
    assert!(joined.error_code.is_ok(), "join: {:?}", joined.error_code);
    assert_eq!(joined.leader, joined.member_id, "the only member leads");
    let v = conn.versions().pick::<SyncGroupRequest>().unwrap();
    let sync = SyncGroupRequest {
        group_id: group.to_owned(),
        generation_id: joined.generation_id,
        member_id: joined.member_id.clone(),
        group_instance_id: Some(instance.to_owned()),
        protocol_type: Some("consumer".into()),
        protocol_name: Some("range".into()),
        assignments: vec![SyncGroupRequestAssignment { member_id: joined.member_id, ..Default::default() }],
        ..Default::default()
    };
    let synced = conn.send_at(&sync, v).await.expect("sync");
    assert!(synced.error_code.is_ok(), "sync: {:?}", synced.error_code);
    cluster.close();
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
    let group = support::unique_topic("remove-members-group");

    join_static(&bootstrap, &group, "inst-a").await;
    assert_eq!(instances(&admin, &group).await, [Some("inst-a".to_owned())], "a quiet static member stays");
    let removed = admin.remove_group_members(&group, &["inst-a", "inst-unknown"]).await.expect("remove");
    removed["inst-a"].as_ref().expect("inst-a removed");
    assert_eq!(removed["inst-unknown"].as_ref().unwrap_err().code(), Some(ErrorCode::UNKNOWN_MEMBER_ID));
    assert!(instances(&admin, &group).await.is_empty(), "no member left");

    // The group is empty, so a new static member joins without waiting for the old one; then every member goes.
    join_static(&bootstrap, &group, "inst-b").await;
    assert_eq!(instances(&admin, &group).await, [Some("inst-b".to_owned())]);
    let removed = admin.remove_group_members(&group, &[]).await.expect("remove all");
    assert_eq!(removed.len(), 1, "{removed:?}");
    removed["inst-b"].as_ref().expect("inst-b removed");
    assert!(instances(&admin, &group).await.is_empty(), "no member left");

    let e = admin.remove_group_members(&support::unique_topic("no-such-group"), &["x"]).await;
    assert!(e.is_err() || e.as_ref().is_ok_and(|m| m["x"].is_err()), "an unknown group: {e:?}");
}
