//! The engine's lifecycle: the `Builder` and its checks, starting and stopping an engine (its
//! drain and compressor threads), the `Guard`, and the public functions of the process-wide
//! logger that the macros use (a thin static on top of an engine value).
use crate::backend::Drain;
use crate::console::{self, ConsoleThread};
use crate::env::EnvOverrides;
use crate::error::Error;
use crate::filter::Filter;
use crate::frontend::{callsite, sampling};
use crate::runtime::{
    self, ACTIVE, Active, Config, Console, GENERATION, Overflow, Shared, active_engine,
};
use crate::storage::{SegmentDir, compress};
use crate::sync::{Arc, Ordering, lock, thread};
use crate::wire::limits;
use crate::{Level, clock};
use std::path::PathBuf;
use std::time::Duration;

/// Configures and starts the process-wide logger.
///
/// ```no_run
/// let _guard = tachylog::Builder::new().dir("logs").level(tachylog::Level::Debug).init()?;
/// tachylog::info!("ready on port {}", 8080);
/// # Ok::<(), tachylog::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Builder does nothing until `init` is called"]
pub struct Builder {
    pub(crate) cfg: Config,
    env: EnvSource,
}

/// Where `init` takes the operator's overrides from.
#[derive(Debug, Clone)]
enum EnvSource {
    /// The process environment, read by `init`.
    Process,
    /// Read earlier ([`Builder::from_env`], [`Builder::from_env_with`]).
    Read(Box<EnvOverrides>),
    /// None ([`Builder::env_overrides`]`(false)`).
    Off,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: directory `logs`, name `tachylog`, 64 MiB segments, 8 MiB rings,
    /// `Overflow::Drop`, drain not pinned, drain naps of up to 1 ms, level `Info`, no console.
    ///
    /// The ring and policy are sized for a service that must not wait on its logger: one
    /// thread's back-to-back burst of 200,000 records of about 35 bytes fits in its ring even
    /// if the drain gets no CPU during the burst, and a producer whose ring passes half full
    /// wakes a napping drain. Limits: see [`ring_capacity`](Builder::ring_capacity) and
    /// [`segment_size`](Builder::segment_size).
    pub fn new() -> Self {
        Builder {
            cfg: Config {
                dir: PathBuf::from("logs"),
                name: "tachylog".into(),
                segment_size: 64 << 20,
                ring_capacity: DEFAULT_RING_BYTES,
                ring_default: true,
                overflow: Overflow::Drop,
                drain_core: None,
                level: Level::Info,
                max_idle: Duration::from_millis(1),
                discard_records: false,
                filter: None,
                rotate_every: None,
                retention: Default::default(),
                compress: false,
                crash_handling: true,
                crash_timeout: Duration::from_secs(1),
                console: Console::off(),
            },
            env: EnvSource::Process,
        }
    }

