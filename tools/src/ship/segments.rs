//! The directory's segments as the shipper sees them: their names, their order, and which of
//! them a saved position says are shipped already.
use super::state::Position;
use std::path::{Path, PathBuf};

/// A segment's place in the order the follower reads them: name prefix, then sequence.
pub(super) fn seg_key(raw: &str) -> (&str, u64) {
    tachylog::wire::order_key(raw)
}

/// A segment's file name without the `.lz4` of its compressed form.
pub(super) fn raw_file_name(p: &Path) -> Option<String> {
    let name = p.file_name()?.to_str()?;
    Some(
        name.strip_suffix(tachylog::wire::COMPRESSED_SUFFIX)
            .unwrap_or(name)
            .to_owned(),
    )
}

/// The directory started again since `saved` was written (it was emptied and the writer began
/// at sequence 1 anew): it holds segments of the saved segment's name, and every one of them
/// sorts before it.
pub(super) fn restarted(saved: &Position, files: &[PathBuf]) -> bool {
    let (sp, ss) = seg_key(&saved.segment);
    let names: Vec<String> = files.iter().filter_map(|f| raw_file_name(f)).collect();
    let same: Vec<u64> = names
        .iter()
        .map(|n| seg_key(n))
        .filter(|(p, _)| *p == sp)
        .map(|(_, q)| q)
        .collect();
    !same.is_empty() && same.iter().all(|&q| q < ss)
}

/// The segments of `files` that were shipped in full before `saved` was written: those before
/// its segment, and its segment too when that was complete.
pub(super) fn shipped<'f>(
    saved: &Position,
    files: &'f [PathBuf],
) -> impl Iterator<Item = &'f PathBuf> {
    let at = seg_key(&saved.segment);
    files.iter().filter(move |f| {
        let Some(name) = raw_file_name(f) else {
            return false;
        };
        let k = seg_key(&name);
        k < at || (k == at && saved.complete)
    })
}
