//! ListOffsets (key 2): the offset for a timestamp per partition, or one of the special offsets chosen with a
//! negative timestamp (see the `*_TIMESTAMP` constants).

use bytes::{BufMut, BytesMut};

use super::struct_codec::{put_array, put_unknown_tagged, read_array, read_unknown_tagged};
use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(6);

/// Timestamp asking for the offset of the next message to be written (the log end offset).
pub const LATEST_TIMESTAMP: i64 = -1;
/// Timestamp asking for the earliest offset still in the log.
pub const EARLIEST_TIMESTAMP: i64 = -2;
/// Timestamp asking for the offset of the message with the largest timestamp (v7+).
pub const MAX_TIMESTAMP: i64 = -3;
/// Timestamp asking for the earliest offset in local (not tiered) storage (v8+).
pub const EARLIEST_LOCAL_TIMESTAMP: i64 = -4;
/// Timestamp asking for the highest offset uploaded to tiered storage (v9+).
pub const LATEST_TIERED_TIMESTAMP: i64 = -5;
/// Timestamp asking for the earliest offset not yet uploaded to tiered storage (v11+).
pub const EARLIEST_PENDING_UPLOAD_TIMESTAMP: i64 = -6;

/// The `replica_id` of a request from a consumer.
pub const CONSUMER_REPLICA_ID: i32 = -1;