    /// A `Builder` with the defaults of [`Builder::new`], and the `TACHYLOG_*` variables read
    /// now, so that a value that does not parse is an `Err` here rather than at `init`. The
    /// variables override what the code sets, whether or not it calls this: `init` applies
    /// them last (see [`env_overrides`](Builder::env_overrides)). `Err` is [`Error::Env`]
    /// naming the variable.
    ///
    /// | variable | setting | values |
    /// | --- | --- | --- |
    /// | `TACHYLOG_LOG` | [`filter`](Builder::filter) | `info,orders=debug` |
    /// | `TACHYLOG_DIR` | [`dir`](Builder::dir) | `/var/log/app` |
    /// | `TACHYLOG_NAME` | [`name`](Builder::name) | `orders` |
    /// | `TACHYLOG_SEGMENT_SIZE` | [`segment_size`](Builder::segment_size) | `65536`, `256k`, `64m`, `1g` |
    /// | `TACHYLOG_RING_CAPACITY` | [`ring_capacity`](Builder::ring_capacity) | `256k` |
    /// | `TACHYLOG_OVERFLOW` | [`overflow`](Builder::overflow) | `drop`, `block`, `block_for:5ms` |
    /// | `TACHYLOG_DRAIN_CORE` | [`drain_core`](Builder::drain_core) | `3`, `none` |
    /// | `TACHYLOG_DRAIN_IDLE` | [`drain_idle`](Builder::drain_idle) | `1ms`, `0s` |
    /// | `TACHYLOG_ROTATE_EVERY` | [`rotate_every`](Builder::rotate_every) | `1h`, `15min`, `off` |
    /// | `TACHYLOG_MAX_SEGMENTS` | [`max_segments`](Builder::max_segments) | `100`, `off` |
    /// | `TACHYLOG_MAX_TOTAL_BYTES` | [`max_total_bytes`](Builder::max_total_bytes) | `10g`, `off` |
    /// | `TACHYLOG_MAX_AGE` | [`max_age`](Builder::max_age) | `7days`, `off` |
    /// | `TACHYLOG_COMPRESS` | [`compress`](Builder::compress) | `on`, `off` |
    /// | `TACHYLOG_CRASH_HANDLING` | [`crash_handling`](Builder::crash_handling) | `on`, `off` |
    /// | `TACHYLOG_CRASH_TIMEOUT` | [`crash_timeout`](Builder::crash_timeout) | `1s`, `250ms` |
    /// | `TACHYLOG_CONSOLE` | [`console`](Builder::console) | `stderr`, `stderr:debug`, `stdout`, `off` |
    ///
    /// ```no_run
    /// // TACHYLOG_LOG=debug TACHYLOG_DIR=/var/log/app ./app
    /// let _guard = tachylog::Builder::from_env()?
    ///     .dir("logs") // the default where TACHYLOG_DIR is unset; /var/log/app above
    ///     .init()?;
    /// # Ok::<(), tachylog::Error>(())
    /// ```
    pub fn from_env() -> Result<Builder, Error> {
        Builder::from_env_with(|var| std::env::var(var).ok())
    }

