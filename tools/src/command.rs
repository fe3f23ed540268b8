//! What every subcommand shares: its exit status, how it reports an input it cannot use,
//! opening its inputs, and stopping at Ctrl-C.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tachylog::reader::{ReadError, Reader};

/// The worst thing that happened, as an exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Everything was read (and sent) cleanly.
    Clean = 0,
    /// Damaged data was found and skipped; the rest was read.
    Damaged = 1,
    /// An input could not be used at all, or the command line is wrong.
    Unusable = 2,
    /// `ship` gave up on a receiver that kept failing: records were left unsent (a later run
    /// sends them).
    GaveUp = 3,
}

impl Status {
    /// The status of a run that found damage (`damaged`) or an input it could not use
    /// (`unusable`), the worse of the two.
    pub fn of(damaged: bool, unusable: bool) -> Status {
        if unusable {
            Status::Unusable
        } else if damaged {
            Status::Damaged
        } else {
            Status::Clean
        }
    }
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(s as u8)
    }
}

/// Reports a read error on stderr.
pub(crate) fn report(e: &ReadError) {
    eprintln!("tachylog: {e}");
}

/// Reports a segment that ends in a torn frame: damage, as `verify` counts it.
pub(crate) fn report_torn(path: &std::path::Path) {
    eprintln!(
        "tachylog: {}: the last frame is incomplete or fails its checksum (a writer stopped in \
         the middle of it); it is not decoded",
        path.display()
    );
}

/// Reports inputs that hold no segment at all (an empty directory, only empty segments).
pub(crate) fn report_nothing(paths: &[PathBuf]) {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    eprintln!(
        "tachylog: no tachylog segment to read in {} (no segment file, or only empty ones)",
        names.join(", ")
    );
}

/// Opens each path on its own, so one missing path does not stop the others.
pub(crate) fn open_all(paths: &[PathBuf], status: &mut Status) -> Vec<Reader> {
    let mut readers = Vec::new();
    for p in paths {
        match Reader::open([p]) {
            Ok(r) => readers.push(r),
            Err(e) => {
                report(&e);
                *status = Status::Unusable;
            }
        }
    }
    readers
}

/// A flag that Ctrl-C (SIGINT) sets.
pub(crate) fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)) {
        eprintln!("tachylog: cannot handle Ctrl-C: {e}");
    }
    stop
}
