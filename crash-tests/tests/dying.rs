//! One test per way a process can die: the child program (`crash-child`) logs 1,000 records
//! and a fatal one without flushing, then dies. Every record must decode, one record must name
//! the cause, and the exit status (code, or terminating signal and core-dump bit, with core
//! dumps off in both runs) must equal that of the same program run without tachylog.
//!
//! The `panic = "abort"` cases build the child once more under the `crash-abort` profile (into
//! `target/crash-abort/`); the rest use the binary `cargo test` built.
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use tachylog::reader::{Event, Reader};

const RECORDS: u64 = 1_000;

/// What a child's segments hold.
#[derive(Debug, Default)]
struct Decoded {
    /// The `seq` of each numbered record, in order.
    seqs: Vec<u64>,
    /// Every other record: (target, message).
    others: Vec<(String, String)>,
    errors: Vec<String>,
}

fn decode(dir: &Path) -> Decoded {
    let mut d = Decoded::default();
    for item in Reader::open([dir]).unwrap() {
        match item {
            Ok(Event::Record(r)) => {
                let msg = r.message();
                if msg.starts_with("record ") {
                    let fields = r.fields().expect("fields decode");
                    match fields[0].1 {
                        tachylog_fmt::Value::U64(v) => d.seqs.push(v),
                        ref v => panic!("seq is {v:?}"),
                    }
                } else {
                    d.others.push((r.callsite().target.to_string(), msg));
                }
            }
            Ok(_) => {}
            Err(e) => d.errors.push(e.to_string()),
        }
    }
    d
}

/// How a process ended, in the terms that must match with and without tachylog.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Code(i32),
    Signal { signal: i32, core_dumped: bool },
}

fn end(s: ExitStatus) -> End {
    match s.code() {
        Some(c) => End::Code(c),
        None => End::Signal {
            signal: s.signal().expect("a signal"),
            core_dumped: s.core_dumped(),
        },
    }
}

/// The child built under `panic = "abort"`, built once for this test binary.
fn abort_build() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(root)
            .args([
                "build",
                "--quiet",
                "--locked",
                "--offline",
                "--profile",
                "crash-abort",
                "-p",
                "tachylog-crash-tests",
                "--bin",
                "crash-child",
            ])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the panic = \"abort\" child");
        root.join("target/crash-abort/crash-child")
    })
}

fn unwind_build() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_crash-child"))
}

/// Runs `exe MODE DIR [--plain]`; with `signal`, sends it once the child says "ready".
fn run(exe: &Path, mode: &str, dir: &Path, plain: bool, signal: Option<i32>) -> (End, String) {
    let mut cmd = Command::new(exe);
    cmd.arg(mode).arg(dir);
    if plain {
        cmd.arg("--plain");
    }
    // CI runs these beside a build of the `panic = "abort"` child on 2 cores: a drain that
    // gets no CPU for a second would make the default crash timeout (1 s) run out. What is
    // tested is what survives when the drain gets its turn, not the scheduler.
    let mut child = cmd
        .env_remove("TACHYLOG_CRASH_HANDLING")
        .env("TACHYLOG_CRASH_TIMEOUT", "20s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    if let Some(sig) = signal {
        for l in lines.by_ref() {
            let l = l.unwrap();
            out.push_str(&l);
            out.push('\n');
            if l == "ready" {
                break;
            }
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, sig) };
    }
    for l in lines {
        let Ok(l) = l else { break };
        out.push_str(&l);
        out.push('\n');
    }
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    out.push_str(&stderr);
    (end(status), out)
}

/// Runs `mode` without and with tachylog, and checks what survives. `cause` is text the record
/// naming the cause contains; `fatal` the fatal record's message (None: the panic record is
/// the fatal one).
fn dies(exe: &Path, mode: &str, signal: Option<i32>, fatal: Option<&str>, cause: &str) -> String {
    let plain_dir = tempfile::tempdir().unwrap();
    let (plain_end, plain_out) = run(exe, mode, plain_dir.path(), true, signal);
    let dir = tempfile::tempdir().unwrap();
    let (end, out) = run(exe, mode, dir.path(), false, signal);
    assert_eq!(
        end, plain_end,
        "{mode}: the process must end as it does without tachylog\n\
         with tachylog:\n{out}\nwithout:\n{plain_out}"
    );
    let d = decode(dir.path());
    assert!(d.errors.is_empty(), "{mode}: reader errors {:?}", d.errors);
    assert_eq!(
        d.seqs,
        (0..RECORDS).collect::<Vec<_>>(),
        "{mode}: every record logged before the fatal one decodes, once, in order ({out})"
    );
    if let Some(fatal) = fatal {
        assert!(
            d.others.iter().any(|(_, m)| m == fatal),
            "{mode}: the fatal record {fatal:?} is missing: {:?}",
            d.others
        );
    }
    assert!(
        d.others.iter().any(|(_, m)| m.contains(cause)),
        "{mode}: no record names the cause {cause:?}: {:?}",
        d.others
    );
    println!(
        "{mode}: {end:?} with and without tachylog; {RECORDS} records + {:?}",
        d.others
    );
    out
}

#[test]
fn exit() {
    dies(
        unwind_build(),
        "exit",
        None,
        Some("fatal exit"),
        "fatal exit",
    );
}

#[test]
fn return_with_forgotten_guard() {
    dies(
        unwind_build(),
        "return-forgotten",
        None,
        Some("fatal return"),
        "fatal return",
    );
}

