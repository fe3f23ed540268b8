//! The segment writer: moves records from a ring into frames of the current segment,
//! describes call sites and threads once per segment, writes drop notices, clock anchors and
//! sampling counts, and rotates (by size and by time), applying retention to each new segment.
use crate::clock::{self, Anchor, Calibration};
use crate::frontend::callsite::{self, Callsite};
use crate::frontend::sampling;
use crate::runtime::{ProducerShared, Shared};
use crate::storage::{Preparer, Segment, SegmentDir, retention};
use crate::sync::{Arc, Break, Ordering, broken, mpsc, ring};
use crate::wire::{
    AnchorBody, CallsiteHead, DroppedBody, EndBody, Kind, RECORD_HEAD_LEN, RecordHead, RecordsHead,
    SampledEntry, SampledHead, ThreadHead,
};
use std::time::Duration;

/// What [`SegmentWriter::scan`] found: bytes and records that fit, and whether it stopped at a
/// malformed record.
type Scanned = (usize, u32, bool);

/// A producer's ring as the drain sees it.
pub(crate) struct Ring {
    pub(crate) id: u32,
    pub(crate) consumer: ring::Consumer,
    pub(crate) shared: Arc<ProducerShared>,
    /// Drops already reported in a notice.
    pub(crate) reported: u64,
    /// Records the drain itself had to discard (no writable segment), cumulative.
    pub(crate) lost_here: u64,
    /// Sequence number of the segment in which this thread was last described.
    pub(crate) described_in: u64,
    /// Records of this ring written into segments, cumulative.
    pub(crate) written: u64,
}

/// Where frames go: the current segment, what it already describes, and the rules for
/// opening the next one (rotation by size and time, retention, retries after a failure).
pub(crate) struct SegmentWriter {
    /// Prepares the next segment, faults in one the drain made itself, and cuts sealed ones
    /// (then sends them to the compressor) off this thread. Declared before `seg`: dropping it
    /// first waits for the worker, which may be faulting in the live segment's pages.
    prep: Preparer,
    shared: Arc<Shared>,
    dir: SegmentDir,
    seg: Option<Segment>,
    /// Per call-site id: the segment sequence in which it was last described.
    described: Vec<u64>,
    /// Call-site cache (index = id), filled from the registry on a miss.
    callsites: Vec<Option<&'static Callsite>>,
    calib: Calibration,
    last_anchor_ticks: u64,
    /// When creating a segment last failed (mono ns), to retry at a bounded rate.
    last_failure_ns: Option<u64>,
    /// Scratch list of call-site ids to describe before a records frame.
    to_describe: Vec<u32>,
    /// Wall-clock time (Unix ns) at which the current segment rotates, with `rotate_every`.
    next_rotation_ns: Option<u64>,
    /// When retention last checked `max_age` (mono ns).
    last_age_check_ns: u64,
    /// Sampling totals per call site already written in sampled frames.
    sampled_reported: std::collections::BTreeMap<u32, (u64, u64)>,
}

/// How often (at most) the drain writes a clock anchor while records flow.
const ANCHOR_EVERY: Duration = Duration::from_millis(10);
/// How long the drain waits before retrying a segment that could not be created.
const RETRY_EVERY: Duration = Duration::from_millis(100);

impl SegmentWriter {
    /// A writer for the engine `shared`, with its first segment `seg` already created in `dir`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        dir: SegmentDir,
        mut seg: Segment,
        calib: Calibration,
        anchor_ticks: u64,
    ) -> SegmentWriter {
        let mut prep = Preparer::start(&dir);
        prep.populate(&mut seg);
        let mut w = SegmentWriter {
            prep,
            shared,
            dir,
            seg: Some(seg),
            described: Vec::new(),
            callsites: Vec::new(),
            calib,
            last_anchor_ticks: anchor_ticks,
            last_failure_ns: None,
            to_describe: Vec::new(),
            next_rotation_ns: None,
            last_age_check_ns: 0,
            // Counts from earlier loggers in this process were written by them.
            sampled_reported: sampling::totals(),
        };
        w.prep.request(&w.dir);
        w.segment_created();
        w
    }

    /// Sends every segment sealed from now on to `tx` (the compressor thread).
    pub(crate) fn set_sealed_sink(&mut self, tx: mpsc::Sender<std::path::PathBuf>) {
        self.prep.set_sink(tx);
    }

    /// Lets go of the segment a drain panic left behind, without sealing it.
    pub(crate) fn abandon(&mut self) {
        if let Some(seg) = self.seg.take() {
            self.prep.release(seg);
        }
    }
}

