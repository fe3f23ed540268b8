//! The development console (`Builder::console`, `TACHYLOG_CONSOLE`): a child process logs
//! with the console on, and the parent reads what it printed.
mod common;

use std::path::Path;
use std::process::Command;
use tachylog::{Builder, Level, Overflow};

/// Set in the child: how many records to log, then the child's test logs and exits.
const CHILD: &str = "TACHYLOG_CONSOLE_TEST_CHILD";

/// Runs in the child only (a no-op test in the parent): logs `N` info records (and a trace
/// and a debug one before each hundredth), with the console as `TACHYLOG_CONSOLE` says.
#[test]
fn child() {
    let Ok(n) = std::env::var(CHILD) else {
        return;
    };
    let n: u32 = n.parse().unwrap();
    let dir = std::env::var("CHILD_DIR").unwrap();
    let mut b = Builder::new()
        .dir(dir)
        .level(Level::Trace)
        // Small segments: the console follows the rotations.
        .segment_size(1 << 20)
        .overflow(Overflow::Block);
    if std::env::var_os("CHILD_RETAIN").is_some() {
        // Segments deleted faster than a console polls.
        b = b
            .segment_size(16 << 10)
            .ring_capacity(4 << 10)
            .max_segments(2);
    }
    let guard = b.init().unwrap();
    for i in 0..n {
        if i % 100 == 0 {
            tachylog::trace!("trace {}", i);
            tachylog::debug!("debug {}", i);
        }
        tachylog::info!(target: "orders", qty = i, "record {} of {}", i, n);
    }
    drop(guard);
}

/// Runs the child with `env`, returns its stderr.
fn run_child(dir: &Path, n: u32, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child", "--test-threads=1", "-q"])
        .env(CHILD, n.to_string())
        .env("CHILD_DIR", dir)
        .env_remove("NO_COLOR");
    for (k, _) in std::env::vars() {
        if k.starts_with("TACHYLOG_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "child failed: {out:?}");
    String::from_utf8(out.stderr).unwrap()
}

/// The console lines of records (`<time> <LEVEL> <target> <thread>: <message> <fields>`).
fn record_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(" orders ") || l.contains(": trace ") || l.contains(": debug "))
        .collect()
}

#[test]
fn every_record_appears_once_in_order_with_level_and_message() {
    let dir = tempfile::tempdir().unwrap();
    const N: u32 = 30_000;
    // Twice in one directory: the second run prints its own records only.
    for _ in 0..2 {
        let err = run_child(dir.path(), N, &[("TACHYLOG_CONSOLE", "stderr")]);
        let lines: Vec<&str> = record_lines(&err)
            .into_iter()
            .filter(|l| l.contains(" orders "))
            .collect();
        assert_eq!(lines.len(), N as usize, "{}", &err[..err.len().min(2000)]);
        for (i, l) in lines.iter().enumerate() {
            assert!(
                l.ends_with(&format!(" INFO  orders child: record {i} of {N} qty={i}")),
                "line {i}: {l}"
            );
            assert!(l.starts_with("20") && l.as_bytes()[30] == b' ', "{l}");
        }
        assert!(!err.contains("tachylog console:"), "no notes: {err}");
    }
}

#[test]
fn no_escape_codes_off_a_terminal_or_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    for env in [
        &[("TACHYLOG_CONSOLE", "stderr")][..],
        &[("TACHYLOG_CONSOLE", "stderr"), ("NO_COLOR", "1")][..],
    ] {
        let err = run_child(dir.path(), 100, env);
        assert_eq!(record_lines(&err).len(), 102);
        assert!(!err.contains('\u{1b}'), "{err}");
    }
}

#[test]
fn a_console_level_filters_the_console_only() {
    let dir = tempfile::tempdir().unwrap();
    let err = run_child(dir.path(), 300, &[("TACHYLOG_CONSOLE", "stderr:debug")]);
    let lines = record_lines(&err);
    // Three debug lines and 300 info lines; no trace.
    assert_eq!(lines.len(), 303, "{err}");
    assert!(lines[0].contains(" DEBUG ") && lines[0].ends_with(": debug 0"));
    assert!(!err.contains("TRACE"), "{err}");
    // The segments keep the trace records.
    let msgs = common::decode([dir.path()]).messages();
    assert_eq!(msgs.len(), 306);
    assert_eq!(&msgs[..3], ["trace 0", "debug 0", "record 0 of 300"]);
}

#[test]
fn console_off_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let err = run_child(dir.path(), 100, &[("TACHYLOG_CONSOLE", "off")]);
    assert!(record_lines(&err).is_empty(), "{err}");
    let err = run_child(dir.path(), 100, &[]);
    assert!(record_lines(&err).is_empty(), "{err}");
}

#[test]
fn records_retention_deleted_before_the_console_read_them_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    const N: u32 = 20_000;
    let total = N as usize + 2 * 200;
    let err = run_child(
        dir.path(),
        N,
        &[("TACHYLOG_CONSOLE", "stderr"), ("CHILD_RETAIN", "1")],
    );
    let printed = record_lines(&err).len();
    let missed: usize = err
        .lines()
        .find_map(|l| {
            l.strip_prefix("tachylog console: ")?
                .split_once(" records were deleted by retention")
                .map(|(n, _)| n.parse().unwrap())
        })
        .unwrap_or(0);
    assert_eq!(
        printed + missed,
        total,
        "{}",
        &err[err.len().saturating_sub(3000)..]
    );
    eprintln!("printed {printed}, deleted before the console read them {missed}");
}
