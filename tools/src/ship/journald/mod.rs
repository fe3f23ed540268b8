//! The journald target: each record and notice as one entry of the journal's native protocol
//! (`native`), one datagram each to journald's socket; an entry too large for a datagram goes
//! in a sealed memfd whose descriptor is passed instead, as `sd_journal_send` does.
//!
//! "Sent" means journald's socket took the datagram: journald reads it unless it dies first.
//! journald drops entries past its rate limit (`RateLimitIntervalSec`/`RateLimitBurst` in
//! `journald.conf`, 10,000 per 30 s per service by default) and says so only in its own log.
mod native;

use super::batch::Framed;
use super::sink::{Added, Failure, Meta, SendCx, Sink, Summary};
use crate::notice::{dropped_text, sampled_text};
use native::{Entry, Origin};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::socket::{ControlMessage, MsgFlags, UnixAddr, sendmsg};
use std::io::{self, IoSlice, Write as _};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tachylog::Level;
use tachylog::reader::Event;

/// journald's socket for the native protocol.
pub const DEFAULT_SOCKET: &str = "/run/systemd/journal/socket";
/// How long a blocked send waits before looking at the stop flag again.
const POLL: Duration = Duration::from_millis(200);
/// How long journald may leave its socket full before the send counts as failed.
const BUSY: Duration = Duration::from_secs(5);

/// Sends to journald.
pub(super) struct JournaldSink {
    path: PathBuf,
    name: String,
    socket: Option<UnixDatagram>,
    entry: Entry,
    pending: Framed,
}

impl JournaldSink {
    pub(super) fn new(path: &Path) -> JournaldSink {
        JournaldSink {
            name: format!("journald://{}", path.display()),
            path: path.to_owned(),
            socket: None,
            entry: Entry::default(),
            pending: Framed::default(),
        }
    }
}

/// Sends `entry` in a sealed memfd: the way to give journald an entry larger than a datagram.
fn send_memfd(socket: &UnixDatagram, path: &Path, entry: &[u8]) -> nix::Result<()> {
    let fd = memfd_create(
        "tachylog-journal-entry",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )?;
    let mut file = std::fs::File::from(fd);
    file.write_all(entry)
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    fcntl(
        &file,
        FcntlArg::F_ADD_SEALS(
            SealFlag::F_SEAL_SHRINK
                | SealFlag::F_SEAL_GROW
                | SealFlag::F_SEAL_WRITE
                | SealFlag::F_SEAL_SEAL,
        ),
    )?;
    let addr = UnixAddr::new(path)?;
    let fds = [file.as_raw_fd()];
    sendmsg(
        socket.as_raw_fd(),
        &[] as &[IoSlice<'_>],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        Some(&addr),
    )?;
    Ok(())
}

impl Sink for JournaldSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn add(&mut self, ev: &Event, meta: &Meta<'_>) -> Added {
        let id = meta.id();
        let o = Origin {
            app: meta.app,
            id: &id,
        };
        let out = &mut self.pending.buf;
        match ev {
            Event::Record(r) => self.entry.record(out, r, &o),
            Event::Dropped(d) => self.entry.notice(
                out,
                &dropped_text(d.count),
                Level::Warn,
                &o,
                meta.pid,
                d.thread.as_ref().map(|t| t.tid),
                Some(d.ts_unix_ns),
                &[(
                    "TACHYLOG_DROPPED",
                    itoa::Buffer::new().format(d.count).as_bytes(),
                )],
            ),
            Event::Sampled(s) => self.entry.notice(
                out,
                &sampled_text(s),
                Level::Info,
                &o,
                meta.pid,
                None,
                None,
                &[
                    (
                        "TACHYLOG_SAMPLED_KEPT",
                        itoa::Buffer::new().format(s.kept).as_bytes(),
                    ),
                    (
                        "TACHYLOG_SAMPLED_SKIPPED",
                        itoa::Buffer::new().format(s.skipped).as_bytes(),
                    ),
                    ("CODE_FILE", s.callsite.file.as_bytes()),
                    (
                        "CODE_LINE",
                        itoa::Buffer::new().format(s.callsite.line).as_bytes(),
                    ),
                    ("TACHYLOG_TARGET", s.callsite.target.as_bytes()),
                ],
            ),
            _ => return Added::default(),
        }
        Added {
            bytes: self.pending.end_msg(),
            cut: false,
        }
    }

    fn send(&mut self, next: &mut usize, cx: &mut SendCx<'_>) -> Result<bool, Failure> {
        if self.socket.is_none() {
            let s = UnixDatagram::unbound()
                .and_then(|s| s.set_write_timeout(Some(POLL)).map(|()| s))
                .map_err(Failure::retry)?;
            self.socket = Some(s);
        }
        let Some(socket) = &self.socket else {
            return Ok(false);
        };
        let mut busy_since: Option<Instant> = None;
        while *next < self.pending.len() {
            let msg = self.pending.msg(*next);
            match socket.send_to(msg, &self.path) {
                Ok(_) => {
                    *next += 1;
                    busy_since = None;
                }
                Err(e) if e.raw_os_error() == Some(Errno::EMSGSIZE as i32) => {
                    send_memfd(socket, &self.path, msg).map_err(|e| {
                        Failure::retry(format!(
                            "an entry of {} bytes could not be passed in a memfd: {e}",
                            msg.len()
                        ))
                    })?;
                    *next += 1;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    // journald's socket is full: it is busy. Wait, but not for ever.
                    if cx.stop.load(Ordering::Relaxed) {
                        return Ok(false);
                    }
                    let since = *busy_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= cx.within.unwrap_or(BUSY).min(BUSY) {
                        return Err(Failure::retry(format!(
                            "journald has not taken an entry for {BUSY:?}"
                        )));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let why = match e.kind() {
                        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                            format!("journald is not listening ({e})")
                        }
                        _ => e.to_string(),
                    };
                    return Err(Failure::retry(why));
                }
            }
        }
        Ok(true)
    }

    fn clear(&mut self) {
        self.pending.clear();
    }

    fn close(&mut self, _summary: &mut Summary) {
        self.socket = None;
    }
}
