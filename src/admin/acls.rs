//! ACLs: describe, create and delete bindings (DescribeAcls, CreateAcls, DeleteAcls), sent to any broker; the
//! cluster's authorizer answers. Without an authorizer every call fails with SECURITY_DISABLED.

use kafkar_protocol::ApiKey;
use kafkar_protocol::messages::create_acls::{AclCreation, CreateAclsRequest};
use kafkar_protocol::messages::delete_acls::{DeleteAclsFilter, DeleteAclsRequest};
use kafkar_protocol::messages::describe_acls::DescribeAclsRequest;

use super::Admin;
use super::call::item_result;
use crate::error::{Error, Result};

/// Declares an open `i8` code type with named values (unknown codes from a newer broker stay as they are).
macro_rules! acl_code {
    ($(#[$m:meta])* $name:ident { $($(#[$cm:meta])* $c:ident = $v:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(pub i8);

        impl $name {
            $($(#[$cm])* pub const $c: $name = $name($v);)*
        }
    };
}

acl_code! {
    /// The kind of resource an ACL applies to.
    AclResourceType {
        /// In a filter: any type.
        ANY = 1,
        /// A topic.
        TOPIC = 2,
        /// A consumer group.
        GROUP = 3,
        /// The cluster (name `kafka-cluster`).
        CLUSTER = 4,
        /// A transactional id.
        TRANSACTIONAL_ID = 5,
        /// A delegation token.
        DELEGATION_TOKEN = 6,
        /// A user (for CreateTokens/DescribeTokens on behalf of it).
        USER = 7,
    }
}

acl_code! {
    /// How an ACL's resource name is matched.
    AclPatternType {
        /// In a filter: any pattern type.
        ANY = 1,
        /// In a filter: every binding that would apply to the named resource (literal, prefixed or wildcard).
        MATCH = 2,
        /// The name exactly (or `*` for every resource).
        LITERAL = 3,
        /// Every name starting with it.
        PREFIXED = 4,
    }
}

acl_code! {
    /// The operation an ACL allows or denies.
    AclOperation {
        /// In a filter: any operation.
        ANY = 1,
        /// Every operation.
        ALL = 2,
        /// Read (fetch, offsets, group membership).
        READ = 3,
        /// Write (produce).
        WRITE = 4,
        /// Create.
        CREATE = 5,
        /// Delete.
        DELETE = 6,
        /// Alter.
        ALTER = 7,
        /// Describe.
        DESCRIBE = 8,
        /// Cluster actions (inter-broker requests).
        CLUSTER_ACTION = 9,
        /// Describe configs.
        DESCRIBE_CONFIGS = 10,
        /// Alter configs.
        ALTER_CONFIGS = 11,
        /// Idempotent writes.
        IDEMPOTENT_WRITE = 12,
        /// Create delegation tokens.
        CREATE_TOKENS = 13,
        /// Describe delegation tokens.
        DESCRIBE_TOKENS = 14,
        /// Run two-phase-commit transactions (KIP-939).
        TWO_PHASE_COMMIT = 15,
    }
}

acl_code! {
    /// Whether an ACL allows or denies.
    AclPermissionType {
        /// In a filter: either.
        ANY = 1,
        /// Deny (wins over allow).
        DENY = 2,
        /// Allow.
        ALLOW = 3,
    }
}

/// One ACL binding: a resource pattern and an access control entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AclBinding {
    /// The resource type.
    pub resource_type: AclResourceType,
    /// The resource name (or prefix; `*` for every resource).
    pub resource_name: String,
    /// How the name is matched.
    pub pattern_type: AclPatternType,
    /// The principal (`User:alice`, `User:*`).
    pub principal: String,
    /// The host (`*` for every host).
    pub host: String,
    /// The operation.
    pub operation: AclOperation,
    /// Allow or deny.
    pub permission: AclPermissionType,
}

impl AclBinding {
    /// A literal binding from any host.
    pub fn new(
        resource_type: AclResourceType,
        resource_name: impl Into<String>,
        principal: impl Into<String>,
        operation: AclOperation,
        permission: AclPermissionType,
    ) -> AclBinding {
        AclBinding {
            resource_type,
            resource_name: resource_name.into(),
            pattern_type: AclPatternType::LITERAL,
            principal: principal.into(),
            host: "*".into(),
            operation,
            permission,
        }
    }

    /// The filter matching exactly this binding.
    pub fn to_filter(&self) -> AclBindingFilter {
        AclBindingFilter {
            resource_type: self.resource_type,
            resource_name: Some(self.resource_name.clone()),
            pattern_type: self.pattern_type,
            principal: Some(self.principal.clone()),
            host: Some(self.host.clone()),
            operation: self.operation,
            permission: self.permission,
        }
    }
}

/// A filter over ACL bindings: `None` and the `ANY` codes match every value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AclBindingFilter {
    /// The resource type.
    pub resource_type: AclResourceType,
    /// The resource name.
    pub resource_name: Option<String>,
    /// The pattern type (`MATCH`: every binding applying to the named resource).
    pub pattern_type: AclPatternType,
    /// The principal.
    pub principal: Option<String>,
    /// The host.
    pub host: Option<String>,
    /// The operation.
    pub operation: AclOperation,
    /// Allow or deny.
    pub permission: AclPermissionType,
}

impl AclBindingFilter {
    /// The filter matching every binding.
    pub const ANY: AclBindingFilter = AclBindingFilter {
        resource_type: AclResourceType::ANY,
        resource_name: None,
        pattern_type: AclPatternType::ANY,
        principal: None,
        host: None,
        operation: AclOperation::ANY,
        permission: AclPermissionType::ANY,
    };
}

/// A wire struct (a DescribeAcls request, a DeleteAcls filter, an ACL creation) whose seven ACL fields, named as
/// the wire type names them, are those of `$from` (an [`AclBinding`] or an [`AclBindingFilter`]).
macro_rules! acl_wire {
    ($wire:ident from $from:expr => $rtype:ident, $name:ident, $pattern:ident, $principal:ident, $host:ident, $op:ident, $perm:ident) => {{
        let from = $from;
        $wire {
            $rtype: from.resource_type.0,
            $name: from.resource_name.clone(),
            $pattern: from.pattern_type.0,
            $principal: from.principal.clone(),
            $host: from.host.clone(),
            $op: from.operation.0,
            $perm: from.permission.0,
            ..Default::default()
        }
    }};
}

/// [`acl_wire`] for the filter forms (DescribeAcls, DeleteAcls).
macro_rules! wire_filter {
    ($wire:ident, $filter:expr) => {
        acl_wire!($wire from $filter => resource_type_filter, resource_name_filter, pattern_type_filter,
            principal_filter, host_filter, operation, permission_type)
    };
}

impl Admin {
    /// The ACL bindings matching `filter`.
    pub async fn describe_acls(&self, filter: &AclBindingFilter) -> Result<Vec<AclBinding>> {
        let req: DescribeAclsRequest = wire_filter!(DescribeAclsRequest, filter);
        let resp = self.call_any(&req, |r| (r.error_code, r.error_message.clone())).await?;
        let mut out = Vec::new();
        for res in resp.resources {
            for acl in res.acls {
                out.push(AclBinding {
                    resource_type: AclResourceType(res.resource_type),
                    resource_name: res.resource_name.clone(),
                    pattern_type: AclPatternType(res.pattern_type),
                    principal: acl.principal,
                    host: acl.host,
                    operation: AclOperation(acl.operation),
                    permission: AclPermissionType(acl.permission_type),
                });
            }
        }
        Ok(out)
    }

    /// Creates ACL bindings; one result per binding, in order (creating one that exists already succeeds).
    pub async fn create_acls(&self, bindings: &[AclBinding]) -> Result<Vec<Result<()>>> {
        let req = CreateAclsRequest {
            creations: bindings
                .iter()
                .map(|b| {
                    acl_wire!(AclCreation from b => resource_type, resource_name, resource_pattern_type, principal,
                        host, operation, permission_type)
                })
                .collect(),
            ..Default::default()
        };
        let resp = self.call_any_per_item(&req).await?;
        if resp.results.len() != bindings.len() {
            return Err(
                Error::protocol("CreateAcls reply has not one result per binding").with_api(ApiKey::CREATE_ACLS)
            );
        }
        Ok(resp.results.into_iter().map(|r| item_result(ApiKey::CREATE_ACLS, r.error_code, r.error_message)).collect())
    }

    /// Deletes every binding matching each filter; per filter, the bindings it deleted (or its error).
    pub async fn delete_acls(&self, filters: &[AclBindingFilter]) -> Result<Vec<Result<Vec<AclBinding>>>> {
        let req = DeleteAclsRequest {
            filters: filters.iter().map(|f| wire_filter!(DeleteAclsFilter, f)).collect(),
            ..Default::default()
        };
        let resp = self.call_any_per_item(&req).await?;
        if resp.filter_results.len() != filters.len() {
            return Err(Error::protocol("DeleteAcls reply has not one result per filter").with_api(ApiKey::DELETE_ACLS));
        }
        Ok(resp
            .filter_results
            .into_iter()
            .map(|fr| {
                item_result(ApiKey::DELETE_ACLS, fr.error_code, fr.error_message)?;
                fr.matching_acls
                    .into_iter()
                    .map(|m| {
                        item_result(ApiKey::DELETE_ACLS, m.error_code, m.error_message)?;
                        Ok(AclBinding {
                            resource_type: AclResourceType(m.resource_type),
                            resource_name: m.resource_name,
                            pattern_type: AclPatternType(m.pattern_type),
                            principal: m.principal,
                            host: m.host,
                            operation: AclOperation(m.operation),
                            permission: AclPermissionType(m.permission_type),
                        })
                    })
                    .collect()
            })
            .collect())
    }
}
