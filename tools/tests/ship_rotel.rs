//! `tachylog ship --otlp` into a real OpenTelemetry collector on loopback: `rotel` (from PyPI)
//! takes OTLP/HTTP and forwards it over OTLP/HTTP to `receiver.py`, a receiver built on the
//! OpenTelemetry project's Python bindings (`opentelemetry-proto`), which writes what it got as
//! JSON lines. So every record is decoded by two implementations that are not ours.
//!
//! rotel and opentelemetry-proto come from the project's setup (`.ci/run` installs them with
//! pip into `target/ci-venv`). Where they are not installed, each test says so on stdout
//! (`SKIPPED ...`) and passes without running.
mod common;
mod otlp_sink;
use common::serial;
use common::shop::{self, assert_each_once};
use otlp_sink::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

fn ship_cmd(dir: &Path, port: u16, extra: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("tachylog"));
    c.arg("ship")
        .arg(dir)
        .args(["--otlp", &format!("http://127.0.0.1:{port}")])
        .args(["--interval", "10", "--hostname", "testhost"])
        .args(extra)
        .env("OTEL_SERVICE_NAME", "checkout")
        .env("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
        .env_remove("OTEL_EXPORTER_OTLP_HEADERS");
    c
}

fn wait_exit(mut child: Child) -> (std::process::ExitStatus, String) {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            eprintln!("{err}");
            return (s, err);
        }
        assert!(t.elapsed() < WAIT, "ship did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn check(got: &[Got]) -> BTreeMap<u64, usize> {
    let mut seen = BTreeMap::new();
    for g in got {
        check_one(g);
        assert_eq!(g.resource["service.name"], V::S("checkout".into()));
        assert_eq!(g.resource["host.name"], V::S("testhost".into()));
        assert_eq!(g.resource["deployment.environment"], V::S("test".into()));
        *seen.entry(g.attr("i").int() as u64).or_insert(0) += 1;
    }
    seen
}

#[test]
fn rotel_receives_every_record_once_with_its_fields() {
    let bin = match rotel() {
        Ok(b) => b,
        Err(why) => {
            println!("SKIPPED rotel: {why}");
            return;
        }
    };
    let py = python().unwrap();
    let _s = serial();
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    let receiver = PyReceiver::start(&py, tmp.path());
    let port = free_port();
    let _rotel = start_rotel(&bin, port, receiver.port, tmp.path());
    let g = shop::logger(&logs, 64 << 10);
    shop::range(0, 1000);
    let ship = ship_cmd(&logs, port, &["--follow"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    shop::range(1000, 2000);
    let got = receiver.wait_for(2000, WAIT);
    signal(ship.id(), "-INT");
    let (status, _) = wait_exit(ship);
    drop(g);
    assert_eq!(status.code(), Some(0));
    std::thread::sleep(Duration::from_millis(500));
    let got = if got.len() > 2000 {
        got
    } else {
        receiver.records()
    };
    assert_each_once(&check(&got), 2000);
    assert_eq!(got.len(), 2000);

    // Throughput: what is there, one-shot, in batches of the default size.
    let many = tmp.path().join("many");
    let g = shop::logger(&many, 4 << 20);
    shop::range(0, 20_000);
    drop(g);
    let t = Instant::now();
    let out = ship_cmd(&many, port, &[]).output().unwrap();
    let took = t.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    receiver.wait_for(22_000, WAIT);
    println!(
        "rotel: 2000 records arrived once each with severity, body, typed attributes, resource \
         and time (OTLP/HTTP, protobuf, gzip; forwarded to opentelemetry-proto); 20000 shipped \
         in {took:.2?}: {:.0} records/s (this build, loopback)",
        20_000.0 / took.as_secs_f64()
    );
}

#[test]
fn a_collector_restart_mid_stream_loses_nothing_and_repeats_at_most_one_batch() {
    let bin = match rotel() {
        Ok(b) => b,
        Err(why) => {
            println!("SKIPPED rotel restart: {why}");
            return;
        }
    };
    let py = python().unwrap();
    let _s = serial();
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    let receiver = PyReceiver::start(&py, tmp.path());
    let port = free_port();
    let mut rotel = start_rotel(&bin, port, receiver.port, tmp.path());
    let g = shop::logger(&logs, 1 << 20);
    let batch = 100;
    let ship = ship_cmd(
        &logs,
        port,
        &["--follow", "--batch-records", "100", "--batch-wait", "20ms"],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // A stream, 100 records every 20 ms, that goes on while the collector stops and starts.
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let w = writing.clone();
    let writer = std::thread::spawn(move || {
        let mut n = 0;
        while w.load(std::sync::atomic::Ordering::Relaxed) {
            shop::range(n, n + 100);
            n += 100;
            std::thread::sleep(Duration::from_millis(20));
        }
        n
    });
    receiver.wait_for(1000, WAIT);
    // A graceful stop (SIGTERM): rotel sends on what it took before it exits. Requests in
    // flight then may be cut off: their fate is unknown to the shipper.
    rotel.terminate();
    std::thread::sleep(Duration::from_millis(400));
    let _rotel = start_rotel(&bin, port, receiver.port, tmp.path());
    std::thread::sleep(Duration::from_millis(400));
    writing.store(false, std::sync::atomic::Ordering::Relaxed);
    let total = writer.join().unwrap();
    receiver.wait_for(total as usize, WAIT);
    std::thread::sleep(Duration::from_millis(500));
    signal(ship.id(), "-INT");
    let (status, err) = wait_exit(ship);
    drop(g);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        err.contains("trying again"),
        "the collector was away for a while: {err}"
    );
    let got = receiver.records();
    let seen = check(&got);
    let missing: Vec<u64> = (0..total).filter(|i| !seen.contains_key(i)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let mut uids: BTreeMap<&str, usize> = BTreeMap::new();
    for g in &got {
        *uids.entry(g.uid()).or_default() += 1;
    }
    let repeated: usize = uids.values().map(|c| c - 1).sum();
    assert!(
        repeated <= batch,
        "{repeated} repeated, more than one batch"
    );
    // A repeat is the same record: same id, same i.
    assert_eq!(uids.len() as u64, total);
    println!(
        "rotel restart: {total} records through a collector restart mid-stream: 0 lost, \
         {repeated} repeated (bound: one batch of {batch}), each repeat carrying its record's \
         log.record.uid"
    );
}
