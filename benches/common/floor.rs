//! The floor: no logger, the TSC read and a raw `rtrb` write of the same bytes as tachylog's
//! record, which a consumer thread copies into a mapped file whose pages are already faulted in
//! (ring transfer plus `memcpy`; it wraps around when full).
use super::clock::ticks;
use super::subject::{Finish, Setup, Subject};
use std::fs::File;
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// No logger: a time-stamp read plus the same bytes tachylog's record would hold, written
/// into a per-thread `rtrb` ring; a consumer thread copies them into a mapped file, faulted in
/// before the first record (so the floor pays no first-touch page faults) and reused from its
/// start when full.
pub struct Floor {
    shared: Arc<FloorShared>,
    consumer: Option<std::thread::JoinHandle<(u64, u64)>>,
    block: bool,
    ring: usize,
}

struct FloorShared {
    new: Mutex<Vec<rtrb::Consumer<u8>>>,
    has_new: AtomicBool,
    stop: AtomicBool,
    dropped: AtomicU64,
    thread: Mutex<Option<std::thread::Thread>>,
}

impl FloorShared {
    fn wake(&self) {
        if let Some(t) = self.thread.lock().unwrap().as_ref() {
            t.unpark();
        }
    }
}

/// A floor record under construction: the reserved ring space, possibly split in two.
struct FloorWriter<'a> {
    first: &'a mut [MaybeUninit<u8>],
    second: &'a mut [MaybeUninit<u8>],
    pos: usize,
}

impl FloorWriter<'_> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if end <= self.first.len() {
            self.first[self.pos..end].write_copy_of_slice(bytes);
        } else {
            for (k, &b) in bytes.iter().enumerate() {
                let i = self.pos + k;
                match self.first.get_mut(i) {
                    Some(slot) => slot.write(b),
                    None => self.second[i - self.first.len()].write(b),
                };
            }
        }
        self.pos = end;
    }
    #[inline(always)]
    fn tagged<const N: usize>(&mut self, tag: u8, v: [u8; N]) {
        self.put(&[tag]);
        self.put(&v);
    }
    #[inline(always)]
    fn str(&mut self, s: &str) {
        self.tagged(tachylog::wire::tag::STR, (s.len() as u32).to_le_bytes());
        self.put(s.as_bytes());
    }
}

/// The per-thread ring of the floor.
pub struct FloorLocal {
    ring: rtrb::Producer<u8>,
}

impl Floor {
    /// Writes one record of `args` bytes (after the 16-byte head) with `fill`.
    #[inline(always)]
    fn write(&self, l: &mut FloorLocal, args: usize, fill: impl FnOnce(&mut FloorWriter<'_>)) {
        let ts = ticks();
        let total = 16 + args;
        let mut chunk = match l.ring.write_chunk_uninit(total) {
            Ok(c) => c,
            Err(_) => match self.wait(l, total) {
                Some(c) => c,
                None => return,
            },
        };
        let (first, second) = chunk.as_mut_slices();
        let mut w = FloorWriter {
            first,
            second,
            pos: 0,
        };
        w.put(&(total as u32).to_le_bytes());
        w.put(&1u32.to_le_bytes());
        w.put(&ts.to_le_bytes());
        fill(&mut w);
        debug_assert_eq!(w.pos, total);
        // SAFETY: `fill` wrote exactly `args` bytes after the 16-byte head (the sizes below are
        // computed from the same values), so all `total` reserved bytes are initialised.
        unsafe { chunk.commit_all() };
    }

    #[cold]
    #[inline(never)]
    fn wait<'a>(
        &self,
        l: &'a mut FloorLocal,
        total: usize,
    ) -> Option<rtrb::chunks::WriteChunkUninit<'a, u8>> {
        if !self.block {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut round = 0u32;
        while l.ring.slots() < total {
            self.shared.wake();
            if round < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
            round += 1;
        }
        l.ring.write_chunk_uninit(total).ok()
    }
}

fn floor_consume(
    shared: Arc<FloorShared>,
    dir: PathBuf,
    map_len: usize,
    ready: std::sync::mpsc::Sender<()>,
) -> (u64, u64) {
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join("floor.bin"))
        .expect("floor file");
    preallocate(&file, map_len);
    // SAFETY: the file was just created by this thread and nothing else maps or truncates it
    // while the mapping lives.
    let mut map = unsafe { memmap2::MmapMut::map_mut(&file) }.expect("map floor file");
    prefault(&mut map);
    let _ = ready.send(());
    let mut rings: Vec<rtrb::Consumer<u8>> = Vec::new();
    let (mut off, mut total, mut records, mut idle) = (0usize, 0u64, 0u64, 0u32);
    loop {
        if shared.has_new.swap(false, Ordering::Acquire) {
            rings.append(&mut shared.new.lock().unwrap());
        }
        let mut moved = 0;
        for r in &mut rings {
            let n = r.slots();
            if n == 0 {
                continue;
            }
            let chunk = r.read_chunk(n).expect("slots() bytes are readable");
            let (a, b) = chunk.as_slices();
            // Count the records (each starts with its u32 length) to check nothing was lost:
            // one load per record where the length lies in one slice, as tachylog's drain reads.
            let mut pos = 0;
            while pos < n {
                let in_place = match a.get(pos..) {
                    Some(rest) if !rest.is_empty() => rest.first_chunk::<4>(),
                    _ => b.get(pos - a.len()..).and_then(|r| r.first_chunk::<4>()),
                };
                let len = match in_place {
                    Some(l) => *l,
                    None => std::array::from_fn(|k| {
                        let i = pos + k;
                        if i < a.len() { a[i] } else { b[i - a.len()] }
                    }),
                };
                pos += (u32::from_le_bytes(len) as usize).max(1);
                records += 1;
            }
            for part in [a, b] {
                let mut part = part;
                while !part.is_empty() {
                    if off == map.len() {
                        off = 0; // wrap: the latency runs write more than the map holds
                    }
                    let k = part.len().min(map.len() - off);
                    map[off..off + k].copy_from_slice(&part[..k]);
                    (off, part) = (off + k, &part[k..]);
                }
            }
            chunk.commit_all();
            moved += n;
        }
        total += moved as u64;
        if moved > 0 {
            idle = 0;
            continue;
        }
        rings.retain(|r| !r.is_abandoned() || !r.is_empty());
        if shared.stop.load(Ordering::Acquire) && rings.is_empty() {
            if shared.has_new.load(Ordering::Acquire) {
                continue;
            }
            return (records, total);
        }
        // The same idle policy as tachylog's drain: spin, yield, then nap up to 1 ms.
        idle += 1;
        match idle {
            0..64 => std::hint::spin_loop(),
            64..128 => std::thread::yield_now(),
            _ => std::thread::park_timeout(Duration::from_micros(
                (1u64 << (idle - 128).min(10)).min(1000),
            )),
        }
    }
}

