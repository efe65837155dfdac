//! lz4: the LZ4 frame format as Kafka's `Lz4BlockOutputStream` / `Lz4BlockInputStream` use it.
//!
//! Frame: magic `0x184D2204` (little-endian), FLG (version 01, independent blocks, optional block checksums, content
//! size, content checksum), BD (block maximum size 64 KiB / 256 KiB / 1 MiB / 4 MiB), optional content size, header
//! checksum (second byte of XXH32 over the descriptor), then blocks: a little-endian u32 size whose high bit marks a
//! stored (uncompressed) block, the data and an optional XXH32 block checksum, ended by a zero size and an optional
//! XXH32 content checksum. Kafka writes 64 KiB blocks, no checksums but the header's.
//!
//! Message sets of magic 0 were written with Kafka's historical bug (KAFKA-3160): the header checksum was computed
//! over the magic as well as the descriptor. [`Lz4HeaderChecksum::AllowLegacy`] accepts that form.

use bytes::{BufMut, BytesMut};

use super::xxhash::xxh32;
use crate::{DecodeError, EncodeError};

const MAGIC: [u8; 4] = 0x184D_2204u32.to_le_bytes();
const FLG_VERSION_MASK: u8 = 0xC0;
const FLG_VERSION_01: u8 = 0x40;
const FLG_BLOCK_INDEPENDENT: u8 = 0x20;
const FLG_BLOCK_CHECKSUM: u8 = 0x10;
const FLG_CONTENT_SIZE: u8 = 0x08;
const FLG_CONTENT_CHECKSUM: u8 = 0x04;
const FLG_RESERVED: u8 = 0x02;
const FLG_DICT_ID: u8 = 0x01;
const BD_RESERVED: u8 = 0x8F;
const STORED_BLOCK: u32 = 0x8000_0000;
/// Kafka's block size (BD code 4, 64 KiB).
pub(super) const BLOCK_SIZE: usize = 64 * 1024;
const WRITE_FLG: u8 = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENT;
const WRITE_BD: u8 = 4 << 4;
/// An LZ4 block produces at most 255 bytes per input byte (long match-length runs); a little slack on top.
const MAX_EXPANSION: usize = 256;

/// Which LZ4 frame header checksum to accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lz4HeaderChecksum {
    /// Only the checksum of the frame format (over the descriptor). Record batches v2 and message sets of magic 1.
    #[default]
    Strict,
    /// Also Kafka's historical checksum over magic and descriptor (KAFKA-3160), which message sets of magic 0 carry.
    AllowLegacy,
}

/// Compresses `input` as one Kafka LZ4 frame onto `out`.
pub(super) fn compress(input: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    begin(out);
    for block in input.chunks(BLOCK_SIZE) {
        compress_block(block, out)?;
    }
    end(out);
    Ok(())
}

/// The frame header [`begin`] writes: magic, FLG, BD and the header checksum.
pub(super) const HEADER_LEN: usize = 7;
/// The end mark [`end`] writes.
pub(super) const END_LEN: usize = 4;

/// The most [`compress_block`] writes for `len` bytes in blocks of [`BLOCK_SIZE`]: a block that would not shrink is
/// stored, so each costs its length and a 4-byte size.
pub(super) const fn max_blocks_len(len: usize) -> usize {
    len.saturating_add(len.div_ceil(BLOCK_SIZE).saturating_mul(4))
}

/// Writes the frame header.
pub(super) fn begin(out: &mut BytesMut) {
    out.put_slice(&MAGIC);
    out.put_u8(WRITE_FLG);
    out.put_u8(WRITE_BD);
    out.put_u8((xxh32(&[WRITE_FLG, WRITE_BD], 0) >> 8) as u8);
}

