//! Writes the compatibility corpus in `tests/corpus/`: small segment files written by this
//! release of the library, and what this release's `tachylog` command line prints for them.
//! `tools/tests/corpus.rs` runs the same commands on the committed files and compares stdout,
//! stderr and the exit status byte for byte, so a later change to the reader, the decoder or
//! the output formats shows up as a difference.
//!
//! To regenerate (from the repository root):
//!
//! ```sh
//! cargo build -p tachylog-cli --bin tachylog
//! cargo run --features fault-injection --example make_corpus
//! cargo test -p tachylog-cli --test corpus
//! ```
//!
//! The first command builds the `tachylog` binary the expected outputs are recorded with; the
//! generator looks for it beside its own build directory (`target/debug/tachylog`), or at
//! `$TACHYLOG_BIN`. The last checks the new corpus against a freshly built binary (a stale one
//! would have recorded stale outputs). `cargo run --features fault-injection --example make_corpus -- DIR` writes the
//! corpus into `DIR` instead, to look at it without touching the committed one. What each case
//! holds is listed in `tests/corpus/README.md`; the generator prints the frames of each.
//!
//! Outputs are recorded with `TZ=UTC`, each command run in its case directory with `.` as the
//! input; the test runs them from a copy of the case in another directory and another time
//! zone, which shows that no output depends on either.
//!
//! Regenerating writes new segments: new timestamps, process and thread ids, and so new
//! expected outputs. The committed corpus is the record of what an earlier release wrote and
//! how it decoded; regenerate it only when an issue asks for a deliberate change to the format
//! or to the output, and say so in the commit. A restructuring that is meant to change nothing
//! must pass `cargo test -p tachylog-cli --test corpus` against the corpus as it is.
//!
//! Each case is written by a child process (this program, run again with `--case`), so that
//! every case starts from a fresh process: its own pid, call-site ids and producer ids.
use std::error::Error;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tachylog::wire::{self, FRAME_HEADER_LEN, HEADER_LEN, Kind};
use tachylog::{Builder, Level, Overflow};

type Res<T = ()> = Result<T, Box<dyn Error>>;

/// The cases, in the order they are written. `tools/tests/corpus.rs` lists the same names.
const CASES: [&str; 5] = ["values", "rotated", "lz4", "killed", "damaged"];

/// The commands recorded for every case: a name, then the arguments. Each runs with the case
/// directory as its working directory and `.` as the input, so no output holds an absolute
/// path. `tools/tests/corpus.rs` requires these names.
const COMMANDS: [(&str, &[&str]); 6] = [
    ("decode-json", &["decode", "-f", "json", "."]),
    (
        "decode-text",
        &["decode", "-f", "text", "--color", "never", "."],
    ),
    ("decode-logfmt", &["decode", "-f", "logfmt", "."]),
    ("verify", &["verify", "."]),
    ("stats", &["stats", "."]),
    ("stats-json", &["stats", "--json", "."]),
];

/// Records the `rotated` case's burst loses while the drain is stalled: 30 records of 226 bytes
/// (a 16-byte header, a `u32` and a 200-byte string) are logged into a 4 KiB ring, of which 18
/// fit (18 × 226 = 4068 bytes).
const BURST: u32 = 30;
const BURST_DROPPED: u64 = 12;

