//! Version-specific checks for the Produce, InitProducerId, FindCoordinator, CreateTopics and DeleteTopics codecs:
//! a non-default value in a field a version lacks is an encode error, and is accepted by the versions having it;
//! versions outside the range are refused; unknown tagged fields survive beside known ones.
//!
//! The value round trips, truncations and corrupted encodings of every message at every version come from the
//! message tables (`check_every_version` in each module's tests, with the table's generated strategy), and hostile
//! bytes against every registered message from `roundtrip_props.rs`; this file once carried hand-written strategies
//! for these five messages, which the generated ones replaced.

use bytes::{Bytes, BytesMut};
use kafkar_protocol::messages::Message;
use kafkar_protocol::messages::create_topics::*;
use kafkar_protocol::messages::delete_topics::*;
use kafkar_protocol::messages::find_coordinator::*;
use kafkar_protocol::messages::init_producer_id::*;
use kafkar_protocol::messages::produce::*;
use kafkar_protocol::primitives::{RawTaggedField, Reader, Uuid};
use kafkar_protocol::{EncodeError, ErrorCode};

// ---------------------------------------------------------------------------------------------------------------
// Fields outside their versions.

type EncodeAt = Box<dyn Fn(i16) -> Result<BytesMut, EncodeError>>;

fn enc<M: Message + 'static>(m: M) -> EncodeAt {
    Box::new(move |v| m.to_bytes(v))
}

/// For every version of `all`: encoding fails with a field error exactly at the versions in `lacking`.
fn only_where_supported(what: &str, all: std::ops::RangeInclusive<i16>, lacking: &[i16], encode: EncodeAt) {
    for v in all {
        let r = encode(v);
        if lacking.contains(&v) {
            match r {
                Err(EncodeError::UnsupportedField { version, .. })
                | Err(EncodeError::NullNotAllowed { version, .. }) => {
                    assert_eq!(version, v, "{what}")
                }
                other => panic!("{what} at v{v}: expected a field error, got {other:?}"),
            }
        } else if let Err(e) = r {
            panic!("{what} at v{v}: {e}");
        }
    }
}

fn unknown_tag() -> Vec<RawTaggedField> {
    vec![RawTaggedField { tag: 42, data: Bytes::from_static(b"x") }]
}

fn range(a: i16, b: i16) -> Vec<i16> {
    (a..=b).collect()
}

#[test]
fn produce_fields_outside_their_versions() {
    let id = Uuid::from_u64_pair(7, 9);
    let topic = |name: &str, topic_id| TopicProduceData {
        name: name.into(),
        topic_id,
        partition_data: vec![PartitionProduceData {
            index: 0,
            records: Some(Bytes::from_static(b"r")),
            ..Default::default()
        }],
        ..Default::default()
    };
    let req = |t: TopicProduceData| ProduceRequest { topic_data: vec![t], ..ProduceRequest::new(1, 100) };
    only_where_supported("request topic_id", 3..=12, &range(3, 12), enc(req(topic("", id))));
    only_where_supported("request name", 13..=13, &[13], enc(req(topic("t", Uuid::ZERO))));
    let mut tagged = req(topic("t", Uuid::ZERO));
    tagged.unknown_tagged_fields = unknown_tag();
    only_where_supported("request tags", 3..=12, &range(3, 8), enc(tagged));
    let mut tagged = req(topic("t", Uuid::ZERO));
    tagged.topic_data[0].partition_data[0].unknown_tagged_fields = unknown_tag();
    only_where_supported("partition tags", 3..=12, &range(3, 8), enc(tagged));

    let resp = |p: PartitionProduceResponse| ProduceResponse {
        responses: vec![TopicProduceResponse { name: "t".into(), partition_responses: vec![p], ..Default::default() }],
        ..Default::default()
    };
    let p = PartitionProduceResponse::default;
    only_where_supported(
        "log_start_offset",
        3..=12,
        &[3, 4],
        enc(resp(PartitionProduceResponse { log_start_offset: 5, ..p() })),
    );
    let errors = vec![BatchIndexAndErrorMessage { batch_index: 1, ..Default::default() }];
    only_where_supported(
        "record_errors",
        3..=12,
        &range(3, 7),
        enc(resp(PartitionProduceResponse { record_errors: errors, ..p() })),
    );
    let msg = Some("m".to_owned());
    only_where_supported(
        "error_message",
        3..=12,
        &range(3, 7),
        enc(resp(PartitionProduceResponse { error_message: msg, ..p() })),
    );
    let leader = LeaderIdAndEpoch { leader_epoch: 3, ..Default::default() };
    only_where_supported(
        "current_leader",
        3..=12,
        &range(3, 9),
        enc(resp(PartitionProduceResponse { current_leader: leader, ..p() })),
    );
    only_where_supported(
        "partition response tags",
        3..=12,
        &range(3, 8),
        enc(resp(PartitionProduceResponse { unknown_tagged_fields: unknown_tag(), ..p() })),
    );
    let endpoints = vec![NodeEndpoint { node_id: 1, host: "h".into(), port: 1, ..Default::default() }];
    only_where_supported(
        "node_endpoints",
        3..=12,
        &range(3, 9),
        enc(ProduceResponse { node_endpoints: endpoints, ..resp(p()) }),
    );
    let by_id = ProduceResponse {
        responses: vec![TopicProduceResponse { topic_id: id, ..Default::default() }],
        ..Default::default()
    };
    only_where_supported("response topic_id", 3..=13, &range(3, 12), enc(by_id));
    only_where_supported("response name", 13..=13, &[13], enc(resp(p())));
}

