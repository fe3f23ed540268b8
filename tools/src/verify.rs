//! `tachylog verify`: every frame's checksum and structure, one summary line per segment.
use crate::command::{Status, report, report_nothing};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tachylog::reader::verify::{SegmentReport, verify_segment};
use tachylog::reader::{ReadError, Tail, segment_files};

/// The outcome over all inputs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Segments checked.
    pub segments: u64,
    /// Segments with damage or a torn tail.
    pub damaged: u64,
    /// Inputs that could not be used at all.
    pub unusable: u64,
    /// Segments with no header (the writer stopped before writing it): nothing to check.
    pub empty: u64,
}

fn tail(t: Tail) -> &'static str {
    match t {
        Tail::Sealed => "sealed",
        Tail::Clean => "open (clean end)",
        Tail::ZeroFilled => "open (zero-filled after the last frame)",
        Tail::Torn => "torn (last frame incomplete)",
        Tail::Empty => "empty (no header written)",
        _ => "unknown",
    }
}

/// Writes one segment's summary.
pub fn write_report(out: &mut impl Write, r: &SegmentReport) -> io::Result<()> {
    writeln!(
        out,
        "{}: {} - seq {}, {} bytes, {} frames, {} records, {} dropped, tail {}{}",
        r.path.display(),
        if r.is_clean() { "OK" } else { "DAMAGED" },
        r.seq,
        r.bytes,
        r.frames,
        r.records,
        r.dropped,
        tail(r.tail),
        // Its writer died without sealing it: what the writer had not committed is not in it.
        if r.recovered {
            " (recovered: its writer died unsealed)"
        } else {
            ""
        }
    )?;
    for (a, b, why) in &r.damage {
        writeln!(out, "  damaged bytes {a}..{b}: {why}")?;
    }
    Ok(())
}

/// Verifies every segment the paths stand for, printing a line per segment to `out` and
/// unusable inputs to `err`.
pub fn verify_paths(
    paths: &[impl AsRef<Path>],
    out: &mut impl Write,
    err: &mut impl FnMut(&ReadError),
) -> io::Result<Outcome> {
    let mut o = Outcome::default();
    for p in paths {
        let files = match segment_files(p.as_ref()) {
            Ok(f) => f,
            Err(e) => {
                o.unusable += 1;
                err(&e);
                continue;
            }
        };
        for f in files {
            match verify_segment(&f) {
                Ok(r) => {
                    o.segments += 1;
                    o.empty += (r.tail == Tail::Empty) as u64;
                    o.damaged += !r.is_clean() as u64;
                    write_report(out, &r)?;
                }
                // A compressed segment whose lz4 data is damaged before the end of its header:
                // nothing of it decodes.
                Err(e @ ReadError::Corrupt { .. }) => {
                    o.segments += 1;
                    o.damaged += 1;
                    writeln!(out, "{}: DAMAGED - {e}", f.display())?;
                }
                Err(e) => {
                    o.unusable += 1;
                    writeln!(out, "{}: UNUSABLE - {e}", f.display())?;
                    err(&e);
                }
            }
        }
    }
    writeln!(
        out,
        "{} segments: {} clean, {} damaged, {} unusable",
        o.segments + o.unusable,
        o.segments - o.damaged,
        o.damaged,
        o.unusable
    )?;
    Ok(o)
}

/// `tachylog verify`: a summary per segment of `paths` on stdout.
pub fn run(paths: &[PathBuf]) -> io::Result<Status> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let o = verify_paths(paths, &mut out, &mut report)?;
    if o.damaged == 0 && o.unusable == 0 && o.segments == o.empty {
        report_nothing(paths);
        return Ok(Status::Unusable);
    }
    Ok(Status::of(o.damaged > 0, o.unusable > 0))
}
