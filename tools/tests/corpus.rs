//! The compatibility corpus in `tests/corpus/`: segment files written by an earlier release of
//! the library, with what that release's `tachylog` printed for them. Every command recorded in
//! `tests/corpus/<case>/expected/` runs again here and must give the same stdout, stderr and
//! exit status, byte for byte, so a restructuring of the reader, the decoder or the output
//! formats can show that it changed nothing.
//!
//! The corpus comes from `examples/make_corpus.rs` (how to regenerate it is described there
//! and in `tests/corpus/README.md`). A difference here is a change in behaviour: fix it, unless
//! an issue asks for that change, in which case regenerate the corpus in the same commit.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tachylog::wire::{self, FRAME_HEADER_LEN, HEADER_LEN, Kind};
use tachylog_fmt::Value;

/// The cases `examples/make_corpus.rs` writes. Each must be there, with segments.
const CASES: [&str; 5] = ["values", "rotated", "lz4", "killed", "damaged"];

/// The commands recorded for every case (`expected/<name>.args`, `.stdout`, `.stderr`,
/// `.status`).
const COMMANDS: [&str; 6] = [
    "decode-json",
    "decode-text",
    "decode-logfmt",
    "verify",
    "stats",
    "stats-json",
];

/// Commands run in this time zone, 13 h 45 min east of UTC (a POSIX `TZ` string, so it needs
/// no time-zone database), while the corpus was recorded in UTC: output that depended on the
/// local time zone would differ.
const TZ: &str = "<+1345>-13:45";

const REGENERATE: &str = "if the change is intended (an issue asks for it), regenerate the \
    corpus: cargo build -p tachylog-cli --bin tachylog && cargo run --example make_corpus";

fn corpus() -> PathBuf {
    // tools/ -> the repository root.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    root.join("tests/corpus")
}

fn case_dir(case: &str) -> PathBuf {
    corpus().join(case)
}

/// The segment files of a case, in reading order; fails if there are none.
fn segments(case: &str) -> Vec<PathBuf> {
    let dir = case_dir(case);
    let files = tachylog::reader::segment_files(&dir)
        .unwrap_or_else(|e| panic!("corpus case {case}: {e} ({REGENERATE})"));
    assert!(
        !files.is_empty(),
        "corpus case {case}: no segment files in {}",
        dir.display()
    );
    files
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "corpus file {}: {e} (a missing expected file fails the test)",
            path.display()
        )
    })
}

/// Copies a case's files (not `expected/`) into `to`, so the commands run from a directory
/// other than the one the corpus was recorded in.
fn copy_case(case: &str, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(case_dir(case)).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Where `actual` first differs from `expected`, by line, shown with both lines.
fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let show = |l: Option<&[u8]>| match l {
        None => "(no such line)".to_string(),
        Some(l) => {
            let s = String::from_utf8_lossy(l);
            if s.chars().count() > 300 {
                format!("{:?}...", s.chars().take(300).collect::<String>())
            } else {
                format!("{s:?}")
            }
        }
    };
    let (mut e, mut a) = (
        expected.split(|&b| b == b'\n'),
        actual.split(|&b| b == b'\n'),
    );
    let mut n = 1;
    loop {
        match (e.next(), a.next()) {
            (None, None) => return "the same lines, yet different bytes".into(),
            (x, y) if x == y => n += 1,
            (x, y) => {
                return format!(
                    "first difference at line {n} ({} bytes expected, {} actual)\n      \
                     expected: {}\n      actual:   {}",
                    expected.len(),
                    actual.len(),
                    show(x),
                    show(y)
                );
            }
        }
    }
}

