//! Loading a whole segment into memory, raw (`*.tlog`) or lz4-compressed (`*.tlog.lz4`).
//!
//! A compressed segment is an lz4 frame holding the exact bytes of the sealed raw segment
//! (docs/FORMAT.md, "Compressed segments"). Decompression is bounded: first the 128-byte
//! segment header, then at most the `segment_size` that header declares (itself capped at
//! [`MAX_SEGMENT_BYTES`]), so a hostile file cannot make the reader allocate more than the
//! writer could have produced.
//!
//! A compressed segment whose lz4 data is damaged or cut short yields the bytes of every block
//! before the damage, with an [`Lz4Damage`] saying what is wrong: the walker reads them as it
//! reads a raw segment cut at that point. When the frame's structure leads past a damaged block
//! to its end mark, the blocks after it are read too, and only the damaged blocks' bytes are
//! lost ([`read_on`]). Only when not even the segment header comes out of it does the whole
//! file fail.
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
/// file is read (see [`ReadError::NotASegment`]). A compressed segment whose lz4 data is damaged
/// or cut short is an error ([`ReadError::Corrupt`]) here, though a [`Reader`](super::Reader)
/// still decodes the part before the damage.
pub fn load_segment(path: &Path) -> Result<Vec<u8>, ReadError> {
    match load_with_damage(path)? {
        (data, None) => Ok(data),
        (_, Some(damage)) => Err(damage.error),
    }
}

/// Reads the segment at `path` as [`load_segment`] does, but a compressed segment whose lz4
/// data is damaged or cut short yields the bytes before the damage, and what is wrong.
pub(crate) fn load_with_damage(path: &Path) -> Result<(Vec<u8>, Option<Lz4Damage>), ReadError> {
    let (file, len) = open_regular(path)?;
    load_opened(path, file, len)
}

fn is_compressed(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(COMPRESSED_SUFFIX))
}

