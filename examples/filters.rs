//! Per-target filters from `TACHYLOG_LOG` (or code), changed at run time with `set_filter`.
//!
//! ```sh
//! TACHYLOG_LOG=warn,orders=debug cargo run --example filters
//! cargo run -p tachylog-cli -- decode --format text target/filters-logs
//! ```
fn main() -> Result<(), tachylog::Error> {
    // The code's settings; `TACHYLOG_LOG` and `TACHYLOG_DIR`, where set, win over them at
    // `init`. `from_env` reads the variables now, so a bad one is reported before anything.
    let guard = tachylog::Builder::from_env()?
        .dir("target/filters-logs")
        .filter("info,orders=debug,net::conn=warn")?
        .init()?;
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
