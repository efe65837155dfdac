//! Property tests for the ApiVersions and Metadata codecs, at every version each implements.
//!
//! The strategies build values that a given version can carry: fields the version lacks hold their defaults,
//! nullable values are null only where the version allows it, unknown tagged fields appear only in flexible
//! versions. For each: encode → decode gives the value back, and decode → encode gives the bytes back. Every strict
//! prefix of an encoding fails to decode (without panicking), and arbitrary bytes never panic a decoder.

use std::collections::BTreeMap;
use std::fmt::Debug;

use bytes::Bytes;
use kafkar_protocol::ErrorCode;
use kafkar_protocol::messages::api_versions::{
    ApiVersion, ApiVersionsRequest, ApiVersionsResponse, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafkar_protocol::messages::metadata::{
    MetadataRequest, MetadataRequestTopic, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition,
    MetadataResponseTopic,
};
use kafkar_protocol::messages::{Message, RoundTripError, reencode};
use kafkar_protocol::primitives::{RawTaggedField, Reader, Uuid};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const CASES_PER_VERSION: u32 = 96;

/// Unknown tagged fields, in ascending tag order (as they are written and read back), from tag 10 up so as not to
/// collide with known tags; none before `flexible`.
fn tagged(flexible: bool) -> BoxedStrategy<Vec<RawTaggedField>> {
    if !flexible {
        return Just(Vec::new()).boxed();
    }
    prop_oneof![
        3 => Just(Vec::new()),
        1 => btree_map(10u32..100_000, vec(any::<u8>(), 0..6), 1..3).prop_map(|m: BTreeMap<u32, Vec<u8>>| {
            m.into_iter().map(|(tag, data)| RawTaggedField { tag, data: Bytes::from(data) }).collect()
        }),
    ]
    .boxed()
}

/// A string, with some non-ASCII characters.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._-]{0,12}|\\PC{0,6}"
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<[u8; 16]>().prop_map(Uuid)
}

/// `strategy` when `present`, else `default`.
fn at<T: Clone + Debug + 'static>(
    present: bool,
    strategy: impl Strategy<Value = T> + 'static,
    default: T,
) -> BoxedStrategy<T> {
    if present { strategy.boxed() } else { Just(default).boxed() }
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    any::<i16>().prop_map(ErrorCode)
}

// --- Metadata ----------------------------------------------------------------------------------------------------

fn metadata_request_topic(v: i16) -> impl Strategy<Value = MetadataRequestTopic> {
    let flex = v >= 9;
    (
        at(v >= 10, uuid(), Uuid::ZERO),
        // Nullable from v10.
        if v >= 10 { option::of(text()).boxed() } else { text().prop_map(Some).boxed() },
        tagged(flex),
    )
        .prop_map(|(topic_id, name, unknown_tagged_fields)| MetadataRequestTopic {
            topic_id,
            name,
            unknown_tagged_fields,
        })
}

fn metadata_request(v: i16) -> impl Strategy<Value = MetadataRequest> {
    let topics = if v == 0 {
        // v0: "all topics" (None) or a non-empty list; it cannot ask for no topics.
        prop_oneof![Just(None), vec(metadata_request_topic(v), 1..4).prop_map(Some)].boxed()
    } else {
        option::of(vec(metadata_request_topic(v), 0..4)).boxed()
    };
    (
        topics,
        at(v >= 4, any::<bool>(), true),
        at((8..=10).contains(&v), any::<bool>(), false),
        at(v >= 8, any::<bool>(), false),
        tagged(v >= 9),
    )
        .prop_map(|(topics, allow, cluster_ops, topic_ops, unknown_tagged_fields)| MetadataRequest {
            topics,
            allow_auto_topic_creation: allow,
            include_cluster_authorized_operations: cluster_ops,
            include_topic_authorized_operations: topic_ops,
            unknown_tagged_fields,
        })
}

fn metadata_broker(v: i16) -> impl Strategy<Value = MetadataResponseBroker> {
    (any::<i32>(), text(), any::<i32>(), at(v >= 1, option::of(text()), None), tagged(v >= 9)).prop_map(
        |(node_id, host, port, rack, unknown_tagged_fields)| MetadataResponseBroker {
            node_id,
            host,
            port,
            rack,
            unknown_tagged_fields,
        },
    )
}

