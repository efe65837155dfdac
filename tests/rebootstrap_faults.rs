//! Metadata recovery (`metadata.recovery.strategy`, KIP-899 and KIP-1102) against fake brokers: the answers a
//! real cluster gives only when it has been replaced under a client (`REBOOTSTRAP_REQUIRED`, every known broker
//! gone while the bootstrap address still answers).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kafkar::cluster::Cluster;
use kafkar::protocol::messages::metadata::{MetadataRequest, MetadataResponse, MetadataResponseBroker};
use kafkar::protocol::{ApiKey, ErrorCode};
use kafkar::{ClientConfig, MetadataRecovery};
use support::{Action, FakeBroker, Received};

fn metadata(r: &Received, brokers: &[(i32, u16)], error: ErrorCode) -> Action {
    let resp = MetadataResponse {
        brokers: brokers
            .iter()
            .map(|&(node_id, port)| MetadataResponseBroker {
                node_id,
                host: "127.0.0.1".into(),
                port: port.into(),
                ..Default::default()
            })
            .collect(),
        cluster_id: Some("fake".into()),
        error_code: error,
        ..Default::default()
    };
    support::reply::<MetadataRequest>(&resp, r.header.api_version)
}

/// The bootstrap broker: its first Metadata answer names node 1 at `first_port` and then drops the connection
/// (so the client has to go to node 1); later answers name itself as node 2.
async fn bootstrap_broker(first_port: u16) -> FakeBroker {
    let own_port = Arc::new(AtomicU16::new(0));
    let answers = Arc::new(AtomicUsize::new(0));
    let port = own_port.clone();
    let fake = FakeBroker::start(move |r| {
        if r.header.api_key != ApiKey::METADATA.0 {
            return Action::Default;
        }
        if answers.fetch_add(1, Ordering::SeqCst) == 0 {
            Action::Sequence(vec![metadata(r, &[(1, first_port)], ErrorCode::NONE), Action::Close])
        } else {
            metadata(r, &[(2, port.load(Ordering::SeqCst))], ErrorCode::NONE)
        }
    })
    .await;
    own_port.store(fake.addr.port(), Ordering::SeqCst);
    fake
}

fn config(bootstrap: &str, strategy: MetadataRecovery, trigger: Duration) -> ClientConfig {
    let mut c = ClientConfig::new(bootstrap);
    c.request_timeout = Duration::from_secs(2);
    c.connect_timeout = Duration::from_secs(1);
    c.retry_backoff = Duration::from_millis(20);
    c.retry_backoff_max = Duration::from_millis(50);
    c.metadata_recovery = strategy;
    c.rebootstrap_trigger = trigger;
    c
}

/// Refreshes until the snapshot names node 2 (the bootstrap broker's second answer) or `within` runs out.
async fn refresh_until_node_2(cluster: &Cluster, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cluster.refresh().await.is_ok_and(|s| s.brokers.contains_key(&2)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn rebootstrap_required_sends_the_client_back_to_the_bootstrap_servers_at_once() {
    // The broker the metadata names answers every Metadata request with REBOOTSTRAP_REQUIRED.
    let stale = FakeBroker::start(|r| {
        if r.header.api_key == ApiKey::METADATA.0 {
            metadata(r, &[], ErrorCode::REBOOTSTRAP_REQUIRED)
        } else {
            Action::Default
        }
    })
    .await;
    let boot = bootstrap_broker(stale.addr.port()).await;
    // A trigger far beyond the test: only the error code can cause the rebootstrap.
    let cluster =
        Cluster::new(config(&boot.bootstrap(), MetadataRecovery::Rebootstrap, Duration::from_secs(600)), false)
            .unwrap();
    let first = cluster.refresh().await.unwrap();
    assert!(first.brokers.contains_key(&1));
    tokio::time::sleep(Duration::from_millis(100)).await; // the bootstrap broker's connection is gone
    let second = cluster.refresh().await.expect("one refresh: the stale broker, then the bootstrap servers");
    assert!(second.brokers.contains_key(&2) && !second.brokers.contains_key(&1), "{:?}", second.brokers);
    assert_eq!(stale.received_api(ApiKey::METADATA).len(), 1);
    assert_eq!(boot.received_api(ApiKey::METADATA).len(), 2);
    assert_eq!(cluster.pool().rebootstraps(), 1);
}

#[tokio::test]
async fn no_reachable_broker_for_the_trigger_time_rebootstraps() {
    // Node 1 is a port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let boot = bootstrap_broker(dead_port).await;
    let trigger = Duration::from_millis(400);
    let cluster = Cluster::new(config(&boot.bootstrap(), MetadataRecovery::Rebootstrap, trigger), false).unwrap();
    assert!(cluster.refresh().await.unwrap().brokers.contains_key(&1));
    let lost = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(refresh_until_node_2(&cluster, Duration::from_secs(5)).await, "rebootstrapped within 5 s");
    assert!(lost.elapsed() >= trigger - Duration::from_millis(150), "not before the trigger: {:?}", lost.elapsed());
    assert_eq!(cluster.pool().rebootstraps(), 1);
}

#[tokio::test]
async fn strategy_none_never_goes_back_to_the_bootstrap_servers() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let boot = bootstrap_broker(dead_port).await;
    let cluster =
        Cluster::new(config(&boot.bootstrap(), MetadataRecovery::None, Duration::from_millis(100)), false).unwrap();
    cluster.refresh().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!refresh_until_node_2(&cluster, Duration::from_millis(1500)).await);
    assert_eq!(boot.received_api(ApiKey::METADATA).len(), 1, "the bootstrap broker was asked only once");
    assert_eq!(cluster.pool().rebootstraps(), 0);
}

#[test]
fn the_strategy_and_trigger_are_properties() {
    let mut c = ClientConfig::new("a:1");
    c.set("metadata.recovery.strategy", "none").unwrap();
    c.set("metadata.recovery.rebootstrap.trigger.ms", "1234").unwrap();
    assert_eq!(c.metadata_recovery, MetadataRecovery::None);
    assert_eq!(c.rebootstrap_trigger, Duration::from_millis(1234));
    assert!(c.set("metadata.recovery.strategy", "sometimes").is_err());
}
