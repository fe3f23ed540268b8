//! The segment header: 128 bytes at offset 0 of every segment, written once by the writer
//! ([`SegmentHeader::new`]) and checked by readers ([`SegmentHeader::parse`]), side by side.
use bytemuck::{Pod, Zeroable};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// First eight bytes of every segment.
pub const MAGIC: [u8; 8] = *b"TACHYLOG";
/// The format version this crate writes. It reads every version from [`MIN_VERSION`] up to it.
///
/// - 1: the first.
/// - 2: adds the value tag [`FORMATTED`](super::tag::FORMATTED), text formatted on the call
///   site with its placeholder's whole spec. A version 1 reader would not know the tag.
pub const VERSION: u16 = 2;
/// The oldest format version this crate reads.
pub const MIN_VERSION: u16 = 1;
/// Header flag: the segment was sealed (truncated to its used length, END frame written).
pub const FLAG_SEALED: u32 = 1;
/// Header flag: the segment was left unsealed by a writer that died and was sealed afterwards
/// by recovery (cut to its last valid frame, END appended). Set together with
/// [`FLAG_SEALED`]; a reader that ignores it reads a sealed segment.
pub const FLAG_RECOVERED: u32 = 2;

/// Segment header, 128 bytes at offset 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct SegmentHeader {
    /// `b"TACHYLOG"`.
    pub magic: [u8; 8],
    /// Format version ([`VERSION`] when written by this crate).
    pub version: u16,
    /// Size of this header in bytes (128); frames start here.
    pub header_len: u16,
    /// Zero.
    pub _pad0: u32,
    /// Segment sequence number, strictly increasing per directory and name.
    pub seq: u64,
    /// Wall-clock creation time, ns since the Unix epoch.
    pub created_unix_ns: u64,
    /// Clock anchor: a tick reading ...
    pub anchor_ticks: u64,
    /// ... and the wall-clock time at that reading ...
    pub anchor_unix_ns: u64,
    /// ... and the tick rate in ticks per second.
    pub ticks_per_sec: f64,
    /// Bytes reserved for the segment when it was created.
    pub segment_size: u64,
    /// Id of the writing process.
    pub pid: u32,
    /// CRC-32C of bytes `0..68` (everything above).
    pub header_crc: u32,
    /// End of the last complete frame (an offset from the start of the file). The drain stores
    /// it with release ordering after the frames are written; live readers load it with acquire.
    pub committed: u64,
    /// [`FLAG_SEALED`] once sealed.
    pub flags: u32,
    /// Zero.
    pub _pad1: u32,
    /// Zero.
    pub _reserved: [u64; 5],
}

/// Byte offset of [`SegmentHeader::committed`].
pub const COMMITTED_OFFSET: usize = 72;
/// Byte offset of [`SegmentHeader::flags`].
pub const FLAGS_OFFSET: usize = 80;
/// Bytes covered by [`SegmentHeader::header_crc`].
pub const HEADER_CRC_SPAN: usize = 68;
/// Size of the segment header.
pub const HEADER_LEN: usize = size_of::<SegmentHeader>();
const _: () = assert!(HEADER_LEN == 128);

/// What a writer puts in a new segment's header.
#[derive(Debug, Clone, Copy)]
pub struct NewHeader {
    /// Segment sequence number.
    pub seq: u64,
    /// Creation time, ns since the Unix epoch.
    pub created_unix_ns: u64,
    /// Clock anchor: a tick reading, the wall-clock time at it, and the tick rate.
    pub anchor_ticks: u64,
    /// See `anchor_ticks`.
    pub anchor_unix_ns: u64,
    /// See `anchor_ticks`.
    pub ticks_per_sec: f64,
    /// Bytes reserved for the segment.
    pub segment_size: u64,
    /// Writer's process id.
    pub pid: u32,
}

/// A header that parsed, and whether its checksum held.
#[derive(Debug, Clone, Copy)]
pub struct ParsedHeader {
    /// The header as read.
    pub header: SegmentHeader,
    /// False if the checksum or `header_len` is wrong: the clock anchor is then not trusted.
    pub intact: bool,
}

/// How many leading bytes of a file [`sealed_in_prefix`] needs.
pub const SEALED_PREFIX_LEN: usize = FLAGS_OFFSET + 4;

/// Whether `prefix` (a file's first [`SEALED_PREFIX_LEN`] bytes or more) starts a segment
/// whose sealed flag is set.
pub fn sealed_in_prefix(prefix: &[u8]) -> bool {
    prefix.len() >= SEALED_PREFIX_LEN
        && prefix[..8] == MAGIC
        && u32::from_le_bytes([
            prefix[FLAGS_OFFSET],
            prefix[FLAGS_OFFSET + 1],
            prefix[FLAGS_OFFSET + 2],
            prefix[FLAGS_OFFSET + 3],
        ]) & FLAG_SEALED
            != 0
}