    /// As [`from_env`](Builder::from_env), reading variables through `lookup` instead of the
    /// process environment (for tests, or settings kept elsewhere); `init` then applies these
    /// and does not read the process environment.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Builder, Error> {
        let mut b = Builder::new();
        b.env = EnvSource::Read(Box::new(EnvOverrides::read(lookup)?));
        Ok(b)
    }

    /// Whether `init` lets the `TACHYLOG_*` variables override the code's settings (default
    /// `true`). `false` is for programs whose logging an operator must not retune, and for
    /// tests that must not depend on the environment.
    pub fn env_overrides(mut self, on: bool) -> Self {
        self.env = if on {
            EnvSource::Process
        } else {
            EnvSource::Off
        };
        self
    }
    /// Directory for segment files (created if missing).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cfg.dir = dir.into();
        self
    }
    /// File-name prefix: segments are `<dir>/<name>-<seq>.tlog`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.cfg.name = name.into();
        self
    }
    /// Bytes reserved per segment (default 64 MiB); a segment rotates when the next frame
    /// would not fit. At least 16 KiB and at least twice
    /// [`ring_capacity`](Builder::ring_capacity) (so that any record fits), at most
    /// 4 GiB − 1 (what readers accept); `init` refuses other values with [`Error::Config`].
    /// The live segment and the next one, prepared ahead, are mapped and faulted in: two
    /// segments of disk and page cache.
    pub fn segment_size(mut self, bytes: usize) -> Self {
        self.cfg.segment_size = bytes;
        self
    }
    /// Bytes of ring per producing thread (default 8 MiB, or half the
    /// [`segment_size`](Builder::segment_size) where that is less). At least 4 KiB, at most 1 GiB (the
    /// largest record), and at most half of [`segment_size`](Builder::segment_size); `init`
    /// refuses other values with [`Error::Config`]. A record larger than the ring is dropped
    /// and counted.
    ///
    /// Memory: each thread that logs reserves this much address space; its pages become
    /// resident as the ring is written, all of them once it has wrapped. Sizing under
    /// `Overflow::Drop`: a burst is absorbed without loss when the ring holds its bytes (a
    /// record is 16 bytes of head plus its arguments, about 35 bytes for two `u32` and an
    /// `f64`); when the drain keeps the CPU, a smaller ring does, since a producer whose ring
    /// passes half full wakes the drain.
    pub fn ring_capacity(mut self, bytes: usize) -> Self {
        self.cfg.ring_capacity = bytes;
        self.cfg.ring_default = false;
        self
    }
    /// What to do when a thread's ring is full.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.cfg.overflow = overflow;
        self
    }
    /// Pin the drain thread to this core (`None`: let the OS place it).
    pub fn drain_core(mut self, core: Option<usize>) -> Self {
        self.cfg.drain_core = core;
        self
    }
    /// Most verbose level kept at run time.
    pub fn level(mut self, level: Level) -> Self {
        self.cfg.level = level;
        self
    }
    /// Per-target levels in the grammar of `RUST_LOG`, e.g. `"info,orders=debug,net::conn=warn"`
    /// (see [`Filter`](crate::Filter)). A bare level in it replaces [`level`](Self::level);
    /// without one, targets it does not name keep that level. `Err` names the first invalid
    /// directive.
    ///
    /// ```no_run
    /// let _guard = tachylog::Builder::new().filter("info,orders=debug,net::conn=warn")?.init()?;
    /// # Ok::<(), tachylog::Error>(())
    /// ```
    pub fn filter(mut self, spec: &str) -> Result<Self, Error> {
        self.cfg.filter = Some(Filter::parse(spec)?);
        Ok(self)
    }
    /// Also rotate when the wall clock crosses a multiple of `every` since the Unix epoch
    /// (UTC): with one hour, each segment holds at most one clock hour, 12:00 to 13:00. A
    /// period without records creates no segment.
    pub fn rotate_every(mut self, every: Duration) -> Self {
        self.cfg.rotate_every = Some(every);
        self
    }
    /// Keep at most `n` segments of this name in the directory (the live one included),
    /// deleting the oldest sealed ones. Only sealed segments are deleted, raw or compressed
    /// (`.tlog.lz4`).
    pub fn max_segments(mut self, n: usize) -> Self {
        self.cfg.retention.max_segments = Some(n);
        self
    }
    /// Keep the segments' total size (sealed files, plus the reservations of the live segment
    /// and of the next one, prepared ahead) at or under `bytes`, deleting the oldest sealed
    /// segments.
    pub fn max_total_bytes(mut self, bytes: u64) -> Self {
        self.cfg.retention.max_total_bytes = Some(bytes);
        self
    }
    /// Delete sealed segments whose file was last modified more than `age` ago (checked when
    /// a segment is created, and at most once a second in between).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.cfg.retention.max_age = Some(age);
        self
    }
    /// Longest sleep of an idle drain between polls (default 1 ms); `flush()`, blocked
    /// producers and a producer whose ring passes half full wake it early. `Duration::ZERO` busy-spins (dedicate a core to it).
    pub fn drain_idle(mut self, max: Duration) -> Self {
        self.cfg.max_idle = max;
        self
    }
    /// For benchmarks: the drain takes records out of the rings and throws them away, so
    /// that producers run as fast as their own side allows. `records_written` counts them;
    /// no file holds them.
    #[doc(hidden)]
    pub fn discard_records(mut self, on: bool) -> Self {
        self.cfg.discard_records = on;
        self
    }

    /// Compress sealed segments with lz4 (default off). A background thread, not the drain,
    /// turns each sealed `<name>-<seq>.tlog` into `<name>-<seq>.tlog.lz4` and removes the raw
    /// file; a crash leaves one or the other complete, never a half file. The decoder reads
    /// both. At start, leftovers of an interrupted compression are cleaned up and sealed raw
    /// segments of this name are compressed.
    pub fn compress(mut self, on: bool) -> Self {
        self.cfg.compress = on;
        self
    }

    /// Commit what the rings hold when the process ends without dropping the `Guard` (default
    /// on): an exit hook (`std::process::exit`, `main` returning with the `Guard` forgotten), a
    /// panic hook that logs the panic (target `panic`) and chains to the previous hook, and
    /// handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, and for SIGTERM, SIGINT, SIGHUP
    /// and SIGQUIT where their disposition at `init` is the default one. Each handler logs the
    /// signal, lets the drain commit within [`crash_timeout`](Self::crash_timeout), then
    /// restores the previous disposition and re-raises: exit status, core dump and any other
    /// handler behave as without tachylog. A handler installed after `init` that calls ours
    /// (as `signal-hook` does) keeps control: ours commits and returns. `false`, or
    /// `TACHYLOG_CRASH_HANDLING=off` in the environment, installs none of them.
    pub fn crash_handling(mut self, on: bool) -> Self {
        self.cfg.crash_handling = on;
        self
    }

    /// How long a dying process waits for the drain to commit (default 1 s), in each of the
    /// exit hook (flush, then seal), the panic hook and a fatal-signal handler.
    pub fn crash_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.crash_timeout = timeout;
        self
    }

    /// Print records as readable lines while developing (default [`Console::off`]): a thread
    /// follows the live segments with the library's reader and prints each record once the
    /// drain has committed it, in the layout of `tachylog decode -f text`, coloured on a
    /// terminal unless `NO_COLOR` is set. Nothing is added to the logging call or to the
    /// drain; lines appear within about 20 ms of the commit. A level given to the console
    /// ([`Console::level`]) filters what it prints only: the segments keep everything the
    /// engine's level and filter let through. `TACHYLOG_CONSOLE` (`stderr`, `stderr:debug`,
    /// `stdout`, `off`) overrides it.
    ///
    /// Dropping the [`Guard`] prints everything logged before it, then stops the console. Records
    /// that retention deletes before the console read them are counted on the console. At a
    /// crash (a fatal signal, `exit` without dropping the `Guard`) the console is best effort:
    /// the segments hold the records; the console may not have printed the last of them.
    ///
    /// ```no_run
    /// use tachylog::{Builder, Console, Level};
    /// let _guard = Builder::new().console(Console::stderr().level(Level::Debug)).init()?;
    /// tachylog::info!("on the console and in the segment");
    /// # Ok::<(), tachylog::Error>(())
    /// ```
    pub fn console(mut self, console: Console) -> Self {
        self.cfg.console = console;
        self
    }

    /// Starts the process-wide logger used by the macros. `Err` if one is already running, if
    /// the directory cannot be created or written, or if a setting is out of range.
    pub fn init(self) -> Result<Guard, Error> {
        let mut active = lock(&ACTIVE);
        if active.is_some() {
            return Err(Error::AlreadyInitialized);
        }
        let mut cfg = self.cfg;
        match self.env {
            EnvSource::Process => EnvOverrides::read(|v| std::env::var(v).ok())?.apply(&mut cfg),
            EnvSource::Read(o) => o.apply(&mut cfg),
            EnvSource::Off => {}
        }
        if cfg.ring_default {
            // Small segments set in code or the environment keep working with the default ring.
            cfg.ring_capacity = cfg.ring_capacity.min(cfg.segment_size / 2);
        }
        cfg.validate()?;
        let engine = Engine::start(cfg)?;
        let generation = GENERATION.load(Ordering::Relaxed).wrapping_add(1).max(1);
        // Producers compare their cached generation with this one and re-attach on a change.
        GENERATION.store(generation, Ordering::Release);
        *active = Some(Active {
            generation,
            engine: engine.shared.clone(),
        });
        let cfg = &engine.shared.cfg;
        let filter = cfg
            .filter
            .clone()
            .unwrap_or_else(|| Filter::level(cfg.level));
        apply(filter, cfg.level);
        crate::crash::install(&engine.shared);
        crate::crash::watch_fork();
        Ok(Guard {
            engine: Some(engine),
        })
    }
}