/// ListOffsets request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListOffsetsRequest {
    /// The broker id of the requester; consumers send [`CONSUMER_REPLICA_ID`]. The spec's default is 0.
    pub replica_id: i32,
    /// 0 (read uncommitted) or 1 (read committed: offsets up to the last stable offset) (v2+).
    pub isolation_level: i8,
    /// The topics.
    pub topics: Vec<ListOffsetsTopic>,
    /// How long to wait for offsets that require reading tiered storage, in milliseconds (v10+).
    pub timeout_ms: i32,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A topic in a ListOffsets request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListOffsetsTopic {
    /// The topic name.
    pub name: String,
    /// The partitions.
    pub partitions: Vec<ListOffsetsPartition>,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A partition in a ListOffsets request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOffsetsPartition {
    /// The partition index.
    pub partition_index: i32,
    /// The leader epoch the client knows, or -1 (v4+).
    pub current_leader_epoch: i32,
    /// The timestamp to look up, or one of the special negative values.
    pub timestamp: i64,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for ListOffsetsPartition {
    fn default() -> Self {
        ListOffsetsPartition {
            partition_index: 0,
            current_leader_epoch: -1,
            timestamp: 0,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl ListOffsetsTopic {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        buf.put_string(&self.name, flex, "name")?;
        put_array(buf, &self.partitions, flex, "partitions", |p, b| {
            b.put_i32(p.partition_index);
            if version >= 4 {
                b.put_i32(p.current_leader_epoch);
            } else {
                ensure_default(p.current_leader_epoch == -1, "current_leader_epoch", version)?;
            }
            b.put_i64(p.timestamp);
            put_unknown_tagged(b, &p.unknown_tagged_fields, flex, "partitions tagged fields", version)
        })?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "topics tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16, flex: bool) -> Result<Self, DecodeError> {
        let name = r.string(flex, "name")?;
        // Partition index and timestamp: at least 12 bytes.
        let partitions = read_array(r, flex, 12, "partitions", |r| {
            let mut p = ListOffsetsPartition { partition_index: r.i32("partition_index")?, ..Default::default() };
            if version >= 4 {
                p.current_leader_epoch = r.i32("current_leader_epoch")?;
            }
            p.timestamp = r.i64("timestamp")?;
            p.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
            Ok(p)
        })?;
        Ok(ListOffsetsTopic { name, partitions, unknown_tagged_fields: read_unknown_tagged(r, flex)? })
    }
}

impl Encode for ListOffsetsRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_i32(self.replica_id);
        if version >= 2 {
            buf.put_i8(self.isolation_level);
        } else {
            ensure_default(self.isolation_level == 0, "isolation_level", version)?;
        }
        put_array(buf, &self.topics, flex, "topics", |t, b| t.write(b, version, flex))?;
        if version >= 10 {
            buf.put_i32(self.timeout_ms);
        } else {
            ensure_default(self.timeout_ms == 0, "timeout_ms", version)?;
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for ListOffsetsRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = ListOffsetsRequest { replica_id: r.i32("replica_id")?, ..Default::default() };
        if version >= 2 {
            m.isolation_level = r.i8("isolation_level")?;
        }
        m.topics = read_array(r, flex, 2, "topics", |r| ListOffsetsTopic::read(r, version, flex))?;
        if version >= 10 {
            m.timeout_ms = r.i32("timeout_ms")?;
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for ListOffsetsRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "ListOffsetsRequest",
        api_key: Some(ApiKey::LIST_OFFSETS),
        kind: MessageKind::Request,
        versions: Versions::range(1, 11),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ReplicaId", "int32", Versions::from(0)),
            FieldSpec::new("IsolationLevel", "int8", Versions::from(2)),
            FieldSpec::new("Topics", "[]ListOffsetsTopic", Versions::from(0)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::from(0)),
                FieldSpec::new("Partitions", "[]ListOffsetsPartition", Versions::from(0)).with_fields(&[
                    FieldSpec::new("PartitionIndex", "int32", Versions::from(0)),
                    FieldSpec::new("CurrentLeaderEpoch", "int32", Versions::from(4)),
                    FieldSpec::new("Timestamp", "int64", Versions::from(0)),
                ]),
            ]),
            FieldSpec::new("TimeoutMs", "int32", Versions::from(10)),
        ],
    };
}

impl Request for ListOffsetsRequest {
    const API_KEY: ApiKey = ApiKey::LIST_OFFSETS;
    type Response = ListOffsetsResponse;
}

/// ListOffsets response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListOffsetsResponse {
    /// Throttle time in milliseconds (v2+).
    pub throttle_time_ms: i32,
    /// The topics.
    pub topics: Vec<ListOffsetsTopicResponse>,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A topic in a ListOffsets response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListOffsetsTopicResponse {
    /// The topic name.
    pub name: String,
    /// The partitions.
    pub partitions: Vec<ListOffsetsPartitionResponse>,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A partition in a ListOffsets response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOffsetsPartitionResponse {
    /// The partition index.
    pub partition_index: i32,
    /// The partition's error.
    pub error_code: ErrorCode,
    /// The timestamp of the returned offset, or -1.
    pub timestamp: i64,
    /// The returned offset, or -1.
    pub offset: i64,
    /// The leader epoch of the returned offset, or -1 (v4+).
    pub leader_epoch: i32,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for ListOffsetsPartitionResponse {
    fn default() -> Self {
        ListOffsetsPartitionResponse {
            partition_index: 0,
            error_code: ErrorCode::NONE,
            timestamp: -1,
            offset: -1,
            leader_epoch: -1,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl ListOffsetsTopicResponse {
    fn write(&self, buf: &mut BytesMut, version: i16, flex: bool) -> Result<(), EncodeError> {
        buf.put_string(&self.name, flex, "name")?;
        put_array(buf, &self.partitions, flex, "partitions", |p, b| {
            b.put_i32(p.partition_index);
            b.put_i16(p.error_code.0);
            b.put_i64(p.timestamp);
            b.put_i64(p.offset);
            if version >= 4 {
                b.put_i32(p.leader_epoch);
            } else {
                ensure_default(p.leader_epoch == -1, "leader_epoch", version)?;
            }
            put_unknown_tagged(b, &p.unknown_tagged_fields, flex, "partitions tagged fields", version)
        })?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "topics tagged fields", version)
    }

    fn read(r: &mut Reader, version: i16, flex: bool) -> Result<Self, DecodeError> {
        let name = r.string(flex, "name")?;
        // Index, error, timestamp and offset: at least 22 bytes.
        let partitions = read_array(r, flex, 22, "partitions", |r| {
            let mut p = ListOffsetsPartitionResponse {
                partition_index: r.i32("partition_index")?,
                error_code: ErrorCode(r.i16("error_code")?),
                timestamp: r.i64("timestamp")?,
                offset: r.i64("offset")?,
                ..Default::default()
            };
            if version >= 4 {
                p.leader_epoch = r.i32("leader_epoch")?;
            }
            p.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
            Ok(p)
        })?;
        Ok(ListOffsetsTopicResponse { name, partitions, unknown_tagged_fields: read_unknown_tagged(r, flex)? })
    }
}

impl Encode for ListOffsetsResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 2 {
            buf.put_i32(self.throttle_time_ms);
        } else {
            ensure_default(self.throttle_time_ms == 0, "throttle_time_ms", version)?;
        }
        put_array(buf, &self.topics, flex, "topics", |t, b| t.write(b, version, flex))?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for ListOffsetsResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = ListOffsetsResponse::default();
        if version >= 2 {
            m.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        m.topics = read_array(r, flex, 2, "topics", |r| ListOffsetsTopicResponse::read(r, version, flex))?;
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for ListOffsetsResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "ListOffsetsResponse",
        api_key: Some(ApiKey::LIST_OFFSETS),
        kind: MessageKind::Response,
        versions: Versions::range(1, 11),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(2)),
            FieldSpec::new("Topics", "[]ListOffsetsTopicResponse", Versions::from(0)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::from(0)),
                FieldSpec::new("Partitions", "[]ListOffsetsPartitionResponse", Versions::from(0)).with_fields(&[
                    FieldSpec::new("PartitionIndex", "int32", Versions::from(0)),
                    FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
                    FieldSpec::new("Timestamp", "int64", Versions::from(1)),
                    FieldSpec::new("Offset", "int64", Versions::from(1)),
                    FieldSpec::new("LeaderEpoch", "int32", Versions::from(4)),
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

    fn request(v: i16) -> impl Strategy<Value = ListOffsetsRequest> {
        let flex = FLEXIBLE.contains(v);
        let partition = (any::<i32>(), when(v >= 4, any::<i32>(), -1), any::<i64>(), unknown_tagged(flex, 0)).prop_map(
            |(partition_index, current_leader_epoch, timestamp, u)| ListOffsetsPartition {
                partition_index,
                current_leader_epoch,
                timestamp,
                unknown_tagged_fields: u,
            },
        );
        let topic = (string(), vec_of(partition), unknown_tagged(flex, 0))
            .prop_map(|(name, partitions, u)| ListOffsetsTopic { name, partitions, unknown_tagged_fields: u });
        (
            any::<i32>(),
            when(v >= 2, any::<i8>(), 0),
            vec_of(topic),
            when(v >= 10, any::<i32>(), 0),
            unknown_tagged(flex, 0),
        )
            .prop_map(|(replica_id, isolation_level, topics, timeout_ms, u)| ListOffsetsRequest {
                replica_id,
                isolation_level,
                topics,
                timeout_ms,
                unknown_tagged_fields: u,
            })
    }

    fn response(v: i16) -> impl Strategy<Value = ListOffsetsResponse> {
        let flex = FLEXIBLE.contains(v);
        let partition = (
            any::<i32>(),
            error_code(),
            any::<i64>(),
            any::<i64>(),
            when(v >= 4, any::<i32>(), -1),
            unknown_tagged(flex, 0),
        )
            .prop_map(|(partition_index, error_code, timestamp, offset, leader_epoch, u)| {
                ListOffsetsPartitionResponse {
                    partition_index,
                    error_code,
                    timestamp,
                    offset,
                    leader_epoch,
                    unknown_tagged_fields: u,
                }
            });
        let topic = (string(), vec_of(partition), unknown_tagged(flex, 0))
            .prop_map(|(name, partitions, u)| ListOffsetsTopicResponse { name, partitions, unknown_tagged_fields: u });
        (when(v >= 2, any::<i32>(), 0), vec_of(topic), unknown_tagged(flex, 0)).prop_map(
            |(throttle_time_ms, topics, u)| ListOffsetsResponse { throttle_time_ms, topics, unknown_tagged_fields: u },
        )
    }

    #[test]
    fn request_round_trips_at_every_version() {
        assert_eq!(check_every_version(request), 11);
    }

    #[test]
    fn response_round_trips_at_every_version() {
        assert_eq!(check_every_version(response), 11);
    }

    #[test]
    fn fields_outside_a_version_are_errors() {
        let err = |field, version| EncodeError::UnsupportedField { field, version };
        let m = ListOffsetsRequest { isolation_level: 1, ..Default::default() };
        assert_eq!(m.to_bytes(1).unwrap_err(), err("isolation_level", 1));
        assert!(m.to_bytes(2).is_ok());
        let m = ListOffsetsRequest { timeout_ms: 100, ..Default::default() };
        assert_eq!(m.to_bytes(9).unwrap_err(), err("timeout_ms", 9));
        assert!(m.to_bytes(10).is_ok());
        let m = ListOffsetsRequest {
            topics: vec![ListOffsetsTopic {
                name: "t".into(),
                partitions: vec![ListOffsetsPartition { current_leader_epoch: 3, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(3).unwrap_err(), err("current_leader_epoch", 3));
        let m = ListOffsetsRequest {
            unknown_tagged_fields: vec![RawTaggedField { tag: 0, data: bytes::Bytes::new() }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(5).unwrap_err(), err("tagged fields", 5));
        let m = ListOffsetsResponse { throttle_time_ms: 1, ..Default::default() };
        assert_eq!(m.to_bytes(1).unwrap_err(), err("throttle_time_ms", 1));
        let m = ListOffsetsResponse {
            topics: vec![ListOffsetsTopicResponse {
                name: "t".into(),
                partitions: vec![ListOffsetsPartitionResponse { leader_epoch: 3, ..Default::default() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(3).unwrap_err(), err("leader_epoch", 3));
        assert!(m.to_bytes(4).is_ok());
    }
}
