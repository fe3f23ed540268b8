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
//!   and the receiver's close awaited, so a clean stop loses nothing. When a connection breaks
//!   with data in flight, what the kernel had accepted but not delivered is lost (plain syslog
//!   over TCP has no acknowledgements), and a message cut in the middle is sent again whole.
//! - UDP and Unix datagram sockets: `send` accepted the datagram. UDP may lose datagrams
//!   without telling anyone; a receiver that is down shows as an error on a later send, which
//!   is then retried.
//!
//! A stop by Ctrl-C (SIGINT) finishes the batch being sent and saves the position, so a
//! restart sends every record exactly once. After `kill -9` the last batch (at most
//! [`BATCH_MESSAGES`] messages) may be sent again: the position is saved after the send.
//!
//! # Gaps
//! If the segment of the saved position is gone (deleted by retention) the shipper goes on
//! with the next segment there is and reports on stderr what was lost: the records of that
//! segment after the position, and every sequence number skipped. The same check runs while
//! following, when retention removes segments faster than they are shipped. If every segment
//! of that name now sorts before the saved position (the directory was emptied and the writer
//! started again at sequence 1), the position is stale: the shipper says so and starts from the
//! oldest segment.
use crate::syslog::{Formatter, octet_counted};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tachylog::reader::follow::Follower;
use tachylog::reader::{Event, ReadError, segment_files};

/// Messages in one batch at most; the position is saved after each batch.
pub const BATCH_MESSAGES: usize = 512;
/// Bytes in one batch at most.
const BATCH_BYTES: usize = 256 << 10;
/// First wait after a failed connection or send; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long a blocked send waits before looking at the stop flag again.
const POLL: Duration = Duration::from_millis(200);
/// How long a clean stop waits for a TCP receiver to close its side.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// How long a TCP connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dest {
    /// `tcp://HOST:PORT`: a stream, RFC 6587 octet-counting framing.
    Tcp(String),
    /// `udp://HOST:PORT`: one message per datagram (RFC 5426).
    Udp(String),
    /// `unix:///PATH`: a Unix datagram socket such as `/dev/log`.
    Unix(PathBuf),
}

impl FromStr for Dest {
    type Err = String;
    fn from_str(s: &str) -> Result<Dest, String> {
        let bad = || format!("{s:?}: expected tcp://HOST:PORT, udp://HOST:PORT or unix:///PATH");
        let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
        let host_port = |rest: &str| -> Result<String, String> {
            match rest.rsplit_once(':') {
                Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0) => {
                    Ok(rest.to_owned())
                }
                _ => Err(format!("{s:?}: expected HOST:PORT after {scheme}://")),
            }
        };
        match scheme {
            "tcp" => Ok(Dest::Tcp(host_port(rest)?)),
            "udp" => Ok(Dest::Udp(host_port(rest)?)),
            "unix" if rest.starts_with('/') => Ok(Dest::Unix(PathBuf::from(rest))),
            "unix" => Err(format!("{s:?}: expected an absolute path: unix:///dev/log")),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Dest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dest::Tcp(a) => write!(f, "tcp://{a}"),
            Dest::Udp(a) => write!(f, "udp://{a}"),
            Dest::Unix(p) => write!(f, "unix://{}", p.display()),
        }
    }
}

impl Dest {
    /// The size limit used when none is given: none for TCP, 2048 bytes for UDP (what RFC 5426
    /// says receivers should take), 8192 for Unix sockets (rsyslog's default maximum).
    pub fn default_max_size(&self) -> Option<usize> {
        match self {
            Dest::Tcp(_) => None,
            Dest::Udp(_) => Some(2048),
            Dest::Unix(_) => Some(8192),
        }
    }
}

/// The default state file: `<dir>/.ship-<hash of the destination>.state`, so shipping one
/// directory to two places keeps two positions.
pub fn default_state_path(dir: &Path, dest: &Dest) -> PathBuf {
    // FNV-1a: stable across builds and platforms, which std's hasher does not promise.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in dest.to_string().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    dir.join(format!(".ship-{h:016x}.state"))
}

/// A segment's place in the order the follower reads them: name prefix, then sequence.
fn seg_key(raw: &str) -> (&str, u64) {
    let stem = raw.strip_suffix(".tlog").unwrap_or(raw);
    match stem.rsplit_once('-') {
        Some((p, d)) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
            (p, d.parse().unwrap_or(u64::MAX))
        }
        _ => (stem, 0),
    }
}

/// A segment's file name without the `.lz4` of its compressed form.
fn raw_file_name(p: &Path) -> Option<String> {
    let name = p.file_name()?.to_str()?;
    Some(
        name.strip_suffix(tachylog::reader::COMPRESSED_SUFFIX)
            .unwrap_or(name)
            .to_owned(),
    )
}

/// How far shipping got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The segment's file name (raw form, without `.lz4`).
    pub segment: Rc<str>,
    /// Records and drop notices of that segment sent, in frame order.
    pub index: u64,
    /// Everything of the segment was sent (its end was read).
    pub complete: bool,
}

const STATE_MAGIC: &str = "tachylog-ship-state 1";

