//! Faults the engine must survive: a panicking drain, a full disk, a vanished or unwritable
//! directory, a stuck drain under `flush_timeout`, oversized records, hostile file names.
//! Each test prints its figures (`cargo test --test faults -- --nocapture`).
mod common;

use common::{decode, segments, serial};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tachylog::reader::Tail;
use tachylog::{Builder, Overflow, fault};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn drain_panic_releases_blocked_producers_and_counts_later_records() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new()
        .dir(dir.path())
        .ring_capacity(4096)
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    for i in 0..100u32 {
        tachylog::info!("before {}", i);
    }
    tachylog::flush();
    // A stalled drain lets the producer fill its ring and block; the panic comes after it.
    fault::stall_drain(Duration::from_millis(300));
    std::thread::sleep(Duration::from_millis(20));
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    let producer = std::thread::spawn(move || {
        for i in 0..10_000u32 {
            tachylog::info!("blocked {} {}", i, "padding to fill the ring faster");
        }
        d2.store(true, Ordering::SeqCst);
        Instant::now()
    });
    std::thread::sleep(Duration::from_millis(50));
    // The drain is still stalled, so the producer must be waiting for room now. (Checking
    // after the panic would race with the release this test measures.)
    let blocked_at_panic = !done.load(Ordering::SeqCst);
    fault::panic_drain();
    let panicked_at = loop {
        if tachylog::stats().drain_panics > 0 {
            break Instant::now();
        }
        std::thread::sleep(Duration::from_micros(50));
    };
    let released_at = producer.join().unwrap();
    let release = released_at.saturating_duration_since(panicked_at);
    // The application goes on logging; these records are counted as dropped.
    for i in 0..500u32 {
        tachylog::info!("after {}", i);
    }
    let flush = tachylog::flush_timeout(Duration::from_secs(1));
    // Let the degraded drain count and report what is left in the rings.
    std::thread::sleep(Duration::from_millis(50));
    let stats = tachylog::stats();
    let t = Instant::now();
    drop(guard);
    let shutdown = t.elapsed();
    let d = decode([dir.path()]);
    let logged = 100 + 10_000 + 500;
    println!(
        "drain panic: producer blocked at panic={blocked_at_panic}, released {:.3} ms after it; \
         written={} dropped={} notices={} shutdown {:.1} ms; tails {:?}",
        release.as_secs_f64() * 1e3,
        stats.records_written,
        stats.records_dropped,
        d.dropped(),
        shutdown.as_secs_f64() * 1e3,
        d.tails
    );
    assert!(blocked_at_panic, "the producer must have been blocked");
    assert!(
        release < Duration::from_millis(100),
        "released after {release:?}"
    );
    assert!(
        matches!(flush, Err(tachylog::Error::DrainStopped)),
        "{flush:?}"
    );
    assert_eq!(stats.drain_panics, 1);
    assert_eq!(stats.records_written + stats.records_dropped, logged);
    assert!(stats.records_dropped >= 500, "{stats:?}");
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.records.len() as u64, stats.records_written);
    assert_eq!(
        d.dropped(),
        stats.records_dropped,
        "every drop is in a notice"
    );
    assert_eq!(
        d.messages()[..100],
        (0..100).map(|i| format!("before {i}")).collect::<Vec<_>>()
    );
    assert!(d.tails.contains(&Tail::ZeroFilled), "{:?}", d.tails);
    assert!(shutdown < Duration::from_secs(1));
    // The logger can be started again in the same process.
    let guard = Builder::new().dir(dir.path()).init().unwrap();
    tachylog::info!("restarted");
    drop(guard);
    assert_eq!(decode([dir.path()]).messages().last().unwrap(), "restarted");
}

