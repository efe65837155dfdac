//! FindCoordinator (key 10): which broker coordinates a group, a transactional id or a share group. Versions 0–6.
//!
//! Versions 0–3 ask for one key and answer with one coordinator; from version 4 a request carries a batch of keys
//! (`coordinator_keys`, KIP-699) and the response one [`Coordinator`] per key. [`FindCoordinatorRequest::for_key`]
//! and [`FindCoordinatorResponse::coordinator`] hide the difference.

use bytes::{BufMut, BytesMut};

use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, TaggedFieldsWriter, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(3);

/// The first version with batched keys.
pub const BATCHED_VERSION: i16 = 4;

/// The kind of coordinator asked for (`key_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CoordinatorType(pub i8);

impl CoordinatorType {
    /// A consumer group's coordinator (0).
    pub const GROUP: CoordinatorType = CoordinatorType(0);
    /// A transactional id's coordinator (1).
    pub const TRANSACTION: CoordinatorType = CoordinatorType(1);
    /// A share group's coordinator (2, v6+).
    pub const SHARE: CoordinatorType = CoordinatorType(2);
}

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

/// FindCoordinator request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FindCoordinatorRequest {
    /// The key: group id or transactional id (v0–3).
    pub key: String,
    /// The kind of key (v1+); see [`CoordinatorType`].
    pub key_type: i8,
    /// The keys (v4+).
    pub coordinator_keys: Vec<String>,
    /// Unknown tagged fields (v3+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl FindCoordinatorRequest {
    /// A request for the coordinator of one key, filled in the way `version` carries it (`key` before v4,
    /// `coordinator_keys` from v4).
    pub fn for_key(version: i16, key_type: CoordinatorType, key: impl Into<String>) -> FindCoordinatorRequest {
        let key = key.into();
        if version >= BATCHED_VERSION {
            FindCoordinatorRequest { key_type: key_type.0, coordinator_keys: vec![key], ..Default::default() }
        } else {
            FindCoordinatorRequest { key, key_type: key_type.0, ..Default::default() }
        }
    }
}

impl Encode for FindCoordinatorRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version <= 3 {
            buf.put_string(&self.key, flex, "key")?;
        } else {
            ensure_default(self.key.is_empty(), "key", version)?;
        }
        if version >= 1 {
            buf.put_i8(self.key_type);
        } else {
            ensure_default(self.key_type == 0, "key_type", version)?;
        }
        if version >= 4 {
            buf.put_array_len(Some(self.coordinator_keys.len()), flex, "coordinator_keys")?;
            for k in &self.coordinator_keys {
                buf.put_string(k, flex, "coordinator_keys")?;
            }
        } else {
            ensure_default(self.coordinator_keys.is_empty(), "coordinator_keys", version)?;
        }
        put_unknown_tags(buf, flex, &self.unknown_tagged_fields, "tagged fields", version)
    }
}

impl Decode for FindCoordinatorRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = FindCoordinatorRequest::default();
        if version <= 3 {
            m.key = r.string(flex, "key")?;
        }
        if version >= 1 {
            m.key_type = r.i8("key_type")?;
        }
        if version >= 4 {
            m.coordinator_keys = r.array(flex, "coordinator_keys", |r| r.string(flex, "coordinator_keys"))?;
        }
        m.unknown_tagged_fields = read_unknown_tags(r, flex)?;
        Ok(m)
    }
}

impl Message for FindCoordinatorRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "FindCoordinatorRequest",
        api_key: Some(ApiKey::FIND_COORDINATOR),
        kind: MessageKind::Request,
        versions: Versions::range(0, 6),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("Key", "string", Versions::range(0, 3)),
            FieldSpec::new("KeyType", "int8", Versions::from(1)),
            FieldSpec::new("CoordinatorKeys", "[]string", Versions::from(4)),
        ],
    };
}

impl Request for FindCoordinatorRequest {
    const API_KEY: ApiKey = ApiKey::FIND_COORDINATOR;
    type Response = FindCoordinatorResponse;
}

/// FindCoordinator response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FindCoordinatorResponse {
    /// Throttle time in milliseconds (v1+).
    pub throttle_time_ms: i32,
    /// The error (v0–3).
    pub error_code: ErrorCode,
    /// The error message (v1–3).
    pub error_message: Option<String>,
    /// The coordinator's broker id (v0–3).
    pub node_id: i32,
    /// The coordinator's host (v0–3).
    pub host: String,
    /// The coordinator's port (v0–3).
    pub port: i32,
    /// One result per key asked for (v4+).
    pub coordinators: Vec<Coordinator>,
    /// Unknown tagged fields (v3+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The coordinator of one key (v4+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Coordinator {
    /// The key asked for.
    pub key: String,
    /// The coordinator's broker id.
    pub node_id: i32,
    /// The coordinator's host.
    pub host: String,
    /// The coordinator's port.
    pub port: i32,
    /// The error for this key.
    pub error_code: ErrorCode,
    /// The error message.
    pub error_message: Option<String>,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl FindCoordinatorResponse {
    /// The answer for `key` whatever the version: the entry for `key` in `coordinators` (v4+), or the single
    /// top-level answer (v0–3), as a [`Coordinator`] without tagged fields.
    pub fn coordinator(&self, version: i16, key: &str) -> Option<Coordinator> {
        if version >= BATCHED_VERSION {
            self.coordinators.iter().find(|c| c.key == key).cloned()
        } else {
            Some(Coordinator {
                key: key.to_owned(),
                node_id: self.node_id,
                host: self.host.clone(),
                port: self.port,
                error_code: self.error_code,
                error_message: self.error_message.clone(),
                unknown_tagged_fields: Vec::new(),
            })
        }
    }
}

