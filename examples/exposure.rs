//! The `kill -9` exposure window: how long a record stays in its ring, where `kill -9` would
//! lose it, after the log call returned. A watcher thread spins on `stats().records_written`
//! and notes when each record is in the segment; the window of a record is that moment minus
//! the moment its `info!` returned. Prints p50, p99, p99.9 and max at one record per
//! millisecond (the drain idles between records) and at full rate (bursts of 1,000).
//! Run with `cargo run --release --example exposure`.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const N: usize = 5_000;

fn pct(v: &mut [u64], p: f64) -> u64 {
    v.sort_unstable();
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn measure(paced: bool) -> Vec<u64> {
    let epoch = Instant::now();
    let returned: Arc<Vec<AtomicU64>> = Arc::new((0..N).map(|_| AtomicU64::new(0)).collect());
    let committed: Arc<Vec<AtomicU64>> = Arc::new((0..N).map(|_| AtomicU64::new(0)).collect());
    let base = tachylog::stats().records_written as usize;
    let watcher = {
        let committed = committed.clone();
        std::thread::spawn(move || {
            let mut seen = 0;
            while seen < N {
                let now = tachylog::stats().records_written as usize - base;
                let t = epoch.elapsed().as_nanos() as u64;
                for c in &committed[seen..now.min(N)] {
                    c.store(t, Ordering::Relaxed);
                }
                seen = seen.max(now.min(N));
            }
        })
    };
    for i in 0..N {
        tachylog::info!("exposure {}", i);
        returned[i].store(epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if paced {
            std::thread::sleep(Duration::from_millis(1));
        } else if i % 1000 == 999 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    watcher.join().unwrap();
    (0..N)
        .map(|i| {
            committed[i]
                .load(Ordering::Relaxed)
                .saturating_sub(returned[i].load(Ordering::Relaxed))
        })
        .collect()
}

fn main() -> Result<(), tachylog::Error> {
    let dir = std::env::temp_dir().join(format!("tachylog-exposure-{}", std::process::id()));
    let guard = tachylog::Builder::new().dir(&dir).init()?;
    for (name, paced) in [("1 record/ms", true), ("full rate", false)] {
        let mut w = measure(paced);
        println!(
            "kill -9 exposure window, {name}: p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us ({N} records)",
            pct(&mut w, 0.50) as f64 / 1e3,
            pct(&mut w, 0.99) as f64 / 1e3,
            pct(&mut w, 0.999) as f64 / 1e3,
            pct(&mut w, 1.0) as f64 / 1e3,
        );
    }
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
