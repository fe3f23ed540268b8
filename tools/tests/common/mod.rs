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

/// The `tachylog` binary a measuring test runs: the one this build made, or the one the
/// environment variable `var` names (an older build, to compare).
pub fn measured_bin(var: &str) -> std::path::PathBuf {
    std::env::var_os(var)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("tachylog"))
}

/// Whether the long forms of the tests run (`TACHYLOG_LONG=1`).
pub fn long() -> bool {
    std::env::var_os("TACHYLOG_LONG").is_some_and(|v| v == "1")
}

/// Segments built byte by byte, as a writer could have made them (or not).
pub mod forge {
    use tachylog::wire::{
        COMMITTED_OFFSET, CallsiteHead, EndBody, FLAG_SEALED, FLAGS_OFFSET, HEADER_LEN, Kind,
        NewHeader, SegmentHeader, ThreadHead,
    };

    /// Appends one frame of `kind` with `payload`, padded to the frame alignment.
    pub use tachylog::wire::push_frame as frame;

    /// Appends `s` with its `u32` length before it, as call-site descriptions and string
    /// values hold strings.
    pub fn string(p: &mut Vec<u8>, s: &str) {
        p.extend_from_slice(&(s.len() as u32).to_le_bytes());
        p.extend_from_slice(s.as_bytes());
    }

    /// Appends the frame of producer 1, thread `forge` (tid 7).
    pub fn thread(seg: &mut Vec<u8>) {
        let thread = ThreadHead {
            producer: 1,
            tid: 7,
            has_name: 1,
            name_len: 5,
        };
        frame(
            seg,
            Kind::Thread,
            &[bytemuck::bytes_of(&thread), b"forge"].concat(),
        );
    }

    /// Appends the frames a forged segment starts with: producer 1, thread `forge` (tid 7),
    /// and call site 1 of target `forge` at info level, format string `fmt` with one argument.
    pub fn descriptions(seg: &mut Vec<u8>, fmt: &str) {
        thread(seg);
        let head = CallsiteHead {
            id: 1,
            line: 1,
            level: 3,
            _pad: [0; 3],
            n_args: 1,
            n_fields: 0,
        };
        let mut p = bytemuck::bytes_of(&head).to_vec();
        for s in ["forge", "forge", "src/forge.rs", fmt, ""] {
            string(&mut p, s);
        }
        frame(seg, Kind::Callsite, &p);
    }

    /// Appends the END frame of a segment of `records` records, followed by `next_seq`.
    pub fn end(seg: &mut Vec<u8>, next_seq: u64, records: u64) {
        let end = EndBody { next_seq, records };
        frame(seg, Kind::End, bytemuck::bytes_of(&end));
    }

    /// The header of segment `seq` of writer 4242, one tick a nanosecond from
    /// 2027-01-15T08:00:00Z; sealed at `sealed_len` bytes if that is given, else just created.
    pub fn header(seq: u64, sealed_len: Option<u64>) -> [u8; HEADER_LEN] {
        let mut head = SegmentHeader::encode(&NewHeader {
            seq,
            created_unix_ns: 1_800_000_000_000_000_000,
            anchor_ticks: 0,
            anchor_unix_ns: 1_800_000_000_000_000_000,
            ticks_per_sec: 1e9,
            segment_size: sealed_len.unwrap_or(0),
            pid: 4242,
        });
        if let Some(len) = sealed_len {
            // Sealed and cut to length, as the writer leaves a segment it is done with.
            head[COMMITTED_OFFSET..COMMITTED_OFFSET + 8].copy_from_slice(&len.to_le_bytes());
            head[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&FLAG_SEALED.to_le_bytes());
        }
        head
    }
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

/// The shipping tests' records: `shop_range` logs them, `shop_expected` says what each is.
pub mod shop {
    use std::path::Path;

    /// The `user` field cycles through these: a quote, a newline, a bracket, non-ASCII.
    pub const USERS: [&str; 4] = ["ana", r#"b"ob"#, "c\nd", "é]f"];
    /// The source file of the records (their `file`).
    pub const FILE: &str = file!();

    /// A logger writing segments named `shop` of `segment_size` bytes to `dir`; it blocks
    /// rather than drop, and keeps every level.
    pub fn logger(dir: &Path, segment_size: usize) -> tachylog::Guard {
        tachylog::Builder::new()
            .dir(dir)
            .name("shop")
            .segment_size(segment_size)
            .ring_capacity(8 << 10)
            .overflow(tachylog::Overflow::Block)
            .level(tachylog::Level::Trace)
            .init()
            .unwrap()
    }

    /// Logs records `from..to`: fields `i` (u64), `user` (str), `ratio` (f64), `even` (bool);
    /// the level cycles ERROR, WARN, DEBUG, TRACE, INFO.
    pub fn range(from: u64, to: u64) {
        for i in from..to {
            let user = USERS[(i % 4) as usize];
            let ratio = i as f64 / 4.0;
            let even = i.is_multiple_of(2);
            match i % 5 {
                0 => {
                    tachylog::error!(target: "shop::pay", i = i, user = user, ratio = ratio, even = even, "payment {} failed", i)
                }
                1 => {
                    tachylog::warn!(target: "shop::stock", i = i, user = user, ratio = ratio, even = even, "stock low after {}", i)
                }
                2 => {
                    tachylog::debug!(target: "shop::cart", i = i, user = user, ratio = ratio, even = even, "cart {} of {}", i, user)
                }
                3 => {
                    tachylog::trace!(target: "shop::cart", i = i, user = user, ratio = ratio, even = even, "cart {} seen", i)
                }
                _ => {
                    tachylog::info!(target: "shop::orders", i = i, user = user, ratio = ratio, even = even, "order {} placed", i)
                }
            }
        }
        tachylog::flush();
    }

    /// What record `i` is: level, target, message, user.
    pub fn expected(i: u64) -> (tachylog::Level, &'static str, String, &'static str) {
        use tachylog::Level;
        let user = USERS[(i % 4) as usize];
        match i % 5 {
            0 => (
                Level::Error,
                "shop::pay",
                format!("payment {i} failed"),
                user,
            ),
            1 => (
                Level::Warn,
                "shop::stock",
                format!("stock low after {i}"),
                user,
            ),
            2 => (
                Level::Debug,
                "shop::cart",
                format!("cart {i} of {user}"),
                user,
            ),
            3 => (Level::Trace, "shop::cart", format!("cart {i} seen"), user),
            _ => (
                Level::Info,
                "shop::orders",
                format!("order {i} placed"),
                user,
            ),
        }
    }

    /// Checks that every `i` below `n` came exactly once.
    pub fn assert_each_once(seen: &std::collections::BTreeMap<u64, usize>, n: u64) {
        let dup: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
        assert!(dup.is_empty(), "sent more than once: {dup:?}");
        let missing: Vec<u64> = (0..n).filter(|i| !seen.contains_key(i)).collect();
        assert!(missing.is_empty(), "never sent: {missing:?}");
    }
}
