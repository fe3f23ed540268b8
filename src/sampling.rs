//! Sampling and rate limits for chatty call sites: `info!(sample = 20, ...)` and
//! `info!(limit = 1000/s, ...)`.
//!
//! The state is per call site *and thread*: each thread owns a table of slots indexed by
//! call-site id, written only by that thread, so the hot path shares no cache line with other
//! threads (the drain and `stats()` only read it). Rules, per call site and thread:
//!
//! - `sample = N` keeps the 1st, (N+1)th, (2N+1)th, ... record: exactly one in every N,
//!   starting with the first.
//! - `limit = N/s` keeps the first N records of each wall-clock-aligned second of the
//!   monotonic clock and skips the rest of that second. With T threads logging from one call
//!   site, up to T × N records a second are kept.
//!
//! Neither applies to `warn!` or `error!` (the macro ignores them there). Kept and skipped
//! counts reach [`sampling_stats`](crate::sampling_stats), `stats().records_sampled_out`, and
//! the segments (a SAMPLED frame, see `docs/FORMAT.md`).
use crate::callsite::Callsite;
use crate::sync::{Arc, AtomicU64, Mutex, OnceLock, Ordering, lock};
use std::collections::BTreeMap;

const CHUNK: usize = 256;
const CHUNKS: usize = 256;
/// Call sites with ids at or above this are never sampled (their records are all kept).
const MAX_ID: usize = CHUNK * CHUNKS;

/// One call site's state on one thread. Only the owning thread writes (relaxed load + store,
/// no read-modify-write needed); readers see a value at most one update old.
#[derive(Default)]
struct Slot {
    /// Records seen in the current window (`limit`), or ever (`sample`).
    count: AtomicU64,
    /// The current one-second window (`limit`).
    window: AtomicU64,
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

#[cfg(not(loom))]
static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    tables: Vec::new(),
    retired: BTreeMap::new(),
});

// Under loom, state lives for one model execution (the models do not sample; it only has to
// compile).
#[cfg(loom)]
loom::lazy_static! {
    static ref REGISTRY: Mutex<Registry> = Mutex::new(Registry {
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

/// `limit = n/s`: whether to keep this record (the first `n` of each second).
#[inline]
pub fn limit_per_sec(cs: &'static Callsite, n: u64) -> bool {
    with_slot(cs, |s| {
        let window = crate::clock::mono_ns() / 1_000_000_000;
        if s.window.load(Ordering::Relaxed) != window {
            s.window.store(window, Ordering::Relaxed);
            s.count.store(0, Ordering::Relaxed);
        }
        Slot::bump(&s.count) < n
    })
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
            let m = crate::callsite::lookup(id)?.metadata();
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
