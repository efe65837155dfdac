//! The counting global allocator for the fuzz targets (tests/support/counting_alloc.rs; this file is included with
//! `#[path]`, and the including target declares
//! `#[global_allocator] static A: alloc_check::CountingAllocator = alloc_check::CountingAllocator;`), and the
//! allocation bounds the targets assert.
//!
//! libFuzzer runs the target on one thread, so process-wide counters measure exactly what the code under test
//! allocates between [`measure`]'s start and end (plus libFuzzer's own bookkeeping, which does not allocate inside a
//! run). Only allocations through Rust's global allocator are seen: C code with its own `malloc` calls (zstd's
//! decoder window) is not counted.

#![allow(dead_code)]

use std::sync::OnceLock;

#[path = "../../tests/support/counting_alloc.rs"]
mod counting_alloc;
pub use counting_alloc::{CountingAllocator, Usage, measure};

/// Bytes a decode may always allocate, whatever the input's length (error values, small tables).
pub const ALLOC_CONSTANT: usize = 16 * 1024;

/// The default factor: a decode of `n` uncompressed bytes may hold at most `ALLOC_FACTOR × n + ALLOC_CONSTANT`
/// bytes at once, and hand out at most twice that in all (growth of vectors whose length is not known up front).
///
/// Why 64: an element's in-memory size is at most a few dozen times its smallest encoding (an empty compact string
/// is 1 byte on the wire and a 24-byte `String`; an unknown tagged field is 2 bytes and about 40 in memory), and a
/// vector grown by pushing may hold up to twice its length.
pub const ALLOC_FACTOR: usize = 64;

/// The factor in force: [`ALLOC_FACTOR`], or `KAFKAR_FUZZ_ALLOC_FACTOR` from the environment.
pub fn alloc_factor() -> usize {
    static FACTOR: OnceLock<usize> = OnceLock::new();
    *FACTOR.get_or_init(|| {
        std::env::var("KAFKAR_FUZZ_ALLOC_FACTOR").ok().and_then(|v| v.parse().ok()).unwrap_or(ALLOC_FACTOR)
    })
}

/// Panics when `usage` of decoding `input_len` uncompressed bytes exceeds the bound (plus `extra`, e.g. a
/// decompression cap).
pub fn assert_bounded(usage: Usage, input_len: usize, extra: usize, what: &dyn std::fmt::Display) {
    let bound = alloc_factor().saturating_mul(input_len).saturating_add(ALLOC_CONSTANT).saturating_add(extra);
    assert!(
        usage.peak <= bound,
        "{what}: {} bytes live at peak for {input_len} input bytes (bound {bound} = {} × {input_len} + {} + {extra})",
        usage.peak,
        alloc_factor(),
        ALLOC_CONSTANT,
    );
    assert!(
        usage.total <= bound.saturating_mul(2),
        "{what}: {} bytes allocated in all for {input_len} input bytes (bound {})",
        usage.total,
        bound.saturating_mul(2),
    );
}
