//! `tachylog ship` from the top: what to ship ([`Options`]), the loop from the directory's events
//! to the receiver, what stops it from starting ([`ShipError`]), and the command's summary and
//! exit status.
use super::dest::Dest;
use super::segments::{self, raw_file_name, seg_key};
use super::shipper::{Shipper, Summary, nap, report};
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
    );
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
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
                if sh.full() && !sh.flush() {
                    break;
                }
            }
            Some(Err(e)) => sh.read_error(e),
            None => {
                if !sh.flush() || !opts.follow || nap(opts.interval, stop) {
                    break;
                }
            }
        }
    }
    Ok(sh.finish())
}

/// `tachylog ship`: ships until everything is sent or, with `opts.follow`, until Ctrl-C, then
/// says on stderr how many messages were sent.
pub fn run(opts: &Options) -> io::Result<Status> {
    let stop = stop_on_ctrl_c();
    match ship(opts, &stop) {
        Ok(sum) => {
            eprintln!(
                "tachylog: ship: {} messages sent to {} ({} cut to the size limit, {} too large \
                 for the socket)",
                sum.sent, opts.dest, sum.truncated, sum.oversized
            );
            Ok(Status::of(
                sum.damaged || sum.gaps > 0 || sum.oversized > 0,
                false,
            ))
        }
        Err(e) => {
            report(e);
            Ok(Status::Unusable)
        }
    }
}
