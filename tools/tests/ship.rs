//! `tachylog ship`: the real binary against receivers owned by the test on loopback. Every
//! record must arrive once, with its fields, across restarts, reconnections, compression and
//! retention.
mod common;
mod syslog_sink;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use syslog_sink::*;

const WAIT: Duration = Duration::from_secs(30);

fn logger(dir: &Path, compress: bool) -> tachylog::Guard {
    logger_sized(dir, compress, 16 << 10)
}

fn logger_sized(dir: &Path, compress: bool, segment_size: usize) -> tachylog::Guard {
    tachylog::Builder::new()
        .dir(dir)
        .name("shop")
        .segment_size(segment_size)
        .ring_capacity(8 << 10)
        .overflow(tachylog::Overflow::Block)
        .compress(compress)
        .level(tachylog::Level::Trace)
        .init()
        .unwrap()
}

/// Logs records `from..to`: every record has fields `i` and `user`; the level cycles.
fn log_range(from: u64, to: u64) {
    const USERS: [&str; 4] = ["ana", r#"b"ob"#, r"c\d", "e]f"];
    for i in from..to {
        let user = USERS[(i % 4) as usize];
        match i % 5 {
            0 => tachylog::error!(target: "shop::pay", i = i, user = user, "payment {} failed", i),
            1 => {
                tachylog::warn!(target: "shop::stock", i = i, user = user, "stock low after {}", i)
            }
            2 => {
                tachylog::debug!(target: "shop::cart", i = i, user = user, "cart {} of {}", i, user)
            }
            _ => tachylog::info!(target: "shop::orders", i = i, user = user, "order {} placed", i),
        }
    }
    tachylog::flush();
}

fn expected_user(i: u64) -> &'static str {
    [r"ana", r#"b"ob"#, r"c\d", "e]f"][(i % 4) as usize]
}

fn ship_cmd(dir: &Path, url: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("tachylog"));
    c.arg("ship")
        .arg(dir)
        .args([
            "--syslog",
            url,
            "--hostname",
            "testhost",
            "--interval",
            "10",
        ])
        .args(extra);
    c
}

