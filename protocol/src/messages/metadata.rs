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

use bytes::{BufMut, BytesMut};

use super::struct_codec::{
    put_array, put_i32_array, put_unknown_tagged, read_array, read_i32_array, read_unknown_tagged,
};
use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, Uuid, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(9);

/// The "not requested / unknown" value of the authorized-operations bit fields (`INT32_MIN`).
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

/// Writes a string that is nullable only from `nullable_from`; null earlier is [`EncodeError::NullNotAllowed`].
fn put_name(
    buf: &mut BytesMut,
    name: Option<&str>,
    nullable_from: i16,
    flex: bool,
    what: &'static str,
    version: i16,
) -> Result<(), EncodeError> {
    if name.is_none() && version < nullable_from {
        return Err(EncodeError::NullNotAllowed { field: what, version });
    }
    buf.put_nullable_string(name, flex, what)
}

/// Reads a string that is nullable only from `nullable_from`.
fn read_name(
    r: &mut Reader,
    nullable_from: i16,
    flex: bool,
    what: &'static str,
    version: i16,
) -> Result<Option<String>, DecodeError> {
    if version >= nullable_from { r.nullable_string(flex, what) } else { r.string(flex, what).map(Some) }
}

// ---------------------------------------------------------------------------------------------------------------
// Request

