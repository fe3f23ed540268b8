//! Load under both overflow policies, with figures printed (`-- --nocapture`).
//!
//! CI runs the short forms. `TACHYLOG_LONG=1` runs the long forms (8 × 2,000,000 records).
mod common;

use common::{decode, serial};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tachylog::{Builder, Overflow};

fn long() -> bool {
    std::env::var_os("TACHYLOG_LONG").is_some_and(|v| v != "0")
}

fn field_u64(r: &tachylog::reader::Record, name: &str) -> u64 {
    match r
        .fields()
        .expect("fields decode")
        .iter()
        .find(|(n, _)| *n == name)
    {
        Some((_, tachylog_fmt::Value::U64(v))) => *v,
        other => panic!("field {name}: {other:?}"),
    }
}

fn spawn_producers(threads: u64, per: u64) {
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                for seq in 0..per {
                    tachylog::info!(t = t, seq = seq, "load");
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

#[test]
fn load_block_loses_duplicates_and_reorders_nothing() {
    let _s = serial();
    let (threads, per) = if long() {
        (8u64, 2_000_000u64)
    } else {
        (8, 50_000)
    };
    let dir = tempfile::tempdir().unwrap();
    let guard = Builder::new()
        .dir(dir.path())
        .ring_capacity(4096)
        .segment_size(if long() { 1 << 20 } else { 64 << 10 })
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    let t = Instant::now();
    spawn_producers(threads, per);
    tachylog::flush();
    let took = t.elapsed();
    let stats = tachylog::stats();
    drop(guard);
    let d = decode([dir.path()]);
    let mut seen: Vec<Vec<bool>> = vec![vec![false; per as usize]; threads as usize];
    let mut last: Vec<i64> = vec![-1; threads as usize];
    let (mut duplicated, mut out_of_order) = (0u64, 0u64);
    for r in &d.records {
        let (t, s) = (field_u64(r, "t") as usize, field_u64(r, "seq"));
        if std::mem::replace(&mut seen[t][s as usize], true) {
            duplicated += 1;
        }
        if (s as i64) < last[t] {
            out_of_order += 1;
        }
        last[t] = s as i64;
    }
    let missing: u64 = seen
        .iter()
        .map(|v| v.iter().filter(|&&b| !b).count() as u64)
        .sum();
    let produced = threads * per;
    println!(
        "load Block {threads}x{per}: produced={produced} decoded={} missing={missing} \
         duplicated={duplicated} out-of-order={out_of_order} segments={} dropped={} ({:.2} s)",
        d.records.len(),
        stats.segments_created,
        stats.records_dropped,
        took.as_secs_f64()
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert!(stats.segments_created > 100, "at least 100 rotations");
    assert_eq!(
        (missing, duplicated, out_of_order, stats.records_dropped),
        (0, 0, 0, 0)
    );
    assert_eq!(d.records.len() as u64, produced);
}

#[test]
fn load_drop_accounts_for_every_record_per_thread() {
    let _s = serial();
    let (threads, per) = if long() {
        (8u64, 2_000_000u64)
    } else {
        (8, 50_000)
    };
    let dir = tempfile::tempdir().unwrap();
    // A tiny ring and a throttled drain (naps of up to 20 ms when it finds nothing to do).
    let guard = Builder::new()
        .dir(dir.path())
        .ring_capacity(4096)
        .segment_size(4 << 20)
        .overflow(Overflow::Drop)
        .drain_idle(Duration::from_millis(20))
        .init()
        .unwrap();
    spawn_producers(threads, per);
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard);
    let d = decode([dir.path()]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let mut producer_thread = HashMap::new();
    let mut accepted = vec![0u64; threads as usize];
    let mut gaps = vec![0u64; threads as usize];
    let mut next = vec![0u64; threads as usize];
    for r in &d.records {
        let (t, s) = (field_u64(r, "t") as usize, field_u64(r, "seq"));
        assert!(s >= next[t], "thread {t}: {s} after {}", next[t]);
        gaps[t] += s - next[t];
        next[t] = s + 1;
        accepted[t] += 1;
        producer_thread.insert(r.thread.producer, t);
    }
    let mut noticed = vec![0u64; threads as usize];
    for n in &d.drops {
        let p = n.thread.as_ref().expect("notice names its thread").producer;
        noticed[producer_thread[&p]] += n.count;
    }
    for t in 0..threads as usize {
        // Records dropped after a thread's last accepted one are a trailing gap.
        gaps[t] += per - next[t];
    }
    println!(
        "load Drop {threads}x{per}: attempted={} accepted={} dropped={} (stats {}) \
         notices={}; per thread accepted/dropped: {:?}",
        threads * per,
        accepted.iter().sum::<u64>(),
        noticed.iter().sum::<u64>(),
        stats.records_dropped,
        d.drops.len(),
        accepted.iter().zip(&noticed).collect::<Vec<_>>()
    );
    assert!(stats.records_dropped > 0, "the test must overflow");
    for t in 0..threads as usize {
        assert_eq!(accepted[t] + noticed[t], per, "thread {t}");
        assert_eq!(
            gaps[t], noticed[t],
            "thread {t}: gaps in seq sum to its drops"
        );
    }
    assert_eq!(d.dropped(), stats.records_dropped);
    assert_eq!(stats.records_written, accepted.iter().sum::<u64>());
}
