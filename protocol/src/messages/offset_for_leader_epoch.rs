//! OffsetForLeaderEpoch (key 23): the end offset of a leader epoch per partition, used by consumers to detect log
//! truncation after a leader change (KIP-320) and by followers to truncate their logs.

use bytes::{BufMut, BytesMut};

use super::struct_codec::{put_array, put_unknown_tagged, read_array, read_unknown_tagged};
use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(4);

/// The `replica_id` of a request from a consumer.
pub const CONSUMER_REPLICA_ID: i32 = -1;
/// The `replica_id` the broker assumes for versions that do not carry it (a debugging client).
pub const DEBUGGING_REPLICA_ID: i32 = -2;

/// OffsetForLeaderEpoch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetForLeaderEpochRequest {
    /// The follower's broker id, [`CONSUMER_REPLICA_ID`] for a consumer; defaults to [`DEBUGGING_REPLICA_ID`] (v3+).
    pub replica_id: i32,
    /// The topics.
    pub topics: Vec<OffsetForLeaderTopic>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for OffsetForLeaderEpochRequest {
    fn default() -> Self {
        OffsetForLeaderEpochRequest {
            replica_id: DEBUGGING_REPLICA_ID,
            topics: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// A topic in an OffsetForLeaderEpoch request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetForLeaderTopic {
    /// The topic name.
    pub topic: String,
    /// The partitions.
    pub partitions: Vec<OffsetForLeaderPartition>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A partition in an OffsetForLeaderEpoch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetForLeaderPartition {
    /// The partition index.
    pub partition: i32,
    /// The leader epoch the client knows (fences requests with stale metadata), or -1.
    pub current_leader_epoch: i32,
    /// The epoch to look up the end offset of.
    pub leader_epoch: i32,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for OffsetForLeaderPartition {
    fn default() -> Self {
        OffsetForLeaderPartition {
            partition: 0,
            current_leader_epoch: -1,
            leader_epoch: 0,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl OffsetForLeaderTopic {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        buf.put_string(&self.topic, flex, "topic")?;
        put_array(buf, &self.partitions, flex, "partitions", |p, b| {
            b.put_i32(p.partition);
            b.put_i32(p.current_leader_epoch);
            b.put_i32(p.leader_epoch);
            put_unknown_tagged(b, &p.unknown_tagged_fields, flex, "partitions tagged fields", version)
        })?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "topics tagged fields", version)
    }

    fn read(r: &mut Reader, flex: bool) -> Result<Self, DecodeError> {
        let topic = r.string(flex, "topic")?;
        // Three int32: 12 bytes.
        let partitions = read_array(r, flex, 12, "partitions", |r| {
            Ok(OffsetForLeaderPartition {
                partition: r.i32("partition")?,
                current_leader_epoch: r.i32("current_leader_epoch")?,
                leader_epoch: r.i32("leader_epoch")?,
                unknown_tagged_fields: read_unknown_tagged(r, flex)?,
            })
        })?;
        Ok(OffsetForLeaderTopic { topic, partitions, unknown_tagged_fields: read_unknown_tagged(r, flex)? })
    }
}

impl Encode for OffsetForLeaderEpochRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 3 {
            buf.put_i32(self.replica_id);
        } else {
            ensure_default(self.replica_id == DEBUGGING_REPLICA_ID, "replica_id", version)?;
        }
        put_array(buf, &self.topics, flex, "topics", |t, b| t.write(b, version, flex))?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for OffsetForLeaderEpochRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = OffsetForLeaderEpochRequest::default();
        if version >= 3 {
            m.replica_id = r.i32("replica_id")?;
        }
        m.topics = read_array(r, flex, 2, "topics", |r| OffsetForLeaderTopic::read(r, flex))?;
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for OffsetForLeaderEpochRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "OffsetForLeaderEpochRequest",
        api_key: Some(ApiKey::OFFSET_FOR_LEADER_EPOCH),
        kind: MessageKind::Request,
        versions: Versions::range(2, 4),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ReplicaId", "int32", Versions::from(3)),
            FieldSpec::new("Topics", "[]OffsetForLeaderTopic", Versions::from(0)).with_fields(&[
                FieldSpec::new("Topic", "string", Versions::from(0)),
                FieldSpec::new("Partitions", "[]OffsetForLeaderPartition", Versions::from(0)).with_fields(&[
                    FieldSpec::new("Partition", "int32", Versions::from(0)),
                    FieldSpec::new("CurrentLeaderEpoch", "int32", Versions::from(2)),
                    FieldSpec::new("LeaderEpoch", "int32", Versions::from(0)),
                ]),
            ]),
        ],
    };
}

impl Request for OffsetForLeaderEpochRequest {
    const API_KEY: ApiKey = ApiKey::OFFSET_FOR_LEADER_EPOCH;
    type Response = OffsetForLeaderEpochResponse;
}

/// OffsetForLeaderEpoch response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetForLeaderEpochResponse {
    /// Throttle time in milliseconds.
    pub throttle_time_ms: i32,
    /// The topics.
    pub topics: Vec<OffsetForLeaderTopicResult>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A topic in an OffsetForLeaderEpoch response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OffsetForLeaderTopicResult {
    /// The topic name.
    pub topic: String,
    /// The partitions.
    pub partitions: Vec<EpochEndOffset>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A partition's answer: the requested epoch (or the largest one not above it) and its end offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochEndOffset {
    /// The partition's error.
    pub error_code: ErrorCode,
    /// The partition index.
    pub partition: i32,
    /// The leader epoch found, or -1.
    pub leader_epoch: i32,
    /// Its end offset, or -1.
    pub end_offset: i64,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for EpochEndOffset {
    fn default() -> Self {
        EpochEndOffset {
            error_code: ErrorCode::NONE,
            partition: 0,
            leader_epoch: -1,
            end_offset: -1,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl OffsetForLeaderTopicResult {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        buf.put_string(&self.topic, flex, "topic")?;
        put_array(buf, &self.partitions, flex, "partitions", |p, b| {
            b.put_i16(p.error_code.0);
            b.put_i32(p.partition);
            b.put_i32(p.leader_epoch);
            b.put_i64(p.end_offset);
            put_unknown_tagged(b, &p.unknown_tagged_fields, flex, "partitions tagged fields", version)
        })?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "topics tagged fields", version)
    }

    fn read(r: &mut Reader, flex: bool) -> Result<Self, DecodeError> {
        let topic = r.string(flex, "topic")?;
        // Error, partition, epoch and end offset: 18 bytes.
        let partitions = read_array(r, flex, 18, "partitions", |r| {
            Ok(EpochEndOffset {
                error_code: ErrorCode(r.i16("error_code")?),
                partition: r.i32("partition")?,
                leader_epoch: r.i32("leader_epoch")?,
                end_offset: r.i64("end_offset")?,
                unknown_tagged_fields: read_unknown_tagged(r, flex)?,
            })
        })?;
        Ok(OffsetForLeaderTopicResult { topic, partitions, unknown_tagged_fields: read_unknown_tagged(r, flex)? })
    }
}

impl Encode for OffsetForLeaderEpochResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_i32(self.throttle_time_ms);
        put_array(buf, &self.topics, flex, "topics", |t, b| t.write(b, version, flex))?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for OffsetForLeaderEpochResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        Ok(OffsetForLeaderEpochResponse {
            throttle_time_ms: r.i32("throttle_time_ms")?,
            topics: read_array(r, flex, 2, "topics", |r| OffsetForLeaderTopicResult::read(r, flex))?,
            unknown_tagged_fields: read_unknown_tagged(r, flex)?,
        })
    }
}

impl Message for OffsetForLeaderEpochResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "OffsetForLeaderEpochResponse",
        api_key: Some(ApiKey::OFFSET_FOR_LEADER_EPOCH),
        kind: MessageKind::Response,
        versions: Versions::range(2, 4),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(2)),
            FieldSpec::new("Topics", "[]OffsetForLeaderTopicResult", Versions::from(0)).with_fields(&[
                FieldSpec::new("Topic", "string", Versions::from(0)),
                FieldSpec::new("Partitions", "[]EpochEndOffset", Versions::from(0)).with_fields(&[
                    FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
                    FieldSpec::new("Partition", "int32", Versions::from(0)),
                    FieldSpec::new("LeaderEpoch", "int32", Versions::from(1)),
                    FieldSpec::new("EndOffset", "int64", Versions::from(0)),
                ]),
            ]),
        ],
    };
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::messages::round_trip_checks::{check_every_version, error_code, string, unknown_tagged, vec_of, when};

    fn request(v: i16) -> impl Strategy<Value = OffsetForLeaderEpochRequest> {
        let flex = FLEXIBLE.contains(v);
        let partition = (any::<i32>(), any::<i32>(), any::<i32>(), unknown_tagged(flex, 0)).prop_map(
            |(partition, current_leader_epoch, leader_epoch, u)| OffsetForLeaderPartition {
                partition,
                current_leader_epoch,
                leader_epoch,
                unknown_tagged_fields: u,
            },
        );
        let topic = (string(), vec_of(partition), unknown_tagged(flex, 0))
            .prop_map(|(topic, partitions, u)| OffsetForLeaderTopic { topic, partitions, unknown_tagged_fields: u });
        (when(v >= 3, any::<i32>(), DEBUGGING_REPLICA_ID), vec_of(topic), unknown_tagged(flex, 0)).prop_map(
            |(replica_id, topics, u)| OffsetForLeaderEpochRequest { replica_id, topics, unknown_tagged_fields: u },
        )
    }

    fn response(v: i16) -> impl Strategy<Value = OffsetForLeaderEpochResponse> {
        let flex = FLEXIBLE.contains(v);
        let partition = (error_code(), any::<i32>(), any::<i32>(), any::<i64>(), unknown_tagged(flex, 0)).prop_map(
            |(error_code, partition, leader_epoch, end_offset, u)| EpochEndOffset {
                error_code,
                partition,
                leader_epoch,
                end_offset,
                unknown_tagged_fields: u,
            },
        );
        let topic = (string(), vec_of(partition), unknown_tagged(flex, 0)).prop_map(|(topic, partitions, u)| {
            OffsetForLeaderTopicResult { topic, partitions, unknown_tagged_fields: u }
        });
        (any::<i32>(), vec_of(topic), unknown_tagged(flex, 0)).prop_map(|(throttle_time_ms, topics, u)| {
            OffsetForLeaderEpochResponse { throttle_time_ms, topics, unknown_tagged_fields: u }
        })
    }

    #[test]
    fn request_round_trips_at_every_version() {
        assert_eq!(check_every_version(request), 3);
    }

    #[test]
    fn response_round_trips_at_every_version() {
        assert_eq!(check_every_version(response), 3);
    }

    #[test]
    fn fields_outside_a_version_are_errors() {
        let m = OffsetForLeaderEpochRequest { replica_id: CONSUMER_REPLICA_ID, ..Default::default() };
        assert_eq!(m.to_bytes(2).unwrap_err(), EncodeError::UnsupportedField { field: "replica_id", version: 2 });
        assert!(m.to_bytes(3).is_ok());
        let m = OffsetForLeaderEpochResponse {
            topics: vec![OffsetForLeaderTopicResult {
                unknown_tagged_fields: vec![RawTaggedField { tag: 0, data: bytes::Bytes::new() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            m.to_bytes(3).unwrap_err(),
            EncodeError::UnsupportedField { field: "topics tagged fields", version: 3 }
        );
        assert!(m.to_bytes(4).is_ok());
    }
}
