//! The frame walker: one segment's frames, checked and turned into events.
use super::error::{ReadError, Tail};
use super::event::{
    CallsiteInfo, CallsitePtr, Chunk, DropNotice, Event, Record, SampledNotice, SegmentBytes,
    ThreadInfo,
};
use super::intern::{Full, Interner};
use super::source::Loaded;
use crate::Level;
use crate::wire::crc::RangeCrc;
use crate::wire::{
    self, AnchorBody, CallsiteHead, DroppedBody, EndBody, FRAME_HEADER_LEN, FormatError,
    FrameHeader, HEADER_LEN, Kind, RECORD_HEAD_LEN, RecordHead, RecordsHead, SampledEntry,
    SampledHead, SegmentHeader, ThreadHead,
};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use zerocopy::FromBytes;

/// What a reader keeps from one segment to the next: the call-site descriptions, and each
/// thread's count of records so far (by writer pid and producer).
#[derive(Debug, Default)]
pub(super) struct Context {
    pub(super) callsites: Interner,
    pub(super) seqs: HashMap<(u32, u32), u64>,
}

/// One segment being read: its bytes, where the walker is, and what its frames have described
/// so far (call sites, threads, the clock anchor).
pub(super) struct SegmentState {
    pub(super) path: PathBuf,
    /// File bytes from offset `base` on (the whole file, except in follow mode, where the part
    /// already read is let go).
    pub(super) data: SegmentBytes,
    /// File offset of `data[0]`; a multiple of the frame alignment.
    pub(super) base: usize,
    /// Frames that verified.
    pub(super) frames: u64,
    /// Follow mode: `data` ends at the committed length and more may come; reaching its end
    /// waits instead of finishing the segment.
    pub(super) live: bool,
    /// Follow mode: the end of `data` was reached, or a frame there is cut short by it.
    pub(super) starved: bool,
    /// Follow mode: the file offset up to which bytes may be read (the committed length, or
    /// the file's length once the writer has moved on); `data` may end before it. A frame cut
    /// short by the end of `data` but ending within it is waited for, not called damage.
    pub(super) avail: usize,
    /// Follow mode: the file offset up to which the next read must reach, to complete the frame
    /// the walker is starved on.
    pub(super) need: usize,
    pub(super) seq: u64,
    pid: u32,
    pub(super) off: usize,
    pub(super) committed: usize,
    /// The committed length the header claims, not clamped to the bytes there are.
    pub(super) claimed: u64,
    sealed: bool,
    anchor: (u64, u64, f64),
    callsites: HashMap<u32, Arc<CallsiteInfo>>,
    threads: HashMap<u32, Arc<ThreadInfo>>,
    pub(super) done: bool,
    /// Whether frame checksums are checked (always, except for fuzzing:
    /// [`Reader::skip_frame_checksums`](super::Reader::skip_frame_checksums)).
    pub(super) check_crc: bool,
    /// The records frame being read, if any.
    cursor: Option<Records>,
    /// Prefix checksums of `data[origin..]` for [`SegmentState::resync`], as `(origin,
    /// checksums)`: built the first time a candidate claims a long payload, kept while `data`
    /// is, dropped by [`SegmentState::set_bytes`].
    ranges: Option<(usize, RangeCrc)>,
    /// The bytes may stop before the segment's end (a compressed segment whose lz4 data is
    /// damaged: what followed the damage is lost). Unless an END frame is read, the segment
    /// then ends torn.
    pub(super) cut: bool,
    /// What was found wrong while loading the bytes, reported when the segment ends.
    pub(super) lost: Vec<ReadError>,
}

