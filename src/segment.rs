//! Segment files: created exclusively with restrictive permissions, space reserved with
//! `posix_fallocate` before mapping (writing into a hole of a mapping on a full disk would raise
//! SIGBUS), written through the mapping, sealed by truncation to the used length.
use crate::clock::Anchor;
use crate::error::Error;
use crate::sync::{Break, Ordering, order};
use crate::wire::{
    self, COMMITTED_OFFSET, FLAG_SEALED, FLAGS_OFFSET, FRAME_HEADER_LEN, FrameHeader, HEADER_LEN,
    Kind, SegmentHeader, SegmentName, file_name,
};
#[cfg(not(loom))]
use memmap2::MmapMut;
#[cfg(not(loom))]
use std::fs::{File, OpenOptions};
use std::io;
#[cfg(not(loom))]
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
// The header's `committed` and `flags` are shared with reader *processes* through the mapping;
// they are not engine-internal state, and a model checker could not follow another process
// anyway. Under loom the mapping is replaced by an in-memory file with loom atomics.
#[cfg(loom)]
use crate::sync::{AtomicU32, AtomicU64};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU32, AtomicU64}; // sync-lint: allow (shared with other processes)

/// Where segments go and which sequence number comes next.
#[derive(Debug)]
pub(crate) struct SegmentDir {
    dir: PathBuf,
    name: String,
    size: usize,
    next_seq: u64,
}

impl SegmentDir {
    /// Under loom: an empty in-memory directory (segments live in the model's memory files).
    #[cfg(loom)]
    pub(crate) fn open(dir: &Path, name: &str, size: usize) -> Result<SegmentDir, Error> {
        Ok(SegmentDir {
            dir: dir.to_owned(),
            name: name.to_owned(),
            size,
            next_seq: 1,
        })
    }

    /// Creates the directory if needed, checks that it can be written, and finds the first free
    /// sequence number (one past the highest existing segment of this name).
    #[cfg(not(loom))]
    pub(crate) fn open(dir: &Path, name: &str, size: usize) -> Result<SegmentDir, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
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
            // Compressed segments (`.tlog.lz4`, and `.tlog.lz4.tmp` in progress) keep their
            // sequence numbers taken: every form counts.
            let file = e.file_name();
            if let Some(n) = file.to_str().and_then(|f| SegmentName::of(name, f)) {
                next_seq = next_seq.max(n.seq.saturating_add(1));
            }
        }
        Ok(SegmentDir {
            dir: dir.to_owned(),
            name: name.to_owned(),
            size,
            next_seq,
        })
    }

    /// Creates the next segment. On failure the sequence number is not reused for a different
    /// file only if the file was created; a failed creation leaves nothing behind.
    pub(crate) fn create(&mut self, anchor: &Anchor, ticks_per_sec: f64) -> Result<Segment, Error> {
        let mut recreated = false;
        loop {
            let seq = self.next_seq;
            let path = self.dir.join(file_name(&self.name, seq));
            match Segment::create(&path, seq, self.size, anchor, ticks_per_sec) {
                Ok(s) => {
                    self.next_seq = seq + 1;
                    return Ok(s);
                }
                // Someone else took this name (another process with the same name, or a file
                // planted there): skip it, never overwrite it or follow it.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => self.next_seq = seq + 1,
                // The directory vanished (removed by a clean-up job): make it again, once.
                Err(e) if e.kind() == io::ErrorKind::NotFound && !recreated => {
                    recreated = true;
                    let _ = std::fs::create_dir_all(&self.dir);
                }
                Err(source) => {
                    return Err(Error::Io {
                        what: "cannot create segment",
                        path,
                        source,
                    });
                }
            }
        }
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The path of segment `seq`.
    pub(crate) fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(file_name(&self.name, seq))
    }
}

/// A segment being written by the drain.
pub(crate) struct Segment {
    #[cfg(not(loom))]
    file: File,
    #[cfg(not(loom))]
    map: MmapMut,
    #[cfg(loom)]
    map: crate::__loom::MemMap,
    seq: u64,
    /// End of the last frame written (`committed` may lag behind it until `publish`).
    used: usize,
    /// Records written into this segment.
    pub records: u64,
}

