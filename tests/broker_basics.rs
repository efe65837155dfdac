//! First contact with a real Apache Kafka (started by `scripts/kafka`, address in `KAFKA_BOOTSTRAP`): over a plain
//! blocking TCP socket written here (not the client's connection code), negotiate ApiVersions, create a topic with
//! CreateTopics, and check what the broker reports in Metadata — then cross-check with Kafka's own kafka-topics
//! tool, and read the same cluster through kafkar's Connection and Cluster.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafkar::protocol::header::{RequestHeader, ResponseHeader, request_header_version, response_header_version};
use kafkar::protocol::messages::api_versions::{ApiVersionsRequest, ApiVersionsResponse};
use kafkar::protocol::messages::create_topics::CreateTopicsRequest;
use kafkar::protocol::messages::metadata::{MetadataRequest, MetadataResponse};
use kafkar::protocol::messages::{Message, Request};
use kafkar::protocol::primitives::Reader;
use kafkar::protocol::{ApiKey, ErrorCode};

/// A minimal blocking Kafka connection: one request at a time.
struct PlainConn {
    sock: TcpStream,
    next_id: i32,
}

impl PlainConn {
    fn open(bootstrap: &str) -> PlainConn {
        let addr = bootstrap.split(',').next().unwrap();
        let sock = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        sock.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        PlainConn { sock, next_id: 1 }
    }

    fn call<R: Request>(&mut self, req: &R, version: i16) -> R::Response {
        let flexible = R::is_flexible(version);
        let id = self.next_id;
        self.next_id += 1;
        let mut frame = BytesMut::new();
        frame.put_i32(0);
        RequestHeader {
            api_key: R::API_KEY.0,
            api_version: version,
            correlation_id: id,
            client_id: Some("kafkar-plain-test".into()),
            unknown_tagged_fields: vec![],
        }
        .encode(&mut frame, request_header_version(flexible))
        .unwrap();
        req.encode(&mut frame, version).unwrap();
        let n = (frame.len() - 4) as i32;
        frame[..4].copy_from_slice(&n.to_be_bytes());
        self.sock.write_all(&frame).unwrap();

        let mut len = [0u8; 4];
        self.sock.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        self.sock.read_exact(&mut body).unwrap();
        let mut r = Reader::new(Bytes::from(body));
        let header = ResponseHeader::decode(&mut r, response_header_version(R::API_KEY, flexible)).unwrap();
        assert_eq!(header.correlation_id, id, "correlation id echoed");
        R::Response::decode_exact(&mut r, version).unwrap_or_else(|e| panic!("{} v{version}: {e}", R::SPEC.name))
    }
}

fn highest_common<R: Request>(versions: &ApiVersionsResponse) -> i16 {
    let theirs = versions.find(R::API_KEY).unwrap_or_else(|| panic!("broker lacks {:?}", R::API_KEY));
    let v = theirs.max_version.min(R::SPEC.versions.max);
    assert!(v >= theirs.min_version.max(R::SPEC.versions.min), "no common version of {:?}", R::API_KEY);
    v
}

