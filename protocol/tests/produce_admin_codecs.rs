//! Property tests for the Produce, InitProducerId, FindCoordinator, CreateTopics and DeleteTopics codecs, at every
//! version each implements:
//! - values valid at a version (fields the version lacks left at their defaults) encode, decode to the same value,
//!   and re-encode to the same bytes;
//! - every strict prefix of an encoded message fails to decode, and arbitrary bytes never panic the decoder;
//! - a non-default value in a field a version lacks is an encode error, and is accepted by the versions having it.

use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use kafkar_protocol::messages::create_topics::*;
use kafkar_protocol::messages::delete_topics::*;
use kafkar_protocol::messages::find_coordinator::*;
use kafkar_protocol::messages::init_producer_id::*;
use kafkar_protocol::messages::produce::*;
use kafkar_protocol::messages::{Message, reencode};
use kafkar_protocol::primitives::{RawTaggedField, Reader, Uuid};
use kafkar_protocol::{EncodeError, ErrorCode};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

// ---------------------------------------------------------------------------------------------------------------
// Generic checks.

/// Encode → decode → equal; encode(decode(b)) == b; the registry's round trip agrees; every strict prefix fails.
fn check<M: Message + PartialEq + Debug>(m: &M, version: i16) -> Result<(), TestCaseError> {
    let bytes = m.to_bytes(version).map_err(|e| TestCaseError::fail(format!("encode v{version}: {e}")))?.freeze();
    let back = M::decode_exact(&mut Reader::new(bytes.clone()), version)
        .map_err(|e| TestCaseError::fail(format!("decode v{version}: {e}")))?;
    prop_assert_eq!(&back, m, "decode(encode(m)) != m at v{}", version);
    let again = back.to_bytes(version).map_err(|e| TestCaseError::fail(format!("re-encode v{version}: {e}")))?;
    prop_assert_eq!(&again[..], &bytes[..], "encode(decode(b)) != b at v{}", version);
    match reencode(M::SPEC.name, bytes.clone(), version) {
        Some(Ok(out)) => prop_assert_eq!(&out[..], &bytes[..]),
        other => return Err(TestCaseError::fail(format!("registry round trip: {other:?}"))),
    }
    for len in 0..bytes.len() {
        let prefix = bytes.slice(..len);
        prop_assert!(
            M::decode_exact(&mut Reader::new(prefix), version).is_err(),
            "prefix of {} bytes of {} decoded at v{}",
            len,
            bytes.len(),
            version
        );
    }
    Ok(())
}

/// Decoding arbitrary bytes returns, whatever it returns.
fn no_panic<M: Message>(bytes: &[u8], version: i16) {
    let _ = M::decode_exact(&mut Reader::new(Bytes::copy_from_slice(bytes)), version);
}

// ---------------------------------------------------------------------------------------------------------------
// Strategies for shared pieces.

fn string() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z._-]{0,8}", 1 => "\\PC{0,4}"]
}

fn opt_string() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(string())
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<[u8; 16]>().prop_map(Uuid)
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![2 => Just(ErrorCode::NONE), 1 => any::<i16>().prop_map(ErrorCode)]
}

fn opt_bytes() -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::of(vec(any::<u8>(), 0..24).prop_map(Bytes::from))
}

/// Unknown tagged fields for a flexible version (tags clear of the known ones, ascending, as the writer emits them);
/// none otherwise.
fn tags(flex: bool) -> BoxedStrategy<Vec<RawTaggedField>> {
    if !flex {
        return Just(Vec::new()).boxed();
    }
    proptest::collection::btree_map(10u32..300, vec(any::<u8>(), 0..4), 0..3)
        .prop_map(|m| m.into_iter().map(|(tag, data)| RawTaggedField { tag, data: Bytes::from(data) }).collect())
        .boxed()
}

/// `s` when the version has the field, else its default.
fn when<T: Clone + Debug + 'static>(has: bool, s: impl Strategy<Value = T> + 'static, default: T) -> BoxedStrategy<T> {
    if has { s.boxed() } else { Just(default).boxed() }
}

/// Picks a version in `versions`, then a value valid at it.
fn at_versions<T: Debug + Clone + 'static, S: Strategy<Value = T> + 'static>(
    versions: std::ops::RangeInclusive<i16>,
    f: fn(i16) -> S,
) -> impl Strategy<Value = (i16, T)> {
    versions.prop_flat_map(move |v| (Just(v), f(v)))
}

// ---------------------------------------------------------------------------------------------------------------
// Produce.

