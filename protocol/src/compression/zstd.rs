//! zstd: one frame written (with its content size); any sequence of frames read, streaming, bounded by the cap.
//!
//! With the `zstd` feature (the default) both directions use the zstd C library. Without it the crate needs no C
//! compiler: frames are read by ruzstd, a pure-Rust decoder, and writing zstd is
//! [`EncodeError::UnsupportedCompression`].

use bytes::BytesMut;

use super::io_error;
use crate::{DecodeError, EncodeError};

/// Whether this build can write zstd (the `zstd` feature).
pub(super) const CAN_COMPRESS: bool = cfg!(feature = "zstd");

#[cfg(feature = "zstd")]
thread_local! {
    /// This thread's compression context and the level it is set to, kept from one batch to the next. zstd's
    /// `bulk::compress_to_buffer` creates a context a call: its tables (near a megabyte at the default level for a
    /// batch of a few hundred KiB) allocated, faulted in and cleared for every batch, then freed.
    static COMPRESSOR: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with this thread's compression context at `level` (see [`COMPRESSOR`]); a context that failed is
/// dropped, so the next call starts with a fresh one.
#[cfg(feature = "zstd")]
fn with_compressor<T>(
    level: i32,
    f: impl FnOnce(&mut zstd::bulk::Compressor<'static>) -> std::io::Result<T>,
) -> std::io::Result<T> {
    COMPRESSOR.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.as_ref().is_none_or(|(l, _)| *l != level) {
            *slot = Some((level, zstd::bulk::Compressor::new(level)?));
        }
        let result = match slot.as_mut() {
            Some((_, compressor)) => f(compressor),
            None => Err(std::io::Error::other("no zstd context")),
        };
        if result.is_err() {
            // A failed frame may leave the context mid-frame: start the next batch with a fresh one.
            *slot = None;
        }
        result
    })
}

/// Inputs shorter than this are compressed without a probe.
#[cfg(feature = "zstd")]
const PROBE_MIN: usize = 8 * 1024;
/// How much of the input the probe compresses.
#[cfg(feature = "zstd")]
const PROBE_LEN: usize = 1024;

/// Whether compressing `input` at `level` is likely to pay. A batch of random or already compressed values is not
/// quite incompressible: zstd finds the records' similar framing bytes and saves a few percent, at the full cost of
/// its match search (a third of a producer's CPU). The probe compresses [`PROBE_LEN`] bytes from the middle of the
/// input (a batch's records are alike; the middle skips the first, often different, record) with zstd itself at the
/// batch's level, so that entropy coding counts (hex or base64 text that LZ-style matching cannot shrink still
/// passes), and asks for a saving of at least 1/8, as lz4's blocks do; below that the batch is [`store`]d. A wrong
/// "no" costs only compression ratio: every zstd reader accepts stored blocks.
#[cfg(feature = "zstd")]
fn worth_compressing(level: i32, input: &[u8]) -> Result<bool, EncodeError> {
    if input.len() < PROBE_MIN {
        return Ok(true);
    }
    let mid = input.len() / 2 - PROBE_LEN / 2;
    let mut scratch = [0u8; max_compressed_len(PROBE_LEN) + 64];
    let n = with_compressor(level, |c| c.compress_to_buffer(&input[mid..mid + PROBE_LEN], &mut scratch[..]))
        .map_err(|e| EncodeError::Compression { codec: "zstd", reason: e.to_string() })?;
    Ok(n <= PROBE_LEN - PROBE_LEN / 8)
}

/// zstd's frame magic number.
#[cfg(feature = "zstd")]
const MAGIC: u32 = 0xFD2F_B528;
/// The largest block a frame holds (RFC 8878 `Block_Maximum_Size`), and the window a stored frame declares.
#[cfg(feature = "zstd")]
const MAX_BLOCK: usize = 128 << 10;

/// Writes `input` onto `out` as one zstd frame of raw (stored) blocks (RFC 8878): the frame header (content size in
/// a 4-byte field, a 128 KiB window, no checksum, no dictionary), then `input` in blocks of at most 128 KiB, each
/// behind its 3-byte block header. zstd writes raw blocks itself where compressing a block does not pay, so every
/// reader takes them; the small window keeps what a reader allocates for the frame small. At most
/// [`max_compressed_len`] bytes for inputs of [`PROBE_MIN`] bytes or more (the only ones stored).
#[cfg(feature = "zstd")]
pub(super) fn store(input: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    use bytes::BufMut;
    let size = u32::try_from(input.len())
        .map_err(|_| EncodeError::Compression { codec: "zstd", reason: format!("{} bytes", input.len()) })?;
    out.reserve(stored_len(input.len()));
    out.put_u32_le(MAGIC);
    // Frame_Header_Descriptor: Frame_Content_Size_flag 2 (a 4-byte field), Single_Segment_flag 0, no checksum, no
    // dictionary id. Window_Descriptor: exponent 7, mantissa 0, so 2^(10+7) bytes.
    out.put_u8(0b10 << 6);
    out.put_u8(7 << 3);
    out.put_u32_le(size);
    if input.is_empty() {
        // One last raw block of no bytes.
        out.put_uint_le(1, 3);
    }
    let mut blocks = input.chunks(MAX_BLOCK).peekable();
    while let Some(block) = blocks.next() {
        let last = u64::from(blocks.peek().is_none());
        // Last_Block in bit 0, Block_Type 0 (raw) in bits 1-2, Block_Size in bits 3-23.
        out.put_uint_le((block.len() as u64) << 3 | last, 3);
        out.put_slice(block);
    }
    Ok(())
}