#[test]
fn init_producer_id_fields_outside_their_versions() {
    let r = InitProducerIdRequest::idempotent;
    only_where_supported("producer_id", 0..=6, &range(0, 2), enc(InitProducerIdRequest { producer_id: 1, ..r() }));
    only_where_supported(
        "producer_epoch",
        0..=6,
        &range(0, 2),
        enc(InitProducerIdRequest { producer_epoch: 0, ..r() }),
    );
    only_where_supported("enable_2pc", 0..=6, &range(0, 5), enc(InitProducerIdRequest { enable_2pc: true, ..r() }));
    only_where_supported(
        "keep_prepared_txn",
        0..=6,
        &range(0, 5),
        enc(InitProducerIdRequest { keep_prepared_txn: true, ..r() }),
    );
    only_where_supported(
        "request tags",
        0..=6,
        &[0, 1],
        enc(InitProducerIdRequest { unknown_tagged_fields: unknown_tag(), ..r() }),
    );
    let r = InitProducerIdResponse::default;
    only_where_supported(
        "ongoing id",
        0..=6,
        &range(0, 5),
        enc(InitProducerIdResponse { ongoing_txn_producer_id: 4, ..r() }),
    );
    only_where_supported(
        "ongoing epoch",
        0..=6,
        &range(0, 5),
        enc(InitProducerIdResponse { ongoing_txn_producer_epoch: 4, ..r() }),
    );
    only_where_supported(
        "response tags",
        0..=6,
        &[0, 1],
        enc(InitProducerIdResponse { unknown_tagged_fields: unknown_tag(), ..r() }),
    );
}

#[test]
fn find_coordinator_fields_outside_their_versions() {
    let r = FindCoordinatorRequest::default;
    only_where_supported("key", 0..=6, &range(4, 6), enc(FindCoordinatorRequest { key: "g".into(), ..r() }));
    only_where_supported("key_type", 0..=6, &[0], enc(FindCoordinatorRequest { key_type: 1, ..r() }));
    only_where_supported(
        "coordinator_keys",
        0..=6,
        &range(0, 3),
        enc(FindCoordinatorRequest { coordinator_keys: vec!["g".into()], ..r() }),
    );
    only_where_supported(
        "request tags",
        0..=6,
        &range(0, 2),
        enc(FindCoordinatorRequest { unknown_tagged_fields: unknown_tag(), ..r() }),
    );
    let r = FindCoordinatorResponse::default;
    only_where_supported("throttle", 0..=6, &[0], enc(FindCoordinatorResponse { throttle_time_ms: 1, ..r() }));
    only_where_supported(
        "error_code",
        0..=6,
        &range(4, 6),
        enc(FindCoordinatorResponse { error_code: ErrorCode(15), ..r() }),
    );
    only_where_supported(
        "error_message",
        0..=6,
        &[0, 4, 5, 6],
        enc(FindCoordinatorResponse { error_message: Some("e".into()), ..r() }),
    );
    only_where_supported("node_id", 0..=6, &range(4, 6), enc(FindCoordinatorResponse { node_id: 1, ..r() }));
    only_where_supported("host", 0..=6, &range(4, 6), enc(FindCoordinatorResponse { host: "h".into(), ..r() }));
    only_where_supported("port", 0..=6, &range(4, 6), enc(FindCoordinatorResponse { port: 1, ..r() }));
    only_where_supported(
        "coordinators",
        0..=6,
        &range(0, 3),
        enc(FindCoordinatorResponse { coordinators: vec![Coordinator::default()], ..r() }),
    );
    only_where_supported(
        "response tags",
        0..=6,
        &range(0, 2),
        enc(FindCoordinatorResponse { unknown_tagged_fields: unknown_tag(), ..r() }),
    );
}

