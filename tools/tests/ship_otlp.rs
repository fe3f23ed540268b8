//! `tachylog ship --otlp`: the real binary against an OTLP/HTTP receiver owned by the test
//! (`otlp_sink`), which decodes every request with the OpenTelemetry project's generated types
//! and answers as each test scripts it. Every record must arrive once with its mapping (time,
//! severity, body, typed attributes, resource, scope), in batches by count, bytes and time,
//! through 503s and 429s (honouring Retry-After), a request taken but never answered, a
//! `kill -9`, a refusal, a partial success, and over TLS.
mod common;
mod otlp_sink;
use common::serial;
use common::shop::{self, assert_each_once, logger};
use otlp_sink::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

const WAIT: Duration = Duration::from_secs(30);

fn ship_cmd(dir: &Path, url: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("tachylog"));
    c.arg("ship")
        .arg(dir)
        .args(["--otlp", url, "--interval", "10"])
        .args(extra)
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_CERTIFICATE")
        .env_remove("SSL_CERT_FILE");
    c
}

fn ship_once(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out
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

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Checks each record against what `shop::range` logged; returns how often each `i` came.
fn check(got: &[Got]) -> BTreeMap<u64, usize> {
    let mut seen = BTreeMap::new();
    for g in got {
        check_one(g);
        *seen.entry(g.attr("i").int() as u64).or_insert(0) += 1;
    }
    seen
}

#[test]
fn every_record_arrives_once_with_its_mapping_resource_and_headers() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sink = HttpSink::start();
    let g = logger(dir.path(), 64 << 10);
    let t0 = now_ns();
    shop::range(0, 200);
    std::thread::Builder::new()
        .name("worker-1".into())
        .spawn(|| shop::range(200, 300))
        .unwrap()
        .join()
        .unwrap();
    tachylog::info!(target: "shop::odd", big = u64::MAX, none = None::<u32>, small = -3i8, "edge values");
    tachylog::flush();
    let t1 = now_ns();
    drop(g);
    let out = ship_once(
        ship_cmd(dir.path(), &sink.url(), &["--hostname", "testhost"])
            .args(["--otlp-header", "x-tenant=acme"])
            .env("OTEL_SERVICE_NAME", "checkout")
            .env(
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=test,team=pay%20ments",
            )
            .env(
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20s3cret",
            ),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("301 messages sent to {}/v1/logs", sink.url())),
        "{err}"
    );
    sink.wait_for(301, WAIT);
    let mut got = sink.records();
    let edge = got.pop().unwrap();
    assert_eq!(edge.body, V::S("edge values".into()));
    assert_eq!(
        edge.attr("big"),
        &V::S(u64::MAX.to_string()),
        "beyond int64: a string"
    );
    assert_eq!(edge.attr("none"), &V::Empty);
    assert_eq!(edge.attr("small"), &V::I(-3));
    assert_each_once(&check(&got), 300);
    for g in &got {
        assert!(g.time >= t0 && g.time <= t1, "the record's own time");
        assert_eq!(g.resource["service.name"], V::S("checkout".into()));
        assert_eq!(g.resource["host.name"], V::S("testhost".into()));
        assert_eq!(g.resource["deployment.environment"], V::S("test".into()));
        assert_eq!(g.resource["team"], V::S("pay ments".into()));
        let i = g.attr("i").int();
        // The test harness names its threads too: every record carries its thread's name.
        let name = g.attr("thread.name").str();
        assert_eq!(name == "worker-1", i >= 200, "{name} for {i}");
    }
    let uids: std::collections::BTreeSet<&str> = got.iter().map(Got::uid).collect();
    assert_eq!(uids.len(), 300, "ids are unique");
    for r in sink.requests() {
        assert_eq!(r.headers["content-type"], "application/x-protobuf");
        assert_eq!(r.headers["content-encoding"], "gzip");
        assert_eq!(r.headers["authorization"], "Bearer s3cret");
        assert_eq!(r.headers["x-tenant"], "acme");
        assert!(
            r.sent_bytes * 2 < r.bytes,
            "gzip: {} of {}",
            r.sent_bytes,
            r.bytes
        );
    }
    // Nothing new: nothing sent.
    let n = sink.requests().len();
    let out = ship_once(&mut ship_cmd(dir.path(), &sink.url(), &[]));
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains(" 0 messages sent"));
    assert_eq!(sink.requests().len(), n);
}

