//! `tachylog decode --follow`: records as they are committed, across rotation; a clean exit on
//! Ctrl-C and on a closed pipe.
mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn follow(dir: &std::path::Path) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("tachylog"))
        .args(["decode", "--follow", "--interval", "10"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(t.elapsed() < within, "did not exit within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn logger(dir: &std::path::Path) -> tachylog::Guard {
    tachylog::Builder::new()
        .dir(dir)
        .name("live")
        .segment_size(16 << 10)
        .ring_capacity(4 << 10)
        .overflow(tachylog::Overflow::Block)
        .init()
        .unwrap()
}

#[test]
fn follow_streams_records_across_rotation_and_stops_on_ctrl_c() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path());
    tachylog::info!("before {}", 0u32);
    tachylog::flush();
    let mut child = follow(dir.path());
    let rx = lines_of(&mut child);
    let first = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(first.contains("\"msg\":\"before 0\""), "{first}");
    // Enough records to fill several 16 KiB segments, in bursts the follower sees one by one.
    let n = 3000u32;
    for i in 0..n {
        tachylog::info!(target: "live", "record {} of the run", i);
        if i % 500 == 499 {
            tachylog::flush();
        }
    }
    tachylog::flush();
    let segments = tachylog::reader::segment_files(dir.path()).unwrap().len();
    assert!(segments >= 3, "{segments} segments: no rotation to follow");
    for i in 0..n {
        let l = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("record {i}: {e}"));
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["msg"], format!("record {i} of the run"));
    }
    // Ctrl-C: a clean exit with everything written.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let s = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(s.code(), Some(0), "{s:?}");
    assert!(
        rx.recv_timeout(Duration::from_secs(1)).is_err(),
        "nothing after the records"
    );
    drop(g);
}

#[test]
fn follow_exits_cleanly_when_its_reader_goes_away() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let g = logger(dir.path());
    tachylog::info!("one {}", 1u32);
    tachylog::flush();
    let mut child = follow(dir.path());
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("one 1"), "{first}");
    drop(out); // the pipe's reader is gone (`| head -1`)
    for i in 0..100u32 {
        tachylog::info!("more {}", i);
        tachylog::flush();
        std::thread::sleep(Duration::from_millis(5));
    }
    let s = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(s.code(), Some(0), "{s:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.is_empty(), "{err}");
    drop(g);
}
