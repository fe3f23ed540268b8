//! `tachylog decode --follow`: records as they are committed, across rotation; a clean exit on
//! Ctrl-C and on a closed pipe.
mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn follow(dir: &std::path::Path) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("tachylog"))
        .args(["decode", "--follow", "--interval", "10"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(t.elapsed() < within, "did not exit within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn logger(dir: &std::path::Path) -> tachylog::Guard {
    tachylog::Builder::new()
        .dir(dir)
        .name("live")
        .segment_size(16 << 10)
        .ring_capacity(4 << 10)
        .overflow(tachylog::Overflow::Block)
        .init()
        .unwrap()
}

#[test]
fn follow_streams_records_across_rotation_and_stops_on_ctrl_c() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path());
    tachylog::info!("before {}", 0u32);
    tachylog::flush();
    let mut child = follow(dir.path());
    let rx = lines_of(&mut child);
    let first = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(first.contains("\"msg\":\"before 0\""), "{first}");
    // Enough records to fill several 16 KiB segments, in bursts the follower sees one by one.
    let n = 3000u32;
    for i in 0..n {
        tachylog::info!(target: "live", "record {} of the run", i);
        if i % 500 == 499 {
            tachylog::flush();
        }
    }
    tachylog::flush();
    let segments = tachylog::reader::segment_files(dir.path()).unwrap().len();
    assert!(segments >= 3, "{segments} segments: no rotation to follow");
    for i in 0..n {
        let l = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("record {i}: {e}"));
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["msg"], format!("record {i} of the run"));
    }
    // Ctrl-C: a clean exit with everything written.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let s = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(s.code(), Some(0), "{s:?}");
    assert!(
        rx.recv_timeout(Duration::from_secs(1)).is_err(),
        "nothing after the records"
    );
    drop(g);
}

#[test]
fn follow_exits_cleanly_when_its_reader_goes_away() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path());
    tachylog::info!("one {}", 1u32);
    tachylog::flush();
    let mut child = follow(dir.path());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("one 1"), "{first}");
    drop(out); // the pipe's reader is gone (`| head -1`)
    for i in 0..100u32 {
        tachylog::info!("more {}", i);
        tachylog::flush();
        std::thread::sleep(Duration::from_millis(5));
    }
    let s = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(s.code(), Some(0), "{s:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.is_empty(), "{err}");
    drop(g);
}

fn long() -> bool {
    std::env::var_os("TACHYLOG_LONG").is_some_and(|v| v == "1")
}

/// Sends SIGINT (Ctrl-C) to `child`.
fn ctrl_c(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Everything `child` writes to stderr, collected on a thread until it closes.
fn stderr_of(child: &mut Child) -> std::thread::JoinHandle<String> {
    let mut err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    })
}

/// Forged segments: built frame by frame with the format's own types, as a writer makes them.
mod forged {
    use super::common::forge::{descriptions, end, frame};
    use tachylog::wire::{
        COMMITTED_OFFSET, FLAG_SEALED, FLAGS_OFFSET, Kind, NewHeader, RECORD_HEAD_LEN, RecordHead,
        RecordsHead, SegmentHeader, tag,
    };

