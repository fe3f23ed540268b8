//! What goes wrong while reading, and how a segment ends.
use crate::wire;
use std::path::PathBuf;

/// Why reading failed, or what was found damaged. Damage is reported and reading goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// A path could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a tachylog segment (wrong magic or too short).
    #[error("{}: not a tachylog segment ({reason})", path.display())]
    NotASegment {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The segment was written in a format version this reader does not know.
    #[error("{}: unsupported segment format version {version} (this reader supports versions {} to {})", path.display(), wire::MIN_VERSION, wire::VERSION)]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u16,
    },
    /// A damaged region: a frame whose checksum or structure is wrong.
    #[error("{}: corrupt data at byte offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the damaged frame (or header).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The segment describes more call sites than a reader holds at once (see
    /// [`MAX_CALLSITES`](super::MAX_CALLSITES)); only a forged segment does. The call-site
    /// frame at `offset` and the rest of the segment are not read.
    #[error("{}: call-site frame at byte offset {offset}: more call-site descriptions than a reader holds at once (at most {callsites} of {bytes} bytes in all); the rest of the segment is not read", path.display())]
    TooManyCallsites {
        /// The file.
        path: PathBuf,
        /// Byte offset of the call-site frame.
        offset: u64,
        /// The limit on descriptions.
        callsites: usize,
        /// The limit on their bytes.
        bytes: usize,
    },
}

/// How a segment ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tail {
    /// Sealed: an END frame closes it.
    Sealed,
    /// The file ends exactly where its last frame ends, without an END frame: unsealed (a copy
    /// of the published part of a segment), or sealed and then cut, which is also reported as
    /// damage.
    Clean,
    /// Unsealed, and the space after the last frame is zero: preallocated space the writer had
    /// not reached (a live segment, or one whose writer stopped between frames, as after
    /// `kill -9`).
    ZeroFilled,
    /// Unsealed, and the last frame is incomplete or fails its checksum (the writer stopped in
    /// the middle of it). Nothing of it is emitted.
    Torn,
    /// The file holds nothing but zero bytes, or nothing at all: the writer stopped while
    /// creating it, before its header was written. There is nothing to decode.
    Empty,
}
