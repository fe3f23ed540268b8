//! `decode`, `verify` and `stats` pointed at directories they did not write: files that are not
//! regular files, empty inputs, damage; one exit-code rule for the three (README, "Exit codes").
mod common;
use common::*;
use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const PER_THREAD: u64 = 200;
const TOTAL: usize = 8 * PER_THREAD as usize + 2;

/// A directory of good segments written by the engine.
fn good() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        eight_threads(dir.path(), PER_THREAD, false);
        dir
    })
}

/// A copy of the good segments in a new directory.
fn copy_of_good() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(good().path()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    dir
}

/// Runs `tachylog ARGS PATH` with a time limit a hang would break; prints the time.
fn run_timed(args: &[&str], path: &Path) -> Output {
    let t = Instant::now();
    let out = bin()
        .args(args)
        .arg(path)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    println!(
        "tachylog {} took {:.2} s, exit {:?}",
        args.join(" "),
        t.elapsed().as_secs_f64(),
        out.status.code()
    );
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn fifos_and_devices_named_like_segments_are_refused_and_the_good_segments_are_read() {
    let dir = copy_of_good();
    let d = dir.path();
    let fifo = d.join("app-0000000000.tlog");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let zero = d.join("zero-0000000001.tlog");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let zero_lz4 = d.join("zero-0000000002.tlog.lz4");
    std::os::unix::fs::symlink("/dev/zero", &zero_lz4).unwrap();
    let refused = |o: &Output| {
        let e = stderr(o);
        assert!(
            e.contains(&format!(
                "{}: not a tachylog segment (a FIFO",
                fifo.display()
            )),
            "{e}"
        );
        for z in [&zero, &zero_lz4] {
            assert!(
                e.contains(&format!(
                    "{}: not a tachylog segment (a character device",
                    z.display()
                )),
                "{e}"
            );
        }
        // A file that cannot be used at all.
        assert_eq!(o.status.code(), Some(2), "{e}");
    };

    let o = run_timed(&["decode"], d);
    refused(&o);
    assert_eq!(json_lines(&stdout(&o)).len(), TOTAL);

    let o = run_timed(&["verify"], d);
    refused(&o);
    let report = stdout(&o);
    assert!(
        report.contains(&format!("{}: UNUSABLE", fifo.display())),
        "{report}"
    );
    let segments = std::fs::read_dir(good().path()).unwrap().count();
    assert!(
        report.contains(&format!(
            "{} segments: {segments} clean, 0 damaged, 3 unusable",
            segments + 3
        )),
        "{report}"
    );

    let o = run_timed(&["stats", "--json"], d);
    refused(&o);
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(s["records"], TOTAL as u64);

    // Named on its own, the FIFO is refused just the same.
    let o = run_timed(&["decode"], &fifo);
    refused_alone(&o, &fifo, "a FIFO");
    let o = run_timed(&["verify"], &zero);
    refused_alone(&o, &zero, "a character device");
}

fn refused_alone(o: &Output, path: &Path, what: &str) {
    let e = stderr(o);
    assert!(
        e.contains(&format!(
            "{}: not a tachylog segment ({what}",
            path.display()
        )),
        "{e}"
    );
    assert_eq!(o.status.code(), Some(2), "{e}");
}

/// Runs `decode`, `verify` and `stats` on `path`: each one's name and output.
fn all_three(path: &Path) -> Vec<(&'static str, Output)> {
    vec![
        ("decode", run_timed(&["decode"], path)),
        ("verify", run_timed(&["verify"], path)),
        ("stats", run_timed(&["stats", "--json"], path)),
    ]
}

/// Asserts each exit code, and that each names the problem (`verify` on stdout, in its report).
fn assert_code(outs: &[(&str, Output)], code: i32, says: &str) {
    for (name, o) in outs {
        let e = stderr(o);
        assert_eq!(o.status.code(), Some(code), "{name}: {e}");
        let e = if *name == "verify" { e + &stdout(o) } else { e };
        assert!(e.contains(says), "{name}: {says:?} not in {e}");
    }
}

#[test]
fn an_empty_directory_and_an_empty_segment_are_no_segment_at_all_in_all_three() {
    let dir = tempfile::tempdir().unwrap();
    assert_code(&all_three(dir.path()), 2, "no tachylog segment to read");
    // Created, with no header yet: 0 bytes, or all zeros (reserved, never written).
    for len in [0usize, 16 << 10] {
        let seg = dir.path().join("app-0000000001.tlog");
        std::fs::write(&seg, vec![0u8; len]).unwrap();
        assert_code(&all_three(dir.path()), 2, "no tachylog segment to read");
        assert_code(&all_three(&seg), 2, "no tachylog segment to read");
    }
    // Beside good segments, an empty one is what a stopped writer leaves: all clean.
    let good = copy_of_good();
    std::fs::write(good.path().join("app-0000000000.tlog"), b"").unwrap();
    for (name, o) in all_three(good.path()) {
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
    }
}

/// The segment of `dir` whose bytes hold `needle`, and where.
fn find(dir: &Path, needle: &[u8]) -> (std::path::PathBuf, Vec<u8>, usize) {
    for p in tachylog::reader::segment_files(dir).unwrap() {
        let bytes = std::fs::read(&p).unwrap();
        if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle) {
            return (p, bytes, at);
        }
    }
    panic!("{needle:?} not found");
}

