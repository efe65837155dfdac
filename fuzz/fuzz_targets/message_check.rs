//! Checks shared by the single-message targets (included with `#[path]` by each of them).

use std::fmt::Debug;

use bytes::Bytes;
use kafkar_protocol::DecodeError;
use kafkar_protocol::messages::Message;
use kafkar_protocol::primitives::Reader;

/// Input layout: a big-endian i16 version, then the message body. A version in `M`'s range decodes the body at that
/// version; any other decodes it at every version in the range (and checks that the out-of-range version itself is
/// refused).
pub fn check_message<M: Message + PartialEq + Debug>(data: &[u8]) {
    let Some((&[v0, v1], body)) = data.split_first_chunk::<2>() else { return };
    let requested = i16::from_be_bytes([v0, v1]);
    let body = Bytes::copy_from_slice(body);
    let versions = M::SPEC.versions;
    if versions.contains(requested) {
        check_at::<M>(body, requested);
        return;
    }
    match M::decode(&mut Reader::new(body.clone()), requested) {
        Err(DecodeError::UnsupportedVersion { version, .. }) => assert_eq!(version, requested),
        other => panic!("decoding at unsupported version {requested} gave {other:?}"),
    }
    for version in versions.min..=versions.max {
        check_at::<M>(body.clone(), version);
    }
}

/// Decodes `body` at `version`: never a panic; a value decoded from a prefix (`decode`) or from all of it
/// (`decode_exact`) re-encodes, its encoding decodes to the same value and re-encodes to the same bytes.
pub fn check_at<M: Message + PartialEq + Debug>(body: Bytes, version: i16) {
    let mut r = Reader::new(body.clone());
    let prefix = M::decode(&mut r, version);
    let exact = M::decode_exact(&mut Reader::new(body.clone()), version);
    match (&prefix, &exact) {
        (Ok(p), Ok(e)) => assert_eq!(p, e, "decode and decode_exact disagree"),
        (Err(p), Err(e)) => assert_eq!(p, e, "decode and decode_exact fail differently"),
        (Ok(_), Err(_)) => assert!(!r.is_empty(), "decode_exact failed although decode consumed everything"),
        (Err(_), Ok(_)) => panic!("decode_exact succeeded where decode failed"),
    }
    if let Ok(m) = prefix {
        let out = m.to_bytes(version).unwrap_or_else(|e| panic!("decoded value does not re-encode at v{version}: {e}"));
        let again = M::decode_exact(&mut Reader::new(out.clone().freeze()), version)
            .unwrap_or_else(|e| panic!("re-encoded bytes do not decode at v{version}: {e}"));
        assert_eq!(again, m, "re-encoded bytes decode to a different value at v{version}");
        let out2 = again.to_bytes(version).expect("second encode");
        assert_eq!(out2, out, "encoding is not stable at v{version}");
    }
}
