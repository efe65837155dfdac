//! Checks shared by the decompressor targets (included with `#[path]` by each of them).

#![allow(dead_code)] // each target uses a part of it

use bytes::BytesMut;
use kafkar_protocol::DecodeError;
use kafkar_protocol::compression::{self, Compression};

/// Decompression cap: small, so that bombs are cheap to reject.
pub const CAP: usize = 1 << 20;

/// Checks one decompressor on hostile `data`: no panic (the fuzzer's part), output within the cap, and an exact cap:
/// when `data` decompresses to `n` bytes, a cap of `n` gives the same bytes and a cap of `n - 1` is
/// `DecompressionLimit`. The output's capacity, not only its length, stays within the cap (plus the one byte that
/// tells "exactly the cap" from "more"): a decompression never holds a buffer larger than its cap.
pub fn check_decompress(data: &[u8], decompress: impl Fn(&[u8], usize) -> Result<Vec<u8>, DecodeError>) {
    let Ok(out) = decompress(data, CAP) else { return };
    assert!(out.len() <= CAP, "output of {} bytes past the cap", out.len());
    assert!(out.capacity() <= CAP + 1, "output capacity {} past the cap", out.capacity());
    let exact = decompress(data, out.len());
    assert_eq!(exact.as_deref(), Ok(&out[..]), "a cap of exactly the output size fails");
    if let Ok(exact) = &exact {
        assert!(exact.capacity() <= out.len() + 1, "capacity {} for a cap of {}", exact.capacity(), out.len());
    }
    if !out.is_empty() {
        match decompress(data, out.len() - 1) {
            Err(DecodeError::DecompressionLimit { cap, .. }) => assert_eq!(cap, out.len() - 1),
            other => panic!("cap one below the output size gave {other:?}"),
        }
    }
}

/// Compresses `data` with `codec` at `level` and checks that `decompress` (and `compression::decompress`) returns
/// `data`, with a cap of exactly its size, and that one byte less is over the cap.
pub fn check_round_trip(
    codec: Compression,
    level: Option<i32>,
    data: &[u8],
    decompress: impl Fn(&[u8], usize) -> Result<Vec<u8>, DecodeError>,
) {
    let mut compressed = BytesMut::new();
    compression::compress(codec, level, data, &mut compressed).expect("compress");
    let out = decompress(&compressed, data.len()).expect("decompress what compress wrote");
    assert!(out == data, "round trip changed the data ({} bytes in, {} out)", data.len(), out.len());
    let generic = compression::decompress(codec, &compressed, data.len()).expect("compression::decompress");
    assert!(generic == data, "compression::decompress differs from the codec's own function");
    if !data.is_empty() {
        assert!(
            matches!(decompress(&compressed, data.len() - 1), Err(DecodeError::DecompressionLimit { .. })),
            "a cap one byte below the data's size is not DecompressionLimit"
        );
    }
}

/// Also round-trips `data` repeated past 70 000 bytes (more than one snappy-java block of 32 KiB and one Kafka LZ4
/// block of 64 KiB) for a few inputs (short ones whose first byte is below 4), so that multi-block streams written by
/// `compress` are checked without making every input large.
pub fn check_round_trip_long(
    codec: Compression,
    data: &[u8],
    decompress: impl Fn(&[u8], usize) -> Result<Vec<u8>, DecodeError>,
) {
    if matches!(data.first(), Some(&b) if b < 4) && data.len() <= 1024 {
        let long = data.repeat(70_000 / data.len() + 1);
        check_round_trip(codec, None, &long, decompress);
    }
}

/// A level for the round trip, chosen from the input (without changing it): the default or one from `levels`.
pub fn pick_level(data: &[u8], levels: &[i32]) -> Option<i32> {
    let pick = data.first().map_or(0, |&b| b as usize) % (levels.len() + 1);
    levels.get(pick).copied()
}
