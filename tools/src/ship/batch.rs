//! Messages gathered to be sent together, framed for the transport; the position is saved after
//! each batch.
use super::dest::Dest;
use super::state::Position;
use crate::syslog::octet_counted;

/// Messages in one batch at most; the position is saved after each batch.
pub const BATCH_MESSAGES: usize = 512;
/// Bytes in one batch at most.
const BATCH_BYTES: usize = 256 << 10;

/// Messages waiting to be sent, framed for the transport, each with the position reached once
/// it is sent.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) buf: Vec<u8>,
    /// End offset in `buf` of each message, and the position after it.
    pub(super) msgs: Vec<(usize, Position)>,
}

impl Batch {
    /// Where message `i` starts in `buf`.
    pub(super) fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.msgs[i - 1].0 }
    }

    /// Adds `msg`, framed as `dest` takes it (octet counting on a TCP stream, as it is in a
    /// datagram), with the position reached once it is sent.
    pub(super) fn push(&mut self, dest: &Dest, msg: &[u8], pos: Position) {
        match dest {
            Dest::Tcp(_) => octet_counted(&mut self.buf, msg),
            _ => self.buf.extend_from_slice(msg),
        }
        self.msgs.push((self.buf.len(), pos));
    }

    /// The batch is to be sent before more is added.
    pub(super) fn full(&self) -> bool {
        self.msgs.len() >= BATCH_MESSAGES || self.buf.len() >= BATCH_BYTES
    }

    /// Empties the batch once it is sent (or given up).
    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.msgs.clear();
    }
}