impl Segment {
    fn create(
        path: &Path,
        seq: u64,
        size: usize,
        anchor: &Anchor,
        tps: f64,
    ) -> io::Result<Segment> {
        #[cfg(not(loom))]
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)?;
        // Under loom nothing in the closure can fail.
        #[cfg_attr(loom, allow(clippy::redundant_closure_call))]
        let result = (|| {
            #[cfg(not(loom))]
            reserve(&file, size)?;
            // SAFETY: the file was just created by us with O_EXCL and is `size` bytes long with its
            // blocks allocated; nothing else in this process maps it, and the engine never
            // truncates it while mapped. Another process truncating it would break any mapping,
            // which is why the decoder maps only segments already sealed and cut to length, and
            // reads any other with read(2).
            #[cfg(not(loom))]
            let mut map = unsafe { MmapMut::map_mut(&file)? };
            #[cfg(loom)]
            let mut map = crate::__loom::MemMap::create(path, size);
            let bytes = SegmentHeader::encode(&wire::NewHeader {
                seq,
                created_unix_ns: crate::clock::unix_ns(),
                anchor_ticks: anchor.ticks,
                anchor_unix_ns: anchor.unix_ns,
                ticks_per_sec: tps,
                segment_size: size as u64,
                pid: std::process::id(),
            });
            map[..HEADER_LEN].copy_from_slice(&bytes);
            Ok(Segment {
                #[cfg(not(loom))]
                file,
                map,
                seq,
                used: HEADER_LEN,
                records: 0,
            })
        })();
        #[cfg(not(loom))]
        if result.is_err() {
            let _ = std::fs::remove_file(path);
        }
        result
    }

    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// Bytes still free for frames.
    pub(crate) fn remaining(&self) -> usize {
        self.map.len() - self.used
    }

    /// Space a frame with `payload` bytes takes.
    pub(crate) const fn frame_size(payload: usize) -> usize {
        wire::align_up(FRAME_HEADER_LEN + payload)
    }

    /// Appends a frame whose payload is the concatenation of `parts`. The caller has checked
    /// that it fits (`frame_size(total) <= remaining()`); if not, nothing is written.
    pub(crate) fn append(&mut self, kind: Kind, parts: &[&[u8]]) -> bool {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let size = Self::frame_size(len);
        if size > self.remaining() || len > u32::MAX as usize {
            return false;
        }
        let start = self.used;
        let frame = &mut self.map[start..start + size];
        let mut off = FRAME_HEADER_LEN;
        for p in parts {
            frame[off..off + p.len()].copy_from_slice(p);
            off += p.len();
        }
        frame[off..].fill(0);
        let mut head = FrameHeader {
            len: len as u32,
            kind: kind as u16,
            flags: 0,
            crc: 0,
            _pad: 0,
        };
        let hb = bytemuck::bytes_of(&head);
        head.crc = wire::frame_crc(&hb[..8], &frame[FRAME_HEADER_LEN..FRAME_HEADER_LEN + len]);
        frame[..FRAME_HEADER_LEN].copy_from_slice(bytemuck::bytes_of(&head));
        self.used += size;
        true
    }

    #[cfg(not(loom))]
    fn header_atomic_u64(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset.is_multiple_of(8) && offset + 8 <= HEADER_LEN);
        // SAFETY: the mapping is page-aligned and at least HEADER_LEN long, so `offset` (a
        // multiple of 8 inside the header) is a valid, aligned u64 location for as long as
        // `self.map` lives, which bounds the returned borrow. Within this process only the drain
        // (the owner of `&self`) touches these bytes, and only through this atomic view.
        unsafe { AtomicU64::from_ptr(self.map.as_ptr().add(offset) as *mut u64) }
    }

    #[cfg(not(loom))]
    fn header_atomic_u32(&self, offset: usize) -> &AtomicU32 {
        debug_assert!(offset.is_multiple_of(4) && offset + 4 <= HEADER_LEN);
        // SAFETY: as in `header_atomic_u64`, for a 4-aligned u32 inside the header.
        unsafe { AtomicU32::from_ptr(self.map.as_ptr().add(offset) as *mut u32) }
    }

    #[cfg(loom)]
    fn header_atomic_u64(&self, offset: usize) -> &AtomicU64 {
        self.map.header_u64(offset)
    }

    #[cfg(loom)]
    fn header_atomic_u32(&self, offset: usize) -> &AtomicU32 {
        self.map.header_u32(offset)
    }

    /// Publishes everything appended so far to readers of the file (release store of the
    /// committed length: a reader that loads it with acquire sees complete frames below it).
    pub(crate) fn publish(&self) {
        self.header_atomic_u64(COMMITTED_OFFSET).store(
            self.used as u64,
            order(Ordering::Release, Break::PublishRelaxed),
        );
    }

    /// Lets go of a segment whose writer failed (a panic in the drain): publishes nothing
    /// more, seals nothing, and unmaps it. Its unused space stays zero-filled and reserved.
    pub(crate) fn abandon(self) {
        drop(self);
    }

    /// Writes the END frame, publishes, marks the header sealed, unmaps and truncates the file
    /// to its used length.
    pub(crate) fn seal(mut self, next_seq: u64) -> io::Result<()> {
        let end = wire::EndBody {
            next_seq,
            records: self.records,
        };
        self.append(Kind::End, &[bytemuck::bytes_of(&end)]);
        self.publish();
        self.header_atomic_u32(FLAGS_OFFSET)
            .fetch_or(FLAG_SEALED, Ordering::Release);
        #[cfg(loom)]
        return Ok(());
        #[cfg(not(loom))]
        {
            let used = self.used as u64;
            let Segment { file, map, .. } = self;
            drop(map);
            file.set_len(used)
        }
    }
}

/// Reserves `size` bytes of real blocks for `file`.
#[cfg(not(loom))]
fn reserve(file: &File, size: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    crate::fault::reserve()?;
    // SAFETY: the descriptor is valid for the lifetime of `file`; posix_fallocate reads no memory.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, size as libc::off_t) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}
