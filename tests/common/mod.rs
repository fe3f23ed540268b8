//! Helpers shared by the integration tests.
#![allow(dead_code)]
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use tachylog::reader::{DropNotice, Event, ReadError, Reader, Record, Tail};

/// The process-wide logger is one per process: tests that use it take this lock.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default, Debug)]
pub struct Decoded {
    pub records: Vec<Record>,
    pub drops: Vec<DropNotice>,
    pub errors: Vec<String>,
    pub tails: Vec<Tail>,
}

impl Decoded {
    pub fn messages(&self) -> Vec<String> {
        self.records.iter().map(|r| r.message()).collect()
    }
    pub fn dropped(&self) -> u64 {
        self.drops.iter().map(|d| d.count).sum()
    }
}

pub fn decode<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Decoded {
    let mut d = Decoded::default();
    for item in Reader::open(paths).expect("open") {
        match item {
            Ok(Event::Record(r)) => d.records.push(r),
            Ok(Event::Dropped(n)) => d.drops.push(n),
            Ok(Event::SegmentEnd { tail, .. }) => d.tails.push(tail),
            Ok(_) => {}
            Err(e @ ReadError::Corrupt { .. }) | Err(e) => d.errors.push(e.to_string()),
        }
    }
    d
}

pub fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    tachylog::reader::segment_files(dir).expect("list")
}

/// (target, message) of every record decoded from `dir`, in order.
pub fn logged(dir: &Path) -> Vec<(String, String)> {
    decode([dir])
        .records
        .iter()
        .map(|r| (r.callsite().target.to_string(), r.message()))
        .collect()
}

/// Owned copies of (target, message) pairs, to compare with [`logged`].
pub fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}
