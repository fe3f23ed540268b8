//! Batches: how many records, bytes and how much waiting make one ([`Limits`]), the positions
//! of the messages waiting to be sent ([`Batch`]), and messages kept end to end in one buffer
//! ([`Framed`]) for the sinks that send bytes.
use super::state::Position;
use std::time::{Duration, Instant};

/// Records and notices in one batch at most, by default; the position is saved after each
/// batch, so after a crash at most this many are sent again.
pub const BATCH_MESSAGES: usize = 512;

/// When a batch is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Records and notices in a batch at most.
    pub records: usize,
    /// Bytes in a batch at most (as the target encodes them, before compression); a message
    /// larger than this goes in a batch of its own.
    pub bytes: usize,
    /// How long a message may wait for more to join its batch while the shipper follows a
    /// directory; zero sends whatever there is each time it catches up.
    pub wait: Duration,
}

impl Limits {
    /// The defaults for syslog: 512 messages, 256 KiB, sent as soon as the shipper catches up.
    pub const SYSLOG: Limits = Limits {
        records: BATCH_MESSAGES,
        bytes: 256 << 10,
        wait: Duration::ZERO,
    };
    /// The defaults for OTLP: 512 records (the OpenTelemetry SDK's batch size), 1 MiB of
    /// protobuf (well under collectors' request limits), at most 1 s of waiting (the SDK's
    /// schedule delay), so a trickle of records is not one request each.
    pub const OTLP: Limits = Limits {
        records: BATCH_MESSAGES,
        bytes: 1 << 20,
        wait: Duration::from_secs(1),
    };
    /// The defaults for journald: 512 entries, 4 MiB; entries go out as the shipper catches up.
    pub const JOURNALD: Limits = Limits {
        records: BATCH_MESSAGES,
        bytes: 4 << 20,
        wait: Duration::ZERO,
    };
}

/// The messages waiting to be sent: the position reached once each is sent, their size, and
/// when the first was added.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// The position after each message, in order.
    pub(super) positions: Vec<Position>,
    bytes: usize,
    since: Option<Instant>,
}

impl Batch {
    pub(super) fn push(&mut self, pos: Position, bytes: usize) {
        self.since.get_or_insert_with(Instant::now);
        self.positions.push(pos);
        self.bytes += bytes;
    }

    pub(super) fn len(&self) -> usize {
        self.positions.len()
    }

    /// The batch is to be sent before more is added.
    pub(super) fn full(&self, l: &Limits) -> bool {
        self.positions.len() >= l.records || self.bytes >= l.bytes
    }

    /// How long until the batch has waited `l.wait`: zero when it has (or is empty).
    pub(super) fn due_in(&self, l: &Limits) -> Duration {
        self.since
            .map_or(Duration::ZERO, |s| l.wait.saturating_sub(s.elapsed()))
    }

    pub(super) fn clear(&mut self) {
        self.positions.clear();
        self.bytes = 0;
        self.since = None;
    }
}

/// Messages end to end in one buffer.
#[derive(Debug, Default)]
pub(super) struct Framed {
    pub(super) buf: Vec<u8>,
    /// Where each message ends in `buf`.
    pub(super) ends: Vec<usize>,
}

impl Framed {
    /// Where message `i` starts in `buf`.
    pub(super) fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1] }
    }

    /// Message `i`.
    pub(super) fn msg(&self, i: usize) -> &[u8] {
        &self.buf[self.start(i)..self.ends[i]]
    }

    /// Ends the message written at the end of `buf` since the last one; returns its size.
    pub(super) fn end_msg(&mut self) -> usize {
        let start = self.ends.last().copied().unwrap_or(0);
        self.ends.push(self.buf.len());
        self.buf.len() - start
    }

    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    fn pos(i: u64) -> Position {
        Position {
            segment: Rc::from("a-0000000001.tlog"),
            index: i,
            complete: false,
        }
    }

    #[test]
    fn a_batch_is_full_by_count_or_by_bytes_and_due_by_time() {
        let l = Limits {
            records: 3,
            bytes: 100,
            wait: Duration::from_millis(50),
        };
        let mut b = Batch::default();
        assert_eq!(
            b.due_in(&l),
            Duration::ZERO,
            "an empty batch waits for nothing"
        );
        b.push(pos(1), 10);
        b.push(pos(2), 10);
        assert!(!b.full(&l));
        assert!(b.due_in(&l) > Duration::from_millis(30));
        b.push(pos(3), 10);
        assert!(b.full(&l), "by count");
        b.clear();
        b.push(pos(4), 100);
        assert!(b.full(&l), "by bytes");
        b.clear();
        b.push(pos(5), 1);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.due_in(&l), Duration::ZERO, "by time");
    }

    #[test]
    fn framed_messages_keep_their_bounds() {
        let mut f = Framed::default();
        f.buf.extend_from_slice(b"one");
        assert_eq!(f.end_msg(), 3);
        f.buf.extend_from_slice(b"three");
        assert_eq!(f.end_msg(), 5);
        assert_eq!(
            (f.msg(0), f.msg(1), f.len()),
            (&b"one"[..], &b"three"[..], 2)
        );
        f.clear();
        assert_eq!(f.len(), 0);
    }
}
