//! Fault injection for the engine's own tests (cargo feature `fault-injection`): a panic in the
//! drain thread, a stalled drain, and segment creation failing as on a full disk.
//!
//! Without the feature the hooks are empty inline functions and cost nothing. The switches are
//! process-wide, like the logger the macros use.

#[cfg(feature = "fault-injection")]
mod imp {
    use crate::sync::{AtomicBool, AtomicU64, Ordering};
    use std::time::Duration;

    static PANIC_DRAIN: AtomicBool = AtomicBool::new(false);
    static STALL_NS: AtomicU64 = AtomicU64::new(0);
    static NO_SPACE: AtomicBool = AtomicBool::new(false);
    static NO_SPACE_HITS: AtomicU64 = AtomicU64::new(0);

    /// Makes the drain thread panic at the start of its next pass.
    pub fn panic_drain() {
        PANIC_DRAIN.store(true, Ordering::SeqCst);
    }

    /// Makes the drain thread sleep for `d` at the start of its next pass (a stuck disk).
    pub fn stall_drain(d: Duration) {
        STALL_NS.store(d.as_nanos() as u64, Ordering::SeqCst);
    }

    /// While `on`, reserving space for a new segment fails with `ENOSPC`, as on a full disk.
    pub fn fail_segment_space(on: bool) {
        NO_SPACE.store(on, Ordering::SeqCst);
    }

    /// How many segment creations failed because of [`fail_segment_space`].
    pub fn segment_space_failures() -> u64 {
        NO_SPACE_HITS.load(Ordering::SeqCst)
    }

    pub(crate) fn drain_pass() {
        let stall = STALL_NS.swap(0, Ordering::SeqCst);
        if stall > 0 {
            // sync-lint: allow (test-only fault hook, never built under loom)
            std::thread::sleep(Duration::from_nanos(stall));
        }
        if PANIC_DRAIN.swap(false, Ordering::SeqCst) {
            panic!("tachylog: injected drain panic");
        }
    }

    pub(crate) fn reserve() -> std::io::Result<()> {
        if NO_SPACE.load(Ordering::SeqCst) {
            NO_SPACE_HITS.fetch_add(1, Ordering::SeqCst);
            return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
        }
        Ok(())
    }
}

#[cfg(feature = "fault-injection")]
pub use imp::{fail_segment_space, panic_drain, segment_space_failures, stall_drain};

/// Called by the drain at the start of every pass.
#[inline(always)]
pub(crate) fn drain_pass() {
    #[cfg(feature = "fault-injection")]
    imp::drain_pass();
}

/// Called before space for a new segment is reserved (on disk only: loom builds keep segments
/// in memory).
#[inline(always)]
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn reserve() -> std::io::Result<()> {
    #[cfg(feature = "fault-injection")]
    imp::reserve()?;
    Ok(())
}
