//! DeleteTopics (key 20): deletes topics. Versions 1–6 (Kafka 4.x dropped 0).
//!
//! Versions 1–5 name the topics in `topic_names`; version 6 lists [`DeleteTopicState`]s that carry a name or a
//! topic id (KIP-516), and its response may leave the name null when the topic was given by id.
//! [`DeleteTopicsRequest::by_names`] fills in whichever the version needs.

use bytes::{BufMut, BytesMut};

use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, TaggedFieldsWriter, Uuid, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(4);

/// The first version that lists topics as [`DeleteTopicState`] (name or id).
pub const TOPIC_STATE_VERSION: i16 = 6;

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

/// DeleteTopics request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DeleteTopicsRequest {
    /// The topics to delete, by name or id (v6+).
    pub topics: Vec<DeleteTopicState>,
    /// The names of the topics to delete (v0–5).
    pub topic_names: Vec<String>,
    /// How long to wait for the deletions, in milliseconds.
    pub timeout_ms: i32,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A topic to delete, by name or by id (v6+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DeleteTopicState {
    /// The topic name, or `None` when the topic is given by id.
    pub name: Option<String>,
    /// The topic id, or zero when the topic is given by name.
    pub topic_id: Uuid,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl DeleteTopicsRequest {
    /// A request deleting the named topics, filled in the way `version` carries them (`topic_names` before v6,
    /// `topics` from v6).
    pub fn by_names<S: Into<String>>(
        version: i16,
        names: impl IntoIterator<Item = S>,
        timeout_ms: i32,
    ) -> DeleteTopicsRequest {
        let names = names.into_iter().map(Into::into);
        if version >= TOPIC_STATE_VERSION {
            DeleteTopicsRequest {
                topics: names
                    .map(|n| DeleteTopicState {
                        name: Some(n),
                        topic_id: Uuid::ZERO,
                        unknown_tagged_fields: Vec::new(),
                    })
                    .collect(),
                timeout_ms,
                ..Default::default()
            }
        } else {
            DeleteTopicsRequest { topic_names: names.collect(), timeout_ms, ..Default::default() }
        }
    }

    /// A request deleting topics by id (v6+).
    pub fn by_ids(ids: impl IntoIterator<Item = Uuid>, timeout_ms: i32) -> DeleteTopicsRequest {
        DeleteTopicsRequest {
            topics: ids
                .into_iter()
                .map(|id| DeleteTopicState { name: None, topic_id: id, unknown_tagged_fields: Vec::new() })
                .collect(),
            timeout_ms,
            ..Default::default()
        }
    }
}

impl Encode for DeleteTopicsRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 6 {
            buf.put_array_len(Some(self.topics.len()), flex, "topics")?;
            for t in &self.topics {
                buf.put_nullable_string(t.name.as_deref(), flex, "name")?;
                buf.put_uuid(&t.topic_id);
                put_unknown_tags(buf, flex, &t.unknown_tagged_fields, "topics tagged fields", version)?;
            }
        } else {
            ensure_default(self.topics.is_empty(), "topics", version)?;
        }
        if version <= 5 {
            buf.put_array_len(Some(self.topic_names.len()), flex, "topic_names")?;
            for n in &self.topic_names {
                buf.put_string(n, flex, "topic_names")?;
            }
        } else {
            ensure_default(self.topic_names.is_empty(), "topic_names", version)?;
        }
        buf.put_i32(self.timeout_ms);
        put_unknown_tags(buf, flex, &self.unknown_tagged_fields, "tagged fields", version)
    }
}

impl Decode for DeleteTopicsRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = DeleteTopicsRequest::default();
        if version >= 6 {
            // name, topic_id, tagged-field count.
            let n = r.array_len(flex, 18, "topics")?;
            m.topics = Vec::with_capacity(n);
            for _ in 0..n {
                m.topics.push(DeleteTopicState {
                    name: r.nullable_string(flex, "name")?,
                    topic_id: r.uuid("topic_id")?,
                    unknown_tagged_fields: read_unknown_tags(r, flex)?,
                });
            }
        }
        if version <= 5 {
            m.topic_names = r.array(flex, "topic_names", |r| r.string(flex, "topic_names"))?;
        }
        m.timeout_ms = r.i32("timeout_ms")?;
        m.unknown_tagged_fields = read_unknown_tags(r, flex)?;
        Ok(m)
    }
}

impl Message for DeleteTopicsRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "DeleteTopicsRequest",
        api_key: Some(ApiKey::DELETE_TOPICS),
        kind: MessageKind::Request,
        versions: Versions::range(1, 6),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("Topics", "[]DeleteTopicState", Versions::from(6)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::from(6)).nullable(Versions::from(6)),
                FieldSpec::new("TopicId", "uuid", Versions::from(6)),
            ]),
            FieldSpec::new("TopicNames", "[]string", Versions::range(0, 5)),
            FieldSpec::new("TimeoutMs", "int32", Versions::from(0)),
        ],
    };
}

