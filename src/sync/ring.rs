//! The single-producer, single-consumer byte ring between a logging thread and the drain.
//!
//! Normally this is [`rtrb`]. Built with `--cfg loom` it is the stand-in below: the subset of
//! rtrb's API the engine uses, with the same acquire/release contract, written on loom's
//! atomics so that the model checker sees every synchronising access, and with one loom
//! `UnsafeCell` per byte slot so that it also sees every access to the data: a read of a slot
//! that does not happen after the write of it (or a write that does not happen after the last
//! read) is reported as a causality violation.
#[cfg(not(loom))]
pub(crate) type Consumer = rtrb::Consumer<u8>;
#[cfg(not(loom))]
pub(crate) type Producer = rtrb::Producer<u8>;
#[cfg(not(loom))]
pub(crate) type RingBuffer = rtrb::RingBuffer<u8>;

#[cfg(loom)]
pub(crate) use self::model::{Consumer, Producer, RingBuffer};

#[cfg(loom)]
mod model {
    //! Orderings mirror rtrb 0.4.1 (<https://github.com/mgeier/rtrb/blob/0.4.1/src/lib.rs>,
    //! `src/chunks.rs`):
    //! - the producer publishes written slots with a release store of `tail`
    //!   (`WriteChunkUninit::commit_unchecked`, chunks.rs line 748);
    //! - the consumer reads `tail` with acquire before touching slots
    //!   (`Consumer::slots`, lib.rs line 667; `read_chunk`, chunks.rs line 348;
    //!   `next_head`, lib.rs line 784, behind `is_empty`);
    //! - the consumer frees slots with a release store of `head`
    //!   (`ReadChunk::commit_unchecked`, chunks.rs line 994);
    //! - the producer reads `head` with acquire before reusing slots
    //!   (`Producer::slots`, lib.rs line 378; `write_chunk_uninit`, chunks.rs line 223).
    //!
    //! Positions run over `0 .. 2 * capacity` as in rtrb, so a full ring and an empty one
    //! differ. Each side caches the other side's position and refreshes it only when the cached
    //! value says there is not enough, as rtrb does; the caches are plain `Cell`s (one thread
    //! each), invisible to loom like rtrb's.
    use crate::sync::{Arc, AtomicU64, Break, Ordering, order};
    use loom::cell::UnsafeCell;
    use std::cell::Cell;
    use std::mem::MaybeUninit;

    /// Shared state of one ring.
    pub(crate) struct RingBuffer {
        /// Next slot the consumer reads, in `0 .. 2 * capacity`.
        head: AtomicU64,
        /// Next slot the producer writes, in `0 .. 2 * capacity`.
        tail: AtomicU64,
        /// The bytes. Only the side that owns a slot (per `head`/`tail`) touches it.
        data: Box<[std::cell::UnsafeCell<MaybeUninit<u8>>]>,
        /// One loom cell per byte slot, accessed (`with_mut` by the writer, `with` by the
        /// reader) whenever the slot's byte is, so that loom checks who may touch it when.
        track: Box<[UnsafeCell<()>]>,
    }

    // SAFETY: the ring is shared by exactly one producer and one consumer; a data slot is
    // touched only by the side that owns it according to `head`/`tail`, and ownership moves
    // with release/acquire pairs (the loom cells in `track` check exactly that).
    unsafe impl Sync for RingBuffer {}
    // SAFETY: as above; the bytes are plain `u8`.
    unsafe impl Send for RingBuffer {}

    /// The error of a chunk request that does not fit (rtrb's `ChunkError::TooFewSlots`).
    #[derive(Debug)]
    pub(crate) struct TooFewSlots(#[allow(dead_code)] pub usize);

    impl RingBuffer {
        /// A ring of `capacity` bytes and its two ends.
        #[allow(clippy::new_ret_no_self)]
        pub(crate) fn new(capacity: usize) -> (Producer, Consumer) {
            let ring = Arc::new(RingBuffer {
                head: AtomicU64::new(0),
                tail: AtomicU64::new(0),
                data: (0..capacity)
                    .map(|_| std::cell::UnsafeCell::new(MaybeUninit::uninit()))
                    .collect(),
                track: (0..capacity).map(|_| UnsafeCell::new(())).collect(),
            });
            (
                Producer {
                    ring: ring.clone(),
                    cached_head: Cell::new(0),
                    tail: Cell::new(0),
                },
                Consumer {
                    ring,
                    head: Cell::new(0),
                    cached_tail: Cell::new(0),
                },
            )
        }

        /// Capacity in bytes.
        pub(crate) fn capacity(&self) -> usize {
            self.data.len()
        }

        fn cap(&self) -> u64 {
            self.data.len() as u64
        }

        /// Slots between positions `a` and `b` (`a` not after `b`).
        fn distance(&self, a: u64, b: u64) -> usize {
            (if a <= b {
                b - a
            } else {
                2 * self.cap() - a + b
            }) as usize
        }

        fn advance(&self, pos: u64, n: usize) -> u64 {
            (pos + n as u64) % (2 * self.cap())
        }

        /// Slot indices `pos .. pos + n` as up to two ranges of the data array.
        fn ranges(&self, pos: u64, n: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
            let start = (pos % self.cap()) as usize;
            let first = n.min(self.data.len() - start);
            (start..start + first, 0..n - first)
        }
    }

    /// The writing end.
    pub(crate) struct Producer {
        ring: Arc<RingBuffer>,
        cached_head: Cell<u64>,
        /// Always equal to `ring.tail` (only this end writes it).
        tail: Cell<u64>,
    }

    /// The reading end.
    pub(crate) struct Consumer {
        ring: Arc<RingBuffer>,
        /// Always equal to `ring.head` (only this end writes it).
        head: Cell<u64>,
        cached_tail: Cell<u64>,
    }

    impl Producer {
        /// Free slots, refreshing the consumer's position (acquire, as rtrb's `slots`).
        pub(crate) fn slots(&self) -> usize {
            let head = self.ring.head.load(Ordering::Acquire);
            self.cached_head.set(head);
            self.ring.capacity() - self.ring.distance(head, self.tail.get())
        }

        /// The shared ring.
        pub(crate) fn buffer(&self) -> &RingBuffer {
            &self.ring
        }

        /// Reserves `n` slots, refreshing the consumer's position only if the cached one says
        /// they are not free (as rtrb's `write_chunk_uninit`).
        pub(crate) fn write_chunk_uninit(
            &mut self,
            n: usize,
        ) -> Result<WriteChunkUninit<'_>, TooFewSlots> {
            let r = &self.ring;
            let free = |head| r.capacity() - r.distance(head, self.tail.get());
            if free(self.cached_head.get()) < n {
                let head = r.head.load(Ordering::Acquire);
                self.cached_head.set(head);
                if free(head) < n {
                    return Err(TooFewSlots(free(head)));
                }
            }
            Ok(WriteChunkUninit { p: self, n })
        }
    }

