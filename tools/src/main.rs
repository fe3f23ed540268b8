//! `tachylog`: decodes tachylog segment files into JSON Lines, readable text or logfmt; follows
//! a live directory; verifies segments; summarises them; ships them to syslog.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};
use tachylog::reader::follow::Follower;
use tachylog::reader::merge::DEFAULT_WINDOW;
use tachylog::reader::{ReadError, Reader};
use tachylog_cli::decode::Decoder;
use tachylog_cli::filter::{Filter, parse_level, parse_time};
use tachylog_cli::output::{Format, Renderer};
use tachylog_cli::stats::Stats;

/// Decode, follow, verify and summarise tachylog segment files.
///
/// Segments are the `*.tlog` files (and `*.tlog.lz4`, compressed) a program using tachylog
/// writes. A PATH is a segment file or a directory holding them.
///
/// Exit status: 0 when everything decoded cleanly, 1 when damaged data was found and skipped
/// (the rest still decoded), 2 when an input could not be used at all (missing path, not a
/// segment, unsupported format version) or the command line is wrong.
#[derive(Parser, Debug)]
#[command(name = "tachylog", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode segments to stdout, in time order, filtered.
    ///
    /// Records from every thread and segment come out in timestamp order (ties: writer pid, then
    /// thread, then the thread's own order). The merge holds at most --window records, so memory
    /// stays bounded on any input; a record that reaches it after later ones were already written
    /// is still written, marked late ("late":true in JSON, `~` after the time in text, late=true
    /// in logfmt). Damage is reported on stderr with the file and byte offset; decoding continues
    /// after it.
    ///
    /// Examples:
    ///   tachylog decode logs/
    ///   tachylog decode -f text --level warn --since 10m logs/
    ///   tachylog decode --target app::db --grep 'timeout|refused' logs/ | less
    ///   tachylog decode --follow -f text logs/
    Decode {
        /// Segment files or directories holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Colour the text format: auto means when stdout is a terminal and NO_COLOR is unset.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Keep records of this level and more severe (error, warn, info, debug, trace).
        #[arg(long, value_parser = parse_level)]
        level: Option<tachylog::Level>,
        /// Keep records whose target starts with PREFIX (repeat for several).
        #[arg(long, value_name = "PREFIX")]
        target: Vec<String>,
        /// Keep records of the thread with this name or OS thread id (repeat for several).
        #[arg(long, value_name = "NAME|TID")]
        thread: Vec<String>,
        /// Keep records at or after TIME: RFC 3339 in UTC (2026-01-31T09:00:00Z) or a
        /// duration before now (90s, 10m, 2h, 1day).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Keep records before TIME (same forms as --since).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Keep records whose formatted message matches this regular expression.
        #[arg(long, value_name = "REGEX")]
        grep: Option<regex::Regex>,
        /// Records held for time ordering (the bound on the merge's memory).
        #[arg(long, value_name = "N", default_value_t = DEFAULT_WINDOW)]
        window: usize,
        /// Follow a directory: write its records, then new ones as the writer commits them,
        /// across rotation to new segments, until Ctrl-C or the reader of stdout goes away.
        #[arg(long)]
        follow: bool,
        /// How often --follow looks for new records, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 100)]
        interval: u64,
    },
    /// Check every frame of segments and print a summary per segment.
    ///
    /// For each segment: frames and records that verify, records reported dropped, how it ends
    /// (sealed, open with a clean end, or torn), and every damaged byte range with the reason.
    /// Exit status: 0 all clean, 1 damage found (a bad checksum, a torn tail, a damaged
    /// compressed file), 2 an input could not be used at all.
    Verify {
        /// Segment files or directories holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Summarise segments: records per level, target and thread, drops, time span, rate, and
    /// the call sites with the most records and the most bytes.
    ///
    /// Nothing is formatted, so this runs at the speed of reading.
    Stats {
        /// Segment files or directories holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// How many call sites to list.
        #[arg(long, value_name = "N", default_value_t = 10)]
        top: usize,
    },
    /// Send records to a syslog receiver as RFC 5424 messages, resuming where the last run
    /// stopped.
    ///
    /// Each record becomes one message: PRI from its level (ERROR err, WARN warning, INFO
    /// info, DEBUG and TRACE debug), its time in UTC to the microsecond, HOSTNAME, APP-NAME
    /// (the segment file name's prefix unless --app-name), PROCID the writer's pid, MSGID its
    /// target, its fields as SD-PARAMs of [fields@32473 ...], level, thread, tid, file and
    /// line in [tachylog@32473 ...], and the formatted message as MSG. Drop notices are sent
    /// as warnings with a `dropped` field. TCP uses octet-counting framing (RFC 6587); UDP and
    /// Unix sockets one message per datagram, cut to --max-size.
    ///
    /// The position (segment and record) is saved in the state file after each batch is sent,
    /// so a restart sends nothing twice and skips nothing; after a kill -9 the last batch may
    /// be sent again. A segment removed by retention before it was shipped is reported on
    /// stderr and shipping goes on with the next. An unreachable receiver is retried with a
    /// growing pause (up to 5 s) without moving the position.
    ///
    /// Exit status: 0 everything sent, 1 damaged data skipped or records found missing, 2 the
    /// directory or state file could not be used.
    ///
    /// Examples:
    ///   tachylog ship --follow logs/ --syslog tcp://127.0.0.1:514
    ///   tachylog ship logs/ --syslog udp://collector.internal:514 --app-name orders
    ///   tachylog ship --follow logs/ --syslog unix:///dev/log --facility local3
    #[command(verbatim_doc_comment)]
    Ship {
        /// The directory of segments.
        dir: PathBuf,
        /// The receiver: tcp://HOST:PORT, udp://HOST:PORT or unix:///PATH.
        #[arg(long, value_name = "URL")]
        syslog: tachylog_cli::ship::Dest,
        /// Keep sending new records as they are written, until Ctrl-C.
        #[arg(long)]
        follow: bool,
        /// Where the position is kept [default: DIR/.ship-<hash of URL>.state].
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// APP-NAME [default: the segment file name's prefix].
        #[arg(long, value_name = "NAME")]
        app_name: Option<String>,
        /// HOSTNAME [default: this machine's name].
        #[arg(long, value_name = "NAME")]
        hostname: Option<String>,
        /// Facility: a name (user, daemon, local0..local7, ...) or 0..23.
        #[arg(long, value_name = "NAME", default_value = "user",
              value_parser = tachylog_cli::syslog::parse_facility)]
        facility: u8,
        /// Largest message in bytes; longer ones are cut [default: none for TCP, 2048 for
        /// UDP, 8192 for unix]. At least 480.
        #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(480..))]
        max_size: Option<u32>,
        /// How often --follow looks for new records, in milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 100)]
        interval: u64,
    },
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    /// When stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The worst thing that happened, as an exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Clean = 0,
    Damaged = 1,
    Unusable = 2,
}

