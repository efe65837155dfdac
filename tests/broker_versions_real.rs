//! The broker version matrix: what kafkar does against each Apache Kafka release it supports, asserted exactly as
//! the table "Broker versions" in tests/CHAOS.md states it. `scripts/test --broker-version V` runs the whole suite
//! against Kafka V (its own brokers) and sets `KAFKAR_BROKER_VERSION`; CI runs the newest broker.
//!
//! Per version: the API versions the broker advertises for the messages whose newest versions matter (kafkar
//! negotiates down to them, and records still go through), whether KIP-848 groups are there (GA from 4.0; on
//! 3.9 a preview that scripts/kafka does not enable, so a typed unsupported error), the finalized
//! `transaction.version` of a new cluster (2 from 4.0, so KIP-890 transactions; none on 3.9, and transactions
//! still commit and abort), and ListConfigResources (v1 from 4.1; v0 lists only client-metrics resources, which
//! kafkar reports as a typed error when asked for other types).

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use kafkar::__private::Connection;
use kafkar::admin::{ConfigResource, ConfigResourceType, NewTopic};
use kafkar::consumer::{Consumer, ConsumerConfig, IsolationLevel, TopicPartition};
use kafkar::protocol::messages::Request;
use kafkar::protocol::messages::consumer_group_heartbeat::ConsumerGroupHeartbeatRequest;
use kafkar::protocol::messages::describe_topic_partitions::DescribeTopicPartitionsRequest;
use kafkar::protocol::messages::fetch::FetchRequest;
use kafkar::protocol::messages::find_coordinator::FindCoordinatorRequest;
use kafkar::protocol::messages::init_producer_id::InitProducerIdRequest;
use kafkar::protocol::messages::list_config_resources::ListConfigResourcesRequest;
use kafkar::protocol::messages::list_offsets::ListOffsetsRequest;
use kafkar::protocol::messages::metadata::MetadataRequest;
use kafkar::protocol::messages::offset_commit::OffsetCommitRequest;
use kafkar::protocol::messages::offset_fetch::OffsetFetchRequest;
use kafkar::protocol::messages::produce::ProduceRequest;
use kafkar::protocol::{ApiKey, ErrorCode};
use kafkar::{Admin, AdminConfig, ClientConfig, ErrorKind, Producer, ProducerConfig, ProducerRecord};

/// What a release of Kafka does, as tests/CHAOS.md's table says.
struct Expected {
    /// The broker's newest version of each of [`APIS`] (`None`: not advertised).
    max_versions: Vec<(ApiKey, Option<i16>)>,
    /// KIP-848 `group.protocol=consumer` groups.
    kip848: Kip848,
    /// The finalized `transaction.version` of a cluster scripts/kafka formats (0: not finalized).
    transaction_version: i16,
    /// ListConfigResources v1 (every resource type) is there.
    list_config_resources_v1: bool,
}

/// Where KIP-848 groups work; elsewhere they are a typed UNSUPPORTED_VERSION error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kip848 {
    /// Generally available: always on.
    Ga,
    /// A preview, on only when `group.coordinator.rebalance.protocols` lists `consumer` (scripts/kafka turns it
    /// on for 3.x brokers).
    PreviewWhenEnabled,
}

/// The releases the table has a column for. Patch releases behave alike; a release between two columns is held to
/// the older one's (4.2 and 4.3 have not been run).
const RELEASES: [(u32, u32); 4] = [(3, 9), (4, 0), (4, 1), (4, 4)];

