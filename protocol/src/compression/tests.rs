use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use proptest::prelude::*;

use super::*;

const CODECS: [Compression; 5] = Compression::ALL;

#[path = "../../tests/support/noise.rs"]
mod noise;
use noise::noise;

/// Compressible text-like bytes.
fn text(len: usize) -> Vec<u8> {
    let words = ["kafka ", "record ", "batch ", "offset ", "partition ", "leader "];
    let mut v = Vec::with_capacity(len + 16);
    let mut i = 0usize;
    while v.len() < len {
        v.extend_from_slice(words[(i * 7 + i / 3) % words.len()].as_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

fn compressed(codec: Compression, input: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    compress(codec, None, input, &mut out).unwrap();
    out.to_vec()
}

fn samples() -> Vec<Vec<u8>> {
    vec![
        Vec::new(),
        b"x".to_vec(),
        b"hello, kafka".to_vec(),
        text(10_000),
        text(300_000),
        noise(100_000, 7),
        vec![0; 200_000],
        // Exactly at the codecs' block sizes.
        text(32 * 1024),
        text(64 * 1024),
        noise(64 * 1024 + 1, 3),
    ]
}

#[test]
fn round_trip_every_codec_and_sample() {
    for codec in CODECS {
        for input in samples() {
            let c = compressed(codec, &input);
            let d = decompress(codec, &c, input.len()).unwrap_or_else(|e| panic!("{codec} len {}: {e}", input.len()));
            assert_eq!(d, input, "{codec} len {}", input.len());
        }
    }
}

#[test]
fn round_trip_at_every_level_bound() {
    let input = text(50_000);
    for codec in CODECS {
        let Some(range) = codec.level_range() else { continue };
        for level in [*range.start(), *range.end(), codec.default_level().unwrap_or(1)] {
            if codec == Compression::Zstd && level < -1000 {
                // zstd's extreme negative levels are valid but slow in debug builds; -1000 is the same code path.
                continue;
            }
            let mut out = BytesMut::new();
            compress(codec, Some(level), &input, &mut out).unwrap();
            assert_eq!(decompress(codec, &out, input.len()).unwrap(), input, "{codec} level {level}");
        }
    }
    let mut out = BytesMut::new();
    compress(Compression::Zstd, Some(-1000), &input, &mut out).unwrap();
    assert_eq!(decompress(Compression::Zstd, &out, usize::MAX).unwrap(), input);
}

#[test]
fn max_compressed_len_bounds_what_compress_writes() {
    let sizes = [0, 1, 100, 1000, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 64 * 1024, 64 * 1024 + 1, 200_003];
    for codec in CODECS {
        let levels: Vec<Option<i32>> = match codec.level_range() {
            // The fastest and the strongest levels (zstd's strongest are slow unoptimised: 19 is the same search).
            Some(r) => vec![None, Some(*r.start().max(&-5)), Some(*r.end().min(&19))],
            None => vec![None],
        };
        for &len in &sizes {
            for (kind, input) in [("noise", noise(len, len as u64 + 1)), ("text", text(len)), ("zeros", vec![0; len])] {
                for &level in &levels {
                    let mut out = BytesMut::new();
                    compress(codec, level, &input, &mut out).unwrap();
                    let bound = codec.max_compressed_len(len);
                    assert!(out.len() <= bound, "{codec} level {level:?} {kind} of {len}: {} > {bound}", out.len());
                }
            }
        }
        // One batch-sized input at the default level: the bound is tight where it matters.
        let input = noise(1 << 20, 11);
        let c = compressed(codec, &input);
        let bound = codec.max_compressed_len(input.len());
        assert!(c.len() <= bound, "{codec}: {} > {bound}", c.len());
        if matches!(codec, Compression::None | Compression::Lz4) {
            assert_eq!(c.len(), bound, "{codec}: noise is stored, and that is the bound");
        }
    }
}

#[test]
fn compress_appends_after_existing_bytes() {
    for codec in CODECS {
        let mut out = BytesMut::new();
        out.put_slice(b"prefix");
        compress(codec, None, b"payload payload payload", &mut out).unwrap();
        assert_eq!(&out[..6], b"prefix");
        assert_eq!(decompress(codec, &out[6..], 100).unwrap(), b"payload payload payload");
    }
}

#[test]
fn zstd_reuses_its_context_and_writes_what_a_fresh_one_writes_at_each_level() {
    // The thread's context is kept between calls and re-set when the level changes: every output must be the bytes
    // a fresh context writes at that level (zstd is deterministic for the same parameters).
    // Noise of 5,000 bytes is under the probe's minimum: compressed, not stored. The 100,000 bytes of noise are
    // stored (see the next test), and probing them must not change what the context writes next.
    let inputs = [text(300_000), noise(100_000, 7), text(5_000), noise(5_000, 3), Vec::new()];
    for level in [3, 19, 3, 1, -5, 3] {
        for input in &inputs {
            let mut out = BytesMut::from(&b"head"[..]);
            compress(Compression::Zstd, Some(level), input, &mut out).unwrap();
            let expected = if input.len() == 100_000 {
                let mut stored = BytesMut::new();
                zstd::store(input, &mut stored).unwrap();
                stored.to_vec()
            } else {
                ::zstd::bulk::compress(input, level).unwrap()
            };
            assert_eq!(&out[..4], b"head");
            assert!(out[4..] == expected[..], "level {level}, {} bytes in", input.len());
            assert_eq!(decompress(Compression::Zstd, &out[4..], input.len()).unwrap(), *input);
        }
    }
}

/// Checks that `frame` is [`zstd::store`]'s frame of `input` and that both zstd readers (the C library and ruzstd)
/// read it back.
fn assert_stored_zstd(frame: &[u8], input: &[u8]) {
    assert_eq!(frame[..4], [0x28, 0xb5, 0x2f, 0xfd], "zstd magic");
    assert_eq!(frame[4], 0x80, "frame header: 4-byte content size, not single-segment, no checksum or dictionary");
    assert_eq!(frame[5], 7 << 3, "window 128 KiB");
    assert_eq!(frame[6..10], (input.len() as u32).to_le_bytes(), "content size");
    assert_eq!(frame.len(), zstd::stored_len(input.len()));
    let first_block = u32::from_le_bytes([frame[10], frame[11], frame[12], 0]);
    assert_eq!((first_block >> 1) & 3, 0, "raw block");
    assert_eq!(first_block >> 3, input.len().min(128 << 10) as u32, "first block size");
    assert_eq!(decompress(Compression::Zstd, frame, input.len()).unwrap(), input, "C library");
    assert_eq!(zstd::decompress_zstd_ruzstd(frame, input.len()).unwrap(), input, "ruzstd");
}

#[test]
fn zstd_stores_what_a_probe_finds_would_not_shrink_by_an_eighth() {
    // Random records are stored, whatever the size (one block, exactly one full block, one byte more, many).
    for len in [8 << 10, 100_000, 128 << 10, (128 << 10) + 1, (1 << 20) + 5] {
        for level in [3, 1, 19, -5] {
            let input = noise(len, len as u64);
            let mut out = BytesMut::new();
            compress(Compression::Zstd, Some(level), &input, &mut out).unwrap();
            assert_stored_zstd(&out, &input);
            assert!(out.len() <= Compression::Zstd.max_compressed_len(len), "{len} bytes stored in {}", out.len());
        }
    }
    // Compressible input is compressed: text, and hex digits of random bytes, which LZ-style matching cannot shrink
    // but zstd's entropy coding of literals halves.
    let hex: Vec<u8> = noise(60_000, 11).iter().flat_map(|b| format!("{b:02x}").into_bytes()).collect();
    for input in [text(200_000), hex] {
        let mut out = BytesMut::new();
        compress(Compression::Zstd, Some(3), &input, &mut out).unwrap();
        assert!(out.len() < input.len() * 3 / 4, "{} bytes compressed to {}", input.len(), out.len());
        assert_eq!(out[..], ::zstd::bulk::compress(&input, 3).unwrap()[..]);
    }
}

#[test]
fn a_stored_zstd_frame_of_nothing_reads_back_as_nothing() {
    let mut out = BytesMut::new();
    zstd::store(&[], &mut out).unwrap();
    assert_stored_zstd(&out, &[]);
}

proptest! {
    #[test]
    fn stored_zstd_frames_read_back(len in 0usize..400_000, seed in any::<u64>()) {
        let input = noise(len, seed | 1);
        let mut out = BytesMut::from(&b"x"[..]);
        zstd::store(&input, &mut out).unwrap();
        assert_stored_zstd(&out[1..], &input);
    }
}

#[test]
fn levels_follow_kafka() {
    use Compression::{Gzip, Lz4, Snappy, Zstd};
    assert_eq!(Gzip.resolve_level(None).unwrap(), Some(-1));
    assert_eq!(Lz4.resolve_level(None).unwrap(), Some(9));
    assert_eq!(Zstd.resolve_level(None).unwrap(), Some(3));
    assert_eq!(Snappy.resolve_level(None).unwrap(), None);
    assert!(Gzip.resolve_level(Some(-1)).is_ok());
    assert!(Gzip.resolve_level(Some(0)).is_err());
    assert!(Gzip.resolve_level(Some(10)).is_err());
    assert!(Lz4.resolve_level(Some(17)).is_ok());
    assert!(Lz4.resolve_level(Some(18)).is_err());
    assert!(Lz4.resolve_level(Some(0)).is_err());
    assert!(Zstd.resolve_level(Some(-131_072)).is_ok());
    assert!(Zstd.resolve_level(Some(-131_073)).is_err());
    assert!(Zstd.resolve_level(Some(23)).is_err());
    assert!(Snappy.resolve_level(Some(1)).is_err());
    assert!(Compression::None.resolve_level(Some(1)).is_err());
    let mut out = BytesMut::new();
    assert!(compress(Gzip, Some(12), b"x", &mut out).is_err());
}

#[test]
fn codes_and_names() {
    for (i, codec) in CODECS.into_iter().enumerate() {
        assert_eq!(codec.code() as usize, i);
        assert_eq!(Compression::from_code(i as u8).unwrap(), codec);
        assert_eq!(Compression::from_attributes(0x7ff8 | i as i16).unwrap(), codec);
        assert_eq!(codec.name().parse::<Compression>().unwrap(), codec);
        assert_eq!(codec.to_string(), codec.name());
    }
    for code in 5..=7u8 {
        assert!(Compression::from_code(code).is_err());
    }
    assert!("GZIP".parse::<Compression>().is_err());
}

#[test]
fn cap_is_exact() {
    let input = text(10_000);
    for codec in CODECS {
        let c = compressed(codec, &input);
        assert!(decompress(codec, &c, input.len()).is_ok(), "{codec}");
        let err = decompress(codec, &c, input.len() - 1).unwrap_err();
        assert!(matches!(err, DecodeError::DecompressionLimit { cap: 9_999, .. }), "{codec}: {err}");
    }
}

/// Found while writing the fuzz allocation check (a bound of the cap plus a multiple of the input): the output grew
/// by doubling, so a decompression bounded by a cap could hold a buffer of up to twice the cap. Its capacity now
/// stays within the cap (plus the one byte that tells "exactly the cap" from "more").
#[test]
fn output_capacity_stays_within_the_cap() {
    let input = text(1_000_000);
    for codec in CODECS {
        let c = compressed(codec, &input);
        let out = decompress(codec, &c, input.len()).unwrap();
        assert_eq!(out, input, "{codec}");
        assert!(out.capacity() <= input.len() + 1, "{codec}: capacity {} for a cap of {}", out.capacity(), input.len());
    }
    let mut v = Vec::with_capacity(10);
    v.extend_from_slice(&[1; 10]);
    reserve_within(&mut v, 5, 12);
    assert!(v.capacity() >= 15, "room for what is asked, even past the limit");
    let mut v = vec![0u8; 100];
    reserve_within(&mut v, 1, 150);
    assert_eq!(v.capacity(), 150, "doubling clamped to the limit");
}

/// 100 MB of zeros in each codec's format, built cheaply by repeating a compressed unit where the format allows it.
fn bomb(codec: Compression) -> Vec<u8> {
    match codec {
        Compression::None => vec![0; 100 << 20],
        Compression::Gzip => compressed(codec, &vec![0; 1 << 20]).repeat(100),
        Compression::Zstd => compressed(codec, &vec![0; 1 << 20]).repeat(100),
        Compression::Snappy => {
            let one = compressed(codec, &vec![0; 32 << 10]);
            let mut v = one[..16].to_vec();
            v.extend(one[16..].repeat(3200));
            v
        }
        Compression::Lz4 => {
            let one = compressed(codec, &vec![0; 64 << 10]);
            let mut v = one[..7].to_vec();
            v.extend(one[7..one.len() - 4].repeat(1600));
            v.extend_from_slice(&[0; 4]);
            v
        }
    }
}

#[test]
fn bombs_are_errors_and_quick() {
    for codec in CODECS {
        let b = bomb(codec);
        let started = Instant::now();
        let err = decompress(codec, &b, 1 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::DecompressionLimit { cap: 1_048_576, .. }), "{codec}: {err}");
        assert!(started.elapsed() < Duration::from_secs(10), "{codec} took {:?}", started.elapsed());
    }
    // The same bombs decompress in full with a cap that allows it (they are well-formed), checked for two codecs.
    for codec in [Compression::Lz4, Compression::Snappy] {
        assert_eq!(decompress(codec, &bomb(codec), 100 << 20).unwrap().len(), 100 << 20);
    }
}

#[test]
fn single_frame_bombs() {
    let zeros = vec![0u8; 8 << 20];
    for codec in [Compression::Gzip, Compression::Zstd, Compression::Lz4] {
        let c = compressed(codec, &zeros);
        assert!(c.len() < 1 << 20);
        let err = decompress(codec, &c, 1 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::DecompressionLimit { .. }), "{codec}: {err}");
    }
    // Raw snappy declares its length first: a declaration over the cap fails before anything is allocated.
    let mut raw = Vec::new();
    let mut n: u32 = 100 << 20;
    while n >= 0x80 {
        raw.push(n as u8 | 0x80);
        n >>= 7;
    }
    raw.push(n as u8);
    raw.extend_from_slice(&[0; 8]);
    let err = decompress_snappy(&raw, 1 << 20).unwrap_err();
    assert!(matches!(err, DecodeError::DecompressionLimit { .. }), "{err}");
    // ... and one under the cap but impossible for so little input is rejected too.
    assert!(matches!(decompress_snappy(&raw, usize::MAX), Err(DecodeError::Decompression { .. })));
}

#[test]
fn truncated_input_is_an_error() {
    let input = text(70_000);
    for codec in CODECS.into_iter().skip(1) {
        let c = compressed(codec, &input);
        for len in 0..c.len() {
            if let Ok(d) = decompress(codec, &c[..len], usize::MAX) {
                // snappy-java's framing has no trailer: a cut at a block boundary is a shorter valid stream. Every
                // other format has a mandatory end (gzip trailer, LZ4 end mark, zstd last block).
                assert!(codec == Compression::Snappy && input.starts_with(&d), "{codec}: prefix {len} decoded");
            }
        }
    }
}

#[test]
fn snappy_reads_xerial_raw_and_concatenated() {
    let input = text(100_000);
    let framed = compressed(Compression::Snappy, &input);
    assert_eq!(&framed[..16], b"\x82SNAPPY\0\0\0\0\x01\0\0\0\x01");
    // 100 000 bytes in 32 KiB blocks: four blocks.
    let mut blocks = 0;
    let mut rest = &framed[16..];
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        rest = &rest[4 + len..];
        blocks += 1;
    }
    assert_eq!(blocks, 4);

    let raw = snap::raw::Encoder::new().compress_vec(&input).unwrap();
    assert_eq!(decompress_snappy(&raw, usize::MAX).unwrap(), input);

    let mut twice = framed.clone();
    twice.extend_from_slice(&framed);
    assert_eq!(decompress_snappy(&twice, usize::MAX).unwrap(), input.repeat(2));

    // Header only (an empty stream) is empty.
    assert_eq!(decompress_snappy(&framed[..16], 10).unwrap(), b"");
    // A negative block length is an error.
    let mut bad = framed[..16].to_vec();
    bad.extend_from_slice(&[0xff, 0xff, 0xff, 0xf0, 1, 2, 3]);
    assert!(decompress_snappy(&bad, usize::MAX).is_err());
    // A half header where a concatenated stream would start is an error.
    let mut bad = framed.clone();
    bad.extend_from_slice(&framed[..10]);
    assert!(decompress_snappy(&bad, usize::MAX).is_err());
}

