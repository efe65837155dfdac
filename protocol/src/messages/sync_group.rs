//! SyncGroup (key 14): after a JoinGroup, the leader sends every member's assignment and each member receives its
//! own. Since version 3 a static member sends its `group.instance.id`; since version 5 both sides carry the group's
//! protocol type and name (KIP-559), which the coordinator checks against the ones it knows.

use bytes::{BufMut, Bytes, BytesMut};

use super::struct_codec::{put_unknown_tagged, read_unknown_tagged};
use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(4);

/// Writes the v5+ protocol type or name, or checks that an older version has nothing to carry.
fn put_v5_string(
    buf: &mut BytesMut,
    s: Option<&str>,
    flex: bool,
    field: &'static str,
    version: i16,
) -> Result<(), EncodeError> {
    if version >= 5 { buf.put_nullable_string(s, flex, field) } else { ensure_default(s.is_none(), field, version) }
}

/// SyncGroup request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SyncGroupRequest {
    /// The group id.
    pub group_id: String,
    /// The generation the member joined.
    pub generation_id: i32,
    /// The member id.
    pub member_id: String,
    /// The static member's `group.instance.id` (v3+).
    pub group_instance_id: Option<String>,
    /// The group's protocol type (v5+).
    pub protocol_type: Option<String>,
    /// The group's protocol name (v5+).
    pub protocol_name: Option<String>,
    /// Every member's assignment; sent by the leader only (other members send an empty list).
    pub assignments: Vec<SyncGroupRequestAssignment>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// One member's assignment, as computed by the leader.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SyncGroupRequestAssignment {
    /// The member the assignment is for.
    pub member_id: String,
    /// The assignment (for consumers: a version-prefixed
    /// [`ConsumerProtocolAssignment`](super::consumer_protocol::ConsumerProtocolAssignment)).
    pub assignment: Bytes,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Encode for SyncGroupRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_string(&self.group_id, flex, "group_id")?;
        buf.put_i32(self.generation_id);
        buf.put_string(&self.member_id, flex, "member_id")?;
        if version >= 3 {
            buf.put_nullable_string(self.group_instance_id.as_deref(), flex, "group_instance_id")?;
        } else {
            ensure_default(self.group_instance_id.is_none(), "group_instance_id", version)?;
        }
        put_v5_string(buf, self.protocol_type.as_deref(), flex, "protocol_type", version)?;
        put_v5_string(buf, self.protocol_name.as_deref(), flex, "protocol_name", version)?;
        buf.put_array_len(Some(self.assignments.len()), flex, "assignments")?;
        for a in &self.assignments {
            buf.put_string(&a.member_id, flex, "assignments.member_id")?;
            buf.put_bytes_field(&a.assignment, flex, "assignments.assignment")?;
            put_unknown_tagged(buf, &a.unknown_tagged_fields, flex, "assignments tagged fields", version)?;
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for SyncGroupRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = SyncGroupRequest {
            group_id: r.string(flex, "group_id")?,
            generation_id: r.i32("generation_id")?,
            member_id: r.string(flex, "member_id")?,
            ..Default::default()
        };
        if version >= 3 {
            m.group_instance_id = r.nullable_string(flex, "group_instance_id")?;
        }
        if version >= 5 {
            m.protocol_type = r.nullable_string(flex, "protocol_type")?;
            m.protocol_name = r.nullable_string(flex, "protocol_name")?;
        }
        // Each assignment is at least a member id and an assignment length (and a tagged-field count when flexible).
        let n = r.array_len(flex, if flex { 3 } else { 6 }, "assignments")?;
        m.assignments = Vec::with_capacity(n);
        for _ in 0..n {
            m.assignments.push(SyncGroupRequestAssignment {
                member_id: r.string(flex, "assignments.member_id")?,
                assignment: r.bytes(flex, "assignments.assignment")?,
                unknown_tagged_fields: read_unknown_tagged(r, flex)?,
            });
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for SyncGroupRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "SyncGroupRequest",
        api_key: Some(ApiKey::SYNC_GROUP),
        kind: MessageKind::Request,
        versions: Versions::range(0, 5),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("GroupId", "string", Versions::from(0)),
            FieldSpec::new("GenerationId", "int32", Versions::from(0)),
            FieldSpec::new("MemberId", "string", Versions::from(0)),
            FieldSpec::new("GroupInstanceId", "string", Versions::from(3)).nullable(Versions::from(3)),
            FieldSpec::new("ProtocolType", "string", Versions::from(5)).nullable(Versions::from(5)),
            FieldSpec::new("ProtocolName", "string", Versions::from(5)).nullable(Versions::from(5)),
            FieldSpec::new("Assignments", "[]SyncGroupRequestAssignment", Versions::from(0)).with_fields(&[
                FieldSpec::new("MemberId", "string", Versions::from(0)),
                FieldSpec::new("Assignment", "bytes", Versions::from(0)),
            ]),
        ],
    };
}