fn ship_once(dir: &Path, url: &str, extra: &[&str]) -> Output {
    let out = ship_cmd(dir, url, extra).output().unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn spawn_follow(dir: &Path, url: &str) -> Child {
    ship_cmd(dir, url, &["--follow"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
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

/// Checks each message against the record it stands for; returns how often each `i` came.
fn check(msgs: &[Msg]) -> BTreeMap<u64, usize> {
    let pid = std::process::id().to_string();
    let mut seen = BTreeMap::new();
    for m in msgs {
        let i: u64 = m
            .field("i")
            .unwrap_or_else(|| panic!("no i: {m:?}"))
            .parse()
            .unwrap();
        *seen.entry(i).or_insert(0) += 1;
        assert_eq!(m.field("user"), Some(expected_user(i)), "{m:?}");
        let (sev, target, text) = match i % 5 {
            0 => (3, "shop::pay", format!("payment {i} failed")),
            1 => (4, "shop::stock", format!("stock low after {i}")),
            2 => (7, "shop::cart", format!("cart {i} of {}", expected_user(i))),
            _ => (6, "shop::orders", format!("order {i} placed")),
        };
        assert_eq!(
            m.pri,
            8 + sev,
            "facility user, severity of the level: {m:?}"
        );
        assert_eq!(m.msgid, target);
        assert_eq!(m.msg, text);
        assert_eq!(m.app, "shop");
        assert_eq!(m.hostname, "testhost");
        assert_eq!(m.procid, pid);
        assert!(
            m.param("tachylog@32473", "line")
                .is_some_and(|l| l.parse::<u32>().is_ok())
        );
        assert_eq!(m.param("tachylog@32473", "file"), Some(file!()));
        // 2026-01-31T09:05:07.123456Z
        let ts = m.timestamp.as_bytes();
        assert!(
            ts.len() == 27 && ts[10] == b'T' && ts[19] == b'.' && ts[26] == b'Z',
            "{m:?}"
        );
    }
    seen
}

fn assert_each_once(seen: &BTreeMap<u64, usize>, n: u64) {
    let dup: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(dup.is_empty(), "sent more than once: {dup:?}");
    let missing: Vec<u64> = (0..n).filter(|i| !seen.contains_key(i)).collect();
    assert!(missing.is_empty(), "never sent: {missing:?}");
    assert_eq!(seen.len() as u64, n);
}

#[test]
fn tcp_sends_every_record_once_and_a_rerun_sends_only_what_is_new() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sink = TcpSink::start();
    let url = format!("tcp://127.0.0.1:{}", sink.port);
    let g = logger(dir.path(), false);
    log_range(0, 1000);
    drop(g);
    assert!(tachylog::reader::segment_files(dir.path()).unwrap().len() >= 3);
    let out = ship_once(dir.path(), &url, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1000 messages sent"));
    sink.inbox.wait_for(1000, WAIT);
    assert_each_once(&check(&sink.inbox.parsed()), 1000);
    // Nothing new: nothing sent.
    let out = ship_once(dir.path(), &url, &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(" 0 messages sent"));
    // A new run of the writer: only its records.
    let g = logger(dir.path(), false);
    log_range(1000, 1500);
    drop(g);
    ship_once(dir.path(), &url, &[]);
    sink.inbox.wait_for(1500, WAIT);
    std::thread::sleep(Duration::from_millis(200));
    assert_each_once(&check(&sink.inbox.parsed()), 1500);
    assert_eq!(
        sink.inbox
            .partial
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[test]
fn follow_resumes_after_ctrl_c_without_duplicates_or_gaps() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sink = TcpSink::start();
    let url = format!("tcp://127.0.0.1:{}", sink.port);
    let g = logger(dir.path(), false);
    let child = spawn_follow(dir.path(), &url);
    // Stop the shipper in the middle of a stream, three times, while the writer goes on.
    let mut total = 0;
    let mut child = Some(child);
    for round in 0..3 {
        for _ in 0..20 {
            log_range(total, total + 200);
            total += 200;
        }
        let c = child.take().unwrap();
        sink.inbox.wait_for(total as usize / 2, WAIT);
        signal(&c, "-INT");
        let (status, _) = wait_exit(c);
        assert_eq!(status.code(), Some(0), "round {round}");
        log_range(total, total + 300);
        total += 300;
        child = Some(spawn_follow(dir.path(), &url));
    }
    sink.inbox.wait_for(total as usize, WAIT);
    std::thread::sleep(Duration::from_millis(300));
    signal(child.as_ref().unwrap(), "-INT");
    let (status, _) = wait_exit(child.take().unwrap());
    assert_eq!(status.code(), Some(0));
    drop(g);
    assert_each_once(&check(&sink.inbox.parsed()), total);
}

#[test]
fn kill_9_may_repeat_one_batch_but_loses_nothing() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sink = TcpSink::start();
    let url = format!("tcp://127.0.0.1:{}", sink.port);
    // One large segment: resuming it from its start instead of the position would repeat
    // far more than a batch.
    let g = logger_sized(dir.path(), false, 4 << 20);
    let child = spawn_follow(dir.path(), &url);
    log_range(0, 3000);
    sink.inbox.wait_for(1000, WAIT);
    signal(&child, "-KILL");
    wait_exit(child);
    log_range(3000, 4000);
    let child = spawn_follow(dir.path(), &url);
    sink.inbox.wait_for(4000, WAIT);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "-INT");
    wait_exit(child);
    drop(g);
    let seen = check(&sink.inbox.parsed());
    let missing: Vec<u64> = (0..4000).filter(|i| !seen.contains_key(i)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let repeated: usize = seen.values().map(|c| c - 1).sum();
    assert!(
        repeated <= tachylog_cli::ship::BATCH_MESSAGES,
        "{repeated} repeated"
    );
}

#[test]
fn a_receiver_that_is_down_or_restarts_gets_everything_once() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let g = logger(dir.path(), false);
    log_range(0, 500);
    let child = spawn_follow(dir.path(), &url);
    std::thread::sleep(Duration::from_millis(800));
    let inbox = Inbox::default();
    let sink = TcpSink::at(port, inbox.clone());
    inbox.wait_for(500, WAIT);
    // The receiver goes away (closing the connection) and comes back.
    drop(sink);
    log_range(500, 700);
    std::thread::sleep(Duration::from_millis(500));
    let sink = TcpSink::at(port, inbox.clone());
    log_range(700, 900);
    inbox.wait_for(900, WAIT);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "-INT");
    let (status, err) = wait_exit(child);
    assert_eq!(status.code(), Some(0));
    assert!(err.contains("trying again"), "{err}");
    drop(g);
    assert!(inbox.connections.load(std::sync::atomic::Ordering::Relaxed) >= 2);
    assert_each_once(&check(&inbox.parsed()), 900);
    drop(sink);
}

#[test]
fn udp_sends_one_datagram_per_record_cut_to_the_size_limit() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sink = UdpSink::start();
    let url = format!("udp://127.0.0.1:{}", sink.port);
    let g = logger(dir.path(), false);
    // UDP has no flow control: a burst larger than the receiving socket's buffer (about 160
    // datagrams of this size with Linux defaults) would lose datagrams before the receiver
    // thread reads them. 100 fit.
    log_range(0, 100);
    let long = "é".repeat(1000);
    tachylog::info!(target: "shop::orders", i = 100u64, user = "ana", "{}", long.as_str());
    drop(g);
    let out = ship_once(dir.path(), &url, &["--max-size", "600"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("101 messages sent") && err.contains("(1 cut"),
        "{err}"
    );
    sink.inbox.wait_for(101, WAIT);
    let raw = sink.inbox.msgs.lock().unwrap().clone();
    assert!(raw.iter().all(|m| m.len() <= 600));
    let mut msgs = sink.inbox.parsed();
    let cut = msgs.pop().unwrap();
    assert_eq!(
        cut.field("i"),
        Some("100"),
        "fields kept when the text is cut"
    );
    assert!(
        cut.msg.len() > 300 && long.starts_with(&cut.msg),
        "{}",
        cut.msg.len()
    );
    assert_each_once(&check(&msgs), 100);
}

#[test]
fn unix_datagram_socket_gets_every_record() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sock = tempfile::tempdir().unwrap();
    let path = sock.path().join("log");
    let sink = UnixSink::start(&path);
    let g = logger(dir.path(), false);
    log_range(0, 300);
    drop(g);
    let url = format!("unix://{}", path.display());
    let out = ship_once(dir.path(), &url, &[]);
    assert_eq!(out.status.code(), Some(0));
    sink.inbox.wait_for(300, WAIT);
    assert_each_once(&check(&sink.inbox.parsed()), 300);
}

/// Records of `dir` (all segments) by segment file name, for choosing what to delete.
fn segment_names(dir: &Path) -> Vec<String> {
    tachylog::reader::segment_files(dir)
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_position_survives_compression_of_its_segment() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sink = TcpSink::start();
    let url = format!("tcp://127.0.0.1:{}", sink.port);
    let g = logger(dir.path(), true);
    log_range(0, 30);
    // Ships part of the live segment: the position is inside it.
    ship_once(dir.path(), &url, &[]);
    sink.inbox.wait_for(30, WAIT);
    let live = segment_names(dir.path()).pop().unwrap();
    assert!(live.ends_with(".tlog"));
    log_range(30, 400);
    drop(g);
    // Sealed and compressed since.
    let t = Instant::now();
    while !segment_names(dir.path()).contains(&format!("{live}.lz4")) {
        assert!(t.elapsed() < WAIT, "{live} never compressed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = ship_once(dir.path(), &url, &[]);
    assert_eq!(out.status.code(), Some(0));
    sink.inbox.wait_for(400, WAIT);
    std::thread::sleep(Duration::from_millis(200));
    assert_each_once(&check(&sink.inbox.parsed()), 400);
}

#[test]
fn segments_removed_before_shipping_are_reported_and_shipping_goes_on() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sink = TcpSink::start();
    let url = format!("tcp://127.0.0.1:{}", sink.port);
    let g = logger(dir.path(), false);
    log_range(0, 30);
    ship_once(dir.path(), &url, &[]);
    sink.inbox.wait_for(30, WAIT);
    // The position is 30 records into the live segment. It fills and more follow.
    let first = segment_names(dir.path());
    assert_eq!(first.len(), 1);
    log_range(30, 2000);
    drop(g);
    let names = segment_names(dir.path());
    assert!(names.len() >= 5, "{names:?}");
    // Retention removes the partly shipped segment and the two after it.
    for n in &names[..3] {
        std::fs::remove_file(dir.path().join(n)).unwrap();
    }
    let out = ship_once(dir.path(), &url, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "gaps are visible in the exit status"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{} was removed before it was shipped in full",
            names[0]
        )),
        "{err}"
    );
    assert!(
        err.contains("segments 2 to 3 of \"shop\" were removed"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let seen = check(&sink.inbox.parsed());
    assert!(seen.values().all(|&c| c == 1));
    // What arrived: the first 30, then everything from the first segment that is left.
    let first_left: u64 = *seen.keys().find(|&&i| i >= 30).unwrap();
    assert!(first_left > 30);
    let expect: Vec<u64> = (0..30).chain(first_left..2000).collect();
    assert_eq!(seen.keys().copied().collect::<Vec<_>>(), expect);
}

#[test]
fn bad_arguments_and_state_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = ship_once(dir.path(), "http://x:1", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected tcp://HOST:PORT"));
    let out = ship_once(dir.path(), "udp://127.0.0.1:9", &["--max-size", "100"]);
    assert_eq!(out.status.code(), Some(2));
    let state = dir.path().join("state");
    std::fs::write(&state, "garbage\n").unwrap();
    let out = ship_once(
        dir.path(),
        "udp://127.0.0.1:9",
        &["--state", state.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a ship state file"));
    let missing = dir.path().join("missing");
    let out = ship_once(&missing, "udp://127.0.0.1:9", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}: No such file", missing.display())),
        "{err}"
    );
}

#[test]
fn segments_removed_while_following_are_reported() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("tcp://127.0.0.1:{port}");
    let g = logger(dir.path(), false);
    // The receiver is down: the shipper holds its first batch and reads no further.
    let child = spawn_follow(dir.path(), &url);
    log_range(0, 2000);
    let names = segment_names(dir.path());
    assert!(names.len() >= 6, "{names:?}");
    std::thread::sleep(Duration::from_millis(300));
    for n in &names[3..5] {
        std::fs::remove_file(dir.path().join(n)).unwrap();
    }
    let inbox = Inbox::default();
    let sink = TcpSink::at(port, inbox.clone());
    log_range(2000, 2100);
    // Everything but the two removed segments, once.
    let t = Instant::now();
    loop {
        let seen = check(&inbox.parsed());
        if seen.contains_key(&2099) {
            break;
        }
        assert!(t.elapsed() < WAIT, "{} arrived", seen.len());
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&child, "-INT");
    let (status, err) = wait_exit(child);
    drop(g);
    assert_eq!(
        status.code(),
        Some(1),
        "gaps are visible in the exit status"
    );
    assert!(
        err.contains("segments 4 to 5 of \"shop\" were removed"),
        "{err}"
    );
    let seen = check(&inbox.parsed());
    assert!(seen.values().all(|&c| c == 1));
    let missing: Vec<u64> = (0..2100).filter(|i| !seen.contains_key(i)).collect();
    // One contiguous run of records: the two removed segments.
    assert!(!missing.is_empty());
    assert_eq!(
        missing.len() as u64,
        missing.last().unwrap() - missing[0] + 1,
        "{missing:?}"
    );
    drop(sink);
}

#[test]
fn a_directory_that_started_again_is_shipped_from_its_start() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let sink = TcpSink::start();
    let url = format!("tcp://127.0.0.1:{}", sink.port);
    let g = logger(dir.path(), false);
    log_range(0, 1000);
    drop(g);
    ship_once(dir.path(), &url, &[]);
    sink.inbox.wait_for(1000, WAIT);
    // Every segment removed; the writer starts again at sequence 1.
    for n in segment_names(dir.path()) {
        std::fs::remove_file(dir.path().join(n)).unwrap();
    }
    let g = logger(dir.path(), false);
    log_range(1000, 1100);
    drop(g);
    assert_eq!(segment_names(dir.path()), ["shop-0000000001.tlog"]);
    let out = ship_once(dir.path(), &url, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("started again"));
    sink.inbox.wait_for(1100, WAIT);
    std::thread::sleep(Duration::from_millis(200));
    assert_each_once(&check(&sink.inbox.parsed()), 1100);
}

/// A receiver that reads a little of each connection, then closes it with data unread (the
/// kernel answers with a reset). Returns the whole messages it read.
fn start_reset_sink(read_per_conn: usize) -> (u16, Inbox) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let inbox = Inbox::default();
    let ib = inbox.clone();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { return };
            ib.connections
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut got = vec![0u8; read_per_conn];
            let mut n = 0;
            while n < got.len() {
                match std::io::Read::read(&mut c, &mut got[n..]) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => n += k,
                }
            }
            let mut rest = &got[..n];
            while let Some(sp) = rest.iter().position(|&b| b == b' ') {
                let len: usize = std::str::from_utf8(&rest[..sp]).unwrap().parse().unwrap();
                if rest.len() < sp + 1 + len {
                    break;
                }
                ib.msgs
                    .lock()
                    .unwrap()
                    .push(rest[sp + 1..sp + 1 + len].to_vec());
                rest = &rest[sp + 1 + len..];
            }
            // Let more arrive, so the close finds data unread and resets the connection.
            std::thread::sleep(Duration::from_millis(50));
            drop(c);
        }
    });
    (port, inbox)
}

