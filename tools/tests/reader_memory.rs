//! The reader's memory on forged segments with many distinct call sites: `decode`, `stats` and
//! `verify` of one such segment stay within a small multiple of its size, and a follower fed
//! one such segment after another does not grow with the number of segments.
//!
//! Each test prints its figures on lines starting with `reader memory:`. The forged segments
//! are small by default (5,000 call sites, about 6 MB); `TACHYLOG_LONG=1` uses 50,000 call
//! sites (about 55 MB). `TACHYLOG_MEMORY_BIN=PATH` measures another build of `tachylog` (an
//! older one, to compare).
mod common;
use common::forge::{frame, header, string};
use common::long;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tachylog::wire::{
    CallsiteHead, EndBody, HEADER_LEN, Kind, RECORD_HEAD_LEN, RecordHead, RecordsHead, ThreadHead,
    tag,
};

const MIB: f64 = (1 << 20) as f64;

/// The binary to measure.
fn bin() -> PathBuf {
    common::measured_bin("TACHYLOG_MEMORY_BIN")
}

/// Text unique to `(seq, i)`, about `len` bytes of it.
fn filler(seq: u64, i: u32, len: usize) -> String {
    let mut x = ((seq << 32) | u64::from(i)).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut s = String::with_capacity(len + 16);
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(["order", "stock", "user", "cache", "retry", "queue"][(x % 6) as usize]);
        s.push_str(&format!("-{:x} ", x >> 40));
    }
    s
}

/// Records not yet in a frame.
#[derive(Default)]
struct Batch {
    records: Vec<u8>,
    count: u32,
}

impl Batch {
    fn record(&mut self, seq: u64, callsite: u32, values: &[u8]) {
        let head = RecordHead {
            len: (RECORD_HEAD_LEN + values.len()) as u32,
            callsite,
            // Later segments, later times: the follower gets them in order.
            ticks: seq * 1_000_000_000 + u64::from(callsite),
        };
        self.records.extend_from_slice(bytemuck::bytes_of(&head));
        self.records.extend_from_slice(values);
        self.count += 1;
    }

    /// Appends the records as one frame of thread 1.
    fn flush(&mut self, seg: &mut Vec<u8>) {
        let head = RecordsHead {
            producer: 1,
            count: self.count,
        };
        frame(
            seg,
            Kind::Records,
            &[bytemuck::bytes_of(&head), &self.records].concat(),
        );
        self.records.clear();
        self.count = 0;
    }
}

/// What the forged call sites look like.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A format string of about this many bytes, mostly literal text, with three arguments,
    /// and one field.
    Text(usize),
    /// A format string of this many `{}` placeholders and nothing else: the most parsed
    /// pieces per byte of input.
    Placeholders(u16),
}

