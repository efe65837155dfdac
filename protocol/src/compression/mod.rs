//! Compression codecs of Kafka record batches: gzip, snappy (xerial framing and raw), lz4 (Kafka's LZ4 frame) and
//! zstd, with the compression levels of KIP-390 and capped decompression.
//!
//! Decompression never trusts a size written in the compressed data for an allocation: output grows as it is
//! produced and stops at the caller's cap with [`DecodeError::DecompressionLimit`], so a compression bomb is an error,
//! not an out-of-memory abort. Corrupted or truncated input is a [`DecodeError`], never a panic.
//!
//! The per-codec functions ([`decompress_gzip`], [`decompress_snappy`], [`decompress_lz4`], [`decompress_zstd`]) are
//! public so that fuzz targets can drive each decompressor directly.

mod gzip;
mod lz4;
mod snappy;
pub(crate) mod xxhash;
mod zstd;

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use bytes::BytesMut;

use crate::{DecodeError, EncodeError};

pub use gzip::decompress_gzip;
pub use lz4::{Lz4HeaderChecksum, decompress_lz4};
pub use snappy::decompress_snappy;
pub use zstd::{decompress_zstd, decompress_zstd_ruzstd};

/// A compression codec, as carried in bits 0–2 of a record batch's (or legacy message's) attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression (code 0).
    #[default]
    None,
    /// gzip (code 1).
    Gzip,
    /// snappy (code 2), in snappy-java's (xerial) framing.
    Snappy,
    /// lz4 (code 3), in Kafka's LZ4 frame.
    Lz4,
    /// zstd (code 4); record batch v2 (magic 2) only.
    Zstd,
}

/// Mask of the compression codec in batch attributes.
pub const COMPRESSION_CODEC_MASK: i16 = 0x07;

impl Compression {
    /// Every codec, in code order.
    pub const ALL: [Compression; 5] =
        [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];

