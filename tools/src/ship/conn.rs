//! The connection to the receiver: opening it, sending a batch over it (TCP, UDP or a Unix
//! datagram socket), noticing a TCP receiver's close, and closing it cleanly. Reconnecting and
//! waiting between attempts is the shipper's.
use super::batch::Batch;
use super::dest::Dest;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a blocked send waits before looking at the stop flag again.
const POLL: Duration = Duration::from_millis(200);
/// How long a clean stop waits for a TCP receiver to close its side.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// How long a TCP connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An open connection to the receiver.
pub(super) enum Conn {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

impl Conn {
    pub(super) fn open(dest: &Dest) -> io::Result<Conn> {
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
    pub(super) fn closed_by_peer(&self) -> bool {
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
    pub(super) fn send(
        &mut self,
        b: &Batch,
        next: &mut usize,
        stop: &AtomicBool,
    ) -> io::Result<bool> {
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
                while *next < b.msgs.len() {
                    let msg = &b.buf[b.start(*next)..b.msgs[*next].0];
                    let r = match self {
                        Conn::Udp(s) => s.send(msg),
                        Conn::Unix(s) => s.send(msg),
                        Conn::Tcp(_) => unreachable!("handled above"),
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

    /// Closes cleanly: a TCP connection is shut down for writing and the receiver's close
    /// awaited (briefly), so everything sent was read by it.
    pub(super) fn close(self) {
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
