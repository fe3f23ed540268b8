//! Per-target filters: `Builder::filter`, `TACHYLOG_LOG`, and `set_filter` at run time.
mod common;

use common::{decode, logged, pairs, serial};
use tachylog::{Builder, Error, Level};

#[test]
fn per_target_levels_decide_what_is_kept() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new()
        .dir(dir.path())
        .filter("warn,orders=debug,orders::book=error,net::conn=off")
        .unwrap()
        .init()
        .unwrap();
    let mut evaluated = 0;
    let mut arg = || {
        evaluated += 1;
        1
    };
    tachylog::debug!(target: "orders", "a {}", arg());
    tachylog::trace!(target: "orders", "b {}", arg());
    tachylog::debug!(target: "orders::fill", "c {}", arg());
    tachylog::warn!(target: "orders::book", "d {}", arg());
    tachylog::error!(target: "orders::book", "e {}", arg());
    tachylog::error!(target: "net::conn", "f {}", arg());
    tachylog::info!(target: "net", "g {}", arg());
    tachylog::warn!(target: "net", "h {}", arg());
    tachylog::debug!(target: "ordersx", "i {}", arg());
    drop(g);
    assert_eq!(
        logged(dir.path()),
        pairs(&[
            ("orders", "a 1"),
            ("orders::fill", "c 1"),
            ("orders::book", "e 1"),
            ("net", "h 1"),
        ])
    );
    assert_eq!(
        evaluated, 4,
        "filtered-out records do not evaluate arguments"
    );
}

/// The same call site (one static, so one cached decision) used before and after each change.
fn tick(n: u32) {
    tachylog::debug!(target: "app::db", "db {n}");
    tachylog::info!(target: "app::web", "web {n}");
}

#[test]
fn set_filter_changes_cached_decisions_of_used_call_sites() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = Builder::new()
        .dir(dir.path())
        .filter("info")
        .unwrap()
        .init()
        .unwrap();
    tick(1);
    tachylog::set_filter("info,app::db=debug").unwrap();
    tick(2);
    tachylog::set_filter("app::web=off").unwrap();
    tick(3);
    // An invalid filter changes nothing.
    let e = tachylog::set_filter("app=chatty").unwrap_err();
    assert!(matches!(e, Error::Filter { ref directive, .. } if directive == "app=chatty"));
    tick(4);
    tachylog::set_level(Level::Debug);
    tick(5);
    drop(g);
    assert_eq!(
        logged(dir.path()),
        pairs(&[
            ("app::web", "web 1"),
            ("app::db", "db 2"),
            ("app::web", "web 2"),
            ("app::db", "db 5"),
            ("app::web", "web 5"),
        ])
    );
    assert!(matches!(
        tachylog::set_filter("info"),
        Err(Error::NotInitialized)
    ));
}

#[test]
fn a_new_engine_resolves_call_sites_against_its_own_filter() {
    let _s = serial();
    for (spec, want) in [("off", 0), ("app::web=info", 1), ("error", 0)] {
        let dir = tempfile::tempdir().unwrap();
        let g = Builder::new()
            .dir(dir.path())
            .filter(spec)
            .unwrap()
            .init()
            .unwrap();
        tick(0);
        drop(g);
        assert_eq!(decode([dir.path()]).records.len(), want, "{spec}");
    }
}

#[test]
fn invalid_directive_is_an_error_naming_it() {
    let e = Builder::new().filter("info,net[conn]=debug").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("`net[conn]=debug`"), "{msg}");
}

/// Runs in a child process with `TACHYLOG_*` set (the environment of this process stays
/// untouched): the child logs, the parent decodes. The operator's variables win over the
/// code's `dir` and `filter`, without the program calling `from_env`; `env_overrides(false)`
/// keeps the code's.
#[test]
fn the_process_environment_wins_over_the_code_at_init() {
    const CHILD: &str = "TACHYLOG_TEST_CHILD_DIR";
    const OFF: &str = "TACHYLOG_TEST_CHILD_ENV_OFF";
    if let Ok(code_dir) = std::env::var(CHILD) {
        let on = std::env::var(OFF).is_err();
        let g = Builder::new()
            .dir(&code_dir)
            .filter("info")
            .unwrap()
            .env_overrides(on)
            .init()
            .unwrap();
        tick(7);
        drop(g);
        return;
    }
    let run = |env_off: bool| {
        let (code_dir, env_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args([
                "--exact",
                "the_process_environment_wins_over_the_code_at_init",
                "--test-threads=1",
            ])
            .env(CHILD, code_dir.path())
            .env("TACHYLOG_LOG", "warn,app::db=debug")
            .env("TACHYLOG_DIR", env_dir.path());
        if env_off {
            child.env(OFF, "1");
        }
        assert!(child.status().unwrap().success());
        (logged(code_dir.path()), logged(env_dir.path()))
    };
    let (code, env) = run(false);
    assert_eq!((code, env), (vec![], pairs(&[("app::db", "db 7")])));
    let (code, env) = run(true);
    assert_eq!((code, env), (pairs(&[("app::web", "web 7")]), vec![]));
}
