//! `decode`, `verify` and `stats` pointed at directories they did not write: files that are not
//! regular files, empty inputs, damage; one exit-code rule for the three (README, "Exit codes").
mod common;
use common::*;
use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const PER_THREAD: u64 = 200;
const TOTAL: usize = 8 * PER_THREAD as usize + 2;

/// A directory of good segments written by the engine.
fn good() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        eight_threads(dir.path(), PER_THREAD, false);
        dir
    })
}

/// A copy of the good segments in a new directory.
fn copy_of_good() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(good().path()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    dir
}

/// Runs `tachylog ARGS PATH` with a time limit a hang would break; prints the time.
fn run_timed(args: &[&str], path: &Path) -> Output {
    let t = Instant::now();
    let out = bin()
        .args(args)
        .arg(path)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    println!(
        "tachylog {} took {:.2} s, exit {:?}",
        args.join(" "),
        t.elapsed().as_secs_f64(),
        out.status.code()
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn fifos_and_devices_named_like_segments_are_refused_and_the_good_segments_are_read() {
    let dir = copy_of_good();
    let d = dir.path();
    let fifo = d.join("app-0000000000.tlog");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let zero = d.join("zero-0000000001.tlog");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let zero_lz4 = d.join("zero-0000000002.tlog.lz4");
    std::os::unix::fs::symlink("/dev/zero", &zero_lz4).unwrap();
    let refused = |o: &Output| {
        let e = stderr(o);
        assert!(
            e.contains(&format!(
                "{}: not a tachylog segment (a FIFO",
                fifo.display()
            )),
            "{e}"
        );
        for z in [&zero, &zero_lz4] {
            assert!(
                e.contains(&format!(
                    "{}: not a tachylog segment (a character device",
                    z.display()
                )),
                "{e}"
            );
        }
        // A file that cannot be used at all.
        assert_eq!(o.status.code(), Some(2), "{e}");
    };

    let o = run_timed(&["decode"], d);
    refused(&o);
    assert_eq!(json_lines(&stdout(&o)).len(), TOTAL);

    let o = run_timed(&["verify"], d);
    refused(&o);
    let report = stdout(&o);
    assert!(
        report.contains(&format!("{}: UNUSABLE", fifo.display())),
        "{report}"
    );
    let segments = std::fs::read_dir(good().path()).unwrap().count();
    assert!(
        report.contains(&format!(
            "{} segments: {segments} clean, 0 damaged, 3 unusable",
            segments + 3
        )),
        "{report}"
    );

    let o = run_timed(&["stats", "--json"], d);
    refused(&o);
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(s["records"], TOTAL as u64);

    // Named on its own, the FIFO is refused just the same.
    let o = run_timed(&["decode"], &fifo);
    refused_alone(&o, &fifo, "a FIFO");
    let o = run_timed(&["verify"], &zero);
    refused_alone(&o, &zero, "a character device");
}

fn refused_alone(o: &Output, path: &Path, what: &str) {
    let e = stderr(o);
    assert!(
        e.contains(&format!(
            "{}: not a tachylog segment ({what}",
            path.display()
        )),
        "{e}"
    );
    assert_eq!(o.status.code(), Some(2), "{e}");
}
