//! Hostile bytes against every registered message, through the public [`reencode`] entry point.
//!
//! The typed round trips (value → bytes → value, bytes → value → bytes, every truncation an error, corrupted
//! encodings) live next to each codec (`check_every_version` in each message module's tests). This file checks what
//! holds for all of them at once: for every message in [`all_specs`] and every version it implements (plus versions
//! just outside), arbitrary bytes never panic the decoder, and whatever decodes re-encodes to bytes that decode to
//! the same value (a decoded value that cannot be re-encoded is a codec bug).

use bytes::Bytes;
use kafkar_protocol::messages::{MessageSpec, RoundTripError, all_specs, reencode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Cases per (message, version).
const CASES: u32 = 64;

/// Byte strings biased toward what decoders meet first: small counts and lengths, -1 (null), compact lengths.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        1 => Just(0x00u8),
        1 => Just(0x01u8),
        1 => Just(0x02u8),
        1 => Just(0xffu8),
        1 => Just(0x80u8),
    ];
    proptest::collection::vec(byte, 0..64)
}

fn check(spec: &MessageSpec, version: i16) -> Result<(), String> {
    let mut runner = TestRunner::new(Config { cases: CASES, failure_persistence: None, ..Config::default() });
    runner
        .run(&hostile_bytes(), |b| {
            match reencode(spec.name, Bytes::from(b), version) {
                Some(Ok(_)) | Some(Err(RoundTripError::Decode(_))) => {}
                Some(Err(e)) => prop_assert!(false, "decoded but did not round-trip: {}", e),
                None => prop_assert!(false, "not registered"),
            }
            Ok(())
        })
        .map_err(|e| format!("{} v{version}: {e}", spec.name))
}

#[test]
fn arbitrary_bytes_never_panic_and_what_decodes_reencodes() {
    let specs = all_specs();
    assert!(!specs.is_empty());
    let mut failures = Vec::new();
    let mut runs = 0;
    for spec in &specs {
        // One version below and above the range too: those must be clean decode errors.
        for version in spec.versions.min - 1..=spec.versions.max + 1 {
            runs += 1;
            if let Err(e) = check(spec, version) {
                failures.push(e);
            }
        }
    }
    eprintln!("hostile bytes: {} messages, {runs} (message, version) pairs, {CASES} inputs each", specs.len());
    assert!(failures.is_empty(), "{} failures:\n  {}", failures.len(), failures.join("\n  "));
}

#[test]
fn the_empty_body_is_an_error_or_a_valid_message() {
    // Messages whose every field is optional may decode from nothing at some versions; none may panic.
    for spec in all_specs() {
        for version in spec.versions.min..=spec.versions.max {
            match reencode(spec.name, Bytes::new(), version) {
                Some(Ok(b)) => assert!(b.is_empty(), "{} v{version}: empty body re-encoded to {b:?}", spec.name),
                Some(Err(RoundTripError::Decode(_))) => {}
                other => panic!("{} v{version}: {other:?}", spec.name),
            }
        }
    }
}