#[test]
fn batches_are_cut_by_count_by_bytes_and_by_time() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path(), 1 << 20);
    shop::range(0, 1000);
    drop(g);

    let sink = HttpSink::start();
    let out = ship_once(&mut ship_cmd(
        dir.path(),
        &sink.url(),
        &["--batch-records", "100", "--state", "/dev/null/none"],
    ));
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unusable state file is refused"
    );
    let state = dir.path().join("count.state");
    let out = ship_once(&mut ship_cmd(
        dir.path(),
        &sink.url(),
        &["--batch-records", "100", "--state", state.to_str().unwrap()],
    ));
    assert_eq!(out.status.code(), Some(0));
    let counts: Vec<usize> = sink.requests().iter().map(|r| r.records).collect();
    assert_eq!(counts, vec![100; 10], "by count");

    let sink = HttpSink::start();
    let state = dir.path().join("bytes.state");
    let out = ship_once(&mut ship_cmd(
        dir.path(),
        &sink.url(),
        &["--batch-bytes", "16k", "--state", state.to_str().unwrap()],
    ));
    assert_eq!(out.status.code(), Some(0));
    let reqs = sink.requests();
    let total: usize = reqs.iter().map(|r| r.bytes).sum();
    assert!(
        reqs.len() as u64 >= total as u64 / (16 << 10),
        "{} requests",
        reqs.len()
    );
    for r in &reqs {
        // A batch is sent once its records reach the limit: at most one record over it, and
        // the request adds the resource and scopes around them.
        assert!(r.bytes <= (17 << 10), "{} bytes", r.bytes);
    }
    assert_each_once(&check(&sink.records()), 1000);
    let by_bytes = reqs.len();

    // By time, while following: a trickle waits up to --batch-wait for company.
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path(), 64 << 10);
    let sink = HttpSink::start();
    let child = ship_cmd(
        dir.path(),
        &sink.url(),
        &["--follow", "--batch-wait", "600ms"],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let t = Instant::now();
    for i in 0..6 {
        shop::range(i, i + 1);
        std::thread::sleep(Duration::from_millis(100));
    }
    sink.wait_for(6, WAIT);
    let took = t.elapsed();
    let reqs = sink.requests();
    assert!(reqs.len() <= 2, "{} requests for 6 records", reqs.len());
    assert!(
        took < Duration::from_millis(1800),
        "the wait is bounded: {took:?}"
    );
    let first = reqs[0].at.duration_since(t);
    assert!(
        first >= Duration::from_millis(500),
        "the first batch waited for company: {first:?}"
    );
    signal(&child, "-INT");
    let (status, _) = wait_exit(child);
    assert_eq!(status.code(), Some(0));
    drop(g);
    println!(
        "otlp batching: 1000 records as 10 requests of 100 (--batch-records 100), {by_bytes} \
         requests of at most 17 KiB (--batch-bytes 16k); a trickle of 6 in {} request(s), the \
         first after {first:?} (--batch-wait 600ms)",
        reqs.len()
    );
}

#[test]
fn a_busy_collector_is_retried_after_its_retry_after() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path(), 64 << 10);
    shop::range(0, 100);
    drop(g);
    let sink = HttpSink::start();
    sink.script([
        Answer::Status(503, Some("1")),
        Answer::Status(429, Some("1")),
        Answer::Status(502, None),
    ]);
    let t = Instant::now();
    let out = ship_once(&mut ship_cmd(dir.path(), &sink.url(), &[]));
    let took = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        took >= Duration::from_secs(2),
        "Retry-After was honoured: {took:?}"
    );
    assert!(
        err.contains("the collector answered 503 (try later); trying again in 1s"),
        "{err}"
    );
    assert!(err.contains("answered 429"), "{err}");
    assert!(
        err.contains("answered 502 (try later); trying again in 400ms"),
        "{err}"
    );
    let answers: Vec<u16> = sink.requests().iter().map(|r| r.answer).collect();
    assert_eq!(answers, [503, 429, 502, 200]);
    assert_each_once(&check(&sink.records()), 100);
}

