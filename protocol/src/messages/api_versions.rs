//! ApiVersions (key 18): which API versions a broker supports. Sent first on every connection.
//!
//! A broker that does not support the requested ApiVersions version answers with a version-0 response carrying
//! `UNSUPPORTED_VERSION` and its supported range; [`ApiVersionsResponse::decode_reply`] handles that fallback.

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    Decode, Encode, FieldSpec, Message, MessageKind, MessageSpec, Request, check_decode_version, check_encode_version,
    ensure_default,
};
use crate::primitives::{RawTaggedField, Reader, TaggedFieldsWriter, Versions, WriteExt};
use crate::{ApiKey, DecodeError, EncodeError, ErrorCode};

const FLEXIBLE: Versions = Versions::from(3);

/// ApiVersions request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiVersionsRequest {
    /// Client software name (v3+).
    pub client_software_name: String,
    /// Client software version (v3+).
    pub client_software_version: String,
    /// The cluster the client means to reach (v5+).
    pub cluster_id: Option<String>,
    /// The node the client means to reach (v5+); -1 when unknown.
    pub node_id: i32,
    /// Unknown tagged fields (v3+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for ApiVersionsRequest {
    fn default() -> Self {
        ApiVersionsRequest {
            client_software_name: String::new(),
            client_software_version: String::new(),
            cluster_id: None,
            node_id: -1,
            unknown_tagged_fields: Vec::new(),
        }
    }
}

impl Encode for ApiVersionsRequest {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        if version >= 3 {
            buf.put_string(&self.client_software_name, flex, "client_software_name")?;
            buf.put_string(&self.client_software_version, flex, "client_software_version")?;
        } else {
            ensure_default(self.client_software_name.is_empty(), "client_software_name", version)?;
            ensure_default(self.client_software_version.is_empty(), "client_software_version", version)?;
        }
        if version >= 5 {
            buf.put_nullable_string(self.cluster_id.as_deref(), flex, "cluster_id")?;
            buf.put_i32(self.node_id);
        } else {
            ensure_default(self.cluster_id.is_none(), "cluster_id", version)?;
            ensure_default(self.node_id == -1, "node_id", version)?;
        }
        if flex {
            let mut t = TaggedFieldsWriter::new();
            t.unknown(&self.unknown_tagged_fields);
            t.finish(buf)?;
        }
        Ok(())
    }
}

impl Decode for ApiVersionsRequest {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = ApiVersionsRequest::default();
        if version >= 3 {
            m.client_software_name = r.string(flex, "client_software_name")?;
            m.client_software_version = r.string(flex, "client_software_version")?;
        }
        if version >= 5 {
            m.cluster_id = r.nullable_string(flex, "cluster_id")?;
            m.node_id = r.i32("node_id")?;
        }
        if flex {
            m.unknown_tagged_fields = r.tagged_fields(|_, _| Ok(false))?;
        }
        Ok(m)
    }
}

impl Message for ApiVersionsRequest {
    const SPEC: MessageSpec = MessageSpec {
        name: "ApiVersionsRequest",
        api_key: Some(ApiKey::API_VERSIONS),
        kind: MessageKind::Request,
        versions: Versions::range(0, 5),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ClientSoftwareName", "string", Versions::from(3)),
            FieldSpec::new("ClientSoftwareVersion", "string", Versions::from(3)),
            FieldSpec::new("ClusterId", "string", Versions::from(5)).nullable(Versions::from(5)),
            FieldSpec::new("NodeId", "int32", Versions::from(5)),
        ],
    };
}

impl Request for ApiVersionsRequest {
    const API_KEY: ApiKey = ApiKey::API_VERSIONS;
    type Response = ApiVersionsResponse;
}

