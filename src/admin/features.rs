//! Cluster features (KIP-584): described from ApiVersions' supported and finalized features, updated with
//! UpdateFeatures (sent to any broker, which forwards it to the controller).

use kafkar_protocol::ApiKey;
use kafkar_protocol::messages::api_versions::ApiVersionsRequest;
use kafkar_protocol::messages::update_features::{FeatureUpdateKey, UpdateFeaturesRequest};

use super::Admin;
use super::call::item_result;
use crate::error::Result;

/// A feature's version range: (name, min, max).
pub type FeatureRange = (String, i16, i16);

/// The cluster's features, as one broker reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureMetadata {
    /// The finalized (cluster-wide, in effect) levels: for each, the max is the level.
    pub finalized: Vec<FeatureRange>,
    /// The epoch of the finalized levels, -1 when unknown.
    pub finalized_epoch: i64,
    /// The levels the answering broker supports.
    pub supported: Vec<FeatureRange>,
}

/// How an [`FeatureUpdate`] may move a level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureUpgradeType {
    /// Only up.
    Upgrade,
    /// Down, when no metadata would be lost.
    SafeDowngrade,
    /// Down, even losing metadata.
    UnsafeDowngrade,
}

/// A new finalized level for one feature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureUpdate {
    /// The feature name (`transaction.version`, `group.version`, ...).
    pub feature: String,
    /// The new level (0 removes the feature, with a downgrade type).
    pub max_version_level: i16,
    /// How the level may move.
    pub upgrade_type: FeatureUpgradeType,
}

impl Admin {
    /// The cluster's finalized feature levels and the answering broker's supported ranges (from ApiVersions).
    pub async fn describe_features(&self) -> Result<FeatureMetadata> {
        let req = ApiVersionsRequest {
            client_software_name: "kafkar".into(),
            client_software_version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        };
        let resp = self.call_any(&req, |r| (r.error_code, None)).await?;
        Ok(FeatureMetadata {
            finalized: resp
                .finalized_features
                .into_iter()
                .map(|f| (f.name, f.min_version_level, f.max_version_level))
                .collect(),
            finalized_epoch: resp.finalized_features_epoch,
            supported: resp.supported_features.into_iter().map(|f| (f.name, f.min_version, f.max_version)).collect(),
        })
    }

    /// Changes finalized feature levels (only checks them with `validate_only`); per feature, its result. Brokers
    /// answering UpdateFeatures v2 report one error for the whole request, which then stands for every feature.
    pub async fn update_features(
        &self,
        updates: &[FeatureUpdate],
        validate_only: bool,
    ) -> Result<Vec<(String, Result<()>)>> {
        let req = UpdateFeaturesRequest {
            timeout_ms: self.timeout_ms(),
            feature_updates: updates
                .iter()
                .map(|u| FeatureUpdateKey {
                    feature: u.feature.clone(),
                    max_version_level: u.max_version_level,
                    upgrade_type: match u.upgrade_type {
                        FeatureUpgradeType::Upgrade => 1,
                        FeatureUpgradeType::SafeDowngrade => 2,
                        FeatureUpgradeType::UnsafeDowngrade => 3,
                    },
                    ..Default::default()
                })
                .collect(),
            validate_only,
            ..Default::default()
        };
        // The top-level error is per feature here, so it is not retried as a whole-request failure.
        let resp = self.call_any_per_item(&req).await?;
        let top = (resp.error_code, resp.error_message);
        Ok(updates
            .iter()
            .map(|u| {
                let r = match resp.results.iter().find(|r| r.feature == u.feature) {
                    Some(r) if top.0.is_ok() => {
                        item_result(ApiKey::UPDATE_FEATURES, r.error_code, r.error_message.clone())
                    }
                    _ => item_result(ApiKey::UPDATE_FEATURES, top.0, top.1.clone()),
                };
                (u.feature.clone(), r)
            })
            .collect())
    }
}