impl Encode for FindCoordinatorResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 1 {
            buf.put_i32(self.throttle_time_ms);
        } else {
            ensure_default(self.throttle_time_ms == 0, "throttle_time_ms", version)?;
        }
        if version <= 3 {
            buf.put_i16(self.error_code.0);
            if version >= 1 {
                buf.put_nullable_string(self.error_message.as_deref(), flex, "error_message")?;
            } else {
                ensure_default(self.error_message.is_none(), "error_message", version)?;
            }
            buf.put_i32(self.node_id);
            buf.put_string(&self.host, flex, "host")?;
            buf.put_i32(self.port);
        } else {
            ensure_default(self.error_code.is_ok(), "error_code", version)?;
            ensure_default(self.error_message.is_none(), "error_message", version)?;
            ensure_default(self.node_id == 0, "node_id", version)?;
            ensure_default(self.host.is_empty(), "host", version)?;
            ensure_default(self.port == 0, "port", version)?;
        }
        if version >= 4 {
            buf.put_array_len(Some(self.coordinators.len()), flex, "coordinators")?;
            for c in &self.coordinators {
                buf.put_string(&c.key, flex, "key")?;
                buf.put_i32(c.node_id);
                buf.put_string(&c.host, flex, "host")?;
                buf.put_i32(c.port);
                buf.put_i16(c.error_code.0);
                buf.put_nullable_string(c.error_message.as_deref(), flex, "error_message")?;
                put_unknown_tags(buf, flex, &c.unknown_tagged_fields, "coordinators tagged fields", version)?;
            }
        } else {
            ensure_default(self.coordinators.is_empty(), "coordinators", version)?;
        }
        put_unknown_tags(buf, flex, &self.unknown_tagged_fields, "tagged fields", version)
    }
}

impl Decode for FindCoordinatorResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = FindCoordinatorResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        if version <= 3 {
            m.error_code = ErrorCode(r.i16("error_code")?);
            if version >= 1 {
                m.error_message = r.nullable_string(flex, "error_message")?;
            }
            m.node_id = r.i32("node_id")?;
            m.host = r.string(flex, "host")?;
            m.port = r.i32("port")?;
        }
        if version >= 4 {
            // key, node_id, host, port, error_code, error_message, tagged-field count.
            let n = r.array_len(flex, 14, "coordinators")?;
            m.coordinators = Vec::with_capacity(n);
            for _ in 0..n {
                m.coordinators.push(Coordinator {
                    key: r.string(flex, "key")?,
                    node_id: r.i32("node_id")?,
                    host: r.string(flex, "host")?,
                    port: r.i32("port")?,
                    error_code: ErrorCode(r.i16("error_code")?),
                    error_message: r.nullable_string(flex, "error_message")?,
                    unknown_tagged_fields: read_unknown_tags(r, flex)?,
                });
            }
        }
        m.unknown_tagged_fields = read_unknown_tags(r, flex)?;
        Ok(m)
    }
}

impl Message for FindCoordinatorResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "FindCoordinatorResponse",
        api_key: Some(ApiKey::FIND_COORDINATOR),
        kind: MessageKind::Response,
        versions: Versions::range(0, 6),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(1)),
            FieldSpec::new("ErrorCode", "int16", Versions::range(0, 3)),
            FieldSpec::new("ErrorMessage", "string", Versions::range(1, 3)).nullable(Versions::range(1, 3)),
            FieldSpec::new("NodeId", "int32", Versions::range(0, 3)),
            FieldSpec::new("Host", "string", Versions::range(0, 3)),
            FieldSpec::new("Port", "int32", Versions::range(0, 3)),
            FieldSpec::new("Coordinators", "[]Coordinator", Versions::from(4)).with_fields(&[
                FieldSpec::new("Key", "string", Versions::from(4)),
                FieldSpec::new("NodeId", "int32", Versions::from(4)),
                FieldSpec::new("Host", "string", Versions::from(4)),
                FieldSpec::new("Port", "int32", Versions::from(4)),
                FieldSpec::new("ErrorCode", "int16", Versions::from(4)),
                FieldSpec::new("ErrorMessage", "string", Versions::from(4)).nullable(Versions::from(4)),
            ]),
        ],
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_key_picks_the_field_the_version_has() {
        for v in 0..=6 {
            let r = FindCoordinatorRequest::for_key(v, CoordinatorType::GROUP, "g");
            let b = r.to_bytes(v).unwrap();
            assert_eq!(FindCoordinatorRequest::decode_exact(&mut Reader::new(b.freeze()), v).unwrap(), r);
        }
        let r = FindCoordinatorRequest::for_key(1, CoordinatorType::TRANSACTION, "tx");
        assert_eq!(r.to_bytes(0).unwrap_err(), EncodeError::UnsupportedField { field: "key_type", version: 0 });
        assert_eq!(r.to_bytes(4).unwrap_err(), EncodeError::UnsupportedField { field: "key", version: 4 });
    }

    #[test]
    fn coordinator_is_found_at_every_version() {
        let old = FindCoordinatorResponse { node_id: 2, host: "h".into(), port: 9092, ..Default::default() };
        let c = old.coordinator(3, "g").unwrap();
        assert_eq!((c.key.as_str(), c.node_id, c.port), ("g", 2, 9092));
        let new = FindCoordinatorResponse {
            coordinators: vec![Coordinator { key: "g".into(), node_id: 5, ..Default::default() }],
            ..Default::default()
        };
        assert_eq!(new.coordinator(4, "g").unwrap().node_id, 5);
        assert!(new.coordinator(4, "other").is_none());
    }
}
