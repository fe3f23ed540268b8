//! Throughput, in three parts (`--parts compare,sustained,burst`; all by default):
//!
//! - `compare`: records per second from the first call until everything is in the files
//!   (tachylog: `flush()` returned), by producer thread count, beside other loggers' async
//!   writers and the floor (raw `rtrb` transfer plus `memcpy` into memory faulted in before the
//!   run). The loggers take turns run by run. Every logger waits for room instead of dropping
//!   (`Overflow::Block`, tracing-appender's blocking mode, slog-async's `Block`), so each run
//!   writes every record; the table shows what reached the files to prove it.
//! - `sustained`: tachylog alone over many rotations: `--sustained` records of shape (a) in all
//!   (default 20 M, shared by the producers), `Block`, segments sized for at least ten
//!   rotations, beside the producer-only row (the same loop into tachylog's rings, whose drain
//!   throws the records away: what the producers can offer) and the floor. The rows take turns.
//! - `burst`: the share of a back-to-back burst (`--burst` records per producer, default
//!   200,000) that tachylog loses under `Drop`, with rings of 256 KiB, 1 MiB, 4 MiB and 8 MiB (the
//!   default).
//!
//! `cargo bench --bench throughput [-- --threads 1,2 --records N --runs N --sustained N --burst N
//! --pin --quick]`. Prints Markdown tables and writes `target/bench/throughput.json`.
mod common;

use common::{Finish, Opts, Setup, Shape, Subject};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Bytes of one shape-(a) record in tachylog's ring (head 16, u32 5, u32 5, f64 9).
const RECORD_A: usize = 35;
/// The floor's mapped file: faulted in before the run, reused from its start when full.
const FLOOR_MAP: usize = 64 << 20;
/// Ring sizes of the burst-loss table.
const BURST_RINGS: [usize; 4] = [256 << 10, 1 << 20, 4 << 20, 8 << 20];

struct Row {
    logger: &'static str,
    threads: usize,
    /// Records given to the logger per run (all threads).
    records: u64,
    /// Per run: elapsed time and what was written.
    runs: Vec<(Duration, Finish)>,
}

impl Row {
    fn new(logger: &'static str, threads: usize, records: u64) -> Row {
        Row {
            logger,
            threads,
            records,
            runs: Vec::new(),
        }
    }
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
    fn run_rates(&self) -> String {
        self.runs
            .iter()
            .map(|(d, _)| format!("{:.2} M", self.records as f64 / d.as_secs_f64() / 1e6))
            .collect::<Vec<_>>()
            .join(", ")
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "logger": self.logger,
            "threads": self.threads,
            "records": self.records,
            "records_per_sec_median": self.rate(),
            "bytes_per_sec_median": self.bytes_rate(),
            "runs": self.runs.iter().map(|(d, f)| serde_json::json!({
                "seconds": d.as_secs_f64(),
                "written": f.written,
                "dropped": f.dropped,
                "bytes": f.bytes,
                "segments": f.segments,
            })).collect::<Vec<_>>(),
        })
    }
}

