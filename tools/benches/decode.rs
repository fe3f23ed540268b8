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
//! for raw and lz4-compressed segments, each the best of three runs (`TACHYLOG_BENCH_RUNS`), by the wall clock and by
//! the CPU time of the decoding thread (the figure to trust on a machine other work is
//! loading: it leaves out the time the thread waited for a core).
use std::io;
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

fn main() {
    let n: u64 = std::env::var("TACHYLOG_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    // With TACHYLOG_BENCH_KEEP=DIR the segments are written to DIR/raw and DIR/lz4 and kept
    // (to profile the `tachylog` binary on them); DIR must not hold segments already.
    let keep = std::env::var_os("TACHYLOG_BENCH_KEEP").map(std::path::PathBuf::from);
    let base = keep.as_deref().unwrap_or(dir.path());
    let raw = base.join("raw");
    {
        let _g = tachylog::Builder::new()
            .dir(&raw)
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
    let files = tachylog::reader::segment_files(&raw).expect("list");
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let lz4 = base.join("lz4");
    std::fs::create_dir_all(&lz4).expect("mkdir");
    let mut lz4_bytes = 0;
    for f in &files {
        let to = lz4.join(f.file_name().expect("name"));
        std::fs::copy(f, &to).expect("copy");
        let c = tachylog::compress::compress_segment(&to).expect("compress");
        lz4_bytes += std::fs::metadata(c).map_or(0, |m| m.len());
    }
    println!(
        "input: {n} records of shape (a), {} segments, {bytes} bytes raw, {lz4_bytes} bytes lz4 (ratio {:.2})",
        files.len(),
        bytes as f64 / lz4_bytes as f64
    );
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
            best_of(runs, || {
                let r = Reader::open([&raw]).expect("open");
                let mut d =
                    Decoder::new(Box::new(r), &filter, Renderer::new(format, false), 100_000);
                d.pump(&mut io::sink(), &mut |e| panic!("{e}"))
                    .expect("pump");
                d.summary.written
            }),
        );
    }
    report(
        "decode --format json (lz4)",
        best_of(runs, || {
            let r = Reader::open([&lz4]).expect("open");
            let mut d = Decoder::new(
                Box::new(r),
                &filter,
                Renderer::new(Format::Json, false),
                100_000,
            );
            d.pump(&mut io::sink(), &mut |e| panic!("{e}"))
                .expect("pump");
            d.summary.written
        }),
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
}
