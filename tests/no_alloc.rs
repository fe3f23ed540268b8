//! After a thread's first record, logging allocates nothing on that thread.
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
fn hot_path_does_not_allocate_after_the_first_record() {
    let dir = tempfile::tempdir().unwrap();
    let guard = tachylog::Builder::new()
        .dir(dir.path())
        .overflow(tachylog::Overflow::Block)
        .init()
        .unwrap();
    let name = String::from("owned");
    let log_all = |i: u64| {
        tachylog::info!("ints {} {} {}", i, -(i as i64), i as u8);
        tachylog::warn!(
            user = "ana",
            qty = i,
            "floats {:.2} {:?}",
            i as f64 / 3.0,
            0.5f32
        );
        tachylog::error!("strings {} {:?} {}", "static", name, &name);
        tachylog::info!("options {:?} {:?} {} {}", Some(i), None::<u8>, true, 'c');
        tachylog::info!(
            "display {}",
            tachylog::display(std::net::Ipv4Addr::LOCALHOST)
        );
    };
    // The first records create the thread's ring, register the call sites and grow the
    // scratch buffer of `display`.
    log_all(0);
    COUNTING.with(|c| c.set(true));
    for i in 1..20_000 {
        log_all(i);
    }
    COUNTING.with(|c| c.set(false));
    let n = allocations();
    tachylog::flush();
    let stats = tachylog::stats();
    drop(guard);
    assert_eq!(
        n, 0,
        "{n} allocations on the logging thread after its first record"
    );
    assert_eq!(
        stats.records_written, 100_000,
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
