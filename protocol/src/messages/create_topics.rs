//! CreateTopics (key 19): creates topics with a partition count and replication factor or a manual assignment, and
//! per-topic configs. Versions 2–7 (Kafka 4.x dropped 0–1).
//!
//! From version 5 the response echoes the created topic's partition count, replication factor and configs; from
//! version 7 its topic id.

use bytes::{BufMut, BytesMut};

use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, TaggedFieldsWriter, Uuid, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(5);

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

fn read_unknown_tags(r: &mut Reader, flex: bool) -> Result<Vec<RawTaggedField>, DecodeError> {
    if flex { r.tagged_fields(|_, _| Ok(false)) } else { Ok(Vec::new()) }
}

/// CreateTopics request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateTopicsRequest {
    /// The topics to create.
    pub topics: Vec<CreatableTopic>,
    /// How long to wait for the topics to be created, in milliseconds.
    pub timeout_ms: i32,
    /// Only validate the request; create nothing (v1+).
    pub validate_only: bool,
    /// Unknown tagged fields (v5+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for CreateTopicsRequest {
    fn default() -> Self {
        CreateTopicsRequest {
            topics: Vec::new(),
            timeout_ms: 60_000,
            validate_only: false,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// One topic to create.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CreatableTopic {
    /// The topic name.
    pub name: String,
    /// Partition count; -1 for the broker default or with a manual assignment.
    pub num_partitions: i32,
    /// Replication factor; -1 for the broker default or with a manual assignment.
    pub replication_factor: i16,
    /// Manual replica assignment, empty for automatic assignment.
    pub assignments: Vec<CreatableReplicaAssignment>,
    /// Topic configs to set.
    pub configs: Vec<CreatableTopicConfig>,
    /// Unknown tagged fields (v5+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The replicas of one partition, for a manual assignment.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CreatableReplicaAssignment {
    /// The partition index.
    pub partition_index: i32,
    /// The brokers to place the partition on, preferred leader first.
    pub broker_ids: Vec<i32>,
    /// Unknown tagged fields (v5+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// One topic config to set.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CreatableTopicConfig {
    /// The config name.
    pub name: String,
    /// The config value.
    pub value: Option<String>,
    /// Unknown tagged fields (v5+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl CreatableTopic {
    /// A topic with `num_partitions` partitions of `replication_factor` replicas each (-1 for the broker defaults)
    /// and the given configs.
    pub fn new<K: Into<String>, V: Into<String>>(
        name: impl Into<String>,
        num_partitions: i32,
        replication_factor: i16,
        configs: impl IntoIterator<Item = (K, V)>,
    ) -> CreatableTopic {
        CreatableTopic {
            name: name.into(),
            num_partitions,
            replication_factor,
            assignments: Vec::new(),
            configs: configs
                .into_iter()
                .map(|(k, v)| CreatableTopicConfig {
                    name: k.into(),
                    value: Some(v.into()),
                    unknown_tagged_fields: Vec::new(),
                })
                .collect(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl CreateTopicsRequest {
    /// A request creating `topics`, waiting up to `timeout_ms`.
    pub fn new(topics: impl IntoIterator<Item = CreatableTopic>, timeout_ms: i32) -> CreateTopicsRequest {
        CreateTopicsRequest { topics: topics.into_iter().collect(), timeout_ms, ..Default::default() }
    }

    /// A request creating one topic; see [`CreatableTopic::new`].
    pub fn single<K: Into<String>, V: Into<String>>(
        name: impl Into<String>,
        num_partitions: i32,
        replication_factor: i16,
        configs: impl IntoIterator<Item = (K, V)>,
        timeout_ms: i32,
    ) -> CreateTopicsRequest {
        CreateTopicsRequest::new([CreatableTopic::new(name, num_partitions, replication_factor, configs)], timeout_ms)
    }
}

impl Encode for CreateTopicsRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_array_len(Some(self.topics.len()), flex, "topics")?;
        for t in &self.topics {
            buf.put_string(&t.name, flex, "name")?;
            buf.put_i32(t.num_partitions);
            buf.put_i16(t.replication_factor);
            buf.put_array_len(Some(t.assignments.len()), flex, "assignments")?;
            for a in &t.assignments {
                buf.put_i32(a.partition_index);
                buf.put_array_len(Some(a.broker_ids.len()), flex, "broker_ids")?;
                for id in &a.broker_ids {
                    buf.put_i32(*id);
                }
                put_unknown_tags(buf, flex, &a.unknown_tagged_fields, "assignments tagged fields", version)?;
            }
            buf.put_array_len(Some(t.configs.len()), flex, "configs")?;
            for c in &t.configs {
                buf.put_string(&c.name, flex, "configs name")?;
                buf.put_nullable_string(c.value.as_deref(), flex, "configs value")?;
                put_unknown_tags(buf, flex, &c.unknown_tagged_fields, "configs tagged fields", version)?;
            }
            put_unknown_tags(buf, flex, &t.unknown_tagged_fields, "topics tagged fields", version)?;
        }
        buf.put_i32(self.timeout_ms);
        // validate_only exists from v1, below the supported range.
        buf.put_bool(self.validate_only);
        put_unknown_tags(buf, flex, &self.unknown_tagged_fields, "tagged fields", version)
    }
}

impl Decode for CreateTopicsRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        // name, num_partitions, replication_factor, two array counts (+ tagged-field count).
        let n = r.array_len(flex, if flex { 10 } else { 16 }, "topics")?;
        let mut topics = Vec::with_capacity(n);
        for _ in 0..n {
            let mut t = CreatableTopic {
                name: r.string(flex, "name")?,
                num_partitions: r.i32("num_partitions")?,
                replication_factor: r.i16("replication_factor")?,
                ..Default::default()
            };
            // partition_index, broker_ids count (+ tagged-field count).
            let na = r.array_len(flex, if flex { 6 } else { 8 }, "assignments")?;
            t.assignments = Vec::with_capacity(na);
            for _ in 0..na {
                let partition_index = r.i32("partition_index")?;
                let nb = r.array_len(flex, 4, "broker_ids")?;
                let mut broker_ids = Vec::with_capacity(nb);
                for _ in 0..nb {
                    broker_ids.push(r.i32("broker_ids")?);
                }
                t.assignments.push(CreatableReplicaAssignment {
                    partition_index,
                    broker_ids,
                    unknown_tagged_fields: read_unknown_tags(r, flex)?,
                });
            }
            // name, value (+ tagged-field count).
            let nc = r.array_len(flex, if flex { 3 } else { 4 }, "configs")?;
            t.configs = Vec::with_capacity(nc);
            for _ in 0..nc {
                t.configs.push(CreatableTopicConfig {
                    name: r.string(flex, "configs name")?,
                    value: r.nullable_string(flex, "configs value")?,
                    unknown_tagged_fields: read_unknown_tags(r, flex)?,
                });
            }
            t.unknown_tagged_fields = read_unknown_tags(r, flex)?;
            topics.push(t);
        }
        Ok(CreateTopicsRequest {
            topics,
            timeout_ms: r.i32("timeout_ms")?,
            validate_only: r.bool("validate_only")?,
            unknown_tagged_fields: read_unknown_tags(r, flex)?,
        })
    }
}

impl Message for CreateTopicsRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "CreateTopicsRequest",
        api_key: Some(ApiKey::CREATE_TOPICS),
        kind: MessageKind::Request,
        versions: Versions::range(2, 7),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("Topics", "[]CreatableTopic", Versions::from(0)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::from(0)),
                FieldSpec::new("NumPartitions", "int32", Versions::from(0)),
                FieldSpec::new("ReplicationFactor", "int16", Versions::from(0)),
                FieldSpec::new("Assignments", "[]CreatableReplicaAssignment", Versions::from(0)).with_fields(&[
                    FieldSpec::new("PartitionIndex", "int32", Versions::from(0)),
                    FieldSpec::new("BrokerIds", "[]int32", Versions::from(0)),
                ]),
                FieldSpec::new("Configs", "[]CreatableTopicConfig", Versions::from(0)).with_fields(&[
                    FieldSpec::new("Name", "string", Versions::from(0)),
                    FieldSpec::new("Value", "string", Versions::from(0)).nullable(Versions::from(0)),
                ]),
            ]),
            FieldSpec::new("timeoutMs", "int32", Versions::from(0)),
            FieldSpec::new("validateOnly", "bool", Versions::from(1)),
        ],
    };
}