impl Position {
    /// Reads a state file; `Ok(None)` if there is none.
    pub fn load(path: &Path) -> Result<Option<Position>, String> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let bad = |why: &str| {
            format!(
                "{}: not a ship state file ({why}); remove it to ship from the oldest segment",
                path.display()
            )
        };
        let mut lines = text.lines();
        if lines.next() != Some(STATE_MAGIC) {
            return Err(bad("unknown first line"));
        }
        let (mut segment, mut index, mut complete) = (None, None, None);
        for l in lines {
            match l.split_once(' ') {
                Some(("segment", v)) if !v.is_empty() && !v.contains('/') => {
                    segment = Some(Rc::from(v))
                }
                Some(("index", v)) => index = v.parse().ok(),
                Some(("complete", v)) => complete = v.parse().ok(),
                _ => return Err(bad(&format!("unexpected line {l:?}"))),
            }
        }
        match (segment, index, complete) {
            (Some(segment), Some(index), Some(complete)) => Ok(Some(Position {
                segment,
                index,
                complete,
            })),
            _ => Err(bad("segment, index or complete missing")),
        }
    }

    /// Writes the state file atomically: a temporary file beside it, renamed over it.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let tmp = tmp_path(path);
        let text = format!(
            "{STATE_MAGIC}\nsegment {}\nindex {}\ncomplete {}\n",
            self.segment, self.index, self.complete
        );
        fs::write(&tmp, text)?;
        fs::rename(&tmp, path)
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

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

/// Why shipping could not start.
#[derive(Debug)]
pub struct ShipError(pub String);

impl fmt::Display for ShipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShipError {}

/// An open connection to the receiver.
enum Conn {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

impl Conn {
    fn open(dest: &Dest) -> io::Result<Conn> {
        match dest {
            Dest::Tcp(a) => {
                let mut last = None;
                for addr in a.to_socket_addrs()? {
                    match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                        Ok(s) => {
                            s.set_nodelay(true)?;
                            s.set_write_timeout(Some(POLL))?;
                            return Ok(Conn::Tcp(s));
                        }
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| io::Error::other("no address")))
            }
            Dest::Udp(a) => {
                let mut last = None;
                for addr in a.to_socket_addrs()? {
                    let local = if addr.is_ipv4() {
                        "0.0.0.0:0"
                    } else {
                        "[::]:0"
                    };
                    match UdpSocket::bind(local).and_then(|s| s.connect(addr).map(|()| s)) {
                        Ok(s) => return Ok(Conn::Udp(s)),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| io::Error::other("no address")))
            }
            Dest::Unix(p) => {
                let s = UnixDatagram::unbound()?;
                s.connect(p)?;
                s.set_write_timeout(Some(POLL))?;
                Ok(Conn::Unix(s))
            }
        }
    }

    /// A TCP receiver that closed the connection while it was idle: writing to it would seem
    /// to work and lose the data.
    fn closed_by_peer(&self) -> bool {
        let Conn::Tcp(s) = self else { return false };
        if s.set_nonblocking(true).is_err() {
            return true;
        }
        let closed = match s.peek(&mut [0u8; 1]) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        closed || s.set_nonblocking(false).is_err()
    }

