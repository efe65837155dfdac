//! DescribeAcls (key 29): the ACL bindings matching a filter, from any broker (the authorizer answers).
//!
//! The resource type, pattern type, operation and permission type are the authorizer's `int8` codes (see the admin
//! client's ACL types for their meanings).

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DescribeAcls request: one filter; a null string matches any value.
    pub struct DescribeAclsRequest: request(DESCRIBE_ACLS -> DescribeAclsResponse), versions "1-3", flexible "2+" {
        /// The kind of resource to match (1 = any).
        resource_type_filter: i8 = "ResourceTypeFilter" "int8" "0+",
        /// The resource name to match, or null for any.
        resource_name_filter: Option<String> = "ResourceNameFilter" "string" "0+" nullable "0+",
        /// How the name is matched (1 = any, 2 = match, 3 = literal, 4 = prefixed).
        pattern_type_filter: i8 = "PatternTypeFilter" "int8" "1+" default 3,
        /// The principal to match (`User:alice`), or null for any.
        principal_filter: Option<String> = "PrincipalFilter" "string" "0+" nullable "0+",
        /// The host to match, or null for any.
        host_filter: Option<String> = "HostFilter" "string" "0+" nullable "0+",
        /// The operation to match (1 = any).
        operation: i8 = "Operation" "int8" "0+",
        /// Allow or deny to match (1 = any).
        permission_type: i8 = "PermissionType" "int8" "0+",
    }
}

message! {
    /// DescribeAcls response.
    pub struct DescribeAclsResponse: response(DESCRIBE_ACLS), versions "1-3", flexible "2+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error, for the whole request.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The matching bindings, grouped by resource pattern.
        resources: Vec<DescribeAclsResource> = "Resources" "[]DescribeAclsResource" "0+",
    }
}

structure! {
    /// One resource pattern and its matching ACLs.
    pub struct DescribeAclsResource {
        /// The resource type code.
        resource_type: i8 = "ResourceType" "int8" "0+",
        /// The resource name (or prefix).
        resource_name: String = "ResourceName" "string" "0+",
        /// The pattern type code (literal or prefixed).
        pattern_type: i8 = "PatternType" "int8" "1+" default 3,
        /// The ACLs on this pattern.
        acls: Vec<AclDescription> = "Acls" "[]AclDescription" "0+",
    }
}

structure! {
    /// One access control entry.
    pub struct AclDescription {
        /// The principal (`User:alice`).
        principal: String = "Principal" "string" "0+",
        /// The host (`*` for every host).
        host: String = "Host" "string" "0+",
        /// The operation code.
        operation: i8 = "Operation" "int8" "0+",
        /// The permission type code (2 = deny, 3 = allow).
        permission_type: i8 = "PermissionType" "int8" "0+",
    }
}
