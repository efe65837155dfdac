//! Fetch (key 1): reads record data from partition leaders (or from a preferred read replica), incrementally within
//! a fetch session (KIP-227).
//!
//! The response's `records` are kept as a [`Bytes`] slice of the received buffer (no copy); the records module
//! reads the batches out of it.

use bytes::{BufMut, Bytes, BytesMut};

use super::struct_codec::{
    finish_tagged, put_array, put_i32_array, put_name_or_id, put_nullable_array, put_unknown_tagged, read_array,
    read_i32_array, read_name_or_id, read_nullable_array, read_unknown_tagged,
};
use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, TaggedFieldsWriter, Uuid, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(12);
/// The last version that names topics; later versions use topic ids.
const NAMES_UNTIL: i16 = 12;

/// Isolation level that makes every record visible, including those of open and aborted transactions.
pub const READ_UNCOMMITTED: i8 = 0;
/// Isolation level that hides records of open and aborted transactions (reads up to the last stable offset).
pub const READ_COMMITTED: i8 = 1;

/// Fetch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    /// The cluster id, if known (v12+, tag 0); used to validate metadata fetches before broker registration.
    pub cluster_id: Option<String>,
    /// The broker id of the follower, or -1 for a consumer (v0-14; later in `replica_state`).
    pub replica_id: i32,
    /// The state of the follower replica (v15+, tag 1).
    pub replica_state: ReplicaState,
    /// Maximum time to wait for `min_bytes`, in milliseconds.
    pub max_wait_ms: i32,
    /// Minimum bytes to accumulate before answering.
    pub min_bytes: i32,
    /// Maximum bytes in the response (KIP-74: the first batch is returned even if larger).
    pub max_bytes: i32,
    /// [`READ_UNCOMMITTED`] or [`READ_COMMITTED`].
    pub isolation_level: i8,
    /// The fetch session id, 0 when not in a session (v7+).
    pub session_id: i32,
    /// The fetch session epoch: -1 for a full fetch without session, 0 to open a session (v7+).
    pub session_epoch: i32,
    /// The topics to fetch.
    pub topics: Vec<FetchTopic>,
    /// In an incremental fetch, the partitions to remove from the session (v7+).
    pub forgotten_topics_data: Vec<ForgottenTopic>,
    /// The rack of the consumer, for follower fetching (v11+).
    pub rack_id: String,
    /// Unknown tagged fields (v12+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for FetchRequest {
    fn default() -> Self {
        FetchRequest {
            cluster_id: None,
            replica_id: -1,
            replica_state: ReplicaState::default(),
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: i32::MAX,
            isolation_level: READ_UNCOMMITTED,
            session_id: 0,
            session_epoch: -1,
            topics: Vec::new(),
            forgotten_topics_data: Vec::new(),
            rack_id: String::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// The state of a follower replica (v15+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaState {
    /// The follower's replica id, or -1 for a consumer.
    pub replica_id: i32,
    /// The follower's broker epoch, or -1.
    pub replica_epoch: i64,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for ReplicaState {
    fn default() -> Self {
        ReplicaState { replica_id: -1, replica_epoch: -1, unknown_tagged_fields: Vec::new() }
    }
}

/// A topic to fetch.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FetchTopic {
    /// The topic name (v0-12).
    pub topic: String,
    /// The topic id (v13+).
    pub topic_id: Uuid,
    /// The partitions to fetch.
    pub partitions: Vec<FetchPartition>,
    /// Unknown tagged fields (v12+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A partition to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPartition {
    /// The partition index.
    pub partition: i32,
    /// The leader epoch the client knows, or -1 (v9+).
    pub current_leader_epoch: i32,
    /// The offset to fetch from.
    pub fetch_offset: i64,
    /// The epoch of the last fetched record, or -1 (v12+).
    pub last_fetched_epoch: i32,
    /// The follower's log start offset, or -1 (v5+; followers only).
    pub log_start_offset: i64,
    /// Maximum bytes to return for this partition.
    pub partition_max_bytes: i32,
    /// The directory id of the fetching follower (v17+, tag 0).
    pub replica_directory_id: Uuid,
    /// The high watermark the replica knows: -1 if unknown, `i64::MAX` if not supported (v18+, tag 1).
    pub high_watermark: i64,
    /// Unknown tagged fields (v12+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for FetchPartition {
    fn default() -> Self {
        FetchPartition {
            partition: 0,
            current_leader_epoch: -1,
            fetch_offset: 0,
            last_fetched_epoch: -1,
            log_start_offset: -1,
            partition_max_bytes: 0,
            replica_directory_id: Uuid::ZERO,
            high_watermark: i64::MAX,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// Partitions to remove from a fetch session (v7+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ForgottenTopic {
    /// The topic name (v7-12).
    pub topic: String,
    /// The topic id (v13+).
    pub topic_id: Uuid,
    /// The partition indexes to forget.
    pub partitions: Vec<i32>,
    /// Unknown tagged fields (v12+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl ReplicaState {
    fn write(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        buf.put_i32(self.replica_id);
        buf.put_i64(self.replica_epoch);
        put_unknown_tagged(buf, &self.unknown_tagged_fields, true, "replica_state tagged fields", version)
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(ReplicaState {
            replica_id: r.i32("replica_state replica_id")?,
            replica_epoch: r.i64("replica_state replica_epoch")?,
            unknown_tagged_fields: read_unknown_tagged(r, true)?,
        })
    }
}

impl FetchTopic {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        put_name_or_id(buf, &self.topic, &self.topic_id, version, NAMES_UNTIL, flex, "topic")?;
        put_array(buf, &self.partitions, flex, "partitions", |p, b| p.write(b, version, flex))?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "topics tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16, flex: bool) -> Result<Self, DecodeError> {
        let (topic, topic_id) = read_name_or_id(r, version, NAMES_UNTIL, flex, "topic")?;
        // partition, fetch offset and partition max bytes: at least 16 bytes per partition.
        let partitions = read_array(r, flex, 16, "partitions", |r| FetchPartition::read(r, version, flex))?;
        Ok(FetchTopic { topic, topic_id, partitions, unknown_tagged_fields: read_unknown_tagged(r, flex)? })
    }
}

impl FetchPartition {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        buf.put_i32(self.partition);
        if version >= 9 {
            buf.put_i32(self.current_leader_epoch);
        } else {
            ensure_default(self.current_leader_epoch == -1, "current_leader_epoch", version)?;
        }
        buf.put_i64(self.fetch_offset);
        if version >= 12 {
            buf.put_i32(self.last_fetched_epoch);
        } else {
            ensure_default(self.last_fetched_epoch == -1, "last_fetched_epoch", version)?;
        }
        if version >= 5 {
            buf.put_i64(self.log_start_offset);
        } else {
            ensure_default(self.log_start_offset == -1, "log_start_offset", version)?;
        }
        buf.put_i32(self.partition_max_bytes);
        let mut t = TaggedFieldsWriter::new();
        if version >= 17 {
            if !self.replica_directory_id.is_zero() {
                t.field(0, |b| {
                    b.put_uuid(&self.replica_directory_id);
                    Ok(())
                })?;
            }
        } else {
            ensure_default(self.replica_directory_id.is_zero(), "replica_directory_id", version)?;
        }
        if version >= 18 {
            if self.high_watermark != i64::MAX {
                t.field(1, |b| {
                    b.put_i64(self.high_watermark);
                    Ok(())
                })?;
            }
        } else {
            ensure_default(self.high_watermark == i64::MAX, "high_watermark", version)?;
        }
        finish_tagged(buf, t, &self.unknown_tagged_fields, flex, "partitions tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16, flex: bool) -> Result<Self, DecodeError> {
        let mut p = FetchPartition { partition: r.i32("partition")?, ..Default::default() };
        if version >= 9 {
            p.current_leader_epoch = r.i32("current_leader_epoch")?;
        }
        p.fetch_offset = r.i64("fetch_offset")?;
        if version >= 12 {
            p.last_fetched_epoch = r.i32("last_fetched_epoch")?;
        }
        if version >= 5 {
            p.log_start_offset = r.i64("log_start_offset")?;
        }
        p.partition_max_bytes = r.i32("partition_max_bytes")?;
        if flex {
            let mut directory = Uuid::ZERO;
            let mut high_watermark = i64::MAX;
            p.unknown_tagged_fields = r.tagged_fields(|tag, f| {
                match tag {
                    0 if version >= 17 => directory = f.uuid("replica_directory_id")?,
                    1 if version >= 18 => high_watermark = f.i64("high_watermark")?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            p.replica_directory_id = directory;
            p.high_watermark = high_watermark;
        }
        Ok(p)
    }
}

impl ForgottenTopic {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        put_name_or_id(buf, &self.topic, &self.topic_id, version, NAMES_UNTIL, flex, "topic")?;
        put_i32_array(buf, &self.partitions, flex, "forgotten_topics_data partitions")?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "forgotten_topics_data tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16, flex: bool) -> Result<Self, DecodeError> {
        let (topic, topic_id) = read_name_or_id(r, version, NAMES_UNTIL, flex, "topic")?;
        Ok(ForgottenTopic {
            topic,
            topic_id,
            partitions: read_i32_array(r, flex, "forgotten_topics_data partitions")?,
            unknown_tagged_fields: read_unknown_tagged(r, flex)?,
        })
    }
}

impl Encode for FetchRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version <= 14 {
            buf.put_i32(self.replica_id);
        } else {
            ensure_default(self.replica_id == -1, "replica_id", version)?;
        }
        buf.put_i32(self.max_wait_ms);
        buf.put_i32(self.min_bytes);
        buf.put_i32(self.max_bytes);
        buf.put_i8(self.isolation_level);
        if version >= 7 {
            buf.put_i32(self.session_id);
            buf.put_i32(self.session_epoch);
        } else {
            ensure_default(self.session_id == 0, "session_id", version)?;
            ensure_default(self.session_epoch == -1, "session_epoch", version)?;
        }
        put_array(buf, &self.topics, flex, "topics", |t, b| t.write(b, version, flex))?;
        if version >= 7 {
            put_array(buf, &self.forgotten_topics_data, flex, "forgotten_topics_data", |t, b| {
                t.write(b, version, flex)
            })?;
        } else {
            ensure_default(self.forgotten_topics_data.is_empty(), "forgotten_topics_data", version)?;
        }
        if version >= 11 {
            buf.put_string(&self.rack_id, flex, "rack_id")?;
        } else {
            ensure_default(self.rack_id.is_empty(), "rack_id", version)?;
        }
        let mut t = TaggedFieldsWriter::new();
        if flex {
            if let Some(cluster_id) = &self.cluster_id {
                t.field(0, |b| b.put_nullable_string(Some(cluster_id), true, "cluster_id"))?;
            }
        } else {
            ensure_default(self.cluster_id.is_none(), "cluster_id", version)?;
        }
        if version >= 15 {
            if self.replica_state != ReplicaState::default() {
                t.field(1, |b| self.replica_state.write(b, version))?;
            }
        } else {
            ensure_default(self.replica_state == ReplicaState::default(), "replica_state", version)?;
        }
        finish_tagged(buf, t, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for FetchRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = FetchRequest::default();
        if version <= 14 {
            m.replica_id = r.i32("replica_id")?;
        }
        m.max_wait_ms = r.i32("max_wait_ms")?;
        m.min_bytes = r.i32("min_bytes")?;
        m.max_bytes = r.i32("max_bytes")?;
        m.isolation_level = r.i8("isolation_level")?;
        if version >= 7 {
            m.session_id = r.i32("session_id")?;
            m.session_epoch = r.i32("session_epoch")?;
        }
        // A topic takes at least a name or id and a partition count.
        m.topics = read_array(r, flex, 2, "topics", |r| FetchTopic::read(r, version, flex))?;
        if version >= 7 {
            m.forgotten_topics_data =
                read_array(r, flex, 2, "forgotten_topics_data", |r| ForgottenTopic::read(r, version, flex))?;
        }
        if version >= 11 {
            m.rack_id = r.string(flex, "rack_id")?;
        }
        if flex {
            let mut cluster_id = None;
            let mut replica_state = ReplicaState::default();
            m.unknown_tagged_fields = r.tagged_fields(|tag, f| {
                match tag {
                    0 => cluster_id = f.nullable_string(true, "cluster_id")?,
                    1 if version >= 15 => replica_state = ReplicaState::read(f)?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            m.cluster_id = cluster_id;
            m.replica_state = replica_state;
        }
        Ok(m)
    }
}

impl Message for FetchRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "FetchRequest",
        api_key: Some(ApiKey::FETCH),
        kind: MessageKind::Request,
        versions: Versions::range(4, 18),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ClusterId", "string", Versions::from(12))
                .nullable(Versions::from(12))
                .tagged(0, Versions::from(12)),
            FieldSpec::new("ReplicaId", "int32", Versions::range(0, 14)),
            FieldSpec::new("ReplicaState", "ReplicaState", Versions::from(15))
                .tagged(1, Versions::from(15))
                .with_fields(&[
                    FieldSpec::new("ReplicaId", "int32", Versions::from(15)),
                    FieldSpec::new("ReplicaEpoch", "int64", Versions::from(15)),
                ]),
            FieldSpec::new("MaxWaitMs", "int32", Versions::from(0)),
            FieldSpec::new("MinBytes", "int32", Versions::from(0)),
            FieldSpec::new("MaxBytes", "int32", Versions::from(3)),
            FieldSpec::new("IsolationLevel", "int8", Versions::from(4)),
            FieldSpec::new("SessionId", "int32", Versions::from(7)),
            FieldSpec::new("SessionEpoch", "int32", Versions::from(7)),
            FieldSpec::new("Topics", "[]FetchTopic", Versions::from(0)).with_fields(&[
                FieldSpec::new("Topic", "string", Versions::range(0, 12)),
                FieldSpec::new("TopicId", "uuid", Versions::from(13)),
                FieldSpec::new("Partitions", "[]FetchPartition", Versions::from(0)).with_fields(&[
                    FieldSpec::new("Partition", "int32", Versions::from(0)),
                    FieldSpec::new("CurrentLeaderEpoch", "int32", Versions::from(9)),
                    FieldSpec::new("FetchOffset", "int64", Versions::from(0)),
                    FieldSpec::new("LastFetchedEpoch", "int32", Versions::from(12)),
                    FieldSpec::new("LogStartOffset", "int64", Versions::from(5)),
                    FieldSpec::new("PartitionMaxBytes", "int32", Versions::from(0)),
                    FieldSpec::new("ReplicaDirectoryId", "uuid", Versions::from(17)).tagged(0, Versions::from(17)),
                    FieldSpec::new("HighWatermark", "int64", Versions::from(18)).tagged(1, Versions::from(18)),
                ]),
            ]),
            FieldSpec::new("ForgottenTopicsData", "[]ForgottenTopic", Versions::from(7)).with_fields(&[
                FieldSpec::new("Topic", "string", Versions::range(7, 12)),
                FieldSpec::new("TopicId", "uuid", Versions::from(13)),
                FieldSpec::new("Partitions", "[]int32", Versions::from(7)),
            ]),
            FieldSpec::new("RackId", "string", Versions::from(11)),
        ],
    };
}

impl Request for FetchRequest {
    const API_KEY: ApiKey = ApiKey::FETCH;
    type Response = FetchResponse;
}

/// Fetch response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FetchResponse {
    /// Throttle time in milliseconds.
    pub throttle_time_ms: i32,
    /// Top-level error (v7+), e.g. a fetch session error.
    pub error_code: ErrorCode,
    /// The fetch session id, or 0 when not in a session (v7+).
    pub session_id: i32,
    /// The response topics.
    pub responses: Vec<FetchableTopicResponse>,
    /// Endpoints of the leaders named in partitions that failed with `NOT_LEADER_OR_FOLLOWER` or
    /// `FENCED_LEADER_EPOCH` (v16+, tag 0).
    pub node_endpoints: Vec<NodeEndpoint>,
    /// Unknown tagged fields (v12+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// One topic of a fetch response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FetchableTopicResponse {
    /// The topic name (v0-12).
    pub topic: String,
    /// The topic id (v13+).
    pub topic_id: Uuid,
    /// The partitions.
    pub partitions: Vec<PartitionData>,
    /// Unknown tagged fields (v12+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// One partition of a fetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionData {
    /// The partition index.
    pub partition_index: i32,
    /// The partition's error.
    pub error_code: ErrorCode,
    /// The high watermark.
    pub high_watermark: i64,
    /// The last stable offset, or -1.
    pub last_stable_offset: i64,
    /// The log start offset, or -1 (v5+).
    pub log_start_offset: i64,
    /// The largest epoch and its end offset before the log diverges from the fetcher's (v12+, tag 0).
    pub diverging_epoch: EpochEndOffset,
    /// The current leader, sent with leadership errors (v12+, tag 1).
    pub current_leader: LeaderIdAndEpoch,
    /// The snapshot to fetch when the fetch offset is below the log start offset (v12+, tag 2).
    pub snapshot_id: SnapshotId,
    /// Aborted transactions in the returned range (read committed only; may be null).
    pub aborted_transactions: Option<Vec<AbortedTransaction>>,
    /// The replica the consumer should fetch from next, or -1 (v11+).
    pub preferred_read_replica: i32,
    /// The record data: a slice of the response buffer (no copy), or null.
    pub records: Option<Bytes>,
    /// Unknown tagged fields (v12+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for PartitionData {
    fn default() -> Self {
        PartitionData {
            partition_index: 0,
            error_code: ErrorCode::NONE,
            high_watermark: 0,
            last_stable_offset: -1,
            log_start_offset: -1,
            diverging_epoch: EpochEndOffset::default(),
            current_leader: LeaderIdAndEpoch::default(),
            snapshot_id: SnapshotId::default(),
            aborted_transactions: Some(Vec::new()),
            preferred_read_replica: -1,
            records: None,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// An epoch and its end offset (the `DivergingEpoch` of a fetch response).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochEndOffset {
    /// The largest epoch, or -1.
    pub epoch: i32,
    /// Its end offset, or -1.
    pub end_offset: i64,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for EpochEndOffset {
    fn default() -> Self {
        EpochEndOffset { epoch: -1, end_offset: -1, unknown_tagged_fields: Vec::new() }
    }
}

/// A partition leader and its epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderIdAndEpoch {
    /// The leader's broker id, or -1 if unknown.
    pub leader_id: i32,
    /// The leader epoch, or -1.
    pub leader_epoch: i32,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for LeaderIdAndEpoch {
    fn default() -> Self {
        LeaderIdAndEpoch { leader_id: -1, leader_epoch: -1, unknown_tagged_fields: Vec::new() }
    }
}

/// A snapshot's end offset and epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotId {
    /// The end offset, or -1.
    pub end_offset: i64,
    /// The epoch, or -1.
    pub epoch: i32,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for SnapshotId {
    fn default() -> Self {
        SnapshotId { end_offset: -1, epoch: -1, unknown_tagged_fields: Vec::new() }
    }
}

/// An aborted transaction within the fetched range.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AbortedTransaction {
    /// The producer id of the transaction.
    pub producer_id: i64,
    /// The first offset of the transaction.
    pub first_offset: i64,
    /// Unknown tagged fields (v12+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A broker endpoint (v16+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodeEndpoint {
    /// The broker id.
    pub node_id: i32,
    /// Host name.
    pub host: String,
    /// Port.
    pub port: i32,
    /// Rack, or null.
    pub rack: Option<String>,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl FetchableTopicResponse {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        put_name_or_id(buf, &self.topic, &self.topic_id, version, NAMES_UNTIL, flex, "topic")?;
        put_array(buf, &self.partitions, flex, "partitions", |p, b| p.write(b, version, flex))?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "responses tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16, flex: bool) -> Result<Self, DecodeError> {
        let (topic, topic_id) = read_name_or_id(r, version, NAMES_UNTIL, flex, "topic")?;
        // Index, error, high watermark, last stable offset, aborted transactions and records: at least 24 bytes.
        let partitions = read_array(r, flex, 24, "partitions", |r| PartitionData::read(r, version, flex))?;
        Ok(FetchableTopicResponse { topic, topic_id, partitions, unknown_tagged_fields: read_unknown_tagged(r, flex)? })
    }
}

impl PartitionData {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        buf.put_i32(self.partition_index);
        buf.put_i16(self.error_code.0);
        buf.put_i64(self.high_watermark);
        buf.put_i64(self.last_stable_offset);
        if version >= 5 {
            buf.put_i64(self.log_start_offset);
        } else {
            ensure_default(self.log_start_offset == -1, "log_start_offset", version)?;
        }
        put_nullable_array(buf, self.aborted_transactions.as_deref(), flex, "aborted_transactions", |a, b| {
            b.put_i64(a.producer_id);
            b.put_i64(a.first_offset);
            put_unknown_tagged(b, &a.unknown_tagged_fields, flex, "aborted_transactions tagged fields", version)
        })?;
        if version >= 11 {
            buf.put_i32(self.preferred_read_replica);
        } else {
            ensure_default(self.preferred_read_replica == -1, "preferred_read_replica", version)?;
        }
        buf.put_nullable_bytes(self.records.as_deref(), flex, "records")?;
        let mut t = TaggedFieldsWriter::new();
        if flex {
            let d = &self.diverging_epoch;
            if *d != EpochEndOffset::default() {
                t.field(0, |b| {
                    b.put_i32(d.epoch);
                    b.put_i64(d.end_offset);
                    put_unknown_tagged(b, &d.unknown_tagged_fields, true, "diverging_epoch tagged fields", version)
                })?;
            }
            let l = &self.current_leader;
            if *l != LeaderIdAndEpoch::default() {
                t.field(1, |b| {
                    b.put_i32(l.leader_id);
                    b.put_i32(l.leader_epoch);
                    put_unknown_tagged(b, &l.unknown_tagged_fields, true, "current_leader tagged fields", version)
                })?;
            }
            let s = &self.snapshot_id;
            if *s != SnapshotId::default() {
                t.field(2, |b| {
                    b.put_i64(s.end_offset);
                    b.put_i32(s.epoch);
                    put_unknown_tagged(b, &s.unknown_tagged_fields, true, "snapshot_id tagged fields", version)
                })?;
            }
        } else {
            ensure_default(self.diverging_epoch == EpochEndOffset::default(), "diverging_epoch", version)?;
            ensure_default(self.current_leader == LeaderIdAndEpoch::default(), "current_leader", version)?;
            ensure_default(self.snapshot_id == SnapshotId::default(), "snapshot_id", version)?;
        }
        finish_tagged(buf, t, &self.unknown_tagged_fields, flex, "partitions tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16, flex: bool) -> Result<Self, DecodeError> {
        let mut p = PartitionData {
            partition_index: r.i32("partition_index")?,
            error_code: ErrorCode(r.i16("error_code")?),
            high_watermark: r.i64("high_watermark")?,
            last_stable_offset: r.i64("last_stable_offset")?,
            ..Default::default()
        };
        if version >= 5 {
            p.log_start_offset = r.i64("log_start_offset")?;
        }
        p.aborted_transactions = read_nullable_array(r, flex, 16, "aborted_transactions", |r| {
            Ok(AbortedTransaction {
                producer_id: r.i64("aborted_transactions producer_id")?,
                first_offset: r.i64("aborted_transactions first_offset")?,
                unknown_tagged_fields: read_unknown_tagged(r, flex)?,
            })
        })?;
        if version >= 11 {
            p.preferred_read_replica = r.i32("preferred_read_replica")?;
        }
        p.records = r.nullable_bytes(flex, "records")?;
        if flex {
            let mut diverging_epoch = EpochEndOffset::default();
            let mut current_leader = LeaderIdAndEpoch::default();
            let mut snapshot_id = SnapshotId::default();
            p.unknown_tagged_fields = r.tagged_fields(|tag, f| {
                match tag {
                    0 => {
                        diverging_epoch = EpochEndOffset {
                            epoch: f.i32("diverging_epoch epoch")?,
                            end_offset: f.i64("diverging_epoch end_offset")?,
                            unknown_tagged_fields: read_unknown_tagged(f, true)?,
                        }
                    }
                    1 => {
                        current_leader = LeaderIdAndEpoch {
                            leader_id: f.i32("current_leader leader_id")?,
                            leader_epoch: f.i32("current_leader leader_epoch")?,
                            unknown_tagged_fields: read_unknown_tagged(f, true)?,
                        }
                    }
                    2 => {
                        snapshot_id = SnapshotId {
                            end_offset: f.i64("snapshot_id end_offset")?,
                            epoch: f.i32("snapshot_id epoch")?,
                            unknown_tagged_fields: read_unknown_tagged(f, true)?,
                        }
                    }
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            p.diverging_epoch = diverging_epoch;
            p.current_leader = current_leader;
            p.snapshot_id = snapshot_id;
        }
        Ok(p)
    }
}

impl NodeEndpoint {
    fn write(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        buf.put_i32(self.node_id);
        buf.put_string(&self.host, true, "node_endpoints host")?;
        buf.put_i32(self.port);
        buf.put_nullable_string(self.rack.as_deref(), true, "node_endpoints rack")?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, true, "node_endpoints tagged fields", version)
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(NodeEndpoint {
            node_id: r.i32("node_endpoints node_id")?,
            host: r.string(true, "node_endpoints host")?,
            port: r.i32("node_endpoints port")?,
            rack: r.nullable_string(true, "node_endpoints rack")?,
            unknown_tagged_fields: read_unknown_tagged(r, true)?,
        })
    }
}

impl Encode for FetchResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_i32(self.throttle_time_ms);
        if version >= 7 {
            buf.put_i16(self.error_code.0);
            buf.put_i32(self.session_id);
        } else {
            ensure_default(self.error_code == ErrorCode::NONE, "error_code", version)?;
            ensure_default(self.session_id == 0, "session_id", version)?;
        }
        put_array(buf, &self.responses, flex, "responses", |t, b| t.write(b, version, flex))?;
        let mut t = TaggedFieldsWriter::new();
        if version >= 16 {
            if !self.node_endpoints.is_empty() {
                t.field(0, |b| put_array(b, &self.node_endpoints, true, "node_endpoints", |n, b| n.write(b, version)))?;
            }
        } else {
            ensure_default(self.node_endpoints.is_empty(), "node_endpoints", version)?;
        }
        finish_tagged(buf, t, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for FetchResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = FetchResponse { throttle_time_ms: r.i32("throttle_time_ms")?, ..Default::default() };
        if version >= 7 {
            m.error_code = ErrorCode(r.i16("error_code")?);
            m.session_id = r.i32("session_id")?;
        }
        m.responses = read_array(r, flex, 2, "responses", |r| FetchableTopicResponse::read(r, version, flex))?;
        if flex {
            let mut node_endpoints = Vec::new();
            m.unknown_tagged_fields = r.tagged_fields(|tag, f| {
                match tag {
                    // Node id, host, port, rack and tagged fields: at least 11 bytes.
                    0 if version >= 16 => {
                        node_endpoints = read_array(f, true, 11, "node_endpoints", NodeEndpoint::read)?
                    }
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            m.node_endpoints = node_endpoints;
        }
        Ok(m)
    }
}

const EPOCH_END_OFFSET_FIELDS: &[FieldSpec] =
    &[FieldSpec::new("Epoch", "int32", Versions::from(12)), FieldSpec::new("EndOffset", "int64", Versions::from(12))];

const LEADER_ID_AND_EPOCH_FIELDS: &[FieldSpec] = &[
    FieldSpec::new("LeaderId", "int32", Versions::from(12)),
    FieldSpec::new("LeaderEpoch", "int32", Versions::from(12)),
];

const SNAPSHOT_ID_FIELDS: &[FieldSpec] =
    &[FieldSpec::new("EndOffset", "int64", Versions::from(0)), FieldSpec::new("Epoch", "int32", Versions::from(0))];

impl Message for FetchResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "FetchResponse",
        api_key: Some(ApiKey::FETCH),
        kind: MessageKind::Response,
        versions: Versions::range(4, 18),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(1)),
            FieldSpec::new("ErrorCode", "int16", Versions::from(7)),
            FieldSpec::new("SessionId", "int32", Versions::from(7)),
            FieldSpec::new("Responses", "[]FetchableTopicResponse", Versions::from(0)).with_fields(&[
                FieldSpec::new("Topic", "string", Versions::range(0, 12)),
                FieldSpec::new("TopicId", "uuid", Versions::from(13)),
                FieldSpec::new("Partitions", "[]PartitionData", Versions::from(0)).with_fields(&[
                    FieldSpec::new("PartitionIndex", "int32", Versions::from(0)),
                    FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
                    FieldSpec::new("HighWatermark", "int64", Versions::from(0)),
                    FieldSpec::new("LastStableOffset", "int64", Versions::from(4)),
                    FieldSpec::new("LogStartOffset", "int64", Versions::from(5)),
                    FieldSpec::new("DivergingEpoch", "EpochEndOffset", Versions::from(12))
                        .tagged(0, Versions::from(12))
                        .with_fields(EPOCH_END_OFFSET_FIELDS),
                    FieldSpec::new("CurrentLeader", "LeaderIdAndEpoch", Versions::from(12))
                        .tagged(1, Versions::from(12))
                        .with_fields(LEADER_ID_AND_EPOCH_FIELDS),
                    FieldSpec::new("SnapshotId", "SnapshotId", Versions::from(12))
                        .tagged(2, Versions::from(12))
                        .with_fields(SNAPSHOT_ID_FIELDS),
                    FieldSpec::new("AbortedTransactions", "[]AbortedTransaction", Versions::from(4))
                        .nullable(Versions::from(4))
                        .with_fields(&[
                            FieldSpec::new("ProducerId", "int64", Versions::from(4)),
                            FieldSpec::new("FirstOffset", "int64", Versions::from(4)),
                        ]),
                    FieldSpec::new("PreferredReadReplica", "int32", Versions::from(11)),
                    FieldSpec::new("Records", "records", Versions::from(0)).nullable(Versions::from(0)),
                ]),
            ]),
            FieldSpec::new("NodeEndpoints", "[]NodeEndpoint", Versions::from(16))
                .tagged(0, Versions::from(16))
                .with_fields(&[
                    FieldSpec::new("NodeId", "int32", Versions::from(16)),
                    FieldSpec::new("Host", "string", Versions::from(16)),
                    FieldSpec::new("Port", "int32", Versions::from(16)),
                    FieldSpec::new("Rack", "string", Versions::from(16)).nullable(Versions::from(16)),
                ]),
        ],
    };
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::messages::round_trip_checks::{
        bytes, check_every_version, error_code, nullable_string, string, unknown_tagged, uuid, vec_of, when,
    };

    fn replica_state() -> impl Strategy<Value = ReplicaState> {
        prop_oneof![
            Just(ReplicaState::default()),
            (any::<i32>(), any::<i64>(), unknown_tagged(true, 0)).prop_map(
                |(replica_id, replica_epoch, unknown_tagged_fields)| ReplicaState {
                    replica_id,
                    replica_epoch,
                    unknown_tagged_fields
                }
            ),
        ]
    }

    fn fetch_partition(v: i16) -> impl Strategy<Value = FetchPartition> {
        let flex = FLEXIBLE.contains(v);
        (
            (any::<i32>(), when(v >= 9, any::<i32>(), -1), any::<i64>(), when(v >= 12, any::<i32>(), -1)),
            (when(v >= 5, any::<i64>(), -1), any::<i32>()),
            (when(v >= 17, uuid(), Uuid::ZERO), when(v >= 18, any::<i64>(), i64::MAX), unknown_tagged(flex, 2)),
        )
            .prop_map(
                |((partition, current_leader_epoch, fetch_offset, last_fetched_epoch), (lso, max), tagged)| {
                    FetchPartition {
                        partition,
                        current_leader_epoch,
                        fetch_offset,
                        last_fetched_epoch,
                        log_start_offset: lso,
                        partition_max_bytes: max,
                        replica_directory_id: tagged.0,
                        high_watermark: tagged.1,
                        unknown_tagged_fields: tagged.2,
                    }
                },
            )
    }

    fn fetch_request(v: i16) -> impl Strategy<Value = FetchRequest> {
        let flex = FLEXIBLE.contains(v);
        let topic = (
            when(v <= 12, string(), String::new()),
            when(v >= 13, uuid(), Uuid::ZERO),
            vec_of(fetch_partition(v)),
            unknown_tagged(flex, 0),
        )
            .prop_map(|(topic, topic_id, partitions, unknown_tagged_fields)| FetchTopic {
                topic,
                topic_id,
                partitions,
                unknown_tagged_fields,
            });
        let forgotten = (
            when(v <= 12, string(), String::new()),
            when(v >= 13, uuid(), Uuid::ZERO),
            vec_of(any::<i32>()),
            unknown_tagged(flex, 0),
        )
            .prop_map(|(topic, topic_id, partitions, unknown_tagged_fields)| ForgottenTopic {
                topic,
                topic_id,
                partitions,
                unknown_tagged_fields,
            });
        (
            (
                when(flex, nullable_string(), None),
                when(v <= 14, any::<i32>(), -1),
                when(v >= 15, replica_state(), ReplicaState::default()),
            ),
            (any::<i32>(), any::<i32>(), any::<i32>(), any::<i8>()),
            (when(v >= 7, any::<i32>(), 0), when(v >= 7, any::<i32>(), -1)),
            (vec_of(topic), when(v >= 7, vec_of(forgotten), Vec::new()), when(v >= 11, string(), String::new())),
            unknown_tagged(flex, 2),
        )
            .prop_map(|(a, b, c, d, unknown_tagged_fields)| FetchRequest {
                cluster_id: a.0,
                replica_id: a.1,
                replica_state: a.2,
                max_wait_ms: b.0,
                min_bytes: b.1,
                max_bytes: b.2,
                isolation_level: b.3,
                session_id: c.0,
                session_epoch: c.1,
                topics: d.0,
                forgotten_topics_data: d.1,
                rack_id: d.2,
                unknown_tagged_fields,
            })
    }

    fn partition_data(v: i16) -> impl Strategy<Value = PartitionData> {
        let flex = FLEXIBLE.contains(v);
        let aborted = (any::<i64>(), any::<i64>(), unknown_tagged(flex, 0)).prop_map(|(p, f, u)| AbortedTransaction {
            producer_id: p,
            first_offset: f,
            unknown_tagged_fields: u,
        });
        let diverging =
            prop_oneof![
                Just(EpochEndOffset::default()),
                (any::<i32>(), any::<i64>(), unknown_tagged(true, 0))
                    .prop_map(|(epoch, end_offset, u)| EpochEndOffset { epoch, end_offset, unknown_tagged_fields: u }),
            ];
        let leader = prop_oneof![
            Just(LeaderIdAndEpoch::default()),
            (any::<i32>(), any::<i32>(), unknown_tagged(true, 0)).prop_map(|(leader_id, leader_epoch, u)| {
                LeaderIdAndEpoch { leader_id, leader_epoch, unknown_tagged_fields: u }
            }),
        ];
        let snapshot = prop_oneof![
            Just(SnapshotId::default()),
            (any::<i64>(), any::<i32>(), unknown_tagged(true, 0)).prop_map(|(end_offset, epoch, u)| SnapshotId {
                end_offset,
                epoch,
                unknown_tagged_fields: u
            }),
        ];
        (
            (any::<i32>(), error_code(), any::<i64>(), any::<i64>(), when(v >= 5, any::<i64>(), -1)),
            (
                when(flex, diverging, EpochEndOffset::default()),
                when(flex, leader, LeaderIdAndEpoch::default()),
                when(flex, snapshot, SnapshotId::default()),
            ),
            (proptest::option::of(vec_of(aborted)), when(v >= 11, any::<i32>(), -1), proptest::option::of(bytes())),
            unknown_tagged(flex, 3),
        )
            .prop_map(|(a, b, c, unknown_tagged_fields)| PartitionData {
                partition_index: a.0,
                error_code: a.1,
                high_watermark: a.2,
                last_stable_offset: a.3,
                log_start_offset: a.4,
                diverging_epoch: b.0,
                current_leader: b.1,
                snapshot_id: b.2,
                aborted_transactions: c.0,
                preferred_read_replica: c.1,
                records: c.2,
                unknown_tagged_fields,
            })
    }

    fn fetch_response(v: i16) -> impl Strategy<Value = FetchResponse> {
        let flex = FLEXIBLE.contains(v);
        let topic = (
            when(v <= 12, string(), String::new()),
            when(v >= 13, uuid(), Uuid::ZERO),
            vec_of(partition_data(v)),
            unknown_tagged(flex, 0),
        )
            .prop_map(|(topic, topic_id, partitions, unknown_tagged_fields)| FetchableTopicResponse {
                topic,
                topic_id,
                partitions,
                unknown_tagged_fields,
            });
        let endpoint = (any::<i32>(), string(), any::<i32>(), nullable_string(), unknown_tagged(true, 0)).prop_map(
            |(node_id, host, port, rack, u)| NodeEndpoint { node_id, host, port, rack, unknown_tagged_fields: u },
        );
        (
            any::<i32>(),
            when(v >= 7, error_code(), ErrorCode::NONE),
            when(v >= 7, any::<i32>(), 0),
            vec_of(topic),
            when(v >= 16, vec_of(endpoint), Vec::new()),
            unknown_tagged(flex, 1),
        )
            .prop_map(
                |(throttle_time_ms, error_code, session_id, responses, node_endpoints, unknown_tagged_fields)| {
                    FetchResponse {
                        throttle_time_ms,
                        error_code,
                        session_id,
                        responses,
                        node_endpoints,
                        unknown_tagged_fields,
                    }
                },
            )
    }

    #[test]
    fn request_round_trips_at_every_version() {
        assert_eq!(check_every_version(fetch_request), 15);
    }

    #[test]
    fn response_round_trips_at_every_version() {
        assert_eq!(check_every_version(fetch_response), 15);
    }

    #[test]
    fn records_are_a_slice_of_the_input_buffer() {
        let records = Bytes::from_static(b"record batch bytes, opaque to the fetch codec");
        for version in 4..=18 {
            let m = FetchResponse {
                responses: vec![FetchableTopicResponse {
                    topic: if version <= 12 { "t".into() } else { String::new() },
                    topic_id: if version >= 13 { Uuid([7; 16]) } else { Uuid::ZERO },
                    partitions: vec![PartitionData { records: Some(records.clone()), ..Default::default() }],
                    ..Default::default()
                }],
                ..Default::default()
            };
            let input = m.to_bytes(version).unwrap().freeze();
            let got = FetchResponse::decode_exact(&mut Reader::new(input.clone()), version).unwrap();
            let out = got.responses[0].partitions[0].records.as_ref().unwrap();
            assert_eq!(out, &records);
            let start = input.as_ptr() as usize;
            let p = out.as_ptr() as usize;
            assert!(p >= start && p + out.len() <= start + input.len(), "v{version}: records were copied");
        }
    }

    #[test]
    fn fields_outside_a_version_are_errors() {
        let unsupported = |m: &dyn Fn() -> Result<BytesMut, EncodeError>, field: &'static str, version: i16| {
            assert_eq!(m().unwrap_err(), EncodeError::UnsupportedField { field, version });
        };
        let r = FetchRequest { session_id: 5, ..Default::default() };
        unsupported(&|| r.to_bytes(6), "session_id", 6);
        assert!(r.to_bytes(7).is_ok());
        let r = FetchRequest { rack_id: "r".into(), ..Default::default() };
        unsupported(&|| r.to_bytes(10), "rack_id", 10);
        let r = FetchRequest { replica_id: 3, ..Default::default() };
        unsupported(&|| r.to_bytes(15), "replica_id", 15);
        assert!(r.to_bytes(14).is_ok());
        let r =
            FetchRequest { replica_state: ReplicaState { replica_id: 3, ..Default::default() }, ..Default::default() };
        unsupported(&|| r.to_bytes(14), "replica_state", 14);
        assert!(r.to_bytes(15).is_ok());
        let r = FetchRequest { cluster_id: Some("c".into()), ..Default::default() };
        unsupported(&|| r.to_bytes(11), "cluster_id", 11);
        let topic = |p: FetchPartition, name: &str, id: Uuid| FetchRequest {
            topics: vec![FetchTopic { topic: name.into(), topic_id: id, partitions: vec![p], ..Default::default() }],
            ..Default::default()
        };
        let r = topic(FetchPartition::default(), "t", Uuid::ZERO);
        unsupported(&|| r.to_bytes(13), "topic", 13);
        let r = topic(FetchPartition::default(), "", Uuid([1; 16]));
        unsupported(&|| r.to_bytes(12), "topic_id", 12);
        let r = topic(FetchPartition { current_leader_epoch: 2, ..Default::default() }, "t", Uuid::ZERO);
        unsupported(&|| r.to_bytes(8), "current_leader_epoch", 8);
        let r = topic(FetchPartition { last_fetched_epoch: 2, ..Default::default() }, "t", Uuid::ZERO);
        unsupported(&|| r.to_bytes(11), "last_fetched_epoch", 11);
        let r = topic(FetchPartition { log_start_offset: 2, ..Default::default() }, "t", Uuid::ZERO);
        unsupported(&|| r.to_bytes(4), "log_start_offset", 4);
        let r = topic(FetchPartition { replica_directory_id: Uuid([1; 16]), ..Default::default() }, "", Uuid::ZERO);
        unsupported(&|| r.to_bytes(16), "replica_directory_id", 16);
        let r = topic(FetchPartition { high_watermark: 5, ..Default::default() }, "", Uuid::ZERO);
        unsupported(&|| r.to_bytes(17), "high_watermark", 17);
        assert!(r.to_bytes(18).is_ok());
        let u = vec![RawTaggedField { tag: 9, data: Bytes::new() }];
        let r = FetchRequest { unknown_tagged_fields: u.clone(), ..Default::default() };
        unsupported(&|| r.to_bytes(11), "tagged fields", 11);

        let resp = |p: PartitionData| FetchResponse {
            responses: vec![FetchableTopicResponse { topic: "t".into(), partitions: vec![p], ..Default::default() }],
            ..Default::default()
        };
        let m = FetchResponse { error_code: ErrorCode(3), ..Default::default() };
        unsupported(&|| m.to_bytes(6), "error_code", 6);
        let m = FetchResponse { node_endpoints: vec![NodeEndpoint::default()], ..Default::default() };
        unsupported(&|| m.to_bytes(15), "node_endpoints", 15);
        let m = resp(PartitionData { log_start_offset: 0, ..Default::default() });
        unsupported(&|| m.to_bytes(4), "log_start_offset", 4);
        let m = resp(PartitionData { preferred_read_replica: 1, ..Default::default() });
        unsupported(&|| m.to_bytes(10), "preferred_read_replica", 10);
        let m = resp(PartitionData {
            diverging_epoch: EpochEndOffset { epoch: 1, ..Default::default() },
            ..Default::default()
        });
        unsupported(&|| m.to_bytes(11), "diverging_epoch", 11);
        assert!(m.to_bytes(12).is_ok());
        let m = resp(PartitionData {
            current_leader: LeaderIdAndEpoch { leader_id: 1, ..Default::default() },
            ..Default::default()
        });
        unsupported(&|| m.to_bytes(11), "current_leader", 11);
        let m =
            resp(PartitionData { snapshot_id: SnapshotId { epoch: 1, ..Default::default() }, ..Default::default() });
        unsupported(&|| m.to_bytes(11), "snapshot_id", 11);
    }

    #[test]
    fn tagged_fields_are_written_only_when_not_default() {
        let plain = FetchResponse {
            responses: vec![FetchableTopicResponse {
                topic_id: Uuid([1; 16]),
                partitions: vec![PartitionData::default()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let with_leader = FetchResponse {
            responses: vec![FetchableTopicResponse {
                topic_id: Uuid([1; 16]),
                partitions: vec![PartitionData {
                    current_leader: LeaderIdAndEpoch { leader_id: 2, leader_epoch: 9, ..Default::default() },
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let a = plain.to_bytes(16).unwrap();
        let b = with_leader.to_bytes(16).unwrap();
        // One tagged field: tag, size and the struct (two int32 and an empty tagged section).
        assert_eq!(b.len(), a.len() + 1 + 1 + 9);
    }

    #[test]
    fn repeated_or_out_of_order_tags_are_decode_errors() {
        // A v12 response with no topics, then a tagged section holding tags (5, 3) or (4, 4).
        for tags in [[5u8, 3], [4, 4]] {
            let body = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, tags[0], 0, tags[1], 0];
            let got = FetchResponse::decode_exact(&mut Reader::new(Bytes::copy_from_slice(&body)), 12);
            assert!(matches!(got, Err(DecodeError::Invalid { what: "tagged fields", .. })), "{tags:?}: {got:?}");
        }
        let ok = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 0];
        assert!(FetchResponse::decode_exact(&mut Reader::new(Bytes::copy_from_slice(&ok)), 12).is_ok());
    }

    #[test]
    fn known_tag_at_a_version_without_the_field_is_kept_as_unknown() {
        // Tag 1 (replica_state) is defined from v15; at v12 it must round-trip as an unknown field.
        let data = Bytes::from_static(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0]);
        let m = FetchRequest { unknown_tagged_fields: vec![RawTaggedField { tag: 1, data }], ..Default::default() };
        let b = m.to_bytes(12).unwrap().freeze();
        let got = FetchRequest::decode_exact(&mut Reader::new(b.clone()), 12).unwrap();
        assert_eq!(got, m);
        assert_eq!(got.to_bytes(12).unwrap(), b);
    }
}
