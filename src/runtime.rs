//! The runtime state that the layers above share: an engine's configuration and counters,
//! what producers hand the drain, the flush protocol, and the process-wide logger's statics
//! (which engine is active, the level ceiling, the installed filter).
//!
//! Producers (`frontend`), the drain (`backend`) and the engine's lifecycle (`engine`) meet
//! here; none of them imports another's internals. Fields that other layers change go through
//! methods. Lock order, where more than one is held: [`ACTIVE`], then the call-site registry
//! (`frontend::callsite`), then the installed filter ([`decide`] / [`install`]).
use crate::error::Error;
use crate::filter::Filter;
use crate::sync::{
    self, Arc, AtomicBool, AtomicU8, AtomicU32, AtomicU64, Break, CachePadded, Condvar, Mutex,
    OnceLock, Ordering, lock, model_static, order, thread,
};
use crate::{Level, clock};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What a producer does when its ring has no room for a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Drop the record and count it; the drain writes a notice with the count. Never waits.
    #[default]
    Drop,
    /// Wait until the drain makes room (spin, then yield, then sleep).
    Block,
    /// Wait at most this long, then drop and count.
    BlockFor(Duration),
}

/// Where the development console prints ([`Builder::console`](crate::Builder::console),
/// `TACHYLOG_CONSOLE`), and the most verbose level it prints.
///
/// ```
/// use tachylog::{Console, Level};
/// assert_eq!("stderr:debug".parse::<Console>(), Ok(Console::stderr().level(Level::Debug)));
/// assert_eq!("off".parse::<Console>(), Ok(Console::off()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Console {
    pub(crate) stream: Option<ConsoleStream>,
    pub(crate) level: Level,
}

/// The stream a [`Console`] prints to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConsoleStream {
    Stderr,
    Stdout,
}

impl Console {
    /// No console (the default).
    pub fn off() -> Console {
        Console {
            stream: None,
            level: Level::Trace,
        }
    }
    /// Print to standard error, every record the engine keeps.
    pub fn stderr() -> Console {
        Console {
            stream: Some(ConsoleStream::Stderr),
            level: Level::Trace,
        }
    }
    /// Print to standard output, every record the engine keeps.
    pub fn stdout() -> Console {
        Console {
            stream: Some(ConsoleStream::Stdout),
            level: Level::Trace,
        }
    }
    /// Print only records of `level` and more severe. The segments still keep every record
    /// the engine's level and filter let through.
    pub fn level(mut self, level: Level) -> Console {
        self.level = level;
        self
    }
    /// Whether this console prints at all.
    pub fn is_on(&self) -> bool {
        self.stream.is_some()
    }
}

impl Default for Console {
    fn default() -> Console {
        Console::off()
    }
}

