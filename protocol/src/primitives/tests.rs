use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::DecodeError;

fn reader(b: &[u8]) -> Reader {
    Reader::new(Bytes::copy_from_slice(b))
}

proptest! {
    #[test]
    fn varint_round_trip(v: i32) {
        let mut b = BytesMut::new();
        b.put_varint(v);
        let mut r = Reader::new(b.freeze());
        prop_assert_eq!(r.varint("v").unwrap(), v);
        prop_assert!(r.is_empty());
    }

    #[test]
    fn varlong_round_trip(v: i64) {
        let mut b = BytesMut::new();
        b.put_varlong(v);
        prop_assert!(b.len() <= 10);
        let mut r = Reader::new(b.freeze());
        prop_assert_eq!(r.varlong("v").unwrap(), v);
        prop_assert!(r.is_empty());
    }

    #[test]
    fn uvarint_round_trip(v: u32) {
        let mut b = BytesMut::new();
        b.put_uvarint(v);
        prop_assert!(b.len() <= 5);
        let mut r = Reader::new(b.freeze());
        prop_assert_eq!(r.uvarint("v").unwrap(), v);
    }

    #[test]
    fn strings_and_bytes_round_trip(s in ".{0,40}", b in proptest::collection::vec(any::<u8>(), 0..64), compact: bool) {
        let mut w = BytesMut::new();
        w.put_string(&s, compact, "s").unwrap();
        w.put_nullable_string(None, compact, "n").unwrap();
        w.put_bytes_field(&b, compact, "b").unwrap();
        w.put_nullable_bytes(None, compact, "nb").unwrap();
        w.put_array_len(Some(0), compact, "a").unwrap();
        w.put_array_len(None, compact, "na").unwrap();
        let all = w.freeze();
        let mut r = Reader::new(all.clone());
        prop_assert_eq!(r.string(compact, "s").unwrap(), s);
        prop_assert_eq!(r.nullable_string(compact, "n").unwrap(), None);
        prop_assert_eq!(&r.bytes(compact, "b").unwrap()[..], &b[..]);
        prop_assert_eq!(r.nullable_bytes(compact, "nb").unwrap(), None);
        prop_assert_eq!(r.array_len(compact, 1, "a").unwrap(), 0);
        prop_assert_eq!(r.nullable_array_len(compact, 1, "na").unwrap(), None);
        r.finish("all").unwrap();
        // Every truncation is an error, never a panic.
        for cut in 0..all.len() {
            let mut r = Reader::new(all.slice(..cut));
            let res = (|| -> Result<(), DecodeError> {
                r.string(compact, "s")?;
                r.nullable_string(compact, "n")?;
                r.bytes(compact, "b")?;
                r.nullable_bytes(compact, "nb")?;
                r.array_len(compact, 1, "a")?;
                r.nullable_array_len(compact, 1, "na")?;
                Ok(())
            })();
            prop_assert!(res.is_err());
        }
    }

    #[test]
    fn uuid_base64_round_trip(b: [u8; 16]) {
        let u = Uuid(b);
        let s = u.to_string();
        prop_assert_eq!(s.len(), 22);
        prop_assert_eq!(Uuid::parse_base64(&s), Some(u));
    }

    #[test]
    fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut r = Reader::new(Bytes::from(b));
        let _ = r.tagged_fields(|_, _| Ok(false));
        let _ = r.string(true, "s");
        let _ = r.array_len(false, 1, "a");
        let _ = r.varlong("v");
    }
}

#[test]
fn varint_known_encodings() {
    // Zig-zag: 0 -> 0, -1 -> 1, 1 -> 2, -64 -> 127, 64 -> 128 (two bytes).
    for (v, enc) in [(0, &[0u8][..]), (-1, &[1]), (1, &[2]), (-64, &[127]), (64, &[0x80, 1]), (300, &[0xd8, 4])] {
        let mut b = BytesMut::new();
        b.put_varint(v);
        assert_eq!(&b[..], enc, "varint {v}");
    }
}

#[test]
fn overlong_varints_are_errors() {
    assert_eq!(reader(&[0xff, 0xff, 0xff, 0xff, 0x7f]).uvarint("x"), Err(DecodeError::VarintOverflow { what: "x" }));
    assert_eq!(reader(&[0xff; 6]).uvarint("x"), Err(DecodeError::VarintOverflow { what: "x" }));
    assert_eq!(reader(&[0xff; 11]).uvarlong("x"), Err(DecodeError::VarintOverflow { what: "x" }));
    assert_eq!(reader(&[0xff, 0xff, 0xff, 0xff, 0x0f]).uvarint("x"), Ok(u32::MAX));
}

