//! snappy: `decompress_snappy` (xerial framing or raw) on hostile bytes never panics and honours its cap exactly;
//! compressing the input and decompressing it gives the input back.

#![no_main]

use kafkar_protocol::compression::{Compression, decompress_snappy};
use libfuzzer_sys::fuzz_target;

#[path = "codec_check.rs"]
mod codec_check;

fuzz_target!(|data: &[u8]| {
    codec_check::check_decompress(data, decompress_snappy);
    codec_check::check_round_trip(Compression::Snappy, None, data, decompress_snappy);
    codec_check::check_round_trip_long(Compression::Snappy, data, decompress_snappy);
});
