//! AlterClientQuotas (key 49): sets or removes client quotas (KIP-546), one result per entity.

use super::table::{message, structure};
use crate::ErrorCode;
use crate::primitives::Float64;

message! {
    /// AlterClientQuotas request.
    pub struct AlterClientQuotasRequest: request(ALTER_CLIENT_QUOTAS -> AlterClientQuotasResponse), versions "0-1", flexible "1+" {
        /// The entities to change.
        entries: Vec<AlterQuotaEntry> = "Entries" "[]EntryData" "0+",
        /// Only check the changes; apply nothing.
        validate_only: bool = "ValidateOnly" "bool" "0+",
    }
}

structure! {
    /// The changes to one entity (the spec's `EntryData`).
    pub struct AlterQuotaEntry {
        /// The entity's components.
        entity: Vec<AlterQuotaEntity> = "Entity" "[]EntityData" "0+",
        /// The quota changes.
        ops: Vec<AlterQuotaOp> = "Ops" "[]OpData" "0+",
    }
}

/// One component of an entity (the spec's `EntityData`): the same on the wire as DescribeClientQuotas's.
pub use super::describe_client_quotas::QuotaEntityData as AlterQuotaEntity;

structure! {
    /// One quota change (the spec's `OpData`).
    pub struct AlterQuotaOp {
        /// The quota key.
        key: String = "Key" "string" "0+",
        /// The new value (ignored when removing).
        value: Float64 = "Value" "float64" "0+",
        /// Remove the quota instead of setting it.
        remove: bool = "Remove" "bool" "0+",
    }
}

message! {
    /// AlterClientQuotas response.
    pub struct AlterClientQuotasResponse: response(ALTER_CLIENT_QUOTAS), versions "0-1", flexible "1+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// One result per entity.
        entries: Vec<AlterQuotaResult> = "Entries" "[]EntryData" "0+",
    }
}

structure! {
    /// The result for one entity (the spec's `EntryData`).
    pub struct AlterQuotaResult {
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// The entity.
        entity: Vec<AlterQuotaEntity> = "Entity" "[]EntityData" "0+",
    }
}
