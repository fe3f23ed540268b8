//! The floor against tachylog in steady bursts: ns per call of shape (a), both in the same
//! thread, taking turns burst by burst so that a noisy machine weighs on both alike. The floor
//! is the benchmarks' (a time-stamp read and a raw `rtrb` write of the same bytes).
//!
//! `cargo run --release --example hotpath_floor`; with the argument `cg` it makes 100 000 calls
//! of each without timing, for `valgrind --tool=callgrind` to count instructions per call
//! (the functions `hotpath_floor::floor_a` and `hotpath_floor::tachylog_a`).
#[path = "../benches/common/mod.rs"]
mod common;

use common::{Floor, Setup, Shape, Subject, Tachy, call, ticks};
use std::time::Duration;

#[inline(never)]
fn tachylog_a(s: &Tachy, i: u64) {
    call(s, &mut (), Shape::IntIntDouble, i)
}

#[inline(never)]
fn floor_a(s: &Floor, l: &mut <Floor as Subject>::Local, i: u64) {
    call(s, l, Shape::IntIntDouble, i)
}

fn main() {
    let cg = std::env::args().any(|a| a == "cg");
    let dir = common::scratch("hotpath-floor");
    let tpn = common::calibrate(Duration::from_millis(100));
    // Rings large enough that nothing drops, even when valgrind slows the drain down.
    let setup = Setup {
        ring: 16 << 20,
        floor_map: 64 << 20,
        ..Setup::default()
    };
    let floor = Floor::start(&dir, setup);
    let tachy = Tachy::start(&dir, setup);
    let mut local = floor.local();
    if cg {
        for i in 0..100_000 {
            floor_a(&floor, &mut local, i);
        }
        for i in 0..100_000 {
            tachylog_a(&tachy, i);
        }
    } else {
        const BURST: u64 = 1000;
        const BURSTS: u64 = 200;
        for round in 0..5 {
            let (mut f, mut t) = (0u64, 0u64);
            for b in 0..BURSTS {
                let t0 = ticks();
                for i in 0..BURST {
                    floor_a(&floor, &mut local, b * BURST + i);
                }
                let t1 = ticks();
                for i in 0..BURST {
                    tachylog_a(&tachy, b * BURST + i);
                }
                let t2 = ticks();
                f += t1 - t0;
                t += t2 - t1;
                // Let the consumers empty the rings, so this times the call, not back-pressure.
                std::thread::sleep(Duration::from_micros(300));
            }
            let calls = (BURSTS * BURST) as f64 * tpn;
            println!(
                "round {round}: floor {:.1} ns/call, tachylog {:.1} ns/call, ratio {:.2}",
                f as f64 / calls,
                t as f64 / calls,
                t as f64 / f as f64
            );
        }
    }
    drop(local);
    let (f, t) = (floor.finish(), tachy.finish());
    println!(
        "floor: {} records written, {} dropped; tachylog: {} written, {} dropped",
        f.written, f.dropped, t.written, t.dropped
    );
    let _ = std::fs::remove_dir_all(&dir);
}