impl Request for SyncGroupRequest {
    const API_KEY: ApiKey = ApiKey::SYNC_GROUP;
    type Response = SyncGroupResponse;
}

/// SyncGroup response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SyncGroupResponse {
    /// Throttle time in milliseconds (v1+).
    pub throttle_time_ms: i32,
    /// The error code.
    pub error_code: ErrorCode,
    /// The group's protocol type (v5+).
    pub protocol_type: Option<String>,
    /// The group's protocol name (v5+).
    pub protocol_name: Option<String>,
    /// This member's assignment.
    pub assignment: Bytes,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Encode for SyncGroupResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 1 {
            buf.put_i32(self.throttle_time_ms);
        } else {
            ensure_default(self.throttle_time_ms == 0, "throttle_time_ms", version)?;
        }
        buf.put_i16(self.error_code.0);
        put_v5_string(buf, self.protocol_type.as_deref(), flex, "protocol_type", version)?;
        put_v5_string(buf, self.protocol_name.as_deref(), flex, "protocol_name", version)?;
        buf.put_bytes_field(&self.assignment, flex, "assignment")?;
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for SyncGroupResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = SyncGroupResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        m.error_code = ErrorCode(r.i16("error_code")?);
        if version >= 5 {
            m.protocol_type = r.nullable_string(flex, "protocol_type")?;
            m.protocol_name = r.nullable_string(flex, "protocol_name")?;
        }
        m.assignment = r.bytes(flex, "assignment")?;
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for SyncGroupResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "SyncGroupResponse",
        api_key: Some(ApiKey::SYNC_GROUP),
        kind: MessageKind::Response,
        versions: Versions::range(0, 5),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(1)),
            FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
            FieldSpec::new("ProtocolType", "string", Versions::from(5)).nullable(Versions::from(5)),
            FieldSpec::new("ProtocolName", "string", Versions::from(5)).nullable(Versions::from(5)),
            FieldSpec::new("Assignment", "bytes", Versions::from(0)),
        ],
    };
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::messages::group_test_support::*;

    fn assignment(flex: bool) -> impl Strategy<Value = SyncGroupRequestAssignment> {
        (string(), bytes(), unknown_tagged(flex)).prop_map(|(member_id, assignment, unknown_tagged_fields)| {
            SyncGroupRequestAssignment { member_id, assignment, unknown_tagged_fields }
        })
    }

    fn request(v: i16) -> impl Strategy<Value = SyncGroupRequest> {
        let flex = FLEXIBLE.contains(v);
        (
            string(),
            any::<i32>(),
            string(),
            when(v >= 3, opt_string(), None),
            when(v >= 5, opt_string(), None),
            when(v >= 5, opt_string(), None),
            vec(assignment(flex), 0..3),
            unknown_tagged(flex),
        )
            .prop_map(|(group_id, generation_id, member_id, gi, pt, pn, assignments, unknown)| {
                SyncGroupRequest {
                    group_id,
                    generation_id,
                    member_id,
                    group_instance_id: gi,
                    protocol_type: pt,
                    protocol_name: pn,
                    assignments,
                    unknown_tagged_fields: unknown,
                }
            })
    }

    fn response(v: i16) -> impl Strategy<Value = SyncGroupResponse> {
        let flex = FLEXIBLE.contains(v);
        (
            when(v >= 1, any::<i32>(), 0),
            error_code(),
            when(v >= 5, opt_string(), None),
            when(v >= 5, opt_string(), None),
            bytes(),
            unknown_tagged(flex),
        )
            .prop_map(|(t, e, pt, pn, assignment, unknown)| SyncGroupResponse {
                throttle_time_ms: t,
                error_code: e,
                protocol_type: pt,
                protocol_name: pn,
                assignment,
                unknown_tagged_fields: unknown,
            })
    }

    proptest! {
        #[test]
        fn request_round_trips((v, m) in versions::<SyncGroupRequest>().prop_flat_map(|v| (Just(v), request(v)))) {
            check_codec(&m, v)?;
        }

        #[test]
        fn response_round_trips((v, m) in versions::<SyncGroupResponse>().prop_flat_map(|v| (Just(v), response(v)))) {
            check_codec(&m, v)?;
        }

        #[test]
        fn garbage_never_panics(input in vec(any::<u8>(), 0..64)) {
            check_garbage::<SyncGroupRequest>(&input)?;
            check_garbage::<SyncGroupResponse>(&input)?;
        }
    }

    #[test]
    fn field_outside_version_is_an_error() {
        let m = SyncGroupRequest { group_instance_id: Some("i".into()), ..Default::default() };
        assert_eq!(
            m.to_bytes(2).unwrap_err(),
            EncodeError::UnsupportedField { field: "group_instance_id", version: 2 }
        );
        assert!(m.to_bytes(3).is_ok());
        let m = SyncGroupRequest { protocol_type: Some("consumer".into()), ..Default::default() };
        assert!(m.to_bytes(4).is_err());
        assert!(m.to_bytes(5).is_ok());
        let m = SyncGroupRequest { protocol_name: Some("range".into()), ..Default::default() };
        assert!(m.to_bytes(4).is_err());
        assert!(m.to_bytes(5).is_ok());
        let m = SyncGroupRequest {
            unknown_tagged_fields: vec![RawTaggedField { tag: 0, data: Bytes::new() }],
            ..Default::default()
        };
        assert!(m.to_bytes(3).is_err());
        assert!(m.to_bytes(4).is_ok());

        let m = SyncGroupResponse { throttle_time_ms: 1, ..Default::default() };
        assert_eq!(m.to_bytes(0).unwrap_err(), EncodeError::UnsupportedField { field: "throttle_time_ms", version: 0 });
        let m = SyncGroupResponse { protocol_name: Some("range".into()), ..Default::default() };
        assert!(m.to_bytes(4).is_err());
        assert!(m.to_bytes(5).is_ok());
    }

    #[test]
    fn v5_request_bytes() {
        let m = SyncGroupRequest {
            group_id: "g".into(),
            generation_id: 3,
            member_id: "m".into(),
            group_instance_id: None,
            protocol_type: Some("consumer".into()),
            protocol_name: Some("range".into()),
            assignments: vec![SyncGroupRequestAssignment {
                member_id: "m".into(),
                assignment: Bytes::from_static(&[0, 3]),
                ..Default::default()
            }],
            ..Default::default()
        };
        let b = m.to_bytes(5).unwrap();
        let mut expected = vec![2, b'g', 0, 0, 0, 3, 2, b'm', 0, 9];
        expected.extend_from_slice(b"consumer");
        expected.push(6);
        expected.extend_from_slice(b"range");
        expected.extend_from_slice(&[2, 2, b'm', 3, 0, 3, 0, 0]);
        assert_eq!(&b[..], &expected[..]);
    }
}
