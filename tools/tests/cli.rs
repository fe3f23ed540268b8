//! The `tachylog` binary on segments this test writes.
use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tachylog::{Builder, Overflow};

static SERIAL: Mutex<()> = Mutex::new(());

/// Logs `n` records from two named threads into a fresh directory, flushing often so the
/// segment holds many frames; returns the directory.
fn write_logs(n: u64, dropped_too: bool) -> tempfile::TempDir {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new()
        .dir(dir.path())
        .name("cli")
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    let hs: Vec<_> = (0..2u64)
        .map(|t| {
            std::thread::Builder::new()
                .name(format!("worker-{t}"))
                .spawn(move || {
                    for i in 0..n {
                        tachylog::info!(target: "app::orders", id = i, side = "buy", "order {} from {t} at {:.2}", i, 1.5f64);
                        if i % 50 == 0 {
                            tachylog::flush();
                        }
                    }
                })
                .unwrap()
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    tachylog::error!("quote \" backslash \\ esc \u{1b}[2J nl \n end");
    drop(g);
    if dropped_too {
        // A second run whose ring overflows, so notices appear in the output.
        let g = Builder::new()
            .dir(dir.path())
            .name("cli")
            .ring_capacity(4096)
            .drain_idle(std::time::Duration::from_millis(50))
            .init()
            .unwrap();
        // Every 500th record is larger than the ring: it is dropped and counted whatever the
        // drain's pace (a woken drain may keep up with the rest).
        let big = "x".repeat(8192);
        for i in 0..5_000u32 {
            if i % 500 == 0 {
                tachylog::info!("flood {} {}", i, big);
            } else {
                tachylog::info!("flood {}", i);
            }
        }
        drop(g);
    }
    dir
}

fn bin() -> Command {
    Command::cargo_bin("tachylog").unwrap()
}

fn segment(dir: &Path) -> PathBuf {
    tachylog::reader::segment_files(dir).unwrap().remove(0)
}

#[test]
fn decode_json_has_the_documented_schema() {
    let dir = write_logs(300, true);
    let out = bin()
        .args(["decode"])
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let keys = [
        "ts", "level", "target", "thread", "tid", "file", "line", "msg", "fields",
    ];
    for v in &lines {
        let obj = v.as_object().unwrap();
        assert_eq!(
            obj.keys().map(String::as_str).collect::<Vec<_>>().len(),
            keys.len(),
            "{v}"
        );
        for k in keys {
            assert!(obj.contains_key(k), "missing {k} in {v}");
        }
        let ts = obj["ts"].as_str().unwrap();
        assert!(
            ts.len() == 30 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
            "{ts}"
        );
    }
    let orders: Vec<_> = lines
        .iter()
        .filter(|v| v["target"] == "app::orders")
        .collect();
    assert_eq!(orders.len(), 600);
    let first = orders
        .iter()
        .find(|v| v["fields"]["id"] == 7 && v["thread"] == "worker-1")
        .unwrap();
    assert_eq!(first["msg"], "order 7 from 1 at 1.50");
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["fields"]["side"], "buy");
    assert_eq!(first["file"], "tools/tests/cli.rs");
    assert!(first["tid"].as_u64().unwrap() > 0);
    let err = lines.iter().find(|v| v["level"] == "ERROR").unwrap();
    assert_eq!(err["msg"], "quote \" backslash \\ esc \u{1b}[2J nl \n end");
    assert!(
        !text.contains('\u{1b}'),
        "raw escape bytes never reach the output"
    );
    // Drop notices are their own lines, and their counts add up.
    let notices: Vec<_> = lines.iter().filter(|v| v["target"] == "tachylog").collect();
    assert!(!notices.is_empty());
    let dropped: u64 = notices
        .iter()
        .map(|v| v["fields"]["dropped"].as_u64().unwrap())
        .sum();
    let floods = lines
        .iter()
        .filter(|v| v["msg"].as_str().unwrap().starts_with("flood "))
        .count() as u64;
    assert!(notices.iter().all(|v| v["level"] == "WARN"));
    assert_eq!(floods + dropped, 5_000);
}

#[test]
fn decode_text_is_one_readable_line_per_record() {
    let dir = write_logs(10, false);
    let out = bin()
        .args(["decode", "--format", "text"])
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 21);
    assert!(
        text.lines().any(
            |l| l.contains(" INFO  app::orders worker-0: order 3 from 0 at 1.50 id=3 side=buy")
        ),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "terminal escapes are neutralised");
    assert!(text.contains("\\u{1b}[2J"));
}