fn produce_request(v: i16) -> impl Strategy<Value = ProduceRequest> {
    let flex = v >= 9;
    let partition = (any::<i32>(), opt_bytes(), tags(flex)).prop_map(|(index, records, unknown_tagged_fields)| {
        PartitionProduceData { index, records, unknown_tagged_fields }
    });
    let topic =
        (when(v <= 12, string(), String::new()), when(v >= 13, uuid(), Uuid::ZERO), vec(partition, 0..3), tags(flex))
            .prop_map(|(name, topic_id, partition_data, unknown_tagged_fields)| TopicProduceData {
                name,
                topic_id,
                partition_data,
                unknown_tagged_fields,
            });
    (opt_string(), any::<i16>(), any::<i32>(), vec(topic, 0..3), tags(flex)).prop_map(
        |(transactional_id, acks, timeout_ms, topic_data, unknown_tagged_fields)| ProduceRequest {
            transactional_id,
            acks,
            timeout_ms,
            topic_data,
            unknown_tagged_fields,
        },
    )
}

fn produce_response(v: i16) -> impl Strategy<Value = ProduceResponse> {
    let flex = v >= 9;
    let record_error = (any::<i32>(), opt_string(), tags(flex)).prop_map(
        |(batch_index, batch_index_error_message, unknown_tagged_fields)| BatchIndexAndErrorMessage {
            batch_index,
            batch_index_error_message,
            unknown_tagged_fields,
        },
    );
    let leader =
        (any::<i32>(), any::<i32>(), tags(true)).prop_map(|(leader_id, leader_epoch, unknown_tagged_fields)| {
            LeaderIdAndEpoch { leader_id, leader_epoch, unknown_tagged_fields }
        });
    let partition = (
        (any::<i32>(), error_code(), any::<i64>(), any::<i64>()),
        when(v >= 5, any::<i64>(), -1),
        when(v >= 8, vec(record_error, 0..3), Vec::new()),
        when(v >= 8, opt_string(), None),
        when(v >= 10, prop_oneof![Just(LeaderIdAndEpoch::default()), leader], LeaderIdAndEpoch::default()),
        tags(flex),
    )
        .prop_map(
            |(
                (index, error_code, base_offset, log_append_time_ms),
                log_start_offset,
                record_errors,
                error_message,
                current_leader,
                unknown_tagged_fields,
            )| PartitionProduceResponse {
                index,
                error_code,
                base_offset,
                log_append_time_ms,
                log_start_offset,
                record_errors,
                error_message,
                current_leader,
                unknown_tagged_fields,
            },
        );
    let topic =
        (when(v <= 12, string(), String::new()), when(v >= 13, uuid(), Uuid::ZERO), vec(partition, 0..3), tags(flex))
            .prop_map(|(name, topic_id, partition_responses, unknown_tagged_fields)| TopicProduceResponse {
                name,
                topic_id,
                partition_responses,
                unknown_tagged_fields,
            });
    let endpoint = (any::<i32>(), string(), any::<i32>(), opt_string(), tags(true)).prop_map(
        |(node_id, host, port, rack, unknown_tagged_fields)| NodeEndpoint {
            node_id,
            host,
            port,
            rack,
            unknown_tagged_fields,
        },
    );
    (vec(topic, 0..3), any::<i32>(), when(v >= 10, vec(endpoint, 0..3), Vec::new()), tags(flex)).prop_map(
        |(responses, throttle_time_ms, node_endpoints, unknown_tagged_fields)| ProduceResponse {
            responses,
            throttle_time_ms,
            node_endpoints,
            unknown_tagged_fields,
        },
    )
}

// ---------------------------------------------------------------------------------------------------------------
// InitProducerId.

fn init_producer_id_request(v: i16) -> impl Strategy<Value = InitProducerIdRequest> {
    (
        opt_string(),
        any::<i32>(),
        when(v >= 3, any::<i64>(), -1),
        when(v >= 3, any::<i16>(), -1),
        when(v >= 6, any::<bool>(), false),
        when(v >= 6, any::<bool>(), false),
        tags(v >= 2),
    )
        .prop_map(
            |(
                transactional_id,
                transaction_timeout_ms,
                producer_id,
                producer_epoch,
                enable_2pc,
                keep_prepared_txn,
                unknown_tagged_fields,
            )| InitProducerIdRequest {
                transactional_id,
                transaction_timeout_ms,
                producer_id,
                producer_epoch,
                enable_2pc,
                keep_prepared_txn,
                unknown_tagged_fields,
            },
        )
}

