//! The command line: its subcommands and their arguments (the text of `--help`), and what they
//! become: the options each subcommand's `run` takes.
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tachylog::reader::merge::DEFAULT_WINDOW;
use tachylog_cli::decode;
use tachylog_cli::filter::{Filter, parse_level, parse_time};
use tachylog_cli::output::{Format, Renderer};
use tachylog_cli::ship::{self, Dest};
use tachylog_cli::syslog::parse_facility;

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
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
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
    #[command(verbatim_doc_comment)]
    Decode(DecodeArgs),
    /// Check every frame of segments and print a summary per segment.
    ///
    /// For each segment: frames and records that verify, records reported dropped, how it ends
    /// (sealed, open with a clean end, or torn), and every damaged byte range with the reason.
    /// Exit status: 0 all clean, 1 damage found (a bad checksum, a torn tail, a damaged
    /// compressed file), 2 an input could not be used at all.
    Verify(VerifyArgs),
    /// Summarise segments: records per level, target and thread, drops, time span, rate, and
    /// the call sites with the most records and the most bytes.
    ///
    /// Nothing is formatted, so this runs at the speed of reading.
    Stats(StatsArgs),
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
    Ship(ShipArgs),
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

/// The arguments of `tachylog decode`.
#[derive(Args, Debug)]
pub struct DecodeArgs {
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
    /// Keep records of TARGET and the targets below it: app::db keeps app::db and
    /// app::db::pool, not app::dbx; app:: keeps the targets below app (repeat for several).
    #[arg(long, value_name = "TARGET")]
    target: Vec<String>,
    /// Keep records of the thread with this name or OS thread id (repeat for several).
    #[arg(long, value_name = "NAME|TID")]
    thread: Vec<String>,
    /// Keep records at or after TIME: RFC 3339 with any offset (2026-01-31T09:00:00Z,
    /// 2026-01-31T10:00:00+01:00; UTC without one) or a duration before now (90s, 10m, 2h,
    /// 1day).
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
}

/// The arguments of `tachylog verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Segment files or directories holding them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// The arguments of `tachylog stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Segment files or directories holding them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How many call sites to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
}

/// The arguments of `tachylog ship`.
#[derive(Args, Debug)]
pub struct ShipArgs {
    /// The directory of segments.
    dir: PathBuf,
    /// The receiver: tcp://HOST:PORT, udp://HOST:PORT or unix:///PATH.
    #[arg(long, value_name = "URL")]
    syslog: Dest,
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
          value_parser = parse_facility)]
    facility: u8,
    /// Largest message in bytes; longer ones are cut [default: none for TCP, 2048 for
    /// UDP, 8192 for unix]. At least 480.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(480..))]
    max_size: Option<u32>,
    /// How often --follow looks for new records, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    interval: u64,
}

impl DecodeArgs {
    /// The decode these arguments ask for; `Err` when --since or --until is not a time.
    pub fn options(self) -> Result<decode::Options, String> {
        let now = SystemTime::now();
        let time = |s: Option<String>| s.map(|s| parse_time(&s, now)).transpose();
        let (since, until) = (time(self.since)?, time(self.until)?);
        let color = match self.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Ok(decode::Options {
            paths: self.paths,
            filter: Filter {
                level: self.level,
                targets: self.target,
                threads: self.thread,
                since,
                until,
                grep: self.grep,
            },
            renderer: Renderer::new(self.format, color),
            window: self.window,
            follow: self
                .follow
                .then(|| Duration::from_millis(self.interval.max(1))),
        })
    }
}

impl ShipArgs {
    /// The shipping these arguments ask for, with the defaults filled in.
    pub fn options(self) -> ship::Options {
        ship::Options {
            state: self
                .state
                .unwrap_or_else(|| ship::default_state_path(&self.dir, &self.syslog)),
            dir: self.dir,
            follow: self.follow,
            app_name: self.app_name,
            hostname: self.hostname.unwrap_or_else(|| {
                nix::unistd::gethostname()
                    .ok()
                    .and_then(|h| h.into_string().ok())
                    .unwrap_or_default()
            }),
            facility: self.facility,
            max_size: self
                .max_size
                .map(|m| m as usize)
                .or_else(|| self.syslog.default_max_size()),
            interval: Duration::from_millis(self.interval.max(1)),
            dest: self.syslog,
        }
    }
}
