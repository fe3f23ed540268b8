//! Where the benchmarks write, and counting what the text loggers wrote.
use std::path::{Path, PathBuf};

/// `target/bench` (or `$CARGO_TARGET_DIR/bench`), created.
pub fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir).expect("cannot create target/bench");
    dir
}

/// A fresh, empty scratch directory for one configuration.
pub fn scratch(name: &str) -> PathBuf {
    let dir = out_dir().join("tmp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot create a scratch directory");
    dir
}

/// Number of `\n` bytes in the file (one per record for the text loggers).
pub fn count_lines(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}
