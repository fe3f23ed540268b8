//! After a thread's first record from a call site, the bridges allocate nothing on that thread
//! (`--features log,tracing`): neither `log::info!` through the logger nor a `tracing` event,
//! with fields and spans, through the layer.
#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

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
        counting::allocations_during(|| {
            for i in 1..5_000 {
                log_all(i);
            }
        })
        .0
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
    counting::assert_the_counter_sees_allocations();
}
