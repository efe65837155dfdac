//! UpdateFeatures (key 57): changes the cluster's finalized feature levels (KIP-584, KIP-778). Sent to any broker,
//! which forwards it to the controller. The current levels come from ApiVersions.

use super::table::{message, structure};
use crate::ErrorCode;

message! {
    /// UpdateFeatures request.
    pub struct UpdateFeaturesRequest: request(UPDATE_FEATURES -> UpdateFeaturesResponse), versions "0-2", flexible "0+" {
        /// How long to wait for the controller, in milliseconds.
        timeout_ms: i32 = "timeoutMs" "int32" "0+" default 60_000,
        /// The features to change.
        feature_updates: Vec<FeatureUpdateKey> = "FeatureUpdates" "[]FeatureUpdateKey" "0+",
        /// Only check the changes; apply nothing (v1+).
        validate_only: bool = "ValidateOnly" "bool" "1+",
    }
}

structure! {
    /// One feature's new level.
    pub struct FeatureUpdateKey {
        /// The feature name (`metadata.version`, `transaction.version`, ...).
        feature: String = "Feature" "string" "0+",
        /// The new finalized level; 0 removes the feature (with a downgrade).
        max_version_level: i16 = "MaxVersionLevel" "int16" "0+",
        /// Whether a lower level is allowed (v0 only; later versions say it with `upgrade_type`).
        allow_downgrade: bool = "AllowDowngrade" "bool" "0",
        /// 1 = upgrade only, 2 = safe downgrade, 3 = unsafe downgrade (v1+).
        upgrade_type: i8 = "UpgradeType" "int8" "1+" default 1,
    }
}

message! {
    /// UpdateFeatures response.
    pub struct UpdateFeaturesResponse: response(UPDATE_FEATURES), versions "0-2", flexible "0+" {
        /// Throttle time in milliseconds.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "0+",
        /// The error for the whole request.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
        /// One result per feature (v0–1; v2 reports only the top-level error).
        results: Vec<UpdatableFeatureResult> = "Results" "[]UpdatableFeatureResult" "0-1",
    }
}

structure! {
    /// One feature's result.
    pub struct UpdatableFeatureResult {
        /// The feature name.
        feature: String = "Feature" "string" "0+",
        /// The error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// The error message.
        error_message: Option<String> = "ErrorMessage" "string" "0+" nullable "0+",
    }
}
