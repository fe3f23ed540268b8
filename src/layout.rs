//! The on-disk layout: segment header, frame header and fixed frame bodies.
//!
//! Every structure is `#[repr(C)]` plain old data with explicit padding. The writer serialises
//! them with `bytemuck`; the reader parses untrusted bytes with `zerocopy` (which checks sizes and
//! never panics). All integers are little-endian: the writer only builds for little-endian
//! targets, so the native layout *is* the file layout. `docs/FORMAT.md` is the normative spec.
use bytemuck::{Pod, Zeroable};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

#[cfg(not(target_endian = "little"))]
compile_error!("tachylog's segment format is little-endian and the writer maps it natively");

/// First eight bytes of every segment.
pub const MAGIC: [u8; 8] = *b"TACHYLOG";
/// The format version this crate writes and reads.
pub const VERSION: u16 = 1;
/// Header flag: the segment was sealed (truncated to its used length, END frame written).
pub const FLAG_SEALED: u32 = 1;
/// Frames start at multiples of this.
pub const FRAME_ALIGN: usize = 8;

/// Segment header, 128 bytes at offset 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct SegmentHeader {
    /// `b"TACHYLOG"`.
    pub magic: [u8; 8],
    /// Format version ([`VERSION`]).
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

/// Header of every frame, 16 bytes, at an offset that is a multiple of [`FRAME_ALIGN`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct FrameHeader {
    /// Payload length in bytes (the header is not included; padding to 8 is not included).
    pub len: u32,
    /// A [`Kind`] value.
    pub kind: u16,
    /// Zero.
    pub flags: u16,
    /// CRC-32C of the first 8 header bytes followed by the payload.
    pub crc: u32,
    /// Zero.
    pub _pad: u32,
}

/// Size of a frame header.
pub const FRAME_HEADER_LEN: usize = size_of::<FrameHeader>();

/// Frame kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Kind {
    /// A call site's static metadata ([`CallsiteHead`] then strings).
    Callsite = 1,
    /// A producer thread's identity ([`ThreadHead`] then the name).
    Thread = 2,
    /// Records of one producer ([`RecordsHead`] then records).
    Records = 3,
    /// Records a producer lost ([`DroppedBody`]).
    Dropped = 4,
    /// A clock anchor ([`AnchorBody`]).
    Anchor = 5,
    /// The segment's end ([`EndBody`]); nothing follows.
    End = 6,
    /// Kept and skipped counts of sampled call sites ([`SampledHead`] then entries).
    Sampled = 7,
}

impl Kind {
    /// The kind for a raw value, if known.
    pub fn from_u16(v: u16) -> Option<Kind> {
        Some(match v {
            1 => Kind::Callsite,
            2 => Kind::Thread,
            3 => Kind::Records,
            4 => Kind::Dropped,
            5 => Kind::Anchor,
            6 => Kind::End,
            7 => Kind::Sampled,
            _ => return None,
        })
    }
}

/// Fixed part of a call-site frame. Followed by strings, each a `u32` length and UTF-8 bytes:
/// target, module path, file, format string, `n_args` argument names, `n_fields` field names.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct CallsiteHead {
    /// Call-site id, as used by records.
    pub id: u32,
    /// Source line.
    pub line: u32,
    /// Level (1 = ERROR .. 5 = TRACE).
    pub level: u8,
    /// Zero.
    pub _pad: [u8; 3],
    /// Number of format arguments per record.
    pub n_args: u16,
    /// Number of structured fields per record.
    pub n_fields: u16,
}

/// A thread frame. Followed by `name_len` bytes of UTF-8 name.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct ThreadHead {
    /// Producer id, as used by records frames (unique within one engine run).
    pub producer: u32,
    /// Operating-system thread id.
    pub tid: u32,
    /// 1 if the thread has a name.
    pub has_name: u32,
    /// Length of the name.
    pub name_len: u32,
}

/// Fixed part of a records frame; the records follow back to back until the payload ends.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RecordsHead {
    /// Producer id.
    pub producer: u32,
    /// Number of records in the frame.
    pub count: u32,
}

/// Header of one record (in the ring and in a records frame), followed by the encoded values.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct RecordHead {
    /// Whole record length in bytes, this header included.
    pub len: u32,
    /// Call-site id.
    pub callsite: u32,
    /// Tick reading taken on the calling thread.
    pub ticks: u64,
}

/// Size of a record header.
pub const RECORD_HEAD_LEN: usize = size_of::<RecordHead>();

/// Body of a dropped-records frame.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct DroppedBody {
    /// Producer id (0: records lost where no producer could be used, e.g. during thread exit).
    pub producer: u32,
    /// Zero.
    pub _pad: u32,
    /// Records lost since the previous notice for this producer.
    pub count: u64,
    /// Tick reading when the drain noticed the loss.
    pub ticks: u64,
}

/// Body of an anchor frame.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct AnchorBody {
    /// Tick reading.
    pub ticks: u64,
    /// Wall clock at that reading, ns since the Unix epoch.
    pub unix_ns: u64,
    /// Tick rate.
    pub ticks_per_sec: f64,
}

/// Body of the end-of-segment frame.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct EndBody {
    /// Sequence number of the segment that follows.
    pub next_seq: u64,
    /// Records written into this segment.
    pub records: u64,
}

/// Fixed part of a sampled frame; `count` [`SampledEntry`]s follow.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct SampledHead {
    /// Number of entries.
    pub count: u32,
    /// Zero.
    pub _pad: u32,
}

/// Records a sampled call site kept and skipped since the previous sampled frame of the same
/// writing process (summed over its threads).
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct SampledEntry {
    /// Call-site id, described earlier in the same segment.
    pub callsite: u32,
    /// Zero.
    pub _pad: u32,
    /// Records kept.
    pub kept: u64,
    /// Records skipped.
    pub skipped: u64,
}

/// Value tags: one byte before each encoded argument or field.
pub mod tag {
    /// `None`
    pub const NONE: u8 = 0;
    /// `Some`, followed by the inner value
    pub const SOME: u8 = 1;
    /// `u8`
    pub const U8: u8 = 2;
    /// `u16`
    pub const U16: u8 = 3;
    /// `u32`
    pub const U32: u8 = 4;
    /// `u64`, `usize`
    pub const U64: u8 = 5;
    /// `u128`
    pub const U128: u8 = 6;
    /// `i8`
    pub const I8: u8 = 7;
    /// `i16`
    pub const I16: u8 = 8;
    /// `i32`
    pub const I32: u8 = 9;
    /// `i64`, `isize`
    pub const I64: u8 = 10;
    /// `i128`
    pub const I128: u8 = 11;
    /// `f32`
    pub const F32: u8 = 12;
    /// `f64`
    pub const F64: u8 = 13;
    /// `bool` (one byte, 0 or 1)
    pub const BOOL: u8 = 14;
    /// `char` (u32 scalar value)
    pub const CHAR: u8 = 15;
    /// string: u32 length, UTF-8 bytes
    pub const STR: u8 = 16;
    /// text preformatted on the call site: u32 length, UTF-8 bytes
    pub const PRE: u8 = 17;
}

/// CRC-32C of a frame: the first 8 header bytes, then the payload.
pub fn frame_crc(header8: &[u8], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(header8), payload)
}

/// Rounds `n` up to the frame alignment.
pub const fn align_up(n: usize) -> usize {
    (n + FRAME_ALIGN - 1) & !(FRAME_ALIGN - 1)
}
