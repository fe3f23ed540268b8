//! Which files a path stands for.
use super::error::ReadError;
use super::load;
use std::path::{Path, PathBuf};

/// Lists the segment files a path stands for: the file itself, or a directory's `*.tlog` and
/// `*.tlog.lz4` files in (prefix, sequence) order. Where a segment exists both raw and
/// compressed (compression stopped between its rename and the removal of the raw file), only
/// the raw file is listed; `*.tmp` files (unfinished compressions) are ignored.
pub fn segment_files(path: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let meta = std::fs::metadata(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let rd = std::fs::read_dir(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut files: Vec<(String, u64, PathBuf)> = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let raw = name.strip_suffix(load::COMPRESSED_SUFFIX).unwrap_or(name);
        let Some(stem) = raw.strip_suffix(".tlog") else {
            continue;
        };
        let (prefix, seq) = match stem.rsplit_once('-') {
            Some((p, d)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
                (p.to_owned(), d.parse().unwrap_or(u64::MAX))
            }
            _ => (stem.to_owned(), 0),
        };
        files.push((prefix, seq, e.path()));
    }
    // Sorting puts `x.tlog` right before `x.tlog.lz4`; keep the first of such a pair.
    files.sort();
    files.dedup_by(|later, earlier| {
        later.0 == earlier.0 && later.1 == earlier.1 && later.2.with_extension("") == earlier.2
    });
    Ok(files.into_iter().map(|(_, _, p)| p).collect())
}
