//! The drain: one thread that takes over every producer's ring, hands the records to the
//! segment writer, reports drops, answers flushes, frees the rings of threads that are gone, and
//! survives a panic in itself.
use super::writer::{Ring, SegmentWriter, count_records};
use crate::clock::{Anchor, Calibration};
use crate::error::Error;
use crate::runtime::{NewRing, Shared};
use crate::storage::SegmentDir;
use crate::sync::{self, Arc, Ordering, lock, mpsc};

pub(crate) struct Drain {
    shared: Arc<Shared>,
    rings: Vec<Ring>,
    writer: SegmentWriter,
    orphans_reported: u64,
}

impl Drain {
    pub(crate) fn new(
        shared: Arc<Shared>,
        mut dir: SegmentDir,
        calib: Calibration,
    ) -> Result<Drain, Error> {
        shared
            .counters
            .segments_recovered
            .fetch_add(dir.recovered(), Ordering::Relaxed);
        let anchor = Anchor::now();
        let seg = dir.create(&anchor, calib.ticks_per_sec())?;
        shared
            .counters
            .segments_created
            .fetch_add(1, Ordering::Relaxed);
        Ok(Drain {
            shared: shared.clone(),
            rings: Vec::new(),
            writer: SegmentWriter::new(shared, dir, seg, calib, anchor.ticks),
            orphans_reported: 0,
        })
    }

    /// Sends every segment sealed from now on to `tx` (the compressor thread).
    pub(crate) fn set_sealed_sink(&mut self, tx: mpsc::Sender<std::path::PathBuf>) {
        self.writer.set_sealed_sink(tx);
    }

    /// The drain thread's loop.
    pub(crate) fn run(&mut self) {
        let mut idle_rounds = 0u32;
        loop {
            // Acquire pairs with the AcqRel ticket increment in `flush`: every record committed
            // before that call is visible to the pass below.
            let ticket = self.shared.flush_req.load(Ordering::Acquire);
            let stopping = self.shared.stop.load(Ordering::Acquire);
            let moved = self.pass();
            if ticket > self.shared.flush_done.load(Ordering::Relaxed) {
                self.shared.complete_flush(ticket);
            }
            if stopping && moved == 0 {
                self.close(Self::pass);
                break;
            }
            if moved > 0 {
                idle_rounds = 0;
                continue;
            }
            idle_rounds = idle_rounds.saturating_add(1);
            self.idle(idle_rounds);
        }
        self.seal();
        self.publish_consumed();
    }

    /// The drain's last passes: sets `closing`, makes every producer pass a full barrier (the
    /// heavy side of the fence whose light side follows each commit), then runs `pass` until
    /// it moves nothing. A record committed before a producer's barrier is seen by these
    /// passes; a producer that commits after it sees `closing` and settles its record itself
    /// (`Producer::settle_late`).
    fn close(&mut self, pass: fn(&mut Drain) -> u64) {
        sync::set_then_heavy_fence(&self.shared.closing);
        while pass(self) > 0 {}
    }

    /// Publishes how many records the drain took out of each ring, for producers that commit
    /// while it closes. `Shared::drain_exited` then sets `finished` with release.
    fn publish_consumed(&mut self) {
        self.adopt_new_rings();
        for ring in &self.rings {
            ring.shared
                .consumed
                .store(ring.consumed(), Ordering::Relaxed);
        }
    }

    /// Writes the last sampling counts and seals the current segment, as the drain thread does
    /// when it stops (loom models that drive passes by hand call it themselves).
    pub(crate) fn seal(&mut self) {
        self.writer.write_sampled();
        self.writer.seal_current();
    }

    /// Backs off while there is nothing to do (see [`sync::idle`]).
    fn idle(&self, rounds: u32) {
        sync::idle(rounds, self.shared.cfg.max_idle);
    }

