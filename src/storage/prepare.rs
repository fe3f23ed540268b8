//! Segments prepared ahead of use, and sealed ones let go of, off the drain thread.
//!
//! Opening a segment costs what the drain thread cannot afford between two records: create the
//! file, reserve its blocks (`posix_fallocate`), map it, then take a page fault on the first
//! write to each of its pages. Letting go of a sealed one costs an unmap of every page and a
//! truncation. A worker thread (`tachylog-prep`) does both:
//!
//! - It creates the next segment file as `<name>-<seq>.tlog.prep` (`Form::Prepared`, a name
//!   that readers, retention and the compressor ignore), reserves and maps it, and faults every
//!   page in (`MappedFile::prefault`). At rotation the drain writes the header into the mapping
//!   and renames the file to the next free raw name, never replacing a file
//!   ([`Prepared::install`]): the file appears under its raw name complete, and rotation costs
//!   the drain one `rename`.
//! - It cuts each segment the drain has sealed (unmap, truncate to the used length), then hands
//!   it to the compressor.
//! - It faults in the pages of a segment the drain had to create itself (the first one, made
//!   at start so that `init` reports an unwritable directory, or one made after a preparation
//!   failed), ahead of the drain's writes. Every segment the drain lets go of goes through the
//!   worker after that job, so the mapping outlives it.
//!
//! Order, for live readers (`docs/FORMAT.md`, "Reading a live segment"): the drain seals segment
//! N (END frame, publish, sealed flag) before it renames the next one into place, so a reader
//! never sees a later segment while N can still grow. The cut comes later; a reader maps a file
//! only once it is sealed and cut.
//!
//! A prepared file holds no frames (the drain writes only after the rename), so one left behind
//! by a process that died is worth nothing: the next start removes those of its name.
//!
//! Under loom (`sync::MODEL`) there is no worker: the drain creates and cuts segments itself.
use super::SegmentFile;
use super::segment::{Segment, SegmentDir};
use crate::clock::Anchor;
use crate::sync::{MODEL, mpsc, thread};
use crate::wire::{Form, SegmentName};
use std::io;
use std::path::{Path, PathBuf};

/// A segment file created, reserved, mapped and faulted in under its prepared name.
pub(crate) struct Prepared {
    file: SegmentFile,
    path: PathBuf,
}

enum Job {
    /// Prepare a file for segment `seq` (or the next free number after it).
    Prepare {
        dir: PathBuf,
        name: String,
        seq: u64,
        size: usize,
    },
    /// Fault in the pages of a live segment's mapping (`MADV_POPULATE_WRITE` only: the drain
    /// writes these pages meanwhile, so no fallback writes to them). Runs before the segment is
    /// released, because jobs run in order and the drain releases segments through the worker.
    Populate { addr: usize, len: usize },
    /// Cut a sealed segment, then send its path to the compressor, if any.
    Retire {
        seg: Segment,
        path: PathBuf,
        sink: Option<mpsc::Sender<PathBuf>>,
    },
    /// Let go of a segment without sealing or cutting it (a drain panic left it behind).
    Release(Segment),
}

struct Worker {
    jobs: mpsc::Sender<Job>,
    ready: mpsc::Receiver<io::Result<Prepared>>,
    thread: thread::JoinHandle<()>,
}

/// The drain's side of the worker: asks for the next segment, takes it at rotation, hands
/// sealed segments over. Without a worker (loom, or a thread that could not start) it does the
/// same work inline: `take` has nothing, and `retire` cuts at once.
pub(crate) struct Preparer {
    worker: Option<Worker>,
    /// A preparation was asked for and its result not taken yet.
    pending: bool,
    /// Where cut segments go to be compressed (`Builder::compress`).
    sink: Option<mpsc::Sender<PathBuf>>,
}

impl Preparer {
    /// Removes prepared files that an earlier process of this name left behind, and starts
    /// the worker (none under loom).
    pub(crate) fn start(dir: &SegmentDir) -> Preparer {
        let mut p = Preparer {
            worker: None,
            pending: false,
            sink: None,
        };
        if MODEL {
            return p;
        }
        remove_leftovers(&dir.dir, &dir.name);
        let (jobs, rx) = mpsc::channel::<Job>();
        let (tx, ready) = mpsc::channel();
        let spawned = thread::Builder::new()
            .name("tachylog-prep".into())
            .spawn(move || work(rx, tx));
        if let Ok(thread) = spawned {
            p.worker = Some(Worker {
                jobs,
                ready,
                thread,
            });
        }
        p
    }

