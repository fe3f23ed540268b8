//! Hostile segments fed to the reader: truncated, bit-flipped, zero-paged, random, and forged
//! with valid checksums around absurd lengths. The reader must not panic, must emit only
//! records that were written, and must not allocate more than a fixed cap beyond the file's
//! own size before a length is validated (checked with a counting allocator).
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use tachylog::reader::{Event, Reader};
use tachylog::wire::{FRAME_HEADER_LEN, HEADER_LEN, align_up, frame_crc};

/// Records the largest single allocation made by a thread while it has tracking on.
struct Counting;
static LARGEST: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// bookkeeping touches only an atomic and a const-initialised thread-local (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if TRACK.try_with(Cell::get).unwrap_or(false) {
            LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        }
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` came from `System` through this allocator with layout `l`.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if TRACK.try_with(Cell::get).unwrap_or(false) {
            LARGEST.fetch_max(new, Ordering::Relaxed);
        }
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocation allowed beyond the size of the file being read (interned strings, maps, the
/// error messages): far below any length an attacker could claim.
const CAP: usize = 256 << 10;

/// What the reader made of one file: rendered records, errors, and the largest allocation.
struct Outcome {
    records: Vec<String>,
    errors: usize,
    largest: usize,
}

fn read_bytes(bytes: &[u8]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x-0000000001.tlog");
    std::fs::write(&path, bytes).unwrap();
    LARGEST.store(0, Ordering::Relaxed);
    TRACK.with(|t| t.set(true));
    let mut records = Vec::new();
    let mut errors = 0;
    for item in Reader::open([&path]).unwrap() {
        match item {
            Ok(Event::Record(r)) => records.push(render(&r)),
            Ok(_) => {}
            Err(_) => errors += 1,
        }
    }
    TRACK.with(|t| t.set(false));
    Outcome {
        records,
        errors,
        largest: LARGEST.load(Ordering::Relaxed),
    }
}

fn render(r: &tachylog::reader::Record) -> String {
    // The thread's description lives in its own frame and may be damaged alone; the record
    // itself is its level, message and fields.
    format!("{} {} {:?}", r.level, r.message(), r.fields())
}

/// One real segment with records of every kind of value, and its rendered records.
fn base() -> &'static (Vec<u8>, HashSet<String>) {
    static BASE: OnceLock<(Vec<u8>, HashSet<String>)> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let g = tachylog::Builder::new()
            .dir(dir.path())
            .name("x")
            .init()
            .unwrap();
        std::thread::Builder::new()
            .name("worker".into())
            .spawn(|| {
                for i in 0..40u64 {
                    tachylog::info!(k = i, s = "text", "u {} i {} f {:.2} c {:?} b {}", i, -(i as i64), i as f64 / 3.0, 'é', i % 2 == 0);
                    tachylog::warn!(target: "t", "opt {:?} {:?} s {:>8}", Some(i), None::<u8>, "right");
                    tachylog::error!("pre {}", tachylog::display(format_args!("<{i}>")));
                }
            })
            .unwrap()
            .join()
            .unwrap();
        drop(g);
        let path = dir.path().join(tachylog::segment_file_name("x", 1));
        let bytes = std::fs::read(path).unwrap();
        let out = read_bytes(&bytes);
        assert_eq!((out.records.len(), out.errors), (120, 0));
        (bytes, out.records.into_iter().collect())
    })
}

/// Frame offsets of a well-formed segment.
fn frames(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut off = HEADER_LEN;
    while off + FRAME_HEADER_LEN <= bytes.len() {
        let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        if len == 0 && bytes[off..off + FRAME_HEADER_LEN].iter().all(|&b| b == 0) {
            break;
        }
        v.push((off, len));
        off = align_up(off + FRAME_HEADER_LEN + len);
    }
    v
}

/// Recomputes the checksum of the frame at `off` (so forged payloads reach the parser).
fn fix_crc(bytes: &mut [u8], off: usize) {
    let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
    let end = (off + FRAME_HEADER_LEN + len).min(bytes.len());
    let crc = frame_crc(&bytes[off..off + 8], &bytes[off + FRAME_HEADER_LEN..end]);
    bytes[off + 8..off + 12].copy_from_slice(&crc.to_le_bytes());
}

fn check_only_originals(out: &Outcome, len: usize) {
    let (_, originals) = base();
    for r in &out.records {
        assert!(originals.contains(r), "emitted a record never written: {r}");
    }
    assert!(
        out.largest <= len + CAP,
        "allocated {} bytes for a {len}-byte file",
        out.largest
    );
}

#[derive(Debug, Clone)]
enum Damage {
    Truncate(usize),
    FlipBits(Vec<usize>),
    ZeroPage(usize),
    Random(Vec<u8>),
    RandomAfterHeader(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<usize>().prop_map(Damage::Truncate),
        prop::collection::vec(any::<usize>(), 1..16).prop_map(Damage::FlipBits),
        any::<usize>().prop_map(Damage::ZeroPage),
        prop::collection::vec(any::<u8>(), 0..4096).prop_map(Damage::Random),
        prop::collection::vec(any::<u8>(), 0..4096).prop_map(Damage::RandomAfterHeader),
    ]
}

fn apply(d: &Damage) -> Vec<u8> {
    let (b, _) = base();
    let mut b = b.clone();
    match d {
        Damage::Truncate(n) => b.truncate(n % (b.len() + 1)),
        Damage::FlipBits(bits) => {
            for &bit in bits {
                let i = bit % (b.len() * 8);
                b[i / 8] ^= 1 << (i % 8);
            }
        }
        Damage::ZeroPage(p) => {
            let start = (p % b.len().div_ceil(4096)) * 4096;
            let end = (start + 4096).min(b.len());
            b[start..end].fill(0);
        }
        Damage::Random(r) => b = r.clone(),
        Damage::RandomAfterHeader(r) => {
            b.truncate(HEADER_LEN);
            b.extend_from_slice(r);
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn damaged_segments_yield_only_written_records(d in damage()) {
        let bytes = apply(&d);
        let out = read_bytes(&bytes);
        check_only_originals(&out, bytes.len());
    }

    /// Payload bytes changed and the checksum fixed: the parser itself meets garbage.
    #[test]
    fn forged_frames_with_valid_checksums_never_panic(
        which in any::<usize>(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let (b, _) = base();
        let mut b = b.clone();
        let fs = frames(&b);
        let (off, len) = fs[which % fs.len()];
        for (at, v) in edits {
            if len > 0 {
                b[off + FRAME_HEADER_LEN + at % len] = v;
            }
        }
        fix_crc(&mut b, off);
        let out = read_bytes(&b);
        prop_assert!(out.largest <= b.len() + CAP, "allocated {}", out.largest);
    }
}

/// Writes `value` at `at` in the payload of every frame of `kind`, fixing checksums.
fn forge(kind: u16, at: usize, value: &[u8]) -> Vec<u8> {
    let (b, _) = base();
    let mut b = b.clone();
    for (off, len) in frames(&b) {
        let k = u16::from_le_bytes(b[off + 4..off + 6].try_into().unwrap());
        if k == kind && at + value.len() <= len {
            let p = off + FRAME_HEADER_LEN + at;
            b[p..p + value.len()].copy_from_slice(value);
            fix_crc(&mut b, off);
        }
    }
    b
}

#[test]
fn absurd_claimed_lengths_allocate_nothing_big_and_are_reported() {
    let huge = u32::MAX.to_le_bytes();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // CALLSITE: argument and field counts (offset 12, 14), the target's length (16).
        ("callsite counts", forge(1, 12, &[0xff, 0xff, 0xff, 0xff])),
        ("callsite string length", forge(1, 16, &huge)),
        // THREAD: name length (12).
        ("thread name length", forge(2, 12, &huge)),
        // RECORDS: record count (4) and the first record's length (8).
        ("records count", forge(3, 4, &huge)),
        ("record length", forge(3, 8, &huge)),
        // Frame length itself, with the header checksum recomputed over what is there.
        ("frame length", {
            let (b, _) = base();
            let mut b = b.clone();
            let (off, _) = frames(&b)[0];
            b[off..off + 4].copy_from_slice(&(u32::MAX - 7).to_le_bytes());
            b
        }),
    ];
    for (what, bytes) in cases {
        let out = read_bytes(&bytes);
        println!(
            "{what}: {} records, {} errors, largest allocation {} bytes for a {}-byte file",
            out.records.len(),
            out.errors,
            out.largest,
            bytes.len()
        );
        assert!(out.errors > 0, "{what}: the damage is reported");
        check_only_originals(&out, bytes.len());
    }
}
