//! Recovery of segments a dead writer left unsealed (a crash, `kill -9`, power loss): each is
//! cut to its last frame that verifies, given an END frame, marked sealed and recovered
//! (header flag bit 1, `docs/FORMAT.md`), and cut to length, so that retention counts and
//! removes it like any sealed segment.
//!
//! "Dead" is decided by the advisory lock (`flock`, exclusive) every writer holds on its live
//! segment until it seals or closes it (`storage::file`), never by the pid in the header: pids
//! are reused and namespaced, and cutting a file a live writer still maps would kill that
//! writer with SIGBUS. A segment whose lock is taken is left alone.
use crate::wire::{
    self, EndBody, FLAG_RECOVERED, FLAG_SEALED, FLAGS_OFFSET, FRAME_HEADER_LEN, Form, FrameHeader,
    HEADER_LEN, Kind, RecordsHead, SegmentHeader, SegmentName,
};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A segment recovered by [`recover_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovered {
    /// The file.
    pub path: PathBuf,
    /// Its length before (the writer's reservation) and after the cut.
    pub bytes_before: u64,
    /// See `bytes_before`.
    pub bytes_after: u64,
    /// Records in the frames kept.
    pub records: u64,
}

/// Takes `file`'s advisory lock without waiting. False if another open file holds it.
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock(2) on a descriptor valid for the life of `file`; it touches no memory.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Recovers every unsealed raw segment in `dir` (of the writer `name`, or of every name) whose
/// writer is gone. Returns what it recovered; files it cannot read or that are not segments
/// are skipped.
pub fn recover_dir(dir: &Path, name: Option<&str>) -> io::Result<Vec<Recovered>> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    for e in std::fs::read_dir(dir)?.flatten() {
        let file = e.file_name();
        let Some(file) = file.to_str() else { continue };
        let raw = match name {
            Some(n) => SegmentName::of(n, file).is_some_and(|s| s.form == Form::Raw),
            None => file.ends_with(Form::Raw.suffix()),
        };
        if raw {
            paths.push(e.path());
        }
    }
    paths.sort();
    for p in paths {
        if let Ok(Some(r)) = recover_file(&p) {
            out.push(r);
        }
    }
    Ok(out)
}

/// Recovers one segment if it is unsealed and unlocked. `Ok(None)`: nothing to do (sealed,
/// a live writer holds it, or not a segment).
pub fn recover_file(path: &Path) -> io::Result<Option<Recovered>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() || !try_lock(&file)? {
        return Ok(None);
    }
    // Read only after taking the lock: a writer that sealed in between is seen as sealed.
    let data = std::fs::read(path)?;
    let Ok(parsed) = SegmentHeader::parse(&data) else {
        return Ok(None);
    };
    if parsed.header.is_sealed() {
        return Ok(None);
    }
    let (cut, records) = last_valid_frame_end(&data);
    let end = EndBody {
        next_seq: parsed.header.seq.saturating_add(1),
        records,
    };
    let mut frame = Vec::new();
    wire::push_frame(&mut frame, Kind::End, bytemuck::bytes_of(&end));
    let used = cut + frame.len();
    file.write_all_at(&frame, cut as u64)?;
    // Flags and committed length: sealed, recovered, committed up to END.
    file.write_all_at(&(used as u64).to_le_bytes(), wire::COMMITTED_OFFSET as u64)?;
    let flags = parsed.header.flags | FLAG_SEALED | FLAG_RECOVERED;
    file.write_all_at(&flags.to_le_bytes(), FLAGS_OFFSET as u64)?;
    file.set_len(used as u64)?;
    file.sync_all()?;
    Ok(Some(Recovered {
        path: path.to_owned(),
        bytes_before: data.len() as u64,
        bytes_after: used as u64,
        records,
    }))
}

/// The end of the last frame that verifies, walking from the header, and the records in the
/// RECORDS frames before it. An END frame found on the way ends the walk before it (the new END
/// replaces it).
fn last_valid_frame_end(data: &[u8]) -> (usize, u64) {
    let mut off = HEADER_LEN;
    let mut records = 0u64;
    while off + FRAME_HEADER_LEN <= data.len() {
        let head: FrameHeader = bytemuck::pod_read_unaligned(&data[off..off + FRAME_HEADER_LEN]);
        if head.len == 0 && head.kind == 0 && head.crc == 0 {
            break;
        }
        let len = head.len as usize;
        let Some(size) = FRAME_HEADER_LEN.checked_add(len).map(wire::align_up) else {
            break;
        };
        if off + size > data.len() {
            break;
        }
        let payload = &data[off + FRAME_HEADER_LEN..off + FRAME_HEADER_LEN + len];
        if wire::frame_crc(&data[off..off + 8], payload) != head.crc {
            break;
        }
        if head.kind == Kind::End as u16 {
            break;
        }
        if head.kind == Kind::Records as u16 && len >= size_of::<RecordsHead>() {
            let rh: RecordsHead =
                bytemuck::pod_read_unaligned(&payload[..size_of::<RecordsHead>()]);
            records += rh.count as u64;
        }
        off += size;
    }
    (off, records)
}