    /// The attribute code (0–4).
    pub const fn code(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec with attribute code `code`; codes 5–7 are an error.
    pub fn from_code(code: u8) -> Result<Compression, DecodeError> {
        match code {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            _ => Err(DecodeError::Invalid { what: "compression codec", reason: "unknown codec code" }),
        }
    }

    /// The codec of a batch's `attributes` (bits 0–2).
    pub fn from_attributes(attributes: i16) -> Result<Compression, DecodeError> {
        Compression::from_code((attributes & COMPRESSION_CODEC_MASK) as u8)
    }

    /// The name as in Kafka's `compression.type`: `none`, `gzip`, `snappy`, `lz4`, `zstd`.
    pub const fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// The codec named `name` (as in `compression.type`, case-sensitive like Kafka's).
    pub fn from_name(name: &str) -> Option<Compression> {
        Compression::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether this build can write the codec: every codec but zstd without the `zstd` feature (which is still
    /// read, by a pure-Rust decoder).
    pub const fn can_compress(self) -> bool {
        match self {
            Compression::Zstd => zstd::CAN_COMPRESS,
            _ => true,
        }
    }

    /// The levels `compression.<codec>.level` accepts (KIP-390, Kafka 4.x): gzip 1..=9 (and -1 for zlib's default),
    /// lz4 1..=17, zstd -131072..=22. `None` for codecs without levels (none, snappy).
    pub const fn level_range(self) -> Option<RangeInclusive<i32>> {
        match self {
            Compression::Gzip => Some(1..=9),
            Compression::Lz4 => Some(1..=17),
            Compression::Zstd => Some(-131_072..=22),
            Compression::None | Compression::Snappy => None,
        }
    }

    /// The level the Java client uses when none is configured: gzip -1 (zlib's default, 6), lz4 9, zstd 3.
    pub const fn default_level(self) -> Option<i32> {
        match self {
            Compression::Gzip => Some(-1),
            Compression::Lz4 => Some(9),
            Compression::Zstd => Some(3),
            Compression::None | Compression::Snappy => None,
        }
    }

    /// The most bytes [`compress`] writes for `len` input bytes, at any level: the codec's worst case (input that
    /// does not compress), framing included. lz4 stores a block that would not shrink, so it costs the frame's
    /// header and end mark and 4 bytes per 64 KiB block; snappy adds its stream header and, per 32 KiB block, a
    /// length and raw snappy's documented worst case (about 1/6 over); zstd its library's `ZSTD_COMPRESSBOUND`;
    /// gzip, whose backend documents no bound, twice the overhead measured on noise (see `gzip.rs`).
    pub fn max_compressed_len(self, len: usize) -> usize {
        match self {
            Compression::None => len,
            Compression::Gzip => gzip::max_compressed_len(len),
            Compression::Snappy => snappy::HEADER_LEN.saturating_add(snappy::max_blocks_len(len)),
            Compression::Lz4 => lz4::HEADER_LEN.saturating_add(lz4::max_blocks_len(len)).saturating_add(lz4::END_LEN),
            Compression::Zstd => zstd::max_compressed_len(len),
        }
    }

    /// Checks `level` for this codec and resolves `None` to the default. A level for a codec without levels, or
    /// outside the codec's range, is an error (as Kafka's config validation rejects it).
    pub fn resolve_level(self, level: Option<i32>) -> Result<Option<i32>, EncodeError> {
        let Some(level) = level else { return Ok(self.default_level()) };
        let ok = match self.level_range() {
            None => false,
            Some(range) => range.contains(&level) || (self == Compression::Gzip && level == -1),
        };
        if ok {
            Ok(Some(level))
        } else {
            Err(EncodeError::Invalid { what: "compression level", reason: "outside the codec's valid range" })
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compression {
    type Err = UnknownCompression;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Compression::from_name(s).ok_or(UnknownCompression)
    }
}

/// The error of parsing a [`Compression`] from a name that is not one of Kafka's `compression.type` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown compression type (expected none, gzip, snappy, lz4 or zstd)")]
pub struct UnknownCompression;

/// Compresses `input` with `codec` at `level` (`None`: the codec's default) and appends the result to `out`, in the
/// format Kafka's Java client writes: gzip member, snappy-java framing with 32 KiB blocks, Kafka's LZ4 frame with
/// 64 KiB blocks, one zstd frame. `Compression::None` appends `input` as is.
///
/// lz4 levels are validated but the lz4 block encoder has a single (fast) mode, so every level compresses alike.
pub fn compress(codec: Compression, level: Option<i32>, input: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    let level = codec.resolve_level(level)?;
    match codec {
        Compression::None => {
            out.extend_from_slice(input);
            Ok(())
        }
        Compression::Gzip => gzip::compress(level.unwrap_or(-1), input, out),
        Compression::Snappy => snappy::compress(input, out),
        Compression::Lz4 => lz4::compress(input, out),
        Compression::Zstd => zstd::compress(level.unwrap_or(3), input, out),
    }
}

/// Block-at-a-time compression for the codecs whose Kafka framing is a run of independent blocks (lz4's 64 KiB,
/// snappy-java's 32 KiB). The batch builder compresses each block as soon as its records fill it, so a batch's
/// records never exist uncompressed in full and the output buffer is the only batch-sized one. `begin`, `block` for
/// every full block and the last partial one, then `end` write exactly what [`compress`] writes for the whole input.
pub(crate) enum BlockEncoder {
    /// lz4 (stateless between blocks).
    Lz4,
    /// snappy, with its encoder's reusable hash table.
    Snappy(Box<snap::raw::Encoder>),
}

impl fmt::Debug for BlockEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BlockEncoder::Lz4 => "BlockEncoder::Lz4",
            BlockEncoder::Snappy(_) => "BlockEncoder::Snappy",
        })
    }
}

impl BlockEncoder {
    /// The block encoder of `codec`, if its framing is block-at-a-time.
    pub(crate) fn new(codec: Compression) -> Option<BlockEncoder> {
        match codec {
            Compression::Lz4 => Some(BlockEncoder::Lz4),
            Compression::Snappy => Some(BlockEncoder::Snappy(Box::new(snap::raw::Encoder::new()))),
            _ => None,
        }
    }

    /// How many input bytes make a full block.
    pub(crate) fn block_size(&self) -> usize {
        match self {
            BlockEncoder::Lz4 => lz4::BLOCK_SIZE,
            BlockEncoder::Snappy(_) => snappy::BLOCK_SIZE,
        }
    }

    /// The output room one block may need beyond its own length while it is compressed.
    pub(crate) fn slack(&self) -> usize {
        match self {
            BlockEncoder::Lz4 => lz4::BLOCK_SLACK,
            BlockEncoder::Snappy(_) => snappy::BLOCK_SLACK,
        }
    }

