//! DescribeClientQuotas (key 48): the client quotas (KIP-546) of the entities matching a filter.
//!
//! An entity is a set of (entity type, name) pairs: `user`, `client-id` or `ip`, with a null name for the default
//! entity of that type.

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Float64;

message! {
    /// DescribeClientQuotas request.
    pub struct DescribeClientQuotasRequest: request(DESCRIBE_CLIENT_QUOTAS -> DescribeClientQuotasResponse), versions "0-1", flexible "1+" {
        /// One component per entity type to filter on.
        components: Vec<ComponentData> = "Components" "[]ComponentData" "0+",
        /// Only entities with exactly the filtered entity types (no others).
        strict: bool = "Strict" "bool" "0+",
    }
}

structure! {
    /// A filter on one entity type.
    pub struct ComponentData {
        /// The entity type (`user`, `client-id`, `ip`).
        entity_type: String = "EntityType" "string" "0+",
        /// 0 = this exact name, 1 = the default entity, 2 = any entity of the type.
        match_type: i8 = "MatchType" "int8" "0+",
        /// The name to match when `match_type` is 0.
        match_name: Option<String> = "Match" "string" "0+" nullable "0+",
    }
}

message! {
    /// DescribeClientQuotas response.
    pub struct DescribeClientQuotasResponse: response(DESCRIBE_CLIENT_QUOTAS), versions "0-1", flexible "1+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error for the whole request.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The matching entities and their quotas; null on error.
        entries: Option<Vec<QuotaEntryData>> = "Entries" "[]EntryData" "0+" nullable "0+",
    }
}

structure! {
    /// One entity's quotas (the spec's `EntryData`).
    pub struct QuotaEntryData {
        /// The entity's components.
        entity: Vec<QuotaEntityData> = "Entity" "[]EntityData" "0+",
        /// The quotas set on it.
        values: Vec<QuotaValueData> = "Values" "[]ValueData" "0+",
    }
}

structure! {
    /// One component of an entity (the spec's `EntityData`; AlterClientQuotas's is the same, as
    /// [`AlterQuotaEntity`](super::alter_client_quotas::AlterQuotaEntity)).
    pub struct QuotaEntityData {
        /// The entity type (`user`, `client-id`, `ip`).
        entity_type: String = "EntityType" "string" "0+",
        /// The entity name, or null for the type's default entity.
        entity_name: Option<String> = "EntityName" "string" "0+" nullable "0+",
    }
}

structure! {
    /// One quota (the spec's `ValueData`).
    pub struct QuotaValueData {
        /// The quota key (`producer_byte_rate`, `request_percentage`, ...).
        key: String = "Key" "string" "0+",
        /// Its value.
        value: Float64 = "Value" "float64" "0+",
    }
}