/// An LZ4 frame built by hand: `flg`, `bd`, optional content size, blocks given as (stored, data).
fn lz4_frame(flg: u8, bd: u8, content_size: Option<u64>, blocks: &[(bool, &[u8])], legacy_hc: bool) -> Vec<u8> {
    let mut v = 0x184D_2204u32.to_le_bytes().to_vec();
    v.push(flg);
    v.push(bd);
    if let Some(n) = content_size {
        v.extend_from_slice(&n.to_le_bytes());
    }
    let hc = if legacy_hc { xxhash::xxh32(&v, 0) } else { xxhash::xxh32(&v[4..], 0) };
    v.push((hc >> 8) as u8);
    let mut content = Vec::new();
    for (stored, data) in blocks {
        let body = if *stored { data.to_vec() } else { lz4_flex::block::compress(data) };
        let size = body.len() as u32 | if *stored { 0x8000_0000 } else { 0 };
        v.extend_from_slice(&size.to_le_bytes());
        v.extend_from_slice(&body);
        if flg & 0x10 != 0 {
            v.extend_from_slice(&xxhash::xxh32(&body, 0).to_le_bytes());
        }
        content.extend_from_slice(data);
    }
    v.extend_from_slice(&0u32.to_le_bytes());
    if flg & 0x04 != 0 {
        v.extend_from_slice(&xxhash::xxh32(&content, 0).to_le_bytes());
    }
    v
}

