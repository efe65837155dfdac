//! gzip: `decompress_gzip` on hostile bytes never panics and honours its cap exactly; compressing the input and
//! decompressing it gives the input back.

#![no_main]

use kafkar_protocol::compression::{Compression, decompress_gzip};
use libfuzzer_sys::fuzz_target;

#[path = "codec_check.rs"]
mod codec_check;

fuzz_target!(|data: &[u8]| {
    codec_check::check_decompress(data, decompress_gzip);
    codec_check::check_round_trip(Compression::Gzip, codec_check::pick_level(data, &[1, 9]), data, decompress_gzip);
    codec_check::check_round_trip_long(Compression::Gzip, data, decompress_gzip);
});
