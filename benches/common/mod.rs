//! What both benchmarks share: the clock, the options, the message shapes, and one
//! implementation of each logger under test behind the [`Subject`] trait.
//!
//! Every logger writes real files under `target/bench/tmp/` and reports, when finished, how many
//! records reached its files and how many it says it dropped, so a row that lost records shows
//! it instead of looking fast.
#![allow(dead_code)] // each bench uses a different part of this module

use std::fs::File;
use std::io::Write as _;
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Clock

/// Reads the time-stamp counter (x86-64) or a monotonic nanosecond clock elsewhere. The compiler
/// fences keep the timed code between two readings.
#[inline(always)]
pub fn ticks() -> u64 {
    std::sync::atomic::compiler_fence(Ordering::SeqCst);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `rdtsc` exists on every x86-64 processor and has no memory effects.
    let t = unsafe { core::arch::x86_64::_rdtsc() };
    #[cfg(not(target_arch = "x86_64"))]
    let t = {
        static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
    };
    std::sync::atomic::compiler_fence(Ordering::SeqCst);
    t
}

/// Ticks per nanosecond, measured once against the monotonic clock over `span`.
pub fn calibrate(span: Duration) -> f64 {
    let (i0, t0) = (Instant::now(), ticks());
    std::thread::sleep(span);
    let (i1, t1) = (Instant::now(), ticks());
    (t1 - t0) as f64 / (i1 - i0).as_nanos() as f64
}

/// The smallest step the tick counter takes between two back-to-back reads, in ticks. Some
/// virtual machines and processors advance the counter in coarse steps: single-call times are
/// then multiples of this, and only means (the burst-of-20 columns) resolve finer.
pub fn tick_step() -> u64 {
    let mut step = u64::MAX;
    for _ in 0..100_000 {
        let (a, b) = (ticks(), ticks());
        if b > a {
            step = step.min(b - a);
        }
    }
    step
}

// ---------------------------------------------------------------------------------------------
// Options

/// Command-line options shared by both benchmarks. `cargo bench` passes `--bench`; it is ignored.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Producer thread counts to run.
    pub threads: Vec<usize>,
    /// Tiny run that only proves the benchmark works (CI).
    pub quick: bool,
    /// Bursts of 20 calls per thread (latency).
    pub bursts: usize,
    /// Rounds the bursts are split into, the loggers taking turns (latency).
    pub rounds: usize,
    /// Records per thread per run (throughput).
    pub records: usize,
    /// Runs per configuration; the median is reported (throughput).
    pub runs: usize,
    /// Loggers to run (by table name); empty: all.
    pub loggers: Vec<String>,
}

const USAGE: &str = "options: --threads 1,2,4  --quick  --loggers floor,tachylog,... \
                     --bursts N --rounds N (latency)  --records N --runs N (throughput); \
                     TACHYLOG_BENCH_THREADS and TACHYLOG_BENCH_QUICK=1 do the same as \
                     --threads and --quick";

impl Opts {
    /// Whether the logger named `name` is to be run.
    pub fn wants(&self, name: &str) -> bool {
        self.loggers.is_empty() || self.loggers.iter().any(|l| l == name)
    }

    /// Parses `std::env::args()`; exits with a message on a bad option.
    pub fn parse() -> Opts {
        let mut o = Opts {
            threads: vec![1, 2],
            quick: std::env::var("TACHYLOG_BENCH_QUICK").is_ok_and(|v| v == "1"),
            bursts: 10_000,
            rounds: 5,
            records: 1_000_000,
            runs: 5,
            loggers: Vec::new(),
        };
        if let Ok(t) = std::env::var("TACHYLOG_BENCH_THREADS") {
            o.threads = parse_list(&t);
        }
        let mut explicit = (false, false);
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .unwrap_or_else(|| fail(&format!("{name} needs a value")))
            };
            match a.as_str() {
                "--bench" => {}
                "--quick" => o.quick = true,
                "--threads" => o.threads = parse_list(&value("--threads")),
                "--bursts" => {
                    o.bursts = parse_num(&value("--bursts"));
                    explicit.0 = true;
                }
                "--records" => {
                    o.records = parse_num(&value("--records"));
                    explicit.1 = true;
                }
                "--runs" => o.runs = parse_num(&value("--runs")).max(1),
                "--rounds" => o.rounds = parse_num(&value("--rounds")).max(1),
                "--loggers" => {
                    o.loggers = value("--loggers")
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .collect()
                }
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => fail(&format!("unknown option {other:?}")),
            }
        }
        if o.quick {
            if !explicit.0 {
                o.bursts = 100;
            }
            if !explicit.1 {
                o.records = 5_000;
            }
            o.runs = 1;
            o.rounds = o.rounds.min(2);
        }
        if o.threads.is_empty() || o.threads.contains(&0) {
            fail("thread counts must be at least 1");
        }
        o
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}\n{USAGE}");
    std::process::exit(2);
}

