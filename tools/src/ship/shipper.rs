//! The shipper between events: it turns each record and drop notice into a message in the
//! batch (skipping what an earlier run sent), notices segments that went missing, sends the
//! batch (opening the connection again after a growing pause when it fails) and saves the
//! position reached.
use super::batch::Batch;
use super::conn::Conn;
use super::dest::Dest;
use super::segments::seg_key;
use super::state::Position;
use crate::syslog::Formatter;
use std::fmt;
use std::io;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tachylog::reader::{Event, ReadError};

/// First wait after a failed connection or send; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Messages sent.
    pub sent: u64,
    /// Messages cut to the size limit.
    pub truncated: u64,
    /// Messages the socket refused as too large (not sent; reported on stderr).
    pub oversized: u64,
    /// Times records were found missing before they could be shipped (reported on stderr).
    pub gaps: u64,
    /// Damaged data was found and skipped (reported on stderr).
    pub damaged: bool,
}

/// Reports on stderr what went wrong or missing, as `tachylog: ship: ...`.
pub(super) fn report(msg: impl fmt::Display) {
    eprintln!("tachylog: ship: {msg}");
}

/// Sleeps `d`, waking early when `stop` is set. Returns whether it was set.
pub(super) fn nap(d: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + d;
    loop {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        let now = Instant::now();
        if now >= until {
            return false;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

/// Where shipping is, and what it has to send.
pub(super) struct Shipper<'a> {
    /// The receiver.
    dest: &'a Dest,
    /// The state file.
    state: &'a Path,
    /// APP-NAME; the segment file name's prefix when `None`.
    app_name: Option<&'a str>,
    stop: &'a AtomicBool,
    fmt: Formatter,
    conn: Option<Conn>,
    backoff: Duration,
    batch: Batch,
    /// Where reading is: the segment and how many of its records and notices were read (before
    /// the first event, the saved position).
    pos: Option<Position>,
    /// An event of `pos`'s segment was read in this run.
    entered: bool,
    /// The position saved in the state file.
    saved: Option<Position>,
    /// Records of the resumed segment still to skip (sent by an earlier run).
    skip: u64,
    /// The writer's pid, from the current segment's records (drop notices do not carry it).
    pid: Option<u32>,
    summary: Summary,
    save_failed: bool,
    /// A stop left messages unsent: the position must not move past them any more.
    halted: bool,
}

impl<'a> Shipper<'a> {
    /// A shipper that sends to `dest`, resuming at `saved`, the position in the state file
    /// `state`.
    pub(super) fn new(
        dest: &'a Dest,
        state: &'a Path,
        app_name: Option<&'a str>,
        fmt: Formatter,
        stop: &'a AtomicBool,
        saved: Option<Position>,
    ) -> Self {
        Shipper {
            dest,
            state,
            app_name,
            stop,
            fmt,
            conn: None,
            backoff: MIN_BACKOFF,
            batch: Batch::default(),
            pos: saved.clone(),
            entered: false,
            saved,
            skip: 0,
            pid: None,
            summary: Summary::default(),
            save_failed: false,
            halted: false,
        }
    }

    /// Moves on to segment `name`: reports what went missing since the previous position.
    fn enter(&mut self, name: &str) {
        let resumed = self.pos.as_ref().is_some_and(|p| &*p.segment == name);
        self.skip = match (&self.pos, resumed) {
            (Some(p), true) => p.index,
            _ => 0,
        };
        if let Some(prev) = self.pos.take().filter(|_| !resumed) {
            let (pp, ps) = seg_key(&prev.segment);
            let (np, ns) = seg_key(name);
            if !prev.complete {
                self.summary.gaps += 1;
                report(format_args!(
                    "{} was removed before it was shipped in full: records after the first {} \
                     of it are lost",
                    prev.segment, prev.index
                ));
            }
            if pp == np && ns > ps + 1 {
                self.summary.gaps += 1;
                let range = if ns == ps + 2 {
                    format!("{}", ps + 1)
                } else {
                    format!("{} to {}", ps + 1, ns - 1)
                };
                report(format_args!(
                    "segments {range} of {pp:?} were removed before they were shipped; \
                     going on with {name}"
                ));
            }
        }
        self.pos = Some(Position {
            segment: Rc::from(name),
            index: 0,
            complete: false,
        });
        self.pid = None;
    }

    /// Handles one event of segment `seg` (raw file name).
    pub(super) fn event(&mut self, ev: Event, seg: &str) {
        if !self.entered || self.pos.as_ref().is_none_or(|p| &*p.segment != seg) {
            self.enter(seg);
            self.entered = true;
        }
        let Some(pos) = self.pos.as_mut() else { return };
        let counted = matches!(ev, Event::Record(_) | Event::Dropped(_));
        if counted {
            pos.index += 1;
            if pos.index <= self.skip {
                if let Event::Record(r) = &ev {
                    self.pid = Some(r.pid);
                }
                return;
            }
        }
        let app = self.app_name.unwrap_or(seg_key(seg).0);
        let (msg, cut) = match &ev {
            Event::Record(r) => {
                self.pid = Some(r.pid);
                self.fmt.record(r, app)
            }
            Event::Dropped(d) => self.fmt.dropped(d, app, self.pid),
            Event::SegmentEnd { .. } => {
                pos.complete = true;
                if pos.index < self.skip {
                    report(format_args!(
                        "{seg} holds {} records and notices, fewer than the {} the saved \
                         position counts; was it replaced?",
                        pos.index, self.skip
                    ));
                }
                return;
            }
            _ => return,
        };
        self.summary.truncated += u64::from(cut);
        self.batch.push(self.dest, msg, pos.clone());
    }

    /// The batch is to be sent before the next event.
    pub(super) fn full(&self) -> bool {
        self.batch.full()
    }

    /// Sends the batch (retrying with backoff until it is sent or a stop is asked for), then
    /// saves the position reached. Returns false if a stop left messages unsent.
    pub(super) fn flush(&mut self) -> bool {
        if self.halted {
            return false;
        }
        let mut next = 0;
        while next < self.batch.msgs.len() {
            if self.conn.as_ref().is_some_and(Conn::closed_by_peer) {
                self.conn = None;
            }
            if self.conn.is_none() {
                match Conn::open(self.dest) {
                    Ok(c) => {
                        self.conn = Some(c);
                    }
                    Err(e) => {
                        if self.retry_after(&e) {
                            break;
                        }
                        continue;
                    }
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            let before = next;
            let r = conn.send(&self.batch, &mut next, self.stop);
            self.summary.sent += (next - before) as u64;
            match r {
                Err(e) if e.raw_os_error() == Some(nix::errno::Errno::EMSGSIZE as i32) => {
                    // Larger than the socket takes: no retry can help. Counted and reported.
                    self.summary.oversized += 1;
                    report(format_args!(
                        "{}: a message of {} bytes is too large for the socket and was not \
                         sent; lower --max-size",
                        self.dest,
                        self.batch.msgs[next].0 - self.batch.start(next)
                    ));
                    next += 1;
                }
                Ok(true) => self.backoff = MIN_BACKOFF,
                Ok(false) => break,
                Err(e) => {
                    self.conn = None;
                    if next > before {
                        self.backoff = MIN_BACKOFF;
                    }
                    // Keep what was sent, even if the rest waits for a new connection.
                    self.save(next.checked_sub(1).map(|i| self.batch.msgs[i].1.clone()));
                    if self.retry_after(&e) {
                        break;
                    }
                }
            }
        }
        let reached = if next == self.batch.msgs.len() {
            // Everything sent: the position is where reading is (past notices and ends).
            self.pos.clone()
        } else {
            next.checked_sub(1).map(|i| self.batch.msgs[i].1.clone())
        };
        self.halted = next < self.batch.msgs.len();
        self.save(reached);
        self.batch.clear();
        !self.halted
    }

    /// Reports a failed connection or send and waits before the next attempt. Returns true
    /// when a stop was asked for instead.
    fn retry_after(&mut self, e: &io::Error) -> bool {
        report(format_args!(
            "{}: {e}; trying again in {:?}",
            self.dest, self.backoff
        ));
        let stopped = nap(self.backoff, self.stop);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        stopped
    }

    fn save(&mut self, p: Option<Position>) {
        let Some(p) = p else { return };
        if self.saved.as_ref() == Some(&p) {
            return;
        }
        match p.save(self.state) {
            Ok(()) => {
                self.saved = Some(p);
                self.save_failed = false;
            }
            Err(e) => {
                if !self.save_failed {
                    report(format_args!(
                        "cannot save the position to {}: {e} (a restart would send again \
                         what was sent since)",
                        self.state.display()
                    ));
                }
                self.save_failed = true;
            }
        }
    }

    /// Reports a read error; damage counts for the exit status.
    pub(super) fn read_error(&mut self, e: ReadError) {
        if matches!(e, ReadError::Corrupt { .. }) {
            self.summary.damaged = true;
        }
        report(e);
    }

    /// Sends what is left, closes the connection cleanly and says what the run did.
    pub(super) fn finish(mut self) -> Summary {
        self.flush();
        if let Some(c) = self.conn.take() {
            c.close();
        }
        self.summary
    }
}
