//! Segment files on disk: the writer's segment (`segment`, through the mapping in `file`),
//! the next one prepared and sealed ones cut off the drain thread (`prepare`), retention of
//! sealed segments, and their compression. Never imports the reader: what both
//! sides must agree on is in `wire`.
pub mod compress;
mod prepare;
pub mod recover;
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

crate::sync::model_static! {
    /// Held while a sealed segment's files are renamed or removed: by the compressor while it
    /// checks that the raw file is still there and renames its copy into place, by retention
    /// while it removes a segment's files. So retention never removes a segment whose copy
    /// appears afterwards (and would be found, and counted, again). Both hold it for a few
    /// metadata operations, never for I/O of the data.
    static SEGMENT_FILES: crate::sync::Mutex<()> = crate::sync::Mutex::new(());
}

/// Holds [`SEGMENT_FILES`] for as long as the guard lives.
pub(crate) fn renaming() -> crate::sync::MutexGuard<'static, ()> {
    crate::sync::lock(&SEGMENT_FILES)
}

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

/// Creates the log directory `dir` and any missing parents with mode 0750 (less what the umask
/// takes away): segments are readable by the owner's group at most, and so is their listing.
/// A directory that exists already is left as it is.
pub(crate) fn create_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
}
