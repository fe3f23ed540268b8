//! What the fuzz targets (`fuzz/`) found in the reader and the command, each as the smallest
//! forged segment that shows it, run through the command as a user would meet it. Each test
//! says which target found it, in which artifact.
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tachylog::wire::{
    COMMITTED_OFFSET, CallsiteHead, DroppedBody, EndBody, FLAG_SEALED, FLAGS_OFFSET, Kind,
    NewHeader, RECORD_HEAD_LEN, RecordHead, RecordsHead, SegmentHeader, ThreadHead,
    push_frame as frame, tag,
};

/// A new segment's header, as a writer makes it, with its clock anchor: `anchor_ticks` read at
/// `anchor_unix_ns`, `ticks_per_sec`.
fn header(anchor_ticks: u64, anchor_unix_ns: u64, ticks_per_sec: f64) -> Vec<u8> {
    SegmentHeader::encode(&NewHeader {
        seq: 1,
        created_unix_ns: 0,
        anchor_ticks,
        anchor_unix_ns,
        ticks_per_sec,
        segment_size: 0,
        pid: 1,
    })
    .to_vec()
}

/// Seals `seg` as a writer does: appends its END frame, then sets `committed` in its header
/// (its true length when `None`) and the sealed flag.
fn seal(seg: &mut Vec<u8>, committed: Option<u64>) {
    let end = EndBody {
        next_seq: 2,
        records: 0,
    };
    frame(seg, Kind::End, bytemuck::bytes_of(&end));
    let committed = committed.unwrap_or(seg.len() as u64);
    seg[COMMITTED_OFFSET..COMMITTED_OFFSET + 8].copy_from_slice(&committed.to_le_bytes());
    seg[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&FLAG_SEALED.to_le_bytes());
}

/// Appends the description of call site 1, `x {}` (one argument), and a records frame with
/// one record of it per tick reading in `ticks`, each with the value 7.
fn records(seg: &mut Vec<u8>, ticks: &[u64]) {
    let mut callsite = bytemuck::bytes_of(&CallsiteHead {
        id: 1,
        line: 1,
        level: tachylog::Level::Info as u8,
        _pad: [0; 3],
        n_args: 1,
        n_fields: 0,
    })
    .to_vec();
    for s in ["app", "app", "src/main.rs", "x {}", "n"] {
        callsite.extend_from_slice(&(s.len() as u32).to_le_bytes());
        callsite.extend_from_slice(s.as_bytes());
    }
    frame(seg, Kind::Callsite, &callsite);
    let value = [tag::U8, 7];
    let mut records = bytemuck::bytes_of(&RecordsHead {
        producer: 1,
        count: ticks.len() as u32,
    })
    .to_vec();
    for &ticks in ticks {
        records.extend_from_slice(bytemuck::bytes_of(&RecordHead {
            len: (RECORD_HEAD_LEN + value.len()) as u32,
            callsite: 1,
            ticks,
        }));
        records.extend_from_slice(&value);
    }
    frame(seg, Kind::Records, &records);
}

/// A sealed segment holding one record, `x 7`, complete and checksummed, whose header claims
/// `committed` bytes (its true length when `None`).
fn one_record_segment(committed: Option<u64>) -> Vec<u8> {
    let mut seg = header(0, 1_700_000_000_000_000_000, 1e9);
    records(&mut seg, &[5]);
    seal(&mut seg, committed);
    seg
}

/// Runs `tachylog ARGS DIR`, asserts that it exits with 0, and returns its stdout.
fn run_clean(args: &[&str], dir: &Path) -> String {
    let out = Command::new(assert_cmd::cargo::cargo_bin("tachylog"))
        .args(args)
        .arg(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stdout}{stderr}");
    stdout
}

/// How a `decode --follow` run went.
struct Followed {
    /// What it wrote before it was stopped (or died).
    lines: Vec<String>,
    /// The wait status.
    status: i32,
    /// Peak resident set size in bytes, as `wait4` reports it for that child alone.
    peak_rss: u64,
}

/// Address space a follower gets: ample for the command, far below what a header can claim, so
/// that one allocating a claimed length aborts instead of taking the machine's memory.
const ADDRESS_SPACE: u64 = 1 << 30;

/// Runs `tachylog decode --follow` on `dir` until it has written `lines` lines (or 20 s have
/// passed, or it died), then stops it with Ctrl-C.
fn follow(dir: &Path, lines: usize) -> Followed {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("tachylog"));
    cmd.args([OsStr::new("decode"), OsStr::new("--follow")])
        .args(["--interval", "10"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // SAFETY: between fork and exec the closure only calls setrlimit, which is
    // async-signal-safe, on a local struct; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    while got.len() < lines {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => got.push(l),
            // Timed out, or the child is gone (its stdout closed).
            Err(_) => break,
        }
    }
    let pid = child.id() as libc::pid_t;
    // SAFETY: `pid` is our child, not reaped yet (`Child` waits only when asked to).
    unsafe { libc::kill(pid, libc::SIGINT) };
    let mut status = 0;
    // SAFETY: all-zero bytes are a valid `rusage` (integers and `timeval`s).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `status` and `usage` are valid for writes for the duration of the call.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    reader.join().unwrap();
    got.extend(rx.try_iter());
    Followed {
        lines: got,
        status,
        // ru_maxrss is in KiB on Linux.
        peak_rss: usage.ru_maxrss as u64 * 1024,
    }
}