fn main() -> Res {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, case, dir] if flag == "--case" => child(case, Path::new(dir)),
        [] => generate(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")),
        [out] if !out.starts_with('-') => generate(Path::new(out)),
        _ => Err("usage: make_corpus [OUT_DIR]  (default: tests/corpus)".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The parent: runs the cases, then the command line on them.

fn generate(out: &Path) -> Res {
    let bin = tachylog_bin()?;
    std::fs::create_dir_all(out)?;
    let me = std::env::current_exe()?;
    let mut total = 0u64;
    for case in CASES {
        let dir = out.join(case);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        match case {
            "lz4" => {
                // Two runs of the writer, as a restarted service: the second continues after
                // the first's last sequence number.
                run_child(&me, case, &dir)?;
                run_child(&me, case, &dir)?;
            }
            "killed" => run_killed(&me, &dir)?,
            "damaged" => make_damaged(&me, &dir)?,
            _ => run_child(&me, case, &dir)?,
        }
        check_case(case, &dir)?;
        record(&bin, &dir)?;
        let (files, bytes) = list(&dir)?;
        total += bytes;
        println!("{case}: {bytes} bytes");
        for (name, len) in files {
            println!("  {len:>7}  {name}");
        }
        println!("  frames: {}", kinds_line(&dir)?);
    }
    println!("corpus: {total} bytes in {}", out.display());
    Ok(())
}

/// The `tachylog` binary: `$TACHYLOG_BIN`, or the one in the target directory this example was
/// built in.
fn tachylog_bin() -> Res<PathBuf> {
    let bin = match std::env::var_os("TACHYLOG_BIN") {
        Some(b) => PathBuf::from(b),
        None => {
            let exe = std::env::current_exe()?;
            // target/<profile>/examples/make_corpus -> target/<profile>/tachylog
            let profile = exe
                .parent()
                .and_then(Path::parent)
                .ok_or("cannot find the target directory")?;
            profile.join("tachylog")
        }
    };
    if !bin.is_file() {
        return Err(format!(
            "{} not found: run `cargo build -p tachylog-cli --bin tachylog` first, or set \
             TACHYLOG_BIN",
            bin.display()
        )
        .into());
    }
    Ok(bin)
}

fn run_child(me: &Path, case: &str, dir: &Path) -> Res {
    let status = Command::new(me).args(["--case", case]).arg(dir).status()?;
    if !status.success() {
        return Err(format!("case {case}: the writer failed ({status})").into());
    }
    Ok(())
}

/// The `killed` case: the child logs, flushes, says so, and is killed with SIGKILL, leaving its
/// segment unsealed (preallocated, zero after the last frame).
fn run_killed(me: &Path, dir: &Path) -> Res {
    let mut child = Command::new(me)
        .args(["--case", "killed"])
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    if line.trim() != "flushed" {
        let _ = child.kill();
        return Err(format!("killed: unexpected word from the child: {line:?}").into());
    }
    // `Child::kill` sends SIGKILL: nothing of the writer runs after it.
    child.kill()?;
    let status = child.wait()?;
    use std::os::unix::process::ExitStatusExt;
    if status.signal() != Some(libc::SIGKILL) {
        return Err(format!("killed: the child was not killed by SIGKILL ({status})").into());
    }
    Ok(())
}

/// The `damaged` case: a sealed segment written by a child, copied twice: once with four bytes
/// flipped in the middle of its second RECORDS frame (corruption: reported, then the reader
/// resynchronises at the next frame), once cut in the middle of its last RECORDS frame (a torn
/// tail). The good original is not kept.
fn make_damaged(me: &Path, dir: &Path) -> Res {
    let src = tempfile::tempdir()?;
    run_child(me, "damaged", src.path())?;
    let good = std::fs::read(src.path().join(tachylog::segment_file_name("src", 1)))?;
    let records: Vec<(usize, usize)> = frames(&good)
        .into_iter()
        .filter(|f| f.kind == Kind::Records as u16)
        .map(|f| (f.offset, f.len))
        .collect();
    if records.len() < 3 {
        return Err(format!("damaged: {} RECORDS frames, want 3 or more", records.len()).into());
    }
    let mut flipped = good.clone();
    let (off, len) = records[1];
    let mid = off + FRAME_HEADER_LEN + len / 2;
    for b in &mut flipped[mid..mid + 4] {
        *b ^= 0xff;
    }
    std::fs::write(dir.join(tachylog::segment_file_name("flipped", 1)), flipped)?;
    let (off, len) = records[records.len() - 1];
    let cut = off + FRAME_HEADER_LEN + len / 2;
    std::fs::write(
        dir.join(tachylog::segment_file_name("torn", 1)),
        &good[..cut],
    )?;
    Ok(())
}

/// Checks what each case must hold, so a regenerated corpus cannot quietly lose coverage.
fn check_case(case: &str, dir: &Path) -> Res {
    let kinds = case_kinds(dir)?;
    let want: &[Kind] = match case {
        "values" => &[
            Kind::Callsite,
            Kind::Thread,
            Kind::Records,
            Kind::Anchor,
            Kind::End,
        ],
        "rotated" => &[
            Kind::Callsite,
            Kind::Thread,
            Kind::Records,
            Kind::Dropped,
            Kind::Anchor,
            Kind::End,
            Kind::Sampled,
        ],
        _ => &[Kind::Callsite, Kind::Thread, Kind::Records],
    };
    for k in want {
        if !kinds.iter().any(|(kind, _)| *kind == *k as u16) {
            return Err(format!("{case}: no {k:?} frame").into());
        }
    }
    let files = segment_paths(dir)?;
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap_or_default().to_string_lossy().into())
        .collect();
    let ok = match case {
        "rotated" => files.len() >= 3,
        "lz4" => files.len() >= 2 && names.iter().all(|n| n.ends_with(".tlog.lz4")),
        "killed" => {
            files.len() == 1 && {
                let data = std::fs::read(&files[0])?;
                let h: wire::SegmentHeader = bytemuck::pod_read_unaligned(&data[..HEADER_LEN]);
                h.flags & wire::FLAG_SEALED == 0 && data.len() == h.segment_size as usize
            }
        }
        "damaged" => files.len() == 2,
        _ => !files.is_empty(),
    };
    if !ok {
        return Err(format!("{case}: unexpected segment files {names:?}").into());
    }
    Ok(())
}

/// Runs every command in `dir` and writes `expected/<name>.{args,stdout,stderr,status}`.
fn record(bin: &Path, dir: &Path) -> Res {
    let exp = dir.join("expected");
    std::fs::create_dir_all(&exp)?;
    for (name, args) in COMMANDS {
        let out = Command::new(bin)
            .args(args)
            .current_dir(dir)
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .output()?;
        let code = out.status.code().ok_or("the command line was killed")?;
        let mut argfile = String::new();
        for a in args {
            writeln!(argfile, "{a}")?;
        }
        std::fs::write(exp.join(format!("{name}.args")), argfile)?;
        std::fs::write(exp.join(format!("{name}.stdout")), &out.stdout)?;
        std::fs::write(exp.join(format!("{name}.stderr")), &out.stderr)?;
        std::fs::write(exp.join(format!("{name}.status")), format!("{code}\n"))?;
    }
    Ok(())
}

/// Every file under `dir`, relative, with its size; and the total.
fn list(dir: &Path) -> Res<(Vec<(String, u64)>, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(dir)?.to_string_lossy().into_owned();
                out.push((rel, e.metadata()?.len()));
            }
        }
    }
    out.sort();
    let total = out.iter().map(|f| f.1).sum();
    Ok((out, total))
}

