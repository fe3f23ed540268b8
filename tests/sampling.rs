//! `sample = N` and `limit = N/s`: what is kept, per thread, and how the counts are reported.
mod common;

use common::{decode, serial};
use std::collections::BTreeMap;
use tachylog::Builder;
use tachylog::reader::{Event, Reader};

/// Sums the sampled notices in `dir` per (file line, format).
fn sampled_counts(dir: &std::path::Path) -> BTreeMap<u32, (u64, u64)> {
    let mut m = BTreeMap::new();
    for e in Reader::open([dir]).unwrap() {
        if let Ok(Event::Sampled(s)) = e {
            let c: &mut (u64, u64) = m.entry(s.callsite.line).or_default();
            c.0 += s.kept;
            c.1 += s.skipped;
        }
    }
    m
}

fn stats_for(line: u32) -> (u64, u64) {
    tachylog::sampling_stats()
        .iter()
        .filter(|s| s.line == line && s.file.ends_with("sampling.rs"))
        .map(|s| (s.kept, s.skipped))
        .next()
        .unwrap_or_default()
}

#[test]
fn sample_keeps_exactly_every_nth_per_thread_and_reports_counts() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new().dir(dir.path()).init().unwrap();
    let before = tachylog::stats().records_sampled_out;
    let line = line!() + 3;
    let work = |t: u32| {
        for i in 0..100u32 {
            tachylog::info!(sample = 10, t = t, "i={i}");
        }
    };
    work(0);
    std::thread::spawn(move || work(1)).join().unwrap();
    assert_eq!(stats_for(line), (20, 180));
    let stats = tachylog::stats();
    assert_eq!(stats.records_sampled_out - before, 180);
    assert_eq!(
        stats.records_dropped, 0,
        "sampled-out records are not drops"
    );
    drop(g);
    let d = decode([dir.path()]);
    let msgs = d.messages();
    let want: Vec<String> = (0..2)
        .flat_map(|_| (0..100).step_by(10).map(|i| format!("i={i}")))
        .collect();
    assert_eq!(msgs, want, "each thread keeps its 1st, 11th, 21st, ...");
    assert_eq!(sampled_counts(dir.path()).get(&line), Some(&(20, 180)));
}

#[test]
fn warn_and_error_ignore_sampling() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new().dir(dir.path()).init().unwrap();
    for i in 0..30u32 {
        tachylog::warn!(sample = 10, "w{i}");
        tachylog::error!(limit = 1 / s, "e{i}");
        tachylog::log!(tachylog::Level::Warn, sample = 5, "l{i}");
    }
    drop(g);
    let d = decode([dir.path()]);
    assert_eq!(d.records.len(), 90);
    assert!(sampled_counts(dir.path()).is_empty());
}

#[test]
fn limit_keeps_at_most_n_per_second() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new().dir(dir.path()).init().unwrap();
    let line = line!() + 3;
    let burst = |from: u32| {
        for i in from..from + 1000 {
            tachylog::info!(limit = 5 / s, "r{i}");
        }
    };
    burst(0);
    let (kept, skipped) = stats_for(line);
    // A burst may straddle one second boundary: 5 per second, at most two seconds.
    assert!((5..=10).contains(&kept), "kept {kept}");
    assert_eq!(kept + skipped, 1000);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    burst(1000);
    let (kept2, skipped2) = stats_for(line);
    assert!(
        (5..=10).contains(&(kept2 - kept)),
        "a new second keeps more"
    );
    assert_eq!(kept2 + skipped2, 2000);
    drop(g);
    let d = decode([dir.path()]);
    assert_eq!(d.records.len() as u64, kept2);
    assert_eq!(
        sampled_counts(dir.path()).get(&line),
        Some(&(kept2, skipped2))
    );
}

#[test]
fn limit_holds_for_the_call_site_across_threads() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new().dir(dir.path()).init().unwrap();
    let line = line!() + 5;
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..500u32 {
                    tachylog::info!(limit = 5 / s, "t{t} r{i}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (kept, skipped) = stats_for(line);
    // Four threads, one call site: still 5 a second in all (10 if the bursts straddle a
    // second boundary), not 5 per thread.
    assert!((5..=10).contains(&kept), "kept {kept}");
    assert_eq!(kept + skipped, 2000);
    drop(g);
    assert_eq!(decode([dir.path()]).records.len() as u64, kept);
}

#[test]
fn sample_and_limit_as_ordinary_fields() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new().dir(dir.path()).init().unwrap();
    let n = 3u32;
    for _ in 0..4 {
        tachylog::info!(r#sample = 7u32, "raw ident: a field");
        tachylog::info!(sample = n, limit = n, "non-literal: fields");
    }
    drop(g);
    let d = decode([dir.path()]);
    assert_eq!(d.records.len(), 8);
    let names: Vec<&str> = d.records[1]
        .callsite()
        .field_names
        .iter()
        .map(|s| &**s)
        .collect();
    assert_eq!(names, ["sample", "limit"]);
}
