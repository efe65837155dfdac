//! A counting global allocator for the fuzz targets (included with `#[path]`; the including target declares
//! `#[global_allocator] static A: alloc_check::CountingAllocator = alloc_check::CountingAllocator;`), and the
//! allocation bounds the targets assert.
//!
//! libFuzzer runs the target on one thread, so process-wide counters measure exactly what the code under test
//! allocates between [`measure`]'s start and end (plus libFuzzer's own bookkeeping, which does not allocate inside a
//! run). Only allocations through Rust's global allocator are seen: C code with its own `malloc` calls (zstd's
//! decoder window) is not counted.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes live (and their peak) and the bytes handed out.
pub struct CountingAllocator;

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
    TOTAL.fetch_add(by, Ordering::Relaxed);
}

fn shrank(by: usize) {
    CURRENT.fetch_sub(by, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s contract; the counters only
// observe sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout and contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`: every allocation goes through this type.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`; `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// What ran inside [`measure`] allocated.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    /// Highest number of bytes live at once above what was live at the start (what a hostile input can make the
    /// process hold).
    pub peak: usize,
    /// Bytes handed out in all (a realloc counts its growth).
    pub total: usize,
}

/// Runs `f`, returning its result and what it allocated. The result is still alive when measuring ends, so what it
/// holds counts.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let total = TOTAL.load(Ordering::SeqCst);
    let value = f();
    let usage = Usage {
        peak: PEAK.load(Ordering::SeqCst).saturating_sub(base),
        total: TOTAL.load(Ordering::SeqCst).saturating_sub(total),
    };
    (value, usage)
}

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
