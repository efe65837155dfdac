//! Test support for message codecs: the round-trip, canonical-bytes and truncation checks run at every version of
//! a message, and proptest strategies for the field types messages share.

use std::fmt::Debug;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::Message;
use crate::primitives::Reader;

/// Cases generated per version by [`check_every_version`].
pub(crate) const CASES_PER_VERSION: u32 = 48;

/// For every version `M` implements, generates values with `strategy(version)` and checks that each one encodes,
/// decodes to an equal value, re-encodes to the same bytes, that every truncation of its encoding is a decode error
/// (never a panic), and that corrupted encodings never panic and re-encode whenever they decode. Returns the number
/// of versions checked.
pub(crate) fn check_every_version<M, S>(strategy: impl Fn(i16) -> S) -> usize
where
    M: Message + PartialEq + Debug,
    S: Strategy<Value = M>,
{
    let versions = M::SPEC.versions;
    for version in versions.min..=versions.max {
        let mut runner =
            TestRunner::new(Config { cases: CASES_PER_VERSION, failure_persistence: None, ..Config::default() });
        let result = runner.run(&strategy(version), |m| check_value(&m, version));
        if let Err(e) = result {
            panic!("{} v{version}: {e}", M::SPEC.name);
        }
    }
    (versions.max - versions.min + 1) as usize
}

/// The checks of [`check_every_version`] for one value.
pub(crate) fn check_value<M: Message + PartialEq + Debug>(m: &M, version: i16) -> Result<(), TestCaseError> {
    let bytes = m.to_bytes(version).map_err(|e| TestCaseError::fail(format!("encode: {e}")))?.freeze();
    let decoded = M::decode_exact(&mut Reader::new(bytes.clone()), version)
        .map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
    prop_assert_eq!(&decoded, m);
    let again = decoded.to_bytes(version).map_err(|e| TestCaseError::fail(format!("re-encode: {e}")))?;
    prop_assert_eq!(&again[..], &bytes[..]);
    for cut in 0..bytes.len() {
        let got = M::decode(&mut Reader::new(bytes.slice(..cut)), version);
        prop_assert!(got.is_err(), "truncation at {} of {} decoded: {:?}", cut, bytes.len(), got);
    }
    check_corruptions::<M>(&bytes, version)
}

/// Overwrites bytes of a valid encoding (about 16 positions, each with a few values that make lengths, counts and
/// varints extreme) and checks that decoding never panics, and that whatever still decodes re-encodes to bytes
/// that decode to the same value.
fn check_corruptions<M: Message + PartialEq + Debug>(bytes: &Bytes, version: i16) -> Result<(), TestCaseError> {
    let step = (bytes.len() / 16).max(1);
    for i in (0..bytes.len()).step_by(step) {
        for v in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut b = bytes.to_vec();
            b[i] = v;
            let Ok(m) = M::decode_exact(&mut Reader::new(Bytes::from(b)), version) else { continue };
            let again = m.to_bytes(version).map_err(|e| TestCaseError::fail(format!("corrupted at {i}: {e}")))?;
            let m2 = M::decode_exact(&mut Reader::new(again.freeze()), version)
                .map_err(|e| TestCaseError::fail(format!("corrupted at {i}, re-decode: {e}")))?;
            prop_assert_eq!(m2, m, "corrupted at {}", i);
        }
    }
    Ok(())
}