impl std::str::FromStr for Console {
    type Err = String;
    /// `stderr`, `stdout`, `off`, or a stream with a level: `stderr:debug`.
    fn from_str(s: &str) -> Result<Console, String> {
        let (stream, level) = match s.trim().split_once(':') {
            Some((s, l)) => (s.trim(), Some(l.trim())),
            None => (s.trim(), None),
        };
        let console = match stream.to_ascii_lowercase().as_str() {
            "stderr" => Console::stderr(),
            "stdout" => Console::stdout(),
            "off" | "none" if level.is_none() => return Ok(Console::off()),
            _ => {
                return Err(
                    "expected stderr, stdout or off, with a level after `:` if wanted \
                            (e.g. stderr:debug)"
                        .to_string(),
                );
            }
        };
        match level {
            None => Ok(console),
            Some(l) => l.parse::<Level>().map(|l| console.level(l)).map_err(|_| {
                format!("unknown level {l:?}: expected error, warn, info, debug or trace")
            }),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub dir: PathBuf,
    pub name: String,
    pub segment_size: usize,
    pub ring_capacity: usize,
    /// `ring_capacity` is the default, not set by the code or the environment: `init` then
    /// fits it to the segment size (at most half of it).
    pub ring_default: bool,
    pub overflow: Overflow,
    pub drain_core: Option<usize>,
    pub level: Level,
    pub max_idle: Duration,
    /// Benchmarks only (`Builder::discard_records`): the drain empties the rings and writes
    /// no records.
    pub discard_records: bool,
    /// Per-target filter; `None`: `level` for every target.
    pub filter: Option<Filter>,
    /// Rotate at multiples of this since the Unix epoch (as well as when full).
    pub rotate_every: Option<Duration>,
    /// Limits on the sealed segments kept.
    pub retention: RetentionLimits,
    pub compress: bool,
    /// Install the exit hook, panic hook and fatal-signal handlers (`Builder::crash_handling`).
    /// Only the process-wide logger installs them; engine values never do.
    pub crash_handling: bool,
    /// How long a crash handler lets the drain commit before the process goes on dying.
    pub crash_timeout: Duration,
    /// The development console (`Builder::console`): a thread that follows the segments.
    pub console: Console,
}

/// Limits on the sealed segments kept (`Builder::max_segments`, `max_total_bytes`, `max_age`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RetentionLimits {
    pub max_segments: Option<usize>,
    pub max_total_bytes: Option<u64>,
    pub max_age: Option<Duration>,
}

impl RetentionLimits {
    /// Whether any limit is set.
    pub(crate) fn is_set(&self) -> bool {
        self.max_segments.is_some() || self.max_total_bytes.is_some() || self.max_age.is_some()
    }
}

/// Counters of one engine, read with [`stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub records_written: AtomicU64,
    pub bytes_written: AtomicU64,
    pub records_dropped: AtomicU64,
    pub live_producers: AtomicU64,
    pub segments_created: AtomicU64,
    pub segments_removed: AtomicU64,
    pub segments_recovered: AtomicU64,
    pub drain_panics: AtomicU64,
}

/// State a producer shares with the drain.
#[derive(Debug)]
pub(crate) struct ProducerShared {
    /// Records this producer dropped (ring full, oversized). Written only by the producer.
    pub dropped: AtomicU64,
    /// Set (release) when the producer is gone; everything it committed before is then visible
    /// to a drain that reads `true` (acquire).
    pub closed: AtomicBool,
    /// Operating-system thread id.
    pub tid: u32,
    /// Thread name, if any.
    pub name: Option<String>,
    /// Counted in `live_producers` (every thread's ring; not the crash slot's).
    pub counted: bool,
    /// Records the drain took out of this ring (written, or counted as lost by the drain),
    /// published when the drain finishes, before `Shared::finished`: a producer that commits
    /// while the drain closes compares it with its own count (see `Shared::closing`).
    pub consumed: AtomicU64,
}

/// The consumer end of a new producer's ring, waiting for the drain to pick it up.
pub(crate) struct NewRing {
    pub id: u32,
    pub consumer: crate::sync::ring::Consumer,
    pub shared: Arc<ProducerShared>,
}

/// State shared by producers, the drain and the handle.
pub(crate) struct Shared {
    pub cfg: Config,
    pub counters: Counters,
    /// Rings created since the drain last looked; `has_new` says the list is non-empty.
    pub new_rings: Mutex<Vec<NewRing>>,
    pub has_new: AtomicBool,
    next_producer: AtomicU32,
    /// Records lost where no producer could be used (logging during thread teardown).
    pub orphan_dropped: AtomicU64,
    /// Flush tickets: callers take `flush_req + 1`; the drain publishes the highest ticket whose
    /// records are all in the segment in `flush_done`.
    pub flush_req: AtomicU64,
    pub flush_done: AtomicU64,
    flush_lock: Mutex<()>,
    flush_cv: Condvar,
    /// Set by `shutdown`; the drain finishes its work and exits.
    pub stop: AtomicBool,
    /// True while the drain thread runs.
    pub alive: AtomicBool,
    /// Set by the drain once it stops (then an asymmetric fence, then its last passes). A
    /// producer that finds it set right after committing a record cannot know whether the
    /// drain's last pass saw the record: it waits for `finished` and compares the ring's
    /// `consumed` with its own count, counting the record as dropped if the drain did not take
    /// it. Also set in a child process after `fork`, where no drain runs.
    /// Padded: every producer loads it after every record, while the drain writes the
    /// counters and flush fields around it.
    pub closing: CachePadded<AtomicBool>,
    /// Set (release) when the drain has ended for good, after it published every ring's
    /// `consumed`.
    pub finished: AtomicBool,
    /// The drain thread, set once when it starts. A `OnceLock` rather than a lock, so waking
    /// the drain takes no lock (the panic hook and the exit hook wake it).
    drain_thread: OnceLock<thread::Thread>,
    /// Operating-system id of the drain thread (0 until it runs): a crash handler running on
    /// the drain thread itself must not wait for the drain.
    pub drain_tid: AtomicU32,
    pub calibration_tps: AtomicU64,
    /// The process that started the engine. In a child of `fork` (another pid) no drain runs:
    /// the child's `fork` handler marks the engine closed and finished, every record is
    /// counted as dropped, and `flush` and the shutdown return at once.
    pub pid: u32,
}

