//! `tachylog decode` on logs of eight threads spread over several segments: time order, each
//! filter, each format.
mod common;
use common::*;
use std::collections::HashMap;
use std::sync::OnceLock;

const PER_THREAD: u64 = 1500;
const TOTAL: usize = 8 * PER_THREAD as usize + 2;

fn logs() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        eight_threads(dir.path(), PER_THREAD, false);
        dir
    })
}

fn ts(v: &serde_json::Value) -> String {
    v["ts"].as_str().unwrap().to_owned()
}

#[test]
fn records_of_all_threads_and_segments_come_out_in_time_order() {
    let dir = logs().path();
    let segments = tachylog::reader::segment_files(dir).unwrap().len();
    assert!(segments >= 3, "only {segments} segments");
    let lines = json_lines(&run(&["decode"], dir, 0));
    assert_eq!(lines.len(), TOTAL);
    // Records not marked late are in time order. A record may be marked late only when its own
    // thread's previous record has a later time (the clock conversion stepped back between
    // anchors): the merge never reorders a thread, and nothing else arrives late here.
    let mut high = String::new();
    let mut prev: HashMap<String, String> = HashMap::new();
    for v in &lines {
        let thread = v["thread"].as_str().unwrap_or("-").to_owned();
        if v["late"] == true {
            assert!(prev.get(&thread).is_some_and(|p| *p > ts(v)), "{v}");
        } else {
            assert!(high <= ts(v), "{high} then {v}");
            high = ts(v);
        }
        prev.insert(thread, ts(v));
    }
    let late = lines.iter().filter(|v| v["late"] == true).count();
    assert!(late * 100 < lines.len(), "{late} late records");
    // Each thread's records keep their own order, and none is lost or repeated.
    let mut next: HashMap<String, u64> = HashMap::new();
    for v in lines.iter().filter(|v| v["fields"]["seq"].is_u64()) {
        let n = next
            .entry(v["thread"].as_str().unwrap().to_owned())
            .or_default();
        assert_eq!(v["fields"]["seq"].as_u64().unwrap(), *n, "{v}");
        *n += 1;
    }
    assert_eq!(next.len(), 8);
    assert!(next.values().all(|&n| n == PER_THREAD));
    // The same input always gives the same output.
    assert_eq!(json_lines(&run(&["decode"], dir, 0)), lines);
}

#[test]
fn a_small_window_still_emits_everything_and_marks_late_records() {
    let dir = logs().path();
    let lines = json_lines(&run(&["decode", "--window", "1"], dir, 0));
    assert_eq!(lines.len(), TOTAL);
    let late = lines.iter().filter(|v| v["late"] == true).count();
    assert!(
        late > 0,
        "eight interleaved threads with a window of 1 give late records"
    );
    // Records not marked late are in order among themselves.
    let on_time: Vec<String> = lines
        .iter()
        .filter(|v| v.get("late").is_none())
        .map(ts)
        .collect();
    assert!(on_time.windows(2).all(|w| w[0] <= w[1]));
    // A late record is earlier than something written before it.
    let mut high = String::new();
    for v in &lines {
        if v["late"] == true {
            assert!(ts(v) < high, "{v}");
        } else {
            high = ts(v);
        }
    }
}

#[test]
fn level_target_thread_and_grep_filters() {
    let dir = logs().path();
    let warn = json_lines(&run(&["decode", "--level", "warn"], dir, 0));
    assert_eq!(warn.len(), 2);
    assert!(
        warn.iter()
            .all(|v| v["level"] == "WARN" || v["level"] == "ERROR")
    );
    let info = json_lines(&run(&["decode", "--level", "info"], dir, 0));
    assert_eq!(info.len(), 4 * PER_THREAD as usize + 2);

    let db = json_lines(&run(&["decode", "--target", "db::"], dir, 0));
    assert_eq!(db.len(), 2);
    let two = json_lines(&run(
        &["decode", "--target", "app::odd", "--target", "db::conn"],
        dir,
        0,
    ));
    assert_eq!(two.len(), 4 * PER_THREAD as usize + 1);

    let t3 = json_lines(&run(&["decode", "--thread", "t3"], dir, 0));
    assert_eq!(t3.len(), PER_THREAD as usize);
    assert!(t3.iter().all(|v| v["thread"] == "t3"));
    let tid = t3[0]["tid"].as_u64().unwrap().to_string();
    let by_tid = json_lines(&run(&["decode", "--thread", &tid], dir, 0));
    assert_eq!(by_tid, t3);

    let grep = json_lines(&run(
        &["decode", "--grep", "^odd 7[0-9] of thread [13]$"],
        dir,
        0,
    ));
    assert_eq!(grep.len(), 20);
    let refused = json_lines(&run(&["decode", "--grep", "refused"], dir, 0));
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["msg"], "connection refused by 10.0.0.7");
}

