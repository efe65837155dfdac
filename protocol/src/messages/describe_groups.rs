//! DescribeGroups (key 15): classic groups' state, protocol and members with their subscriptions and assignments, from
//! the group coordinator. Versions 0–6 (flexible from 5).

use bytes::Bytes;

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DescribeGroups request.
    pub struct DescribeGroupsRequest: request(DESCRIBE_GROUPS -> DescribeGroupsResponse), versions "0-6", flexible "5+" {
        /// The group ids.
        groups: Vec<String> = "Groups" "[]string" "0+",
        /// Also return what the caller may do on each group.
        include_authorized_operations: bool = "IncludeAuthorizedOperations" "bool" "3+",
    }
}

message! {
    /// DescribeGroups response.
    pub struct DescribeGroupsResponse: response(DESCRIBE_GROUPS), versions "0-6", flexible "5+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "1+",
        /// One entry per group asked for.
        groups: Vec<DescribedGroup> = "Groups" "[]DescribedGroup" "0+",
    }
}

structure! {
    /// One element of the `groups` array.
    pub struct DescribedGroup {
        /// The group's error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The broker's explanation of the error, if any.
        error_message: Option<String> = "ErrorMessage" "string" "6+" nullable "6+",
        /// The group id.
        group_id: String = "GroupId" "string" "0+",
        /// The state (`Stable`, `Empty`, `Dead`, `PreparingRebalance`, ...).
        group_state: String = "GroupState" "string" "0+",
        /// The protocol type (`consumer` for consumer groups).
        protocol_type: String = "ProtocolType" "string" "0+",
        /// The chosen protocol (for consumer groups, the assignor name).
        protocol_data: String = "ProtocolData" "string" "0+",
        /// The members (for a stable group).
        members: Vec<DescribedGroupMember> = "Members" "[]DescribedGroupMember" "0+",
        /// A bit set of the operations the caller may do on the group; `i32::MIN` when not asked for.
        authorized_operations: i32 = "AuthorizedOperations" "int32" "3+" default i32::MIN,
    }
}

structure! {
    /// One element of the `members` array.
    pub struct DescribedGroupMember {
        /// The member id the coordinator gave.
        member_id: String = "MemberId" "string" "0+",
        /// The static member's `group.instance.id`, if any.
        group_instance_id: Option<String> = "GroupInstanceId" "string" "4+" nullable "4+",
        /// The member's `client.id`.
        client_id: String = "ClientId" "string" "0+",
        /// The host the member connected from.
        client_host: String = "ClientHost" "string" "0+",
        /// The member's protocol metadata (for consumers, a serialized subscription).
        member_metadata: Bytes = "MemberMetadata" "bytes" "0+",
        /// The member's assignment (for consumers, a serialized assignment).
        member_assignment: Bytes = "MemberAssignment" "bytes" "0+",
    }
}
