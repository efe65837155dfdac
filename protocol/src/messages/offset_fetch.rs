//! OffsetFetch (key 9): reads a consumer group's committed offsets from its coordinator. Up to v7 a request names
//! one group; v8+ batches several groups; v9+ carries the member id and epoch of a consumer (KIP-848) group member;
//! v10+ names topics by id.

use bytes::{BufMut, BytesMut};

use super::struct_codec::{
    put_array, put_i32_array, put_name_or_id, put_nullable_array, put_unknown_tagged, read_array, read_i32_array,
    read_name_or_id, read_nullable_array, read_unknown_tagged,
};
use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, Uuid, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(6);
/// The last version of the batched form (v8+) that names topics; later versions use topic ids.
const NAMES_UNTIL: i16 = 9;

/// OffsetFetch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchRequest {
    /// The group (v0-7).
    pub group_id: String,
    /// The topics to fetch offsets for, or null for all topics (v0-7; null from v2). The spec's default is empty.
    pub topics: Option<Vec<OffsetFetchRequestTopic>>,
    /// The groups to fetch offsets for (v8+).
    pub groups: Vec<OffsetFetchRequestGroup>,
    /// Whether the broker should answer `UNSTABLE_OFFSET_COMMIT` for partitions with pending transactional
    /// offsets instead of returning them (v7+).
    pub require_stable: bool,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for OffsetFetchRequest {
    fn default() -> Self {
        OffsetFetchRequest {
            group_id: String::new(),
            topics: Some(Vec::new()),
            groups: Vec::new(),
            require_stable: false,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// A topic in a single-group request (v0-7).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetFetchRequestTopic {
    /// The topic name.
    pub name: String,
    /// The partitions.
    pub partition_indexes: Vec<i32>,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A group in a batched request (v8+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchRequestGroup {
    /// The group id.
    pub group_id: String,
    /// The member id, or null (v9+).
    pub member_id: Option<String>,
    /// The member epoch of a consumer (KIP-848) group member, or -1 (v9+).
    pub member_epoch: i32,
    /// The topics, or null for all topics. The spec's default is empty.
    pub topics: Option<Vec<OffsetFetchRequestTopics>>,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for OffsetFetchRequestGroup {
    fn default() -> Self {
        OffsetFetchRequestGroup {
            group_id: String::new(),
            member_id: None,
            member_epoch: -1,
            topics: Some(Vec::new()),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// A topic in a batched request's group (v8+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetFetchRequestTopics {
    /// The topic name (v8-9).
    pub name: String,
    /// The topic id (v10+).
    pub topic_id: Uuid,
    /// The partitions.
    pub partition_indexes: Vec<i32>,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl OffsetFetchRequestTopic {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        buf.put_string(&self.name, flex, "name")?;
        put_i32_array(buf, &self.partition_indexes, flex, "partition_indexes")?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "topics tagged fields", version)
    }

    fn read(r: &mut Reader, flex: bool) -> Result<Self, DecodeError> {
        Ok(OffsetFetchRequestTopic {
            name: r.string(flex, "name")?,
            partition_indexes: read_i32_array(r, flex, "partition_indexes")?,
            unknown_tagged_fields: read_unknown_tagged(r, flex)?,
        })
    }
}

impl OffsetFetchRequestGroup {
    fn write(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        buf.put_string(&self.group_id, true, "group_id")?;
        if version >= 9 {
            buf.put_nullable_string(self.member_id.as_deref(), true, "member_id")?;
            buf.put_i32(self.member_epoch);
        } else {
            ensure_default(self.member_id.is_none(), "member_id", version)?;
            ensure_default(self.member_epoch == -1, "member_epoch", version)?;
        }
        put_nullable_array(buf, self.topics.as_deref(), true, "topics", |t, b| {
            put_name_or_id(b, &t.name, &t.topic_id, version, NAMES_UNTIL, true, "name")?;
            put_i32_array(b, &t.partition_indexes, true, "partition_indexes")?;
            put_unknown_tagged(b, &t.unknown_tagged_fields, true, "topics tagged fields", version)
        })?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, true, "groups tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        let mut g = OffsetFetchRequestGroup { group_id: r.string(true, "group_id")?, ..Default::default() };
        if version >= 9 {
            g.member_id = r.nullable_string(true, "member_id")?;
            g.member_epoch = r.i32("member_epoch")?;
        }
        // Name or id, partition count and tagged fields: at least 3 bytes.
        g.topics = read_nullable_array(r, true, 3, "topics", |r| {
            let (name, topic_id) = read_name_or_id(r, version, NAMES_UNTIL, true, "name")?;
            Ok(OffsetFetchRequestTopics {
                name,
                topic_id,
                partition_indexes: read_i32_array(r, true, "partition_indexes")?,
                unknown_tagged_fields: read_unknown_tagged(r, true)?,
            })
        })?;
        g.unknown_tagged_fields = read_unknown_tagged(r, true)?;
        Ok(g)
    }
}

impl Encode for OffsetFetchRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version <= 7 {
            buf.put_string(&self.group_id, flex, "group_id")?;
            if self.topics.is_none() && version < 2 {
                return Err(EncodeError::NullNotAllowed { field: "topics", version });
            }
            put_nullable_array(buf, self.topics.as_deref(), flex, "topics", |t, b| t.write(b, version, flex))?;
        } else {
            ensure_default(self.group_id.is_empty(), "group_id", version)?;
            ensure_default(self.topics.as_ref().is_some_and(|t| t.is_empty()), "topics", version)?;
        }
        if version >= 8 {
            put_array(buf, &self.groups, true, "groups", |g, b| g.write(b, version))?;
        } else {
            ensure_default(self.groups.is_empty(), "groups", version)?;
        }
        if version >= 7 {
            buf.put_bool(self.require_stable);
        } else {
            ensure_default(!self.require_stable, "require_stable", version)?;
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for OffsetFetchRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = OffsetFetchRequest::default();
        if version <= 7 {
            m.group_id = r.string(flex, "group_id")?;
            // Name and partition count: at least 2 bytes.
            let topics = read_nullable_array(r, flex, 2, "topics", |r| OffsetFetchRequestTopic::read(r, flex))?;
            if topics.is_none() && version < 2 {
                return Err(DecodeError::UnexpectedNull { what: "topics" });
            }
            m.topics = topics;
        }
        if version >= 8 {
            // Group id, topics and tagged fields: at least 3 bytes.
            m.groups = read_array(r, true, 3, "groups", |r| OffsetFetchRequestGroup::read(r, version))?;
        }
        if version >= 7 {
            m.require_stable = r.bool("require_stable")?;
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for OffsetFetchRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "OffsetFetchRequest",
        api_key: Some(ApiKey::OFFSET_FETCH),
        kind: MessageKind::Request,
        versions: Versions::range(1, 10),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("GroupId", "string", Versions::range(0, 7)),
            FieldSpec::new("Topics", "[]OffsetFetchRequestTopic", Versions::range(0, 7))
                .nullable(Versions::range(2, 7))
                .with_fields(&[
                    FieldSpec::new("Name", "string", Versions::range(0, 7)),
                    FieldSpec::new("PartitionIndexes", "[]int32", Versions::range(0, 7)),
                ]),
            FieldSpec::new("Groups", "[]OffsetFetchRequestGroup", Versions::from(8)).with_fields(&[
                FieldSpec::new("GroupId", "string", Versions::from(8)),
                FieldSpec::new("MemberId", "string", Versions::from(9)).nullable(Versions::from(9)),
                FieldSpec::new("MemberEpoch", "int32", Versions::from(9)),
                FieldSpec::new("Topics", "[]OffsetFetchRequestTopics", Versions::from(8))
                    .nullable(Versions::from(8))
                    .with_fields(&[
                        FieldSpec::new("Name", "string", Versions::range(8, 9)),
                        FieldSpec::new("TopicId", "uuid", Versions::from(10)),
                        FieldSpec::new("PartitionIndexes", "[]int32", Versions::from(8)),
                    ]),
            ]),
            FieldSpec::new("RequireStable", "bool", Versions::from(7)),
        ],
    };
}

impl Request for OffsetFetchRequest {
    const API_KEY: ApiKey = ApiKey::OFFSET_FETCH;
    type Response = OffsetFetchResponse;
}

/// OffsetFetch response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetFetchResponse {
    /// Throttle time in milliseconds (v3+).
    pub throttle_time_ms: i32,
    /// The topics of the single group (v0-7).
    pub topics: Vec<OffsetFetchResponseTopic>,
    /// The single group's error (v2-7).
    pub error_code: ErrorCode,
    /// The groups (v8+).
    pub groups: Vec<OffsetFetchResponseGroup>,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A topic in a single-group response (v0-7).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetFetchResponseTopic {
    /// The topic name.
    pub name: String,
    /// The partitions.
    pub partitions: Vec<OffsetFetchResponsePartition>,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A partition in a single-group response (v0-7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchResponsePartition {
    /// The partition index.
    pub partition_index: i32,
    /// The committed offset, or -1 if none.
    pub committed_offset: i64,
    /// The committed leader epoch, or -1 (v5-7).
    pub committed_leader_epoch: i32,
    /// The committed metadata, or null. The spec's default is the empty string.
    pub metadata: Option<String>,
    /// The partition's error.
    pub error_code: ErrorCode,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for OffsetFetchResponsePartition {
    fn default() -> Self {
        OffsetFetchResponsePartition {
            partition_index: 0,
            committed_offset: 0,
            committed_leader_epoch: -1,
            metadata: Some(String::new()),
            error_code: ErrorCode::NONE,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// A group in a batched response (v8+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetFetchResponseGroup {
    /// The group id.
    pub group_id: String,
    /// The topics.
    pub topics: Vec<OffsetFetchResponseTopics>,
    /// The group's error.
    pub error_code: ErrorCode,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A topic in a batched response's group (v8+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetFetchResponseTopics {
    /// The topic name (v8-9).
    pub name: String,
    /// The topic id (v10+).
    pub topic_id: Uuid,
    /// The partitions.
    pub partitions: Vec<OffsetFetchResponsePartitions>,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A partition in a batched response's group (v8+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetFetchResponsePartitions {
    /// The partition index.
    pub partition_index: i32,
    /// The committed offset, or -1 if none.
    pub committed_offset: i64,
    /// The committed leader epoch, or -1.
    pub committed_leader_epoch: i32,
    /// The committed metadata, or null. The spec's default is the empty string.
    pub metadata: Option<String>,
    /// The partition's error.
    pub error_code: ErrorCode,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for OffsetFetchResponsePartitions {
    fn default() -> Self {
        OffsetFetchResponsePartitions {
            partition_index: 0,
            committed_offset: 0,
            committed_leader_epoch: -1,
            metadata: Some(String::new()),
            error_code: ErrorCode::NONE,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl OffsetFetchResponseTopic {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        buf.put_string(&self.name, flex, "name")?;
        put_array(buf, &self.partitions, flex, "partitions", |p, b| {
            b.put_i32(p.partition_index);
            b.put_i64(p.committed_offset);
            if version >= 5 {
                b.put_i32(p.committed_leader_epoch);
            } else {
                ensure_default(p.committed_leader_epoch == -1, "committed_leader_epoch", version)?;
            }
            b.put_nullable_string(p.metadata.as_deref(), flex, "metadata")?;
            b.put_i16(p.error_code.0);
            put_unknown_tagged(b, &p.unknown_tagged_fields, flex, "partitions tagged fields", version)
        })?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "topics tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16, flex: bool) -> Result<Self, DecodeError> {
        let name = r.string(flex, "name")?;
        // Index, offset, metadata and error: at least 15 bytes.
        let partitions = read_array(r, flex, 15, "partitions", |r| {
            let mut p = OffsetFetchResponsePartition {
                partition_index: r.i32("partition_index")?,
                committed_offset: r.i64("committed_offset")?,
                ..Default::default()
            };
            if version >= 5 {
                p.committed_leader_epoch = r.i32("committed_leader_epoch")?;
            }
            p.metadata = r.nullable_string(flex, "metadata")?;
            p.error_code = ErrorCode(r.i16("error_code")?);
            p.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
            Ok(p)
        })?;
        Ok(OffsetFetchResponseTopic { name, partitions, unknown_tagged_fields: read_unknown_tagged(r, flex)? })
    }
}

impl OffsetFetchResponseGroup {
    fn write(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        buf.put_string(&self.group_id, true, "group_id")?;
        put_array(buf, &self.topics, true, "topics", |t, b| {
            put_name_or_id(b, &t.name, &t.topic_id, version, NAMES_UNTIL, true, "name")?;
            put_array(b, &t.partitions, true, "partitions", |p, b| {
                b.put_i32(p.partition_index);
                b.put_i64(p.committed_offset);
                b.put_i32(p.committed_leader_epoch);
                b.put_nullable_string(p.metadata.as_deref(), true, "metadata")?;
                b.put_i16(p.error_code.0);
                put_unknown_tagged(b, &p.unknown_tagged_fields, true, "partitions tagged fields", version)
            })?;
            put_unknown_tagged(b, &t.unknown_tagged_fields, true, "topics tagged fields", version)
        })?;
        buf.put_i16(self.error_code.0);
        put_unknown_tagged(buf, &self.unknown_tagged_fields, true, "groups tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        let group_id = r.string(true, "group_id")?;
        // Name or id, partition count and tagged fields: at least 3 bytes.
        let topics = read_array(r, true, 3, "topics", |r| {
            let (name, topic_id) = read_name_or_id(r, version, NAMES_UNTIL, true, "name")?;
            // Index, offset, epoch, metadata, error and tagged fields: at least 20 bytes.
            let partitions = read_array(r, true, 20, "partitions", |r| {
                Ok(OffsetFetchResponsePartitions {
                    partition_index: r.i32("partition_index")?,
                    committed_offset: r.i64("committed_offset")?,
                    committed_leader_epoch: r.i32("committed_leader_epoch")?,
                    metadata: r.nullable_string(true, "metadata")?,
                    error_code: ErrorCode(r.i16("error_code")?),
                    unknown_tagged_fields: read_unknown_tagged(r, true)?,
                })
            })?;
            Ok(OffsetFetchResponseTopics {
                name,
                topic_id,
                partitions,
                unknown_tagged_fields: read_unknown_tagged(r, true)?,
            })
        })?;
        Ok(OffsetFetchResponseGroup {
            group_id,
            topics,
            error_code: ErrorCode(r.i16("error_code")?),
            unknown_tagged_fields: read_unknown_tagged(r, true)?,
        })
    }
}

impl Encode for OffsetFetchResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 3 {
            buf.put_i32(self.throttle_time_ms);
        } else {
            ensure_default(self.throttle_time_ms == 0, "throttle_time_ms", version)?;
        }
        if version <= 7 {
            put_array(buf, &self.topics, flex, "topics", |t, b| t.write(b, version, flex))?;
        } else {
            ensure_default(self.topics.is_empty(), "topics", version)?;
        }
        if (2..=7).contains(&version) {
            buf.put_i16(self.error_code.0);
        } else {
            ensure_default(self.error_code == ErrorCode::NONE, "error_code", version)?;
        }
        if version >= 8 {
            put_array(buf, &self.groups, true, "groups", |g, b| g.write(b, version))?;
        } else {
            ensure_default(self.groups.is_empty(), "groups", version)?;
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for OffsetFetchResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = OffsetFetchResponse::default();
        if version >= 3 {
            m.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        if version <= 7 {
            m.topics = read_array(r, flex, 2, "topics", |r| OffsetFetchResponseTopic::read(r, version, flex))?;
        }
        if (2..=7).contains(&version) {
            m.error_code = ErrorCode(r.i16("error_code")?);
        }
        if version >= 8 {
            // Group id, topic count, error and tagged fields: at least 5 bytes.
            m.groups = read_array(r, true, 5, "groups", |r| OffsetFetchResponseGroup::read(r, version))?;
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for OffsetFetchResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "OffsetFetchResponse",
        api_key: Some(ApiKey::OFFSET_FETCH),
        kind: MessageKind::Response,
        versions: Versions::range(1, 10),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(3)),
            FieldSpec::new("Topics", "[]OffsetFetchResponseTopic", Versions::range(0, 7)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::range(0, 7)),
                FieldSpec::new("Partitions", "[]OffsetFetchResponsePartition", Versions::range(0, 7)).with_fields(&[
                    FieldSpec::new("PartitionIndex", "int32", Versions::range(0, 7)),
                    FieldSpec::new("CommittedOffset", "int64", Versions::range(0, 7)),
                    FieldSpec::new("CommittedLeaderEpoch", "int32", Versions::range(5, 7)),
                    FieldSpec::new("Metadata", "string", Versions::range(0, 7)).nullable(Versions::range(0, 7)),
                    FieldSpec::new("ErrorCode", "int16", Versions::range(0, 7)),
                ]),
            ]),
            FieldSpec::new("ErrorCode", "int16", Versions::range(2, 7)),
            FieldSpec::new("Groups", "[]OffsetFetchResponseGroup", Versions::from(8)).with_fields(&[
                FieldSpec::new("GroupId", "string", Versions::from(8)),
                FieldSpec::new("Topics", "[]OffsetFetchResponseTopics", Versions::from(8)).with_fields(&[
                    FieldSpec::new("Name", "string", Versions::range(8, 9)),
                    FieldSpec::new("TopicId", "uuid", Versions::from(10)),
                    FieldSpec::new("Partitions", "[]OffsetFetchResponsePartitions", Versions::from(8)).with_fields(&[
                        FieldSpec::new("PartitionIndex", "int32", Versions::from(8)),
                        FieldSpec::new("CommittedOffset", "int64", Versions::from(8)),
                        FieldSpec::new("CommittedLeaderEpoch", "int32", Versions::from(8)),
                        FieldSpec::new("Metadata", "string", Versions::from(8)).nullable(Versions::from(8)),
                        FieldSpec::new("ErrorCode", "int16", Versions::from(8)),
                    ]),
                ]),
                FieldSpec::new("ErrorCode", "int16", Versions::from(8)),
            ]),
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

    fn request(v: i16) -> impl Strategy<Value = OffsetFetchRequest> {
        let flex = FLEXIBLE.contains(v);
        let topic = (string(), vec_of(any::<i32>()), unknown_tagged(flex, 0))
            .prop_map(|(name, p, u)| OffsetFetchRequestTopic { name, partition_indexes: p, unknown_tagged_fields: u });
        let topics =
            if v >= 2 { proptest::option::of(vec_of(topic)).boxed() } else { vec_of(topic).prop_map(Some).boxed() };
        let group_topic = (
            when(v <= NAMES_UNTIL, string(), String::new()),
            when(v > NAMES_UNTIL, uuid(), Uuid::ZERO),
            vec_of(any::<i32>()),
            unknown_tagged(true, 0),
        )
            .prop_map(|(name, topic_id, p, u)| OffsetFetchRequestTopics {
                name,
                topic_id,
                partition_indexes: p,
                unknown_tagged_fields: u,
            });
        let group = (
            string(),
            when(v >= 9, nullable_string(), None),
            when(v >= 9, any::<i32>(), -1),
            proptest::option::of(vec_of(group_topic)),
            unknown_tagged(true, 0),
        )
            .prop_map(|(group_id, member_id, member_epoch, topics, u)| OffsetFetchRequestGroup {
                group_id,
                member_id,
                member_epoch,
                topics,
                unknown_tagged_fields: u,
            });
        (
            when(v <= 7, string(), String::new()),
            when(v <= 7, topics, Some(Vec::new())),
            when(v >= 8, vec_of(group), Vec::new()),
            when(v >= 7, any::<bool>(), false),
            unknown_tagged(flex, 0),
        )
            .prop_map(|(group_id, topics, groups, require_stable, u)| OffsetFetchRequest {
                group_id,
                topics,
                groups,
                require_stable,
                unknown_tagged_fields: u,
            })
    }

    fn response(v: i16) -> impl Strategy<Value = OffsetFetchResponse> {
        let flex = FLEXIBLE.contains(v);
        let partition = (
            (any::<i32>(), any::<i64>(), when(v >= 5, any::<i32>(), -1)),
            (nullable_string(), error_code(), unknown_tagged(flex, 0)),
        )
            .prop_map(
                |((partition_index, committed_offset, committed_leader_epoch), (metadata, error_code, u))| {
                    OffsetFetchResponsePartition {
                        partition_index,
                        committed_offset,
                        committed_leader_epoch,
                        metadata,
                        error_code,
                        unknown_tagged_fields: u,
                    }
                },
            );
        let topic = (string(), vec_of(partition), unknown_tagged(flex, 0))
            .prop_map(|(name, partitions, u)| OffsetFetchResponseTopic { name, partitions, unknown_tagged_fields: u });
        let group_partition =
            ((any::<i32>(), any::<i64>(), any::<i32>()), (nullable_string(), error_code(), unknown_tagged(true, 0)))
                .prop_map(
                    |((partition_index, committed_offset, committed_leader_epoch), (metadata, error_code, u))| {
                        OffsetFetchResponsePartitions {
                            partition_index,
                            committed_offset,
                            committed_leader_epoch,
                            metadata,
                            error_code,
                            unknown_tagged_fields: u,
                        }
                    },
                );
        let group_topic = (
            when(v <= NAMES_UNTIL, string(), String::new()),
            when(v > NAMES_UNTIL, uuid(), Uuid::ZERO),
            vec_of(group_partition),
            unknown_tagged(true, 0),
        )
            .prop_map(|(name, topic_id, partitions, u)| OffsetFetchResponseTopics {
                name,
                topic_id,
                partitions,
                unknown_tagged_fields: u,
            });
        let group = (string(), vec_of(group_topic), error_code(), unknown_tagged(true, 0)).prop_map(
            |(group_id, topics, error_code, u)| OffsetFetchResponseGroup {
                group_id,
                topics,
                error_code,
                unknown_tagged_fields: u,
            },
        );
        (
            when(v >= 3, any::<i32>(), 0),
            when(v <= 7, vec_of(topic), Vec::new()),
            when((2..=7).contains(&v), error_code(), ErrorCode::NONE),
            when(v >= 8, vec_of(group), Vec::new()),
            unknown_tagged(flex, 0),
        )
            .prop_map(|(throttle_time_ms, topics, error_code, groups, u)| OffsetFetchResponse {
                throttle_time_ms,
                topics,
                error_code,
                groups,
                unknown_tagged_fields: u,
            })
    }

    #[test]
    fn request_round_trips_at_every_version() {
        assert_eq!(check_every_version(request), 10);
    }

    #[test]
    fn response_round_trips_at_every_version() {
        assert_eq!(check_every_version(response), 10);
    }

    #[test]
    fn null_topics_need_v2() {
        let m = OffsetFetchRequest { group_id: "g".into(), topics: None, ..Default::default() };
        assert_eq!(m.to_bytes(1).unwrap_err(), EncodeError::NullNotAllowed { field: "topics", version: 1 });
        let b = m.to_bytes(2).unwrap().freeze();
        assert_eq!(OffsetFetchRequest::decode_exact(&mut Reader::new(b), 2).unwrap(), m);
        // The v2 bytes (a -1 topic count) are not a valid v1 request.
        let b = m.to_bytes(2).unwrap().freeze();
        assert_eq!(
            OffsetFetchRequest::decode_exact(&mut Reader::new(b), 1).unwrap_err(),
            DecodeError::UnexpectedNull { what: "topics" }
        );
    }

    #[test]
    fn fields_outside_a_version_are_errors() {
        let err = |field, version| EncodeError::UnsupportedField { field, version };
        let m = OffsetFetchRequest { group_id: "g".into(), ..Default::default() };
        assert_eq!(m.to_bytes(8).unwrap_err(), err("group_id", 8));
        assert!(m.to_bytes(7).is_ok());
        let m = OffsetFetchRequest { topics: None, ..Default::default() };
        assert_eq!(m.to_bytes(8).unwrap_err(), err("topics", 8));
        let m = OffsetFetchRequest { groups: vec![OffsetFetchRequestGroup::default()], ..Default::default() };
        assert_eq!(m.to_bytes(7).unwrap_err(), err("groups", 7));
        assert!(m.to_bytes(8).is_ok());
        let m = OffsetFetchRequest { require_stable: true, ..Default::default() };
        assert_eq!(m.to_bytes(6).unwrap_err(), err("require_stable", 6));
        let group = |g: OffsetFetchRequestGroup| OffsetFetchRequest { groups: vec![g], ..Default::default() };
        let m = group(OffsetFetchRequestGroup { member_epoch: 3, ..Default::default() });
        assert_eq!(m.to_bytes(8).unwrap_err(), err("member_epoch", 8));
        assert!(m.to_bytes(9).is_ok());
        let m = group(OffsetFetchRequestGroup { member_id: Some("m".into()), ..Default::default() });
        assert_eq!(m.to_bytes(8).unwrap_err(), err("member_id", 8));
        let m = group(OffsetFetchRequestGroup {
            topics: Some(vec![OffsetFetchRequestTopics { topic_id: Uuid([3; 16]), ..Default::default() }]),
            ..Default::default()
        });
        assert_eq!(m.to_bytes(9).unwrap_err(), err("topic_id", 9));
        assert!(m.to_bytes(10).is_ok());
        let m = OffsetFetchRequest {
            unknown_tagged_fields: vec![RawTaggedField { tag: 0, data: Bytes::new() }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(5).unwrap_err(), err("tagged fields", 5));

        let m = OffsetFetchResponse { error_code: ErrorCode(16), ..Default::default() };
        assert_eq!(m.to_bytes(1).unwrap_err(), err("error_code", 1));
        assert_eq!(m.to_bytes(8).unwrap_err(), err("error_code", 8));
        assert!(m.to_bytes(7).is_ok());
        let m = OffsetFetchResponse { topics: vec![OffsetFetchResponseTopic::default()], ..Default::default() };
        assert_eq!(m.to_bytes(8).unwrap_err(), err("topics", 8));
        let m = OffsetFetchResponse { groups: vec![OffsetFetchResponseGroup::default()], ..Default::default() };
        assert_eq!(m.to_bytes(7).unwrap_err(), err("groups", 7));
        let m = OffsetFetchResponse {
            topics: vec![OffsetFetchResponseTopic {
                partitions: vec![OffsetFetchResponsePartition { committed_leader_epoch: 1, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(4).unwrap_err(), err("committed_leader_epoch", 4));
        assert!(m.to_bytes(5).is_ok());
        let m = OffsetFetchResponse { throttle_time_ms: 1, ..Default::default() };
        assert_eq!(m.to_bytes(2).unwrap_err(), err("throttle_time_ms", 2));
    }
}
