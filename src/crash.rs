//! Dying without losing the last records: what the process-wide logger installs so that a
//! process that ends without dropping its `Guard` still commits what every ring holds.
//!
//! - **Exit** (`std::process::exit`, or `main` returning with the `Guard` leaked or forgotten):
//!   an `atexit` hook flushes, then stops the drain and lets it seal its segment, each within
//!   the crash timeout.
//! - **Panics**: a panic hook, chained in front of the one installed before it (std's message
//!   still prints), writes an ERROR record (target `panic`) and flushes, within the timeout.
//! - **Fatal signals**: SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT always (chained to the
//!   handler installed before, such as std's stack-overflow handler), and SIGTERM, SIGINT,
//!   SIGHUP and SIGQUIT where their disposition at `init` is the default one. The handler runs
//!   on the thread's alternate signal stack, writes a record naming the signal and the thread
//!   into a ring reserved for it (the crash slot), lets the drain commit every ring within the
//!   timeout, then restores the previous disposition and re-raises, so the process ends exactly
//!   as it would have without tachylog. Its async-signal-safety argument is in
//!   `docs/CONCURRENCY.md`, and beside each call below.
//!
//! Only the process-wide logger (`Builder::init`) installs these; engines created as values
//! (loom models) install none. `Builder::crash_handling(false)`, or `TACHYLOG_CRASH_HANDLING=off`
//! in the environment, turns all of them off.
//!
//! The state a signal handler reads is plain std atomics in statics, not the `sync` door's
//! types: a handler may not initialise a lazy static, and none of this is part of the protocol
//! the loom models check (they install no handler).
use crate::frontend::callsite::{Callsite, Metadata};
use crate::frontend::encode::{Encode, Writer};
use crate::frontend::producer::{self, Producer};
use crate::runtime::{Overflow, Shared};
use crate::sync::{Arc, OnceLock, Ordering};
use crate::wire::limits;
use crate::{Level, clock};
use libc::c_int;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr;
use std::time::Duration;
// sync-lint: allow (signal-handler state: plain statics a handler can read; not modelled)
use std::sync::atomic::{AtomicBool as SigBool, AtomicPtr, AtomicU64 as SigU64};

/// The engine the crash paths commit, or null. `install` stores one strong count of the
/// engine's `Arc` here and `uninstall` clears the pointer without giving the count back: a
/// handler on another thread may still be using the engine, so each engine the process-wide
/// logger ran stays allocated (a few hundred bytes) until the process ends.
static ENGINE: AtomicPtr<Shared> = AtomicPtr::new(ptr::null_mut());
/// The crash timeout in nanoseconds.
static TIMEOUT_NS: SigU64 = SigU64::new(1_000_000_000);
/// Set once a fatal record (signal, or a panic under `panic = "abort"`) is written: the
/// signals that follow it while the process dies (the SIGABRT of an abort after a panic or a
/// stack overflow) commit again but write no second record.
static FATAL: SigBool = SigBool::new(false);

/// The record of a fatal signal: signal name, thread name, thread id.
static SIGNAL_FORMAT: &str = "fatal signal {} on thread {} (tid {})";
/// The record written when a handler installed after tachylog's passed the signal on.
static CHAINED_FORMAT: &str = "signal {} passed on by a later handler on thread {} (tid {}): \
                               records committed, the process goes on";
/// The record of a panic: thread, file, line, column, message (as std prints it).
static PANIC_FORMAT: &str = "thread '{}' panicked at {}:{}:{}: {}";
/// A panic message longer than this is cut (at a character boundary): the record must fit
/// the crash slot's ring.
const PANIC_MESSAGE_MAX: usize = 2048;

struct Callsites {
    signal: &'static Callsite,
    chained: &'static Callsite,
    panic: &'static Callsite,
}

/// The crash records' call sites, created and registered at the first `install` (a handler
/// cannot register one: registration takes the registry's lock).
static CALLSITES: OnceLock<Callsites> = OnceLock::new();

fn leak_callsite(
    level: Level,
    target: &'static str,
    format: &'static str,
    args: &'static [&'static str],
) -> &'static Callsite {
    let cs: &'static Callsite = Box::leak(Box::new(Callsite::new(Metadata {
        level,
        target,
        module_path: "tachylog::crash",
        file: file!(),
        line: line!(),
        format,
        arg_names: args,
        field_names: &[],
    })));
    // Registers it now; from here on `id()` is one load.
    let _ = cs.id();
    cs
}

