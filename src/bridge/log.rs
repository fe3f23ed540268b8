//! The `log` bridge: crates that log with `log::info!` and friends write into tachylog's rings.
//!
//! ```no_run
//! let _guard = tachylog::Builder::new().filter("info,hyper=warn")?.init()?;
//! tachylog::bridge::log::init()?; // Err if another `log` logger is installed
//! log::info!(target: "app", "listening on {}", 8080);
//! # Ok::<(), tachylog::Error>(())
//! ```
//!
//! - **The message is formatted on the calling thread.** `log` hands a logger only
//!   `fmt::Arguments`, so the text is formatted into the thread's reusable scratch buffer (as
//!   [`display`](crate::display) does) and recorded as one pre-formatted string. A message
//!   without arguments (`log::info!("ready")`) is recorded as its static string, unformatted.
//!   Use tachylog's own macros where the formatting cost matters.
//! - Each distinct (level, target, module, file, line) gets its own tachylog call site the first
//!   time it is seen, so the decoder shows the `log` record's own target, file and line, and the
//!   filter ([`Builder::filter`](crate::Builder::filter), [`set_filter`](crate::set_filter),
//!   [`set_level`](crate::set_level)) applies per target and is cached per call site, as for the
//!   native macros. Each thread caches the mapping (a hash of those strings, no lock), so a
//!   location's later records allocate nothing.
//! - At most [`MAX_CALLSITES`] such call sites are created (a `target:` computed at run time
//!   could otherwise create one per record). Past that, records of new locations go through one
//!   shared call site per level whose target is `log` and whose fields `log.target`,
//!   `log.module_path`, `log.file` and `log.line` carry the location; the filter is then
//!   evaluated per record, under a lock.
//! - `log`'s global maximum level follows tachylog's filter, so records that no target wants
//!   are rejected by `log`'s macros before their arguments are evaluated.
//! - Key-value pairs of `log`'s unstable `kv` feature are not recorded.
use crate::Level;
use crate::error::Error;
use crate::frontend::callsite::{Callsite, Metadata};
use crate::frontend::encode::Encode;
use crate::frontend::producer;
use crate::runtime::{self, ACTIVE, MAX_LEVEL};
use crate::sync::{AtomicBool, Mutex, Ordering, lock};
use rustc_hash::FxBuildHasher;
use std::cell::RefCell;
use std::collections::HashMap;

/// Most call sites the bridge creates for distinct `log` locations (see the module docs).
pub const MAX_CALLSITES: usize = 4096;

/// (level, target, module path, file, line): what makes a `log` record's location.
type Key<'a> = (Level, &'a str, &'a str, &'a str, u32);
type Map = HashMap<Key<'static>, &'static Callsite, FxBuildHasher>;

/// Every call site created so far, keyed by location. Locked only on a thread's first record
/// from a location.
static INTERNED: Mutex<Map> = Mutex::new(HashMap::with_hasher(FxBuildHasher));

// sync-lint: allow (a per-thread cache owned by its thread; not part of the modelled protocol)
thread_local! {
    /// This thread's copy of the entries of [`INTERNED`] it has used.
    static CACHE: RefCell<Map> = const { RefCell::new(HashMap::with_hasher(FxBuildHasher)) };
}

/// Set once [`init`] has installed the logger; from then on tachylog sets `log`'s maximum level.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The `log::Log` implementation; installed by [`init`].
#[derive(Debug)]
pub struct Logger {
    _private: (),
}

static LOGGER: Logger = Logger { _private: () };

/// Installs tachylog as the `log` crate's logger. May be called before or after
/// [`Builder::init`](crate::Builder::init): as with the native macros, records are kept only
/// while a tachylog logger runs, and those logged while none runs are discarded by the level
/// check.
///
/// Calling it again is a no-op. `Err(Error::LogLoggerSet)` if another `log` logger was
/// installed first (`log` allows one per process).
pub fn init() -> Result<(), Error> {
    // Under `ACTIVE`, the lock every filter change holds while it calls `max_level_changed`,
    // so the maximum level set here cannot be overtaken by a stale one.
    let _active = lock(&ACTIVE);
    if INSTALLED.load(Ordering::Relaxed) {
        return Ok(());
    }
    ::log::set_logger(&LOGGER).map_err(|_| Error::LogLoggerSet)?;
    INSTALLED.store(true, Ordering::Relaxed);
    runtime::on_max_level_change(max_level_changed);
    max_level_changed(MAX_LEVEL.load(Ordering::Relaxed));
    Ok(())
}

/// The logger, for use with `log::set_logger` or `log::set_boxed_logger` wrappers of your own
/// (then [`init`] is not needed, but `log`'s maximum level is yours to set).
pub fn logger() -> &'static Logger {
    &LOGGER
}

/// Copies tachylog's global maximum level `max` (within the compile-time ceiling) into `log`'s,
/// once the logger is installed. Registered with the runtime by [`init`], which calls it
/// whenever the level ceiling changes, with the `ACTIVE` lock held.
fn max_level_changed(max: u8) {
    if !INSTALLED.load(Ordering::Relaxed) {
        return;
    }
    let max = max.min(crate::level::STATIC_MAX_LEVEL);
    ::log::set_max_level(match max {
        0 => ::log::LevelFilter::Off,
        1 => ::log::LevelFilter::Error,
        2 => ::log::LevelFilter::Warn,
        3 => ::log::LevelFilter::Info,
        4 => ::log::LevelFilter::Debug,
        _ => ::log::LevelFilter::Trace,
    });
}

