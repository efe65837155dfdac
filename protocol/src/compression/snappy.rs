//! snappy: snappy-java's framing (what Kafka's Java client writes, "xerial" framing) and raw snappy.
//!
//! The xerial stream is a 16-byte header (`\x82SNAPPY\0`, int32 version 1, int32 minimum compatible version 1)
//! followed by blocks, each an int32 big-endian compressed length and a raw snappy block of at most 32 KiB of input.
//! Streams may be concatenated (a header can appear where a block length is expected). Input without the header is
//! read as one raw snappy block, as snappy-java does.

use bytes::{BufMut, BytesMut};

use crate::{DecodeError, EncodeError};

const MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
pub(super) const HEADER_LEN: usize = 16;
/// The first four bytes of the magic read as a big-endian int32, as seen where a block length is expected.
const MAGIC_HEAD: u32 = u32::from_be_bytes([MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3]]);
/// snappy-java's default block size (`SnappyOutputStream.DEFAULT_BLOCK_SIZE`).
pub(super) const BLOCK_SIZE: usize = 32 * 1024;
/// Raw snappy expands at most 64 bytes per 3-byte copy element; more declared output than this per input byte is
/// impossible, so such a declaration is rejected before anything is allocated for it.
const MAX_EXPANSION: usize = 22;

/// Compresses `input` in snappy-java's framing onto `out`.
pub(super) fn compress(input: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    begin(out);
    let mut enc = snap::raw::Encoder::new();
    for block in input.chunks(BLOCK_SIZE) {
        compress_block(&mut enc, block, out)?;
    }
    Ok(())
}

/// Writes the stream header.
pub(super) fn begin(out: &mut BytesMut) {
    out.put_slice(&MAGIC);
    out.put_i32(1);
    out.put_i32(1);
}

/// Writes one block of at most [`BLOCK_SIZE`] bytes.
pub(super) fn compress_block(
    enc: &mut snap::raw::Encoder,
    block: &[u8],
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let len_at = out.len();
    out.put_u32(0);
    let start = out.len();
    out.resize(start + snap::raw::max_compress_len(block.len()), 0);
    let n = enc
        .compress(block, &mut out[start..])
        .map_err(|e| EncodeError::Compression { codec: "snappy", reason: e.to_string() })?;
    out.truncate(start + n);
    out[len_at..start].copy_from_slice(&(n as u32).to_be_bytes());
    Ok(())
}

/// The most [`compress_block`] writes for `len` bytes in blocks of [`BLOCK_SIZE`]: per block a 4-byte length and
/// raw snappy's documented worst case (32 bytes and a sixth over the input).
pub(super) fn max_blocks_len(len: usize) -> usize {
    let block = |n: usize| 4 + snap::raw::max_compress_len(n);
    let (full, rest) = (len / BLOCK_SIZE, len % BLOCK_SIZE);
    let last = if rest == 0 { 0 } else { block(rest) };
    full.saturating_mul(block(BLOCK_SIZE)).saturating_add(last)
}

/// The room [`compress_block`] may need beyond the block's own length (snappy's worst-case expansion).
pub(super) const BLOCK_SLACK: usize = 4 + 32 + BLOCK_SIZE / 6;

/// Decompresses snappy data into at most `cap` bytes: snappy-java (xerial) framing when the input starts with its
/// magic, raw snappy otherwise.
pub fn decompress_snappy(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    if input.starts_with(&MAGIC) {
        decompress_framed(input, cap, &mut out)?;
    } else {
        decompress_raw_into(input, cap, &mut out)?;
    }
    Ok(out)
}

fn decompress_framed(input: &[u8], cap: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let mut rest = skip_header(input)?;
    while !rest.is_empty() {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(invalid("truncated block length"));
        };
        let len = u32::from_be_bytes(*len);
        if len == MAGIC_HEAD {
            // A concatenated stream: its header is where a block length was expected.
            rest = skip_header(rest)?;
            continue;
        }
        let len = usize::try_from(len).ok().filter(|&l| l <= i32::MAX as usize && l <= tail.len());
        let Some(len) = len else { return Err(invalid("block length negative or past the end")) };
        let (block, tail) = tail.split_at(len);
        decompress_raw_into(block, cap, out)?;
        rest = tail;
    }
    Ok(())
}

fn skip_header(input: &[u8]) -> Result<&[u8], DecodeError> {
    if input.len() < HEADER_LEN || !input.starts_with(&MAGIC) {
        return Err(invalid("truncated or bad stream header"));
    }
    let compatible = i32::from_be_bytes([input[12], input[13], input[14], input[15]]);
    if compatible > 1 {
        return Err(invalid("stream needs a newer snappy-java"));
    }
    Ok(&input[HEADER_LEN..])
}

/// Appends the raw snappy `block` decompressed to `out`, keeping `out` within `cap`.
fn decompress_raw_into(block: &[u8], cap: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let declared = snap::raw::decompress_len(block).map_err(snap_error)?;
    if declared > cap.saturating_sub(out.len()) {
        return Err(DecodeError::DecompressionLimit { codec: "snappy", cap });
    }
    if declared > block.len().saturating_mul(MAX_EXPANSION) {
        return Err(invalid("declared length impossible for the input size"));
    }
    let start = out.len();
    super::reserve_within(out, declared, cap);
    out.resize(start + declared, 0);
    let n = snap::raw::Decoder::new().decompress(block, &mut out[start..]).map_err(snap_error)?;
    out.truncate(start + n);
    Ok(())
}

fn snap_error(e: snap::Error) -> DecodeError {
    DecodeError::Decompression { codec: "snappy", reason: e.to_string() }
}

fn invalid(reason: &str) -> DecodeError {
    DecodeError::Decompression { codec: "snappy", reason: reason.to_owned() }
}
