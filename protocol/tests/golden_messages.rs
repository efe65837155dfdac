//! Golden vectors made by the Apache Kafka Java client (interop/java) checked against this crate's codecs.
//!
//! Vectors live in `protocol/testdata/golden/messages/<Name>/<kind>-v<N>-<variant>.json` (override the `golden`
//! directory with `KAFKAR_GOLDEN_DIR`), each holding the body bytes Java wrote (`hex`) and Java's JSON of the message
//! (`json`). For every vector of a message this crate implements, decoding and re-encoding must reproduce Java's
//! bytes exactly. For ApiVersions, Metadata and the headers, the decoded values are also compared with Java's JSON,
//! field by field, so a decoder that put a value in the wrong field cannot pass by mirroring its encoder, and the
//! unknown tagged fields it kept with the vector's `unknown_tagged_fields` (the `unknown-tags` variants).
//! Vectors of messages not implemented yet are listed, not failed. Full frames (`golden/frames/*.json`), when
//! present, check the header version rule and the header bytes too.
//!
//! The test fails when the vector directory is missing, when no vector was checked, and on any mismatch (all are
//! listed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use kafkar_protocol::header::{RequestHeader, ResponseHeader, request_header_version, response_header_version};
use kafkar_protocol::messages::api_versions::{ApiVersionsRequest, ApiVersionsResponse};
use kafkar_protocol::messages::metadata::{MetadataRequest, MetadataResponse};
use kafkar_protocol::messages::{Message, all_specs, reencode};
use kafkar_protocol::primitives::{RawTaggedField, Reader};
use kafkar_protocol::{ApiKey, ErrorCode};
use serde_json::{Map, Value, json};

fn golden_dir() -> PathBuf {
    match std::env::var_os("KAFKAR_GOLDEN_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/golden"),
    }
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return Err("odd-length hex".into());
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(format!("bad hex digit {:?}", c as char)),
    };
    s.chunks(2).map(|p| Ok(nib(p[0])? << 4 | nib(p[1])?)).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Where two JSON values differ, as `path: ours X, java Y` lines.
fn json_diff(ours: &Value, java: &Value, path: &str, out: &mut Vec<String>) {
    match (ours, java) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => json_diff(v, w, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: ours {v}, absent in java's json")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: not produced by our decoder (java {})", b[k]));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                json_diff(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ if ours == java => {}
        _ => out.push(format!("{path}: ours {ours}, java {java}")),
    }
}