/// Faults every page of `map` in for writing (`MADV_POPULATE_WRITE`, or one write per page on
/// kernels before 5.14), as tachylog prepares its segments.
pub fn prefault(map: &mut [u8]) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `map` is a whole mapping (page-aligned start), valid while borrowed; the call
        // faults its pages in without changing their contents.
        let rc = unsafe {
            libc::madvise(
                map.as_mut_ptr().cast(),
                map.len(),
                libc::MADV_POPULATE_WRITE,
            )
        };
        if rc == 0 {
            return;
        }
    }
    for off in (0..map.len()).step_by(4096) {
        // SAFETY: `off` is inside the borrowed slice; volatile so the store is kept.
        unsafe { std::ptr::write_volatile(map.as_mut_ptr().add(off), 0) };
    }
}

/// Reserves the file's blocks before mapping, as tachylog's segments do.
pub fn preallocate(file: &File, len: usize) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is valid for the lifetime of `file`; the call reads no memory.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len as libc::off_t) };
    if rc != 0 {
        file.set_len(len as u64).expect("size floor file");
    }
}

impl Subject for Floor {
    type Local = FloorLocal;
    const NAME: &'static str = "floor";

    fn start(dir: &Path, setup: Setup) -> Self {
        let shared = Arc::new(FloorShared {
            new: Mutex::new(Vec::new()),
            has_new: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            thread: Mutex::new(None),
        });
        let (s2, dir) = (shared.clone(), dir.to_path_buf());
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let consumer = std::thread::Builder::new()
            .name("floor-consumer".into())
            .spawn(move || {
                if let Some(core) = setup.drain_core {
                    core_affinity::set_for_current(core_affinity::CoreId { id: core });
                }
                floor_consume(s2, dir, setup.floor_map, ready_tx)
            })
            .expect("spawn floor consumer");
        // The clock starts only once the consumer's memory is faulted in.
        let _ = ready.recv();
        *shared.thread.lock().unwrap() = Some(consumer.thread().clone());
        Floor {
            shared,
            consumer: Some(consumer),
            block: setup.block,
            ring: setup.ring,
        }
    }

    fn local(&self) -> FloorLocal {
        let (ring, consumer) = rtrb::RingBuffer::new(self.ring);
        self.shared.new.lock().unwrap().push(consumer);
        self.shared.has_new.store(true, Ordering::Release);
        FloorLocal { ring }
    }

    #[inline(always)]
    fn a(&self, l: &mut FloorLocal, i: u32, j: u32, d: f64) {
        use tachylog::wire::tag;
        self.write(l, 5 + 5 + 9, |w| {
            w.tagged(tag::U32, i.to_le_bytes());
            w.tagged(tag::U32, j.to_le_bytes());
            w.tagged(tag::F64, d.to_le_bytes());
        });
    }

    #[inline(always)]
    fn b(&self, l: &mut FloorLocal, s: &str, i: u64) {
        use tachylog::wire::tag;
        self.write(l, 5 + s.len() + 9, |w| {
            w.str(s);
            w.tagged(tag::U64, i.to_le_bytes());
        });
    }

    #[inline(always)]
    fn c(&self, l: &mut FloorLocal, s: &str) {
        self.write(l, 5 + s.len(), |w| w.str(s));
    }

    #[inline(always)]
    fn d(&self, l: &mut FloorLocal, order: u64, price: f64, qty: u32, side: &str, ok: bool) {
        use tachylog::wire::tag;
        self.write(l, 9 + 9 + 5 + 5 + side.len() + 2, |w| {
            w.tagged(tag::U64, order.to_le_bytes());
            w.tagged(tag::F64, price.to_le_bytes());
            w.tagged(tag::U32, qty.to_le_bytes());
            w.str(side);
            w.tagged(tag::BOOL, [ok as u8]);
        });
    }

    fn finish(mut self) -> Finish {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake();
        let (written, bytes) = self.consumer.take().map_or((0, 0), |h| h.join().unwrap());
        Finish {
            done: Some(Instant::now()),
            written,
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            bytes,
            segments: 0,
        }
    }
}
