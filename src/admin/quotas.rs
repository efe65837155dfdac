//! Client quotas (KIP-546): describe and alter (DescribeClientQuotas, AlterClientQuotas), sent to any broker.
//!
//! An entity is a list of (entity type, name) pairs, the type one of `user`, `client-id` or `ip`, the name `None`
//! for that type's default entity.

use kafkar_protocol::ApiKey;
use kafkar_protocol::messages::alter_client_quotas::{
    AlterClientQuotasRequest, AlterQuotaEntity, AlterQuotaEntry, AlterQuotaOp,
};
use kafkar_protocol::messages::describe_client_quotas::{ComponentData, DescribeClientQuotasRequest};
use kafkar_protocol::primitives::Float64;

use super::Admin;
use super::call::item_result;
use crate::error::Result;

/// A quota entity: (entity type, name) pairs; a `None` name is the type's default entity.
pub type ClientQuotaEntity = Vec<(String, Option<String>)>;

/// How a [`ClientQuotaFilter`] component matches names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuotaMatch {
    /// This exact name.
    Exact(String),
    /// The type's default entity.
    Default,
    /// Any entity of the type (the default included).
    Any,
}

/// A filter over quota entities: one component per entity type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientQuotaFilter {
    /// (entity type, how its name matches) pairs.
    pub components: Vec<(String, QuotaMatch)>,
    /// Only entities with no entity types beyond the components'.
    pub strict: bool,
}

/// One entity's quota changes: per key, `Some(value)` sets it, `None` removes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientQuotaAlteration {
    /// The entity.
    pub entity: ClientQuotaEntity,
    /// The changes.
    pub ops: Vec<(String, Option<f64>)>,
}

impl Admin {
    /// The quotas of every entity matching `filter`: per entity, its (key, value) pairs.
    pub async fn describe_client_quotas(
        &self,
        filter: &ClientQuotaFilter,
    ) -> Result<Vec<(ClientQuotaEntity, Vec<(String, f64)>)>> {
        let req = DescribeClientQuotasRequest {
            components: filter
                .components
                .iter()
                .map(|(ty, m)| {
                    let (match_type, match_name) = match m {
                        QuotaMatch::Exact(n) => (0, Some(n.clone())),
                        QuotaMatch::Default => (1, None),
                        QuotaMatch::Any => (2, None),
                    };
                    ComponentData { entity_type: ty.clone(), match_type, match_name, ..Default::default() }
                })
                .collect(),
            strict: filter.strict,
            ..Default::default()
        };
        let resp = self.call_any(&req, |r| (r.error_code, r.error_message.clone())).await?;
        Ok(resp
            .entries
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let entity = e.entity.into_iter().map(|c| (c.entity_type, c.entity_name)).collect();
                let values = e.values.into_iter().map(|v| (v.key, v.value.0)).collect();
                (entity, values)
            })
            .collect())
    }

    /// Applies quota changes (only checks them with `validate_only`); one result per alteration, in order.
    pub async fn alter_client_quotas(
        &self,
        alterations: &[ClientQuotaAlteration],
        validate_only: bool,
    ) -> Result<Vec<(ClientQuotaEntity, Result<()>)>> {
        let req = AlterClientQuotasRequest {
            entries: alterations
                .iter()
                .map(|a| AlterQuotaEntry {
                    entity: a
                        .entity
                        .iter()
                        .map(|(t, n)| AlterQuotaEntity {
                            entity_type: t.clone(),
                            entity_name: n.clone(),
                            ..Default::default()
                        })
                        .collect(),
                    ops: a
                        .ops
                        .iter()
                        .map(|(k, v)| AlterQuotaOp {
                            key: k.clone(),
                            value: Float64(v.unwrap_or(0.0)),
                            remove: v.is_none(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            validate_only,
            ..Default::default()
        };
        let resp = self.call_any_per_item(&req).await?;
        Ok(resp
            .entries
            .into_iter()
            .map(|e| {
                let entity = e.entity.into_iter().map(|c| (c.entity_type, c.entity_name)).collect();
                (entity, item_result(ApiKey::ALTER_CLIENT_QUOTAS, e.error_code, e.error_message))
            })
            .collect())
    }
}
