//! Loading a whole segment into memory, raw (`*.tlog`) or lz4-compressed (`*.tlog.lz4`).
//!
//! A compressed segment is an lz4 frame (with a content checksum) holding the exact bytes of
//! the sealed raw segment. Decompression is bounded: first the 128-byte segment header, then at
//! most the `segment_size` that header declares (itself capped at [`MAX_SEGMENT_BYTES`]), so a
//! hostile file cannot make the reader allocate more than the writer could have produced.
use super::ReadError;
use crate::wire::{FormatError, HEADER_LEN, SegmentHeader};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// What a compressed segment's file name ends with (after the raw name's `.tlog`).
pub use crate::wire::COMPRESSED_SUFFIX;

/// Largest segment the reader accepts (record offsets are kept as `u32`).
pub use crate::wire::limits::MAX_SEGMENT_BYTES;

/// Opens `path` to be read as a segment, and its length. Only a regular file (after following
/// symbolic links) is a segment: it is opened non-blocking, so that a FIFO cannot hang the
/// reader in `open`, then checked with `fstat`; a FIFO, a device (`/dev/zero`), a socket or a
/// directory is refused with [`ReadError::NotASegment`] naming what it is, and never read.
pub(crate) fn open_regular(path: &Path) -> Result<(File, u64), ReadError> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let t = meta.file_type();
    if t.is_file() {
        return Ok((file, meta.len()));
    }
    let what = if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    Err(ReadError::NotASegment {
        path: path.to_owned(),
        reason: format!("{what}, not a regular file; it is not read"),
    })
}

/// Reads the segment at `path`, decompressing it if its name ends with `.lz4`. Only a regular
/// file is read (see [`ReadError::NotASegment`]).
pub fn load_segment(path: &Path) -> Result<Vec<u8>, ReadError> {
    let (file, len) = open_regular(path)?;
    load_opened(path, file, len)
}

fn load_opened(path: &Path, file: File, len: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let compressed = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(COMPRESSED_SUFFIX));
    if !compressed {
        if len > MAX_SEGMENT_BYTES {
            return Err(ReadError::NotASegment {
                path: path.to_owned(),
                reason: format!(
                    "{len} bytes, more than the {MAX_SEGMENT_BYTES} a segment can hold"
                ),
            });
        }
        let mut data = Vec::with_capacity(len as usize);
        (&file)
            .take(MAX_SEGMENT_BYTES)
            .read_to_end(&mut data)
            .map_err(io)?;
        return Ok(data);
    }
    let corrupt = |reason: String| ReadError::Corrupt {
        path: path.to_owned(),
        offset: 0,
        reason,
    };
    let mut dec = lz4_flex::frame::FrameDecoder::new(std::io::BufReader::new(file));
    let mut data = Vec::with_capacity(HEADER_LEN);
    (&mut dec)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut data)
        .map_err(|e| corrupt(format!("lz4 data: {e}")))?;
    let declared = match SegmentHeader::parse(&data) {
        Ok(p) => p.header.segment_size,
        // Not worth decompressing: the reader could not read it.
        Err(FormatError::UnsupportedVersion(version)) => {
            return Err(ReadError::UnsupportedVersion {
                path: path.to_owned(),
                version,
            });
        }
        Err(_) => {
            return Err(ReadError::NotASegment {
                path: path.to_owned(),
                reason: "the decompressed data does not start with a segment header".into(),
            });
        }
    };
    let cap = declared.clamp(HEADER_LEN as u64, MAX_SEGMENT_BYTES);
    (&mut dec)
        .take(cap - HEADER_LEN as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| corrupt(format!("lz4 data: {e}")))?;
    if data.len() as u64 > cap {
        return Err(corrupt(format!(
            "decompresses to more than the {cap} bytes its header declares"
        )));
    }
    // Reading on to the end of the lz4 frame verifies its content checksum.
    let mut rest = [0u8; 1];
    match dec.read(&mut rest) {
        Ok(0) => Ok(data),
        Ok(_) => Err(corrupt("trailing data after the segment".into())),
        Err(e) => Err(corrupt(format!("lz4 data: {e}"))),
    }
}

/// A segment's bytes in memory: read or decompressed into a buffer, or mapped.
#[derive(Debug)]
pub(crate) enum Loaded {
    /// Read with read(2), or decompressed.
    Read(Vec<u8>),
    /// A read-only mapping of a sealed segment the writer has finished with.
    Mapped(memmap2::Mmap),
}

impl From<Vec<u8>> for Loaded {
    fn from(v: Vec<u8>) -> Self {
        Loaded::Read(v)
    }
}

impl std::ops::Deref for Loaded {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Loaded::Read(v) => v,
            Loaded::Mapped(m) => m,
        }
    }
}

