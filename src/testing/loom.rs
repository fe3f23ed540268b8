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
use super::memory::read_published;
use crate::backend::Drain;
use crate::engine::{Engine, snapshot};
use crate::frontend::callsite::{self, Callsite, Metadata};
use crate::frontend::encode::Encode;
use crate::frontend::producer::{Local, Producer as RingProducer};
use crate::reader::{Event, Reader};
use crate::runtime::{Config, Shared};
use crate::storage::SegmentDir;
use crate::sync::Arc;
use crate::{Error, Level, Overflow, clock};
use std::time::Duration;

pub use crate::sync::Break;

/// Selects a broken variant (or none) for this execution. Call it first in the model closure,
/// before starting any thread.
pub fn select_break(b: Option<Break>) {
    crate::sync::select_break(b);
    super::memory::init();
    // Looking a call site up creates this execution's registry.
    let _ = callsite::lookup(0);
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
            .cfg
    }
}

/// A handle on an engine's shared state, to move into model threads.
#[derive(Clone)]
pub struct Handle(Arc<Shared>);

/// The engine's counters.
pub use crate::Stats;

impl Handle {
    /// A producer for the calling thread: a ring created and handed to the drain exactly as a
    /// thread's first record does.
    pub fn producer(&self) -> Producer {
        Producer(Local {
            generation: 1,
            producer: Some(RingProducer::attach(self.0.clone())),
            arena: Vec::new(),
        })
    }

    /// `flush()`: blocks until every record committed before the call is in the segment.
    pub fn flush(&self) -> Result<(), Error> {
        self.0.flush(None)
    }

    /// The engine's counters.
    pub fn stats(&self) -> Stats {
        snapshot(&self.0)
    }
}

/// A logging thread's producer. Dropping it is the thread's exit: the ring is closed and left
/// to the drain.
pub struct Producer(Local);

impl Producer {
    /// Logs `value` at `cs` through the engine's write path.
    pub fn log(&mut self, cs: &'static Callsite, value: u64) {
        let written = self.0.write(1, cs.id(), clock::ticks(), value.size(), |w| {
            value.encode(w)
        });
        assert!(written, "a model producer always has a ring");
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
        snapshot(&self.shared)
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
        snapshot(&shared)
    }
}
