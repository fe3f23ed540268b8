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
/// Exit status of decode, verify and stats, the highest that applies: 0 all clean (everything
/// read); 1 damage found and skipped, the rest read (a frame that fails its checksum or
/// structure, a segment ending in a torn frame, damaged compressed data, record values that
/// cannot be decoded); 2 an input could not be used at all (missing path, not a regular file,
/// not a segment, unsupported format version), no segment at all (an empty directory, only
/// empty files), or a wrong command line. `ship` adds 3: it gave up on a receiver that kept
/// failing (see `tachylog ship --help`).
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
    /// thread, then the thread's own order). The merge holds at most --window records (64 MiB
    /// of them at most) and keeps at most 16 segments open for them, so memory stays bounded
    /// on any input; a record that reaches it after later ones were already written
    /// is still written, marked late ("late":true in JSON, `~` after the time in text, late=true
    /// in logfmt). Damage is reported on stderr with the file and byte offset; decoding continues
    /// after it.
    ///
    /// Exit status: 0 all clean; 1 damage found and skipped, the rest read (a frame that fails
    /// its checksum or structure, a segment ending in a torn frame, damaged compressed data,
    /// record values that cannot be decoded); 2 an input could not be used at all (missing
    /// path, not a regular file, not a segment, unsupported version), no segment at all (an
    /// empty directory, only empty files), or a wrong command line. Damage and unusable inputs
    /// are named on stderr with the file (and byte offset).
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
    /// Exit status: 0 all clean; 1 damage found and skipped, the rest read (a frame that fails
    /// its checksum or structure, a segment ending in a torn frame, damaged compressed data,
    /// record values that cannot be decoded); 2 an input could not be used at all (missing
    /// path, not a regular file, not a segment, unsupported version), no segment at all (an
    /// empty directory, only empty files), or a wrong command line. Damage and unusable inputs
    /// are named on stderr with the file (and byte offset).
    Verify(VerifyArgs),
    /// Seal the segments a dead writer left unsealed (after a crash or kill -9).
    ///
    /// Each unsealed `.tlog` segment in DIR whose writer is gone (no process holds its advisory
    /// lock) is cut to its last frame that verifies, given an END frame, marked sealed and
    /// recovered, and cut to length; a segment a live writer holds is left alone. A writer
    /// does the same at start for the segments of its own name. Prints one line per segment
    /// recovered. Exit status: 0 done, 2 DIR could not be read.
    Recover(RecoverArgs),
    /// Summarise segments: records per level, target and thread, drops, time span, rate, and
    /// the call sites with the most records and the most bytes.
    ///
    /// Nothing is formatted, so this runs at the speed of reading (record values are still
    /// checked).    ///
    /// Exit status: 0 all clean; 1 damage found and skipped, the rest read (a frame that fails
    /// its checksum or structure, a segment ending in a torn frame, damaged compressed data,
    /// record values that cannot be decoded); 2 an input could not be used at all (missing
    /// path, not a regular file, not a segment, unsupported version), no segment at all (an
    /// empty directory, only empty files), or a wrong command line. Damage and unusable inputs
    /// are named on stderr with the file (and byte offset).
    Stats(StatsArgs),
    /// Send records to syslog, an OpenTelemetry collector or journald, resuming where the
    /// last run stopped.
    ///
    /// Targets (exactly one):
    ///   --syslog URL       RFC 5424 messages: PRI from the level (ERROR err, WARN warning,
    ///                      INFO info, DEBUG and TRACE debug), the time in UTC to the
    ///                      microsecond, HOSTNAME, APP-NAME, PROCID the writer's pid, MSGID the
    ///                      target, the fields in [fields@32473 ...], level, thread, tid, file,
    ///                      line and id in [tachylog@32473 ...], the message as MSG. TCP uses
    ///                      octet counting (RFC 6587); UDP and unix sockets a datagram each,
    ///                      cut to --max-size.
    ///   --otlp [URL]       OTLP/HTTP, protobuf, gzip, to URL/v1/logs [default:
    ///                      $OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, $OTEL_EXPORTER_OTLP_ENDPOINT/v1/logs,
    ///                      http://localhost:4318/v1/logs]. Each record is a LogRecord: its time,
    ///                      severity, the message as body, its fields as typed attributes, and
    ///                      code.filepath, code.lineno, thread.id, thread.name, log.record.uid;
    ///                      the scope is the target; the resource has service.name, host.name,
    ///                      process.pid and $OTEL_RESOURCE_ATTRIBUTES. Headers from
    ///                      --otlp-header and $OTEL_EXPORTER_OTLP_HEADERS; https:// trusts the
    ///                      system's roots, or --otlp-ca-file ($OTEL_EXPORTER_OTLP_CERTIFICATE).
    ///   --journald[=SOCKET]  journald's native protocol, a datagram per entry (a memfd for
    ///                      large ones), to SOCKET [default: /run/systemd/journal/socket]:
    ///                      MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, SYSLOG_PID, CODE_FILE,
    ///                      CODE_LINE, TID, TACHYLOG_TIME (the record's own time), TACHYLOG_ID,
    ///                      and the fields, names upper-cased with other characters as _.
    /// Drop notices and sampling notices go out too, with their counts as fields.
    ///
    /// Records are sent in batches (--batch-records, --batch-bytes; while following, a batch
    /// waits at most --batch-wait for more). The position (segment and record) is saved in the
    /// state file after each batch is sent (for OTLP: accepted by the collector), so a restart
    /// sends nothing twice and skips nothing; after a kill -9, or a request whose answer never
    /// came, the last batch may be sent again: the id (log.record.uid, TACHYLOG_ID, id=) tells
    /// repeats. A segment removed by retention before it was shipped is reported on stderr and
    /// shipping goes on with the next.
    ///
    /// A receiver that cannot be reached (a name that does not resolve, a refused connection, a
    /// failed send, an OTLP 429, 502, 503 or 504) is retried after a pause that doubles from
    /// 100 ms to 5 s (or what its Retry-After asks), without moving the position. When nothing
    /// has got through for --retry-for (default 30s, 10m with --follow), or the receiver fails
    /// in a way no retry can help (an OTLP 400 or 401, a refused certificate), ship gives up:
    /// it says how many records it did not send and exits with 3; the next run starts with
    /// them. Syslog over TCP has no acknowledgements: when a connection breaks (the receiver
    /// resets it, or closes it with data unread), the messages sent on it may not have
    /// arrived. ship counts them, says so, and exits with 1.
    ///
    /// Exit status, the highest that applies: 0 everything sent (and, over TCP, read by the
    /// receiver as far as the connection's close shows); 1 something was lost or may have
    /// been: damaged data skipped, records removed before they were shipped, messages too large
    /// for the socket, messages sent on a connection that broke, records an OTLP collector
    /// rejected; 2 the directory, state file, environment or command line could not be used;
    /// 3 ship gave up on the receiver.
    ///
    /// Examples:
    ///   tachylog ship --follow logs/ --syslog tcp://127.0.0.1:514
    ///   tachylog ship logs/ --syslog udp://collector.internal:514 --app-name orders
    ///   tachylog ship --follow logs/ --otlp http://otel-collector:4318
    ///   OTEL_EXPORTER_OTLP_HEADERS='authorization=Bearer%20t0k' tachylog ship logs/ --otlp https://otlp.example.com
    ///   tachylog ship --follow logs/ --journald
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
    /// Records held for time ordering (with 64 MiB of records, the bound on the merge's
    /// memory).
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