/// The default [`Builder::ring_capacity`]: 8 MiB per thread.
const DEFAULT_RING_BYTES: usize = 8 << 20;

/// A snapshot of the logger's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Records copied into segments.
    pub records_written: u64,
    /// Bytes of frames written into segments (headers included).
    pub bytes_written: u64,
    /// Records lost (ring full, oversized, no writable segment, or logged during thread exit).
    pub records_dropped: u64,
    /// Producer rings currently owned by the drain (threads that logged and whose rings are
    /// not yet drained and freed).
    pub live_producers: u64,
    /// Segment files created.
    pub segments_created: u64,
    /// Sealed segments deleted by retention (`max_segments`, `max_total_bytes`, `max_age`).
    pub segments_removed: u64,
    /// Segments of this name that a dead writer had left unsealed, recovered at `init`
    /// (cut to their last valid frame, sealed, marked recovered).
    pub segments_recovered: u64,
    /// Records skipped by `sample = N` / `limit = N/s`, over the whole process (per call
    /// site: [`sampling_stats`](crate::sampling_stats)). Not counted as dropped.
    pub records_sampled_out: u64,
    /// Times the drain thread panicked. After a panic the drain writes no more records: it
    /// counts every further record as dropped and reports the count in a new segment.
    pub drain_panics: u64,
}

