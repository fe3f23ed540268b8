//! Time-based rotation and retention of sealed segments.
//!
//! Rotation by time happens at multiples of the period since the Unix epoch (UTC): with
//! `rotate_every(1 hour)` a segment covers at most one wall-clock hour, `12:00:00` up to
//! `13:00:00`. A period in which nothing was logged creates no segment.
//!
//! Retention looks at the sealed segments of this directory and name, in both forms: raw
//! `<name>-<seq>.tlog` (with the sealed flag set in its header) and compressed
//! `<name>-<seq>.tlog.lz4`. The segment being written, and anything with an equal or higher
//! sequence number, is never touched; neither is a raw segment whose header is not sealed (one
//! left behind by a crash, or written by another process), which is also not counted. Limits:
//!
//! - `max_segments`: at most this many segments, the live one included; the oldest go first.
//! - `max_total_bytes`: the sealed files' sizes plus the live segment's reservation (and the
//!   next segment's, while it is prepared ahead) stay at or under this; the oldest go first.
//! - `max_age`: a sealed segment whose file was last modified longer ago than this goes.
//!
//! Both forms of one sequence number are one segment: counted once, their sizes added, deleted
//! together. The compressor thread may turn a raw file into its compressed form between the
//! listing and the deletion: deleting a segment removes its raw file and its compressed name,
//! whether listed or not, under the lock the compressor renames under (`storage::renaming`),
//! which renames only while the raw file is there. So nothing of a deleted segment comes back,
//! and a segment counts as removed once, when a file of it was removed and none failed to be. Retention runs on the drain thread each time a segment
//! is created, and, when `max_age` is set, at most once a second in between.
use crate::runtime::RetentionLimits as Limits;
use crate::wire::{Form, SegmentName};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How often (at most) the drain checks `max_age` between rotations.
pub(crate) const AGE_CHECK_EVERY: Duration = Duration::from_secs(1);

/// The first wall-clock boundary after `now_ns` for a period of `every` (a multiple of
/// `every` since the Unix epoch).
pub(crate) fn next_boundary(now_ns: u64, every: Duration) -> u64 {
    let p = (every.as_nanos() as u64).max(1);
    (now_ns / p).saturating_add(1).saturating_mul(p)
}

/// The sequence number of a segment file of `name`, raw or compressed (a compression in
/// progress and a segment prepared ahead of use are not segments yet).
pub(crate) fn parse_any_seq(name: &str, file: &str) -> Option<u64> {
    SegmentName::of(name, file)
        .filter(|n| matches!(n.form, Form::Raw | Form::Compressed))
        .map(|n| n.seq)
}

/// One sealed segment on disk, in one or both forms.
#[derive(Debug)]
struct OnDisk {
    seq: u64,
    files: Vec<PathBuf>,
    bytes: u64,
    modified: SystemTime,
}

/// Sealed segments of `name` in `dir` below `live_seq`, oldest first.
fn sealed_segments(dir: &Path, name: &str, live_seq: u64) -> std::io::Result<Vec<OnDisk>> {
    let mut by_seq: std::collections::BTreeMap<u64, OnDisk> = Default::default();
    for e in std::fs::read_dir(dir)?.flatten() {
        let file = e.file_name();
        let Some(file) = file.to_str() else { continue };
        let Some(seq) = parse_any_seq(name, file) else {
            continue;
        };
        if seq >= live_seq {
            continue;
        }
        let path = e.path();
        // `symlink_metadata`: a link planted under a segment's name is neither followed nor
        // counted.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_file()
            || (!file.ends_with(Form::Compressed.suffix()) && !super::is_sealed(&path))
        {
            continue;
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let seg = by_seq.entry(seq).or_insert(OnDisk {
            seq,
            files: Vec::new(),
            bytes: 0,
            modified,
        });
        seg.files.push(path);
        seg.bytes += meta.len();
        seg.modified = seg.modified.max(modified);
    }
    Ok(by_seq.into_values().collect())
}

/// Which of `segs` (oldest first) must go under `limits`, given the live segment's size on
/// disk. Returns how many of the oldest to delete, plus those further in that are too old.
fn to_delete(segs: &[OnDisk], live_bytes: u64, limits: &Limits, now: SystemTime) -> Vec<usize> {
    let mut count = segs.len() + 1;
    let mut total: u64 = segs.iter().map(|s| s.bytes).sum::<u64>() + live_bytes;
    let mut out = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let over_count = limits.max_segments.is_some_and(|m| count > m.max(1));
        let over_bytes = limits.max_total_bytes.is_some_and(|m| total > m);
        let too_old = limits
            .max_age
            .is_some_and(|a| now.duration_since(s.modified).is_ok_and(|age| age > a));
        if over_count || over_bytes || too_old {
            out.push(i);
            count -= 1;
            total -= s.bytes;
        }
    }
    out
}