/// Writes to `path` a sealed segment (sequence `seq`) as a writer could have made it, with
/// `call_sites` call sites of `shape`, each with a format string of its own, and one record
/// of each; then one record of a call site whose message is `end of segment <seq>`. Written
/// as it is made, so that this process stays small (a child's peak RSS, as `wait4` reports
/// it, is never below its parent's when it was started). Returns the segment's size.
fn forge(path: &Path, seq: u64, call_sites: u32, shape: Shape) -> u64 {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let mut seg = header(seq, None).to_vec();
    let mut len = 0u64;
    let mut spill = |seg: &mut Vec<u8>, len: &mut u64| {
        file.write_all(seg).unwrap();
        *len += seg.len() as u64;
        seg.clear();
    };
    let thread = ThreadHead {
        producer: 1,
        tid: 7,
        has_name: 1,
        name_len: 5,
    };
    frame(
        &mut seg,
        Kind::Thread,
        &[bytemuck::bytes_of(&thread), b"forge"].concat(),
    );
    let callsite = |id: u32, format: &str, n_args: u16, n_fields: u16| {
        let head = CallsiteHead {
            id,
            line: id,
            level: 3,
            _pad: [0; 3],
            n_args,
            n_fields,
        };
        let mut p = bytemuck::bytes_of(&head).to_vec();
        string(&mut p, &format!("forge::t{}", id % 64));
        string(&mut p, "forge");
        string(&mut p, "src/forge.rs");
        string(&mut p, format);
        for _ in 0..n_args {
            string(&mut p, "");
        }
        for _ in 0..n_fields {
            string(&mut p, "k");
        }
        p
    };
    let marker = call_sites;
    let mut batch = Batch::default();
    for i in 0..call_sites {
        let mut values = Vec::new();
        let int = |values: &mut Vec<u8>, v: u32| {
            values.push(tag::U32);
            values.extend_from_slice(&v.to_le_bytes());
        };
        let description = match shape {
            Shape::Text(format_len) => {
                let f = filler(seq, i, format_len);
                let (a, b) = f.split_at(f.len() / 3);
                let (b, c) = b.split_at(b.len() / 2);
                let format = format!("{seq}/{i} {a}{{}} {b}{{}} {c}{{}} end");
                int(&mut values, i);
                values.push(tag::STR);
                string(&mut values, "ok");
                int(&mut values, i * 7);
                int(&mut values, i * 3);
                callsite(i, &format, 3, 1)
            }
            Shape::Placeholders(n) => {
                // Distinct: the first piece of literal text says which call site it is.
                let format = format!("{seq}/{i}{}", "{}".repeat(n as usize));
                for k in 0..n {
                    int(&mut values, u32::from(k));
                }
                callsite(i, &format, n, 0)
            }
        };
        frame(&mut seg, Kind::Callsite, &description);
        batch.record(seq, i, &values);
        if batch.records.len() >= 32 << 10 {
            batch.flush(&mut seg);
        }
        if seg.len() >= 1 << 20 {
            spill(&mut seg, &mut len);
        }
    }
    frame(
        &mut seg,
        Kind::Callsite,
        &callsite(marker, "end of segment {}", 1, 0),
    );
    batch.record(seq, marker, &[&[tag::U64][..], &seq.to_le_bytes()].concat());
    batch.flush(&mut seg);
    let end = EndBody {
        next_seq: seq + 1,
        records: u64::from(call_sites) + 1,
    };
    frame(&mut seg, Kind::End, bytemuck::bytes_of(&end));
    spill(&mut seg, &mut len);
    let head = header(seq, Some(len));
    std::os::unix::fs::FileExt::write_all_at(&file, &head, 0).unwrap();
    assert_eq!(head.len(), HEADER_LEN);
    len
}

/// Runs `tachylog ARGS`, its stdout to `out`, and returns its exit code and peak resident set
/// size in bytes, as `wait4` reports it for that child alone. (Linux starts a child's figure
/// from its parent's peak at the time it was started: this process keeps small, and the
/// baseline run shows what that floor is.)
fn peak_rss(args: &[&OsStr], out: &Path) -> (i32, u64) {
    let child = Command::new(bin())
        .args(args)
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: all-zero bytes are a valid `rusage` (integers and `timeval`s).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not reaped yet (`Child` waits only when asked to); `status`
    // and `usage` are valid for writes for the duration of the call.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(libc::WIFEXITED(status), "{args:?}: status {status:#x}");
    drop(child);
    // ru_maxrss is in KiB on Linux.
    (libc::WEXITSTATUS(status), usage.ru_maxrss as u64 * 1024)
}

/// Lines in the file at `path`, counted without holding it in memory.
fn count_lines(path: &Path) -> usize {
    let mut r = BufReader::new(std::fs::File::open(path).unwrap());
    let mut n = 0;
    loop {
        let buf = r.fill_buf().unwrap();
        if buf.is_empty() {
            return n;
        }
        n += buf.iter().filter(|&&b| b == b'\n').count();
        let k = buf.len();
        r.consume(k);
    }
}

