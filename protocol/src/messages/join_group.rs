//! JoinGroup (key 11): a member joins a classic consumer group (or any group using the classic group protocol) and
//! learns the generation, the chosen protocol, the leader, and — if it is the leader — every member's metadata.
//!
//! Since version 4 a member that joins without a member id is answered with `MEMBER_ID_REQUIRED` and the member id
//! the coordinator assigned it (in [`JoinGroupResponse::member_id`]); it must join again with that id. Since version 5
//! a static member sends its `group.instance.id`. Version 8 adds the reason for (re-)joining, version 9 lets the
//! coordinator tell the leader to skip running the assignment.

use bytes::{BufMut, Bytes, BytesMut};

use super::struct_codec::{put_unknown_tagged, read_unknown_tagged};
use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(6);

/// JoinGroup request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinGroupRequest {
    /// The group id.
    pub group_id: String,
    /// The coordinator considers the member dead if it receives no heartbeat within this many milliseconds.
    pub session_timeout_ms: i32,
    /// How long the coordinator waits for each member to rejoin during a rebalance (v1+; -1 by default, in which
    /// case the session timeout applies).
    pub rebalance_timeout_ms: i32,
    /// The member id the coordinator assigned; empty on the first join.
    pub member_id: String,
    /// The static member's `group.instance.id` (v5+); `None` for a dynamic member.
    pub group_instance_id: Option<String>,
    /// The class of protocols the group implements (`"consumer"` for consumer groups).
    pub protocol_type: String,
    /// The protocols the member supports, in order of preference, each with its metadata.
    pub protocols: Vec<JoinGroupRequestProtocol>,
    /// Why the member (re-)joins (v8+).
    pub reason: Option<String>,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for JoinGroupRequest {
    fn default() -> Self {
        JoinGroupRequest {
            group_id: String::new(),
            session_timeout_ms: 0,
            rebalance_timeout_ms: -1,
            member_id: String::new(),
            group_instance_id: None,
            protocol_type: String::new(),
            protocols: Vec::new(),
            reason: None,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

/// One protocol a joining member supports (for consumers: an assignor name and the member's subscription).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JoinGroupRequestProtocol {
    /// The protocol name.
    pub name: String,
    /// The protocol metadata (for consumers: a version-prefixed
    /// [`ConsumerProtocolSubscription`](super::consumer_protocol::ConsumerProtocolSubscription)).
    pub metadata: Bytes,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Encode for JoinGroupRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_string(&self.group_id, flex, "group_id")?;
        buf.put_i32(self.session_timeout_ms);
        if version >= 1 {
            buf.put_i32(self.rebalance_timeout_ms);
        } else {
            ensure_default(self.rebalance_timeout_ms == -1, "rebalance_timeout_ms", version)?;
        }
        buf.put_string(&self.member_id, flex, "member_id")?;
        if version >= 5 {
            buf.put_nullable_string(self.group_instance_id.as_deref(), flex, "group_instance_id")?;
        } else {
            ensure_default(self.group_instance_id.is_none(), "group_instance_id", version)?;
        }
        buf.put_string(&self.protocol_type, flex, "protocol_type")?;
        buf.put_array_len(Some(self.protocols.len()), flex, "protocols")?;
        for p in &self.protocols {
            buf.put_string(&p.name, flex, "protocols.name")?;
            buf.put_bytes_field(&p.metadata, flex, "protocols.metadata")?;
            put_unknown_tagged(buf, &p.unknown_tagged_fields, flex, "protocols tagged fields", version)?;
        }
        if version >= 8 {
            buf.put_nullable_string(self.reason.as_deref(), flex, "reason")?;
        } else {
            ensure_default(self.reason.is_none(), "reason", version)?;
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for JoinGroupRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = JoinGroupRequest {
            group_id: r.string(flex, "group_id")?,
            session_timeout_ms: r.i32("session_timeout_ms")?,
            ..Default::default()
        };
        if version >= 1 {
            m.rebalance_timeout_ms = r.i32("rebalance_timeout_ms")?;
        }
        m.member_id = r.string(flex, "member_id")?;
        if version >= 5 {
            m.group_instance_id = r.nullable_string(flex, "group_instance_id")?;
        }
        m.protocol_type = r.string(flex, "protocol_type")?;
        // Each protocol is at least a name and a metadata length (and a tagged-field count when flexible).
        let n = r.array_len(flex, if flex { 3 } else { 6 }, "protocols")?;
        m.protocols = Vec::with_capacity(n);
        for _ in 0..n {
            m.protocols.push(JoinGroupRequestProtocol {
                name: r.string(flex, "protocols.name")?,
                metadata: r.bytes(flex, "protocols.metadata")?,
                unknown_tagged_fields: read_unknown_tagged(r, flex)?,
            });
        }
        if version >= 8 {
            m.reason = r.nullable_string(flex, "reason")?;
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for JoinGroupRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "JoinGroupRequest",
        api_key: Some(ApiKey::JOIN_GROUP),
        kind: MessageKind::Request,
        versions: Versions::range(0, 9),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("GroupId", "string", Versions::from(0)),
            FieldSpec::new("SessionTimeoutMs", "int32", Versions::from(0)),
            FieldSpec::new("RebalanceTimeoutMs", "int32", Versions::from(1)),
            FieldSpec::new("MemberId", "string", Versions::from(0)),
            FieldSpec::new("GroupInstanceId", "string", Versions::from(5)).nullable(Versions::from(5)),
            FieldSpec::new("ProtocolType", "string", Versions::from(0)),
            FieldSpec::new("Protocols", "[]JoinGroupRequestProtocol", Versions::from(0)).with_fields(&[
                FieldSpec::new("Name", "string", Versions::from(0)),
                FieldSpec::new("Metadata", "bytes", Versions::from(0)),
            ]),
            FieldSpec::new("Reason", "string", Versions::from(8)).nullable(Versions::from(8)),
        ],
    };
}

impl Request for JoinGroupRequest {
    const API_KEY: ApiKey = ApiKey::JOIN_GROUP;
    type Response = JoinGroupResponse;
}

/// JoinGroup response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinGroupResponse {
    /// Throttle time in milliseconds (v2+).
    pub throttle_time_ms: i32,
    /// The error code; `MEMBER_ID_REQUIRED` asks the member to join again with [`JoinGroupResponse::member_id`].
    pub error_code: ErrorCode,
    /// The generation of the group; -1 by default.
    pub generation_id: i32,
    /// The group's protocol type (v7+); `None` by default.
    pub protocol_type: Option<String>,
    /// The protocol the coordinator selected. Never null before v7 (the default is an empty string); may be null
    /// from v7.
    pub protocol_name: Option<String>,
    /// The member id of the group leader.
    pub leader: String,
    /// Whether the leader must skip running the assignment (v9+).
    pub skip_assignment: bool,
    /// The member id the coordinator assigned to this member.
    pub member_id: String,
    /// The group's members with their metadata; only sent to the leader.
    pub members: Vec<JoinGroupResponseMember>,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for JoinGroupResponse {
    fn default() -> Self {
        JoinGroupResponse {
            throttle_time_ms: 0,
            error_code: ErrorCode::NONE,
            generation_id: -1,
            protocol_type: None,
            protocol_name: Some(String::new()),
            leader: String::new(),
            skip_assignment: false,
            member_id: String::new(),
            members: Vec::new(),
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl JoinGroupResponse {
    /// True when the coordinator asks the member to join again with the member id it assigned (v4+ flow).
    pub fn member_id_required(&self) -> bool {
        self.error_code == ErrorCode::MEMBER_ID_REQUIRED
    }
}

/// One member of the group, as reported to the leader.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JoinGroupResponseMember {
    /// The member id.
    pub member_id: String,
    /// The member's `group.instance.id` (v5+); `None` for a dynamic member.
    pub group_instance_id: Option<String>,
    /// The member's metadata for the selected protocol.
    pub metadata: Bytes,
    /// Unknown tagged fields (v6+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Encode for JoinGroupResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 2 {
            buf.put_i32(self.throttle_time_ms);
        } else {
            ensure_default(self.throttle_time_ms == 0, "throttle_time_ms", version)?;
        }
        buf.put_i16(self.error_code.0);
        buf.put_i32(self.generation_id);
        if version >= 7 {
            buf.put_nullable_string(self.protocol_type.as_deref(), flex, "protocol_type")?;
        } else {
            ensure_default(self.protocol_type.is_none(), "protocol_type", version)?;
        }
        match &self.protocol_name {
            Some(name) => buf.put_string(name, flex, "protocol_name")?,
            None if version >= 7 => buf.put_nullable_string(None, flex, "protocol_name")?,
            None => return Err(EncodeError::NullNotAllowed { field: "protocol_name", version }),
        }
        buf.put_string(&self.leader, flex, "leader")?;
        if version >= 9 {
            buf.put_bool(self.skip_assignment);
        } else {
            ensure_default(!self.skip_assignment, "skip_assignment", version)?;
        }
        buf.put_string(&self.member_id, flex, "member_id")?;
        buf.put_array_len(Some(self.members.len()), flex, "members")?;
        for m in &self.members {
            buf.put_string(&m.member_id, flex, "members.member_id")?;
            if version >= 5 {
                buf.put_nullable_string(m.group_instance_id.as_deref(), flex, "members.group_instance_id")?;
            } else {
                ensure_default(m.group_instance_id.is_none(), "members.group_instance_id", version)?;
            }
            buf.put_bytes_field(&m.metadata, flex, "members.metadata")?;
            put_unknown_tagged(buf, &m.unknown_tagged_fields, flex, "members tagged fields", version)?;
        }
        put_unknown_tagged(buf, &self.unknown_tagged_fields, flex, "tagged fields", version)
    }
}

impl Decode for JoinGroupResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = JoinGroupResponse::default();
        if version >= 2 {
            m.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        m.error_code = ErrorCode(r.i16("error_code")?);
        m.generation_id = r.i32("generation_id")?;
        if version >= 7 {
            m.protocol_type = r.nullable_string(flex, "protocol_type")?;
            m.protocol_name = r.nullable_string(flex, "protocol_name")?;
        } else {
            m.protocol_name = Some(r.string(flex, "protocol_name")?);
        }
        m.leader = r.string(flex, "leader")?;
        if version >= 9 {
            m.skip_assignment = r.bool("skip_assignment")?;
        }
        m.member_id = r.string(flex, "member_id")?;
        // Each member is at least a member id and a metadata length (plus an instance id from v5 and a tagged-field
        // count when flexible).
        let min = match (flex, version >= 5) {
            (true, _) => 4,
            (false, true) => 8,
            (false, false) => 6,
        };
        let n = r.array_len(flex, min, "members")?;
        m.members = Vec::with_capacity(n);
        for _ in 0..n {
            let member_id = r.string(flex, "members.member_id")?;
            let group_instance_id =
                if version >= 5 { r.nullable_string(flex, "members.group_instance_id")? } else { None };
            m.members.push(JoinGroupResponseMember {
                member_id,
                group_instance_id,
                metadata: r.bytes(flex, "members.metadata")?,
                unknown_tagged_fields: read_unknown_tagged(r, flex)?,
            });
        }
        m.unknown_tagged_fields = read_unknown_tagged(r, flex)?;
        Ok(m)
    }
}

impl Message for JoinGroupResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "JoinGroupResponse",
        api_key: Some(ApiKey::JOIN_GROUP),
        kind: MessageKind::Response,
        versions: Versions::range(0, 9),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(2)),
            FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
            FieldSpec::new("GenerationId", "int32", Versions::from(0)),
            FieldSpec::new("ProtocolType", "string", Versions::from(7)).nullable(Versions::from(7)),
            FieldSpec::new("ProtocolName", "string", Versions::from(0)).nullable(Versions::from(7)),
            FieldSpec::new("Leader", "string", Versions::from(0)),
            FieldSpec::new("SkipAssignment", "bool", Versions::from(9)),
            FieldSpec::new("MemberId", "string", Versions::from(0)),
            FieldSpec::new("Members", "[]JoinGroupResponseMember", Versions::from(0)).with_fields(&[
                FieldSpec::new("MemberId", "string", Versions::from(0)),
                FieldSpec::new("GroupInstanceId", "string", Versions::from(5)).nullable(Versions::from(5)),
                FieldSpec::new("Metadata", "bytes", Versions::from(0)),
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

    fn protocol(flex: bool) -> impl Strategy<Value = JoinGroupRequestProtocol> {
        (string(), bytes(), unknown_tagged(flex)).prop_map(|(name, metadata, unknown_tagged_fields)| {
            JoinGroupRequestProtocol { name, metadata, unknown_tagged_fields }
        })
    }

    fn request(v: i16) -> impl Strategy<Value = JoinGroupRequest> {
        let flex = FLEXIBLE.contains(v);
        (
            string(),
            any::<i32>(),
            when(v >= 1, any::<i32>(), -1),
            string(),
            when(v >= 5, opt_string(), None),
            string(),
            vec(protocol(flex), 0..3),
            when(v >= 8, opt_string(), None),
            unknown_tagged(flex),
        )
            .prop_map(|(g, s, rt, mid, gi, pt, protocols, reason, unknown)| JoinGroupRequest {
                group_id: g,
                session_timeout_ms: s,
                rebalance_timeout_ms: rt,
                member_id: mid,
                group_instance_id: gi,
                protocol_type: pt,
                protocols,
                reason,
                unknown_tagged_fields: unknown,
            })
    }

    fn member(v: i16) -> impl Strategy<Value = JoinGroupResponseMember> {
        let flex = FLEXIBLE.contains(v);
        (string(), when(v >= 5, opt_string(), None), bytes(), unknown_tagged(flex)).prop_map(
            |(member_id, group_instance_id, metadata, unknown_tagged_fields)| JoinGroupResponseMember {
                member_id,
                group_instance_id,
                metadata,
                unknown_tagged_fields,
            },
        )
    }

    fn response(v: i16) -> impl Strategy<Value = JoinGroupResponse> {
        let flex = FLEXIBLE.contains(v);
        (
            when(v >= 2, any::<i32>(), 0),
            error_code(),
            any::<i32>(),
            when(v >= 7, opt_string(), None),
            if v >= 7 { opt_string() } else { string().prop_map(Some).boxed() },
            string(),
            when(v >= 9, any::<bool>(), false),
            string(),
            vec(member(v), 0..3),
            unknown_tagged(flex),
        )
            .prop_map(|(t, e, g, pt, pn, leader, skip, mid, members, unknown)| JoinGroupResponse {
                throttle_time_ms: t,
                error_code: e,
                generation_id: g,
                protocol_type: pt,
                protocol_name: pn,
                leader,
                skip_assignment: skip,
                member_id: mid,
                members,
                unknown_tagged_fields: unknown,
            })
    }

    proptest! {
        #[test]
        fn request_round_trips((v, m) in versions::<JoinGroupRequest>().prop_flat_map(|v| (Just(v), request(v)))) {
            check_codec(&m, v)?;
        }

        #[test]
        fn response_round_trips((v, m) in versions::<JoinGroupResponse>().prop_flat_map(|v| (Just(v), response(v)))) {
            check_codec(&m, v)?;
        }

        #[test]
        fn garbage_never_panics(input in vec(any::<u8>(), 0..96)) {
            check_garbage::<JoinGroupRequest>(&input)?;
            check_garbage::<JoinGroupResponse>(&input)?;
        }
    }

    #[test]
    fn defaults_encode_at_every_version() {
        for v in versions::<JoinGroupRequest>() {
            JoinGroupRequest::default().to_bytes(v).unwrap();
            JoinGroupResponse::default().to_bytes(v).unwrap();
        }
    }

    #[test]
    fn field_outside_version_is_an_error() {
        let unsupported = |field| Err(EncodeError::UnsupportedField { field, version: 0 });
        let m = JoinGroupRequest { rebalance_timeout_ms: 300_000, ..Default::default() };
        assert_eq!(m.to_bytes(0).map(|_| ()), unsupported("rebalance_timeout_ms"));
        assert!(m.to_bytes(1).is_ok());
        let m = JoinGroupRequest { group_instance_id: Some("i".into()), ..Default::default() };
        assert!(m.to_bytes(4).is_err());
        assert!(m.to_bytes(5).is_ok());
        let m = JoinGroupRequest { reason: Some("r".into()), ..Default::default() };
        assert!(m.to_bytes(7).is_err());
        assert!(m.to_bytes(8).is_ok());
        let m = JoinGroupRequest {
            protocols: vec![JoinGroupRequestProtocol {
                unknown_tagged_fields: vec![RawTaggedField { tag: 5, data: Bytes::new() }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(m.to_bytes(5).is_err());
        assert!(m.to_bytes(6).is_ok());

        let m = JoinGroupResponse { throttle_time_ms: 5, ..Default::default() };
        assert_eq!(m.to_bytes(0).map(|_| ()), unsupported("throttle_time_ms"));
        assert!(m.to_bytes(2).is_ok());
        let m = JoinGroupResponse { protocol_type: Some("consumer".into()), ..Default::default() };
        assert!(m.to_bytes(6).is_err());
        assert!(m.to_bytes(7).is_ok());
        let m = JoinGroupResponse { skip_assignment: true, ..Default::default() };
        assert!(m.to_bytes(8).is_err());
        assert!(m.to_bytes(9).is_ok());
        let m = JoinGroupResponse {
            members: vec![JoinGroupResponseMember { group_instance_id: Some("i".into()), ..Default::default() }],
            ..Default::default()
        };
        assert!(m.to_bytes(4).is_err());
        assert!(m.to_bytes(5).is_ok());
    }

    #[test]
    fn null_protocol_name_needs_v7() {
        let m = JoinGroupResponse { protocol_name: None, ..Default::default() };
        assert_eq!(m.to_bytes(6).unwrap_err(), EncodeError::NullNotAllowed { field: "protocol_name", version: 6 });
        let b = m.to_bytes(7).unwrap().freeze();
        assert_eq!(JoinGroupResponse::decode_exact(&mut Reader::new(b), 7).unwrap(), m);
    }

    #[test]
    fn member_id_required_v4_bytes() {
        // A v4 reply asking the member to rejoin with the id the coordinator assigned.
        let m = JoinGroupResponse {
            error_code: ErrorCode::MEMBER_ID_REQUIRED,
            member_id: "m-1".into(),
            ..Default::default()
        };
        let b = m.to_bytes(4).unwrap();
        let expected: &[u8] = &[
            0, 0, 0, 0, // throttle_time_ms
            0, 79, // error_code
            0xff, 0xff, 0xff, 0xff, // generation_id -1
            0, 0, // protocol_name ""
            0, 0, // leader ""
            0, 3, b'm', b'-', b'1', // member_id
            0, 0, 0, 0, // members []
        ];
        assert_eq!(&b[..], expected);
        let back = JoinGroupResponse::decode_exact(&mut Reader::new(b.freeze()), 4).unwrap();
        assert!(back.member_id_required());
    }
}