/// Runs every recorded command of every case and compares what it prints with the record.
#[test]
fn corpus_commands_print_what_was_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in CASES {
        segments(case);
        let exp = case_dir(case).join("expected");
        // Every recorded command is a known one: a stray record would otherwise go unchecked.
        let recorded: BTreeSet<String> = std::fs::read_dir(&exp)
            .unwrap_or_else(|e| panic!("{}: {e} ({REGENERATE})", exp.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|n| n.strip_suffix(".args").map(str::to_owned))
            .collect();
        let known: BTreeSet<String> = COMMANDS.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            recorded,
            known,
            "corpus case {case}: the recorded commands in {} are not the expected set",
            exp.display()
        );
        let dir = tmp.path().join(case);
        copy_case(case, &dir);
        for name in COMMANDS {
            let file = |ext: &str| exp.join(format!("{name}.{ext}"));
            let args = String::from_utf8(read(&file("args"))).unwrap();
            let args: Vec<&str> = args.lines().collect();
            assert!(!args.is_empty(), "{}: no arguments", file("args").display());
            let want_stdout = read(&file("stdout"));
            let want_stderr = read(&file("stderr"));
            let want_status = String::from_utf8(read(&file("status"))).unwrap();
            let want_status: i32 = want_status
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{}: {e}: {want_status:?}", file("status").display()));
            let out = Command::new(env!("CARGO_BIN_EXE_tachylog"))
                .args(&args)
                .current_dir(&dir)
                .env("TZ", TZ)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let label = format!("{case}: tachylog {}", args.join(" "));
            let status = out.status.code();
            if status != Some(want_status) {
                failures.push(format!(
                    "{label}: exit status {status:?}, recorded {want_status}"
                ));
            }
            for (what, want, got) in [
                ("stdout", &want_stdout, &out.stdout),
                ("stderr", &want_stderr, &out.stderr),
            ] {
                if want != got {
                    failures.push(format!(
                        "{label}: {what} differs from {}: {}",
                        file(what).display(),
                        first_difference(want, got)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences from the corpus:\n  {}\n\n{REGENERATE}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// A frame whose checksum verifies, found by walking a segment's frame headers.
fn frame_kinds(data: &[u8]) -> Vec<u16> {
    let mut kinds = Vec::new();
    let mut off = HEADER_LEN;
    while off + FRAME_HEADER_LEN <= data.len() {
        let h = &data[off..off + FRAME_HEADER_LEN];
        let len = u32::from_le_bytes(h[0..4].try_into().unwrap()) as usize;
        let kind = u16::from_le_bytes(h[4..6].try_into().unwrap());
        let crc = u32::from_le_bytes(h[8..12].try_into().unwrap());
        if len == 0 && kind == 0 {
            break;
        }
        let start = off + FRAME_HEADER_LEN;
        let Some(end) = start.checked_add(len).filter(|&e| e <= data.len()) else {
            break;
        };
        if wire::frame_crc(&h[..8], &data[start..end]) == crc {
            kinds.push(kind);
        }
        off = wire::align_up(end);
    }
    kinds
}

/// The frame kinds of a case's segments (compressed ones decompressed).
fn case_kinds(case: &str) -> BTreeSet<u16> {
    segments(case)
        .iter()
        .flat_map(|p| {
            let data = tachylog::reader::load_segment(p)
                .unwrap_or_else(|e| panic!("corpus case {case}: {e}"));
            frame_kinds(&data)
        })
        .collect()
}

/// The corpus keeps covering every frame kind, and each case what it is there for.
#[test]
fn corpus_covers_every_frame_kind() {
    use Kind::*;
    let all = [Callsite, Thread, Records, Dropped, Anchor, End, Sampled];
    let want: [(&str, &[Kind]); 5] = [
        ("values", &[Callsite, Thread, Records, Anchor, End]),
        (
            "rotated",
            &[Callsite, Thread, Records, Dropped, Anchor, End, Sampled],
        ),
        ("lz4", &[Callsite, Thread, Records, End]),
        ("killed", &[Callsite, Thread, Records]),
        ("damaged", &[Callsite, Thread, Records, End]),
    ];
    let mut seen = BTreeSet::new();
    for (case, kinds) in want {
        let have = case_kinds(case);
        for k in kinds {
            assert!(
                have.contains(&(*k as u16)),
                "corpus case {case} has no {k:?} frame"
            );
        }
        seen.extend(have);
    }
    for k in all {
        assert!(seen.contains(&(k as u16)), "no {k:?} frame in the corpus");
    }

    // Several segments through rotation.
    assert!(
        segments("rotated").len() >= 3,
        "rotated: fewer than 3 segments"
    );
    // Compressed segments only.
    let lz4 = segments("lz4");
    assert!(lz4.len() >= 2, "lz4: fewer than 2 segments");
    for p in &lz4 {
        assert!(
            p.to_string_lossy().ends_with(".tlog.lz4"),
            "lz4: {} is not compressed",
            p.display()
        );
    }
    // One segment left unsealed at its full reservation by a killed writer.
    let killed = segments("killed");
    assert_eq!(killed.len(), 1, "killed: want one segment");
    let data = read(&killed[0]);
    let flags = u32::from_le_bytes(
        data[wire::FLAGS_OFFSET..wire::FLAGS_OFFSET + 4]
            .try_into()
            .unwrap(),
    );
    let size = u64::from_le_bytes(data[56..64].try_into().unwrap());
    assert_eq!(
        flags & wire::FLAG_SEALED,
        0,
        "killed: the segment is sealed"
    );
    assert_eq!(data.len() as u64, size, "killed: not the full reservation");
    // Two damaged copies; the verify record says so.
    assert_eq!(segments("damaged").len(), 2, "damaged: want two segments");
    let verify = read(&case_dir("damaged").join("expected/verify.stdout"));
    let verify = String::from_utf8_lossy(&verify);
    assert!(
        verify.contains("frame checksum mismatch") && verify.contains("tail torn"),
        "damaged: the recorded verify output shows no corruption and torn tail:\n{verify}"
    );
}

fn value_kind(v: &Value<'_>, out: &mut BTreeSet<&'static str>) {
    let kind = match v {
        Value::U8(_) => "u8",
        Value::U16(_) => "u16",
        Value::U32(_) => "u32",
        Value::U64(_) => "u64",
        Value::U128(_) => "u128",
        Value::I8(_) => "i8",
        Value::I16(_) => "i16",
        Value::I32(_) => "i32",
        Value::I64(_) => "i64",
        Value::I128(_) => "i128",
        Value::F32(_) => "f32",
        Value::F64(_) => "f64",
        Value::Bool(_) => "bool",
        Value::Char(_) => "char",
        Value::Str(_) => "str",
        Value::Pre(_) => "pre",
        Value::Formatted(_) => "formatted",
        Value::None => "none",
        Value::Some(inner) => {
            value_kind(inner, out);
            "some"
        }
    };
    out.insert(kind);
}

/// The `values` case keeps a field of every value type format version 1 has (the corpus was
/// written in version 1; version 2's text formatted with its spec is not in it).
#[test]
fn corpus_covers_every_value_type() {
    let mut seen = BTreeSet::new();
    for ev in tachylog::reader::Reader::open([case_dir("values")]).unwrap() {
        if let Ok(tachylog::reader::Event::Record(r)) = ev {
            for (_, v) in r.fields().unwrap() {
                value_kind(&v, &mut seen);
            }
        }
    }
    let all = [
        "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128", "f32", "f64", "bool",
        "char", "str", "pre", "none", "some",
    ];
    let missing: Vec<&str> = all.into_iter().filter(|k| !seen.contains(k)).collect();
    assert!(missing.is_empty(), "values: no field of type {missing:?}");
}
