//! The admin client's security-and-operations calls against the real broker: ACLs and SCRAM users on the secured
//! broker of `scripts/kafka start --secure` (StandardAuthorizer; alice and ANONYMOUS super users, bob not), the
//! rest (client quotas, leader election, reassignments, log dirs, producers, quorum, features) on `KAFKA_BOOTSTRAP`.
//!
//! On one node, election and reassignment are checked as far as a single node answers: electing the preferred
//! leader that leads already is ELECTION_NOT_NEEDED per partition, cancelling no reassignment is
//! NO_REASSIGNMENT_IN_PROGRESS, a move to a broker that does not exist fails per partition.

#[path = "support/secure.rs"]
mod secure;
#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafkar::admin::{
    AclBinding, AclBindingFilter, AclOperation, AclPatternType, AclPermissionType, AclResourceType,
    ClientQuotaAlteration, ClientQuotaFilter, ElectionType, FeatureUpdate, FeatureUpgradeType, QuotaMatch,
    ScramAlteration, ScramHash,
};
use kafkar::protocol::ErrorCode;
use kafkar::{Admin, AdminConfig, Producer, ProducerConfig, ProducerRecord};
use secure::SecureBroker;
use support::{real_broker, unique_topic};

const WAIT: Duration = Duration::from_secs(20);

fn config(props: &[(&str, &str)]) -> AdminConfig {
    let mut c = AdminConfig::default();
    for (k, v) in props {
        c.set(k, v).unwrap_or_else(|e| panic!("{k}: {e}"));
    }
    c.set("request.timeout.ms", "10000").unwrap();
    c
}

/// SASL_PLAINTEXT with SCRAM-SHA-256 as `user`.
fn scram_props<'a>(broker: &SecureBroker, user: &'a str, password: &'a str) -> Vec<(&'a str, String)> {
    vec![
        ("bootstrap.servers", broker.address("SASL_PLAINTEXT")),
        ("security.protocol", "SASL_PLAINTEXT".into()),
        ("sasl.mechanism", "SCRAM-SHA-256".into()),
        ("sasl.username", user.into()),
        ("sasl.password", password.into()),
    ]
}

/// Produces one record to `topic` as the principal `props` log in as; the delivery's outcome.
async fn produce_as(props: &[(&str, String)], topic: &str) -> kafkar::Result<()> {
    let mut pc = ProducerConfig::default();
    for (k, v) in props {
        pc.set(k, v).unwrap();
    }
    for (k, v) in [("delivery.timeout.ms", "8000"), ("request.timeout.ms", "4000"), ("max.block.ms", "4000")] {
        pc.set(k, v).unwrap();
    }
    let producer = Producer::new(pc).await?;
    let t: Arc<str> = topic.into();
    let outcome = producer.send_and_wait(ProducerRecord::new(t).value("v")).await.map(|_| ());
    producer.close_timeout(Duration::from_secs(2)).await;
    outcome
}

/// The admin of the secured broker, logged in over PLAINTEXT (ANONYMOUS, a super user).
async fn secure_admin(broker: &SecureBroker) -> Admin {
    Admin::new(config(&[("bootstrap.servers", &broker.var("PLAINTEXT_BOOTSTRAP"))])).await.expect("admin")
}

