//! End-to-end behaviour of the engine: macros -> rings -> drain -> segments -> reader.
mod common;

use common::{decode, segments, serial};
use std::collections::HashMap;
use std::time::Duration;
use tachylog::{Builder, Level, Overflow};

fn field_u64(r: &tachylog::reader::Record, name: &str) -> u64 {
    let fields = r.fields().expect("fields decode");
    match fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v) {
        Some(tachylog_fmt::Value::U64(v)) => *v,
        Some(tachylog_fmt::Value::U32(v)) => *v as u64,
        other => panic!("field {name} is {other:?}"),
    }
}

/// Checks that each thread's `seq` field runs 0..n exactly once, in order.
fn assert_each_once_in_order(records: &[tachylog::reader::Record], threads: u64, per_thread: u64) {
    let mut next: HashMap<u64, u64> = HashMap::new();
    for r in records {
        let t = field_u64(r, "t");
        let s = field_u64(r, "seq");
        let want = next.entry(t).or_insert(0);
        assert_eq!(
            s, *want,
            "thread {t}: record {s} out of order or duplicated (expected {want})"
        );
        *want += 1;
    }
    assert_eq!(next.len() as u64, threads, "threads seen");
    for (t, n) in next {
        assert_eq!(n, per_thread, "thread {t} records");
    }
}

#[test]
fn many_threads_under_block_lose_nothing_and_keep_order() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new()
        .dir(dir.path())
        .ring_capacity(8 * 1024)
        .segment_size(8 << 20)
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    let (threads, per) = (64u64, 10_000u64);
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                for seq in 0..per {
                    tachylog::info!(t = t, seq = seq, "thread {} record {}", t, seq);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard);
    assert_eq!(stats.records_written, threads * per);
    assert_eq!(stats.records_dropped, 0);
    let d = decode([dir.path()]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.records.len() as u64, threads * per);
    assert_each_once_in_order(&d.records, threads, per);
    assert!(d.drops.is_empty());
}