#[test]
fn create_topics_fields_outside_their_versions() {
    let topic = || CreatableTopic::new("t", 1, 1, [("a", "b")]);
    let mut t = topic();
    t.assignments = vec![CreatableReplicaAssignment {
        partition_index: 0,
        broker_ids: vec![1],
        unknown_tagged_fields: unknown_tag(),
    }];
    only_where_supported("assignment tags", 2..=7, &range(2, 4), enc(CreateTopicsRequest::new([t], 10)));
    let mut t = topic();
    t.configs[0].unknown_tagged_fields = unknown_tag();
    only_where_supported("config tags", 2..=7, &range(2, 4), enc(CreateTopicsRequest::new([t], 10)));
    let t = CreatableTopic { unknown_tagged_fields: unknown_tag(), ..topic() };
    only_where_supported("topic tags", 2..=7, &range(2, 4), enc(CreateTopicsRequest::new([t], 10)));
    let m = CreateTopicsRequest { unknown_tagged_fields: unknown_tag(), ..CreateTopicsRequest::new([topic()], 10) };
    only_where_supported("request tags", 2..=7, &range(2, 4), enc(m));

    let resp = |t: CreatableTopicResult| CreateTopicsResponse { topics: vec![t], ..Default::default() };
    let t = CreatableTopicResult::default;
    only_where_supported(
        "topic_id",
        2..=7,
        &range(2, 6),
        enc(resp(CreatableTopicResult { topic_id: Uuid::from_u64_pair(1, 2), ..t() })),
    );
    only_where_supported(
        "config error",
        2..=7,
        &range(2, 4),
        enc(resp(CreatableTopicResult { topic_config_error_code: ErrorCode(1), ..t() })),
    );
    only_where_supported(
        "num_partitions",
        2..=7,
        &range(2, 4),
        enc(resp(CreatableTopicResult { num_partitions: 2, ..t() })),
    );
    only_where_supported(
        "replication_factor",
        2..=7,
        &range(2, 4),
        enc(resp(CreatableTopicResult { replication_factor: 2, ..t() })),
    );
    only_where_supported(
        "configs",
        2..=7,
        &range(2, 4),
        enc(resp(CreatableTopicResult { configs: Some(Vec::new()), ..t() })),
    );
    only_where_supported(
        "result tags",
        2..=7,
        &range(2, 4),
        enc(resp(CreatableTopicResult { unknown_tagged_fields: unknown_tag(), ..t() })),
    );
}

#[test]
fn delete_topics_fields_outside_their_versions() {
    only_where_supported(
        "topics",
        1..=6,
        &range(1, 5),
        enc(DeleteTopicsRequest::by_ids([Uuid::from_u64_pair(1, 2)], 10)),
    );
    only_where_supported("topic_names", 1..=6, &[6], enc(DeleteTopicsRequest::by_names(5, ["t"], 10)));
    let tagged = DeleteTopicsRequest { unknown_tagged_fields: unknown_tag(), ..Default::default() };
    only_where_supported("request tags", 1..=6, &range(1, 3), enc(tagged));

    let resp = |t: DeletableTopicResult| DeleteTopicsResponse { responses: vec![t], ..Default::default() };
    let t = DeletableTopicResult::default;
    only_where_supported("null name", 1..=6, &range(1, 5), enc(resp(DeletableTopicResult { name: None, ..t() })));
    only_where_supported(
        "topic_id",
        1..=6,
        &range(1, 5),
        enc(resp(DeletableTopicResult { topic_id: Uuid::from_u64_pair(1, 2), ..t() })),
    );
    only_where_supported(
        "error_message",
        1..=6,
        &range(1, 4),
        enc(resp(DeletableTopicResult { error_message: Some("e".into()), ..t() })),
    );
    only_where_supported(
        "result tags",
        1..=6,
        &range(1, 3),
        enc(resp(DeletableTopicResult { unknown_tagged_fields: unknown_tag(), ..t() })),
    );
}

#[test]
fn versions_outside_the_range_are_refused() {
    assert!(ProduceRequest::default().to_bytes(2).is_err());
    assert!(ProduceRequest::default().to_bytes(14).is_err());
    assert!(ProduceResponse::decode_exact(&mut Reader::new(Bytes::new()), 2).is_err());
    assert!(CreateTopicsRequest::default().to_bytes(1).is_err());
    assert!(DeleteTopicsRequest::default().to_bytes(0).is_err());
    assert!(InitProducerIdRequest::default().to_bytes(7).is_err());
    assert!(FindCoordinatorRequest::default().to_bytes(7).is_err());
}

#[test]
fn unknown_tagged_fields_survive_alongside_known_ones() {
    // A partition response with tag 0 (current leader) and an unknown tag 5, as a newer broker might send.
    let p = PartitionProduceResponse {
        current_leader: LeaderIdAndEpoch { leader_id: 2, leader_epoch: 9, ..Default::default() },
        unknown_tagged_fields: vec![RawTaggedField { tag: 5, data: Bytes::from_static(&[1, 2]) }],
        ..Default::default()
    };
    let m = ProduceResponse {
        responses: vec![TopicProduceResponse { name: "t".into(), partition_responses: vec![p], ..Default::default() }],
        ..Default::default()
    };
    let b = m.to_bytes(12).unwrap().freeze();
    assert_eq!(ProduceResponse::decode_exact(&mut Reader::new(b), 12).unwrap(), m);
}