fn load_opened(
    path: &Path,
    file: File,
    len: u64,
) -> Result<(Vec<u8>, Option<Lz4Damage>), ReadError> {
    if is_compressed(path) {
        return load_compressed(path, file, len);
    }
    if len > MAX_SEGMENT_BYTES {
        return Err(ReadError::NotASegment {
            path: path.to_owned(),
            reason: format!("{len} bytes, more than the {MAX_SEGMENT_BYTES} a segment can hold"),
        });
    }
    let mut data = Vec::with_capacity(len as usize);
    (&file)
        .take(MAX_SEGMENT_BYTES)
        .read_to_end(&mut data)
        .map_err(|source| ReadError::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok((data, None))
}

/// What is wrong with a compressed segment whose bytes (those before the damage) were loaded
/// all the same.
#[derive(Debug)]
pub(crate) struct Lz4Damage {
    /// The report: [`ReadError::Corrupt`] at the offset (in the segment's bytes) where what is
    /// lost begins.
    pub(crate) error: ReadError,
    /// Whether the bytes may stop before the segment's end: the lz4 frame's end mark was not
    /// reached, so blocks may be missing. False when every block decoded and only what follows
    /// them (the end mark, the content checksum, bytes after the frame) is wrong.
    pub(crate) cut: bool,
    /// Where the bytes lost end: the header's committed length (clamped to what the header
    /// allows and to at least the bytes there are) when what followed the damage is lost; the
    /// end of the damaged block when the blocks after it were read.
    pub(crate) end: u64,
    /// Further damaged blocks after the first, each as its report and the end of its bytes,
    /// when the blocks after the first were read.
    pub(crate) more: Vec<(ReadError, u64)>,
}

impl Lz4Damage {
    /// Every report with the end of the bytes it says are lost, in order.
    pub(crate) fn ranges(self) -> impl Iterator<Item = (ReadError, u64)> {
        std::iter::once((self.error, self.end)).chain(self.more)
    }
}

fn load_compressed(
    path: &Path,
    file: File,
    len: u64,
) -> Result<(Vec<u8>, Option<Lz4Damage>), ReadError> {
    let corrupt = |offset: u64, reason: String| ReadError::Corrupt {
        path: path.to_owned(),
        offset,
        reason,
    };
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let mut dec = lz4_flex::frame::FrameDecoder::new(Tracked::new(std::io::BufReader::new(file)));
    let mut data = Vec::with_capacity(HEADER_LEN);
    let head = (&mut dec).take(HEADER_LEN as u64).read_to_end(&mut data);
    if let Some(e) = dec.get_mut().io_error.take() {
        return Err(io(e));
    }
    let header = match SegmentHeader::parse(&data) {
        Ok(p) => p.header,
        // Not worth decompressing: the reader could not read it.
        Err(FormatError::UnsupportedVersion(version)) => {
            return Err(ReadError::UnsupportedVersion {
                path: path.to_owned(),
                version,
            });
        }
        Err(_) => {
            let t = dec.get_ref();
            // Not even the header came out: the whole file fails.
            let why = match head {
                Err(e) => Some(t.describe(&e, len)),
                // The frame stopped short of the header: cut, or simply too short.
                Ok(_) if data.len() < HEADER_LEN && t.pos > 0 && !t.ended() => {
                    Some(t.describe_cut(len))
                }
                Ok(_) => None,
            };
            return Err(match why {
                Some(why) => corrupt(0, format!("{why}; not even the segment header decodes")),
                None => ReadError::NotASegment {
                    path: path.to_owned(),
                    reason: "the decompressed data does not start with a segment header".into(),
                },
            });
        }
    };
    let cap = header
        .segment_size
        .clamp(HEADER_LEN as u64, MAX_SEGMENT_BYTES);
    let rest = match head {
        Ok(_) => (&mut dec)
            .take(cap - HEADER_LEN as u64 + 1)
            .read_to_end(&mut data)
            .map(drop),
        Err(e) => Err(e),
    };
    if data.len() as u64 > cap {
        return Err(corrupt(
            0,
            format!("decompresses to more than the {cap} bytes its header declares"),
        ));
    }
    let part = dec.get_ref().part;
    let failed = rest.is_err();
    let why = match rest {
        Err(e) => Some(dec.get_ref().describe(&e, len)),
        Ok(()) if part == Part::Untracked => {
            // A frame this does not follow (legacy lz4): the decoder's word goes. Reading on
            // past its end finds bytes after it, if any.
            match dec.read(&mut [0u8; 1]) {
                Ok(0) => None,
                Ok(_) => Some("bytes after the lz4 frame".to_string()),
                Err(e) => Some(format!("after the lz4 frame: {}", lz4_error(&e))),
            }
        }
        Ok(()) if part != Part::End => Some(dec.get_ref().describe_cut(len)),
        // The frame is whole: anything after it?
        Ok(()) => {
            let t = dec.get_mut();
            match t.read(&mut [0u8; 1]) {
                Ok(0) => None,
                Ok(_) => Some(format!(
                    "{} bytes after the end of the lz4 frame (at byte {})",
                    len.saturating_sub(t.pos - 1),
                    t.pos - 1
                )),
                Err(_) => None,
            }
        }
    };
    if let Some(e) = dec.get_mut().io_error.take() {
        return Err(io(e));
    }
    let Some(why) = why else {
        return Ok((data, None));
    };
    let t = dec.get_ref();
    let at = data.len() as u64;
    // A block that fails to decode, in a file that goes on: the blocks after it are
    // independent, so they are read, and only its own bytes are lost.
    if failed
        && t.blocks > 0
        && let Some(after) = read_on(t.inner.get_ref(), t.blocks, t.block_at, at, cap)
    {
        data.extend_from_slice(&after.bytes);
        let mut lost = after.lost.into_iter().map(|b| {
            let reason = match b.why {
                None => format!(
                    "{why}; its {} bytes are lost, the blocks after it are read",
                    b.len
                ),
                Some(what) => format!(
                    "lz4 block {} (at byte {} of the compressed file) is damaged: {what}; its {} \
                     bytes are lost",
                    b.number, b.at, b.len
                ),
            };
            (corrupt(b.start, reason), b.start + b.len)
        });
        let (error, end) = lost.next().expect("the first damaged block is in the list");
        return Ok((
            data,
            Some(Lz4Damage {
                error,
                cut: false,
                end,
                more: lost.collect(),
            }),
        ));
    }
    let cut = !t.ended();
    let end = header.committed.clamp(at, cap.max(at));
    let reason = if at < end {
        format!("{why}; the segment's bytes from here on are lost")
    } else {
        why
    };
    Ok((
        data,
        Some(Lz4Damage {
            error: corrupt(at, reason),
            cut,
            end,
            more: Vec::new(),
        }),
    ))
}

/// Damaged lz4 blocks that [`read_on`] accepts in one file; more, and the file is read only up
/// to the first (a file with many damaged blocks is something else than a segment with a few
/// bad sectors).
const MAX_LOST_BLOCKS: usize = 8;

/// A block [`read_on`] could not use: it stands as `len` zero bytes at `start` in the raw
/// bytes.
struct LostBlock {
    /// Its number in the frame, from 1, and the offset of its size field in the file.
    number: u64,
    at: u64,
    start: u64,
    len: u64,
    /// What is wrong with it; `None` for the block the frame decoder stopped at.
    why: Option<String>,
}

/// What [`read_on`] read after a damaged block.
struct After {
    /// The raw bytes from the damaged block's place on: zeros for each block that does not
    /// decode, the decoded bytes of the others.
    bytes: Vec<u8>,
    lost: Vec<LostBlock>,
}

/// Reads on after lz4 block `number` of the frame in `file` failed to decode, its size field
/// at `at` in the file and its raw bytes due at `start`: each later block is read on its own
/// (they are independent, and each carries its checksum), and each block that does not
/// decode, the first included, stands as a whole block of zeros, so that the bytes after it
/// keep their offsets (every block but the last holds the frame's full block size). At most
/// `cap` raw bytes in all, at most 256 for each byte of the file read plus the lost blocks, and
/// at most [`MAX_LOST_BLOCKS`] of those. `None`, and nothing gained, unless the frame says its blocks are
/// independent and checksummed, the blocks before filled whole blocks, and the end mark is
/// reached through size fields that the frame allows: a file whose structure is lost past the
/// damage is read only up to it.
fn read_on(file: &File, number: u64, at: u64, start: u64, cap: u64) -> Option<After> {
    use std::os::unix::fs::FileExt;
    let mut desc = [0u8; 6];
    file.read_exact_at(&mut desc, 0).ok()?;
    let (flg, bd) = (desc[4], desc[5]);
    // Independent blocks (bit 5) with checksums (bit 4), as the compressor writes them.
    if u32::from_le_bytes([desc[0], desc[1], desc[2], desc[3]]) != LZ4_MAGIC || flg & 0x30 != 0x30 {
        return None;
    }
    let block: u64 = match (bd >> 4) & 7 {
        4 => 64 << 10,
        5 => 256 << 10,
        6 => 1 << 20,
        7 => 4 << 20,
        _ => return None,
    };
    if !start.is_multiple_of(block) {
        return None;
    }
    let mut out = Vec::new();
    let mut lost = Vec::new();
    let mut buf = vec![0u8; block as usize];
    let (mut pos, mut n) = (at, number);
    loop {
        let mut field = [0u8; 4];
        file.read_exact_at(&mut field, pos).ok()?;
        let size = u32::from_le_bytes(field);
        if size == 0 {
            break;
        }
        let stored = u64::from(size & 0x7FFF_FFFF);
        if stored > block {
            return None;
        }
        let mut raw = vec![0u8; stored as usize + 4];
        file.read_exact_at(&mut raw, pos + 4).ok()?;
        let (data, sum) = raw.split_at(stored as usize);
        let why = if n == number {
            Some(None)
        } else if twox_hash::XxHash32::oneshot(0, data).to_le_bytes() != sum {
            Some(Some("block checksum mismatch".to_string()))
        } else if size & 0x8000_0000 != 0 {
            out.extend_from_slice(data);
            None
        } else {
            match lz4_flex::block::decompress_into(data, &mut buf) {
                Ok(k) => {
                    out.extend_from_slice(&buf[..k]);
                    None
                }
                Err(e) => Some(Some(format!("invalid compressed data ({e})"))),
            }
        };
        if let Some(why) = why {
            // A whole block, or what the header allows, if the last block is the lost one.
            let at_raw = start + out.len() as u64;
            let len = block.min(cap.saturating_sub(at_raw));
            lost.push(LostBlock {
                number: n,
                at: pos,
                start: at_raw,
                len,
                why,
            });
            out.resize(out.len() + len as usize, 0);
        }
        pos += 4 + stored + 4;
        n += 1;
        // Memory grows by the file, as lz4 decoding does (at most 255 bytes from one), and by a
        // few zero blocks: a file of many tiny "damaged" blocks is not read on.
        if start + out.len() as u64 > cap
            || lost.len() > MAX_LOST_BLOCKS
            || out.len() as u64 > 256 * (pos - at) + lost.len() as u64 * block
        {
            return None;
        }
    }
    Some(After { bytes: out, lost })
}

/// An lz4 decoding error in words.
fn lz4_error(e: &std::io::Error) -> String {
    use lz4_flex::frame::Error;
    match e.get_ref().and_then(|e| e.downcast_ref::<Error>()) {
        Some(Error::BlockChecksumError) => "block checksum mismatch".into(),
        Some(Error::ContentChecksumError) => "content checksum mismatch".into(),
        Some(Error::HeaderChecksumError) => "frame descriptor checksum mismatch".into(),
        Some(Error::WrongMagicNumber) => "not an lz4 frame (wrong magic number)".into(),
        Some(Error::BlockTooBig) => "block larger than the frame's block size".into(),
        Some(Error::DecompressionError(d)) => format!("invalid compressed data ({d})"),
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}

/// The lz4 frame format's magic number.
const LZ4_MAGIC: u32 = 0x184D_2204;

/// Where [`Tracked`] is in the lz4 frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The magic number and the flags byte (`field` collects them).
    Magic,
    /// Bytes to pass over (the rest of the frame descriptor, a block's data and checksum, the
    /// content checksum), then the next part: a block size field, or the frame's end.
    Skip { left: u64, end: bool },
    /// A block size field, or the end mark (`field` collects it).
    Size,
    /// Past the end of the frame.
    End,
    /// Not a frame this follows (a legacy lz4 frame).
    Untracked,
}

/// Follows the structure of an lz4 frame in the compressed bytes its decoder reads: where each
/// block starts, and whether the frame's end was reached. lz4_flex's decoder takes a file that
/// stops at a block boundary, or inside the end mark, for a complete frame; this tells the two
/// apart, and names the block where decoding stopped. It sees exactly the bytes the decoder
/// takes, so its position is the decoder's.
struct Tracked<R> {
    inner: R,
    /// Bytes read so far.
    pos: u64,
    part: Part,
    /// The field being collected, and how many of its bytes are in (at most 5).
    field: [u8; 5],
    have: usize,
    block_checksums: bool,
    content_checksum: bool,
    /// Block size fields read (the end mark not counted): the number of the current block,
    /// from 1; and the offset of its size field.
    blocks: u64,
    block_at: u64,
    /// The first error the file itself gave (not the decoder: a damaged block is not an I/O
    /// error).
    io_error: Option<std::io::Error>,
}

impl<R: Read> Tracked<R> {
    fn new(inner: R) -> Self {
        Tracked {
            inner,
            pos: 0,
            part: Part::Magic,
            field: [0; 5],
            have: 0,
            block_checksums: false,
            content_checksum: false,
            blocks: 0,
            block_at: 0,
            io_error: None,
        }
    }

    /// Whether the frame's end mark and content checksum were read.
    fn ended(&self) -> bool {
        self.part == Part::End
    }

    /// Takes the decoder's reading of `bytes`.
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let n = match self.part {
                Part::Magic | Part::Size => {
                    let need = if self.part == Part::Magic { 5 } else { 4 };
                    let n = (need - self.have).min(bytes.len());
                    self.field[self.have..self.have + n].copy_from_slice(&bytes[..n]);
                    self.have += n;
                    if self.have == need {
                        self.have = 0;
                        self.field_read(self.pos + n as u64);
                    }
                    n
                }
                Part::Skip { left, end } => {
                    let n = left.min(bytes.len() as u64);
                    self.part = match (left - n, end) {
                        (0, false) => Part::Size,
                        (0, true) => Part::End,
                        (left, end) => Part::Skip { left, end },
                    };
                    n as usize
                }
                Part::End | Part::Untracked => bytes.len(),
            };
            self.pos += n as u64;
            bytes = &bytes[n..];
        }
    }

    /// A field is complete; `pos` is where it ends.
    fn field_read(&mut self, pos: u64) {
        let f = self.field;
        self.part = if self.part == Part::Magic {
            if u32::from_le_bytes([f[0], f[1], f[2], f[3]]) != LZ4_MAGIC {
                Part::Untracked
            } else {
                // FLG: block checksums (bit 4), content size (bit 3), content checksum
                // (bit 2), dictionary id (bit 0); then BD, the optional fields, and HC.
                let flg = f[4];
                self.block_checksums = flg & 0x10 != 0;
                self.content_checksum = flg & 0x04 != 0;
                let rest = 2 + 8 * u64::from(flg & 0x08 != 0) + 4 * u64::from(flg & 0x01);
                Part::Skip {
                    left: rest,
                    end: false,
                }
            }
        } else {
            let size = u32::from_le_bytes([f[0], f[1], f[2], f[3]]);
            if size == 0 {
                Part::Skip {
                    left: 4 * u64::from(self.content_checksum),
                    end: true,
                }
            } else {
                self.blocks += 1;
                self.block_at = pos - 4;
                Part::Skip {
                    left: u64::from(size & 0x7FFF_FFFF) + 4 * u64::from(self.block_checksums),
                    end: false,
                }
            }
        };
        self.part = match self.part {
            Part::Skip { left: 0, end: true } => Part::End,
            Part::Skip {
                left: 0,
                end: false,
            } => Part::Size,
            p => p,
        };
    }

    /// What the decoder's error `e` means, where it happened (`len`: the file's length).
    fn describe(&self, e: &std::io::Error, len: u64) -> String {
        if e.kind() == std::io::ErrorKind::UnexpectedEof && self.pos == len {
            return self.describe_cut(len);
        }
        let what = lz4_error(e);
        match self.part {
            Part::Magic | Part::Untracked => format!("lz4 frame: {what}"),
            Part::Skip { end: true, .. } | Part::End => {
                format!("lz4 frame, after its last block: {what}")
            }
            _ if self.blocks == 0 => format!("lz4 frame descriptor: {what}"),
            _ => format!(
                "lz4 block {} (at byte {} of the compressed file) is damaged: {what}",
                self.blocks, self.block_at
            ),
        }
    }

    /// Where the file ends, when the frame did not (`len`: the file's length).
    fn describe_cut(&self, len: u64) -> String {
        let inside = match self.part {
            Part::Magic => "the lz4 frame descriptor".to_string(),
            Part::Skip { end: true, .. } => "the lz4 content checksum".to_string(),
            Part::Skip { .. } if self.blocks == 0 => "the lz4 frame descriptor".to_string(),
            Part::Size if self.have == 0 && self.blocks == 0 => {
                return format!(
                    "the compressed file ends after the lz4 frame descriptor (at byte {len}), \
                     before any block"
                );
            }
            Part::Size if self.have == 0 => {
                return format!(
                    "the compressed file ends after lz4 block {} (at byte {len}), before the \
                     frame's end mark",
                    self.blocks
                );
            }
            Part::Size => format!(
                "the size field (or end mark) after lz4 block {}",
                self.blocks
            ),
            Part::End | Part::Untracked => "the lz4 frame".to_string(),
            Part::Skip { .. } => format!(
                "lz4 block {} (which starts at byte {})",
                self.blocks, self.block_at
            ),
        };
        format!("the compressed file is cut short: it ends at byte {len}, inside {inside}")
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.feed(&buf[..n]);
                Ok(n)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                // Kept for the loader, which reports it as the I/O error it is.
                let copy = std::io::Error::new(e.kind(), e.to_string());
                self.io_error.get_or_insert(e);
                Err(copy)
            }
        }
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
/// written) is read into memory, as [`load_segment`] does; a compressed one whose lz4 data is
/// damaged yields what comes before the damage, and the damage.
pub(crate) fn load_for_reading(path: &Path) -> Result<(Loaded, Option<Lz4Damage>), ReadError> {
    let (file, len) = open_regular(path)?;
    if !is_compressed(path)
        && let Some(map) = map_if_final(&file, len)
    {
        return Ok((Loaded::Mapped(map), None));
    }
    load_opened(path, file, len).map(|(data, damage)| (Loaded::Read(data), damage))
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
pub(super) mod tests {
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
            let (loaded, damage) = load_for_reading(p).expect("load");
            assert!(damage.is_none());
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

    /// A sealed segment of `len` bytes (varied text after the header, which compresses about
    /// as log data does), its header declaring `len` as its size and committed length.
    fn segment_of(len: usize) -> Vec<u8> {
        let mut seg = SegmentHeader::encode(&wire::NewHeader {
            seq: 1,
            created_unix_ns: 0,
            anchor_ticks: 0,
            anchor_unix_ns: 0,
            ticks_per_sec: 1e9,
            segment_size: len as u64,
            pid: 1,
        })
        .to_vec();
        let mut x = 1u32;
        while seg.len() < len {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seg.extend_from_slice(format!("record {} took {} us; ", x >> 22, x % 977).as_bytes());
        }
        seg.truncate(len);
        seg[wire::COMMITTED_OFFSET..wire::COMMITTED_OFFSET + 8]
            .copy_from_slice(&(len as u64).to_le_bytes());
        seg[wire::FLAGS_OFFSET..wire::FLAGS_OFFSET + 4]
            .copy_from_slice(&wire::FLAG_SEALED.to_le_bytes());
        seg
    }

    /// What the compressor writes since block checksums came in (`storage::compress`, which
    /// the reader does not import; `tools/tests/lz4.rs` checks the compressor's own files).
    pub(in crate::reader) fn new_settings() -> lz4_flex::frame::FrameInfo {
        lz4_flex::frame::FrameInfo::new()
            .block_size(lz4_flex::frame::BlockSize::Max64KB)
            .block_checksums(true)
            .content_checksum(true)
    }

    /// `data` compressed as the compressor did before block checksums: a content checksum,
    /// the block size lz4_flex picks from the first write (the raw file was copied through a
    /// 1 MiB buffer).
    fn old_lz4(data: &[u8]) -> Vec<u8> {
        let info = lz4_flex::frame::FrameInfo::new().content_checksum(true);
        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        let mut src = std::io::BufReader::with_capacity(1 << 20, data);
        std::io::copy(&mut src, &mut enc).expect("lz4");
        enc.finish().expect("finish")
    }

    pub(in crate::reader) fn lz4_with(info: lz4_flex::frame::FrameInfo, data: &[u8]) -> Vec<u8> {
        let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
        std::io::Write::write_all(&mut enc, data).expect("lz4");
        enc.finish().expect("finish")
    }

    /// The blocks of the lz4 frame `c` (each from its size field to the end of its checksum),
    /// and where its end mark is: parsed here independently of the reader's own tracking.
    pub(in crate::reader) fn blocks(c: &[u8]) -> (Vec<std::ops::Range<usize>>, usize) {
        let flg = c[4];
        let sum = if flg & 0x10 != 0 { 4 } else { 0 };
        let mut at = 7 + if flg & 0x08 != 0 { 8 } else { 0 };
        let mut v = Vec::new();
        loop {
            let size = u32::from_le_bytes(c[at..at + 4].try_into().expect("4 bytes"));
            if size == 0 {
                return (v, at);
            }
            let end = at + 4 + (size & 0x7FFF_FFFF) as usize + sum;
            v.push(at..end);
            at = end;
        }
    }

    /// Loads `bytes` as a compressed segment file.
    fn load(dir: &Path, bytes: &[u8]) -> Result<(Vec<u8>, Option<Lz4Damage>), ReadError> {
        let p = dir.join("x-0000000001.tlog.lz4");
        std::fs::write(&p, bytes).expect("write");
        load_with_damage(&p)
    }

    #[test]
    fn damaged_lz4_yields_every_block_before_the_damage() {
        const BLOCK: usize = 64 << 10;
        let dir = tempfile::tempdir().expect("tempdir");
        let seg = segment_of(600_000);
        let c = lz4_with(new_settings(), &seg);
        let (b, end_mark) = blocks(&c);
        assert_eq!(b.len(), seg.len().div_ceil(BLOCK));
        let (data, damage) = load(dir.path(), &c).expect("intact");
        assert!(damage.is_none());
        assert_eq!(data, seg);

        let cut = |n: usize| c[..n].to_vec();
        let flip = |at: usize| {
            let mut d = c.clone();
            d[at] ^= 0x20;
            d
        };
        let mut trailing = c.clone();
        trailing.extend_from_slice(b"xyz");
        // (what, the file, segment bytes kept, whether the end may be missing, message)
        let cases: [(&str, Vec<u8>, usize, bool, &str); 7] = [
            (
                "cut in block 2",
                cut(b[1].start + 10),
                BLOCK,
                true,
                "inside lz4 block 2 ",
            ),
            (
                "cut in the last block",
                cut(b[9].end - 3),
                9 * BLOCK,
                true,
                "inside lz4 block 10 ",
            ),
            (
                "cut after block 3",
                cut(b[2].end),
                3 * BLOCK,
                true,
                "ends after lz4 block 3 ",
            ),
            (
                "cut in the end mark",
                cut(end_mark + 2),
                seg.len(),
                true,
                "inside the size field (or end mark) after lz4 block 10",
            ),
            (
                "cut in the content checksum",
                cut(end_mark + 6),
                seg.len(),
                true,
                "inside the lz4 content checksum",
            ),
            (
                "content checksum flipped",
                flip(c.len() - 1),
                seg.len(),
                false,
                "content checksum mismatch",
            ),
            (
                "bytes after the frame",
                trailing,
                seg.len(),
                false,
                "3 bytes after the end of the lz4 frame",
            ),
        ];
        for (what, file, kept, cut, says) in cases {
            let (data, damage) = load(dir.path(), &file).expect(what);
            assert_eq!(data.len(), kept, "{what}");
            assert!(data == seg[..kept], "{what}: the bytes kept differ");
            let d = damage.unwrap_or_else(|| panic!("{what}: no damage reported"));
            assert_eq!(d.cut, cut, "{what}");
            assert_eq!(d.end, seg.len() as u64, "{what}");
            match &d.error {
                ReadError::Corrupt {
                    path,
                    offset,
                    reason,
                } => {
                    assert!(path.ends_with("x-0000000001.tlog.lz4"), "{what}");
                    assert_eq!(*offset, kept as u64, "{what}");
                    assert!(reason.contains(says), "{what}: {reason}");
                    let lost = kept < seg.len();
                    assert_eq!(reason.contains("from here on are lost"), lost, "{what}");
                }
                e => panic!("{what}: {e}"),
            }
            // The public loader still takes the file whole or not at all.
            let p = dir.path().join("x-0000000001.tlog.lz4");
            let err = load_segment(&p).expect_err(what);
            assert!(matches!(err, ReadError::Corrupt { .. }), "{what}: {err}");
        }

        // A damaged block in a file that goes on: the blocks after it are read, and only its
        // own bytes are lost, as zeros in their place. Two damaged blocks: two reports.
        let mut two = flip(b[4].start + 100);
        two[b[7].start + 50] ^= 0x20;
        for (what, file, lost) in [
            ("byte flipped in block 5", flip(b[4].start + 100), vec![5]),
            ("bytes flipped in blocks 5 and 8", two, vec![5, 8]),
        ] {
            let (data, damage) = load(dir.path(), &file).expect(what);
            let mut want = seg.clone();
            for n in &lost {
                want[(n - 1) * BLOCK..n * BLOCK].fill(0);
            }
            assert!(data == want, "{what}: not the segment less its lost blocks");
            let d = damage.unwrap_or_else(|| panic!("{what}: no damage reported"));
            assert!(!d.cut, "{what}");
            let ranges: Vec<(u64, u64, String)> = d
                .ranges()
                .map(|(e, end)| match e {
                    ReadError::Corrupt { offset, reason, .. } => (offset, end, reason),
                    e => panic!("{what}: {e}"),
                })
                .collect();
            assert_eq!(ranges.len(), lost.len(), "{what}");
            for ((offset, end, reason), n) in ranges.iter().zip(&lost) {
                assert_eq!(*offset, ((n - 1) * BLOCK) as u64, "{what}");
                assert_eq!(*end, (n * BLOCK) as u64, "{what}");
                assert!(
                    reason.contains(&format!("lz4 block {n} (at byte {}", b[n - 1].start)),
                    "{what}: {reason}"
                );
                assert!(reason.contains("65536 bytes are lost"), "{what}: {reason}");
            }
            assert!(
                ranges[0].2.contains("the blocks after it are read"),
                "{what}"
            );
            let p = dir.path().join("x-0000000001.tlog.lz4");
            assert!(load_segment(&p).is_err(), "{what}");
        }
        // Without block checksums (the previous release's files) nothing is read past the
        // damage, as before.
        let old = lz4_with(
            lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent)
                .content_checksum(true),
            &seg,
        );
        let (ob, _) = blocks(&old);
        let mut bad = old.clone();
        bad[ob[4].start + 100] ^= 0x20;
        let (_, d) = load(dir.path(), &bad).expect("old settings");
        let d = d.expect("damage reported");
        assert!(d.more.is_empty());
        assert!(!d.error.to_string().contains("the blocks after it are read"));
    }

    #[test]
    fn any_cut_or_flipped_byte_yields_a_prefix_or_the_segment_less_its_lost_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seg = segment_of(150_000);
        let c = lz4_with(new_settings(), &seg);
        const BLOCK: usize = 64 << 10;
        let check = |what: String, file: &[u8]| match load(dir.path(), file) {
            Ok((data, damage)) => {
                let d = damage.unwrap_or_else(|| panic!("{what}: no damage reported"));
                if d.cut || data.len() < seg.len() {
                    assert!(seg.starts_with(&data), "{what}: not a prefix");
                    assert!(
                        data.len() % BLOCK == 0 || data.len() == seg.len(),
                        "{what}: {} bytes, not whole blocks",
                        data.len()
                    );
                } else {
                    // Read on past a damaged block: the segment, but for the zeros of each
                    // block reported lost.
                    assert_eq!(data.len(), seg.len(), "{what}");
                    let mut want = seg.clone();
                    for (e, end) in d.ranges() {
                        let ReadError::Corrupt { offset, .. } = e else {
                            panic!("{what}: {e}")
                        };
                        let (a, b) = (offset as usize, (end as usize).min(seg.len()));
                        if a % BLOCK == 0 && b - a == BLOCK.min(seg.len() - a) {
                            want[a..b].fill(0);
                        }
                    }
                    assert!(
                        data == want,
                        "{what}: not the segment with its lost blocks zeroed"
                    );
                }
            }
            // Only damage that leaves no header fails the file.
            Err(ReadError::Corrupt { offset: 0, .. }) => {}
            Err(e) => panic!("{what}: {e}"),
        };
        for len in (0..c.len()).step_by(331).skip(1) {
            check(format!("cut at {len}"), &c[..len]);
        }
        for at in (0..c.len()).step_by(337) {
            let mut d = c.clone();
            d[at] ^= 0x81;
            check(format!("byte {at} flipped"), &d);
        }
    }

    #[test]
    fn reading_on_past_damage_allocates_by_the_file_not_by_lost_blocks() {
        const BLOCK: usize = 64 << 10;
        let dir = tempfile::tempdir().expect("tempdir");
        // A header that allows 1 GiB, then a block of it as the compressor writes it.
        let mut seg = segment_of(2 * BLOCK);
        let head = SegmentHeader::encode(&wire::NewHeader {
            seq: 1,
            created_unix_ns: 0,
            anchor_ticks: 0,
            anchor_unix_ns: 0,
            ticks_per_sec: 1e9,
            segment_size: 1 << 30,
            pid: 1,
        });
        seg[..HEADER_LEN].copy_from_slice(&head);
        let c = lz4_with(new_settings(), &seg);
        let (b, _) = blocks(&c);
        // Block 1, then block 2 damaged, then 300 empty "blocks" (a size field and a wrong
        // checksum: 8 bytes each), each of which would stand as 64 KiB of zeros, then the end.
        let mut file = c[..b[1].start].to_vec();
        let mut damaged = c[b[1].clone()].to_vec();
        damaged[10] ^= 0x20;
        file.extend_from_slice(&damaged);
        for _ in 0..300 {
            file.extend_from_slice(&0x8000_0000u32.to_le_bytes());
            file.extend_from_slice(&[1, 2, 3, 4]);
        }
        file.extend_from_slice(&[0; 8]);
        let (data, damage) = load(dir.path(), &file).expect("the header decodes");
        let d = damage.expect("damage reported");
        // lz4 decodes at most 255 bytes from one: nothing here may grow faster, and a handful
        // of lost blocks at most may stand as zeros.
        assert!(
            data.len() <= 256 * file.len() + 16 * BLOCK,
            "{} bytes from a {}-byte file",
            data.len(),
            file.len()
        );
        assert!(
            d.more.len() < 16,
            "{} lost blocks reported",
            d.more.len() + 1
        );
        assert!(seg.starts_with(&data[..BLOCK]));
    }

    #[test]
    fn lz4_damage_before_the_header_is_out_fails_the_whole_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seg = segment_of(200_000);
        let c = lz4_with(new_settings(), &seg);
        let (b, _) = blocks(&c);
        let mut first = c.clone();
        first[b[0].start + 50] ^= 1;
        let cases: [(&str, &[u8], &str); 4] = [
            ("byte flipped in block 1", &first, "lz4 block 1 "),
            (
                "cut in block 1",
                &c[..b[0].start + 60],
                "inside lz4 block 1 ",
            ),
            (
                "cut after the descriptor",
                &c[..b[0].start],
                "ends after the lz4 frame descriptor (at byte 7), before any block",
            ),
            (
                "cut in the descriptor",
                &c[..5],
                "inside the lz4 frame descriptor",
            ),
        ];
        for (what, file, says) in cases {
            match load(dir.path(), file) {
                Err(ReadError::Corrupt { offset, reason, .. }) => {
                    assert_eq!(offset, 0, "{what}");
                    assert!(reason.contains(says), "{what}: {reason}");
                    assert!(reason.contains("not even the segment header"), "{what}");
                }
                other => panic!("{what}: {other:?}"),
            }
        }
        // Nothing at all, as before: not a segment.
        let err = load(dir.path(), b"").expect_err("empty");
        assert!(matches!(err, ReadError::NotASegment { .. }), "{err}");
    }

    #[test]
    fn compressed_segments_of_the_previous_release_still_decode() {
        const OLD_BLOCK: usize = 4 << 20;
        let dir = tempfile::tempdir().expect("tempdir");
        let seg = segment_of(OLD_BLOCK + 300_000);
        let c = old_lz4(&seg);
        // No block checksums, 4 MiB blocks: what the previous release wrote for segments over
        // 256 KiB (smaller ones got 64 or 256 KiB blocks).
        assert_eq!(c[4] & 0x10, 0);
        assert_eq!(c[5] >> 4, 7, "4 MiB blocks");
        let (data, damage) = load(dir.path(), &c).expect("old file");
        assert!(damage.is_none());
        assert_eq!(data, seg);
        // Damage in its second block: the first block's 4 MiB still come out. Without block
        // checksums, the damaged block may decode to wrong bytes, which the content checksum
        // (and the frames' own checksums) then catch.
        let (b, _) = blocks(&c);
        assert_eq!(b.len(), 2);
        for (what, file) in [
            ("cut in block 2", c[..b[1].start + 1000].to_vec()),
            ("byte flipped in block 2", {
                let mut d = c.clone();
                d[b[1].start + 1000] ^= 0x20;
                d
            }),
        ] {
            let (data, damage) = load(dir.path(), &file).expect(what);
            assert!(data.len() >= OLD_BLOCK, "{what}: {}", data.len());
            assert!(data[..OLD_BLOCK] == seg[..OLD_BLOCK], "{what}");
            assert!(damage.is_some(), "{what}: no damage reported");
        }
    }

    #[test]
    fn decompression_stops_at_the_size_the_header_declares() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut seg = segment_of(64 << 10);
        seg.resize(1 << 20, b'x');
        match load(dir.path(), &lz4_with(new_settings(), &seg)) {
            Err(ReadError::Corrupt { reason, .. }) => assert!(
                reason.contains("more than the 65536 bytes its header declares"),
                "{reason}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
