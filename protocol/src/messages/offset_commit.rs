//! OffsetCommit (key 8): stores a consumer group's committed offsets (with leader epoch and metadata) on its
//! group coordinator. Members of a classic group send their generation id, members of a consumer (KIP-848) group
//! their member epoch; v10+ names topics by id.

use bytes::{BufMut, BytesMut};

use super::struct_codec::{
    put_array, put_name_or_id, put_unknown_tagged, read_array, read_name_or_id, read_unknown_tagged,
};
use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, Uuid, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(8);
/// The last version that names topics; later versions use topic ids.
const NAMES_UNTIL: i16 = 9;

/// OffsetCommit request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    /// The group id.
    pub group_id: String,
    /// The generation (classic group) or member epoch (consumer group), or -1 (commits from outside the group).
    pub generation_id_or_member_epoch: i32,
    /// The member id assigned by the coordinator.
    pub member_id: String,
    /// The static member's instance id, or null (v7+).
    pub group_instance_id: Option<String>,
    /// How long to retain the offsets, in milliseconds; -1 for the broker's default (v2-4).
    pub retention_time_ms: i64,
    /// The topics.
    pub topics: Vec<OffsetCommitRequestTopic>,
    /// Unknown tagged fields (v8+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for OffsetCommitRequest {
    fn default() -> Self {
        OffsetCommitRequest {
            group_id: String::new(),
            generation_id_or_member_epoch: -1,
            member_id: String::new(),
            group_instance_id: None,
            retention_time_ms: -1,
            topics: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// A topic to commit offsets for.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetCommitRequestTopic {
    /// The topic name (v0-9).
    pub name: String,
    /// The topic id (v10+).
    pub topic_id: Uuid,
    /// The partitions.
    pub partitions: Vec<OffsetCommitRequestPartition>,
    /// Unknown tagged fields (v8+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A partition's offset to commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitRequestPartition {
    /// The partition index.
    pub partition_index: i32,
    /// The offset to commit: the next offset the consumer will read.
    pub committed_offset: i64,
    /// The leader epoch of the last consumed record, or -1 (v6+).
    pub committed_leader_epoch: i32,
    /// Metadata stored with the offset, or null. The spec's default is the empty string.
    pub committed_metadata: Option<String>,
    /// Unknown tagged fields (v8+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for OffsetCommitRequestPartition {
    fn default() -> Self {
        OffsetCommitRequestPartition {
            partition_index: 0,
            committed_offset: 0,
            committed_leader_epoch: -1,
            committed_metadata: Some(String::new()),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl OffsetCommitRequestTopic {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        put_name_or_id(buf, &self.name, &self.topic_id, version, NAMES_UNTIL, flex, "name")?;
        put_array(buf, &self.partitions, flex, "partitions", |p, b| {
            b.put_i32(p.partition_index);
            b.put_i64(p.committed_offset);
            if version >= 6 {
                b.put_i32(p.committed_leader_epoch);
            } else {
                ensure_default(p.committed_leader_epoch == -1, "committed_leader_epoch", version)?;
            }
            b.put_nullable_string(p.committed_metadata.as_deref(), flex, "committed_metadata")?;
            put_unknown_tagged(b, &p.unknown_tagged_fields, flex, "partitions tagged fields", version)
        })?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "topics tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16, flex: bool) -> Result<Self, DecodeError> {
        let (name, topic_id) = read_name_or_id(r, version, NAMES_UNTIL, flex, "name")?;
        // Index, offset and metadata: at least 13 bytes.
        let partitions = read_array(r, flex, 13, "partitions", |r| {
            let mut p = OffsetCommitRequestPartition {
                partition_index: r.i32("partition_index")?,
                committed_offset: r.i64("committed_offset")?,
                ..Default::default()
            };
            if version >= 6 {
                p.committed_leader_epoch = r.i32("committed_leader_epoch")?;
            }
            p.committed_metadata = r.nullable_string(flex, "committed_metadata")?;
            p.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
            Ok(p)
        })?;
        Ok(OffsetCommitRequestTopic {
            name,
            topic_id,
            partitions,
            unknown_tagged_fields: read_unknown_tagged(r, flex)?,
        })
    }
}

impl Encode for OffsetCommitRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_string(&self.group_id, flex, "group_id")?;
        buf.put_i32(self.generation_id_or_member_epoch);
        buf.put_string(&self.member_id, flex, "member_id")?;
        if version >= 7 {
            buf.put_nullable_string(self.group_instance_id.as_deref(), flex, "group_instance_id")?;
        } else {
            ensure_default(self.group_instance_id.is_none(), "group_instance_id", version)?;
        }
        if version <= 4 {
            buf.put_i64(self.retention_time_ms);
        } else {
            ensure_default(self.retention_time_ms == -1, "retention_time_ms", version)?;
        }
        put_array(buf, &self.topics, flex, "topics", |t, b| t.write(b, version, flex))?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for OffsetCommitRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = OffsetCommitRequest {
            group_id: r.string(flex, "group_id")?,
            generation_id_or_member_epoch: r.i32("generation_id_or_member_epoch")?,
            member_id: r.string(flex, "member_id")?,
            ..Default::default()
        };
        if version >= 7 {
            m.group_instance_id = r.nullable_string(flex, "group_instance_id")?;
        }
        if version <= 4 {
            m.retention_time_ms = r.i64("retention_time_ms")?;
        }
        m.topics = read_array(r, flex, 2, "topics", |r| OffsetCommitRequestTopic::read(r, version, flex))?;
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for OffsetCommitRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "OffsetCommitRequest",
        api_key: Some(ApiKey::OFFSET_COMMIT),
        kind: MessageKind::Request,
        versions: Versions::range(2, 10),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("GroupId", "string", Versions::from(0)),
            FieldSpec::new("GenerationIdOrMemberEpoch", "int32", Versions::from(1)),
            FieldSpec::new("MemberId", "string", Versions::from(1)),
            FieldSpec::new("GroupInstanceId", "string", Versions::from(7)).nullable(Versions::from(7)),
            FieldSpec::new("RetentionTimeMs", "int64", Versions::range(2, 4)),
            FieldSpec::new("Topics", "[]OffsetCommitRequestTopic", Versions::from(0)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::range(0, 9)),
                FieldSpec::new("TopicId", "uuid", Versions::from(10)),
                FieldSpec::new("Partitions", "[]OffsetCommitRequestPartition", Versions::from(0)).with_fields(&[
                    FieldSpec::new("PartitionIndex", "int32", Versions::from(0)),
                    FieldSpec::new("CommittedOffset", "int64", Versions::from(0)),
                    FieldSpec::new("CommittedLeaderEpoch", "int32", Versions::from(6)),
                    FieldSpec::new("CommittedMetadata", "string", Versions::from(0)).nullable(Versions::from(0)),
                ]),
            ]),
        ],
    };
}