/// decode_dir, `oom-6c0812c0`: a 185-byte sealed segment whose header's `committed` says
/// 4,000,000,000 made `Follower::refill` (`src/reader/follow.rs`) allocate and zero that many
/// bytes (`malloc(3999999872)`), before reading the file; `decode --follow` then showed nothing
/// of the segment, whose record a plain `decode` shows. The follower must allocate by what the
/// file holds and show the record.
#[test]
fn a_follower_allocates_by_the_file_not_by_the_committed_length_its_header_claims() {
    let dir = tempfile::tempdir().unwrap();
    let (forged, honest) = (dir.path().join("forged"), dir.path().join("honest"));
    let claim = 4_000_000_000;
    let input = one_record_segment(Some(claim));
    for (d, bytes) in [
        (&forged, input.clone()),
        (&honest, one_record_segment(None)),
    ] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("app-0000000001.tlog"), bytes).unwrap();
    }
    // A plain decode shows the record: the file holds it whole.
    let decoded = Command::new(assert_cmd::cargo::cargo_bin("tachylog"))
        .arg("decode")
        .arg(&forged)
        .output()
        .unwrap();
    let decoded = String::from_utf8_lossy(&decoded.stdout);
    assert!(decoded.contains("\"msg\":\"x 7\""), "{decoded}");

    let base = follow(&honest, 1);
    assert!(
        libc::WIFEXITED(base.status),
        "baseline: status {:#x}",
        base.status
    );
    assert!(base.lines.iter().any(|l| l.contains("\"msg\":\"x 7\"")));
    let got = follow(&forged, 1);
    assert!(
        libc::WIFEXITED(got.status),
        "decode --follow died (status {:#x}, signal {}) on a {}-byte segment claiming {claim} \
         committed bytes, under a {ADDRESS_SPACE}-byte address-space limit",
        got.status,
        libc::WTERMSIG(got.status),
        input.len()
    );
    assert!(
        got.lines.iter().any(|l| l.contains("\"msg\":\"x 7\"")),
        "decode --follow did not show the record: {:?}",
        got.lines
    );
    // Measurement noise dominates for a file this small: the bound is the larger of 10x the
    // input and 8 MiB, still a 500th of the claim.
    let growth = got.peak_rss.saturating_sub(base.peak_rss);
    let bound = (10 * input.len() as u64).max(8 << 20);
    println!(
        "fuzz found: follow of a {}-byte segment claiming {claim} committed bytes: peak RSS \
         {} KiB, baseline {} KiB",
        input.len(),
        got.peak_rss >> 10,
        base.peak_rss >> 10
    );
    assert!(growth < bound, "{growth} bytes over the baseline");
}

/// decode_dir, `crash-56fa66fe`: two drop notices of one thread whose counts add up past
/// `u64::MAX` (forged: a writer counts one thread's losses in a `u64` too, and no run loses
/// 2^64 records) made `stats` and `verify` overflow their sums, a panic where overflow checks
/// are on and a wrong total where they are not. The totals saturate.
#[test]
fn drop_counts_past_u64_max_saturate_in_stats_and_verify() {
    let mut seg = header(0, 0, 1e9);
    let mut thread = bytemuck::bytes_of(&ThreadHead {
        producer: 1,
        tid: 42,
        has_name: 1,
        name_len: 4,
    })
    .to_vec();
    thread.extend_from_slice(b"main");
    frame(&mut seg, Kind::Thread, &thread);
    let count = u64::MAX / 2 + 2;
    for ticks in [10, 20] {
        let notice = DroppedBody {
            producer: 1,
            _pad: 0,
            count,
            ticks,
        };
        frame(&mut seg, Kind::Dropped, bytemuck::bytes_of(&notice));
    }
    seal(&mut seg, None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app-0000000001.tlog"), &seg).unwrap();
    let run = |args: &[&str]| run_clean(args, dir.path());
    let max = u64::MAX;
    let stats = run(&["stats"]);
    assert!(stats.contains(&format!("dropped       {max}\n")), "{stats}");
    // The thread's own line too: no records, all those drops.
    assert!(
        stats.contains(&format!("  {:>12}  {max}  main (tid 42)\n", 0)),
        "{stats}"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&["stats", "--json"])).unwrap();
    assert_eq!(json["dropped"].as_u64(), Some(max), "{json}");
    let verify = run(&["verify"]);
    assert!(
        verify.contains(&format!("0 records, {max} dropped")),
        "{verify}"
    );
}

/// decode_dir, `crash-44437ac5`: records whose times are a whole `i64` apart (a forged clock
/// anchor puts one at the earliest time a record can have, the other at the latest) made
/// `stats` overflow computing the span (`last - first`), a panic where overflow checks are on
/// and a negative span and rate where they are not.
#[test]
fn stats_of_records_a_whole_i64_apart_in_time_give_their_span() {
    // One tick a second, anchored half-way through the ticks at the epoch: tick 0 is 2^63 s
    // before it and tick u64::MAX as long after, both saturating to the ends of an `i64`.
    let mut seg = header(1 << 63, 0, 1.0);
    records(&mut seg, &[0, u64::MAX]);
    seal(&mut seg, None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app-0000000001.tlog"), &seg).unwrap();
    // i64::MAX - i64::MIN nanoseconds.
    let span_s = u64::MAX as f64 / 1e9;
    let text = run_clean(&["stats"], dir.path());
    assert!(text.contains(&format!(" ({span_s:.3} s)\n")), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&run_clean(&["stats", "--json"], dir.path())).unwrap();
    assert_eq!(json["records"].as_u64(), Some(2), "{json}");
    assert_eq!(json["span_s"].as_f64(), Some(span_s), "{json}");
    let rate = json["rate"].as_f64().unwrap();
    assert!(rate > 0.0 && rate < 1e-9, "{json}");
}
