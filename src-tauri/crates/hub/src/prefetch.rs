//! Cache hints for the fan-out loop.
//!
//! Why: handing a frame to a viewer touches three small objects: the
//! viewer's slot, the edge's sink and whatever the sink writes through.
//! Between two frames the kernel's socket work evicts them all, so at
//! hundreds of viewers each is a cache miss, and those misses were most of
//! the fan-out's user-space time. So while the loop serves viewer `i`, it
//! asks for the memory of the viewers after it, one pointer hop further for
//! each: a hint costs nothing when the memory is already cached.

/// Asks the CPU to bring the cache line at `p` in. Never faults, whatever
/// `p` is; does nothing on CPUs without a stable prefetch instruction.
#[inline(always)]
pub fn prefetch<T: ?Sized>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never dereferences `p` and
    // never faults. SSE is part of the x86-64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>())
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
