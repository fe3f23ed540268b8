//! The one door for cross-thread state.
//!
//! Every atomic, lock and thread the engine shares goes through this module. Normally these are
//! `std`'s; built with `--cfg loom` they are `loom`'s instrumented doubles, so the model checker
//! in `loom-tests/` sees every access (types that are not loom's are invisible to it).
//! `.ci/check-sync.sh` (run by `.ci/test.sh`) refuses std atomics, std threads and
//! `thread_local!` anywhere else in the library, unless a line says why with a
//! `sync-lint: allow (<reason>)` comment.
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
// Not modelled by loom (one-time initialisation of process-wide tables), so std's in both builds.
pub(crate) use std::sync::OnceLock;
// The compressor's queue (sealed paths, off the drain thread); compression is not modelled.
pub(crate) use std::sync::mpsc;
#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread;

/// Locks `m`, ignoring poisoning: the engine's critical sections leave their data consistent
/// at every step, and a panic on one producer thread must not stop logging everywhere else.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One step of a wait loop: spin, then yield, then sleep (`round` counts the steps so far).
/// Under loom every step yields, which is what lets the model checker run the other threads.
pub(crate) fn backoff(round: u32, sleep: std::time::Duration) {
    #[cfg(not(loom))]
    match round {
        0..64 => std::hint::spin_loop(),
        64..128 => thread::yield_now(),
        _ => thread::sleep(sleep),
    }
    #[cfg(loom)]
    {
        let _ = (round, sleep);
        thread::yield_now();
    }
}

/// A deliberately broken variant of the protocol, for showing that the loom models can fail.
/// Outside `cfg(loom)` none is ever active and [`broken`] is a constant `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(loom), allow(dead_code))]
pub enum Break {
    /// Property 1: a call site's id is published before its registry entry exists.
    CallsiteIdBeforePush = 1,
    /// Property 2: a closing producer sets `closed` with a relaxed store.
    ClosedRelaxed,
    /// Property 3: `flush` takes its ticket with a relaxed increment.
    FlushTicketRelaxed,
    /// Property 4: the drain frees ring space with a relaxed store of the ring's head.
    RingHeadRelaxed,
    /// Property 5: a drop notice re-reads the producer's counter instead of adding what it
    /// reported.
    DropReportReread,
    /// Property 6: the segment's committed length is published with a relaxed store.
    PublishRelaxed,
    /// Property 7: a new segment is taken to describe what the previous one described.
    RotationForgetsMetadata,
}

/// Whether `b` is the broken variant selected for the running loom model.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) const fn broken(_b: Break) -> bool {
    false
}

/// Whether `b` is the broken variant selected for the running loom model.
#[cfg(loom)]
pub(crate) fn broken(b: Break) -> bool {
    crate::__loom::selected_break() == b as u8
}

/// `order`, or `Relaxed` while the broken variant `b` is selected (loom builds only).
#[inline(always)]
pub(crate) fn order(order: Ordering, b: Break) -> Ordering {
    if broken(b) { Ordering::Relaxed } else { order }
}