fn segment_paths(dir: &Path) -> Res<Vec<PathBuf>> {
    Ok(tachylog::reader::segment_files(dir)?)
}

/// A frame as found by walking a segment's frame headers.
struct Frame {
    offset: usize,
    kind: u16,
    len: usize,
}

/// The frames of a segment whose checksums verify, walking frame headers from the first; stops
/// at an all-zero header or one whose length runs past the data.
fn frames(data: &[u8]) -> Vec<Frame> {
    let mut v = Vec::new();
    let mut off = HEADER_LEN;
    while off + FRAME_HEADER_LEN <= data.len() {
        let h: wire::FrameHeader = bytemuck::pod_read_unaligned(&data[off..off + FRAME_HEADER_LEN]);
        let (len, kind) = (h.len as usize, h.kind);
        if len == 0 && kind == 0 {
            break;
        }
        let start = off + FRAME_HEADER_LEN;
        let Some(end) = start.checked_add(len).filter(|&e| e <= data.len()) else {
            break;
        };
        if wire::frame_crc(&data[off..off + 8], &data[start..end]) == h.crc {
            v.push(Frame {
                offset: off,
                kind,
                len,
            });
        }
        off = wire::align_up(end);
    }
    v
}

/// Frames of each kind over a case's segments, by kind number.
fn case_kinds(dir: &Path) -> Res<Vec<(u16, u64)>> {
    let mut counts = std::collections::BTreeMap::new();
    for p in segment_paths(dir)? {
        let data = tachylog::reader::load_segment(&p)?;
        for f in frames(&data) {
            *counts.entry(f.kind).or_insert(0u64) += 1;
        }
    }
    Ok(counts.into_iter().collect())
}

fn kinds_line(dir: &Path) -> Res<String> {
    let mut s = String::new();
    for (k, n) in case_kinds(dir)? {
        let name = Kind::from_u16(k).map_or_else(|| format!("kind {k}"), |k| format!("{k:?}"));
        write!(s, "{name} {n}, ")?;
    }
    Ok(s.trim_end_matches(", ").to_owned())
}

