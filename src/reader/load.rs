//! Loading a whole segment into memory, raw (`*.tlog`) or lz4-compressed (`*.tlog.lz4`).
//!
//! A compressed segment is an lz4 frame (with a content checksum) holding the exact bytes of
//! the sealed raw segment. Decompression is bounded: first the 128-byte segment header, then at
//! most the `segment_size` that header declares (itself capped at [`MAX_SEGMENT_BYTES`]), so a
//! hostile file cannot make the reader allocate more than the writer could have produced.
use super::ReadError;
use crate::layout::{self, HEADER_LEN, SegmentHeader};
use std::io::Read;
use std::path::Path;
use zerocopy::FromBytes;

/// What a compressed segment's file name ends with (after the raw name's `.tlog`).
pub const COMPRESSED_SUFFIX: &str = ".lz4";

/// Largest segment the reader accepts (record offsets are kept as `u32`).
pub const MAX_SEGMENT_BYTES: u64 = u32::MAX as u64;

/// Reads the segment at `path`, decompressing it if its name ends with `.lz4`.
pub fn load_segment(path: &Path) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let compressed = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(COMPRESSED_SUFFIX));
    let file = std::fs::File::open(path).map_err(io)?;
    if !compressed {
        let len = file.metadata().map_err(io)?.len();
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
    let declared = match SegmentHeader::read_from_prefix(&data) {
        Ok((h, _)) if h.magic == layout::MAGIC => h.segment_size,
        _ => {
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
