//! Crates that use the `log` macros, written through tachylog (`--features log`).
//!
//! ```sh
//! cargo run --features log --example log_bridge
//! cargo run -p tachylog-cli -- decode --format text target/log-bridge-logs
//! ```
fn main() -> Result<(), tachylog::Error> {
    let guard = tachylog::Builder::new()
        .dir("target/log-bridge-logs")
        .filter("info,chatty=warn")?
        .init()?;
    // Err if another `log` logger was installed first.
    tachylog::bridge::log::init()?;

    log::info!("started with {} workers", 4);
    log::info!(target: "chatty", "filtered out: chatty keeps warn and above");
    log::warn!(target: "chatty", "kept");
    log::debug!("filtered out: below info (its arguments are not evaluated)");
    // set_filter also moves `log`'s own maximum level.
    tachylog::set_filter("debug")?;
    log::debug!("kept after set_filter: {:?}", [1, 2, 3]);

    drop(guard);
    println!("logs in target/log-bridge-logs");
    Ok(())
}