    /// Sends every segment cut from now on to `tx` (the compressor thread).
    pub(crate) fn set_sink(&mut self, tx: mpsc::Sender<PathBuf>) {
        self.sink = Some(tx);
    }

    /// Whether a prepared file exists or is being made: it holds a segment's reservation.
    pub(crate) fn reserved(&self) -> bool {
        self.pending
    }

    /// Asks the worker to prepare the file of the segment after the live one (`dir`'s next
    /// number), unless one is already asked for.
    pub(crate) fn request(&mut self, dir: &SegmentDir) {
        let Some(w) = &self.worker else { return };
        if self.pending {
            return;
        }
        let job = Job::Prepare {
            dir: dir.dir.clone(),
            name: dir.name.clone(),
            seq: dir.next_seq,
            size: dir.size,
        };
        self.pending = w.jobs.send(job).is_ok();
    }

    /// The prepared file asked for, waiting for the worker if it is not done yet; `None` if
    /// none was asked for or its preparation failed (the caller then creates a segment itself).
    pub(crate) fn take(&mut self) -> Option<Prepared> {
        if !std::mem::take(&mut self.pending) {
            return None;
        }
        match self.worker.as_ref()?.ready.recv() {
            Ok(Ok(p)) => Some(p),
            Ok(Err(_)) => None,
            // The worker is gone (it panicked): work inline from now on.
            Err(_) => {
                self.worker = None;
                None
            }
        }
    }

    /// Faults in, on the worker, the pages of `seg`, a segment the drain created itself.
    pub(crate) fn populate(&mut self, seg: &mut Segment) {
        let Some(w) = &self.worker else { return };
        let bytes = seg.bytes_mut();
        let job = Job::Populate {
            addr: bytes.as_mut_ptr() as usize,
            len: bytes.len(),
        };
        let _ = w.jobs.send(job);
    }

    /// Lets go of `seg`, which the drain has sealed: cuts it and sends `path` to the
    /// compressor, on the worker if there is one.
    pub(crate) fn retire(&mut self, seg: Segment, path: PathBuf) {
        let sink = self.sink.clone();
        self.send(Job::Retire { seg, path, sink });
    }

    /// Lets go of `seg` as it is, unsealed (after a drain panic), on the worker if there is one.
    pub(crate) fn release(&mut self, seg: Segment) {
        self.send(Job::Release(seg));
    }

