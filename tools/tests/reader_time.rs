//! The reader's time on hostile input: resynchronising after damage is linear in the bytes it
//! passes. A segment holds good records, then filler whose every 8-byte word reads as a frame
//! header of a known kind claiming half of the rest of the file (none verifies), then good
//! records again. `verify` and `decode` of it must report the damage, read the records after
//! it, and take less than 20 times (plus a second) what `verify` of an undamaged segment of the
//! same size takes in the same test: checking each candidate over its claimed length, as
//! readers did before, took 89 s of CPU on 8 MiB in a release build.
//!
//! Each test prints its figures on lines starting with `reader time:`. The filler is 8 MiB by
//! default, 64 MiB with `TACHYLOG_LONG=1`. `TACHYLOG_TIME_BIN=PATH` times another build of
//! `tachylog` (an older one, to compare).
mod common;
use common::forge::{descriptions, end, frame, header};
use common::{long, measured_bin};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tachylog::wire::{FRAME_ALIGN, Kind, RECORD_HEAD_LEN, RecordHead, RecordsHead, tag};

const MIB: usize = 1 << 20;

/// Good records before the filler, and after it.
const BEFORE: u64 = 1000;
const AFTER: u64 = 1000;

/// Appends records `from..to` of call site 1 (`record {}`, its number), in frames of about
/// 32 KiB. Returns how many frames.
fn records(seg: &mut Vec<u8>, from: u64, to: u64) -> u64 {
    let mut frames = 0;
    let mut i = from;
    while i < to {
        let mut p = bytemuck::bytes_of(&RecordsHead {
            producer: 1,
            count: 0,
        })
        .to_vec();
        let mut count = 0u32;
        while i < to && p.len() < 32 << 10 {
            let head = RecordHead {
                len: (RECORD_HEAD_LEN + 9) as u32,
                callsite: 1,
                ticks: i,
            };
            p.extend_from_slice(bytemuck::bytes_of(&head));
            p.push(tag::U64);
            p.extend_from_slice(&i.to_le_bytes());
            count += 1;
            i += 1;
        }
        p[4..8].copy_from_slice(&count.to_le_bytes());
        frame(seg, Kind::Records, &p);
        frames += 1;
    }
    frames
}

/// Seals `seg` (its header first, as yet unsealed) at its length and writes it to `path`.
fn seal_and_write(mut seg: Vec<u8>, path: &Path) {
    let len = seg.len() as u64;
    seg[..tachylog::wire::HEADER_LEN].copy_from_slice(&header(1, Some(len)));
    std::fs::write(path, seg).unwrap();
}

/// Where [`hostile`] put things.
struct Hostile {
    /// Offset of the filler, and of the first frame after it.
    start: usize,
    resume: usize,
    /// Good frames.
    frames: u64,
}

/// A sealed segment at `path`: records before, `filler` bytes of hostile filler, records
/// after.
fn hostile(path: &Path, filler: usize) -> Hostile {
    let mut seg = header(1, None).to_vec();
    descriptions(&mut seg, "record {}");
    let mut frames = 2 + records(&mut seg, 0, BEFORE);
    let mut after = Vec::new();
    frames += records(&mut after, BEFORE, BEFORE + AFTER) + 1;
    end(&mut after, 2, BEFORE + AFTER);
    let start = seg.len();
    let resume = start + filler;
    let total = resume + after.len();
    for at in (start..resume).step_by(FRAME_ALIGN) {
        // As a frame header: a length that lies within the file, a known kind; the next word
        // stands where its checksum would be.
        let claim = ((total - at) / 2) as u32;
        seg.extend_from_slice(&claim.to_le_bytes());
        seg.extend_from_slice(&(Kind::Records as u16).to_le_bytes());
        seg.extend_from_slice(&0u16.to_le_bytes());
    }
    seg.extend_from_slice(&after);
    seal_and_write(seg, path);
    Hostile {
        start,
        resume,
        frames,
    }
}

/// A sealed segment at `path` with at least `len` bytes of good records (the filler's place
/// in [`hostile`] filled with records). Returns its record count.
fn undamaged(path: &Path, len: usize) -> u64 {
    let mut seg = header(1, None).to_vec();
    descriptions(&mut seg, "record {}");
    let mut n = 0;
    while seg.len() < len {
        records(&mut seg, n, n + 1000);
        n += 1000;
    }
    end(&mut seg, 2, n);
    seal_and_write(seg, path);
    n
}

