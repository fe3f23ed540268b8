//! Time order: a streaming k-way merge of the records of every thread, across segments.
//!
//! The drain copies each thread's ring whole, so a thread's records reach the file in the order
//! they were logged, but the records of different threads interleave by drain pass, not by time.
//! [`Merge`] keeps one queue per thread (per writer process and producer) and always emits the
//! earliest queue head, so a thread's own records never change order.
//!
//! **Bound.** At most `window` records are held, of at most `window_bytes` bytes in all (each
//! record's header and values, [`Record::encoded_len`]). When one more arrives past either
//! bound, the earliest head goes out. A record is emitted in its exact place as long as no
//! record later than it in time arrived more than `window` records, or `window_bytes` bytes of
//! records, before it in the input. A record that arrives after something later than it has
//! already been emitted still comes out, right away, marked [`Ordered::late`].
//!
//! **Segments.** A record read from a segment points into the segment's bytes (mapped, or read
//! into memory) and keeps them while it lives: reading a record copies nothing. Records held
//! for time ordering would so keep every segment they come from, however few of its records
//! they are: thousands of mappings for a directory of small segments, or the whole buffer of
//! each unsealed segment a crashed writer left. The merge keeps at most
//! [`MAX_PINNED_SEGMENTS`] segments the input has moved on from, of at most
//! [`MAX_PINNED_BYTES`] in all; past that, the records it still holds from the oldest one are
//! *detached*: each gets a copy of its own header and values (nothing else changes: its call
//! site, message, fields and [`source`](Record::source) read the same), and the segment's
//! mapping or buffer goes with its last record. Records are detached only when the window
//! spans more than that many segments, so decoding large segments copies nothing.
//!
//! Memory is therefore bounded by the reader's own limits, whatever the input: the window's
//! records (and their bytes), the pinned segments, and the segment being read.
//!
//! **Ties** (equal timestamps) go to the lower writer process id, then the lower producer id,
//! then the lower per-thread sequence number: the same input always gives the same output.
//! Drop notices are merged by their time too; they sort after records of the same instant.
#[cfg(doc)]
use super::Record;
use super::event::Chunk;
use super::{Event, ReadError};
use smallvec::SmallVec;
use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Weak};

/// Default number of records a [`Merge`] holds.
pub const DEFAULT_WINDOW: usize = 100_000;

/// Default bound on the bytes of the records a [`Merge`] holds (their headers and values):
/// 64 MiB. The default window of records reaches it only with records of 670 bytes or more on
/// average, several times what a log line takes, so on real logs the number of records is the
/// bound that applies; on forged or unusual input this one keeps memory in check.
pub const DEFAULT_WINDOW_BYTES: usize = 64 << 20;

/// Most segments (in follow mode, parts of a segment read at once) that records held by a
/// [`Merge`] keep open after the input has moved on from them; the records held from older
/// ones own a copy of their bytes. Far more than a window of records spans on segments of the
/// default size (64 MiB, some hundreds of thousands of records), far fewer than the mappings a
/// process may have (`vm.max_map_count`, 65,530 by default).
pub const MAX_PINNED_SEGMENTS: usize = 16;

/// Most bytes of the segments that records held by a [`Merge`] keep (see
/// [`MAX_PINNED_SEGMENTS`]), not counting the one being read: one segment of the default size.
pub const MAX_PINNED_BYTES: usize = 64 << 20;

/// An event in time order.
#[derive(Debug, Clone)]
pub struct Ordered {
    /// The record or drop notice.
    pub event: Event,
    /// True when something later than this event had already been emitted: it arrived after
    /// the merge window had moved past its time.
    pub late: bool,
}

/// A held event with its thread key and per-queue tie-breaker.
type Held = ((u32, u32), u64, Event);

/// Sort key of a queue head: time, writer pid, producer, per-thread sequence, queue index.
type Key = (i64, u32, u32, u64, usize);

/// One thread's held events, in arrival order.
#[derive(Default)]
struct Queue {
    items: VecDeque<Held>,
    /// Events taken from the front so far: `items[i]` is the queue's event number `popped + i`.
    popped: u64,
    /// Serial number of the last [`Run`] that added records here (0: none).
    run: u64,
}