/// Inputs at least this large get a progress bar (when stderr is a terminal and stdout is not).
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode {
            paths,
            format,
            color,
            level,
            target,
            thread,
            since,
            until,
            grep,
            window,
            follow,
            interval,
        } => {
            let now = SystemTime::now();
            let time = |s: Option<String>| s.map(|s| parse_time(&s, now)).transpose();
            match (time(since), time(until)) {
                (Ok(since), Ok(until)) => {
                    let filter = Filter {
                        level,
                        targets: target,
                        threads: thread,
                        since,
                        until,
                        grep,
                    };
                    let color = match color {
                        Color::Always => true,
                        Color::Never => false,
                        Color::Auto => {
                            io::stdout().is_terminal()
                                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                        }
                    };
                    let renderer = Renderer::new(format, color);
                    if follow {
                        follow_dir(&paths, &filter, renderer, window, interval)
                    } else {
                        decode(&paths, &filter, renderer, window)
                    }
                }
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("tachylog: {e}");
                    Ok(Status::Unusable)
                }
            }
        }
        Command::Verify { paths } => verify(&paths),
        Command::Stats { paths, json, top } => stats(&paths, json, top),
        Command::Ship {
            dir,
            syslog,
            follow,
            state,
            app_name,
            hostname,
            facility,
            max_size,
            interval,
        } => {
            let opts = tachylog_cli::ship::Options {
                state: state
                    .unwrap_or_else(|| tachylog_cli::ship::default_state_path(&dir, &syslog)),
                dir,
                follow,
                app_name,
                hostname: hostname.unwrap_or_else(|| {
                    nix::unistd::gethostname()
                        .ok()
                        .and_then(|h| h.into_string().ok())
                        .unwrap_or_default()
                }),
                facility,
                max_size: max_size
                    .map(|m| m as usize)
                    .or_else(|| syslog.default_max_size()),
                interval: Duration::from_millis(interval.max(1)),
                dest: syslog,
            };
            ship(&opts)
        }
    };
    match result {
        Ok(status) => ExitCode::from(status as u8),
        // A closed pipe (`| head`) is a normal way to stop reading.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tachylog: {e}");
            ExitCode::from(Status::Unusable as u8)
        }
    }
}

