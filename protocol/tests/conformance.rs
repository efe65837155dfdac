//! Conformance of every message this crate implements to Kafka's own JSON message specs.
//!
//! The specs live inside the kafka-clients jar (`common/message/*.json`); `scripts/kafka specs` extracts them and
//! prints the directory, which this test reads from `KAFKA_MESSAGE_SPECS`. Without it the test is skipped locally
//! and fails in CI (`CI=true`).
//!
//! For each [`MessageSpec`] from [`all_specs`]: the spec file exists; `apiKey` and `type` match; our versions are
//! inside `validVersions` and end at its max (our min is reported when it differs); `flexibleVersions` match; and the
//! fields match recursively (names in order, type, versions, nullableVersions, tag, taggedVersions, sub-fields,
//! including structs defined in the spec's `commonStructs`). Every difference is reported before the test fails.
//!
//! A sub-field's versions are compared within its parent field's versions: one Rust struct may serve two fields
//! whose specs give its sub-fields different ranges (the consumer protocol's `TopicPartition` is `1+` inside
//! `OwnedPartitions` and `0+` inside `AssignedPartitions`); its table declares the union, and a sub-field can only be
//! written where its parent is.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kafkar_protocol::messages::{FieldSpec, MessageKind, MessageSpec, all_specs};
use kafkar_protocol::primitives::Versions;
use serde_json::Value;

/// Removes `//` line comments and `/* */` block comments, leaving string literals (and any `//` inside them) alone.
fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut chars = src.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                // Up to (not including) the end of the line.
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = '\0';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Reads a version-range attribute; absent means "none".
fn versions_attr(v: &Value, key: &str, path: &str, diffs: &mut Vec<String>) -> Versions {
    match v.get(key) {
        None | Some(Value::Null) => Versions::NONE,
        Some(Value::String(s)) => Versions::parse(s).unwrap_or_else(|| {
            diffs.push(format!("{path}: unparsable {key} {s:?} in the spec"));
            Versions::NONE
        }),
        Some(other) => {
            diffs.push(format!("{path}: {key} is not a string in the spec: {other}"));
            Versions::NONE
        }
    }
}

/// The struct name a field type refers to (`"[]Foo"` or `"Foo"`), if it is not a primitive.
fn struct_name(ty: &str) -> Option<&str> {
    let base = ty.strip_prefix("[]").unwrap_or(ty);
    let primitive = matches!(
        base,
        "bool"
            | "int8"
            | "int16"
            | "uint16"
            | "int32"
            | "uint32"
            | "int64"
            | "float64"
            | "string"
            | "bytes"
            | "uuid"
            | "records"
    );
    if primitive { None } else { Some(base) }
}

/// The versions in both ranges (`none` when they do not overlap): a field is compared within its parent's versions.
fn intersect(a: Versions, b: Versions) -> Versions {
    let v = Versions::range(a.min.max(b.min), a.max.min(b.max));
    if v.is_empty() { Versions::NONE } else { v }
}

/// Compares our fields with the spec's `fields` array at `path` (inside a parent that exists in `within`),
/// appending every difference to `diffs`.
fn compare_fields(
    ours: &[FieldSpec],
    within: Versions,
    spec: &[Value],
    common: &HashMap<String, Vec<Value>>,
    path: &str,
    diffs: &mut Vec<String>,
) {
    let spec_names: Vec<&str> = spec.iter().map(|f| f.get("name").and_then(Value::as_str).unwrap_or("?")).collect();
    let our_names: Vec<&str> = ours.iter().map(|f| f.name).collect();
    if spec_names != our_names {
        let at = if path.is_empty() { "top level" } else { path };
        diffs.push(format!("{at}: field names differ: ours {our_names:?}, spec {spec_names:?}"));
    }
    for o in ours {
        let Some(s) = spec.iter().find(|s| s.get("name").and_then(Value::as_str) == Some(o.name)) else {
            continue;
        };
        let fpath = if path.is_empty() { o.name.to_string() } else { format!("{path}.{}", o.name) };
        compare_field(o, s, within, common, &fpath, diffs);
    }
}