#[test]
fn one_segment_of_many_call_sites_decodes_verifies_and_counts_within_10x_its_size() {
    let call_sites = if long() { 50_000 } else { 5_000 };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for shape in [Shape::Text(1000), Shape::Placeholders(100)] {
        let (big, tiny) = (dir.path().join("big"), dir.path().join("tiny"));
        for (d, n) in [(&big, call_sites), (&tiny, 1)] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir(d).unwrap();
            forge(&d.join("forge-0000000001.tlog"), 1, n, shape);
        }
        let input = std::fs::metadata(big.join("forge-0000000001.tlog"))
            .unwrap()
            .len();
        for cmd in ["decode", "stats", "verify"] {
            let measure = |d: &Path| {
                let (code, rss) = peak_rss(&[OsStr::new(cmd), d.as_os_str()], &out);
                assert_eq!(code, 0, "tachylog {cmd} {}", d.display());
                rss
            };
            let base = measure(&tiny);
            let peak = measure(&big);
            if cmd == "decode" {
                assert_eq!(count_lines(&out), call_sites as usize + 1);
            }
            let growth = peak.saturating_sub(base);
            println!(
                "reader memory: {cmd}: {call_sites} call sites of {shape:?}, input {:.1} MiB, \
                 peak RSS {:.1} MiB, baseline {:.1} MiB, growth {:.1} MiB = {:.2}x the input \
                 (limit 10x)",
                input as f64 / MIB,
                peak as f64 / MIB,
                base as f64 / MIB,
                growth as f64 / MIB,
                growth as f64 / input as f64
            );
            assert!(
                growth < 10 * input,
                "tachylog {cmd}: {growth} bytes over the baseline for a {input}-byte segment"
            );
        }
    }
}

/// VmRSS of process `pid`, in bytes.
fn vm_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

/// Kills the child when dropped, whatever happened.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_follower_does_not_grow_with_the_segments_it_has_read() {
    const SEGMENTS: u64 = 200;
    const CALL_SITES: u32 = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // Only the last record of each segment is written out: every message is still formatted
    // (to be matched), and the output says how far the follower has got.
    let mut child = Killed(
        Command::new(bin())
            .args(["decode", "--follow", "--interval", "5", "--grep"])
            .arg("^end of segment ")
            .arg(&logs)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    let (tx, rx) = mpsc::channel();
    let out = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let (mut at_20, mut bytes) = (0, 0);
    for seq in 1..=SEGMENTS {
        // Written under another name and renamed: the follower never sees half a file.
        let part = logs.join("partial");
        bytes += forge(&part, seq, CALL_SITES, Shape::Text(400));
        let name = logs.join(tachylog::segment_file_name("forge", seq));
        std::fs::rename(&part, &name).unwrap();
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("segment {seq}: {e}"));
        assert!(
            line.contains(&format!("\"msg\":\"end of segment {seq}\"")),
            "{line}"
        );
        // Read: it may go (the follower has finished with it, or holds it open).
        std::fs::remove_file(&name).unwrap();
        if seq == 20 {
            at_20 = vm_rss(pid);
        }
    }
    let at_200 = vm_rss(pid);
    let growth = at_200 as i64 - at_20 as i64;
    println!(
        "reader memory: follow: {SEGMENTS} segments of {CALL_SITES} call sites ({:.1} MiB in all) \
         in {:.1} s; VmRSS after 20 segments {:.1} MiB, after {SEGMENTS} {:.1} MiB, growth {:.2} MiB \
         (limit 8 MiB)",
        bytes as f64 / MIB,
        started.elapsed().as_secs_f64(),
        at_20 as f64 / MIB,
        at_200 as f64 / MIB,
        growth as f64 / MIB
    );
    assert!(
        growth < 8 << 20,
        "the follower grew by {growth} bytes from segment 20 to segment {SEGMENTS}"
    );
}
