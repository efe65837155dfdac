//! SyncGroup (key 14): after a JoinGroup, the leader sends every member's assignment and each member receives its
//! own. Since version 3 a static member sends its `group.instance.id`; since version 5 both sides carry the group's
//! protocol type and name (KIP-559), which the coordinator checks against the ones it knows.

use bytes::Bytes;

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// SyncGroup request.
    pub struct SyncGroupRequest: request(SYNC_GROUP -> SyncGroupResponse), versions "0-5", flexible "4+" {
        /// The group id.
        group_id: String = "GroupId" "string" "0+",
        /// The generation the member joined.
        generation_id: i32 = "GenerationId" "int32" "0+",
        /// The member id.
        member_id: String = "MemberId" "string" "0+",
        /// The static member's `group.instance.id`.
        group_instance_id: Option<String> = "GroupInstanceId" "string" "3+" nullable "3+",
        /// The group's protocol type.
        protocol_type: Option<String> = "ProtocolType" "string" "5+" nullable "5+",
        /// The group's protocol name.
        protocol_name: Option<String> = "ProtocolName" "string" "5+" nullable "5+",
        /// Every member's assignment; sent by the leader only (other members send an empty list).
        assignments: Vec<SyncGroupRequestAssignment> = "Assignments" "[]SyncGroupRequestAssignment" "0+",
    }
}

structure! {
    /// One member's assignment, as computed by the leader.
    pub struct SyncGroupRequestAssignment {
        /// The member the assignment is for.
        member_id: String = "MemberId" "string" "0+",
        /// The assignment (for consumers: a version-prefixed
        /// [`ConsumerProtocolAssignment`](super::consumer_protocol::ConsumerProtocolAssignment)).
        assignment: Bytes = "Assignment" "bytes" "0+",
    }
}

message! {
    /// SyncGroup response.
    pub struct SyncGroupResponse: response(SYNC_GROUP), versions "0-5", flexible "4+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "1+",
        /// The error code.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The group's protocol type.
        protocol_type: Option<String> = "ProtocolType" "string" "5+" nullable "5+",
        /// The group's protocol name.
        protocol_name: Option<String> = "ProtocolName" "string" "5+" nullable "5+",
        /// This member's assignment.
        assignment: Bytes = "Assignment" "bytes" "0+",
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;
    use crate::primitives::RawTaggedField;

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