    /// Runs the drain loop and survives a panic in it: the panic is caught, producers are
    /// released (`alive` goes false, so `Block` stops waiting and `flush` returns
    /// `DrainStopped`), the segment being written is left as it is (its frames verify or not,
    /// and the reader decides), and the thread stays on in a degraded mode that writes no more
    /// records but counts every one as dropped and reports the count in a fresh segment.
    pub(crate) fn run_supervised(&mut self) {
        let panicked =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run())).is_err();
        if !panicked {
            return;
        }
        self.shared
            .counters
            .drain_panics
            .fetch_add(1, Ordering::Relaxed);
        self.shared.drain_exited();
        // Never seal or touch the segment the panic left behind: its state may be mid-frame.
        // Dropping it unmaps it; everything published (and every complete frame) stays readable.
        self.writer.abandon();
        // A second panic here ends the thread; the records then stay counted by producers.
        let _ =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.discard_until_stop()));
    }

    /// The degraded loop after a panic: empties every ring, counting its records as dropped,
    /// and writes the drop notices into a new segment (retrying while none can be created).
    fn discard_until_stop(&mut self) {
        let mut idle_rounds = 0u32;
        loop {
            let stopping = self.shared.stop.load(Ordering::Acquire);
            let moved = self.discard_pass();
            if stopping && moved == 0 {
                self.close(Self::discard_pass);
                break;
            }
            if moved > 0 {
                idle_rounds = 0;
                continue;
            }
            idle_rounds = idle_rounds.saturating_add(1);
            self.idle(idle_rounds);
        }
        self.writer.seal_current();
        self.publish_consumed();
    }

    /// One pass of the degraded loop: empties every ring, counting its records as dropped.
    fn discard_pass(&mut self) -> u64 {
        self.adopt_new_rings();
        let mut moved = 0;
        let mut i = 0;
        while i < self.rings.len() {
            let ring = &mut self.rings[i];
            let closed = ring.shared.closed.load(Ordering::Acquire);
            let avail = ring.consumer.slots();
            if let Ok(chunk) = ring.consumer.read_chunk(avail) {
                let (a, b) = chunk.as_slices();
                let n = count_records(a, b, avail);
                chunk.commit_all();
                self.writer.lose(&mut ring.lost_here, n);
                moved += n;
            }
            moved += self.writer.report_drops(ring);
            if !self.retire_if_finished(i, closed) {
                i += 1;
            }
        }
        moved += self.report_orphans();
        self.writer.publish();
        moved
    }

    /// Frees ring `i` if its producer is gone (`closed` was read before it was drained), it is
    /// empty and its drops are reported. Returns whether it was removed.
    fn retire_if_finished(&mut self, i: usize, closed: bool) -> bool {
        let ring = &self.rings[i];
        if !(closed && ring.consumer.is_empty() && ring.pending_drops() == 0) {
            return false;
        }
        let ring = self.rings.swap_remove(i);
        if ring.shared.counted {
            self.shared
                .counters
                .live_producers
                .fetch_sub(1, Ordering::Relaxed);
        }
        true
    }

    /// Takes over the rings of threads that logged for the first time since the last pass.
    fn adopt_new_rings(&mut self) {
        // Acquire pairs with the release store in `attach`.
        if self.shared.has_new.swap(false, Ordering::Acquire) {
            let new: Vec<NewRing> = std::mem::take(&mut *lock(&self.shared.new_rings));
            for r in new {
                self.rings.push(Ring {
                    id: r.id,
                    consumer: r.consumer,
                    shared: r.shared,
                    reported: 0,
                    lost_here: 0,
                    described_in: 0,
                    written: 0,
                });
            }
        }
    }

    /// One pass over every ring. Returns the number of records (and notices) moved.
    pub(crate) fn pass(&mut self) -> u64 {
        crate::testing::fault::drain_pass();
        self.adopt_new_rings();
        self.writer.rotate_on_time();
        let mut moved = 0;
        let mut i = 0;
        while i < self.rings.len() {
            let ring = &mut self.rings[i];
            // Read `closed` before draining: if it was set, everything the producer committed is
            // visible now (acquire pairs with the release in `Producer::drop`), so an empty ring
            // after this pass is empty for good.
            let closed = ring.shared.closed.load(Ordering::Acquire);
            moved += self.writer.drain_ring(ring);
            moved += self.writer.report_drops(ring);
            if !self.retire_if_finished(i, closed) {
                i += 1;
            }
        }
        moved += self.report_orphans();
        if moved > 0 {
            self.writer.maybe_anchor();
        }
        self.writer.publish();
        moved
    }

    fn report_orphans(&mut self) -> u64 {
        let total = self.shared.orphan_dropped.load(Ordering::Relaxed);
        if total > self.orphans_reported
            && self.writer.write_dropped(0, total - self.orphans_reported)
        {
            self.orphans_reported = total;
            return 1;
        }
        0
    }
}
