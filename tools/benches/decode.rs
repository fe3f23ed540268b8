//! Decode speed: records per second through the whole `tachylog decode` pipeline (read, merge,
//! format, render) on one thread, for shape (a) `"Logging int: {}, int: {}, double: {}"`.
//!
//! ```sh
//! cargo bench -p tachylog-cli --bench decode                    # 2,000,000 records
//! TACHYLOG_BENCH_RECORDS=10000000 cargo bench -p tachylog-cli --bench decode
//! TACHYLOG_BENCH_KEEP=/tmp/shape-a cargo bench -p tachylog-cli --bench decode  # keep the input
//! TACHYLOG_BENCH_RUNS=9 cargo bench -p tachylog-cli --bench decode        # best of 9, not 3
//! ```
//! Prints one line per measurement: records/s for JSON, text and logfmt, for reading alone, and
//! for raw and lz4-compressed segments, each the best of three runs (`TACHYLOG_BENCH_RUNS`), by
//! the wall clock and by the CPU time of the decoding thread (the figure to trust on a machine
//! other work is loading: it leaves out the time the thread waited for a core).
//!
//! Then the same number of records of a *mixed* log, closer to a real service's: eight threads
//! logging access lines, queries, cache results, retries and errors, with strings, floats,
//! structured fields and five levels in realistic proportions. It reports that log's lz4
//! compression ratio and its decode speed, raw and compressed.
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tachylog::reader::{Event, Reader};
use tachylog_cli::decode::Decoder;
use tachylog_cli::filter::Filter;
use tachylog_cli::output::{Format, Renderer};

/// CPU time this thread has used: unlike the wall clock, it does not count the time the thread
/// waited for a core, so it stays meaningful on a machine other work is loading.
fn thread_cpu() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable `timespec` for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Runs `f` `runs` times: (what it returned, best wall-clock seconds, best thread CPU seconds).
fn best_of<F: FnMut() -> u64>(runs: usize, mut f: F) -> (u64, f64, f64) {
    let (mut wall, mut cpu) = (f64::MAX, f64::MAX);
    let mut n = 0;
    for _ in 0..runs {
        let (t, c) = (Instant::now(), thread_cpu());
        n = f();
        cpu = cpu.min(thread_cpu() - c);
        wall = wall.min(t.elapsed().as_secs_f64());
    }
    (n, wall, cpu)
}

/// Logs `n` records of shape (a) from one thread into `dir`.
fn log_shape_a(dir: &Path, n: u64) {
    let _g = tachylog::Builder::new()
        .dir(dir)
        .name("bench")
        .overflow(tachylog::Overflow::Block)
        .init()
        .expect("init");
    for i in 0..n {
        tachylog::info!(
            "Logging int: {}, int: {}, double: {}",
            i as i32,
            (i * 7) as i32,
            i as f64 * 0.25
        );
    }
}

/// Logs about `n` records of a service-like mix from eight threads into `dir`.
fn log_mixed(dir: &Path, n: u64) {
    const PATHS: [&str; 8] = [
        "/api/v1/orders",
        "/api/v1/orders/{id}",
        "/api/v1/users/{id}/cart",
        "/healthz",
        "/api/v1/search",
        "/static/app.js",
        "/api/v1/payments",
        "/login",
    ];
    const METHODS: [&str; 4] = ["GET", "GET", "POST", "PUT"];
    const QUERIES: [&str; 5] = [
        "select_order",
        "insert_order",
        "update_stock",
        "load_user",
        "search_items",
    ];
    let _g = tachylog::Builder::new()
        .dir(dir)
        .name("svc")
        .overflow(tachylog::Overflow::Block)
        .level(tachylog::Level::Debug)
        .init()
        .expect("init");
    let per_thread = n / 8;
    std::thread::scope(|s| {
        for t in 0..8u64 {
            std::thread::Builder::new()
                .name(format!("http-{t}"))
                .spawn_scoped(s, move || {
                    // xorshift, seeded per thread: the same log on every run.
                    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (t + 1);
                    let mut next = move || {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x
                    };
                    for _ in 0..per_thread {
                        let r = next();
                        let user = (r >> 8) % 50_000;
                        match r % 100 {
                            0..70 => {
                                let (method, path) = (METHODS[(r >> 20) as usize % 4], PATHS[(r >> 24) as usize % 8]);
                                let status = [200u16, 200, 200, 201, 204, 304, 404, 500][(r >> 28) as usize % 8];
                                let micros = (r >> 32) % 90_000 + 150;
                                tachylog::info!(target: "http::access", user = user, bytes = (r >> 40) % 65_536,
                                    "{} {} -> {} in {} us", method, path, status, micros);
                            }
                            70..85 => {
                                let ms = ((r >> 16) % 250_000) as f64 / 1000.0;
                                tachylog::debug!(target: "db::query", "query {} took {:.3} ms, {} rows",
                                    QUERIES[(r >> 12) as usize % 5], ms, (r >> 36) % 500);
                            }
                            85..95 => {
                                let hit = (r >> 18) % 4 != 0;
                                tachylog::info!(target: "cache", "cache {} for user:{}:profile",
                                    if hit { "hit" } else { "miss" }, user);
                            }
                            95..99 => {
                                tachylog::warn!(target: "http::client", attempt = (r >> 10) % 5 + 1,
                                    "retrying {} after {} ms", "https://payments.internal/charge", (r >> 14) % 2000);
                            }
                            _ => {
                                tachylog::error!(target: "db::pool", "connection to {} failed: {}",
                                    "10.0.3.17:5432", "connection reset by peer (os error 104)");
                            }
                        }
                    }
                })
                .expect("spawn");
        }
    });
}

