//! Loom models of tachylog's concurrency protocol, one per property of `docs/CONCURRENCY.md`.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom -C debug_assertions" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p tachylog-loom-tests -- --nocapture`.
//!
//! Each property has two tests: the model against the engine as it is (loom must explore every
//! interleaving without a failure), and the same model against a deliberately broken variant of
//! the engine (loom must find an interleaving that fails, with the expected message). Each test
//! prints how many interleavings it explored and how long it took.
#![cfg(loom)]

use loom::thread;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use tachylog::__loom::{
    Break, Model, ModelConfig, Running, callsite, decode_published, select_break,
};
use tachylog::Overflow;

/// A ring of 64 bytes holds two records of one `u64` (25 bytes each).
const RING: usize = 64;
/// A ring of 80 bytes holds three such records.
const BIG_RING: usize = 80;
/// A ring of 40 bytes holds one record and then, after 25 more are freed, the next.
const SMALL_RING: usize = 40;
/// Room for every frame the models write.
const SEGMENT: usize = 1024;
/// Room for the header, a THREAD, a CALLSITE, one record and the END frame: every record of
/// the rotation model goes to a new segment.
const SMALL_SEGMENT: usize = 320;

fn cfg(ring_capacity: usize, segment_size: usize, overflow: Overflow) -> ModelConfig {
    ModelConfig {
        ring_capacity,
        segment_size,
        overflow,
    }
}

/// Runs `model` under loom with `brk` selected; returns the number of executions.
fn explore(brk: Option<Break>, model: fn()) -> usize {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    loom::model(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        select_break(brk);
        model();
    });
    runs.load(Ordering::Relaxed)
}

/// The model must hold in every interleaving.
fn holds(name: &str, model: fn()) {
    let start = Instant::now();
    let runs = explore(None, model);
    eprintln!(
        "loom model {name}: holds, {runs} interleavings explored in {:.2?}",
        start.elapsed()
    );
}

/// Against the broken variant `brk`, loom must find a failing interleaving whose panic message
/// contains `expect`.
fn rejects(name: &str, brk: Break, model: fn(), expect: &str) {
    let start = Instant::now();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let result = catch_unwind(AssertUnwindSafe(move || {
        loom::model(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            select_break(Some(brk));
            model();
        })
    }));
    let Err(payload) = result else {
        panic!("loom model {name}: the broken variant {brk:?} was accepted");
    };
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(
        msg.contains(expect),
        "loom model {name}: the broken variant {brk:?} failed, but not as expected \
         (wanted {expect:?}): {msg}"
    );
    eprintln!(
        "loom model {name}: broken variant {brk:?} rejected at interleaving {} after {:.2?}",
        runs.load(Ordering::Relaxed),
        start.elapsed()
    );
}

/// Property 1: Two producers race to register one call site and log through it while the drain runs a
/// pass; every record in the sink refers to a call site described before it.
fn callsite_registration() {
    let mut m = Model::new(cfg(RING, SEGMENT, Overflow::Drop));
    let cs = callsite();
    let producers: Vec<_> = (0..2u64)
        .map(|v| {
            let h = m.handle();
            thread::spawn(move || h.producer().log(cs, v))
        })
        .collect();
    m.pass();
    for p in producers {
        p.join().unwrap();
    }
    m.pass();
    m.finish();
    let d = decode_published();
    assert!(d.errors.is_empty(), "[P1] reader errors: {:?}", d.errors);
    let mut values: Vec<u64> = d.records.iter().map(|r| r.value).collect();
    values.sort();
    assert_eq!(values, [0, 1], "[P1] records");
}

/// Property 2: A producer logs two records and its thread exits while the drain runs passes: both are
/// written exactly once, in order, and the abandoned ring is freed exactly once.
fn producer_exit() {
    let mut m = Model::new(cfg(RING, SEGMENT, Overflow::Drop));
    let cs = callsite();
    let h = m.handle();
    let producer = thread::spawn(move || {
        let mut p = h.producer();
        p.log(cs, 0);
        p.log(cs, 1);
        // `p` is dropped here: the thread's exit.
    });
    m.pass();
    m.pass();
    producer.join().unwrap();
    m.pass();
    let stats = m.finish();
    let d = decode_published();
    assert!(d.errors.is_empty(), "[P2] reader errors: {:?}", d.errors);
    assert_eq!(
        d.values_of(1),
        [0, 1],
        "[P2] records of the exited producer"
    );
    assert_eq!(stats.records_written, 2, "[P2] records written");
    assert_eq!(stats.live_producers, 0, "[P2] rings not freed exactly once");
}

