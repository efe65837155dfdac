//! MetadataResponse: decoding at every version in its range never panics, and what decodes re-encodes to the same
//! value. The first two input bytes (big-endian) choose the version; a version outside the range means every
//! version.

#![no_main]

use kafkar_protocol::messages::metadata::MetadataResponse;
use libfuzzer_sys::fuzz_target;

#[path = "message_check.rs"]
mod message_check;

fuzz_target!(|data: &[u8]| {
    message_check::check_message::<MetadataResponse>(data);
});