/// Records that arrived one after the other from the same chunk of bytes (a segment; in
/// follow mode, the part of one read at once). Its records on one queue are consecutive there,
/// from where the run started on it: nothing else arrived in between.
struct Run {
    serial: u64,
    /// The chunk, for its address (which the `Weak` keeps from being reused while this lives).
    chunk: Weak<Chunk>,
    /// The chunk's length.
    bytes: usize,
    /// Where the run started on each queue it added to: the queue, and its event number there.
    starts: SmallVec<[(usize, u64); 2]>,
}

impl Run {
    /// Whether `held` is a record of this run's chunk.
    fn owns(&self, held: &Held) -> bool {
        matches!(&held.2, Event::Record(r) if std::ptr::eq(Arc::as_ptr(&r.data), self.chunk.as_ptr()))
    }

    /// Where in `queue.items` the run's first record still held there is, if any.
    fn first_held(&self, queue: &Queue, start: u64) -> Option<usize> {
        let i = usize::try_from(start.saturating_sub(queue.popped)).ok()?;
        queue.items.get(i).filter(|h| self.owns(h)).map(|_| i)
    }

    /// Whether any of its records is still held.
    fn holds_any(&self, queues: &[Queue]) -> bool {
        self.starts
            .iter()
            .any(|&(q, start)| self.first_held(&queues[q], start).is_some())
    }

    /// Gives each of its records still held bytes of its own, so that none keeps the chunk.
    fn detach(&self, queues: &mut [Queue]) {
        for &(q, start) in &self.starts {
            let queue = &mut queues[q];
            let Some(first) = self.first_held(queue, start) else {
                continue;
            };
            for held in queue.items.range_mut(first..) {
                if !self.owns(held) {
                    break;
                }
                if let Event::Record(r) = &mut held.2 {
                    r.detach();
                }
            }
        }
    }
}

/// Merges the events of an input (such as a [`Reader`](super::Reader)) into time order with a
/// bounded window. Errors and segment ends pass through at once, ahead of buffered records.
pub struct Merge<I> {
    input: I,
    window: usize,
    window_bytes: usize,
    queues: Vec<Queue>,
    index: HashMap<(u32, u32), usize>,
    /// Last thread key looked up, and its queue: records come in runs of one thread.
    last: Option<((u32, u32), usize)>,
    heads: BinaryHeap<Reverse<Key>>,
    held: usize,
    /// [`Record::encoded_len`] of the records held.
    held_bytes: usize,
    /// The queue of drop notices, once there is one.
    notices: Option<usize>,
    /// Drop notices have no per-thread sequence; this numbers them in arrival order.
    notice_seq: u64,
    high_water: Option<i64>,
    /// The input paused (returned `None`): what is held is emitted without asking it again,
    /// until nothing is held.
    paused: bool,
    /// The address of the chunk of the current run (0 before the first).
    run_chunk: usize,
    /// The runs, out of line: they change only when a record comes from another chunk.
    pins: Box<Pins>,
}

/// The runs of records whose chunks held records keep.
struct Pins {
    /// The run records arrive in now.
    run: Option<Run>,
    /// Runs before it whose records may still be held, oldest first, and their chunks' bytes.
    left: VecDeque<Run>,
    left_bytes: usize,
    /// [`MAX_PINNED_SEGMENTS`] and [`MAX_PINNED_BYTES`] (smaller in tests).
    max_pinned: usize,
    max_pinned_bytes: usize,
}

impl<I> std::fmt::Debug for Merge<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merge")
            .field("window", &self.window)
            .field("window_bytes", &self.window_bytes)
            .field("held", &self.held)
            .field("held_bytes", &self.held_bytes)
            .finish_non_exhaustive()
    }
}

/// Thread key of drop notices: they sort after records of the same instant. (They have a
/// queue of their own, in the order the drain wrote them.)
const NOTICES: (u32, u32) = (u32::MAX, u32::MAX);

impl<I: Iterator<Item = Result<Event, ReadError>>> Merge<I> {
    /// Merges `input`, holding at most `window` records (at least 1) of at most
    /// [`DEFAULT_WINDOW_BYTES`] in all.
    pub fn new(input: I, window: usize) -> Self {
        Merge {
            input,
            window: window.max(1),
            window_bytes: DEFAULT_WINDOW_BYTES,
            queues: Vec::new(),
            index: HashMap::new(),
            last: None,
            heads: BinaryHeap::new(),
            held: 0,
            held_bytes: 0,
            notices: None,
            notice_seq: 0,
            high_water: None,
            paused: false,
            run_chunk: 0,
            pins: Box::new(Pins {
                run: None,
                left: VecDeque::new(),
                left_bytes: 0,
                max_pinned: MAX_PINNED_SEGMENTS,
                max_pinned_bytes: MAX_PINNED_BYTES,
            }),
        }
    }