impl Request for DeleteTopicsRequest {
    const API_KEY: ApiKey = ApiKey::DELETE_TOPICS;
    type Response = DeleteTopicsResponse;
}

/// DeleteTopics response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DeleteTopicsResponse {
    /// Throttle time in milliseconds (v1+).
    pub throttle_time_ms: i32,
    /// One result per topic.
    pub responses: Vec<DeletableTopicResult>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The result of deleting one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletableTopicResult {
    /// The topic name; may be `None` only from v6 (a topic given by id that does not exist). Defaults to the empty
    /// string, as in the spec.
    pub name: Option<String>,
    /// The topic id (v6+).
    pub topic_id: Uuid,
    /// The error.
    pub error_code: ErrorCode,
    /// The error message (v5+).
    pub error_message: Option<String>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for DeletableTopicResult {
    fn default() -> Self {
        DeletableTopicResult {
            name: Some(String::new()),
            topic_id: Uuid::ZERO,
            error_code: ErrorCode::NONE,
            error_message: None,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for DeleteTopicsResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        // throttle_time_ms exists from v1, the lowest supported version.
        buf.put_i32(self.throttle_time_ms);
        buf.put_array_len(Some(self.responses.len()), flex, "responses")?;
        for t in &self.responses {
            if version >= 6 {
                buf.put_nullable_string(t.name.as_deref(), flex, "name")?;
                buf.put_uuid(&t.topic_id);
            } else {
                let name = t.name.as_deref().ok_or(EncodeError::NullNotAllowed { field: "name", version })?;
                buf.put_string(name, flex, "name")?;
                ensure_default(t.topic_id.is_zero(), "topic_id", version)?;
            }
            buf.put_i16(t.error_code.0);
            if version >= 5 {
                buf.put_nullable_string(t.error_message.as_deref(), flex, "error_message")?;
            } else {
                ensure_default(t.error_message.is_none(), "error_message", version)?;
            }
            put_unknown_tags(buf, flex, &t.unknown_tagged_fields, "responses tagged fields", version)?;
        }
        put_unknown_tags(buf, flex, &self.unknown_tagged_fields, "tagged fields", version)
    }
}

impl Decode for DeleteTopicsResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let throttle_time_ms = r.i32("throttle_time_ms")?;
        // name, error_code.
        let n = r.array_len(flex, if flex { 3 } else { 4 }, "responses")?;
        let mut responses = Vec::with_capacity(n);
        for _ in 0..n {
            let mut t = DeletableTopicResult::default();
            if version >= 6 {
                t.name = r.nullable_string(flex, "name")?;
                t.topic_id = r.uuid("topic_id")?;
            } else {
                t.name = Some(r.string(flex, "name")?);
            }
            t.error_code = ErrorCode(r.i16("error_code")?);
            if version >= 5 {
                t.error_message = r.nullable_string(flex, "error_message")?;
            }
            t.unknown_tagged_fields = read_unknown_tags(r, flex)?;
            responses.push(t);
        }
        Ok(DeleteTopicsResponse { throttle_time_ms, responses, unknown_tagged_fields: read_unknown_tags(r, flex)? })
    }
}

impl Message for DeleteTopicsResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "DeleteTopicsResponse",
        api_key: Some(ApiKey::DELETE_TOPICS),
        kind: MessageKind::Response,
        versions: Versions::range(1, 6),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(1)),
            FieldSpec::new("Responses", "[]DeletableTopicResult", Versions::from(0)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::from(0)).nullable(Versions::from(6)),
                FieldSpec::new("TopicId", "uuid", Versions::from(6)),
                FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
                FieldSpec::new("ErrorMessage", "string", Versions::from(5)).nullable(Versions::from(5)),
            ]),
        ],
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_names_fits_every_version() {
        for v in 1..=6 {
            let r = DeleteTopicsRequest::by_names(v, ["a", "b"], 1000);
            let b = r.to_bytes(v).unwrap();
            assert_eq!(DeleteTopicsRequest::decode_exact(&mut Reader::new(b.freeze()), v).unwrap(), r);
        }
        let r = DeleteTopicsRequest::by_ids([Uuid::from_u64_pair(1, 1)], 1000);
        assert_eq!(r.to_bytes(5).unwrap_err(), EncodeError::UnsupportedField { field: "topics", version: 5 });
        assert!(r.to_bytes(6).is_ok());
    }

    #[test]
    fn null_name_needs_v6() {
        let m = DeleteTopicsResponse {
            responses: vec![DeletableTopicResult { name: None, ..Default::default() }],
            ..Default::default()
        };
        assert_eq!(m.to_bytes(5).unwrap_err(), EncodeError::NullNotAllowed { field: "name", version: 5 });
        assert!(m.to_bytes(6).is_ok());
        assert!(DeleteTopicsResponse::default().to_bytes(1).is_ok());
    }
}
