//! What the loom models in `loom-tests/` drive (built only with `--cfg loom`).
//!
//! The models use the engine's own types and code paths: a [`Model`] is an engine's shared
//! state plus its `Drain`, driven one pass at a time by the model's thread; a [`Running`] is a
//! real engine whose drain thread runs `Drain::run`; a [`Producer`] is the same `Local` and
//! write path that `log` uses. Only the storage differs: segments are in-memory files
//! ([`MemMap`]) whose frame bytes are watched by loom cells, so that a reader that reads a
//! byte the drain's write of it does not happen before is reported by loom.
//!
//! Everything here lives for one model execution (loom's lazy statics are reset between
//! executions), so models never see each other's state.
use crate::callsite::{Callsite, Metadata};
use crate::drain::Drain;
use crate::engine::{Config, Engine, Shared};
use crate::reader::{Event, Reader};
use crate::segment::SegmentDir;
use crate::sync::{Arc, AtomicU32, AtomicU64};
use crate::wire::{COMMITTED_OFFSET, FLAGS_OFFSET, HEADER_LEN};
use crate::{Error, Level, Overflow, clock};
use std::ops::{Index, IndexMut, Range, RangeTo};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::sync::Break;

// The model's configuration knobs are deliberately invisible to loom: they are set by the
// model's own thread before it starts any other, and they are not part of the protocol.
type Knob = std::sync::atomic::AtomicU8; // sync-lint: allow (model knob, invisible to loom)
use std::sync::atomic::Ordering::Relaxed as KNOB_ORDER; // sync-lint: allow (as above)

loom::lazy_static! {
    /// The broken variant selected for this execution (0: none).
    static ref BREAK: Knob = Knob::new(0);
    /// The in-memory "file system": every segment created in this execution, in order. A
    /// std mutex, invisible to loom: it stands for the kernel, which makes a file visible to
    /// readers only after it was created; its critical sections do nothing loom sees.
    static ref FILES: std::sync::Mutex<Vec<std::sync::Arc<MemFile>>> =
        std::sync::Mutex::new(Vec::new());
}

/// The broken variant selected for the running execution, as a `Break` discriminant.
pub(crate) fn selected_break() -> u8 {
    BREAK.load(KNOB_ORDER)
}

/// Selects a broken variant (or none) for this execution. Call it first in the model closure,
/// before starting any thread.
pub fn select_break(b: Option<Break>) {
    BREAK.store(b.map_or(0, |b| b as u8), KNOB_ORDER);
    drop(FILES.lock());
    crate::callsite::init_registry();
}

/// An in-memory segment file.
struct MemFile {
    path: PathBuf,
    /// The bytes; frame bytes are accessed only together with their `track` cell.
    data: Box<[std::cell::UnsafeCell<u8>]>,
    /// One loom cell per 8-byte word after the header: the drain's writes and a reader's reads
    /// of a word go through it, so loom checks that the reads happen after the writes.
    track: Box<[loom::cell::UnsafeCell<()>]>,
    committed: AtomicU64,
    flags: AtomicU32,
}

// SAFETY: the drain writes only bytes past `committed` (which readers do not read, unless the
// protocol is broken, and then loom reports the race on the `track` cell before the access);
// the header bytes are written once, before the file is listed in `FILES`.
unsafe impl Sync for MemFile {}
// SAFETY: as above.
unsafe impl Send for MemFile {}

impl MemFile {
    /// The loom cells of the words overlapping `range` (the header has none).
    fn words(&self, range: &Range<usize>) -> Range<usize> {
        let start = range.start.max(HEADER_LEN);
        if range.end <= start {
            return 0..0;
        }
        (start - HEADER_LEN) / 8..(range.end - HEADER_LEN).div_ceil(8)
    }
}

/// The drain's view of an in-memory segment: what `MmapMut` is outside loom.
pub(crate) struct MemMap(std::sync::Arc<MemFile>);

impl MemMap {
    /// Creates the in-memory file `path` of `size` bytes, zero-filled like a new mapping.
    pub(crate) fn create(path: &Path, size: usize) -> MemMap {
        let file = std::sync::Arc::new(MemFile {
            path: path.to_owned(),
            data: (0..size).map(|_| std::cell::UnsafeCell::new(0)).collect(),
            track: (0..size.saturating_sub(HEADER_LEN).div_ceil(8))
                .map(|_| loom::cell::UnsafeCell::new(()))
                .collect(),
            committed: AtomicU64::new(HEADER_LEN as u64),
            flags: AtomicU32::new(0),
        });
        FILES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(file.clone());
        MemMap(file)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.data.len()
    }

