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

pub fn read(bytes: &[u8]) {
    let p = path();
    std::fs::write(&p, bytes).expect("write the input");
    for item in tachylog::reader::Reader::open([&p]).expect("open") {
        if let Ok(tachylog::reader::Event::Record(r)) = item {
            let _ = r.message();
            let _ = r.fields();
        }
    }
}
