//! Produce (key 0): writes record batches to partition leaders. Versions 3–13 (Kafka 4.x dropped 0–2).
//!
//! Records travel as raw record-batch bytes (`Option<Bytes>`): this module frames them, the
//! [`records`](crate::records) module writes and reads their contents. Up to version 12 topics are named; version 13
//! addresses them by topic id (KIP-516), and a name or id that the version cannot carry is an encode error. Use
//! [`ProduceRequest::add_batch`] to fill in whichever the version needs.

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, TaggedFieldsWriter, Uuid, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(9);

/// The first version that addresses topics by id instead of by name.
pub const TOPIC_ID_VERSION: i16 = 13;

/// Writes a structure's tagged-field section holding only unknown fields (flexible versions); at other versions the
/// unknown fields must be empty.
fn put_unknown_tags(
    buf: &mut BytesMut,
    flex: bool,
    fields: &[RawTaggedField],
    what: &'static str,
    version: i16,
) -> Result<(), EncodeError> {
    if flex {
        let mut t = TaggedFieldsWriter::new();
        t.unknown(fields);
        t.finish(buf)
    } else {
        ensure_default(fields.is_empty(), what, version)
    }
}

/// Reads a tagged-field section with no known fields (flexible versions only).
fn read_unknown_tags(r: &mut Reader, flex: bool) -> Result<Vec<RawTaggedField>, DecodeError> {
    if flex { r.tagged_fields(|_, _| Ok(false)) } else { Ok(Vec::new()) }
}

/// Writes a topic's name (v0–12) or id (v13+); the other one must hold its default.
fn put_topic_key(buf: &mut BytesMut, name: &str, id: &Uuid, flex: bool, version: i16) -> Result<(), EncodeError> {
    if version < TOPIC_ID_VERSION {
        buf.put_string(name, flex, "name")?;
        ensure_default(id.is_zero(), "topic_id", version)
    } else {
        ensure_default(name.is_empty(), "name", version)?;
        buf.put_uuid(id);
        Ok(())
    }
}

/// Reads a topic's name (v0–12) or id (v13+).
fn read_topic_key(r: &mut Reader, flex: bool, version: i16) -> Result<(String, Uuid), DecodeError> {
    if version < TOPIC_ID_VERSION {
        Ok((r.string(flex, "name")?, Uuid::ZERO))
    } else {
        Ok((String::new(), r.uuid("topic_id")?))
    }
}

/// Least bytes a topic entry takes: a name (2 bytes classic, 1 compact) or a 16-byte id, and an array count.
fn min_topic_size(flex: bool, version: i16) -> usize {
    let key = if version >= TOPIC_ID_VERSION {
        16
    } else if flex {
        1
    } else {
        2
    };
    key + if flex { 2 } else { 4 }
}