fn metadata_partition(v: i16) -> impl Strategy<Value = MetadataResponsePartition> {
    (
        (error_code(), any::<i32>(), any::<i32>(), at(v >= 7, any::<i32>(), -1)),
        (vec(any::<i32>(), 0..4), vec(any::<i32>(), 0..4), at(v >= 5, vec(any::<i32>(), 0..3), Vec::new())),
        tagged(v >= 9),
    )
        .prop_map(|((error_code, partition_index, leader_id, leader_epoch), (replicas, isr, offline), tf)| {
            MetadataResponsePartition {
                error_code,
                partition_index,
                leader_id,
                leader_epoch,
                replica_nodes: replicas,
                isr_nodes: isr,
                offline_replicas: offline,
                unknown_tagged_fields: tf,
            }
        })
}

fn metadata_topic(v: i16) -> impl Strategy<Value = MetadataResponseTopic> {
    let name = if v >= 12 { option::of(text()).boxed() } else { text().prop_map(Some).boxed() };
    (
        (error_code(), name, at(v >= 10, uuid(), Uuid::ZERO), at(v >= 1, any::<bool>(), false)),
        vec(metadata_partition(v), 0..3),
        at(v >= 8, any::<i32>(), i32::MIN),
        tagged(v >= 9),
    )
        .prop_map(|((error_code, name, topic_id, is_internal), partitions, ops, tf)| MetadataResponseTopic {
            error_code,
            name,
            topic_id,
            is_internal,
            partitions,
            topic_authorized_operations: ops,
            unknown_tagged_fields: tf,
        })
}

fn metadata_response(v: i16) -> impl Strategy<Value = MetadataResponse> {
    (
        (at(v >= 3, any::<i32>(), 0), vec(metadata_broker(v), 0..3), at(v >= 2, option::of(text()), None)),
        (at(v >= 1, any::<i32>(), -1), vec(metadata_topic(v), 0..3)),
        (at((8..=10).contains(&v), any::<i32>(), i32::MIN), at(v >= 13, error_code(), ErrorCode::NONE)),
        tagged(v >= 9),
    )
        .prop_map(|((throttle, brokers, cluster_id), (controller_id, topics), (cluster_ops, error_code), tf)| {
            MetadataResponse {
                throttle_time_ms: throttle,
                brokers,
                cluster_id,
                controller_id,
                topics,
                cluster_authorized_operations: cluster_ops,
                error_code,
                unknown_tagged_fields: tf,
            }
        })
}

// --- ApiVersions -------------------------------------------------------------------------------------------------

fn api_versions_request(v: i16) -> impl Strategy<Value = ApiVersionsRequest> {
    (
        at(v >= 3, text(), String::new()),
        at(v >= 3, text(), String::new()),
        at(v >= 5, option::of(text()), None),
        at(v >= 5, any::<i32>(), -1),
        tagged(v >= 3),
    )
        .prop_map(|(name, ver, cluster_id, node_id, tf)| ApiVersionsRequest {
            client_software_name: name,
            client_software_version: ver,
            cluster_id,
            node_id,
            unknown_tagged_fields: tf,
        })
}

fn api_versions_response(v: i16) -> impl Strategy<Value = ApiVersionsResponse> {
    let flex = v >= 3;
    let key = (any::<i16>(), any::<i16>(), any::<i16>(), tagged(flex)).prop_map(|(k, min, max, tf)| ApiVersion {
        api_key: k,
        min_version: min,
        max_version: max,
        unknown_tagged_fields: tf,
    });
    let supported = (text(), any::<i16>(), any::<i16>(), tagged(true)).prop_map(|(name, min, max, tf)| {
        SupportedFeatureKey { name, min_version: min, max_version: max, unknown_tagged_fields: tf }
    });
    let finalized = (text(), any::<i16>(), any::<i16>(), tagged(true)).prop_map(|(name, max, min, tf)| {
        FinalizedFeatureKey { name, max_version_level: max, min_version_level: min, unknown_tagged_fields: tf }
    });
    (
        (error_code(), vec(key, 0..4), at(v >= 1, any::<i32>(), 0)),
        (
            at(flex, vec(supported, 0..3), Vec::new()),
            at(flex, any::<i64>(), -1),
            at(flex, vec(finalized, 0..3), Vec::new()),
            at(flex, any::<bool>(), false),
        ),
        tagged(flex),
    )
        .prop_map(|((error_code, api_keys, throttle), (supported, epoch, finalized, zk), tf)| {
            ApiVersionsResponse {
                error_code,
                api_keys,
                throttle_time_ms: throttle,
                supported_features: supported,
                finalized_features_epoch: epoch,
                finalized_features: finalized,
                zk_migration_ready: zk,
                unknown_tagged_fields: tf,
            }
        })
}

