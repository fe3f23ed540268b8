//! Segment files on disk: the writer's segment (`segment`, through the mapping in `file`),
//! the next one prepared and sealed ones cut off the drain thread (`prepare`), retention of
//! sealed segments, and their compression. Never imports the reader: what both
//! sides must agree on is in `wire`.
pub mod compress;
mod prepare;
pub(crate) mod retention;
mod segment;

pub(crate) use prepare::Preparer;
pub(crate) use segment::{Segment, SegmentDir};

// The bytes of a segment being written: a mapped file normally; under loom the in-memory file
// of the loom harness (`testing::memory`), whose frame bytes loom watches, so that the model
// checker sees a reader's access to bytes the drain has not published. The one place outside
// `sync` and `testing` that switches on `cfg(loom)`.
#[cfg(not(loom))]
mod file;
#[cfg(loom)]
use crate::testing::memory::MemFile as SegmentFile;
#[cfg(not(loom))]
use file::MappedFile as SegmentFile;

/// Whether the file at `path` is a segment whose sealed flag is set (`false` if it cannot be
/// read).
pub(crate) fn is_sealed(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; crate::wire::SEALED_PREFIX_LEN];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && crate::wire::sealed_in_prefix(&head)
}
