//! The main job in miniature: four threads log orders, then the segments are listed.
//! Decode them with `cargo run -p tachylog-cli -- decode <dir>`.
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/demo-logs".into());
    let _ = std::fs::remove_dir_all(&dir);
    let stats = log_orders(&dir)?;
    eprintln!(
        "logged {} records ({} dropped) into {} segment(s) under {dir}",
        stats.records_written, stats.records_dropped, stats.segments_created
    );
    Ok(())
}

/// Logs the orders into `dir` and returns the logger's figures, read once everything logged is
/// in the file.
fn log_orders(dir: &str) -> Result<tachylog::Stats, Box<dyn std::error::Error>> {
    let guard = tachylog::Builder::new().dir(dir).name("demo").init()?;
    let workers: Vec<_> = (0..4u32)
        .map(|w| {
            std::thread::Builder::new().name(format!("worker-{w}")).spawn(move || {
                for order in 0..5u64 {
                    let (qty, price) = (10 * (order + 1), 99.5 + w as f64);
                    tachylog::info!(target: "orders", worker = w, order = order, "filled {qty} @ {price:.2}");
                    if order == 3 {
                        tachylog::warn!("slow fill on order {} ({:?} late)", order, tachylog::debug(Duration::from_micros(250)));
                    }
                }
            })
        })
        .collect::<Result<_, _>>()?;
    for w in workers {
        w.join().expect("worker panicked");
    }
    tachylog::error!(target: "risk", limit = 0.8f64, "exposure above {}%", 80);
    // Until the drain has written them, records are still in the threads' rings: the figures
    // count what is in the file once `flush` returns.
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard); // stops the drain, seals the segment
    Ok(stats)
}

#[cfg(test)]
mod tests {
    /// The count the demo prints is the number of records in its file.
    #[test]
    fn prints_the_records_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let stats = super::log_orders(dir.path().to_str().unwrap()).unwrap();
        let in_file = tachylog::reader::Reader::open([dir.path()])
            .unwrap()
            .filter(|e| matches!(e, Ok(tachylog::reader::Event::Record(_))))
            .count();
        assert_eq!(in_file, 25);
        assert_eq!(stats.records_written, 25, "{stats:?}");
    }
}