/// Copies the segments of `from` into `to`, compressing each, and prints both sizes: `what`
/// names the input.
fn compressed_copy(from: &Path, to: &Path, what: &str) {
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let files = tachylog::reader::segment_files(from).expect("list");
    std::fs::create_dir_all(to).expect("mkdir");
    let (mut raw, mut lz4) = (0, 0);
    for f in &files {
        let dst = to.join(f.file_name().expect("name"));
        std::fs::copy(f, &dst).expect("copy");
        raw += size(f);
        lz4 += size(&tachylog::compress::compress_segment(&dst).expect("compress"));
    }
    println!(
        "input: {what}, {} segments, {raw} bytes raw, {lz4} bytes lz4 (ratio {:.2})",
        files.len(),
        raw as f64 / lz4 as f64
    );
}

/// Decodes `dir` as `tachylog decode` does, to nowhere; returns the lines written.
fn decode(dir: &Path, format: Format, filter: &Filter) -> u64 {
    let r = Reader::open([dir]).expect("open");
    let mut d = Decoder::new(Box::new(r), filter, Renderer::new(format, false), 100_000);
    d.pump(&mut io::sink(), &mut |e| panic!("{e}"))
        .expect("pump");
    d.summary.written
}

fn main() {
    let n: u64 = std::env::var("TACHYLOG_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    // With TACHYLOG_BENCH_KEEP=DIR the segments are written to DIR/raw, DIR/lz4, DIR/mixed and
    // DIR/mixed-lz4 and kept (to profile the `tachylog` binary on them); DIR must not hold
    // segments already.
    let keep = std::env::var_os("TACHYLOG_BENCH_KEEP").map(PathBuf::from);
    let base = keep.as_deref().unwrap_or(dir.path());
    let raw = base.join("raw");
    log_shape_a(&raw, n);
    let lz4 = base.join("lz4");
    compressed_copy(&raw, &lz4, &format!("{n} records of shape (a)"));
    let runs: usize = std::env::var("TACHYLOG_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let filter = Filter::default();
    let report = |what: &str, (k, wall, cpu): (u64, f64, f64)| {
        println!(
            "{what:<28} {:>6.2} M records/s wall, {:>6.2} M records/s cpu ({k} records in {wall:.3} s wall, {cpu:.3} s cpu)",
            k as f64 / wall / 1e6,
            k as f64 / cpu / 1e6
        );
    };
    for (name, format) in [
        ("json", Format::Json),
        ("text", Format::Text),
        ("logfmt", Format::Logfmt),
    ] {
        report(
            &format!("decode --format {name}"),
            best_of(runs, || decode(&raw, format, &filter)),
        );
    }
    report(
        "decode --format json (lz4)",
        best_of(runs, || decode(&lz4, Format::Json, &filter)),
    );
    report(
        "read only (no merge/format)",
        best_of(runs, || {
            Reader::open([&raw])
                .expect("open")
                .filter(|e| matches!(e, Ok(Event::Record(_))))
                .count() as u64
        }),
    );
    let mixed = base.join("mixed");
    log_mixed(&mixed, n);
    let mixed_lz4 = base.join("mixed-lz4");
    compressed_copy(&mixed, &mixed_lz4, &format!("{n} records of the mixed log"));
    report(
        "mixed: decode --format json",
        best_of(runs, || decode(&mixed, Format::Json, &filter)),
    );
    report(
        "mixed: json (lz4)",
        best_of(runs, || decode(&mixed_lz4, Format::Json, &filter)),
    );
}
