//! Throughput: records per second from the first call until everything is in the files
//! (tachylog: `flush()` returned), by producer thread count, beside other loggers' async
//! writers and a floor (raw `rtrb` transfer plus `memcpy` into a mapped file of the same bytes).
//!
//! The loggers take turns run by run. Every logger waits for room instead of dropping (`Overflow::Block`, tracing-appender's
//! blocking mode, slog-async's `Block`), so each run writes every record; the table shows what
//! reached the files to prove it.
//!
//! `cargo bench --bench throughput [-- --threads 1,2,4 --records N --runs N --quick]`. Prints a
//! Markdown table and writes `target/bench/throughput.json`.
mod common;

use common::{Finish, Opts, Setup, Shape, Subject};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Bytes of one shape-(a) record in tachylog's ring (head 16, u32 5, u32 5, f64 9): sizes the
/// floor's mapped file.
const RECORD_A: usize = 35;

struct Row {
    logger: &'static str,
    threads: usize,
    /// Records given to the logger per run (all threads).
    records: u64,
    /// Per run: elapsed time and what was written.
    runs: Vec<(Duration, Finish)>,
}

impl Row {
    /// The run with the median rate.
    fn median(&self) -> &(Duration, Finish) {
        let mut idx: Vec<usize> = (0..self.runs.len()).collect();
        idx.sort_by_key(|&i| self.runs[i].0);
        &self.runs[idx[idx.len() / 2]]
    }
    fn rate(&self) -> f64 {
        self.records as f64 / self.median().0.as_secs_f64()
    }
    fn bytes_rate(&self) -> f64 {
        let (d, f) = self.median();
        f.bytes as f64 / d.as_secs_f64()
    }
}

fn one_run<S: Subject>(threads: usize, per_thread: usize) -> (Duration, Finish) {
    let dir = common::scratch(&format!("throughput-{}", S::NAME.replace(' ', "_")));
    let s = S::start(
        &dir,
        Setup {
            block: true,
            floor_map: threads * (per_thread + 1) * RECORD_A + (1 << 20),
            ..Setup::default()
        },
    );
    let barrier = Barrier::new(threads + 1);
    let t0 = std::thread::scope(|sc| {
        for t in 0..threads {
            let (s, barrier) = (&s, &barrier);
            sc.spawn(move || {
                let mut l = s.local();
                let mut i = (t as u64) << 40;
                // One record first: per-thread set-up (tachylog's ring, tracing's dispatch).
                common::call(s, &mut l, Shape::IntIntDouble, i);
                barrier.wait();
                for _ in 0..per_thread {
                    i += 1;
                    s.a(&mut l, i as u32, (i >> 3) as u32, i as f64 * 0.5);
                }
                drop(l);
            });
        }
        barrier.wait();
        Instant::now()
    });
    let finish = s.finish();
    let elapsed = finish.done.unwrap_or_else(Instant::now) - t0;
    let _ = std::fs::remove_dir_all(&dir);
    (elapsed, finish)
}

/// A logger's name and one run of it.
type Runner = (&'static str, fn(usize, usize) -> (Duration, Finish));

fn main() {
    let opts = Opts::parse();
    let load_before = common::load_average();
    eprintln!(
        "throughput: threads {:?}, {} records per thread, {} run(s) each",
        opts.threads, opts.records, opts.runs
    );
    let all: [Runner; 5] = [
        (common::Floor::NAME, one_run::<common::Floor>),
        (common::Tachy::NAME, one_run::<common::Tachy>),
        (common::Tracing::NAME, one_run::<common::Tracing>),
        (common::Slog::NAME, one_run::<common::Slog>),
        (common::SyncWrite::NAME, one_run::<common::SyncWrite>),
    ];
    let runners: Vec<Runner> = all.into_iter().filter(|r| opts.wants(r.0)).collect();
    let mut rows = Vec::new();
    for &threads in &opts.threads {
        eprintln!("  {threads} thread(s)");
        let first = rows.len();
        rows.extend(runners.iter().map(|r| Row {
            logger: r.0,
            threads,
            records: (threads * (opts.records + 1)) as u64,
            runs: Vec::new(),
        }));
        // The loggers take turns, in a rotating order, so that a noisy stretch of the machine
        // falls on all of them alike.
        for run in 0..opts.runs {
            for k in 0..runners.len() {
                let i = (k + run) % runners.len();
                let result = (runners[i].1)(threads, opts.records);
                rows[first + i].runs.push(result);
            }
        }
    }
    let load_after = common::load_average();

    println!(
        "\n### Throughput, shape (a), until everything is in the files ({}; load average \
         {load_before} before, {load_after} after)\n",
        common::machine()
    );
    let head = [
        "logger",
        "threads",
        "records",
        "records/s (median)",
        "MB/s written",
        "written",
        "dropped",
        "runs: records/s",
    ];
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let (_, f) = r.median();
            vec![
                r.logger.to_string(),
                r.threads.to_string(),
                r.records.to_string(),
                format!("{:.2} M", r.rate() / 1e6),
                format!("{:.0}", r.bytes_rate() / 1e6),
                f.written.to_string(),
                f.dropped.to_string(),
                r.runs
                    .iter()
                    .map(|(d, _)| format!("{:.2} M", r.records as f64 / d.as_secs_f64() / 1e6))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    common::print_table(&head, &table);
    println!(
        "\nMB/s counts the bytes of each logger's own files (tachylog: frames with their headers; \
         text loggers: lines; floor: the raw records)."
    );

    if cfg!(debug_assertions) {
        println!("\nBuilt without optimisations: a smoke run, not a measurement.");
    }
    let mut targets = Vec::new();
    for &threads in &opts.threads {
        let find = |name: &str| {
            rows.iter()
                .find(|r| r.logger == name && r.threads == threads)
        };
        if let (Some(t), Some(f)) = (find("tachylog"), find("floor")) {
            let ratio = t.rate() / f.rate();
            let note = if threads == 1 {
                if ratio >= 0.7 {
                    " (target >= 0.7x, met)"
                } else {
                    " (target >= 0.7x, MISSED)"
                }
            } else {
                ""
            };
            targets.push(format!(
                "{threads} thread(s): tachylog/floor records/s {ratio:.2}x{note}"
            ));
        }
    }
    println!("\n### Targets (ratios from this run)\n");
    for line in &targets {
        println!("- {line}");
    }
    let mut unaccounted = false;
    for r in &rows {
        for (_, f) in &r.runs {
            if f.written + f.dropped != r.records {
                unaccounted = true;
                println!(
                    "\nWARNING: {} {} thread(s): {} records but {} written + {} dropped",
                    r.logger, r.threads, r.records, f.written, f.dropped
                );
            }
        }
    }

    let json = serde_json::json!({
        "benchmark": "throughput",
        "machine": common::machine(),
        "date_utc": common::today_utc(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "records_per_thread": opts.records,
        "quick": opts.quick,
        "targets": targets,
        "rows": rows.iter().map(|r| serde_json::json!({
            "logger": r.logger,
            "threads": r.threads,
            "records": r.records,
            "records_per_sec_median": r.rate(),
            "bytes_per_sec_median": r.bytes_rate(),
            "runs": r.runs.iter().map(|(d, f)| serde_json::json!({
                "seconds": d.as_secs_f64(),
                "written": f.written,
                "dropped": f.dropped,
                "bytes": f.bytes,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let path = common::out_dir().join("throughput.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap())
        .expect("write throughput.json");
    println!("\nWrote {}", path.display());
    // The smoke run (CI) fails on records neither written nor counted as dropped.
    if unaccounted && opts.quick {
        std::process::exit(1);
    }
}
