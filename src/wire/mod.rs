//! The file format, pure: the segment header, frames and their bodies, value tags, file names,
//! limits and time stamps. No files, no threads: the writer (`storage`, `backend`), the producer
//! (`frontend`) and the reader all build on this module, and it on nothing of theirs.
//!
//! Every structure is `#[repr(C)]` plain old data with explicit padding. The writer serialises
//! them with `bytemuck`; the reader parses untrusted bytes with `zerocopy` (which checks sizes and
//! never panics). All integers are little-endian: the writer only builds for little-endian
//! targets, so the native layout *is* the file layout. `docs/FORMAT.md` is the normative spec,
//! and this module and that document must agree.

#[cfg(not(target_endian = "little"))]
compile_error!("tachylog's segment format is little-endian and the writer maps it natively");

pub mod crc;
mod frame;
mod header;
pub mod limits;
mod name;
pub mod tag;
mod time;

pub use frame::*;
pub use header::*;
pub use name::{COMPRESSED_SUFFIX, Form, SegmentName, file_name, order_key, parse_seq};
pub use time::to_unix_ns;

/// Why bytes are not a segment this crate can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Fewer bytes than a segment header.
    #[error("{len} bytes, shorter than a header")]
    TooShort {
        /// Bytes there were.
        len: usize,
    },
    /// The first eight bytes are not [`MAGIC`].
    #[error("wrong magic bytes")]
    WrongMagic,
    /// A format version this crate does not know.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u16),
}