fn parse_num(s: &str) -> usize {
    s.trim()
        .parse()
        .unwrap_or_else(|_| fail(&format!("not a number: {s:?}")))
}

fn parse_list(s: &str) -> Vec<usize> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(parse_num)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Files

/// `target/bench` (or `$CARGO_TARGET_DIR/bench`), created.
pub fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir).expect("cannot create target/bench");
    dir
}

/// A fresh, empty scratch directory for one configuration.
pub fn scratch(name: &str) -> PathBuf {
    let dir = out_dir().join("tmp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot create a scratch directory");
    dir
}

/// Number of `\n` bytes in the file (one per record for the text loggers).
pub fn count_lines(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

// ---------------------------------------------------------------------------------------------
// Message shapes

/// (b): a 20-byte string.
pub const STR20: &str = "twenty-byte-message!";
/// (c): a 200-byte string.
pub const STR200: &str = concat!(
    "This string is exactly two hundred bytes long, which is what the large-string message shape ",
    "of the benchmark logs on every call; it is copied whole by every logger under test, no matter",
    " how it is done"
);
const _: () = assert!(STR20.len() == 20 && STR200.len() == 200);

/// The message shapes of the benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `"Logging int: {}, int: {}, double: {}"` with two integers and an `f64`.
    IntIntDouble,
    /// A 20-byte `&str` and an integer.
    Str20Int,
    /// A 200-byte string.
    Str200,
    /// Five structured fields.
    Fields5,
}

impl Shape {
    /// All shapes, in table order.
    pub const ALL: [Shape; 4] = [
        Shape::IntIntDouble,
        Shape::Str20Int,
        Shape::Str200,
        Shape::Fields5,
    ];
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Shape::IntIntDouble => "(a) int,int,f64",
            Shape::Str20Int => "(b) str20,int",
            Shape::Str200 => "(c) str200",
            Shape::Fields5 => "(d) 5 fields",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loggers

/// What a logger reports once everything it was given is written (or dropped).
#[derive(Debug, Clone, Copy, Default)]
pub struct Finish {
    /// Records found in its files.
    pub written: u64,
    /// Records it says it dropped.
    pub dropped: u64,
    /// Bytes in its files.
    pub bytes: u64,
    /// When everything was in the files (before the files were read back to count).
    pub done: Option<Instant>,
}

/// How a logger is set up for a run.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Wait for room when the queue is full (throughput) instead of dropping and counting.
    pub block: bool,
    /// Ring bytes per thread (tachylog and the floor).
    pub ring: usize,
    /// Bytes of the floor's mapped file.
    pub floor_map: usize,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            block: false,
            ring: 256 << 10,
            floor_map: 64 << 20,
        }
    }
}

/// One logger under test. `local` is called on each producing thread before it logs; the
/// shape methods are the call sites being measured.
pub trait Subject: Sync + Sized {
    /// Per-thread state.
    type Local;
    /// Name in tables.
    const NAME: &'static str;
    /// Starts the logger, writing under `dir`.
    fn start(dir: &Path, setup: Setup) -> Self;
    /// Per-thread state (called on the producing thread).
    fn local(&self) -> Self::Local;
    /// Shape (a).
    fn a(&self, l: &mut Self::Local, i: u32, j: u32, d: f64);
    /// Shape (b).
    fn b(&self, l: &mut Self::Local, s: &str, i: u64);
    /// Shape (c).
    fn c(&self, l: &mut Self::Local, s: &str);
    /// Shape (d).
    fn d(&self, l: &mut Self::Local, order: u64, price: f64, qty: u32, side: &str, ok: bool);
    /// Waits until every record given is in the files (or dropped), then stops the logger.
    fn finish(self) -> Finish;
}

