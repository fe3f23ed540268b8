//! The reader's memory on hostile directories. Forged segments with many distinct call sites:
//! `decode`, `stats` and `verify` of one such segment stay within a small multiple of its size,
//! and a follower fed one such segment after another does not grow with the number of
//! segments. Many segments whose records the time-order merge holds (one-record sealed ones,
//! unsealed ones a crashed writer left): `decode` keeps few of them open. A format string whose
//! placeholders ask for gigabytes: a capped message, in time linear in the input.
//!
//! Each test prints its figures on lines starting with `reader memory:`. The inputs are small
//! by default (5,000 call sites, about 6 MB; 2,000 one-record segments; 40 unsealed segments of
//! 8 MiB); `TACHYLOG_LONG=1` uses 50,000 call sites (about 55 MB), 70,000 one-record segments
//! and 40 unsealed segments of 64 MiB. `TACHYLOG_MEMORY_BIN=PATH` measures another build of
//! `tachylog` (an older one, to compare).
mod common;
use common::forge::{frame, header, string, thread};
use common::long;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tachylog::reader::merge::MAX_PINNED_BYTES;
use tachylog::reader::{MAX_MESSAGE_BYTES, TRUNCATED};
use tachylog::wire::{
    COMMITTED_OFFSET, CallsiteHead, EndBody, FLAG_SEALED, FLAGS_OFFSET, HEADER_LEN, Kind,
    NewHeader, RECORD_HEAD_LEN, RecordHead, RecordsHead, SegmentHeader, tag,
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

/// A segment header of sequence `seq`, written by process `pid`, as the writer starts one.
fn started_header(seq: u64, pid: u32, segment_size: u64) -> [u8; HEADER_LEN] {
    SegmentHeader::encode(&NewHeader {
        seq,
        created_unix_ns: 1_800_000_000_000_000_000,
        anchor_ticks: 0,
        anchor_unix_ns: 1_800_000_000_000_000_000,
        ticks_per_sec: 1e9,
        segment_size,
        pid,
    })
}

/// The payload of a call-site frame: call site `id` of `format`, with `n_args` positional
/// arguments and `n_fields` fields named `k`.
fn callsite(id: u32, format: &str, n_args: u16, n_fields: u16) -> Vec<u8> {
    callsite_named(id, format, &vec![String::new(); n_args.into()], n_fields)
}

/// [`callsite`], with arguments named `names` (`""` for a positional one).
fn callsite_named(id: u32, format: &str, names: &[String], n_fields: u16) -> Vec<u8> {
    let head = CallsiteHead {
        id,
        line: id,
        level: 3,
        _pad: [0; 3],
        n_args: names.len() as u16,
        n_fields,
    };
    let mut p = bytemuck::bytes_of(&head).to_vec();
    string(&mut p, &format!("forge::t{}", id % 64));
    string(&mut p, "forge");
    string(&mut p, "src/forge.rs");
    string(&mut p, format);
    for name in names {
        string(&mut p, name);
    }
    for _ in 0..n_fields {
        string(&mut p, "k");
    }
    p
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
    thread(&mut seg);
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
    let run = run_within(args, out, Duration::MAX).unwrap_or_else(|| unreachable!("no time limit"));
    (run.code, run.peak_rss)
}

/// How a run of `tachylog` ended.
#[derive(Debug, Clone, Copy)]
struct Run {
    code: i32,
    /// Peak resident set size in bytes, as `wait4` reports it (see [`peak_rss`]).
    peak_rss: u64,
    wall: Duration,
}

/// Runs `tachylog ARGS`, its stdout to `out`, as [`peak_rss`] does; kills it if it runs for
/// longer than `limit`, and then returns `None`.
fn run_within(args: &[&OsStr], out: &Path, limit: Duration) -> Option<Run> {
    let started = Instant::now();
    let mut child = Command::new(bin())
        .args(args)
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: all-zero bytes are a valid `rusage` (integers and `timeval`s).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: `pid` is our child, not reaped yet (`Child` waits only when asked to, and
        // this loop stops once `wait4` has reaped it); `status` and `usage` are valid for
        // writes for the duration of the call.
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if rc == pid {
            break;
        }
        assert_eq!(rc, 0, "wait4: {}", std::io::Error::last_os_error());
        if !killed && started.elapsed() > limit {
            // Not reaped yet, so the pid is still this child's.
            child.kill().unwrap();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let wall = started.elapsed();
    drop(child);
    if killed {
        return None;
    }
    assert!(libc::WIFEXITED(status), "{args:?}: status {status:#x}");
    Some(Run {
        code: libc::WEXITSTATUS(status),
        // ru_maxrss is in KiB on Linux.
        peak_rss: usage.ru_maxrss as u64 * 1024,
        wall,
    })
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

/// Marks `seg` (a whole segment in memory) sealed and cut to its length, after an end frame,
/// as the writer leaves a segment it is done with.
fn seal(seg: &mut Vec<u8>, seq: u64, records: u64) {
    let end = EndBody {
        next_seq: seq + 1,
        records,
    };
    frame(seg, Kind::End, bytemuck::bytes_of(&end));
    let len = seg.len() as u64;
    seg[COMMITTED_OFFSET..COMMITTED_OFFSET + 8].copy_from_slice(&len.to_le_bytes());
    seg[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&FLAG_SEALED.to_le_bytes());
}

/// Writes to `path` a segment that a writer (process `1000 + seq`) left unsealed when it died:
/// `records` records of thread 1 at its start, committed, and the rest of its `size` bytes
/// never written (a sparse file, as the writer's preallocated segment is). Returns the bytes
/// of its records.
fn forge_unsealed(path: &Path, seq: u64, records: u32, size: u64) -> u64 {
    let mut seg = started_header(seq, 1000 + seq as u32, size).to_vec();
    thread(&mut seg);
    frame(
        &mut seg,
        Kind::Callsite,
        &callsite(1, "segment {} record {}: {}", 3, 0),
    );
    let mut batch = Batch::default();
    for i in 0..records {
        let mut values = vec![tag::U64];
        values.extend_from_slice(&seq.to_le_bytes());
        values.push(tag::U32);
        values.extend_from_slice(&i.to_le_bytes());
        values.push(tag::STR);
        string(&mut values, &filler(seq, i, 100));
        batch.record(seq, 1, &values);
    }
    let record_bytes = batch.records.len() as u64;
    batch.flush(&mut seg);
    let committed = seg.len() as u64;
    seg[COMMITTED_OFFSET..COMMITTED_OFFSET + 8].copy_from_slice(&committed.to_le_bytes());
    let file = std::fs::File::create(path).unwrap();
    std::io::Write::write_all(&mut &file, &seg).unwrap();
    file.set_len(size).unwrap();
    record_bytes
}

#[test]
fn records_held_from_many_unsealed_segments_keep_few_of_them_in_memory() {
    const SEGMENTS: u64 = 40;
    const RECORDS: u32 = 10;
    // The segments of 40 crashed runs, whose 400 records are all held for time ordering (the
    // window is far larger) until the input ends.
    let size: u64 = if long() { 64 << 20 } else { 8 << 20 };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (many, one) = (dir.path().join("many"), dir.path().join("one"));
    std::fs::create_dir(&many).unwrap();
    std::fs::create_dir(&one).unwrap();
    let mut record_bytes = 0;
    for seq in 1..=SEGMENTS {
        let name = tachylog::segment_file_name("crashed", seq);
        record_bytes += forge_unsealed(&many.join(name), seq, RECORDS, size);
    }
    forge_unsealed(
        &one.join(tachylog::segment_file_name("crashed", 1)),
        1,
        RECORDS,
        size,
    );
    let measure = |d: &Path| {
        let (code, rss) = peak_rss(&[OsStr::new("decode"), d.as_os_str()], &out);
        assert_eq!(code, 0, "tachylog decode {}", d.display());
        rss
    };
    let base = measure(&one);
    let peak = measure(&many);
    assert_eq!(count_lines(&out), SEGMENTS as usize * RECORDS as usize);
    let growth = peak.saturating_sub(base);
    // The segments the merge may keep for records it holds, the one being read and the next
    // one being loaded, and a margin for the rest (the records themselves are a few KiB).
    let bound = MAX_PINNED_BYTES as u64 + 2 * size + (16 << 20);
    println!(
        "reader memory: decode: {SEGMENTS} unsealed segments of {:.0} MiB, {RECORDS} records each \
         ({:.1} KiB of records); peak RSS {:.1} MiB, baseline (one segment) {:.1} MiB, growth \
         {:.1} MiB (limit {:.0} MiB)",
        size as f64 / MIB,
        record_bytes as f64 / 1024.0,
        peak as f64 / MIB,
        base as f64 / MIB,
        growth as f64 / MIB,
        bound as f64 / MIB
    );
    assert!(
        growth < bound,
        "decode of {SEGMENTS} unsealed segments of {size} bytes grew {growth} bytes over one"
    );
}

#[test]
fn a_format_string_of_huge_widths_renders_a_capped_message_in_linear_time() {
    const PLACEHOLDERS: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (forged, linear) = (dir.path().join("forged"), dir.path().join("linear"));
    std::fs::create_dir(&forged).unwrap();
    std::fs::create_dir(&linear).unwrap();
    // One record of a call site that pads its one argument to 65,535 characters 20,000 times:
    // 1.3 GB of message from 180 KB of segment.
    let mut seg = started_header(1, 4242, 0).to_vec();
    thread(&mut seg);
    let format = "{0:65535}".repeat(PLACEHOLDERS);
    frame(&mut seg, Kind::Callsite, &callsite(1, &format, 1, 0));
    let mut batch = Batch::default();
    batch.record(1, 1, &[&[tag::U32][..], &7u32.to_le_bytes()].concat());
    batch.flush(&mut seg);
    seal(&mut seg, 1, 1);
    let input = seg.len() as u64;
    std::fs::write(forged.join(tachylog::segment_file_name("forge", 1)), &seg).unwrap();
    // A segment of the same size with ordinary records: the linear pass to compare with.
    let linear_seg = linear.join(tachylog::segment_file_name("forge", 1));
    forge(&linear_seg, 1, (input / 1100) as u32, Shape::Text(1000));
    let decode = |d: &Path, limit: Duration| {
        let run = run_within(&[OsStr::new("decode"), d.as_os_str()], &out, limit);
        if let Some(r) = run {
            assert_eq!(r.code, 0, "tachylog decode {}", d.display());
        }
        run
    };
    // The quicker of two runs: the machine may be busy.
    let base = (0..2)
        .map(|_| decode(&linear, Duration::MAX).unwrap())
        .min_by_key(|r| r.wall)
        .unwrap();
    // Twenty times the linear pass, and at least two seconds (a loaded machine's noise): the
    // message asked for took 12 s to render before it was capped.
    let limit = (base.wall * 20).max(Duration::from_secs(2));
    let run = decode(&forged, limit);
    let Some(run) = run else {
        panic!(
            "decoding {input} bytes of huge widths took more than {limit:?} ({:?} for {} bytes \
             of ordinary records)",
            base.wall,
            std::fs::metadata(&linear_seg).unwrap().len()
        );
    };
    let growth = run.peak_rss.saturating_sub(base.peak_rss);
    let bound = 16 * MAX_MESSAGE_BYTES as u64 + 10 * input;
    println!(
        "reader memory: decode: {PLACEHOLDERS} placeholders of width 65535 ({:.0} KiB) in {:.0} \
         ms, peak RSS {:.1} MiB; ordinary records of the same size in {:.0} ms, peak RSS {:.1} \
         MiB; growth {:.1} MiB (limit {:.0} MiB)",
        input as f64 / 1024.0,
        run.wall.as_secs_f64() * 1e3,
        run.peak_rss as f64 / MIB,
        base.wall.as_secs_f64() * 1e3,
        base.peak_rss as f64 / MIB,
        growth as f64 / MIB,
        bound as f64 / MIB
    );
    assert!(
        growth < bound,
        "decoding {input} bytes of huge widths grew {growth} bytes over ordinary records"
    );
    // The message: as `format!` writes it, up to the cap, then the marker.
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 1);
    let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    let msg = line["msg"].as_str().unwrap();
    let body = msg
        .strip_suffix(TRUNCATED)
        .unwrap_or_else(|| panic!("no truncation marker at the end of {} bytes", msg.len()));
    let whole = format!("{:65535}", 7u32).repeat(MAX_MESSAGE_BYTES / 65535 + 1);
    assert_eq!(body.len(), MAX_MESSAGE_BYTES);
    assert!(
        body == &whole[..MAX_MESSAGE_BYTES],
        "the message differs from format!'s"
    );
}

#[test]
fn many_one_record_sealed_segments_decode_with_few_of_them_open() {
    // A quiet service rotating every second makes such a directory in a day: 70,000 segments of
    // one record, each mapped to be read. Held for time ordering, each record kept its
    // segment mapped, until `decode` died past `vm.max_map_count` (65,530 by default).
    let segments: u64 = if long() { 70_000 } else { 2_000 };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (many, one) = (dir.path().join("many"), dir.path().join("one"));
    std::fs::create_dir(&many).unwrap();
    std::fs::create_dir(&one).unwrap();
    let mut input = 0;
    for seq in 1..=segments {
        input += forge(
            &many.join(tachylog::segment_file_name("quiet", seq)),
            seq,
            0,
            Shape::Text(0),
        );
    }
    forge(
        &one.join(tachylog::segment_file_name("quiet", 1)),
        1,
        0,
        Shape::Text(0),
    );
    let measure = |d: &Path| {
        let (code, rss) = peak_rss(&[OsStr::new("decode"), d.as_os_str()], &out);
        assert_eq!(code, 0, "tachylog decode {}", d.display());
        rss
    };
    let base = measure(&one);
    let started = Instant::now();
    let peak = measure(&many);
    let took = started.elapsed();
    assert_eq!(count_lines(&out), segments as usize);
    let growth = peak.saturating_sub(base);
    // Each segment kept mapped costs at least a page of it resident, and a mapping; a record
    // held, copied out of its segment, with its place in the window and what it shares with
    // its segment (thread, call-site list, file name), takes well under a KiB.
    let bound = segments * 1024 + (2 << 20);
    println!(
        "reader memory: decode: {segments} sealed segments of one record ({:.1} MiB) in {:.1} s, \
         peak RSS {:.1} MiB, baseline {:.1} MiB, growth {:.1} MiB (limit {:.1} MiB)",
        input as f64 / MIB,
        took.as_secs_f64(),
        peak as f64 / MIB,
        base as f64 / MIB,
        growth as f64 / MIB,
        bound as f64 / MIB
    );
    assert!(
        growth < bound,
        "decode of {segments} one-record segments grew {growth} bytes over one"
    );
}

#[test]
fn named_placeholders_render_in_linear_time() {
    const ARGS: usize = 20_000;
    const RECORDS: u32 = 10;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (forged, linear) = (dir.path().join("forged"), dir.path().join("linear"));
    std::fs::create_dir(&forged).unwrap();
    std::fs::create_dir(&linear).unwrap();
    // A call site of 20,000 named arguments whose format string names the last one 20,000
    // times: looking each name up among the arguments is 400 million comparisons a record.
    let mut seg = started_header(1, 4242, 0).to_vec();
    thread(&mut seg);
    let names: Vec<String> = (0..ARGS).map(|i| format!("a{i}")).collect();
    let format = format!("{{a{}}}", ARGS - 1).repeat(ARGS);
    frame(
        &mut seg,
        Kind::Callsite,
        &callsite_named(1, &format, &names, 0),
    );
    let mut batch = Batch::default();
    let values: Vec<u8> = (0..ARGS as u32)
        .flat_map(|v| [&[tag::U32][..], &v.to_le_bytes()].concat())
        .collect();
    for _ in 0..RECORDS {
        batch.record(1, 1, &values);
    }
    batch.flush(&mut seg);
    seal(&mut seg, 1, RECORDS.into());
    let input = seg.len() as u64;
    std::fs::write(forged.join(tachylog::segment_file_name("forge", 1)), &seg).unwrap();
    // A segment of the same size with ordinary records: the linear pass to compare with.
    let linear_seg = linear.join(tachylog::segment_file_name("forge", 1));
    forge(&linear_seg, 1, (input / 1100) as u32, Shape::Text(1000));
    let decode = |d: &Path, limit: Duration| {
        let run = run_within(&[OsStr::new("decode"), d.as_os_str()], &out, limit);
        if let Some(r) = run {
            assert_eq!(r.code, 0, "tachylog decode {}", d.display());
        }
        run
    };
    let base = (0..2)
        .map(|_| decode(&linear, Duration::MAX).unwrap())
        .min_by_key(|r| r.wall)
        .unwrap();
    // Twenty times the linear pass, and at least two seconds (a loaded machine's noise).
    let limit = (base.wall * 20).max(Duration::from_secs(2));
    let Some(run) = decode(&forged, limit) else {
        panic!(
            "decoding {input} bytes of named placeholders took more than {limit:?} ({:?} for \
             the same size of ordinary records)",
            base.wall
        );
    };
    println!(
        "reader memory: decode: {RECORDS} records of {ARGS} named placeholders ({:.0} KiB) in \
         {:.0} ms; ordinary records of the same size in {:.0} ms (limit {:.0} ms)",
        input as f64 / 1024.0,
        run.wall.as_secs_f64() * 1e3,
        base.wall.as_secs_f64() * 1e3,
        limit.as_secs_f64() * 1e3
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), RECORDS as usize);
    for line in text.lines() {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(line["msg"] == format!("{}", ARGS - 1).repeat(ARGS));
    }
}
