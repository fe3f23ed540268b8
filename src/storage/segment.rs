//! The segment being written: created through the storage door (`SegmentFile`), or prepared
//! ahead of use (`prepare`), written frame by frame, published by a release store of its
//! committed length, sealed by an END frame and the sealed flag, then cut to the used length.
//! `SegmentDir` names and numbers them.
use super::SegmentFile;
use crate::clock::Anchor;
use crate::error::Error;
use crate::sync::{Break, Ordering, order};
use crate::wire::{
    self, COMMITTED_OFFSET, FLAG_SEALED, FLAGS_OFFSET, FRAME_HEADER_LEN, FrameHeader, HEADER_LEN,
    Kind, SegmentHeader, file_name,
};
use std::io;
use std::path::{Path, PathBuf};

/// Where segments go and which sequence number comes next.
#[derive(Debug)]
pub(crate) struct SegmentDir {
    pub(super) dir: PathBuf,
    pub(super) name: String,
    pub(super) size: usize,
    pub(super) next_seq: u64,
    recovered: u64,
}

impl SegmentDir {
    /// Creates the directory if needed, checks that it can be read, and finds the first free
    /// sequence number (one past the highest existing segment of this name).
    /// Segments of this name that a dead writer left unsealed are recovered first
    /// (`storage::recover`): sealed, so that retention counts them.
    pub(crate) fn open(dir: &Path, name: &str, size: usize) -> Result<SegmentDir, Error> {
        let next_seq = SegmentFile::first_free_seq(dir, name)?;
        let recovered = SegmentFile::recover_leftovers(dir, name);
        Ok(SegmentDir {
            dir: dir.to_owned(),
            name: name.to_owned(),
            size,
            next_seq,
            recovered,
        })
    }

    /// Segments recovered when this directory was opened.
    pub(crate) fn recovered(&self) -> u64 {
        self.recovered
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
                    let _ = super::create_dir(&self.dir);
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
    map: SegmentFile,
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
        let mut map = SegmentFile::create(path, size)?;
        Segment::write_header(&mut map, seq, anchor, tps);
        Ok(Segment::new(map, seq))
    }

    /// Writes the header of segment `seq` (committed = header length, not sealed) into `map`.
    pub(super) fn write_header(map: &mut SegmentFile, seq: u64, anchor: &Anchor, tps: f64) {
        let size = map.len();
        map[..HEADER_LEN].copy_from_slice(&SegmentHeader::encode(&wire::NewHeader {
            seq,
            created_unix_ns: crate::clock::unix_ns(),
            anchor_ticks: anchor.ticks,
            anchor_unix_ns: anchor.unix_ns,
            ticks_per_sec: tps,
            segment_size: size as u64,
            pid: std::process::id(),
        }));
    }

    /// The segment `seq` in `map`, whose header [`write_header`](Self::write_header) wrote.
    pub(super) fn new(map: SegmentFile, seq: u64) -> Segment {
        Segment {
            map,
            seq,
            used: HEADER_LEN,
            records: 0,
        }
    }

    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    /// The whole file's bytes, to fault its pages in ahead of the writes (`prepare`).
    pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.map.len();
        &mut self.map[0..len]
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
        let head = FrameHeader::new(kind, &frame[FRAME_HEADER_LEN..FRAME_HEADER_LEN + len]);
        frame[..FRAME_HEADER_LEN].copy_from_slice(bytemuck::bytes_of(&head));
        self.used += size;
        true
    }

    /// Publishes everything appended so far to readers of the file (release store of the
    /// committed length: a reader that loads it with acquire sees complete frames below it).
    pub(crate) fn publish(&self) {
        self.map.header_u64(COMMITTED_OFFSET).store(
            self.used as u64,
            order(Ordering::Release, Break::PublishRelaxed),
        );
    }

    /// Lets go of a segment whose writer failed (a panic in the drain): publishes nothing
    /// more, seals nothing, and unmaps it. Its unused space stays zero-filled and reserved.
    pub(crate) fn abandon(self) {
        drop(self);
    }

    /// Writes the END frame, publishes, and marks the header sealed: the segment is complete
    /// for readers. [`cut`](Self::cut) then lets go of it (on another thread, if need be).
    pub(crate) fn seal(&mut self, next_seq: u64) {
        let end = wire::EndBody {
            next_seq,
            records: self.records,
        };
        self.append(Kind::End, &[bytemuck::bytes_of(&end)]);
        self.publish();
        self.map
            .header_u32(FLAGS_OFFSET)
            .fetch_or(FLAG_SEALED, Ordering::Release);
    }

    /// Unmaps a sealed segment and truncates its file to the used length.
    pub(crate) fn cut(self) -> io::Result<()> {
        self.map.finish(self.used as u64)
    }
}