impl Shared {
    pub(crate) fn next_producer_id(&self) -> u32 {
        self.next_producer.fetch_add(1, Ordering::Relaxed)
    }

    /// Wakes the drain if it sleeps.
    pub(crate) fn wake_drain(&self) {
        if let Some(t) = self.drain_thread.get() {
            sync::unpark(t);
        }
    }

    /// Records the drain thread, for [`wake_drain`](Self::wake_drain) (once per engine).
    pub(crate) fn set_drain_thread(&self, t: thread::Thread) {
        let _ = self.drain_thread.set(t);
    }

    /// Called by the drain after the records of ticket `ticket` are in the segment.
    pub(crate) fn complete_flush(&self, ticket: u64) {
        self.flush_done.store(ticket, Ordering::Release);
        let _g = lock(&self.flush_lock);
        self.flush_cv.notify_all();
    }

    /// Whether this is a child of `fork` that inherited the engine without its drain.
    pub(crate) fn forked_away(&self) -> bool {
        self.pid != std::process::id()
    }

    /// In a child of `fork`: no drain runs here. Marks the engine as stopped and finished, so
    /// that `flush` returns at once and every record logged is counted as dropped (a producer
    /// that commits sees `closing`, finds `finished`, and its record not consumed).
    pub(crate) fn mark_forked(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.stop.store(true, Ordering::Relaxed);
        self.alive.store(false, Ordering::Release);
        self.finished.store(true, Ordering::Release);
    }

    /// Called once when the drain thread ends, however it ends.
    pub(crate) fn drain_exited(&self) {
        self.alive.store(false, Ordering::Release);
        self.finished.store(true, Ordering::Release);
        let _g = lock(&self.flush_lock);
        self.flush_cv.notify_all();
    }

    /// Blocks until every record committed (by any thread) before the call is in the segment,
    /// or `timeout` passes, or the drain is gone.
    pub(crate) fn flush(&self, timeout: Option<Duration>) -> Result<(), Error> {
        // AcqRel: everything this thread (and whatever happened-before it) committed to a ring
        // is visible to the drain once it reads this ticket with acquire.
        let ticket = self
            .flush_req
            .fetch_add(1, order(Ordering::AcqRel, Break::FlushTicketRelaxed))
            + 1;
        self.wake_drain();
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut g = lock(&self.flush_lock);
        loop {
            if self.flush_done.load(Ordering::Acquire) >= ticket {
                return Ok(());
            }
            if !self.alive.load(Ordering::Acquire) {
                return Err(Error::DrainStopped);
            }
            let wait = match deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(Error::Timeout(timeout.unwrap_or_default()));
                    }
                    (d - now).min(Duration::from_millis(10))
                }
                None => Duration::from_millis(10),
            };
            g = self
                .flush_cv
                .wait_timeout(g, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            self.wake_drain();
        }
    }
}