#[tokio::test]
async fn an_acl_denies_bob_then_another_allows_him() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let admin = secure_admin(&broker).await;
    let topic = unique_topic("acl");
    admin.create_topic(&topic, 1, 1, &[]).await.expect("create topic");
    let bob = scram_props(&broker, "bob", "bob-secret");
    let bob_principal = "User:bob";

    // Without ACLs on the topic everyone may write (allow.everyone.if.no.acl.found).
    produce_as(&bob, &topic).await.expect("bob writes while the topic has no ACL");

    // An ACL for someone else puts the topic under ACLs: bob is now denied.
    let carol =
        AclBinding::new(AclResourceType::TOPIC, &topic, "User:carol", AclOperation::READ, AclPermissionType::ALLOW);
    // Per-item results: a principal without its type is refused on its own, the valid binding is created.
    let invalid =
        AclBinding::new(AclResourceType::TOPIC, &topic, "carol", AclOperation::READ, AclPermissionType::ALLOW);
    let created = admin.create_acls(&[carol.clone(), invalid]).await.expect("create acls");
    assert!(created[0].is_ok(), "{:?}", created[0]);
    assert!(created[1].is_err(), "a principal without a type must be refused");
    let denied = wait_for(|| async {
        match produce_as(&bob, &topic).await {
            Err(e) if e.code() == Some(ErrorCode::TOPIC_AUTHORIZATION_FAILED) => Some(e),
            _ => None,
        }
    })
    .await;
    assert_eq!(denied.code(), Some(ErrorCode::TOPIC_AUTHORIZATION_FAILED));

    // Allow bob to write: he may again.
    let allow_bob =
        AclBinding::new(AclResourceType::TOPIC, &topic, bob_principal, AclOperation::WRITE, AclPermissionType::ALLOW);
    let created = admin.create_acls(std::slice::from_ref(&allow_bob)).await.expect("create acl");
    created[0].as_ref().expect("bob's acl");
    wait_for(|| async { produce_as(&bob, &topic).await.ok() }).await;

    // Describe with a filter: on this topic, both bindings; for bob only, his.
    let on_topic = AclBindingFilter {
        resource_type: AclResourceType::TOPIC,
        resource_name: Some(topic.clone()),
        pattern_type: AclPatternType::LITERAL,
        ..AclBindingFilter::ANY
    };
    let mut all = admin.describe_acls(&on_topic).await.expect("describe");
    all.sort_by(|a, b| a.principal.cmp(&b.principal));
    assert_eq!(all, vec![allow_bob.clone(), carol.clone()]);
    let bobs = admin
        .describe_acls(&AclBindingFilter { principal: Some(bob_principal.into()), ..on_topic.clone() })
        .await
        .expect("describe bob");
    assert_eq!(bobs, vec![allow_bob.clone()]);

    // Delete per filter: bob's filter deletes his binding, a filter matching nothing deletes nothing.
    let nothing = AclBindingFilter { principal: Some("User:nobody".into()), ..on_topic.clone() };
    let deleted = admin.delete_acls(&[allow_bob.to_filter(), nothing]).await.expect("delete");
    assert_eq!(deleted[0].as_ref().expect("bob's filter"), &vec![allow_bob]);
    assert_eq!(deleted[1].as_ref().expect("empty filter"), &Vec::<AclBinding>::new());
    let deleted = admin.delete_acls(std::slice::from_ref(&on_topic)).await.expect("delete the rest");
    assert_eq!(deleted[0].as_ref().expect("topic filter"), &vec![carol]);
    // The deletion reaches the broker's ACL cache shortly after the controller commits it (as the creations did).
    wait_for(|| async { admin.describe_acls(&on_topic).await.expect("describe").is_empty().then_some(()) }).await;
    admin.delete_topic(&topic).await.expect("delete topic");
}

/// Polls `f` until it gives a value, for up to [`WAIT`] (ACLs and credentials reach the broker's cache shortly
/// after the controller commits them).
async fn wait_for<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "condition not met within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_scram_user_created_by_upsert_can_log_in_until_deleted() {
    let Some(broker) = SecureBroker::from_env() else { return };
    let admin = secure_admin(&broker).await;
    let user = unique_topic("dave");
    let password = "dave-secret-1";
    let changed = admin
        .alter_user_scram_credentials(&[ScramAlteration::Upsert {
            user: user.clone(),
            mechanism: ScramHash::Sha256,
            iterations: 4096,
            password: password.into(),
        }])
        .await
        .expect("upsert");
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].0, user);
    changed[0].1.as_ref().expect("upsert result");

    // Described: the mechanism and iterations (never the secret); an unknown user is a per-user error.
    // The upsert is applied through the metadata log: the answering broker may see it a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let described = loop {
        let d = admin.describe_user_scram_credentials(&[&user, "no-such-user-kafkar"]).await.expect("describe");
        let ready = d.iter().any(|(u, r)| u == &user && r.is_ok());
        if ready || std::time::Instant::now() > deadline {
            break d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let mine = described.iter().find(|(u, _)| u == &user).expect("the user is described");
    let infos = mine.1.as_ref().expect("credentials");
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].mechanism, Some(ScramHash::Sha256));
    assert_eq!(infos[0].iterations, 4096);
    let unknown = described.iter().find(|(u, _)| u == "no-such-user-kafkar").expect("the unknown user is answered");
    assert_eq!(unknown.1.as_ref().unwrap_err().code(), Some(ErrorCode::RESOURCE_NOT_FOUND));

    // The broker accepts the salted password computed here: the user logs in over SASL SCRAM-SHA-256.
    let topic = unique_topic("scram");
    admin.create_topic(&topic, 1, 1, &[]).await.expect("create topic");
    let as_user = scram_props(&broker, &user, password);
    wait_for(|| async { produce_as(&as_user, &topic).await.ok() }).await;
    // A wrong password is refused.
    let wrong = scram_props(&broker, &user, "not-the-password");
    let e = produce_as(&wrong, &topic).await.expect_err("a wrong password must fail");
    assert!(matches!(e.kind(), kafkar::ErrorKind::Authentication { .. }), "{e}");

    // Too few iterations is refused before anything is sent.
    let few = admin
        .alter_user_scram_credentials(&[ScramAlteration::Upsert {
            user: user.clone(),
            mechanism: ScramHash::Sha512,
            iterations: 100,
            password: password.into(),
        }])
        .await;
    assert!(few.is_err());

    // Deleted: described as not found, and the login fails.
    let deleted = admin
        .alter_user_scram_credentials(&[ScramAlteration::Delete { user: user.clone(), mechanism: ScramHash::Sha256 }])
        .await
        .expect("delete");
    deleted[0].1.as_ref().expect("delete result");
    wait_for(|| async {
        let described = admin.describe_user_scram_credentials(&[&user]).await.expect("describe");
        (described[0].1.as_ref().err()?.code() == Some(ErrorCode::RESOURCE_NOT_FOUND)).then_some(())
    })
    .await;
    wait_for(|| async { produce_as(&as_user, &topic).await.err() }).await;
    admin.delete_topic(&topic).await.expect("delete topic");
}