#[test]
fn lz4_frame_variants() {
    use Lz4HeaderChecksum::*;
    let a = text(1000);
    let b = noise(500, 1);
    let all = [a.clone(), b.clone()].concat();
    let blocks: &[(bool, &[u8])] = &[(false, &a), (true, &b)];
    // Kafka's own form; and the historical magic-0 header checksum, accepted only when allowed.
    let f = lz4_frame(0x60, 0x40, None, blocks, false);
    assert_eq!(decompress_lz4(&f, usize::MAX, Strict).unwrap(), all);
    let legacy = lz4_frame(0x60, 0x40, None, blocks, true);
    assert!(matches!(decompress_lz4(&legacy, usize::MAX, Strict), Err(DecodeError::CrcMismatch { .. })));
    assert_eq!(decompress_lz4(&legacy, usize::MAX, AllowLegacy).unwrap(), all);
    assert_eq!(decompress_lz4(&f, usize::MAX, AllowLegacy).unwrap(), all);
    // Block checksums, content checksum and content size, 4 MB blocks.
    let f = lz4_frame(0x60 | 0x10 | 0x08 | 0x04, 0x70, Some(all.len() as u64), blocks, false);
    assert_eq!(decompress_lz4(&f, usize::MAX, Strict).unwrap(), all);
    // A wrong content size, a corrupted block checksum, a corrupted content checksum.
    let f = lz4_frame(0x68, 0x40, Some(all.len() as u64 + 1), blocks, false);
    assert!(decompress_lz4(&f, usize::MAX, Strict).is_err());
    let mut f = lz4_frame(0x70, 0x40, None, blocks, false);
    let at = 7 + 4 + lz4_flex::block::compress(&a).len();
    f[at] ^= 1;
    assert!(matches!(decompress_lz4(&f, usize::MAX, Strict), Err(DecodeError::CrcMismatch { what: "lz4 block", .. })));
    let mut f = lz4_frame(0x64, 0x40, None, blocks, false);
    let n = f.len();
    f[n - 1] ^= 1;
    assert!(matches!(decompress_lz4(&f, usize::MAX, Strict), Err(DecodeError::CrcMismatch { .. })));
    // Dependent blocks, dictionary ids, other versions, reserved bits, bad block sizes: rejected.
    for (flg, bd) in [(0x40, 0x40), (0x61, 0x40), (0xa0, 0x40), (0x62, 0x40), (0x60, 0x41), (0x60, 0x30), (0x60, 0xc0)]
    {
        let f = lz4_frame(flg, bd, None, &[(true, b"x")], false);
        assert!(decompress_lz4(&f, usize::MAX, Strict).is_err(), "flg {flg:#x} bd {bd:#x}");
    }
    // A block larger than the frame's maximum.
    let big = vec![7u8; (64 << 10) + 1];
    let f = lz4_frame(0x60, 0x40, None, &[(true, &big)], false);
    assert!(decompress_lz4(&f, usize::MAX, Strict).is_err());
    // Concatenated frames; trailing garbage.
    let f = lz4_frame(0x60, 0x40, None, blocks, false);
    let two = [f.clone(), f.clone()].concat();
    assert_eq!(decompress_lz4(&two, usize::MAX, Strict).unwrap(), [all.clone(), all.clone()].concat());
    let garbage = [f.clone(), vec![1, 2, 3]].concat();
    assert!(matches!(decompress_lz4(&garbage, usize::MAX, Strict), Err(DecodeError::TrailingBytes { .. })));
    // The cap applies to stored blocks as well.
    assert!(matches!(decompress_lz4(&f, all.len() - 1, Strict), Err(DecodeError::DecompressionLimit { .. })));
}

