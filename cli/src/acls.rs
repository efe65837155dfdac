//! `kafkar acls`: list, create and delete ACL bindings (the cluster's authorizer must be enabled; without one the
//! broker answers SECURITY_DISABLED).

use clap::{Args, Subcommand};
use kafkar::admin::{
    AclBinding, AclBindingFilter, AclOperation, AclPatternType, AclPermissionType, AclResourceType, Admin,
};
use serde_json::json;

use crate::connection::Connection;
use crate::failure::{CliResult, Failure};
use crate::output::{Outcome, Table, print_json};
use crate::topics::admin;

const RESOURCE_TYPES: &[(&str, i8)] = &[
    ("any", 1),
    ("topic", 2),
    ("group", 3),
    ("cluster", 4),
    ("transactional-id", 5),
    ("delegation-token", 6),
    ("user", 7),
];
const PATTERN_TYPES: &[(&str, i8)] = &[("any", 1), ("match", 2), ("literal", 3), ("prefixed", 4)];
const OPERATIONS: &[(&str, i8)] = &[
    ("any", 1),
    ("all", 2),
    ("read", 3),
    ("write", 4),
    ("create", 5),
    ("delete", 6),
    ("alter", 7),
    ("describe", 8),
    ("cluster-action", 9),
    ("describe-configs", 10),
    ("alter-configs", 11),
    ("idempotent-write", 12),
    ("create-tokens", 13),
    ("describe-tokens", 14),
    ("two-phase-commit", 15),
];
const PERMISSIONS: &[(&str, i8)] = &[("any", 1), ("deny", 2), ("allow", 3)];

/// The code of `name` in `table` (case and `_`/`-` do not matter), or an error listing the names.
fn code(table: &[(&str, i8)], what: &str, name: &str) -> Result<i8, String> {
    let wanted = name.trim().to_ascii_lowercase().replace('_', "-");
    table.iter().find(|(n, _)| *n == wanted).map(|(_, c)| *c).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        format!("unknown {what} {name:?} (one of: {})", names.join(", "))
    })
}

/// The display name of `code` (upper case, as Kafka prints them), or the number.
fn name(table: &[(&str, i8)], code: i8) -> String {
    table
        .iter()
        .find(|(_, c)| *c == code)
        .map_or_else(|| format!("UNKNOWN({code})"), |(n, _)| n.to_ascii_uppercase().replace('-', "_"))
}

fn resource_type(s: &str) -> Result<AclResourceType, String> {
    code(RESOURCE_TYPES, "resource type", s).map(AclResourceType)
}
fn pattern_type(s: &str) -> Result<AclPatternType, String> {
    code(PATTERN_TYPES, "pattern type", s).map(AclPatternType)
}
fn operation(s: &str) -> Result<AclOperation, String> {
    code(OPERATIONS, "operation", s).map(AclOperation)
}
fn permission(s: &str) -> Result<AclPermissionType, String> {
    code(PERMISSIONS, "permission", s).map(AclPermissionType)
}

/// `kafkar acls` subcommands.
#[derive(Subcommand, Debug)]
pub enum AclsAction {
    /// List the bindings matching the filters (every binding without any).
    #[command(after_help = "Examples:
  kafkar acls list
  kafkar acls list --resource-type topic --resource-name orders --pattern-type match
  kafkar acls list --principal User:bob --json")]
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// Print one JSON array of bindings.
        #[arg(long)]
        json: bool,
    },
    /// Create bindings: one per principal and operation given.
    #[command(after_help = "Examples:
  kafkar acls create --resource-type topic --resource-name orders --principal User:bob --operation read \
                           --operation describe
  kafkar acls create --resource-type group --resource-name billing- --pattern-type prefixed --principal User:bob \
                           --operation read
  kafkar acls create --resource-type cluster --principal User:ops --operation describe --permission deny")]
    Create(CreateArgs),
    /// Delete the bindings matching the filters, printing what was deleted. With no filter at all, --all is needed.
    #[command(after_help = "Examples:
  kafkar acls delete --resource-type topic --resource-name orders --principal User:bob
  kafkar acls delete --principal User:bob --all")]
    Delete {
        #[command(flatten)]
        filter: FilterArgs,
        /// Allow a filter that matches every binding.
        #[arg(long)]
        all: bool,
        /// Print one JSON array of the deleted bindings.
        #[arg(long)]
        json: bool,
    },
}

