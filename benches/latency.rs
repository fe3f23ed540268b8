//! Hot-path latency of one logging call, tachylog beside other loggers, in one run.
//!
//! Each producer thread calls in bursts of 20 with a short sleep between bursts, so no queue
//! fills: this measures the call, not back-pressure. Even bursts time every call on its own with
//! the time-stamp counter (calibrated once against the monotonic clock); odd bursts time the
//! whole burst and record its mean, as Quill's `hot_path_latency` benchmark reports. Separate
//! rows fill tachylog's ring on purpose (no pauses, smallest ring) under `Drop` and `Block`.
//!
//! `cargo bench --bench latency [-- --threads 1,2,4 --bursts N --quick --console --pin]`
//! (`--pin`: producer `t` on core `t`, the drain on the last core). Prints a
//! Markdown table and writes `target/bench/latency.json` and `target/bench/latency.svg`.
//! `--console` runs tachylog with its development console on stderr (`Builder::console`;
//! redirect it, `2>console.txt`): the call's latency should not change, since the console
//! reads the segment files on a thread of its own.
mod common;

use common::{Finish, Opts, Setup, Shape, Subject, ticks};
use hdrhistogram::Histogram;
use std::sync::Barrier;
use std::time::Duration;

/// Calls per burst.
const BURST: usize = 20;
/// Sleep between bursts: long enough for every logger's background thread to catch up.
const PAUSE: Duration = Duration::from_micros(100);
/// Untimed bursts per thread first (first-use registration, page faults, caches).
const WARMUP_BURSTS: usize = 50;

/// One row of results; times in nanoseconds.
struct Row {
    logger: &'static str,
    shape: &'static str,
    threads: usize,
    /// "burst" (pauses, queue never full), "ring full, Drop", "ring full, Block".
    mode: &'static str,
    /// Calls timed one by one.
    timed: u64,
    /// p50, p90, p99, p99.9, p99.99, max of single calls.
    single: [f64; 6],
    /// p50 and p99.9 of burst-of-20 means (absent for the ring-full rows).
    burst: Option<[f64; 2]>,
    finish: Finish,
    /// Calls made in all (warm-up included), to set beside written + dropped.
    calls: u64,
}

const QUANTILES: [f64; 5] = [0.5, 0.9, 0.99, 0.999, 0.9999];
const Q_LABELS: [&str; 6] = ["p50", "p90", "p99", "p99.9", "p99.99", "max"];

/// A histogram of ticks with 3 significant figures up to 2^40 ticks (minutes); larger values
/// are clamped to that bound.
fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 1 << 40, 3).expect("valid bounds")
}

fn summary(h: &Histogram<u64>, tpn: f64) -> [f64; 6] {
    let mut out = [0.0; 6];
    for (o, q) in out.iter_mut().zip(QUANTILES) {
        *o = h.value_at_quantile(q) as f64 / tpn;
    }
    out[5] = h.max() as f64 / tpn;
    out
}

/// The call for shape `SH` (a constant, so the match folds away inside the timed loop).
#[inline(always)]
fn call<S: Subject, const SH: u8>(s: &S, l: &mut S::Local, i: u64) {
    common::call(s, l, Shape::ALL[SH as usize], i);
}

/// What one producer thread measured.
struct ThreadResult {
    single: Histogram<u64>,
    burst: Histogram<u64>,
    calls: u64,
}

