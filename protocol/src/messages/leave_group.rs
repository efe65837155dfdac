//! LeaveGroup (key 13): members leave a classic group so that it rebalances at once rather than after their session
//! times out. Versions 0–2 carry one member id; from version 3 a batch of members, each identified by member id
//! and/or `group.instance.id`, with a result per member in the response. Version 5 adds a reason per member.

use bytes::{BufMut, BytesMut};

use super::struct_codec::{put_unknown_tagged, read_unknown_tagged};
use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(4);

/// LeaveGroup request.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LeaveGroupRequest {
    /// The group id.
    pub group_id: String,
    /// The leaving member's id (v0–2 only; from v3 use [`LeaveGroupRequest::members`]).
    pub member_id: String,
    /// The leaving members (v3+).
    pub members: Vec<MemberIdentity>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A leaving member (v3+).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MemberIdentity {
    /// The member id; may be empty when the member is named by its instance id.
    pub member_id: String,
    /// The static member's `group.instance.id`.
    pub group_instance_id: Option<String>,
    /// Why the member leaves (v5+).
    pub reason: Option<String>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Encode for LeaveGroupRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_string(&self.group_id, flex, "group_id")?;
        if version <= 2 {
            buf.put_string(&self.member_id, flex, "member_id")?;
            ensure_default(self.members.is_empty(), "members", version)?;
        } else {
            ensure_default(self.member_id.is_empty(), "member_id", version)?;
            buf.put_array_len(Some(self.members.len()), flex, "members")?;
            for m in &self.members {
                buf.put_string(&m.member_id, flex, "members.member_id")?;
                buf.put_nullable_string(m.group_instance_id.as_deref(), flex, "members.group_instance_id")?;
                if version >= 5 {
                    buf.put_nullable_string(m.reason.as_deref(), flex, "members.reason")?;
                } else {
                    ensure_default(m.reason.is_none(), "members.reason", version)?;
                }
                put_unknown_tagged(buf, &m.unknown_tagged_fields, flex, "members tagged fields", version)?;
            }
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for LeaveGroupRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = LeaveGroupRequest { group_id: r.string(flex, "group_id")?, ..Default::default() };
        if version <= 2 {
            m.member_id = r.string(flex, "member_id")?;
        } else {
            // Each member is at least a member id and an instance id (and a tagged-field count when flexible).
            let n = r.array_len(flex, if flex { 3 } else { 4 }, "members")?;
            m.members = Vec::with_capacity(n);
            for _ in 0..n {
                let member_id = r.string(flex, "members.member_id")?;
                let group_instance_id = r.nullable_string(flex, "members.group_instance_id")?;
                let reason = if version >= 5 { r.nullable_string(flex, "members.reason")? } else { None };
                m.members.push(MemberIdentity {
                    member_id,
                    group_instance_id,
                    reason,
                    unknown_tagged_fields: read_unknown_tagged(r, flex)?,
                });
            }
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for LeaveGroupRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "LeaveGroupRequest",
        api_key: Some(ApiKey::LEAVE_GROUP),
        kind: MessageKind::Request,
        versions: Versions::range(0, 5),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("GroupId", "string", Versions::from(0)),
            FieldSpec::new("MemberId", "string", Versions::range(0, 2)),
            FieldSpec::new("Members", "[]MemberIdentity", Versions::from(3)).with_fields(&[
                FieldSpec::new("MemberId", "string", Versions::from(3)),
                FieldSpec::new("GroupInstanceId", "string", Versions::from(3)).nullable(Versions::from(3)),
                FieldSpec::new("Reason", "string", Versions::from(5)).nullable(Versions::from(5)),
            ]),
        ],
    };
}

impl Request for LeaveGroupRequest {
    const API_KEY: ApiKey = ApiKey::LEAVE_GROUP;
    type Response = LeaveGroupResponse;
}