fn compare_field(
    o: &FieldSpec,
    s: &Value,
    within: Versions,
    common: &HashMap<String, Vec<Value>>,
    path: &str,
    diffs: &mut Vec<String>,
) {
    let sty = s.get("type").and_then(Value::as_str).unwrap_or("?");
    if o.ty != sty {
        diffs.push(format!("{path}: type: ours {:?}, spec {sty:?}", o.ty));
    }
    let mut check = |key: &str, ours: Versions| {
        let (ours, theirs) = (intersect(ours, within), intersect(versions_attr(s, key, path, diffs), within));
        if ours != theirs {
            diffs.push(format!("{path}: {key}: ours {ours}, spec {theirs}"));
        }
    };
    check("versions", o.versions);
    check("nullableVersions", o.nullable_versions);
    check("taggedVersions", o.tagged_versions);
    if let Some(fv) = s.get("flexibleVersions") {
        // Only RequestHeader.ClientId has one (always a classic string); FieldSpec cannot say so.
        diffs.push(format!(
            "{path}: the spec gives the field its own flexibleVersions {fv}, which FieldSpec cannot express"
        ));
    }
    let tag = s.get("tag").and_then(Value::as_u64);
    if o.tag.map(u64::from) != tag {
        diffs.push(format!("{path}: tag: ours {:?}, spec {tag:?}", o.tag));
    }
    let sub: Option<&Vec<Value>> = match s.get("fields").and_then(Value::as_array) {
        Some(f) => Some(f),
        None => struct_name(sty).and_then(|n| common.get(n)),
    };
    match sub {
        Some(f) => compare_fields(o.fields, o.versions, f, common, path, diffs),
        None if !o.fields.is_empty() => {
            diffs.push(format!("{path}: ours has sub-fields, the spec's type {sty:?} has none"));
        }
        None => {
            if let Some(n) = struct_name(sty) {
                diffs.push(format!("{path}: the spec's type {n:?} is neither inline nor in commonStructs"));
            }
        }
    }
}

fn kind_name(k: MessageKind) -> &'static str {
    match k {
        MessageKind::Request => "request",
        MessageKind::Response => "response",
        MessageKind::Data => "data",
    }
}

/// Compares one message with its parsed spec file; every difference is appended to `diffs`, prefixed by the name.
fn compare_message(m: &MessageSpec, spec: &Value, diffs: &mut Vec<String>) {
    let mut d = Vec::new();
    let name = spec.get("name").and_then(Value::as_str);
    if name != Some(m.name) {
        d.push(format!("name: spec says {name:?}"));
    }
    let ty = spec.get("type").and_then(Value::as_str);
    if ty != Some(kind_name(m.kind)) {
        d.push(format!("type: ours {:?}, spec {ty:?}", kind_name(m.kind)));
    }
    let key = spec.get("apiKey").and_then(Value::as_i64);
    if m.api_key.map(|k| i64::from(k.0)) != key {
        d.push(format!("apiKey: ours {:?}, spec {key:?}", m.api_key.map(|k| k.0)));
    }
    let valid = versions_attr(spec, "validVersions", "validVersions", &mut d);
    if m.versions.min < valid.min || m.versions.max > valid.max || m.versions.is_empty() {
        d.push(format!("versions: ours {} are not inside the spec's validVersions {valid}", m.versions));
    }
    if m.versions.max != valid.max {
        d.push(format!("versions: our max {} is not the spec's max {}", m.versions.max, valid.max));
    }
    if m.versions.min != valid.min {
        d.push(format!(
            "versions: our min {} differs from the spec's min {} (validVersions {valid})",
            m.versions.min, valid.min
        ));
    }
    let flexible = versions_attr(spec, "flexibleVersions", "flexibleVersions", &mut d);
    if m.flexible_versions != flexible {
        d.push(format!("flexibleVersions: ours {}, spec {flexible}", m.flexible_versions));
    }
    let mut common = HashMap::new();
    for c in spec.get("commonStructs").and_then(Value::as_array).into_iter().flatten() {
        if let (Some(n), Some(f)) = (c.get("name").and_then(Value::as_str), c.get("fields").and_then(Value::as_array)) {
            common.insert(n.to_string(), f.clone());
        }
    }
    let empty = Vec::new();
    let fields = spec.get("fields").and_then(Value::as_array).unwrap_or(&empty);
    compare_fields(m.fields, Versions::from(0), fields, &common, "", &mut d);
    diffs.extend(d.into_iter().map(|x| format!("{}: {x}", m.name)));
}

fn load_spec(dir: &Path, name: &str) -> Result<Value, String> {
    let path = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&strip_comments(&text)).map_err(|e| format!("{name}: {} is not JSON: {e}", path.display()))
}

#[test]
fn implemented_messages_match_kafka_json_specs() {
    let dir = match std::env::var_os("KAFKA_MESSAGE_SPECS") {
        Some(d) => PathBuf::from(d),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("KAFKA_MESSAGE_SPECS is not set: in CI it must be, e.g. KAFKA_MESSAGE_SPECS=$(scripts/kafka specs)")
        }
        None => {
            eprintln!(
                "conformance: skipped: set KAFKA_MESSAGE_SPECS=$(scripts/kafka specs) to check against Kafka's specs"
            );
            return;
        }
    };
    assert!(dir.is_dir(), "KAFKA_MESSAGE_SPECS={} is not a directory", dir.display());
    let specs = all_specs();
    assert!(!specs.is_empty(), "all_specs() is empty");
    let mut diffs = Vec::new();
    for m in &specs {
        match load_spec(&dir, m.name) {
            Ok(spec) => compare_message(m, &spec, &mut diffs),
            Err(e) => diffs.push(e),
        }
    }
    eprintln!("conformance: checked {} message specs against {}", specs.len(), dir.display());
    for m in &specs {
        eprintln!("  {:<40} versions {:<6} flexible {}", m.name, m.versions.to_string(), m.flexible_versions);
    }
    assert!(diffs.is_empty(), "{} differences from Kafka's specs:\n  {}", diffs.len(), diffs.join("\n  "));
}

