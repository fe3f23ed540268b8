//! `tachylog recover`: seals the segments a dead writer left unsealed (the library's
//! `tachylog::recover`), one line per segment.
use crate::command::Status;
use std::io::{self, Write};
use std::path::Path;

/// Recovers the unsealed segments in `dir` (of `name`, or of every name) and reports them.
pub fn run(dir: &Path, name: Option<&str>) -> io::Result<Status> {
    let recovered = match tachylog::recover::recover_dir(dir, name) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tachylog: cannot read {}: {e}", dir.display());
            return Ok(Status::Unusable);
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for r in &recovered {
        writeln!(
            out,
            "{}: recovered - {} records, {} bytes (was {})",
            r.path.display(),
            r.records,
            r.bytes_after,
            r.bytes_before
        )?;
    }
    writeln!(out, "{} segments recovered", recovered.len())?;
    Ok(Status::of(false, false))
}
