//! The other loggers under test: `tracing` with `tracing-appender`'s non-blocking writer, `slog`
//! with `slog-async`, and a synchronous `write(2)` per record behind a mutex.
use super::files::count_lines;
use super::subject::{Finish, Setup, Subject};
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

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
            segments: 0,
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
            segments: 0,
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
            segments: 0,
        }
    }
}