    /// `n` reserved slots, written through [`WriteChunkUninit::as_mut_slices`].
    pub(crate) struct WriteChunkUninit<'a> {
        p: &'a mut Producer,
        n: usize,
    }

    impl WriteChunkUninit<'_> {
        /// The reserved slots, possibly split at the end of the ring.
        pub(crate) fn as_mut_slices(&mut self) -> (&mut [MaybeUninit<u8>], &mut [MaybeUninit<u8>]) {
            let r = &self.p.ring;
            let (a, b) = r.ranges(self.p.tail.get(), self.n);
            for i in a.clone().chain(b.clone()) {
                r.track[i].with_mut(|_| ());
            }
            let base = r.data.as_ptr() as *mut MaybeUninit<u8>;
            // SAFETY: `a` and `b` are disjoint, in bounds, and between `tail` and `head`, so the
            // consumer does not touch them until they are committed; `&mut self` keeps this the
            // only borrow. `UnsafeCell<MaybeUninit<u8>>` has the layout of `MaybeUninit<u8>`.
            unsafe {
                (
                    std::slice::from_raw_parts_mut(base.add(a.start), a.len()),
                    std::slice::from_raw_parts_mut(base.add(b.start), b.len()),
                )
            }
        }

        /// Makes the slots readable (release store of `tail`, as rtrb's `commit_unchecked`).
        ///
        /// # Safety
        /// Every reserved slot has been initialised.
        pub(crate) unsafe fn commit_all(self) {
            let tail = self.p.ring.advance(self.p.tail.get(), self.n);
            self.p.tail.set(tail);
            self.p.ring.tail.store(tail, Ordering::Release);
        }
    }

    impl Consumer {
        /// Readable slots, refreshing the producer's position (acquire, as rtrb's `slots`).
        pub(crate) fn slots(&self) -> usize {
            let tail = self.ring.tail.load(Ordering::Acquire);
            self.cached_tail.set(tail);
            self.ring.distance(self.head.get(), tail)
        }

        /// Whether nothing is readable, refreshing the producer's position only when the cached
        /// one says so (as rtrb's `next_head`).
        pub(crate) fn is_empty(&self) -> bool {
            if self.head.get() != self.cached_tail.get() {
                return false;
            }
            let tail = self.ring.tail.load(Ordering::Acquire);
            self.cached_tail.set(tail);
            self.head.get() == tail
        }

        /// The next `n` readable slots (as rtrb's `read_chunk`).
        pub(crate) fn read_chunk(&mut self, n: usize) -> Result<ReadChunk<'_>, TooFewSlots> {
            let r = &self.ring;
            if r.distance(self.head.get(), self.cached_tail.get()) < n {
                let tail = r.tail.load(Ordering::Acquire);
                self.cached_tail.set(tail);
                let avail = r.distance(self.head.get(), tail);
                if avail < n {
                    return Err(TooFewSlots(avail));
                }
            }
            Ok(ReadChunk { c: self, n })
        }
    }

    /// `n` readable slots.
    pub(crate) struct ReadChunk<'a> {
        c: &'a mut Consumer,
        n: usize,
    }

    impl ReadChunk<'_> {
        /// The slots, possibly split at the end of the ring.
        pub(crate) fn as_slices(&self) -> (&[u8], &[u8]) {
            let r = &self.c.ring;
            let (a, b) = r.ranges(self.c.head.get(), self.n);
            for i in a.clone().chain(b.clone()) {
                r.track[i].with(|_| ());
            }
            let base = r.data.as_ptr() as *const u8;
            // SAFETY: the slots lie between `head` and `tail`, were initialised by the producer
            // before its release store of `tail`, which this side loaded with acquire; the
            // producer does not touch them until `head` moves past them (in `commit`).
            unsafe {
                (
                    std::slice::from_raw_parts(base.add(a.start), a.len()),
                    std::slice::from_raw_parts(base.add(b.start), b.len()),
                )
            }
        }

        /// Frees the first `n` slots (release store of `head`, as rtrb's `commit_unchecked`).
        pub(crate) fn commit(self, n: usize) {
            assert!(n <= self.n, "commit of {n} slots in a chunk of {}", self.n);
            let head = self.c.ring.advance(self.c.head.get(), n);
            self.c.head.set(head);
            let o = order(Ordering::Release, Break::RingHeadRelaxed);
            self.c.ring.head.store(head, o);
        }

        /// Frees every slot of the chunk.
        pub(crate) fn commit_all(self) {
            let n = self.n;
            self.commit(n);
        }
    }
}
