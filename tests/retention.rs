//! Time-based rotation and retention of sealed segments.
mod common;

use common::{decode, serial};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tachylog::Builder;

/// Every file in `dir` whose name starts with `name-`, sorted.
fn files(dir: &Path, name: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with(&format!("{name}-")))
        .collect();
    v.sort();
    v
}

fn seqs(dir: &Path, name: &str) -> Vec<u64> {
    files(dir, name)
        .iter()
        .filter_map(|f| tachylog::segment_seq(name, f.strip_suffix(".lz4").unwrap_or(f)))
        .collect()
}

/// Sleeps until just after the next multiple of `period` since the epoch, plus `margin`.
fn sleep_past_boundary(period: Duration, margin: Duration) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let p = period.as_nanos();
    let next = (now.as_nanos() / p + 1) * p;
    std::thread::sleep(Duration::from_nanos((next - now.as_nanos()) as u64) + margin);
}

#[test]
fn rotate_every_splits_at_wall_clock_boundaries_and_skips_empty_periods() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let period = Duration::from_millis(400);
    // Start just after a boundary so the first two records share a period.
    sleep_past_boundary(period, Duration::from_millis(20));
    let g = Builder::new()
        .dir(dir.path())
        .name("t")
        .rotate_every(period)
        .init()
        .unwrap();
    tachylog::info!("a");
    tachylog::info!("b");
    tachylog::flush();
    sleep_past_boundary(period, Duration::from_millis(50));
    tachylog::info!("c");
    tachylog::flush();
    // Two whole periods with nothing logged: no empty segments.
    std::thread::sleep(2 * period + Duration::from_millis(50));
    tachylog::info!("d");
    drop(g);
    let d = decode([dir.path()]);
    let by_segment: Vec<(u64, String)> =
        d.records.iter().map(|r| (r.segment, r.message())).collect();
    let s: Vec<u64> = by_segment.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        by_segment
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c", "d"]
    );
    assert_eq!(s[0], s[1], "same period, same segment: {by_segment:?}");
    assert!(s[0] < s[2] && s[2] < s[3], "{by_segment:?}");
    assert_eq!(
        seqs(dir.path(), "t").len(),
        3,
        "{:?}",
        files(dir.path(), "t")
    );
    // Each segment's records lie within one period.
    let p = period.as_nanos() as i64;
    for w in d.records.windows(2) {
        if w[0].segment == w[1].segment {
            assert_eq!(w[0].ts_unix_ns / p, w[1].ts_unix_ns / p);
        }
    }
}

fn fill(n: u32) {
    for i in 0..n {
        tachylog::info!(
            "record {i} with some padding to fill segments {}",
            "x".repeat(200)
        );
        if i % 256 == 0 {
            tachylog::flush();
        }
    }
}

#[test]
fn max_segments_keeps_the_newest_and_counts_deletions() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new()
        .dir(dir.path())
        .name("m")
        .segment_size(64 << 10)
        .ring_capacity(16 << 10)
        .overflow(tachylog::Overflow::Block)
        .max_segments(3)
        .init()
        .unwrap();
    fill(3000);
    tachylog::flush();
    let stats = tachylog::stats();
    drop(g);
    let left = seqs(dir.path(), "m");
    assert_eq!(left.len(), 3, "{left:?}");
    let last = stats.segments_created;
    assert_eq!(left, vec![last - 2, last - 1, last], "the newest survive");
    assert!(last > 5, "the test wrote enough to rotate: {stats:?}");
    assert_eq!(stats.segments_removed, last - 3, "{stats:?}");
    let d = decode([dir.path()]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert!(
        d.records
            .last()
            .unwrap()
            .message()
            .starts_with("record 2999 ")
    );
}

#[test]
fn max_total_bytes_bounds_the_directory() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let limit = 5 * (64 << 10);
    let g = Builder::new()
        .dir(dir.path())
        .name("b")
        .segment_size(64 << 10)
        .ring_capacity(16 << 10)
        .overflow(tachylog::Overflow::Block)
        .max_total_bytes(limit)
        .init()
        .unwrap();
    fill(3000);
    tachylog::flush();
    // While running: sealed files plus the live reservation.
    let total = |d: &Path| -> u64 {
        files(d, "b")
            .iter()
            .map(|f| std::fs::metadata(d.join(f)).unwrap().len())
            .sum()
    };
    assert!(total(dir.path()) <= limit, "{}", total(dir.path()));
    let stats = tachylog::stats();
    drop(g);
    assert!(stats.segments_removed > 0, "{stats:?}");
    assert!(seqs(dir.path(), "b").contains(&stats.segments_created));
}

/// Seals one real segment of `name` in `dir` and returns its path.
fn make_sealed(dir: &Path, name: &str) -> PathBuf {
    let g = Builder::new().dir(dir).name(name).init().unwrap();
    tachylog::info!("old");
    drop(g);
    let f = files(dir, name).pop().unwrap();
    dir.join(f)
}

