//! `tachylog ship --follow` into a real rsyslog on loopback: rsyslog parses each message as RFC
//! 5424 and writes it back out from the parsed properties, so what arrives in its file shows
//! that every record was understood, once, with its fields.
//!
//! rsyslog comes from the project's setup (`.ci/run` installs it with apt-get when run as
//! root). Where it is not installed the test says so on stdout and passes without running.
mod common;
mod syslog_sink;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

fn rsyslogd() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join("rsyslogd"))
        .find(|p| p.is_file())
}

/// The rsyslogd child; killed when dropped, so a failing test leaves nothing running.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_rsyslog(bin: &Path, dir: &Path, port: u16, out: &Path) -> Daemon {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let conf = dir.join("rsyslog.conf");
    // The output template rebuilds an RFC 5424 line from what rsyslog parsed.
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}")
module(load="imtcp")
template(name="parsed" type="string"
         string="<%pri%>%protocol-version% %timestamp:::date-rfc3339% %hostname% %app-name% %procid% %msgid% %structured-data% %msg%\n")
input(type="imtcp" address="127.0.0.1" port="{port}")
action(type="omfile" file="{out}" template="parsed")
"#,
            work = work.display(),
            out = out.display(),
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Daemon(child)
}

fn log_range(from: u64, to: u64) {
    for i in from..to {
        if i.is_multiple_of(3) {
            tachylog::warn!(target: "shop::stock", i = i, user = r#"b"o\b]"#, "stock low after {}", i);
        } else {
            tachylog::info!(target: "shop::orders", i = i, user = "ana", "order {} placed", i);
        }
    }
    tachylog::flush();
}

#[test]
fn rsyslog_receives_every_record_once_with_its_fields() {
    let Some(bin) = rsyslogd() else {
        println!(
            "SKIPPED rsyslog: rsyslogd is not installed (.ci/run installs it with apt-get when \
             run as root)"
        );
        return;
    };
    let _s = serial();
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    let out = tmp.path().join("received.log");
    let port = free_port();
    let mut daemon = start_rsyslog(&bin, tmp.path(), port, &out);
    let g = tachylog::Builder::new()
        .dir(&logs)
        .name("shop")
        .segment_size(16 << 10)
        .ring_capacity(8 << 10)
        .overflow(tachylog::Overflow::Block)
        .init()
        .unwrap();
    log_range(0, 1000);
    // The shipper may start before rsyslog listens: it retries until it does.
    let mut ship = Command::new(assert_cmd::cargo::cargo_bin("tachylog"))
        .arg("ship")
        .arg("--follow")
        .arg(&logs)
        .args(["--syslog", &format!("tcp://127.0.0.1:{port}")])
        .args(["--hostname", "testhost", "--interval", "10"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    log_range(1000, 2000);
    let n = 2000;
    let t = Instant::now();
    loop {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.lines().count() >= n {
            break;
        }
        if let Some(status) = daemon.0.try_wait().unwrap() {
            panic!("rsyslogd exited ({status}) before the records arrived");
        }
        assert!(
            t.elapsed() < WAIT,
            "{} of {n} records reached rsyslog within {WAIT:?}",
            text.lines().count()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-INT", &ship.id().to_string()])
        .status()
        .unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(s) = ship.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < WAIT, "ship did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(g);
    assert_eq!(status.code(), Some(0));
    // Anything sent twice would be there by now: the shipper waits for rsyslog to close.
    std::thread::sleep(Duration::from_millis(300));
    let lines = std::fs::read_to_string(&out).unwrap();

    let pid = std::process::id().to_string();
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    for line in lines.lines() {
        let m = syslog_sink::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let i: u64 = m.field("i").unwrap().parse().unwrap();
        *seen.entry(i).or_default() += 1;
        assert_eq!((m.hostname.as_str(), m.app.as_str()), ("testhost", "shop"));
        assert_eq!(m.procid, pid);
        if i.is_multiple_of(3) {
            assert_eq!(m.pri, 8 + 4, "{line}");
            assert_eq!(m.msgid, "shop::stock");
            assert_eq!(m.field("user"), Some(r#"b"o\b]"#), "{line}");
            assert_eq!(m.msg, format!("stock low after {i}"));
        } else {
            assert_eq!(m.pri, 8 + 6, "{line}");
            assert_eq!(m.msgid, "shop::orders");
            assert_eq!(m.field("user"), Some("ana"));
            assert_eq!(m.msg, format!("order {i} placed"));
        }
        assert_eq!(m.param("tachylog@32473", "file"), Some(file!()));
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(repeated.is_empty(), "received twice: {repeated:?}");
    assert_eq!(seen.len(), n, "records missing");
    println!("rsyslog: {n} records arrived once each with their fields (TCP, octet counting)");
}