/// An object from `(key, value)` pairs, skipping `None` values (fields the version lacks).
fn obj(fields: Vec<(&str, Option<Value>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

fn when(cond: bool, v: Value) -> Option<Value> {
    cond.then_some(v)
}

// Our decoded values in the shape of Kafka's generated JSON converters (camelCase field names, uuids in base64,
// only the fields of the version; tagged fields only when not at their default).

fn metadata_request_json(m: &MetadataRequest, v: i16) -> Value {
    let topics = match &m.topics {
        // v0 says "all topics" with an empty array.
        None if v == 0 => json!([]),
        None => Value::Null,
        Some(ts) => ts
            .iter()
            .map(|t| {
                obj(vec![("topicId", when(v >= 10, json!(t.topic_id.to_string()))), ("name", Some(json!(t.name)))])
            })
            .collect(),
    };
    obj(vec![
        ("topics", Some(topics)),
        ("allowAutoTopicCreation", when(v >= 4, json!(m.allow_auto_topic_creation))),
        (
            "includeClusterAuthorizedOperations",
            when((8..=10).contains(&v), json!(m.include_cluster_authorized_operations)),
        ),
        ("includeTopicAuthorizedOperations", when(v >= 8, json!(m.include_topic_authorized_operations))),
    ])
}

fn metadata_response_json(m: &MetadataResponse, v: i16) -> Value {
    let brokers: Vec<Value> = m
        .brokers
        .iter()
        .map(|b| {
            obj(vec![
                ("nodeId", Some(json!(b.node_id))),
                ("host", Some(json!(b.host))),
                ("port", Some(json!(b.port))),
                ("rack", when(v >= 1, json!(b.rack))),
            ])
        })
        .collect();
    let topics: Vec<Value> = m
        .topics
        .iter()
        .map(|t| {
            let partitions: Vec<Value> = t
                .partitions
                .iter()
                .map(|p| {
                    obj(vec![
                        ("errorCode", Some(json!(p.error_code.0))),
                        ("partitionIndex", Some(json!(p.partition_index))),
                        ("leaderId", Some(json!(p.leader_id))),
                        ("leaderEpoch", when(v >= 7, json!(p.leader_epoch))),
                        ("replicaNodes", Some(json!(p.replica_nodes))),
                        ("isrNodes", Some(json!(p.isr_nodes))),
                        ("offlineReplicas", when(v >= 5, json!(p.offline_replicas))),
                    ])
                })
                .collect();
            obj(vec![
                ("errorCode", Some(json!(t.error_code.0))),
                ("name", Some(json!(t.name))),
                ("topicId", when(v >= 10, json!(t.topic_id.to_string()))),
                ("isInternal", when(v >= 1, json!(t.is_internal))),
                ("partitions", Some(json!(partitions))),
                ("topicAuthorizedOperations", when(v >= 8, json!(t.topic_authorized_operations))),
            ])
        })
        .collect();
    obj(vec![
        ("throttleTimeMs", when(v >= 3, json!(m.throttle_time_ms))),
        ("brokers", Some(json!(brokers))),
        ("clusterId", when(v >= 2, json!(m.cluster_id))),
        ("controllerId", when(v >= 1, json!(m.controller_id))),
        ("topics", Some(json!(topics))),
        ("clusterAuthorizedOperations", when((8..=10).contains(&v), json!(m.cluster_authorized_operations))),
        ("errorCode", when(v >= 13, json!(m.error_code.0))),
    ])
}

fn api_versions_request_json(m: &ApiVersionsRequest, v: i16) -> Value {
    obj(vec![
        ("clientSoftwareName", when(v >= 3, json!(m.client_software_name))),
        ("clientSoftwareVersion", when(v >= 3, json!(m.client_software_version))),
        ("clusterId", when(v >= 5, json!(m.cluster_id))),
        ("nodeId", when(v >= 5, json!(m.node_id))),
    ])
}

fn api_versions_response_json(m: &ApiVersionsResponse, v: i16) -> Value {
    let keys: Vec<Value> = m
        .api_keys
        .iter()
        .map(|a| json!({"apiKey": a.api_key, "minVersion": a.min_version, "maxVersion": a.max_version}))
        .collect();
    let supported: Vec<Value> = m
        .supported_features
        .iter()
        .map(|f| json!({"name": f.name, "minVersion": f.min_version, "maxVersion": f.max_version}))
        .collect();
    let finalized: Vec<Value> = m
        .finalized_features
        .iter()
        .map(
            |f| json!({"name": f.name, "maxVersionLevel": f.max_version_level, "minVersionLevel": f.min_version_level}),
        )
        .collect();
    let flex = v >= 3;
    obj(vec![
        ("errorCode", Some(json!(m.error_code.0))),
        ("apiKeys", Some(json!(keys))),
        ("throttleTimeMs", when(v >= 1, json!(m.throttle_time_ms))),
        ("supportedFeatures", when(flex && !supported.is_empty(), json!(supported))),
        ("finalizedFeaturesEpoch", when(flex && m.finalized_features_epoch != -1, json!(m.finalized_features_epoch))),
        ("finalizedFeatures", when(flex && !finalized.is_empty(), json!(finalized))),
        ("zkMigrationReady", when(flex && m.zk_migration_ready, json!(true))),
    ])
}

fn decode_as<M: Message>(body: &[u8], version: i16) -> Result<M, String> {
    M::decode_exact(&mut Reader::new(Bytes::copy_from_slice(body)), version).map_err(|e| e.to_string())
}

/// The kept unknown tagged fields in the vectors' form: `[{"tag": 90, "hex": ""}, ...]`.
fn tags_json(fields: &[RawTaggedField]) -> Value {
    fields.iter().map(|f| json!({"tag": f.tag, "hex": hex(&f.data)})).collect()
}

/// Compares the decoded value of a message with Java's JSON, and the top-level unknown tagged fields it kept with
/// the vector's `unknown_tagged_fields` (none when absent); `None` when this test has no value check for it.
fn check_values(spec: &str, body: &[u8], version: i16, vector: &Value) -> Option<Vec<String>> {
    let ours = match spec {
        "MetadataRequest" => decode_as::<MetadataRequest>(body, version)
            .map(|m| (metadata_request_json(&m, version), tags_json(&m.unknown_tagged_fields))),
        "MetadataResponse" => decode_as::<MetadataResponse>(body, version)
            .map(|m| (metadata_response_json(&m, version), tags_json(&m.unknown_tagged_fields))),
        "ApiVersionsRequest" => decode_as::<ApiVersionsRequest>(body, version)
            .map(|m| (api_versions_request_json(&m, version), tags_json(&m.unknown_tagged_fields))),
        "ApiVersionsResponse" => decode_as::<ApiVersionsResponse>(body, version)
            .map(|m| (api_versions_response_json(&m, version), tags_json(&m.unknown_tagged_fields))),
        _ => return None,
    };
    let mut diffs = Vec::new();
    match ours {
        Ok((ours, tags)) => {
            json_diff(&ours, &vector["json"], "json", &mut diffs);
            json_diff(&tags, expected_tags(vector), "unknown_tagged_fields", &mut diffs);
        }
        Err(e) => diffs.push(format!("decode failed: {e}")),
    }
    Some(diffs)
}

/// The vector's `unknown_tagged_fields`, or an empty list.
fn expected_tags(vector: &Value) -> &Value {
    static NONE: Value = Value::Array(Vec::new());
    match &vector["unknown_tagged_fields"] {
        Value::Null => &NONE,
        v => v,
    }
}

/// Decodes and re-encodes a header; compares the bytes and the values with Java's JSON.
fn check_header(spec: &str, body: &[u8], version: i16, vector: &Value) -> Result<(), String> {
    let mut r = Reader::new(Bytes::copy_from_slice(body));
    let mut out = Vec::new();
    let (ours, tags) = match spec {
        "RequestHeader" => {
            let h = RequestHeader::decode(&mut r, version).map_err(|e| format!("decode: {e}"))?;
            h.encode(&mut out, version).map_err(|e| format!("encode: {e}"))?;
            let fields = obj(vec![
                ("requestApiKey", Some(json!(h.api_key))),
                ("requestApiVersion", Some(json!(h.api_version))),
                ("correlationId", Some(json!(h.correlation_id))),
                ("clientId", when(version >= 1, json!(h.client_id))),
            ]);
            (fields, tags_json(&h.unknown_tagged_fields))
        }
        "ResponseHeader" => {
            let h = ResponseHeader::decode(&mut r, version).map_err(|e| format!("decode: {e}"))?;
            h.encode(&mut out, version).map_err(|e| format!("encode: {e}"))?;
            (json!({"correlationId": h.correlation_id}), tags_json(&h.unknown_tagged_fields))
        }
        _ => return Err("unknown header".into()),
    };
    r.finish("header").map_err(|e| e.to_string())?;
    if out != body {
        return Err(format!("re-encoded bytes differ:\n      java {}\n      ours {}", hex(body), hex(&out)));
    }
    let mut diffs = Vec::new();
    json_diff(&ours, &vector["json"], "json", &mut diffs);
    json_diff(&tags, expected_tags(vector), "unknown_tagged_fields", &mut diffs);
    if diffs.is_empty() { Ok(()) } else { Err(diffs.join("\n      ")) }
}

/// The spec name of a vector: `Metadata` + `response` → `MetadataResponse`; data and header specs as named.
fn spec_name(name: &str, kind: &str) -> Result<String, String> {
    match kind {
        "request" => Ok(format!("{name}Request")),
        "response" => Ok(format!("{name}Response")),
        "data" | "header" => Ok(name.to_string()),
        other => Err(format!("unknown kind {other:?}")),
    }
}

#[derive(Default)]
struct Tally {
    /// Spec name → vectors checked.
    checked: BTreeMap<String, usize>,
    /// Spec name → vectors whose decoded values were compared with Java's JSON.
    values: BTreeMap<String, usize>,
    /// Spec name → vectors skipped because this crate does not implement the message.
    not_implemented: BTreeMap<String, usize>,
    failures: Vec<String>,
}

/// Checks one vector file.
fn check_vector(path: &Path, t: &mut Tally) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let name = v["name"].as_str().ok_or("no name")?;
    let kind = v["kind"].as_str().ok_or("no kind")?;
    let version = v["version"].as_i64().and_then(|x| i16::try_from(x).ok()).ok_or("no version")?;
    let body = unhex(v["hex"].as_str().ok_or("no hex")?)?;
    let spec = spec_name(name, kind)?;
    // Newer vectors name their spec; it must agree with the name + kind mapping.
    if let Some(named) = v["spec"].as_str().filter(|n| *n != spec) {
        return Err(format!("spec {named:?} but name {name:?} and kind {kind:?} give {spec:?}"));
    }

    if kind == "header" {
        *t.checked.entry(spec.clone()).or_default() += 1;
        *t.values.entry(spec.clone()).or_default() += 1;
        return check_header(&spec, &body, version, &v);
    }
    let Some(result) = reencode(&spec, Bytes::from(body.clone()), version) else {
        *t.not_implemented.entry(spec).or_default() += 1;
        return Ok(());
    };
    *t.checked.entry(spec.clone()).or_default() += 1;
    let mut problems = Vec::new();
    match result {
        Ok(out) if out[..] == body[..] => {}
        Ok(out) => {
            problems.push(format!("re-encoded bytes differ:\n      java {}\n      ours {}", hex(&body), hex(&out)))
        }
        Err(e) => problems.push(format!("round trip failed: {e}")),
    }
    if let Some(diffs) = check_values(&spec, &body, version, &v) {
        *t.values.entry(spec.clone()).or_default() += 1;
        problems.extend(diffs);
    }
    // The fallback reply: decoded at v0 whatever version was asked for.
    if v["variant"] == "fallback" {
        match ApiVersionsResponse::decode_reply(Bytes::from(body), 5) {
            Ok((r, 0)) if r.error_code == ErrorCode::UNSUPPORTED_VERSION && r.find(ApiKey::API_VERSIONS).is_some() => {}
            Ok((r, v)) => {
                problems.push(format!("fallback decoded at v{v}, error {}, {} keys", r.error_code, r.api_keys.len()))
            }
            Err(e) => problems.push(format!("fallback decode_reply failed: {e}")),
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n      ")) }
}

/// Checks full frames (size, header, body) when `golden/frames` exists.
fn check_frames(dir: &Path, t: &mut Tally) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let flexible: BTreeMap<&str, _> = all_specs().into_iter().map(|s| (s.name, s.flexible_versions)).collect();
    let mut checked = 0;
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let label = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let v: Value = match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => {
                t.failures.push(format!("frames/{label}: {e}"));
                continue;
            }
        };
        let name = v["name"].as_str().unwrap_or("?");
        let api_key = ApiKey(v["api_key"].as_i64().and_then(|k| i16::try_from(k).ok()).unwrap_or(-1));
        // A file holds a `frames` list, or is itself one frame (the ApiVersions fallback).
        let frames: Vec<&Value> = match v["frames"].as_array() {
            Some(a) => a.iter().collect(),
            None => vec![&v],
        };
        for f in frames {
            let kind = f["kind"].as_str().unwrap_or("?");
            let version = f["version"].as_i64().and_then(|x| i16::try_from(x).ok()).unwrap_or(-1);
            let label = format!("frames/{label} {kind} v{version} {}", f["variant"]);
            match check_frame(name, api_key, kind, version, f, &v, &flexible) {
                Ok(true) => checked += 1,
                Ok(false) => {}
                Err(e) => t.failures.push(format!("{label}: {e}")),
            }
        }
    }
    checked
}