#[test]
fn short_lived_threads_lose_nothing() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new()
        .dir(dir.path())
        .ring_capacity(4096)
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    let (threads, per) = (500u64, 100u64);
    // Waves of 50 concurrent threads, each exiting right after its last record.
    for wave in 0..threads / 50 {
        let hs: Vec<_> = (0..50)
            .map(|k| {
                let t = wave * 50 + k;
                std::thread::spawn(move || {
                    for seq in 0..per {
                        tachylog::info!(t = t, seq = seq, "short-lived {}", seq);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }
    tachylog::flush();
    // Let the drain notice the exits and free the rings.
    let mut live = u64::MAX;
    for _ in 0..200 {
        live = tachylog::stats().live_producers;
        if live == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(guard);
    assert_eq!(live, 0, "rings of exited threads are freed");
    let d = decode([dir.path()]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.records.len() as u64, threads * per);
    assert_each_once_in_order(&d.records, threads, per);
}

#[test]
fn rotation_loses_nothing_and_each_segment_decodes_alone() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new()
        .dir(dir.path())
        .name("rot")
        .segment_size(64 * 1024)
        .ring_capacity(16 * 1024)
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    let (threads, per) = (2u64, 5_000u64);
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::Builder::new()
                .name(format!("rot-{t}"))
                .spawn(move || {
                    for seq in 0..per {
                        tachylog::warn!(target: "rotation", t = t, seq = seq, "payload {:>20}", "x");
                    }
                })
                .unwrap()
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    drop(guard);
    let files = segments(dir.path());
    assert!(files.len() >= 5, "only {} segments", files.len());
    // Sequence numbers strictly increase and every sealed file was truncated below the reservation.
    let seqs: Vec<u64> = files
        .iter()
        .map(|f| tachylog::segment_seq("rot", f.file_name().unwrap().to_str().unwrap()).unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let mut total = 0;
    for f in &files {
        assert!(std::fs::metadata(f).unwrap().len() <= 64 * 1024);
        let alone = decode([f]);
        assert!(
            alone.errors.is_empty(),
            "{}: {:?}",
            f.display(),
            alone.errors
        );
        assert_eq!(alone.tails, vec![tachylog::reader::Tail::Sealed]);
        for r in &alone.records {
            // Metadata is repeated per segment: names and format resolve in every file.
            assert_eq!(r.message(), format!("payload {:>20}", "x"));
            assert_eq!(&*r.callsite().target, "rotation");
            assert!(r.thread.name.as_deref().unwrap().starts_with("rot-"));
        }
        total += alone.records.len() as u64;
    }
    assert_eq!(total, threads * per);
    let all = decode([dir.path()]);
    assert_each_once_in_order(&all.records, threads, per);
}

#[test]
fn overflow_drop_accounts_for_every_record() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    // A tiny ring and a sleepy drain: most of a burst cannot fit.
    let guard = Builder::new()
        .dir(dir.path())
        .ring_capacity(4096)
        .overflow(Overflow::Drop)
        .drain_idle(Duration::from_millis(20))
        .init()
        .unwrap();
    let (threads, per) = (4u64, 20_000u64);
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                for seq in 0..per {
                    tachylog::info!(
                        t = t,
                        seq = seq,
                        "burst {} {}",
                        seq,
                        "some text to take room"
                    );
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard);
    let logged = threads * per;
    assert!(
        stats.records_dropped > 0,
        "the test must actually overflow: {stats:?}"
    );
    assert_eq!(
        stats.records_written + stats.records_dropped,
        logged,
        "{stats:?}"
    );
    let d = decode([dir.path()]);
    assert_eq!(d.records.len() as u64, stats.records_written);
    assert_eq!(
        d.dropped(),
        stats.records_dropped,
        "decoded notices agree with stats()"
    );
    // Per thread: kept + dropped notices == logged, and kept records stay in order.
    let mut kept: HashMap<u64, (u64, i64)> = HashMap::new();
    let mut tid_thread = HashMap::new();
    for r in &d.records {
        let t = field_u64(r, "t");
        let s = field_u64(r, "seq") as i64;
        let e = kept.entry(t).or_insert((0, -1));
        assert!(s > e.1, "thread {t} out of order");
        *e = (e.0 + 1, s);
        tid_thread.insert(r.thread.producer, t);
    }
    let mut dropped_by: HashMap<u64, u64> = HashMap::new();
    for n in &d.drops {
        let p = n.thread.as_ref().expect("notice names its thread").producer;
        *dropped_by.entry(tid_thread[&p]).or_default() += n.count;
    }
    for t in 0..threads {
        let k = kept.get(&t).map_or(0, |e| e.0);
        assert_eq!(
            k + dropped_by.get(&t).copied().unwrap_or(0),
            per,
            "thread {t}"
        );
    }
}

#[test]
fn block_for_gives_up_and_counts() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new()
        .dir(dir.path())
        .ring_capacity(4096)
        .overflow(Overflow::BlockFor(Duration::from_micros(1)))
        .drain_idle(Duration::from_millis(20))
        .init()
        .unwrap();
    for i in 0..50_000u32 {
        tachylog::info!("bounded wait {}", i);
    }
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard);
    assert!(
        stats.records_dropped > 0,
        "the bounded wait must run out at least once: {stats:?}"
    );
    assert_eq!(stats.records_written + stats.records_dropped, 50_000);
    assert_eq!(decode([dir.path()]).dropped(), stats.records_dropped);
}

#[test]
fn oversized_record_is_dropped_and_counted_not_hung() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new()
        .dir(dir.path())
        .ring_capacity(4096)
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    let big = "x".repeat(10_000);
    tachylog::info!("big {}", big);
    tachylog::info!("after");
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard);
    assert_eq!((stats.records_written, stats.records_dropped), (1, 1));
    let d = decode([dir.path()]);
    assert_eq!(d.messages(), vec!["after".to_string()]);
    assert_eq!(d.dropped(), 1);
}