/// The arguments of `tachylog recover`.
#[derive(Args, Debug)]
pub struct RecoverArgs {
    /// The directory holding the segments.
    pub dir: PathBuf,
    /// Only the segments of this writer name (the `Builder::name`); all names by default.
    #[arg(long)]
    pub name: Option<String>,
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
#[command(group(clap::ArgGroup::new("target").required(true).args(["syslog", "otlp", "journald"])))]
pub struct ShipArgs {
    /// The directory of segments.
    dir: PathBuf,
    /// A syslog receiver: tcp://HOST:PORT, udp://HOST:PORT or unix:///PATH.
    #[arg(long, value_name = "URL")]
    syslog: Option<Dest>,
    /// An OpenTelemetry collector's OTLP/HTTP endpoint: http(s)://HOST:PORT
    /// [default: $OTEL_EXPORTER_OTLP_ENDPOINT or http://localhost:4318].
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    otlp: Option<String>,
    /// journald's socket [default: /run/systemd/journal/socket]; write --journald=SOCKET.
    #[arg(long, value_name = "SOCKET", num_args = 0..=1, require_equals = true,
          default_missing_value = ship::JOURNALD_SOCKET)]
    journald: Option<PathBuf>,
    /// Keep sending new records as they are written, until Ctrl-C.
    #[arg(long)]
    follow: bool,
    /// Where the position is kept [default: DIR/.ship-<hash of the receiver>.state].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// The application's name: syslog APP-NAME, OTLP service.name, journald
    /// SYSLOG_IDENTIFIER [default: $OTEL_SERVICE_NAME for OTLP, else the segment file
    /// name's prefix].
    #[arg(long, visible_alias = "service-name", value_name = "NAME")]
    app_name: Option<String>,
    /// Syslog HOSTNAME, OTLP host.name [default: this machine's name].
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
    /// Syslog facility: a name (user, daemon, local0..local7, ...) or 0..23.
    #[arg(long, value_name = "NAME", default_value = "user",
          value_parser = parse_facility)]
    facility: u8,
    /// Largest syslog message in bytes; longer ones are cut [default: none for TCP, 2048 for
    /// UDP, 8192 for unix]. At least 480.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(480..))]
    max_size: Option<u32>,
    /// An OTLP request header, NAME=VALUE (repeat for several); added to
    /// $OTEL_EXPORTER_OTLP_HEADERS.
    #[arg(long, value_name = "NAME=VALUE")]
    otlp_header: Vec<String>,
    /// PEM file of the certificate authorities to trust for an https:// OTLP endpoint,
    /// instead of the system's [default: $OTEL_EXPORTER_OTLP_CERTIFICATE].
    #[arg(long, value_name = "FILE")]
    otlp_ca_file: Option<PathBuf>,
    /// Records and notices in a batch at most [default: 512].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    batch_records: Option<u32>,
    /// Bytes in a batch at most, as the target encodes them: 64k, 1m [default: 256k syslog,
    /// 1m OTLP, 4m journald].
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    batch_bytes: Option<usize>,
    /// While following, how long a batch waits for more records before it is sent
    /// [default: 1s OTLP, 0s syslog and journald].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    batch_wait: Option<Duration>,
    /// How often --follow looks for new records, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    interval: u64,
    /// How long a receiver may keep failing (no message getting through) before ship gives
    /// up and exits with status 3: 90s, 10m, 1h [default: 30s; 10m with --follow].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    retry_for: Option<Duration>,
}

