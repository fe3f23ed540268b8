//! `tachylog ship` from the top: what to ship ([`Options`]), the loop from the directory's events
//! to the receiver, what stops it from starting ([`ShipError`]), and the command's summary and
//! exit status.
use super::dest::Dest;
use super::segments::{self, raw_file_name, seg_key};
use super::shipper::{Flushed, Shipper, Summary, nap, report};
use super::state::{self, Position};
use crate::command::{Status, stop_on_ctrl_c};
use crate::syslog::Formatter;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tachylog::reader::follow::Follower;
use tachylog::reader::segment_files;

/// What to ship, where, and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The directory of segments.
    pub dir: PathBuf,
    /// The receiver.
    pub dest: Dest,
    /// Keep following the directory until stopped (otherwise ship what is there and return).
    pub follow: bool,
    /// The state file.
    pub state: PathBuf,
    /// APP-NAME; the segment file name's prefix when `None`.
    pub app_name: Option<String>,
    /// HOSTNAME.
    pub hostname: String,
    /// Syslog facility, 0 to 23.
    pub facility: u8,
    /// Largest message in bytes (longer ones are cut); `None` for no limit.
    pub max_size: Option<usize>,
    /// How often to look for new records when following.
    pub interval: Duration,
    /// How long a failing receiver is retried before shipping gives up (see
    /// [`DEFAULT_RETRY_FOR`](super::DEFAULT_RETRY_FOR)).
    pub retry_for: Duration,
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

/// Ships `opts.dir` to `opts.dest` until everything there is sent (or, with `opts.follow`,
/// until `stop` is set). Problems on the way (damage, gaps, an unreachable receiver) are
/// reported on stderr; only what prevents starting is an `Err`.
pub fn ship(opts: &Options, stop: &AtomicBool) -> Result<Summary, ShipError> {
    let saved = Position::load(&opts.state).map_err(ShipError)?;
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
        &opts.dest,
        &opts.state,
        opts.app_name.as_deref(),
        Formatter::new(opts.facility, &opts.hostname, opts.max_size),
        stop,
        saved,
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
            None => match sh.flush() {
                Flushed::Sent if opts.follow && !nap(opts.interval, stop) => {}
                Flushed::GaveUp => gave_up = true,
                _ => break,
            },
        }
    }
    Ok(sh.finish())
}

/// The exit status of a run that did `sum`: [`Status::GaveUp`] when it gave up on the
/// receiver, else [`Status::Damaged`] when anything was lost or may have been (damaged data
/// skipped, records removed before they were shipped, messages too large for the socket,
/// messages the receiver may not have got), else [`Status::Clean`].
pub fn status(sum: &Summary) -> Status {
    if sum.gave_up.is_some() {
        Status::GaveUp
    } else {
        Status::of(
            sum.damaged || sum.gaps > 0 || sum.oversized > 0 || sum.unconfirmed > 0,
            false,
        )
    }
}

/// `tachylog ship`: ships until everything is sent or, with `opts.follow`, until Ctrl-C, then
/// says on stderr how many messages were sent, and what may not have arrived.
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
            let unconfirmed = if sum.unconfirmed > 0 {
                format!(
                    "; {} of them may not have arrived (sent on connections that broke)",
                    sum.unconfirmed
                )
            } else {
                String::new()
            };
            eprintln!(
                "tachylog: ship: {} messages sent to {} ({} cut to the size limit, {} too large \
                 for the socket){unconfirmed}",
                sum.sent, opts.dest, sum.truncated, sum.oversized
            );
            Ok(status(&sum))
        }
        Err(e) => {
            report(e);
            Ok(Status::Unusable)
        }
    }
}