#[test]
fn timestamps_lie_between_wall_clock_readings() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new().dir(dir.path()).init().unwrap();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64
    };
    let mut windows = Vec::new();
    for i in 0..200u32 {
        let before = now();
        tachylog::info!("tick {}", i);
        let after = now();
        windows.push((before, after));
        if i % 50 == 0 {
            std::thread::sleep(Duration::from_millis(30));
        }
    }
    drop(guard);
    let d = decode([dir.path()]);
    assert_eq!(d.records.len(), 200);
    // Allow the tick-rate estimate a small error: 50 µs over the test's ~150 ms.
    let slack = 50_000;
    for (r, (before, after)) in d.records.iter().zip(windows) {
        assert!(
            r.ts_unix_ns >= before - slack && r.ts_unix_ns <= after + slack,
            "{} not in [{before}, {after}] ({})",
            r.ts_unix_ns,
            r.message()
        );
    }
}

#[test]
fn unwritable_directory_is_an_error_from_init() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let err = Builder::new().dir(file.join("logs")).init().unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, tachylog::Error::Io { .. }), "{err:?}");
    assert!(text.contains("a-file"), "the error names the path: {text}");
}

#[test]
fn init_twice_is_an_error_and_reinit_after_drop_works() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new().dir(dir.path()).init().unwrap();
    assert!(matches!(
        Builder::new().dir(dir.path()).init(),
        Err(tachylog::Error::AlreadyInitialized)
    ));
    tachylog::info!("first run");
    drop(g);
    tachylog::info!("while stopped: not recorded");
    let g = Builder::new().dir(dir.path()).init().unwrap();
    tachylog::info!("second run");
    drop(g);
    let d = decode([dir.path()]);
    assert_eq!(d.messages(), vec!["first run", "second run"]);
    assert_eq!(
        segments(dir.path()).len(),
        2,
        "the second run continues the sequence"
    );
}

#[test]
fn level_filter_skips_records_and_their_arguments() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new()
        .dir(dir.path())
        .level(Level::Warn)
        .init()
        .unwrap();
    let mut evaluated = 0;
    let mut arg = || {
        evaluated += 1;
        7
    };
    tachylog::info!("hidden {}", arg());
    tachylog::warn!("shown {}", arg());
    tachylog::set_level(Level::Trace);
    tachylog::trace!("now shown {}", arg());
    drop(g);
    assert_eq!(
        evaluated, 2,
        "disabled records do not evaluate their arguments"
    );
    assert_eq!(
        decode([dir.path()]).messages(),
        vec!["shown 7", "now shown 7"]
    );
}

#[test]
fn segments_are_private_to_the_owner() {
    use std::os::unix::fs::PermissionsExt;
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new().dir(dir.path()).init().unwrap();
    tachylog::info!("x");
    drop(g);
    for f in segments(dir.path()) {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !0o640, 0, "{} has mode {mode:o}", f.display());
    }
}

#[test]
fn sizes_beyond_the_format_limits_are_refused_at_init() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    // A segment the reader could not read (over 4 GiB - 1) is refused before any file exists.
    let e = Builder::new()
        .dir(dir.path())
        .segment_size(5 << 30)
        .init()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("segment_size 5368709120 is above the maximum of 4294967295"),
        "{e}"
    );
    // A ring over 1 GiB could hold a record whose length does not fit its u32 field.
    let e = Builder::new()
        .dir(dir.path())
        .ring_capacity((1 << 30) + 1)
        .init()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("ring_capacity 1073741825 is above the maximum of 1073741824"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // The largest segment a reader accepts is accepted by the Builder's checks: the next
    // setting that fails is the ring's relation to it, not the segment's size.
    let e = Builder::new()
        .dir(dir.path())
        .segment_size(u32::MAX as usize)
        .ring_capacity(usize::MAX / 2)
        .init()
        .unwrap_err();
    assert!(e.to_string().contains("ring_capacity"), "{e}");
}