/// Calls `s`'s method for `shape` with arguments derived from `i`.
#[inline(always)]
pub fn call<S: Subject>(s: &S, l: &mut S::Local, shape: Shape, i: u64) {
    match shape {
        Shape::IntIntDouble => s.a(l, i as u32, (i >> 3) as u32, i as f64 * 0.5),
        Shape::Str20Int => s.b(l, STR20, i),
        Shape::Str200 => s.c(l, STR200),
        Shape::Fields5 => s.d(l, i, i as f64 * 0.25, (i & 0xff) as u32, "buy", i & 1 == 0),
    }
}

// --- floor: the TSC read and a raw rtrb write of the same bytes as tachylog's record ---------

/// No logger: a time-stamp read plus the same bytes tachylog's record would hold, written
/// into a per-thread `rtrb` ring; a consumer thread copies them into a mapped file.
pub struct Floor {
    shared: Arc<FloorShared>,
    consumer: Option<std::thread::JoinHandle<(u64, u64)>>,
    block: bool,
    ring: usize,
}

struct FloorShared {
    new: Mutex<Vec<rtrb::Consumer<u8>>>,
    has_new: AtomicBool,
    stop: AtomicBool,
    dropped: AtomicU64,
    thread: Mutex<Option<std::thread::Thread>>,
}

impl FloorShared {
    fn wake(&self) {
        if let Some(t) = self.thread.lock().unwrap().as_ref() {
            t.unpark();
        }
    }
}

/// A floor record under construction: the reserved ring space, possibly split in two.
struct FloorWriter<'a> {
    first: &'a mut [MaybeUninit<u8>],
    second: &'a mut [MaybeUninit<u8>],
    pos: usize,
}

impl FloorWriter<'_> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if end <= self.first.len() {
            self.first[self.pos..end].write_copy_of_slice(bytes);
        } else {
            for (k, &b) in bytes.iter().enumerate() {
                let i = self.pos + k;
                match self.first.get_mut(i) {
                    Some(slot) => slot.write(b),
                    None => self.second[i - self.first.len()].write(b),
                };
            }
        }
        self.pos = end;
    }
    #[inline(always)]
    fn tagged<const N: usize>(&mut self, tag: u8, v: [u8; N]) {
        self.put(&[tag]);
        self.put(&v);
    }
    #[inline(always)]
    fn str(&mut self, s: &str) {
        self.tagged(tachylog::wire::tag::STR, (s.len() as u32).to_le_bytes());
        self.put(s.as_bytes());
    }
}

/// The per-thread ring of the floor.
pub struct FloorLocal {
    ring: rtrb::Producer<u8>,
}

impl Floor {
    /// Writes one record of `args` bytes (after the 16-byte head) with `fill`.
    #[inline(always)]
    fn write(&self, l: &mut FloorLocal, args: usize, fill: impl FnOnce(&mut FloorWriter<'_>)) {
        let ts = ticks();
        let total = 16 + args;
        let mut chunk = match l.ring.write_chunk_uninit(total) {
            Ok(c) => c,
            Err(_) => match self.wait(l, total) {
                Some(c) => c,
                None => return,
            },
        };
        let (first, second) = chunk.as_mut_slices();
        let mut w = FloorWriter {
            first,
            second,
            pos: 0,
        };
        w.put(&(total as u32).to_le_bytes());
        w.put(&1u32.to_le_bytes());
        w.put(&ts.to_le_bytes());
        fill(&mut w);
        debug_assert_eq!(w.pos, total);
        // SAFETY: `fill` wrote exactly `args` bytes after the 16-byte head (the sizes below are
        // computed from the same values), so all `total` reserved bytes are initialised.
        unsafe { chunk.commit_all() };
    }

    #[cold]
    #[inline(never)]
    fn wait<'a>(
        &self,
        l: &'a mut FloorLocal,
        total: usize,
    ) -> Option<rtrb::chunks::WriteChunkUninit<'a, u8>> {
        if !self.block {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut round = 0u32;
        while l.ring.slots() < total {
            self.shared.wake();
            if round < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
            round += 1;
        }
        l.ring.write_chunk_uninit(total).ok()
    }
}

