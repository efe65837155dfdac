//! LeaveGroup (key 13): members leave a classic group so that it rebalances at once rather than after their session
//! times out. Versions 0–2 carry one member id; from version 3 a batch of members, each identified by member id
//! and/or `group.instance.id`, with a result per member in the response. Version 5 adds a reason per member.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// LeaveGroup request.
    pub struct LeaveGroupRequest: request(LEAVE_GROUP -> LeaveGroupResponse), versions "0-5", flexible "4+" {
        /// The group id.
        group_id: String = "GroupId" "string" "0+",
        /// The leaving member's id (from v3 use [`LeaveGroupRequest::members`]).
        member_id: String = "MemberId" "string" "0-2",
        /// The leaving members.
        members: Vec<MemberIdentity> = "Members" "[]MemberIdentity" "3+",
    }
}

structure! {
    /// A leaving member (v3+).
    pub struct MemberIdentity {
        /// The member id; may be empty when the member is named by its instance id.
        member_id: String = "MemberId" "string" "3+",
        /// The static member's `group.instance.id`.
        group_instance_id: Option<String> = "GroupInstanceId" "string" "3+" nullable "3+",
        /// Why the member leaves.
        reason: Option<String> = "Reason" "string" "5+" nullable "5+",
    }
}

message! {
    /// LeaveGroup response.
    pub struct LeaveGroupResponse: response(LEAVE_GROUP), versions "0-5", flexible "4+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "1+",
        /// The top-level error code.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The result for each leaving member.
        members: Vec<MemberResponse> = "Members" "[]MemberResponse" "3+",
    }
}

structure! {
    /// The result of one member's leaving (v3+).
    pub struct MemberResponse {
        /// The member id.
        member_id: String = "MemberId" "string" "3+",
        /// The member's `group.instance.id`. Nullable; the spec's default is an empty string.
        group_instance_id: Option<String> = "GroupInstanceId" "string" "3+" nullable "3+" default Some(String::new()),
        /// The member's error code.
        error_code: ErrorCode = "ErrorCode" "int16" "3+",
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;

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
