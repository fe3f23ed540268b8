//! Helpers shared by the CLI integration tests: write logs with the real engine, run the binary.
#![allow(dead_code)]
use assert_cmd::Command;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

static SERIAL: Mutex<()> = Mutex::new(());

/// The process-wide logger is one per process: tests that use it take this lock.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn bin() -> Command {
    Command::cargo_bin("tachylog").unwrap()
}

/// Runs `tachylog ARGS` and returns stdout, asserting the exit code.
pub fn run(args: &[&str], path: &Path, code: i32) -> String {
    let out = bin()
        .args(args)
        .arg(path)
        .assert()
        .code(code)
        .get_output()
        .clone();
    String::from_utf8(out.stdout).unwrap()
}

pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Eight named threads (`t0`..`t7`) each log `per_thread` records with a `seq` field, in small
/// segments so the output spans several; then one WARN and one ERROR from the main thread.
pub fn eight_threads(dir: &Path, per_thread: u64, compress: bool) {
    let _s = serial();
    let g = tachylog::Builder::new()
        .dir(dir)
        .name("app")
        .segment_size(64 << 10)
        .ring_capacity(8 << 10)
        .overflow(tachylog::Overflow::Block)
        .compress(compress)
        .level(tachylog::Level::Trace)
        .init()
        .unwrap();
    let hs: Vec<_> = (0..8u64)
        .map(|t| {
            std::thread::Builder::new()
                .name(format!("t{t}"))
                .spawn(move || {
                    for i in 0..per_thread {
                        if t % 2 == 0 {
                            tachylog::info!(target: "app::even", seq = i, "even {} of thread {t}", i);
                        } else {
                            tachylog::debug!(target: "app::odd", seq = i, "odd {} of thread {t}", i);
                        }
                    }
                })
                .unwrap()
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    tachylog::warn!(target: "db::pool", "pool exhausted after {} ms", 250u32);
    tachylog::error!(target: "db::conn", "connection refused by {}", "10.0.0.7");
    drop(g);
}