/// Filters over ACL bindings; an option not given matches anything.
#[derive(Args, Debug)]
pub struct FilterArgs {
    /// any, topic, group, cluster, transactional-id, delegation-token, user.
    #[arg(long, value_name = "TYPE", value_parser = resource_type)]
    resource_type: Option<AclResourceType>,
    /// The resource name (or prefix of prefixed bindings).
    #[arg(long, value_name = "NAME")]
    resource_name: Option<String>,
    /// any, literal, prefixed, or match (every binding that applies to the named resource: literal, prefixed and
    /// wildcard).
    #[arg(long, value_name = "PATTERN", value_parser = pattern_type)]
    pattern_type: Option<AclPatternType>,
    /// The principal, e.g. User:bob.
    #[arg(long, value_name = "PRINCIPAL")]
    principal: Option<String>,
    /// The host (`*`: the bindings for every host).
    #[arg(long, value_name = "HOST")]
    host: Option<String>,
    /// any, all, read, write, create, delete, alter, describe, cluster-action, describe-configs, alter-configs,
    /// idempotent-write, create-tokens, describe-tokens, two-phase-commit.
    #[arg(long, value_name = "OPERATION", value_parser = operation)]
    operation: Option<AclOperation>,
    /// any, allow, deny.
    #[arg(long, value_name = "PERMISSION", value_parser = permission)]
    permission: Option<AclPermissionType>,
}

impl FilterArgs {
    fn filter(&self) -> AclBindingFilter {
        AclBindingFilter {
            resource_type: self.resource_type.unwrap_or(AclResourceType::ANY),
            resource_name: self.resource_name.clone(),
            pattern_type: self.pattern_type.unwrap_or(AclPatternType::ANY),
            principal: self.principal.clone(),
            host: self.host.clone(),
            operation: self.operation.unwrap_or(AclOperation::ANY),
            permission: self.permission.unwrap_or(AclPermissionType::ANY),
        }
    }
}

/// Options of `kafkar acls create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// topic, group, cluster, transactional-id, delegation-token, user.
    #[arg(long, value_name = "TYPE", value_parser = resource_type)]
    resource_type: AclResourceType,
    /// The resource name, `*` for every resource of the type (default for cluster: kafka-cluster).
    #[arg(long, value_name = "NAME")]
    resource_name: Option<String>,
    /// literal (the default) or prefixed.
    #[arg(long, value_name = "PATTERN", value_parser = pattern_type, default_value = "literal")]
    pattern_type: AclPatternType,
    /// The principal, e.g. User:bob (repeatable).
    #[arg(long, value_name = "PRINCIPAL", required = true)]
    principal: Vec<String>,
    /// The host the principal connects from.
    #[arg(long, value_name = "HOST", default_value = "*")]
    host: String,
    /// The operation (repeatable): all, read, write, create, delete, alter, describe, cluster-action,
    /// describe-configs, alter-configs, idempotent-write, create-tokens, describe-tokens, two-phase-commit.
    #[arg(long, value_name = "OPERATION", value_parser = operation, required = true)]
    operation: Vec<AclOperation>,
    /// allow (the default) or deny.
    #[arg(long, value_name = "PERMISSION", value_parser = permission, default_value = "allow")]
    permission: AclPermissionType,
}

fn binding_row(b: &AclBinding) -> Vec<String> {
    vec![
        name(RESOURCE_TYPES, b.resource_type.0),
        b.resource_name.clone(),
        name(PATTERN_TYPES, b.pattern_type.0),
        b.principal.clone(),
        b.host.clone(),
        name(OPERATIONS, b.operation.0),
        name(PERMISSIONS, b.permission.0),
    ]
}