    /// Sends the messages of `b` from `*next` on, advancing `*next` past each one sent.
    /// `Ok(false)`: stopped before all were sent.
    fn send(&mut self, b: &Batch, next: &mut usize, stop: &AtomicBool) -> io::Result<bool> {
        match self {
            Conn::Tcp(s) => {
                let mut off = b.start(*next);
                let end = b.buf.len();
                while off < end {
                    match s.write(&b.buf[off..end]) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => {
                            off += n;
                            while *next < b.msgs.len() && b.msgs[*next].0 <= off {
                                *next += 1;
                            }
                        }
                        Err(e) if is_timeout(&e) => {
                            if stop.load(Ordering::Relaxed) {
                                return Ok(false);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(true)
            }
            Conn::Udp(_) | Conn::Unix(_) => {
                while *next < b.msgs.len() {
                    let msg = &b.buf[b.start(*next)..b.msgs[*next].0];
                    let r = match self {
                        Conn::Udp(s) => s.send(msg),
                        Conn::Unix(s) => s.send(msg),
                        Conn::Tcp(_) => unreachable!("handled above"),
                    };
                    match r {
                        Ok(_) => *next += 1,
                        Err(e) if is_timeout(&e) => {
                            if stop.load(Ordering::Relaxed) {
                                return Ok(false);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(true)
            }
        }
    }

    /// Closes cleanly: a TCP connection is shut down for writing and the receiver's close
    /// awaited (briefly), so everything sent was read by it.
    fn close(self) {
        if let Conn::Tcp(mut s) = self {
            if s.shutdown(Shutdown::Write).is_err() {
                return;
            }
            let until = Instant::now() + CLOSE_WAIT;
            let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
            let mut buf = [0u8; 512];
            while Instant::now() < until {
                match s.read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Messages waiting to be sent, framed for the transport, each with the position reached once
/// it is sent.
#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    /// End offset in `buf` of each message, and the position after it.
    msgs: Vec<(usize, Position)>,
}

impl Batch {
    fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.msgs[i - 1].0 }
    }
}

/// Sleeps `d`, waking early when `stop` is set. Returns whether it was set.
fn nap(d: Duration, stop: &AtomicBool) -> bool {
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

struct Shipper<'a> {
    opts: &'a Options,
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

fn report(msg: impl fmt::Display) {
    eprintln!("tachylog: ship: {msg}");
}

impl Shipper<'_> {
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

    fn app_name<'b>(opts: &'b Options, seg: &'b str) -> &'b str {
        opts.app_name.as_deref().unwrap_or(seg_key(seg).0)
    }

    /// Handles one event of segment `seg` (raw file name).
    fn event(&mut self, ev: Event, seg: &str) {
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
        let app = Self::app_name(self.opts, seg);
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
        match self.opts.dest {
            Dest::Tcp(_) => octet_counted(&mut self.batch.buf, msg),
            _ => self.batch.buf.extend_from_slice(msg),
        }
        self.batch.msgs.push((self.batch.buf.len(), pos.clone()));
    }

    fn full(&self) -> bool {
        self.batch.msgs.len() >= BATCH_MESSAGES || self.batch.buf.len() >= BATCH_BYTES
    }

    /// Sends the batch (retrying with backoff until it is sent or a stop is asked for), then
    /// saves the position reached. Returns false if a stop left messages unsent.
    fn flush(&mut self) -> bool {
        if self.halted {
            return false;
        }
        let mut next = 0;
        while next < self.batch.msgs.len() {
            if self.conn.as_ref().is_some_and(Conn::closed_by_peer) {
                self.conn = None;
            }
            if self.conn.is_none() {
                match Conn::open(&self.opts.dest) {
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
                        self.opts.dest,
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
        self.batch.buf.clear();
        self.batch.msgs.clear();
        !self.halted
    }

    /// Reports a failed connection or send and waits before the next attempt. Returns true
    /// when a stop was asked for instead.
    fn retry_after(&mut self, e: &io::Error) -> bool {
        report(format_args!(
            "{}: {e}; trying again in {:?}",
            self.opts.dest, self.backoff
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
        match p.save(&self.opts.state) {
            Ok(()) => {
                self.saved = Some(p);
                self.save_failed = false;
            }
            Err(e) => {
                if !self.save_failed {
                    report(format_args!(
                        "cannot save the position to {}: {e} (a restart would send again \
                         what was sent since)",
                        self.opts.state.display()
                    ));
                }
                self.save_failed = true;
            }
        }
    }
}

/// Ships `opts.dir` to `opts.dest` until everything there is sent (or, with `opts.follow`,
/// until `stop` is set). Problems on the way (damage, gaps, an unreachable receiver) are
/// reported on stderr; only what prevents starting is an `Err`.
pub fn ship(opts: &Options, stop: &AtomicBool) -> Result<Summary, ShipError> {
    let saved = Position::load(&opts.state).map_err(ShipError)?;
    let mut follower = Follower::new(&opts.dir).map_err(|e| ShipError(e.to_string()))?;
    // Fail now, not after the first batch, if the position cannot be kept.
    let tmp = tmp_path(&opts.state);
    fs::write(&tmp, b"")
        .and_then(|()| fs::remove_file(&tmp))
        .map_err(|e| {
            ShipError(format!(
                "cannot write the state file {}: {e}",
                opts.state.display()
            ))
        })?;
    let files = segment_files(&opts.dir).map_err(|e| ShipError(e.to_string()))?;
    let saved = saved.filter(|s| {
        let (sp, ss) = seg_key(&s.segment);
        let names: Vec<String> = files.iter().filter_map(|f| raw_file_name(f)).collect();
        let same: Vec<u64> = names
            .iter()
            .map(|n| seg_key(n))
            .filter(|(p, _)| *p == sp)
            .map(|(_, q)| q)
            .collect();
        let stale = !same.is_empty() && same.iter().all(|&q| q < ss);
        if stale {
            report(format_args!(
                "every segment of {sp:?} precedes the saved position ({}): the directory \
                 started again; shipping from its oldest segment",
                s.segment
            ));
        }
        !stale
    });
    if let Some(s) = &saved {
        let at = seg_key(&s.segment);
        for f in &files {
            let Some(name) = raw_file_name(f) else {
                continue;
            };
            let k = seg_key(&name);
            if k < at || (k == at && s.complete) {
                follower.skip_segment(f);
            }
        }
    }
    let mut sh = Shipper {
        opts,
        stop,
        fmt: Formatter::new(opts.facility, &opts.hostname, opts.max_size),
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
    };
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
            Some(Err(e)) => {
                if matches!(e, ReadError::Corrupt { .. }) {
                    sh.summary.damaged = true;
                }
                report(e);
            }
            None => {
                if !sh.flush() || !opts.follow || nap(opts.interval, stop) {
                    break;
                }
            }
        }
    }
    sh.flush();
    if let Some(c) = sh.conn.take() {
        c.close();
    }
    Ok(sh.summary)
}