#[test]
fn panic_in_main_unwinding() {
    dies(
        unwind_build(),
        "panic-main",
        None,
        None,
        "panicked at crash-tests/src/main.rs:",
    );
}

#[test]
fn panic_in_worker_unwinding() {
    let out = dies(
        unwind_build(),
        "panic-worker",
        None,
        None,
        "thread 'worker' panicked at crash-tests/src/main.rs:",
    );
    assert!(
        out.contains("fatal panic in a worker"),
        "std's panic message still prints: {out}"
    );
}

#[test]
fn panic_in_main_abort() {
    let out = dies(
        abort_build(),
        "panic-main",
        None,
        None,
        "thread 'main' panicked at crash-tests/src/main.rs:",
    );
    assert!(
        out.contains("fatal panic in main"),
        "std's panic message still prints: {out}"
    );
}

#[test]
fn panic_in_worker_abort() {
    dies(
        abort_build(),
        "panic-worker",
        None,
        None,
        "fatal panic in a worker",
    );
}

#[test]
fn abort() {
    dies(
        unwind_build(),
        "abort",
        None,
        Some("fatal abort"),
        "fatal signal SIGABRT on thread main",
    );
}

#[test]
fn segv_null_write() {
    dies(
        unwind_build(),
        "segv",
        None,
        Some("fatal segv"),
        "fatal signal SIGSEGV on thread main",
    );
}

#[test]
fn bus_truncated_mapping() {
    dies(
        unwind_build(),
        "bus",
        None,
        Some("fatal bus"),
        "fatal signal SIGBUS on thread main",
    );
}

#[test]
fn fpe_integer_division_by_zero() {
    dies(
        unwind_build(),
        "fpe",
        None,
        Some("fatal fpe"),
        "fatal signal SIGFPE on thread main",
    );
}

#[test]
fn ill_undefined_instruction() {
    dies(
        unwind_build(),
        "ill",
        None,
        Some("fatal ill"),
        "fatal signal SIGILL on thread main",
    );
}

#[test]
fn stack_overflow() {
    let out = dies(
        unwind_build(),
        "stack-overflow",
        None,
        Some("fatal stack overflow"),
        "fatal signal SIGSEGV on thread main",
    );
    assert!(
        out.contains("has overflowed its stack"),
        "Rust's stack-overflow message is intact: {out}"
    );
}

#[test]
fn sigterm_from_parent() {
    dies(
        unwind_build(),
        "term",
        Some(libc::SIGTERM),
        Some("fatal term"),
        "fatal signal SIGTERM on thread",
    );
}

#[test]
fn sigint_from_parent() {
    dies(
        unwind_build(),
        "int",
        Some(libc::SIGINT),
        Some("fatal int"),
        "fatal signal SIGINT on thread",
    );
}

/// A SIGTERM handler the application installed before `init` is left in place and runs.
#[test]
fn sigterm_handler_installed_before_init_still_runs() {
    let out = dies(
        unwind_build(),
        "term-handler-before",
        Some(libc::SIGTERM),
        Some("fatal term-handler-before"),
        "graceful shutdown after SIGTERM",
    );
    assert!(out.contains("graceful"), "{out}");
}

/// A handler installed after `init` through signal-hook (which calls the one it replaced:
/// ours) still gets to shut the program down gracefully; ours commits and returns.
#[test]
fn signal_hook_installed_after_init_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let (end, out) = run(
        unwind_build(),
        "term-signal-hook-after",
        dir.path(),
        false,
        Some(libc::SIGTERM),
    );
    assert_eq!(end, End::Code(0), "{out}");
    assert!(out.contains("graceful"), "{out}");
    let d = decode(dir.path());
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.seqs.len() as u64, RECORDS);
    let msgs: Vec<&str> = d.others.iter().map(|(_, m)| m.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("signal SIGTERM passed on by a later handler")),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(&"graceful shutdown after SIGTERM"),
        "{msgs:?}"
    );
}

/// `TACHYLOG_CRASH_HANDLING=off` installs nothing: no handler writes a record of the fault.
#[test]
fn environment_turns_crash_handling_off() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(unwind_build())
        .args(["segv"])
        .arg(dir.path())
        .env("TACHYLOG_CRASH_HANDLING", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGSEGV));
    let d = decode(dir.path());
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert!(
        !d.others.iter().any(|(_, m)| m.contains("fatal signal")),
        "a handler ran although the environment turned crash handling off: {:?}",
        d.others
    );
}

/// After `fork`, the child inherits a logger without a drain: it logs nothing, counts every
/// record as dropped, and its `flush()` and `Guard` drop return at once (no hang, no panic);
/// the parent goes on logging.
#[test]
fn fork_child_counts_records_as_dropped_and_never_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(unwind_build())
        .arg("fork")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("fork: the program hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut out = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(
        out.contains("child status=0"),
        "the child exits normally: {out}"
    );
    let field = |name: &str| -> u64 {
        let at = out
            .find(&format!("{name}="))
            .unwrap_or_else(|| panic!("{name} in {out}"));
        out[at + name.len() + 1..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        field("dropped"),
        100,
        "every record of the child is counted: {out}"
    );
    assert!(
        field("flush_ms") < 100,
        "the child's flush returns at once: {out}"
    );
    assert!(
        field("drop_ms") < 100,
        "the child's Guard drop returns at once: {out}"
    );
    let d = decode(dir.path());
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.seqs, (0..RECORDS).collect::<Vec<_>>());
    let msgs: Vec<&str> = d.others.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(msgs, ["parent after fork"], "the child wrote nothing");
}
