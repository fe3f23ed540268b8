//! After a thread's first record, logging allocates nothing on that thread.
#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

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
    let (n, ()) = counting::allocations_during(|| {
        for i in 1..20_000 {
            log_all(i);
        }
    });
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
    counting::assert_the_counter_sees_allocations();
}