#[test]
fn missing_paths_and_non_segments_exit_2() {
    bin()
        .args(["decode", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("/definitely/not/here"));
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.tlog");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    bin()
        .arg("decode")
        .arg(&junk)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a tachylog segment"));
}

#[test]
fn unsupported_version_is_refused_clearly() {
    let dir = write_logs(5, false);
    let seg = segment(dir.path());
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[8] = 99; // version field
    std::fs::write(&seg, bytes).unwrap();
    bin()
        .arg("decode")
        .arg(&seg)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "unsupported segment format version 99",
        ));
}

#[test]
fn corrupt_frame_is_reported_with_offset_and_the_rest_decodes() {
    let dir = write_logs(300, false);
    let seg = segment(dir.path());
    let clean = bin()
        .arg("decode")
        .arg(&seg)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let total = clean
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let mut bytes = std::fs::read(&seg).unwrap();
    // Damage one byte inside the RECORDS frame nearest the middle of the file: exactly that
    // frame's records are lost, whatever way the drain grouped records into frames.
    let (at, lost) = records_frame_near_middle(&bytes);
    bytes[at] ^= 0xff;
    std::fs::write(&seg, bytes).unwrap();
    let out = bin().arg("decode").arg(&seg).assert().code(1);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("corrupt data at byte offset"), "{stderr}");
    assert!(
        stderr.contains(seg.file_name().unwrap().to_str().unwrap()),
        "{stderr}"
    );
    let kept = out
        .get_output()
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(
        kept,
        total - lost,
        "kept {kept} of {total}, {lost} in the damaged frame"
    );
}

/// A byte inside the payload of the RECORDS frame nearest the middle of segment `bytes`, past
/// its head, and how many records that frame holds.
fn records_frame_near_middle(bytes: &[u8]) -> (usize, usize) {
    use tachylog::wire::{FRAME_HEADER_LEN, FrameHeader, HEADER_LEN, Kind, RecordsHead, align_up};
    let mut frames = Vec::new();
    let mut off = HEADER_LEN;
    while off + FRAME_HEADER_LEN <= bytes.len() {
        let h: FrameHeader = bytemuck::pod_read_unaligned(&bytes[off..off + FRAME_HEADER_LEN]);
        if h.len == 0 && h.kind == 0 {
            break;
        }
        if h.kind == Kind::Records as u16 {
            let p = off + FRAME_HEADER_LEN;
            let head: RecordsHead =
                bytemuck::pod_read_unaligned(&bytes[p..p + size_of::<RecordsHead>()]);
            frames.push((p + size_of::<RecordsHead>() + 1, head.count as usize));
        }
        off += align_up(FRAME_HEADER_LEN + h.len as usize);
    }
    let mid = bytes.len() / 2;
    *frames
        .iter()
        .min_by_key(|(at, _)| at.abs_diff(mid))
        .expect("the segment has RECORDS frames")
}