// ---------------------------------------------------------------------------------------------
// The children: each writes one case's segments with the real library.

fn child(case: &str, dir: &Path) -> Res {
    match case {
        "values" => values(dir),
        "rotated" => rotated(dir),
        "lz4" => lz4(dir),
        "killed" => killed(dir),
        "damaged" => damaged_source(dir),
        _ => Err(format!("unknown case {case}").into()),
    }
}

/// Lets the drain's next pass write a clock anchor (it writes one when records flow and the
/// last is older than 10 ms).
fn let_anchor_age() {
    std::thread::sleep(Duration::from_millis(30));
}

/// Every value type, as arguments and as fields; format specs; every level; several targets;
/// named and unnamed threads.
fn values(dir: &Path) -> Res {
    let guard = Builder::new()
        .dir(dir)
        .name("values")
        .segment_size(64 << 10)
        .ring_capacity(8 << 10)
        .level(Level::Trace)
        .init()?;

    // Every level, then the same through `log!` with the level chosen at run time.
    tachylog::error!(target: "corpus::levels", "an error, code {}", 28u16);
    tachylog::warn!(target: "corpus::levels", "a warning at {}%", 80u8);
    tachylog::info!(target: "corpus::levels", "some information");
    tachylog::debug!(target: "corpus::levels", "debugging is {}", true);
    tachylog::trace!(target: "corpus::levels", "tracing {}", 'x');
    for level in [
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
        Level::Trace,
    ] {
        tachylog::log!(level, target: "corpus::dynamic", "level chosen at run time: {}", level.as_str());
    }
    tachylog::flush();

    // Integers.
    tachylog::info!(target: "corpus::ints", "unsigned max {} {} {} {} {} {}",
        u8::MAX, u16::MAX, u32::MAX, u64::MAX, usize::MAX, u128::MAX);
    tachylog::info!(target: "corpus::ints", "signed min {} {} {} {} {} {}",
        i8::MIN, i16::MIN, i32::MIN, i64::MIN, isize::MIN, i128::MIN);
    tachylog::info!(target: "corpus::ints", "signed max {} {} {} {} {} {}",
        i8::MAX, i16::MAX, i32::MAX, i64::MAX, isize::MAX, i128::MAX);
    tachylog::info!(target: "corpus::ints", "small {} {} {} {} {} {}",
        0u8, 1u16, -1i32, 42i64, -7i128, 1_000_000u64);
    tachylog::info!(target: "corpus::ints", "hex {:x} {:X} {:#x} {:#010x} {:08X} {:x}",
        255u32, 255u32, 3054u16, 48879u32, 48879u64, -1i8);
    tachylog::info!(target: "corpus::ints", "binary and octal {:b} {:#b} {:#010b} {:o} {:#o} {:b}",
        5u8, 5u8, 5u8, 64u32, 64u32, u128::MAX);
    tachylog::info!(target: "corpus::ints", "signs and padding {:+} {:+} {:+05} [{:<5}] [{:^7}] [{:>5}] {:05}",
        3i32, -3i32, 42i16, 7u8, -7i8, 0usize, -42i64);
    tachylog::info!(target: "corpus::ints", "debug forms {:?} {:x?} {:X?} {:#x?} {:#?}",
        -5i16, 255u8, 255u8, 255u8, 12u64);
    tachylog::info!(target: "corpus::ints", "integer exponents {:e} {:E} {:e}",
        1234u32, 1500i64, 0u8);

    // Floats.
    tachylog::info!(target: "corpus::floats", "f32 {} {} {} {} {} {} {}",
        1.5f32, -0.0f32, f32::MAX, f32::MIN_POSITIVE, f32::INFINITY, f32::NAN, 0.1f32);
    tachylog::info!(target: "corpus::floats", "f64 {} {} {} {} {} {} {}",
        std::f64::consts::PI, 1e300f64, -2.5e-300f64, f64::NEG_INFINITY, f64::NAN, 0.1f64 + 0.2, 1e21f64);
    tachylog::info!(target: "corpus::floats", "float specs {:?} {:?} {:e} {:E} {:.3} {:+.1} [{:10.4}] [{:<10.2}] [{:^+12.3e}] {:08.2}",
        1.0f64, 0.1f32, 1234.5f64, 0.00012f32, std::f64::consts::PI, 2.25f64,
        std::f64::consts::E, 1.005f64, 6.02e23f64, -3.25f32);
    tachylog::info!(target: "corpus::floats", "float debug {:?} {:?} {:?} {:?} {:#?}",
        f64::NAN, -0.0f64, 1e-7f64, 123456789.0f32, 0.5f64);

    // Booleans and characters.
    tachylog::info!(target: "corpus::text", "bools {} {:?} [{:>6}] [{:<6}] [{:^7}]",
        true, false, true, false, true);
    tachylog::info!(target: "corpus::text", "chars {} {:?} {:?} {:?} {:?} {} [{:>3}] {:?}",
        'a', 'é', '\n', '\'', '"', '🦀', 'z', '\u{0}');

    // Strings: borrowed, owned, empty, escapes, unicode, specs.
    let owned = String::from("an owned String");
    tachylog::info!(target: "corpus::text", "strings {} {:?} [{}] {:?} {}",
        "plain", "quote \" backslash \\ tab \t", "", owned, owned);
    tachylog::info!(target: "corpus::text", "escapes {} | {} | {:?}",
        "newline\nnext line", "controls \u{1} \u{1b}[2J \u{7f} \u{85} \u{2028} \u{2029} bidi \u{202e}", "\r\n\u{1}");
    tachylog::info!(target: "corpus::text", "unicode {} {:?} [{:>8}] [{:-^9}]",
        "grüße 日本 🦀", "ünïcödé", "日本", "ñ");
    tachylog::info!(target: "corpus::text", "string specs [{:>10}] [{:<10}] [{:^10}] [{:*^11}] [{:.3}] [{:>8.2}] [{:?}]",
        "right", "left", "mid", "star", "truncate", "ab", "dbg");

    // Options.
    let none: Option<u32> = None;
    tachylog::info!(target: "corpus::options", "options {:?} {:?} {:?} {:?} {:?}",
        none, Some(7u32), Some(Some("nested")), Some(-1.5f64), Some(None::<char>));
    tachylog::info!(target: "corpus::options", "pretty {:#?} and {:#?}", Some(7u32), none);

    // Text preformatted on the calling thread.
    tachylog::info!(target: "corpus::pre", "preformatted {} {:?} [{:>12}] [{:.4}] {}",
        tachylog::display(std::net::Ipv4Addr::new(10, 0, 0, 1)),
        tachylog::debug(vec![1, 2, 3]),
        tachylog::display("padded"),
        tachylog::display("truncated"),
        tachylog::debug(Duration::from_micros(1500)));
    tachylog::info!(target: "corpus::pre", "preformatted escapes {} {:?}",
        tachylog::display("tab\there"), tachylog::debug("quoted \"inner\""));

    // Positional, named and captured arguments; widths and precisions from arguments.
    let (user, qty, price) = ("ada", 3u32, 101.25f64);
    let (width, prec) = (10usize, 3usize);
    tachylog::info!(target: "corpus::args", "positional {0} {1} {0} and {{escaped braces}}", "a", "b");
    tachylog::info!(target: "corpus::args", "named {who} bought {n} at {p:.2}", who = user, n = qty, p = price);
    tachylog::info!(target: "corpus::args", "captured {user} bought {qty:>4} at {price:.1}");
    tachylog::info!(target: "corpus::args", "mixed {} {name} {qty} {}", 1u8, 2u8, name = "n");
    tachylog::info!(target: "corpus::args", "width and precision by name [{:>width$}] [{:.prec$}]", "w", std::f64::consts::PI);
    tachylog::info!(target: "corpus::args", "width by index [{:>1$}] precision star [{:.*}]", "x", 6usize, 1.23456f64);
    tachylog::info!(target: "corpus::args", "named width and precision [{v:>w$.p$}] [{v:<w$}]", v = 9.87654f64, w = 10usize, p = 2usize);

    // Fields.
    tachylog::info!(target: "corpus::fields", user = user, qty = qty, ok = true, "order placed");
    tachylog::info!(target: "corpus::fields", only = "fields", count = 2u8);
    tachylog::warn!(target: "corpus::fields", spaced = "a b=c \"d\"", empty = "", r#type = "raw", "fields that need quoting in logfmt");
    tachylog::info!(target: "corpus::fields", id = 17u64, "fields and arguments: {} of {}", 1u8, 2u8);
    tachylog::info!(target: "corpus::fields",
        none = None::<u8>, some = Some(1u8), nested = Some(Some(-2i16)),
        v_u8 = 8u8, v_u16 = 16u16, v_u32 = 32u32, v_u64 = 64u64, v_usize = 7usize, v_u128 = 128u128,
        v_i8 = -8i8, v_i16 = -16i16, v_i32 = -32i32, v_i64 = -64i64, v_isize = -7isize, v_i128 = -128i128,
        v_f32 = 0.25f32, v_f64 = -0.5f64, v_bool = false, v_char = 'λ',
        v_str = "a \"quoted\" str", v_string = String::from("owned"),
        v_display = tachylog::display(std::net::Ipv4Addr::LOCALHOST),
        v_debug = tachylog::debug(("tuple", 1)),
        "every value type as a field");
    tachylog::flush();

    // A pause, so the next records are preceded by a clock anchor.
    let_anchor_age();
    tachylog::info!(target: "corpus::anchor", "after a pause {}", 1u8);
    tachylog::flush();

    // Other threads: one named, one named with characters logfmt must quote, one unnamed.
    std::thread::Builder::new()
        .name("worker-1".into())
        .spawn(|| {
            for i in 0..3u32 {
                tachylog::info!(target: "corpus::threads", i = i, "from a named thread, {}", i);
            }
            tachylog::debug!(target: "corpus::threads", "named thread done");
        })?
        .join()
        .map_err(|_| "worker-1 panicked")?;
    std::thread::Builder::new()
        .name("render pool=2".into())
        .spawn(|| {
            tachylog::info!(target: "corpus::threads", "from a thread whose name has a space");
        })?
        .join()
        .map_err(|_| "render pool=2 panicked")?;
    std::thread::spawn(|| {
        for i in 0..2i32 {
            tachylog::warn!(target: "corpus::threads", "from an unnamed thread, {}", -i);
        }
    })
    .join()
    .map_err(|_| "unnamed thread panicked")?;
    tachylog::info!(target: "corpus::end", "values done");
    drop(guard);
    Ok(())
}

/// Deterministic filler text of `n` characters.
fn filler(seed: u32, n: usize) -> String {
    const WORDS: [&str; 8] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    ];
    let mut s = String::with_capacity(n + 8);
    let mut i = seed as usize;
    while s.len() < n {
        s.push_str(WORDS[i % WORDS.len()]);
        s.push(' ');
        i += 3;
    }
    s.truncate(n);
    s
}