    /// The most bytes [`block`](Self::block) writes for `len` input bytes given in blocks of
    /// [`block_size`](Self::block_size) (the last one shorter): their lengths and contents, uncompressible.
    #[inline]
    pub(crate) fn max_blocks_len(&self, len: usize) -> usize {
        match self {
            BlockEncoder::Lz4 => lz4::max_blocks_len(len),
            BlockEncoder::Snappy(_) => snappy::max_blocks_len(len),
        }
    }

    /// The bytes [`end`](Self::end) writes.
    #[inline]
    pub(crate) fn end_len(&self) -> usize {
        match self {
            BlockEncoder::Lz4 => lz4::END_LEN,
            BlockEncoder::Snappy(_) => 0,
        }
    }

    /// Writes the frame (stream) header.
    pub(crate) fn begin(&self, out: &mut BytesMut) {
        match self {
            BlockEncoder::Lz4 => lz4::begin(out),
            BlockEncoder::Snappy(_) => snappy::begin(out),
        }
    }

    /// Writes one block of at most [`block_size`](Self::block_size) input bytes.
    pub(crate) fn block(&mut self, input: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            BlockEncoder::Lz4 => lz4::compress_block(input, out),
            BlockEncoder::Snappy(enc) => snappy::compress_block(enc, input, out),
        }
    }

    /// Ends the frame (lz4's end mark; snappy-java's stream has none).
    pub(crate) fn end(&self, out: &mut BytesMut) {
        if let BlockEncoder::Lz4 = self {
            lz4::end(out);
        }
    }
}

/// Decompresses `input` compressed with `codec`, producing at most `cap` bytes; more is
/// [`DecodeError::DecompressionLimit`]. `Compression::None` copies `input` (subject to the same cap). LZ4 frames
/// must carry a correct header checksum; use [`decompress_lz4`] with [`Lz4HeaderChecksum::AllowLegacy`] for
/// messages of magic 0.
pub fn decompress(codec: Compression, input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    match codec {
        Compression::None => {
            if input.len() > cap {
                return Err(DecodeError::DecompressionLimit { codec: "none", cap });
            }
            Ok(input.to_vec())
        }
        Compression::Gzip => decompress_gzip(input, cap),
        Compression::Snappy => decompress_snappy(input, cap),
        Compression::Lz4 => decompress_lz4(input, cap, Lz4HeaderChecksum::Strict),
        Compression::Zstd => decompress_zstd(input, cap),
    }
}

/// Reads everything from a streaming decoder, bounded by `cap`. The output grows as data comes (starting from a
/// guess based on the compressed size, never on a size written in the data), and never past `cap` + 1 bytes of
/// capacity (see [`reserve_within`]): what a decompression holds is bounded by the cap, not twice it.
fn read_capped(
    mut reader: impl std::io::Read,
    input_len: usize,
    cap: usize,
    codec: &'static str,
) -> Result<Vec<u8>, DecodeError> {
    // One byte past the cap tells "exactly cap" from "more than cap".
    let limit = cap.saturating_add(1);
    let mut out = vec![0u8; input_len.saturating_mul(4).clamp(64, 1 << 20).min(limit)];
    let mut len = 0;
    loop {
        if len == out.len() {
            if len >= limit {
                break;
            }
            reserve_within(&mut out, 1, limit);
            let room = out.capacity().min(limit);
            out.resize(room, 0);
        }
        match reader.read(&mut out[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(codec, e)),
        }
    }
    out.truncate(len);
    if len > cap {
        return Err(DecodeError::DecompressionLimit { codec, cap });
    }
    Ok(out)
}

/// Makes room in `out` for `additional` more bytes, growing its capacity geometrically as `Vec` does but never past
/// `limit` (unless `additional` itself needs more), so that a decompression bounded by a cap never holds a buffer of
/// up to twice the cap.
pub(crate) fn reserve_within(out: &mut Vec<u8>, additional: usize, limit: usize) {
    let needed = out.len().saturating_add(additional);
    if needed <= out.capacity() {
        return;
    }
    let target = out.capacity().saturating_mul(2).max(needed).min(limit.max(needed));
    out.reserve_exact(target - out.len());
}

fn io_error(codec: &'static str, e: std::io::Error) -> DecodeError {
    DecodeError::Decompression { codec, reason: e.to_string() }
}

// Their fixtures are written with every codec, zstd included: they need the zstd encoder (the `zstd` feature).
// Without it, tests/zstd_without_c.rs and tests/golden_records.rs cover reading.
#[cfg(all(test, feature = "zstd"))]
mod tests;
