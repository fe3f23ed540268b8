//! The `tracing` bridge (`--features tracing`): events with their fields and span names reach
//! the segment through the layer, under tachylog's filter.
mod common;

use common::{decode, serial};
use tachylog::Builder;
use tachylog_fmt::Value;
use tracing_subscriber::layer::SubscriberExt;

fn subscriber() -> impl tracing::Subscriber {
    tracing_subscriber::registry().with(tachylog::bridge::tracing::layer())
}

fn some(s: &str) -> Value<'_> {
    Value::Some(Box::new(Value::Str(s)))
}

#[test]
fn events_keep_fields_raw_and_span_names() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new().dir(dir.path()).init().unwrap();
    let owned = String::from("ana");
    let line = line!() + 5;
    tracing::subscriber::with_default(subscriber(), || {
        let _outer = tracing::info_span!("request", id = 7).entered();
        let _inner = tracing::debug_span!("db").entered();
        for i in 0..2u64 {
            tracing::warn!(
                user = owned.as_str(),
                qty = i,
                delta = -3i64,
                px = 9.5,
                ok = true,
                big = u128::MAX,
                addr = ?std::net::Ipv4Addr::LOCALHOST,
                note = %"shown",
                empty = tracing::field::Empty,
                "order {} of {}", i, owned
            );
        }
    });
    tracing::subscriber::with_default(subscriber(), || {
        tracing::error!(target: "risk", code = 28);
    });
    drop(g);

    let d = decode([dir.path()]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.records.len(), 3);
    for (i, r) in d.records[..2].iter().enumerate() {
        assert_eq!(r.level, tachylog::Level::Warn);
        assert_eq!(&*r.callsite().target, module_path!());
        assert_eq!(&*r.callsite().module_path, module_path!());
        assert_eq!(&*r.callsite().file, file!());
        assert_eq!(r.callsite().line, line);
        assert_eq!(r.message(), format!("order {i} of ana"));
        assert_eq!(
            r.fields().unwrap(),
            vec![
                ("user", Value::Str("ana")),
                ("qty", Value::U64(i as u64)),
                ("delta", Value::I64(-3)),
                ("px", Value::F64(9.5)),
                ("ok", Value::Bool(true)),
                ("big", Value::U128(u128::MAX)),
                ("addr", Value::Pre("127.0.0.1")),
                ("note", Value::Pre("shown")),
                ("empty", Value::None),
                ("spans", some("request:db")),
            ]
        );
    }
    // One tachylog call site per tracing call site.
    assert!(std::ptr::eq(
        d.records[0].callsite(),
        d.records[1].callsite()
    ));
    let r = &d.records[2];
    assert_eq!(
        (r.level, &*r.callsite().target),
        (tachylog::Level::Error, "risk")
    );
    assert_eq!(r.message(), "");
    assert_eq!(
        r.fields().unwrap(),
        vec![("code", Value::I64(28)), ("spans", Value::None)]
    );
}

/// The same tracing call sites used under each filter.
fn tick(n: u32) {
    tracing::debug!(target: "app::db", n, "db");
    tracing::info!(target: "app::web", n, "web");
    tracing::trace!(target: "other", n, "other");
}

#[test]
fn the_filter_applies_per_target_and_follows_set_filter() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new()
        .dir(dir.path())
        .filter("warn,app::db=debug")
        .unwrap()
        .init()
        .unwrap();
    tracing::subscriber::with_default(subscriber(), || {
        tick(1);
        tachylog::set_filter("info,app::db=off").unwrap();
        tick(2);
        tachylog::set_filter("error,other=trace").unwrap();
        tick(3);
    });
    drop(g);
    let got: Vec<_> = decode([dir.path()])
        .records
        .iter()
        .map(|r| {
            let n = match r.fields().unwrap()[0] {
                (_, Value::U64(n)) => n,
                ref f => panic!("{f:?}"),
            };
            (r.callsite().target.to_string(), r.message(), n)
        })
        .collect();
    let want = [
        ("app::db", "db", 1),
        ("app::web", "web", 2),
        ("other", "other", 3),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(t, m, n)| (t.to_string(), m.to_string(), *n))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn events_from_many_threads_each_reach_the_segment_once() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new()
        .dir(dir.path())
        .overflow(tachylog::Overflow::Block)
        .init()
        .unwrap();
    let dispatch = tracing::Dispatch::new(subscriber());
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let dispatch = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    let _span = tracing::info_span!("worker").entered();
                    for i in 0..500u64 {
                        tracing::info!(t, i, "tick");
                    }
                });
            });
        }
    });
    drop(g);
    let d = decode([dir.path()]);
    assert_eq!(d.dropped(), 0);
    let mut seen: Vec<(i64, i64)> = d
        .records
        .iter()
        .map(|r| {
            let f = r.fields().unwrap();
            assert_eq!(f[2], ("spans", some("worker")));
            match (&f[0].1, &f[1].1) {
                (Value::U64(t), Value::U64(i)) => (*t as i64, *i as i64),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    seen.sort();
    let want: Vec<(i64, i64)> = (0..4).flat_map(|t| (0..500).map(move |i| (t, i))).collect();
    assert_eq!(seen, want);
}
