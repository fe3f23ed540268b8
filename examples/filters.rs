//! Per-target filters from `TACHYLOG_LOG` (or code), changed at run time with `set_filter`.
//!
//! ```sh
//! TACHYLOG_LOG=warn,orders=debug cargo run --example filters
//! cargo run -p tachylog-cli -- decode --format text target/filters-logs
//! ```
fn main() -> Result<(), tachylog::Error> {
    // Environment first; explicit calls win (the directory is always this one).
    let mut builder = tachylog::Builder::from_env()?.dir("target/filters-logs");
    if std::env::var_os("TACHYLOG_LOG").is_none() {
        builder = builder.filter("info,orders=debug,net::conn=warn")?;
    }
    let guard = builder.init()?;
    for round in 0..2 {
        tachylog::debug!(target: "orders", "book rebuilt, round {round}");
        tachylog::info!(target: "net::conn", "connected, round {round}");
        tachylog::warn!(target: "net::conn", "slow peer, round {round}");
        tachylog::debug!(target: "net", "poll, round {round}");
        // Round 1 runs with another filter: every call site above picks it up.
        tachylog::set_filter("warn,net=debug")?;
    }
    drop(guard);
    println!("logs in target/filters-logs");
    Ok(())
}