/// One API's supported version range.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ApiVersion {
    /// The API key.
    pub api_key: i16,
    /// Lowest supported version.
    pub min_version: i16,
    /// Highest supported version.
    pub max_version: i16,
    /// Unknown tagged fields (v3+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A feature the broker supports, with its version range.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SupportedFeatureKey {
    /// Feature name.
    pub name: String,
    /// Lowest supported version.
    pub min_version: i16,
    /// Highest supported version.
    pub max_version: i16,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// A cluster-wide finalized feature level.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FinalizedFeatureKey {
    /// Feature name.
    pub name: String,
    /// Finalized max level.
    pub max_version_level: i16,
    /// Finalized min level.
    pub min_version_level: i16,
    /// Unknown tagged fields.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

/// ApiVersions response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiVersionsResponse {
    /// Top-level error.
    pub error_code: ErrorCode,
    /// Supported APIs.
    pub api_keys: Vec<ApiVersion>,
    /// Throttle time (v1+).
    pub throttle_time_ms: i32,
    /// Supported features (v3+, tag 0).
    pub supported_features: Vec<SupportedFeatureKey>,
    /// Finalized features epoch (v3+, tag 1), -1 when unknown.
    pub finalized_features_epoch: i64,
    /// Finalized features (v3+, tag 2).
    pub finalized_features: Vec<FinalizedFeatureKey>,
    /// Whether a KRaft controller is ready for ZK migration (v3+, tag 3).
    pub zk_migration_ready: bool,
    /// Unknown tagged fields (v3+).
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl Default for ApiVersionsResponse {
    fn default() -> Self {
        ApiVersionsResponse {
            error_code: ErrorCode::NONE,
            api_keys: Vec::new(),
            throttle_time_ms: 0,
            supported_features: Vec::new(),
            finalized_features_epoch: -1,
            finalized_features: Vec::new(),
            zk_migration_ready: false,
            unknown_tagged_fields: Vec::new(),
        }
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

fn put_features<T>(
    items: &[T],
    buf: &mut BytesMut,
    mut each: impl FnMut(&T, &mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    buf.put_array_len(Some(items.len()), true, "features")?;
    for i in items {
        each(i, buf)?;
    }
    Ok(())
}

impl Encode for ApiVersionsResponse {
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        check_encode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        buf.put_i16(self.error_code.0);
        buf.put_array_len(Some(self.api_keys.len()), flex, "api_keys")?;
        for a in &self.api_keys {
            buf.put_i16(a.api_key);
            buf.put_i16(a.min_version);
            buf.put_i16(a.max_version);
            if flex {
                let mut t = TaggedFieldsWriter::new();
                t.unknown(&a.unknown_tagged_fields);
                t.finish(buf)?;
            } else {
                ensure_default(a.unknown_tagged_fields.is_empty(), "api_keys tagged fields", version)?;
            }
        }
        if version >= 1 {
            buf.put_i32(self.throttle_time_ms);
        } else {
            ensure_default(self.throttle_time_ms == 0, "throttle_time_ms", version)?;
        }
        if flex {
            let mut t = TaggedFieldsWriter::new();
            if !self.supported_features.is_empty() {
                t.field(0, |b| {
                    put_features(&self.supported_features, b, |f, b| {
                        b.put_string(&f.name, true, "supported_features name")?;
                        b.put_i16(f.min_version);
                        b.put_i16(f.max_version);
                        let mut t = TaggedFieldsWriter::new();
                        t.unknown(&f.unknown_tagged_fields);
                        t.finish(b)
                    })
                })?;
            }
            if self.finalized_features_epoch != -1 {
                t.field(1, |b| {
                    b.put_i64(self.finalized_features_epoch);
                    Ok(())
                })?;
            }
            if !self.finalized_features.is_empty() {
                t.field(2, |b| {
                    put_features(&self.finalized_features, b, |f, b| {
                        b.put_string(&f.name, true, "finalized_features name")?;
                        b.put_i16(f.max_version_level);
                        b.put_i16(f.min_version_level);
                        let mut t = TaggedFieldsWriter::new();
                        t.unknown(&f.unknown_tagged_fields);
                        t.finish(b)
                    })
                })?;
            }
            if self.zk_migration_ready {
                t.field(3, |b| {
                    b.put_bool(true);
                    Ok(())
                })?;
            }
            t.unknown(&self.unknown_tagged_fields);
            t.finish(buf)?;
        } else {
            ensure_default(self.supported_features.is_empty(), "supported_features", version)?;
            ensure_default(self.finalized_features_epoch == -1, "finalized_features_epoch", version)?;
            ensure_default(self.finalized_features.is_empty(), "finalized_features", version)?;
            ensure_default(!self.zk_migration_ready, "zk_migration_ready", version)?;
            ensure_default(self.unknown_tagged_fields.is_empty(), "tagged fields", version)?;
        }
        Ok(())
    }
}

impl Decode for ApiVersionsResponse {
    fn decode(r: &mut Reader, version: i16) -> Result<Self, DecodeError> {
        check_decode_version::<Self>(version)?;
        let flex = FLEXIBLE.contains(version);
        let mut m = ApiVersionsResponse { error_code: ErrorCode(r.i16("error_code")?), ..Default::default() };
        // Each entry is at least 6 bytes (three int16).
        let n = r.array_len(flex, 6, "api_keys")?;
        m.api_keys = Vec::with_capacity(n);
        for _ in 0..n {
            let mut a = ApiVersion {
                api_key: r.i16("api_key")?,
                min_version: r.i16("min_version")?,
                max_version: r.i16("max_version")?,
                unknown_tagged_fields: Vec::new(),
            };
            if flex {
                a.unknown_tagged_fields = r.tagged_fields(|_, _| Ok(false))?;
            }
            m.api_keys.push(a);
        }
        if version >= 1 {
            m.throttle_time_ms = r.i32("throttle_time_ms")?;
        }
        if flex {
            let mut supported = Vec::new();
            let mut epoch = -1;
            let mut finalized = Vec::new();
            let mut zk = false;
            let unknown = r.tagged_fields(|tag, f| {
                match tag {
                    0 => {
                        supported = f.array(true, "supported_features", |f| {
                            Ok(SupportedFeatureKey {
                                name: f.string(true, "supported_features name")?,
                                min_version: f.i16("supported_features min_version")?,
                                max_version: f.i16("supported_features max_version")?,
                                unknown_tagged_fields: f.tagged_fields(|_, _| Ok(false))?,
                            })
                        })?
                    }
                    1 => epoch = f.i64("finalized_features_epoch")?,
                    2 => {
                        finalized = f.array(true, "finalized_features", |f| {
                            Ok(FinalizedFeatureKey {
                                name: f.string(true, "finalized_features name")?,
                                max_version_level: f.i16("finalized_features max_version_level")?,
                                min_version_level: f.i16("finalized_features min_version_level")?,
                                unknown_tagged_fields: f.tagged_fields(|_, _| Ok(false))?,
                            })
                        })?
                    }
                    3 => zk = f.bool("zk_migration_ready")?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            m.supported_features = supported;
            m.finalized_features_epoch = epoch;
            m.finalized_features = finalized;
            m.zk_migration_ready = zk;
            m.unknown_tagged_fields = unknown;
        }
        Ok(m)
    }
}

const FEATURE_FIELDS: &[FieldSpec] = &[
    FieldSpec::new("Name", "string", Versions::from(3)),
    FieldSpec::new("MinVersion", "int16", Versions::from(3)),
    FieldSpec::new("MaxVersion", "int16", Versions::from(3)),
];

impl Message for ApiVersionsResponse {
    const SPEC: MessageSpec = MessageSpec {
        name: "ApiVersionsResponse",
        api_key: Some(ApiKey::API_VERSIONS),
        kind: MessageKind::Response,
        versions: Versions::range(0, 5),
        flexible_versions: FLEXIBLE,
        fields: &[
            FieldSpec::new("ErrorCode", "int16", Versions::from(0)),
            FieldSpec::new("ApiKeys", "[]ApiVersion", Versions::from(0)).with_fields(&[
                FieldSpec::new("ApiKey", "int16", Versions::from(0)),
                FieldSpec::new("MinVersion", "int16", Versions::from(0)),
                FieldSpec::new("MaxVersion", "int16", Versions::from(0)),
            ]),
            FieldSpec::new("ThrottleTimeMs", "int32", Versions::from(1)),
            FieldSpec::new("SupportedFeatures", "[]SupportedFeatureKey", Versions::from(3))
                .tagged(0, Versions::from(3))
                .with_fields(FEATURE_FIELDS),
            FieldSpec::new("FinalizedFeaturesEpoch", "int64", Versions::from(3)).tagged(1, Versions::from(3)),
            FieldSpec::new("FinalizedFeatures", "[]FinalizedFeatureKey", Versions::from(3))
                .tagged(2, Versions::from(3))
                .with_fields(&[
                    FieldSpec::new("Name", "string", Versions::from(3)),
                    FieldSpec::new("MaxVersionLevel", "int16", Versions::from(3)),
                    FieldSpec::new("MinVersionLevel", "int16", Versions::from(3)),
                ]),
            FieldSpec::new("ZkMigrationReady", "bool", Versions::from(3)).tagged(3, Versions::from(3)),
        ],
    };
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::messages::round_trip_checks::{
        check_every_version, error_code, nullable_string, string, unknown_tagged, vec_of, when,
    };

    fn request(v: i16) -> impl Strategy<Value = ApiVersionsRequest> {
        (
            when(v >= 3, string(), String::new()),
            when(v >= 3, string(), String::new()),
            when(v >= 5, nullable_string(), None),
            when(v >= 5, any::<i32>(), -1),
            unknown_tagged(v >= 3, 0),
        )
            .prop_map(|(name, version, cluster_id, node_id, tf)| ApiVersionsRequest {
                client_software_name: name,
                client_software_version: version,
                cluster_id,
                node_id,
                unknown_tagged_fields: tf,
            })
    }

    fn response(v: i16) -> impl Strategy<Value = ApiVersionsResponse> {
        let flex = v >= 3;
        let key = (any::<i16>(), any::<i16>(), any::<i16>(), unknown_tagged(flex, 0)).prop_map(|(k, min, max, tf)| {
            ApiVersion { api_key: k, min_version: min, max_version: max, unknown_tagged_fields: tf }
        });
        let supported =
            (string(), any::<i16>(), any::<i16>(), unknown_tagged(true, 0)).prop_map(|(name, min, max, tf)| {
                SupportedFeatureKey { name, min_version: min, max_version: max, unknown_tagged_fields: tf }
            });
        let finalized =
            (string(), any::<i16>(), any::<i16>(), unknown_tagged(true, 0)).prop_map(|(name, max, min, tf)| {
                FinalizedFeatureKey { name, max_version_level: max, min_version_level: min, unknown_tagged_fields: tf }
            });
        (
            (error_code(), vec_of(key), when(v >= 1, any::<i32>(), 0)),
            (
                when(flex, vec_of(supported), Vec::new()),
                when(flex, any::<i64>(), -1),
                when(flex, vec_of(finalized), Vec::new()),
                when(flex, any::<bool>(), false),
            ),
            // Tags 0-3 are known at the top level.
            unknown_tagged(flex, 4),
        )
            .prop_map(|((error_code, api_keys, throttle), (supported, epoch, finalized, zk), tf)| {
                ApiVersionsResponse {
                    error_code,
                    api_keys,
                    throttle_time_ms: throttle,
                    supported_features: supported,
                    finalized_features_epoch: epoch,
                    finalized_features: finalized,
                    zk_migration_ready: zk,
                    unknown_tagged_fields: tf,
                }
            })
    }

    #[test]
    fn request_round_trips_at_every_version() {
        assert_eq!(check_every_version(request), 6);
    }

    #[test]
    fn response_round_trips_at_every_version() {
        assert_eq!(check_every_version(response), 6);
    }

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
