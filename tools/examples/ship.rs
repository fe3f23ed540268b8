//! Shipping to syslog: logs a few records, starts a small syslog receiver on loopback, ships
//! the records to it over TCP with the code behind `tachylog ship`, and prints what arrived.
//! A second run of the shipper sends nothing: the position was saved.
//!
//! ```sh
//! cargo run -p tachylog-cli --example ship
//! ```
//! The everyday command does the same against a real collector:
//! `tachylog ship --follow logs/ --syslog tcp://127.0.0.1:514`.
use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tachylog_cli::ship::{Dest, Limits, Options, Target, default_state_path, ship};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new("target/ship-example-logs");
    let _ = std::fs::remove_dir_all(dir);
    let guard = tachylog::Builder::new().dir(dir).name("orders").init()?;
    for (qty, user) in [(5u32, "ana"), (2, "bo \"the\" [builder]")] {
        tachylog::info!(target: "orders::api", qty = qty, user = user, "order placed: {qty} items");
    }
    tachylog::warn!(target: "orders::db", "pool exhausted after {} ms", 250u32);
    drop(guard);

    // The receiver: RFC 6587 octet counting, `LEN SP MESSAGE`, one connection.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let dest = Dest::Tcp(listener.local_addr()?.to_string());
    let receiver = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
        let (mut conn, _) = listener.accept()?;
        let mut all = Vec::new();
        conn.read_to_end(&mut all)?;
        Ok(all)
    });

    let target = Target::Syslog {
        dest,
        hostname: "example-host".into(),
        facility: tachylog_cli::syslog::parse_facility("local0")?,
        max_size: None,
    };
    let opts = Options {
        state: default_state_path(dir, &target.name()),
        dir: dir.to_owned(),
        target,
        follow: false,
        app_name: None,
        interval: Duration::from_millis(100),
        retry_for: tachylog_cli::ship::DEFAULT_RETRY_FOR,
        limits: Limits::SYSLOG,
    };
    let stop = AtomicBool::new(false);
    let summary = ship(&opts, &stop)?;
    let mut rest = &receiver.join().expect("receiver thread")?[..];
    while let Some(sp) = rest.iter().position(|&b| b == b' ') {
        let len: usize = std::str::from_utf8(&rest[..sp])?.parse()?;
        println!("{}", String::from_utf8_lossy(&rest[sp + 1..sp + 1 + len]));
        rest = &rest[sp + 1 + len..];
    }
    println!("sent {} messages", summary.sent);
    let again = ship(&opts, &stop)?;
    println!(
        "a second run sent {} (the position is in {})",
        again.sent,
        opts.state.display()
    );
    Ok(())
}