/// One topic of a [`MetadataRequest`], by name or (v12+) by id.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MetadataRequestTopic {
    /// The topic id (v10+; brokers honour it from v12). [`Uuid::ZERO`] when asking by name.
    pub topic_id: Uuid,
    /// The topic name. Required (`Some`) before v10; `None` from v10 when asking by id (brokers honour it from v12).
    pub name: Option<String>,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// Metadata request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataRequest {
    /// The topics to describe. `None` asks for all topics (a null array in v1+, an empty array in v0);
    /// `Some(vec![])` asks for none (brokers and cluster only; v1+: v0 cannot express it).
    pub topics: Option<Vec<MetadataRequestTopic>>,
    /// Whether the broker may auto-create requested topics that do not exist, if it is configured to (v4+; earlier
    /// versions behave as `true`, the default).
    pub allow_auto_topic_creation: bool,
    /// Whether to return the cluster's authorized operations (v8–10; DescribeCluster carries them from v11).
    pub include_cluster_authorized_operations: bool,
    /// Whether to return each topic's authorized operations (v8+).
    pub include_topic_authorized_operations: bool,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for MetadataRequest {
    /// No topics (`Some(vec![])`, as the spec's default of an empty array means from v1), auto-creation allowed,
    /// no authorized operations.
    fn default() -> Self {
        MetadataRequest {
            topics: Some(Vec::new()),
            allow_auto_topic_creation: true,
            include_cluster_authorized_operations: false,
            include_topic_authorized_operations: false,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

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

fn encode_request_topic(t: &MetadataRequestTopic, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
    let flex = FLEXIBLE.contains(version);
    if version >= 10 {
        buf.put_uuid(&t.topic_id);
    } else {
        ensure_default(t.topic_id.is_zero(), "topics.topic_id", version)?;
    }
    put_name(buf, t.name.as_deref(), 10, flex, "topics.name", version)?;
    put_unknown_tagged(buf, &t.unknown_tagged_fields, flex, "topics tagged fields", version)
}

fn decode_request_topic(r: &mut Reader, version: i16) -> Result<MetadataRequestTopic, DecodeError> {
    let flex = FLEXIBLE.contains(version);
    let topic_id = if version >= 10 { r.uuid("topics.topic_id")? } else { Uuid::ZERO };
    let name = read_name(r, 10, flex, "topics.name", version)?;
    let unknown_tagged_fields = read_unknown_tagged(r, flex)?;
    Ok(MetadataRequestTopic { topic_id, name, unknown_tagged_fields })
}

impl Encode for MetadataRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        match &self.topics {
            // v0 says "all topics" with an empty array.
            None if version == 0 => buf.put_array_len(Some(0), flex, "topics")?,
            None => buf.put_array_len(None, flex, "topics")?,
            // ... so it cannot say "no topics".
            Some(t) if t.is_empty() && version == 0 => {
                return Err(EncodeError::Invalid { what: "topics", reason: "v0 cannot ask for no topics" });
            }
            Some(t) => put_array(buf, t, flex, "topics", |t, b| encode_request_topic(t, b, version))?,
        }
        if version >= 4 {
            buf.put_bool(self.allow_auto_topic_creation);
        } else {
            ensure_default(self.allow_auto_topic_creation, "allow_auto_topic_creation", version)?;
        }
        if (8..=10).contains(&version) {
            buf.put_bool(self.include_cluster_authorized_operations);
        } else {
            ensure_default(
                !self.include_cluster_authorized_operations,
                "include_cluster_authorized_operations",
                version,
            )?;
        }
        if version >= 8 {
            buf.put_bool(self.include_topic_authorized_operations);
        } else {
            ensure_default(!self.include_topic_authorized_operations, "include_topic_authorized_operations", version)?;
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for MetadataRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        // A topic is at least a name (2 bytes: int16 length, or compact length + tagged count); v10+ adds a uuid.
        let min_topic = if version >= 10 { 18 } else { 2 };
        let topics = match r.nullable_array_len(flex, min_topic, "topics")? {
            None if version == 0 => return Err(DecodeError::UnexpectedNull { what: "topics" }),
            None => None,
            Some(0) if version == 0 => None,
            Some(n) => {
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(decode_request_topic(r, version)?);
                }
                Some(v)
            }
        };
        let mut m = MetadataRequest { topics, ..Default::default() };
        if version >= 4 {
            m.allow_auto_topic_creation = r.bool("allow_auto_topic_creation")?;
        }
        if (8..=10).contains(&version) {
            m.include_cluster_authorized_operations = r.bool("include_cluster_authorized_operations")?;
        }
        if version >= 8 {
            m.include_topic_authorized_operations = r.bool("include_topic_authorized_operations")?;
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for MetadataRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "MetadataRequest",
        api_key: Some(ApiKey::METADATA),
        kind: MessageKind::Request,
        versions: Versions::range(0, 13),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("Topics", "[]MetadataRequestTopic", Versions::from(0))
                .nullable(Versions::from(1))
                .with_fields(&[
                    FieldSpec::new("TopicId", "uuid", Versions::from(10)),
                    FieldSpec::new("Name", "string", Versions::from(0)).nullable(Versions::from(10)),
                ]),
            FieldSpec::new("AllowAutoTopicCreation", "bool", Versions::from(4)),
            FieldSpec::new("IncludeClusterAuthorizedOperations", "bool", Versions::range(8, 10)),
            FieldSpec::new("IncludeTopicAuthorizedOperations", "bool", Versions::from(8)),
        ],
    };
}

impl Request for MetadataRequest {
    const API_KEY: ApiKey = ApiKey::METADATA;
    type Response = MetadataResponse;
}

// ---------------------------------------------------------------------------------------------------------------
// Response

/// A broker of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MetadataResponseBroker {
    /// The broker id.
    pub node_id: i32,
    /// The broker's host name.
    pub host: String,
    /// The broker's port.
    pub port: i32,
    /// The broker's rack (v1+); `None` when it has none.
    pub rack: Option<String>,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// One partition of a topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataResponsePartition {
    /// The partition's error (e.g. `LEADER_NOT_AVAILABLE`).
    pub error_code: ErrorCode,
    /// The partition index.
    pub partition_index: i32,
    /// The leader's broker id (-1 when there is none).
    pub leader_id: i32,
    /// The leader epoch (v7+); -1 when unknown.
    pub leader_epoch: i32,
    /// All replicas of the partition.
    pub replica_nodes: Vec<i32>,
    /// The in-sync replicas.
    pub isr_nodes: Vec<i32>,
    /// The offline replicas (v5+).
    pub offline_replicas: Vec<i32>,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for MetadataResponsePartition {
    fn default() -> Self {
        MetadataResponsePartition {
            error_code: ErrorCode::NONE,
            partition_index: 0,
            leader_id: 0,
            leader_epoch: -1,
            replica_nodes: Vec::new(),
            isr_nodes: Vec::new(),
            offline_replicas: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// One topic of the response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataResponseTopic {
    /// The topic's error (e.g. `UNKNOWN_TOPIC_OR_PARTITION`).
    pub error_code: ErrorCode,
    /// The topic name. Always `Some` before v12; from v12 `None` for an unknown topic asked for by id.
    pub name: Option<String>,
    /// The topic id (v10+); [`Uuid::ZERO`] for an unknown topic asked for by name.
    pub topic_id: Uuid,
    /// Whether the topic is internal (v1+).
    pub is_internal: bool,
    /// The topic's partitions.
    pub partitions: Vec<MetadataResponsePartition>,
    /// Bit field of the operations the client may perform on the topic (v8+), or
    /// [`AUTHORIZED_OPERATIONS_OMITTED`].
    pub topic_authorized_operations: i32,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for MetadataResponseTopic {
    fn default() -> Self {
        MetadataResponseTopic {
            error_code: ErrorCode::NONE,
            name: None,
            topic_id: Uuid::ZERO,
            is_internal: false,
            partitions: Vec::new(),
            topic_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// Metadata response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataResponse {
    /// How long the request was throttled for a quota, in milliseconds (v3+).
    pub throttle_time_ms: i32,
    /// The cluster's brokers.
    pub brokers: Vec<MetadataResponseBroker>,
    /// The cluster id (v2+).
    pub cluster_id: Option<String>,
    /// The controller's broker id (v1+); -1 when unknown.
    pub controller_id: i32,
    /// The topics asked for.
    pub topics: Vec<MetadataResponseTopic>,
    /// Bit field of the operations the client may perform on the cluster (v8–10), or
    /// [`AUTHORIZED_OPERATIONS_OMITTED`].
    pub cluster_authorized_operations: i32,
    /// The top-level error (v13+).
    pub error_code: ErrorCode,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for MetadataResponse {
    fn default() -> Self {
        MetadataResponse {
            throttle_time_ms: 0,
            brokers: Vec::new(),
            cluster_id: None,
            controller_id: -1,
            topics: Vec::new(),
            cluster_authorized_operations: AUTHORIZED_OPERATIONS_OMITTED,
            error_code: ErrorCode::NONE,
            unknown_tagged_fields: Vec::new(),
        }
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

fn encode_broker(b: &MetadataResponseBroker, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
    let flex = FLEXIBLE.contains(version);
    buf.put_i32(b.node_id);
    buf.put_string(&b.host, flex, "brokers.host")?;
    buf.put_i32(b.port);
    if version >= 1 {
        buf.put_nullable_string(b.rack.as_deref(), flex, "brokers.rack")?;
    } else {
        ensure_default(b.rack.is_none(), "brokers.rack", version)?;
    }
    put_unknown_tagged(buf, &b.unknown_tagged_fields, flex, "brokers tagged fields", version)
}

fn decode_broker(r: &mut Reader, version: i16) -> Result<MetadataResponseBroker, DecodeError> {
    let flex = FLEXIBLE.contains(version);
    let node_id = r.i32("brokers.node_id")?;
    let host = r.string(flex, "brokers.host")?;
    let port = r.i32("brokers.port")?;
    let rack = if version >= 1 { r.nullable_string(flex, "brokers.rack")? } else { None };
    let unknown_tagged_fields = read_unknown_tagged(r, flex)?;
    Ok(MetadataResponseBroker { node_id, host, port, rack, unknown_tagged_fields })
}

fn encode_partition(p: &MetadataResponsePartition, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
    let flex = FLEXIBLE.contains(version);
    buf.put_i16(p.error_code.0);
    buf.put_i32(p.partition_index);
    buf.put_i32(p.leader_id);
    if version >= 7 {
        buf.put_i32(p.leader_epoch);
    } else {
        ensure_default(p.leader_epoch == -1, "partitions.leader_epoch", version)?;
    }
    put_i32_array(buf, &p.replica_nodes, flex, "partitions.replica_nodes")?;
    put_i32_array(buf, &p.isr_nodes, flex, "partitions.isr_nodes")?;
    if version >= 5 {
        put_i32_array(buf, &p.offline_replicas, flex, "partitions.offline_replicas")?;
    } else {
        ensure_default(p.offline_replicas.is_empty(), "partitions.offline_replicas", version)?;
    }
    put_unknown_tagged(buf, &p.unknown_tagged_fields, flex, "partitions tagged fields", version)
}

fn decode_partition(r: &mut Reader, version: i16) -> Result<MetadataResponsePartition, DecodeError> {
    let flex = FLEXIBLE.contains(version);
    let mut p = MetadataResponsePartition {
        error_code: ErrorCode(r.i16("partitions.error_code")?),
        partition_index: r.i32("partitions.partition_index")?,
        leader_id: r.i32("partitions.leader_id")?,
        ..Default::default()
    };
    if version >= 7 {
        p.leader_epoch = r.i32("partitions.leader_epoch")?;
    }
    p.replica_nodes = read_i32_array(r, flex, "partitions.replica_nodes")?;
    p.isr_nodes = read_i32_array(r, flex, "partitions.isr_nodes")?;
    if version >= 5 {
        p.offline_replicas = read_i32_array(r, flex, "partitions.offline_replicas")?;
    }
    p.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
    Ok(p)
}

fn encode_topic(t: &MetadataResponseTopic, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
    let flex = FLEXIBLE.contains(version);
    buf.put_i16(t.error_code.0);
    put_name(buf, t.name.as_deref(), 12, flex, "topics.name", version)?;
    if version >= 10 {
        buf.put_uuid(&t.topic_id);
    } else {
        ensure_default(t.topic_id.is_zero(), "topics.topic_id", version)?;
    }
    if version >= 1 {
        buf.put_bool(t.is_internal);
    } else {
        ensure_default(!t.is_internal, "topics.is_internal", version)?;
    }
    put_array(buf, &t.partitions, flex, "topics.partitions", |p, b| encode_partition(p, b, version))?;
    if version >= 8 {
        buf.put_i32(t.topic_authorized_operations);
    } else {
        ensure_default(
            t.topic_authorized_operations == AUTHORIZED_OPERATIONS_OMITTED,
            "topics.topic_authorized_operations",
            version,
        )?;
    }
    put_unknown_tagged(buf, &t.unknown_tagged_fields, flex, "topics tagged fields", version)
}

fn decode_topic(r: &mut Reader, version: i16) -> Result<MetadataResponseTopic, DecodeError> {
    let flex = FLEXIBLE.contains(version);
    let mut t = MetadataResponseTopic {
        error_code: ErrorCode(r.i16("topics.error_code")?),
        name: read_name(r, 12, flex, "topics.name", version)?,
        ..Default::default()
    };
    if version >= 10 {
        t.topic_id = r.uuid("topics.topic_id")?;
    }
    if version >= 1 {
        t.is_internal = r.bool("topics.is_internal")?;
    }
    // A partition is at least error code, index and leader (10 bytes) plus two arrays.
    t.partitions = read_array(r, flex, 12, "topics.partitions", |r| decode_partition(r, version))?;
    if version >= 8 {
        t.topic_authorized_operations = r.i32("topics.topic_authorized_operations")?;
    }
    t.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
    Ok(t)
}

impl Encode for MetadataResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 3 {
            buf.put_i32(self.throttle_time_ms);
        } else {
            ensure_default(self.throttle_time_ms == 0, "throttle_time_ms", version)?;
        }
        put_array(buf, &self.brokers, flex, "brokers", |b, buf| encode_broker(b, buf, version))?;
        if version >= 2 {
            buf.put_nullable_string(self.cluster_id.as_deref(), flex, "cluster_id")?;
        } else {
            ensure_default(self.cluster_id.is_none(), "cluster_id", version)?;
        }
        if version >= 1 {
            buf.put_i32(self.controller_id);
        } else {
            ensure_default(self.controller_id == -1, "controller_id", version)?;
        }
        put_array(buf, &self.topics, flex, "topics", |t, b| encode_topic(t, b, version))?;
        if (8..=10).contains(&version) {
            buf.put_i32(self.cluster_authorized_operations);
        } else {
            ensure_default(
                self.cluster_authorized_operations == AUTHORIZED_OPERATIONS_OMITTED,
                "cluster_authorized_operations",
                version,
            )?;
        }
        if version >= 13 {
            buf.put_i16(self.error_code.0);
        } else {
            ensure_default(self.error_code == ErrorCode::NONE, "error_code", version)?;
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for MetadataResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = MetadataResponse::default();
        if version >= 3 {
            m.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        // A broker is at least node id, host (1 byte compact) and port.
        m.brokers = read_array(r, flex, 9, "brokers", |r| decode_broker(r, version))?;
        if version >= 2 {
            m.cluster_id = r.nullable_string(flex, "cluster_id")?;
        }
        if version >= 1 {
            m.controller_id = r.i32("controller_id")?;
        }
        // A topic is at least error code, name (1 byte compact) and the partition count (1 byte compact).
        m.topics = read_array(r, flex, 4, "topics", |r| decode_topic(r, version))?;
        if (8..=10).contains(&version) {
            m.cluster_authorized_operations = r.i32("cluster_authorized_operations")?;
        }
        if version >= 13 {
            m.error_code = ErrorCode(r.i16("error_code")?);
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for MetadataResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "MetadataResponse",
        api_key: Some(ApiKey::METADATA),
        kind: MessageKind::Response,
        versions: Versions::range(0, 13),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(3)),
            FieldSpec::new("Brokers", "[]MetadataResponseBroker", Versions::from(0)).with_fields(&[
                FieldSpec::new("NodeId", "int32", Versions::from(0)),
                FieldSpec::new("Host", "string", Versions::from(0)),
                FieldSpec::new("Port", "int32", Versions::from(0)),
                FieldSpec::new("Rack", "string", Versions::from(1)).nullable(Versions::from(1)),
            ]),
            FieldSpec::new("ClusterId", "string", Versions::from(2)).nullable(Versions::from(2)),
            FieldSpec::new("ControllerId", "int32", Versions::from(1)),
            FieldSpec::new("Topics", "[]MetadataResponseTopic", Versions::from(0)).with_fields(&[
                FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
                FieldSpec::new("Name", "string", Versions::from(0)).nullable(Versions::from(12)),
                FieldSpec::new("TopicId", "uuid", Versions::from(10)),
                FieldSpec::new("IsInternal", "bool", Versions::from(1)),
                FieldSpec::new("Partitions", "[]MetadataResponsePartition", Versions::from(0)).with_fields(&[
                    FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
                    FieldSpec::new("PartitionIndex", "int32", Versions::from(0)),
                    FieldSpec::new("LeaderId", "int32", Versions::from(0)),
                    FieldSpec::new("LeaderEpoch", "int32", Versions::from(7)),
                    FieldSpec::new("ReplicaNodes", "[]int32", Versions::from(0)),
                    FieldSpec::new("IsrNodes", "[]int32", Versions::from(0)),
                    FieldSpec::new("OfflineReplicas", "[]int32", Versions::from(5)),
                ]),
                FieldSpec::new("TopicAuthorizedOperations", "int32", Versions::from(8)),
            ]),
            FieldSpec::new("ClusterAuthorizedOperations", "int32", Versions::range(8, 10)),
            FieldSpec::new("ErrorCode", "int16", Versions::from(13)),
        ],
    };
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::*;
    use crate::messages::round_trip_checks::{
        check_every_version, error_code, nullable_string, string, unknown_tagged, uuid, vec_of, when,
    };

    // Strategies for values each version can carry: fields it lacks at their defaults, null only where allowed.

    fn request_topic(v: i16) -> impl Strategy<Value = MetadataRequestTopic> {
        let name = if v >= 10 { nullable_string().boxed() } else { string().prop_map(Some).boxed() };
        (when(v >= 10, uuid(), Uuid::ZERO), name, unknown_tagged(v >= 9, 0)).prop_map(
            |(topic_id, name, unknown_tagged_fields)| MetadataRequestTopic { topic_id, name, unknown_tagged_fields },
        )
    }

    fn request(v: i16) -> impl Strategy<Value = MetadataRequest> {
        let topics = if v == 0 {
            // v0: all topics (None) or a non-empty list; it cannot ask for no topics.
            prop_oneof![Just(None), proptest::collection::vec(request_topic(v), 1..4).prop_map(Some)].boxed()
        } else {
            proptest::option::of(vec_of(request_topic(v))).boxed()
        };
        (
            topics,
            when(v >= 4, any::<bool>(), true),
            when((8..=10).contains(&v), any::<bool>(), false),
            when(v >= 8, any::<bool>(), false),
            unknown_tagged(v >= 9, 0),
        )
            .prop_map(|(topics, allow, cluster_ops, topic_ops, unknown_tagged_fields)| MetadataRequest {
                topics,
                allow_auto_topic_creation: allow,
                include_cluster_authorized_operations: cluster_ops,
                include_topic_authorized_operations: topic_ops,
                unknown_tagged_fields,
            })
    }

    fn broker(v: i16) -> impl Strategy<Value = MetadataResponseBroker> {
        (any::<i32>(), string(), any::<i32>(), when(v >= 1, nullable_string(), None), unknown_tagged(v >= 9, 0))
            .prop_map(|(node_id, host, port, rack, unknown_tagged_fields)| MetadataResponseBroker {
                node_id,
                host,
                port,
                rack,
                unknown_tagged_fields,
            })
    }

    fn partition(v: i16) -> impl Strategy<Value = MetadataResponsePartition> {
        (
            (error_code(), any::<i32>(), any::<i32>(), when(v >= 7, any::<i32>(), -1)),
            (vec_of(any::<i32>()), vec_of(any::<i32>()), when(v >= 5, vec_of(any::<i32>()), Vec::new())),
            unknown_tagged(v >= 9, 0),
        )
            .prop_map(
                |((error_code, partition_index, leader_id, leader_epoch), (replicas, isr, offline), tf)| {
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
                },
            )
    }

    fn topic(v: i16) -> impl Strategy<Value = MetadataResponseTopic> {
        let name = if v >= 12 { nullable_string().boxed() } else { string().prop_map(Some).boxed() };
        (
            (error_code(), name, when(v >= 10, uuid(), Uuid::ZERO), when(v >= 1, any::<bool>(), false)),
            vec_of(partition(v)),
            when(v >= 8, any::<i32>(), AUTHORIZED_OPERATIONS_OMITTED),
            unknown_tagged(v >= 9, 0),
        )
            .prop_map(|((error_code, name, topic_id, is_internal), partitions, ops, tf)| {
                MetadataResponseTopic {
                    error_code,
                    name,
                    topic_id,
                    is_internal,
                    partitions,
                    topic_authorized_operations: ops,
                    unknown_tagged_fields: tf,
                }
            })
    }

    fn response(v: i16) -> impl Strategy<Value = MetadataResponse> {
        (
            (when(v >= 3, any::<i32>(), 0), vec_of(broker(v)), when(v >= 2, nullable_string(), None)),
            (when(v >= 1, any::<i32>(), -1), vec_of(topic(v))),
            (
                when((8..=10).contains(&v), any::<i32>(), AUTHORIZED_OPERATIONS_OMITTED),
                when(v >= 13, error_code(), ErrorCode::NONE),
            ),
            unknown_tagged(v >= 9, 0),
        )
            .prop_map(
                |((throttle, brokers, cluster_id), (controller_id, topics), (cluster_ops, error_code), tf)| {
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
                },
            )
    }

    #[test]
    fn request_round_trips_at_every_version() {
        assert_eq!(check_every_version(request), 14);
    }

    #[test]
    fn response_round_trips_at_every_version() {
        assert_eq!(check_every_version(response), 14);
    }

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
        assert!(matches!(by_id.to_bytes(9), Err(EncodeError::UnsupportedField { field: "topics.topic_id", .. })));
        let by_id_no_name =
            MetadataRequest { topics: Some(vec![MetadataRequestTopic::default()]), ..Default::default() };
        assert!(matches!(by_id_no_name.to_bytes(9), Err(EncodeError::NullNotAllowed { field: "topics.name", .. })));
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
        assert!(matches!(
            resp.to_bytes(6),
            Err(EncodeError::UnsupportedField { field: "partitions.leader_epoch", .. })
        ));
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