impl Request for OffsetCommitRequest {
    const API_KEY: ApiKey = ApiKey::OFFSET_COMMIT;
    type Response = OffsetCommitResponse;
}

/// OffsetCommit response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetCommitResponse {
    /// Throttle time in milliseconds (v3+).
    pub throttle_time_ms: i32,
    /// The topics.
    pub topics: Vec<OffsetCommitResponseTopic>,
    /// Unknown tagged fields (v8+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A topic's commit results.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetCommitResponseTopic {
    /// The topic name (v0-9).
    pub name: String,
    /// The topic id (v10+).
    pub topic_id: Uuid,
    /// The partitions.
    pub partitions: Vec<OffsetCommitResponsePartition>,
    /// Unknown tagged fields (v8+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A partition's commit result.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetCommitResponsePartition {
    /// The partition index.
    pub partition_index: i32,
    /// The partition's error.
    pub error_code: ErrorCode,
    /// Unknown tagged fields (v8+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl OffsetCommitResponseTopic {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        put_name_or_id(buf, &self.name, &self.topic_id, version, NAMES_UNTIL, flex, "name")?;
        put_array(buf, &self.partitions, flex, "partitions", |p, b| {
            b.put_i32(p.partition_index);
            b.put_i16(p.error_code.0);
            put_unknown_tagged(b, &p.unknown_tagged_fields, flex, "partitions tagged fields", version)
        })?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "topics tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16, flex: bool) -> Result<Self, DecodeError> {
        let (name, topic_id) = read_name_or_id(r, version, NAMES_UNTIL, flex, "name")?;
        // Index and error: 6 bytes.
        let partitions = read_array(r, flex, 6, "partitions", |r| {
            Ok(OffsetCommitResponsePartition {
                partition_index: r.i32("partition_index")?,
                error_code: ErrorCode(r.i16("error_code")?),
                unknown_tagged_fields: read_unknown_tagged(r, flex)?,
            })
        })?;
        Ok(OffsetCommitResponseTopic {
            name,
            topic_id,
            partitions,
            unknown_tagged_fields: read_unknown_tagged(r, flex)?,
        })
    }
}