/// One frame; `Ok(false)` when the body's message is not implemented (the header is still checked).
fn check_frame(
    name: &str,
    api_key: ApiKey,
    kind: &str,
    version: i16,
    f: &Value,
    file: &Value,
    flexible: &BTreeMap<&str, kafkar_protocol::primitives::Versions>,
) -> Result<bool, String> {
    let frame = unhex(f["hex"].as_str().ok_or("no hex")?)?;
    let header_hex = unhex(f["header_hex"].as_str().ok_or("no header_hex")?)?;
    let hv = f["header_version"].as_i64().and_then(|x| i16::try_from(x).ok()).ok_or("no header_version")?;
    let correlation = file["correlation_id"].as_i64().ok_or("no correlation_id")?;
    let mut r = Reader::new(Bytes::from(frame));
    let size = r.i32("frame size").map_err(|e| e.to_string())?;
    if usize::try_from(size).ok() != Some(r.remaining()) {
        return Err(format!("size prefix {size} but {} bytes follow", r.remaining()));
    }
    let before = r.remaining();
    let mut out = Vec::new();
    if kind == "request" {
        let h = RequestHeader::decode(&mut r, hv).map_err(|e| e.to_string())?;
        if i64::from(h.correlation_id) != correlation || h.api_key != api_key.0 || h.api_version != version {
            return Err(format!("header values {h:?}"));
        }
        if h.client_id.as_deref() != file["client_id"].as_str() {
            return Err(format!("client id {:?}", h.client_id));
        }
        h.encode(&mut out, hv).map_err(|e| e.to_string())?;
    } else {
        let h = ResponseHeader::decode(&mut r, hv).map_err(|e| e.to_string())?;
        if i64::from(h.correlation_id) != correlation {
            return Err(format!("correlation id {}", h.correlation_id));
        }
        h.encode(&mut out, hv).map_err(|e| e.to_string())?;
    }
    if out != header_hex || before - r.remaining() != header_hex.len() {
        return Err(format!("header bytes: java {}, ours {}", hex(&header_hex), hex(&out)));
    }
    let spec = spec_name(name, kind)?;
    let Some(flex) = flexible.get(spec.as_str()) else {
        return Ok(false);
    };
    // Java's header version for this body version must be ours.
    let ours_hv = if kind == "request" {
        request_header_version(flex.contains(version))
    } else {
        response_header_version(api_key, flex.contains(version))
    };
    if ours_hv != hv {
        return Err(format!("header version: java {hv}, ours {ours_hv}"));
    }
    let body = r.take_rest();
    let body_version = if f["variant"] == "fallback" { 0 } else { version };
    match reencode(&spec, body.clone(), body_version) {
        Some(Ok(b)) if b[..] == body[..] => Ok(true),
        Some(Ok(b)) => Err(format!("body re-encoded differs: java {}, ours {}", hex(&body), hex(&b))),
        Some(Err(e)) => Err(format!("body: {e}")),
        None => Ok(false),
    }
}