/// Bursts with pauses: even bursts time each call, odd bursts time the burst as a whole.
fn bursts_thread<S: Subject, const SH: u8>(
    s: &S,
    t: usize,
    bursts: usize,
    barrier: &Barrier,
) -> ThreadResult {
    let mut l = s.local();
    let (mut single, mut burst) = (hist(), hist());
    let mut i = (t as u64) << 40;
    for _ in 0..WARMUP_BURSTS {
        for _ in 0..BURST {
            call::<S, SH>(s, &mut l, i);
            i += 1;
        }
        std::thread::sleep(PAUSE);
    }
    barrier.wait();
    for b in 0..bursts {
        if b % 2 == 0 {
            let mut d = [0u64; BURST];
            for slot in &mut d {
                let t0 = ticks();
                call::<S, SH>(s, &mut l, i);
                *slot = ticks().wrapping_sub(t0);
                i += 1;
            }
            for v in d {
                single.saturating_record(v);
            }
        } else {
            let t0 = ticks();
            for _ in 0..BURST {
                call::<S, SH>(s, &mut l, i);
                i += 1;
            }
            burst.saturating_record(ticks().wrapping_sub(t0) / BURST as u64);
        }
        std::thread::sleep(PAUSE);
    }
    drop(l);
    ThreadResult {
        single,
        burst,
        calls: ((WARMUP_BURSTS + bursts) * BURST) as u64,
    }
}

