//! Every message of `messages::all_specs()`: `messages::reencode` (decode → encode → decode) on hostile bytes.
//! A decode error is fine; an encode error or a mismatch is a codec bug (a decoded value must encode at the same
//! version and decode back to itself). Whatever round-trips once must round-trip again to the same bytes.
//!
//! Input layout (stable as messages are added to the registry, so that seeds keep their meaning):
//! - byte 0 chooses the message: `0x00..=0x7f` the request of that API key, `0x80..=0xef` the response of API key
//!   `byte - 0x80`, `0xf0..` the data spec (no API key) at `byte - 0xf0` in name order. A byte naming no implemented
//!   message picks `specs[byte % n]` in name order instead, so that no input is wasted;
//! - byte 1 is the version: used as is when in the message's range, else `min + byte % (number of versions)`;
//! - the rest is the body.

#![no_main]

use bytes::Bytes;
use kafkar_protocol::messages::{self, MessageKind, MessageSpec, RoundTripError};
use libfuzzer_sys::fuzz_target;

fn pick(specs: &[MessageSpec], selector: u8) -> &MessageSpec {
    let found = match selector {
        0x00..=0x7f => find(specs, MessageKind::Request, selector),
        0x80..=0xef => find(specs, MessageKind::Response, selector - 0x80),
        _ => specs.iter().filter(|s| s.kind == MessageKind::Data).nth(usize::from(selector - 0xf0)),
    };
    found.unwrap_or(&specs[usize::from(selector) % specs.len()])
}

fn find(specs: &[MessageSpec], kind: MessageKind, key: u8) -> Option<&MessageSpec> {
    specs.iter().find(|s| s.kind == kind && s.api_key.is_some_and(|k| k.0 == i16::from(key)))
}

fuzz_target!(|data: &[u8]| {
    let Some((&[selector, version], body)) = data.split_first_chunk::<2>() else { return };
    let mut specs = messages::all_specs();
    specs.sort_by_key(|s| s.name);
    let spec = pick(&specs, selector);
    let (min, max) = (spec.versions.min, spec.versions.max);
    let count = (max - min + 1) as u16; // ranges implemented are small and closed
    let version = match i16::from(version) {
        v if spec.versions.contains(v) => v,
        v => min + (v as u16 % count) as i16,
    };
    let body = Bytes::copy_from_slice(body);
    let name = spec.name;
    let out = match messages::reencode(name, body, version).expect("a registered spec name") {
        Ok(out) => out,
        Err(RoundTripError::Decode(_)) => return,
        Err(e) => panic!("{name} v{version}: {e:?}"),
    };
    match messages::reencode(name, out.clone().freeze(), version).expect("a registered spec name") {
        Ok(again) => assert_eq!(again, out, "{name} v{version}: re-encoding is not stable"),
        Err(e) => panic!("{name} v{version}: re-encoded bytes do not round-trip: {e:?}"),
    }
});