impl SegmentState {
    pub(super) fn new(
        path: PathBuf,
        data: Loaded,
    ) -> Result<(SegmentState, Option<ReadError>), ReadError> {
        let parsed = match SegmentHeader::parse(&data) {
            Ok(p) => p,
            Err(FormatError::UnsupportedVersion(version)) => {
                return Err(ReadError::UnsupportedVersion { path, version });
            }
            Err(e) => {
                return Err(ReadError::NotASegment {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        let h = parsed.header;
        let mut warn = None;
        if !parsed.intact {
            warn = Some(ReadError::Corrupt {
                path: path.clone(),
                offset: 0,
                reason: "segment header fails its checksum; timestamps may be wrong".into(),
            });
        }
        let committed = (h.committed as usize).clamp(HEADER_LEN, data.len());
        let shared_path: Arc<std::path::Path> = Arc::from(path.as_path());
        let st = SegmentState {
            path,
            seq: h.seq,
            pid: h.pid,
            off: HEADER_LEN,
            committed,
            claimed: h.committed,
            sealed: h.is_sealed(),
            anchor: (h.anchor_ticks, h.anchor_unix_ns, h.ticks_per_sec),
            callsites: HashMap::new(),
            threads: HashMap::new(),
            done: false,
            check_crc: true,
            cursor: None,
            ranges: None,
            data: Arc::new(Chunk::new(data, Arc::default(), shared_path, 0)),
            base: 0,
            frames: 0,
            live: false,
            starved: false,
            cut: false,
            lost: Vec::new(),
            avail: 0,
            need: 0,
        };
        Ok((st, warn))
    }

    /// Puts `bytes` in the place of the segment's bytes held so far (follow mode: the bytes
    /// from `base` on, as read last); call-site descriptions stay.
    pub(super) fn set_bytes(&mut self, bytes: Loaded) {
        self.data = Arc::new(Chunk::new(
            bytes,
            self.data.callsites().clone(),
            self.data.path().clone(),
            self.base,
        ));
        self.ranges = None;
    }

    fn corrupt(&self, offset: usize, reason: impl Into<String>) -> ReadError {
        ReadError::Corrupt {
            path: self.path.clone(),
            offset: (self.base + offset) as u64,
            reason: reason.into(),
        }
    }

    /// The damage a sealed segment shows when its frames stop at `off` before an END frame.
    pub(super) fn missing_end(&self, off: usize) -> ReadError {
        let held = self.base + self.data.len();
        let short = if self.claimed > held as u64 {
            format!(
                ", {} bytes short of the {} its header says were written",
                self.claimed - held as u64,
                self.claimed
            )
        } else {
            String::new()
        };
        self.corrupt(
            off,
            format!(
                "the segment is marked sealed but its frames stop here without the END frame \
                 that closes it{short}: the file was cut after it was sealed, and whatever \
                 followed is lost"
            ),
        )
    }

    /// The frame header at `off` and its payload range, if the payload lies within the data;
    /// else the length it claims, if it has a header at all (nothing allocated: a resync
    /// meets many).
    #[inline]
    fn frame_bounds(&self, off: usize) -> Result<(FrameHeader, usize, usize), Option<u32>> {
        let Ok((fh, _)) = FrameHeader::read_from_prefix(&self.data[off..]) else {
            return Err(None);
        };
        let start = off + FRAME_HEADER_LEN;
        let end = start
            .checked_add(fh.len as usize)
            .filter(|&e| e <= self.data.len());
        match end {
            Some(end) => Ok((fh, start, end)),
            None => Err(Some(fh.len)),
        }
    }

    /// Checks the frame at `off`: Ok((header, payload range)) or a reason.
    fn frame_at(&self, off: usize) -> Result<(FrameHeader, usize, usize), String> {
        let (fh, start, end) = self.frame_bounds(off).map_err(|claim| match claim {
            None => "frame header cut short".to_string(),
            Some(len) => format!("frame length {len} runs past the end of the file"),
        })?;
        let hb = &self.data[off..off + 8];
        if self.check_crc && wire::frame_crc(hb, &self.data[start..end]) != fh.crc {
            return Err("frame checksum mismatch".into());
        }
        // A kind this reader does not know, in a frame that verifies, is skipped in `step`: a
        // newer writer may add kinds without making older readers call them damage.
        Ok((fh, start, end))
    }

    /// Follow mode: whether bytes up to `end` (an offset in `data`) are missing from `data` but
    /// may be read from the file (up to `avail`); if so, the walker starves until they are.
    fn wait_for(&mut self, end: usize) -> bool {
        let wanted = self.base.saturating_add(end);
        if end <= self.data.len() || wanted > self.avail {
            return false;
        }
        self.need = wanted;
        self.starved = true;
        true
    }

    /// Finds the next offset after `from` where a frame verifies (as [`SegmentState::frame_at`]
    /// would find it).
    ///
    /// Linear in the bytes it passes, whatever the lengths the candidates claim: a claim past
    /// the end of the data is refused from the header alone, a short payload is checksummed
    /// directly, and a long one from prefix checksums ([`RangeCrc`], built once per `data`
    /// over the rest of it), at most two partial strides and a few multiplications a candidate.
    /// The walker only moves forward within `data`, so nothing scanned and rejected here is
    /// scanned again.
    fn resync(&mut self, from: usize) -> Option<usize> {
        let mut off = wire::align_up(from + 1);
        while off + FRAME_HEADER_LEN <= self.data.len() {
            if self.verifies_at(off) {
                return Some(off);
            }
            off += wire::FRAME_ALIGN;
        }
        None
    }

    /// Whether the frame at `off` verifies, at a cost that does not grow with its length.
    fn verifies_at(&mut self, off: usize) -> bool {
        let Ok((fh, start, end)) = self.frame_bounds(off) else {
            return false;
        };
        if !self.check_crc {
            return true;
        }
        let data = &self.data;
        let hb = &data[off..off + 8];
        // A payload this short costs no more to read than a query of the prefix checksums.
        if end - start <= 2 * RangeCrc::STRIDE {
            return wire::frame_crc(hb, &data[start..end]) == fh.crc;
        }
        // `off` only grows within `data`: prefix checksums from the first long claim on cover
        // every later candidate (and should it not, they are built again from here).
        if self
            .ranges
            .as_ref()
            .is_some_and(|(origin, _)| *origin > off)
        {
            self.ranges = None;
        }
        let (origin, ranges) = self
            .ranges
            .get_or_insert_with(|| (off, RangeCrc::new(&data[off..])));
        let o = *origin;
        ranges.frame_crc(&data[o..], hb, start - o..end - o) == fh.crc
    }

    /// Reports damage found in loading the bytes ([`super::source::Lz4Damage`]) where the
    /// segment ends: `cut` (bytes may be missing at the end) and `lost` (what is wrong).
    pub(super) fn damaged(&mut self, damage: Option<super::source::Lz4Damage>) {
        if let Some(d) = damage {
            self.cut = d.cut;
            self.lost = d.ranges().map(|(e, _)| e).collect();
        }
    }

    pub(super) fn finish(&mut self, tail: Tail, queue: &mut VecDeque<Result<Event, ReadError>>) {
        self.done = true;
        queue.extend(std::mem::take(&mut self.lost).into_iter().map(Err));
        let tail = if self.cut { Tail::Torn } else { tail };
        queue.push_back(Ok(Event::SegmentEnd {
            path: self.path.clone(),
            tail,
        }));
    }

    /// Reads one frame, pushing what it yields onto `queue`, its records included.
    pub(super) fn step(
        &mut self,
        queue: &mut VecDeque<Result<Event, ReadError>>,
        cx: &mut Context,
    ) {
        self.advance(queue, cx);
        while let Some(item) = self.next_record(cx) {
            queue.push_back(item);
        }
    }

    /// Reads one frame, pushing what it yields onto `queue`, except the records of a records
    /// frame: [`SegmentState::next_record`] hands those out. Call it only when that returns
    /// `None`.
    pub(super) fn advance(
        &mut self,
        queue: &mut VecDeque<Result<Event, ReadError>>,
        cx: &mut Context,
    ) {
        debug_assert!(self.cursor.is_none());
        let off = self.off;
        if self.live && off >= self.data.len() {
            self.starved = true;
            return;
        }
        if self.live && self.wait_for(off + FRAME_HEADER_LEN) {
            return;
        }
        if off + FRAME_HEADER_LEN > self.data.len() {
            let tail = if off >= self.data.len() || self.data[off..].iter().all(|&b| b == 0) {
                if self.sealed && !self.live && !self.cut {
                    // A sealed segment ends with its END frame: the file was cut after sealing
                    // (a copy that stopped, a truncation), at a frame boundary, so every frame
                    // before the cut reads well and only this tells that the rest is gone.
                    queue.push_back(Err(self.missing_end(off)));
                    Tail::Clean
                } else if self.sealed {
                    Tail::Sealed
                } else if off >= self.data.len() {
                    Tail::Clean
                } else {
                    Tail::ZeroFilled
                }
            } else {
                Tail::Torn
            };
            return self.finish(tail, queue);
        }
        let (fh, start, end) = match self.frame_at(off) {
            Ok(f) => f,
            Err(reason) => {
                if self.live
                    && let Ok((fh, _)) = FrameHeader::read_from_prefix(&self.data[off..])
                    && self.wait_for(off + FRAME_HEADER_LEN + fh.len as usize)
                {
                    return;
                }
                let zeros = self.data[off..].iter().all(|&b| b == 0);
                if off >= self.committed && zeros {
                    if self.sealed && !self.live && !self.cut {
                        queue.push_back(Err(self.missing_end(off)));
                        return self.finish(Tail::Clean, queue);
                    }
                    return self.finish(Tail::ZeroFilled, queue);
                }
                if off >= self.committed {
                    // Past the published length: a frame the writer had not finished.
                    match self.resync(off) {
                        Some(next) => {
                            queue.push_back(Err(self.corrupt(off, reason)));
                            self.off = next;
                        }
                        None => self.finish(Tail::Torn, queue),
                    }
                    return;
                }
                queue.push_back(Err(self.corrupt(off, reason)));
                match self.resync(off) {
                    Some(next) => self.off = next,
                    None => self.finish(Tail::Torn, queue),
                }
                return;
            }
        };
        // Past the padding; a live segment's padding may not be read yet.
        self.off = if self.live {
            wire::align_up(end)
        } else {
            wire::align_up(end).min(self.data.len().max(end))
        };
        self.frames += 1;
        let data = self.data.clone();
        let payload = &data[start..end];
        match Kind::from_u16(fh.kind) {
            Some(Kind::Callsite) => match parse_callsite(payload) {
                Ok((id, info)) => match cx.callsites.callsite(info) {
                    Ok(cs) => {
                        // Kept with the segment's bytes, for the records that will point at it.
                        let keep = self.data.callsites();
                        keep.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(cs.clone());
                        self.callsites.insert(id, cs);
                    }
                    Err(Full) => {
                        let (callsites, bytes) = cx.callsites.limits();
                        queue.push_back(Err(ReadError::TooManyCallsites {
                            path: self.path.clone(),
                            offset: (self.base + off) as u64,
                            callsites,
                            bytes,
                        }));
                        // Not read to its end: no segment end to report.
                        self.done = true;
                    }
                },
                Err(r) => queue.push_back(Err(self.corrupt(off, r))),
            },
            Some(Kind::Thread) => match parse_thread(payload) {
                Ok(t) => {
                    self.threads.insert(t.producer, Arc::new(t));
                }
                Err(r) => queue.push_back(Err(self.corrupt(off, r))),
            },
            Some(Kind::Anchor) => match AnchorBody::read_from_bytes(payload) {
                Ok(a) => self.anchor = (a.ticks, a.unix_ns, a.ticks_per_sec),
                Err(_) => queue.push_back(Err(self.corrupt(off, "anchor frame of the wrong size"))),
            },
            Some(Kind::Dropped) => match DroppedBody::read_from_bytes(payload) {
                Ok(d) => {
                    let thread = self.threads.get(&d.producer).cloned();
                    queue.push_back(Ok(Event::Dropped(DropNotice {
                        ts_unix_ns: self.ts(d.ticks),
                        thread,
                        count: d.count,
                        segment: self.seq,
                    })));
                }
                Err(_) => {
                    queue.push_back(Err(self.corrupt(off, "dropped frame of the wrong size")))
                }
            },
            Some(Kind::End) => {
                if EndBody::read_from_bytes(payload).is_err() {
                    queue.push_back(Err(self.corrupt(off, "end frame of the wrong size")));
                }
                // Everything up to the END frame is there, whatever came after it.
                self.cut = false;
                self.finish(Tail::Sealed, queue);
            }
            Some(Kind::Records) => self.records(off, start..end, queue, &cx.seqs),
            Some(Kind::Sampled) => self.sampled(off, payload, queue),
            None => {}
        }
    }

    fn sampled(&self, off: usize, payload: &[u8], queue: &mut VecDeque<Result<Event, ReadError>>) {
        let Ok((head, rest)) = SampledHead::read_from_prefix(payload) else {
            queue.push_back(Err(self.corrupt(off, "sampled frame too short")));
            return;
        };
        if !rest.len().is_multiple_of(size_of::<SampledEntry>()) {
            queue.push_back(Err(self.corrupt(off, "sampled frame of the wrong size")));
            return;
        }
        // Copied out: the payload has no alignment guarantee in memory.
        let entries: Vec<SampledEntry> = rest
            .chunks_exact(size_of::<SampledEntry>())
            .filter_map(|c| SampledEntry::read_from_bytes(c).ok())
            .collect();
        if entries.len() != head.count as usize {
            queue.push_back(Err(self.corrupt(
                off,
                format!(
                    "sampled frame says {} entries, holds {}",
                    head.count,
                    entries.len()
                ),
            )));
        }
        for e in entries {
            match self.callsites.get(&e.callsite) {
                Some(cs) => queue.push_back(Ok(Event::Sampled(SampledNotice {
                    callsite: cs.clone(),
                    kept: e.kept,
                    skipped: e.skipped,
                    segment: self.seq,
                }))),
                None => queue.push_back(Err(self.corrupt(
                    off,
                    format!("sampled counts of undescribed call site {}", e.callsite),
                ))),
            }
        }
    }

    fn ts(&self, ticks: u64) -> i64 {
        wire::to_unix_ns(ticks, self.anchor.0, self.anchor.1, self.anchor.2)
    }

    /// Starts handing out the records of the records frame at `off` (payload `range`): they
    /// come one at a time from [`SegmentState::next_record`], not all at once.
    fn records(
        &mut self,
        off: usize,
        range: std::ops::Range<usize>,
        queue: &mut VecDeque<Result<Event, ReadError>>,
        seqs: &HashMap<(u32, u32), u64>,
    ) {
        let Ok((head, _)) = RecordsHead::read_from_prefix(&self.data[range.clone()]) else {
            queue.push_back(Err(self.corrupt(off, "records frame too short")));
            return;
        };
        let thread = self
            .threads
            .get(&head.producer)
            .cloned()
            .unwrap_or_else(|| {
                Arc::new(ThreadInfo {
                    producer: head.producer,
                    tid: 0,
                    name: None,
                })
            });
        self.cursor = Some(Records {
            off,
            pos: range.start + size_of::<RecordsHead>(),
            end: range.end,
            thread,
            seq: seqs.get(&(self.pid, head.producer)).copied().unwrap_or(0),
            n: 0,
            count: head.count,
            last_cs: None,
        });
    }

    /// The next record of the records frame being read (or what is wrong with it); `None`
    /// when there is none, after storing the thread's sequence number in `cx`.
    #[inline]
    pub(super) fn next_record(&mut self, cx: &mut Context) -> Option<Result<Event, ReadError>> {
        let c = self.cursor.as_mut()?;
        let rest = &self.data[c.pos..c.end];
        if rest.is_empty() {
            let (n, count, off) = (c.n, c.count, c.off);
            self.end_records(&mut cx.seqs);
            return (n != count).then(|| {
                Err(self.corrupt(
                    off,
                    format!("records frame says {count} records, holds {n}"),
                ))
            });
        }
        let at = c.pos;
        let Ok((rh, _)) = RecordHead::read_from_prefix(rest) else {
            self.end_records(&mut cx.seqs);
            return Some(Err(self.corrupt(at, "record header cut short")));
        };
        let len = rh.len as usize;
        if len < RECORD_HEAD_LEN || len > rest.len() {
            self.end_records(&mut cx.seqs);
            return Some(Err(
                self.corrupt(at, format!("record length {len} out of range"))
            ));
        }
        c.pos += len;
        // Runs of records from one call site are common: look it up once per run.
        let (callsite, level) = match c.last_cs {
            Some((id, cs, level)) if id == rh.callsite => (cs, level),
            _ => match self.callsites.get(&rh.callsite) {
                Some(cs) => {
                    let last = (rh.callsite, CallsitePtr::new(cs), cs.level);
                    c.last_cs = Some(last);
                    (last.1, last.2)
                }
                None => {
                    return Some(Err(self.corrupt(
                        at,
                        format!("record of undescribed call site {}", rh.callsite),
                    )));
                }
            },
        };
        let record = Record {
            ts_unix_ns: wire::to_unix_ns(rh.ticks, self.anchor.0, self.anchor.1, self.anchor.2),
            ticks: rh.ticks,
            level,
            callsite,
            thread: c.thread.clone(),
            thread_seq: c.seq,
            segment: self.seq,
            pid: self.pid,
            data: self.data.clone(),
            at: (at + RECORD_HEAD_LEN) as u32,
            len: (len - RECORD_HEAD_LEN) as u32,
        };
        c.seq += 1;
        c.n += 1;
        Some(Ok(Event::Record(record)))
    }

    /// Stops reading the current records frame, keeping its thread's sequence number.
    fn end_records(&mut self, seqs: &mut HashMap<(u32, u32), u64>) {
        if let Some(c) = self.cursor.take() {
            seqs.insert((self.pid, c.thread.producer), c.seq);
        }
    }
}

/// Where [`SegmentState`] is in the records frame it is reading.
struct Records {
    /// Offset of the frame (for messages).
    off: usize,
    /// Offset of the next record in the segment's bytes, and the end of the frame's payload.
    pos: usize,
    end: usize,
    thread: Arc<ThreadInfo>,
    /// Sequence number of the next record in its thread.
    seq: u64,
    /// Records read, and the count the frame's head gives.
    n: u32,
    count: u32,
    /// The call site of the previous record: its id, where it is, and its level.
    last_cs: Option<(u32, CallsitePtr, Level)>,
}

/// Splits `u32`-length-prefixed strings off the front of `buf`.
fn take_str<'a>(buf: &mut &'a [u8]) -> Result<&'a str, String> {
    if buf.len() < 4 {
        return Err("string length cut short".into());
    }
    let n = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if n > buf.len() - 4 {
        return Err(format!("string length {n} runs past the frame"));
    }
    let s = std::str::from_utf8(&buf[4..4 + n]).map_err(|_| "string is not UTF-8".to_string())?;
    *buf = &buf[4 + n..];
    Ok(s)
}

pub(super) fn parse_callsite(payload: &[u8]) -> Result<(u32, CallsiteInfo), String> {
    let (h, mut rest) = CallsiteHead::read_from_prefix(payload)
        .map_err(|_| "call-site frame too short".to_string())?;
    let level = Level::from_u8(h.level).ok_or_else(|| format!("invalid level {}", h.level))?;
    let target = take_str(&mut rest)?;
    let module_path = take_str(&mut rest)?;
    let file = take_str(&mut rest)?;
    let format = take_str(&mut rest)?;
    // Each name takes at least 4 bytes, so the counts are bounded by the payload before any
    // allocation sized by them.
    if (h.n_args as usize + h.n_fields as usize) * 4 > rest.len() {
        return Err("call-site name counts exceed the frame".into());
    }
    let mut arg_names = Vec::with_capacity(h.n_args as usize);
    for _ in 0..h.n_args {
        arg_names.push(take_str(&mut rest)?);
    }
    let mut field_names = Vec::with_capacity(h.n_fields as usize);
    for _ in 0..h.n_fields {
        field_names.push(Arc::from(take_str(&mut rest)?));
    }
    Ok((
        h.id,
        CallsiteInfo::new(
            level,
            target,
            module_path,
            file,
            h.line,
            format,
            &arg_names,
            field_names,
        ),
    ))
}

fn parse_thread(payload: &[u8]) -> Result<ThreadInfo, String> {
    let (h, rest) =
        ThreadHead::read_from_prefix(payload).map_err(|_| "thread frame too short".to_string())?;
    let n = h.name_len as usize;
    if n > rest.len() {
        return Err("thread name runs past the frame".into());
    }
    let name = match h.has_name {
        0 => None,
        _ => Some(Arc::from(String::from_utf8_lossy(&rest[..n]).as_ref())),
    };
    Ok(ThreadInfo {
        producer: h.producer,
        tid: h.tid,
        name,
    })
}

#[cfg(test)]
pub(super) mod testing {
    use super::*;

    /// A record of a call site with format `fmt`, arguments `names` and `fields` fields, whose
    /// values are `bytes`.
    pub(crate) fn record(
        fmt: &'static str,
        names: &[&'static str],
        fields: usize,
        bytes: &[u8],
    ) -> Record {
        let payload = build_callsite(fmt, names, fields);
        let (_, cs) = parse_callsite(&payload).unwrap();
        with_callsite(Arc::new(cs), bytes)
    }

    /// A record of call site `cs`, whose values are `bytes`.
    pub(crate) fn with_callsite(cs: Arc<CallsiteInfo>, bytes: &[u8]) -> Record {
        let keep = Arc::new(std::sync::Mutex::new(vec![cs.clone()]));
        Record {
            ts_unix_ns: 0,
            ticks: 0,
            level: cs.level,
            callsite: CallsitePtr::new(&cs),
            thread: Arc::new(ThreadInfo {
                producer: 1,
                tid: 1,
                name: None,
            }),
            thread_seq: 0,
            segment: 1,
            pid: 1,
            data: Arc::new(Chunk::new(
                bytes.to_vec().into(),
                keep,
                std::path::Path::new("test").into(),
                0,
            )),
            at: 0,
            len: bytes.len() as u32,
        }
    }

    pub(crate) fn build_callsite(fmt: &str, names: &[&str], fields: usize) -> Vec<u8> {
        let head = CallsiteHead {
            id: 1,
            line: 1,
            level: Level::Info as u8,
            _pad: [0; 3],
            n_args: names.len() as u16,
            n_fields: fields as u16,
        };
        let mut p = zerocopy::IntoBytes::as_bytes(&head).to_vec();
        let field_names: Vec<String> = (0..fields).map(|i| format!("f{i}")).collect();
        let strs = ["t", "m", "f.rs", fmt]
            .into_iter()
            .chain(names.iter().copied());
        for s in strs.chain(field_names.iter().map(String::as_str)) {
            p.extend_from_slice(&(s.len() as u32).to_le_bytes());
            p.extend_from_slice(s.as_bytes());
        }
        p
    }

    /// A sealed segment holding `frames` (kind and payload each), checksums and all, closed by
    /// its END frame.
    pub(crate) fn segment(frames: &[(Kind, Vec<u8>)]) -> Vec<u8> {
        let end = wire::EndBody {
            next_seq: 2,
            records: 0,
        };
        let end = (Kind::End, zerocopy::IntoBytes::as_bytes(&end).to_vec());
        let mut seg = unclosed(frames);
        append(&mut seg, std::slice::from_ref(&end));
        seg
    }

    /// What [`segment`] makes, without the END frame: a sealed segment cut after its frames.
    pub(crate) fn unclosed(frames: &[(Kind, Vec<u8>)]) -> Vec<u8> {
        let mut seg = SegmentHeader::encode(&wire::NewHeader {
            seq: 1,
            created_unix_ns: 0,
            anchor_ticks: 0,
            anchor_unix_ns: 0,
            ticks_per_sec: 1e9,
            segment_size: 0,
            pid: 1,
        })
        .to_vec();
        seg[wire::FLAGS_OFFSET..wire::FLAGS_OFFSET + 4]
            .copy_from_slice(&wire::FLAG_SEALED.to_le_bytes());
        append(&mut seg, frames);
        seg
    }

    /// Appends `frames` to the segment `seg` and sets its committed length to its end.
    fn append(seg: &mut Vec<u8>, frames: &[(Kind, Vec<u8>)]) {
        for (kind, payload) in frames {
            wire::push_frame(seg, *kind, payload);
        }
        let len = seg.len() as u64;
        seg[wire::COMMITTED_OFFSET..wire::COMMITTED_OFFSET + 8].copy_from_slice(&len.to_le_bytes());
    }

    /// A records frame of producer 1: one record of call site `id` per item of `values`.
    pub(crate) fn records(id: u32, values: &[&[u8]]) -> (Kind, Vec<u8>) {
        let timed: Vec<(u64, &[u8])> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u64, *v))
            .collect();
        records_at(1, id, &timed)
    }

    /// A records frame of `producer`: one record of call site `id` per item of `values`, each
    /// taken at its ticks (nanoseconds, in [`segment`]'s clock).
    pub(crate) fn records_at(producer: u32, id: u32, values: &[(u64, &[u8])]) -> (Kind, Vec<u8>) {
        let mut p = zerocopy::IntoBytes::as_bytes(&RecordsHead {
            producer,
            count: values.len() as u32,
        })
        .to_vec();
        for (ticks, v) in values {
            let head = RecordHead {
                len: (RECORD_HEAD_LEN + v.len()) as u32,
                callsite: id,
                ticks: *ticks,
            };
            p.extend_from_slice(zerocopy::IntoBytes::as_bytes(&head));
            p.extend_from_slice(v);
        }
        (Kind::Records, p)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{build_callsite, records, segment, unclosed};
    use super::*;
    use crate::wire::tag;

    /// Eight-byte words that each read as a frame header of a known kind claiming `claim(at)`
    /// bytes, `at` being the word's offset: as a frame start, every one fails its checksum (the
    /// next word's length stands where the checksum would be).
    fn hostile(seg: &mut [u8], range: std::ops::Range<usize>, claim: impl Fn(usize) -> u32) {
        for at in range.step_by(8) {
            seg[at..at + 4].copy_from_slice(&claim(at).to_le_bytes());
            seg[at + 4..at + 6].copy_from_slice(&(Kind::Records as u16).to_le_bytes());
            seg[at + 6..at + 8].copy_from_slice(&0u16.to_le_bytes());
        }
    }

    fn state(seg: Vec<u8>) -> SegmentState {
        SegmentState::new("s".into(), seg.into()).unwrap().0
    }

    /// A segment: call site, records, a records frame of `filler` bytes of values to spoil,
    /// then records frames whose payloads are short and long (longer than two strides). Returns
    /// it and where the filler frame starts and ends.
    fn damaged_segment(filler: usize) -> (Vec<u8>, std::ops::Range<usize>) {
        let one = [tag::U8, 1];
        let long = [&[tag::STR][..], &600u32.to_le_bytes(), &[b'x'; 600]].concat();
        let pad = [
            &[tag::STR][..],
            &(filler as u32).to_le_bytes(),
            &vec![b'p'; filler],
        ]
        .concat();
        let head = unclosed(&[
            (Kind::Callsite, build_callsite("v {}", &[""], 0)),
            records(1, &[&one]),
        ]);
        let seg = segment(&[
            (Kind::Callsite, build_callsite("v {}", &[""], 0)),
            records(1, &[&one]),
            records(1, &[&pad]),
            records(1, &[&long]),
            records(1, &[&one, &one]),
            records(1, &[&long, &long, &long]),
        ]);
        let start = head.len();
        let end = start + wire::align_up(FRAME_HEADER_LEN + 8 + 16 + 5 + filler);
        (seg, start..end)
    }

    #[test]
    fn resync_accepts_exactly_the_frames_that_verify_short_or_long() {
        let (mut seg, filler) = damaged_segment(4000);
        let n = seg.len();
        // Claims long and short, inside the data and past it.
        hostile(&mut seg, filler.clone(), |at| match (at / 8) % 4 {
            0 => ((n - at) / 2) as u32,
            1 => 100,
            2 => (n - at) as u32,
            _ => 700,
        });
        let mut st = state(seg.clone());
        // Candidates in order, as the walker meets them, then backwards (prefix checksums
        // built for a later offset are rebuilt): the same verdict as the full check each time.
        let offsets: Vec<usize> = (HEADER_LEN..n - FRAME_HEADER_LEN + 1).step_by(8).collect();
        let mut good = Vec::new();
        for &off in offsets.iter().chain(offsets.iter().rev()) {
            let full = st.frame_at(off).is_ok();
            assert_eq!(st.verifies_at(off), full, "offset {off}");
            if full {
                good.push(off);
            }
        }
        // The frames before and after the filler (END included), each found twice; none
        // inside it.
        assert_eq!(good.len(), 2 * 7 - 2, "{good:?}");
        assert!(good.iter().all(|o| !filler.contains(o)), "{good:?}");
        assert!(
            st.ranges.is_some(),
            "long claims were checked from prefix checksums"
        );
        // New bytes, new prefix checksums.
        st.set_bytes(seg.into());
        assert!(st.ranges.is_none());
    }

    #[test]
    fn after_hostile_filler_the_records_after_it_are_read() {
        let (mut seg, filler) = damaged_segment(64 << 10);
        let n = seg.len();
        hostile(&mut seg, filler.clone(), |at| ((n - at) / 2) as u32);
        let got: Vec<String> = super::super::Reader::from_memory([(PathBuf::from("s"), seg)])
            .map(|e| match e {
                Ok(Event::Record(r)) => r.message().chars().take(4).collect(),
                Ok(Event::SegmentEnd { tail, .. }) => format!("{tail:?}"),
                Ok(_) => "other".into(),
                Err(e) => e.to_string(),
            })
            .collect();
        let damage = format!(
            "s: corrupt data at byte offset {}: frame checksum mismatch",
            filler.start
        );
        assert_eq!(
            got,
            [
                "v 1", &damage, "v xx", "v 1", "v 1", "v xx", "v xx", "v xx", "Sealed"
            ]
        );
    }

    /// Messages, damage and the tail, as the reader yields them.
    fn read_all(seg: Vec<u8>) -> Vec<String> {
        super::super::Reader::from_memory([(PathBuf::from("s"), seg)])
            .map(|e| match e {
                Ok(Event::Record(r)) => r.message(),
                Ok(Event::SegmentEnd { tail, .. }) => format!("{tail:?}"),
                Ok(_) => "other".into(),
                Err(e) => e.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_sealed_segment_cut_at_a_frame_boundary_is_damage_not_a_whole_segment() {
        let frames = [
            (Kind::Callsite, build_callsite("v {}", &[""], 0)),
            records(1, &[&[tag::U8, 1]]),
            records(1, &[&[tag::U8, 2]]),
        ];
        assert_eq!(read_all(segment(&frames)), ["v 1", "v 2", "Sealed"]);
        let cut = unclosed(&frames);
        let at = cut.len();
        let got = read_all(cut.clone());
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[..2], ["v 1", "v 2"]);
        assert!(
            got[2].starts_with(&format!("s: corrupt data at byte offset {at}: the segment is marked sealed but its frames stop here without the END frame")),
            "{got:?}"
        );
        assert!(!got[2].contains("short of"), "{got:?}");
        assert_eq!(got[3], "Clean");
        // The header still claims the bytes that were cut off: the report says how many.
        let mut claims = cut;
        let claimed = at as u64 + 4096;
        claims[wire::COMMITTED_OFFSET..wire::COMMITTED_OFFSET + 8]
            .copy_from_slice(&claimed.to_le_bytes());
        let got = read_all(claims);
        assert!(
            got[2].contains(&format!(
                "4096 bytes short of the {claimed} its header says were written"
            )),
            "{got:?}"
        );
        // Zeros after the last frame (a sealed file that was never cut, then lost its END):
        // the same damage.
        let mut zeros = unclosed(&frames);
        zeros.resize(at + 512, 0);
        let got = read_all(zeros);
        assert!(got[2].contains("without the END frame"), "{got:?}");
    }

    #[test]
    fn without_checksums_resync_takes_the_first_claim_that_fits() {
        let (mut seg, filler) = damaged_segment(4000);
        let n = seg.len();
        // Each word claims the rest of the data exactly.
        hostile(&mut seg, filler.clone(), |at| {
            (n - at - FRAME_HEADER_LEN) as u32
        });
        let mut st = state(seg);
        st.check_crc = false;
        assert_eq!(st.resync(filler.start), Some(filler.start + 8));
        assert!(st.ranges.is_none());
    }
}
