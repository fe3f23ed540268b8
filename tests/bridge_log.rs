//! The `log` bridge (`--features log`): `log`'s macros write through tachylog, with their own
//! location, under tachylog's filter.
mod common;

use common::{decode, logged, pairs, serial};
use tachylog::{Builder, Error};
use tachylog_fmt::Value;

#[test]
fn records_keep_level_target_location_and_message() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new().dir(dir.path()).init().unwrap();
    tachylog::bridge::log::init().unwrap();
    tachylog::bridge::log::init().expect("a second init is a no-op");
    let runtime_target = format!("tenant::{}", 42);
    let info_line = line!() + 1;
    log::info!(target: "app::orders", "bought {} at {:.2}", 3, 9.5);
    let warn_line = line!() + 1;
    log::warn!("no arguments {{}}");
    log::error!(target: &runtime_target, "code {code:#x}", code = 255);
    for i in 0..3 {
        log::info!(target: "app::orders", "loop {i}");
    }
    drop(g);

    let d = decode([dir.path()]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let got: Vec<_> = d
        .records
        .iter()
        .map(|r| (r.level, r.callsite().target.to_string(), r.message()))
        .collect();
    use tachylog::Level::*;
    let want = [
        (Info, "app::orders", "bought 3 at 9.50"),
        (Warn, module_path!(), "no arguments {}"),
        (Error, "tenant::42", "code 0xff"),
        (Info, "app::orders", "loop 0"),
        (Info, "app::orders", "loop 1"),
        (Info, "app::orders", "loop 2"),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(l, t, m)| (*l, t.to_string(), m.to_string()))
        .collect();
    assert_eq!(got, want);
    let r = &d.records;
    for r in r {
        assert_eq!(&*r.callsite().file, file!());
        assert_eq!(&*r.callsite().module_path, module_path!());
        assert!(r.fields().unwrap().is_empty());
    }
    assert_eq!(r[0].callsite().line, info_line);
    assert_eq!(r[1].callsite().line, warn_line);
    assert_eq!(r[2].callsite().line, warn_line + 1);
    // The loop's three records share one call site.
    assert!(std::ptr::eq(r[3].callsite(), r[5].callsite()));
    assert!(!std::ptr::eq(r[0].callsite(), r[3].callsite()));
}

/// The same `log` call sites used under each filter.
fn tick(n: u32, evaluated: &mut u32) {
    let mut arg = || {
        *evaluated += 1;
        n
    };
    log::debug!(target: "app::db", "db {}", arg());
    log::info!(target: "app::web", "web {}", arg());
    log::trace!(target: "other", "other {}", arg());
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
    tachylog::bridge::log::init().unwrap();
    assert_eq!(log::max_level(), log::LevelFilter::Debug);
    let mut evaluated = 0;
    tick(1, &mut evaluated);
    // `trace` is above `log`'s maximum level: its argument is never evaluated.
    assert_eq!(evaluated, 2);
    assert!(log::log_enabled!(target: "app::db", log::Level::Debug));
    assert!(!log::log_enabled!(target: "app::web", log::Level::Info));

    tachylog::set_filter("info,app::db=off").unwrap();
    assert_eq!(log::max_level(), log::LevelFilter::Info);
    tick(2, &mut evaluated);
    assert_eq!(evaluated, 3, "debug is now above log's maximum level");

    tachylog::set_filter("error,other=trace").unwrap();
    assert_eq!(log::max_level(), log::LevelFilter::Trace);
    tick(3, &mut evaluated);
    tachylog::set_level(tachylog::Level::Warn);
    assert_eq!(log::max_level(), log::LevelFilter::Warn);
    drop(g);
    assert_eq!(
        logged(dir.path()),
        pairs(&[
            ("app::db", "db 1"),
            ("app::web", "web 2"),
            ("other", "other 3")
        ])
    );
}

/// Runs `test` alone in a child process (for process-wide state this binary's other tests must
/// not see), with `var` set; the child's assertions decide the parent's result.
fn in_child(test: &str, var: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(var, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The child really ran the test (a filter that matched nothing would also succeed).
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

#[test]
fn init_fails_when_another_logger_is_installed() {
    const CHILD: &str = "TACHYLOG_TEST_OTHER_LOGGER";
    if std::env::var_os(CHILD).is_none() {
        return in_child("init_fails_when_another_logger_is_installed", CHILD);
    }
    struct Other;
    impl log::Log for Other {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, _: &log::Record<'_>) {}
        fn flush(&self) {}
    }
    log::set_logger(&Other).unwrap();
    let e = tachylog::bridge::log::init().unwrap_err();
    assert!(matches!(e, Error::LogLoggerSet), "{e:?}");
    assert!(e.to_string().contains("another logger"), "{e}");
}

#[test]
fn locations_past_the_bound_share_one_call_site_per_level() {
    const CHILD: &str = "TACHYLOG_TEST_MANY_TARGETS";
    if std::env::var_os(CHILD).is_none() {
        return in_child(
            "locations_past_the_bound_share_one_call_site_per_level",
            CHILD,
        );
    }
    use tachylog::bridge::log::{MAX_CALLSITES, callsites};
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new()
        .dir(dir.path())
        .filter(&format!("info,t{}=off", MAX_CALLSITES + 1))
        .unwrap()
        .init()
        .unwrap();
    tachylog::bridge::log::init().unwrap();
    let n = MAX_CALLSITES + 3;
    let line = line!() + 2;
    for i in 0..n {
        log::info!(target: &format!("t{i}"), "from {i}");
    }
    assert_eq!(callsites(), MAX_CALLSITES);
    drop(g);
    let d = decode([dir.path()]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    // The filter applies on the shared path too: `t{MAX_CALLSITES + 1}` is off.
    assert_eq!(d.records.len(), n - 1);
    for (i, r) in d.records.iter().take(MAX_CALLSITES).enumerate() {
        assert_eq!(*r.callsite().target, format!("t{i}"));
        assert_eq!(r.message(), format!("from {i}"));
    }
    let rest: Vec<_> = d.records[MAX_CALLSITES..]
        .iter()
        .map(|r| {
            assert_eq!(&*r.callsite().target, "log");
            (r.message(), r.fields().unwrap())
        })
        .collect();
    let (t0, t2) = (
        format!("t{MAX_CALLSITES}"),
        format!("t{}", MAX_CALLSITES + 2),
    );
    let fields = |t| {
        vec![
            ("log.target", Value::Str(t)),
            ("log.module_path", Value::Str(module_path!())),
            ("log.file", Value::Str(file!())),
            ("log.line", Value::U32(line)),
        ]
    };
    assert_eq!(
        rest,
        vec![
            (format!("from {MAX_CALLSITES}"), fields(&t0)),
            (format!("from {}", MAX_CALLSITES + 2), fields(&t2)),
        ]
    );
}
