//! ApiVersions (key 18): which API versions a broker supports. Sent first on every connection.
//!
//! A broker that does not support the requested ApiVersions version answers with a version-0 response carrying
//! `UNSUPPORTED_VERSION` and its supported range; [`ApiVersionsResponse::decode_reply`] handles that fallback.

use bytes::Bytes;

use super::Message;
use super::table::{message, structure};
use crate::primitives::Reader;
use crate::{ApiKey, DecodeError, ErrorCode};

message! {
    /// ApiVersions request.
    pub struct ApiVersionsRequest: request(API_VERSIONS -> ApiVersionsResponse), versions "0-5", flexible "3+" {
        /// Client software name.
        client_software_name: String = "ClientSoftwareName" "string" "3+",
        /// Client software version.
        client_software_version: String = "ClientSoftwareVersion" "string" "3+",
        /// The cluster the client means to reach.
        cluster_id: Option<String> = "ClusterId" "string" "5+" nullable "5+",
        /// The node the client means to reach (v5+); -1 when unknown.
        node_id: i32 = "NodeId" "int32" "5+" default -1,
    }
}

message! {
    /// ApiVersions response.
    pub struct ApiVersionsResponse: response(API_VERSIONS), versions "0-5", flexible "3+" {
        /// Top-level error.
        error_code: ErrorCode = "ErrorCode" "int16" "0+",
        /// Supported APIs.
        api_keys: Vec<ApiVersion> = "ApiKeys" "[]ApiVersion" "0+",
        /// Throttle time.
        throttle_time_ms: i32 = "ThrottleTimeMs" "int32" "1+",
        /// Supported features (v3+, tag 0).
        supported_features: Vec<SupportedFeatureKey> = "SupportedFeatures" "[]SupportedFeatureKey" "3+" tag 0,
        /// Finalized features epoch (v3+, tag 1), -1 when unknown.
        finalized_features_epoch: i64 = "FinalizedFeaturesEpoch" "int64" "3+" tag 1 default -1,
        /// Finalized features (v3+, tag 2).
        finalized_features: Vec<FinalizedFeatureKey> = "FinalizedFeatures" "[]FinalizedFeatureKey" "3+" tag 2,
        /// Whether a KRaft controller is ready for ZK migration (v3+, tag 3).
        zk_migration_ready: bool = "ZkMigrationReady" "bool" "3+" tag 3,
    }
}

structure! {
    /// One API's supported version range.
    pub struct ApiVersion {
        /// The API key.
        api_key: i16 = "ApiKey" "int16" "0+",
        /// Lowest supported version.
        min_version: i16 = "MinVersion" "int16" "0+",
        /// Highest supported version.
        max_version: i16 = "MaxVersion" "int16" "0+",
    }
}

structure! {
    /// A feature the broker supports, with its version range.
    pub struct SupportedFeatureKey {
        /// Feature name.
        name: String = "Name" "string" "3+",
        /// Lowest supported version.
        min_version: i16 = "MinVersion" "int16" "3+",
        /// Highest supported version.
        max_version: i16 = "MaxVersion" "int16" "3+",
    }
}

structure! {
    /// A cluster-wide finalized feature level.
    pub struct FinalizedFeatureKey {
        /// Feature name.
        name: String = "Name" "string" "3+",
        /// Finalized max level.
        max_version_level: i16 = "MaxVersionLevel" "int16" "3+",
        /// Finalized min level.
        min_version_level: i16 = "MinVersionLevel" "int16" "3+",
    }
}

impl ApiVersionsResponse {
    /// The supported range of `key`, if the broker lists it.
    pub fn find(&self, key: ApiKey) -> Option<&ApiVersion> {
        self.api_keys.iter().find(|a| a.api_key == key.0)
    }

    /// Decodes a reply to an ApiVersions request sent at `version`. When the broker did not support that version
    /// it answers at version 0 with `UNSUPPORTED_VERSION` (the error code leads every version, so it is read first);
    /// that reply is decoded at version 0. Returns the response and the version it was decoded at.
    pub fn decode_reply(body: Bytes, version: i16) -> Result<(ApiVersionsResponse, i16), DecodeError> {
        let mut peek = Reader::new(body.clone());
        let code = ErrorCode(peek.i16("error_code")?);
        let v = if code == ErrorCode::UNSUPPORTED_VERSION { 0 } else { version };
        let mut r = Reader::new(body);
        Ok((ApiVersionsResponse::decode_exact(&mut r, v)?, v))
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::EncodeError;
    use crate::messages::Message;

    #[test]
    fn v0_fallback_reply_is_decoded_at_v0() {
        let reply = ApiVersionsResponse {
            error_code: ErrorCode::UNSUPPORTED_VERSION,
            api_keys: vec![ApiVersion { api_key: 18, min_version: 0, max_version: 3, ..Default::default() }],
            ..Default::default()
        };
        let bytes = reply.to_bytes(0).unwrap().freeze();
        let (got, v) = ApiVersionsResponse::decode_reply(bytes, 5).unwrap();
        assert_eq!(v, 0);
        assert_eq!(got, reply);
    }

    #[test]
    fn field_outside_version_is_an_error() {
        let m = ApiVersionsResponse { throttle_time_ms: 10, ..Default::default() };
        assert_eq!(m.to_bytes(0).unwrap_err(), EncodeError::UnsupportedField { field: "throttle_time_ms", version: 0 });
        let m = ApiVersionsRequest { node_id: 3, ..Default::default() };
        assert!(m.to_bytes(4).is_err());
        assert!(m.to_bytes(5).is_ok());
    }
}