fn binding_json(b: &AclBinding) -> serde_json::Value {
    let r = binding_row(b);
    json!({"resource_type": r[0], "resource_name": r[1], "pattern_type": r[2], "principal": r[3], "host": r[4],
        "operation": r[5], "permission": r[6]})
}

fn print_bindings(bindings: &[AclBinding], json: bool) {
    if json {
        print_json(&json!(bindings.iter().map(binding_json).collect::<Vec<_>>()));
        return;
    }
    let mut table =
        Table::new(&["RESOURCE-TYPE", "RESOURCE-NAME", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION"]);
    for b in bindings {
        table.row(binding_row(b));
    }
    table.print();
}

fn sort(bindings: &mut [AclBinding]) {
    bindings.sort_by_key(|b| binding_row(b).join("\0"));
}

/// Runs an `acls` subcommand.
pub async fn run(conn: &Connection, action: AclsAction) -> CliResult {
    let admin = admin(conn).await?;
    match action {
        AclsAction::List { filter, json } => {
            let mut bindings = admin.describe_acls(&filter.filter()).await?;
            sort(&mut bindings);
            print_bindings(&bindings, json);
            Ok(())
        }
        AclsAction::Create(args) => create(&admin, &args).await,
        AclsAction::Delete { filter, all, json } => {
            let f = filter.filter();
            if f == AclBindingFilter::ANY && !all {
                return Err(Failure::usage("this filter matches every ACL binding: narrow it, or add --all"));
            }
            let mut outcome = Outcome::new();
            let result = admin.delete_acls(std::slice::from_ref(&f)).await?.into_iter().next();
            let result = result.unwrap_or_else(|| Err(crate::output::left_out()));
            if let Some(mut deleted) = outcome.item("delete", result) {
                sort(&mut deleted);
                if !json {
                    println!("deleted {} binding(s)", deleted.len());
                }
                print_bindings(&deleted, json);
            }
            outcome.finish()
        }
    }
}

async fn create(admin: &Admin, args: &CreateArgs) -> CliResult {
    if args.resource_type == AclResourceType::ANY {
        return Err(Failure::usage("--resource-type any is a filter: name the type of the resource"));
    }
    let resource_name = match (&args.resource_name, args.resource_type) {
        (Some(n), _) => n.clone(),
        (None, AclResourceType::CLUSTER) => "kafka-cluster".to_owned(),
        (None, _) => return Err(Failure::usage("--resource-name is needed for this resource type")),
    };
    let mut bindings = Vec::new();
    for principal in &args.principal {
        for op in &args.operation {
            bindings.push(AclBinding {
                resource_type: args.resource_type,
                resource_name: resource_name.clone(),
                pattern_type: args.pattern_type,
                principal: principal.clone(),
                host: args.host.clone(),
                operation: *op,
                permission: args.permission,
            });
        }
    }
    let results = admin.create_acls(&bindings).await?;
    let mut outcome = Outcome::new();
    let mut created = Vec::new();
    for (b, r) in bindings.iter().zip(results) {
        let what = binding_row(b).join(" ");
        if outcome.item(&what, r).is_some() {
            created.push(b.clone());
        }
    }
    println!("created {} binding(s)", created.len());
    print_bindings(&created, false);
    outcome.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_any_case_and_print_as_kafka_does() {
        assert_eq!(resource_type("TRANSACTIONAL_ID").unwrap(), AclResourceType::TRANSACTIONAL_ID);
        assert_eq!(operation("Describe-Configs").unwrap(), AclOperation::DESCRIBE_CONFIGS);
        assert!(permission("maybe").unwrap_err().contains("allow"));
        assert_eq!(name(OPERATIONS, AclOperation::IDEMPOTENT_WRITE.0), "IDEMPOTENT_WRITE");
        assert_eq!(name(PATTERN_TYPES, 42), "UNKNOWN(42)");
    }
}
