//! Leftovers: a segment left unsealed by a writer that is gone is recovered at the next start
//! in its directory (and by `tachylog::recover`): cut to its last valid frame, sealed, marked
//! recovered, and counted by retention. A segment whose writer is alive (it holds the file's
//! advisory lock) is never touched.
//!
//! An unsealed segment whose writer is gone is made by copying a live segment: the copy has the
//! live one's bytes but nobody holds its lock (as after a crash, when the kernel drops it).
use std::path::{Path, PathBuf};
use tachylog::reader::{Event, Reader, Tail};
use tachylog::wire::SegmentHeader;

/// One process-wide logger at a time: the tests of this file run in parallel threads.
static ONE_LOGGER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn live_segment(dir: &Path) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tlog"))
        .collect();
    v.sort();
    v.pop().expect("a segment")
}

fn header(path: &Path) -> SegmentHeader {
    SegmentHeader::parse(&std::fs::read(path).unwrap())
        .unwrap()
        .header
}

/// Logs 100 records with a logger in `live`, copies its unsealed segment into `dead`, and
/// checks on the way that recovery leaves the live one alone.
fn leave_a_dead_segment(live: &Path, dead: &Path) -> PathBuf {
    let _one = ONE_LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    let guard = tachylog::Builder::new()
        .dir(live)
        .name("r")
        .segment_size(1 << 20)
        .init()
        .unwrap();
    for seq in 0..100u64 {
        tachylog::info!(seq = seq, "record {}", seq);
    }
    tachylog::flush();
    let seg = live_segment(live);
    let recovered = tachylog::recover::recover_dir(live, None).unwrap();
    assert!(
        recovered.is_empty(),
        "a live writer's segment is left alone: {recovered:?}"
    );
    assert!(!header(&seg).is_sealed());
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), 1 << 20);
    let copy = dead.join(seg.file_name().unwrap());
    std::fs::copy(&seg, &copy).unwrap();
    drop(guard);
    copy
}

#[test]
fn a_dead_writers_segment_is_recovered_at_the_next_start_and_counted_by_retention() {
    let (live, dead) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let copy = leave_a_dead_segment(live.path(), dead.path());
    // The next writer of that name in that directory, keeping one segment: the live one.
    let _one = ONE_LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    let guard = tachylog::Builder::new()
        .dir(dead.path())
        .name("r")
        .segment_size(1 << 20)
        .max_segments(1)
        .init()
        .unwrap();
    let stats = tachylog::stats();
    drop(guard);
    assert_eq!(stats.segments_recovered, 1, "{stats:?}");
    assert_eq!(
        stats.segments_removed, 1,
        "retention counts a recovered segment: {stats:?}"
    );
    assert!(!copy.exists(), "retention removed it");
}

#[test]
fn recovery_cuts_seals_and_marks_and_every_record_decodes() {
    let (live, dead) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let copy = leave_a_dead_segment(live.path(), dead.path());
    let recovered = tachylog::recover::recover_dir(dead.path(), Some("r")).unwrap();
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert_eq!(recovered[0].records, 100);
    let h = header(&copy);
    assert!(h.is_sealed() && h.is_recovered(), "flags {:#x}", h.flags);
    let len = std::fs::metadata(&copy).unwrap().len();
    assert_eq!(len, recovered[0].bytes_after);
    assert!(len < 1 << 20, "cut to its used length: {len}");
    assert_eq!(h.committed, len, "committed up to the END frame");
    let mut seqs = Vec::new();
    let mut tails = Vec::new();
    for item in Reader::open([dead.path()]).unwrap() {
        match item.unwrap() {
            Event::Record(r) => seqs.push(r.message()),
            Event::SegmentEnd { tail, .. } => tails.push(tail),
            _ => {}
        }
    }
    assert_eq!(seqs.len(), 100);
    assert_eq!(seqs[99], "record 99");
    assert_eq!(tails, [Tail::Sealed]);
    // Recovering again finds nothing to do.
    assert!(
        tachylog::recover::recover_dir(dead.path(), None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn recovery_stops_at_a_torn_frame() {
    let (live, dead) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let copy = leave_a_dead_segment(live.path(), dead.path());
    // Tear the last frame: flip a byte of the last non-zero word.
    let mut bytes = std::fs::read(&copy).unwrap();
    let last = bytes.iter().rposition(|&b| b != 0).unwrap();
    bytes[last] ^= 0xff;
    std::fs::write(&copy, &bytes).unwrap();
    let recovered = tachylog::recover::recover_dir(dead.path(), None).unwrap();
    assert_eq!(recovered.len(), 1);
    let mut errors = 0;
    let mut records = 0;
    for item in Reader::open([dead.path()]).unwrap() {
        match item {
            Ok(Event::Record(_)) => records += 1,
            Ok(_) => {}
            Err(_) => errors += 1,
        }
    }
    assert_eq!(
        errors, 0,
        "the torn frame was cut off, not left to be reported"
    );
    assert_eq!(records as u64, recovered[0].records);
    assert!(
        records < 100,
        "the records of the torn frame are gone: {records}"
    );
}
