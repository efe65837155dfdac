//! Metadata (key 3): the cluster's brokers, controller and cluster id, and for each requested topic its id,
//! partitions, leaders, leader epochs and replica sets. Versions 0–13.
//!
//! Version notes (from Kafka's spec): v1 adds racks, the controller id, `IsInternal` and null-means-all-topics; v2 the
//! cluster id; v3 the throttle time; v4 `AllowAutoTopicCreation`; v5 offline replicas; v7 leader epochs; v8
//! authorized operations; v9 is the first flexible version; v10 topic ids (usable from v12, where topic names become
//! nullable in the response); v11 drops the cluster authorized operations (now DescribeCluster's); v13 adds a
//! top-level error code.
//!
//! "All topics" is a null topic array from v1 on, but an empty array in v0 (where an empty array cannot mean "no
//! topics"). The `topics` field of [`MetadataRequest`] holds the meaning, not the wire form: `None` is "all topics"
//! at every version (written as an empty array in v0, and an empty v0 array decodes to `None`), `Some(vec![])` is
//! "no topics" and cannot be sent at v0.
//!
//! As everywhere in this crate, a value that a version cannot carry is an encode error, also for the fields the spec
//! marks ignorable (which Java's serializer silently drops): e.g. a non-zero topic id below v10, a leader epoch other
//! than -1 below v7, or a null topic name below v10 (request) / v12 (response).

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Uuid;

message! {
    /// Metadata request.
    pub struct MetadataRequest: request(METADATA -> MetadataResponse), versions "0-13", flexible "9+" {
        /// The topics to describe. `None` asks for all topics (a null array in v1+, an empty array in v0);
        /// `Some(vec![])` asks for none (brokers and cluster only; v1+: v0 cannot express it).
        topics: Option<Vec<MetadataRequestTopic>> = "Topics" "[]MetadataRequestTopic" "0+" nullable "1+"
            with all_topics default Some(Vec::new()),
        /// Whether the broker may auto-create requested topics that do not exist, if it is configured to (earlier
        /// versions behave as `true`, the default).
        allow_auto_topic_creation: bool = "AllowAutoTopicCreation" "bool" "4+" default true,
        /// Whether to return the cluster's authorized operations (DescribeCluster carries them from v11).
        include_cluster_authorized_operations: bool = "IncludeClusterAuthorizedOperations" "bool" "8-10",
        /// Whether to return each topic's authorized operations.
        include_topic_authorized_operations: bool = "IncludeTopicAuthorizedOperations" "bool" "8+",
    }
}

structure! {
    /// One topic of a [`MetadataRequest`], by name or (v12+) by id.
    pub struct MetadataRequestTopic {
        /// The topic id (brokers honour it from v12). [`Uuid::ZERO`] when asking by name.
        topic_id: Uuid = "TopicId" "uuid" "10+",
        /// The topic name. Required (`Some`) before v10; `None` from v10 when asking by id (brokers honour it from v12).
        name: Option<String> = "Name" "string" "0+" nullable "10+",
    }
}

message! {
    /// Metadata response.
    pub struct MetadataResponse: response(METADATA), versions "0-13", flexible "9+" {
        /// How long the request was throttled for a quota, in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "3+",
        /// The cluster's brokers.
        brokers: Vec<MetadataResponseBroker> = "Brokers" "[]MetadataResponseBroker" "0+",
        /// The cluster id.
        cluster_id: Option<String> = "ClusterId" "string" "2+" nullable "2+",
        /// The controller's broker id (v1+); -1 when unknown.
        controller_id: i32 = "ControllerId" "int32" "1+" default -1,
        /// The topics asked for.
        topics: Vec<MetadataResponseTopic> = "Topics" "[]MetadataResponseTopic" "0+",
        /// Bit field of the operations the client may perform on the cluster (v8–10), or
        /// [`AUTHORIZED_OPERATIONS_OMITTED`].
        cluster_authorized_operations: i32 = "ClusterAuthorizedOperations" "int32" "8-10" default AUTHORIZED_OPERATIONS_OMITTED,
        /// The top-level error.
        error_code: ErrorCode = "ErrorCode" "int16" "13+",
    }
}

structure! {
    /// A broker of the cluster.
    pub struct MetadataResponseBroker {
        /// The broker id.
        node_id: i32 = "NodeId" "int32" "0+",
        /// The broker's host name.
        host: String = "Host" "string" "0+",
        /// The broker's port.
        port: i32 = "Port" "int32" "0+",
        /// The broker's rack (v1+); `None` when it has none.
        rack: Option<String> = "Rack" "string" "1+" nullable "1+",
    }
}