#[test]
fn api_versions_create_topic_and_metadata_over_plain_tcp() {
    let Some(bootstrap) = support::real_broker() else { return };
    let mut conn = PlainConn::open(&bootstrap);

    // ApiVersions v4 (flexible): the broker lists every API we implement at a range overlapping ours.
    let versions = conn.call(
        &ApiVersionsRequest {
            client_software_name: "kafkar-test".into(),
            client_software_version: "0".into(),
            ..Default::default()
        },
        4,
    );
    assert_eq!(versions.error_code, ErrorCode::NONE);
    for spec in kafkar::protocol::messages::all_specs() {
        let (Some(key), kafkar::protocol::messages::MessageKind::Request) = (spec.api_key, spec.kind) else { continue };
        let theirs = versions.find(key).unwrap_or_else(|| panic!("broker does not list {key:?}"));
        assert!(
            theirs.max_version >= spec.versions.min && theirs.min_version <= spec.versions.max,
            "{key:?}: broker {}-{}, kafkar {}",
            theirs.min_version,
            theirs.max_version,
            spec.versions
        );
    }
    // ApiVersions v0 as well: the classic (non-flexible) form of the same answer.
    let v0 = conn.call(&ApiVersionsRequest::default(), 0);
    assert_eq!(v0.api_keys.len(), versions.api_keys.len());

    // CreateTopics at the highest common version.
    let topic = support::unique_topic("basics");
    let cv = highest_common::<CreateTopicsRequest>(&versions);
    let created = conn.call(&CreateTopicsRequest::single(&topic, 3, 1, [("cleanup.policy", "delete")], 30_000), cv);
    assert_eq!(created.topics.len(), 1);
    assert_eq!(created.topics[0].error_code, ErrorCode::NONE, "{:?}", created.topics[0].error_message);
    assert_eq!(created.topics[0].name, topic);
    if cv >= 7 {
        assert!(!created.topics[0].topic_id.is_zero());
    }

    // Metadata at the highest common version, until the new topic has a leader for every partition.
    let mv = highest_common::<MetadataRequest>(&versions);
    let mut md: MetadataResponse;
    let mut tries = 0;
    loop {
        md = conn.call(&MetadataRequest::topics([topic.clone()]), mv);
        let t = md.find_topic(&topic).expect("topic in metadata");
        if t.error_code.is_ok() && t.partitions.len() == 3 && t.partitions.iter().all(|p| p.leader_id >= 0) {
            break;
        }
        tries += 1;
        assert!(tries < 50, "topic never got leaders: {t:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let host_port: Vec<String> = md.brokers.iter().map(|b| format!("{}:{}", b.host, b.port)).collect();
    assert!(
        bootstrap.split(',').any(|b| host_port.contains(&b.to_string())),
        "bootstrap {bootstrap} not among advertised brokers {host_port:?}"
    );
    assert!(md.brokers.iter().any(|b| b.node_id == md.controller_id), "controller {} is a broker", md.controller_id);
    assert!(md.cluster_id.as_deref().is_some_and(|c| !c.is_empty()));
    let t = md.find_topic(&topic).unwrap();
    assert!(!t.is_internal);
    if mv >= 10 {
        assert!(!t.topic_id.is_zero(), "topic id from v10");
        if cv >= 7 {
            assert_eq!(t.topic_id, created.topics[0].topic_id, "same id from CreateTopics and Metadata");
        }
    }
    let mut parts: Vec<i32> = t.partitions.iter().map(|p| p.partition_index).collect();
    parts.sort();
    assert_eq!(parts, vec![0, 1, 2]);
    for p in &t.partitions {
        assert!(md.brokers.iter().any(|b| b.node_id == p.leader_id), "leader {} is a broker", p.leader_id);
        assert!(p.replica_nodes.contains(&p.leader_id));
        assert!(p.isr_nodes.contains(&p.leader_id));
        if mv >= 7 {
            assert!(p.leader_epoch >= 0);
        }
    }

    // Kafka's own tool sees the same topic with the same partition count.
    let out = std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kafka"))
        .args(["topics", "--bootstrap-server", &bootstrap, "--describe", "--topic", &topic])
        .output()
        .expect("run scripts/kafka topics");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "kafka-topics failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("PartitionCount: 3"), "kafka-topics output: {text}");
    if mv >= 10 {
        assert!(text.contains(&t.topic_id.to_string()), "kafka-topics shows the same topic id {}: {text}", t.topic_id);
    }
}

#[tokio::test]
async fn client_connection_and_cluster_see_the_real_broker() {
    let Some(bootstrap) = support::real_broker() else { return };
    let config = kafkar::ClientConfig::new(&bootstrap);
    let conn = kafkar::__private::Connection::connect(bootstrap.split(',').next().unwrap(), &config).await.unwrap();
    // Negotiated versions: the newest both sides speak.
    let broker_max = conn.versions().range(ApiKey::METADATA).unwrap().1;
    assert_eq!(broker_max, if support::broker_version() >= (4, 0) { 13 } else { 12 });
    assert_eq!(conn.versions().pick::<MetadataRequest>().unwrap(), broker_max.min(13));
    assert!(conn.versions().range(ApiKey::PRODUCE).is_some());

    let topic = support::unique_topic("cluster");
    let created = conn.send(&CreateTopicsRequest::single(&topic, 2, 1, Vec::<(String, String)>::new(), 30_000)).await;
    assert_eq!(created.unwrap().topics[0].error_code, ErrorCode::NONE);

    let cluster = kafkar::cluster::Cluster::new(config, false).unwrap();
    let info = cluster.topic(&topic, Duration::from_secs(20)).await.unwrap();
    assert_eq!(info.partition_count(), 2);
    assert!(!info.id.is_zero());
    let (leader, leader_conn) = cluster.leader(&topic, 0).await.unwrap();
    assert!(cluster.snapshot().brokers.contains_key(&leader));
    assert!(!leader_conn.is_closed());

    // An unknown topic with auto-creation off is a typed, retriable broker error after the wait.
    let missing = support::unique_topic("missing");
    let e = cluster.topic(&missing, Duration::from_millis(500)).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION), "{e}");
    // An invalid name never reaches the broker.
    let e = cluster.topic("bad name!", Duration::from_millis(500)).await.unwrap_err();
    assert!(matches!(e.kind(), kafkar::ErrorKind::InvalidArgument(_)), "{e}");
}