/// LeaveGroup response.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LeaveGroupResponse {
    /// Throttle time in milliseconds (v1+).
    pub throttle_time_ms: i32,
    /// The top-level error code.
    pub error_code: ErrorCode,
    /// The result for each leaving member (v3+).
    pub members: Vec<MemberResponse>,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// The result of one member's leaving (v3+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberResponse {
    /// The member id.
    pub member_id: String,
    /// The member's `group.instance.id`. Nullable; the spec's default is an empty string.
    pub group_instance_id: Option<String>,
    /// The member's error code.
    pub error_code: ErrorCode,
    /// Unknown tagged fields (v4+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for MemberResponse {
    fn default() -> Self {
        MemberResponse {
            member_id: String::new(),
            group_instance_id: Some(String::new()),
            error_code: ErrorCode::NONE,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for LeaveGroupResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 1 {
            buf.put_i32(self.throttle_time_ms);
        } else {
            ensure_default(self.throttle_time_ms == 0, "throttle_time_ms", version)?;
        }
        buf.put_i16(self.error_code.0);
        if version >= 3 {
            buf.put_array_len(Some(self.members.len()), flex, "members")?;
            for m in &self.members {
                buf.put_string(&m.member_id, flex, "members.member_id")?;
                buf.put_nullable_string(m.group_instance_id.as_deref(), flex, "members.group_instance_id")?;
                buf.put_i16(m.error_code.0);
                put_unknown_tagged(buf, &m.unknown_tagged_fields, flex, "members tagged fields", version)?;
            }
        } else {
            ensure_default(self.members.is_empty(), "members", version)?;
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for LeaveGroupResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = LeaveGroupResponse::default();
        if version >= 1 {
            m.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        m.error_code = ErrorCode(r.i16("error_code")?);
        if version >= 3 {
            // Each member is at least a member id, an instance id and an error code (and a tagged-field count when
            // flexible).
            let n = r.array_len(flex, if flex { 5 } else { 6 }, "members")?;
            m.members = Vec::with_capacity(n);
            for _ in 0..n {
                m.members.push(MemberResponse {
                    member_id: r.string(flex, "members.member_id")?,
                    group_instance_id: r.nullable_string(flex, "members.group_instance_id")?,
                    error_code: ErrorCode(r.i16("members.error_code")?),
                    unknown_tagged_fields: read_unknown_tagged(r, flex)?,
                });
            }
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for LeaveGroupResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "LeaveGroupResponse",
        api_key: Some(ApiKey::LEAVE_GROUP),
        kind: MessageKind::Response,
        versions: Versions::range(0, 5),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(1)),
            FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
            FieldSpec::new("Members", "[]MemberResponse", Versions::from(3)).with_fields(&[
                FieldSpec::new("MemberId", "string", Versions::from(3)),
                FieldSpec::new("GroupInstanceId", "string", Versions::from(3)).nullable(Versions::from(3)),
                FieldSpec::new("ErrorCode", "int16", Versions::from(3)),
            ]),
        ],
    };
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;
    use crate::messages::group_test_support::*;

    fn identity(v: i16) -> impl Strategy<Value = MemberIdentity> {
        (string(), opt_string(), when(v >= 5, opt_string(), None), unknown_tagged(FLEXIBLE.contains(v))).prop_map(
            |(member_id, group_instance_id, reason, unknown_tagged_fields)| MemberIdentity {
                member_id,
                group_instance_id,
                reason,
                unknown_tagged_fields,
            },
        )
    }

    fn request(v: i16) -> impl Strategy<Value = LeaveGroupRequest> {
        (
            string(),
            when(v <= 2, string(), String::new()),
            when(v >= 3, vec(identity(v), 0..3), Vec::new()),
            unknown_tagged(FLEXIBLE.contains(v)),
        )
            .prop_map(|(group_id, member_id, members, unknown_tagged_fields)| LeaveGroupRequest {
                group_id,
                member_id,
                members,
                unknown_tagged_fields,
            })
    }

    fn member(v: i16) -> impl Strategy<Value = MemberResponse> {
        (string(), opt_string(), error_code(), unknown_tagged(FLEXIBLE.contains(v))).prop_map(
            |(member_id, group_instance_id, error_code, unknown_tagged_fields)| MemberResponse {
                member_id,
                group_instance_id,
                error_code,
                unknown_tagged_fields,
            },
        )
    }

    fn response(v: i16) -> impl Strategy<Value = LeaveGroupResponse> {
        (
            when(v >= 1, any::<i32>(), 0),
            error_code(),
            when(v >= 3, vec(member(v), 0..3), Vec::new()),
            unknown_tagged(FLEXIBLE.contains(v)),
        )
            .prop_map(|(throttle_time_ms, error_code, members, unknown_tagged_fields)| LeaveGroupResponse {
                throttle_time_ms,
                error_code,
                members,
                unknown_tagged_fields,
            })
    }

    proptest! {
        #[test]
        fn request_round_trips((v, m) in versions::<LeaveGroupRequest>().prop_flat_map(|v| (Just(v), request(v)))) {
            check_codec(&m, v)?;
        }

        #[test]
        fn response_round_trips((v, m) in versions::<LeaveGroupResponse>().prop_flat_map(|v| (Just(v), response(v)))) {
            check_codec(&m, v)?;
        }

        #[test]
        fn garbage_never_panics(input in vec(any::<u8>(), 0..64)) {
            check_garbage::<LeaveGroupRequest>(&input)?;
            check_garbage::<LeaveGroupResponse>(&input)?;
        }
    }

    #[test]
    fn field_outside_version_is_an_error() {
        let batch = LeaveGroupRequest { members: vec![MemberIdentity::default()], ..Default::default() };
        assert_eq!(batch.to_bytes(2).unwrap_err(), EncodeError::UnsupportedField { field: "members", version: 2 });
        assert!(batch.to_bytes(3).is_ok());
        let single = LeaveGroupRequest { member_id: "m".into(), ..Default::default() };
        assert!(single.to_bytes(2).is_ok());
        assert_eq!(single.to_bytes(3).unwrap_err(), EncodeError::UnsupportedField { field: "member_id", version: 3 });
        let reason = LeaveGroupRequest {
            members: vec![MemberIdentity { reason: Some("bye".into()), ..Default::default() }],
            ..Default::default()
        };
        assert!(reason.to_bytes(4).is_err());
        assert!(reason.to_bytes(5).is_ok());

        let m = LeaveGroupResponse { members: vec![MemberResponse::default()], ..Default::default() };
        assert!(m.to_bytes(2).is_err());
        assert!(m.to_bytes(3).is_ok());
        let m = LeaveGroupResponse { throttle_time_ms: 1, ..Default::default() };
        assert!(m.to_bytes(0).is_err());
        assert!(m.to_bytes(1).is_ok());
    }

    #[test]
    fn v5_request_bytes() {
        let m = LeaveGroupRequest {
            group_id: "g".into(),
            members: vec![MemberIdentity {
                member_id: "m".into(),
                group_instance_id: None,
                reason: Some("r".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(&m.to_bytes(5).unwrap()[..], &[2, b'g', 2, 2, b'm', 0, 2, b'r', 0, 0]);
    }
}