/// Applies `limits` to the sealed segments of `name` in `dir` older than `live_seq`. Returns
/// the number of segments deleted. Errors listing the directory are returned; a file that
/// cannot be deleted is skipped (and tried again next time).
pub(crate) fn apply(
    dir: &Path,
    name: &str,
    live_seq: u64,
    live_bytes: u64,
    limits: &Limits,
) -> std::io::Result<u64> {
    if !limits.is_set() {
        return Ok(0);
    }
    let segs = sealed_segments(dir, name, live_seq)?;
    let mut removed = 0;
    for i in to_delete(&segs, live_bytes, limits, SystemTime::now()) {
        debug_assert!(segs[i].seq < live_seq);
        if delete(&segs[i].files) {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Deletes one segment's files, listed in either form, and the compressed name of a listed
/// raw file (the compressor may have renamed it since). True when some file was removed and
/// none failed to be: the segment was there and is gone. A file already gone is no failure.
fn delete(files: &[PathBuf]) -> bool {
    let mut paths: Vec<PathBuf> = files.to_vec();
    for f in files {
        if f.to_string_lossy().ends_with(Form::Raw.suffix()) {
            let mut lz4 = f.as_os_str().to_owned();
            lz4.push(crate::wire::COMPRESSED_SUFFIX);
            let lz4 = PathBuf::from(lz4);
            if !paths.contains(&lz4) {
                paths.push(lz4);
            }
        }
    }
    let (mut any, mut failed) = (false, false);
    let _files = super::renaming();
    for p in &paths {
        match std::fs::remove_file(p) {
            Ok(()) => any = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => failed = true,
        }
    }
    any && !failed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(seq: u64, bytes: u64, age_s: u64, now: SystemTime) -> OnDisk {
        OnDisk {
            seq,
            files: Vec::new(),
            bytes,
            modified: now - Duration::from_secs(age_s),
        }
    }

    #[test]
    fn boundaries_are_multiples_of_the_period() {
        let h = Duration::from_secs(3600);
        let t = 1_700_000_123 * 1_000_000_000u64;
        let b = next_boundary(t, h);
        assert_eq!(b % 3_600_000_000_000, 0);
        assert!(b > t && b - t <= 3_600_000_000_000);
        assert_eq!(
            next_boundary(b, h),
            b + 3_600_000_000_000,
            "exactly on one: the next"
        );
    }

    #[test]
    fn lz4_names_parse_like_raw_ones() {
        assert_eq!(parse_any_seq("app", "app-0000000007.tlog.lz4"), Some(7));
        assert_eq!(parse_any_seq("app", "app-0000000007.tlog"), Some(7));
        assert_eq!(parse_any_seq("app", "app-0000000007.lz4"), None);
        assert_eq!(parse_any_seq("app", "app-0000000007.tlog.lz4.tmp"), None);
        assert_eq!(parse_any_seq("app", "app-0000000007.tlog.prep"), None);
    }

    #[test]
    fn oldest_go_first_until_every_limit_holds() {
        let now = SystemTime::now();
        let segs: Vec<_> = (1..=5).map(|s| seg(s, 100, 10, now)).collect();
        let count = Limits {
            max_segments: Some(3),
            ..Default::default()
        };
        // 5 sealed + live = 6; keep 3 in all: delete the 3 oldest.
        assert_eq!(to_delete(&segs, 100, &count, now), vec![0, 1, 2]);
        let bytes = Limits {
            max_total_bytes: Some(350),
            ..Default::default()
        };
        // 500 + live 100 = 600 > 350: drop 100 at a time, oldest first, down to 300.
        assert_eq!(to_delete(&segs, 100, &bytes, now), vec![0, 1, 2]);
        let none = Limits {
            max_segments: Some(10),
            max_total_bytes: Some(10_000),
            ..Default::default()
        };
        assert!(to_delete(&segs, 100, &none, now).is_empty());
    }

    #[test]
    fn a_segment_compressed_after_the_listing_is_deleted_once_in_its_new_form() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let raw = d.join("c-0000000001.tlog");
        let lz4 = d.join("c-0000000001.tlog.lz4");
        // Listed raw, then compressed (renamed) before the deletion.
        std::fs::write(&lz4, b"z").unwrap();
        assert!(delete(std::slice::from_ref(&raw)), "the segment was there");
        assert!(!lz4.exists(), "and is gone in its new form");
        // Listed, but gone by the deletion: not counted.
        assert!(!delete(&[raw.clone(), lz4.clone()]));
        // Both forms listed: one segment.
        std::fs::write(&raw, b"r").unwrap();
        std::fs::write(&lz4, b"z").unwrap();
        assert!(delete(&[lz4.clone(), raw.clone()]));
        assert!(!raw.exists() && !lz4.exists());
    }

    #[test]
    fn age_deletes_only_the_old_ones_wherever_they_are() {
        let now = SystemTime::now();
        let segs = vec![seg(1, 1, 100, now), seg(2, 1, 5, now), seg(3, 1, 100, now)];
        let age = Limits {
            max_age: Some(Duration::from_secs(60)),
            ..Default::default()
        };
        assert_eq!(to_delete(&segs, 1, &age, now), vec![0, 2]);
    }
}