/// Produce request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProduceRequest {
    /// The transactional id, or `None` when the producer is not transactional.
    pub transactional_id: Option<String>,
    /// Acknowledgements required: 0 (none), 1 (leader only) or -1 (full ISR).
    pub acks: i16,
    /// How long the broker may wait for the acknowledgements, in milliseconds.
    pub timeout_ms: i32,
    /// Each topic to produce to.
    pub topic_data: Vec<TopicProduceData>,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The batches for one topic.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TopicProduceData {
    /// The topic name (v0–12; empty in v13+).
    pub name: String,
    /// The topic id (v13+; zero before).
    pub topic_id: Uuid,
    /// Each partition to produce to.
    pub partition_data: Vec<PartitionProduceData>,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The records for one partition.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PartitionProduceData {
    /// The partition index.
    pub index: i32,
    /// The encoded record batch(es), or `None` for null.
    pub records: Option<Bytes>,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl ProduceRequest {
    /// A request with no batches yet.
    pub fn new(acks: i16, timeout_ms: i32) -> ProduceRequest {
        ProduceRequest { acks, timeout_ms, ..Default::default() }
    }

    /// The same request, for a transactional producer.
    pub fn with_transactional_id(mut self, transactional_id: impl Into<String>) -> ProduceRequest {
        self.transactional_id = Some(transactional_id.into());
        self
    }

    /// Adds one partition's record-batch bytes, addressing the topic the way `version` does: by `topic` name before
    /// version 13, by `topic_id` from 13 on. Batches for the same topic added one after another share its entry.
    pub fn add_batch(&mut self, version: i16, topic: &str, topic_id: Uuid, partition: i32, records: Bytes) {
        let by_id = version >= TOPIC_ID_VERSION;
        let same = |t: &TopicProduceData| if by_id { t.topic_id == topic_id } else { t.name == topic };
        let partition = PartitionProduceData { index: partition, records: Some(records), ..Default::default() };
        match self.topic_data.last_mut() {
            Some(t) if same(t) => t.partition_data.push(partition),
            _ => self.topic_data.push(TopicProduceData {
                name: if by_id { String::new() } else { topic.to_owned() },
                topic_id: if by_id { topic_id } else { Uuid::ZERO },
                partition_data: vec![partition],
                unknown_tagged_fields: Vec::new(),
            }),
        }
    }

    /// A request carrying one partition's batch; see [`ProduceRequest::add_batch`].
    pub fn single_batch(
        version: i16,
        acks: i16,
        timeout_ms: i32,
        topic: &str,
        topic_id: Uuid,
        partition: i32,
        records: Bytes,
    ) -> ProduceRequest {
        let mut r = ProduceRequest::new(acks, timeout_ms);
        r.add_batch(version, topic, topic_id, partition, records);
        r
    }
}

impl Encode for ProduceRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_nullable_string(self.transactional_id.as_deref(), flex, "transactional_id")?;
        buf.put_i16(self.acks);
        buf.put_i32(self.timeout_ms);
        buf.put_array_len(Some(self.topic_data.len()), flex, "topic_data")?;
        for t in &self.topic_data {
            put_topic_key(buf, &t.name, &t.topic_id, flex, version)?;
            buf.put_array_len(Some(t.partition_data.len()), flex, "partition_data")?;
            for p in &t.partition_data {
                buf.put_i32(p.index);
                buf.put_nullable_bytes(p.records.as_deref(), flex, "records")?;
                put_unknown_tags(buf, flex, &p.unknown_tagged_fields, "partition_data tagged fields", version)?;
            }
            put_unknown_tags(buf, flex, &t.unknown_tagged_fields, "topic_data tagged fields", version)?;
        }
        put_unknown_tags(buf, flex, &self.unknown_tagged_fields, "tagged fields", version)
    }
}

impl Decode for ProduceRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = ProduceRequest {
            transactional_id: r.nullable_string(flex, "transactional_id")?,
            acks: r.i16("acks")?,
            timeout_ms: r.i32("timeout_ms")?,
            ..Default::default()
        };
        let n = r.array_len(flex, min_topic_size(flex, version), "topic_data")?;
        m.topic_data = Vec::with_capacity(n);
        for _ in 0..n {
            let (name, topic_id) = read_topic_key(r, flex, version)?;
            // index + records length (+ tagged-field count).
            let np = r.array_len(flex, if flex { 6 } else { 8 }, "partition_data")?;
            let mut partition_data = Vec::with_capacity(np);
            for _ in 0..np {
                partition_data.push(PartitionProduceData {
                    index: r.i32("index")?,
                    records: r.nullable_bytes(flex, "records")?,
                    unknown_tagged_fields: read_unknown_tags(r, flex)?,
                });
            }
            m.topic_data.push(TopicProduceData {
                name,
                topic_id,
                partition_data,
                unknown_tagged_fields: read_unknown_tags(r, flex)?,
            });
        }
        m.unknown_tagged_fields = read_unknown_tags(r, flex)?;
        Ok(m)
    }
}

