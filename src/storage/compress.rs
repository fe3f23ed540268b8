//! Compression of sealed segments with lz4, off the drain thread.
//!
//! A sealed `<name>-<seq>.tlog` becomes `<name>-<seq>.tlog.lz4` (an lz4 frame of independent
//! 64 KiB blocks, each with its checksum, and a content checksum, holding the exact
//! bytes of the raw file: docs/FORMAT.md, "Compressed segments") in four steps: write
//! `<name>-<seq>.tlog.lz4.tmp`, `fsync` it, rename it to `.tlog.lz4` (atomic), then remove the raw
//! file. A crash therefore leaves the raw file, or the compressed one, or both (readers then use
//! the raw one), never a half-written `.tlog.lz4`; a leftover `.tmp` is ignored by readers and
//! removed when the engine next starts in that directory. The compressed file is created with
//! mode 0640, as raw segments are.
//!
//! Retention (on the drain thread) may delete a segment while it is being compressed. The
//! rename happens under the lock retention deletes under (`storage::renaming`), and only while
//! the raw file is still there: a segment retention deleted is not brought back as its
//! compressed copy; one it deletes after the rename goes in both forms. Either way it is
//! counted once.
#![forbid(unsafe_code)]

use crate::sync::mpsc::{Receiver, Sender, channel};
use crate::wire::{COMPRESSED_SUFFIX, Form, SegmentName};
use std::fs::File;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The lz4 block size of compressed segments. Blocks are compressed independently, each with
/// its own checksum, so a reader decodes every block before a damaged one: damage costs what
/// follows it, from the start of its block. Smaller blocks lose less and compress a little
/// worse (docs/FORMAT.md, "Compressed segments").
const BLOCK_SIZE: lz4_flex::frame::BlockSize = lz4_flex::frame::BlockSize::Max64KB;

/// The lz4 frame settings of compressed segments.
fn frame_info() -> lz4_flex::frame::FrameInfo {
    lz4_flex::frame::FrameInfo::new()
        .block_size(BLOCK_SIZE)
        .block_mode(lz4_flex::frame::BlockMode::Independent)
        .block_checksums(true)
        .content_checksum(true)
}

/// Suffix of an unfinished compression.
const TMP_SUFFIX: &str = Form::CompressTmp.extra();

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Compresses the sealed raw segment at `path` into `<path>.lz4` and removes the raw file.
/// Returns the compressed file's path. On error the raw file is left as it was.
pub fn compress_segment(path: &Path) -> io::Result<PathBuf> {
    let tmp = with_suffix(path, TMP_SUFFIX);
    let dst = with_suffix(path, COMPRESSED_SUFFIX);
    let result = (|| {
        let mut src = io::BufReader::with_capacity(1 << 20, File::open(path)?);
        let out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(&tmp)?;
        let mut enc =
            lz4_flex::frame::FrameEncoder::with_frame_info(frame_info(), io::BufWriter::new(out));
        io::copy(&mut src, &mut enc)?;
        let out = enc
            .finish()
            .map_err(io::Error::other)?
            .into_inner()
            .map_err(|e| e.into_error())?;
        out.sync_all()?;
        drop(out);
        {
            let _files = super::renaming();
            if std::fs::symlink_metadata(path).is_err() {
                // Retention deleted the segment meanwhile.
                return Err(io::Error::from(io::ErrorKind::NotFound));
            }
            std::fs::rename(&tmp, &dst)?;
        }
        if let Some(dir) = path.parent() {
            // Make the rename durable before the raw file goes.
            File::open(dir)?.sync_all()?;
        }
        remove_raw(path, &dst)
    })();
    match result {
        Ok(()) => Ok(dst),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Removes the raw file `path` once its compressed copy `dst` is in place. If the raw file is
/// gone already, something deleted the segment meanwhile (retention removes both forms at
/// once): `dst` goes too, and the result is the `NotFound` error.
fn remove_raw(path: &Path, dst: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let _ = std::fs::remove_file(dst);
            Err(e)
        }
        r => r,
    }
}

/// Tidies `dir` for segments named `name`: removes unfinished compressions, removes raw files
/// whose compressed copy is complete, and returns sealed raw segments still to be compressed.
fn tidy(dir: &Path, name: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut todo = Vec::new();
    for e in rd.flatten() {
        let file = e.file_name();
        let Some(f) = file.to_str() else { continue };
        let path = e.path();
        let form = SegmentName::of(name, f).map(|n| n.form);
        if form == Some(Form::CompressTmp) {
            let _ = std::fs::remove_file(&path);
        } else if form == Some(Form::Raw) {
            if with_suffix(&path, COMPRESSED_SUFFIX).exists() {
                let _ = std::fs::remove_file(&path);
            } else if super::is_sealed(&path) {
                todo.push(path);
            }
        }
    }
    todo.sort();
    todo
}