/// Several segments through rotation (16 KiB each), a SAMPLED frame (sampling and a rate
/// limit), a DROPPED frame (a 4 KiB ring filling while the drain is stalled), clock anchors.
fn rotated(dir: &Path) -> Res {
    let guard = Builder::new()
        .dir(dir)
        .name("rotated")
        .segment_size(16 << 10)
        .ring_capacity(4 << 10)
        .overflow(Overflow::Drop)
        .level(Level::Debug)
        .init()?;

    // Large records, one frame each (a flush after every one keeps the ring from filling),
    // until the first segment is full and rotates.
    let mut seq = 0u32;
    bulk_until_segment(&mut seq, 2)?;

    // Sampling: one in four of ten records, then a rate limit of two a second on five. The
    // limit counts seconds of the monotonic clock, so five records logged within microseconds
    // keep two, unless a second boundary falls between them; that is checked below.
    let_anchor_age();
    for i in 0..10u32 {
        tachylog::info!(target: "corpus::sampled", sample = 4, "sampled {}", i);
    }
    for i in 0..5u32 {
        tachylog::debug!(target: "corpus::limited", limit = 2 / s, "limited {}", i);
    }
    tachylog::flush();
    // A clock anchor carries the sampled counts with it.
    let_anchor_age();
    tachylog::info!(target: "corpus::sampled", "after sampling");
    tachylog::flush();
    let mut sampled: Vec<(u64, u64)> = tachylog::sampling_stats()
        .iter()
        .map(|s| (s.kept, s.skipped))
        .collect();
    sampled.sort();
    if sampled != [(2, 3), (3, 7)] {
        return Err(format!(
            "rotated: sampling kept/skipped {sampled:?}, want [(2, 3), (3, 7)]: \
             a second boundary fell inside the rate-limited burst; run again"
        )
        .into());
    }

    // Drops: the drain sleeps for 500 ms at the start of its next pass (it passes at least
    // every millisecond while idle, so it is asleep after 50 ms); meanwhile the ring fills and
    // the rest of the burst is dropped under `Overflow::Drop`.
    tachylog::fault::stall_drain(Duration::from_millis(500));
    std::thread::sleep(Duration::from_millis(50));
    let pad = filler(99, 200);
    for i in 0..BURST {
        tachylog::info!(target: "corpus::burst", "burst {:02} {}", i, pad);
    }
    tachylog::flush();
    let dropped = tachylog::stats().records_dropped;
    if dropped != BURST_DROPPED {
        return Err(format!(
            "rotated: {dropped} records dropped, want {BURST_DROPPED}: the drain was not \
             stalled for the whole burst, or the record size changed"
        )
        .into());
    }

    // More large records: the second segment fills and rotates too.
    bulk_until_segment(&mut seq, 3)?;
    tachylog::warn!(target: "corpus::rotated", "warned after {} rotations", 2u8);
    tachylog::error!(target: "corpus::rotated", code = -1i32, "last record");
    drop(guard);
    Ok(())
}

