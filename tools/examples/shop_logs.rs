//! Writes N records like the shipping tests' into DIR, for measuring `tachylog ship`: typed
//! fields (`i` u64, `user` str, `ratio` f64, `even` bool), five targets, levels ERROR to TRACE,
//! in 4 MiB segments.
//!
//! ```sh
//! cargo run --release -p tachylog-cli --example shop_logs -- /tmp/shop 200000
//! time target/release/tachylog ship /tmp/shop --otlp http://127.0.0.1:4318
//! ```
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(n)) = (args.next(), args.next()) else {
        eprintln!("usage: shop_logs DIR N");
        std::process::exit(2);
    };
    let n: u64 = n.parse()?;
    let guard = tachylog::Builder::new()
        .dir(&dir)
        .name("shop")
        .segment_size(4 << 20)
        .overflow(tachylog::Overflow::Block)
        .level(tachylog::Level::Trace)
        .init()?;
    const USERS: [&str; 4] = ["ana", "bob", "carla", "dmitri"];
    let t = Instant::now();
    for i in 0..n {
        let user = USERS[(i % 4) as usize];
        let ratio = i as f64 / 4.0;
        let even = i.is_multiple_of(2);
        match i % 5 {
            0 => {
                tachylog::error!(target: "shop::pay", i = i, user = user, ratio = ratio, even = even, "payment {} failed", i)
            }
            1 => {
                tachylog::warn!(target: "shop::stock", i = i, user = user, ratio = ratio, even = even, "stock low after {}", i)
            }
            2 => {
                tachylog::debug!(target: "shop::cart", i = i, user = user, ratio = ratio, even = even, "cart {} of {}", i, user)
            }
            3 => {
                tachylog::trace!(target: "shop::cart", i = i, user = user, ratio = ratio, even = even, "cart {} seen", i)
            }
            _ => {
                tachylog::info!(target: "shop::orders", i = i, user = user, ratio = ratio, even = even, "order {} placed", i)
            }
        }
    }
    drop(guard);
    println!("{n} records in {dir} ({:.2?})", t.elapsed());
    Ok(())
}
