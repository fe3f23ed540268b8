//! `tracing` events, with their fields and spans, written through tachylog
//! (`--features tracing`).
//!
//! ```sh
//! cargo run --features tracing --example tracing_bridge
//! cargo run -p tachylog-cli -- decode target/tracing-bridge-logs
//! ```
use tracing_subscriber::layer::SubscriberExt;

fn main() -> Result<(), tachylog::Error> {
    let guard = tachylog::Builder::new()
        .dir("target/tracing-bridge-logs")
        .filter("info,db=debug")?
        .init()?;
    let subscriber = tracing_subscriber::registry().with(tachylog::bridge::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");

    for id in 0..2u64 {
        let _request = tracing::info_span!("request", id).entered();
        tracing::info!(user = "ana", qty = 3, price = 9.5, "order placed");
        let _db = tracing::debug_span!("db").entered();
        tracing::debug!(target: "db", rows = 12 * id, elapsed = ?std::time::Duration::from_micros(250), "query");
        tracing::trace!("filtered out: below info");
    }
    tracing::warn!(retries = 3, "outside any span");

    drop(guard);
    println!("logs in target/tracing-bridge-logs");
    Ok(())
}