#[test]
fn hostile_lengths_are_errors_not_allocations() {
    // string length 32767 with 2 bytes left
    assert!(matches!(reader(&[0x7f, 0xff, b'a', b'b']).string(false, "s"), Err(DecodeError::InvalidLength { .. })));
    // negative non-null length
    assert!(matches!(reader(&[0xff, 0xfe]).string(false, "s"), Err(DecodeError::InvalidLength { .. })));
    // array count of 2^31-1 with nothing behind it
    assert!(matches!(
        reader(&[0x7f, 0xff, 0xff, 0xff]).array_len(false, 1, "a"),
        Err(DecodeError::InvalidLength { .. })
    ));
    // bytes length i32::MAX
    assert!(matches!(reader(&[0x7f, 0xff, 0xff, 0xff, 0]).bytes(false, "b"), Err(DecodeError::InvalidLength { .. })));
    // a null where null is not allowed
    assert_eq!(reader(&[0xff, 0xff]).string(false, "s"), Err(DecodeError::UnexpectedNull { what: "s" }));
    // invalid UTF-8
    assert_eq!(reader(&[0, 1, 0xff]).string(false, "s"), Err(DecodeError::InvalidUtf8 { what: "s" }));
    // a tagged-field count larger than the bytes could hold
    assert!(reader(&[0x7f]).tagged_fields(|_, _| Ok(false)).is_err());
}

#[test]
fn unknown_tagged_fields_round_trip_in_tag_order() {
    let mut w = TaggedFieldsWriter::new();
    w.unknown(&[RawTaggedField { tag: 7, data: Bytes::from_static(b"xyz") }]);
    w.field(2, |b| {
        b.put_i16(5);
        Ok(())
    })
    .unwrap();
    let mut b = BytesMut::new();
    w.finish(&mut b).unwrap();
    assert_eq!(&b[..], &[2, 2, 2, 0, 5, 7, 3, b'x', b'y', b'z']);
    let mut r = Reader::new(b.freeze());
    let mut seen = None;
    let unknown = r
        .tagged_fields(|tag, f| {
            if tag == 2 {
                seen = Some(f.i16("t")?);
                return Ok(true);
            }
            Ok(false)
        })
        .unwrap();
    assert_eq!(seen, Some(5));
    assert_eq!(unknown, vec![RawTaggedField { tag: 7, data: Bytes::from_static(b"xyz") }]);
}

#[test]
fn duplicate_tags_are_rejected_on_write() {
    let mut w = TaggedFieldsWriter::new();
    w.unknown(&[RawTaggedField { tag: 1, data: Bytes::new() }, RawTaggedField { tag: 1, data: Bytes::new() }]);
    assert!(w.finish(&mut BytesMut::new()).is_err());
}

#[test]
fn known_tagged_field_must_consume_its_bytes() {
    // one field, tag 0, size 3, but the decoder reads only 2 bytes
    let mut r = reader(&[1, 0, 3, 0, 1, 2]);
    assert!(matches!(r.tagged_fields(|_, f| f.i16("x").map(|_| true)), Err(DecodeError::TrailingBytes { .. })));
}

#[test]
fn versions_parse_and_display() {
    for s in ["none", "3", "0-4", "9+"] {
        assert_eq!(Versions::parse(s).unwrap().to_string(), s);
    }
    assert!(Versions::parse("x").is_none());
    assert!(Versions::from(3).contains(i16::MAX));
    assert!(!Versions::NONE.contains(0));
}

#[test]
fn uuid_matches_kafka_text_form() {
    // Kafka prints Uuid(1, 2) as AAAAAAAAAAEAAAAAAAAAAg.
    assert_eq!(Uuid::from_u64_pair(1, 2).to_string(), "AAAAAAAAAAEAAAAAAAAAAg");
    assert!(Uuid::parse_base64("AAAAAAAAAAEAAAAAAAAAAh").is_none(), "non-canonical trailing bits");
}

#[test]
fn array_capacity_is_bounded_by_the_bytes_left_at_the_element_size() {
    // 1,000 bytes left: a count of 1,000 one-byte elements may be pre-allocated in full, but elements of 64 bytes in
    // memory only up to 1,000 / 64 of them (the vector still grows if they are really there).
    let r = reader(&[0u8; 1000]);
    assert_eq!(r.vec_for::<u8>(1000).capacity(), 1000);
    assert!(r.vec_for::<[u64; 8]>(1000).capacity() <= 1000 / 64 + 1);
    assert_eq!(r.vec_for::<u8>(3).capacity(), 3);
    assert_eq!(Reader::default().vec_for::<u32>(1_000_000).capacity(), 0);
}