    /// The header's committed length.
    pub(crate) fn header_u64(&self, offset: usize) -> &AtomicU64 {
        assert_eq!(offset, COMMITTED_OFFSET, "only `committed` is shared");
        &self.0.committed
    }

    /// The header's flags.
    pub(crate) fn header_u32(&self, offset: usize) -> &AtomicU32 {
        assert_eq!(offset, FLAGS_OFFSET, "only `flags` is shared");
        &self.0.flags
    }

    fn slice_mut(&mut self, range: Range<usize>) -> &mut [u8] {
        for w in self.0.words(&range) {
            self.0.track[w].with_mut(|_| ());
        }
        let bytes = &self.0.data[range];
        // SAFETY: `UnsafeCell<u8>` has the layout of `u8`; the drain (holder of `&mut self`)
        // is the only writer, and no reader reads these bytes concurrently (checked by loom
        // through `track` just above).
        unsafe { std::slice::from_raw_parts_mut(bytes.as_ptr() as *mut u8, bytes.len()) }
    }
}

impl Index<Range<usize>> for MemMap {
    type Output = [u8];
    fn index(&self, range: Range<usize>) -> &[u8] {
        for w in self.0.words(&range) {
            self.0.track[w].with(|_| ());
        }
        let bytes = &self.0.data[range];
        // SAFETY: as in `slice_mut`; reads by the writer itself never race with its writes.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr() as *const u8, bytes.len()) }
    }
}

impl IndexMut<Range<usize>> for MemMap {
    fn index_mut(&mut self, range: Range<usize>) -> &mut [u8] {
        self.slice_mut(range)
    }
}

impl Index<RangeTo<usize>> for MemMap {
    type Output = [u8];
    fn index(&self, range: RangeTo<usize>) -> &[u8] {
        &self[0..range.end]
    }
}

impl IndexMut<RangeTo<usize>> for MemMap {
    fn index_mut(&mut self, range: RangeTo<usize>) -> &mut [u8] {
        self.slice_mut(0..range.end)
    }
}

/// Reads every segment as a live reader would: the committed length with acquire, then the
/// bytes below it (each word's read checked by loom against the drain's write of it).
pub fn read_published() -> Vec<(PathBuf, Vec<u8>)> {
    let files: Vec<_> = FILES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    files
        .iter()
        .map(|f| {
            let committed = (f.committed.load(crate::sync::Ordering::Acquire) as usize)
                .clamp(HEADER_LEN, f.data.len());
            let flags = f.flags.load(crate::sync::Ordering::Acquire);
            for w in f.words(&(HEADER_LEN..committed)) {
                f.track[w].with(|_| ());
            }
            let bytes: Vec<u8> = f.data[..committed]
                .iter()
                // SAFETY: header bytes are written before the file is listed; frame bytes
                // below `committed` were written before its release store (checked by loom
                // through `track` just above).
                .map(|b| unsafe { *b.get() })
                .collect();
            let mut bytes = bytes;
            bytes[COMMITTED_OFFSET..COMMITTED_OFFSET + 8]
                .copy_from_slice(&(committed as u64).to_le_bytes());
            bytes[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&flags.to_le_bytes());
            (f.path.clone(), bytes)
        })
        .collect()
}

/// One decoded record of a model: its producer, thread id, segment, and the `u64` it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    /// Producer id.
    pub producer: u32,
    /// Thread id from the segment's THREAD frame (0 if the segment did not describe it).
    pub tid: u32,
    /// Segment sequence number.
    pub segment: u64,
    /// The logged value.
    pub value: u64,
}

/// What the segments hold, decoded with the library reader, each segment on its own.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Records, in file order.
    pub records: Vec<Rec>,
    /// Drop notices: (producer id, count).
    pub drops: Vec<(Option<u32>, u64)>,
    /// Every error the reader reported.
    pub errors: Vec<String>,
    /// Segments read.
    pub segments: usize,
}

impl Decoded {
    /// The values logged by `producer`, in file order.
    pub fn values_of(&self, producer: u32) -> Vec<u64> {
        self.records
            .iter()
            .filter(|r| r.producer == producer)
            .map(|r| r.value)
            .collect()
    }

    /// Total drops noticed for `producer`.
    pub fn dropped_of(&self, producer: u32) -> u64 {
        self.drops
            .iter()
            .filter(|d| d.0 == Some(producer))
            .map(|d| d.1)
            .sum()
    }
}

