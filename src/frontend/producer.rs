//! Producers: one single-producer ring per logging thread, created on the thread's first record.
//!
//! The hot path ([`log`]) is: call-site id (one load), tick read, a thread-local access, the
//! generation check (one relaxed load), a reservation in the ring, the copies, one release
//! store to commit. No lock, no allocation, no syscall once the thread has its ring.
use super::callsite::Callsite;
use super::encode::{Formatted, Writer};
use crate::runtime::{ACTIVE, GENERATION, NewRing, Overflow, ProducerShared, Shared};
use crate::sync::{Arc, AtomicBool, AtomicU64, Break, Ordering, broken, lock, order, ring};
use crate::wire::{RECORD_HEAD_LEN, RecordHead};
use std::cell::RefCell;
use std::time::{Duration, Instant};

pub(crate) struct Producer {
    ring: ring::Producer,
    shared: Arc<ProducerShared>,
    engine: Arc<Shared>,
    overflow: Overflow,
    /// Records committed into the ring so far.
    committed: u64,
    /// Bytes to commit before looking at how full the ring is (see [`Producer::check_fill`]).
    until_check: usize,
}

impl Drop for Producer {
    fn drop(&mut self) {
        let o = order(Ordering::Release, Break::ClosedRelaxed);
        self.shared.closed.store(true, o);
    }
}

/// A thread's producer state: the thread-local slot normally, or owned by a loom model's
/// thread (`testing::loom`), which uses the same write path without the process-wide logger.
pub(crate) struct Local {
    /// Generation of the engine `producer` belongs to.
    pub(crate) generation: u32,
    pub(crate) producer: Option<Producer>,
    /// Scratch text of `display()` / `debug()` arguments for the record being built.
    pub(crate) arena: Vec<u8>,
}

// sync-lint: allow (per-thread state, never shared; loom models own a `Local` each)
thread_local! {
    static LOCAL: RefCell<Local> = const {
        RefCell::new(Local { generation: 0, producer: None, arena: Vec::new() })
    };
}

/// Runs `f` on this thread's scratch arena (`None` during thread teardown or re-entry).
fn with_arena<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> Option<R> {
    LOCAL
        .try_with(|l| l.try_borrow_mut().ok().map(|mut l| f(&mut l.arena)))
        .ok()
        .flatten()
}

/// Writes one record. See the module docs for the cost.
#[inline(always)]
pub fn log<F: FnOnce(&mut Writer<'_>)>(cs: &'static Callsite, args_size: usize, encode: F) {
    let id = cs.id();
    let ticks = crate::clock::ticks();
    let generation = GENERATION.load(Ordering::Relaxed);
    let written = LOCAL.try_with(|l| match l.try_borrow_mut() {
        Ok(mut l) => l.write(generation, id, ticks, args_size, encode),
        // Re-entered from inside a record being built: cannot happen through the macros (they
        // evaluate arguments before writing), but must not panic.
        Err(_) => false,
    });
    if written != Ok(true) {
        lost_without_producer();
    }
}

/// A record that could not reach any ring (thread teardown, no logger): counted, not silent.
#[cold]
#[inline(never)]
fn lost_without_producer() {
    if let Some(a) = lock(&ACTIVE).as_ref() {
        a.engine.orphan_dropped.fetch_add(1, Ordering::Relaxed);
        a.engine
            .counters
            .records_dropped
            .fetch_add(1, Ordering::Relaxed);
    }
}

impl Local {
    /// Returns false only when no producer could be had (then the caller counts the loss).
    #[inline(always)]
    pub(crate) fn write<F: FnOnce(&mut Writer<'_>)>(
        &mut self,
        generation: u32,
        id: u32,
        ticks: u64,
        args_size: usize,
        encode: F,
    ) -> bool {
        if self.generation != generation || self.producer.is_none() {
            self.attach();
        }
        let Local {
            producer, arena, ..
        } = self;
        match producer.as_mut() {
            Some(p) => p.write(arena, id, ticks, args_size, encode),
            None => {
                arena.clear();
                false
            }
        }
    }

    /// Creates this thread's ring in the running engine (first record, or after a re-init).
    #[cold]
    #[inline(never)]
    fn attach(&mut self) {
        self.producer = None;
        let active = lock(&ACTIVE);
        let Some(a) = active.as_ref() else { return };
        let engine = a.engine.clone();
        self.generation = a.generation;
        drop(active);
        self.producer = Some(Producer::attach(engine));
    }
}