#[test]
fn injected_disk_full_at_rotation_counts_drops_and_recovers() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new()
        .dir(dir.path())
        .segment_size(16 << 10)
        .ring_capacity(4096)
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    let before = fault::segment_space_failures();
    fault::fail_segment_space(true);
    let mut logged = 0u64;
    for i in 0..3_000u32 {
        tachylog::info!("while full {}", i);
        logged += 1;
    }
    tachylog::flush();
    let full = tachylog::stats();
    fault::fail_segment_space(false);
    // The drain retries at most every 100 ms; log until a record makes it into a new segment.
    let t = Instant::now();
    let mut i = 0u32;
    while tachylog::stats().segments_created == full.segments_created {
        tachylog::info!("space back {}", i);
        tachylog::flush();
        logged += 1;
        i += 1;
        assert!(t.elapsed() < Duration::from_secs(5), "no recovery");
    }
    let recovery = t.elapsed();
    for _ in 0..10 {
        tachylog::info!("space back {}", i);
        logged += 1;
        i += 1;
    }
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard);
    let failures = fault::segment_space_failures() - before;
    let d = decode([dir.path()]);
    println!(
        "injected ENOSPC: logged={logged} written={} dropped={} notices={} failed creations={failures} \
         recovery {:.1} ms sigbus=0",
        stats.records_written,
        stats.records_dropped,
        d.dropped(),
        recovery.as_secs_f64() * 1e3
    );
    assert!(failures > 0 && full.records_dropped > 0, "{full:?}");
    assert_eq!(stats.records_written + stats.records_dropped, logged);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.records.len() as u64, stats.records_written);
    assert_eq!(d.dropped(), stats.records_dropped);
    assert_eq!(
        d.messages().last().unwrap(),
        &format!("space back {}", i - 1)
    );
}

/// Unmounts on drop, even when the test fails.
struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn real_disk_full_on_tmpfs_counts_drops_and_recovers() {
    let _s = serial();
    if !is_root() {
        println!(
            "SKIPPED real disk full: mounting a tmpfs needs root (the injected test still runs)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tachylog-test"])
        .arg(&mnt)
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            println!(
                "SKIPPED real disk full: mount refused: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("SKIPPED real disk full: cannot run mount: {e}");
            return;
        }
    }
    let _mount = Mount(mnt.clone());
    let logs = mnt.join("logs");
    let guard = Builder::new()
        .dir(&logs)
        .segment_size(64 << 10)
        .ring_capacity(8 << 10)
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    let mut logged = 0u64;
    let mut i = 0u64;
    // 256 KiB hold four 64 KiB segments; ~40-byte records fill them after ~6,000.
    while tachylog::stats().records_dropped == 0 {
        tachylog::info!(seq = i, "filling {}", i);
        logged += 1;
        i += 1;
        if i.is_multiple_of(256) {
            tachylog::flush();
        }
        assert!(i < 1_000_000, "the disk never filled");
    }
    for _ in 0..1_000 {
        tachylog::info!(seq = i, "filling {}", i);
        logged += 1;
        i += 1;
    }
    tachylog::flush();
    let full = tachylog::stats();
    // Free space: remove the sealed segments (every file but the newest, which may be live).
    let files = segments(&logs);
    for f in &files[..files.len().saturating_sub(1)] {
        std::fs::remove_file(f).unwrap();
    }
    let t = Instant::now();
    while tachylog::stats().segments_created == full.segments_created {
        tachylog::info!(seq = i, "space back {}", i);
        logged += 1;
        i += 1;
        tachylog::flush();
        assert!(t.elapsed() < Duration::from_secs(5), "no recovery");
    }
    let recovery = t.elapsed();
    let first_after = i;
    for _ in 0..100 {
        tachylog::info!(seq = i, "space back {}", i);
        logged += 1;
        i += 1;
    }
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard);
    let d = decode([&logs]);
    println!(
        "tmpfs 256 KiB full: logged={logged} written={} dropped={} (when full: {}) notices={} \
         recovery {:.1} ms, segments created={} sigbus=0 (a SIGBUS would have killed this test)",
        stats.records_written,
        stats.records_dropped,
        full.records_dropped,
        d.dropped(),
        recovery.as_secs_f64() * 1e3,
        stats.segments_created
    );
    assert_eq!(stats.records_written + stats.records_dropped, logged);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    // Every drop is reported in a notice that survives in the segments written after recovery.
    assert_eq!(d.dropped(), stats.records_dropped);
    let msgs = d.messages();
    for k in first_after..i {
        assert!(
            msgs.contains(&format!("space back {k}")),
            "record {k} after recovery"
        );
    }
}

