//! Where messages go: the receiver's URL (`tcp://`, `udp://`, `unix://`), read from the command
//! line and shown in messages, and the size limit that suits it.
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

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