impl Producer {
    /// Writes one record into this producer's ring (`arena` holds the text of its
    /// `display()` / `debug()` arguments). Always true: a record that does not fit is counted
    /// as dropped under the overflow policy.
    #[inline(always)]
    pub(crate) fn write<F: FnOnce(&mut Writer<'_>)>(
        &mut self,
        arena: &mut Vec<u8>,
        id: u32,
        ticks: u64,
        args_size: usize,
        encode: F,
    ) -> bool {
        let p = self;
        let total = RECORD_HEAD_LEN + args_size;
        // The first attempt uses rtrb's cached view of the consumer's position, so the common
        // case touches no cache line the drain writes.
        let mut chunk = match p.ring.write_chunk_uninit(total) {
            Ok(chunk) => chunk,
            Err(_) => {
                if !p.wait_for_room(total) {
                    arena.clear();
                    return true;
                }
                match p.ring.write_chunk_uninit(total) {
                    Ok(chunk) => chunk,
                    Err(_) => {
                        p.count_drop();
                        arena.clear();
                        return true;
                    }
                }
            }
        };
        let (a, b) = chunk.as_mut_slices();
        let mut w = Writer::new(a, b, arena);
        let head = RecordHead {
            len: total as u32,
            callsite: id,
            ticks,
        };
        w.put_head(&head);
        encode(&mut w);
        let exact = w.finish();
        debug_assert!(exact, "Encode::size disagrees with Encode::encode");
        // SAFETY: `Writer::finish` has initialised every one of the `total` reserved bytes
        // (written or zero-filled), which is what `commit_all` requires.
        unsafe { chunk.commit_all() };
        p.committed += 1;
        // A local count, no shared cache line: the fill is looked at only every so many bytes.
        if total >= p.until_check {
            p.check_fill();
        } else {
            p.until_check -= total;
        }
        if !arena.is_empty() {
            arena.clear();
        }
        // Is the drain closing? The commit above (a release store of the ring's tail) and this
        // load are ordered by the light side of an asymmetric fence: a compiler fence here, the
        // drain's heavy fence after it sets `closing`. So either the drain's last passes see
        // this record, or this load sees `closing` (or both; `settle_late` then tells which).
        if !broken(Break::LateRecordUnchecked)
            && crate::sync::load_after_light_fence(&p.engine.closing)
        {
            p.settle_late();
        }
        true
    }

    /// After committing a record while the drain closes: waits until the drain has finished,
    /// then counts the record as dropped unless the drain took it (its count of records taken
    /// from this ring reaches this one). Exactly one of the two happens.
    #[cold]
    #[inline(never)]
    fn settle_late(&mut self) {
        let mut round = 0u32;
        // Acquire pairs with the release in `Shared::drain_exited`: `consumed` is final.
        while !self.engine.finished.load(Ordering::Acquire) {
            crate::sync::backoff(round, Duration::from_micros(50));
            round = round.saturating_add(1);
        }
        if self.shared.consumed.load(Ordering::Relaxed) < self.committed {
            self.count_drop();
        }
    }

    /// Creates a ring in `engine` for the calling thread and hands its consumer end to the
    /// drain.
    pub(crate) fn attach(engine: Arc<Shared>) -> Producer {
        let current = crate::sync::thread::current();
        let name = current.name().map(str::to_owned);
        let overflow = engine.cfg.overflow;
        let capacity = engine.cfg.ring_capacity;
        Producer::attach_as(engine, os_tid(), name, capacity, overflow, true)
    }

    /// Creates a ring of `capacity` bytes in `engine`, described in segments as thread `tid`
    /// named `name`, with its own overflow policy (the crash slot uses `Drop`, so that writing
    /// into it never waits). `counted`: whether it counts in `Stats::live_producers` (a
    /// thread's ring does; the crash slot does not).
    pub(crate) fn attach_as(
        engine: Arc<Shared>,
        tid: u32,
        name: Option<String>,
        capacity: usize,
        overflow: Overflow,
        counted: bool,
    ) -> Producer {
        let (ring, consumer) = ring::RingBuffer::new(capacity);
        let shared = Arc::new(ProducerShared {
            dropped: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            tid,
            name,
            counted,
            consumed: AtomicU64::new(0),
        });
        let id = engine.next_producer_id();
        if counted {
            engine
                .counters
                .live_producers
                .fetch_add(1, Ordering::Relaxed);
        }
        lock(&engine.new_rings).push(NewRing {
            id,
            consumer,
            shared: shared.clone(),
        });
        // Release: the drain that sees the flag (acquire) finds the ring in the list. A swap
        // rather than a store (this path runs once per thread): the drain clears the flag with
        // a swap too, and loom 0.7 can order a plain store inside another thread's
        // read-modify-write (tokio-rs/loom#254), which would lose the flag in the models.
        engine.has_new.swap(true, Ordering::Release);
        Producer {
            ring,
            shared,
            overflow,
            until_check: capacity / 2,
            engine,
            committed: 0,
        }
    }
}

