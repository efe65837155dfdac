//! JoinGroup (key 11): a member joins a classic consumer group (or any group using the classic group protocol) and
//! learns the generation, the chosen protocol, the leader, and — if it is the leader — every member's metadata.
//!
//! Since version 4 a member that joins without a member id is answered with `MEMBER_ID_REQUIRED` and the member id
//! the coordinator assigned it (in [`JoinGroupResponse::member_id`]); it must join again with that id. Since version 5
//! a static member sends its `group.instance.id`. Version 8 adds the reason for (re-)joining, version 9 lets the
//! coordinator tell the leader to skip running the assignment.

use bytes::Bytes;

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// JoinGroup request.
    pub struct JoinGroupRequest: request(JOIN_GROUP -> JoinGroupResponse), versions "0-9", flexible "6+" {
        /// The group id.
        group_id: String = "GroupId" "string" "0+",
        /// The coordinator considers the member dead if it receives no heartbeat within this many milliseconds.
        session_timeout_ms: i32 = "SessionTimeoutMs" "int32" "0+",
        /// How long the coordinator waits for each member to rejoin during a rebalance (-1 by default, in which
        /// case the session timeout applies).
        rebalance_timeout_ms: i32 = "RebalanceTimeoutMs" "int32" "1+" default -1,
        /// The member id the coordinator assigned; empty on the first join.
        member_id: String = "MemberId" "string" "0+",
        /// The static member's `group.instance.id` (v5+); `None` for a dynamic member.
        group_instance_id: Option<String> = "GroupInstanceId" "string" "5+" nullable "5+",
        /// The class of protocols the group implements (`"consumer"` for consumer groups).
        protocol_type: String = "ProtocolType" "string" "0+",
        /// The protocols the member supports, in order of preference, each with its metadata.
        protocols: Vec<JoinGroupRequestProtocol> = "Protocols" "[]JoinGroupRequestProtocol" "0+",
        /// Why the member (re-)joins.
        reason: Option<String> = "Reason" "string" "8+" nullable "8+",
    }
}

structure! {
    /// One protocol a joining member supports (for consumers: an assignor name and the member's subscription).
    pub struct JoinGroupRequestProtocol {
        /// The protocol name.
        name: String = "Name" "string" "0+",
        /// The protocol metadata (for consumers: a version-prefixed
        /// [`ConsumerProtocolSubscription`](super::consumer_protocol::ConsumerProtocolSubscription)).
        metadata: Bytes = "Metadata" "bytes" "0+",
    }
}

message! {
    /// JoinGroup response.
    pub struct JoinGroupResponse: response(JOIN_GROUP), versions "0-9", flexible "6+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "2+",
        /// The error code; `MEMBER_ID_REQUIRED` asks the member to join again with [`JoinGroupResponse::member_id`].
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The generation of the group; -1 by default.
        generation_id: i32 = "GenerationId" "int32" "0+" default -1,
        /// The group's protocol type (v7+); `None` by default.
        protocol_type: Option<String> = "ProtocolType" "string" "7+" nullable "7+",
        /// The protocol the coordinator selected. Never null before v7 (the default is an empty string); may be null
        /// from v7.
        protocol_name: Option<String> = "ProtocolName" "string" "0+" nullable "7+" default Some(String::new()),
        /// The member id of the group leader.
        leader: String = "Leader" "string" "0+",
        /// Whether the leader must skip running the assignment.
        skip_assignment: bool = "SkipAssignment" "bool" "9+",
        /// The member id the coordinator assigned to this member.
        member_id: String = "MemberId" "string" "0+",
        /// The group's members with their metadata; only sent to the leader.
        members: Vec<JoinGroupResponseMember> = "Members" "[]JoinGroupResponseMember" "0+",
    }
}

structure! {
    /// One member of the group, as reported to the leader.
    pub struct JoinGroupResponseMember {
        /// The member id.
        member_id: String = "MemberId" "string" "0+",
        /// The member's `group.instance.id` (v5+); `None` for a dynamic member.
        group_instance_id: Option<String> = "GroupInstanceId" "string" "5+" nullable "5+",
        /// The member's metadata for the selected protocol.
        metadata: Bytes = "Metadata" "bytes" "0+",
    }
}

impl JoinGroupResponse {
    /// True when the coordinator asks the member to join again with the member id it assigned (v4+ flow).
    pub fn member_id_required(&self) -> bool {
        self.error_code == ErrorCode::MEMBER_ID_REQUIRED
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;
    use crate::primitives::{RawTaggedField, Reader};

    #[test]
    fn defaults_encode_at_every_version() {
        for v in JoinGroupRequest::SPEC.versions.min..=JoinGroupRequest::SPEC.versions.max {
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
