//! Writes the seed corpus of every fuzz target into `fuzz/corpus/<target>/` from the golden vectors in
//! `protocol/testdata/golden` (made by the Java client) and from samples compressed by `kafkar_protocol` itself.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example make_seeds
//! ```
//!
//! Seeds are named after what they hold, so rerunning overwrites them in place. The input layouts are those the
//! targets document: a big-endian i16 version before the body for `api_versions_response` and `metadata_response`;
//! a message selector byte and a version byte before the body for `roundtrip`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use kafkar_protocol::compression::{self, Compression};
use kafkar_protocol::messages::{self, MessageKind, MessageSpec};
use kafkar_protocol::records::{ReadOptions, RecordBatchReader};
use serde_json::Value;

/// Golden record buffers larger than this are left out (the `-large` vectors): seeds stay small and fast.
const MAX_RECORD_SEED: usize = 20 * 1024;

fn main() {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden = fuzz_dir.join("../protocol/testdata/golden");
    let corpus = fuzz_dir.join("corpus");
    let mut seeds = Seeds { corpus, written: BTreeMap::new() };

    record_seeds(&golden, &mut seeds);
    compression_seeds(&golden, &mut seeds);
    message_seeds(&golden, "ApiVersions", "api_versions_response", &mut seeds);
    message_seeds(&golden, "Metadata", "metadata_response", &mut seeds);
    roundtrip_seeds(&golden, &mut seeds);

    for (target, (count, bytes)) in &seeds.written {
        println!("{target}: {count} seeds, {bytes} bytes");
    }
}

struct Seeds {
    corpus: PathBuf,
    written: BTreeMap<&'static str, (usize, usize)>,
}

impl Seeds {
    fn write(&mut self, target: &'static str, name: &str, data: &[u8]) {
        let dir = self.corpus.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), data).unwrap();
        let entry = self.written.entry(target).or_default();
        entry.0 += 1;
        entry.1 += data.len();
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn sorted_json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// `record_batches`: the golden record buffers (every magic and codec, control batches, multi-batch buffers), and a
/// few cut short or empty.
fn record_seeds(golden: &Path, seeds: &mut Seeds) {
    for path in sorted_json_files(&golden.join("records")) {
        let bytes = unhex(read_json(&path)["hex"].as_str().unwrap());
        if bytes.len() > MAX_RECORD_SEED {
            continue;
        }
        seeds.write("record_batches", &stem(&path), &bytes);
        if stem(&path) == "v2-mixed-codecs" {
            seeds.write("record_batches", "v2-mixed-codecs-truncated", &bytes[..bytes.len() - 7]);
        }
    }
    seeds.write("record_batches", "empty", &[]);
}

/// The compressed payloads of the golden batches: a v2 batch's records section, a legacy wrapper's value.
fn golden_payloads(golden: &Path) -> Vec<(String, Compression, i8, Vec<u8>)> {
    let mut out = Vec::new();
    for path in sorted_json_files(&golden.join("records")) {
        let bytes = unhex(read_json(&path)["hex"].as_str().unwrap());
        if bytes.len() > MAX_RECORD_SEED * 2 {
            continue;
        }
        let reader = RecordBatchReader::new(Bytes::from(bytes), ReadOptions::default());
        for (i, batch) in reader.enumerate() {
            let batch = batch.unwrap();
            let h = batch.header();
            if h.compression == Compression::None {
                continue;
            }
            let raw = batch.raw();
            let payload = if h.magic == 2 { raw[61..].to_vec() } else { legacy_value(raw) };
            out.push((format!("golden-{}-{i}", stem(&path)), h.compression, h.magic, payload));
        }
    }
    out
}

/// The value of a legacy entry: offset, size, crc, magic, attributes, [timestamp], key, value.
fn legacy_value(raw: &[u8]) -> Vec<u8> {
    let magic = raw[16];
    let mut at = 18 + if magic == 1 { 8 } else { 0 };
    let i32_at = |at: usize| i32::from_be_bytes(raw[at..at + 4].try_into().unwrap());
    let key_len = i32_at(at);
    at += 4 + key_len.max(0) as usize;
    let value_len = i32_at(at) as usize;
    raw[at + 4..at + 4 + value_len].to_vec()
}

/// Plain inputs to compress: empty, text, runs, pseudo-random bytes, a record batch.
fn samples(golden: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let mut noise = Vec::with_capacity(4096);
    let mut x: u32 = 0x9E37_79B9;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push(x as u8);
    }
    let text = b"kafkar: a pure-Rust Apache Kafka client. ".repeat(8);
    let batch = unhex(read_json(&golden.join("records/v2-none-mixed.json"))["hex"].as_str().unwrap());
    vec![
        ("empty", Vec::new()),
        ("byte", vec![0x2a]),
        ("text", text),
        ("run-70k", vec![b'a'; 70_000]),
        ("noise-4k", noise),
        ("batch", batch),
    ]
}

