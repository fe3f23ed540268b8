//! `tachylog ship`: sends a directory's records, and its drop and sampling notices, to a
//! receiver, resuming after a restart where the previous run stopped. Three targets, each a
//! [`sink`](Target) that encodes and sends; everything else (following the directory, the
//! position, batching, retries, gaps, the summary) is shared:
//! - syslog: RFC 5424 messages ([`crate::syslog`]) over TCP, UDP or a Unix datagram socket;
//! - OTLP: OpenTelemetry log records, a batch per OTLP/HTTP protobuf request, gzip;
//! - journald: an entry per record in the journal's native protocol, a datagram each.
//!
//! # Position
//! The position is the segment being shipped (its file name without `.lz4`), how many of its
//! records, drop notices and sampling notices were sent, and whether all of it was. Within a
//! segment the order is the order of its frames, which compression does not change, so a
//! position stays valid when the segment is compressed to `.tlog.lz4` in between. The position
//! is written to the state file (a temporary file renamed over it, so it is always whole) after
//! every batch that was sent completely, and after every message that was sent when a batch
//! breaks off. It is not `fsync`ed: after a power loss a restart may send again what was sent
//! since the last write the disk kept. Each record and notice has an id, `<segment>/<index>`
//! (the position just after it), the same in every run, which every target carries
//! (`id` in syslog's `tachylog@32473`, OTLP's `log.record.uid`, journald's `TACHYLOG_ID`), so a
//! receiver can drop repeats.
//!
//! # What "sent" means
//! - syslog over TCP: the message's bytes were accepted by the kernel (`write` returned them).
//!   Before each batch the connection is checked for a close by the receiver, and on exit it is
//!   shut down and the receiver's close awaited, so a clean stop is confirmed. Plain syslog over
//!   TCP has no acknowledgements: when a connection ends in a way that does not show the
//!   receiver read everything (see `conn`), every message sent on it is counted as possibly
//!   lost, reported, and makes the exit status 1. A message cut in the middle is sent again
//!   whole.
//! - syslog over UDP and Unix datagram sockets: `send` accepted the datagram. UDP may lose
//!   datagrams without telling anyone; a receiver that is down shows as an error on a later
//!   send, which is then retried.
//! - OTLP: the collector answered 2xx to the batch's request. Records it says it rejected
//!   (`partial_success`) are counted and make the exit status 1. A request whose answer never
//!   came (the connection broke, the collector restarted) has an unknown fate: it is sent
//!   again, so its records may arrive twice.
//! - journald: its socket took the datagram (or the memfd). journald drops entries past its
//!   rate limit without telling the sender.
//!
//! A stop by Ctrl-C (SIGINT) finishes the batch being sent and saves the position, so a
//! restart sends every record exactly once. After `kill -9` the last batch (at most
//! `--batch-records`, [`BATCH_MESSAGES`] by default) may be sent again: the position is saved
//! after the send.
//!
//! # Batches
//! A batch is sent when it holds `--batch-records` records and notices or `--batch-bytes` bytes
//! (as the target encodes them), or when the shipper has caught up with the directory; while
//! following, a batch may wait up to `--batch-wait` for more (1 s for OTLP, so a trickle is
//! not a request per record).
//!
//! # Retries
//! A failed connection or send is retried after a pause that doubles from 100 ms to 5 s (or
//! longer, when an OTLP collector's `Retry-After` asks); when nothing has got through for
//! `--retry-for`, or the receiver fails in a way no retry can help (an OTLP 400, a refused
//! certificate), shipping gives up, counts what it did not send, and exits with 3 (see
//! `retry`). The position is saved, so the next run starts there.
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
//! - `dest`: the syslog receiver's URL, and the size limit that suits it.
//! - `state`: the [`Position`] and the state file that keeps it between runs.
//! - `segments`: the directory's segments: their names, their order, and which of them a saved
//!   position says are shipped already.
//! - `retry`: the retry policy: growing pauses, the receiver's own `Retry-After`, giving up.
//! - `batch`: when a batch is sent ([`Limits`]), the positions waiting in it, and messages kept
//!   end to end in one buffer.
//! - `sink`: what a target is to the shipper (`Sink`: add, send, clear, close), what a failed
//!   send means, and the [`Summary`].
//! - `conn`: the syslog socket: resolving and connecting within a time limit, sending, noticing
//!   a TCP receiver's close, and ending a connection with what it may have lost.
//! - `syslog_sink`, `otlp/` (`config`: endpoint, headers, roots, resource from flags and
//!   `OTEL_*`; `encode`: records as log records, batches as requests; `http`: the client and
//!   what an answer means), `journald/` (`native`: the protocol and field names): the targets.
//! - `shipper`: from events to batches: skipping what was sent, noticing gaps, sending with a
//!   growing pause between failed attempts, saving the position.
//! - `driver`: the top level: [`Options`], [`Target`], the loop over the directory's events,
//!   [`ShipError`], and [`run`], the command with its summary and exit status.
mod batch;
mod conn;
mod dest;
mod driver;
mod journald;
mod otlp;
mod retry;
mod segments;
mod shipper;
mod sink;
mod state;
mod syslog_sink;

pub use batch::{BATCH_MESSAGES, Limits};
pub use dest::Dest;
pub use driver::{Options, ShipError, Target, run, ship, status, summary_line};
pub use journald::DEFAULT_SOCKET as JOURNALD_SOCKET;
pub use otlp::{DEFAULT_ENDPOINT as OTLP_DEFAULT_ENDPOINT, OtlpFlags, OtlpOptions};
pub use retry::{DEFAULT_RETRY_FOR, DEFAULT_RETRY_FOR_FOLLOW, MAX_BACKOFF, MIN_BACKOFF};
pub use sink::Summary;
pub use state::{Position, default_state_path};