/// One run: `threads` producers each log one record (per-thread set-up: tachylog's ring,
/// tracing's dispatch), wait at a barrier, then log `per_thread` records of shape (a) back to
/// back. The clock runs from the barrier until the logger says everything is in its files.
fn one_run<S: Subject>(
    opts: &Opts,
    threads: usize,
    per_thread: usize,
    setup: Setup,
) -> (Duration, Finish) {
    let dir = common::scratch(&format!("throughput-{}", S::NAME.replace(' ', "_")));
    let s = S::start(&dir, setup);
    let barrier = Barrier::new(threads + 1);
    let t0 = std::thread::scope(|sc| {
        for t in 0..threads {
            let (s, barrier) = (&s, &barrier);
            sc.spawn(move || {
                opts.pin_to(t);
                let mut l = s.local();
                let mut i = (t as u64) << 40;
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

/// A row's name and one run of it (options, threads, records per thread).
type Runner = (
    &'static str,
    Box<dyn Fn(&Opts, usize, usize) -> (Duration, Finish)>,
);

/// Runs each runner `opts.runs` times per thread count, in turns (a rotating order, so that a
/// noisy stretch of the machine falls on all of them alike). `per_thread` gives the records
/// per producer for a thread count.
fn take_turns(opts: &Opts, runners: &[Runner], per_thread: impl Fn(usize) -> usize) -> Vec<Row> {
    let mut rows = Vec::new();
    for &threads in &opts.threads {
        eprintln!("  {threads} thread(s)");
        let n = per_thread(threads);
        let first = rows.len();
        rows.extend(
            runners
                .iter()
                .map(|r| Row::new(r.0, threads, (threads * (n + 1)) as u64)),
        );
        for run in 0..opts.runs {
            for k in 0..runners.len() {
                let i = (k + run) % runners.len();
                let result = (runners[i].1)(opts, threads, n);
                rows[first + i].runs.push(result);
            }
        }
    }
    rows
}

/// The segment size for a sustained run of `records` records: a power of two near a
/// sixteenth of the bytes (so at least ten rotations), at least twice the ring and at most
/// the default 64 MiB.
fn sustained_segment(records: usize, ring: usize) -> usize {
    let sixteenth = (records * (RECORD_A + 1) / 16).max(1);
    let pow2 = 1usize << (usize::BITS - 1 - sixteenth.leading_zeros());
    pow2.clamp((2 * ring).max(16 << 10), 64 << 20)
}

/// Lines for rows whose written and dropped records do not add up to what was logged.
fn unaccounted(rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows {
        for (_, f) in &r.runs {
            if f.written + f.dropped != r.records {
                out.push(format!(
                    "WARNING: {} {} thread(s): {} records but {} written + {} dropped",
                    r.logger, r.threads, r.records, f.written, f.dropped
                ));
            }
        }
    }
    out
}

fn compare(opts: &Opts, json: &mut serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let setup = |opts: &Opts| Setup {
        block: true,
        floor_map: FLOOR_MAP,
        drain_core: opts.drain_core(),
        ..Setup::default()
    };
    let all: Vec<Runner> = vec![
        (
            common::Floor::NAME,
            Box::new(move |o: &Opts, t: usize, n: usize| {
                one_run::<common::Floor>(o, t, n, setup(o))
            }),
        ),
        (
            common::Tachy::NAME,
            Box::new(move |o: &Opts, t: usize, n: usize| {
                one_run::<common::Tachy>(o, t, n, setup(o))
            }),
        ),
        (
            common::Tracing::NAME,
            Box::new(move |o: &Opts, t: usize, n: usize| {
                one_run::<common::Tracing>(o, t, n, setup(o))
            }),
        ),
        (
            common::Slog::NAME,
            Box::new(move |o: &Opts, t: usize, n: usize| {
                one_run::<common::Slog>(o, t, n, setup(o))
            }),
        ),
        (
            common::SyncWrite::NAME,
            Box::new(move |o: &Opts, t: usize, n: usize| {
                one_run::<common::SyncWrite>(o, t, n, setup(o))
            }),
        ),
    ];
    let runners: Vec<Runner> = all.into_iter().filter(|r| opts.wants(r.0)).collect();
    eprintln!(
        "compare: {} records per thread, {} run(s) each",
        opts.records, opts.runs
    );
    let load_before = common::load_average();
    let rows = take_turns(opts, &runners, |_| opts.records);
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
                r.run_rates(),
            ]
        })
        .collect();
    common::print_table(&head, &table);
    println!(
        "\nMB/s counts the bytes of each logger's own files (tachylog: frames with their headers; \
         text loggers: lines; floor: the raw records, copied into a {} MiB mapping faulted in \
         before the run and reused from its start when full).",
        FLOOR_MAP >> 20
    );
    let mut targets = Vec::new();
    for &threads in &opts.threads {
        let find = |name: &str| {
            rows.iter()
                .find(|r| r.logger == name && r.threads == threads)
        };
        if let (Some(t), Some(f)) = (find("tachylog"), find("floor")) {
            targets.push(format!(
                "compare, {threads} thread(s): tachylog/floor records/s {:.2}x",
                t.rate() / f.rate()
            ));
        }
    }
    json.insert(
        "compare".into(),
        serde_json::json!({
            "records_per_thread": opts.records,
            "load_average_before": load_before,
            "load_average_after": load_after,
            "rows": rows.iter().map(Row::json).collect::<Vec<_>>(),
        }),
    );
    let mut warnings = unaccounted(&rows);
    warnings.splice(0..0, targets);
    warnings
}

const PRODUCER_ONLY: &str = "producer only";

fn sustained(opts: &Opts, json: &mut serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let ring = Setup::default().ring;
    let segment = sustained_segment(opts.sustained, ring);
    let tachy = move |o: &Opts, discard: bool| Setup {
        block: true,
        drain_core: o.drain_core(),
        segment: Some(segment),
        discard,
        ..Setup::default()
    };
    let runners: Vec<Runner> = vec![
        (
            common::Floor::NAME,
            Box::new(|o: &Opts, t: usize, n: usize| {
                let setup = Setup {
                    block: true,
                    floor_map: FLOOR_MAP,
                    drain_core: o.drain_core(),
                    ..Setup::default()
                };
                one_run::<common::Floor>(o, t, n, setup)
            }),
        ),
        (
            PRODUCER_ONLY,
            Box::new(move |o: &Opts, t: usize, n: usize| {
                one_run::<common::Tachy>(o, t, n, tachy(o, true))
            }),
        ),
        (
            common::Tachy::NAME,
            Box::new(move |o: &Opts, t: usize, n: usize| {
                one_run::<common::Tachy>(o, t, n, tachy(o, false))
            }),
        ),
    ];
    let runners: Vec<Runner> = runners.into_iter().filter(|r| opts.wants(r.0)).collect();
    eprintln!(
        "sustained: {} records in all, {} KiB segments, {} run(s) each",
        opts.sustained,
        segment >> 10,
        opts.runs
    );
    let load_before = common::load_average();
    let rows = take_turns(opts, &runners, |threads| opts.sustained / threads);
    let load_after = common::load_average();
    println!(
        "\n### Sustained, shape (a), `Block`, {} records in all, {} KiB segments ({}; load \
         average {load_before} before, {load_after} after)\n",
        opts.sustained,
        segment >> 10,
        common::machine()
    );
    let head = [
        "row",
        "threads",
        "records",
        "segments",
        "records/s (median)",
        "/ producer only",
        "written",
        "dropped",
        "runs: records/s",
    ];
    let rate_of = |name: &str, threads: usize| {
        rows.iter()
            .find(|r| r.logger == name && r.threads == threads)
            .map(Row::rate)
    };
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let (_, f) = r.median();
            let vs = rate_of(PRODUCER_ONLY, r.threads)
                .map_or("-".into(), |p| format!("{:.2}x", r.rate() / p));
            vec![
                r.logger.to_string(),
                r.threads.to_string(),
                r.records.to_string(),
                if r.logger == common::Tachy::NAME {
                    f.segments.to_string()
                } else {
                    "-".into()
                },
                format!("{:.2} M", r.rate() / 1e6),
                vs,
                f.written.to_string(),
                f.dropped.to_string(),
                r.run_rates(),
            ]
        })
        .collect();
    common::print_table(&head, &table);
    println!(
        "\n`producer only`: the same loop into tachylog's rings, whose drain takes the records \
         out and throws them away (`Builder::discard_records`, hidden): what the producers \
         offer. `floor`: the same bytes through an `rtrb` ring, copied into a {} MiB mapping \
         faulted in before the run. `segments`: files tachylog created in the median run.",
        FLOOR_MAP >> 20
    );
    let mut lines = Vec::new();
    for &threads in &opts.threads {
        if let (Some(t), Some(p)) = (
            rate_of(common::Tachy::NAME, threads),
            rate_of(PRODUCER_ONLY, threads),
        ) {
            let ratio = t / p;
            let note = match (threads, ratio >= 0.8) {
                (1, true) => " (target >= 0.8x, met)",
                (1, false) => " (target >= 0.8x, MISSED)",
                _ => "",
            };
            lines.push(format!(
                "sustained, {threads} thread(s): tachylog/producer only records/s \
                 {ratio:.2}x{note}"
            ));
        }
    }
    json.insert(
        "sustained".into(),
        serde_json::json!({
            "records": opts.sustained,
            "segment_size": segment,
            "load_average_before": load_before,
            "load_average_after": load_after,
            "rows": rows.iter().map(Row::json).collect::<Vec<_>>(),
        }),
    );
    lines.extend(unaccounted(&rows));
    lines
}

fn burst(opts: &Opts, json: &mut serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let runners: Vec<Runner> = BURST_RINGS
        .iter()
        .map(|&ring| -> Runner {
            let name: &'static str = Box::leak(format!("{} KiB", ring >> 10).into_boxed_str());
            (
                name,
                Box::new(move |o: &Opts, t: usize, n: usize| {
                    let setup = Setup {
                        block: false,
                        ring,
                        drain_core: o.drain_core(),
                        ..Setup::default()
                    };
                    one_run::<common::Tachy>(o, t, n, setup)
                }),
            )
        })
        .collect();
    eprintln!(
        "burst: {} records per producer under Drop, {} run(s) per ring",
        opts.burst, opts.runs
    );
    let load_before = common::load_average();
    let rows = take_turns(opts, &runners, |_| opts.burst);
    let load_after = common::load_average();
    println!(
        "\n### Burst loss, shape (a), `Drop`: {} records back to back per producer ({}; load \
         average {load_before} before, {load_after} after)\n",
        opts.burst,
        common::machine()
    );
    let head = [
        "ring",
        "threads",
        "records",
        "lost (median)",
        "lost share (median)",
        "runs: lost share",
    ];
    let share = |r: &Row, f: &Finish| f.dropped as f64 / (r.records - r.threads as u64) as f64;
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut lost: Vec<u64> = r.runs.iter().map(|(_, f)| f.dropped).collect();
            lost.sort_unstable();
            let median = lost[lost.len() / 2];
            vec![
                r.logger.to_string(),
                r.threads.to_string(),
                (r.records - r.threads as u64).to_string(),
                median.to_string(),
                format!(
                    "{:.1} %",
                    100.0 * median as f64 / (r.records - r.threads as u64) as f64
                ),
                r.runs
                    .iter()
                    .map(|(_, f)| format!("{:.1} %", 100.0 * share(r, f)))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    common::print_table(&head, &table);
    println!(
        "\nEach producer logs one record first (its ring is then set up), waits for the others, \
         then logs the burst as fast as it can; default segments (64 MiB). `lost`: records \
         dropped because the ring was full."
    );
    json.insert(
        "burst".into(),
        serde_json::json!({
            "records_per_producer": opts.burst,
            "load_average_before": load_before,
            "load_average_after": load_after,
            "rows": rows.iter().map(|r| {
                let mut v = r.json();
                v["ring"] = serde_json::json!(r.logger);
                v
            }).collect::<Vec<_>>(),
        }),
    );
    unaccounted(&rows)
}

fn main() {
    let opts = Opts::parse();
    eprintln!("throughput: threads {:?}", opts.threads);
    let mut json = serde_json::Map::new();
    let mut lines = Vec::new();
    if opts.wants_part("compare") {
        lines.extend(compare(&opts, &mut json));
    }
    if opts.wants_part("sustained") {
        lines.extend(sustained(&opts, &mut json));
    }
    if opts.wants_part("burst") {
        lines.extend(burst(&opts, &mut json));
    }
    if cfg!(debug_assertions) {
        println!("\nBuilt without optimisations: a smoke run, not a measurement.");
    }
    let (warnings, targets): (Vec<String>, Vec<String>) =
        lines.into_iter().partition(|l| l.starts_with("WARNING"));
    println!("\n### Ratios from this run\n");
    for line in &targets {
        println!("- {line}");
    }
    for w in &warnings {
        println!("\n{w}");
    }
    json.insert("benchmark".into(), "throughput".into());
    json.insert("machine".into(), common::machine().into());
    json.insert("date_utc".into(), common::today_utc().into());
    json.insert("quick".into(), opts.quick.into());
    json.insert("pinned".into(), opts.pin.into());
    json.insert("ratios".into(), serde_json::json!(targets));
    let path = common::out_dir().join("throughput.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&serde_json::Value::Object(json)).unwrap(),
    )
    .expect("write throughput.json");
    println!("\nWrote {}", path.display());
    // The smoke run (CI) fails on records neither written nor counted as dropped.
    if !warnings.is_empty() && opts.quick {
        std::process::exit(1);
    }
}
