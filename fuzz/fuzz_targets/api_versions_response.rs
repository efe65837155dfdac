//! ApiVersionsResponse: decoding at every version in its range never panics, and what decodes re-encodes to the
//! same value. The first two input bytes (big-endian) choose the version; a version outside the range means every
//! version. `decode_reply` (with its version-0 fallback for UNSUPPORTED_VERSION) never panics either.

#![no_main]

use bytes::Bytes;
use kafkar_protocol::messages::Message;
use kafkar_protocol::messages::api_versions::ApiVersionsResponse;
use libfuzzer_sys::fuzz_target;

#[path = "message_check.rs"]
mod message_check;

fuzz_target!(|data: &[u8]| {
    message_check::check_message::<ApiVersionsResponse>(data);
    if let Some((&[v0, v1], body)) = data.split_first_chunk::<2>() {
        let requested = i16::from_be_bytes([v0, v1]);
        if let Ok((_, v)) = ApiVersionsResponse::decode_reply(Bytes::copy_from_slice(body), requested) {
            assert!(v == requested || v == 0, "decode_reply decoded at v{v}, asked for v{requested}");
            assert!(ApiVersionsResponse::SPEC.versions.contains(v));
        }
    }
});