#[test]
fn since_and_until_take_rfc3339_and_relative_times() {
    let dir = logs().path();
    let all = json_lines(&run(&["decode"], dir, 0));
    let mid = ts(&all[all.len() / 2]);
    let since = json_lines(&run(&["decode", "--since", &mid], dir, 0));
    let until = json_lines(&run(&["decode", "--until", &mid], dir, 0));
    assert_eq!(since.len() + until.len(), all.len());
    assert!(since.iter().all(|v| ts(v) >= mid));
    assert!(until.iter().all(|v| ts(v) < mid));
    assert_eq!(since.first(), all.iter().find(|v| ts(v) >= mid));
    // Everything was logged within the last day, and none of it in the future.
    assert_eq!(
        json_lines(&run(&["decode", "--since", "1day"], dir, 0)).len(),
        all.len()
    );
    assert_eq!(
        json_lines(&run(&["decode", "--until", "1day"], dir, 0)).len(),
        0
    );
    bin()
        .args(["decode", "--since", "last tuesday"])
        .arg(dir)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("neither an RFC 3339 time"));
}

#[test]
fn filters_on_level_target_and_thread_do_not_format_discarded_records() {
    use tachylog_cli::{decode::Decoder, filter::Filter, output::*};
    let dir = logs().path();
    let filter = Filter {
        level: Some(tachylog::Level::Info),
        targets: vec!["app::".into()],
        threads: vec!["t2".into(), "t4".into()],
        ..Filter::default()
    };
    let reader = tachylog::reader::Reader::open([dir]).unwrap();
    let mut d = Decoder::new(
        Box::new(reader),
        &filter,
        Renderer::new(Format::Json, false),
        1000,
    );
    let mut out = Vec::new();
    d.pump(&mut out, &mut |e| panic!("{e}")).unwrap();
    assert_eq!(d.summary.written, 2 * PER_THREAD);
    assert_eq!(
        d.summary.formatted,
        2 * PER_THREAD,
        "only kept records are formatted"
    );
}

#[test]
fn cached_json_lines_equal_the_reference_writer() {
    // The JSON renderer keeps the part of a line that depends only on the call site and the
    // thread. Over eight threads and several segments (each describing its call sites and
    // threads anew), every line must still equal the one `json::record` writes from scratch.
    use tachylog::reader::{Event, Reader};
    use tachylog_cli::{json, message::Message, ts::Rfc3339};
    let mut cache = json::Cache::default();
    let mut ts_a = Rfc3339::default();
    let mut n = 0;
    let mut lines = std::collections::HashSet::new();
    let mut plain = 0;
    for ev in Reader::open([logs().path()]).unwrap() {
        if let Event::Record(r) = ev.unwrap() {
            // Message and fields from one decoding, as `decode` gets them.
            let (mut msg, mut fields) = (String::new(), Vec::new());
            let ascii = r
                .write_message_and_fields(&mut msg, |name, v| fields.push((name, v)))
                .unwrap();
            assert_eq!(fields, r.fields().unwrap());
            plain += ascii as usize;
            let mut b = Vec::new();
            json::record(&mut b, &mut Rfc3339::default(), &r, &msg, n % 7 == 0);
            // Copied as plain text where the reader says it is, and escaped: the same line.
            for ascii in [ascii, false] {
                let mut a = Vec::new();
                let m = Message {
                    text: &msg,
                    ascii,
                    fields: &fields,
                };
                cache.record(&mut a, &mut ts_a, &r, &m, n % 7 == 0);
                assert_eq!(
                    String::from_utf8(a).unwrap(),
                    String::from_utf8(b.clone()).unwrap()
                );
            }
            let v: serde_json::Value = serde_json::from_str(&msg_line(&r, &msg)).unwrap();
            lines.insert((v["thread"].to_string(), v["target"].to_string()));
            n += 1;
        }
    }
    assert_eq!(n, TOTAL);
    // Every message of this log is plain text (the ERROR record's string argument included).
    assert_eq!(plain, TOTAL);
    // Eight worker threads on two targets, and the main thread on two more.
    assert_eq!(lines.len(), 10, "{lines:?}");
}

fn msg_line(r: &tachylog::reader::Record, msg: &str) -> String {
    let mut out = Vec::new();
    tachylog_cli::json::record(&mut out, &mut Default::default(), r, msg, false);
    String::from_utf8(out).unwrap()
}