fn floor_consume(shared: Arc<FloorShared>, dir: PathBuf, map_len: usize) -> (u64, u64) {
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join("floor.bin"))
        .expect("floor file");
    preallocate(&file, map_len);
    // SAFETY: the file was just created by this thread and nothing else maps or truncates it
    // while the mapping lives.
    let mut map = unsafe { memmap2::MmapMut::map_mut(&file) }.expect("map floor file");
    let mut rings: Vec<rtrb::Consumer<u8>> = Vec::new();
    let (mut off, mut total, mut records, mut idle) = (0usize, 0u64, 0u64, 0u32);
    loop {
        if shared.has_new.swap(false, Ordering::Acquire) {
            rings.append(&mut shared.new.lock().unwrap());
        }
        let mut moved = 0;
        for r in &mut rings {
            let n = r.slots();
            if n == 0 {
                continue;
            }
            let chunk = r.read_chunk(n).expect("slots() bytes are readable");
            let (a, b) = chunk.as_slices();
            // Count the records (each starts with its u32 length) to check nothing was lost.
            let mut pos = 0;
            while pos < n {
                let len: [u8; 4] = std::array::from_fn(|k| {
                    let i = pos + k;
                    if i < a.len() { a[i] } else { b[i - a.len()] }
                });
                pos += (u32::from_le_bytes(len) as usize).max(1);
                records += 1;
            }
            for part in [a, b] {
                let mut part = part;
                while !part.is_empty() {
                    if off == map.len() {
                        off = 0; // wrap: the latency runs write more than the map holds
                    }
                    let k = part.len().min(map.len() - off);
                    map[off..off + k].copy_from_slice(&part[..k]);
                    (off, part) = (off + k, &part[k..]);
                }
            }
            chunk.commit_all();
            moved += n;
        }
        total += moved as u64;
        if moved > 0 {
            idle = 0;
            continue;
        }
        rings.retain(|r| !r.is_abandoned() || !r.is_empty());
        if shared.stop.load(Ordering::Acquire) && rings.is_empty() {
            if shared.has_new.load(Ordering::Acquire) {
                continue;
            }
            return (records, total);
        }
        // The same idle policy as tachylog's drain: spin, yield, then nap up to 1 ms.
        idle += 1;
        match idle {
            0..64 => std::hint::spin_loop(),
            64..128 => std::thread::yield_now(),
            _ => std::thread::park_timeout(Duration::from_micros(
                (1u64 << (idle - 128).min(10)).min(1000),
            )),
        }
    }
}

/// Reserves the file's blocks before mapping, as tachylog's segments do.
pub fn preallocate(file: &File, len: usize) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is valid for the lifetime of `file`; the call reads no memory.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len as libc::off_t) };
    if rc != 0 {
        file.set_len(len as u64).expect("size floor file");
    }
}

impl Subject for Floor {
    type Local = FloorLocal;
    const NAME: &'static str = "floor";

    fn start(dir: &Path, setup: Setup) -> Self {
        let shared = Arc::new(FloorShared {
            new: Mutex::new(Vec::new()),
            has_new: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            thread: Mutex::new(None),
        });
        let (s2, dir) = (shared.clone(), dir.to_path_buf());
        let consumer = std::thread::Builder::new()
            .name("floor-consumer".into())
            .spawn(move || floor_consume(s2, dir, setup.floor_map))
            .expect("spawn floor consumer");
        *shared.thread.lock().unwrap() = Some(consumer.thread().clone());
        Floor {
            shared,
            consumer: Some(consumer),
            block: setup.block,
            ring: setup.ring,
        }
    }

    fn local(&self) -> FloorLocal {
        let (ring, consumer) = rtrb::RingBuffer::new(self.ring);
        self.shared.new.lock().unwrap().push(consumer);
        self.shared.has_new.store(true, Ordering::Release);
        FloorLocal { ring }
    }

    #[inline(always)]
    fn a(&self, l: &mut FloorLocal, i: u32, j: u32, d: f64) {
        use tachylog::wire::tag;
        self.write(l, 5 + 5 + 9, |w| {
            w.tagged(tag::U32, i.to_le_bytes());
            w.tagged(tag::U32, j.to_le_bytes());
            w.tagged(tag::F64, d.to_le_bytes());
        });
    }

    #[inline(always)]
    fn b(&self, l: &mut FloorLocal, s: &str, i: u64) {
        use tachylog::wire::tag;
        self.write(l, 5 + s.len() + 9, |w| {
            w.str(s);
            w.tagged(tag::U64, i.to_le_bytes());
        });
    }

