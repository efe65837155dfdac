//! zstd without the C library: the batches the Java client wrote with zstd (the golden vectors) are read by the
//! pure-Rust decoder, in every build; with `--no-default-features` that decoder is the one record batches use, and
//! writing zstd is a typed error. Run both ways:
//! `cargo test -p kafkar-protocol --test zstd_without_c` and the same with `--no-default-features`.

use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use kafkar_protocol::EncodeError;
use kafkar_protocol::compression::{Compression, compress, decompress_zstd, decompress_zstd_ruzstd};
use kafkar_protocol::records::{ReadOptions, RecordBatchBuilder, RecordBatchReader};
use serde_json::Value;

/// The zstd golden vectors: (file, batch bytes, the records' values as Java read them).
fn zstd_vectors() -> Vec<(String, Bytes, Vec<Option<String>>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/golden/records");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("v2-zstd") || !name.ends_with(".json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let hex = v["hex"].as_str().unwrap();
        let bytes: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        let values = v["batches"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["records"].as_array().cloned().unwrap_or_default())
            .map(|r| r["value"].as_str().map(str::to_owned))
            .collect();
        out.push((name, Bytes::from(bytes), values));
    }
    out.sort();
    assert!(out.len() >= 3, "the zstd golden vectors are committed");
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn javas_zstd_batches_are_read_by_every_build() {
    for (file, bytes, want) in zstd_vectors() {
        let mut values = Vec::new();
        for batch in RecordBatchReader::new(bytes, ReadOptions::default()) {
            let batch = batch.unwrap_or_else(|e| panic!("{file}: {e}"));
            if batch.header().is_control {
                continue;
            }
            assert_eq!(batch.header().compression, Compression::Zstd, "{file}");
            for r in batch.records().unwrap() {
                values.push(r.unwrap().value.as_deref().map(hex));
            }
        }
        assert_eq!(values, want, "{file}");
    }
}

#[test]
fn the_pure_rust_decoder_reads_javas_frames_and_respects_the_cap() {
    // The frame of the single-record vector: after the 61-byte batch header and the record count.
    let (_, bytes, _) = zstd_vectors().into_iter().find(|v| v.0 == "v2-zstd-single.json").unwrap();
    let frame = &bytes[61..];
    let plain = decompress_zstd_ruzstd(frame, 1 << 20).unwrap();
    assert_eq!(plain, decompress_zstd(frame, 1 << 20).unwrap(), "the two decoders agree");
    assert!(decompress_zstd_ruzstd(frame, plain.len() - 1).is_err(), "output above the cap is an error");
    // Two frames back to back, and a skippable frame between them.
    let mut two = frame.to_vec();
    two.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    two.extend_from_slice(frame);
    assert_eq!(decompress_zstd_ruzstd(&two, 1 << 20).unwrap(), [plain.clone(), plain].concat());
    // Garbage and truncation are errors, not panics.
    assert!(decompress_zstd_ruzstd(&frame[..frame.len() - 2], 1 << 20).is_err());
    assert!(decompress_zstd_ruzstd(b"not zstd at all", 1 << 20).is_err());
}

#[test]
fn writing_zstd_needs_the_feature() {
    let mut out = BytesMut::new();
    let r = compress(Compression::Zstd, None, b"hello hello hello", &mut out);
    let mut b = RecordBatchBuilder::new(Compression::Zstd);
    b.append(0, None, Some(b"v".as_slice()), &[]).unwrap();
    let built = b.build();
    if cfg!(feature = "zstd") {
        assert!(Compression::Zstd.can_compress());
        r.unwrap();
        built.unwrap();
    } else {
        assert!(!Compression::Zstd.can_compress());
        assert!(matches!(r, Err(EncodeError::UnsupportedCompression { codec: "zstd", .. })), "{r:?}");
        assert!(out.is_empty(), "nothing written");
        assert!(built.is_err());
    }
}
