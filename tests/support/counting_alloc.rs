//! A counting global allocator: the system allocator, counting the bytes live (and their peak) and the bytes
//! handed out, and [`measure`] to read what a piece of code allocated. Included with `#[path]` by
//! tests/hostile_broker.rs, fuzz/fuzz_targets/alloc_check.rs and benches/compare/src/measure.rs; the including crate
//! declares `#[global_allocator] static A: CountingAllocator = CountingAllocator;`.
//!
//! The counters are process-wide: what runs on other threads while [`measure`] runs counts too.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TOTAL_BYTES: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes live (and their peak) and, with `TOTAL` (the default), the bytes handed
/// out. `CountingAllocator<false>` leaves the total at 0 and saves an atomic add per allocation, for measurements
/// that only read the live bytes and their peak (the side-by-side benchmark).
pub struct CountingAllocator<const TOTAL: bool = true>;

fn grew<const TOTAL: bool>(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
    // A plain load first: the common case (no new peak) leaves the peak's cache line shared.
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
    if TOTAL {
        TOTAL_BYTES.fetch_add(by, Ordering::Relaxed);
    }
}

fn shrank(by: usize) {
    CURRENT.fetch_sub(by, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s contract; the counters only
// observe sizes.
unsafe impl<const TOTAL: bool> GlobalAlloc for CountingAllocator<TOTAL> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout and contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew::<TOTAL>(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew::<TOTAL>(layout.size());
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
                grew::<TOTAL>(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// The highest number of bytes live at once: since the process started, or since the last [`measure`] began.
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
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
    let total = TOTAL_BYTES.load(Ordering::SeqCst);
    let value = f();
    let usage = Usage {
        peak: PEAK.load(Ordering::SeqCst).saturating_sub(base),
        total: TOTAL_BYTES.load(Ordering::SeqCst).saturating_sub(total),
    };
    (value, usage)
}
