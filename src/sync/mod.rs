//! The one door for cross-thread state.
//!
//! Every atomic, lock, thread and ring the engine shares goes through this module. Normally these
//! are `std`'s (and `rtrb`'s); built with `--cfg loom` they are `loom`'s instrumented doubles, so
//! the model checker in `loom-tests/` sees every access (types that are not loom's are invisible
//! to it). This is the only module of the library that switches on `cfg(loom)` for types; the
//! few other places are listed in `docs/ARCHITECTURE.md`. What differs under loom besides the
//! types is here too: statics that live for one model execution ([`model_static!`]), functions
//! that cannot be `const` ([`const_unless_model!`]), the clock ([`MODEL`]) and how a waiting
//! thread waits ([`backoff`], [`idle`], [`unpark`]).
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

pub(crate) mod ring;

/// `T` on cache lines of its own (128 bytes: two lines, against the adjacent-line prefetcher),
/// for a value that producers read on every record and that must share no line with values
/// another thread keeps writing.
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct CachePadded<T>(pub T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// True in a loom build. Code that must be deterministic under the model checker (the clock)
/// asks this constant instead of switching on `cfg(loom)` itself.
pub(crate) const MODEL: bool = cfg!(loom);

/// A `static` of the engine's shared state. Normally a plain `static`; under loom a lazy static
/// that lives for one model execution (loom's types cannot be built in a `const` context, and
/// loom resets lazy statics between executions, so models never see each other's state).
macro_rules! model_static {
    ($(#[$m:meta])* static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(loom))]
        $(#[$m])* static $name: $t = $init;
        #[cfg(loom)]
        loom::lazy_static! { $(#[$m])* static ref $name: $t = $init; }
    };
    ($(#[$m:meta])* pub(crate) static $name:ident: $t:ty = $init:expr;) => {
        #[cfg(not(loom))]
        $(#[$m])* pub(crate) static $name: $t = $init;
        #[cfg(loom)]
        loom::lazy_static! { $(#[$m])* pub(crate) static ref $name: $t = $init; }
    };
}
pub(crate) use model_static;

/// A function that is `const` normally and an ordinary one under loom, whose atomics cannot be
/// built in a `const` context (models create call sites inside the execution instead).
macro_rules! const_unless_model {
    ($(#[$m:meta])* $v:vis fn $name:ident($($args:tt)*) -> $ret:ty $body:block) => {
        #[cfg(not(loom))]
        $(#[$m])* $v const fn $name($($args)*) -> $ret $body
        #[cfg(loom)]
        $(#[$m])* $v fn $name($($args)*) -> $ret $body
    };
}
pub(crate) use const_unless_model;

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

/// One step of an idle drain's wait (`rounds` counts the idle passes so far): yield a few
/// times, then park with growing naps up to `max` (`Duration::ZERO`: spin). `flush()` and
/// blocked producers unpark it early. Under loom it only yields: the model checker then runs
/// the other threads.
pub(crate) fn idle(rounds: u32, max: std::time::Duration) {
    #[cfg(not(loom))]
    if max.is_zero() {
        std::hint::spin_loop();
    } else if rounds < 8 {
        thread::yield_now();
    } else {
        let nap = std::time::Duration::from_micros(20u64 << (rounds - 8).min(10)).min(max);
        thread::park_timeout(nap);
    }
    #[cfg(loom)]
    {
        let _ = (rounds, max);
        thread::yield_now();
    }
}

/// Wakes a thread parked in [`idle`]. Under loom the drain never parks (it yields), so there
/// is nothing to wake; loom 0.7's `unpark` would also wake a thread that is blocked on a mutex
/// (tokio-rs/loom#422).
pub(crate) fn unpark(t: &thread::Thread) {
    if !MODEL {
        t.unpark();
    }
}

/// The cheap side of an asymmetric fence, then a load of `flag`: orders this thread's earlier
/// stores before the load against [`set_then_heavy_fence`] on another thread, so that either
/// that thread sees our stores or we see its `flag`. Normally a compiler fence only (no
/// instruction: the hot path pays nothing), because the heavy side makes every other running
/// thread execute a full barrier. Loom cannot model that; there the pair is a read-modify-write
/// on `flag` on both sides, which gives the same either-or (an RMW reads the latest value in
/// the flag's modification order, and an acquire-release RMW that reads the other side's
/// publishes what came before it). A `fence(SeqCst)` after every commit would give it too,
/// but would also order the weakened stores of the other properties' broken variants and hide
/// them from their models.
#[inline(always)]
pub(crate) fn load_after_light_fence(flag: &AtomicBool) -> bool {
    #[cfg(not(loom))]
    {
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        flag.load(Ordering::Relaxed)
    }
    #[cfg(loom)]
    {
        flag.fetch_or(false, Ordering::AcqRel)
    }
}

/// Sets `flag`, then the expensive side of the asymmetric fence (see
/// [`load_after_light_fence`]): after it returns, every other thread of the process has passed
/// a full memory barrier. Linux `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` (registered on
/// first use), else `MEMBARRIER_CMD_GLOBAL`, else an `mprotect` of a page that every CPU
/// running this process must drop from its TLB (an inter-processor interrupt each, a full
/// barrier on x86-64 and arm64). Called once per engine shutdown, never on a hot path.
pub(crate) fn set_then_heavy_fence(flag: &AtomicBool) {
    #[cfg(not(loom))]
    {
        flag.store(true, Ordering::Relaxed);
        membarrier::heavy();
    }
    #[cfg(loom)]
    {
        flag.swap(true, Ordering::AcqRel);
    }
}

#[cfg(not(loom))]
mod membarrier {
    use std::sync::OnceLock;
    use std::sync::atomic::{Ordering, fence};

    const CMD_GLOBAL: libc::c_long = 1;
    const CMD_PRIVATE_EXPEDITED: libc::c_long = 8;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 16;

    fn membarrier(cmd: libc::c_long) -> bool {
        // SAFETY: membarrier(2) takes two integers and touches no memory of ours.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_long,
                0 as libc::c_long,
            ) == 0
        }
    }

    pub(super) fn heavy() {
        fence(Ordering::SeqCst);
        static REGISTERED: OnceLock<bool> = OnceLock::new();
        if *REGISTERED.get_or_init(|| membarrier(CMD_REGISTER_PRIVATE_EXPEDITED))
            && membarrier(CMD_PRIVATE_EXPEDITED)
        {
            return;
        }
        if membarrier(CMD_GLOBAL) {
            return;
        }
        mprotect_barrier();
        fence(Ordering::SeqCst);
    }

    /// Changing a page's protection makes the kernel shoot down its TLB entry on every CPU
    /// that runs a thread of this process, by an interrupt that serialises that CPU.
    fn mprotect_barrier() {
        // SAFETY: an anonymous one-page mapping, written once, re-protected, and unmapped.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE).max(4096) as usize;
            let p = libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return;
            }
            std::ptr::write_volatile(p.cast::<u8>(), 1);
            libc::mprotect(p, page, libc::PROT_READ);
            libc::munmap(p, page);
        }
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
    /// Property 8: a producer does not look, after committing, whether the drain is closing,
    /// so a record committed after the drain's last pass is neither written nor counted.
    LateRecordUnchecked,
}

/// Whether `b` is the broken variant selected for the running loom model.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) const fn broken(_b: Break) -> bool {
    false
}

// The broken variant selected for the running loom model (0: none): a std atomic, invisible to
// loom, set by the model's own thread (`select_break`) before it starts any other. A lazy static
// of loom's, so that each model execution (and each test running models in parallel) has its
// own.
#[cfg(loom)]
loom::lazy_static! {
    static ref SELECTED_BREAK: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
}

/// Selects the broken variant (or none) for this loom model execution.
#[cfg(loom)]
pub(crate) fn select_break(b: Option<Break>) {
    let v = b.map_or(0, |b| b as u8);
    SELECTED_BREAK.store(v, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `b` is the broken variant selected for the running loom model.
#[cfg(loom)]
pub(crate) fn broken(b: Break) -> bool {
    SELECTED_BREAK.load(std::sync::atomic::Ordering::Relaxed) == b as u8
}

/// `order`, or `Relaxed` while the broken variant `b` is selected (loom builds only).
#[inline(always)]
pub(crate) fn order(order: Ordering, b: Break) -> Ordering {
    if broken(b) { Ordering::Relaxed } else { order }
}