fn callsites() -> &'static Callsites {
    CALLSITES.get_or_init(|| Callsites {
        signal: leak_callsite(Level::Error, "signal", SIGNAL_FORMAT, &["", "", ""]),
        chained: leak_callsite(Level::Warn, "signal", CHAINED_FORMAT, &["", "", ""]),
        panic: leak_callsite(Level::Error, "panic", PANIC_FORMAT, &["", "", "", "", ""]),
    })
}

/// A ring reserved for crash records, with `Overflow::Drop` so that writing never waits. One
/// writer at a time: `busy` is taken with a swap, and whoever finds it taken (another thread
/// crashing at the same moment, or a handler interrupting a write into the slot) writes no
/// record rather than wait.
struct CrashSlot {
    busy: SigBool,
    producer: UnsafeCell<Option<Producer>>,
}

// SAFETY: `producer` is only touched by whoever holds `busy` (see `with`).
unsafe impl Sync for CrashSlot {}

impl CrashSlot {
    /// Runs `f` on the slot if no one else holds it.
    fn with<R>(&self, f: impl FnOnce(&mut Option<Producer>) -> R) -> Option<R> {
        // Acquire pairs with the release below: the previous holder's writes are visible.
        if self.busy.swap(true, Ordering::Acquire) {
            return None;
        }
        // SAFETY: `busy` was false and is now ours: no other reference to `producer` exists
        // until we store false again.
        let r = f(unsafe { &mut *self.producer.get() });
        self.busy.store(false, Ordering::Release);
        Some(r)
    }

    /// Like `with`, waiting (briefly: a holder writes one record) until the slot is free.
    /// Not for signal handlers.
    fn with_wait<R>(&self, mut f: impl FnMut(&mut Option<Producer>) -> R) -> R {
        let mut round = 0u32;
        loop {
            if let Some(r) = self.with(&mut f) {
                return r;
            }
            crate::sync::backoff(round, Duration::from_micros(50));
            round = round.saturating_add(1);
        }
    }
}

static SLOT: CrashSlot = CrashSlot {
    busy: SigBool::new(false),
    producer: UnsafeCell::new(None),
};

/// Writes one record with `args` into the crash slot. No lock, no allocation: `Vec::new()`
/// allocates nothing, and the arguments are plain values and strings copied into the ring.
fn write_to_slot<A: Args>(cs: &'static Callsite, args: &A) -> bool {
    SLOT.with(|p| match p.as_mut() {
        Some(p) => {
            // The call site was registered at install: `id()` is one load here.
            let id = cs.id();
            let mut no_arena = Vec::new();
            p.write(&mut no_arena, id, clock::ticks(), args.size(), |w| {
                args.encode(w)
            })
        }
        None => false,
    })
    .unwrap_or(false)
}

/// The arguments of a crash record, encoded in order.
trait Args {
    fn size(&self) -> usize;
    fn encode(&self, w: &mut Writer<'_>);
}

impl<A: Encode + ?Sized, B: Encode + ?Sized, C: Encode> Args for (&A, &B, C) {
    fn size(&self) -> usize {
        self.0.size() + self.1.size() + self.2.size()
    }
    fn encode(&self, w: &mut Writer<'_>) {
        self.0.encode(w);
        self.1.encode(w);
        self.2.encode(w);
    }
}

impl Args for (&str, &str, u32, u32, &str) {
    fn size(&self) -> usize {
        self.0.size() + self.1.size() + self.2.size() + self.3.size() + self.4.size()
    }
    fn encode(&self, w: &mut Writer<'_>) {
        self.0.encode(w);
        self.1.encode(w);
        self.2.encode(w);
        self.3.encode(w);
        self.4.encode(w);
    }
}

/// Installs crash handling for `engine`, the process-wide logger being started (unless its
/// configuration turns it off: `Builder::crash_handling`, or `TACHYLOG_CRASH_HANDLING`, which
/// `init` has applied to it). Returns whether it did.
pub(crate) fn install(engine: &Arc<Shared>) -> bool {
    FORK_ENGINE.store(Arc::into_raw(engine.clone()).cast_mut(), Ordering::Release);
    if !engine.cfg.crash_handling || crate::sync::MODEL {
        return false;
    }
    let _ = callsites();
    let timeout = engine.cfg.crash_timeout.as_nanos().min(u64::MAX as u128) as u64;
    TIMEOUT_NS.store(timeout, Ordering::Relaxed);
    let slot = Producer::attach_as(
        engine.clone(),
        0,
        Some("tachylog-crash".to_owned()),
        limits::MIN_RING_BYTES,
        Overflow::Drop,
        false,
    );
    let mut slot = Some(slot);
    SLOT.with_wait(|p| *p = slot.take());
    FATAL.store(false, Ordering::Relaxed);
    // Release: a handler that loads the pointer (acquire) sees the slot and the call sites.
    ENGINE.store(Arc::into_raw(engine.clone()).cast_mut(), Ordering::Release);
    static HOOKS: OnceLock<()> = OnceLock::new();
    HOOKS.get_or_init(|| {
        // SAFETY: `on_exit` is an `extern "C" fn()` that never unwinds (it catches panics).
        unsafe { libc::atexit(on_exit) };
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            on_panic(info);
            previous(info);
        }));
    });
    signals::ensure_altstack();
    signals::install();
    true
}

