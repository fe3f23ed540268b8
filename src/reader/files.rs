//! Which files a path stands for.
use super::error::ReadError;
use crate::wire::{Form, SegmentName};
use std::path::{Path, PathBuf};

/// Lists the segment files a path stands for: the file itself, or a directory's `*.tlog` and
/// `*.tlog.lz4` files in (prefix, sequence) order. Where a segment exists both raw and
/// compressed (compression stopped between its rename and the removal of the raw file), only
/// the raw file is listed; `*.tmp` files (unfinished compressions) are ignored.
///
/// A file that ends like a segment but is not named `<prefix>-<sequence>` (`x.tlog`) is listed
/// too, sorted by its whole stem as if its sequence were 0; one whose sequence does not fit a
/// `u64` sorts last among its prefix.
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
    // (prefix, sequence, path) is the order; the stem and form find a raw and compressed pair.
    let mut files: Vec<(String, u64, PathBuf, String, Form)> = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((stem, form)) = Form::split(name) else {
            continue;
        };
        // Work files of the writer: a compression in progress, a segment prepared ahead.
        if matches!(form, Form::CompressTmp | Form::Prepared) {
            continue;
        }
        let (prefix, seq) = match SegmentName::parse(name) {
            Some(n) => (n.prefix, n.seq),
            None => match stem.rsplit_once('-') {
                // Digits, but more than a u64 holds.
                Some((p, d)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
                    (p, u64::MAX)
                }
                _ => (stem, 0),
            },
        };
        files.push((prefix.to_owned(), seq, e.path(), stem.to_owned(), form));
    }
    // Sorting puts `x.tlog` right before `x.tlog.lz4`; keep the first of such a pair.
    files.sort();
    files.dedup_by(|later, earlier| {
        later.3 == earlier.3 && earlier.4 == Form::Raw && later.4 == Form::Compressed
    });
    Ok(files.into_iter().map(|(_, _, p, ..)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_raw_before_compressed_in_sequence_order_and_keeps_odd_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let names = [
            "app-0000000010.tlog",
            "app-0000000002.tlog.lz4",
            "app-0000000002.tlog",
            "app-0000000003.tlog.lz4",
            "app-0000000004.tlog.lz4.tmp",
            "app-99999999999999999999.tlog",
            "app-0000000001.tlog",
            "x.tlog",
            "x.tlog.lz4",
            "b-c-7.tlog",
            "notes.txt",
            "app-0000000005.lz4",
        ];
        for n in names {
            std::fs::write(dir.path().join(n), b"").expect("write");
        }
        let listed: Vec<String> = segment_files(dir.path())
            .expect("list")
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            listed,
            [
                "app-0000000001.tlog",
                "app-0000000002.tlog",
                "app-0000000003.tlog.lz4",
                "app-0000000010.tlog",
                "app-99999999999999999999.tlog",
                "b-c-7.tlog",
                "x.tlog",
            ]
        );
        let file = dir.path().join("notes.txt");
        assert_eq!(segment_files(&file).expect("file"), [file]);
    }
}
