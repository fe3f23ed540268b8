//! Sampling and rate limits for chatty call sites: `info!(sample = 20, ...)` and
//! `info!(limit = 1000/s, ...)`.
//!
//! Counts are per call site *and thread*: each thread owns a table of slots indexed by
//! call-site id, written only by that thread, so sampling shares no cache line with other
//! threads (the drain and `stats()` only read it). Rules:
//!
//! - `sample = N` keeps the 1st, (N+1)th, (2N+1)th, ... record of the call site on each
//!   thread: exactly one in every N, starting with the first.
//! - `limit = N/s` keeps the first N records of each second of the monotonic clock, over all
//!   threads together, and skips the rest of that second. Its window is one word in the call
//!   site that the threads logging there share.
//!
//! Neither applies to `warn!` or `error!` (the macro ignores them there). Kept and skipped
//! counts reach [`sampling_stats`](crate::sampling_stats), `stats().records_sampled_out`, and
//! the segments (a SAMPLED frame, see `docs/FORMAT.md`).
use super::callsite::{self, Callsite};
use crate::sync::{Arc, AtomicU64, Mutex, OnceLock, Ordering, lock, model_static};
use std::collections::BTreeMap;

const CHUNK: usize = 256;
const CHUNKS: usize = 256;
/// Call sites with ids at or above this are never sampled (their records are all kept).
const MAX_ID: usize = CHUNK * CHUNKS;

/// One call site's state on one thread. Only the owning thread writes (relaxed load + store,
/// no read-modify-write needed); readers see a value at most one update old.
#[derive(Default)]
struct Slot {
    /// Records seen (`sample`).
    count: AtomicU64,
    kept: AtomicU64,
    skipped: AtomicU64,
}

impl Slot {
    #[inline(always)]
    fn bump(c: &AtomicU64) -> u64 {
        let v = c.load(Ordering::Relaxed);
        c.store(v + 1, Ordering::Relaxed);
        v
    }
}

/// A thread's slots, allocated a chunk at a time on first use.
struct Table {
    chunks: [OnceLock<Box<[Slot; CHUNK]>>; CHUNKS],
}

impl Table {
    #[inline(always)]
    fn slot(&self, id: u32) -> Option<&Slot> {
        let id = id as usize;
        if id >= MAX_ID {
            return None;
        }
        let chunk = self.chunks[id / CHUNK]
            .get_or_init(|| Box::new(std::array::from_fn(|_| Slot::default())));
        Some(&chunk[id % CHUNK])
    }
}

/// Every live thread's table; tables of exited threads are folded into `retired`.
struct Registry {
    tables: Vec<Arc<Table>>,
    retired: BTreeMap<u32, (u64, u64)>,
}

model_static! {
    static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
        tables: Vec::new(),
        retired: BTreeMap::new(),
    });
}

// sync-lint: allow (a per-thread cache owned by its thread; not part of the modelled protocol)
thread_local! {
    static MINE: Arc<Table> = {
        let t = Arc::new(Table { chunks: std::array::from_fn(|_| OnceLock::new()) });
        lock(&REGISTRY).tables.push(t.clone());
        t
    };
}

/// Runs `decide` on this thread's slot for `cs`; keeps the record (true) where there is no
/// slot (thread teardown, huge id).
#[inline(always)]
fn with_slot(cs: &'static Callsite, decide: impl FnOnce(&Slot) -> bool) -> bool {
    let id = cs.id();
    MINE.try_with(|t| match t.slot(id) {
        Some(s) => {
            let keep = decide(s);
            Slot::bump(if keep { &s.kept } else { &s.skipped });
            keep
        }
        None => true,
    })
    .unwrap_or(true)
}

/// `sample = n`: whether to keep this record (one in `n`, the first included).
#[inline]
pub fn sample_every(cs: &'static Callsite, n: u64) -> bool {
    if n <= 1 {
        return true;
    }
    with_slot(cs, |s| Slot::bump(&s.count).is_multiple_of(n))
}

/// `limit = n/s`: whether to keep this record (the first `n` of each second, over all threads).
///
/// The window is one word in the call site, claimed with compare-and-swap, so the cap holds
/// for the call site as a whole. That word is shared between the threads that log here: the
/// price of an exact per-call-site limit, paid only by call sites that ask for one. The kept
/// and skipped counts stay per thread.
#[inline]
pub fn limit_per_sec(cs: &'static Callsite, n: u64) -> bool {
    with_slot(cs, |_| {
        let second = crate::clock::mono_ns() / 1_000_000_000;
        let second = (second & u64::from(u32::MAX)) << 32;
        let n = n.min(u64::from(u32::MAX));
        let w = &cs.limit_window;
        let mut cur = w.load(Ordering::Relaxed);
        loop {
            let next = if cur & !u64::from(u32::MAX) != second {
                second | 1
            } else if cur & u64::from(u32::MAX) < n {
                cur + 1
            } else {
                return false;
            };
            // Relaxed: the word only counts; no other data is published through it.
            match w.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(v) => cur = v,
            }
        }
    })
}

/// Holds the sampling registry's lock until the result is dropped (across `fork`, so that the
/// child never finds it held by a thread it does not have).
pub(crate) fn hold_for_fork() -> impl Sized + 'static {
    lock(&REGISTRY)
}

/// Kept and skipped totals per call-site id over every thread, live or exited, since the
/// process started.
pub(crate) fn totals() -> BTreeMap<u32, (u64, u64)> {
    let mut reg = lock(&REGISTRY);
    let Registry { tables, retired } = &mut *reg;
    let mut sums = retired.clone();
    let mut i = 0;
    while i < tables.len() {
        let t = &tables[i];
        // Count 1: the thread that owned it has exited; its counts no longer change.
        let gone = Arc::strong_count(t) == 1;
        for (c, chunk) in t.chunks.iter().enumerate() {
            let Some(chunk) = chunk.get() else { continue };
            for (k, s) in chunk.iter().enumerate() {
                let (kept, skipped) = (
                    s.kept.load(Ordering::Relaxed),
                    s.skipped.load(Ordering::Relaxed),
                );
                if kept + skipped == 0 {
                    continue;
                }
                let id = (c * CHUNK + k) as u32;
                let e = sums.entry(id).or_default();
                e.0 += kept;
                e.1 += skipped;
                if gone {
                    let r = retired.entry(id).or_default();
                    r.0 += kept;
                    r.1 += skipped;
                }
            }
        }
        if gone {
            tables.swap_remove(i);
        } else {
            i += 1;
        }
    }
    sums
}

/// Kept and skipped counts of one sampled or rate-limited call site.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SampledCallsite {
    /// The call site's target.
    pub target: &'static str,
    /// Its source file.
    pub file: &'static str,
    /// Its source line.
    pub line: u32,
    /// Its format string.
    pub format: &'static str,
    /// Records that sampling or the rate limit kept.
    pub kept: u64,
    /// Records that sampling or the rate limit skipped.
    pub skipped: u64,
}

/// Kept and skipped counts of every sampled or rate-limited call site that has logged in this
/// process (over every thread and every logger started), in call-site registration order.
pub fn sampling_stats() -> Vec<SampledCallsite> {
    totals()
        .into_iter()
        .filter_map(|(id, (kept, skipped))| {
            let m = callsite::lookup(id)?.metadata();
            Some(SampledCallsite {
                target: m.target,
                file: m.file,
                line: m.line,
                format: m.format,
                kept,
                skipped,
            })
        })
        .collect()
}