/// No pauses: every call timed, the ring as small as tachylog allows, so it fills.
fn flood_thread<S: Subject, const SH: u8>(
    s: &S,
    t: usize,
    calls: usize,
    barrier: &Barrier,
) -> ThreadResult {
    let mut l = s.local();
    let mut single = hist();
    let mut i = (t as u64) << 40;
    for _ in 0..BURST {
        call::<S, SH>(s, &mut l, i);
        i += 1;
    }
    barrier.wait();
    let mut d = [0u64; BURST];
    for _ in 0..calls / BURST {
        for slot in &mut d {
            let t0 = ticks();
            call::<S, SH>(s, &mut l, i);
            *slot = ticks().wrapping_sub(t0);
            i += 1;
        }
        for v in d {
            single.saturating_record(v);
        }
    }
    drop(l);
    ThreadResult {
        single,
        burst: hist(),
        calls: (BURST + calls / BURST * BURST) as u64,
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Bursts,
    Flood { block: bool },
}

/// What one logger measured in one stretch of bursts (all threads).
struct Part {
    single: Histogram<u64>,
    burst: Histogram<u64>,
    calls: u64,
    finish: Finish,
}

impl Part {
    fn merge(&mut self, o: Part) {
        self.single.add(&o.single).expect("same bounds");
        self.burst.add(&o.burst).expect("same bounds");
        self.calls += o.calls;
        self.finish.written += o.finish.written;
        self.finish.dropped += o.finish.dropped;
        self.finish.bytes += o.finish.bytes;
    }

    fn row(self, logger: &'static str, shape: Shape, threads: usize, mode: Mode, tpn: f64) -> Row {
        Row {
            logger,
            shape: shape.label(),
            threads,
            mode: match mode {
                Mode::Bursts => "bursts",
                Mode::Flood { block: false } => "ring full, Drop",
                Mode::Flood { block: true } => "ring full, Block",
            },
            timed: self.single.len(),
            single: summary(&self.single, tpn),
            burst: (!self.burst.is_empty()).then(|| {
                let s = summary(&self.burst, tpn);
                [s[0], s[3]]
            }),
            finish: self.finish,
            calls: self.calls,
        }
    }
}

/// Starts `S`, runs `threads` producers for `bursts` bursts (or the flood), stops `S`.
fn measure<S: Subject>(
    shape: Shape,
    threads: usize,
    mode: Mode,
    bursts: usize,
    opts: &Opts,
) -> Part {
    let dir = common::scratch(&format!("latency-{}", S::NAME.replace(' ', "_")));
    let setup = match mode {
        Mode::Bursts => Setup {
            drain_core: opts.drain_core(),
            ..Setup::default()
        },
        Mode::Flood { block } => Setup {
            block,
            ring: tachylog_min_ring(),
            drain_core: opts.drain_core(),
            ..Setup::default()
        },
    };
    let s = S::start(&dir, setup);
    let barrier = Barrier::new(threads);
    let results: Vec<ThreadResult> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (s, barrier, n) = (&s, &barrier, bursts);
                sc.spawn(move || {
                    opts.pin_to(t);
                    match (mode, shape) {
                        (Mode::Bursts, Shape::IntIntDouble) => {
                            bursts_thread::<S, 0>(s, t, n, barrier)
                        }
                        (Mode::Bursts, Shape::Str20Int) => bursts_thread::<S, 1>(s, t, n, barrier),
                        (Mode::Bursts, Shape::Str200) => bursts_thread::<S, 2>(s, t, n, barrier),
                        (Mode::Bursts, Shape::Fields5) => bursts_thread::<S, 3>(s, t, n, barrier),
                        (Mode::Flood { .. }, _) => {
                            flood_thread::<S, 0>(s, t, n * BURST / 2, barrier)
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let finish = s.finish();
    let _ = std::fs::remove_dir_all(&dir);
    let mut part = Part {
        single: hist(),
        burst: hist(),
        calls: 0,
        finish,
    };
    for r in results {
        part.single.add(&r.single).expect("same bounds");
        part.burst.add(&r.burst).expect("same bounds");
        part.calls += r.calls;
    }
    part
}

/// A logger's name and its measuring function.
type Runner = (&'static str, fn(Shape, usize, Mode, usize, &Opts) -> Part);

/// Measures every runner for `shape` and `threads` in `rounds` stretches, rotating their order
/// each round, so that a noisy stretch of the machine falls on all of them alike.
fn interleaved(
    runners: &[Runner],
    shape: Shape,
    threads: usize,
    mode: Mode,
    opts: &Opts,
    tpn: f64,
) -> Vec<Row> {
    let rounds = opts.rounds.clamp(1, opts.bursts.max(1));
    let mut parts: Vec<Option<Part>> = runners.iter().map(|_| None).collect();
    for round in 0..rounds {
        // This round's share of the bursts (the first rounds take the remainder).
        let bursts = opts.bursts / rounds + usize::from(round < opts.bursts % rounds);
        for k in 0..runners.len() {
            let i = (k + round) % runners.len();
            let part = (runners[i].1)(shape, threads, mode, bursts, opts);
            match &mut parts[i] {
                Some(p) => p.merge(part),
                slot => *slot = Some(part),
            }
        }
    }
    runners
        .iter()
        .zip(parts)
        .filter_map(|((name, _), p)| Some(p?.row(name, shape, threads, mode, tpn)))
        .collect()
}

/// The smallest ring tachylog accepts, so that the ring-full rows fill it quickly.
fn tachylog_min_ring() -> usize {
    4 << 10
}

/// The empty call: what the two time-stamp reads around a call cost by themselves.
struct Empty;

impl Subject for Empty {
    type Local = ();
    const NAME: &'static str = "(timer only)";
    fn start(_: &std::path::Path, _: Setup) -> Self {
        Empty
    }
    fn local(&self) {}
    #[inline(always)]
    fn a(&self, _: &mut (), i: u32, j: u32, d: f64) {
        std::hint::black_box((i, j, d));
    }
    fn b(&self, _: &mut (), s: &str, i: u64) {
        std::hint::black_box((s, i));
    }
    fn c(&self, _: &mut (), s: &str) {
        std::hint::black_box(s);
    }
    fn d(&self, _: &mut (), o: u64, p: f64, q: u32, s: &str, ok: bool) {
        std::hint::black_box((o, p, q, s, ok));
    }
    fn finish(self) -> Finish {
        Finish::default()
    }
}

/// Quill's `hot_path_latency` method, for a comparison with Quill's own benchmark run beside
/// this one: one producer thread on core 0 and the drain on core 1 with its default idle
/// policy, one record and a flush before timing, then 10,000 bursts of 20
/// calls of Quill's message (`"Logging iteration: {}, message: {}, double: {}"`, two `u64` and an
/// `f64`), each burst timed as a whole with the time-stamp counter and its mean per call kept in
/// whole nanoseconds, and a busy wait of 2.0 to 2.2 ms between bursts. Percentiles by nearest
/// rank over the bursts, printed as Quill prints them.
///
/// The ring is 128 KiB, the size of Quill's default first queue. With tachylog's default 8 MiB
/// ring, one run (10,000 bursts, 8.6 MB of records) goes once through ring pages never
/// touched before (one burst in about five starts a new page): p50 61 ns and p99 1,134 ns
/// against Quill's 32 and 259 in one sitting on a 2-core guest, and p50 21 and p99 128 with
/// this ring in the next run. That points at the default ring's first pass (first-touch page
/// faults, not counted), not at the call.
fn quill_method(tpn: f64) {
    const ITERATIONS: usize = 10_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let cores = core_affinity::get_core_ids().map_or(1, |c| c.len());
    let guard = tachylog::Builder::new()
        .dir(dir.path())
        .name("quill-method")
        .drain_core(Some(1 % cores))
        .ring_capacity(128 << 10)
        .env_overrides(false)
        .init()
        .expect("start tachylog");
    let mut lat = std::thread::spawn(move || {
        core_affinity::set_for_current(core_affinity::CoreId { id: 0 });
        tachylog::info!("preallocate");
        tachylog::flush();
        // xorshift: the wait's length, uniform in 2.0..2.2 ms as Quill draws it.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut lat = Vec::with_capacity(ITERATIONS);
        for k in 0..ITERATIONS as u64 {
            let d = k as f64 + 0.1 * k as f64;
            let t0 = ticks();
            for i in 0..BURST as u64 {
                tachylog::info!("Logging iteration: {}, message: {}, double: {}", k, i, d);
            }
            let t1 = ticks();
            lat.push(((t1 - t0) as f64 / BURST as f64 / tpn) as u64);
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let wait = Duration::from_micros(2_000 + seed % 201);
            let until = std::time::Instant::now() + wait;
            while std::time::Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        tachylog::flush();
        lat
    })
    .join()
    .expect("producer");
    let s = tachylog::stats();
    drop(guard);
    lat.sort_unstable();
    let at = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    println!(
        "\n### tachylog by Quill's hot_path_latency method, ns per call (burst-of-20 means; {}; \
         {} records written, {} dropped)\n",
        common::machine(),
        s.records_written,
        s.records_dropped
    );
    println!("| 50th | 75th | 90th | 95th | 99th | 99.9th | Worst |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {} | {} | {} | {} | {} | {} |",
        at(0.5),
        at(0.75),
        at(0.9),
        at(0.95),
        at(0.99),
        at(0.999),
        lat[lat.len() - 1]
    );
}

fn ns(v: f64) -> String {
    if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn main() {
    let opts = Opts::parse();
    let load_before = common::load_average();
    let tpn = common::calibrate(Duration::from_millis(200));
    if opts.quill_method {
        quill_method(tpn);
        return;
    }
    let step_ns = common::tick_step() as f64 / tpn;
    eprintln!(
        "latency: threads {:?}, {} bursts of {BURST} per thread in {} rounds, pause {PAUSE:?}, \
         {tpn:.3} ticks/ns",
        opts.threads, opts.bursts, opts.rounds
    );
    let all: [Runner; 5] = [
        (common::Floor::NAME, measure::<common::Floor>),
        (common::Tachy::NAME, measure::<common::Tachy>),
        (common::Tracing::NAME, measure::<common::Tracing>),
        (common::Slog::NAME, measure::<common::Slog>),
        (common::SyncWrite::NAME, measure::<common::SyncWrite>),
    ];
    let runners: Vec<Runner> = all.into_iter().filter(|r| opts.wants(r.0)).collect();
    let tachy: Vec<Runner> = runners
        .iter()
        .copied()
        .filter(|r| r.0 == common::Tachy::NAME)
        .collect();
    let empty: [Runner; 1] = [(Empty::NAME, measure::<Empty>)];
    let mut rows = interleaved(&empty, Shape::IntIntDouble, 1, Mode::Bursts, &opts, tpn);
    for &threads in &opts.threads {
        for shape in Shape::ALL {
            eprintln!("  {threads} thread(s), {}", shape.label());
            rows.extend(interleaved(
                &runners,
                shape,
                threads,
                Mode::Bursts,
                &opts,
                tpn,
            ));
        }
        for block in [false, true] {
            let m = Mode::Flood { block };
            rows.extend(interleaved(
                &tachy,
                Shape::IntIntDouble,
                threads,
                m,
                &opts,
                tpn,
            ));
        }
    }
    let load_after = common::load_average();

    println!(
        "\n### Latency of one call, ns ({}; load average {load_before} before, {load_after} after; \
         time-stamp counter steps by {step_ns:.1} ns{})\n",
        common::machine(),
        if opts.console {
            "; tachylog with its console on stderr"
        } else {
            ""
        }
    );
    let mut head = vec!["logger", "shape", "threads / mode"];
    head.extend(Q_LABELS);
    head.extend([
        "burst-20 mean p50",
        "burst-20 mean p99.9",
        "written",
        "dropped",
    ]);
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![
                r.logger.to_string(),
                r.shape.to_string(),
                format!("{} {}", r.threads, r.mode),
            ];
            v.extend(r.single.iter().map(|&x| ns(x)));
            match r.burst {
                Some([p50, p999]) => v.extend([ns(p50), ns(p999)]),
                None => v.extend(["-".into(), "-".into()]),
            }
            v.push(r.finish.written.to_string());
            v.push(r.finish.dropped.to_string());
            v
        })
        .collect();
    common::print_table(&head, &table);
    println!(
        "\nEach thread: {} bursts of {BURST} calls with {PAUSE:?} sleeps, in {} rounds that \
         rotate the order of the loggers (each round starts the logger afresh and begins with \
         {WARMUP_BURSTS} untimed bursts); half of the bursts time each call, half time the \
         burst (mean per call). Times include the two time-stamp reads around the call (the \
         `(timer only)` row). `written` is what reached the files, out of the calls made \
         (warm-up included).",
        opts.bursts, opts.rounds
    );

    if cfg!(debug_assertions) {
        println!("\nBuilt without optimisations: a smoke run, not a measurement.");
    }
    let ratios = target_ratios(&rows);
    println!("\n### Targets (ratios from this run)\n");
    for line in &ratios {
        println!("- {line}");
    }

    let mut unaccounted = false;
    for r in &rows {
        let expected = if r.logger == Empty::NAME { 0 } else { r.calls };
        let accounted = r.finish.written + r.finish.dropped;
        if accounted != expected {
            unaccounted = true;
            println!(
                "\nWARNING: {} {} {} thread(s) {}: {} calls but {} written + {} dropped",
                r.logger, r.shape, r.threads, r.mode, expected, r.finish.written, r.finish.dropped
            );
        }
    }

    let out = common::out_dir();
    let json = serde_json::json!({
        "benchmark": "latency",
        "machine": common::machine(),
        "date_utc": common::today_utc(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "ticks_per_ns": tpn,
        "tick_step_ns": step_ns,
        "burst": BURST,
        "pause_us": PAUSE.as_micros() as u64,
        "bursts_per_thread": opts.bursts,
        "rounds": opts.rounds,
        "quick": opts.quick,
        "targets": ratios,
        "rows": rows.iter().map(|r| serde_json::json!({
            "logger": r.logger,
            "shape": r.shape,
            "threads": r.threads,
            "mode": r.mode,
            "timed_calls": r.timed,
            "calls": r.calls,
            "ns": Q_LABELS.iter().zip(r.single).map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                .collect::<serde_json::Map<_, _>>(),
            "burst20_mean_ns": r.burst.map(|[a, b]| serde_json::json!({"p50": a, "p99.9": b})),
            "written": r.finish.written,
            "dropped": r.finish.dropped,
            "bytes": r.finish.bytes,
        })).collect::<Vec<_>>(),
    });
    let json_path = out.join("latency.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&json).unwrap())
        .expect("write latency.json");
    let svg_path = out.join("latency.svg");
    if let Err(e) = plot(&rows, &svg_path) {
        eprintln!("could not draw {}: {e}", svg_path.display());
        std::process::exit(1);
    }
    println!("\nWrote {} and {}", json_path.display(), svg_path.display());
    // The smoke run (CI) fails on records neither written nor counted as dropped; a full run
    // only warns, since a loaded machine can make tracing-appender's bounded shutdown give up.
    if unaccounted && opts.quick {
        std::process::exit(1);
    }
}

/// The targets, checked on this run's figures for every shape and thread count.
fn target_ratios(rows: &[Row]) -> Vec<String> {
    let find = |logger: &str, shape: &str, threads: usize| {
        rows.iter().find(|r| {
            r.logger == logger && r.shape == shape && r.threads == threads && r.mode == "bursts"
        })
    };
    let mut out = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.logger == "tachylog" && r.mode == "bursts")
    {
        let (Some(floor), Some(tracing)) = (
            find("floor", r.shape, r.threads),
            find("tracing-appender", r.shape, r.threads),
        ) else {
            continue;
        };
        let f50 = r.single[0] / floor.single[0];
        let f999 = r.single[3] / floor.single[3];
        let t50 = tracing.single[0] / r.single[0];
        let t999 = tracing.single[3] / r.single[3];
        let b50 = match (r.burst, floor.burst) {
            (Some(t), Some(f)) => format!("{:.2}x", t[0] / f[0]),
            _ => "-".into(),
        };
        let mark = |ok: bool| if ok { "met" } else { "MISSED" };
        out.push(format!(
            "{} {} thread(s): tachylog/floor p50 {f50:.2}x (target <= 1.5x, {}), p99.9 {f999:.2}x \
             (target <= 4x, {}), burst-20 mean p50 {b50}; tracing-appender/tachylog p50 \
             {t50:.1}x, p99.9 {t999:.1}x (target >= 20x, {})",
            r.shape,
            r.threads,
            mark(f50 <= 1.5),
            mark(f999 <= 4.0),
            mark(t50 >= 20.0 && t999 >= 20.0),
        ));
    }
    out
}

/// Latency percentiles of shape (a) per logger, one panel per thread count (at most two).
fn plot(rows: &[Row], path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let shape = Shape::IntIntDouble.label();
    let mut threads: Vec<usize> = rows.iter().map(|r| r.threads).collect();
    threads.sort_unstable();
    threads.dedup();
    threads.truncate(2);
    let root = SVGBackend::new(path, (1000, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, threads.len()));
    let loggers = [
        "floor",
        "tachylog",
        "slog-async",
        "tracing-appender",
        "sync write(2)",
    ];
    let colors = [
        RGBColor(120, 120, 120),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(31, 119, 180),
        RGBColor(148, 103, 189),
    ];
    let series = |logger: &str, t: usize| {
        rows.iter().find(|r| {
            r.logger == logger && r.shape == shape && r.threads == t && r.mode == "bursts"
        })
    };
    let top = rows
        .iter()
        .filter(|r| r.mode == "bursts")
        .map(|r| r.single[5])
        .fold(10.0, f64::max);
    for (area, &t) in panels.iter().zip(&threads) {
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{shape}, {t} thread(s): ns per call"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.2f64..5.2f64, (1f64..top * 2.0).log_scale())?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && (0.0..=5.0).contains(&i) {
                    Q_LABELS[i as usize].to_string()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_desc("ns (log scale)")
            .draw()?;
        for (logger, color) in loggers.iter().zip(colors) {
            let Some(r) = series(logger, t) else { continue };
            let points: Vec<(f64, f64)> = r
                .single
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as f64, v.max(1.0)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(*logger)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
