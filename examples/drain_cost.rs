//! What the drain costs per record, and how fast one producer gets its records into files:
//! one thread logs shape (a) (`"Logging int: {}, int: {}, double: {}"`) back to back, then
//! flushes. Prints the records written and dropped, the segments created, the time from the
//! first call until `flush()` returned, and for the producer, the drain thread and the thread
//! that prepares segments ahead (where there is one): the CPU time each used and the minor page
//! faults each took (Linux: `/proc/self/task/*/schedstat` and `stat`, read before the logger
//! stops). On a busy machine the CPU times say more than the elapsed time.
//!
//! `cargo run --release --example drain_cost -- [records] [segment bytes] [ring bytes] [pin]
//! [drop]`; defaults 200000 records, 1 MiB segments, 256 KiB ring, `Overflow::Block`. `pin`
//! puts the producer on core 0 and the drain on the last core; `drop` uses `Overflow::Drop`
//! (the share lost is then the figure, as in the throughput benchmark's burst-loss table).
//!
//! Instructions per record, with the defaults (seven segments):
//! `valgrind --tool=callgrind --callgrind-out-file=cg.out target/release/examples/drain_cost`,
//! then `callgrind_annotate --inclusive=yes --tree=calling cg.out | grep '> .*drain_ring'`: the
//! inclusive cost of the calls into `SegmentWriter::drain_ring` (which also rotates), divided by
//! the records written. (The plain function list splits an inlined function's cost by source
//! file.)

/// The command name, CPU nanoseconds and minor faults of the thread whose `/proc` directory
/// is `dir` (Linux).
fn usage_of(dir: &std::path::Path) -> Option<(String, u64, u64)> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(')?.1.to_owned();
    // After the command: state ppid pgrp session tty_nr tpgid flags minflt ...
    let minflt: u64 = rest.split_whitespace().nth(7)?.parse().ok()?;
    // schedstat: time on a CPU (ns), time waiting to run (ns), time slices.
    let sched = std::fs::read_to_string(dir.join("schedstat")).ok()?;
    let cpu: u64 = sched.split_whitespace().next()?.parse().ok()?;
    Some((comm, cpu, minflt))
}

/// CPU nanoseconds and minor faults of this process's threads named `name` (zeros where
/// there is none, or no `/proc`).
fn thread_use(name: &str) -> (u64, u64) {
    let Ok(rd) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    rd.flatten()
        .filter_map(|e| usage_of(&e.path()))
        .filter(|u| u.0 == name)
        .fold((0, 0), |a, u| (a.0 + u.1, a.1 + u.2))
}

/// CPU nanoseconds and minor faults of the calling thread.
fn own_use() -> (u64, u64) {
    usage_of(std::path::Path::new("/proc/thread-self")).map_or((0, 0), |u| (u.1, u.2))
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn main() -> Result<(), tachylog::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let nums: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let records = nums.first().copied().unwrap_or(200_000);
    let segment = nums.get(1).copied().unwrap_or(1 << 20);
    let ring = nums.get(2).copied().unwrap_or(256 << 10);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pin = flag("pin");
    let dir = std::env::temp_dir().join(format!("tachylog-drain-cost-{}", std::process::id()));
    let guard = tachylog::Builder::new()
        .dir(&dir)
        .name("cost")
        .segment_size(segment)
        .ring_capacity(ring)
        .drain_core(pin.then_some(cpus - 1))
        .overflow(if flag("drop") {
            tachylog::Overflow::Drop
        } else {
            tachylog::Overflow::Block
        })
        .init()?;
    // After `init`: the drain (and the thread that prepares segments) must not inherit this.
    if pin {
        core_affinity::set_for_current(core_affinity::CoreId { id: 0 });
    }
    // The thread's ring and the call site's registration, outside the timed part.
    tachylog::info!("Logging int: {}, int: {}, double: {}", 0u32, 0u32, 0.0);
    tachylog::flush();
    let before = tachylog::stats();
    let cpu0 = [
        own_use(),
        thread_use("tachylog-drain"),
        thread_use("tachylog-prep"),
    ];
    let t = std::time::Instant::now();
    for i in 0..records as u64 {
        tachylog::info!(
            "Logging int: {}, int: {}, double: {}",
            i as u32,
            (i >> 3) as u32,
            i as f64 * 0.5
        );
    }
    tachylog::flush();
    let elapsed = t.elapsed();
    let cpu1 = [
        own_use(),
        thread_use("tachylog-drain"),
        thread_use("tachylog-prep"),
    ];
    let used: Vec<(f64, u64)> = (0..3)
        .map(|i| (ms(cpu1[i].0 - cpu0[i].0), cpu1[i].1 - cpu0[i].1))
        .collect();
    let s = tachylog::stats();
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
    let (written, dropped) = (
        s.records_written - before.records_written,
        s.records_dropped - before.records_dropped,
    );
    println!(
        "records {records} written {written} dropped {dropped} ({:.1} %) segments {} elapsed \
         {:.1} ms ({:.2} M/s); cpu ms / minor faults: producer {:.1} / {}, drain {:.1} / {}, \
         preparer {:.1} / {}",
        100.0 * dropped as f64 / records.max(1) as f64,
        s.segments_created,
        elapsed.as_secs_f64() * 1e3,
        records as f64 / elapsed.as_secs_f64() / 1e6,
        used[0].0,
        used[0].1,
        used[1].0,
        used[1].1,
        used[2].0,
        used[2].1
    );
    Ok(())
}