    #[inline(always)]
    fn c(&self, l: &mut FloorLocal, s: &str) {
        self.write(l, 5 + s.len(), |w| w.str(s));
    }

    #[inline(always)]
    fn d(&self, l: &mut FloorLocal, order: u64, price: f64, qty: u32, side: &str, ok: bool) {
        use tachylog::wire::tag;
        self.write(l, 9 + 9 + 5 + 5 + side.len() + 2, |w| {
            w.tagged(tag::U64, order.to_le_bytes());
            w.tagged(tag::F64, price.to_le_bytes());
            w.tagged(tag::U32, qty.to_le_bytes());
            w.str(side);
            w.tagged(tag::BOOL, [ok as u8]);
        });
    }

    fn finish(mut self) -> Finish {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake();
        let (written, bytes) = self.consumer.take().map_or((0, 0), |h| h.join().unwrap());
        Finish {
            done: Some(Instant::now()),
            written,
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            bytes,
        }
    }
}

// --- tachylog (the process-wide logger: one per process at a time) -----------------------------

/// tachylog through its macros.
pub struct Tachy {
    guard: Option<tachylog::Guard>,
}

impl Subject for Tachy {
    type Local = ();
    const NAME: &'static str = "tachylog";

    fn start(dir: &Path, setup: Setup) -> Self {
        let guard = tachylog::Builder::new()
            .dir(dir)
            .name("bench")
            .ring_capacity(setup.ring)
            .overflow(if setup.block {
                tachylog::Overflow::Block
            } else {
                tachylog::Overflow::Drop
            })
            .init()
            .expect("start tachylog");
        Tachy { guard: Some(guard) }
    }

    fn local(&self) {}

    #[inline(always)]
    fn a(&self, _: &mut (), i: u32, j: u32, d: f64) {
        tachylog::info!("Logging int: {}, int: {}, double: {}", i, j, d);
    }

    #[inline(always)]
    fn b(&self, _: &mut (), s: &str, i: u64) {
        tachylog::info!("Logging str: {}, int: {}", s, i);
    }

    #[inline(always)]
    fn c(&self, _: &mut (), s: &str) {
        tachylog::info!("Logging large str: {}", s);
    }

    #[inline(always)]
    fn d(&self, _: &mut (), order: u64, price: f64, qty: u32, side: &str, ok: bool) {
        tachylog::info!(
            order = order,
            price = price,
            qty = qty,
            side = side,
            ok = ok,
            "order"
        );
    }

    fn finish(mut self) -> Finish {
        tachylog::flush();
        let done = Some(Instant::now());
        let s = tachylog::stats();
        drop(self.guard.take());
        Finish {
            done,
            written: s.records_written,
            dropped: s.records_dropped,
            bytes: s.bytes_written,
        }
    }
}

// --- tracing + tracing-appender's non-blocking writer ------------------------------------------

/// `tracing` with `tracing-subscriber`'s fmt layer writing through `tracing-appender`'s
/// non-blocking writer to a file: the usual Rust set-up. Set per thread (`set_default`), since
/// the global subscriber can be set only once per process.
pub struct Tracing {
    dispatch: tracing::Dispatch,
    guard: Option<tracing_appender::non_blocking::WorkerGuard>,
    errors: tracing_appender::non_blocking::ErrorCounter,
    path: PathBuf,
}

impl Subject for Tracing {
    type Local = tracing::dispatcher::DefaultGuard;
    const NAME: &'static str = "tracing-appender";

    fn start(dir: &Path, setup: Setup) -> Self {
        let path = dir.join("tracing.log");
        let file = File::create(&path).expect("tracing log file");
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(!setup.block)
            .finish(file);
        let errors = writer.error_counter();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish();
        Tracing {
            dispatch: tracing::Dispatch::new(subscriber),
            guard: Some(guard),
            errors,
            path,
        }
    }

    fn local(&self) -> Self::Local {
        tracing::dispatcher::set_default(&self.dispatch)
    }

    #[inline(always)]
    fn a(&self, _: &mut Self::Local, i: u32, j: u32, d: f64) {
        tracing::info!("Logging int: {}, int: {}, double: {}", i, j, d);
    }

    #[inline(always)]
    fn b(&self, _: &mut Self::Local, s: &str, i: u64) {
        tracing::info!("Logging str: {}, int: {}", s, i);
    }

