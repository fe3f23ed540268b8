//! The connection to a syslog receiver: opening it (resolving the host within a time limit),
//! sending a batch over it (TCP, UDP or a Unix datagram socket), noticing a TCP receiver's
//! close, and ending it: saying whether the receiver read everything sent on it. Reconnecting
//! and waiting between attempts is the shipper's.
//!
//! # What a TCP receiver is known to have read
//! Syslog over TCP has no acknowledgements, but the way a connection ends tells something. A
//! receiver that closes its socket with data still unread makes its kernel answer with a reset
//! (RST) instead of a close (FIN), and data that reaches a closed socket is answered with a
//! reset too. So when every byte sent was acknowledged by the receiver's TCP (the send queue is
//! empty) and the receiver then closed with a FIN, the receiver's program read all of it. When
//! the connection ends in any other way (a reset, a failed write, a close that does not come in
//! time) every message sent on it may have been lost: they are counted as such. The send queue
//! is read from `/proc/net/tcp` (Linux); where it cannot be read, a FIN alone counts.
use super::batch::Framed;
use super::dest::Dest;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a blocked send waits before looking at the stop flag again.
const POLL: Duration = Duration::from_millis(200);
/// How long ending a TCP connection waits for the receiver to take what was sent and close.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// How long a TCP connection attempt (name resolution included) may take at most.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An open connection to the receiver.
pub(super) enum Conn {
    Tcp {
        s: TcpStream,
        /// Messages written whole on this connection.
        sent: u64,
    },
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

/// How a connection ends.
pub(super) enum End {
    /// Shipping is done: close it and wait for the receiver's close.
    Done,
    /// The receiver closed it (a read returned end of file).
    PeerClosed,
    /// A write or read failed.
    Failed(io::Error),
}

/// Messages that may not have reached the receiver's program, and why.
pub(super) struct Unconfirmed {
    pub(super) messages: u64,
    pub(super) why: String,
}

/// The addresses of `host_port`, resolved within `within`: a literal address at once, a name on
/// a helper thread (name lookup has no timeout of its own; a lookup that does not answer in time
/// is left to finish on its own). The error says that the name did not resolve.
pub(super) fn resolve(host_port: &str, within: Duration) -> io::Result<Vec<SocketAddr>> {
    if let Ok(a) = host_port.parse::<SocketAddr>() {
        return Ok(vec![a]);
    }
    let host = host_port
        .rsplit_once(':')
        .map_or(host_port, |(h, _)| h)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let (tx, rx) = mpsc::channel();
    let hp = host_port.to_owned();
    std::thread::Builder::new()
        .name("ship-resolve".into())
        .spawn(move || {
            let _ = tx.send(hp.to_socket_addrs().map(|a| a.collect::<Vec<_>>()));
        })?;
    match rx.recv_timeout(within) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("cannot resolve host {host}: no address"),
        )),
        Ok(Err(e)) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("cannot resolve host {host}: {e}"),
        )),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("cannot resolve host {host}: no answer within {within:?}"),
        )),
    }
}