/// Recomputes the checksum of the frame holding byte `at`, so that only the values are wrong.
fn reseal_frame(bytes: &mut [u8], at: usize) {
    use tachylog::wire::{FRAME_HEADER_LEN, HEADER_LEN, align_up, frame_crc};
    let mut off = HEADER_LEN;
    while off + FRAME_HEADER_LEN <= bytes.len() {
        let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        let end = off + FRAME_HEADER_LEN + len;
        if (off..end).contains(&at) {
            let crc = frame_crc(&bytes[off..off + 8], &bytes[off + FRAME_HEADER_LEN..end]);
            bytes[off + 8..off + 12].copy_from_slice(&crc.to_le_bytes());
            return;
        }
        off = align_up(end);
    }
    panic!("no frame holds byte {at}");
}

#[test]
fn undecodable_values_are_damage_named_by_file_and_offset_in_all_three() {
    // The last record's argument is the string "10.0.0.7", after its u32 length.
    type Spoil = fn(&mut [u8], usize);
    let cases: [(&str, Spoil); 2] = [
        ("invalid UTF-8", |b, at| b[at] = 0xff),
        ("a length past the record", |b, at| {
            b[at - 4..at].copy_from_slice(&200u32.to_le_bytes())
        }),
    ];
    for (what, spoil) in cases {
        let dir = copy_of_good();
        let (seg, mut bytes, at) = find(dir.path(), b"10.0.0.7");
        spoil(&mut bytes, at);
        reseal_frame(&mut bytes, at);
        std::fs::write(&seg, &bytes).unwrap();
        let want = format!("{}: corrupt data at byte offset ", seg.display());
        let outs = all_three(dir.path());
        assert_code(&outs[..1], 1, "record values cannot be decoded");
        assert_code(&outs[2..], 1, "record values cannot be decoded");
        for (name, o) in &outs {
            if *name != "verify" {
                assert!(stderr(o).contains(&want), "{what}: {name}: {}", stderr(o));
            }
        }
        let (_, v) = &outs[1];
        assert_eq!(v.status.code(), Some(1), "{what}");
        assert!(
            stdout(v).contains("record values cannot be decoded"),
            "{what}: {}",
            stdout(v)
        );
        // Everything else still comes out.
        assert_eq!(json_lines(&stdout(&outs[0].1)).len(), TOTAL, "{what}");
    }
}

#[test]
fn a_damaged_frame_and_a_torn_tail_are_damage_in_all_three() {
    // A flipped byte inside a records frame of the first segment.
    let dir = copy_of_good();
    let first = tachylog::reader::segment_files(dir.path()).unwrap()[0].clone();
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[tachylog::wire::HEADER_LEN + 4096] ^= 0x55;
    std::fs::write(&first, &bytes).unwrap();
    assert_code(&all_three(dir.path()), 1, "checksum mismatch");

    // Unsealed, and the END frame cut in half: a writer killed in the middle of a frame.
    let dir = copy_of_good();
    let last = tachylog::reader::segment_files(dir.path())
        .unwrap()
        .pop()
        .unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    bytes[80] = 0;
    let cut = bytes.len() - 12;
    bytes.truncate(cut);
    // The header's committed length says the END frame was not published.
    let committed = (cut - 4) as u64;
    bytes[72..80].copy_from_slice(&committed.to_le_bytes());
    std::fs::write(&last, &bytes).unwrap();
    let outs = all_three(dir.path());
    for (name, o) in &outs {
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(o));
    }
    assert!(stderr(&outs[0].1).contains("the last frame is incomplete"));
    assert!(stderr(&outs[2].1).contains("the last frame is incomplete"));
    assert!(stdout(&outs[1].1).contains("tail torn"));
}

#[test]
fn a_sealed_segment_cut_before_its_end_frame_is_damage_and_its_records_are_read() {
    let dir = copy_of_good();
    let first = tachylog::reader::segment_files(dir.path()).unwrap()[0].clone();
    let mut bytes = std::fs::read(&first).unwrap();
    // The engine sealed it: its last frame is END, 16 bytes of header and 16 of body.
    let end = bytes.len() - 32;
    let head: tachylog::wire::FrameHeader =
        bytemuck::pod_read_unaligned(&bytes[end..end + tachylog::wire::FRAME_HEADER_LEN]);
    assert_eq!(head.kind, tachylog::wire::Kind::End as u16);
    assert_ne!(
        bytes[tachylog::wire::FLAGS_OFFSET] as u32 & tachylog::wire::FLAG_SEALED,
        0
    );
    // Cut exactly there, as a copy that stopped would: every frame left verifies.
    bytes.truncate(end);
    std::fs::write(&first, &bytes).unwrap();
    let outs = all_three(dir.path());
    assert_code(&outs, 1, "without the END frame");
    let says = stderr(&outs[0].1);
    assert!(
        says.contains(&format!(
            "{}: corrupt data at byte offset {end}",
            first.display()
        )) && says.contains("32 bytes short of the"),
        "{says}"
    );
    // Nothing that is there is lost: every record still decodes.
    assert_eq!(stdout(&outs[0].1).lines().count(), TOTAL);
}