/// Removes crash handling when the `Guard` is dropped: crash paths commit nothing from now on,
/// and each signal handler still installed is replaced by the one it replaced (unless another
/// was installed on top of it since, which then still calls ours: ours does nothing more than
/// pass the signal on). The exit and panic hooks stay (they do nothing without an engine).
pub(crate) fn uninstall() {
    FORK_ENGINE.store(ptr::null_mut(), Ordering::Release);
    let old = ENGINE.swap(ptr::null_mut(), Ordering::AcqRel);
    if old.is_null() {
        return;
    }
    signals::uninstall();
    // Bounded: in a child of `fork`, a thread that held the slot at the fork is gone.
    let mut slot = None;
    for round in 0..10_000u32 {
        if let Some(s) = SLOT.with(|p| p.take()) {
            slot = s;
            break;
        }
        crate::sync::backoff(round, Duration::from_micros(20));
    }
    drop(slot);
}

/// Registers `pthread_atfork` handlers (once per process): the parent holds the logger's
/// process-wide locks across `fork` (`ACTIVE`, the call-site registry, the filter, the
/// sampling registry, the engine's new-ring list), so that the child never finds one held by
/// a thread it does not have; the child marks the engine it inherited as forked away
/// (`Shared::mark_forked`): it logs nothing, counts every record as dropped, and its `flush()`
/// and `Guard` drop return at once.
pub(crate) fn watch_fork() {
    if crate::sync::MODEL {
        return;
    }
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // SAFETY: three `extern "C" fn()` that never unwind.
        unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child)) };
    });
}

/// The engine `init` started last, for the `fork` handlers: set by `install` whatever the
/// crash-handling setting, cleared by `uninstall`.
static FORK_ENGINE: AtomicPtr<Shared> = AtomicPtr::new(ptr::null_mut());

/// Locks held across `fork` by the forking thread, in lock order.
struct Held {
    _active: Box<dyn std::any::Any>,
    _registry: Box<dyn std::any::Any>,
    _filter: Box<dyn std::any::Any>,
    _sampling: Box<dyn std::any::Any>,
    _new_rings: Option<crate::sync::MutexGuard<'static, Vec<crate::runtime::NewRing>>>,
}

// sync-lint: allow (the forking thread's own locks between fork's prepare and parent/child)
thread_local! {
    static HELD: std::cell::RefCell<Option<Held>> = const { std::cell::RefCell::new(None) };
}

extern "C" fn fork_prepare() {
    let _ = std::panic::catch_unwind(|| {
        let active = Box::new(crate::runtime::hold_active_for_fork());
        let registry = Box::new(crate::frontend::callsite::hold_for_fork());
        let filter = Box::new(crate::runtime::hold_filter_for_fork());
        let sampling = Box::new(crate::frontend::sampling::hold_for_fork());
        let p = FORK_ENGINE.load(Ordering::Acquire);
        // SAFETY: as in `engine()`: the pointer's strong count is never given back.
        let new_rings = (!p.is_null()).then(|| crate::sync::lock(&unsafe { &*p }.new_rings));
        let held = Held {
            _active: active,
            _registry: registry,
            _filter: filter,
            _sampling: sampling,
            _new_rings: new_rings,
        };
        HELD.with(|h| *h.borrow_mut() = Some(held));
    });
}

fn release_held() {
    // Unlocking in any order is fine: nothing waits on a second lock while holding one.
    let held = HELD.with(|h| h.borrow_mut().take());
    drop(held);
}

