//! What every target (syslog, OTLP, journald) is to the shipper: a [`Sink`] that turns events
//! into pending messages in its own encoding and sends them, what a failed send means
//! ([`Failure`]), and what a run did ([`Summary`]).
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tachylog::reader::Event;

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Records and notices sent (for OTLP: accepted by the collector).
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
    /// Records the receiver said it rejected (OTLP partial success; reported on stderr).
    pub rejected: u64,
    /// Shipping gave up on the receiver (it kept failing for the retry period, or failed in a
    /// way no retry can help), and why.
    pub gave_up: Option<String>,
    /// Records and notices not sent because shipping gave up (they stay after the saved
    /// position: a later run sends them).
    pub unsent: u64,
}

/// Reports on stderr what went wrong or missing, as `tachylog: ship: ...`.
pub(super) fn report(msg: impl fmt::Display) {
    eprintln!("tachylog: ship: {msg}");
}

/// What the shipper knows about an event besides the event itself.
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta<'a> {
    /// The application: `--app-name`, or the segment file name's prefix.
    pub(super) app: &'a str,
    /// The writer's pid: a record's own; for a notice, that of the segment's records before it.
    pub(super) pid: Option<u32>,
    /// The segment's file name (raw form, without `.lz4`).
    pub(super) segment: &'a str,
    /// The event's place in its segment: records and notices counted from 1, in frame order.
    pub(super) index: u64,
}

impl Meta<'_> {
    /// The event's id, the same in every run and every target: `<segment>/<index>`, for
    /// example `orders-0000000003.tlog/17`. A receiver can drop repeats by it.
    pub(super) fn id(&self) -> String {
        format!("{}/{}", self.segment, self.index)
    }
}

/// What adding an event to the pending messages did.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Added {
    /// Bytes the message takes in the batch (as the sink counts them).
    pub(super) bytes: usize,
    /// The message was cut to the size limit.
    pub(super) cut: bool,
}

/// Why a send failed, and whether to try again.
#[derive(Debug)]
pub(super) enum Failure {
    /// Try again after the backoff, or after `after` if the receiver asked for longer.
    Retry {
        why: String,
        after: Option<Duration>,
    },
    /// No retry can help (a refused certificate, a request the receiver will never take):
    /// shipping stops, the position kept.
    Fatal(String),
}

impl Failure {
    pub(super) fn retry(why: impl fmt::Display) -> Failure {
        Failure::Retry {
            why: why.to_string(),
            after: None,
        }
    }
}

/// What a send may use besides the messages: the stop flag, how long it may take, and the
/// summary to count in.
pub(super) struct SendCx<'a> {
    pub(super) stop: &'a AtomicBool,
    /// How long this attempt may take: what is left of the retry period while the receiver is
    /// failing; `None` (the sink's own timeouts) otherwise.
    pub(super) within: Option<Duration>,
    pub(super) summary: &'a mut Summary,
}

/// A shipping target: it holds the pending messages in its own encoding, in the order they
/// were added, and sends them. The shipper keeps the positions, batching, retries and the
/// state file.
pub(super) trait Sink {
    /// The receiver, as shown in messages (`tcp://host:514`, `http://host:4318/v1/logs`,
    /// `journald:///run/systemd/journal/socket`).
    fn name(&self) -> &str;

    /// Adds a record or notice as the next pending message.
    fn add(&mut self, ev: &Event, meta: &Meta<'_>) -> Added;

    /// Sends the pending messages from `*next` on, advancing `*next` past each one sent (or
    /// given up as unsendable, counted in the summary). `Ok(false)`: a stop was asked for
    /// before all were sent.
    fn send(&mut self, next: &mut usize, cx: &mut SendCx<'_>) -> Result<bool, Failure>;

    /// Forgets the pending messages (sent, or left for a later run).
    fn clear(&mut self);

    /// Ends shipping: closes what is open, counting what the receiver may not have got.
    fn close(&mut self, summary: &mut Summary);
}
