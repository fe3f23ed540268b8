//! Producers: one single-producer ring per logging thread, created on the thread's first record.
//!
//! The hot path ([`log`]) is: call-site id (one load), tick read, a thread-local access, the
//! generation check (one relaxed load), a reservation in the ring, the copies, one release
//! store to commit. No lock, no allocation, no syscall once the thread has its ring.
use super::callsite::Callsite;
use super::encode::{Formatted, Writer};
use crate::runtime::{ACTIVE, GENERATION, NewRing, Overflow, ProducerShared, Shared};
use crate::sync::{Arc, AtomicBool, AtomicU64, Break, Ordering, lock, order, ring};
use crate::wire::{RECORD_HEAD_LEN, RecordHead};
use std::cell::RefCell;
use std::time::{Duration, Instant};

pub(crate) struct Producer {
    ring: ring::Producer,
    shared: Arc<ProducerShared>,
    engine: Arc<Shared>,
    overflow: Overflow,
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
        let Some(p) = producer.as_mut() else {
            arena.clear();
            return false;
        };
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
        if !arena.is_empty() {
            arena.clear();
        }
        true
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
    /// Creates a ring in `engine` and hands its consumer end to the drain.
    pub(crate) fn attach(engine: Arc<Shared>) -> Producer {
        let (ring, consumer) = ring::RingBuffer::new(engine.cfg.ring_capacity);
        let current = crate::sync::thread::current();
        let shared = Arc::new(ProducerShared {
            dropped: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            tid: os_tid(),
            name: current.name().map(str::to_owned),
        });
        let id = engine.next_producer_id();
        engine
            .counters
            .live_producers
            .fetch_add(1, Ordering::Relaxed);
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
            overflow: engine.cfg.overflow,
            engine,
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

#[cfg(target_os = "linux")]
fn os_tid() -> u32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() as u32 }
}

#[cfg(not(target_os = "linux"))]
fn os_tid() -> u32 {
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