/// The length of [`store`]'s frame for `len` bytes: a 10-byte frame header and a 3-byte header per block.
#[cfg(feature = "zstd")]
pub(super) const fn stored_len(len: usize) -> usize {
    10 + 3 * if len == 0 { 1 } else { len.div_ceil(MAX_BLOCK) } + len
}

/// Compresses `input` as one zstd frame at `level` onto `out`, with this thread's context (see [`COMPRESSOR`]),
/// or stores it when a probe says compressing would not pay (see [`worth_compressing`]). The frame is written into
/// `out`'s spare room, not into a zero-filled stretch of it.
#[cfg(feature = "zstd")]
pub(super) fn compress(level: i32, input: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
    if !worth_compressing(level, input)? {
        return store(input, out);
    }
    let start = out.len();
    // A uniquely owned `BytesMut` converts to a `Vec` and back without a copy; zstd writes into a `Vec`'s spare
    // capacity (a `Cursor` placed after what `out` held), setting its length to what it wrote.
    let mut buf: Vec<u8> = std::mem::take(out).into();
    buf.reserve(zstd::zstd_safe::compress_bound(input.len()));
    let mut cursor = std::io::Cursor::new(buf);
    cursor.set_position(start as u64);
    let written = with_compressor(level, |c| c.compress_to_buffer(input, &mut cursor));
    let mut buf = cursor.into_inner();
    let result = match written {
        Ok(n) if buf.len() == start + n => Ok(()),
        Ok(n) => Err(EncodeError::Compression {
            codec: "zstd",
            reason: format!("wrote {n} bytes but the buffer grew by {}", buf.len().saturating_sub(start)),
        }),
        Err(e) => Err(EncodeError::Compression { codec: "zstd", reason: e.to_string() }),
    };
    if result.is_err() {
        buf.truncate(start);
    }
    // Unique, so this is the same allocation again (the copy is for the impossible shared case).
    *out = bytes::Bytes::from(buf).try_into_mut().unwrap_or_else(|shared| BytesMut::from(&shared[..]));
    result
}

/// The most [`compress`] writes for `len` bytes: `ZSTD_COMPRESSBOUND` of zstd.h (what `compress` sizes its output
/// for), in every build.
pub(super) const fn max_compressed_len(len: usize) -> usize {
    const SMALL: usize = 128 << 10;
    let small_margin = if len < SMALL { (SMALL - len) >> 11 } else { 0 };
    len.saturating_add(len >> 8).saturating_add(small_margin)
}

/// Without the C library there is no zstd encoder: a typed error, nothing written.
#[cfg(not(feature = "zstd"))]
pub(super) fn compress(_level: i32, _input: &[u8], _out: &mut BytesMut) -> Result<(), EncodeError> {
    Err(EncodeError::UnsupportedCompression { codec: "zstd", reason: "built without the `zstd` feature" })
}

/// Decompresses zstd data (one or more frames) into at most `cap` bytes.
///
/// The decoder's working memory is bounded by zstd's default window limit (128 MiB, the limit Java's zstd-jni
/// reader also applies); the output by `cap`.
pub fn decompress_zstd(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    if input.is_empty() {
        return Err(io_error("zstd", std::io::ErrorKind::UnexpectedEof.into()));
    }
    decompress(input, cap)
}

#[cfg(feature = "zstd")]
fn decompress(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    let decoder = zstd::stream::read::Decoder::with_buffer(input).map_err(|e| io_error("zstd", e))?;
    super::read_capped(decoder, input.len(), cap, "zstd")
}

/// The pure-Rust path: ruzstd decodes one frame per decoder, so frames are read one after the other (skippable
/// frames skipped) into one capped output.
#[cfg(not(feature = "zstd"))]
fn decompress(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    pure::decompress_zstd_ruzstd(input, cap)
}

pub use pure::decompress_zstd_ruzstd;

/// The ruzstd decoder. Compiled in every build (and tested against the C encoder when both are there); the one
/// used for reading when the `zstd` feature is off.
mod pure {
    use std::io::Read;

    use ruzstd::decoding::StreamingDecoder;
    use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};

    use crate::DecodeError;
    use crate::compression::io_error;

    fn frame_error(e: FrameDecoderError) -> DecodeError {
        DecodeError::Decompression { codec: "zstd", reason: e.to_string() }
    }

    /// Decompresses zstd data (one or more frames; skippable frames skipped) with the pure-Rust ruzstd decoder
    /// into at most `cap` bytes. [`decompress_zstd`](super::decompress_zstd) uses it when the crate is built
    /// without the `zstd` feature; public so that tests and fuzz targets can drive it in every build.
    pub fn decompress_zstd_ruzstd(input: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::with_capacity(input.len().saturating_mul(4).clamp(64, 1 << 20).min(cap.saturating_add(1)));
        let mut rest = input;
        while !rest.is_empty() {
            let decoder = match StreamingDecoder::new(&mut rest) {
                Ok(d) => d,
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                    // The header (magic and length) has been consumed; skip the frame's content.
                    rest =
                        usize::try_from(length).ok().and_then(|n| rest.get(n..)).ok_or(DecodeError::Decompression {
                            codec: "zstd",
                            reason: "skippable frame runs past the end".into(),
                        })?;
                    continue;
                }
                Err(e) => return Err(frame_error(e)),
            };
            // At most one byte past the cap, so that going over it is seen.
            let room = cap.saturating_add(1).saturating_sub(out.len());
            let limit = u64::try_from(room).unwrap_or(u64::MAX);
            decoder.take(limit).read_to_end(&mut out).map_err(|e| io_error("zstd", e))?;
            if out.len() > cap {
                return Err(DecodeError::DecompressionLimit { codec: "zstd", cap });
            }
        }
        Ok(out)
    }
}
