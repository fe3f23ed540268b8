//! The shipper between events and a [`Sink`]: it hands each record and notice to the sink
//! (skipping what an earlier run sent), notices segments that went missing, sends a batch when
//! it is full or due (trying again after a growing pause when a send fails, until the retry
//! period runs out or the sink says no retry can help), and saves the position reached.
use super::batch::{Batch, Limits};
use super::retry::{Next, Retry, ms, nap};
use super::segments::seg_key;
use super::sink::{Failure, Meta, SendCx, Sink, Summary, report};
use super::state::Position;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use tachylog::reader::{Event, ReadError};

/// How sending a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flushed {
    /// Everything in it was sent.
    Sent,
    /// A stop (Ctrl-C) left some of it unsent.
    Stopped,
    /// The receiver kept failing for the retry period, or failed in a way no retry helps:
    /// some of it is unsent.
    GaveUp,
}

/// Where shipping is, and what it has to send.
pub(super) struct Shipper<'a> {
    sink: Box<dyn Sink + 'a>,
    /// The state file.
    state: &'a Path,
    /// APP-NAME; the segment file name's prefix when `None`.
    app_name: Option<&'a str>,
    stop: &'a AtomicBool,
    limits: Limits,
    retry: Retry,
    batch: Batch,
    /// Where reading is: the segment and how many of its records and notices were read (before
    /// the first event, the saved position).
    pos: Option<Position>,
    /// An event of `pos`'s segment was read in this run.
    entered: bool,
    /// The position saved in the state file.
    saved: Option<Position>,
    /// Records and notices of the resumed segment still to skip (sent by an earlier run).
    skip: u64,
    /// The writer's pid, from the current segment's records (notices do not carry it).
    pid: Option<u32>,
    summary: Summary,
    save_failed: bool,
    /// A stop or giving up left messages unsent: the position must not move past them any more.
    halted: bool,
}

impl<'a> Shipper<'a> {
    /// A shipper that sends to `sink` in batches of `limits`, resuming at `saved`, the position
    /// in the state file `state`, and retrying a failing receiver for `retry_for`.
    pub(super) fn new(
        sink: Box<dyn Sink + 'a>,
        state: &'a Path,
        app_name: Option<&'a str>,
        stop: &'a AtomicBool,
        saved: Option<Position>,
        limits: Limits,
        retry_for: Duration,
    ) -> Self {
        Shipper {
            sink,
            state,
            app_name,
            stop,
            limits,
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
        match &ev {
            Event::Record(_) | Event::Dropped(_) | Event::Sampled(_) => {}
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
        }
        pos.index += 1;
        if let Event::Record(r) = &ev {
            self.pid = Some(r.pid);
        }
        if pos.index <= self.skip {
            return;
        }
        let meta = Meta {
            app: self.app_name.unwrap_or(seg_key(seg).0),
            pid: self.pid,
            segment: seg,
            index: pos.index,
        };
        let added = self.sink.add(&ev, &meta);
        self.summary.truncated += u64::from(added.cut);
        self.batch.push(pos.clone(), added.bytes);
    }

    /// The batch is to be sent before the next event: it is full, or it has waited as long
    /// as batches wait (when they wait at all: with no wait, a batch is sent when it is full
    /// or the shipper catches up).
    pub(super) fn full(&self) -> bool {
        self.batch.full(&self.limits)
            || (!self.limits.wait.is_zero()
                && self.batch.len() > 0
                && self.batch.due_in(&self.limits).is_zero())
    }

    /// How long until the batch is due (it has waited as long as batches wait): zero when it
    /// is, or when it is empty.
    pub(super) fn due_in(&self) -> Duration {
        self.batch.due_in(&self.limits)
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
        let n = self.batch.len();
        let mut next = 0;
        let mut outcome = Flushed::Sent;
        while next < n {
            let before = next;
            let within = self
                .retry
                .time_left(Instant::now(), Duration::from_millis(100));
            let mut cx = SendCx {
                stop: self.stop,
                within,
                summary: &mut self.summary,
            };
            let r = self.sink.send(&mut next, &mut cx);
            self.summary.sent += (next - before) as u64;
            if next > before {
                self.retry.success();
                // Keep what was sent, even if the rest waits for another attempt.
                if next < n {
                    self.save(Some(self.batch.positions[next - 1].clone()));
                }
            }
            match r {
                Ok(true) => self.retry.success(),
                Ok(false) => {
                    outcome = Flushed::Stopped;
                    break;
                }
                Err(f) => {
                    if let Some(o) = self.retry_after(f) {
                        outcome = o;
                        break;
                    }
                }
            }
        }
        let reached = if next == n {
            // Everything sent: the position is where reading is (past notices and ends).
            self.pos.clone()
        } else {
            next.checked_sub(1).map(|i| self.batch.positions[i].clone())
        };
        if next < n {
            self.halted = true;
            if outcome == Flushed::GaveUp {
                self.summary.unsent += (n - next) as u64;
            }
        }
        self.save(reached);
        self.batch.clear();
        self.sink.clear();
        outcome
    }

    /// Reports a failed send and waits before the next attempt. Returns what ended the flush
    /// instead: a stop, or giving up.
    fn retry_after(&mut self, f: Failure) -> Option<Flushed> {
        let (why, asked) = match f {
            Failure::Retry { why, after } => (why, after),
            Failure::Fatal(why) => {
                self.summary.gave_up = Some(format!(
                    "{}: {why}; trying again cannot help",
                    self.sink.name()
                ));
                return Some(Flushed::GaveUp);
            }
        };
        match self.retry.failed(Instant::now(), asked) {
            Next::Wait(d) => {
                report(format_args!(
                    "{}: {why}; trying again in {:?}",
                    self.sink.name(),
                    ms(d)
                ));
                nap(d, self.stop).then_some(Flushed::Stopped)
            }
            Next::GiveUp => {
                self.summary.gave_up = Some(format!(
                    "{} kept failing for {:?} (the --retry-for period); the last error: {why}",
                    self.sink.name(),
                    ms(self.retry.failing_for(Instant::now()))
                ));
                Some(Flushed::GaveUp)
            }
        }
    }

    /// Counts an event read after shipping gave up: a record or notice that is not sent.
    pub(super) fn unsent(&mut self, ev: &Event) {
        if matches!(ev, Event::Record(_) | Event::Dropped(_) | Event::Sampled(_)) {
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
        self.sink.close(&mut self.summary);
        self.summary
    }
}