/// A byte count: `65536`, `64k`, `1m` (binary multiples).
fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, mul) = match t.strip_suffix(['k', 'm']) {
        Some(n) if t.ends_with('k') => (n, 1 << 10),
        Some(n) => (n, 1 << 20),
        None => (t.as_str(), 1),
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{s:?}: expected a byte count such as 65536, 64k or 1m"))
}

/// A duration as humantime writes it: `500ms`, `30s`, `10m`, `1h`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (expected 500ms, 30s, 10m, 1h)"))
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
    /// The shipping these arguments ask for, with the defaults filled in; `Err` when the
    /// OTLP settings (flags or `OTEL_*` variables) are wrong.
    pub fn options(self) -> Result<ship::Options, String> {
        let machine = || {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_default()
        };
        let target = if let Some(dest) = self.syslog {
            ship::Target::Syslog {
                max_size: self
                    .max_size
                    .map(|m| m as usize)
                    .or_else(|| dest.default_max_size()),
                dest,
                hostname: self.hostname.unwrap_or_else(machine),
                facility: self.facility,
            }
        } else if let Some(url) = self.otlp {
            let flags = ship::OtlpFlags {
                url: Some(url).filter(|u| !u.is_empty()),
                headers: self.otlp_header,
                ca_file: self.otlp_ca_file,
                service_name: self.app_name.clone(),
                host_name: self.hostname,
            };
            ship::Target::Otlp(ship::OtlpOptions::new(
                &flags,
                |k| std::env::var(k).ok(),
                &machine(),
            )?)
        } else {
            ship::Target::Journald(
                self.journald
                    .unwrap_or_else(|| ship::JOURNALD_SOCKET.into()),
            )
        };
        let d = target.default_limits();
        let limits = ship::Limits {
            records: self.batch_records.map_or(d.records, |n| n as usize),
            bytes: self.batch_bytes.unwrap_or(d.bytes),
            wait: self.batch_wait.unwrap_or(d.wait),
        };
        Ok(ship::Options {
            state: self
                .state
                .unwrap_or_else(|| ship::default_state_path(&self.dir, &target.name())),
            dir: self.dir,
            follow: self.follow,
            app_name: self.app_name,
            interval: Duration::from_millis(self.interval.max(1)),
            retry_for: self.retry_for.unwrap_or(if self.follow {
                ship::DEFAULT_RETRY_FOR_FOLLOW
            } else {
                ship::DEFAULT_RETRY_FOR
            }),
            limits,
            target,
        })
    }
}
