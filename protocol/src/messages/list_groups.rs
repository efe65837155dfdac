//! ListGroups (key 16): the groups a broker coordinates, optionally filtered by state (v4+, KIP-518) and type (v5+,
//! KIP-848: `classic`, `consumer`, `share`, `streams`). Versions 0–5 (flexible from 3).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// ListGroups request.
    pub struct ListGroupsRequest: request(LIST_GROUPS -> ListGroupsResponse), versions "0-5", flexible "3+" {
        /// Only groups in these states (`Stable`, `Empty`, ...); empty for all.
        states_filter: Vec<String> = "StatesFilter" "[]string" "4+",
        /// Only groups of these types (`classic`, `consumer`, ...); empty for all.
        types_filter: Vec<String> = "TypesFilter" "[]string" "5+",
    }
}

message! {
    /// ListGroups response.
    pub struct ListGroupsResponse: response(LIST_GROUPS), versions "0-5", flexible "3+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "1+",
        /// The error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The groups.
        groups: Vec<ListedGroup> = "Groups" "[]ListedGroup" "0+",
    }
}

structure! {
    /// One element of the `groups` array.
    pub struct ListedGroup {
        /// The group id.
        group_id: String = "GroupId" "string" "0+",
        /// The group's protocol type (`consumer` for consumer groups, empty for a group that only stores offsets).
        protocol_type: String = "ProtocolType" "string" "0+",
        /// The group's state.
        group_state: String = "GroupState" "string" "4+",
        /// The group's type (`classic`, `consumer`, ...).
        group_type: String = "GroupType" "string" "5+",
    }
}