#[test]
fn comment_stripping_keeps_strings() {
    let src = "// header\n{ \"a\": \"x // not a comment\", /* block */ \"b\": \"q\\\"//\" // trailing\n}";
    let v: Value = serde_json::from_str(&strip_comments(src)).unwrap();
    assert_eq!(v["a"], "x // not a comment");
    assert_eq!(v["b"], "q\"//");
}

const SAMPLE_SPEC: &str = r#"
// A made-up spec exercising every attribute the comparer reads.
{
  "apiKey": 99, "type": "response", "name": "SampleResponse",
  "validVersions": "0-4", "flexibleVersions": "2+",
  "fields": [
    { "name": "Items", "type": "[]Item", "versions": "0+", "nullableVersions": "1+", "fields": [
      { "name": "Id", "type": "uuid", "versions": "3+" },
      { "name": "Name", "type": "string", "versions": "0+", "nullableVersions": "3+" }
    ]},
    { "name": "Shared", "type": "Common", "versions": "2+", "tag": 0, "taggedVersions": "2+" }
  ],
  "commonStructs": [
    { "name": "Common", "versions": "0+", "fields": [
      { "name": "Level", "type": "int16", "versions": "0+" }
    ]}
  ]
}"#;

fn sample(fields: &'static [FieldSpec], versions: Versions) -> MessageSpec {
    MessageSpec {
        name: "SampleResponse",
        api_key: Some(kafkar_protocol::ApiKey(99)),
        kind: MessageKind::Response,
        versions,
        flexible_versions: Versions::from(2),
        fields,
    }
}

#[test]
fn comparer_accepts_a_matching_spec() {
    const FIELDS: &[FieldSpec] = &[
        FieldSpec::new("Items", "[]Item", Versions::from(0)).nullable(Versions::from(1)).with_fields(&[
            FieldSpec::new("Id", "uuid", Versions::from(3)),
            FieldSpec::new("Name", "string", Versions::from(0)).nullable(Versions::from(3)),
        ]),
        FieldSpec::new("Shared", "Common", Versions::from(2))
            .tagged(0, Versions::from(2))
            .with_fields(&[FieldSpec::new("Level", "int16", Versions::from(0))]),
    ];
    let spec: Value = serde_json::from_str(&strip_comments(SAMPLE_SPEC)).unwrap();
    let mut diffs = Vec::new();
    compare_message(&sample(FIELDS, Versions::range(0, 4)), &spec, &mut diffs);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn comparer_reports_every_deliberate_mistake() {
    const WRONG: &[FieldSpec] = &[
        // nullable from 2 instead of 1; Name's nullable missing; Id typed int32.
        FieldSpec::new("Items", "[]Item", Versions::from(0)).nullable(Versions::from(2)).with_fields(&[
            FieldSpec::new("Id", "int32", Versions::from(3)),
            FieldSpec::new("Name", "string", Versions::from(0)),
        ]),
        // Wrong tag; common struct field misnamed.
        FieldSpec::new("Shared", "Common", Versions::from(2))
            .tagged(1, Versions::from(2))
            .with_fields(&[FieldSpec::new("Lvl", "int16", Versions::from(0))]),
        // Not in the spec.
        FieldSpec::new("Extra", "int8", Versions::from(4)),
    ];
    let spec: Value = serde_json::from_str(&strip_comments(SAMPLE_SPEC)).unwrap();
    let mut diffs = Vec::new();
    compare_message(&sample(WRONG, Versions::range(1, 3)), &spec, &mut diffs);
    let all = diffs.join("\n");
    for expected in [
        "SampleResponse: versions: our max 3 is not the spec's max 4",
        "SampleResponse: versions: our min 1 differs from the spec's min 0",
        "SampleResponse: Items: nullableVersions: ours 2+, spec 1+",
        "SampleResponse: Items.Id: type: ours \"int32\", spec \"uuid\"",
        "SampleResponse: Items.Name: nullableVersions: ours none, spec 3+",
        "SampleResponse: Shared: tag: ours Some(1), spec Some(0)",
        "SampleResponse: Shared: field names differ: ours [\"Lvl\"], spec [\"Level\"]",
        r#"SampleResponse: top level: field names differ: ours ["Items", "Shared", "Extra"], spec ["Items", "Shared"]"#,
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
    assert_eq!(diffs.len(), 8, "{all}");
}