/// One running engine: its shared state and drain thread.
pub(crate) struct Engine {
    pub shared: Arc<Shared>,
    drain: Option<thread::JoinHandle<()>>,
    /// The compressor thread; it ends when the drain (its only sender) is gone.
    compressor: Option<thread::JoinHandle<()>>,
    /// The development console, stopped after the drain.
    console: Option<ConsoleThread>,
}

impl Engine {
    /// Starts an engine with `cfg` (checked by [`Config::validate`] where it comes from a
    /// user; loom models start engines with rings and segments far below the minimums).
    pub(crate) fn start(cfg: Config) -> Result<Engine, Error> {
        // Every thread started below inherits a mask that blocks the termination signals.
        let _blocked = crate::crash::TerminationBlocked::new();
        let calib = clock::Calibration::measure(Duration::from_millis(2));
        // Creating the directory and the first segment here turns an unwritable directory into
        // an `Err` from `init` instead of silent loss later.
        // Earlier runs' segments, which the console does not print.
        let earlier = if cfg.console.is_on() {
            console::existing_segments(&cfg.dir)
        } else {
            Vec::new()
        };
        let dir = SegmentDir::open(&cfg.dir, &cfg.name, cfg.segment_size)?;
        let shared = Arc::new(Shared::new(cfg, &calib));
        let mut drain = Drain::new(shared.clone(), dir, calib)?;
        let mut compressor = None;
        if shared.cfg.compress {
            let (tx, handle) =
                compress::spawn(&shared.cfg.dir, &shared.cfg.name).map_err(|source| Error::Io {
                    what: "cannot start the compressor thread",
                    path: shared.cfg.dir.clone(),
                    source,
                })?;
            drain.set_sealed_sink(tx);
            compressor = Some(handle);
        }
        let s2 = shared.clone();
        let handle = thread::Builder::new()
            .name("tachylog-drain".into())
            .spawn(move || {
                struct Exit(Arc<Shared>);
                impl Drop for Exit {
                    fn drop(&mut self) {
                        self.0.drain_exited();
                    }
                }
                let _exit = Exit(s2.clone());
                s2.drain_tid
                    .store(crate::frontend::producer::os_tid(), Ordering::Relaxed);
                // Process-directed termination signals go to a thread that can wait for the
                // drain, never to the drain itself.
                crate::crash::block_termination_signals();
                if let Some(core) = s2.cfg.drain_core {
                    core_affinity::set_for_current(core_affinity::CoreId { id: core });
                }
                drain.run_supervised();
            })
            .map_err(|e| Error::Io {
                what: "cannot start the drain thread",
                path: PathBuf::new(),
                source: e,
            })?;
        shared.set_drain_thread(handle.thread().clone());
        let mut engine = Engine {
            shared,
            drain: Some(handle),
            compressor,
            console: None,
        };
        if engine.shared.cfg.console.is_on() {
            let console = engine.shared.cfg.console;
            engine.console = Some(
                ConsoleThread::spawn(console, engine.shared.clone(), earlier).map_err(|e| {
                    Error::Io {
                        what: "cannot start the console thread",
                        path: PathBuf::new(),
                        source: e,
                    }
                })?,
            );
        }
        Ok(engine)
    }

