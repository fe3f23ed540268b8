//! Shared by the fuzz targets: feed bytes to the reader as a segment file, drain every item.
use std::path::PathBuf;

fn path() -> PathBuf {
    let dir = std::env::var_os("TACHYLOG_FUZZ_DIR").map_or_else(
        || {
            PathBuf::from(if std::path::Path::new("/dev/shm").is_dir() {
                "/dev/shm"
            } else {
                "/tmp"
            })
        },
        PathBuf::from,
    );
    dir.join(format!(
        "tachylog-fuzz-{}-0000000001.tlog",
        std::process::id()
    ))
}

/// Reads `bytes` as a segment file; with `skip_checksums`, frame checksums are not checked.
pub fn read(bytes: &[u8], skip_checksums: bool) {
    let p = path();
    std::fs::write(&p, bytes).expect("write the input");
    let mut reader = tachylog::reader::Reader::open([&p]).expect("open");
    if skip_checksums {
        reader = reader.skip_frame_checksums();
    }
    for item in reader {
        if let Ok(tachylog::reader::Event::Record(r)) = item {
            let _ = r.message();
            let _ = r.fields();
        }
    }
}