#[test]
fn help_lists_the_subcommand_and_formats() {
    let out = bin()
        .args(["decode", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(out).unwrap();
    assert!(
        help.contains("--format") && help.contains("json") && help.contains("text"),
        "{help}"
    );
}

#[test]
fn decode_help_shows_each_example_on_its_own_line() {
    let out = bin().args(["decode", "--help"]).assert().success();
    let help = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for example in [
        "  tachylog decode logs/\n",
        "  tachylog decode -f text --level warn --since 10m logs/\n",
        "  tachylog decode --target app::db --grep 'timeout|refused' logs/ | less\n",
        "  tachylog decode --follow -f text logs/\n",
    ] {
        assert!(
            help.contains(&format!("\n{example}")),
            "{example:?} is not a line of its own in:\n{help}"
        );
    }
}

/// `--target` keeps a target and those below it on a `::` boundary, not every target that
/// starts with the same letters; `--since` takes an RFC 3339 time with an offset.
#[test]
fn target_matches_path_boundaries_and_since_takes_any_offset() {
    let dir = tempfile::tempdir().unwrap();
    let start = {
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let g = Builder::new().dir(dir.path()).init().unwrap();
        tachylog::info!(target: "fmt", "a");
        tachylog::info!(target: "fmt::x", "b");
        tachylog::info!(target: "fmtx", "c");
        drop(g);
        std::time::SystemTime::now()
    };
    let messages = |args: &[&str]| -> Vec<String> {
        let out = bin()
            .arg("decode")
            .args(args)
            .arg(dir.path())
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["msg"].to_string())
            .collect()
    };
    assert_eq!(messages(&["--target", "fmt"]), ["\"a\"", "\"b\""]);
    assert_eq!(messages(&["--target", "fmtx"]), ["\"c\""]);
    // An hour east of UTC, a minute before and after the records were written.
    let at = |t: std::time::SystemTime| {
        let utc = humantime::format_rfc3339_seconds(t + std::time::Duration::from_secs(3600));
        utc.to_string().replace('Z', "+01:00")
    };
    let minute = std::time::Duration::from_secs(60);
    assert_eq!(messages(&["--since", &at(start - minute)]).len(), 3);
    assert!(messages(&["--since", &at(start + minute)]).is_empty());
    assert_eq!(messages(&["--until", &at(start + minute)]).len(), 3);
}

/// `tachylog recover DIR`: a segment a dead writer left unsealed (a copy of a live one: its
/// bytes, without the writer's lock) is cut, sealed and reported; its records then decode and
/// verify cleanly, and a second run finds nothing to do.
#[test]
fn recover_seals_a_dead_writers_segment_and_reports_it() {
    let live = tempfile::tempdir().unwrap();
    let dead = tempfile::tempdir().unwrap();
    {
        let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let g = Builder::new()
            .dir(live.path())
            .name("r")
            .segment_size(1 << 20)
            .init()
            .unwrap();
        for i in 0..100u64 {
            tachylog::info!("record {}", i);
        }
        tachylog::flush();
        let seg = segment(live.path());
        std::fs::copy(&seg, dead.path().join(seg.file_name().unwrap())).unwrap();
        drop(g);
    }
    let copy = segment(dead.path());
    assert_eq!(
        std::fs::metadata(&copy).unwrap().len(),
        1 << 20,
        "unsealed, full size"
    );
    let out = bin().arg("recover").arg(dead.path()).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("recovered - 100 records"), "{stdout}");
    assert!(stdout.ends_with("1 segments recovered\n"), "{stdout}");
    assert!(
        std::fs::metadata(&copy).unwrap().len() < 1 << 20,
        "cut to its frames"
    );
    let verified = bin().arg("verify").arg(dead.path()).assert().success();
    let report = String::from_utf8_lossy(&verified.get_output().stdout).into_owned();
    assert!(
        report
            .contains("100 records, 0 dropped, tail sealed (recovered: its writer died unsealed)"),
        "{report}"
    );
    let decoded = bin().arg("decode").arg(dead.path()).assert().success();
    let lines = decoded
        .get_output()
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty());
    assert_eq!(lines.count(), 100);
    bin()
        .arg("recover")
        .arg(dead.path())
        .assert()
        .success()
        .stdout("0 segments recovered\n");
}