impl ::log::Log for Logger {
    /// The level ceiling, then the filter for the target (this takes the filter's lock: it is
    /// what `log_enabled!` calls, not the path of ordinary records).
    fn enabled(&self, metadata: &::log::Metadata<'_>) -> bool {
        let level = from_log(metadata.level());
        crate::__private::enabled(level) && runtime::decide(metadata.target(), level)
    }

    fn log(&self, record: &::log::Record<'_>) {
        let level = from_log(record.level());
        if !crate::__private::enabled(level) {
            return;
        }
        match callsite(level, record) {
            Some(cs) => {
                if cs.enabled() {
                    write(cs, record);
                }
            }
            None => write_dynamic(level, record),
        }
    }

    fn flush(&self) {
        crate::flush();
    }
}

/// Looks `key` up in a map whose keys borrow `'static` strings, with a key that borrows
/// shorter-lived ones (a shared map is covariant in its key type).
fn get(map: &Map, key: &Key<'_>) -> Option<&'static Callsite> {
    let map: &HashMap<Key<'_>, &'static Callsite, FxBuildHasher> = map;
    map.get(key).copied()
}

fn key<'a>(level: Level, r: &::log::Record<'a>) -> Key<'a> {
    (
        level,
        r.target(),
        r.module_path().unwrap_or(""),
        r.file().unwrap_or(""),
        r.line().unwrap_or(0),
    )
}

/// The call site of this record's location: this thread's cache, else the shared table
/// (creating it), else `None` when the table is full.
#[inline]
fn callsite(level: Level, r: &::log::Record<'_>) -> Option<&'static Callsite> {
    let key = key(level, r);
    let hit = CACHE.try_with(|c| c.try_borrow().ok().and_then(|m| get(&m, &key)));
    match hit {
        Ok(Some(cs)) => Some(cs),
        _ => intern(r, &key),
    }
}

#[cold]
#[inline(never)]
fn intern(r: &::log::Record<'_>, key: &Key<'_>) -> Option<&'static Callsite> {
    let cs = {
        let mut table = lock(&INTERNED);
        match get(&table, key) {
            Some(cs) => cs,
            None if table.len() >= MAX_CALLSITES => return None,
            None => {
                let (level, target, module_path, file, line) = *key;
                let module_path = leak_str(module_path, r.module_path_static());
                // The default target is the module path: share its string.
                let target = if target == module_path {
                    module_path
                } else {
                    leak_str(target, None)
                };
                let cs: &'static Callsite = Box::leak(Box::new(Callsite::new(Metadata {
                    level,
                    target,
                    module_path,
                    file: leak_str(file, r.file_static()),
                    line,
                    format: "{}",
                    arg_names: &[""],
                    field_names: &[],
                })));
                table.insert(static_key(cs), cs);
                cs
            }
        }
    };
    let _ = CACHE.try_with(|c| {
        if let Ok(mut m) = c.try_borrow_mut() {
            m.insert(static_key(cs), cs);
        }
    });
    Some(cs)
}

fn static_key(cs: &'static Callsite) -> Key<'static> {
    let m = cs.metadata();
    (m.level, m.target, m.module_path, m.file, m.line)
}

/// Records the message: its static text if it has no arguments, else formatted now.
fn write(cs: &'static Callsite, r: &::log::Record<'_>) {
    match r.args().as_str() {
        Some(s) => producer::log(cs, s.size(), |w| s.encode(w)),
        None => {
            let text = producer::text_now(*r.args());
            producer::log(cs, text.size(), |w| text.encode(w));
        }
    }
}

const fn dynamic(level: Level) -> Callsite {
    Callsite::new(Metadata {
        level,
        target: "log",
        module_path: "",
        file: "",
        line: 0,
        format: "{}",
        arg_names: &[""],
        field_names: &["log.target", "log.module_path", "log.file", "log.line"],
    })
}

/// The shared call sites of locations past [`MAX_CALLSITES`], indexed by level − 1.
static DYNAMIC: [Callsite; 5] = [
    dynamic(Level::Error),
    dynamic(Level::Warn),
    dynamic(Level::Info),
    dynamic(Level::Debug),
    dynamic(Level::Trace),
];

#[cold]
#[inline(never)]
fn write_dynamic(level: Level, r: &::log::Record<'_>) {
    let (_, target, module_path, file, line) = key(level, r);
    if !runtime::decide(target, level) {
        return;
    }
    let cs = &DYNAMIC[level as usize - 1];
    let text = producer::text_now(*r.args());
    let size = text.size() + target.size() + module_path.size() + file.size() + line.size();
    producer::log(cs, size, |w| {
        text.encode(w);
        target.encode(w);
        module_path.encode(w);
        file.encode(w);
        line.encode(w);
    });
}

/// Call sites created so far for distinct `log` locations (at most [`MAX_CALLSITES`]).
pub fn callsites() -> usize {
    lock(&INTERNED).len()
}

/// tachylog's level for one of `log`'s, which has the same five in the same order.
fn from_log(level: ::log::Level) -> Level {
    match level {
        ::log::Level::Error => Level::Error,
        ::log::Level::Warn => Level::Warn,
        ::log::Level::Info => Level::Info,
        ::log::Level::Debug => Level::Debug,
        ::log::Level::Trace => Level::Trace,
    }
}

/// Leaks `s` unless it is already `'static` (call-site metadata lives as long as the process:
/// the registry holds it and the drain repeats it in every segment).
fn leak_str(s: &str, known: Option<&'static str>) -> &'static str {
    match known {
        Some(k) => k,
        None if s.is_empty() => "",
        None => Box::leak(s.to_owned().into_boxed_str()),
    }
}