    /// Holds records of at most `bytes` bytes in all (their headers and values; at least one
    /// record is held, whatever its size), instead of [`DEFAULT_WINDOW_BYTES`].
    pub fn window_bytes(mut self, bytes: usize) -> Self {
        self.window_bytes = bytes;
        self
    }

    /// Events held, waiting for their turn.
    pub fn held(&self) -> usize {
        self.held
    }

    /// Bytes of the records held ([`Record::encoded_len`] of each).
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Whether more is held than the window allows.
    fn over(&self) -> bool {
        self.held > self.window || self.held_bytes > self.window_bytes
    }

    /// Takes events from the input into the window until it overflows, the input pauses or
    /// ends, or something that is neither a record nor a notice has to pass through.
    fn pull(&mut self) -> Pulled {
        loop {
            let ev = match self.input.next() {
                None => return Pulled::Paused,
                Some(Ok(ev)) => ev,
                Some(Err(e)) => return Pulled::Pass(Err(e)),
            };
            let (key, tie) = match &ev {
                Event::Record(r) => ((r.pid, r.thread.producer), r.thread_seq),
                Event::Dropped(_) => {
                    self.notice_seq += 1;
                    (NOTICES, self.notice_seq)
                }
                _ => return Pulled::Pass(Ok(ev)),
            };
            self.hold(key, tie, ev);
            if self.over() {
                return Pulled::Full;
            }
        }
    }

    fn hold(&mut self, key: (u32, u32), tie: u64, ev: Event) {
        let q = match &ev {
            Event::Record(r) => {
                if Arc::as_ptr(&r.data) as usize != self.run_chunk {
                    self.new_run(&r.data);
                }
                self.held_bytes += r.encoded_len();
                match self.last {
                    Some((k, q)) if k == key => q,
                    _ => self.queue_of(key),
                }
            }
            _ => self.notice_queue(),
        };
        let queue = &mut self.queues[q];
        if queue.items.is_empty() {
            self.heads.push(Reverse(key_of(&ev, key, tie, q)));
        }
        queue.items.push_back((key, tie, ev));
        self.held += 1;
    }

    /// The queue of thread `key`'s records, made if new; notes where the current run starts
    /// on it.
    fn queue_of(&mut self, key: (u32, u32)) -> usize {
        let n = self.queues.len();
        let q = *self.index.entry(key).or_insert(n);
        if q == n {
            self.queues.push(Queue::default());
        }
        self.last = Some((key, q));
        if let Some(run) = &mut self.pins.run {
            let queue = &mut self.queues[q];
            if queue.run != run.serial {
                queue.run = run.serial;
                run.starts
                    .push((q, queue.popped + queue.items.len() as u64));
            }
        }
        q
    }

    /// The queue of drop notices, made if new: one of its own, which no record shares.
    fn notice_queue(&mut self) -> usize {
        match self.notices {
            Some(q) => q,
            None => {
                self.queues.push(Queue::default());
                let q = self.queues.len() - 1;
                self.notices = Some(q);
                q
            }
        }
    }

    /// A record from another chunk than the one before it has arrived: that one is left
    /// behind. Detaches the records held from the oldest chunks left behind, if more are kept
    /// than [`MAX_PINNED_SEGMENTS`] and [`MAX_PINNED_BYTES`] allow.
    #[cold]
    #[inline(never)]
    fn new_run(&mut self, chunk: &Arc<Chunk>) {
        let pins = &mut *self.pins;
        let serial = pins.run.as_ref().map_or(0, |r| r.serial) + 1;
        let run = Run {
            serial,
            chunk: Arc::downgrade(chunk),
            bytes: chunk.len(),
            starts: SmallVec::new(),
        };
        self.run_chunk = Arc::as_ptr(chunk) as usize;
        // The next record notes where the run starts on its queue.
        self.last = None;
        if let Some(before) = pins.run.replace(run) {
            pins.left_bytes += before.bytes;
            pins.left.push_back(before);
        }
        // Runs whose records have all gone out keep nothing.
        let (queues, mut freed) = (&self.queues, 0);
        pins.left.retain(|r| {
            let holds = r.holds_any(queues);
            if !holds {
                freed += r.bytes;
            }
            holds
        });
        pins.left_bytes -= freed;
        while pins.left.len() > pins.max_pinned || pins.left_bytes > pins.max_pinned_bytes {
            let Some(oldest) = pins.left.pop_front() else {
                break;
            };
            pins.left_bytes -= oldest.bytes;
            oldest.detach(&mut self.queues);
        }
    }