#[test]
fn a_request_whose_answer_never_comes_is_sent_again_and_its_repeats_carry_their_ids() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path(), 1 << 20);
    shop::range(0, 500);
    drop(g);
    let sink = HttpSink::start();
    // The second request is taken, then the connection closes without an answer (a collector
    // that restarts mid-request).
    sink.script([Answer::Status(200, None), Answer::Vanish]);
    let out = ship_once(&mut ship_cmd(
        dir.path(),
        &sink.url(),
        &["--batch-records", "100"],
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let got = sink.records();
    let seen = check(&got);
    let missing: Vec<u64> = (0..500).filter(|i| !seen.contains_key(i)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let mut by_uid: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for g in &got {
        by_uid.entry(g.uid()).or_default().push(g.request);
    }
    let repeated: Vec<&Vec<usize>> = by_uid.values().filter(|r| r.len() > 1).collect();
    assert_eq!(
        repeated.len(),
        100,
        "exactly the batch of unknown fate, once more"
    );
    assert!(repeated.iter().all(|r| r[..] == [1, 2]), "{repeated:?}");
    println!(
        "otlp unknown fate: 500 records, one request taken but not answered: {} repeated, all \
         of that batch, identifiable by log.record.uid",
        repeated.len()
    );
}

#[test]
fn kill_9_may_repeat_one_batch_but_loses_nothing() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sink = HttpSink::start();
    let g = logger(dir.path(), 4 << 20);
    let spawn = || {
        ship_cmd(
            dir.path(),
            &sink.url(),
            &["--follow", "--batch-records", "50"],
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let child = spawn();
    shop::range(0, 3000);
    sink.wait_for(1000, WAIT);
    signal(&child, "-KILL");
    wait_exit(child);
    shop::range(3000, 4000);
    let child = spawn();
    let t = Instant::now();
    loop {
        let seen = check(&sink.records());
        if (0..4000).all(|i| seen.contains_key(&i)) {
            break;
        }
        assert!(t.elapsed() < WAIT, "{} of 4000 arrived", seen.len());
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&child, "-INT");
    let (status, _) = wait_exit(child);
    assert_eq!(status.code(), Some(0));
    drop(g);
    let seen = check(&sink.records());
    let repeated: usize = seen.values().map(|c| c - 1).sum();
    assert!(repeated <= 50, "{repeated} repeated, more than one batch");
}

#[test]
fn a_refusal_gives_up_at_once_and_a_partial_success_is_reported() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path(), 64 << 10);
    shop::range(0, 100);
    drop(g);
    let sink = HttpSink::start();
    sink.script([Answer::Status(400, None)]);
    let t = Instant::now();
    let out = ship_once(&mut ship_cmd(dir.path(), &sink.url(), &[]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "no retries: {:?}",
        t.elapsed()
    );
    assert!(
        err.contains("answered 400 (bad request); trying again cannot help"),
        "{err}"
    );
    assert!(
        err.contains("100 records and notices were not sent"),
        "{err}"
    );
    assert!(sink.records().is_empty());
    // The position did not move: the next run sends everything.
    sink.script([Answer::Partial(3)]);
    let out = ship_once(&mut ship_cmd(dir.path(), &sink.url(), &[]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "rejections are losses: {err}");
    assert!(
        err.contains("the collector rejected 3 of 100 records: too old"),
        "{err}"
    );
    assert!(err.contains("3 rejected"), "{err}");
    assert_each_once(&check(&sink.records()), 100);
}

#[test]
fn https_trusts_a_ca_file_or_the_systems_roots_and_refuses_an_unknown_issuer() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path(), 64 << 10);
    shop::range(0, 50);
    drop(g);
    let sink = HttpSink::start_tls();
    let url = format!("https://127.0.0.1:{}", sink.port);
    let ca = ca_file();

    // The system's roots do not know the test CA: refused at once, nothing sent.
    let t = Instant::now();
    let out = ship_once(&mut ship_cmd(dir.path(), &url, &[]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("TLS: invalid peer certificate"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(sink.records().is_empty());

    // --otlp-ca-file.
    let out = ship_once(&mut ship_cmd(
        dir.path(),
        &url,
        &["--otlp-ca-file", ca.to_str().unwrap()],
    ));
    assert_eq!(out.status.code(), Some(0));
    assert_each_once(&check(&sink.records()), 50);

    // The system's roots, here pointed at the test CA the way an administrator adds one.
    let g = logger(dir.path(), 64 << 10);
    shop::range(50, 80);
    drop(g);
    let out = ship_once(ship_cmd(dir.path(), &url, &[]).env("SSL_CERT_FILE", &ca));
    assert_eq!(out.status.code(), Some(0));
    assert_each_once(&check(&sink.records()), 80);
    // And OTEL_EXPORTER_OTLP_CERTIFICATE, as the SDKs read it.
    let g = logger(dir.path(), 64 << 10);
    shop::range(80, 90);
    drop(g);
    let out = ship_once(ship_cmd(dir.path(), &url, &[]).env("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca));
    assert_eq!(out.status.code(), Some(0));
    assert_each_once(&check(&sink.records()), 90);
}

#[test]
fn drop_and_sampling_notices_are_records_with_their_counts() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    // A tiny ring and a sleepy drain: a burst cannot all fit.
    let g = tachylog::Builder::new()
        .dir(dir.path())
        .name("shop")
        .ring_capacity(4096)
        .overflow(tachylog::Overflow::Drop)
        .drain_idle(Duration::from_millis(20))
        .init()
        .unwrap();
    // Every 500th record is larger than the ring: dropped and counted whatever the drain's pace
    // (a producer wakes the drain at half full, so it may keep up with the rest).
    let big = "x".repeat(8192);
    for i in 0..5000u64 {
        let text: &str = if i % 500 == 0 {
            &big
        } else {
            "some text to take room"
        };
        tachylog::info!(target: "shop::burst", i = i, "burst {} {}", i, text);
    }
    // The ring is empty again before the sampled call site logs, so none of those drop.
    tachylog::flush();
    for i in 0..100u64 {
        tachylog::info!(target: "shop::poll", sample = 10, "polled {}", i);
    }
    tachylog::flush();
    drop(g);
    let sink = HttpSink::start();
    let out = ship_once(&mut ship_cmd(dir.path(), &sink.url(), &[]));
    assert_eq!(out.status.code(), Some(0));
    let got = sink.records();
    let burst = got.iter().filter(|g| g.scope == "shop::burst").count() as i64;
    let drops: Vec<&Got> = got.iter().filter(|g| g.scope == "tachylog").collect();
    assert!(!drops.is_empty(), "the burst dropped records");
    let dropped: i64 = drops.iter().map(|d| d.attr("tachylog.dropped").int()).sum();
    assert_eq!(
        burst + dropped,
        5000,
        "every record is either shipped or counted"
    );
    for d in &drops {
        assert_eq!((d.severity_number, d.severity_text.as_str()), (13, "WARN"));
        assert_eq!(
            d.body,
            V::S(format!(
                "{} records dropped",
                d.attr("tachylog.dropped").int()
            ))
        );
        assert!(d.attr("thread.id").int() > 0);
        assert!(d.uid().contains(".tlog/"));
    }
    let sampled: Vec<&Got> = got
        .iter()
        .filter(|g| g.scope == "shop::poll" && g.attributes.contains_key("tachylog.sampled.kept"))
        .collect();
    let kept: i64 = sampled
        .iter()
        .map(|s| s.attr("tachylog.sampled.kept").int())
        .sum();
    let skipped: i64 = sampled
        .iter()
        .map(|s| s.attr("tachylog.sampled.skipped").int())
        .sum();
    assert_eq!((kept, skipped), (10, 90));
    let polled = got
        .iter()
        .filter(|g| g.scope == "shop::poll" && g.attributes.contains_key("code.lineno"))
        .count();
    assert_eq!(polled - sampled.len(), 10, "the kept records themselves");
}

#[test]
fn bad_targets_and_otlp_settings_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let tachylog = || Command::new(assert_cmd::cargo::cargo_bin("tachylog"));
    let run = |c: &mut Command| {
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(tachylog().arg("ship").arg(dir.path()));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--syslog <URL>|--otlp [<URL>]|--journald[=<SOCKET>]"),
        "{err}"
    );
    let (code, err) = run(tachylog().arg("ship").arg(dir.path()).args([
        "--syslog",
        "tcp://h:1",
        "--otlp",
        "http://h:2",
    ]));
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot be used with"), "{err}");
    let (code, err) = run(&mut ship_cmd(dir.path(), "tcp://h:1", &[]));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("OTLP/HTTP needs an http:// or https:// URL"),
        "{err}"
    );
    let (code, err) =
        run(ship_cmd(dir.path(), "http://h:4318", &[]).env("OTEL_RESOURCE_ATTRIBUTES", "team"));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("OTEL_RESOURCE_ATTRIBUTES: \"team\" is not key=value"),
        "{err}"
    );
    let missing = dir.path().join("none.pem");
    let (code, err) = run(&mut ship_cmd(
        dir.path(),
        "https://h:4318",
        &["--otlp-ca-file", missing.to_str().unwrap()],
    ));
    assert_eq!(code, Some(2));
    assert!(err.contains("none.pem: No such file"), "{err}");
    // The endpoint from the environment when --otlp has no URL.
    let (code, err) = run(tachylog()
        .arg("ship")
        .arg(dir.path())
        .arg("--otlp")
        .args(["--retry-for", "0s"])
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://collector.invalid:4318",
        ));
    assert_eq!(code, Some(0), "an empty directory: nothing to send: {err}");
    assert!(
        err.contains("sent to http://collector.invalid:4318/v1/logs"),
        "{err}"
    );
}