/// Decodes what [`read_published`] returns, each segment with a reader of its own (so a
/// segment that relies on metadata of another shows up as errors).
pub fn decode_published() -> Decoded {
    let mut out = Decoded::default();
    for seg in read_published() {
        out.segments += 1;
        for item in Reader::from_memory([seg]) {
            match item {
                Ok(Event::Record(r)) => {
                    let msg = r.message();
                    match msg.parse() {
                        Ok(value) => out.records.push(Rec {
                            producer: r.thread.producer,
                            tid: r.thread.tid,
                            segment: r.segment,
                            value,
                        }),
                        Err(_) => out.errors.push(format!("unexpected message {msg:?}")),
                    }
                }
                Ok(Event::Dropped(d)) => out
                    .drops
                    .push((d.thread.as_ref().map(|t| t.producer), d.count)),
                Ok(_) => {}
                Err(e) => out.errors.push(e.to_string()),
            }
        }
    }
    out
}

/// A new call site `"{}"` with one `u64` argument (created in this execution, as loom's
/// atomics must be).
pub fn callsite() -> &'static Callsite {
    Box::leak(Box::new(Callsite::new(Metadata {
        level: Level::Info,
        target: "loom",
        module_path: "loom",
        file: "model.rs",
        line: 1,
        format: "{}",
        arg_names: &[""],
        field_names: &[],
    })))
}

/// Sizes and overflow policy of a model's engine.
#[derive(Debug, Clone, Copy)]
pub struct ModelConfig {
    /// Bytes per producer ring (a record of one `u64` takes 25).
    pub ring_capacity: usize,
    /// Bytes per segment.
    pub segment_size: usize,
    /// What a producer does when its ring is full.
    pub overflow: Overflow,
}

impl ModelConfig {
    fn config(&self) -> Config {
        crate::Builder::new()
            .dir("loom")
            .name("model")
            .segment_size(self.segment_size)
            .ring_capacity(self.ring_capacity)
            .overflow(self.overflow)
            .into_config()
    }
}

/// A handle on an engine's shared state, to move into model threads.
#[derive(Clone)]
pub struct Handle(Arc<Shared>);

/// The engine's counters.
pub use crate::engine::Stats;

impl Handle {
    /// A producer for the calling thread: a ring created and handed to the drain exactly as a
    /// thread's first record does.
    pub fn producer(&self) -> Producer {
        Producer(crate::producer::ModelProducer::new(self.0.clone()))
    }

    /// `flush()`: blocks until every record committed before the call is in the segment.
    pub fn flush(&self) -> Result<(), Error> {
        self.0.flush_for_model()
    }

    /// The engine's counters.
    pub fn stats(&self) -> Stats {
        self.0.stats_for_model()
    }
}

/// A logging thread's producer. Dropping it is the thread's exit: the ring is closed and left
/// to the drain.
pub struct Producer(crate::producer::ModelProducer);

impl Producer {
    /// Logs `value` at `cs` through the engine's write path.
    pub fn log(&mut self, cs: &'static Callsite, value: u64) {
        use crate::encode::Encode;
        self.0.write(cs, value.size(), |w| value.encode(w));
    }
}

/// An engine whose drain is driven one pass at a time by the model's thread.
pub struct Model {
    shared: Arc<Shared>,
    drain: Drain,
}

impl Model {
    /// Creates the engine's shared state and its drain (with its first segment).
    pub fn new(cfg: ModelConfig) -> Model {
        let calib = clock::Calibration::measure(Duration::ZERO);
        let cfg = cfg.config();
        let dir = SegmentDir::open(&cfg.dir, &cfg.name, cfg.segment_size).expect("in memory");
        let shared = Arc::new(Shared::new(cfg, &calib));
        let drain = Drain::new(shared.clone(), dir, calib).expect("in-memory segment");
        Model { shared, drain }
    }

    /// A handle for model threads.
    pub fn handle(&self) -> Handle {
        Handle(self.shared.clone())
    }

    /// One drain pass; returns the records and notices it moved.
    pub fn pass(&mut self) -> u64 {
        self.drain.pass()
    }

    /// Seals the current segment, as the drain thread does when it stops.
    pub fn finish(mut self) -> Stats {
        self.drain.seal();
        self.shared.stats_for_model()
    }
}

/// A started engine: its drain thread runs `Drain::run`.
pub struct Running(Engine);

impl Running {
    /// Starts the engine as `Builder::init` does, without the process-wide logger.
    pub fn start(cfg: ModelConfig) -> Running {
        Running(Engine::start(cfg.config()).expect("engine starts"))
    }

    /// A handle for model threads.
    pub fn handle(&self) -> Handle {
        Handle(self.0.shared.clone())
    }

    /// Shuts the engine down as dropping the `Guard` does (flush, stop, join the drain, seal),
    /// returning the final counters.
    pub fn shutdown(self) -> Stats {
        let shared = self.0.shared.clone();
        drop(self.0);
        shared.stats_for_model()
    }
}