    #[inline(always)]
    fn c(&self, _: &mut Self::Local, s: &str) {
        tracing::info!("Logging large str: {}", s);
    }

    #[inline(always)]
    fn d(&self, _: &mut Self::Local, order: u64, price: f64, qty: u32, side: &str, ok: bool) {
        tracing::info!(order, price, qty, side, ok, "order");
    }

    fn finish(mut self) -> Finish {
        // Dropping the guard flushes the worker (it waits at most a second; the line count
        // below shows whether everything arrived).
        drop(self.guard.take());
        let done = Some(Instant::now());
        let written = count_lines(&self.path);
        Finish {
            done,
            written,
            dropped: self.errors.dropped_lines() as u64,
            bytes: std::fs::metadata(&self.path).map_or(0, |m| m.len()),
        }
    }
}

// --- slog + slog-async, to a plain file drain -------------------------------------------------

/// `slog` with `slog-async` in front of a plain text drain that writes lines to a buffered file.
pub struct Slog {
    logger: slog::Logger,
    guard: Option<slog_async::AsyncGuard>,
    reported: Arc<AtomicU64>,
    path: PathBuf,
}

/// Formats `LEVEL message k=v ...` lines into a buffered file (runs on slog-async's worker).
struct PlainDrain {
    /// The file and a line buffer (a `RefCell`: `Drain::log` takes `&self`, and only
    /// slog-async's worker thread calls it).
    out: std::cell::RefCell<(std::io::BufWriter<File>, String)>,
    /// Records slog-async reported as dropped (it sends them as a record with a `count`).
    reported: Arc<AtomicU64>,
}

struct LineSerializer<'a> {
    line: &'a mut String,
    count: Option<u64>,
}

impl slog::Serializer for LineSerializer<'_> {
    fn emit_arguments(&mut self, key: slog::Key, val: &std::fmt::Arguments) -> slog::Result {
        use std::fmt::Write as _;
        let _ = write!(self.line, " {key}={val}");
        Ok(())
    }
    fn emit_u64(&mut self, key: slog::Key, val: u64) -> slog::Result {
        self.count = Some(val);
        self.emit_arguments(key, &format_args!("{val}"))
    }
    fn emit_usize(&mut self, key: slog::Key, val: usize) -> slog::Result {
        self.emit_u64(key, val as u64)
    }
}

const SLOG_DROP_NOTICE: &str = "slog-async: logger dropped messages due to channel overflow";

impl slog::Drain for PlainDrain {
    type Ok = ();
    type Err = std::io::Error;

    fn log(&self, r: &slog::Record, kv: &slog::OwnedKVList) -> Result<(), std::io::Error> {
        use slog::KV as _;
        use std::fmt::Write as _;
        let mut out = self.out.borrow_mut();
        let (file, line) = &mut *out;
        line.clear();
        let _ = write!(
            line,
            "{} {} {}",
            SystemTimeNs,
            r.level().as_short_str(),
            r.msg()
        );
        let mut ser = LineSerializer {
            line: &mut *line,
            count: None,
        };
        let _ = r.kv().serialize(r, &mut ser);
        let _ = kv.serialize(r, &mut ser);
        if r.msg().as_str() == Some(SLOG_DROP_NOTICE) {
            self.reported
                .fetch_add(ser.count.unwrap_or(0), Ordering::Relaxed);
            return Ok(());
        }
        line.push('\n');
        file.write_all(line.as_bytes())
    }
}

/// Wall-clock nanoseconds, formatted when displayed.
struct SystemTimeNs;

impl std::fmt::Display for SystemTimeNs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        write!(f, "{ns}")
    }
}

impl Subject for Slog {
    type Local = slog::Logger;
    const NAME: &'static str = "slog-async";

    fn start(dir: &Path, setup: Setup) -> Self {
        use slog::Drain as _;
        let path = dir.join("slog.log");
        let reported = Arc::new(AtomicU64::new(0));
        let drain = PlainDrain {
            out: std::cell::RefCell::new((
                std::io::BufWriter::new(File::create(&path).expect("slog log file")),
                String::new(),
            )),
            reported: reported.clone(),
        };
        let (drain, guard) = slog_async::Async::new(drain.fuse())
            .chan_size(8192)
            .overflow_strategy(if setup.block {
                slog_async::OverflowStrategy::Block
            } else {
                slog_async::OverflowStrategy::DropAndReport
            })
            .build_with_guard();
        Slog {
            logger: slog::Logger::root(drain.fuse(), slog::o!()),
            guard: Some(guard),
            reported,
            path,
        }
    }