/// Loads the segment at `path` to be decoded once. A raw segment the writer has sealed and
/// cut to its final length is mapped instead of copied: that is about a third of the decoder's
/// time saved on large inputs. Anything else (compressed, unsealed, possibly still being
/// written) is read into memory, as [`load_segment`] does.
pub(crate) fn load_for_reading(path: &Path) -> Result<Loaded, ReadError> {
    let compressed = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(COMPRESSED_SUFFIX));
    let (file, len) = open_regular(path)?;
    if !compressed && let Some(map) = map_if_final(&file, len) {
        return Ok(Loaded::Mapped(map));
    }
    load_opened(path, file, len).map(Loaded::Read)
}

/// Maps the raw segment at `path` if its header says it is sealed and the file is exactly its
/// committed length: the writer then has nothing more to do to it. `None` in any other case,
/// errors included (the caller reads it the ordinary way, which reports them).
fn map_if_final(file: &File, len: u64) -> Option<memmap2::Mmap> {
    use std::os::unix::fs::FileExt;
    let mut head = [0u8; HEADER_LEN];
    file.read_exact_at(&mut head, 0).ok()?;
    let h = SegmentHeader::parse(&head).ok()?.header;
    let last = h.is_sealed() && h.committed == len && len <= MAX_SEGMENT_BYTES;
    if !last {
        return None;
    }
    // SAFETY: the mapped bytes must not change while the mapping lives. The writer sets the
    // sealed flag, then unmaps and truncates the file to its committed length, and never opens
    // it for writing again (compression writes a new file and removes this one, which leaves a
    // mapping intact); a sealed file of exactly its committed length is past all of that. A
    // program other than the engine truncating a sealed segment while it is decoded would break
    // this, as the README says.
    unsafe { memmap2::MmapOptions::new().populate().map(file) }.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire;
    use zerocopy::{FromBytes, IntoBytes};

    /// Writes a header-only segment file with the given flags, committed length and file size.
    fn file(dir: &Path, name: &str, flags: u32, committed: u64, size: usize) -> std::path::PathBuf {
        let mut h = SegmentHeader::read_from_bytes(&[0u8; HEADER_LEN][..]).expect("zeroed");
        h.magic = wire::MAGIC;
        h.version = wire::VERSION;
        h.flags = flags;
        h.committed = committed;
        let mut bytes = h.as_bytes().to_vec();
        bytes.resize(size, 0);
        let path = dir.join(name);
        std::fs::write(&path, &bytes).expect("write");
        path
    }

    #[test]
    fn maps_only_sealed_segments_cut_to_their_committed_length() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let n = HEADER_LEN as u64;
        let sealed = file(d, "a.tlog", wire::FLAG_SEALED, n, HEADER_LEN);
        // Sealed, but not yet cut to length: the writer may still truncate it.
        let uncut = file(d, "b.tlog", wire::FLAG_SEALED, n, HEADER_LEN + 4096);
        // Being written (or left by a crash).
        let open = file(d, "c.tlog", 0, n, HEADER_LEN);
        // Whether `p` was mapped; its bytes must be those of `raw` either way.
        let mapped_as = |p: &Path, raw: &Path| {
            let loaded = load_for_reading(p).expect("load");
            assert_eq!(&loaded[..], &std::fs::read(raw).expect("read")[..]);
            matches!(loaded, Loaded::Mapped(_))
        };
        let mapped = |p: &Path| mapped_as(p, p);
        assert!(mapped(&sealed));
        assert!(!mapped(&uncut));
        assert!(!mapped(&open));
        // A compressed segment is decompressed, never mapped.
        let lz4 = d.join("d.tlog.lz4");
        let mut enc =
            lz4_flex::frame::FrameEncoder::new(std::fs::File::create(&lz4).expect("create"));
        std::io::Write::write_all(&mut enc, &std::fs::read(&sealed).expect("read")).expect("lz4");
        enc.finish().expect("finish");
        assert!(!mapped_as(&lz4, &sealed));
    }

    #[test]
    fn compressed_segments_are_refused_by_their_header() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let lz4 = |name: &str, bytes: &[u8]| {
            let p = d.join(name);
            let mut enc =
                lz4_flex::frame::FrameEncoder::new(std::fs::File::create(&p).expect("create"));
            std::io::Write::write_all(&mut enc, bytes).expect("lz4");
            enc.finish().expect("finish");
            p
        };
        let sealed = file(
            d,
            "a.tlog",
            wire::FLAG_SEALED,
            HEADER_LEN as u64,
            HEADER_LEN,
        );
        let mut newer = std::fs::read(&sealed).expect("read");
        newer[8] = 99;
        let err = load_segment(&lz4("newer.tlog.lz4", &newer)).unwrap_err();
        assert!(
            matches!(err, ReadError::UnsupportedVersion { version: 99, .. }),
            "{err}"
        );
        for bytes in [&b"not a segment"[..], &[0u8; HEADER_LEN]] {
            let err = load_segment(&lz4("other.tlog.lz4", bytes)).unwrap_err();
            assert!(matches!(err, ReadError::NotASegment { .. }), "{err}");
        }
    }
}