fn set_age(path: &Path, age: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

#[test]
fn max_age_deletes_old_sealed_segments_in_both_forms_but_not_unsealed_ones() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hour = Duration::from_secs(3600);
    let old_raw = make_sealed(d, "a"); // seq 1
    set_age(&old_raw, 2 * hour);
    // A compressed old segment (seq 2) and an unsealed leftover of a crash (seq 3), both old.
    let lz4 = d.join("a-0000000002.tlog.lz4");
    std::fs::write(&lz4, b"compressed bytes").unwrap();
    set_age(&lz4, 2 * hour);
    let mut bytes = std::fs::read(&old_raw).unwrap();
    bytes[80..84].copy_from_slice(&0u32.to_le_bytes()); // clear the sealed flag
    let unsealed = d.join("a-0000000003.tlog");
    std::fs::write(&unsealed, &bytes).unwrap();
    set_age(&unsealed, 2 * hour);
    // A recent sealed one (seq 4) stays.
    let recent = make_sealed(d, "a");
    assert!(
        recent.ends_with("a-0000000004.tlog"),
        "{}",
        recent.display()
    );

    let g = Builder::new()
        .dir(d)
        .name("a")
        .max_age(hour)
        .init()
        .unwrap();
    let stats = tachylog::stats();
    drop(g);
    assert_eq!(stats.segments_removed, 2, "{stats:?}");
    assert_eq!(
        files(d, "a"),
        [
            "a-0000000003.tlog",
            "a-0000000004.tlog",
            "a-0000000005.tlog"
        ]
    );
}

#[test]
fn retention_counts_both_forms_of_one_segment_once() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s1 = make_sealed(d, "c"); // seq 1, raw
    std::fs::write(d.join("c-0000000001.tlog.lz4"), b"z").unwrap(); // and compressed
    std::fs::write(d.join("c-0000000002.tlog.lz4"), b"z").unwrap(); // seq 2, compressed only
    let g = Builder::new()
        .dir(d)
        .name("c")
        .max_segments(2)
        .init()
        .unwrap();
    let stats = tachylog::stats();
    drop(g);
    // Live segment is seq 3 (after the .lz4 of seq 2); keeping 2 deletes seq 1 in both forms.
    assert_eq!(stats.segments_removed, 1, "{stats:?}");
    assert!(!s1.exists());
    assert_eq!(
        files(d, "c"),
        ["c-0000000002.tlog.lz4", "c-0000000003.tlog"]
    );
}

/// With compression, retention races the compressor thread (which renames a raw segment to
/// `.tlog.lz4`, then removes the raw file): every segment deleted is counted once, and the limit
/// holds exactly, over many rotations.
#[test]
fn max_segments_with_compression_counts_exactly_and_keeps_the_limit() {
    let _s = serial();
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let g = Builder::new()
            .dir(dir.path())
            .name("z")
            .segment_size(64 << 10)
            .ring_capacity(16 << 10)
            .overflow(tachylog::Overflow::Block)
            .compress(true)
            .max_segments(5)
            .init()
            .unwrap();
        fill(6000);
        tachylog::flush();
        let stats = tachylog::stats();
        drop(g);
        let names = files(dir.path(), "z");
        let left = seqs(dir.path(), "z");
        assert!(stats.segments_created > 20, "round {round}: {stats:?}");
        assert_eq!(left.len(), 5, "round {round}: {names:?}");
        assert_eq!(
            names.len(),
            5,
            "round {round}: one file per segment: {names:?}"
        );
        assert_eq!(
            stats.segments_removed + 5,
            stats.segments_created,
            "round {round}: {stats:?} {names:?}"
        );
        let last = stats.segments_created;
        assert_eq!(left, (last - 4..=last).collect::<Vec<_>>(), "round {round}");
    }
}

/// The child half of [`files_and_directory_modes_whatever_the_umask`]: under the umask in
/// `TACHYLOG_TEST_UMASK`, writes compressed and raw segments into a directory it creates, then
/// checks every mode. Does nothing when run on its own.
#[test]
fn modes_under_umask_child() {
    let Ok(umask) = std::env::var("TACHYLOG_TEST_UMASK") else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let umask = u32::from_str_radix(&umask, 8).unwrap();
    // SAFETY: umask only sets the process's file mode creation mask; this child process runs
    // this one test, before any thread of its own creates files.
    unsafe { libc::umask(umask as libc::mode_t) };
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("new/logs");
    let g = Builder::new()
        .dir(&dir)
        .name("u")
        .segment_size(64 << 10)
        .ring_capacity(16 << 10)
        .overflow(tachylog::Overflow::Block)
        .compress(true)
        .init()
        .unwrap();
    fill(1000);
    drop(g);
    // A second run leaves a live-then-sealed raw segment next to the compressed ones.
    let g = Builder::new().dir(&dir).name("u").init().unwrap();
    tachylog::info!("raw");
    tachylog::flush();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let names = files(&dir, "u");
    assert!(names.iter().any(|f| f.ends_with(".tlog.lz4")), "{names:?}");
    assert!(names.iter().any(|f| f.ends_with(".tlog")), "{names:?}");
    for f in &names {
        assert_eq!(
            mode(&dir.join(f)),
            0o640 & !umask,
            "{f} under umask {umask:03o}"
        );
    }
    for d in [&dir, &base.path().join("new")] {
        assert_eq!(
            mode(d),
            0o750 & !umask,
            "{} under umask {umask:03o}",
            d.display()
        );
    }
    drop(g);
}

/// Segment files are 0640 and the directory the engine creates 0750, or stricter when the
/// umask says so, never looser, whatever the umask. The umask is process-wide, so each runs in
/// a child process.
#[test]
fn files_and_directory_modes_whatever_the_umask() {
    let exe = std::env::current_exe().unwrap();
    for umask in ["000", "002", "022", "027", "077"] {
        let out = std::process::Command::new(&exe)
            .args(["modes_under_umask_child", "--exact", "--nocapture"])
            .env("TACHYLOG_TEST_UMASK", umask)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "umask {umask}: {}\n{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn invalid_limits_are_errors() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let e = Builder::new().dir(dir.path()).max_segments(0).init();
    assert!(e.unwrap_err().to_string().contains("max_segments"));
    let e = Builder::new()
        .dir(dir.path())
        .rotate_every(Duration::ZERO)
        .init();
    assert!(e.unwrap_err().to_string().contains("rotate_every"));
}