    /// Hands `job` (not a preparation) to the worker, or runs it here without one.
    fn send(&mut self, job: Job) {
        let job = match &self.worker {
            Some(w) => match w.jobs.send(job) {
                Ok(()) => return,
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        run(job);
    }
}

impl Drop for Preparer {
    /// Waits for the worker to finish what it was given (the last segments' cuts), then
    /// removes a prepared file that was not used.
    fn drop(&mut self) {
        let Some(w) = self.worker.take() else { return };
        drop(w.jobs);
        let _ = w.thread.join();
        for p in w.ready.try_iter().flatten() {
            p.discard();
        }
    }
}

impl Prepared {
    /// Puts this file in place as the next segment of `dir`: writes the header of the next
    /// free sequence number into it, then renames it to that number's raw name without
    /// replacing anything (a number someone else took is skipped, as `SegmentDir::create` does).
    /// On failure (the directory vanished, say) the file is removed and `None` returned: the
    /// caller creates a segment itself.
    pub(crate) fn install(
        mut self,
        dir: &mut SegmentDir,
        anchor: &Anchor,
        tps: f64,
    ) -> Option<Segment> {
        loop {
            let seq = dir.next_seq;
            Segment::write_header(&mut self.file, seq, anchor, tps);
            match rename_noreplace(&self.path, &dir.path(seq)) {
                Ok(()) => {
                    dir.next_seq = seq + 1;
                    return Some(Segment::new(self.file, seq));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => dir.next_seq = seq + 1,
                Err(_) => {
                    self.discard();
                    return None;
                }
            }
        }
    }

    /// Unmaps the file and removes it.
    fn discard(self) {
        let Prepared { file, path } = self;
        drop(file);
        let _ = std::fs::remove_file(path);
    }
}

/// The worker thread: runs jobs until the drain's side is gone. Of the jobs waiting, faulting
/// in the live segment goes first (the drain is writing it), then a preparation (the drain may
/// soon wait for it), then the others in their order.
fn work(jobs: mpsc::Receiver<Job>, ready: mpsc::Sender<io::Result<Prepared>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch: Vec<Job> = std::iter::once(first).chain(jobs.try_iter()).collect();
        // A stable sort: a segment's `Populate` still comes before its release.
        batch.sort_by_key(|j| match j {
            Job::Populate { .. } => 0,
            Job::Prepare { .. } => 1,
            _ => 2,
        });
        for job in batch {
            match job {
                Job::Prepare {
                    dir,
                    name,
                    seq,
                    size,
                } => {
                    if let Err(mpsc::SendError(Ok(p))) = ready.send(prepare(&dir, &name, seq, size))
                    {
                        p.discard();
                    }
                }
                other => run(other),
            }
        }
    }
}

/// Runs a job that is not a preparation (those only run on the worker, in `work`).
fn run(job: Job) {
    match job {
        Job::Retire { seg, path, sink } => {
            if seg.cut().is_ok()
                && let Some(tx) = sink
            {
                let _ = tx.send(path);
            }
        }
        Job::Populate { addr, len } => {
            #[cfg(target_os = "linux")]
            // SAFETY: `addr..addr + len` is the whole mapping of a segment the drain still holds:
            // the drain lets go of segments only through this worker (`retire`, `release`, or the
            // `Preparer` being dropped, which waits for the worker first), and jobs run in order.
            // MADV_POPULATE_WRITE faults the pages in without reading or changing their bytes,
            // so the drain's writes to them meanwhile are not disturbed.
            unsafe {
                libc::madvise(addr as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE);
            }
            #[cfg(not(target_os = "linux"))]
            let _ = (addr, len);
        }
        Job::Release(seg) => seg.abandon(),
        Job::Prepare { .. } => {}
    }
}

/// Creates, reserves, maps and faults in `<name>-<seq>.tlog.prep` in `dir` (or the next free
/// number after `seq`, where a file of that name exists).
fn prepare(dir: &Path, name: &str, mut seq: u64, size: usize) -> io::Result<Prepared> {
    loop {
        let path = dir.join(
            SegmentName {
                prefix: name,
                seq,
                form: Form::Prepared,
            }
            .file_name(),
        );
        match SegmentFile::create(&path, size) {
            Ok(mut file) => {
                file.prefault();
                return Ok(Prepared { file, path });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => seq += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Renames `from` to `to` unless `to` exists (any file, a symbolic link included): then
/// `AlreadyExists`, and nothing changes.
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
        };
        let (f, t) = (c(from)?, c(to)?);
        // SAFETY: both are valid NUL-terminated paths that outlive the call; renameat2 reads
        // nothing else.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        // A file system without RENAME_NOREPLACE: a hard link also refuses an existing name.
        if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
            return Err(e);
        }
    }
    std::fs::hard_link(from, to)?;
    let _ = std::fs::remove_file(from);
    Ok(())
}

/// Removes the prepared files of `name` in `dir`: what a process that stopped without
/// shutting down left (they hold no frames).
fn remove_leftovers(dir: &Path, name: &str) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let file = e.file_name();
        let is_prepared = file
            .to_str()
            .and_then(|f| SegmentName::of(name, f))
            .is_some_and(|n| n.form == Form::Prepared);
        if is_prepared {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renaming_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        std::fs::write(&a, b"a").unwrap();
        std::fs::write(&b, b"b").unwrap();
        let e = rename_noreplace(&a, &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&b).unwrap(), b"b");
        rename_noreplace(&a, &c).unwrap();
        assert!(!a.exists());
        assert_eq!(std::fs::read(&c).unwrap(), b"a");
    }
}