impl Shared {
    /// Fresh shared state for an engine with this configuration.
    pub(crate) fn new(cfg: Config, calib: &clock::Calibration) -> Shared {
        Shared {
            cfg,
            counters: Counters::default(),
            new_rings: Mutex::new(Vec::new()),
            has_new: AtomicBool::new(false),
            next_producer: AtomicU32::new(1),
            orphan_dropped: AtomicU64::new(0),
            flush_req: AtomicU64::new(0),
            flush_done: AtomicU64::new(0),
            flush_lock: Mutex::new(()),
            flush_cv: Condvar::new(),
            stop: AtomicBool::new(false),
            alive: AtomicBool::new(true),
            closing: CachePadded(AtomicBool::new(false)),
            finished: AtomicBool::new(false),
            drain_thread: OnceLock::new(),
            drain_tid: AtomicU32::new(0),
            calibration_tps: AtomicU64::new(calib.ticks_per_sec().to_bits()),
            pid: std::process::id(),
        }
    }
}

pub(crate) struct Active {
    pub generation: u32,
    pub engine: Arc<Shared>,
}

model_static! {
    /// The running process-wide logger, if any (slow paths only: attach, flush, stats).
    pub(crate) static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);
}
model_static! {
    /// Changes on every `init`; thread-local producers compare it to re-attach. Read on every
    /// record: padded away from `ACTIVE`, whose lock `flush()` and `stats()` take.
    pub(crate) static GENERATION: CachePadded<AtomicU32> = CachePadded(AtomicU32::new(0));
}
model_static! {
    /// Most verbose level enabled at run time; 0 while no logger runs. Read on every log call:
    /// padded, as `GENERATION` is.
    pub(crate) static MAX_LEVEL: CachePadded<AtomicU8> = CachePadded(AtomicU8::new(0));
}

/// Holds the `ACTIVE` lock, then the filter's, until the result is dropped (across `fork`,
/// in the lock order: `ACTIVE`, then the call-site registry, then the filter; the caller takes
/// the registry's in between).
pub(crate) fn hold_active_for_fork() -> impl Sized + 'static {
    lock(&ACTIVE)
}

/// Holds the installed filter's lock until the result is dropped (across `fork`).
pub(crate) fn hold_filter_for_fork() -> impl Sized + 'static {
    lock(&CURRENT)
}

/// The running process-wide engine, if any.
pub(crate) fn active_engine() -> Option<Arc<Shared>> {
    lock(&ACTIVE).as_ref().map(|a| a.engine.clone())
}

/// The filter call sites are resolved against, with the default level for targets it does
/// not name. Locked after the call-site registry where both are held.
struct Current {
    filter: Filter,
    default: u8,
}

model_static! {
    static CURRENT: Mutex<Option<Current>> = Mutex::new(None);
}

/// Installs `filter` (with `default` for unnamed targets when it has no bare level) and
/// returns the global ceiling for `MAX_LEVEL`. The caller then refreshes the call sites.
pub(crate) fn install(filter: Filter, default: Level) -> u8 {
    let max = filter.max_level(default as u8);
    *lock(&CURRENT) = Some(Current {
        filter,
        default: default as u8,
    });
    max
}

/// The decision for a call site under the installed filter (everything passes if none is
/// installed: `MAX_LEVEL` alone decides then).
pub(crate) fn decide(target: &str, level: Level) -> bool {
    match lock(&CURRENT).as_ref() {
        Some(c) => c.filter.enabled_or(target, level, c.default),
        None => true,
    }
}

/// Called after the level ceiling changes (the `log` bridge copies it into `log`'s own).
static LEVEL_HOOK: OnceLock<fn(u8)> = OnceLock::new();

/// Registers `hook`, called with the new ceiling whenever [`MAX_LEVEL`] changes, with the
/// `ACTIVE` lock held. A bridge registers itself here; nothing below imports a bridge.
#[cfg_attr(not(feature = "log"), allow(dead_code))] // registered by the `log` bridge
pub(crate) fn on_max_level_change(hook: fn(u8)) {
    let _ = LEVEL_HOOK.set(hook);
}

/// Sets the level ceiling and tells the registered hook.
pub(crate) fn set_max_level(max: u8) {
    MAX_LEVEL.store(max, Ordering::Release);
    if let Some(hook) = LEVEL_HOOK.get() {
        hook(max);
    }
}
