//! Compressed segments (docs/FORMAT.md, "Compressed segments"): one compressed by the engine's
//! compressor decodes as its raw form does; a cut one yields the records of every lz4 block
//! before the cut, exactly as the raw segment cut there would, and one with a damaged block
//! yields those of every other block, as the raw segment less that block's bytes would; the
//! damage is reported by file and offset, with exit status 1 (README, "Exit status").
mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

/// Raw bytes in each lz4 block the compressor writes.
const BLOCK: usize = 64 << 10;

/// A sealed 1 MiB raw segment written by the engine (about 17 blocks), and its bytes.
fn sealed() -> &'static (tempfile::TempDir, Vec<u8>) {
    static SEG: OnceLock<(tempfile::TempDir, Vec<u8>)> = OnceLock::new();
    SEG.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        {
            let _s = serial();
            let _g = tachylog::Builder::new()
                .dir(dir.path())
                .name("app")
                .segment_size(1 << 20)
                .overflow(tachylog::Overflow::Block)
                .compress(false)
                .init()
                .unwrap();
            for i in 0..25_000u64 {
                tachylog::info!(target: "app::http", status = 200 + i % 7,
                    "request {} took {} us from {}", i, i * 7919 % 100_003, "10.0.0.7");
                if i % 100 == 99 {
                    // Frames of about 100 records, as a service logging steadily gets: many
                    // frames in each lz4 block.
                    tachylog::flush();
                }
            }
        }
        let first = dir.path().join("app-0000000001.tlog");
        let bytes = std::fs::read(&first).unwrap();
        (dir, bytes)
    })
}

/// `bytes` as the only file of a new directory, named `name`.
fn alone(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    (dir, p)
}

/// The sealed segment compressed by the engine's compressor.
fn compressed() -> &'static Vec<u8> {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    C.get_or_init(|| {
        let (dir, raw) = alone("app-0000000001.tlog", &sealed().1);
        let c = tachylog::compress::compress_segment(&raw).unwrap();
        let bytes = std::fs::read(c).unwrap();
        drop(dir);
        bytes
    })
}

/// Where each block of the lz4 frame `c` starts and ends (size field to checksum), and where
/// its end mark is; parsed here, independently of the reader.
fn blocks(c: &[u8]) -> (Vec<std::ops::Range<usize>>, usize) {
    // Block checksums, content checksum, no content size: the compressor's descriptor.
    assert_eq!((c[4], c[5]), (0x74, 0x40), "frame descriptor");
    let mut at = 7;
    let mut v = Vec::new();
    loop {
        let size = u32::from_le_bytes(c[at..at + 4].try_into().unwrap()) as usize;
        if size == 0 {
            return (v, at);
        }
        let end = at + 4 + (size & 0x7FFF_FFFF) + 4;
        v.push(at..end);
        at = end;
    }
}

fn tachylog(args: &[&str], path: &Path) -> Output {
    bin().args(args).arg(path).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_compressed_segment_decodes_byte_for_byte_as_its_raw_form() {
    let raw = &sealed().1;
    let (_r, raw_path) = alone("app-0000000001.tlog", raw);
    let (_c, lz4_path) = alone("app-0000000001.tlog.lz4", compressed());
    let (b, _) = blocks(compressed());
    assert_eq!(b.len(), raw.len().div_ceil(BLOCK));
    assert!(b.len() >= 10, "{} blocks", b.len());
    for args in [&["decode", "-f", "json"][..], &["decode", "-f", "logfmt"]] {
        let r = tachylog(args, &raw_path);
        let c = tachylog(args, &lz4_path);
        assert_eq!(r.status.code(), Some(0), "{}", text(&r.stderr));
        assert_eq!(c.status.code(), Some(0), "{}", text(&c.stderr));
        assert!(c.stderr.is_empty(), "{}", text(&c.stderr));
        assert!(r.stdout == c.stdout, "{args:?}: the outputs differ");
    }
    let lines = json_lines(&text(
        &tachylog(&["decode", "-f", "json"], &lz4_path).stdout,
    ));
    assert!(lines.len() > 10_000, "{} records", lines.len());
    let v = tachylog(&["verify"], &lz4_path);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stdout));
    assert!(
        text(&v.stdout).contains("OK - seq 1"),
        "{}",
        text(&v.stdout)
    );
}