/// The count in the summary's "; N of them may not have arrived".
fn unconfirmed_in(err: &str) -> u64 {
    let (before, _) = err
        .split_once(" of them may not have arrived")
        .unwrap_or_else(|| panic!("no unconfirmed count in: {err}"));
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_receiver_that_reads_a_little_and_resets_is_reported_with_what_it_may_have_missed() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let (port, inbox) = start_reset_sink(4096);
    let url = format!("tcp://127.0.0.1:{port}");
    let g = logger(dir.path(), false);
    log_range(0, 6000);
    drop(g);
    let out = ship_once(dir.path(), &url, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    let received = check(&inbox.parsed());
    assert!(
        received.len() < 3000,
        "the receiver read most: {}",
        received.len()
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "possible loss is visible: {err}"
    );
    assert!(err.contains("6000 messages sent"), "{err}");
    assert!(err.contains("the receiver may not have got the"), "{err}");
    // Every message the receiver did not read is among those reported, and the report counts
    // only messages that were sent.
    let unconfirmed = unconfirmed_in(&err);
    let missed = 6000 - received.len() as u64;
    assert!(
        unconfirmed >= missed && unconfirmed <= 6000,
        "{unconfirmed} reported, {missed} missed"
    );
    println!(
        "reset receiver: {} of 6000 read over {} connections; {unconfirmed} reported as possibly \
         lost; exit 1",
        received.len(),
        inbox.connections.load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[test]
fn a_host_that_does_not_resolve_is_named_and_shipping_gives_up_within_the_retry_period() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path(), false);
    log_range(0, 300);
    drop(g);
    let url = "tcp://collector.invalid:514";
    let bound = Duration::from_secs(2);
    let t = Instant::now();
    let out = ship_once(dir.path(), url, &["--retry-for", "2s"]);
    let took = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        took >= bound && took < bound + Duration::from_secs(3),
        "exited after {took:?}"
    );
    assert!(
        err.contains("cannot resolve host collector.invalid"),
        "{err}"
    );
    assert!(
        err.contains("giving up: tcp://collector.invalid:514 kept failing for"),
        "{err}"
    );
    assert!(
        err.contains("300 records and notices were not sent"),
        "{err}"
    );
    println!("unresolvable host: gave up after {took:?} (--retry-for 2s), exit 3");

    // Following gives up the same way, on its own.
    let t = Instant::now();
    let child = ship_cmd(dir.path(), url, &["--follow", "--retry-for", "1s"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, err) = wait_exit(child);
    assert_eq!(status.code(), Some(3), "{err}");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());

    // Nothing was sent, so nothing was skipped: a run to a receiver that is there sends all.
    let sink = TcpSink::start();
    let out = ship_once(dir.path(), &format!("tcp://127.0.0.1:{}", sink.port), &[]);
    assert_eq!(out.status.code(), Some(0));
    sink.inbox.wait_for(300, WAIT);
    assert_each_once(&check(&sink.inbox.parsed()), 300);
}