impl Message for ProduceRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "ProduceRequest",
        api_key: Some(ApiKey::PRODUCE),
        kind: MessageKind::Request,
        versions: Versions::range(3, 13),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("TransactionalId", "string", Versions::from(3)).nullable(Versions::from(3)),
            FieldSpec::new("Acks", "int16", Versions::from(0)),
            FieldSpec::new("TimeoutMs", "int32", Versions::from(0)),
            FieldSpec::new("TopicData", "[]TopicProduceData", Versions::from(0)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::range(0, 12)),
                FieldSpec::new("TopicId", "uuid", Versions::from(13)),
                FieldSpec::new("PartitionData", "[]PartitionProduceData", Versions::from(0)).with_fields(&[
                    FieldSpec::new("Index", "int32", Versions::from(0)),
                    FieldSpec::new("Records", "records", Versions::from(0)).nullable(Versions::from(0)),
                ]),
            ]),
        ],
    };
}

impl Request for ProduceRequest {
    const API_KEY: ApiKey = ApiKey::PRODUCE;
    type Response = ProduceResponse;
}

/// Produce response. With `acks = 0` the broker sends none.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProduceResponse {
    /// One entry per topic produced to.
    pub responses: Vec<TopicProduceResponse>,
    /// Throttle time in milliseconds (v1+).
    pub throttle_time_ms: i32,
    /// Endpoints of the current leaders named in `NOT_LEADER_OR_FOLLOWER` partition errors (v10+, tag 0).
    pub node_endpoints: Vec<NodeEndpoint>,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The results for one topic.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TopicProduceResponse {
    /// The topic name (v0–12; empty in v13+).
    pub name: String,
    /// The topic id (v13+; zero before).
    pub topic_id: Uuid,
    /// One entry per partition produced to.
    pub partition_responses: Vec<PartitionProduceResponse>,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The result for one partition's batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionProduceResponse {
    /// The partition index.
    pub index: i32,
    /// The partition's error.
    pub error_code: ErrorCode,
    /// The offset given to the batch's first record.
    pub base_offset: i64,
    /// The broker's append time when the topic uses LogAppendTime, else -1 (v2+).
    pub log_append_time_ms: i64,
    /// The partition's log start offset, -1 when unknown (v5+).
    pub log_start_offset: i64,
    /// The records that made the broker drop the batch (v8+).
    pub record_errors: Vec<BatchIndexAndErrorMessage>,
    /// A message summarising why the batch was dropped (v8+).
    pub error_message: Option<String>,
    /// The current leader, sent with `NOT_LEADER_OR_FOLLOWER` (v10+, tag 0).
    pub current_leader: LeaderIdAndEpoch,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for PartitionProduceResponse {
    fn default() -> Self {
        PartitionProduceResponse {
            index: 0,
            error_code: ErrorCode::NONE,
            base_offset: 0,
            log_append_time_ms: -1,
            log_start_offset: -1,
            record_errors: Vec::new(),
            error_message: None,
            current_leader: LeaderIdAndEpoch::default(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// One record that caused its batch to be dropped.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BatchIndexAndErrorMessage {
    /// The record's index within the batch.
    pub batch_index: i32,
    /// Why the record was rejected.
    pub batch_index_error_message: Option<String>,
    /// Unknown tagged fields (v9+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A partition's leader and leader epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderIdAndEpoch {
    /// The leader's broker id, -1 when unknown.
    pub leader_id: i32,
    /// The leader epoch, -1 when unknown.
    pub leader_epoch: i32,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for LeaderIdAndEpoch {
    fn default() -> Self {
        LeaderIdAndEpoch { leader_id: -1, leader_epoch: -1, unknown_tagged_fields: Vec::new() }
    }
}

/// Where a broker can be reached.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodeEndpoint {
    /// The broker id.
    pub node_id: i32,
    /// Host name.
    pub host: String,
    /// Port.
    pub port: i32,
    /// Rack, if the broker has one.
    pub rack: Option<String>,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl ProduceResponse {
    /// Every partition result with the name (before v13) or id (v13+) of its topic.
    pub fn partitions(&self) -> impl Iterator<Item = (&TopicProduceResponse, &PartitionProduceResponse)> {
        self.responses.iter().flat_map(|t| t.partition_responses.iter().map(move |p| (t, p)))
    }
}

fn put_partition_response(
    buf: &mut BytesMut,
    p: &PartitionProduceResponse,
    flex: bool,
    version: i16,
) -> Result<(), EncodeError> {
    buf.put_i32(p.index);
    buf.put_i16(p.error_code.0);
    buf.put_i64(p.base_offset);
    // log_append_time_ms exists from v2, below the supported range.
    buf.put_i64(p.log_append_time_ms);
    if version >= 5 {
        buf.put_i64(p.log_start_offset);
    } else {
        ensure_default(p.log_start_offset == -1, "log_start_offset", version)?;
    }
    if version >= 8 {
        buf.put_array_len(Some(p.record_errors.len()), flex, "record_errors")?;
        for e in &p.record_errors {
            buf.put_i32(e.batch_index);
            buf.put_nullable_string(e.batch_index_error_message.as_deref(), flex, "batch_index_error_message")?;
            put_unknown_tags(buf, flex, &e.unknown_tagged_fields, "record_errors tagged fields", version)?;
        }
        buf.put_nullable_string(p.error_message.as_deref(), flex, "error_message")?;
    } else {
        ensure_default(p.record_errors.is_empty(), "record_errors", version)?;
        ensure_default(p.error_message.is_none(), "error_message", version)?;
    }
    if flex {
        let mut t = TaggedFieldsWriter::new();
        if version >= 10 {
            if p.current_leader != LeaderIdAndEpoch::default() {
                t.field(0, |b| {
                    b.put_i32(p.current_leader.leader_id);
                    b.put_i32(p.current_leader.leader_epoch);
                    put_unknown_tags(b, true, &p.current_leader.unknown_tagged_fields, "current_leader", version)
                })?;
            }
        } else {
            ensure_default(p.current_leader == LeaderIdAndEpoch::default(), "current_leader", version)?;
        }
        t.unknown(&p.unknown_tagged_fields);
        t.finish(buf)
    } else {
        ensure_default(p.current_leader == LeaderIdAndEpoch::default(), "current_leader", version)?;
        ensure_default(p.unknown_tagged_fields.is_empty(), "partition_responses tagged fields", version)
    }
}

fn read_partition_response(r: &mut Reader, flex: bool, version: i16) -> Result<PartitionProduceResponse, DecodeError> {
    let mut p = PartitionProduceResponse {
        index: r.i32("index")?,
        error_code: ErrorCode(r.i16("error_code")?),
        base_offset: r.i64("base_offset")?,
        log_append_time_ms: r.i64("log_append_time_ms")?,
        ..Default::default()
    };
    if version >= 5 {
        p.log_start_offset = r.i64("log_start_offset")?;
    }
    if version >= 8 {
        // batch_index + error message length (+ tagged-field count): 6 bytes either way.
        let n = r.array_len(flex, 6, "record_errors")?;
        p.record_errors = Vec::with_capacity(n);
        for _ in 0..n {
            p.record_errors.push(BatchIndexAndErrorMessage {
                batch_index: r.i32("batch_index")?,
                batch_index_error_message: r.nullable_string(flex, "batch_index_error_message")?,
                unknown_tagged_fields: read_unknown_tags(r, flex)?,
            });
        }
        p.error_message = r.nullable_string(flex, "error_message")?;
    }
    if flex {
        let mut leader = LeaderIdAndEpoch::default();
        p.unknown_tagged_fields = r.tagged_fields(|tag, f| {
            if tag != 0 || version < 10 {
                return Ok(false);
            }
            leader = LeaderIdAndEpoch {
                leader_id: f.i32("leader_id")?,
                leader_epoch: f.i32("leader_epoch")?,
                unknown_tagged_fields: f.tagged_fields(|_, _| Ok(false))?,
            };
            Ok(true)
        })?;
        p.current_leader = leader;
    }
    Ok(p)
}

impl Encode for ProduceResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_array_len(Some(self.responses.len()), flex, "responses")?;
        for t in &self.responses {
            put_topic_key(buf, &t.name, &t.topic_id, flex, version)?;
            buf.put_array_len(Some(t.partition_responses.len()), flex, "partition_responses")?;
            for p in &t.partition_responses {
                put_partition_response(buf, p, flex, version)?;
            }
            put_unknown_tags(buf, flex, &t.unknown_tagged_fields, "responses tagged fields", version)?;
        }
        // throttle_time_ms exists from v1, below the supported range.
        buf.put_i32(self.throttle_time_ms);
        if flex {
            let mut t = TaggedFieldsWriter::new();
            if version >= 10 {
                if !self.node_endpoints.is_empty() {
                    t.field(0, |b| {
                        b.put_array_len(Some(self.node_endpoints.len()), true, "node_endpoints")?;
                        for e in &self.node_endpoints {
                            b.put_i32(e.node_id);
                            b.put_string(&e.host, true, "host")?;
                            b.put_i32(e.port);
                            b.put_nullable_string(e.rack.as_deref(), true, "rack")?;
                            put_unknown_tags(b, true, &e.unknown_tagged_fields, "node_endpoints", version)?;
                        }
                        Ok(())
                    })?;
                }
            } else {
                ensure_default(self.node_endpoints.is_empty(), "node_endpoints", version)?;
            }
            t.unknown(&self.unknown_tagged_fields);
            t.finish(buf)
        } else {
            ensure_default(self.node_endpoints.is_empty(), "node_endpoints", version)?;
            ensure_default(self.unknown_tagged_fields.is_empty(), "tagged fields", version)
        }
    }
}

impl Decode for ProduceResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = ProduceResponse::default();
        let n = r.array_len(flex, min_topic_size(flex, version), "responses")?;
        m.responses = Vec::with_capacity(n);
        for _ in 0..n {
            let (name, topic_id) = read_topic_key(r, flex, version)?;
            // index, error_code, base_offset, log_append_time_ms.
            let np = r.array_len(flex, 22, "partition_responses")?;
            let mut partition_responses = Vec::with_capacity(np);
            for _ in 0..np {
                partition_responses.push(read_partition_response(r, flex, version)?);
            }
            m.responses.push(TopicProduceResponse {
                name,
                topic_id,
                partition_responses,
                unknown_tagged_fields: read_unknown_tags(r, flex)?,
            });
        }
        m.throttle_time_ms = r.i32("throttle_time_ms")?;
        if flex {
            let mut endpoints = Vec::new();
            m.unknown_tagged_fields = r.tagged_fields(|tag, f| {
                if tag != 0 || version < 10 {
                    return Ok(false);
                }
                // node_id, host, port, rack, tagged-field count.
                let n = f.array_len(true, 11, "node_endpoints")?;
                endpoints = Vec::with_capacity(n);
                for _ in 0..n {
                    endpoints.push(NodeEndpoint {
                        node_id: f.i32("node_id")?,
                        host: f.string(true, "host")?,
                        port: f.i32("port")?,
                        rack: f.nullable_string(true, "rack")?,
                        unknown_tagged_fields: f.tagged_fields(|_, _| Ok(false))?,
                    });
                }
                Ok(true)
            })?;
            m.node_endpoints = endpoints;
        }
        Ok(m)
    }
}

impl Message for ProduceResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "ProduceResponse",
        api_key: Some(ApiKey::PRODUCE),
        kind: MessageKind::Response,
        versions: Versions::range(3, 13),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("Responses", "[]TopicProduceResponse", Versions::from(0)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::range(0, 12)),
                FieldSpec::new("TopicId", "uuid", Versions::from(13)),
                FieldSpec::new("PartitionResponses", "[]PartitionProduceResponse", Versions::from(0)).with_fields(&[
                    FieldSpec::new("Index", "int32", Versions::from(0)),
                    FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
                    FieldSpec::new("BaseOffset", "int64", Versions::from(0)),
                    FieldSpec::new("LogAppendTimeMs", "int64", Versions::from(2)),
                    FieldSpec::new("LogStartOffset", "int64", Versions::from(5)),
                    FieldSpec::new("RecordErrors", "[]BatchIndexAndErrorMessage", Versions::from(8)).with_fields(&[
                        FieldSpec::new("BatchIndex", "int32", Versions::from(8)),
                        FieldSpec::new("BatchIndexErrorMessage", "string", Versions::from(8))
                            .nullable(Versions::from(8)),
                    ]),
                    FieldSpec::new("ErrorMessage", "string", Versions::from(8)).nullable(Versions::from(8)),
                    FieldSpec::new("CurrentLeader", "LeaderIdAndEpoch", Versions::from(10))
                        .tagged(0, Versions::from(10))
                        .with_fields(&[
                            FieldSpec::new("LeaderId", "int32", Versions::from(10)),
                            FieldSpec::new("LeaderEpoch", "int32", Versions::from(10)),
                        ]),
                ]),
            ]),
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(1)),
            FieldSpec::new("NodeEndpoints", "[]NodeEndpoint", Versions::from(10))
                .tagged(0, Versions::from(10))
                .with_fields(&[
                    FieldSpec::new("NodeId", "int32", Versions::from(10)),
                    FieldSpec::new("Host", "string", Versions::from(10)),
                    FieldSpec::new("Port", "int32", Versions::from(10)),
                    FieldSpec::new("Rack", "string", Versions::from(10)).nullable(Versions::from(10)),
                ]),
        ],
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_batch_uses_names_before_v13_and_ids_after() {
        let id = Uuid::from_u64_pair(1, 2);
        let mut r = ProduceRequest::new(-1, 30_000);
        r.add_batch(12, "t", id, 0, Bytes::from_static(b"a"));
        r.add_batch(12, "t", id, 1, Bytes::from_static(b"b"));
        r.add_batch(12, "u", id, 0, Bytes::from_static(b"c"));
        assert_eq!(r.topic_data.len(), 2);
        assert_eq!(r.topic_data[0].partition_data.len(), 2);
        assert!(r.topic_data[0].topic_id.is_zero());
        assert!(r.to_bytes(12).is_ok());
        assert_eq!(r.to_bytes(13).unwrap_err(), EncodeError::UnsupportedField { field: "name", version: 13 });

        let r = ProduceRequest::single_batch(13, 1, 1000, "t", id, 3, Bytes::from_static(b"x"));
        assert_eq!(r.topic_data[0].topic_id, id);
        assert!(r.topic_data[0].name.is_empty());
        assert!(r.to_bytes(13).is_ok());
        assert_eq!(r.to_bytes(12).unwrap_err(), EncodeError::UnsupportedField { field: "topic_id", version: 12 });
    }

    #[test]
    fn v3_request_layout() {
        let r = ProduceRequest::single_batch(3, 1, 1000, "t", Uuid::ZERO, 2, Bytes::from_static(b"xy"));
        let b = r.to_bytes(3).unwrap();
        let want: &[u8] = &[
            0xff, 0xff, // null transactional id
            0, 1, // acks
            0, 0, 0x03, 0xe8, // timeout
            0, 0, 0, 1, // one topic
            0, 1, b't', // name
            0, 0, 0, 1, // one partition
            0, 0, 0, 2, // index
            0, 0, 0, 2, b'x', b'y', // records
        ];
        assert_eq!(&b[..], want);
    }

    #[test]
    fn tagged_leader_is_written_only_when_set() {
        let mut resp = ProduceResponse {
            responses: vec![TopicProduceResponse {
                name: "t".into(),
                partition_responses: vec![PartitionProduceResponse::default()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let plain = resp.to_bytes(10).unwrap();
        resp.responses[0].partition_responses[0].current_leader.leader_id = 4;
        let tagged = resp.to_bytes(10).unwrap();
        assert_eq!(tagged.len(), plain.len() + 2 + 9);
        assert_eq!(
            resp.to_bytes(9).unwrap_err(),
            EncodeError::UnsupportedField { field: "current_leader", version: 9 }
        );
        let back = ProduceResponse::decode_exact(&mut Reader::new(tagged.freeze()), 10).unwrap();
        assert_eq!(back, resp);
    }
}