fn init_producer_id_response(v: i16) -> impl Strategy<Value = InitProducerIdResponse> {
    (
        any::<i32>(),
        error_code(),
        any::<i64>(),
        any::<i16>(),
        when(v >= 6, any::<i64>(), -1),
        when(v >= 6, any::<i16>(), -1),
        tags(v >= 2),
    )
        .prop_map(
            |(
                throttle_time_ms,
                error_code,
                producer_id,
                producer_epoch,
                ongoing_txn_producer_id,
                ongoing_txn_producer_epoch,
                unknown_tagged_fields,
            )| InitProducerIdResponse {
                throttle_time_ms,
                error_code,
                producer_id,
                producer_epoch,
                ongoing_txn_producer_id,
                ongoing_txn_producer_epoch,
                unknown_tagged_fields,
            },
        )
}

// ---------------------------------------------------------------------------------------------------------------
// FindCoordinator.

fn find_coordinator_request(v: i16) -> impl Strategy<Value = FindCoordinatorRequest> {
    (
        when(v <= 3, string(), String::new()),
        when(v >= 1, any::<i8>(), 0),
        when(v >= 4, vec(string(), 0..4), Vec::new()),
        tags(v >= 3),
    )
        .prop_map(|(key, key_type, coordinator_keys, unknown_tagged_fields)| FindCoordinatorRequest {
            key,
            key_type,
            coordinator_keys,
            unknown_tagged_fields,
        })
}

fn find_coordinator_response(v: i16) -> impl Strategy<Value = FindCoordinatorResponse> {
    let flex = v >= 3;
    let old = v <= 3;
    let coordinator = (string(), any::<i32>(), string(), any::<i32>(), error_code(), opt_string(), tags(flex))
        .prop_map(|(key, node_id, host, port, error_code, error_message, unknown_tagged_fields)| Coordinator {
            key,
            node_id,
            host,
            port,
            error_code,
            error_message,
            unknown_tagged_fields,
        });
    (
        when(v >= 1, any::<i32>(), 0),
        when(old, error_code(), ErrorCode::NONE),
        when((1..=3).contains(&v), opt_string(), None),
        when(old, any::<i32>(), 0),
        when(old, string(), String::new()),
        when(old, any::<i32>(), 0),
        when(v >= 4, vec(coordinator, 0..3), Vec::new()),
        tags(flex),
    )
        .prop_map(
            |(
                throttle_time_ms,
                error_code,
                error_message,
                node_id,
                host,
                port,
                coordinators,
                unknown_tagged_fields,
            )| {
                FindCoordinatorResponse {
                    throttle_time_ms,
                    error_code,
                    error_message,
                    node_id,
                    host,
                    port,
                    coordinators,
                    unknown_tagged_fields,
                }
            },
        )
}

// ---------------------------------------------------------------------------------------------------------------
// CreateTopics.

fn create_topics_request(v: i16) -> impl Strategy<Value = CreateTopicsRequest> {
    let flex = v >= 5;
    let assignment = (any::<i32>(), vec(any::<i32>(), 0..4), tags(flex)).prop_map(
        |(partition_index, broker_ids, unknown_tagged_fields)| CreatableReplicaAssignment {
            partition_index,
            broker_ids,
            unknown_tagged_fields,
        },
    );
    let config = (string(), opt_string(), tags(flex))
        .prop_map(|(name, value, unknown_tagged_fields)| CreatableTopicConfig { name, value, unknown_tagged_fields });
    let topic = (string(), any::<i32>(), any::<i16>(), vec(assignment, 0..3), vec(config, 0..3), tags(flex)).prop_map(
        |(name, num_partitions, replication_factor, assignments, configs, unknown_tagged_fields)| CreatableTopic {
            name,
            num_partitions,
            replication_factor,
            assignments,
            configs,
            unknown_tagged_fields,
        },
    );
    (vec(topic, 0..3), any::<i32>(), any::<bool>(), tags(flex)).prop_map(
        |(topics, timeout_ms, validate_only, unknown_tagged_fields)| CreateTopicsRequest {
            topics,
            timeout_ms,
            validate_only,
            unknown_tagged_fields,
        },
    )
}

fn create_topics_response(v: i16) -> impl Strategy<Value = CreateTopicsResponse> {
    let flex = v >= 5;
    let config = (string(), opt_string(), any::<bool>(), any::<i8>(), any::<bool>(), tags(flex)).prop_map(
        |(name, value, read_only, config_source, is_sensitive, unknown_tagged_fields)| CreatableTopicConfigs {
            name,
            value,
            read_only,
            config_source,
            is_sensitive,
            unknown_tagged_fields,
        },
    );
    let topic = (
        string(),
        when(v >= 7, uuid(), Uuid::ZERO),
        error_code(),
        opt_string(),
        when(v >= 5, error_code(), ErrorCode::NONE),
        when(v >= 5, any::<i32>(), -1),
        when(v >= 5, any::<i16>(), -1),
        when(v >= 5, proptest::option::of(vec(config, 0..3)), None),
        tags(flex),
    )
        .prop_map(
            |(
                name,
                topic_id,
                error_code,
                error_message,
                topic_config_error_code,
                num_partitions,
                replication_factor,
                configs,
                unknown_tagged_fields,
            )| CreatableTopicResult {
                name,
                topic_id,
                error_code,
                error_message,
                topic_config_error_code,
                num_partitions,
                replication_factor,
                configs,
                unknown_tagged_fields,
            },
        );
    (any::<i32>(), vec(topic, 0..3), tags(flex)).prop_map(|(throttle_time_ms, topics, unknown_tagged_fields)| {
        CreateTopicsResponse { throttle_time_ms, topics, unknown_tagged_fields }
    })
}