fn report(e: &ReadError) {
    eprintln!("tachylog: {e}");
}

/// Opens each path on its own, so one missing path does not stop the others.
fn open_all(paths: &[PathBuf], status: &mut Status) -> Vec<Reader> {
    let mut readers = Vec::new();
    for p in paths {
        match Reader::open([p]) {
            Ok(r) => readers.push(r),
            Err(e) => {
                report(&e);
                *status = Status::Unusable;
            }
        }
    }
    readers
}

fn summary_status(s: &tachylog_cli::decode::Summary) -> Status {
    if s.unusable {
        Status::Unusable
    } else if s.damaged {
        Status::Damaged
    } else {
        Status::Clean
    }
}

fn decode(
    paths: &[PathBuf],
    filter: &Filter,
    renderer: Renderer,
    window: usize,
) -> io::Result<Status> {
    let mut status = Status::Clean;
    let readers = open_all(paths, &mut status);
    let total: u64 = readers
        .iter()
        .flat_map(|r| r.pending_files())
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    // One reader (one path, the usual case) is decoded without the `flatten` layer: every
    // record then passes through one iterator fewer on its way to the merge.
    let input: Box<dyn Iterator<Item = Result<tachylog::reader::Event, ReadError>>> =
        match <[Reader; 1]>::try_from(readers) {
            Ok([one]) => Box::new(one),
            Err(readers) => Box::new(readers.into_iter().flatten()),
        };
    let mut decoder = Decoder::new(input, filter, renderer, window);
    let bar =
        (total >= PROGRESS_MIN_BYTES && !io::stdout().is_terminal() && io::stderr().is_terminal())
            .then(|| {
                let bar = indicatif::ProgressBar::new(total);
                bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
                bar
            });
    if let Some(bar) = &bar {
        decoder = decoder.with_progress(bar.clone());
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = decoder.pump(&mut out, &mut report);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result?;
    Ok(status.max(summary_status(&decoder.summary)))
}

fn follow_dir(
    paths: &[PathBuf],
    filter: &Filter,
    renderer: Renderer,
    window: usize,
    interval: u64,
) -> io::Result<Status> {
    let [dir] = paths else {
        eprintln!("tachylog: --follow takes exactly one directory");
        return Ok(Status::Unusable);
    };
    let follower = match Follower::new(dir) {
        Ok(f) => f,
        Err(e) => {
            report(&e);
            return Ok(Status::Unusable);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)) {
        eprintln!("tachylog: cannot handle Ctrl-C: {e}");
    }
    let mut decoder = Decoder::new(Box::new(follower), filter, renderer, window);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    while !stop.load(Ordering::Relaxed) {
        decoder.pump(&mut out, &mut report)?;
        std::thread::sleep(Duration::from_millis(interval.max(1)));
    }
    out.flush()?;
    Ok(if decoder.summary.damaged {
        Status::Damaged
    } else {
        Status::Clean
    })
}

fn verify(paths: &[PathBuf]) -> io::Result<Status> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let o = tachylog_cli::verify::verify_paths(paths, &mut out, &mut report)?;
    Ok(if o.unusable > 0 {
        Status::Unusable
    } else if o.damaged > 0 {
        Status::Damaged
    } else {
        Status::Clean
    })
}

fn stats(paths: &[PathBuf], json: bool, top: usize) -> io::Result<Status> {
    let mut status = Status::Clean;
    let readers = open_all(paths, &mut status);
    let mut st = Stats::default();
    let (damaged, unusable) = st.add_all(readers.into_iter().flatten(), &mut report);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if json {
        st.write_json(&mut out, top)?;
    } else {
        st.write_text(&mut out, top)?;
    }
    out.flush()?;
    Ok(status.max(if unusable {
        Status::Unusable
    } else if damaged {
        Status::Damaged
    } else {
        Status::Clean
    }))
}

fn ship(opts: &tachylog_cli::ship::Options) -> io::Result<Status> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)) {
        eprintln!("tachylog: cannot handle Ctrl-C: {e}");
    }
    match tachylog_cli::ship::ship(opts, &stop) {
        Ok(sum) => {
            eprintln!(
                "tachylog: ship: {} messages sent to {} ({} cut to the size limit, {} too large \
                 for the socket)",
                sum.sent, opts.dest, sum.truncated, sum.oversized
            );
            Ok(if sum.damaged || sum.gaps > 0 || sum.oversized > 0 {
                Status::Damaged
            } else {
                Status::Clean
            })
        }
        Err(e) => {
            eprintln!("tachylog: ship: {e}");
            Ok(Status::Unusable)
        }
    }
}
