//! `kill -9` at random moments: no acknowledged record is lost, no corrupt record comes out.
//!
//! The parent re-runs this test binary as a child (`kill9_child`), which logs numbered records
//! into small segments (a rotation every few hundred records) and, after each `flush()`,
//! writes the last number it logged to its stdout. The parent kills it with SIGKILL after a
//! random delay (seeded: `TACHYLOG_SEED`), reads what the child acknowledged, and decodes.
//! The child also stores, after each `info!` returns, how many have returned, in a file it maps
//! shared: what survives SIGKILL in the page cache tells the parent how many records had left
//! the application's hands, so the records lost to `kill -9` (returned, never committed) are
//! counted, not only the acknowledged ones checked.
//! CI runs 200 kills; `TACHYLOG_LONG=1` runs 2,000 (`TACHYLOG_KILLS=n` sets any number).
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tachylog::reader::{Event, Reader};
use tachylog::{Builder, Overflow};

/// The child: logs forever, acknowledging after each flush. Does nothing in a normal run.
#[test]
fn kill9_child() {
    let Some(dir) = std::env::var_os("TACHYLOG_KILL9_DIR") else {
        return;
    };
    let _guard = Builder::new()
        .dir(&dir)
        .name("k")
        .segment_size(16 << 10)
        .ring_capacity(4096)
        .overflow(Overflow::Block)
        .init()
        .unwrap();
    let returned = returned_counter(std::path::Path::new(&dir));
    let mut out = std::io::stdout().lock();
    for seq in 0u64.. {
        tachylog::info!(seq = seq, "kill {}", seq);
        returned.store(seq + 1, std::sync::atomic::Ordering::Relaxed);
        if seq % 64 == 63 {
            tachylog::flush();
            // Everything up to `seq` is committed: acknowledge it.
            let _ = writeln!(out, "ack {seq}");
            let _ = out.flush();
        }
    }
}

/// The child's count of `info!` calls that have returned: 8 bytes of `DIR/returned`, mapped
/// shared, so the last value stored is in the page cache when SIGKILL ends the child.
fn returned_counter(dir: &std::path::Path) -> &'static std::sync::atomic::AtomicU64 {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join("returned"))
        .unwrap();
    f.set_len(8).unwrap();
    // SAFETY: the file was just created by this process and is 8 bytes long; only this process
    // writes it while it runs (the parent reads it after the child is dead).
    let map = Box::leak(Box::new(unsafe { memmap2::MmapMut::map_mut(&f) }.unwrap()));
    // SAFETY: the mapping is page-aligned, at least 8 bytes, and leaked, so it lives (and
    // stays aligned for a u64) for the rest of the process; nothing else in this process
    // touches these bytes.
    unsafe { std::sync::atomic::AtomicU64::from_ptr(map.as_mut_ptr().cast()) }
}

/// How many `info!` calls the child had returned from when it died (0 if it never stored).
fn returned_before_death(dir: &std::path::Path) -> u64 {
    std::fs::read(dir.join("returned"))
        .ok()
        .and_then(|b| {
            b.get(..8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        })
        .unwrap_or(0)
}

/// splitmix64: a small seeded generator, so a failing run can be repeated.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn kill9_loses_no_acknowledged_record() {
    if std::env::var_os("TACHYLOG_KILL9_DIR").is_some() {
        return;
    }
    let long = std::env::var_os("TACHYLOG_LONG").is_some_and(|v| v != "0");
    let kills = env_u64("TACHYLOG_KILLS").unwrap_or(if long { 2_000 } else { 200 });
    let seed = env_u64("TACHYLOG_SEED").unwrap_or(0x7ac4_1096);
    let mut rng = Rng(seed);
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let mut tails: BTreeMap<String, u64> = BTreeMap::new();
    let (mut acked_total, mut decoded_total, mut segments_total) = (0u64, 0u64, 0u64);
    let mut before_first_ack = 0u64;
    // Records whose `info!` had returned but that no segment holds, per kill.
    let mut missing: Vec<u64> = Vec::new();
    for k in 0..kills {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&exe)
            .args(["--exact", "kill9_child", "--nocapture", "--test-threads=1"])
            .env("TACHYLOG_KILL9_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked: Option<u64> = None;
        // One kill in ten lands during start-up (first segment being created); the others
        // after the first acknowledgement, 0 to 20 ms into the run (tens of rotations).
        if rng.below(10) == 0 {
            std::thread::sleep(Duration::from_micros(rng.below(5_000)));
        } else {
            for l in lines.by_ref() {
                if let Some(n) = l.unwrap().strip_prefix("ack ") {
                    acked = Some(n.parse().unwrap());
                    break;
                }
            }
            std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        for l in lines {
            let Ok(l) = l else { break };
            if let Some(n) = l.strip_prefix("ack ") {
                acked = acked.max(Some(n.parse().unwrap()));
            }
        }
        assert!(!status.success(), "kill {k}: the child was killed");
        if acked.is_none() {
            before_first_ack += 1;
        }
        // Decode everything the child left behind.
        let mut next = 0u64;
        let mut errors = Vec::new();
        for item in Reader::open([dir.path()]).unwrap() {
            match item {
                Ok(Event::Record(r)) => {
                    let fields = r.fields().expect("fields of an emitted record decode");
                    let seq = match fields[0].1 {
                        tachylog_fmt::Value::U64(v) => v,
                        ref v => panic!("kill {k}: seq is {v:?}"),
                    };
                    assert_eq!(
                        seq, next,
                        "kill {k}: records in order, none lost or doubled"
                    );
                    assert_eq!(r.message(), format!("kill {seq}"), "kill {k}");
                    next += 1;
                }
                Ok(Event::SegmentEnd { tail, .. }) => {
                    segments_total += 1;
                    *tails.entry(format!("{tail:?}")).or_default() += 1;
                }
                Ok(Event::Dropped(d)) => panic!("kill {k}: unexpected drop notice {d:?}"),
                Ok(_) => {}
                Err(e) => errors.push(e.to_string()),
            }
        }
        assert!(errors.is_empty(), "kill {k} (seed {seed:#x}): {errors:?}");
        if let Some(a) = acked {
            assert!(
                next > a,
                "kill {k} (seed {seed:#x}): acknowledged up to {a}, decoded only {next}"
            );
            acked_total += a + 1;
        }
        decoded_total += next;
        // The counter is stored after `info!` returns: a kill between the two leaves one
        // decoded record the counter does not show yet.
        missing.push(returned_before_death(dir.path()).saturating_sub(next));
    }
    missing.sort_unstable();
    let pct = |p: usize| missing[(missing.len() - 1) * p / 100];
    println!(
        "kill -9: {kills} kills (seed {seed:#x}, {} before the first ack) in {:.1} s; \
         acknowledged={acked_total} decoded={decoded_total} lost-acknowledged=0 corrupt-emitted=0; \
         returned-but-missing per kill: total={} p50={} p99={} max={}; \
         segments={segments_total} tails {tails:?}",
        before_first_ack,
        started.elapsed().as_secs_f64(),
        missing.iter().sum::<u64>(),
        pct(50),
        pct(99),
        missing.last().copied().unwrap_or(0),
    );
}