impl Request for CreateTopicsRequest {
    const API_KEY: ApiKey = ApiKey::CREATE_TOPICS;
    type Response = CreateTopicsResponse;
}

/// CreateTopics response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CreateTopicsResponse {
    /// Throttle time in milliseconds (v2+).
    pub throttle_time_ms: i32,
    /// One result per topic.
    pub topics: Vec<CreatableTopicResult>,
    /// Unknown tagged fields (v5+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The result of creating one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatableTopicResult {
    /// The topic name.
    pub name: String,
    /// The new topic's id (v7+).
    pub topic_id: Uuid,
    /// The error.
    pub error_code: ErrorCode,
    /// The error message.
    pub error_message: Option<String>,
    /// Why the configs could not be returned, when they were not (v5+, tag 0).
    pub topic_config_error_code: ErrorCode,
    /// The topic's partition count, -1 when not known (v5+).
    pub num_partitions: i32,
    /// The topic's replication factor, -1 when not known (v5+).
    pub replication_factor: i16,
    /// The topic's configs (v5+); `None` when the broker sent null or the version has none.
    pub configs: Option<Vec<CreatableTopicConfigs>>,
    /// Unknown tagged fields (v5+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for CreatableTopicResult {
    fn default() -> Self {
        CreatableTopicResult {
            name: String::new(),
            topic_id: Uuid::ZERO,
            error_code: ErrorCode::NONE,
            error_message: None,
            topic_config_error_code: ErrorCode::NONE,
            num_partitions: -1,
            replication_factor: -1,
            configs: None,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// One config of a created topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatableTopicConfigs {
    /// The config name.
    pub name: String,
    /// The config value.
    pub value: Option<String>,
    /// Whether the config is read-only.
    pub read_only: bool,
    /// Where the value comes from, -1 when unknown.
    pub config_source: i8,
    /// Whether the config is sensitive (its value is then null).
    pub is_sensitive: bool,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for CreatableTopicConfigs {
    fn default() -> Self {
        CreatableTopicConfigs {
            name: String::new(),
            value: None,
            read_only: false,
            config_source: -1,
            is_sensitive: false,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

fn put_topic_result(buf: &mut BytesMut, t: &CreatableTopicResult, flex: bool, version: i16) -> Result<(), EncodeError> {
    buf.put_string(&t.name, flex, "name")?;
    if version >= 7 {
        buf.put_uuid(&t.topic_id);
    } else {
        ensure_default(t.topic_id.is_zero(), "topic_id", version)?;
    }
    buf.put_i16(t.error_code.0);
    // error_message exists from v1, below the supported range.
    buf.put_nullable_string(t.error_message.as_deref(), flex, "error_message")?;
    if version >= 5 {
        buf.put_i32(t.num_partitions);
        buf.put_i16(t.replication_factor);
        match &t.configs {
            None => buf.put_array_len(None, flex, "configs")?,
            Some(configs) => {
                buf.put_array_len(Some(configs.len()), flex, "configs")?;
                for c in configs {
                    buf.put_string(&c.name, flex, "configs name")?;
                    buf.put_nullable_string(c.value.as_deref(), flex, "configs value")?;
                    buf.put_bool(c.read_only);
                    buf.put_i8(c.config_source);
                    buf.put_bool(c.is_sensitive);
                    put_unknown_tags(buf, flex, &c.unknown_tagged_fields, "configs tagged fields", version)?;
                }
            }
        }
    } else {
        ensure_default(t.num_partitions == -1, "num_partitions", version)?;
        ensure_default(t.replication_factor == -1, "replication_factor", version)?;
        ensure_default(t.configs.is_none(), "configs", version)?;
    }
    if flex {
        let mut w = TaggedFieldsWriter::new();
        if t.topic_config_error_code.is_err() {
            w.field(0, |b| {
                b.put_i16(t.topic_config_error_code.0);
                Ok(())
            })?;
        }
        w.unknown(&t.unknown_tagged_fields);
        w.finish(buf)
    } else {
        ensure_default(t.topic_config_error_code.is_ok(), "topic_config_error_code", version)?;
        ensure_default(t.unknown_tagged_fields.is_empty(), "topics tagged fields", version)
    }
}

fn read_topic_result(r: &mut Reader, flex: bool, version: i16) -> Result<CreatableTopicResult, DecodeError> {
    let mut t = CreatableTopicResult { name: r.string(flex, "name")?, ..Default::default() };
    if version >= 7 {
        t.topic_id = r.uuid("topic_id")?;
    }
    t.error_code = ErrorCode(r.i16("error_code")?);
    t.error_message = r.nullable_string(flex, "error_message")?;
    if version >= 5 {
        t.num_partitions = r.i32("num_partitions")?;
        t.replication_factor = r.i16("replication_factor")?;
        // name, value, read_only, config_source, is_sensitive (+ tagged-field count).
        t.configs = match r.nullable_array_len(flex, if flex { 6 } else { 7 }, "configs")? {
            None => None,
            Some(n) => {
                let mut configs = Vec::with_capacity(n);
                for _ in 0..n {
                    configs.push(CreatableTopicConfigs {
                        name: r.string(flex, "configs name")?,
                        value: r.nullable_string(flex, "configs value")?,
                        read_only: r.bool("read_only")?,
                        config_source: r.i8("config_source")?,
                        is_sensitive: r.bool("is_sensitive")?,
                        unknown_tagged_fields: read_unknown_tags(r, flex)?,
                    });
                }
                Some(configs)
            }
        };
    }
    if flex {
        let mut config_error = ErrorCode::NONE;
        t.unknown_tagged_fields = r.tagged_fields(|tag, f| {
            if tag != 0 {
                return Ok(false);
            }
            config_error = ErrorCode(f.i16("topic_config_error_code")?);
            Ok(true)
        })?;
        t.topic_config_error_code = config_error;
    }
    Ok(t)
}

impl Encode for CreateTopicsResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        // throttle_time_ms exists from v2, the lowest supported version.
        buf.put_i32(self.throttle_time_ms);
        buf.put_array_len(Some(self.topics.len()), flex, "topics")?;
        for t in &self.topics {
            put_topic_result(buf, t, flex, version)?;
        }
        put_unknown_tags(buf, flex, &self.unknown_tagged_fields, "tagged fields", version)
    }
}

impl Decode for CreateTopicsResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let throttle_time_ms = r.i32("throttle_time_ms")?;
        // name, error_code, error_message.
        let n = r.array_len(flex, if flex { 4 } else { 6 }, "topics")?;
        let mut topics = Vec::with_capacity(n);
        for _ in 0..n {
            topics.push(read_topic_result(r, flex, version)?);
        }
        Ok(CreateTopicsResponse { throttle_time_ms, topics, unknown_tagged_fields: read_unknown_tags(r, flex)? })
    }
}

impl Message for CreateTopicsResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "CreateTopicsResponse",
        api_key: Some(ApiKey::CREATE_TOPICS),
        kind: MessageKind::Response,
        versions: Versions::range(2, 7),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(2)),
            FieldSpec::new("Topics", "[]CreatableTopicResult", Versions::from(0)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::from(0)),
                FieldSpec::new("TopicId", "uuid", Versions::from(7)),
                FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
                FieldSpec::new("ErrorMessage", "string", Versions::from(1)).nullable(Versions::from(0)),
                FieldSpec::new("TopicConfigErrorCode", "int16", Versions::from(5)).tagged(0, Versions::from(5)),
                FieldSpec::new("NumPartitions", "int32", Versions::from(5)),
                FieldSpec::new("ReplicationFactor", "int16", Versions::from(5)),
                FieldSpec::new("Configs", "[]CreatableTopicConfigs", Versions::from(5))
                    .nullable(Versions::from(5))
                    .with_fields(&[
                        FieldSpec::new("Name", "string", Versions::from(5)),
                        FieldSpec::new("Value", "string", Versions::from(5)).nullable(Versions::from(5)),
                        FieldSpec::new("ReadOnly", "bool", Versions::from(5)),
                        FieldSpec::new("ConfigSource", "int8", Versions::from(5)),
                        FieldSpec::new("IsSensitive", "bool", Versions::from(5)),
                    ]),
            ]),
        ],
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_topic_request() {
        let r = CreateTopicsRequest::single("t", 3, 1, [("cleanup.policy", "compact")], 5000);
        assert_eq!(r.topics[0].configs[0].value.as_deref(), Some("compact"));
        for v in 2..=7 {
            let b = r.to_bytes(v).unwrap();
            assert_eq!(CreateTopicsRequest::decode_exact(&mut Reader::new(b.freeze()), v).unwrap(), r);
        }
    }

    #[test]
    fn response_fields_need_their_versions() {
        let t = CreatableTopicResult { name: "t".into(), num_partitions: 3, ..Default::default() };
        let m = CreateTopicsResponse { topics: vec![t], ..Default::default() };
        assert_eq!(m.to_bytes(4).unwrap_err(), EncodeError::UnsupportedField { field: "num_partitions", version: 4 });
        assert!(m.to_bytes(5).is_ok());
        let t = CreatableTopicResult { topic_config_error_code: ErrorCode(38), ..Default::default() };
        let m = CreateTopicsResponse { topics: vec![t], ..Default::default() };
        assert!(m.to_bytes(4).is_err());
        let b = m.to_bytes(5).unwrap();
        assert_eq!(CreateTopicsResponse::decode_exact(&mut Reader::new(b.freeze()), 5).unwrap(), m);
    }
}
