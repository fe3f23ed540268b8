//! Frames: the 16-byte frame header, the frame kinds and the fixed parts of their bodies.
use bytemuck::{Pod, Zeroable};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Frames start at multiples of this.
pub const FRAME_ALIGN: usize = 8;

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

impl FrameHeader {
    /// The header of a frame of `kind` holding `payload`, its checksum computed.
    pub fn new(kind: Kind, payload: &[u8]) -> FrameHeader {
        let mut head = FrameHeader {
            len: payload.len() as u32,
            kind: kind as u16,
            flags: 0,
            crc: 0,
            _pad: 0,
        };
        head.crc = frame_crc(&bytemuck::bytes_of(&head)[..8], payload);
        head
    }
}

/// Appends a whole frame of `kind` holding `payload` to `out`: header, payload, and the zero
/// padding to the next [`FRAME_ALIGN`] boundary (which `out`'s length is assumed to be on).
pub fn push_frame(out: &mut Vec<u8>, kind: Kind, payload: &[u8]) {
    out.extend_from_slice(bytemuck::bytes_of(&FrameHeader::new(kind, payload)));
    out.extend_from_slice(payload);
    out.resize(align_up(out.len()), 0);
}

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

/// CRC-32C of a frame: the first 8 header bytes, then the payload.
pub fn frame_crc(header8: &[u8], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(header8), payload)
}

/// Rounds `n` up to the frame alignment.
pub const fn align_up(n: usize) -> usize {
    (n + FRAME_ALIGN - 1) & !(FRAME_ALIGN - 1)
}
