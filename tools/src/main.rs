//! `tachylog`: decodes tachylog segment files into JSON Lines or readable text.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use tachylog::reader::{Event, ReadError, Reader, Record, rfc3339};
use tachylog_format::Value;

mod json;

/// Decode tachylog segment files.
///
/// Exit status: 0 when everything decoded cleanly, 1 when damaged data was found and skipped
/// (the rest still decoded), 2 when an input could not be used at all (missing path, not a
/// segment, unsupported format version).
#[derive(Parser, Debug)]
#[command(name = "tachylog", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode segments (files, or directories of `*.tlog` files) to stdout.
    ///
    /// Records come out file by file in sequence order, and within a file in the order the drain
    /// wrote them (each thread's records in logging order). Damage is reported on stderr with the
    /// file and byte offset; decoding continues after it.
    Decode {
        /// Segment files or directories holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
}

/// How records are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// JSON Lines: one object per record (keys ts, level, target, thread, tid, file, line, msg, fields).
    Json,
    /// One readable line per record.
    Text,
}

/// The worst thing that happened, as an exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Clean = 0,
    Damaged = 1,
    Unusable = 2,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode { paths, format } => match decode(&paths, format) {
            Ok(status) => ExitCode::from(status as u8),
            // A closed pipe (`| head`) is a normal way to stop reading.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("tachylog: {e}");
                ExitCode::from(Status::Unusable as u8)
            }
        },
    }
}

fn decode(paths: &[PathBuf], format: Format) -> io::Result<Status> {
    let mut status = Status::Clean;
    let mut readers = Vec::new();
    for p in paths {
        match Reader::open([p]) {
            Ok(r) => readers.push(r),
            Err(e) => {
                eprintln!("tachylog: {e}");
                status = status.max(Status::Unusable);
            }
        }
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = String::with_capacity(512);
    for reader in readers {
        for item in reader {
            match item {
                Ok(Event::Record(r)) => {
                    line.clear();
                    match format {
                        Format::Json => json::record(&mut line, &r),
                        Format::Text => text_record(&mut line, &r),
                    }
                    out.write_all(line.as_bytes())?;
                }
                Ok(Event::Dropped(d)) => {
                    line.clear();
                    match format {
                        Format::Json => json::dropped(&mut line, &d),
                        Format::Text => {
                            use std::fmt::Write as _;
                            let _ = write!(line, "{} WARN  tachylog ", rfc3339(d.ts_unix_ns));
                            json::neutralise(
                                &mut line,
                                d.thread
                                    .as_ref()
                                    .and_then(|t| t.name.as_deref())
                                    .unwrap_or("-"),
                            );
                            let _ = writeln!(line, ": {} records dropped", d.count);
                        }
                    }
                    out.write_all(line.as_bytes())?;
                }
                Ok(_) => {}
                Err(e) => {
                    out.flush()?;
                    eprintln!("tachylog: {e}");
                    status = status.max(match e {
                        ReadError::Corrupt { .. } => Status::Damaged,
                        _ => Status::Unusable,
                    });
                }
            }
        }
    }
    out.flush()?;
    Ok(status)
}

fn text_record(line: &mut String, r: &Record) {
    use std::fmt::Write as _;
    let thread = r
        .thread
        .name
        .as_deref()
        .map_or_else(|| format!("tid {}", r.thread.tid), str::to_owned);
    let _ = write!(line, "{} {:<5} ", rfc3339(r.ts_unix_ns), r.level.as_str());
    // Target and thread name come from the input too: neutralised like the message.
    json::neutralise(line, &r.callsite.target);
    line.push(' ');
    json::neutralise(line, &thread);
    line.push_str(": ");
    json::neutralise(line, &r.message());
    if let Ok(fields) = r.fields() {
        for (name, v) in fields {
            let _ = write!(line, " {name}=");
            let mut s = String::new();
            text_value(&mut s, &v);
            json::neutralise(line, &s);
        }
    }
    line.push('\n');
}

fn text_value(out: &mut String, v: &Value<'_>) {
    let pieces = [tachylog_format::Piece::Arg(tachylog_format::Placeholder {
        arg: tachylog_format::ArgRef::Next,
        spec: tachylog_format::Spec {
            fill: ' ',
            align: None,
            sign_plus: false,
            sign_minus: false,
            alternate: false,
            zero: false,
            width: None,
            precision: None,
            ty: match v {
                Value::Str(_) | Value::Pre(_) => tachylog_format::Ty::Display,
                _ => tachylog_format::Ty::Debug,
            },
        },
    })];
    let _ = tachylog_format::render(out, &pieces, &[""], std::slice::from_ref(v));
}