    /// Segment `seq` holding one record, `segment {seq}`, of thread `forge`; sealed (END
    /// frame, sealed flag, `committed` = its length) unless `committed` says otherwise.
    pub fn segment(seq: u64, committed: Option<u64>) -> Vec<u8> {
        let mut seg = SegmentHeader::encode(&NewHeader {
            seq,
            created_unix_ns: 1_800_000_000_000_000_000,
            anchor_ticks: 0,
            anchor_unix_ns: 1_800_000_000_000_000_000,
            ticks_per_sec: 1e9,
            segment_size: 0,
            pid: 4242,
        })
        .to_vec();
        descriptions(&mut seg, "segment {}");
        let values = [&[tag::U64][..], &seq.to_le_bytes()].concat();
        let record = RecordHead {
            len: (RECORD_HEAD_LEN + values.len()) as u32,
            callsite: 1,
            ticks: seq * 1_000_000,
        };
        let records = RecordsHead {
            producer: 1,
            count: 1,
        };
        frame(
            &mut seg,
            Kind::Records,
            &[
                bytemuck::bytes_of(&records),
                bytemuck::bytes_of(&record),
                &values,
            ]
            .concat(),
        );
        let sealed = committed.is_none();
        if sealed {
            end(&mut seg, seq + 1, 1);
        }
        let committed = committed.unwrap_or(seg.len() as u64);
        seg[COMMITTED_OFFSET..COMMITTED_OFFSET + 8].copy_from_slice(&committed.to_le_bytes());
        if sealed {
            seg[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&FLAG_SEALED.to_le_bytes());
        }
        seg
    }
}

/// Waits for `child` and returns its exit status and peak resident set size in bytes, as
/// `wait4` reports it for that child alone.
fn wait_rss(child: Child) -> (std::process::ExitStatus, u64) {
    use std::os::unix::process::ExitStatusExt;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: all-zero bytes are a valid `rusage` (integers and `timeval`s).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not reaped yet (`Child` waits only when asked to); `status`
    // and `usage` are valid for writes for the duration of the call.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    // ru_maxrss is in KiB on Linux.
    (
        std::process::ExitStatus::from_raw(status),
        usage.ru_maxrss as u64 * 1024,
    )
}

/// Follows `dir` until a line containing `until` comes, then stops the follower with Ctrl-C.
/// Returns its lines, its stderr, its exit code, and its peak RSS.
fn follow_until(dir: &std::path::Path, until: &str) -> (Vec<String>, String, Option<i32>, u64) {
    let mut child = follow(dir);
    let rx = lines_of(&mut child);
    let err = stderr_of(&mut child);
    let mut lines = Vec::new();
    let t = Instant::now();
    while !lines.iter().any(|l: &String| l.contains(until)) {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) => lines.push(l),
            Err(_) if t.elapsed() > Duration::from_secs(20) => break,
            Err(_) => {}
        }
    }
    ctrl_c(&child);
    let (status, rss) = wait_rss(child);
    lines.extend(rx.iter());
    (lines, err.join().unwrap(), status.code(), rss)
}

/// Case 8 of #12: a header whose `committed` claims far more than the file holds. The
/// follower reads what the file holds (it allocates nothing the file does not back), prints
/// the record a plain `decode` shows, and goes on to the next segment.
#[test]
fn a_committed_length_past_the_file_costs_nothing_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (forged, base) = (dir.path().join("forged"), dir.path().join("base"));
    for d in [&forged, &base] {
        std::fs::create_dir(d).unwrap();
    }
    let name = |seq| tachylog::segment_file_name("forge", seq);
    // Unsealed, 4e9 bytes committed in a file of a few hundred.
    let lie = forged::segment(1, Some(4_000_000_000));
    assert!(lie.len() < 512, "{}", lie.len());
    std::fs::write(forged.join(name(1)), &lie).unwrap();
    std::fs::write(forged.join(name(2)), forged::segment(2, None)).unwrap();
    // The same without the lie: what a follower of two small segments takes.
    std::fs::write(base.join(name(1)), forged::segment(1, None)).unwrap();
    std::fs::write(base.join(name(2)), forged::segment(2, None)).unwrap();

    let plain = run(&["decode"], &forged, 0);
    assert!(plain.contains("\"msg\":\"segment 1\""), "{plain}");
    let (_, err, code, base_rss) = follow_until(&base, "\"msg\":\"segment 2\"");
    assert_eq!(code, Some(0), "{err}");
    let (lines, err, code, rss) = follow_until(&forged, "\"msg\":\"segment 2\"");
    let msgs: Vec<String> = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["msg"].to_string())
        .collect();
    assert_eq!(msgs, ["\"segment 1\"", "\"segment 2\""], "stderr: {err}");
    let growth = rss.saturating_sub(base_rss);
    println!(
        "follow, committed 4e9 in a {}-byte file: peak RSS {:.1} MiB, baseline {:.1} MiB",
        lie.len(),
        rss as f64 / (1 << 20) as f64,
        base_rss as f64 / (1 << 20) as f64
    );
    assert!(growth < 8 << 20, "{growth} bytes over the baseline");
    // The lie is reported, naming the file, once the follower has moved on: damage (exit 1).
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&name(1)) && err.contains("4000000000"),
        "stderr: {err}"
    );
}

