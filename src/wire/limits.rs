//! Every size limit of the format, in one table: the Builder refuses settings beyond them, the
//! producer drops (and counts) records beyond them, and the reader refuses files beyond them.
//! A value past a limit is never wrapped into a smaller field.
//!
//! | limit | value | why |
//! | --- | ---: | --- |
//! | [`MAX_SEGMENT_BYTES`] | 4 GiB − 1 | readers keep frame offsets as `u32` |
//! | [`MAX_RING_BYTES`] | 1 GiB | a record must fit its ring, and its `u32` length field |
//! | [`MAX_RECORD_BYTES`] | 1 GiB | the largest ring |
//! | [`MAX_STRING_BYTES`] | 1 GiB − 21 | a string value inside the largest record |
//! | [`MIN_RING_BYTES`] | 4 KiB | room for a few records of ordinary size |
//! | [`MIN_SEGMENT_BYTES`] | 16 KiB | room for the header and a few frames |
//!
//! A segment must also be at least twice its writer's ring, so that any record fits.
use super::{FRAME_HEADER_LEN, HEADER_LEN, RECORD_HEAD_LEN};

/// Largest segment file a writer may reserve and a reader accepts.
pub const MAX_SEGMENT_BYTES: u64 = u32::MAX as u64;
/// Largest ring a producer thread may have.
pub const MAX_RING_BYTES: usize = 1 << 30;
/// Largest record (header included): one that fills the largest ring.
pub const MAX_RECORD_BYTES: usize = MAX_RING_BYTES;
/// Largest string or preformatted value: what the largest record holds after its header, the
/// value's tag and its `u32` length.
pub const MAX_STRING_BYTES: usize = MAX_RECORD_BYTES - RECORD_HEAD_LEN - 5;
/// Smallest ring the Builder accepts.
pub const MIN_RING_BYTES: usize = 4 * 1024;
/// Smallest segment the Builder accepts.
pub const MIN_SEGMENT_BYTES: usize = 16 * 1024;

// The largest record, framed, fits the largest segment, and every length fits its u32 field.
const _: () = assert!(
    (HEADER_LEN + FRAME_HEADER_LEN + MAX_RECORD_BYTES) as u64 <= MAX_SEGMENT_BYTES
        && MAX_RECORD_BYTES <= u32::MAX as usize
        && 2 * MAX_RING_BYTES as u64 <= MAX_SEGMENT_BYTES + 1
);
