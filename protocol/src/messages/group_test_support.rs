//! Test support for the group-membership codecs (JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//! ConsumerGroupHeartbeat, the consumer protocol): value strategies and the checks every message runs at every
//! version.

use std::fmt::Debug;

use bytes::Bytes;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::{Message, MessageKind};
use crate::ErrorCode;
use crate::primitives::{RawTaggedField, Reader, Uuid};

/// Short strings, mostly ASCII, sometimes with multi-byte characters (so byte length differs from char count).
pub(crate) fn string() -> BoxedStrategy<String> {
    prop_oneof![4 => "[a-zA-Z0-9._-]{0,12}", 1 => "[a-z\u{e9}\u{20ac}\u{65e5}\u{1f600}]{0,5}"].boxed()
}

/// A string or null.
pub(crate) fn opt_string() -> BoxedStrategy<Option<String>> {
    proptest::option::of(string()).boxed()
}

/// Short byte arrays.
pub(crate) fn bytes() -> BoxedStrategy<Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from).boxed()
}

/// Byte arrays or null.
pub(crate) fn opt_bytes() -> BoxedStrategy<Option<Bytes>> {
    proptest::option::of(bytes()).boxed()
}

/// Any error code, known or not.
pub(crate) fn error_code() -> BoxedStrategy<ErrorCode> {
    prop_oneof![Just(ErrorCode::NONE), any::<i16>().prop_map(ErrorCode)].boxed()
}

/// Any UUID, sometimes the zero one.
pub(crate) fn uuid() -> BoxedStrategy<Uuid> {
    prop_oneof![Just(Uuid::ZERO), any::<[u8; 16]>().prop_map(Uuid)].boxed()
}

/// Small lists of partition ids.
pub(crate) fn partitions() -> BoxedStrategy<Vec<i32>> {
    vec(any::<i32>(), 0..4).boxed()
}

/// Unknown tagged fields for a flexible version (ascending unique tags, as they are written), none otherwise.
pub(crate) fn unknown_tagged(flex: bool) -> BoxedStrategy<Vec<RawTaggedField>> {
    if !flex {
        return Just(Vec::new()).boxed();
    }
    prop_oneof![
        3 => Just(Vec::new()),
        1 => btree_map(0u32..100_000, vec(any::<u8>(), 0..6), 1..3).prop_map(|m| {
            m.into_iter().map(|(tag, data)| RawTaggedField { tag, data: Bytes::from(data) }).collect()
        }),
    ]
    .boxed()
}

/// `s` when `present`, else always `default`: a field that exists only in some versions.
pub(crate) fn when<T: Clone + Debug + 'static>(
    present: bool,
    s: impl Strategy<Value = T> + 'static,
    default: T,
) -> BoxedStrategy<T> {
    if present { s.boxed() } else { Just(default).boxed() }
}

/// The checks every message value valid at `version` must pass: encode → decode gives the value back, re-encoding
/// the decoded value gives the same bytes, and every truncation of the bytes fails to decode (without panicking).
pub(crate) fn check_codec<M: Message + PartialEq + Debug>(m: &M, version: i16) -> Result<(), TestCaseError> {
    let bytes = m.to_bytes(version).map_err(|e| TestCaseError::fail(format!("encode v{version}: {e}")))?.freeze();
    let back = M::decode_exact(&mut Reader::new(bytes.clone()), version)
        .map_err(|e| TestCaseError::fail(format!("decode v{version}: {e}")))?;
    prop_assert_eq!(&back, m, "v{} value round trip", version);
    let again = back.to_bytes(version).map_err(|e| TestCaseError::fail(format!("re-encode v{version}: {e}")))?;
    prop_assert_eq!(&again[..], &bytes[..], "v{} bytes round trip", version);
    for cut in 0..bytes.len() {
        let r = M::decode_exact(&mut Reader::new(bytes.slice(..cut)), version);
        prop_assert!(r.is_err(), "v{} truncated to {} of {} bytes decoded: {:?}", version, cut, bytes.len(), r);
    }
    if M::SPEC.kind != MessageKind::Data {
        // A request or response body is exact: a trailing byte is an error.
        let mut longer = bytes.to_vec();
        longer.push(0);
        prop_assert!(M::decode_exact(&mut Reader::new(Bytes::from(longer)), version).is_err());
    }
    Ok(())
}

/// Decoding arbitrary bytes at every version of `M` returns (an error or a value) and never panics; a value that
/// decodes re-encodes to bytes that decode to it again.
pub(crate) fn check_garbage<M: Message + PartialEq + Debug>(input: &[u8]) -> Result<(), TestCaseError> {
    let versions = M::SPEC.versions;
    for version in versions.min..=versions.max {
        if let Ok(m) = M::decode_exact(&mut Reader::new(Bytes::copy_from_slice(input)), version) {
            let out = m.to_bytes(version).map_err(|e| TestCaseError::fail(format!("re-encode v{version}: {e}")))?;
            let again = M::decode_exact(&mut Reader::new(out.freeze()), version)
                .map_err(|e| TestCaseError::fail(format!("re-decode v{version}: {e}")))?;
            prop_assert_eq!(again, m);
        }
    }
    Ok(())
}

/// Every version of `M` a strategy should cover.
pub(crate) fn versions<M: Message>() -> std::ops::RangeInclusive<i16> {
    M::SPEC.versions.min..=M::SPEC.versions.max
}
