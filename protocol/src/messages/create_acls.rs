//! CreateAcls (key 30): adds ACL bindings; one result per binding, in request order.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// CreateAcls request.
    pub struct CreateAclsRequest: request(CREATE_ACLS -> CreateAclsResponse), versions "1-3", flexible "2+" {
        /// The bindings to add.
        creations: Vec<AclCreation> = "Creations" "[]AclCreation" "0+",
    }
}

structure! {
    /// One binding to add: a resource pattern and an access control entry.
    pub struct AclCreation {
        /// The resource type code.
        resource_type: i8 = "ResourceType" "int8" "0+",
        /// The resource name (or prefix).
        resource_name: String = "ResourceName" "string" "0+",
        /// The pattern type code (3 = literal, 4 = prefixed).
        resource_pattern_type: i8 = "ResourcePatternType" "int8" "1+" default 3,
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

message! {
    /// CreateAcls response.
    pub struct CreateAclsResponse: response(CREATE_ACLS), versions "1-3", flexible "2+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One result per binding, in request order.
        results: Vec<AclCreationResult> = "Results" "[]AclCreationResult" "0+",
    }
}

structure! {
    /// The result of adding one binding.
    pub struct AclCreationResult {
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
    }
}