/// The broker's newest version of each API, per release (columns as [`RELEASES`]).
const APIS: [(ApiKey, [Option<i16>; 4]); 11] = [
    (ApiKey::PRODUCE, [Some(11), Some(12), Some(13), Some(13)]),
    (ApiKey::FETCH, [Some(17), Some(17), Some(18), Some(18)]),
    (ApiKey::LIST_OFFSETS, [Some(9), Some(10), Some(10), Some(11)]),
    (ApiKey::METADATA, [Some(12), Some(13), Some(13), Some(13)]),
    (ApiKey::OFFSET_COMMIT, [Some(9), Some(9), Some(9), Some(10)]),
    (ApiKey::OFFSET_FETCH, [Some(9), Some(9), Some(9), Some(10)]),
    (ApiKey::FIND_COORDINATOR, [Some(6); 4]),
    (ApiKey::INIT_PRODUCER_ID, [Some(5); 4]),
    (ApiKey::CONSUMER_GROUP_HEARTBEAT, [Some(0), Some(1), Some(1), Some(1)]),
    (ApiKey::DESCRIBE_TOPIC_PARTITIONS, [Some(0); 4]),
    (ApiKey::LIST_CONFIG_RESOURCES, [Some(0), Some(0), Some(1), Some(1)]),
];

/// The table's column for `version`.
fn expected(version: (u32, u32)) -> Expected {
    let column = RELEASES.iter().rposition(|r| *r <= version).unwrap_or(0);
    Expected {
        max_versions: APIS.iter().map(|(api, maxes)| (*api, maxes[column])).collect(),
        kip848: if version < (4, 0) { Kip848::PreviewWhenEnabled } else { Kip848::Ga },
        transaction_version: if version < (4, 0) { 0 } else { 2 },
        list_config_resources_v1: version >= (4, 1),
    }
}

/// The broker's version from `KAFKAR_BROKER_VERSION` (scripts/test sets it from scripts/kafka). Without it: a
/// failure under `CI=true`, else `None` (a broker given by address, version unknown: skipped).
fn broker_version() -> Option<(u32, u32)> {
    let Ok(v) = std::env::var("KAFKAR_BROKER_VERSION") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "KAFKAR_BROKER_VERSION is not set (scripts/test sets it from `scripts/kafka version`)"
        );
        eprintln!("skipped: KAFKAR_BROKER_VERSION is not set");
        return None;
    };
    let mut parts = v.split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => Some((major, minor)),
        _ => panic!("KAFKAR_BROKER_VERSION={v} is not a Kafka version"),
    }
}

fn setup() -> Option<(String, (u32, u32))> {
    let bootstrap = support::real_broker()?;
    Some((bootstrap, broker_version()?))
}

async fn admin(bootstrap: &str) -> Admin {
    Admin::new(AdminConfig::new(bootstrap)).await.unwrap()
}

async fn topic(admin: &Admin, prefix: &str, partitions: i32) -> String {
    let name = support::unique_topic(prefix);
    let created = admin.create_topics(&[NewTopic::new(&name, partitions, 1)], false).await.unwrap();
    for (t, r) in created {
        r.unwrap_or_else(|e| panic!("creating {t}: {e}"));
    }
    name
}

/// The newest version both sides speak: min(ours, the broker's), for one request type.
fn negotiated<R: Request>(conn: &Connection) -> (ApiKey, Option<(i16, i16)>, Option<i16>) {
    (R::API_KEY, conn.versions().range(R::API_KEY), conn.versions().pick::<R>().ok())
}