/// Property 3: A thread logs a record and calls `flush()` while another thread logs and the drain
/// thread runs; when `flush()` returns, the caller's record is in the published segment.
fn flush_returns_after_records() {
    let engine = Running::start(cfg(RING, SEGMENT, Overflow::Drop));
    let cs = callsite();
    let h = engine.handle();
    let other = thread::spawn(move || h.producer().log(cs, 7));
    let h = engine.handle();
    let mut p = h.producer();
    p.log(cs, 8);
    h.flush().unwrap();
    let d = decode_published();
    assert!(
        d.records.iter().any(|r| r.value == 8),
        "[P3] record 8 not flushed"
    );
    drop(p);
    other.join().unwrap();
    let stats = engine.shutdown();
    assert_eq!(stats.records_written, 2, "[P3] records written");
    let mut values: Vec<u64> = decode_published().records.iter().map(|r| r.value).collect();
    values.sort();
    assert_eq!(values, [7, 8], "[P3] records after shutdown");
}

/// Property 4: Under `Block`, a producer logs three records into a ring that holds two, so it waits
/// for the drain thread to free space; then the engine shuts down (as dropping the guard
/// does). Nothing is lost, and every thread terminates.
fn shutdown_under_block() {
    let engine = Running::start(cfg(SMALL_RING, SEGMENT, Overflow::Block));
    let cs = callsite();
    let h = engine.handle();
    let producer = thread::spawn(move || {
        let mut p = h.producer();
        for v in 0..3 {
            p.log(cs, v);
        }
    });
    producer.join().unwrap();
    let stats = engine.shutdown();
    assert_eq!(stats.records_dropped, 0, "[P4] records dropped under Block");
    assert_eq!(stats.records_written, 3, "[P4] records written");
    let d = decode_published();
    assert!(d.errors.is_empty(), "[P4] reader errors: {:?}", d.errors);
    assert_eq!(d.values_of(1), [0, 1, 2], "[P4] records");
}

/// Property 5: Under `Drop`, a producer logs four records into a ring that holds one while the drain
/// runs passes: written + dropped == attempted, and the sink's drop notices add up to the drops.
fn drop_accounting() {
    let mut m = Model::new(cfg(SMALL_RING, SEGMENT, Overflow::Drop));
    let cs = callsite();
    let h = m.handle();
    let producer = thread::spawn(move || {
        let mut p = h.producer();
        for v in 0..4 {
            p.log(cs, v);
        }
    });
    m.pass();
    m.pass();
    producer.join().unwrap();
    m.pass();
    let stats = m.finish();
    let d = decode_published();
    assert!(d.errors.is_empty(), "[P5] reader errors: {:?}", d.errors);
    assert_eq!(
        stats.records_written + stats.records_dropped,
        4,
        "[P5] written + dropped != attempted: {stats:?}"
    );
    let values = d.values_of(1);
    assert_eq!(
        values.len() as u64,
        stats.records_written,
        "[P5] records in the sink"
    );
    assert!(values.is_sorted(), "[P5] records out of order: {values:?}");
    assert_eq!(
        d.dropped_of(1),
        stats.records_dropped,
        "[P5] drop notices in the sink disagree with the drop counter"
    );
}

/// Property 6: A live reader reads the segment (committed length with acquire, then the bytes below it)
/// while a producer logs and the drain writes and publishes: every frame it reads is complete.
fn live_reader() {
    let mut m = Model::new(cfg(RING, SEGMENT, Overflow::Drop));
    let cs = callsite();
    let h = m.handle();
    let producer = thread::spawn(move || {
        let mut p = h.producer();
        p.log(cs, 0);
        p.log(cs, 1);
    });
    let reader = thread::spawn(|| {
        for _ in 0..2 {
            let d = decode_published();
            assert!(d.errors.is_empty(), "[P6] reader errors: {:?}", d.errors);
            let values: Vec<u64> = d.records.iter().map(|r| r.value).collect();
            assert!([0, 1].starts_with(&values), "[P6] records {values:?}");
        }
    });
    m.pass();
    m.pass();
    producer.join().unwrap();
    reader.join().unwrap();
    m.pass();
    m.finish();
    assert_eq!(decode_published().values_of(1), [0, 1], "[P6] records");
}

