//! `tachylog ship --journald` into a real `systemd-journald`, read back with
//! `journalctl -o json`: every record once, with its fields, an entry too large for a datagram
//! (passed in a memfd), a value holding a newline (the protocol's binary form).
//!
//! journald runs without systemd as PID 1, in a private mount namespace (`unshare -m`) with a
//! tmpfs on `/run`, so it touches nothing of the machine's; its configuration
//! (`/run/systemd/journald.conf.d/`) turns its rate limit off, keeps the journal in memory and
//! reads no kernel messages. The shipper reaches its socket, and journalctl its files, through
//! `/proc/<journald's pid>/root`. journald comes from the `systemd` Debian package (`.ci/run`
//! installs it with apt-get when run as root). Where it cannot run, the test says so on stdout
//! (`SKIPPED ...`) and passes without running.
mod common;
use common::serial;
use common::shop::{self, assert_each_once};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const WAIT: Duration = Duration::from_secs(60);

/// journald's configuration for the test: no rate limit (journald would drop entries past it
/// without telling the sender; it limits each systemd unit, so here, without systemd as PID 1,
/// the shipper has no unit and no limit, but a machine's journald would), the journal in
/// memory, no kernel messages, no forwarding.
const CONF: &str = "[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nRateLimitBurst=0\n\
                    ReadKMsg=no\nForwardToSyslog=no\nForwardToWall=no\nForwardToConsole=no\n";

struct Journald {
    child: Child,
    root: PathBuf,
}

impl Drop for Journald {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Journald {
    fn socket(&self) -> PathBuf {
        self.root.join("run/systemd/journal/socket")
    }

