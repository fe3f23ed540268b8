//! What each bridge costs per call next to the native macro, measured side by side in one run
//! (`--features log,tracing`): ns per call for the same record through `tachylog::info!`,
//! `log::info!` through the `log` bridge, and `tracing::info!` through the layer (with the
//! values in the message, formatted on the caller, and as raw fields).
//!
//! ```sh
//! cargo run --release --features log,tracing --example bridge_cost
//! ```
//!
//! Each run times every variant in turn, in bursts of `BURST` calls with a `flush` between
//! bursts (so the ring never fills and the time is the caller's, not back-pressure); the
//! table shows each run and the median of the runs. `BRIDGE_COST_RUNS` sets the number of
//! runs (default 7).
use std::time::Instant;
use tracing_subscriber::layer::SubscriberExt;

const BURST: u64 = 2_000;
const BURSTS: u64 = 100;

/// One way to log the record `(i, b, x)`.
type Variant<'a> = (&'a str, &'a dyn Fn(u64, u64, f64));

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// ns per call of `f(i, b, x)` over `BURSTS` bursts of `BURST` calls.
fn time(f: &dyn Fn(u64, u64, f64)) -> f64 {
    let mut busy = 0u128;
    for b in 0..BURSTS {
        let start = Instant::now();
        for i in 0..BURST {
            f(i, b, i as f64 * 0.5);
        }
        busy += start.elapsed().as_nanos();
        tachylog::flush();
    }
    busy as f64 / (BURST * BURSTS) as f64
}

fn main() -> Result<(), tachylog::Error> {
    let runs: usize = std::env::var("BRIDGE_COST_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
        .max(1);
    let dir = std::env::temp_dir().join(format!("tachylog-bridge-cost-{}", std::process::id()));
    let guard = tachylog::Builder::new()
        .dir(&dir)
        .ring_capacity(1 << 20)
        .init()?;
    tachylog::bridge::log::init()?;
    let subscriber = tracing_subscriber::registry().with(tachylog::bridge::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");

    let variants: [Variant; 5] = [
        ("tachylog::info!(fmt, i, b, x)", &|i, b, x| {
            tachylog::info!("Logging int: {}, int: {}, double: {}", i, b, x)
        }),
        ("tachylog::info!(i, b, x, msg)", &|i, b, x| {
            tachylog::info!(i = i, b = b, x = x, "Logging")
        }),
        ("log::info!(fmt, i, b, x)", &|i, b, x| {
            log::info!("Logging int: {}, int: {}, double: {}", i, b, x)
        }),
        ("tracing::info!(fmt, i, b, x)", &|i, b, x| {
            tracing::info!("Logging int: {}, int: {}, double: {}", i, b, x)
        }),
        ("tracing::info!(i, b, x, msg)", &|i, b, x| {
            tracing::info!(i, b, x, "Logging")
        }),
    ];
    // Warm up: rings, call sites and caches exist before anything is timed.
    for (_, f) in &variants {
        f(0, 0, 0.0);
    }
    tachylog::flush();
    let mut per_call: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for _ in 0..runs {
        for (v, (_, f)) in variants.iter().enumerate() {
            per_call[v].push(time(*f));
        }
    }
    let stats = tachylog::stats();
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);

    let native = median(per_call[0].clone());
    println!(
        "ns per call, {runs} runs of {} calls each, median and ratio to the native macro:",
        BURST * BURSTS
    );
    for ((name, _), runs) in variants.iter().zip(&per_call) {
        let m = median(runs.clone());
        println!(
            "{name:<30} median {m:>7.1} ns  x{:<5.1} runs {runs:.1?}",
            m / native
        );
    }
    println!(
        "records written {} dropped {}",
        stats.records_written, stats.records_dropped
    );
    Ok(())
}