impl SegmentHeader {
    /// The bytes of a new, unsealed segment's header, checksum included.
    pub fn encode(h: &NewHeader) -> [u8; HEADER_LEN] {
        let header = SegmentHeader {
            magic: MAGIC,
            version: VERSION,
            header_len: HEADER_LEN as u16,
            _pad0: 0,
            seq: h.seq,
            created_unix_ns: h.created_unix_ns,
            anchor_ticks: h.anchor_ticks,
            anchor_unix_ns: h.anchor_unix_ns,
            ticks_per_sec: h.ticks_per_sec,
            segment_size: h.segment_size,
            pid: h.pid,
            header_crc: 0,
            committed: HEADER_LEN as u64,
            flags: 0,
            _pad1: 0,
            _reserved: [0; 5],
        };
        let mut bytes = [0u8; HEADER_LEN];
        bytes.copy_from_slice(bytemuck::bytes_of(&header));
        let crc = crc32c::crc32c(&bytes[..HEADER_CRC_SPAN]);
        bytes[HEADER_CRC_SPAN..HEADER_CRC_SPAN + 4].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Checks magic, then version, then the checksum, in that order: a wrong magic or version
    /// is an error; a failed checksum is reported in [`ParsedHeader::intact`].
    pub fn parse(bytes: &[u8]) -> Result<ParsedHeader, super::FormatError> {
        let Ok((header, _)) = SegmentHeader::read_from_prefix(bytes) else {
            return Err(super::FormatError::TooShort { len: bytes.len() });
        };
        if header.magic != MAGIC {
            return Err(super::FormatError::WrongMagic);
        }
        if !(MIN_VERSION..=VERSION).contains(&header.version) {
            return Err(super::FormatError::UnsupportedVersion(header.version));
        }
        let crc = crc32c::crc32c(&bytes[..HEADER_CRC_SPAN]);
        let intact = crc == header.header_crc && header.header_len as usize == HEADER_LEN;
        Ok(ParsedHeader { header, intact })
    }

    /// Whether `bytes` start with a header its writer has finished writing: the magic, a
    /// `header_len` of 128 and a checksum over bytes 0..68 that holds, whatever the version. A
    /// live reader waits for a file that does not start so yet (`docs/FORMAT.md`, "Reading a
    /// live segment"): the writer may be creating it.
    pub fn is_complete(bytes: &[u8]) -> bool {
        let Ok((header, _)) = SegmentHeader::read_from_prefix(bytes) else {
            return false;
        };
        header.magic == MAGIC
            && header.header_len as usize == HEADER_LEN
            && crc32c::crc32c(&bytes[..HEADER_CRC_SPAN]) == header.header_crc
    }

    /// Whether the sealed flag is set.
    pub fn is_sealed(&self) -> bool {
        self.flags & FLAG_SEALED != 0
    }

    /// Whether recovery sealed it (its writer died without sealing it).
    pub fn is_recovered(&self) -> bool {
        self.flags & FLAG_RECOVERED != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_and_parse_agree() {
        let bytes = SegmentHeader::encode(&NewHeader {
            seq: 7,
            created_unix_ns: 1,
            anchor_ticks: 2,
            anchor_unix_ns: 3,
            ticks_per_sec: 1e9,
            segment_size: 65536,
            pid: 42,
        });
        let p = SegmentHeader::parse(&bytes).unwrap();
        assert!(p.intact && !p.header.is_sealed());
        assert_eq!(
            (p.header.seq, p.header.pid, p.header.committed),
            (7, 42, 128)
        );
        assert!(SegmentHeader::is_complete(&bytes));
        assert!(!SegmentHeader::is_complete(&bytes[..HEADER_LEN - 1]));
        assert!(!SegmentHeader::is_complete(&[0; HEADER_LEN]));
        let mut bad = bytes;
        bad[20] ^= 1;
        assert!(!SegmentHeader::parse(&bad).unwrap().intact);
        assert!(!SegmentHeader::is_complete(&bad));
        bad[0] = b'X';
        assert_eq!(
            SegmentHeader::parse(&bad).unwrap_err(),
            super::super::FormatError::WrongMagic
        );
        assert_eq!(
            SegmentHeader::parse(&bytes[..100]).unwrap_err(),
            super::super::FormatError::TooShort { len: 100 }
        );
    }

    #[test]
    fn reads_every_version_from_the_first_and_refuses_others() {
        let new = NewHeader {
            seq: 1,
            created_unix_ns: 1,
            anchor_ticks: 2,
            anchor_unix_ns: 3,
            ticks_per_sec: 1e9,
            segment_size: 65536,
            pid: 42,
        };
        let bytes = SegmentHeader::encode(&new);
        assert_eq!(SegmentHeader::parse(&bytes).unwrap().header.version, 2);
        for v in [0u16, 1, 2, 3] {
            let mut b = bytes;
            b[8..10].copy_from_slice(&v.to_le_bytes());
            let got = SegmentHeader::parse(&b).map(|p| p.header.version);
            match v {
                1 | 2 => assert_eq!(got, Ok(v)),
                _ => assert_eq!(got, Err(super::super::FormatError::UnsupportedVersion(v))),
            }
        }
    }
}