impl Producer {
    #[cold]
    #[inline(never)]
    fn count_drop(&self) {
        // Only this thread writes `dropped`; the drain reads it to write notices.
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        self.engine
            .counters
            .records_dropped
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Wakes an idle drain when the ring is half full or more, so that a burst does not wait
    /// out the drain's nap (`Builder::drain_idle`) while the ring overflows. Runs once per
    /// sixteenth of the ring's bytes committed at most (and once per half of them while the
    /// ring is nearly empty); each run reads the consumer's position once.
    #[cold]
    #[inline(never)]
    fn check_fill(&mut self) {
        let capacity = self.ring.buffer().capacity();
        let used = capacity - self.ring.slots();
        if used >= capacity / 2 {
            self.engine.wake_drain();
        }
        // Look again when the ring could have reached half full, but not sooner than a
        // sixteenth of the ring from now.
        self.until_check = (capacity / 2)
            .saturating_sub(used)
            .max(capacity / 16)
            .max(1);
    }

    /// Applies the overflow policy when the ring lacks `total` bytes. True once there is room;
    /// false if the record was dropped (and counted).
    #[cold]
    #[inline(never)]
    fn wait_for_room(&mut self, total: usize) -> bool {
        let limit = match self.overflow {
            // A record larger than the ring can never fit: waiting would hang.
            _ if total > self.ring.buffer().capacity() => None,
            Overflow::Drop => None,
            Overflow::Block => Some(None),
            Overflow::BlockFor(d) => Some(Some(d)),
        };
        let Some(limit) = limit else {
            self.count_drop();
            return false;
        };
        let start = Instant::now();
        let mut round = 0u32;
        loop {
            if self.ring.slots() >= total {
                return true;
            }
            if !self.engine.alive.load(Ordering::Acquire)
                || limit.is_some_and(|d| start.elapsed() >= d)
            {
                self.count_drop();
                return false;
            }
            self.engine.wake_drain();
            crate::sync::backoff(round, Duration::from_micros(20));
            round = round.saturating_add(1);
        }
    }
}

/// Writes one record through this thread's producer if it has one for the running engine,
/// without creating one: no lock, no allocation. False if the thread has no producer (it never
/// logged, or logged for an earlier engine), is tearing down, or is inside a record already;
/// the caller then uses another way (the crash slot).
pub(crate) fn log_if_attached<F: FnOnce(&mut Writer<'_>)>(
    cs: &'static Callsite,
    args_size: usize,
    encode: F,
) -> bool {
    let id = cs.id();
    let ticks = crate::clock::ticks();
    let generation = GENERATION.load(Ordering::Relaxed);
    LOCAL
        .try_with(|l| match l.try_borrow_mut() {
            Ok(mut l) if l.generation == generation => {
                let Local {
                    producer, arena, ..
                } = &mut *l;
                producer
                    .as_mut()
                    .is_some_and(|p| p.write(arena, id, ticks, args_size, encode))
            }
            _ => false,
        })
        .unwrap_or(false)
}

/// The calling thread's operating-system id (0 where there is none to give).
#[cfg(target_os = "linux")]
pub(crate) fn os_tid() -> u32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() as u32 }
}

/// The calling thread's operating-system id (0 where there is none to give).
#[cfg(not(target_os = "linux"))]
pub(crate) fn os_tid() -> u32 {
    0
}

/// Writes text into this thread's arena now, for the record being built, and returns its
/// place there, to be recorded with `tag` (`PRE` or `FORMATTED`). Empty text when the arena
/// cannot be had (thread teardown, or a `Display` impl that logs while it formats).
pub(crate) fn format_now(
    tag: u8,
    write: impl FnOnce(&mut dyn std::fmt::Write) -> std::fmt::Result,
) -> Formatted {
    /// `fmt::Write` into the arena's bytes.
    struct Arena<'v>(&'v mut Vec<u8>);
    impl std::fmt::Write for Arena<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    with_arena(|arena| {
        let start = arena.len();
        let _ = write(&mut Arena(arena));
        // Keep records well inside a `u32` length, cut at a character boundary.
        // (Everything written is `str`s, so only this cut can split a character.)
        let mut end = arena.len().min(start + (u32::MAX as usize / 2));
        while end < arena.len() && end > start && arena[end] & 0xC0 == 0x80 {
            end -= 1;
        }
        arena.truncate(end);
        Formatted {
            start: start as u32,
            len: (end - start) as u32,
            tag,
        }
    })
    .unwrap_or(Formatted {
        start: 0,
        len: 0,
        tag,
    })
}

/// `Display` text written into this thread's arena now, recorded like the text of
/// `display()` under a plain `{}` (the bridges).
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) fn text_now(args: std::fmt::Arguments<'_>) -> Formatted {
    format_now(crate::wire::tag::PRE, |w| w.write_fmt(args))
}

/// Text written into this thread's arena now and recorded as a plain string (the bridges).
#[cfg(feature = "tracing")]
pub(crate) fn arena_str(args: std::fmt::Arguments<'_>) -> super::encode::ArenaStr {
    super::encode::ArenaStr(text_now(args))
}