/// Case 9 of #12: catching up on many small sealed segments takes one directory listing,
/// not one per segment. The time is printed, and asserted only by a generous cap against a
/// plain `decode` of the same directory.
#[test]
fn catching_up_on_many_segments_is_linear() {
    let n: u64 = if long() { 10_000 } else { 2_000 };
    let dir = tempfile::tempdir().unwrap();
    for seq in 1..=n {
        let p = dir.path().join(tachylog::segment_file_name("many", seq));
        std::fs::write(p, forged::segment(seq, None)).unwrap();
    }
    let t = Instant::now();
    let plain = run(&["decode"], dir.path(), 0);
    let plain_s = t.elapsed().as_secs_f64();
    assert_eq!(plain.lines().count() as u64, n);

    let t = Instant::now();
    let mut child = follow(dir.path());
    let rx = lines_of(&mut child);
    let cap = Duration::from_secs_f64(20.0 * plain_s + 5.0);
    let mut got = Vec::new();
    while (got.len() as u64) < n {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(l) => got.push(l),
            Err(_) if t.elapsed() > cap + Duration::from_secs(60) => break,
            Err(_) => {}
        }
    }
    let follow_s = t.elapsed().as_secs_f64();
    ctrl_c(&child);
    let s = wait_exit(&mut child, Duration::from_secs(10));
    println!(
        "follow: caught up on {n} segments in {follow_s:.2} s ({} lines); plain decode {plain_s:.2} s",
        got.len()
    );
    assert_eq!(s.code(), Some(0), "{s:?}");
    assert_eq!(got.len() as u64, n, "lines before the follower was stopped");
    for (i, l) in got.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["msg"], format!("segment {}", i + 1));
    }
    assert!(
        follow_s < cap.as_secs_f64(),
        "{follow_s:.2} s to catch up on {n} segments; a plain decode took {plain_s:.2} s"
    );
}

/// Per thread, its records in the order given: `(seq field, message)`.
type ByThread = std::collections::BTreeMap<String, Vec<(u64, String)>>;

fn by_thread(lines: &[String]) -> ByThread {
    let mut m = ByThread::new();
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        let thread = v["thread"].as_str().unwrap_or("?").to_owned();
        let seq = v["fields"]["seq"].as_u64().unwrap_or(u64::MAX);
        m.entry(thread)
            .or_default()
            .push((seq, v["msg"].as_str().unwrap().to_owned()));
    }
    m
}