#[tokio::test]
async fn api_versions_are_the_releases_and_kafkar_negotiates_down_to_them() {
    let Some((bootstrap, version)) = setup() else { return };
    let expect = expected(version);
    let conn = Connection::connect(bootstrap.split(',').next().unwrap(), &ClientConfig::new(&bootstrap)).await.unwrap();
    let picks = [
        negotiated::<ProduceRequest>(&conn),
        negotiated::<FetchRequest>(&conn),
        negotiated::<ListOffsetsRequest>(&conn),
        negotiated::<MetadataRequest>(&conn),
        negotiated::<OffsetCommitRequest>(&conn),
        negotiated::<OffsetFetchRequest>(&conn),
        negotiated::<FindCoordinatorRequest>(&conn),
        negotiated::<InitProducerIdRequest>(&conn),
        negotiated::<ConsumerGroupHeartbeatRequest>(&conn),
        negotiated::<DescribeTopicPartitionsRequest>(&conn),
        negotiated::<ListConfigResourcesRequest>(&conn),
    ];
    let mut mismatches = Vec::new();
    for (api, range, pick) in picks {
        let want = expect.max_versions.iter().find(|(k, _)| *k == api).map(|(_, v)| *v);
        let got = range.map(|(_, hi)| hi);
        eprintln!("Kafka {}.{}: {api:?} broker {range:?}, kafkar picks {pick:?}", version.0, version.1);
        if want != Some(got) {
            mismatches.push(format!("{api:?}: broker max {got:?}, table says {want:?}"));
        }
        // Negotiated down: never above what the broker advertised, and present whenever the broker has it.
        match (range, pick) {
            (Some((_, hi)), Some(v)) => assert!(v <= hi, "{api:?}: picked {v} above the broker's {hi}"),
            (None, Some(v)) => panic!("{api:?}: picked {v} though the broker does not advertise it"),
            (Some(r), None) => panic!("{api:?}: the broker has {r:?} and kafkar found no common version"),
            (None, None) => {}
        }
    }
    assert!(mismatches.is_empty(), "Kafka {}.{} differs from tests/CHAOS.md: {mismatches:#?}", version.0, version.1);

    // Records go through at the negotiated versions: produce, then read back by a plain assignment.
    let admin = admin(&bootstrap).await;
    let topic = topic(&admin, "versions", 1).await;
    let producer = Producer::new(ProducerConfig::new(&bootstrap)).await.unwrap();
    for i in 0..20 {
        producer
            .send_and_wait(ProducerRecord::new(topic.as_str()).key(format!("k{i}")).value(format!("v{i}")))
            .await
            .unwrap();
    }
    producer.flush().await;
    producer.close().await;
    let mut consumer = Consumer::new(ConsumerConfig::new(&bootstrap)).await.unwrap();
    consumer.assign([TopicPartition::new(&topic, 0)]).unwrap();
    consumer.seek_to_beginning(&[TopicPartition::new(&topic, 0)]).unwrap();
    let values = read_values(&mut consumer, 20).await;
    assert_eq!(values, (0..20).map(|i| format!("v{i}")).collect::<Vec<_>>());
}

/// Reads `n` values (as text), failing after 30 s.
async fn read_values(consumer: &mut Consumer, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut values = Vec::new();
    while values.len() < n {
        assert!(Instant::now() < deadline, "read {} of {n} records", values.len());
        for r in consumer.poll(100, Duration::from_millis(200)).await.unwrap() {
            values.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned());
        }
    }
    values
}

