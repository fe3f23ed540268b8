//! The defaults a service keeps: the default ring absorbs a 200,000-record burst from one
//! thread.
mod common;

use std::time::Duration;
use tachylog::Builder;

/// Logs `n` records of shape (a) back to back (or one per `pace`) after letting the drain fall into its naps;
/// returns (written, dropped).
fn burst(b: Builder, n: u32, pace: Duration) -> (u64, u64) {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let guard = b.dir(dir.path()).env_overrides(false).init().unwrap();
    // The ring is set up by the first record; then the drain idles into its longest naps.
    tachylog::info!("Logging int: {}, int: {}, double: {}", 0u32, 0u32, 0.0f64);
    tachylog::flush();
    std::thread::sleep(Duration::from_millis(100));
    for i in 0..n {
        tachylog::info!(
            "Logging int: {}, int: {}, double: {}",
            i,
            i + 1,
            f64::from(i) * 0.5
        );
        if !pace.is_zero() {
            let t = std::time::Instant::now();
            while t.elapsed() < pace {
                std::hint::spin_loop();
            }
        }
    }
    drop(guard);
    let d = common::decode([dir.path()]);
    (d.records.len() as u64 - 1, d.dropped())
}

#[test]
fn the_default_ring_absorbs_a_200k_burst_from_one_thread() {
    let (written, dropped) = burst(Builder::new(), 200_000, Duration::ZERO);
    assert_eq!(written + dropped, 200_000);
    assert!(dropped * 100 < 200_000, "lost {dropped} of 200000");
}