/// Case 10 of #12: a follower started before the writer, over eight threads writing 16 KiB
/// segments that rotate every few milliseconds, prints exactly what a plain `decode` of the
/// finished directory prints, record for record, per thread in order; and reports nothing.
/// 20 runs; 100 with `TACHYLOG_LONG=1`.
#[test]
fn a_follower_of_eight_busy_threads_misses_nothing() {
    let _s = serial();
    let runs = if long() { 100 } else { 20 };
    let per_thread = 2_000u64;
    for run_no in 0..runs {
        let t = Instant::now();
        let dir = tempfile::tempdir().unwrap();
        let mut child = follow(dir.path());
        let rx = lines_of(&mut child);
        let err = stderr_of(&mut child);
        let g = tachylog::Builder::new()
            .dir(dir.path())
            .name("busy")
            .segment_size(16 << 10)
            .ring_capacity(4 << 10)
            .rotate_every(Duration::from_millis(2))
            .overflow(tachylog::Overflow::Block)
            .init()
            .unwrap();
        let hs: Vec<_> = (0..8u64)
            .map(|t| {
                std::thread::Builder::new()
                    .name(format!("w{t}"))
                    .spawn(move || {
                        for i in 0..per_thread {
                            tachylog::info!(seq = i, "thread {} record {}", t, i);
                            if i % 100 == 99 {
                                std::thread::sleep(Duration::from_millis(1));
                            }
                        }
                    })
                    .unwrap()
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        drop(g);
        let segments = tachylog::reader::segment_files(dir.path()).unwrap().len();
        let plain: Vec<String> = run(&["decode"], dir.path(), 0)
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(plain.len() as u64, 8 * per_thread);
        let mut followed = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while followed.len() < plain.len() && Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
                followed.push(l);
            }
        }
        ctrl_c(&child);
        let s = wait_exit(&mut child, Duration::from_secs(10));
        followed.extend(rx.iter());
        let err = err.join().unwrap();
        println!(
            "run {run_no}: {segments} segments, {} records, follower printed {} in {:.2} s",
            plain.len(),
            followed.len(),
            t.elapsed().as_secs_f64()
        );
        let (want, got) = (by_thread(&plain), by_thread(&followed));
        for (thread, records) in &want {
            let theirs = got.get(thread).map_or(&[][..], Vec::as_slice);
            if theirs != &records[..] {
                let seen: std::collections::HashSet<_> = theirs.iter().collect();
                let missing = records.iter().filter(|r| !seen.contains(r)).count();
                panic!(
                    "run {run_no}, thread {thread}: {} records printed, {} decoded, {missing} \
                     missing; stderr: {err}",
                    theirs.len(),
                    records.len()
                );
            }
        }
        assert_eq!(want.len(), got.len(), "run {run_no}: threads");
        assert_eq!(s.code(), Some(0), "run {run_no}: {s:?}; stderr: {err}");
        assert!(err.is_empty(), "run {run_no}: stderr: {err}");
    }
}

/// Case 10 of #12, step by step: a segment the follower meets while its writer is still
/// creating it (reserved, all zeros, no header yet) is read once its header and frames are
/// written, not reported as "wrong magic bytes" and skipped.
#[test]
fn a_segment_met_before_its_header_is_written_is_read_when_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(tachylog::segment_file_name("slow", 1));
    std::fs::write(&path, vec![0u8; 16 << 10]).unwrap();
    let mut child = follow(dir.path());
    let rx = lines_of(&mut child);
    let err = stderr_of(&mut child);
    // Many polls (10 ms apart) see the file without a header.
    std::thread::sleep(Duration::from_millis(300));
    let seg = forged::segment(1, None);
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, &seg, 0).unwrap();
    f.set_len(seg.len() as u64).unwrap();
    let line = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(line.contains("\"msg\":\"segment 1\""), "{line}");
    ctrl_c(&child);
    let s = wait_exit(&mut child, Duration::from_secs(10));
    let err = err.join().unwrap();
    assert_eq!(s.code(), Some(0), "{s:?}: {err}");
    assert!(err.is_empty(), "{err}");
}

/// A file that never gets a header, once a later segment has one, is reported by name (a file
/// that could not be used: exit 2 when the follower stops), and the later segment is read.
#[test]
fn a_file_that_never_gets_a_header_is_reported_and_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    let name = |seq| tachylog::segment_file_name("stuck", seq);
    std::fs::write(dir.path().join(name(1)), vec![0u8; 16 << 10]).unwrap();
    std::fs::write(dir.path().join(name(2)), forged::segment(2, None)).unwrap();
    let (lines, err, code, _) = follow_until(dir.path(), "\"msg\":\"segment 2\"");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        err.contains(&name(1)) && err.contains("not a tachylog segment (no header"),
        "{err}"
    );
    assert_eq!(code, Some(2), "{err}");
}