impl Ring {
    /// Records taken out of this ring: written, or counted as lost by the drain.
    pub(crate) fn consumed(&self) -> u64 {
        self.written + self.lost_here
    }

    pub(crate) fn pending_drops(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed) + self.lost_here - self.reported
    }
}

/// Reads the 16-byte record header at `pos` of the two ring slices (it may straddle them).
fn head_at(a: &[u8], b: &[u8], pos: usize) -> Option<RecordHead> {
    let mut buf = [0u8; RECORD_HEAD_LEN];
    for (k, byte) in buf.iter_mut().enumerate() {
        let i = pos + k;
        *byte = if i < a.len() {
            a[i]
        } else {
            *b.get(i - a.len())?
        };
    }
    Some(bytemuck::pod_read_unaligned(&buf))
}

/// The length and call-site id of the record at `pos` of the two ring slices: read in place
/// from the slice that holds them, or through [`head_at`] where they straddle the two.
#[inline(always)]
fn len_and_id(a: &[u8], b: &[u8], pos: usize) -> Option<(u32, u32)> {
    let in_place = match a.get(pos..) {
        Some(rest) if !rest.is_empty() => rest.first_chunk::<8>(),
        _ => b
            .get(pos - a.len()..)
            .and_then(|rest| rest.first_chunk::<8>()),
    };
    let Some(h) = in_place else {
        return head_at(a, b, pos).map(|h| (h.len, h.callsite));
    };
    // `len` is the record's first four bytes, the call-site id the next four (little-endian).
    let v = u64::from_le_bytes(*h);
    Some((v as u32, (v >> 32) as u32))
}

/// The sub-slices of `a ++ b` covering `0..n`.
fn prefix<'a>(a: &'a [u8], b: &'a [u8], n: usize) -> (&'a [u8], &'a [u8]) {
    if n <= a.len() {
        (&a[..n], &[])
    } else {
        (a, &b[..n - a.len()])
    }
}

fn callsite_frame_len(cs: &Callsite) -> usize {
    let m = cs.metadata();
    let strings = [m.target, m.module_path, m.file, m.format]
        .iter()
        .chain(m.arg_names.iter())
        .chain(m.field_names.iter())
        .map(|s| 4 + s.len())
        .sum::<usize>();
    Segment::frame_size(size_of::<CallsiteHead>() + strings)
}

impl SegmentWriter {
    pub(crate) fn publish(&self) {
        if let Some(s) = &self.seg {
            s.publish();
        }
    }

