//! The shipper between events: it turns each record and drop notice into a message in the
//! batch (skipping what an earlier run sent), notices segments that went missing, sends the
//! batch (opening the connection again after a growing pause when it fails, until the retry
//! period runs out), counts what a broken connection may have lost, and saves the position
//! reached.
use super::batch::Batch;
use super::conn::{CONNECT_TIMEOUT, Conn, End};
use super::dest::Dest;
use super::retry::{Next, Retry, ms};
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

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
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
    /// Messages sent that the receiver may not have got: sent on TCP connections that broke
    /// (reported on stderr).
    pub unconfirmed: u64,
    /// Shipping gave up on the receiver (it kept failing for the retry period), and why.
    pub gave_up: Option<String>,
    /// Records and notices not sent because shipping gave up (they stay after the saved
    /// position: a later run sends them).
    pub unsent: u64,
}

/// How sending a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flushed {
    /// Everything in it was sent.
    Sent,
    /// A stop (Ctrl-C) left some of it unsent.
    Stopped,
    /// The receiver kept failing for the retry period: some of it is unsent.
    GaveUp,
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
    retry: Retry,
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
    /// A stop or giving up left messages unsent: the position must not move past them any more.
    halted: bool,
}

impl<'a> Shipper<'a> {
    /// A shipper that sends to `dest`, resuming at `saved`, the position in the state file
    /// `state`, and retrying a failing receiver for `retry_for`.
    pub(super) fn new(
        dest: &'a Dest,
        state: &'a Path,
        app_name: Option<&'a str>,
        fmt: Formatter,
        stop: &'a AtomicBool,
        saved: Option<Position>,
        retry_for: Duration,
    ) -> Self {
        Shipper {
            dest,
            state,
            app_name,
            stop,
            fmt,
            conn: None,
            retry: Retry::new(retry_for),
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

    /// Sends the batch (retrying with backoff until it is sent, a stop is asked for, or the
    /// retry period runs out), then saves the position reached.
    pub(super) fn flush(&mut self) -> Flushed {
        if self.halted {
            return if self.summary.gave_up.is_some() {
                Flushed::GaveUp
            } else {
                Flushed::Stopped
            };
        }
        let mut next = 0;
        let mut outcome = Flushed::Sent;
        while next < self.batch.msgs.len() {
            if let Some(how) = self.conn.as_ref().and_then(Conn::ended_by_peer) {
                self.end_conn(how);
            }
            if self.conn.is_none() {
                let within = self
                    .retry
                    .time_left(Instant::now(), Duration::from_millis(100))
                    .map_or(CONNECT_TIMEOUT, |t| t.min(CONNECT_TIMEOUT));
                match Conn::open(self.dest, within) {
                    Ok(c) => {
                        self.conn = Some(c);
                    }
                    Err(e) => match self.retry_after(&e) {
                        Some(o) => {
                            outcome = o;
                            break;
                        }
                        None => continue,
                    },
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            let before = next;
            let r = conn.send(&self.batch, &mut next, self.stop);
            self.summary.sent += (next - before) as u64;
            if next > before {
                self.retry.success();
            }
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
                Ok(true) => self.retry.success(),
                Ok(false) => {
                    outcome = Flushed::Stopped;
                    break;
                }
                Err(e) => {
                    let shown = io::Error::new(e.kind(), e.to_string());
                    self.end_conn(End::Failed(e));
                    // Keep what was sent, even if the rest waits for a new connection.
                    self.save(next.checked_sub(1).map(|i| self.batch.msgs[i].1.clone()));
                    if let Some(o) = self.retry_after(&shown) {
                        outcome = o;
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
        if next < self.batch.msgs.len() {
            self.halted = true;
            if outcome == Flushed::GaveUp {
                self.summary.unsent += (self.batch.msgs.len() - next) as u64;
            }
        }
        self.save(reached);
        self.batch.clear();
        outcome
    }

    /// Ends the connection, counting and reporting what the receiver may not have got.
    fn end_conn(&mut self, how: End) {
        let Some(c) = self.conn.take() else { return };
        if let Some(u) = c.end(how) {
            self.summary.unconfirmed += u.messages;
            report(format_args!(
                "{}: the connection ended badly ({}): the receiver may not have got the {} \
                 messages sent on it (syslog over TCP has no acknowledgements)",
                self.dest, u.why, u.messages
            ));
        }
    }

    /// Reports a failed connection or send and waits before the next attempt. Returns what
    /// ended the flush instead: a stop, or the retry period running out.
    fn retry_after(&mut self, e: &io::Error) -> Option<Flushed> {
        match self.retry.failed(Instant::now(), None) {
            Next::Wait(d) => {
                report(format_args!(
                    "{}: {e}; trying again in {:?}",
                    self.dest,
                    ms(d)
                ));
                nap(d, self.stop).then_some(Flushed::Stopped)
            }
            Next::GiveUp => {
                let why = format!(
                    "{} kept failing for {:?} (the --retry-for period); the last error: {e}",
                    self.dest,
                    ms(self.retry.failing_for(Instant::now()))
                );
                self.summary.gave_up = Some(why);
                Some(Flushed::GaveUp)
            }
        }
    }

    /// Counts an event read after shipping gave up: a record or notice that is not sent.
    pub(super) fn unsent(&mut self, ev: &Event) {
        if matches!(ev, Event::Record(_) | Event::Dropped(_)) {
            self.summary.unsent += 1;
        }
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
        self.end_conn(End::Done);
        self.summary
    }
}
