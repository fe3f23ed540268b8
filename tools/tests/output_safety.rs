//! The `tachylog` binary on hostile strings: every JSON line parses as one object and holds no
//! raw control byte; text output neutralises terminal escapes. Invalid UTF-8 is forged into a
//! segment (with its checksum fixed), since the engine only records valid `&str`; under the
//! decoder's exit rule that is damage (exit 1), and the output must be safe all the same.
use assert_cmd::Command;
use tachylog::wire::{FRAME_HEADER_LEN, HEADER_LEN, align_up, frame_crc};

const MARK: &str = "@@INVALID-UTF8-HERE@@";

fn hostile() -> String {
    let mut s: String = (0u32..0x20)
        .chain([0x7f])
        .chain(0x80..0xa0)
        .filter_map(char::from_u32)
        .collect();
    s.push_str(
        "\"quote\" \\backslash\\ \u{1b}[2J\u{1b}]0;title\u{7} \u{2028}\u{2029} \u{9b}31m é 😀",
    );
    s
}

/// Writes a segment whose records and thread name carry hostile text; returns its directory.
fn write() -> tempfile::TempDir {
    // One process-wide logger: the tests take turns.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let g = tachylog::Builder::new()
        .dir(dir.path())
        .name("safe")
        .init()
        .unwrap();
    let h = hostile();
    std::thread::Builder::new()
        .name(format!("evil\u{1b}[31m{}", "\u{9b}1m"))
        .spawn(move || {
            tachylog::info!(field = h.as_str(), "msg {} {:?}", h, h);
            tachylog::warn!("marker {}", MARK);
        })
        .unwrap()
        .join()
        .unwrap();
    drop(g);
    // Replace the marker's bytes with invalid UTF-8 and fix the frame's checksum.
    let path = dir.path().join(tachylog::segment_file_name("safe", 1));
    let mut b = std::fs::read(&path).unwrap();
    let at = b
        .windows(MARK.len())
        .position(|w| w == MARK.as_bytes())
        .unwrap();
    b[at..at + 4].copy_from_slice(&[0xff, 0xfe, 0xc0, 0x80]);
    let mut off = HEADER_LEN;
    loop {
        let len = u32::from_le_bytes(b[off..off + 4].try_into().unwrap()) as usize;
        let end = off + FRAME_HEADER_LEN + len;
        if at >= off && at < end {
            let crc = frame_crc(&b[off..off + 8], &b[off + FRAME_HEADER_LEN..end]);
            b[off + 8..off + 12].copy_from_slice(&crc.to_le_bytes());
            break;
        }
        off = align_up(end);
    }
    std::fs::write(&path, b).unwrap();
    dir
}

#[test]
fn json_lines_parse_and_hold_no_raw_control_bytes() {
    let dir = write();
    let out = Command::cargo_bin("tachylog")
        .unwrap()
        .args(["decode"])
        .arg(dir.path())
        .output()
        .unwrap();
    // The forged invalid UTF-8 is damage (exit 1), reported on stderr with file and offset;
    // the records still come out, safely.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("record values cannot be decoded"),
        "{stderr}"
    );
    let stdout = out.stdout;
    let bad = stdout
        .iter()
        .filter(|&&c| (c < 0x20 && c != b'\n') || c == 0x7f)
        .count();
    let text = String::from_utf8(stdout).expect("output is UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    println!(
        "JSON: {} lines, {} raw control bytes, {} raw C1/U+2028/U+2029 characters",
        lines.len(),
        bad,
        text.chars()
            .filter(|c| ('\u{80}'..='\u{9f}').contains(c) || *c == '\u{2028}' || *c == '\u{2029}')
            .count()
    );
    assert_eq!(bad, 0);
    assert!(!text.contains(['\u{2028}', '\u{2029}']));
    assert!(!text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)));
    assert_eq!(lines.len(), 2);
    let objs: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let h = hostile();
    assert_eq!(objs[0]["msg"], format!("msg {h} {h:?}"));
    assert_eq!(objs[0]["fields"]["field"], h.as_str());
    assert_eq!(objs[0]["thread"], "evil\u{1b}[31m\u{9b}1m");
    // The forged invalid UTF-8 comes out as an explanation, still one valid object.
    let msg = objs[1]["msg"].as_str().unwrap();
    assert!(msg.contains("invalid UTF-8"), "{msg}");
}

#[test]
fn text_output_neutralises_terminal_escapes() {
    let dir = write();
    let out = Command::cargo_bin("tachylog")
        .unwrap()
        .args(["decode", "--format", "text"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the forged invalid UTF-8 is damage"
    );
    let text = String::from_utf8(out.stdout).expect("output is UTF-8");
    let controls = text
        .chars()
        .filter(|&c| c != '\n' && (c.is_control() || c == '\u{2028}' || c == '\u{2029}'))
        .count();
    println!(
        "text: {} lines, {controls} raw control characters",
        text.lines().count()
    );
    assert_eq!(controls, 0, "{text:?}");
    assert_eq!(text.lines().count(), 2);
    assert!(
        text.contains("\\u{1b}[2J"),
        "escapes shown, not acted on: {text}"
    );
    assert!(
        text.contains("evil\\u{1b}[31m\\u{9b}1m"),
        "thread name neutralised: {text}"
    );
}