structure! {
    /// One topic of the response.
    pub struct MetadataResponseTopic {
        /// The topic's error (e.g. `UNKNOWN_TOPIC_OR_PARTITION`).
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The topic name. Always `Some` before v12; from v12 `None` for an unknown topic asked for by id.
        name: Option<String> = "Name" "string" "0+" nullable "12+",
        /// The topic id (v10+); [`Uuid::ZERO`] for an unknown topic asked for by name.
        topic_id: Uuid = "TopicId" "uuid" "10+",
        /// Whether the topic is internal.
        is_internal: bool = "IsInternal" "bool" "1+",
        /// The topic's partitions.
        partitions: Vec<MetadataResponsePartition> = "Partitions" "[]MetadataResponsePartition" "0+",
        /// Bit field of the operations the client may perform on the topic (v8+), or
        /// [`AUTHORIZED_OPERATIONS_OMITTED`].
        topic_authorized_operations: i32 = "TopicAuthorizedOperations" "int32" "8+" default AUTHORIZED_OPERATIONS_OMITTED,
    }
}

structure! {
    /// One partition of a topic.
    pub struct MetadataResponsePartition {
        /// The partition's error (e.g. `LEADER_NOT_AVAILABLE`).
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The partition index.
        partition_index: i32 = "PartitionIndex" "int32" "0+",
        /// The leader's broker id (-1 when there is none).
        leader_id: i32 = "LeaderId" "int32" "0+",
        /// The leader epoch (v7+); -1 when unknown.
        leader_epoch: i32 = "LeaderEpoch" "int32" "7+" default -1,
        /// All replicas of the partition.
        replica_nodes: Vec<i32> = "ReplicaNodes" "[]int32" "0+",
        /// The in-sync replicas.
        isr_nodes: Vec<i32> = "IsrNodes" "[]int32" "0+",
        /// The offline replicas.
        offline_replicas: Vec<i32> = "OfflineReplicas" "[]int32" "5+",
    }
}

/// The codec of [`MetadataRequest::topics`]: `None` ("all topics") is a null array from v1 but an empty array in
/// v0, which therefore cannot ask for no topics (see the module documentation).
mod all_topics {
    use super::MetadataRequestTopic;
    use crate::messages::table::{At, Ctx, FieldCodec};
    use crate::primitives::Reader;
    use crate::{DecodeError, EncodeError};

    type Topics = Option<Vec<MetadataRequestTopic>>;

    pub(super) fn put(v: &Topics, buf: &mut bytes::BytesMut, cx: Ctx, at: &At) -> Result<(), EncodeError> {
        match v {
            None if cx.version == 0 => Vec::<MetadataRequestTopic>::new().put(buf, cx, at),
            Some(t) if t.is_empty() && cx.version == 0 => {
                Err(EncodeError::Invalid { what: "topics", reason: "v0 cannot ask for no topics" })
            }
            v => v.put(buf, cx, at),
        }
    }

    pub(super) fn get(r: &mut Reader, cx: Ctx, at: &At) -> Result<Topics, DecodeError> {
        match Topics::get(r, cx, at)? {
            Some(t) if t.is_empty() && cx.version == 0 => Ok(None),
            v => Ok(v),
        }
    }

    pub(super) fn min_size(cx: Ctx) -> usize {
        Topics::min_size(cx)
    }

    #[cfg(test)]
    pub(super) fn arb(cx: Ctx, nullable: bool) -> proptest::strategy::BoxedStrategy<Topics> {
        use proptest::strategy::Strategy;
        let v0 = cx.version == 0;
        <Topics as crate::messages::table::arb::Arb>::arb(cx, nullable || v0)
            .prop_map(move |t| if v0 && t.as_ref().is_some_and(Vec::is_empty) { None } else { t })
            .boxed()
    }
}

/// The "not requested / unknown" value of the authorized-operations bit fields (`INT32_MIN`).
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

impl MetadataRequest {
    /// A request for every topic in the cluster.
    pub fn all_topics() -> MetadataRequest {
        MetadataRequest { topics: None, ..Default::default() }
    }

    /// A request for the cluster's brokers and controller only, no topic (v1+).
    pub fn no_topics() -> MetadataRequest {
        MetadataRequest::default()
    }