    /// Emits the earliest held event, if any.
    fn pop(&mut self) -> Option<Ordered> {
        let mut top = self.heads.peek_mut()?;
        let Reverse((ts, .., q)) = *top;
        let queue = &mut self.queues[q];
        // The queue's next event takes its place in the heap (one sift instead of a pop and a
        // push), or the queue leaves the heap when it is empty.
        let ev = match queue.items.pop_front() {
            Some((_, _, ev)) => ev,
            None => {
                PeekMut::pop(top);
                return None;
            }
        };
        queue.popped += 1;
        self.held -= 1;
        if let Event::Record(r) = &ev {
            self.held_bytes -= r.encoded_len();
        }
        match queue.items.front() {
            Some((key, tie, next)) => *top = Reverse(key_of(next, *key, *tie, q)),
            None => {
                PeekMut::pop(top);
            }
        }
        let late = self.high_water.is_some_and(|h| ts < h);
        if !late {
            self.high_water = Some(ts);
        }
        Some(Ordered { event: ev, late })
    }

    /// Emits everything held, in order (used by follow mode when the input is idle).
    pub fn drain_held(&mut self) -> impl Iterator<Item = Ordered> + '_ {
        std::iter::from_fn(move || self.pop())
    }

    /// Gives the merge a new input (follow mode: the same merge over a growing source).
    pub fn input_mut(&mut self) -> &mut I {
        &mut self.input
    }
}

enum Pulled {
    Full,
    Paused,
    Pass(Result<Event, ReadError>),
}

fn key_of(ev: &Event, (pid, producer): (u32, u32), tie: u64, q: usize) -> Key {
    let ts = match ev {
        Event::Record(r) => r.ts_unix_ns,
        Event::Dropped(d) => d.ts_unix_ns,
        _ => i64::MIN,
    };
    (ts, pid, producer, tie, q)
}

impl<I: Iterator<Item = Result<Event, ReadError>>> Iterator for Merge<I> {
    type Item = Result<Ordered, ReadError>;

    /// The next event in order. When the input pauses (returns `None`), everything held is
    /// emitted, without asking the input again, before this returns `None`; a later call asks
    /// the input again, so a growing input (follow mode) can go on.
    fn next(&mut self) -> Option<Self::Item> {
        if self.paused {
            let next = self.pop();
            self.paused = next.is_some();
            return next.map(Ok);
        }
        if !self.over() {
            match self.pull() {
                Pulled::Full => {}
                Pulled::Pass(Ok(event)) => return Some(Ok(Ordered { event, late: false })),
                Pulled::Pass(Err(e)) => return Some(Err(e)),
                Pulled::Paused => {
                    let next = self.pop();
                    self.paused = next.is_some();
                    return next.map(Ok);
                }
            }
        }
        self.pop().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::Chunk;
    use super::super::walk::testing::record;
    use super::super::walk::testing::{build_callsite, records_at, segment};
    use super::super::{Reader, Record};
    use super::*;
    use crate::wire::{Kind, tag};
    use std::cell::{Cell, RefCell};
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Weak};

    /// An input that pauses where an item is `None`, and counts the times it is asked.
    struct Counted {
        items: VecDeque<Option<Event>>,
        asked: usize,
    }

    impl Iterator for Counted {
        type Item = Result<Event, ReadError>;
        fn next(&mut self) -> Option<Self::Item> {
            self.asked += 1;
            self.items.pop_front().flatten().map(Ok)
        }
    }