impl Conn {
    /// Opens a connection; resolving and connecting take at most `within` together (each
    /// address tried gets what is left).
    pub(super) fn open(dest: &Dest, within: Duration) -> io::Result<Conn> {
        let until = Instant::now() + within;
        let left = || {
            until
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10))
        };
        match dest {
            Dest::Tcp(a) => {
                let mut last = None;
                for addr in resolve(a, within)? {
                    match TcpStream::connect_timeout(&addr, left()) {
                        Ok(s) => {
                            s.set_nodelay(true)?;
                            s.set_write_timeout(Some(POLL))?;
                            return Ok(Conn::Tcp { s, sent: 0 });
                        }
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| io::Error::other("no address")))
            }
            Dest::Udp(a) => {
                let mut last = None;
                for addr in resolve(a, within)? {
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

    /// Whether a TCP receiver closed or broke the connection while it was idle (writing to it
    /// would seem to work and lose the data), and how.
    pub(super) fn ended_by_peer(&self) -> Option<End> {
        let Conn::Tcp { s, .. } = self else {
            return None;
        };
        if let Err(e) = s.set_nonblocking(true) {
            return Some(End::Failed(e));
        }
        let ended = match s.peek(&mut [0u8; 1]) {
            Ok(0) => Some(End::PeerClosed),
            Ok(_) => None,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) => Some(End::Failed(e)),
        };
        match s.set_nonblocking(false) {
            Err(e) if ended.is_none() => Some(End::Failed(e)),
            _ => ended,
        }
    }

    /// Sends the messages of `b` from `*next` on, advancing `*next` past each one sent.
    /// `Ok(false)`: stopped before all were sent.
    pub(super) fn send(
        &mut self,
        b: &Framed,
        next: &mut usize,
        stop: &AtomicBool,
    ) -> io::Result<bool> {
        match self {
            Conn::Tcp { s, sent } => {
                let mut off = b.start(*next);
                let end = b.buf.len();
                while off < end {
                    match s.write(&b.buf[off..end]) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => {
                            off += n;
                            while *next < b.len() && b.ends[*next] <= off {
                                *next += 1;
                                *sent += 1;
                            }
                        }
                        Err(e) => {
                            if !try_again(e, stop)? {
                                return Ok(false);
                            }
                        }
                    }
                }
                Ok(true)
            }
            Conn::Udp(_) | Conn::Unix(_) => {
                while *next < b.len() {
                    let msg = b.msg(*next);
                    let r = match self {
                        Conn::Udp(s) => s.send(msg),
                        Conn::Unix(s) => s.send(msg),
                        Conn::Tcp { .. } => unreachable!("handled above"),
                    };
                    match r {
                        Ok(_) => *next += 1,
                        Err(e) => {
                            if !try_again(e, stop)? {
                                return Ok(false);
                            }
                        }
                    }
                }
                Ok(true)
            }
        }
    }

    /// Ends the connection and says which messages sent on it may not have reached the
    /// receiver's program (see the module's documentation); `None` when it read them all (or,
    /// for datagrams, when there is no way to know: the socket took them).
    pub(super) fn end(self, how: End) -> Option<Unconfirmed> {
        let Conn::Tcp { s, sent } = self else {
            return None;
        };
        let why = match how {
            End::Failed(e) => Some(e.to_string()),
            End::PeerClosed => match drained(&s, Instant::now() + CLOSE_WAIT) {
                Drained::Yes | Drained::Unknown => None,
                Drained::Failed(e) => Some(e.to_string()),
                Drained::Late => Some("the receiver closed it with data in flight".into()),
            },
            End::Done => close(&s),
        };
        why.filter(|_| sent > 0).map(|why| Unconfirmed {
            messages: sent,
            why,
        })
    }
}

/// Whether everything written on a TCP connection was acknowledged by the receiver's TCP.
enum Drained {
    Yes,
    /// The send queue cannot be read here (no `/proc/net/tcp`).
    Unknown,
    /// The connection failed (a reset) before it drained.
    Failed(io::Error),
    /// It did not drain in time.
    Late,
}