// ---------------------------------------------------------------------------------------------------------------
// DeleteTopics.

fn delete_topics_request(v: i16) -> impl Strategy<Value = DeleteTopicsRequest> {
    let flex = v >= 4;
    let state = (opt_string(), uuid(), tags(flex))
        .prop_map(|(name, topic_id, unknown_tagged_fields)| DeleteTopicState { name, topic_id, unknown_tagged_fields });
    (
        when(v >= 6, vec(state, 0..3), Vec::new()),
        when(v <= 5, vec(string(), 0..4), Vec::new()),
        any::<i32>(),
        tags(flex),
    )
        .prop_map(|(topics, topic_names, timeout_ms, unknown_tagged_fields)| DeleteTopicsRequest {
            topics,
            topic_names,
            timeout_ms,
            unknown_tagged_fields,
        })
}

fn delete_topics_response(v: i16) -> impl Strategy<Value = DeleteTopicsResponse> {
    let flex = v >= 4;
    let result = (
        when(v >= 6, opt_string(), Some(String::new())),
        string(),
        when(v >= 6, uuid(), Uuid::ZERO),
        error_code(),
        when(v >= 5, opt_string(), None),
        tags(flex),
    )
        .prop_map(move |(name, plain_name, topic_id, error_code, error_message, unknown_tagged_fields)| {
            DeletableTopicResult {
                name: if v >= 6 { name } else { Some(plain_name) },
                topic_id,
                error_code,
                error_message,
                unknown_tagged_fields,
            }
        });
    (any::<i32>(), vec(result, 0..3), tags(flex)).prop_map(|(throttle_time_ms, responses, unknown_tagged_fields)| {
        DeleteTopicsResponse { throttle_time_ms, responses, unknown_tagged_fields }
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Round trips and truncations at every version.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn produce_request_round_trips((v, m) in at_versions(3..=13, produce_request)) {
        check(&m, v)?;
    }

    #[test]
    fn produce_response_round_trips((v, m) in at_versions(3..=13, produce_response)) {
        check(&m, v)?;
    }

    #[test]
    fn init_producer_id_request_round_trips((v, m) in at_versions(0..=6, init_producer_id_request)) {
        check(&m, v)?;
    }

    #[test]
    fn init_producer_id_response_round_trips((v, m) in at_versions(0..=6, init_producer_id_response)) {
        check(&m, v)?;
    }

    #[test]
    fn find_coordinator_request_round_trips((v, m) in at_versions(0..=6, find_coordinator_request)) {
        check(&m, v)?;
    }

    #[test]
    fn find_coordinator_response_round_trips((v, m) in at_versions(0..=6, find_coordinator_response)) {
        check(&m, v)?;
    }

    #[test]
    fn create_topics_request_round_trips((v, m) in at_versions(2..=7, create_topics_request)) {
        check(&m, v)?;
    }

    #[test]
    fn create_topics_response_round_trips((v, m) in at_versions(2..=7, create_topics_response)) {
        check(&m, v)?;
    }

    #[test]
    fn delete_topics_request_round_trips((v, m) in at_versions(1..=6, delete_topics_request)) {
        check(&m, v)?;
    }

    #[test]
    fn delete_topics_response_round_trips((v, m) in at_versions(1..=6, delete_topics_response)) {
        check(&m, v)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..96), v in 0i16..16) {
        no_panic::<ProduceRequest>(&bytes, v);
        no_panic::<ProduceResponse>(&bytes, v);
        no_panic::<InitProducerIdRequest>(&bytes, v);
        no_panic::<InitProducerIdResponse>(&bytes, v);
        no_panic::<FindCoordinatorRequest>(&bytes, v);
        no_panic::<FindCoordinatorResponse>(&bytes, v);
        no_panic::<CreateTopicsRequest>(&bytes, v);
        no_panic::<CreateTopicsResponse>(&bytes, v);
        no_panic::<DeleteTopicsRequest>(&bytes, v);
        no_panic::<DeleteTopicsResponse>(&bytes, v);
    }
}

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
