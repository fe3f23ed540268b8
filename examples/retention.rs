//! Time-based rotation and retention: segments rotate on wall-clock boundaries (here every
//! second) and when full, and only the newest few sealed segments are kept.
//!
//! ```sh
//! cargo run --example retention && ls target/retention-logs
//! ```
use std::time::Duration;

fn main() -> Result<(), tachylog::Error> {
    let dir = "target/retention-logs";
    let guard = tachylog::Builder::new()
        .dir(dir)
        .name("app")
        .segment_size(256 << 10)
        .ring_capacity(64 << 10)
        .rotate_every(Duration::from_secs(1)) // at every whole second, UTC
        .max_segments(3) // the live one included
        .max_total_bytes(1 << 20)
        .max_age(Duration::from_secs(3600))
        .init()?;
    for tick in 0..5u32 {
        for i in 0..2_000u32 {
            tachylog::info!(tick = tick, "record {i} of second {tick}");
        }
        std::thread::sleep(Duration::from_millis(600));
    }
    let stats = tachylog::stats();
    drop(guard);
    println!(
        "segments created {}, deleted by retention {}",
        stats.segments_created, stats.segments_removed
    );
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| tachylog::Error::Io {
            what: "cannot list",
            path: dir.into(),
            source,
        })?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    println!("kept: {names:?}");
    Ok(())
}