#[test]
fn java_golden_vectors() {
    let root = golden_dir();
    let messages = root.join("messages");
    assert!(
        messages.is_dir(),
        "golden vectors not found at {}: generate them with interop/java (or set KAFKAR_GOLDEN_DIR)",
        messages.display()
    );
    let mut t = Tally::default();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&messages)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        for f in files {
            if let Err(e) = check_vector(&f, &mut t) {
                let rel = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
                t.failures.push(format!("{rel}: {e}"));
            }
        }
    }
    let frames = check_frames(&root.join("frames"), &mut t);

    let total: usize = t.checked.values().sum();
    eprintln!("golden vectors from {}:", root.display());
    for (spec, n) in &t.checked {
        eprintln!(
            "  {spec:<36} {n:>4} checked, {:>4} with values compared to Java's JSON",
            t.values.get(spec).unwrap_or(&0)
        );
    }
    eprintln!("  {total} vectors checked; {frames} full frames checked");
    if !t.not_implemented.is_empty() {
        let list: Vec<String> = t.not_implemented.iter().map(|(s, n)| format!("{s} ({n})")).collect();
        eprintln!("  not implemented (skipped): {}", list.join(", "));
    }
    assert!(t.failures.is_empty(), "{} golden vectors failed:\n  {}", t.failures.len(), t.failures.join("\n  "));
    assert!(total > 0, "no golden vector was checked in {}", messages.display());
}