/// Writes one block of at most [`BLOCK_SIZE`] bytes: compressed, or stored when compressing does not shrink it.
pub(super) fn compress_block(block: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    let len_at = out.len();
    out.put_u32_le(0);
    if !worth_compressing(block)? {
        out.put_slice(block);
        out[len_at..len_at + 4].copy_from_slice(&(block.len() as u32 | STORED_BLOCK).to_le_bytes());
        return Ok(());
    }
    let start = out.len();
    out.resize(start + lz4_flex::block::get_maximum_output_size(block.len()), 0);
    let n = lz4_flex::block::compress_into(block, &mut out[start..])
        .map_err(|e| EncodeError::Compression { codec: "lz4", reason: e.to_string() })?;
    let size = if n >= block.len() {
        out.truncate(start);
        out.put_slice(block);
        block.len() as u32 | STORED_BLOCK
    } else {
        out.truncate(start + n);
        n as u32
    };
    out[len_at..start].copy_from_slice(&size.to_le_bytes());
    Ok(())
}

/// Blocks shorter than this are compressed without a probe.
const PROBE_MIN_BLOCK: usize = 8 * 1024;
/// How much of a block the probe compresses.
const PROBE_LEN: usize = 1024;

/// Whether compressing `block` is likely to pay. Random or already compressed values are not quite incompressible
/// inside a record batch: LZ4 finds the records' similar framing bytes and saves a few percent, at the full cost of
/// its match search (about as much CPU as the rest of the produce path). The probe compresses one [`PROBE_LEN`]
/// slice from the middle of the block (a batch's records are alike; the middle skips the first, often different,
/// record) and asks for a saving of at least 1/8, the rule ZFS applies to its LZ4 blocks; below that the block is
/// stored, as the frame format allows. A wrong "no" costs only compression ratio: every reader accepts stored blocks.
fn worth_compressing(block: &[u8]) -> Result<bool, EncodeError> {
    if block.len() < PROBE_MIN_BLOCK {
        return Ok(true);
    }
    let mid = block.len() / 2 - PROBE_LEN / 2;
    let mut scratch = [0u8; lz4_flex::block::get_maximum_output_size(PROBE_LEN)];
    let n = lz4_flex::block::compress_into(&block[mid..mid + PROBE_LEN], &mut scratch)
        .map_err(|e| EncodeError::Compression { codec: "lz4", reason: e.to_string() })?;
    Ok(n <= PROBE_LEN - PROBE_LEN / 8)
}

/// Writes the end mark.
pub(super) fn end(out: &mut BytesMut) {
    out.put_u32_le(0);
}

/// The room [`compress_block`] needs beyond the block's own length while it works (the encoder's worst case, into
/// which it compresses before it knows whether to store the block instead).
pub(super) const BLOCK_SLACK: usize = lz4_flex::block::get_maximum_output_size(BLOCK_SIZE) - BLOCK_SIZE + 4;

