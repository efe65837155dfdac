//! The group driver against a fake coordinator (tests/support): heartbeat errors a real broker cannot be made to
//! return on cue — NOT_COORDINATOR (rediscover, stay in the generation), REBALANCE_IN_PROGRESS (rejoin with the
//! member id), UNKNOWN_MEMBER_ID (rejoin from scratch).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kafkar::consumer::{Consumer, ConsumerConfig};
use kafkar::protocol::messages::find_coordinator::{Coordinator, FindCoordinatorRequest, FindCoordinatorResponse};
use kafkar::protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};
use kafkar::protocol::messages::join_group::{JoinGroupRequest, JoinGroupResponse};
use kafkar::protocol::messages::metadata::{MetadataRequest, MetadataResponse, MetadataResponseBroker};
use kafkar::protocol::messages::sync_group::{SyncGroupRequest, SyncGroupResponse};
use kafkar::protocol::{ApiKey, ErrorCode};
use support::{Action, FakeBroker, decode, reply};

/// A coordinator that admits one member (not the leader) with an empty assignment, and answers the first
/// heartbeat with `first_heartbeat_error`.
async fn coordinator(first_heartbeat_error: ErrorCode) -> FakeBroker {
    let port = Arc::new(std::sync::OnceLock::<u16>::new());
    let heartbeats = Arc::new(AtomicUsize::new(0));
    let p = port.clone();
    let broker = FakeBroker::start(move |r| {
        let v = r.header.api_version;
        match ApiKey(r.header.api_key) {
            ApiKey::FIND_COORDINATOR => {
                let req: FindCoordinatorRequest = decode(r);
                let port = i32::from(*p.get().unwrap_or(&0));
                let c =
                    Coordinator { key: "g".into(), node_id: 0, host: "127.0.0.1".into(), port, ..Default::default() };
                let resp = if v >= 4 {
                    FindCoordinatorResponse {
                        coordinators: vec![Coordinator { key: req.coordinator_keys[0].clone(), ..c }],
                        ..Default::default()
                    }
                } else {
                    FindCoordinatorResponse { node_id: 0, host: c.host, port, ..Default::default() }
                };
                reply::<FindCoordinatorRequest>(&resp, v)
            }
            ApiKey::JOIN_GROUP => {
                let req: JoinGroupRequest = decode(r);
                let member_id = if req.member_id.is_empty() { "m-new".to_owned() } else { req.member_id };
                let resp = JoinGroupResponse {
                    generation_id: 1,
                    protocol_type: Some("consumer".into()),
                    protocol_name: Some("range".into()),
                    leader: "someone-else".into(),
                    member_id,
                    ..Default::default()
                };
                reply::<JoinGroupRequest>(&resp, v)
            }
            ApiKey::SYNC_GROUP => {
                let resp = SyncGroupResponse {
                    protocol_type: Some("consumer".into()),
                    protocol_name: Some("range".into()),
                    ..Default::default()
                };
                reply::<SyncGroupRequest>(&resp, v)
            }
            ApiKey::HEARTBEAT => {
                let n = heartbeats.fetch_add(1, Ordering::SeqCst);
                let code = if n == 0 { first_heartbeat_error } else { ErrorCode::NONE };
                reply::<HeartbeatRequest>(&HeartbeatResponse { error_code: code, ..Default::default() }, v)
            }
            ApiKey::METADATA => {
                let port = i32::from(*p.get().unwrap_or(&0));
                let broker =
                    MetadataResponseBroker { node_id: 0, host: "127.0.0.1".into(), port, ..Default::default() };
                reply::<MetadataRequest>(&MetadataResponse { brokers: vec![broker], ..Default::default() }, v)
            }
            _ => Action::Default,
        }
    })
    .await;
    port.set(broker.addr.port()).unwrap();
    broker
}

/// Subscribes and keeps polling until `until` holds of the requests received (or 15 s pass).
async fn run_until(broker: &FakeBroker, until: impl Fn(&FakeBroker) -> bool) {
    let mut c = ConsumerConfig::new(&broker.bootstrap());
    for (k, val) in [
        ("group.id", "g"),
        ("heartbeat.interval.ms", "100"),
        ("session.timeout.ms", "6000"),
        ("retry.backoff.ms", "20"),
    ] {
        c.set(k, val).unwrap();
    }
    let mut consumer = Consumer::new(c).await.unwrap();
    consumer.subscribe(["t"]).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !until(broker) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached; requests: {:?}",
            broker.received().iter().map(|r| (r.header.api_key, r.header.api_version)).collect::<Vec<_>>()
        );
        let got = consumer.poll(10, Duration::from_millis(50)).await.unwrap();
        assert!(got.is_empty());
    }
    assert!(consumer.assignment().is_empty());
}

#[tokio::test]
async fn not_coordinator_on_heartbeat_rediscovers_without_rejoining() {
    let broker = coordinator(ErrorCode::NOT_COORDINATOR).await;
    run_until(&broker, |b| {
        b.received_api(ApiKey::FIND_COORDINATOR).len() >= 2 && b.received_api(ApiKey::HEARTBEAT).len() >= 3
    })
    .await;
    assert_eq!(broker.received_api(ApiKey::JOIN_GROUP).len(), 1, "no rejoin");
}

#[tokio::test]
async fn rebalance_in_progress_on_heartbeat_rejoins_with_the_member_id() {
    let broker = coordinator(ErrorCode::REBALANCE_IN_PROGRESS).await;
    run_until(&broker, |b| b.received_api(ApiKey::SYNC_GROUP).len() >= 2).await;
    let joins = broker.received_api(ApiKey::JOIN_GROUP);
    assert_eq!(joins.len(), 2);
    let second: JoinGroupRequest = decode(&joins[1]);
    assert_eq!(second.member_id, "m-new", "the member keeps its id");
}

#[tokio::test]
async fn unknown_member_id_on_heartbeat_rejoins_from_scratch() {
    let broker = coordinator(ErrorCode::UNKNOWN_MEMBER_ID).await;
    run_until(&broker, |b| b.received_api(ApiKey::SYNC_GROUP).len() >= 2).await;
    let joins = broker.received_api(ApiKey::JOIN_GROUP);
    let second: JoinGroupRequest = decode(&joins[1]);
    assert_eq!(second.member_id, "", "a fresh member id is asked for");
}