/// What a run of `tachylog` gave: exit code, stdout, stderr, and how long it took.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `tachylog CMD PATH`, killing it at `limit`; its output goes to files in `scratch` (so
/// that a large output cannot stall it).
fn run(cmd: &str, path: &Path, limit: Duration, scratch: &Path) -> Run {
    let (out, err) = (scratch.join("stdout"), scratch.join("stderr"));
    let started = Instant::now();
    let mut child = Command::new(measured_bin("TACHYLOG_TIME_BIN"))
        .arg(cmd)
        .arg(path)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tachylog {cmd} {} still running at its time limit, {:.2} s",
                path.display(),
                limit.as_secs_f64()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    Run {
        code: status.code(),
        stdout: std::fs::read_to_string(&out).unwrap(),
        stderr: std::fs::read_to_string(&err).unwrap(),
        took,
    }
}

#[test]
fn resynchronising_after_hostile_filler_is_linear_and_reads_on() {
    let filler = if long() { 64 * MIB } else { 8 * MIB };
    let dir = tempfile::tempdir().unwrap();
    let (bad, good) = (dir.path().join("bad"), dir.path().join("good"));
    std::fs::create_dir(&bad).unwrap();
    std::fs::create_dir(&good).unwrap();
    let name = tachylog::segment_file_name("forge", 1);
    let (bad_seg, good_seg) = (bad.join(&name), good.join(&name));
    let Hostile {
        start,
        resume,
        frames,
    } = hostile(&bad_seg, filler);
    let bad_len = std::fs::metadata(&bad_seg).unwrap().len();
    let good_records = undamaged(&good_seg, bad_len as usize);
    let good_len = std::fs::metadata(&good_seg).unwrap().len();

    // The linear pass: every frame checksummed, every record parsed.
    let linear = run("verify", &good_seg, Duration::from_secs(600), dir.path());
    assert_eq!(linear.code, Some(0), "{}{}", linear.stdout, linear.stderr);
    assert!(
        linear
            .stdout
            .contains(&format!("{good_records} records, 0 dropped, tail sealed")),
        "{}",
        linear.stdout
    );
    let limit = linear.took * 20 + Duration::from_secs(1);

    let v = run("verify", &bad_seg, limit, dir.path());
    // Damaged from the filler's start to the first frame after it, every record read.
    assert_eq!(v.code, Some(1), "{}{}", v.stdout, v.stderr);
    assert!(
        v.stdout.contains(&format!(
            "DAMAGED - seq 1, {bad_len} bytes, {frames} frames, {} records, 0 dropped, \
             tail sealed",
            BEFORE + AFTER
        )),
        "{}",
        v.stdout
    );
    let damage = format!("damaged bytes {start}..{resume}: frame checksum mismatch");
    assert!(v.stdout.contains(&damage), "{}", v.stdout);
    assert_eq!(v.stdout.matches("damaged bytes").count(), 1, "{}", v.stdout);

    let d = run("decode", &bad_seg, limit, dir.path());
    assert_eq!(d.code, Some(1), "{}", d.stderr);
    assert!(
        d.stderr.contains(&format!(
            "corrupt data at byte offset {start}: frame checksum mismatch"
        )),
        "{}",
        d.stderr
    );
    let lines = common::json_lines(&d.stdout);
    let msgs: Vec<&str> = lines.iter().map(|l| l["msg"].as_str().unwrap()).collect();
    let want: Vec<String> = (0..BEFORE + AFTER).map(|i| format!("record {i}")).collect();
    assert_eq!(msgs, want);

    println!(
        "reader time: resync over {} MiB of hostile filler ({:.1} MiB segment): verify {:.2} s, \
         decode {:.2} s; verify of an undamaged {:.1} MiB segment {:.2} s (limit {:.2} s)",
        filler / MIB,
        bad_len as f64 / MIB as f64,
        v.took.as_secs_f64(),
        d.took.as_secs_f64(),
        good_len as f64 / MIB as f64,
        linear.took.as_secs_f64(),
        limit.as_secs_f64()
    );
}