/// Property 7: A producer logs three records while the drain rotates after each (a segment holds one):
/// no record is lost or duplicated across the switch, and every segment decodes on its own
/// (it describes the call site and the thread its records use).
fn rotation() {
    let mut m = Model::new(cfg(BIG_RING, SMALL_SEGMENT, Overflow::Drop));
    let cs = callsite();
    let h = m.handle();
    let producer = thread::spawn(move || {
        let mut p = h.producer();
        for v in 0..3 {
            p.log(cs, v);
        }
    });
    m.pass();
    producer.join().unwrap();
    while m.pass() > 0 {}
    let stats = m.finish();
    let d = decode_published();
    assert!(d.errors.is_empty(), "[P7] reader errors: {:?}", d.errors);
    assert_eq!(d.values_of(1), [0, 1, 2], "[P7] records across segments");
    assert_eq!(stats.records_written, 3, "[P7] records written");
    assert_eq!(stats.records_dropped, 0, "[P7] records dropped");
    assert!(
        d.segments >= 3,
        "[P7] expected a rotation per record, got {}",
        d.segments
    );
    assert!(
        d.records.iter().all(|r| r.tid != 0),
        "[P7] a segment does not describe its thread: {:?}",
        d.records
    );
}

/// Property 8: A producer logs two records while the engine shuts down (as dropping the guard
/// does): each record is written or counted as dropped, never neither and never both.
fn guard_drop_race() {
    let engine = Running::start(cfg(RING, SEGMENT, Overflow::Drop));
    let cs = callsite();
    let h = engine.handle();
    let stats = engine.handle();
    let producer = thread::spawn(move || {
        let mut p = h.producer();
        p.log(cs, 0);
        p.log(cs, 1);
    });
    engine.shutdown();
    producer.join().unwrap();
    let stats = stats.stats();
    let d = decode_published();
    assert!(d.errors.is_empty(), "[P8] reader errors: {:?}", d.errors);
    assert_eq!(
        stats.records_written + stats.records_dropped,
        2,
        "[P8] written + dropped != logged: {stats:?}"
    );
    assert_eq!(
        d.values_of(1).len() as u64,
        stats.records_written,
        "[P8] records in the sink"
    );
}

#[test]
fn p1_callsite_registration_holds() {
    holds("p1 callsite registration", callsite_registration);
}

#[test]
fn p1_callsite_registration_rejects_id_before_push() {
    rejects(
        "p1 callsite registration",
        Break::CallsiteIdBeforePush,
        callsite_registration,
        "undescribed call site",
    );
}

#[test]
fn p2_producer_exit_holds() {
    holds("p2 producer exit", producer_exit);
}

#[test]
fn p2_producer_exit_rejects_relaxed_close() {
    rejects(
        "p2 producer exit",
        Break::ClosedRelaxed,
        producer_exit,
        "[P2] records of the exited producer",
    );
}

#[test]
fn p3_flush_holds() {
    holds("p3 flush", flush_returns_after_records);
}

#[test]
fn p3_flush_rejects_relaxed_ticket() {
    rejects(
        "p3 flush",
        Break::FlushTicketRelaxed,
        flush_returns_after_records,
        "not flushed",
    );
}

#[test]
fn p4_shutdown_under_block_holds() {
    holds("p4 shutdown under Block", shutdown_under_block);
}

#[test]
fn p4_shutdown_under_block_rejects_relaxed_head() {
    rejects(
        "p4 shutdown under Block",
        Break::RingHeadRelaxed,
        shutdown_under_block,
        "Causality violation",
    );
}

#[test]
fn p5_drop_accounting_holds() {
    holds("p5 drop accounting", drop_accounting);
}

#[test]
fn p5_drop_accounting_rejects_reread() {
    rejects(
        "p5 drop accounting",
        Break::DropReportReread,
        drop_accounting,
        "[P5] drop notices",
    );
}

#[test]
fn p6_live_reader_holds() {
    holds("p6 live reader", live_reader);
}

#[test]
fn p6_live_reader_rejects_relaxed_publish() {
    rejects(
        "p6 live reader",
        Break::PublishRelaxed,
        live_reader,
        "Causality violation",
    );
}

#[test]
fn p7_rotation_holds() {
    holds("p7 rotation", rotation);
}

#[test]
fn p7_rotation_rejects_forgotten_metadata() {
    rejects(
        "p7 rotation",
        Break::RotationForgetsMetadata,
        rotation,
        "undescribed call site",
    );
}

#[test]
fn p8_guard_drop_race_holds() {
    holds("p8 guard drop race", guard_drop_race);
}

#[test]
fn p8_guard_drop_race_rejects_unchecked_late_record() {
    rejects(
        "p8 guard drop race",
        Break::LateRecordUnchecked,
        guard_drop_race,
        "[P8] written + dropped",
    );
}