extern "C" fn fork_parent() {
    let _ = std::panic::catch_unwind(release_held);
}

extern "C" fn fork_child() {
    let _ = std::panic::catch_unwind(|| {
        let p = FORK_ENGINE.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: as in `engine()`.
            unsafe { &*p }.mark_forked();
        }
        release_held();
    });
}

/// The engine crash paths commit, if any.
fn engine() -> Option<&'static Shared> {
    let p = ENGINE.load(Ordering::Acquire);
    // SAFETY: a non-null pointer came from `Arc::into_raw` in `install`, whose strong count is
    // never given back, so the engine lives until the process ends.
    (!p.is_null()).then(|| unsafe { &*p })
}

fn timeout() -> Duration {
    Duration::from_nanos(TIMEOUT_NS.load(Ordering::Relaxed))
}

/// The `atexit` hook: `std::process::exit`, or `main` returning, with the logger still
/// running. Flushes, then stops the drain and lets it seal the segment, each bounded by the
/// crash timeout.
extern "C" fn on_exit() {
    // A panic must not unwind into C.
    let _ = std::panic::catch_unwind(|| {
        let Some(engine) = engine() else { return };
        if producer::os_tid() == engine.drain_tid.load(Ordering::Relaxed) {
            return;
        }
        let t = timeout();
        let _ = engine.flush(Some(t));
        engine.stop.store(true, Ordering::Release);
        engine.wake_drain();
        let deadline = clock::mono_ns().saturating_add(t.as_nanos() as u64);
        while engine.alive.load(Ordering::Acquire) && clock::mono_ns() < deadline {
            engine.wake_drain();
            std::thread::sleep(Duration::from_micros(100)); // sync-lint: allow (exit hook: not modelled)
        }
    });
}

/// The panic hook: records the panic and commits, before the previous hook prints it.
fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    let Some(engine) = engine() else { return };
    let tid = producer::os_tid();
    if tid == engine.drain_tid.load(Ordering::Relaxed) {
        // The drain supervises its own panics; it cannot wait for itself.
        return;
    }
    let thread = crate::sync::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let (file, line, col) = info
        .location()
        .map_or(("<unknown>", 0, 0), |l| (l.file(), l.line(), l.column()));
    let payload = info.payload();
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    let msg = cut(msg, PANIC_MESSAGE_MAX);
    let args = (name, file, line, col, msg);
    let cs = callsites().panic;
    // The panicking thread's own ring when it has one (the record then sits among its others);
    // the crash slot otherwise (a thread that never logged, or one that panicked while writing).
    if !producer::log_if_attached(cs, args.size(), |w| args.encode(w)) {
        let mut round = 0u32;
        while !write_to_slot(cs, &args) && round < 1000 {
            crate::sync::backoff(round, Duration::from_micros(20));
            round += 1;
        }
    }
    if cfg!(panic = "abort") {
        // The abort that follows raises SIGABRT: this record already says why.
        FATAL.store(true, Ordering::Relaxed);
    }
    let _ = engine.flush(Some(timeout()));
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Blocks the termination signals on the calling thread (the drain), so that the kernel
/// delivers a process-directed SIGTERM, SIGINT, SIGHUP or SIGQUIT to a thread that can wait
/// for the drain, never to the drain itself.
pub(crate) fn block_termination_signals() {
    if crate::sync::MODEL {
        return;
    }
    signals::block_termination(libc::SIG_BLOCK, None);
}

/// Blocks the termination signals on the calling thread until dropped, then restores its mask:
/// threads started meanwhile (the drain, the segment preparer, the compressor, the console)
/// inherit the blocked mask, so a process-directed SIGTERM, SIGINT, SIGHUP or SIGQUIT goes to
/// an application thread. A handler running on one of the logger's own threads could wait on
/// a drain that waits on that thread.
pub(crate) struct TerminationBlocked(Option<libc::sigset_t>);

impl TerminationBlocked {
    pub(crate) fn new() -> TerminationBlocked {
        if crate::sync::MODEL {
            return TerminationBlocked(None);
        }
        let mut old = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
        signals::block_termination(libc::SIG_BLOCK, Some(old.as_mut_ptr()));
        // SAFETY: pthread_sigmask filled `old` with the thread's previous mask.
        TerminationBlocked(Some(unsafe { old.assume_init() }))
    }
}

