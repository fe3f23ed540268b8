//! The syslog target: each record and notice as an RFC 5424 message ([`crate::syslog`]), framed
//! for the transport (octet counting on TCP, one datagram each otherwise), sent over a
//! [`Conn`] that is opened again when it fails.
use super::batch::Framed;
use super::conn::{CONNECT_TIMEOUT, Conn, End};
use super::dest::Dest;
use super::sink::{Added, Failure, Meta, SendCx, Sink, Summary, report};
use crate::syslog::{Formatter, octet_counted};
use tachylog::reader::Event;

/// Sends to a syslog receiver.
pub(super) struct SyslogSink {
    dest: Dest,
    name: String,
    fmt: Formatter,
    conn: Option<Conn>,
    pending: Framed,
}

impl SyslogSink {
    pub(super) fn new(dest: Dest, fmt: Formatter) -> SyslogSink {
        SyslogSink {
            name: dest.to_string(),
            dest,
            fmt,
            conn: None,
            pending: Framed::default(),
        }
    }

    /// Ends the connection, counting and reporting what the receiver may not have got.
    fn end_conn(&mut self, how: End, summary: &mut Summary) {
        let Some(c) = self.conn.take() else { return };
        if let Some(u) = c.end(how) {
            summary.unconfirmed += u.messages;
            report(format_args!(
                "{}: the connection ended badly ({}): the receiver may not have got the {} \
                 messages sent on it (syslog over TCP has no acknowledgements)",
                self.dest, u.why, u.messages
            ));
        }
    }
}

impl Sink for SyslogSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn add(&mut self, ev: &Event, meta: &Meta<'_>) -> Added {
        let id = meta.id();
        let (msg, cut) = match ev {
            Event::Record(r) => self.fmt.record(r, meta.app, &id),
            Event::Dropped(d) => self.fmt.dropped(d, meta.app, meta.pid, &id),
            Event::Sampled(s) => self.fmt.sampled(s, meta.app, meta.pid, &id),
            _ => return Added::default(),
        };
        match self.dest {
            Dest::Tcp(_) => octet_counted(&mut self.pending.buf, msg),
            _ => self.pending.buf.extend_from_slice(msg),
        }
        Added {
            bytes: self.pending.end_msg(),
            cut,
        }
    }

    fn send(&mut self, next: &mut usize, cx: &mut SendCx<'_>) -> Result<bool, Failure> {
        while *next < self.pending.len() {
            if let Some(how) = self.conn.as_ref().and_then(Conn::ended_by_peer) {
                self.end_conn(how, cx.summary);
            }
            let conn = match &mut self.conn {
                Some(c) => c,
                None => {
                    let within = cx
                        .within
                        .map_or(CONNECT_TIMEOUT, |t| t.min(CONNECT_TIMEOUT));
                    let c = Conn::open(&self.dest, within).map_err(Failure::retry)?;
                    self.conn.insert(c)
                }
            };
            match conn.send(&self.pending, next, cx.stop) {
                Ok(done) => return Ok(done),
                Err(e) if e.raw_os_error() == Some(nix::errno::Errno::EMSGSIZE as i32) => {
                    // Larger than the socket takes: no retry can help. Counted and reported.
                    cx.summary.oversized += 1;
                    report(format_args!(
                        "{}: a message of {} bytes is too large for the socket and was not \
                         sent; lower --max-size",
                        self.dest,
                        self.pending.msg(*next).len()
                    ));
                    *next += 1;
                }
                Err(e) => {
                    let why = e.to_string();
                    self.end_conn(End::Failed(e), cx.summary);
                    return Err(Failure::retry(why));
                }
            }
        }
        Ok(true)
    }

    fn clear(&mut self) {
        self.pending.clear();
    }

    fn close(&mut self, summary: &mut Summary) {
        self.end_conn(End::Done, summary);
    }
}