    fn shutdown(&mut self) {
        if self.shared.forked_away() {
            // A child of `fork`: the drain and compressor threads are the parent's. Joining
            // them would wait forever; there is nothing of ours to stop.
            std::mem::forget(self.drain.take());
            std::mem::forget(self.compressor.take());
            if let Some(c) = self.console.as_mut() {
                c.forget();
            }
            return;
        }
        let _ = self.shared.flush(Some(Duration::from_secs(10)));
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake_drain();
        if let Some(h) = self.drain.take() {
            let _ = h.join();
        }
        // The drain sent the segment it sealed last; the compressor finishes it and ends.
        if let Some(h) = self.compressor.take() {
            let _ = h.join();
        }
        // Everything is sealed now: the console prints the rest and ends.
        if let Some(c) = self.console.as_mut() {
            c.stop();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Keeps the logger running; dropping it flushes everything logged so far, stops the drain and
/// seals the current segment. Bind it to a named variable (`let _guard = ...`): `let _ = ...`
/// drops it at once.
#[must_use = "dropping the Guard stops the logger; bind it with `let _guard = ...`"]
pub struct Guard {
    engine: Option<Engine>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").finish_non_exhaustive()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut active = lock(&ACTIVE);
        crate::crash::uninstall();
        // The ceiling alone: a bridge keeps its own (its records stop at this ceiling anyway).
        runtime::MAX_LEVEL.store(0, Ordering::Release);
        *active = None;
        drop(active);
        drop(self.engine.take());
    }
}

/// Blocks until every record logged (by any thread) before the call is in the segment file.
/// Returns at once if no logger runs; returns early if the drain thread has died.
pub fn flush() {
    if let Some(e) = active_engine() {
        let _ = e.flush(None);
    }
}

/// Like [`flush`], but gives up after `timeout` with [`Error::Timeout`].
pub fn flush_timeout(timeout: Duration) -> Result<(), Error> {
    match active_engine() {
        Some(e) => e.flush(Some(timeout)),
        None => Err(Error::NotInitialized),
    }
}

/// The running logger's counters (all zero if none runs).
pub fn stats() -> Stats {
    active_engine().map(|e| snapshot(&e)).unwrap_or_default()
}

/// Changes the most verbose level kept, at run time, for every target (it replaces a
/// per-target filter; see [`set_filter`](crate::set_filter) to change one).
pub fn set_level(level: Level) {
    if lock(&ACTIVE).is_some() {
        apply(Filter::level(level), level);
    }
}

/// Makes `filter` the running logger's filter: installs it, sets the global ceiling and
/// refreshes every call site's cached decision. Callers hold the `ACTIVE` lock (lock order:
/// `ACTIVE`, then the call-site registry, then the filter).
pub(crate) fn apply(filter: Filter, default: Level) {
    callsite::reconfigure(|| runtime::set_max_level(runtime::install(filter, default)));
}

/// Replaces the running logger's filter, at run time: `spec` has the grammar of
/// [`Builder::filter`](crate::Builder::filter). Targets it does not name (when it has no bare
/// level) keep the level given to the `Builder`. Every call site picks up the change at its
/// next use; a record already past its check when the filter changes may still be written.
///
/// `Err` if a directive is invalid (nothing changes then) or if no logger runs.
///
/// ```no_run
/// let _guard = tachylog::Builder::new().filter("info")?.init()?;
/// tachylog::set_filter("warn,orders=trace")?;
/// # Ok::<(), tachylog::Error>(())
/// ```
pub fn set_filter(spec: &str) -> Result<(), Error> {
    let filter = Filter::parse(spec)?;
    let active = lock(&ACTIVE);
    let Some(a) = active.as_ref() else {
        return Err(Error::NotInitialized);
    };
    apply(filter, a.engine.cfg.level);
    Ok(())
}

/// The counters of the engine `shared` as a snapshot.
pub(crate) fn snapshot(shared: &Shared) -> Stats {
    let c = &shared.counters;
    Stats {
        records_written: c.records_written.load(Ordering::Relaxed),
        bytes_written: c.bytes_written.load(Ordering::Relaxed),
        records_dropped: c.records_dropped.load(Ordering::Relaxed),
        live_producers: c.live_producers.load(Ordering::Relaxed),
        segments_created: c.segments_created.load(Ordering::Relaxed),
        segments_removed: c.segments_removed.load(Ordering::Relaxed),
        segments_recovered: c.segments_recovered.load(Ordering::Relaxed),
        records_sampled_out: sampling::totals().values().map(|t| t.1).sum(),
        drain_panics: c.drain_panics.load(Ordering::Relaxed),
    }
}

impl Config {
    /// Refuses settings out of range, or beyond the format's limits (`wire::limits`).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let cfg = self;
        if cfg.ring_capacity < limits::MIN_RING_BYTES {
            return Err(Error::Config(format!(
                "ring_capacity {} is below the minimum of {} bytes",
                cfg.ring_capacity,
                limits::MIN_RING_BYTES
            )));
        }
        if cfg.ring_capacity > limits::MAX_RING_BYTES {
            return Err(Error::Config(format!(
                "ring_capacity {} is above the maximum of {} bytes (the largest record)",
                cfg.ring_capacity,
                limits::MAX_RING_BYTES
            )));
        }
        if cfg.segment_size < limits::MIN_SEGMENT_BYTES {
            return Err(Error::Config(format!(
                "segment_size {} is below the minimum of {} bytes",
                cfg.segment_size,
                limits::MIN_SEGMENT_BYTES
            )));
        }
        if cfg.segment_size as u64 > limits::MAX_SEGMENT_BYTES {
            return Err(Error::Config(format!(
                "segment_size {} is above the maximum of {} bytes that readers accept",
                cfg.segment_size,
                limits::MAX_SEGMENT_BYTES
            )));
        }
        if cfg.segment_size < 2 * cfg.ring_capacity {
            return Err(Error::Config(format!(
                "segment_size {} must be at least twice ring_capacity {} so that any record fits",
                cfg.segment_size, cfg.ring_capacity
            )));
        }
        if cfg
            .rotate_every
            .is_some_and(|d| d < Duration::from_millis(1))
        {
            return Err(Error::Config(
                "rotate_every must be at least 1 ms".to_string(),
            ));
        }
        if cfg.retention.max_segments == Some(0) {
            return Err(Error::Config(
                "max_segments must be at least 1 (the live segment)".to_string(),
            ));
        }
        if cfg.name.is_empty() || cfg.name.contains(['/', '\0']) {
            return Err(Error::Config(format!(
                "invalid segment name prefix {:?}",
                cfg.name
            )));
        }
        if let Some(core) = cfg.drain_core {
            let cores = core_affinity::get_core_ids().unwrap_or_default();
            if !cores.iter().any(|c| c.id == core) {
                return Err(Error::Config(format!(
                    "drain_core {core} is not one of this process's cores {:?}",
                    cores.iter().map(|c| c.id).collect::<Vec<_>>()
                )));
            }
        }
        Ok(())
    }
}
