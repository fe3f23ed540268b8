//! After a thread's first record from a call site, the bridges allocate nothing on that thread
//! (`--features log,tracing`): neither `log::info!` through the logger nor a `tracing` event,
//! with fields and spans, through the layer.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    /// Whether this thread's allocations are being counted, and how many there were.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn bridges_do_not_allocate_after_a_call_sites_first_record() {
    use tracing_subscriber::layer::SubscriberExt;
    let dir = tempfile::tempdir().unwrap();
    let guard = tachylog::Builder::new()
        .dir(dir.path())
        .overflow(tachylog::Overflow::Block)
        .init()
        .unwrap();
    tachylog::bridge::log::init().unwrap();
    let subscriber = tracing_subscriber::registry().with(tachylog::bridge::tracing::layer());
    let name = String::from("owned");
    let count = tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("outer");
        let log_all = |i: u64| {
            log::info!("static text");
            log::warn!(target: "app::db", "formatted {} {:.2} {name}", i, i as f64 / 3.0);
            tracing::info!(
                user = name.as_str(),
                qty = i,
                px = 0.5,
                ok = true,
                "tracing {i}"
            );
            let _e = span.enter();
            tracing::error!(addr = ?std::net::Ipv4Addr::LOCALHOST, "in a span");
        };
        // The first records create the thread's ring, the call sites and their cache entries,
        // and grow the scratch buffer.
        log_all(0);
        COUNTING.with(|c| c.set(true));
        for i in 1..5_000 {
            log_all(i);
        }
        COUNTING.with(|c| c.set(false));
        allocations()
    });
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard);
    assert_eq!(
        count, 0,
        "{count} allocations on the logging thread after each call site's first record"
    );
    assert_eq!(
        stats.records_written, 20_000,
        "the records were really logged: {stats:?}"
    );
}

#[test]
fn the_counter_sees_allocations() {
    // Guards against a test that cannot fail: the allocator hook does count this thread.
    COUNTING.with(|c| c.set(true));
    let before = allocations();
    let v: Vec<u64> = std::hint::black_box(Vec::with_capacity(16));
    let after = allocations();
    COUNTING.with(|c| c.set(false));
    drop(v);
    assert!(after > before);
}
