//! lz4: `decompress_lz4` on hostile bytes never panics and honours its cap exactly, with either header-checksum
//! mode; the strict mode accepts a subset of what the legacy mode accepts, with the same output. Compressing the
//! input and decompressing it (in both modes) gives the input back.

#![no_main]

use kafkar_protocol::compression::{Compression, Lz4HeaderChecksum, decompress_lz4};
use libfuzzer_sys::fuzz_target;

#[path = "codec_check.rs"]
mod codec_check;

fn strict(data: &[u8], cap: usize) -> Result<Vec<u8>, kafkar_protocol::DecodeError> {
    decompress_lz4(data, cap, Lz4HeaderChecksum::Strict)
}

fn legacy(data: &[u8], cap: usize) -> Result<Vec<u8>, kafkar_protocol::DecodeError> {
    decompress_lz4(data, cap, Lz4HeaderChecksum::AllowLegacy)
}

fuzz_target!(|data: &[u8]| {
    codec_check::check_decompress(data, strict);
    codec_check::check_decompress(data, legacy);
    if let Ok(out) = strict(data, codec_check::CAP) {
        assert_eq!(legacy(data, codec_check::CAP), Ok(out), "AllowLegacy rejects or changes what Strict accepts");
    }
    codec_check::check_round_trip(Compression::Lz4, None, data, strict);
    codec_check::check_round_trip(Compression::Lz4, None, data, legacy);
    codec_check::check_round_trip_long(Compression::Lz4, data, strict);
});
