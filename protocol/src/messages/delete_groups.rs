//! DeleteGroups (key 42): deletes empty groups and their committed offsets, at their coordinator. Versions 0–3
//! (flexible from 2).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DeleteGroups request.
    pub struct DeleteGroupsRequest: request(DELETE_GROUPS -> DeleteGroupsResponse), versions "0-3", flexible "2+" {
        /// The group ids to delete.
        groups_names: Vec<String> = "GroupsNames" "[]string" "0+",
    }
}

message! {
    /// DeleteGroups response.
    pub struct DeleteGroupsResponse: response(DELETE_GROUPS), versions "0-3", flexible "2+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One result per group.
        results: Vec<DeletableGroupResult> = "Results" "[]DeletableGroupResult" "0+",
    }
}

structure! {
    /// One element of the `results` array.
    pub struct DeletableGroupResult {
        /// The group id.
        group_id: String = "GroupId" "string" "0+",
        /// The error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The broker's explanation of the error, if any.
        error_message: Option<String> = "ErrorMessage" "string" "3+" nullable "3+",
    }
}