/// Waits until the send queue of `s` is empty (every byte acknowledged), the connection
/// fails, or `until`.
fn drained(s: &TcpStream, until: Instant) -> Drained {
    loop {
        match s.take_error() {
            Ok(Some(e)) | Err(e) => return Drained::Failed(e),
            Ok(None) => {}
        }
        match unacked_bytes(s) {
            None => return Drained::Unknown,
            Some(0) => return Drained::Yes,
            Some(_) if Instant::now() >= until => return Drained::Late,
            Some(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Closes a TCP connection at the end of shipping: waits for what was sent to be acknowledged,
/// shuts down the writing side and waits for the receiver's close. `None` when the receiver
/// read everything (see the module's documentation), or else why it may not have.
fn close(s: &TcpStream) -> Option<String> {
    let until = Instant::now() + CLOSE_WAIT;
    match drained(s, until) {
        Drained::Yes | Drained::Unknown => {}
        Drained::Failed(e) => return Some(e.to_string()),
        Drained::Late => {
            return Some(format!(
                "the receiver did not take what was sent within {CLOSE_WAIT:?}"
            ));
        }
    }
    if let Err(e) = s.shutdown(Shutdown::Write) {
        return Some(e.to_string());
    }
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 512];
    let mut r = s;
    while Instant::now() < until {
        match r.read(&mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Some(e.to_string()),
        }
    }
    Some(format!("the receiver did not close within {CLOSE_WAIT:?}"))
}

/// Bytes written on `s` that its peer has not acknowledged yet, from the kernel's socket table
/// (`tx_queue` of `/proc/net/tcp` and `/proc/net/tcp6`, found by the socket's inode). `None`
/// where that table cannot be read or does not list the socket.
fn unacked_bytes(s: &TcpStream) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", s.as_raw_fd())).ok()?;
    let inode = link
        .to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .to_owned();
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().find_map(|t| {
        let table = std::fs::read_to_string(t).ok()?;
        // sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode ...
        table.lines().skip(1).find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.get(9) != Some(&inode.as_str()) {
                return None;
            }
            u64::from_str_radix(f.get(4)?.split(':').next()?, 16).ok()
        })
    })
}

/// Whether a send that failed with `e` is tried again: `Ok(true)` after a timeout (unless a stop
/// was asked for: `Ok(false)`) or an interrupted call; any other error is returned.
fn try_again(e: io::Error, stop: &AtomicBool) -> io::Result<bool> {
    if is_timeout(&e) {
        Ok(!stop.load(Ordering::Relaxed))
    } else if e.kind() == io::ErrorKind::Interrupted {
        Ok(true)
    } else {
        Err(e)
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_name_that_does_not_resolve_says_so_quickly() {
        let t = Instant::now();
        let e = resolve("collector.invalid:514", Duration::from_secs(10)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot resolve host collector.invalid: "),
            "{e}"
        );
        assert!(t.elapsed() < Duration::from_secs(10));
        assert_eq!(
            resolve("127.0.0.1:9", Duration::ZERO).unwrap(),
            ["127.0.0.1:9".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn the_send_queue_is_read_from_the_kernel() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut peer, _) = l.accept().unwrap();
        if unacked_bytes(&c).is_none() {
            // Not Linux, or /proc not mounted: the FIN alone counts, as documented.
            return;
        }
        (&c).write_all(&[7u8; 1000]).unwrap();
        assert!(matches!(
            drained(&c, Instant::now() + CLOSE_WAIT),
            Drained::Yes
        ));
        let mut got = [0u8; 1000];
        peer.read_exact(&mut got).unwrap();
        // The receiver reads everything and closes when it sees the end: confirmed.
        let reader = std::thread::spawn(move || {
            let mut rest = Vec::new();
            peer.read_to_end(&mut rest).unwrap();
            rest.len()
        });
        let conn = Conn::Tcp { s: c, sent: 3 };
        assert!(conn.end(End::Done).is_none());
        assert_eq!(reader.join().unwrap(), 0);
    }

    #[test]
    fn a_receiver_that_closes_with_unread_data_makes_what_was_sent_unconfirmed() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut peer, _) = l.accept().unwrap();
        (&c).write_all(&[7u8; 4000]).unwrap();
        let mut some = [0u8; 100];
        peer.read_exact(&mut some).unwrap();
        drop(peer); // 3900 bytes unread: the kernel resets the connection
        let u = Conn::Tcp { s: c, sent: 40 }.end(End::Done).unwrap();
        assert_eq!(u.messages, 40);
        assert!(!u.why.is_empty());
    }
}