    /// A request for the named topics. An empty list asks for no topics (not all; see [`MetadataRequest::all_topics`]).
    pub fn topics<I, S>(names: I) -> MetadataRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let topics =
            names.into_iter().map(|n| MetadataRequestTopic { name: Some(n.into()), ..Default::default() }).collect();
        MetadataRequest { topics: Some(topics), ..Default::default() }
    }

    /// A request for topics by id (v12+: brokers ignore ids in v10 and v11, and v0–9 cannot carry them).
    pub fn topic_ids(ids: impl IntoIterator<Item = Uuid>) -> MetadataRequest {
        let topics = ids.into_iter().map(|id| MetadataRequestTopic { topic_id: id, ..Default::default() }).collect();
        MetadataRequest { topics: Some(topics), ..Default::default() }
    }

    /// The same request with auto topic creation allowed or not (v4+ carries `false`).
    pub fn with_allow_auto_topic_creation(mut self, allow: bool) -> MetadataRequest {
        self.allow_auto_topic_creation = allow;
        self
    }
}

impl MetadataResponse {
    /// The topic named `name`, if the response holds it.
    pub fn find_topic(&self, name: &str) -> Option<&MetadataResponseTopic> {
        self.topics.iter().find(|t| t.name.as_deref() == Some(name))
    }

    /// The topic with id `id`, if the response holds it (v10+ responses carry ids).
    pub fn find_topic_by_id(&self, id: Uuid) -> Option<&MetadataResponseTopic> {
        if id.is_zero() {
            return None;
        }
        self.topics.iter().find(|t| t.topic_id == id)
    }