/// The compressor thread: compresses each sealed segment path it is sent, until every sender
/// is gone.
pub(crate) fn spawn(
    dir: &Path,
    name: &str,
) -> io::Result<(Sender<PathBuf>, crate::sync::thread::JoinHandle<()>)> {
    let (tx, rx): (Sender<PathBuf>, Receiver<PathBuf>) = channel();
    let backlog = tidy(dir, name);
    let handle = crate::sync::thread::Builder::new()
        .name("tachylog-compress".into())
        .spawn(move || {
            for p in backlog.into_iter().chain(rx) {
                // On failure the raw segment stays, and stays readable: nothing is lost.
                let _ = compress_segment(&p);
            }
        })?;
    Ok((tx, handle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{self, FLAGS_OFFSET, HEADER_LEN};
    use std::io::Read;
    use std::io::Write;

    #[test]
    fn compressed_copy_decompresses_to_the_same_bytes_and_replaces_the_raw_file() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("t-0000000001.tlog");
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        std::fs::File::create(&raw)
            .unwrap()
            .write_all(&data)
            .unwrap();
        let c = compress_segment(&raw).unwrap();
        assert_eq!(c, dir.path().join("t-0000000001.tlog.lz4"));
        assert!(!raw.exists());
        assert!(!with_suffix(&raw, TMP_SUFFIX).exists());
        let mut back = Vec::new();
        lz4_flex::frame::FrameDecoder::new(File::open(&c).unwrap())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert!(std::fs::metadata(&c).unwrap().len() < data.len() as u64 / 2);
    }

    #[test]
    fn compressed_files_have_checksummed_independent_64_kib_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("t-0000000001.tlog");
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 1000).to_le_bytes())
            .collect();
        std::fs::write(&raw, &data).unwrap();
        let c = std::fs::read(compress_segment(&raw).unwrap()).unwrap();
        // The frame descriptor (docs/FORMAT.md, "Compressed segments"): FLG is version 01,
        // independent blocks, block checksums, no content size, content checksum, no
        // dictionary; BD gives 64 KiB blocks.
        assert_eq!(c[..4], 0x184D_2204u32.to_le_bytes());
        assert_eq!(c[4], 0b0111_0100, "FLG {:08b}", c[4]);
        assert_eq!(c[5], 4 << 4, "BD {:08b}", c[5]);
        // Blocks of 64 KiB of raw bytes each, every one followed by its checksum.
        let mut at = 7;
        let mut blocks = 0;
        loop {
            let size = u32::from_le_bytes(c[at..at + 4].try_into().unwrap());
            if size == 0 {
                break;
            }
            blocks += 1;
            at += 4 + (size & 0x7FFF_FFFF) as usize + 4;
        }
        assert_eq!(blocks, data.len().div_ceil(64 << 10));
        // The end mark, then the content checksum, and nothing after.
        assert_eq!(at + 8, c.len());
    }

    #[test]
    fn a_segment_deleted_while_compressing_goes_in_both_forms() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("t-0000000001.tlog");
        let dst = with_suffix(&raw, COMPRESSED_SUFFIX);
        // The copy is in place and the raw file still there: the raw file goes.
        std::fs::write(&raw, b"raw").unwrap();
        std::fs::write(&dst, b"lz4").unwrap();
        remove_raw(&raw, &dst).unwrap();
        assert!(!raw.exists() && dst.exists());
        // Retention took the raw file first: the copy goes too.
        let e = remove_raw(&raw, &dst).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(!dst.exists());
    }

    #[test]
    fn the_compressed_file_has_the_raw_files_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("t-0000000001.tlog");
        std::fs::write(&raw, b"raw bytes").unwrap();
        let c = compress_segment(&raw).unwrap();
        let mode = std::fs::metadata(&c).unwrap().permissions().mode() & 0o777;
        // 0640, less what the test's umask takes away; never readable by others.
        assert_eq!(mode & !0o640, 0, "{mode:o}");
    }

    #[test]
    fn tidy_removes_leftovers_and_finds_uncompressed_sealed_segments() {
        let dir = tempfile::tempdir().unwrap();
        let p = |f: &str| dir.path().join(f);
        std::fs::write(p("t-0000000001.tlog.lz4.tmp"), b"half").unwrap();
        std::fs::write(p("t-0000000002.tlog"), b"raw").unwrap();
        std::fs::write(p("t-0000000002.tlog.lz4"), b"done").unwrap();
        let mut sealed = vec![0u8; HEADER_LEN];
        sealed[..8].copy_from_slice(&wire::MAGIC);
        sealed[FLAGS_OFFSET] = wire::FLAG_SEALED as u8;
        std::fs::write(p("t-0000000003.tlog"), &sealed).unwrap();
        sealed[FLAGS_OFFSET] = 0;
        std::fs::write(p("t-0000000004.tlog"), &sealed).unwrap();
        std::fs::write(p("other-0000000005.tlog.lz4.tmp"), b"not ours").unwrap();
        assert_eq!(tidy(dir.path(), "t"), vec![p("t-0000000003.tlog")]);
        assert!(!p("t-0000000001.tlog.lz4.tmp").exists());
        assert!(!p("t-0000000002.tlog").exists());
        assert!(p("t-0000000002.tlog.lz4").exists());
        assert!(p("t-0000000004.tlog").exists());
        assert!(p("other-0000000005.tlog.lz4.tmp").exists());
    }
}
