//! IncrementalAlterConfigs (key 44): changes individual configs of topics, brokers, broker loggers, groups and
//! client-metrics subscriptions, leaving the others as they are (KIP-339). Versions 0–1 (flexible from 1).
//!
//! Operations: 0 set, 1 delete (back to the default), 2 append to a list, 3 subtract from a list.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// IncrementalAlterConfigs request.
    pub struct IncrementalAlterConfigsRequest: request(INCREMENTAL_ALTER_CONFIGS -> IncrementalAlterConfigsResponse), versions "0-1", flexible "1+" {
        /// The resources to change.
        resources: Vec<AlterConfigsResource> = "Resources" "[]AlterConfigsResource" "0+",
        /// Only check the changes; apply nothing.
        validate_only: bool = "ValidateOnly" "bool" "0+",
    }
}

structure! {
    /// One element of the `resources` array.
    pub struct AlterConfigsResource {
        /// The resource type (as in DescribeConfigs).
        resource_type: i8 = "ResourceType" "int8" "0+",
        /// The resource's name: a topic or group name, a broker id, or empty for the cluster-wide broker defaults.
        resource_name: String = "ResourceName" "string" "0+",
        /// The changes to make.
        configs: Vec<AlterableConfig> = "Configs" "[]AlterableConfig" "0+",
    }
}

structure! {
    /// One element of the `configs` array.
    pub struct AlterableConfig {
        /// The config name.
        name: String = "Name" "string" "0+",
        /// The operation: 0 set, 1 delete, 2 append, 3 subtract.
        config_operation: i8 = "ConfigOperation" "int8" "0+",
        /// The operand: the value to set, or the list items to append or remove; `None` for delete.
        value: Option<String> = "Value" "string" "0+" nullable "0+",
    }
}

message! {
    /// IncrementalAlterConfigs response.
    pub struct IncrementalAlterConfigsResponse: response(INCREMENTAL_ALTER_CONFIGS), versions "0-1", flexible "1+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One result per resource in the request.
        responses: Vec<AlterConfigsResourceResponse> = "Responses" "[]AlterConfigsResourceResponse" "0+",
    }
}

structure! {
    /// One element of the `responses` array.
    pub struct AlterConfigsResourceResponse {
        /// The error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The broker's explanation of the error, if any.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The resource type, as sent.
        resource_type: i8 = "ResourceType" "int8" "0+",
        /// The resource name, as sent.
        resource_name: String = "ResourceName" "string" "0+",
    }
}
