//! DescribeConfigs (key 32): the current configuration of topics, brokers, broker loggers, groups and client-metrics
//! subscriptions, with where each value comes from. Versions 1–4 (Kafka 4.x dropped 0; flexible from 4).
//!
//! Resource types: 2 topic, 4 broker, 8 broker logger, 16 client metrics, 32 group. Config sources: 1 dynamic topic
//! (or group), 2 dynamic per-broker, 3 dynamic cluster-wide default, 4 static broker file, 5 built-in default,
//! 6 dynamic broker logger, 7 client metrics, 8 group.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// DescribeConfigs request.
    pub struct DescribeConfigsRequest: request(DESCRIBE_CONFIGS -> DescribeConfigsResponse), versions "1-4", flexible "4+" {
        /// The resources whose configs to return.
        resources: Vec<DescribeConfigsResource> = "Resources" "[]DescribeConfigsResource" "0+",
        /// Also return, per config, every level that sets it (synonyms), highest precedence first.
        include_synonyms: bool = "IncludeSynonyms" "bool" "1+",
        /// Also return each config's documentation text.
        include_documentation: bool = "IncludeDocumentation" "bool" "3+",
    }
}

structure! {
    /// One element of the `resources` array.
    pub struct DescribeConfigsResource {
        /// The resource type (2 topic, 4 broker, 8 broker logger, 16 client metrics, 32 group).
        resource_type: i8 = "ResourceType" "int8" "0+",
        /// The resource's name: a topic or group name, a broker id in decimal, or empty for the cluster-wide broker defaults.
        resource_name: String = "ResourceName" "string" "0+",
        /// The config names wanted; `None` for all of them.
        configuration_keys: Option<Vec<String>> = "ConfigurationKeys" "[]string" "0+" nullable "0+",
    }
}

message! {
    /// DescribeConfigs response.
    pub struct DescribeConfigsResponse: response(DESCRIBE_CONFIGS), versions "1-4", flexible "4+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One result per resource asked for.
        results: Vec<DescribeConfigsResult> = "Results" "[]DescribeConfigsResult" "0+",
    }
}

structure! {
    /// One element of the `results` array.
    pub struct DescribeConfigsResult {
        /// The error, NONE on success.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The broker's explanation of the error, if any.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The resource type, as asked.
        resource_type: i8 = "ResourceType" "int8" "0+",
        /// The resource name, as asked.
        resource_name: String = "ResourceName" "string" "0+",
        /// The resource's configs.
        configs: Vec<DescribeConfigsEntry> = "Configs" "[]DescribeConfigsResourceResult" "0+",
    }
}

structure! {
    /// One element of the `configs` array.
    pub struct DescribeConfigsEntry {
        /// The config name.
        name: String = "Name" "string" "0+",
        /// Its value; `None` when sensitive or unset.
        value: Option<String> = "Value" "string" "0+" nullable "0+",
        /// Whether it cannot be changed at runtime.
        read_only: bool = "ReadOnly" "bool" "0+",
        /// Where the value comes from (see the module docs), -1 when unknown.
        config_source: i8 = "ConfigSource" "int8" "1+" default -1,
        /// Whether the value is secret (it is then never returned).
        is_sensitive: bool = "IsSensitive" "bool" "0+",
        /// The levels setting this config, highest precedence first (when asked for).
        synonyms: Vec<DescribeConfigsSynonym> = "Synonyms" "[]DescribeConfigsSynonym" "1+",
        /// The value's type: 1 boolean, 2 string, 3 int, 4 short, 5 long, 6 double, 7 list, 8 class, 9 password; 0 unknown.
        config_type: i8 = "ConfigType" "int8" "3+",
        /// The config's documentation text (when asked for).
        documentation: Option<String> = "Documentation" "string" "3+" nullable "0+",
    }
}

structure! {
    /// One element of the `synonyms` array.
    pub struct DescribeConfigsSynonym {
        /// The config name at that level (a broker config may be named differently from the topic config it backs).
        name: String = "Name" "string" "1+",
        /// The value at that level.
        value: Option<String> = "Value" "string" "1+" nullable "0+",
        /// The level (a config source, see the module docs).
        source: i8 = "Source" "int8" "1+",
    }
}