    fn local(&self) -> slog::Logger {
        self.logger.clone()
    }

    #[inline(always)]
    fn a(&self, l: &mut slog::Logger, i: u32, j: u32, d: f64) {
        slog::info!(l, "Logging int: {}, int: {}, double: {}", i, j, d);
    }

    #[inline(always)]
    fn b(&self, l: &mut slog::Logger, s: &str, i: u64) {
        slog::info!(l, "Logging str: {}, int: {}", s, i);
    }

    #[inline(always)]
    fn c(&self, l: &mut slog::Logger, s: &str) {
        slog::info!(l, "Logging large str: {}", s);
    }

    #[inline(always)]
    fn d(&self, l: &mut slog::Logger, order: u64, price: f64, qty: u32, side: &str, ok: bool) {
        slog::info!(l, "order"; "order" => order, "price" => price, "qty" => qty, "side" => side, "ok" => ok);
    }

    fn finish(mut self) -> Finish {
        // The guard's drop sends the end message and joins the worker, which flushes the file
        // when its drain is dropped.
        drop(self.logger);
        drop(self.guard.take());
        Finish {
            done: Some(Instant::now()),
            written: count_lines(&self.path),
            dropped: self.reported.load(Ordering::Relaxed),
            bytes: std::fs::metadata(&self.path).map_or(0, |m| m.len()),
        }
    }
}

// --- synchronous: format, then one write(2) per record behind a mutex --------------------------

/// What users are replacing: format the line on the calling thread, then `write(2)` it to the
/// file under a mutex.
pub struct SyncWrite {
    file: Mutex<File>,
    path: PathBuf,
}

impl SyncWrite {
    #[inline(always)]
    fn emit(&self, buf: &mut Vec<u8>, args: std::fmt::Arguments<'_>) {
        buf.clear();
        let _ = writeln!(buf, "{} INFO {args}", SystemTimeNs);
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let _ = f.write_all(buf);
    }
}

impl Subject for SyncWrite {
    type Local = Vec<u8>;
    const NAME: &'static str = "sync write(2)";

    fn start(dir: &Path, _: Setup) -> Self {
        let path = dir.join("sync.log");
        SyncWrite {
            file: Mutex::new(File::create(&path).expect("sync log file")),
            path,
        }
    }

    fn local(&self) -> Vec<u8> {
        Vec::with_capacity(512)
    }

    #[inline(always)]
    fn a(&self, l: &mut Vec<u8>, i: u32, j: u32, d: f64) {
        self.emit(
            l,
            format_args!("Logging int: {}, int: {}, double: {}", i, j, d),
        );
    }

    #[inline(always)]
    fn b(&self, l: &mut Vec<u8>, s: &str, i: u64) {
        self.emit(l, format_args!("Logging str: {}, int: {}", s, i));
    }

    #[inline(always)]
    fn c(&self, l: &mut Vec<u8>, s: &str) {
        self.emit(l, format_args!("Logging large str: {}", s));
    }

    #[inline(always)]
    fn d(&self, l: &mut Vec<u8>, order: u64, price: f64, qty: u32, side: &str, ok: bool) {
        self.emit(
            l,
            format_args!("order order={order} price={price} qty={qty} side={side} ok={ok}"),
        );
    }

    fn finish(self) -> Finish {
        drop(self.file);
        Finish {
            done: Some(Instant::now()),
            written: count_lines(&self.path),
            dropped: 0,
            bytes: std::fs::metadata(&self.path).map_or(0, |m| m.len()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tables

/// Prints a Markdown table.
pub fn print_table(head: &[&str], rows: &[Vec<String>]) {
    println!("| {} |", head.join(" | "));
    println!(
        "|{}",
        head.iter()
            .enumerate()
            .map(|(i, _)| if i < 3 { " --- |" } else { " ---: |" })
            .collect::<String>()
    );
    for r in rows {
        println!("| {} |", r.join(" | "));
    }
}

/// `uptime`-style load average (Linux), for the record of how quiet the machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The CPU model (Linux) and the number of CPUs this process may use.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.into());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cpus} CPUs")
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