async fn plain_admin() -> Option<Admin> {
    let bootstrap = real_broker()?;
    Some(Admin::new(config(&[("bootstrap.servers", &bootstrap)])).await.expect("admin"))
}

#[tokio::test]
async fn client_quotas_are_set_described_and_removed() {
    let Some(admin) = plain_admin().await else { return };
    let user = unique_topic("quota-user");
    let entity = vec![("user".to_owned(), Some(user.clone()))];
    let set = ClientQuotaAlteration {
        entity: entity.clone(),
        ops: vec![("producer_byte_rate".into(), Some(1024.0)), ("request_percentage".into(), Some(12.5))],
    };
    // Validate-only with a bad key: a per-entity error, nothing applied.
    let bad = ClientQuotaAlteration { entity: entity.clone(), ops: vec![("no_such_quota".into(), Some(1.0))] };
    let r = admin.alter_client_quotas(&[bad], true).await.expect("validate");
    assert!(r[0].1.is_err(), "an unknown quota key must be refused");
    let r = admin.alter_client_quotas(std::slice::from_ref(&set), false).await.expect("alter");
    assert_eq!(r[0].0, entity);
    r[0].1.as_ref().expect("set quotas");

    let filter = ClientQuotaFilter { components: vec![("user".into(), QuotaMatch::Exact(user.clone()))], strict: true };
    let mut found = wait_for(|| async {
        let d = admin.describe_client_quotas(&filter).await.expect("describe");
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, entity);
    found[0].1.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(found[0].1, vec![("producer_byte_rate".into(), 1024.0), ("request_percentage".into(), 12.5)]);

    let remove = ClientQuotaAlteration {
        entity: entity.clone(),
        ops: vec![("producer_byte_rate".into(), None), ("request_percentage".into(), None)],
    };
    admin.alter_client_quotas(&[remove], false).await.expect("remove")[0].1.as_ref().expect("removed");
    wait_for(|| async { admin.describe_client_quotas(&filter).await.expect("describe").is_empty().then_some(()) })
        .await;
}

#[tokio::test]
async fn election_and_reassignment_answer_per_partition_on_one_node() {
    let Some(admin) = plain_admin().await else { return };
    let topic = unique_topic("elect");
    let info = admin.create_topic(&topic, 2, 1, &[]).await.expect("create topic");
    let leader = info.partitions[0].leader;

    // The preferred replica leads already: ELECTION_NOT_NEEDED per partition; an unknown partition has its own error.
    let parts = vec![(topic.clone(), 0), (topic.clone(), 1), (topic.clone(), 7)];
    let results = admin.elect_leaders(ElectionType::Preferred, Some(&parts)).await.expect("elect");
    assert_eq!(results.len(), 3, "{results:?}");
    for (tp, r) in &results {
        let code = r.as_ref().unwrap_err().code();
        if tp.1 == 7 {
            assert_eq!(code, Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION), "{tp:?}");
        } else {
            assert_eq!(code, Some(ErrorCode::ELECTION_NOT_NEEDED), "{tp:?}");
        }
    }

    // Nothing is being moved; cancelling is NO_REASSIGNMENT_IN_PROGRESS; a move to a broker that does not exist
    // fails for that partition only.
    assert!(admin.list_partition_reassignments(Some(&parts[..2])).await.expect("list").is_empty());
    let r = admin
        .alter_partition_reassignments(&[((topic.clone(), 0), None), ((topic.clone(), 1), Some(vec![4242]))])
        .await
        .expect("alter");
    let by = |p: i32| r.iter().find(|(tp, _)| tp.1 == p).map(|(_, r)| r).expect("partition answered");
    assert_eq!(by(0).as_ref().unwrap_err().code(), Some(ErrorCode::NO_REASSIGNMENT_IN_PROGRESS));
    assert!(by(1).is_err(), "a move to an unknown broker must fail");
    // Reassigning to the current replica set is accepted and completes at once.
    let r = admin.alter_partition_reassignments(&[((topic.clone(), 0), Some(vec![leader]))]).await.expect("alter");
    r[0].1.as_ref().expect("same replicas");
    wait_for(|| async {
        admin
            .list_partition_reassignments(None)
            .await
            .expect("list")
            .iter()
            .all(|p| p.partition.0 != topic)
            .then_some(())
    })
    .await;
    admin.delete_topic(&topic).await.expect("delete topic");
}