    fn callsite(&mut self, id: u32) -> Option<&'static Callsite> {
        let i = id as usize;
        if let Some(Some(cs)) = self.callsites.get(i) {
            return Some(cs);
        }
        let cs = callsite::lookup(id)?;
        if self.callsites.len() <= i {
            self.callsites.resize(i + 1, None);
        }
        self.callsites[i] = Some(cs);
        Some(cs)
    }

    fn is_described(&self, id: u32, seq: u64) -> bool {
        let then = self.described.get(id as usize).copied().unwrap_or(0);
        then == seq || (broken(Break::RotationForgetsMetadata) && then != 0)
    }

    /// Makes sure a segment is open, creating one (at a bounded retry rate) if the last attempt
    /// failed. Returns false while no segment can be had.
    fn ensure_segment(&mut self) -> bool {
        if self.seg.is_some() {
            return true;
        }
        let now = clock::mono_ns();
        if self
            .last_failure_ns
            .is_some_and(|t| now.saturating_sub(t) < RETRY_EVERY.as_nanos() as u64)
        {
            return false;
        }
        let anchor = Anchor::now();
        self.calib.refine(&anchor);
        let tps = self.calib.ticks_per_sec();
        // The prepared file if there is one (rotation is then a rename), else a new file.
        let made = match self
            .prep
            .take()
            .and_then(|p| p.install(&mut self.dir, &anchor, tps))
        {
            Some(seg) => Ok(seg),
            None => self.dir.create(&anchor, tps).map(|mut seg| {
                self.prep.populate(&mut seg);
                seg
            }),
        };
        match made {
            Ok(seg) => {
                self.shared
                    .counters
                    .segments_created
                    .fetch_add(1, Ordering::Relaxed);
                self.last_anchor_ticks = anchor.ticks;
                self.seg = Some(seg);
                self.last_failure_ns = None;
                self.prep.request(&self.dir);
                self.segment_created();
                true
            }
            Err(_) => {
                self.last_failure_ns = Some(now);
                false
            }
        }
    }

    /// Seals the current segment and opens the next.
    fn rotate(&mut self) {
        self.seal_current();
        self.ensure_segment();
    }

    /// Seals the current segment: complete for readers before the next one can appear. The
    /// preparer cuts it and passes it to the compressor.
    pub(crate) fn seal_current(&mut self) {
        if let Some(mut seg) = self.seg.take() {
            seg.seal(self.dir.next_seq());
            let path = self.dir.path(seg.seq());
            self.prep.retire(seg, path);
        }
    }

    /// Walks the records at the start of `a ++ b` (`avail` bytes, whole records) that fit in
    /// `budget` bytes together with a CALLSITE frame for each call site segment `seq` has not
    /// described yet; those are listed in `to_describe` and marked described. Returns the
    /// bytes and the number of records that fit, and whether the walk met a malformed record.
    ///
    /// Per record: the length and call-site id (8 bytes, read in place unless they straddle
    /// the ring's end), one load and compare against the segment's number for the call site,
    /// and the bounds.
    fn scan(&mut self, a: &[u8], b: &[u8], avail: usize, budget: usize, seq: u64) -> Scanned {
        self.to_describe.clear();
        // Records end at or before `limit`: the budget less the CALLSITE frames to write.
        let mut limit = budget;
        let (mut pos, mut n) = (0usize, 0u32);
        while pos < avail {
            let Some((len, id)) = len_and_id(a, b, pos) else {
                return (pos, n, true);
            };
            let len = len as usize;
            if len < RECORD_HEAD_LEN || len > avail - pos {
                // Cannot happen with the engine's own producers (each commit ends on a record
                // boundary); skip the rest rather than write garbage.
                return (pos, n, true);
            }
            if self.described.get(id as usize) != Some(&seq) && !self.is_described(id, seq) {
                let extra = self.callsite(id).map_or(0, callsite_frame_len);
                if pos + len + extra > limit {
                    break;
                }
                limit -= extra;
                self.to_describe.push(id);
                self.mark_described(id, seq);
            }
            if pos + len > limit {
                break;
            }
            pos += len;
            n += 1;
        }
        (pos, n, false)
    }

    /// Notes that call site `id` is described in segment `seq`.
    fn mark_described(&mut self, id: u32, seq: u64) {
        if self.described.len() <= id as usize {
            self.described.resize(id as usize + 1, 0);
        }
        self.described[id as usize] = seq;
    }

    /// Moves as much of `ring` as possible into the segment. Returns records moved. (Not
    /// inlined: called once per ring and pass, and a function of its own in profiles.)
    #[inline(never)]
    pub(crate) fn drain_ring(&mut self, ring: &mut Ring) -> u64 {
        let mut moved = 0;
        loop {
            let avail = ring.consumer.slots();
            if avail == 0 {
                return moved;
            }
            let Ok(chunk) = ring.consumer.read_chunk(avail) else {
                return moved;
            };
            let (a, b) = chunk.as_slices();
            if self.shared.cfg.discard_records {
                let n = count_records(a, b, avail);
                chunk.commit_all();
                self.shared
                    .counters
                    .records_written
                    .fetch_add(n, Ordering::Relaxed);
                return moved + n;
            }
            let Some(seq) = self.seg.as_ref().map(Segment::seq) else {
                // No segment: the records are lost; count them for a notice once writing resumes.
                let n = count_records(a, b, avail);
                chunk.commit_all();
                self.lose(&mut ring.lost_here, n);
                return moved;
            };
            let remaining = self.seg.as_ref().map_or(0, Segment::remaining);
            let mut budget =
                remaining.saturating_sub(Segment::frame_size(0) + size_of::<RecordsHead>() + 7);
            // Keep room for the END frame of this segment.
            budget = budget.saturating_sub(Segment::frame_size(size_of::<EndBody>()));
            let described = ring.described_in == seq
                || (broken(Break::RotationForgetsMetadata) && ring.described_in != 0);
            let thread_size = if described {
                0
            } else {
                Segment::frame_size(
                    size_of::<ThreadHead>() + ring.shared.name.as_ref().map_or(0, |n| n.len()),
                )
            };
            budget = budget.saturating_sub(thread_size);
            let (pos, n, corrupt) = self.scan(a, b, avail, budget, seq);
            if corrupt && n == 0 {
                self.lose(&mut ring.lost_here, 1);
                chunk.commit_all();
                return moved;
            }
            if n == 0 {
                // Nothing fits. In a fresh segment that means the record can never fit: drop it.
                let fresh = self.seg.as_ref().is_some_and(|s| s.records == 0);
                if fresh {
                    let len = head_at(a, b, 0).map_or(avail, |h| (h.len as usize).clamp(1, avail));
                    chunk.commit(len);
                    self.lose(&mut ring.lost_here, 1);
                    continue;
                }
                // Without a new segment the next round counts the records as lost.
                self.rotate();
                continue;
            }
            let seg = self.seg.as_mut().expect("checked above");
            if thread_size > 0 {
                write_thread(seg, ring.id, &ring.shared);
                ring.described_in = seq;
            }
            for k in 0..self.to_describe.len() {
                let id = self.to_describe[k];
                if let Some(cs) = self.callsite(id) {
                    write_callsite(self.seg.as_mut().expect("open"), id, cs);
                }
            }
            let (pa, pb) = prefix(a, b, pos);
            let head = RecordsHead {
                producer: ring.id,
                count: n,
            };
            let seg = self.seg.as_mut().expect("open");
            let before = seg.remaining();
            seg.append(Kind::Records, &[bytemuck::bytes_of(&head), pa, pb]);
            seg.records += n as u64;
            let written = (before - seg.remaining()) as u64;
            chunk.commit(pos);
            moved += n as u64;
            ring.written += n as u64;
            self.shared
                .counters
                .records_written
                .fetch_add(n as u64, Ordering::Relaxed);
            self.shared
                .counters
                .bytes_written
                .fetch_add(written, Ordering::Relaxed);
            if corrupt {
                self.lose(&mut ring.lost_here, 1);
                let rest = ring.consumer.slots();
                if let Ok(c) = ring.consumer.read_chunk(rest) {
                    c.commit_all();
                }
                return moved;
            }
            if pos < avail {
                self.rotate();
            }
        }
    }

    /// After a segment is created: sets its time-rotation deadline and applies retention.
    pub(crate) fn segment_created(&mut self) {
        if let Some(every) = self.shared.cfg.rotate_every {
            self.next_rotation_ns = Some(retention::next_boundary(clock::unix_ns(), every));
        }
        self.retain();
    }

    /// Rotates if the wall clock has crossed the current segment's boundary and the segment
    /// holds records (an empty one just moves on to the next boundary). Checks `max_age`
    /// retention at most once per [`AGE_CHECK_EVERY`](retention::AGE_CHECK_EVERY).
    pub(crate) fn rotate_on_time(&mut self) {
        if let Some(deadline) = self.next_rotation_ns {
            let now = clock::unix_ns();
            if now >= deadline {
                if self.seg.as_ref().is_some_and(|s| s.records > 0) {
                    self.rotate();
                } else if let Some(every) = self.shared.cfg.rotate_every {
                    self.next_rotation_ns = Some(retention::next_boundary(now, every));
                }
            }
        }
        if self.shared.cfg.retention.max_age.is_some() {
            let now = clock::mono_ns();
            let every = retention::AGE_CHECK_EVERY.as_nanos() as u64;
            if now.saturating_sub(self.last_age_check_ns) >= every {
                self.last_age_check_ns = now;
                self.retain();
            }
        }
    }

    /// Deletes sealed segments beyond the retention limits (never the live one).
    fn retain(&mut self) {
        let cfg = &self.shared.cfg;
        if !cfg.retention.is_set() {
            return;
        }
        let live_seq = self.seg.as_ref().map_or(self.dir.next_seq(), Segment::seq);
        // The live segment's reservation, and the next one's while it is prepared.
        let reserved = self.seg.is_some() as u64 + self.prep.reserved() as u64;
        let live_bytes = reserved * cfg.segment_size as u64;
        if let Ok(n) = retention::apply(&cfg.dir, &cfg.name, live_seq, live_bytes, &cfg.retention) {
            self.shared
                .counters
                .segments_removed
                .fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts records the drain itself had to discard (the producer did not count them).
    pub(crate) fn lose(&self, lost_here: &mut u64, n: u64) {
        *lost_here += n;
        self.shared
            .counters
            .records_dropped
            .fetch_add(n, Ordering::Relaxed);
    }

    /// Writes a notice for drops this ring has not reported yet. Returns 1 if one was written.
    pub(crate) fn report_drops(&mut self, ring: &mut Ring) -> u64 {
        let pending = ring.pending_drops();
        if pending == 0 {
            return 0;
        }
        // The notice names its producer: describe the thread in the notice's segment first, or
        // a reader of that segment could not tell whose records were lost.
        self.describe_thread(ring);
        if !self.write_dropped(ring.id, pending) {
            return 0;
        }
        ring.reported += pending;
        if broken(Break::DropReportReread) {
            ring.reported = ring.shared.dropped.load(Ordering::Relaxed) + ring.lost_here;
        }
        1
    }

    /// Writes a THREAD frame for `ring` unless the current segment has one, making sure that a
    /// dropped-records notice still fits after it (rotating first if not).
    fn describe_thread(&mut self, ring: &mut Ring) {
        let name_len = ring.shared.name.as_ref().map_or(0, |n| n.len());
        let need = Segment::frame_size(size_of::<ThreadHead>() + name_len)
            + Segment::frame_size(size_of::<DroppedBody>())
            + Segment::frame_size(size_of::<EndBody>());
        if self.seg.as_ref().is_some_and(|s| s.remaining() < need) {
            self.seal_current();
        }
        if self.seg.is_none() && !self.ensure_segment() {
            return;
        }
        let Some(seg) = self.seg.as_mut() else { return };
        if ring.described_in != seg.seq() {
            write_thread(seg, ring.id, &ring.shared);
            ring.described_in = seg.seq();
        }
    }

    /// Appends a dropped-records notice, rotating if the segment is full. False if no segment.
    pub(crate) fn write_dropped(&mut self, producer: u32, count: u64) -> bool {
        let body = DroppedBody {
            producer,
            _pad: 0,
            count,
            ticks: clock::ticks(),
        };
        self.append_small(Kind::Dropped, bytemuck::bytes_of(&body))
    }

    /// Appends a small fixed frame, rotating first if it would not fit (keeping room for END).
    fn append_small(&mut self, kind: Kind, body: &[u8]) -> bool {
        let need = Segment::frame_size(body.len()) + Segment::frame_size(size_of::<EndBody>());
        if self.seg.as_ref().is_some_and(|s| s.remaining() < need) {
            self.seal_current();
        }
        if self.seg.is_none() && !self.ensure_segment() {
            return false;
        }
        self.seg.as_mut().is_some_and(|s| s.append(kind, &[body]))
    }

    /// Writes a clock anchor if the last one is older than [`ANCHOR_EVERY`].
    pub(crate) fn maybe_anchor(&mut self) {
        let now = clock::ticks();
        let every = self.calib.ticks_per_sec() * ANCHOR_EVERY.as_secs_f64();
        if (now.wrapping_sub(self.last_anchor_ticks) as f64) < every {
            return;
        }
        let anchor = Anchor::now();
        self.calib.refine(&anchor);
        self.shared
            .calibration_tps
            .store(self.calib.ticks_per_sec().to_bits(), Ordering::Relaxed);
        let body = AnchorBody {
            ticks: anchor.ticks,
            unix_ns: anchor.unix_ns,
            ticks_per_sec: self.calib.ticks_per_sec(),
        };
        if self.append_small(Kind::Anchor, bytemuck::bytes_of(&body)) {
            self.last_anchor_ticks = anchor.ticks;
        }
        self.write_sampled();
    }

    /// Writes a sampled frame with what sampled call sites kept and skipped since the last
    /// one, after describing those call sites in this segment if needed. Rotates first if it
    /// would not fit; counts that cannot be written yet stay pending for the next one.
    pub(crate) fn write_sampled(&mut self) {
        let totals = sampling::totals();
        let mut entries = Vec::new();
        for (&id, &(kept, skipped)) in &totals {
            let (k0, s0) = self.sampled_reported.get(&id).copied().unwrap_or_default();
            if (kept, skipped) != (k0, s0) && self.callsite(id).is_some() {
                entries.push(SampledEntry {
                    callsite: id,
                    _pad: 0,
                    kept: kept - k0,
                    skipped: skipped - s0,
                });
            }
        }
        if entries.is_empty() {
            return;
        }
        for attempt in 0..2 {
            if !self.ensure_segment() {
                return;
            }
            let seq = self.seg.as_ref().map_or(0, Segment::seq);
            let describe: Vec<u32> = entries
                .iter()
                .map(|e| e.callsite)
                .filter(|&id| !self.is_described(id, seq))
                .collect();
            let need = describe
                .iter()
                .filter_map(|&id| self.callsite(id).map(callsite_frame_len))
                .sum::<usize>()
                + Segment::frame_size(
                    size_of::<SampledHead>() + entries.len() * size_of::<SampledEntry>(),
                )
                + Segment::frame_size(size_of::<EndBody>());
            if self.seg.as_ref().is_some_and(|s| s.remaining() < need) {
                if attempt == 0 {
                    self.rotate();
                }
                continue;
            }
            for id in describe {
                if let Some(cs) = self.callsite(id) {
                    write_callsite(self.seg.as_mut().expect("open"), id, cs);
                }
                self.mark_described(id, seq);
            }
            let head = SampledHead {
                count: entries.len() as u32,
                _pad: 0,
            };
            let seg = self.seg.as_mut().expect("open");
            if seg.append(
                Kind::Sampled,
                &[bytemuck::bytes_of(&head), bytemuck::cast_slice(&entries)],
            ) {
                for e in &entries {
                    self.sampled_reported
                        .insert(e.callsite, totals[&e.callsite]);
                }
            }
            return;
        }
    }
}

pub(crate) fn count_records(a: &[u8], b: &[u8], avail: usize) -> u64 {
    let (mut pos, mut n) = (0, 0);
    while pos < avail {
        match len_and_id(a, b, pos) {
            Some((len, _)) if len as usize >= RECORD_HEAD_LEN => pos += len as usize,
            _ => return n + 1,
        }
        n += 1;
    }
    n
}

fn write_thread(seg: &mut Segment, producer: u32, shared: &ProducerShared) {
    let name = shared.name.as_deref().unwrap_or("");
    let head = ThreadHead {
        producer,
        tid: shared.tid,
        has_name: shared.name.is_some() as u32,
        name_len: name.len() as u32,
    };
    seg.append(Kind::Thread, &[bytemuck::bytes_of(&head), name.as_bytes()]);
}

fn write_callsite(seg: &mut Segment, id: u32, cs: &Callsite) {
    let m = cs.metadata();
    let head = CallsiteHead {
        id,
        line: m.line,
        level: m.level as u8,
        _pad: [0; 3],
        n_args: m.arg_names.len() as u16,
        n_fields: m.field_names.len() as u16,
    };
    let strings: Vec<&str> = [m.target, m.module_path, m.file, m.format]
        .into_iter()
        .chain(m.arg_names.iter().copied())
        .chain(m.field_names.iter().copied())
        .collect();
    let lens: Vec<[u8; 4]> = strings
        .iter()
        .map(|s| (s.len() as u32).to_le_bytes())
        .collect();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(1 + 2 * strings.len());
    parts.push(bytemuck::bytes_of(&head));
    for (s, l) in strings.iter().zip(&lens) {
        parts.push(l);
        parts.push(s.as_bytes());
    }
    seg.append(Kind::Callsite, &parts);
}