// --- Properties --------------------------------------------------------------------------------------------------

fn decode<M: Message>(b: &[u8], v: i16) -> Result<M, kafkar_protocol::DecodeError> {
    M::decode_exact(&mut Reader::new(Bytes::copy_from_slice(b)), v)
}

/// encode → decode → equal; decode → encode → same bytes; every strict prefix fails to decode.
fn round_trip<M: Message + PartialEq + Debug>(m: &M, v: i16) -> Result<(), TestCaseError> {
    let bytes = m.to_bytes(v).map_err(|e| TestCaseError::fail(format!("v{v}: encode failed: {e} for {m:?}")))?;
    let back: M = decode(&bytes, v).map_err(|e| TestCaseError::fail(format!("v{v}: decode failed: {e}")))?;
    prop_assert_eq!(&back, m, "v{}: decoded value differs", v);
    let again = back.to_bytes(v).map_err(|e| TestCaseError::fail(format!("v{v}: re-encode failed: {e}")))?;
    prop_assert_eq!(&again[..], &bytes[..], "v{}: re-encoded bytes differ", v);
    for len in 0..bytes.len() {
        prop_assert!(
            decode::<M>(&bytes[..len], v).is_err(),
            "v{}: prefix of {} of {} bytes decoded",
            v,
            len,
            bytes.len()
        );
    }
    Ok(())
}

/// Runs `round_trip` on values from `strategy(v)` for every version `M` implements.
fn every_version<M, S>(strategy: impl Fn(i16) -> S)
where
    M: Message + PartialEq + Debug,
    S: Strategy<Value = M>,
{
    let versions = M::SPEC.versions;
    for v in versions.min..=versions.max {
        let mut runner = TestRunner::new(Config { cases: CASES_PER_VERSION, ..Config::default() });
        if let Err(e) = runner.run(&strategy(v), |m| round_trip(&m, v)) {
            panic!("{} v{v}: {e}", M::SPEC.name);
        }
    }
}

#[test]
fn metadata_request_round_trips_at_every_version() {
    every_version(metadata_request);
}

#[test]
fn metadata_response_round_trips_at_every_version() {
    every_version(metadata_response);
}

#[test]
fn api_versions_request_round_trips_at_every_version() {
    every_version(api_versions_request);
}

#[test]
fn api_versions_response_round_trips_at_every_version() {
    every_version(api_versions_response);
}

const NAMES: [&str; 4] = ["ApiVersionsRequest", "ApiVersionsResponse", "MetadataRequest", "MetadataResponse"];

proptest! {
    #![proptest_config(Config { cases: 2048, ..Config::default() })]

    /// Arbitrary bytes at any version (including ones outside the range) never panic; whatever decodes re-encodes.
    #[test]
    fn arbitrary_bytes_never_panic(which in 0usize..4, v in -1i16..16, b in vec(any::<u8>(), 0..96)) {
        match reencode(NAMES[which], Bytes::from(b), v) {
            Some(Ok(_)) | Some(Err(RoundTripError::Decode(_))) => {}
            Some(Err(e)) => prop_assert!(false, "{} v{}: decoded bytes did not round-trip: {}", NAMES[which], v, e),
            None => prop_assert!(false, "{} is not registered", NAMES[which]),
        }
    }

    /// Mutating one byte of a valid encoding never panics a decoder.
    #[test]
    fn corrupted_metadata_response_never_panics(
        (v, m) in (0i16..=13).prop_flat_map(|v| (Just(v), metadata_response(v))),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut b = m.to_bytes(v).map_err(|e| TestCaseError::fail(e.to_string()))?.to_vec();
        if !b.is_empty() {
            let i = pos.index(b.len());
            b[i] = byte;
        }
        let _ = reencode("MetadataResponse", Bytes::from(b), v);
    }
}
