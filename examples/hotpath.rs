//! A quick, simple measure of the hot path (full benchmarks live in `benches/`):
//! ns per `info!` with two integers and a float, next to ns per raw `rdtsc`.
//! Run with `cargo run --release --example hotpath`.
use std::hint::black_box;
use std::time::Instant;

const BURST: u64 = 2_000;
const BURSTS: u64 = 200;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), tachylog::Error> {
    let dir = std::env::temp_dir().join(format!("tachylog-hotpath-{}", std::process::id()));
    let guard = tachylog::Builder::new()
        .dir(&dir)
        .ring_capacity(1 << 20)
        .init()?;
    let mut per_call = Vec::new();
    for _run in 0..5 {
        let mut busy = 0u128;
        for b in 0..BURSTS {
            let start = Instant::now();
            for i in 0..BURST {
                tachylog::info!("Logging int: {}, int: {}, double: {}", i, b, i as f64 * 0.5);
            }
            busy += start.elapsed().as_nanos();
            // Let the drain empty the ring so we time the hot path, not back-pressure.
            tachylog::flush();
        }
        per_call.push(busy as f64 / (BURST * BURSTS) as f64);
    }
    let stats = tachylog::stats();
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);

    let mut tsc = Vec::new();
    for _run in 0..5 {
        let n = 10_000_000u64;
        let start = Instant::now();
        let mut acc = 0u64;
        for _ in 0..n {
            acc = acc.wrapping_add(read_ticks());
        }
        black_box(acc);
        tsc.push(start.elapsed().as_nanos() as f64 / n as f64);
    }
    println!(
        "info!(int, int, f64): runs {per_call:.2?} ns/call, median {:.2} ns",
        median(per_call.clone())
    );
    println!(
        "raw rdtsc:            runs {tsc:.2?} ns/read, median {:.2} ns",
        median(tsc.clone())
    );
    println!(
        "records written {} dropped {}",
        stats.records_written, stats.records_dropped
    );
    Ok(())
}

#[inline(always)]
fn read_ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: rdtsc is available on every x86-64 processor and has no memory effects.
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Instant::now().elapsed().as_nanos() as u64
    }
}