#[test]
fn lz4_writes_kafkas_frame_header() {
    let c = compressed(Compression::Lz4, &text(200_000));
    assert_eq!(&c[..7], &[0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
    assert_eq!(&c[c.len() - 4..], &[0, 0, 0, 0]);
    // Incompressible data goes into stored blocks.
    let c = compressed(Compression::Lz4, &noise(1000, 9));
    assert_eq!(u32::from_le_bytes(c[7..11].try_into().unwrap()), 1000 | 0x8000_0000);
}

#[test]
fn empty_input_to_decompressors() {
    assert!(decompress_gzip(&[], 10).is_err());
    assert!(decompress_zstd(&[], 10).is_err());
    assert!(decompress_lz4(&[], 10, Lz4HeaderChecksum::Strict).is_err());
    assert!(decompress_snappy(&[], 10).is_err());
    assert_eq!(decompress(Compression::None, &[], 0).unwrap(), b"");
}

fn codec_strategy() -> impl Strategy<Value = Compression> {
    prop::sample::select(CODECS.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn prop_round_trip(codec in codec_strategy(), data in prop::collection::vec(any::<u8>(), 0..20_000), rep in 1usize..8) {
        // Repeat to make some inputs compressible.
        let input = data.repeat(rep);
        let c = compressed(codec, &input);
        prop_assert_eq!(decompress(codec, &c, input.len()).unwrap(), input);
    }

    #[test]
    fn prop_corruption_never_panics(codec in codec_strategy(), seed in any::<u64>(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let input = [text(5_000), noise(2_000, seed | 1)].concat();
        let mut c = compressed(codec, &input);
        for (at, x) in flips {
            let n = c.len();
            c[at % n] ^= x | 1;
        }
        // Either an error or some output within the cap; never a panic.
        if let Ok(d) = decompress(codec, &c, 1 << 20) {
            prop_assert!(d.len() <= 1 << 20);
        }
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2_000)) {
        for codec in CODECS {
            let _ = decompress(codec, &data, 1 << 16);
        }
        let _ = decompress_lz4(&data, 1 << 16, Lz4HeaderChecksum::AllowLegacy);
        let mut framed = b"\x82SNAPPY\0\0\0\0\x01\0\0\0\x01".to_vec();
        framed.extend_from_slice(&data);
        let _ = decompress_snappy(&framed, 1 << 16);
        let mut lz = vec![0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82];
        lz.extend_from_slice(&data);
        let _ = decompress_lz4(&lz, 1 << 16, Lz4HeaderChecksum::Strict);
    }
}

/// The sizes of the blocks of a frame written by [`lz4::compress`] (7-byte header, no checksums), with whether
/// each is stored.
fn lz4_written_blocks(frame: &[u8]) -> Vec<(bool, usize)> {
    let mut at = 7;
    let mut blocks = Vec::new();
    loop {
        let size = u32::from_le_bytes(frame[at..at + 4].try_into().unwrap());
        if size == 0 {
            return blocks;
        }
        let len = (size & 0x7fff_ffff) as usize;
        blocks.push((size & 0x8000_0000 != 0, len));
        at += 4 + len;
    }
}

/// Record-like noise: 100-byte random values behind a few framing bytes that repeat, which lz4 can shrink by a
/// few percent at the full cost of its match search.
fn framed_noise(len: usize, seed: u64) -> Vec<u8> {
    let values = noise(len, seed);
    let mut v = Vec::with_capacity(len + 108);
    for (i, value) in values.chunks(100).enumerate() {
        v.extend_from_slice(&[0xd4, 0x01, 0x00, 0x00, (i % 64) as u8 * 2, 0x01, 0xc8, 0x01]);
        v.extend_from_slice(value);
    }
    v.truncate(len);
    v
}

#[test]
fn lz4_stores_blocks_that_would_not_shrink_by_an_eighth() {
    for input in [noise(84 * 1024, 7), framed_noise(84 * 1024, 8)] {
        let mut out = BytesMut::new();
        compress(Compression::Lz4, None, &input, &mut out).unwrap();
        assert_eq!(lz4_written_blocks(&out), vec![(true, 64 * 1024), (true, 20 * 1024)]);
        assert_eq!(decompress_lz4(&out, usize::MAX, Lz4HeaderChecksum::Strict).unwrap(), input);
    }
    // Text is compressed, block by block.
    let input = text(84 * 1024);
    let mut out = BytesMut::new();
    compress(Compression::Lz4, None, &input, &mut out).unwrap();
    let blocks = lz4_written_blocks(&out);
    assert_eq!(blocks.len(), 2);
    assert!(blocks.iter().all(|&(stored, len)| !stored && len < 20 * 1024), "{blocks:?}");
    assert_eq!(decompress_lz4(&out, usize::MAX, Lz4HeaderChecksum::Strict).unwrap(), input);
    // The probe reads the middle of the block: noise there stores it, text there compresses it.
    let mut noisy_middle = text(32 * 1024);
    noisy_middle[12 * 1024..20 * 1024].copy_from_slice(&noise(8 * 1024, 9));
    let mut out = BytesMut::new();
    compress(Compression::Lz4, None, &noisy_middle, &mut out).unwrap();
    assert_eq!(lz4_written_blocks(&out), vec![(true, 32 * 1024)]);
    let mut text_middle = noise(32 * 1024, 11);
    text_middle[12 * 1024..20 * 1024].copy_from_slice(&text(8 * 1024));
    let mut out = BytesMut::new();
    compress(Compression::Lz4, None, &text_middle, &mut out).unwrap();
    assert!(!lz4_written_blocks(&out)[0].0);
    assert_eq!(decompress_lz4(&out, usize::MAX, Lz4HeaderChecksum::Strict).unwrap(), text_middle);
    // Below the probe's minimum a block is always tried (and stored when it does not shrink at all).
    let small = noise(4096, 13);
    let mut out = BytesMut::new();
    compress(Compression::Lz4, None, &small, &mut out).unwrap();
    assert_eq!(lz4_written_blocks(&out), vec![(true, 4096)]);
}