#[test]
fn vanished_directory_is_recreated_at_the_next_segment() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let guard = Builder::new()
        .dir(&logs)
        .segment_size(16 << 10)
        .ring_capacity(4096)
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    tachylog::info!("into the first directory");
    tachylog::flush();
    std::fs::remove_dir_all(&logs).unwrap();
    // Enough to rotate a few times: the drain must make the directory again.
    for i in 0..2_000u32 {
        tachylog::info!("after removal {}", i);
    }
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard);
    let d = decode([&logs]);
    println!(
        "vanished directory: recreated with {} segments, {} records decoded, dropped={}",
        segments(&logs).len(),
        d.records.len(),
        stats.records_dropped
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(stats.records_dropped, 0);
    assert_eq!(d.messages().last().unwrap(), "after removal 1999");
}

#[test]
fn flush_timeout_gives_up_on_a_stuck_drain_and_succeeds_later() {
    let _s = serial();
    assert!(matches!(
        tachylog::flush_timeout(Duration::from_millis(1)),
        Err(tachylog::Error::NotInitialized)
    ));
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new().dir(dir.path()).init().unwrap();
    fault::stall_drain(Duration::from_millis(400));
    std::thread::sleep(Duration::from_millis(20));
    tachylog::info!("during the stall");
    let t = Instant::now();
    let r = tachylog::flush_timeout(Duration::from_millis(30));
    let waited = t.elapsed();
    let r2 = tachylog::flush_timeout(Duration::from_secs(5));
    let total = t.elapsed();
    drop(guard);
    println!(
        "flush_timeout(30 ms) on a stalled drain returned {:?} after {:.1} ms; a later \
         flush_timeout(5 s) returned {r2:?} after {:.1} ms",
        r,
        waited.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3
    );
    assert!(matches!(r, Err(tachylog::Error::Timeout(_))), "{r:?}");
    assert!(waited >= Duration::from_millis(30) && waited < Duration::from_millis(200));
    assert!(r2.is_ok());
    assert_eq!(decode([dir.path()]).messages(), vec!["during the stall"]);
}

#[test]
fn ten_kilobyte_string_round_trips_with_a_big_enough_ring() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new()
        .dir(dir.path())
        .ring_capacity(64 << 10)
        .init()
        .unwrap();
    // 10 KiB of mixed one- to three-byte UTF-8.
    let mut big = String::new();
    let mut i = 0u32;
    while big.len() < 10_240 {
        big.push(char::from_u32(0x20 + (i * 7919) % 0x1000).unwrap_or('?'));
        i += 1;
    }
    tachylog::info!(body = big.as_str(), "big {}", big);
    drop(guard);
    let d = decode([dir.path()]);
    println!("10 KB argument: {} bytes of UTF-8 round-tripped", big.len());
    assert_eq!(d.messages(), vec![format!("big {big}")]);
    let fields = d.records[0].fields().unwrap();
    assert_eq!(fields[0].1, tachylog_fmt::Value::Str(&big));
}

#[test]
fn record_larger_than_the_ring_is_counted_under_every_policy() {
    let _s = serial();
    let big = "y".repeat(10_000);
    for overflow in [
        Overflow::Drop,
        Overflow::Block,
        Overflow::BlockFor(Duration::from_secs(10)),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let guard = Builder::new()
            .dir(dir.path())
            .ring_capacity(4096)
            .overflow(overflow)
            .init()
            .unwrap();
        let t = Instant::now();
        tachylog::info!("too big {}", big);
        let took = t.elapsed();
        tachylog::info!("next");
        tachylog::flush();
        let stats = tachylog::stats();
        drop(guard);
        let d = decode([dir.path()]);
        println!(
            "oversized under {overflow:?}: returned after {:.3} ms, dropped={}",
            took.as_secs_f64() * 1e3,
            stats.records_dropped
        );
        assert!(
            took < Duration::from_millis(100),
            "{overflow:?} waited {took:?}"
        );
        assert_eq!(stats.records_dropped, 1);
        assert_eq!(d.dropped(), 1);
        assert_eq!(d.messages(), vec!["next"]);
    }
}

