//! ListConfigResources (key 74; ListClientMetricsResources before Kafka 4.1, KIP-1142): the resources that have
//! configs of the given types. Version 0 lists client-metrics subscriptions only; version 1 takes resource types
//! (as in DescribeConfigs). Versions 0–1, all flexible.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// ListConfigResources request.
    pub struct ListConfigResourcesRequest: request(LIST_CONFIG_RESOURCES -> ListConfigResourcesResponse), versions "0-1", flexible "0+" {
        /// The resource types to list; empty for every type the broker supports.
        resource_types: Vec<i8> = "ResourceTypes" "[]int8" "1+",
    }
}

message! {
    /// ListConfigResources response.
    pub struct ListConfigResourcesResponse: response(LIST_CONFIG_RESOURCES), versions "0-1", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The resources.
        config_resources: Vec<ConfigResource> = "ConfigResources" "[]ConfigResource" "0+",
    }
}

structure! {
    /// One element of the `config_resources` array.
    pub struct ConfigResource {
        /// The resource name.
        resource_name: String = "ResourceName" "string" "0+",
        /// The resource type (16, client metrics, in version 0).
        resource_type: i8 = "ResourceType" "int8" "1+" default 16,
    }
}
