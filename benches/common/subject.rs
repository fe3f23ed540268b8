//! The loggers under test, as the benchmarks see them: the [`Subject`] trait, how a logger is
//! set up ([`Setup`]) and what it reports at the end ([`Finish`]).
use super::shapes::{STR20, STR200, Shape};
use std::path::Path;
use std::time::Instant;

/// What a logger reports once everything it was given is written (or dropped).
#[derive(Debug, Clone, Copy, Default)]
pub struct Finish {
    /// Records found in its files.
    pub written: u64,
    /// Records it says it dropped.
    pub dropped: u64,
    /// Bytes in its files.
    pub bytes: u64,
    /// Segment files created (tachylog; 0 for the others).
    pub segments: u64,
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
    /// Bytes of the floor's mapped file (faulted in before the run; reused from its start
    /// when full).
    pub floor_map: usize,
    /// Pin the drain (and the floor's consumer) to this core.
    pub drain_core: Option<usize>,
    /// tachylog's segment size (`None`: the default, 64 MiB).
    pub segment: Option<usize>,
    /// tachylog's drain throws records away (`Builder::discard_records`): the producer-only
    /// row.
    pub discard: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            block: false,
            ring: 256 << 10,
            floor_map: 64 << 20,
            drain_core: None,
            segment: None,
            discard: false,
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