#[test]
fn segments_are_0640_or_stricter_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let _s = serial();
    for mask in [0o000, 0o022, 0o077] {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: umask has no preconditions; it is restored below, after every segment of
        // this run has been created.
        let old = unsafe { libc::umask(mask) };
        let guard = Builder::new()
            .dir(dir.path())
            .segment_size(16 << 10)
            .ring_capacity(4096)
            .overflow(Overflow::Block)
            .init();
        if let Ok(guard) = guard {
            for i in 0..3_000u32 {
                tachylog::info!("rotating {}", i);
            }
            drop(guard);
        }
        // SAFETY: as above.
        unsafe { libc::umask(old) };
        let files = segments(dir.path());
        assert!(files.len() > 1, "rotation happened");
        for f in files {
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            println!("umask {mask:03o}: {} mode {mode:03o}", f.display());
            assert_eq!(mode & !0o640, 0, "{} has mode {mode:o}", f.display());
            assert_eq!(mode, 0o640 & !mask);
        }
    }
}

#[test]
fn symlinks_planted_at_the_next_segment_names_are_refused() {
    use std::os::unix::fs::symlink;
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let victim = dir.path().join("victim");
    let dangling = dir.path().join("dangling-target");
    std::fs::write(&victim, b"precious").unwrap();
    let guard = Builder::new()
        .dir(&logs)
        .name("app")
        .segment_size(16 << 10)
        .ring_capacity(4096)
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    // Segment 1 is open; plant links where segments 2 and 3 would go.
    let s2 = logs.join(tachylog::segment_file_name("app", 2));
    let s3 = logs.join(tachylog::segment_file_name("app", 3));
    symlink(&victim, &s2).unwrap();
    symlink(&dangling, &s3).unwrap();
    for i in 0..2_000u32 {
        tachylog::info!(seq = i, "record {}", i);
    }
    drop(guard);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!dangling.exists(), "a dangling link was followed");
    for l in [&s2, &s3] {
        assert!(
            std::fs::symlink_metadata(l)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
    let real: Vec<PathBuf> = segments(&logs)
        .into_iter()
        .filter(|p| {
            !std::fs::symlink_metadata(p)
                .unwrap()
                .file_type()
                .is_symlink()
        })
        .collect();
    let seqs: Vec<u64> = real
        .iter()
        .map(|p| tachylog::segment_seq("app", p.file_name().unwrap().to_str().unwrap()).unwrap())
        .collect();
    println!("symlinks at segments 2 and 3 skipped; segments written: {seqs:?}");
    assert_eq!(seqs[..2], [1, 4]);
    let d = decode(&real);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let want: Vec<String> = (0..2_000).map(|i| format!("record {i}")).collect();
    assert_eq!(d.messages(), want);
}

/// The unprivileged half of the next test: runs in a child process as user `nobody`.
#[test]
fn unwritable_directory_child() {
    let Some(dir) = std::env::var_os("TACHYLOG_UNWRITABLE_DIR") else {
        return;
    };
    let dir = Path::new(&dir);
    let err = Builder::new().dir(dir).init().unwrap_err();
    println!("child error: {err}");
    assert!(matches!(err, tachylog::Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains(&*dir.to_string_lossy()), "{err}");
    // A subdirectory that cannot be created is refused too.
    let err = Builder::new().dir(dir.join("sub")).init().unwrap_err();
    assert!(err.to_string().contains("sub"), "{err}");
}

#[test]
fn unwritable_directory_is_an_error_naming_it_for_an_unprivileged_user() {
    use std::os::unix::fs::PermissionsExt;
    let _s = serial();
    if !is_root() {
        println!("SKIPPED unwritable directory: needs root to switch to an unprivileged user");
        return;
    }
    if std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("SKIPPED unwritable directory: setpriv is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let logs = dir.path().join("root-owned");
    std::fs::create_dir(&logs).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "unwritable_directory_child", "--nocapture"])
        .env("TACHYLOG_UNWRITABLE_DIR", &logs)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!(
        "unprivileged child: {}",
        text.lines()
            .find(|l| l.starts_with("child error"))
            .unwrap_or("?")
    );
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "the child ran the check: {text}");
    assert!(std::fs::read_dir(&logs).unwrap().next().is_none());
}
