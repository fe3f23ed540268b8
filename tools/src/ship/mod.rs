//! `tachylog ship`: sends a directory's records to a syslog receiver as RFC 5424 messages
//! (see [`crate::syslog`]), resuming after a restart where the previous run stopped.
//!
//! # Position
//! The position is the segment being shipped (its file name without `.lz4`), how many of its
//! records and drop notices were sent, and whether all of it was. Within a segment the order
//! is the order of its frames, which compression does not change, so a position stays valid
//! when the segment is compressed to `.tlog.lz4` in between. The position is written to the
//! state file (a temporary file renamed over it, so it is always whole) after every batch that
//! was sent completely, and after every message that was sent when a batch breaks off. It is
//! not `fsync`ed: after a power loss a restart may send again what was sent since the last
//! write the disk kept.
//!
//! # What "sent" means
//! - TCP: the message's bytes were accepted by the kernel (`write` returned them). Before each
//!   batch the connection is checked for a close by the receiver, and on exit it is shut down
//!   and the receiver's close awaited, so a clean stop is confirmed. Plain syslog over TCP has
//!   no acknowledgements: when a connection ends in a way that does not show the receiver read
//!   everything (see `conn`), every message sent on it is counted as possibly lost, reported,
//!   and makes the exit status 1. A message cut in the middle is sent again whole.
//! - UDP and Unix datagram sockets: `send` accepted the datagram. UDP may lose datagrams
//!   without telling anyone; a receiver that is down shows as an error on a later send, which
//!   is then retried.
//!
//! A stop by Ctrl-C (SIGINT) finishes the batch being sent and saves the position, so a
//! restart sends every record exactly once. After `kill -9` the last batch (at most
//! [`BATCH_MESSAGES`] messages) may be sent again: the position is saved after the send.
//!
//! # Retries
//! A failed connection or send is retried after a pause that doubles from 100 ms to 5 s; when
//! nothing has got through for `--retry-for`, shipping gives up, counts what it did not send,
//! and exits with 3 (see `retry`). The position is saved, so the next run starts there.
//!
//! # Gaps
//! If the segment of the saved position is gone (deleted by retention) the shipper goes on
//! with the next segment there is and reports on stderr what was lost: the records of that
//! segment after the position, and every sequence number skipped. The same check runs while
//! following, when retention removes segments faster than they are shipped. If every segment
//! of that name now sorts before the saved position (the directory was emptied and the writer
//! started again at sequence 1), the position is stale: the shipper says so and starts from the
//! oldest segment.
//!
//! # Layout
//! One file a concern, each using only those listed before it:
//! - `dest`: the receiver's URL, and the size limit that suits it.
//! - `state`: the [`Position`] and the state file that keeps it between runs.
//! - `segments`: the directory's segments: their names, their order, and which of them a saved
//!   position says are shipped already.
//! - `retry`: the retry policy: growing pauses, the receiver's own `Retry-After`, giving up.
//! - `batch`: messages gathered to be sent together, framed for the transport.
//! - `conn`: the socket: resolving and connecting within a time limit, sending a batch,
//!   noticing a TCP receiver's close, and ending a connection with what it may have lost.
//! - `shipper`: from events to batches: skipping what was sent, noticing gaps, sending with a
//!   growing pause between failed attempts, saving the position.
//! - `driver`: the top level: [`Options`], the loop over the directory's events, [`ShipError`],
//!   and [`run`], the command with its summary and exit status.
mod batch;
mod conn;
mod dest;
mod driver;
mod retry;
mod segments;
mod shipper;
mod state;

pub use batch::BATCH_MESSAGES;
pub use dest::Dest;
pub use driver::{Options, ShipError, run, ship, status};
pub use retry::{DEFAULT_RETRY_FOR, DEFAULT_RETRY_FOR_FOLLOW, MAX_BACKOFF, MIN_BACKOFF};
pub use shipper::Summary;
pub use state::{Position, default_state_path};