/// Decompresses Kafka LZ4 data (one or more LZ4 frames) into at most `cap` bytes, accepting header checksums as
/// `checksum` says. Block and content checksums are verified when the frame carries them; dependent blocks and
/// preset dictionaries are rejected, as Kafka rejects them.
pub fn decompress_lz4(input: &[u8], cap: usize, checksum: Lz4HeaderChecksum) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let mut rest = input;
    loop {
        rest = decode_frame(rest, cap, checksum, &mut out)?;
        if rest.is_empty() {
            return Ok(out);
        }
        if !rest.starts_with(&MAGIC) {
            return Err(DecodeError::TrailingBytes { what: "lz4 frame", count: rest.len() });
        }
    }
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], DecodeError> {
    if rest.len() < n {
        return Err(invalid("truncated frame"));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn take_u32(rest: &mut &[u8]) -> Result<u32, DecodeError> {
    let b = take(rest, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Decodes the frame at the start of `frame`, appending to `out`; returns what follows the frame.
fn decode_frame<'a>(
    frame: &'a [u8],
    cap: usize,
    checksum: Lz4HeaderChecksum,
    out: &mut Vec<u8>,
) -> Result<&'a [u8], DecodeError> {
    let mut rest = frame;
    if take(&mut rest, 4)? != MAGIC {
        return Err(invalid("not an LZ4 frame (bad magic)"));
    }
    let fd = take(&mut rest, 2)?;
    let (flg, bd) = (fd[0], fd[1]);
    if flg & FLG_VERSION_MASK != FLG_VERSION_01 {
        return Err(invalid("unsupported frame version"));
    }
    if flg & FLG_RESERVED != 0 || bd & BD_RESERVED != 0 {
        return Err(invalid("reserved bits set"));
    }
    if flg & FLG_BLOCK_INDEPENDENT == 0 {
        return Err(invalid("dependent blocks are not supported"));
    }
    if flg & FLG_DICT_ID != 0 {
        return Err(invalid("preset dictionaries are not supported"));
    }
    let block_max = match bd >> 4 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        _ => return Err(invalid("bad block maximum size")),
    };
    let content_size = if flg & FLG_CONTENT_SIZE != 0 {
        let b = take(&mut rest, 8)?;
        Some(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    } else {
        None
    };
    let descriptor_end = frame.len() - rest.len();
    let hc = take(&mut rest, 1)?[0];
    let proper = (xxh32(&frame[4..descriptor_end], 0) >> 8) as u8;
    let legacy = (xxh32(&frame[..descriptor_end], 0) >> 8) as u8;
    if hc != proper && !(checksum == Lz4HeaderChecksum::AllowLegacy && hc == legacy) {
        return Err(DecodeError::CrcMismatch { what: "lz4 frame header", stored: hc.into(), computed: proper.into() });
    }

    let frame_start = out.len();
    loop {
        let size = take_u32(&mut rest)?;
        if size == 0 {
            break;
        }
        let stored = size & STORED_BLOCK != 0;
        let len = (size & !STORED_BLOCK) as usize;
        if len > block_max {
            return Err(invalid("block larger than the frame's block maximum size"));
        }
        let data = take(&mut rest, len)?;
        if flg & FLG_BLOCK_CHECKSUM != 0 {
            let stored_sum = take_u32(&mut rest)?;
            let computed = xxh32(data, 0);
            if stored_sum != computed {
                return Err(DecodeError::CrcMismatch { what: "lz4 block", stored: stored_sum, computed });
            }
        }
        let room = cap.saturating_sub(out.len());
        if stored {
            if len > room {
                return Err(DecodeError::DecompressionLimit { codec: "lz4", cap });
            }
            super::reserve_within(out, len, cap);
            out.extend_from_slice(data);
            continue;
        }
        let window = block_max.min(len.saturating_mul(MAX_EXPANSION).saturating_add(64));
        let limited_by_cap = room < window;
        let start = out.len();
        super::reserve_within(out, window.min(room), cap);
        out.resize(start + window.min(room), 0);
        match lz4_flex::block::decompress_into(data, &mut out[start..]) {
            Ok(n) => out.truncate(start + n),
            Err(lz4_flex::block::DecompressError::OutputTooSmall { .. }) if limited_by_cap => {
                return Err(DecodeError::DecompressionLimit { codec: "lz4", cap });
            }
            Err(e) => return Err(DecodeError::Decompression { codec: "lz4", reason: e.to_string() }),
        }
    }
    if flg & FLG_CONTENT_CHECKSUM != 0 {
        let stored_sum = take_u32(&mut rest)?;
        let computed = xxh32(&out[frame_start..], 0);
        if stored_sum != computed {
            return Err(DecodeError::CrcMismatch { what: "lz4 content", stored: stored_sum, computed });
        }
    }
    if let Some(size) = content_size {
        if size != (out.len() - frame_start) as u64 {
            return Err(invalid("content size does not match the decompressed size"));
        }
    }
    Ok(rest)
}

fn invalid(reason: &str) -> DecodeError {
    DecodeError::Decompression { codec: "lz4", reason: reason.to_owned() }
}