/// Logs large records, each flushed into a frame of its own, until the logger has created
/// `segments` segments (the record that did not fit in the last one opens the next).
fn bulk_until_segment(seq: &mut u32, segments: u64) -> Res {
    while tachylog::stats().segments_created < segments {
        if *seq >= 100 {
            return Err(format!("rotated: no rotation to segment {segments}").into());
        }
        tachylog::info!(target: "corpus::bulk", seq = *seq, "bulk {}: {}", *seq, filler(*seq, 700));
        tachylog::flush();
        *seq += 1;
    }
    Ok(())
}

/// lz4-compressed sealed segments: one writer run; the parent runs it twice.
fn lz4(dir: &Path) -> Res {
    let guard = Builder::new()
        .dir(dir)
        .name("lz4")
        .segment_size(16 << 10)
        .ring_capacity(4 << 10)
        .compress(true)
        .init()?;
    // The live segment is the one raw `.tlog` file (earlier ones are compressed); its sequence
    // number tells the runs apart in the records.
    let run = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| tachylog::segment_seq("lz4", &e.file_name().to_string_lossy()))
        .max()
        .unwrap_or(0);
    for i in 0..4u32 {
        tachylog::info!(target: "corpus::lz4", run = run, "segment {} record {}: {}", run, i, "squeeze ".repeat(6));
    }
    std::thread::Builder::new()
        .name("lz4-worker".into())
        .spawn(move || {
            tachylog::warn!(target: "corpus::lz4", run = run, "from the worker in segment {}", run);
        })?
        .join()
        .map_err(|_| "lz4-worker panicked")?;
    drop(guard);
    Ok(())
}