#[tokio::test]
async fn kip848_groups_work_where_the_release_has_them_and_are_a_typed_error_elsewhere() {
    let Some((bootstrap, version)) = setup() else { return };
    let expect = expected(version);
    let admin = admin(&bootstrap).await;
    let topic = topic(&admin, "versions-848", 2).await;
    let producer = Producer::new(ProducerConfig::new(&bootstrap)).await.unwrap();
    for i in 0..10 {
        producer
            .send_and_wait(ProducerRecord::new(topic.as_str()).partition(i % 2).value(format!("v{i}")))
            .await
            .unwrap();
    }
    producer.flush().await;
    producer.close().await;

    let mut config = ConsumerConfig::new(&bootstrap);
    for (k, v) in [
        ("group.id", support::unique_topic("g-versions").as_str()),
        ("group.protocol", "consumer"),
        ("auto.offset.reset", "earliest"),
    ] {
        config.set(k, v).unwrap();
    }
    let works = match expect.kip848 {
        Kip848::Ga => true,
        Kip848::PreviewWhenEnabled => {
            let broker = ConfigResource::broker(admin.describe_cluster().await.unwrap().brokers[0].id);
            let configs = admin.describe_configs(std::slice::from_ref(&broker)).await.unwrap();
            let entries = configs.into_values().next().unwrap().unwrap();
            let protocols = entries.iter().find(|e| e.name == "group.coordinator.rebalance.protocols");
            let value = protocols.and_then(|e| e.value.clone()).unwrap_or_default();
            value.split(',').any(|p| p.trim() == "consumer")
        }
    };
    let mut consumer = Consumer::new(config).await.unwrap();
    consumer.subscribe([topic.clone()]).unwrap();
    if works {
        let mut values = read_values(&mut consumer, 10).await;
        values.sort();
        assert_eq!(values, (0..10).map(|i| format!("v{i}")).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>());
        consumer.close().await.unwrap();
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let e = loop {
        assert!(Instant::now() < deadline, "no error from a KIP-848 group on a broker without it");
        match consumer.poll(10, Duration::from_millis(200)).await {
            Ok(records) => assert!(records.is_empty(), "records without a group"),
            Err(e) => break e,
        }
    };
    // The broker answers ConsumerGroupHeartbeat with UNSUPPORTED_VERSION; one that does not advertise the API at
    // all is refused before sending (ErrorKind::UnsupportedVersion). Either way typed, naming the API.
    let typed = e.code() == Some(ErrorCode::UNSUPPORTED_VERSION)
        || matches!(e.kind(), ErrorKind::UnsupportedVersion { api: ApiKey::CONSUMER_GROUP_HEARTBEAT, .. });
    assert!(typed && e.to_string().contains("ConsumerGroupHeartbeat"), "expected an unsupported error, got {e}");
}

#[tokio::test]
async fn transactions_commit_and_abort_with_the_clusters_transaction_version() {
    let Some((bootstrap, version)) = setup() else { return };
    let expect = expected(version);
    let admin = admin(&bootstrap).await;
    let features = admin.describe_features().await.unwrap();
    let finalized = features.finalized.iter().find(|f| f.0 == "transaction.version").map_or(0, |f| f.2);
    assert_eq!(finalized, expect.transaction_version, "finalized transaction.version: {:?}", features.finalized);

    let topic = topic(&admin, "versions-txn", 1).await;
    let mut config = ProducerConfig::new(&bootstrap);
    config.set("transactional.id", &support::unique_topic("tx-versions")).unwrap();
    let producer = Producer::new(config).await.unwrap();
    producer.init_transactions().await.unwrap();
    for (commit, prefix) in [(true, "kept"), (false, "aborted"), (true, "kept-too")] {
        producer.begin_transaction().unwrap();
        for i in 0..5 {
            producer.send_and_wait(ProducerRecord::new(topic.as_str()).value(format!("{prefix}-{i}"))).await.unwrap();
        }
        if commit {
            producer.commit_transaction().await.unwrap();
        } else {
            producer.abort_transaction().await.unwrap();
        }
    }
    producer.close().await;

    let mut config = ConsumerConfig::new(&bootstrap).with_isolation_level(IsolationLevel::ReadCommitted);
    config.set("auto.offset.reset", "earliest").unwrap();
    let mut consumer = Consumer::new(config).await.unwrap();
    let tp = TopicPartition::new(&topic, 0);
    consumer.assign([tp.clone()]).unwrap();
    consumer.seek_to_beginning(&[tp]).unwrap();
    let values = read_values(&mut consumer, 10).await;
    let want: Vec<String> = ["kept", "kept-too"].iter().flat_map(|p| (0..5).map(move |i| format!("{p}-{i}"))).collect();
    assert_eq!(values, want);
    // Nothing of the aborted transaction follows.
    let more = consumer.poll(100, Duration::from_millis(500)).await.unwrap();
    assert!(more.is_empty(), "read past the committed records: {:?}", more.len());
}

#[tokio::test]
async fn list_config_resources_lists_every_type_only_where_the_release_can() {
    let Some((bootstrap, version)) = setup() else { return };
    let expect = expected(version);
    let admin = admin(&bootstrap).await;
    let result = admin.list_config_resources(&[ConfigResourceType::Topic]).await;
    if expect.list_config_resources_v1 {
        result.unwrap_or_else(|e| panic!("Kafka {}.{}: {e}", version.0, version.1));
    } else {
        let e = result.expect_err("ListConfigResources v0 cannot list topics");
        assert!(matches!(e.kind(), ErrorKind::InvalidArgument(_)), "{e}");
        assert!(e.to_string().contains("client-metrics"), "{e}");
        // Client-metrics resources it can list.
        admin.list_config_resources(&[ConfigResourceType::ClientMetrics]).await.unwrap();
    }
}
