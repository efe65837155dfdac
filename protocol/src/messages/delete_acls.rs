//! DeleteAcls (key 31): removes every ACL binding matching each filter, and reports what each filter removed.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DeleteAcls request.
    pub struct DeleteAclsRequest: request(DELETE_ACLS -> DeleteAclsResponse), versions "1-3", flexible "2+" {
        /// The filters; each removes every binding it matches.
        filters: Vec<DeleteAclsFilter> = "Filters" "[]DeleteAclsFilter" "0+",
    }
}

structure! {
    /// One filter; a null string matches any value, code 1 matches any type, operation or permission.
    pub struct DeleteAclsFilter {
        /// The resource type code to match.
        resource_type_filter: i8 = "ResourceTypeFilter" "int8" "0+",
        /// The resource name to match, or null for any.
        resource_name_filter: Option<String> = "ResourceNameFilter" "string" "0+" nullable "0+",
        /// The pattern type code to match.
        pattern_type_filter: i8 = "PatternTypeFilter" "int8" "1+" default 3,
        /// The principal to match, or null for any.
        principal_filter: Option<String> = "PrincipalFilter" "string" "0+" nullable "0+",
        /// The host to match, or null for any.
        host_filter: Option<String> = "HostFilter" "string" "0+" nullable "0+",
        /// The operation code to match.
        operation: i8 = "Operation" "int8" "0+",
        /// The permission type code to match.
        permission_type: i8 = "PermissionType" "int8" "0+",
    }
}

message! {
    /// DeleteAcls response.
    pub struct DeleteAclsResponse: response(DELETE_ACLS), versions "1-3", flexible "2+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One result per filter, in request order.
        filter_results: Vec<DeleteAclsFilterResult> = "FilterResults" "[]DeleteAclsFilterResult" "0+",
    }
}

structure! {
    /// What one filter removed.
    pub struct DeleteAclsFilterResult {
        /// The error for the filter.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The bindings the filter matched.
        matching_acls: Vec<DeleteAclsMatchingAcl> = "MatchingAcls" "[]DeleteAclsMatchingAcl" "0+",
    }
}

structure! {
    /// One binding a filter matched, and whether removing it failed.
    pub struct DeleteAclsMatchingAcl {
        /// The error for this binding.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The resource type code.
        resource_type: i8 = "ResourceType" "int8" "0+",
        /// The resource name (or prefix).
        resource_name: String = "ResourceName" "string" "0+",
        /// The pattern type code.
        pattern_type: i8 = "PatternType" "int8" "1+" default 3,
        /// The principal.
        principal: String = "Principal" "string" "0+",
        /// The host.
        host: String = "Host" "string" "0+",
        /// The operation code.
        operation: i8 = "Operation" "int8" "0+",
        /// The permission type code.
        permission_type: i8 = "PermissionType" "int8" "0+",
    }
}
