//! Sampling and rate limits for chatty call sites, and where the counts show up.
//!
//! ```sh
//! cargo run --example sampling
//! ```
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = "target/sampling-logs";
    let guard = tachylog::Builder::new().dir(dir).init()?;
    for i in 0..10_000u32 {
        tachylog::info!(sample = 100, "polled queue, i = {i}"); // 1 in 100 per thread
        tachylog::debug!(limit = 10 / s, "cache miss {i}"); // Debug is off at the default level
        tachylog::info!(limit = 10 / s, "heartbeat {i}"); // at most 10 a second per thread
        if i % 5_000 == 0 {
            tachylog::warn!(sample = 100, "warn! ignores sampling: always kept");
        }
    }
    for s in tachylog::sampling_stats() {
        println!(
            "{}:{} {:?}: kept {}, skipped {}",
            s.file, s.line, s.format, s.kept, s.skipped
        );
    }
    println!("skipped in all: {}", tachylog::stats().records_sampled_out);
    drop(guard);
    // The same counts, read back from the segments.
    for e in tachylog::reader::Reader::open([dir])? {
        if let Ok(tachylog::reader::Event::Sampled(s)) = e {
            println!(
                "segment {}: line {} kept {} skipped {}",
                s.segment, s.callsite.line, s.kept, s.skipped
            );
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