#[tokio::test]
async fn log_dirs_producers_quorum_and_features() {
    let Some(admin) = plain_admin().await else { return };
    let bootstrap = real_broker().unwrap_or_default();
    let topic = unique_topic("ops");
    let info = admin.create_topic(&topic, 1, 1, &[]).await.expect("create topic");
    let leader = info.partitions[0].leader;
    produce_as(&[("bootstrap.servers", bootstrap.clone())], &topic).await.expect("produce");

    // Log dirs: the topic's replica is in one of the leader's directories; an unknown broker is its own error.
    let dirs = admin.describe_log_dirs(&[leader, 4242]).await.expect("log dirs");
    let mine = dirs[0].1.as_ref().expect("the leader's dirs");
    let dir =
        mine.iter().find(|d| d.topics.iter().any(|t| t.name == topic)).expect("the topic's replica is in a log dir");
    assert!(dir.error_code.is_ok());
    let part = dir.topics.iter().find(|t| t.name == topic).map(|t| &t.partitions[0]).expect("partition");
    assert!(part.partition_size > 0, "one record was written");
    assert!(dirs[1].1.is_err(), "broker 4242 does not exist");

    // Moving into the directory it is in is accepted; into one the broker does not have is LOG_DIR_NOT_FOUND.
    let moved = admin
        .alter_replica_log_dirs(&[((topic.clone(), 0), leader, dir.log_dir.clone())])
        .await
        .expect("alter log dirs");
    moved[0].1.as_ref().expect("same dir");
    let moved = admin
        .alter_replica_log_dirs(&[((topic.clone(), 0), leader, "/no/such/kafkar/dir".into())])
        .await
        .expect("alter log dirs");
    assert_eq!(moved[0].1.as_ref().unwrap_err().code(), Some(ErrorCode::LOG_DIR_NOT_FOUND));

    // Producers: the idempotent producer that wrote the record, with its first sequence.
    let described = admin.describe_producers(&[(topic.clone(), 0), (topic.clone(), 9)]).await.expect("producers");
    let states = described[0].1.as_ref().expect("partition 0");
    assert_eq!(states.len(), 1, "{states:?}");
    assert!(states[0].producer_id >= 0);
    assert_eq!(states[0].last_sequence, 0);
    assert_eq!(states[0].current_txn_start_offset, -1);
    assert!(described[1].1.is_err(), "partition 9 does not exist");

    // Quorum: the single node is the leader and the only voter.
    let quorum = admin.describe_metadata_quorum().await.expect("quorum");
    assert!(quorum.leader_id >= 0);
    assert!(quorum.high_watermark > 0);
    assert!(quorum.voters.iter().any(|v| v.replica_id == quorum.leader_id), "{quorum:?}");

    // Features: metadata.version is finalized; an unknown feature cannot be set; re-setting a finalized level
    // in validate-only mode is accepted.
    let features = admin.describe_features().await.expect("features");
    let (_, _, level) = features
        .finalized
        .iter()
        .find(|(n, _, _)| n == "metadata.version")
        .cloned()
        .expect("metadata.version is finalized");
    assert!(level > 0);
    assert!(features.supported.iter().any(|(n, _, _)| n == "metadata.version"));
    let unknown = FeatureUpdate {
        feature: "kafkar.no.such.feature".into(),
        max_version_level: 1,
        upgrade_type: FeatureUpgradeType::Upgrade,
    };
    let r = admin.update_features(&[unknown], true).await.expect("update features");
    assert!(r[0].1.is_err(), "{r:?}");
    let same = FeatureUpdate {
        feature: "metadata.version".into(),
        max_version_level: level,
        upgrade_type: FeatureUpgradeType::Upgrade,
    };
    let r = admin.update_features(&[same], true).await.expect("update features");
    r[0].1.as_ref().expect("the current level validates");
    admin.delete_topic(&topic).await.expect("delete topic");
}