impl Encode for OffsetCommitResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 3 {
            buf.put_i32(self.throttle_time_ms);
        } else {
            ensure_default(self.throttle_time_ms == 0, "throttle_time_ms", version)?;
        }
        put_array(buf, &self.topics, flex, "topics", |t, b| t.write(b, version, flex))?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for OffsetCommitResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = OffsetCommitResponse::default();
        if version >= 3 {
            m.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        m.topics = read_array(r, flex, 2, "topics", |r| OffsetCommitResponseTopic::read(r, version, flex))?;
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for OffsetCommitResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "OffsetCommitResponse",
        api_key: Some(ApiKey::OFFSET_COMMIT),
        kind: MessageKind::Response,
        versions: Versions::range(2, 10),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(3)),
            FieldSpec::new("Topics", "[]OffsetCommitResponseTopic", Versions::from(0)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::range(0, 9)),
                FieldSpec::new("TopicId", "uuid", Versions::from(10)),
                FieldSpec::new("Partitions", "[]OffsetCommitResponsePartition", Versions::from(0)).with_fields(&[
                    FieldSpec::new("PartitionIndex", "int32", Versions::from(0)),
                    FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
                ]),
            ]),
        ],
    };
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::messages::round_trip_checks::{
        check_every_version, error_code, nullable_string, string, unknown_tagged, uuid, vec_of, when,
    };

    fn request(v: i16) -> impl Strategy<Value = OffsetCommitRequest> {
        let flex = FLEXIBLE.contains(v);
        let partition =
            (any::<i32>(), any::<i64>(), when(v >= 6, any::<i32>(), -1), nullable_string(), unknown_tagged(flex, 0))
                .prop_map(|(partition_index, committed_offset, committed_leader_epoch, committed_metadata, u)| {
                    OffsetCommitRequestPartition {
                        partition_index,
                        committed_offset,
                        committed_leader_epoch,
                        committed_metadata,
                        unknown_tagged_fields: u,
                    }
                });
        let topic = (
            when(v <= NAMES_UNTIL, string(), String::new()),
            when(v > NAMES_UNTIL, uuid(), Uuid::ZERO),
            vec_of(partition),
            unknown_tagged(flex, 0),
        )
            .prop_map(|(name, topic_id, partitions, u)| OffsetCommitRequestTopic {
                name,
                topic_id,
                partitions,
                unknown_tagged_fields: u,
            });
        (
            string(),
            any::<i32>(),
            string(),
            when(v >= 7, nullable_string(), None),
            when(v <= 4, any::<i64>(), -1),
            vec_of(topic),
            unknown_tagged(flex, 0),
        )
            .prop_map(|(group_id, generation, member_id, group_instance_id, retention_time_ms, topics, u)| {
                OffsetCommitRequest {
                    group_id,
                    generation_id_or_member_epoch: generation,
                    member_id,
                    group_instance_id,
                    retention_time_ms,
                    topics,
                    unknown_tagged_fields: u,
                }
            })
    }

    fn response(v: i16) -> impl Strategy<Value = OffsetCommitResponse> {
        let flex = FLEXIBLE.contains(v);
        let partition =
            (any::<i32>(), error_code(), unknown_tagged(flex, 0)).prop_map(|(partition_index, error_code, u)| {
                OffsetCommitResponsePartition { partition_index, error_code, unknown_tagged_fields: u }
            });
        let topic = (
            when(v <= NAMES_UNTIL, string(), String::new()),
            when(v > NAMES_UNTIL, uuid(), Uuid::ZERO),
            vec_of(partition),
            unknown_tagged(flex, 0),
        )
            .prop_map(|(name, topic_id, partitions, u)| OffsetCommitResponseTopic {
                name,
                topic_id,
                partitions,
                unknown_tagged_fields: u,
            });
        (when(v >= 3, any::<i32>(), 0), vec_of(topic), unknown_tagged(flex, 0)).prop_map(
            |(throttle_time_ms, topics, u)| OffsetCommitResponse { throttle_time_ms, topics, unknown_tagged_fields: u },
        )
    }

    #[test]
    fn request_round_trips_at_every_version() {
        assert_eq!(check_every_version(request), 9);
    }

    #[test]
    fn response_round_trips_at_every_version() {
        assert_eq!(check_every_version(response), 9);
    }

    #[test]
    fn fields_outside_a_version_are_errors() {
        let err = |field, version| EncodeError::UnsupportedField { field, version };
        let m = OffsetCommitRequest { group_instance_id: Some("i".into()), ..Default::default() };
        assert_eq!(m.to_bytes(6).unwrap_err(), err("group_instance_id", 6));
        assert!(m.to_bytes(7).is_ok());
        let m = OffsetCommitRequest { retention_time_ms: 1000, ..Default::default() };
        assert_eq!(m.to_bytes(5).unwrap_err(), err("retention_time_ms", 5));
        assert!(m.to_bytes(4).is_ok());
        let topic = |name: &str, topic_id, p| OffsetCommitRequest {
            topics: vec![OffsetCommitRequestTopic {
                name: name.into(),
                topic_id,
                partitions: vec![p],
                ..Default::default()
            }],
            ..Default::default()
        };
        let m = topic("t", Uuid::ZERO, OffsetCommitRequestPartition::default());
        assert_eq!(m.to_bytes(10).unwrap_err(), err("name", 10));
        let m = topic("", Uuid([2; 16]), OffsetCommitRequestPartition::default());
        assert_eq!(m.to_bytes(9).unwrap_err(), err("topic_id", 9));
        assert!(m.to_bytes(10).is_ok());
        let p = OffsetCommitRequestPartition { committed_leader_epoch: 4, ..Default::default() };
        let m = topic("t", Uuid::ZERO, p);
        assert_eq!(m.to_bytes(5).unwrap_err(), err("committed_leader_epoch", 5));
        let m = OffsetCommitResponse { throttle_time_ms: 1, ..Default::default() };
        assert_eq!(m.to_bytes(2).unwrap_err(), err("throttle_time_ms", 2));
        let m = OffsetCommitResponse {
            topics: vec![OffsetCommitResponseTopic { topic_id: Uuid([1; 16]), ..Default::default() }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(9).unwrap_err(), err("topic_id", 9));
        assert!(m.to_bytes(10).is_ok());
    }
}