#[test]
fn text_and_logfmt_formats() {
    let dir = logs().path();
    let text = run(
        &[
            "decode", "-f", "text", "--thread", "t1", "--grep", "^odd 5 ",
        ],
        dir,
        0,
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    let line = text.lines().next().unwrap();
    assert!(
        line.ends_with(" DEBUG app::odd t1: odd 5 of thread 1 seq=5"),
        "{line}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    let coloured = run(
        &[
            "decode", "-f", "text", "--color", "always", "--level", "error",
        ],
        dir,
        0,
    );
    assert!(
        coloured.contains("\u{1b}[1;31mERROR\u{1b}[0m"),
        "{coloured:?}"
    );

    let logfmt = run(&["decode", "-f", "logfmt", "--level", "warn"], dir, 0);
    let lines: Vec<&str> = logfmt.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("ts=") && lines[0].contains(" level=warn target=db::pool "),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(r#" msg="pool exhausted after 250 ms""#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(" level=error target=db::conn "),
        "{}",
        lines[1]
    );
    let one = run(
        &[
            "decode", "-f", "logfmt", "--thread", "t0", "--grep", "^even 9 ",
        ],
        dir,
        0,
    );
    assert!(
        one.trim_end()
            .ends_with(r#" msg="even 9 of thread 0" seq=9"#),
        "{one}"
    );
    assert!(one.contains(" thread=t0 tid="), "{one}");
}

#[test]
fn help_is_complete_for_the_command_and_each_subcommand() {
    let help = |args: &[&str]| {
        String::from_utf8(
            bin()
                .args(args)
                .assert()
                .success()
                .get_output()
                .stdout
                .clone(),
        )
        .unwrap()
    };
    let top = help(&["--help"]);
    for s in ["decode", "verify", "stats", "Exit status"] {
        assert!(top.contains(s), "{s} missing from\n{top}");
    }
    let decode = help(&["decode", "--help"]);
    for s in [
        "--format",
        "json",
        "text",
        "logfmt",
        "--color",
        "NO_COLOR",
        "--level",
        "--target",
        "--thread",
        "--since",
        "--until",
        "--grep",
        "--window",
        "--follow",
        "late",
        "Examples",
        "0 all clean; 1 damage",
    ] {
        assert!(decode.contains(s), "{s} missing from\n{decode}");
    }
    let verify = help(&["verify", "--help"]);
    for s in [
        "frames",
        "torn",
        "0 all clean; 1 damage",
        "2 an input",
        "no segment at all",
    ] {
        assert!(verify.contains(s), "{s} missing from\n{verify}");
    }
    let stats = help(&["stats", "--help"]);
    for s in [
        "--json",
        "--top",
        "level",
        "target",
        "thread",
        "rate",
        "0 all clean; 1 damage",
        "no segment at all",
    ] {
        assert!(stats.contains(s), "{s} missing from\n{stats}");
    }
}

/// `Some(v)` is `v` and `None` has no value, in every output: JSON (`"XNAS"`, `null`), text,
/// logfmt and syslog (the value, and the field left out).
#[test]
fn options_render_as_their_value_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    {
        let _s = serial();
        let g = tachylog::Builder::new().dir(dir.path()).init().unwrap();
        tachylog::info!(
            venue = Some("XNAS"),
            fill = None::<u32>,
            qty = Some(Some(5u32)),
            px = Some(None::<f64>),
            "order"
        );
        drop(g);
    }
    let json = json_lines(&run(&["decode"], dir.path(), 0));
    assert_eq!(
        json[0]["fields"],
        serde_json::json!({"venue": "XNAS", "fill": null, "qty": 5, "px": null})
    );
    let text = run(&["decode", "-f", "text", "--color", "never"], dir.path(), 0);
    assert!(text.ends_with(": order venue=XNAS qty=5\n"), "{text}");
    let logfmt = run(&["decode", "-f", "logfmt"], dir.path(), 0);
    assert!(
        logfmt.ends_with(" msg=order venue=XNAS qty=5\n"),
        "{logfmt}"
    );
    let mut syslog = tachylog_cli::syslog::Formatter::new(1, "host", None);
    let record = tachylog::reader::Reader::open([dir.path()])
        .unwrap()
        .find_map(|e| match e {
            Ok(tachylog::reader::Event::Record(r)) => Some(r),
            _ => None,
        })
        .unwrap();
    let (msg, _) = syslog.record(&record, "app", "s/0");
    let msg = String::from_utf8_lossy(msg);
    assert!(
        msg.contains("[fields@32473 venue=\"XNAS\" qty=\"5\"]"),
        "{msg}"
    );
}