    /// The entries of `SYSLOG_IDENTIFIER=shop`, as `journalctl -o json --all` gives them (without
    /// `--all`, values over 4 KiB are `null`).
    fn entries(&self) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let out = Command::new("journalctl")
            .arg("-D")
            .arg(self.root.join("run/log/journal"))
            .args([
                "-o",
                "json",
                "--all",
                "--no-pager",
                "SYSLOG_IDENTIFIER=shop",
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    fn wait_for(&self, n: usize) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let t = Instant::now();
        loop {
            let e = self.entries();
            if e.len() >= n {
                return e;
            }
            assert!(
                t.elapsed() < WAIT,
                "{} of {n} entries in the journal",
                e.len()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn journald_binary() -> Option<PathBuf> {
    [
        "/lib/systemd/systemd-journald",
        "/usr/lib/systemd/systemd-journald",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// Starts journald in its own mount namespace with configuration `conf`; `Err` says why it
/// cannot run here.
fn start_journald(conf: &str) -> Result<Journald, String> {
    let bin = journald_binary().ok_or(
        "systemd-journald is not installed (.ci/run installs the systemd package with apt-get \
         when run as root)",
    )?;
    for tool in ["unshare", "journalctl"] {
        if !Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return Err(format!("{tool} is not installed"));
        }
    }
    let script = format!(
        "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journald.conf.d && \
         printf '{}' > /run/systemd/journald.conf.d/test.conf && exec {}",
        conf.replace('\n', "\\n"),
        bin.display()
    );
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("unshare: {e}"))?;
    let root = PathBuf::from(format!("/proc/{}/root", child.id()));
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return Err(format!(
                "journald could not start in a private mount namespace ({status}: {}); it \
                 needs root (CAP_SYS_ADMIN)",
                err.trim()
            ));
        }
        if root.join("run/systemd/journal/socket").exists() {
            return Ok(Journald { child, root });
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            return Err("journald did not create its socket within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A field's text: journalctl writes a value that is not printable UTF-8 (one holding a
/// newline, say) as an array of byte values.
fn text(e: &serde_json::Map<String, serde_json::Value>, k: &str) -> String {
    match e.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(bytes)) => {
            String::from_utf8(bytes.iter().map(|b| b.as_u64().unwrap() as u8).collect()).unwrap()
        }
        other => panic!("{k}: {other:?} in {e:?}"),
    }
}

fn ship(dir: &Path, j: &Journald, extra: &[&str]) -> std::process::Output {
    let out = Command::new(assert_cmd::cargo::cargo_bin("tachylog"))
        .arg("ship")
        .arg(dir)
        .arg(format!("--journald={}", j.socket().display()))
        .args(extra)
        .output()
        .unwrap();
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn journald_stores_every_record_once_with_its_fields() {
    let j = match start_journald(CONF) {
        Ok(j) => j,
        Err(why) => {
            println!("SKIPPED journald: {why}");
            return;
        }
    };
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = tachylog::Builder::new()
        .dir(dir.path())
        .name("shop")
        .segment_size(4 << 20)
        .ring_capacity(1 << 20)
        .overflow(tachylog::Overflow::Block)
        .level(tachylog::Level::Trace)
        .init()
        .unwrap();
    let t0 = SystemTime::now();
    shop::range(0, 1000);
    // Larger than a datagram may be (the socket's send buffer): it goes in a memfd.
    let big = "x".repeat(300 << 10);
    tachylog::info!(target: "shop::big", i = 1000u64, "{}", big.as_str());
    tachylog::flush();
    drop(g);
    // A datagram that large is refused: the entry can only have gone in a memfd.
    let refused = std::os::unix::net::UnixDatagram::unbound()
        .unwrap()
        .send_to(big.as_bytes(), j.socket())
        .unwrap_err();
    assert_eq!(refused.raw_os_error(), Some(libc::EMSGSIZE));
    let out = ship(dir.path(), &j, &[]);
    assert_eq!(out.status.code(), Some(0));
    let entries = j.wait_for(1001);
    let pid = std::process::id().to_string();
    let mut seen = BTreeMap::new();
    let mut ids = std::collections::BTreeSet::new();
    for e in &entries {
        let i: u64 = text(e, "I").parse().unwrap();
        *seen.entry(i).or_insert(0usize) += 1;
        assert!(ids.insert(text(e, "TACHYLOG_ID")), "ids are unique");
        assert_eq!(text(e, "SYSLOG_PID"), pid);
        assert!(text(e, "CODE_LINE").parse::<u32>().unwrap() > 0);
        assert!(text(e, "TID").parse::<u32>().unwrap() > 0);
        let time = text(e, "TACHYLOG_TIME");
        let at = humantime::parse_rfc3339(&time).unwrap();
        assert!(at >= t0 && at <= SystemTime::now(), "{time}");
        assert_eq!(time.len(), "2026-01-31T09:05:07.123456789Z".len(), "{time}");
        if i == 1000 {
            assert_eq!(text(e, "MESSAGE"), big, "the memfd entry arrived whole");
            assert_eq!(text(e, "CODE_FILE"), file!());
            continue;
        }
        assert_eq!(text(e, "CODE_FILE"), shop::FILE);
        let (level, target, body, user) = shop::expected(i);
        let prio = match level {
            tachylog::Level::Error => "3",
            tachylog::Level::Warn => "4",
            tachylog::Level::Info => "6",
            _ => "7",
        };
        assert_eq!(text(e, "MESSAGE"), body);
        assert_eq!(text(e, "PRIORITY"), prio);
        assert_eq!(text(e, "TACHYLOG_LEVEL"), level.as_str());
        assert_eq!(text(e, "TACHYLOG_TARGET"), target);
        assert_eq!(text(e, "USER"), user, "a newline goes in the binary form");
        assert_eq!(text(e, "RATIO"), format!("{:?}", i as f64 / 4.0));
        assert_eq!(text(e, "EVEN"), i.is_multiple_of(2).to_string());
        assert!(!text(e, "TACHYLOG_THREAD").is_empty());
    }
    assert_each_once(&seen, 1001);
    assert_eq!(entries.len(), 1001);

    // Throughput: 20,000 entries, one-shot.
    let many = tempfile::tempdir().unwrap();
    let g = shop::logger(many.path(), 4 << 20);
    shop::range(0, 20_000);
    drop(g);
    let t = Instant::now();
    let out = ship(many.path(), &j, &[]);
    let took = t.elapsed();
    assert_eq!(out.status.code(), Some(0));
    j.wait_for(21_001);
    println!(
        "journald: 1000 records and a 300 KiB entry (memfd) stored once each with their fields \
         (native protocol); 20000 shipped in {took:.2?}: {:.0} records/s (this build, a private \
         journald)",
        20_000.0 / took.as_secs_f64()
    );
}