/// The child of the `killed` case: logs, flushes, tells the parent, and waits to be killed.
fn killed(dir: &Path) -> Res {
    let _guard = Builder::new()
        .dir(dir)
        .name("killed")
        // The smallest segment the library accepts: an unsealed segment keeps its whole
        // reservation on disk.
        .segment_size(16 << 10)
        .ring_capacity(4 << 10)
        .init()?;
    for i in 0..6u32 {
        tachylog::info!(target: "corpus::killed", seq = i, "logged before the kill, {}", i);
    }
    std::thread::Builder::new()
        .name("doomed".into())
        .spawn(|| {
            tachylog::warn!(target: "corpus::killed", "the writer is about to be killed");
        })?
        .join()
        .map_err(|_| "doomed panicked")?;
    tachylog::flush();
    let mut out = std::io::stdout().lock();
    writeln!(out, "flushed")?;
    out.flush()?;
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The good segment the `damaged` case is cut from: records in several frames, sealed.
fn damaged_source(dir: &Path) -> Res {
    let guard = Builder::new()
        .dir(dir)
        .name("src")
        .segment_size(16 << 10)
        .ring_capacity(4 << 10)
        .init()?;
    for batch in 0..4u32 {
        for i in 0..3u32 {
            tachylog::info!(target: "corpus::damaged", batch = batch, "batch {} record {}", batch, i);
        }
        // One RECORDS frame per batch.
        tachylog::flush();
    }
    drop(guard);
    Ok(())
}