#[test]
fn a_damaged_compressed_segment_yields_what_the_raw_segment_cut_at_the_damage_yields() {
    let raw = &sealed().1;
    let c = compressed();
    let (b, end_mark) = blocks(c);
    let n = b.len();
    let cut = |at: usize| c[..at].to_vec();
    let mut flipped = c.clone();
    flipped[b[n / 2].start + 200] ^= 0x04;
    // (what, the damaged file, raw bytes before the damage)
    let cases: [(&str, Vec<u8>, usize); 5] = [
        ("cut inside block 2", cut(b[1].start + 1000), BLOCK),
        (
            "cut inside the last block",
            cut(b[n - 1].end - 5),
            (n - 1) * BLOCK,
        ),
        ("cut at a block boundary", cut(b[4].end), 5 * BLOCK),
        ("cut inside the end mark", cut(end_mark + 3), raw.len()),
        (
            "cut inside the content checksum",
            cut(end_mark + 5),
            raw.len(),
        ),
    ];
    let all = json_lines(&text(
        &tachylog(
            &["decode", "-f", "json"],
            &alone("app-0000000001.tlog", raw).1,
        )
        .stdout,
    ))
    .len();
    for (what, file, kept) in cases {
        let (_d, path) = alone("app-0000000001.tlog.lz4", &file);
        // The raw segment cut where the damage is, decoded the same way.
        let (_r, raw_cut) = alone("app-0000000001.tlog", &raw[..kept]);
        let want = tachylog(&["decode", "-f", "json"], &raw_cut);
        let got = tachylog(&["decode", "-f", "json"], &path);
        let (out, err) = (text(&got.stdout), text(&got.stderr));
        println!(
            "{what}: {} of {all} records; stderr: {err}",
            json_lines(&out).len()
        );
        assert!(
            got.stdout == want.stdout,
            "{what}: not what the raw segment cut there gives"
        );
        let records = json_lines(&out).len();
        assert!(records > 0, "{what}");
        if kept < raw.len() {
            assert!(records < all, "{what}");
        } else {
            assert_eq!(records, all, "{what}");
        }
        // The damage, by file and the offset where the loss begins; exit status 1.
        let says = format!("{}: corrupt data at byte offset {kept}: ", path.display());
        assert!(err.contains(&says) && err.contains("lz4"), "{what}: {err}");
        let lost = err.contains("the segment's bytes from here on are lost");
        assert_eq!(lost, kept < raw.len(), "{what}: {err}");
        assert_eq!(got.status.code(), Some(1), "{what}: {err}");
        let v = tachylog(&["verify"], &path);
        let report = text(&v.stdout);
        assert_eq!(v.status.code(), Some(1), "{what}: {report}");
        let lost = format!("damaged bytes {kept}..{}: ", raw.len());
        assert!(
            report.contains("DAMAGED") && report.contains(&lost),
            "{what}: {report}"
        );
        let s = tachylog(&["stats", "--json"], &path);
        assert_eq!(s.status.code(), Some(1), "{what}: {}", text(&s.stderr));
        assert!(
            text(&s.stderr).contains(&says),
            "{what}: {}",
            text(&s.stderr)
        );
    }

    // A byte flipped in a middle block: the blocks after it are read, so the output is the raw
    // segment's with only that block's bytes lost.
    let hole = n / 2 * BLOCK..(n / 2 + 1) * BLOCK;
    let mut holed = raw.clone();
    holed[hole.clone()].fill(0);
    let (_d, path) = alone("app-0000000001.tlog.lz4", &flipped);
    let (_r, raw_holed) = alone("app-0000000001.tlog", &holed);
    let want = tachylog(&["decode", "-f", "json"], &raw_holed);
    let got = tachylog(&["decode", "-f", "json"], &path);
    let err = text(&got.stderr);
    let records = json_lines(&text(&got.stdout)).len();
    println!("a byte flipped in a middle block: {records} of {all} records; stderr: {err}");
    assert!(
        got.stdout == want.stdout,
        "not what the raw segment less that block gives"
    );
    assert!(
        records < all && records > all * 8 / 10,
        "{records} of {all}"
    );
    let says = format!(
        "{}: corrupt data at byte offset {}: lz4 block {}",
        path.display(),
        hole.start,
        n / 2 + 1
    );
    assert!(
        err.contains(&says) && err.contains("the blocks after it are read"),
        "{err}"
    );
    assert_eq!(got.status.code(), Some(1), "{err}");
    let v = tachylog(&["verify"], &path);
    let report = text(&v.stdout);
    assert_eq!(v.status.code(), Some(1), "{report}");
    assert!(
        report.contains(&format!("damaged bytes {}..{}: ", hole.start, hole.end)),
        "{report}"
    );
    assert!(report.contains("tail sealed"), "{report}");
}

#[test]
fn a_compressed_segment_damaged_in_its_first_block_is_damaged_as_a_whole() {
    let c = compressed();
    let (b, _) = blocks(c);
    let mut d = c.clone();
    d[b[0].start + 64] ^= 0x10;
    let (_d, path) = alone("app-0000000001.tlog.lz4", &d);
    let says = format!(
        "{}: corrupt data at byte offset 0: lz4 block 1 (at byte 7 of the compressed file) is \
         damaged: block checksum mismatch; not even the segment header decodes",
        path.display()
    );
    let o = tachylog(&["decode", "-f", "json"], &path);
    assert!(o.stdout.is_empty());
    assert!(text(&o.stderr).contains(&says), "{}", text(&o.stderr));
    assert_eq!(o.status.code(), Some(1));
    let v = tachylog(&["verify"], &path);
    assert!(text(&v.stdout).contains("DAMAGED"), "{}", text(&v.stdout));
    assert_eq!(v.status.code(), Some(1));
}