    /// The broker with id `node_id`, if the response lists it.
    pub fn find_broker(&self, node_id: i32) -> Option<&MetadataResponseBroker> {
        self.brokers.iter().find(|b| b.node_id == node_id)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::messages::Message;
    use crate::primitives::{RawTaggedField, Reader};
    use crate::{DecodeError, EncodeError};

    // Strategies for values each version can carry: fields it lacks at their defaults, null only where allowed.

    fn decode_req(b: &[u8], v: i16) -> Result<MetadataRequest, DecodeError> {
        MetadataRequest::decode_exact(&mut Reader::new(Bytes::copy_from_slice(b)), v)
    }

    #[test]
    fn all_topics_is_null_from_v1_and_empty_in_v0() {
        let all = MetadataRequest::all_topics();
        // v0: empty int32 array.
        assert_eq!(&all.to_bytes(0).unwrap()[..], &[0, 0, 0, 0]);
        // v1: null int32 array.
        assert_eq!(&all.to_bytes(1).unwrap()[..], &[0xff, 0xff, 0xff, 0xff]);
        // v9: compact null array (0), auto-create, cluster ops, topic ops, no tagged fields.
        assert_eq!(&all.to_bytes(9).unwrap()[..], &[0, 1, 0, 0, 0]);
        assert_eq!(decode_req(&[0, 0, 0, 0], 0).unwrap(), all);
        assert_eq!(decode_req(&[0xff, 0xff, 0xff, 0xff], 1).unwrap(), all);
        // v1: an empty array is "no topics".
        assert_eq!(decode_req(&[0, 0, 0, 0], 1).unwrap(), MetadataRequest::no_topics());
        // v0 has no null and no way to say "no topics".
        assert!(decode_req(&[0xff, 0xff, 0xff, 0xff], 0).is_err());
        assert!(MetadataRequest::no_topics().to_bytes(0).is_err());
    }

    #[test]
    fn named_topics_v0_and_v12() {
        let r = MetadataRequest::topics(["ab"]);
        assert_eq!(&r.to_bytes(0).unwrap()[..], &[0, 0, 0, 1, 0, 2, b'a', b'b']);
        let mut expect = vec![2];
        expect.extend_from_slice(&[0; 16]);
        expect.extend_from_slice(&[3, b'a', b'b', 0, 1, 0, 0]);
        assert_eq!(&r.to_bytes(12).unwrap()[..], &expect[..]);
        assert_eq!(decode_req(&expect, 12).unwrap(), r);
    }

    #[test]
    fn values_a_version_cannot_carry_are_errors() {
        let by_id = MetadataRequest::topic_ids([Uuid::from_u64_pair(1, 2)]);
        assert!(matches!(by_id.to_bytes(9), Err(EncodeError::UnsupportedField { field: "topic_id", .. })));
        let by_id_no_name =
            MetadataRequest { topics: Some(vec![MetadataRequestTopic::default()]), ..Default::default() };
        assert!(matches!(by_id_no_name.to_bytes(9), Err(EncodeError::NullNotAllowed { field: "name", .. })));
        assert!(by_id.to_bytes(10).is_ok());
        assert!(MetadataRequest::all_topics().with_allow_auto_topic_creation(false).to_bytes(3).is_err());
        assert!(MetadataRequest::all_topics().with_allow_auto_topic_creation(false).to_bytes(4).is_ok());
        let ops = MetadataRequest { include_cluster_authorized_operations: true, ..Default::default() };
        assert!(ops.to_bytes(7).is_err());
        assert!(ops.to_bytes(10).is_ok());
        assert!(ops.to_bytes(11).is_err());

        let resp = MetadataResponse { error_code: ErrorCode::UNKNOWN_SERVER_ERROR, ..Default::default() };
        assert!(resp.to_bytes(12).is_err());
        assert!(resp.to_bytes(13).is_ok());
        let part = MetadataResponsePartition { leader_epoch: 5, ..Default::default() };
        let topic = MetadataResponseTopic { name: Some("t".into()), partitions: vec![part], ..Default::default() };
        let resp = MetadataResponse { topics: vec![topic.clone()], ..Default::default() };
        assert!(matches!(resp.to_bytes(6), Err(EncodeError::UnsupportedField { field: "leader_epoch", .. })));
        assert!(resp.to_bytes(7).is_ok());
        let unnamed = MetadataResponse { topics: vec![MetadataResponseTopic { name: None, ..topic }], ..resp };
        assert!(unnamed.to_bytes(11).is_err());
        assert!(unnamed.to_bytes(12).is_ok());
    }

    #[test]
    fn defaults_mirror_the_spec() {
        let r = MetadataRequest::default();
        assert!(r.allow_auto_topic_creation);
        assert!(!r.include_cluster_authorized_operations && !r.include_topic_authorized_operations);
        let m = MetadataResponse::default();
        assert_eq!((m.throttle_time_ms, m.controller_id, m.cluster_id.clone()), (0, -1, None));
        assert_eq!(m.cluster_authorized_operations, i32::MIN);
        assert_eq!(m.error_code, ErrorCode::NONE);
        let t = MetadataResponseTopic::default();
        assert_eq!((t.topic_id, t.is_internal, t.topic_authorized_operations), (Uuid::ZERO, false, i32::MIN));
        assert_eq!(MetadataResponsePartition::default().leader_epoch, -1);
        assert_eq!(MetadataResponseBroker::default().rack, None);
    }

    #[test]
    fn response_v0_layout() {
        let m = MetadataResponse {
            brokers: vec![MetadataResponseBroker { node_id: 1, host: "h".into(), port: 9092, ..Default::default() }],
            topics: vec![MetadataResponseTopic {
                name: Some("t".into()),
                partitions: vec![MetadataResponsePartition {
                    leader_id: 1,
                    replica_nodes: vec![1],
                    isr_nodes: vec![1],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let b = m.to_bytes(0).unwrap();
        #[rustfmt::skip]
        let expect: &[u8] = &[
            0, 0, 0, 1, 0, 0, 0, 1, 0, 1, b'h', 0, 0, 0x23, 0x84, // brokers
            0, 0, 0, 1, 0, 0, 0, 1, b't', // topics: error, name
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // partitions: count, error, index, leader
            0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, // replicas, isr
        ];
        assert_eq!(&b[..], expect);
        assert_eq!(MetadataResponse::decode_exact(&mut Reader::new(b.freeze()), 0).unwrap(), m);
    }

    #[test]
    fn unknown_tagged_fields_round_trip() {
        let tf = vec![RawTaggedField { tag: 7, data: Bytes::from_static(b"xy") }];
        let m = MetadataResponse {
            brokers: vec![MetadataResponseBroker {
                host: "h".into(),
                unknown_tagged_fields: tf.clone(),
                ..Default::default()
            }],
            unknown_tagged_fields: tf.clone(),
            ..Default::default()
        };
        let b = m.to_bytes(9).unwrap().freeze();
        assert_eq!(MetadataResponse::decode_exact(&mut Reader::new(b), 9).unwrap(), m);
        assert!(m.to_bytes(8).is_err());
    }
}