    #[test]
    fn a_paused_input_is_asked_again_only_once_everything_held_is_out() {
        let rec = |v: u8| {
            Some(Event::Record(record(
                "x {}",
                &[""],
                0,
                &[crate::wire::tag::U8, v],
            )))
        };
        let items = [rec(1), rec(2), rec(3), None, rec(4), None];
        let mut m = Merge::new(
            Counted {
                items: items.into_iter().collect(),
                asked: 0,
            },
            10,
        );
        let poll = |m: &mut Merge<Counted>| {
            m.by_ref()
                .map(|o| match o.unwrap().event {
                    Event::Record(r) => r.message(),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(poll(&mut m), ["x 1", "x 2", "x 3"]);
        // Three records and the pause: the held records came out without asking again.
        assert_eq!(m.input_mut().asked, 4);
        assert_eq!(poll(&mut m), ["x 4"]);
        assert_eq!(m.input_mut().asked, 6);
        assert!(poll(&mut m).is_empty());
        assert_eq!(m.input_mut().asked, 7);
    }

    /// A sealed segment of call site `"{} of thread {}"`: one record per `(producer, ticks,
    /// value)`, in that order (consecutive records of one producer share a frame).
    fn seg(records: &[(u32, u64, u32)]) -> Vec<u8> {
        let mut frames = vec![(
            Kind::Callsite,
            build_callsite("{} of thread {}", &["", ""], 0),
        )];
        let values: Vec<Vec<u8>> = records
            .iter()
            .map(|&(p, _, v)| {
                let mut b = vec![tag::U32];
                b.extend_from_slice(&v.to_le_bytes());
                b.push(tag::STR);
                let name = format!("worker-{p}");
                b.extend_from_slice(&(name.len() as u32).to_le_bytes());
                b.extend_from_slice(name.as_bytes());
                b
            })
            .collect();
        let mut i = 0;
        while i < records.len() {
            let p = records[i].0;
            let run: Vec<(u64, &[u8])> = (i..records.len())
                .take_while(|&j| records[j].0 == p)
                .map(|j| (records[j].1, values[j].as_slice()))
                .collect();
            i += run.len();
            frames.push(records_at(p, 1, &run));
        }
        segment(&frames)
    }

    /// What a record says, to whoever reads the merge's output.
    type Seen = (String, i64, u32, u64, PathBuf, u64);

    fn seen(r: &Record) -> Seen {
        let (path, offset) = r.source();
        (
            r.message(),
            r.ts_unix_ns,
            r.thread.producer,
            r.thread_seq,
            path.to_owned(),
            offset,
        )
    }

    /// The records of `input` in time order as a merge with a window larger than the input
    /// emits them: sorted by time, producer and the thread's own order (one writer process).
    fn sorted(input: Reader) -> Vec<Seen> {
        let mut all: Vec<Seen> = input
            .filter_map(|e| match e.expect("no damage") {
                Event::Record(r) => Some(seen(&r)),
                _ => None,
            })
            .collect();
        all.sort_by_key(|s| (s.1, s.2, s.3));
        all
    }

    /// The records a merge of `input` emits, with a window larger than the input.
    fn merged(input: impl Iterator<Item = Result<Event, ReadError>>) -> Vec<Seen> {
        Merge::new(input, 1 << 20)
            .filter_map(|o| {
                let o = o.expect("no damage");
                match o.event {
                    Event::Record(r) => {
                        assert!(!o.late);
                        Some(seen(&r))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// Mappings of files in `dir` in this process.
    fn mapped_in(dir: &Path) -> usize {
        let dir = dir.to_str().expect("UTF-8 path");
        std::fs::read_to_string("/proc/self/maps")
            .expect("/proc/self/maps")
            .lines()
            .filter(|l| l.contains(dir))
            .count()
    }

    #[test]
    fn records_held_from_many_sealed_segments_keep_few_of_them_mapped() {
        const SEGMENTS: u32 = 2_000;
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..SEGMENTS {
            // Each segment a record of a thread of its own, earlier in time than the records of
            // the segments before it.
            let record = (1 + i, u64::from(SEGMENTS - i) * 1000, i);
            let name = dir.path().join(format!("s-{:010}.tlog", i + 1));
            std::fs::write(name, seg(&[record])).expect("write");
        }
        // Sealed segments of exactly their committed length are mapped to be read.
        let one = Reader::open([dir.path()]).expect("open");
        let first = one.filter_map(Result::ok).find_map(|e| match e {
            Event::Record(r) => Some(r),
            _ => None,
        });
        assert_eq!(mapped_in(dir.path()), 1, "the first segment is mapped");
        drop(first);
        let most = Cell::new(0);
        let input = Reader::open([dir.path()]).expect("open").inspect(|e| {
            if let Ok(Event::SegmentEnd { .. }) = e {
                most.set(most.get().max(mapped_in(dir.path())));
            }
        });
        let got = merged(input);
        assert_eq!(got.len(), SEGMENTS as usize);
        assert_eq!(got, sorted(Reader::open([dir.path()]).expect("open")));
        assert_eq!(
            got[0].0,
            format!("{0} of thread worker-{SEGMENTS}", SEGMENTS - 1)
        );
        // The segments left behind, at most, and the one being read.
        assert!(
            most.get() <= MAX_PINNED_SEGMENTS + 1,
            "{} segments mapped at once while {SEGMENTS} records were held (at most {} wanted)",
            most.get(),
            MAX_PINNED_SEGMENTS + 1
        );
        assert_eq!(mapped_in(dir.path()), 0);
    }

    #[test]
    fn records_held_from_many_segments_let_their_bytes_go() {
        const SEGMENTS: u64 = 60;
        // Three threads a segment, each later in time than the one before: the merge takes
        // records from every queue in turn, and holds them all until the input ends.
        let input: Vec<(PathBuf, Vec<u8>)> = (0..SEGMENTS)
            .map(|s| {
                let records: Vec<(u32, u64, u32)> = (0..9u32)
                    .map(|k| {
                        let p = 1 + k / 3;
                        let ticks = (s + u64::from(p) * 20) * 1000 + u64::from(k);
                        (p, ticks, (s as u32) * 100 + k)
                    })
                    .collect();
                (PathBuf::from(format!("s{s}")), seg(&records))
            })
            .collect();
        let seen_chunks: RefCell<Vec<Weak<Chunk>>> = RefCell::new(Vec::new());
        let most = Cell::new(0);
        let reader = Reader::from_memory(input.clone()).inspect(|e| match e {
            Ok(Event::Record(r)) => {
                let mut chunks = seen_chunks.borrow_mut();
                if !chunks
                    .last()
                    .is_some_and(|c| std::ptr::eq(c.as_ptr(), Arc::as_ptr(&r.data)))
                {
                    chunks.push(Arc::downgrade(&r.data));
                }
            }
            Ok(Event::SegmentEnd { .. }) => {
                let alive = seen_chunks
                    .borrow()
                    .iter()
                    .filter(|c| c.strong_count() > 0)
                    .count();
                most.set(most.get().max(alive));
            }
            _ => {}
        });
        let got = merged(reader);
        assert_eq!(got.len(), 9 * SEGMENTS as usize);
        assert_eq!(got, sorted(Reader::from_memory(input)));
        assert!(
            most.get() <= MAX_PINNED_SEGMENTS + 1,
            "the bytes of {} segments were kept at once (at most {} wanted)",
            most.get(),
            MAX_PINNED_SEGMENTS + 1
        );
    }

    /// Segments of three threads whose records interleave in time across segments (a thread's
    /// own records in time order), each thread's in two frames, so that the threads' frames
    /// alternate within a segment.
    fn interleaved(segments: u64) -> Vec<(PathBuf, Vec<u8>)> {
        (0..segments)
            .map(|s| {
                let records: Vec<(u32, u64, u32)> = (0..12u32)
                    .map(|k| {
                        let p = 1 + (k / 2) % 3;
                        let ticks = (s + u64::from(p) * 7) * 1000 + u64::from(k);
                        (p, ticks, (s as u32) * 100 + k)
                    })
                    .collect();
                (PathBuf::from(format!("s{s}")), seg(&records))
            })
            .collect()
    }

    /// The records `merge` emits, and the most bytes of segments other than the one being read
    /// that records kept alive at the end of a segment.
    fn merged_keeping(
        input: Vec<(PathBuf, Vec<u8>)>,
        limits: (usize, usize),
    ) -> (Vec<Seen>, usize) {
        let chunks: RefCell<Vec<Weak<Chunk>>> = RefCell::new(Vec::new());
        let most = Cell::new(0);
        let reader = Reader::from_memory(input).inspect(|e| match e {
            Ok(Event::Record(r)) => {
                let mut chunks = chunks.borrow_mut();
                if !chunks
                    .last()
                    .is_some_and(|c| std::ptr::eq(c.as_ptr(), Arc::as_ptr(&r.data)))
                {
                    chunks.push(Arc::downgrade(&r.data));
                }
            }
            Ok(Event::SegmentEnd { .. }) => {
                let chunks = chunks.borrow();
                let (_, earlier) = chunks.split_last().expect("a record");
                let kept = earlier
                    .iter()
                    .filter_map(Weak::upgrade)
                    .map(|c| c.len())
                    .sum::<usize>();
                most.set(most.get().max(kept));
            }
            _ => {}
        });
        let mut merge = Merge::new(reader, 1 << 20);
        (merge.pins.max_pinned, merge.pins.max_pinned_bytes) = limits;
        let got = merge
            .filter_map(|o| match o.expect("no damage").event {
                Event::Record(r) => Some(seen(&r)),
                _ => None,
            })
            .collect();
        (got, most.get())
    }

    #[test]
    fn detached_records_read_as_they_did_and_the_pinned_bytes_stay_bounded() {
        let input = interleaved(40);
        let want = sorted(Reader::from_memory(input.clone()));
        assert_eq!(want.len(), 40 * 12);
        let len = input[0].1.len();
        // Nothing detached: every segment is kept to the end.
        let (got, kept) = merged_keeping(input.clone(), (usize::MAX, usize::MAX));
        assert_eq!(got, want);
        assert_eq!(kept, 39 * len);
        // Every segment detached as soon as the input moves on from it.
        let (got, kept) = merged_keeping(input.clone(), (0, usize::MAX));
        assert_eq!(got, want);
        assert_eq!(kept, 0);
        // At most three segments' bytes, then at most five segments.
        let (got, kept) = merged_keeping(input.clone(), (usize::MAX, 3 * len + len / 2));
        assert_eq!(got, want);
        assert_eq!(kept, 3 * len);
        let (got, kept) = merged_keeping(input, (5, usize::MAX));
        assert_eq!(got, want);
        assert_eq!(kept, 5 * len);
    }

    #[test]
    fn records_of_large_segments_keep_sharing_their_bytes() {
        // Two segments of a thousand records each, all held to the end: nothing is copied.
        let input: Vec<(PathBuf, Vec<u8>)> = (0..2u64)
            .map(|s| {
                let records: Vec<(u32, u64, u32)> = (0..1000u32)
                    .map(|k| (1 + k % 2, s * 10_000 + u64::from(k), k))
                    .collect();
                (PathBuf::from(format!("s{s}")), seg(&records))
            })
            .collect();
        let records: Vec<Record> = Merge::new(Reader::from_memory(input), 1 << 20)
            .filter_map(|o| match o.expect("no damage").event {
                Event::Record(r) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(records.len(), 2000);
        for (r, next) in records.iter().zip(&records[1..]) {
            let same = r.source().0 == next.source().0;
            assert_eq!(Arc::ptr_eq(&r.data, &next.data), same);
        }
        let chunks: Vec<_> = records.iter().map(|r| Arc::as_ptr(&r.data)).collect();
        assert_eq!(
            chunks
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len(),
            2
        );
    }

    #[test]
    fn the_window_is_bounded_in_bytes_too() {
        // Nine threads, one record each per segment, all of the same size; records of later
        // segments are earlier in time than those of the one before, so that only the window
        // makes anything come out before the input ends.
        let input: Vec<(PathBuf, Vec<u8>)> = (0..50u64)
            .map(|s| {
                let records: Vec<(u32, u64, u32)> = (0..9u32)
                    .map(|p| (1 + p, (50 - s) * 1000 + u64::from(p), p))
                    .collect();
                (PathBuf::from(format!("s{s}")), seg(&records))
            })
            .collect();
        let one = Reader::from_memory(input.clone())
            .find_map(|e| match e {
                Ok(Event::Record(r)) => Some(r.encoded_len()),
                _ => None,
            })
            .expect("a record");
        for (window, bytes, most) in [(1 << 20, 25 * one, 25), (10, 1 << 20, 10)] {
            let mut merge =
                Merge::new(Reader::from_memory(input.clone()), window).window_bytes(bytes);
            let (mut n, mut late, mut held) = (0, 0, 0);
            while let Some(o) = merge.next() {
                let o = o.expect("no damage");
                held = held.max(merge.held());
                assert_eq!(merge.held_bytes(), merge.held() * one);
                if let Event::Record(_) = o.event {
                    n += 1;
                    late += o.late as usize;
                }
            }
            assert_eq!(n, 450);
            // The bound holds exactly, and things came out before the input ended.
            assert_eq!(held, most, "window {window}, {bytes} bytes");
            assert!(late > 0);
            assert_eq!(merge.held_bytes(), 0);
        }
    }
}
