//! A segment file mapped for writing: created exclusively with restrictive permissions, space
//! reserved with `posix_fallocate` before mapping (writing into a hole of a mapping on a full
//! disk would raise SIGBUS), cut to its used length when finished.
use crate::error::Error;
use crate::wire::SegmentName;
use memmap2::MmapMut;
use std::fs::{File, OpenOptions};
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
// The header's `committed` and `flags` are shared with reader *processes* through the mapping;
// they are not engine-internal state, and a model checker could not follow another process
// anyway (under loom, `testing::memory` stands in for this file).
use std::sync::atomic::{AtomicU32, AtomicU64}; // sync-lint: allow (shared with other processes)

/// A new segment file and its writable mapping.
pub(crate) struct MappedFile {
    file: File,
    map: MmapMut,
}

impl MappedFile {
    /// Creates `path` (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0640), reserves `size` bytes of real
    /// blocks and maps them. On failure nothing is left behind.
    pub(crate) fn create(path: &Path, size: usize) -> io::Result<MappedFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)?;
        // The advisory lock says "a writer is alive" to recovery (`storage::recover`), in this
        // process or another, until the file is sealed and closed (or the writer dies, and
        // the kernel drops the lock). Nobody else can hold it on a file just created with
        // O_EXCL; the file is removed below if this fails.
        let locked = super::recover::try_lock(&file).and_then(|ok| {
            if ok {
                Ok(())
            } else {
                Err(io::Error::from(io::ErrorKind::WouldBlock))
            }
        });
        let mapped = locked.and_then(|()| reserve(&file, size)).and_then(|()| {
            // SAFETY: the file was just created by us with O_EXCL and is `size` bytes long with
            // its blocks allocated; nothing else in this process maps it, and the engine never
            // truncates it while mapped. Another process truncating it would break any mapping,
            // which is why the decoder maps only segments already sealed and cut to length, and
            // reads any other with read(2).
            unsafe { MmapMut::map_mut(&file) }
        });
        match mapped {
            Ok(map) => Ok(MappedFile { file, map }),
            Err(e) => {
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// Creates `dir` if needed (mode 0750, [`super::create_dir`]) and returns one past the highest sequence number of a segment
    /// named `name` in it, in any form (`.tlog`, `.tlog.lz4`, `.tlog.lz4.tmp`): a compressed
    /// segment keeps its number taken.
    pub(crate) fn first_free_seq(dir: &Path, name: &str) -> Result<u64, Error> {
        super::create_dir(dir).map_err(|source| Error::Io {
            what: "cannot create log directory",
            path: dir.to_owned(),
            source,
        })?;
        let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
            what: "cannot read log directory",
            path: dir.to_owned(),
            source,
        })?;
        let mut next_seq = 1;
        for e in entries.flatten() {
            let file = e.file_name();
            if let Some(n) = file.to_str().and_then(|f| SegmentName::of(name, f)) {
                next_seq = next_seq.max(n.seq.saturating_add(1));
            }
        }
        Ok(next_seq)
    }

    /// Recovers the segments of `name` in `dir` that a dead writer left unsealed
    /// (`storage::recover`), before a writer starts there. Returns how many.
    pub(crate) fn recover_leftovers(dir: &Path, name: &str) -> u64 {
        super::recover::recover_dir(dir, Some(name)).map_or(0, |v| v.len() as u64)
    }

    /// The header's `u64` at `offset`, as an atomic shared with readers of the file.
    pub(crate) fn header_u64(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset.is_multiple_of(8) && offset + 8 <= crate::wire::HEADER_LEN);
        // SAFETY: the mapping is page-aligned and at least HEADER_LEN long, so `offset` (a
        // multiple of 8 inside the header) is a valid, aligned u64 location for as long as
        // `self.map` lives, which bounds the returned borrow. Within this process only the drain
        // (the owner of `&self`) touches these bytes, and only through this atomic view.
        unsafe { AtomicU64::from_ptr(self.map.as_ptr().add(offset) as *mut u64) }
    }

    /// The header's `u32` at `offset`, as an atomic shared with readers of the file.
    pub(crate) fn header_u32(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset.is_multiple_of(4) && offset + 4 <= crate::wire::HEADER_LEN);
        // SAFETY: as in `header_u64`, for a 4-aligned u32 inside the header.
        unsafe { AtomicU32::from_ptr(self.map.as_ptr().add(offset) as *mut u32) }
    }

    /// Unmaps the file and cuts it to `used` bytes.
    pub(crate) fn finish(self, used: u64) -> io::Result<()> {
        let MappedFile { file, map } = self;
        drop(map);
        file.set_len(used)
    }
}

impl Deref for MappedFile {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl DerefMut for MappedFile {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.map
    }
}

/// Reserves `size` bytes of real blocks for `file`.
fn reserve(file: &File, size: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    crate::testing::fault::reserve()?;
    // SAFETY: the descriptor is valid for the lifetime of `file`; posix_fallocate reads no memory.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, size as libc::off_t) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

impl MappedFile {
    /// Faults every page of a new file in for writing, ahead of its use, so that the drain's
    /// first write to a page does not trap (`MADV_POPULATE_WRITE`; a write per page before
    /// Linux 5.14). Only for a file nothing was written to: its bytes are zeros and stay so.
    /// Best effort: a failure leaves the pages to fault in as they are written. (Writing zeros
    /// through the page cache first fills it with larger folios for less CPU, but dirties the
    /// pages for writeback before the drain writes them, and measured slower end to end.)
    pub(crate) fn prefault(&mut self) {
        #[cfg(target_os = "linux")]
        if self.map.advise(memmap2::Advice::PopulateWrite).is_ok() {
            return;
        }
        // `MAP_POPULATE` would map a shared file's pages read-only: the first write would still
        // trap. A write per page does not.
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|&p| p > 0)
            .unwrap_or(4096);
        for off in (0..self.map.len()).step_by(page) {
            self.map[off] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefaulting_keeps_a_new_file_all_zeros() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let size = (3 << 20) + 4096;
        let mut f = MappedFile::create(&path, size).unwrap();
        f.prefault();
        assert!(f.iter().all(|&b| b == 0));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), size as u64);
        f[5] = 9;
        f.finish(4096).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!((bytes.len(), bytes[5]), (4096, 9));
    }
}
