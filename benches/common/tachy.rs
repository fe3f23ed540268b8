//! tachylog itself, through its macros (the process-wide logger: one per process at a time).
use super::subject::{Finish, Setup, Subject};
use std::path::Path;
use std::time::Instant;

/// tachylog through its macros.
pub struct Tachy {
    guard: Option<tachylog::Guard>,
}

impl Subject for Tachy {
    type Local = ();
    const NAME: &'static str = "tachylog";

    fn start(dir: &Path, setup: Setup) -> Self {
        let mut b = tachylog::Builder::new()
            .dir(dir)
            .name("bench")
            .ring_capacity(setup.ring)
            .drain_core(setup.drain_core)
            .discard_records(setup.discard);
        if let Some(size) = setup.segment {
            b = b.segment_size(size);
        }
        if super::opts::CONSOLE.load(std::sync::atomic::Ordering::Relaxed) {
            b = b.console(tachylog::Console::stderr());
        }
        let guard = b
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
            segments: s.segments_created,
        }
    }
}
