//! The engine as a value: configuration, shared state, the drain thread, and the process-wide
//! logger that the macros use (a thin static on top).
use crate::drain::Drain;
use crate::error::Error;
use crate::segment::SegmentDir;
use crate::sync::{
    Arc, AtomicBool, AtomicU8, AtomicU32, AtomicU64, Break, Condvar, Mutex, Ordering, lock, order,
    thread,
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

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub dir: PathBuf,
    pub name: String,
    pub segment_size: usize,
    pub ring_capacity: usize,
    pub overflow: Overflow,
    pub drain_core: Option<usize>,
    pub level: Level,
    pub max_idle: Duration,
    /// Per-target filter; `None`: `level` for every target.
    pub filter: Option<crate::Filter>,
    /// Rotate at multiples of this since the Unix epoch (as well as when full).
    pub rotate_every: Option<Duration>,
    /// Limits on the sealed segments kept.
    pub retention: crate::retention::Limits,
    pub compress: bool,
}

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
}

/// Smallest accepted ring: room for a few records of ordinary size.
#[cfg(not(loom))]
pub const MIN_RING_CAPACITY: usize = 4 * 1024;
/// Smallest accepted segment.
#[cfg(not(loom))]
pub const MIN_SEGMENT_SIZE: usize = 16 * 1024;
// Loom explores every interleaving, so its models use rings of a few records and segments of a
// few frames: the states that matter (full ring, full segment) are then a few steps away.
/// Smallest accepted ring (loom models: a record or two).
#[cfg(loom)]
pub const MIN_RING_CAPACITY: usize = 16;
/// Smallest accepted segment (loom models: a few frames).
#[cfg(loom)]
pub const MIN_SEGMENT_SIZE: usize = 256;

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: directory `logs`, name `tachylog`, 64 MiB segments, 256 KiB rings,
    /// `Overflow::Drop`, drain not pinned, level `Info`.
    pub fn new() -> Self {
        Builder {
            cfg: Config {
                dir: PathBuf::from("logs"),
                name: "tachylog".into(),
                segment_size: 64 << 20,
                ring_capacity: 256 << 10,
                overflow: Overflow::Drop,
                drain_core: None,
                level: Level::Info,
                max_idle: Duration::from_millis(1),
                filter: None,
                rotate_every: None,
                retention: Default::default(),
                compress: false,
            },
        }
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
    /// Bytes reserved per segment; a segment rotates when the next frame would not fit.
    pub fn segment_size(mut self, bytes: usize) -> Self {
        self.cfg.segment_size = bytes;
        self
    }
    /// Bytes of ring per producing thread. A record larger than the ring is dropped and counted.
    pub fn ring_capacity(mut self, bytes: usize) -> Self {
        self.cfg.ring_capacity = bytes;
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
        self.cfg.filter = Some(crate::Filter::parse(spec)?);
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
    /// Keep the segments' total size (sealed files, plus the live segment's reservation) at
    /// or under `bytes`, deleting the oldest sealed segments.
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
    /// Longest sleep of an idle drain between polls (default 1 ms); `flush()` and blocked
    /// producers wake it early. `Duration::ZERO` busy-spins (dedicate a core to it).
    pub fn drain_idle(mut self, max: Duration) -> Self {
        self.cfg.max_idle = max;
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

    /// Starts the process-wide logger used by the macros. `Err` if one is already running, if
    /// the directory cannot be created or written, or if a setting is out of range.
    pub fn init(self) -> Result<Guard, Error> {
        let mut active = lock(&ACTIVE);
        if active.is_some() {
            return Err(Error::AlreadyInitialized);
        }
        let engine = Engine::start(self.cfg)?;
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
            .unwrap_or_else(|| crate::Filter::level(cfg.level));
        crate::filter::apply(filter, cfg.level);
        Ok(Guard {
            engine: Some(engine),
        })
    }
}

#[cfg(loom)]
impl Builder {
    /// The configuration, for loom models that start engine values themselves.
    pub(crate) fn into_config(self) -> Config {
        self.cfg
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
    pub drain_panics: AtomicU64,
}

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
    /// Records skipped by `sample = N` / `limit = N/s`, over the whole process (per call
    /// site: [`sampling_stats`](crate::sampling_stats)). Not counted as dropped.
    pub records_sampled_out: u64,
    /// Times the drain thread panicked. After a panic the drain writes no more records: it
    /// counts every further record as dropped and reports the count in a new segment.
    pub drain_panics: u64,
}

/// The consumer end of a new producer's ring, waiting for the drain to pick it up.
pub(crate) struct NewRing {
    pub id: u32,
    pub consumer: crate::ring::Consumer,
    pub shared: Arc<crate::producer::ProducerShared>,
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
    drain_thread: Mutex<Option<thread::Thread>>,
    pub calibration_tps: AtomicU64,
}

impl Shared {
    pub(crate) fn next_producer_id(&self) -> u32 {
        self.next_producer.fetch_add(1, Ordering::Relaxed)
    }

    /// Wakes the drain if it sleeps.
    pub(crate) fn wake_drain(&self) {
        // Under loom the drain never parks (it yields), so there is nothing to wake; loom 0.7's
        // `unpark` would also wake a thread that is blocked on a mutex (tokio-rs/loom#422).
        if cfg!(loom) {
            return;
        }
        if let Some(t) = lock(&self.drain_thread).as_ref() {
            t.unpark();
        }
    }

    /// Called by the drain after the records of ticket `ticket` are in the segment.
    pub(crate) fn complete_flush(&self, ticket: u64) {
        self.flush_done.store(ticket, Ordering::Release);
        let _g = lock(&self.flush_lock);
        self.flush_cv.notify_all();
    }

    /// Called once when the drain thread ends, however it ends.
    pub(crate) fn drain_exited(&self) {
        self.alive.store(false, Ordering::Release);
        let _g = lock(&self.flush_lock);
        self.flush_cv.notify_all();
    }

    fn flush(&self, timeout: Option<Duration>) -> Result<(), Error> {
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

    fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            records_written: c.records_written.load(Ordering::Relaxed),
            bytes_written: c.bytes_written.load(Ordering::Relaxed),
            records_dropped: c.records_dropped.load(Ordering::Relaxed),
            live_producers: c.live_producers.load(Ordering::Relaxed),
            segments_created: c.segments_created.load(Ordering::Relaxed),
            segments_removed: c.segments_removed.load(Ordering::Relaxed),
            records_sampled_out: crate::sampling::totals().values().map(|t| t.1).sum(),
            drain_panics: c.drain_panics.load(Ordering::Relaxed),
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
            drain_thread: Mutex::new(None),
            calibration_tps: AtomicU64::new(calib.ticks_per_sec().to_bits()),
        }
    }

    /// Blocks until every record committed before the call is in the segment (loom models).
    #[cfg(loom)]
    pub(crate) fn flush_for_model(&self) -> Result<(), Error> {
        self.flush(None)
    }

    /// The counters as a snapshot (loom models).
    #[cfg(loom)]
    pub(crate) fn stats_for_model(&self) -> Stats {
        self.stats()
    }
}

/// One running engine: its shared state and drain thread.
pub(crate) struct Engine {
    pub shared: Arc<Shared>,
    drain: Option<thread::JoinHandle<()>>,
    /// The compressor thread; it ends when the drain (its only sender) is gone.
    compressor: Option<thread::JoinHandle<()>>,
}

impl Engine {
    pub(crate) fn start(cfg: Config) -> Result<Engine, Error> {
        if cfg.ring_capacity < MIN_RING_CAPACITY {
            return Err(Error::Config(format!(
                "ring_capacity {} is below the minimum of {MIN_RING_CAPACITY} bytes",
                cfg.ring_capacity
            )));
        }
        if cfg.segment_size < MIN_SEGMENT_SIZE {
            return Err(Error::Config(format!(
                "segment_size {} is below the minimum of {MIN_SEGMENT_SIZE} bytes",
                cfg.segment_size
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
        let calib = clock::Calibration::measure(Duration::from_millis(2));
        // Creating the directory and the first segment here turns an unwritable directory into
        // an `Err` from `init` instead of silent loss later.
        let dir = SegmentDir::open(&cfg.dir, &cfg.name, cfg.segment_size)?;
        let shared = Arc::new(Shared::new(cfg, &calib));
        let mut drain = Drain::new(shared.clone(), dir, calib)?;
        let mut compressor = None;
        if shared.cfg.compress {
            let (tx, handle) =
                crate::compress::spawn(&shared.cfg.dir, &shared.cfg.name).map_err(|source| {
                    Error::Io {
                        what: "cannot start the compressor thread",
                        path: shared.cfg.dir.clone(),
                        source,
                    }
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
        *lock(&shared.drain_thread) = Some(handle.thread().clone());
        Ok(Engine {
            shared,
            drain: Some(handle),
            compressor,
        })
    }

    fn shutdown(&mut self) {
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
        MAX_LEVEL.store(0, Ordering::Release);
        *active = None;
        drop(active);
        drop(self.engine.take());
    }
}

pub(crate) struct Active {
    pub generation: u32,
    pub engine: Arc<Shared>,
}

/// The running process-wide logger, if any (slow paths only: attach, flush, stats).
#[cfg(not(loom))]
pub(crate) static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);
/// Changes on every `init`; thread-local producers compare it to re-attach.
#[cfg(not(loom))]
pub(crate) static GENERATION: AtomicU32 = AtomicU32::new(0);
/// Most verbose level enabled at run time; 0 while no logger runs.
#[cfg(not(loom))]
pub(crate) static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);

// Under loom the process-wide logger's state lives for one model execution. The models drive
// engine values directly and never touch it; it only has to compile.
#[cfg(loom)]
loom::lazy_static! {
    pub(crate) static ref ACTIVE: Mutex<Option<Active>> = Mutex::new(None);
    pub(crate) static ref GENERATION: AtomicU32 = AtomicU32::new(0);
    pub(crate) static ref MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
}

fn active_engine() -> Option<Arc<Shared>> {
    lock(&ACTIVE).as_ref().map(|a| a.engine.clone())
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
    active_engine().map(|e| e.stats()).unwrap_or_default()
}

/// Changes the most verbose level kept, at run time, for every target (it replaces a
/// per-target filter; see [`set_filter`](crate::set_filter) to change one).
pub fn set_level(level: Level) {
    if lock(&ACTIVE).is_some() {
        crate::filter::apply(crate::Filter::level(level), level);
    }
}