/// Decompressor seeds: golden payloads of the codec, samples compressed by this crate, two frames/members/streams
/// back to back, and (snappy) a raw block without the xerial framing.
fn compression_seeds(golden: &Path, seeds: &mut Seeds) {
    let golden_payloads = golden_payloads(golden);
    let targets = [
        (Compression::Gzip, "decompress_gzip"),
        (Compression::Snappy, "decompress_snappy"),
        (Compression::Lz4, "decompress_lz4"),
        (Compression::Zstd, "decompress_zstd"),
    ];
    for (codec, target) in targets {
        for (name, c, magic, payload) in &golden_payloads {
            if *c == codec {
                seeds.write(target, &format!("{name}-magic{magic}"), payload);
            }
        }
        let mut compressed = Vec::new();
        for (name, sample) in samples(golden) {
            let mut out = BytesMut::new();
            compression::compress(codec, None, &sample, &mut out).unwrap();
            seeds.write(target, &format!("kafkar-{name}"), &out);
            compressed.push(out);
        }
        let mut two = compressed[2].to_vec();
        two.extend_from_slice(&compressed[5]);
        seeds.write(target, "kafkar-concatenated", &two);
        if codec == Compression::Snappy {
            // Strip the 16-byte xerial header and the 4-byte block length of a one-block stream: a raw block.
            seeds.write(target, "kafkar-raw-text", &compressed[2][20..]);
        }
    }
}

/// Seeds `[version i16 BE] body` for a single-message target from `messages/<dir>/response-*.json`: variants 0 and 1
/// and the unknown-tags and fallback variants of every version.
fn message_seeds(golden: &Path, dir: &str, target: &'static str, seeds: &mut Seeds) {
    for path in sorted_json_files(&golden.join("messages").join(dir)) {
        let v = read_json(&path);
        let variant = variant_name(&v["variant"]);
        if v["kind"] != "response" || variant == "2" || variant == "3" {
            continue;
        }
        let version = v["version"].as_i64().unwrap() as i16;
        let mut seed = version.to_be_bytes().to_vec();
        seed.extend(unhex(v["hex"].as_str().unwrap()));
        seeds.write(target, &stem(&path), &seed);
    }
}

fn variant_name(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The selector byte of `spec` in the `roundtrip` target's layout.
fn selector(spec: &MessageSpec, data_specs: &[&str]) -> u8 {
    match (spec.kind, spec.api_key) {
        (MessageKind::Request, Some(k)) => u8::try_from(k.0).unwrap(),
        (MessageKind::Response, Some(k)) => 0x80 + u8::try_from(k.0).unwrap(),
        _ => 0xf0 + data_specs.iter().position(|&n| n == spec.name).unwrap() as u8,
    }
}

/// `roundtrip`: for every implemented spec, Java's vectors at its lowest version, its first flexible version and its
/// highest version (variant 1, every tagged field set), plus the unknown-tags variant at the highest version; the
/// responses and data specs among them also seed `responses`.
fn roundtrip_seeds(golden: &Path, seeds: &mut Seeds) {
    let mut specs = messages::all_specs();
    specs.sort_by_key(|s| s.name);
    let data_specs: Vec<&str> = specs.iter().filter(|s| s.kind == MessageKind::Data).map(|s| s.name).collect();
    // spec name -> (version, variant) -> body
    let mut vectors: BTreeMap<String, BTreeMap<(i16, String), Vec<u8>>> = BTreeMap::new();
    for dir in fs::read_dir(golden.join("messages")).unwrap() {
        for path in sorted_json_files(&dir.unwrap().path()) {
            let v = read_json(&path);
            let spec = v["spec"].as_str().unwrap().to_owned();
            let key = (v["version"].as_i64().unwrap() as i16, variant_name(&v["variant"]));
            vectors.entry(spec).or_default().insert(key, unhex(v["hex"].as_str().unwrap()));
        }
    }
    for spec in &specs {
        let Some(by_version) = vectors.get(spec.name) else {
            eprintln!("no golden vectors for {}", spec.name);
            continue;
        };
        let (min, max) = (spec.versions.min, spec.versions.max);
        let first_flexible = spec.flexible_versions.min.clamp(min, max);
        let mut wanted = vec![(min, "1"), (first_flexible, "1"), (max, "1")];
        if spec.flexible_versions.contains(max) {
            wanted.push((max, "unknown-tags"));
        }
        wanted.dedup();
        for (version, variant) in wanted {
            let Some(body) = by_version.get(&(version, variant.to_owned())) else { continue };
            let mut seed = vec![selector(spec, &data_specs), u8::try_from(version).unwrap()];
            seed.extend_from_slice(body);
            seeds.write("roundtrip", &format!("{}-v{version}-{variant}", spec.name), &seed);
            // `responses` shares the layout and takes what the client decodes: responses and data specs.
            if spec.kind != MessageKind::Request {
                seeds.write("responses", &format!("{}-v{version}-{variant}", spec.name), &seed);
            }
        }
    }
}
