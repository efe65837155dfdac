//! A counting global allocator: the system allocator, counting the bytes live (and their peak) and the bytes
//! handed out, and [`measure`] to read what a piece of code allocated. Included with `#[path]` by
//! tests/hostile_broker.rs and fuzz/fuzz_targets/alloc_check.rs; the including crate declares
//! `#[global_allocator] static A: CountingAllocator = CountingAllocator;`.
//!
//! The counters are process-wide: what runs on other threads while [`measure`] runs counts too.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
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
