//! `tachylog verify` and `tachylog stats`, and compressed segments decoding like raw ones.
mod common;
use common::*;
use std::path::Path;

const PER_THREAD: u64 = 600;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn verify_reports_clean_damaged_and_unusable_inputs_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    eight_threads(dir.path(), PER_THREAD, false);
    let files = tachylog::reader::segment_files(dir.path()).unwrap();
    let out = run(&["verify"], dir.path(), 0);
    assert_eq!(
        out.lines().filter(|l| l.contains(": OK - seq ")).count(),
        files.len(),
        "{out}"
    );
    let records: u64 = out
        .lines()
        .filter_map(|l| {
            l.split(" records,")
                .next()?
                .rsplit(", ")
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert_eq!(records, 8 * PER_THREAD + 2, "{out}");
    assert!(out.contains("tail sealed"), "{out}");
    assert!(out.trim_end().ends_with(&format!(
        "{} segments: {} clean, 0 damaged, 0 unusable",
        files.len(),
        files.len()
    )));

    // One flipped byte in the middle of the first segment.
    let seg = &files[0];
    let mut bytes = std::fs::read(seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(seg, &bytes).unwrap();
    let out = run(&["verify"], dir.path(), 1);
    let name = seg.file_name().unwrap().to_str().unwrap();
    let line = out.lines().find(|l| l.contains(name)).unwrap();
    assert!(line.contains(": DAMAGED - "), "{out}");
    let damage = out
        .lines()
        .find(|l| l.starts_with("  damaged bytes "))
        .unwrap();
    let range = damage["  damaged bytes ".len()..]
        .split(':')
        .next()
        .unwrap();
    let (a, b) = range.split_once("..").unwrap();
    let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
    assert!(a <= mid && mid < b, "{mid} not in {a}..{b}");
    assert!(damage.contains("checksum"), "{damage}");

    // A file that is not a segment, and a missing path.
    let junk = dir.path().join("junk.tlog");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    let out = run(&["verify"], &junk, 2);
    assert!(
        out.contains("UNUSABLE") && out.contains("not a tachylog segment"),
        "{out}"
    );
    bin().args(["verify", "/no/such/dir"]).assert().code(2);
}

#[test]
fn a_torn_tail_counts_as_damage() {
    let dir = tempfile::tempdir().unwrap();
    eight_threads(dir.path(), 50, false);
    let seg = tachylog::reader::segment_files(dir.path())
        .unwrap()
        .pop()
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    // Unseal it and cut the END frame in half, as a writer killed mid-frame leaves it.
    bytes[80] = 0;
    bytes.truncate(bytes.len() - 12);
    std::fs::write(&seg, &bytes).unwrap();
    let out = run(&["verify"], &seg, 1);
    assert!(out.contains("tail torn"), "{out}");
}

#[test]
fn stats_count_what_was_logged() {
    let dir = tempfile::tempdir().unwrap();
    eight_threads(dir.path(), PER_THREAD, false);
    let out = run(&["stats", "--json", "--top", "3"], dir.path(), 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let total = 8 * PER_THREAD + 2;
    assert_eq!(v["schema"], 1);
    assert_eq!(v["records"], total);
    assert_eq!(v["dropped"], 0);
    assert_eq!(
        v["segments"].as_u64().unwrap() as usize,
        tachylog::reader::segment_files(dir.path()).unwrap().len()
    );
    assert_eq!(v["levels"]["INFO"], 4 * PER_THREAD);
    assert_eq!(v["levels"]["DEBUG"], 4 * PER_THREAD);
    assert_eq!(v["levels"]["WARN"], 1);
    assert_eq!(v["levels"]["ERROR"], 1);
    assert_eq!(v["targets"]["app::even"], 4 * PER_THREAD);
    assert_eq!(v["targets"]["app::odd"], 4 * PER_THREAD);
    assert_eq!(v["targets"]["db::pool"], 1);
    let threads = v["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 9);
    for t in 0..8 {
        let name = format!("t{t} (tid ");
        let th = threads
            .iter()
            .find(|x| x["thread"].as_str().unwrap().starts_with(&name))
            .unwrap();
        assert_eq!(th["records"], PER_THREAD);
    }
    // Encoded sizes: 16-byte header; u64 `i` (1 + 8), u64 `t` (1 + 8), field `seq` u64 (1 + 8).
    let by_count = v["top_by_count"].as_array().unwrap();
    assert_eq!(by_count.len(), 3);
    assert_eq!(by_count[0]["records"], 4 * PER_THREAD);
    assert_eq!(by_count[0]["bytes"], 4 * PER_THREAD * (16 + 27));
    let by_bytes = v["top_by_bytes"].as_array().unwrap();
    assert_eq!(by_bytes[2]["format"], "connection refused by {}");
    assert_eq!(by_bytes[2]["bytes"], 16 + 1 + 4 + "10.0.0.7".len() as u64);
    assert_eq!(v["record_bytes"], 8 * PER_THREAD * 43 + 16 + 5 + 16 + 13);
    let (first, last) = (v["first"].as_str().unwrap(), v["last"].as_str().unwrap());
    assert!(first < last);
    let rate = v["rate"].as_f64().unwrap();
    let span = v["span_s"].as_f64().unwrap();
    assert!((rate * span - total as f64).abs() < 1.0, "{rate} * {span}");

    let text = run(&["stats"], dir.path(), 0);
    assert!(text.contains(&format!("records       {total}\n")), "{text}");
    assert!(text.contains("top call sites by bytes"), "{text}");
}

#[test]
fn compressed_segments_decode_exactly_like_raw_ones() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    eight_threads(&raw, PER_THREAD, false);
    let lz4 = dir.path().join("lz4");
    copy_dir(&raw, &lz4);
    let files = tachylog::reader::segment_files(&lz4).unwrap();
    assert!(files.len() >= 2);
    for f in &files {
        tachylog::compress::compress_segment(f).unwrap();
    }
    assert!(
        tachylog::reader::segment_files(&lz4)
            .unwrap()
            .iter()
            .all(|p| p.extension().unwrap() == "lz4")
    );
    for args in [
        &["decode"][..],
        &["decode", "-f", "text"],
        &["stats", "--json"],
    ] {
        assert_eq!(run(args, &lz4, 0), run(args, &raw, 0), "{args:?}");
    }
    assert!(run(&["verify"], &lz4, 0).contains(" clean, 0 damaged"));
    // A raw file beside its compressed copy (compression stopped before removing it) is read once.
    std::fs::copy(raw.join(files[0].file_name().unwrap()), &files[0]).unwrap();
    assert_eq!(run(&["decode"], &lz4, 0), run(&["decode"], &raw, 0));
    // Damage in compressed data is reported as damage.
    let c = tachylog::reader::segment_files(&lz4)
        .unwrap()
        .pop()
        .unwrap();
    let mut bytes = std::fs::read(&c).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&c, &bytes).unwrap();
    let out = run(&["verify"], &c, 1);
    assert!(out.contains("DAMAGED"), "{out}");
}

#[test]
fn the_engine_compresses_sealed_segments_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    eight_threads(dir.path(), PER_THREAD, true);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.len() >= 2, "{names:?}");
    assert!(names.iter().all(|n| n.ends_with(".tlog.lz4")), "{names:?}");
    let lines = json_lines(&run(&["decode"], dir.path(), 0));
    assert_eq!(lines.len() as u64, 8 * PER_THREAD + 2);
    // A writer started again continues after the compressed segments' numbers.
    let highest = names
        .iter()
        .filter_map(|n| tachylog::segment_seq("app", n.strip_suffix(".lz4")?))
        .max()
        .unwrap();
    eight_threads(dir.path(), 10, false);
    let new = tachylog::reader::segment_files(dir.path()).unwrap();
    let raw: Vec<_> = new
        .iter()
        .filter(|p| p.extension().unwrap() == "tlog")
        .collect();
    assert!(!raw.is_empty());
    for p in raw {
        let seq = tachylog::segment_seq("app", p.file_name().unwrap().to_str().unwrap()).unwrap();
        assert!(seq > highest, "{seq} <= {highest}");
    }
}
