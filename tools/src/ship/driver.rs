//! `tachylog ship` from the top: what to ship and where ([`Options`], [`Target`]), the loop
//! from the directory's events to the sink, what stops it from starting ([`ShipError`]), and
//! the command's summary and exit status.
use super::batch::Limits;
use super::dest::Dest;
use super::journald::JournaldSink;
use super::otlp::{OtlpOptions, OtlpSink};
use super::retry::nap;
use super::segments::{self, raw_file_name, seg_key};
use super::shipper::{Flushed, Shipper};
use super::sink::{Sink, Summary, report};
use super::state::{self, Position};
use super::syslog_sink::SyslogSink;
use crate::command::{Status, stop_on_ctrl_c};
use crate::syslog::Formatter;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tachylog::reader::follow::Follower;
use tachylog::reader::segment_files;

/// Where records go.
#[derive(Debug, Clone)]
pub enum Target {
    /// A syslog receiver, RFC 5424.
    Syslog {
        /// The receiver.
        dest: Dest,
        /// HOSTNAME.
        hostname: String,
        /// Syslog facility, 0 to 23.
        facility: u8,
        /// Largest message in bytes (longer ones are cut); `None` for no limit.
        max_size: Option<usize>,
    },
    /// An OpenTelemetry collector, OTLP/HTTP with protobuf.
    Otlp(OtlpOptions),
    /// journald's native protocol on this Unix datagram socket.
    Journald(PathBuf),
}

impl Target {
    /// The receiver as messages show it, and as the default state file's name is made from:
    /// `tcp://host:514`, `http://host:4318/v1/logs`, `journald:///run/systemd/journal/socket`.
    pub fn name(&self) -> String {
        match self {
            Target::Syslog { dest, .. } => dest.to_string(),
            Target::Otlp(o) => o.endpoint.clone(),
            Target::Journald(p) => format!("journald://{}", p.display()),
        }
    }

    /// The batch limits that suit the target when none are given.
    pub fn default_limits(&self) -> Limits {
        match self {
            Target::Syslog { .. } => Limits::SYSLOG,
            Target::Otlp(_) => Limits::OTLP,
            Target::Journald(_) => Limits::JOURNALD,
        }
    }

    fn sink(&self) -> Result<Box<dyn Sink + '_>, ShipError> {
        Ok(match self {
            Target::Syslog {
                dest,
                hostname,
                facility,
                max_size,
            } => Box::new(SyslogSink::new(
                dest.clone(),
                Formatter::new(*facility, hostname, *max_size),
            )),
            Target::Otlp(o) => Box::new(OtlpSink::new(o).map_err(ShipError)?),
            Target::Journald(p) => Box::new(JournaldSink::new(p)),
        })
    }
}

/// What to ship, where, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The directory of segments.
    pub dir: PathBuf,
    /// The receiver.
    pub target: Target,
    /// Keep following the directory until stopped (otherwise ship what is there and return).
    pub follow: bool,
    /// The state file.
    pub state: PathBuf,
    /// The application's name (syslog APP-NAME, OTLP `service.name`, journald
    /// `SYSLOG_IDENTIFIER`); the segment file name's prefix when `None`.
    pub app_name: Option<String>,
    /// How often to look for new records when following.
    pub interval: Duration,
    /// How long a failing receiver is retried before shipping gives up (see
    /// [`DEFAULT_RETRY_FOR`](super::DEFAULT_RETRY_FOR)).
    pub retry_for: Duration,
    /// When a batch is sent.
    pub limits: Limits,
}

/// Why shipping could not start.
#[derive(Debug)]
pub struct ShipError(pub String);

impl fmt::Display for ShipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShipError {}