impl Drop for TerminationBlocked {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            // SAFETY: a mask this thread had; applied back to it.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old, ptr::null_mut()) };
        }
    }
}

mod signals {
    //! The fatal-signal handlers. Every call on the handler's path is async-signal-safe; each
    //! says why beside it (summary in `docs/CONCURRENCY.md`).
    use super::*;
    use libc::{SIG_DFL, siginfo_t};
    use std::ffi::c_void;

    /// Signals that mean a fault or an abort: handled always, chained to whatever was there.
    const FAULTS: [c_int; 5] = [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGABRT,
    ];
    /// Signals that ask the process to end: handled only where their disposition is the
    /// default one (a program's own handler, or SIG_IGN, is left alone).
    const TERMS: [c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];
    const COUNT: usize = FAULTS.len() + TERMS.len();

    fn signal_at(i: usize) -> c_int {
        if i < FAULTS.len() {
            FAULTS[i]
        } else {
            TERMS[i - FAULTS.len()]
        }
    }

    fn index_of(sig: c_int) -> Option<usize> {
        (0..COUNT).find(|&i| signal_at(i) == sig)
    }

    fn name_of(sig: c_int) -> &'static str {
        match sig {
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGBUS => "SIGBUS",
            libc::SIGILL => "SIGILL",
            libc::SIGFPE => "SIGFPE",
            libc::SIGABRT => "SIGABRT",
            libc::SIGTERM => "SIGTERM",
            libc::SIGINT => "SIGINT",
            libc::SIGHUP => "SIGHUP",
            libc::SIGQUIT => "SIGQUIT",
            _ => "unknown signal",
        }
    }

    /// One signal's saved disposition.
    struct Saved {
        /// Ours is installed (and `old` holds what it replaced).
        installed: SigBool,
        old: UnsafeCell<MaybeUninit<libc::sigaction>>,
    }

    // SAFETY: `old` is written only while `installed` is false and before our handler is
    // installed for that signal (by the thread running `install`, under `HOOKS`'s or the
    // `ACTIVE` lock of `init`), and read by the handler, which can only run after.
    unsafe impl Sync for Saved {}

    static SAVED: [Saved; COUNT] = [const {
        Saved {
            installed: SigBool::new(false),
            old: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }; COUNT];

    fn handler_address() -> libc::sighandler_t {
        on_signal as extern "C" fn(c_int, *mut siginfo_t, *mut c_void) as libc::sighandler_t
    }

    /// The disposition of `sig` now.
    fn current(sig: c_int) -> Option<libc::sigaction> {
        let mut cur = MaybeUninit::<libc::sigaction>::zeroed();
        // SAFETY: a null new action only reads the disposition into `cur`. sigaction(2) is
        // async-signal-safe (POSIX).
        let rc = unsafe { libc::sigaction(sig, ptr::null(), cur.as_mut_ptr()) };
        // SAFETY: sigaction filled it (and zeroed is a valid sigaction anyway).
        (rc == 0).then(|| unsafe { cur.assume_init() })
    }

    pub(super) fn install() {
        for (i, slot) in SAVED.iter().enumerate() {
            let sig = signal_at(i);
            if slot.installed.load(Ordering::Acquire) {
                continue;
            }
            let Some(cur) = current(sig) else { continue };
            if i >= FAULTS.len() && cur.sa_sigaction != SIG_DFL {
                continue;
            }
            // SAFETY: a zeroed sigaction is valid; the fields that matter are set below.
            let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
            new.sa_sigaction = handler_address();
            // SA_ONSTACK: a stack overflow can still be reported. No SA_NODEFER: while the
            // handler runs, the signal stays blocked, so re-raising it leaves it pending until
            // the handler returns.
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `new.sa_mask` is a valid sigset_t to initialise.
            unsafe { libc::sigemptyset(&mut new.sa_mask) };
            // SAFETY: `installed` is false: no handler of ours reads `old` for this signal.
            unsafe { (*slot.old.get()).write(cur) };
            slot.installed.store(true, Ordering::Release);
            let mut replaced = MaybeUninit::<libc::sigaction>::zeroed();
            // SAFETY: valid pointers to a sigaction to install and one to fill.
            let rc = unsafe { libc::sigaction(sig, &new, replaced.as_mut_ptr()) };
            if rc != 0 {
                slot.installed.store(false, Ordering::Release);
                continue;
            }
            // SAFETY: filled by sigaction. Another thread may have changed the disposition
            // between the query and the exchange: keep what was really replaced.
            unsafe { (*slot.old.get()).write(replaced.assume_init()) };
        }
    }

    pub(super) fn uninstall() {
        for (i, slot) in SAVED.iter().enumerate() {
            let sig = signal_at(i);
            if !slot.installed.load(Ordering::Acquire) {
                continue;
            }
            let Some(cur) = current(sig) else { continue };
            if cur.sa_sigaction != handler_address() {
                // Someone installed a handler over ours; it may still call ours, which then
                // passes the signal on. Leave both.
                continue;
            }
            // SAFETY: `installed` is true, so `old` holds the disposition ours replaced.
            let old = unsafe { (*slot.old.get()).assume_init_ref() };
            // SAFETY: a valid sigaction to install.
            if unsafe { libc::sigaction(sig, old, ptr::null_mut()) } == 0 {
                slot.installed.store(false, Ordering::Release);
            }
        }
    }

    /// Applies `how` (`SIG_BLOCK`) with the termination signals to the calling thread, writing
    /// its previous mask to `old` if given.
    pub(super) fn block_termination(how: c_int, old: Option<*mut libc::sigset_t>) {
        // SAFETY: an empty set filled with valid signal numbers, then applied to this thread;
        // `old`, if given, points to writable memory for a sigset_t.
        unsafe {
            let mut set = MaybeUninit::<libc::sigset_t>::zeroed();
            libc::sigemptyset(set.as_mut_ptr());
            for s in TERMS {
                libc::sigaddset(set.as_mut_ptr(), s);
            }
            libc::pthread_sigmask(how, set.as_ptr(), old.unwrap_or(ptr::null_mut()));
        }
    }

    /// Bytes of the alternate signal stack `install` gives its thread when it has none, or
    /// one smaller than this: room for the kernel's signal frame, our handler, and std's
    /// stack-overflow handler nested with the SIGABRT that follows it.
    const ALTSTACK_BYTES: usize = 64 << 10;

    /// Gives the calling thread (the one starting the logger, usually `main`) an alternate
    /// signal stack of at least [`ALTSTACK_BYTES`]. Other threads use the one std gives every
    /// thread it starts. The mapping is never freed: a signal may use it until the process ends.
    pub(super) fn ensure_altstack() {
        let mut cur = MaybeUninit::<libc::stack_t>::zeroed();
        // SAFETY: a null new stack only reads the current one.
        if unsafe { libc::sigaltstack(ptr::null(), cur.as_mut_ptr()) } != 0 {
            return;
        }
        // SAFETY: filled by sigaltstack.
        let cur = unsafe { cur.assume_init() };
        if cur.ss_flags & libc::SS_DISABLE == 0 && cur.ss_size >= ALTSTACK_BYTES {
            return;
        }
        if cur.ss_flags & libc::SS_ONSTACK != 0 {
            return;
        }
        // SAFETY: page-size query has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
        let len = ALTSTACK_BYTES + page;
        // SAFETY: an anonymous private mapping; checked for failure below.
        let mem = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if mem == libc::MAP_FAILED {
            return;
        }
        // SAFETY: `mem` is the start of our `len`-byte mapping; its lowest page becomes a guard
        // page, so overflowing the alternate stack faults instead of writing past it.
        unsafe { libc::mprotect(mem, page, libc::PROT_NONE) };
        let stack = libc::stack_t {
            // SAFETY: `page` is inside the mapping.
            ss_sp: unsafe { mem.cast::<u8>().add(page) }.cast(),
            ss_flags: 0,
            ss_size: ALTSTACK_BYTES,
        };
        // SAFETY: a valid stack description of memory that stays mapped forever.
        unsafe { libc::sigaltstack(&stack, ptr::null_mut()) };
    }

    /// `CLOCK_MONOTONIC` in nanoseconds. clock_gettime(2) is async-signal-safe (POSIX).
    fn now_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid timespec to fill.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    /// The calling thread's name: `main` for the main thread (as std names it; the kernel
    /// knows it by the program's name), else the name the kernel holds (at most 15 bytes),
    /// read into `buf`. getpid(2) and prctl(2) are system calls without user-space state:
    /// safe in a handler.
    fn thread_name(tid: u32, buf: &mut [u8; 16]) -> &str {
        // SAFETY: getpid has no preconditions.
        if tid == unsafe { libc::getpid() } as u32 {
            return "main";
        }
        // SAFETY: PR_GET_NAME writes at most 16 bytes, NUL included, into `buf`.
        let rc = unsafe { libc::prctl(libc::PR_GET_NAME, buf.as_mut_ptr()) };
        if rc != 0 {
            return "?";
        }
        let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        std::str::from_utf8(&buf[..n]).unwrap_or("?")
    }

    /// Asks the drain to commit every ring and waits, at most the crash timeout, until it has.
    /// A flush ticket is one atomic increment; the wait polls two atomics and sleeps with
    /// nanosleep(2) (async-signal-safe, POSIX). The drain is not woken: it polls at least every
    /// `Builder::drain_idle` (1 ms by default).
    fn commit(engine: &Shared, tid: u32) {
        // AcqRel, as in `Shared::flush`: every record committed on this thread before (and
        // whatever happened-before it on others) is visible to the pass that completes it.
        let ticket = engine.flush_req.fetch_add(1, Ordering::AcqRel) + 1;
        if tid == engine.drain_tid.load(Ordering::Relaxed) {
            // A fault on the drain thread itself: nothing would complete the ticket.
            return;
        }
        let deadline = now_ns().saturating_add(TIMEOUT_NS.load(Ordering::Relaxed));
        let nap = libc::timespec {
            tv_sec: 0,
            tv_nsec: 50_000,
        };
        while engine.flush_done.load(Ordering::Acquire) < ticket
            && engine.alive.load(Ordering::Acquire)
            && now_ns() < deadline
        {
            // SAFETY: a valid timespec; an interrupted sleep just ends early.
            unsafe { libc::nanosleep(&nap, ptr::null_mut()) };
        }
    }

    /// The handler of every signal above.
    extern "C" fn on_signal(sig: c_int, info: *mut siginfo_t, _ctx: *mut c_void) {
        // SAFETY: errno is thread-local; reading and restoring it keeps the interrupted code's
        // value when this handler returns to it.
        let errno = unsafe { *libc::__errno_location() };
        let Some(i) = index_of(sig) else { return };
        // Whether ours is still the installed handler: if not, a handler installed after ours
        // called ours (as signal-hook does), and that one decides what happens to the process.
        let still_ours = current(sig).is_some_and(|c| c.sa_sigaction == handler_address());
        let tid = producer::os_tid(); // gettid(2): a system call
        // `OnceLock::get` is one acquire load; `install` created the call sites before it
        // installed any handler.
        if let (Some(engine), Some(cs)) = (engine(), CALLSITES.get()) {
            let mut buf = [0u8; 16];
            let thread = thread_name(tid, &mut buf);
            let name = name_of(sig);
            if !still_ours {
                write_to_slot(cs.chained, &(name, thread, tid));
            } else if !FATAL.swap(true, Ordering::Relaxed) {
                write_to_slot(cs.signal, &(name, thread, tid));
            }
            commit(engine, tid);
        }
        if !still_ours {
            // SAFETY: as above.
            unsafe { *libc::__errno_location() = errno };
            return;
        }
        let slot = &SAVED[i];
        // SAFETY: ours is installed for `sig`, so `installed` was set and `old` holds what ours
        // replaced.
        let old = unsafe { (*slot.old.get()).assume_init_ref() };
        // SAFETY: a valid sigaction (sigaction(2) is async-signal-safe).
        unsafe { libc::sigaction(sig, old, ptr::null_mut()) };
        slot.installed.store(false, Ordering::Release);
        // SAFETY: the kernel passes a valid siginfo with SA_SIGINFO (null checked anyway).
        let sent = info.is_null() || unsafe { (*info).si_code } <= 0;
        if sent || i >= FAULTS.len() {
            // Sent by kill/raise/abort (or a termination signal): raise it again. It stays
            // pending while this handler runs (no SA_NODEFER) and is delivered under the
            // restored disposition when it returns. raise(3) is async-signal-safe (POSIX).
            // SAFETY: a valid signal number.
            unsafe { libc::raise(sig) };
        }
        // A fault raised by an instruction: returning runs the instruction again, which faults
        // again under the restored disposition (std's stack-overflow handler, or the default).
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = errno };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cut_at_a_char_boundary() {
        let s = "é".repeat(10); // 2 bytes each
        assert_eq!(cut(&s, 5), "éé");
        assert_eq!(cut(&s, 6), "ééé");
        assert_eq!(cut("short", 100), "short");
    }
}