/// Ships `opts.dir` to `opts.target` until everything there is sent (or, with `opts.follow`,
/// until `stop` is set). Problems on the way (damage, gaps, an unreachable receiver) are
/// reported on stderr; only what prevents starting is an `Err`.
pub fn ship(opts: &Options, stop: &AtomicBool) -> Result<Summary, ShipError> {
    let saved = Position::load(&opts.state).map_err(ShipError)?;
    let sink = opts.target.sink()?;
    let mut follower = Follower::new(&opts.dir).map_err(|e| ShipError(e.to_string()))?;
    // Fail now, not after the first batch, if the position cannot be kept.
    state::probe(&opts.state).map_err(|e| {
        ShipError(format!(
            "cannot write the state file {}: {e}",
            opts.state.display()
        ))
    })?;
    let files = segment_files(&opts.dir).map_err(|e| ShipError(e.to_string()))?;
    let saved = saved.filter(|s| {
        let stale = segments::restarted(s, &files);
        if stale {
            report(format_args!(
                "every segment of {:?} precedes the saved position ({}): the directory \
                 started again; shipping from its oldest segment",
                seg_key(&s.segment).0,
                s.segment
            ));
        }
        !stale
    });
    if let Some(s) = &saved {
        for f in segments::shipped(s, &files) {
            follower.skip_segment(f);
        }
    }
    let mut sh = Shipper::new(
        sink,
        &opts.state,
        opts.app_name.as_deref(),
        stop,
        saved,
        opts.limits,
        opts.retry_for,
    );
    let mut gave_up = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if gave_up {
            // Count what is left, for the report; nothing more is sent.
            match follower.next() {
                Some(Ok(ev)) => sh.unsent(&ev),
                Some(Err(_)) => {}
                None => break,
            }
            continue;
        }
        match follower.next() {
            Some(Ok(ev)) => {
                let Some(seg) = follower.current_segment().and_then(raw_file_name) else {
                    // The follower returns events only while their segment is open.
                    debug_assert!(false, "an event outside any segment: {ev:?}");
                    report(format_args!(
                        "an event outside any segment was not sent: {ev:?}"
                    ));
                    continue;
                };
                sh.event(ev, &seg);
                if sh.full() {
                    match sh.flush() {
                        Flushed::Sent => {}
                        Flushed::Stopped => break,
                        Flushed::GaveUp => gave_up = true,
                    }
                }
            }
            Some(Err(e)) => sh.read_error(e),
            None => {
                // Caught up: send now, unless following and the batch may wait for more.
                let wait = sh.due_in();
                if opts.follow && !wait.is_zero() {
                    if nap(wait.min(opts.interval), stop) {
                        break;
                    }
                    continue;
                }
                match sh.flush() {
                    Flushed::Sent if opts.follow && !nap(opts.interval, stop) => {}
                    Flushed::GaveUp => gave_up = true,
                    _ => break,
                }
            }
        }
    }
    Ok(sh.finish())
}

/// The exit status of a run that did `sum`: [`Status::GaveUp`] when it gave up on the
/// receiver, else [`Status::Damaged`] when anything was lost or may have been (damaged data
/// skipped, records removed before they were shipped, messages too large for the socket,
/// messages the receiver may not have got, records the receiver rejected), else
/// [`Status::Clean`].
pub fn status(sum: &Summary) -> Status {
    if sum.gave_up.is_some() {
        Status::GaveUp
    } else {
        Status::of(
            sum.damaged
                || sum.gaps > 0
                || sum.oversized > 0
                || sum.unconfirmed > 0
                || sum.rejected > 0,
            false,
        )
    }
}

/// The summary line: what was sent, and what may not have arrived.
pub fn summary_line(sum: &Summary, target: &Target) -> String {
    let mut line = format!("{} messages sent to {}", sum.sent, target.name());
    match target {
        Target::Syslog { .. } => line.push_str(&format!(
            " ({} cut to the size limit, {} too large for the socket)",
            sum.truncated, sum.oversized
        )),
        Target::Otlp(_) => line.push_str(&format!(
            " (accepted by the collector; {} rejected)",
            sum.rejected
        )),
        Target::Journald(_) => {}
    }
    if sum.unconfirmed > 0 {
        line.push_str(&format!(
            "; {} of them may not have arrived (sent on connections that broke)",
            sum.unconfirmed
        ));
    }
    line
}

/// `tachylog ship`: ships until everything is sent or, with `opts.follow`, until Ctrl-C, then
/// says on stderr how many records and notices were sent, and what may not have arrived.
pub fn run(opts: &Options) -> io::Result<Status> {
    let stop = stop_on_ctrl_c();
    match ship(opts, &stop) {
        Ok(sum) => {
            if let Some(why) = &sum.gave_up {
                report(format_args!(
                    "giving up: {why}. {} records and notices were not sent; the position is \
                     saved, so the next run starts with them",
                    sum.unsent
                ));
            }
            report(summary_line(&sum, &opts.target));
            Ok(status(&sum))
        }
        Err(e) => {
            report(e);
            Ok(Status::Unusable)
        }
    }
}
