//! Test-side syslog: receivers on loopback (TCP with octet counting, UDP, Unix datagrams) and
//! an RFC 5424 parser written from the RFC, independent of the shipper's formatter.
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One parsed RFC 5424 message.
#[derive(Debug, Clone)]
pub struct Msg {
    pub pri: u8,
    pub timestamp: String,
    pub hostname: String,
    pub app: String,
    pub procid: String,
    pub msgid: String,
    /// SD-ID → params in order.
    pub sd: BTreeMap<String, Vec<(String, String)>>,
    pub msg: String,
}

impl Msg {
    pub fn param(&self, id: &str, name: &str) -> Option<&str> {
        self.sd
            .get(id)?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn field(&self, name: &str) -> Option<&str> {
        self.param("fields@32473", name)
    }
}

/// Parses `<PRI>1 TS HOST APP PROCID MSGID SD [MSG]`, checking the grammar strictly.
pub fn parse(raw: &[u8]) -> Result<Msg, String> {
    let s = std::str::from_utf8(raw).map_err(|e| format!("not UTF-8: {e}"))?;
    let err = |why: &str| format!("{why}: {s:?}");
    let rest = s.strip_prefix('<').ok_or_else(|| err("no PRI"))?;
    let (pri, rest) = rest.split_once('>').ok_or_else(|| err("no PRI end"))?;
    let pri: u8 = pri.parse().map_err(|_| err("bad PRI"))?;
    if pri > 191 {
        return Err(err("PRI out of range"));
    }
    let rest = rest
        .strip_prefix("1 ")
        .ok_or_else(|| err("not version 1"))?;
    let mut parts = rest.splitn(6, ' ');
    let mut next = |what: &str, max: usize| -> Result<String, String> {
        let v = parts.next().ok_or_else(|| err(what))?;
        if v.is_empty() || v.len() > max || !v.bytes().all(|b| (33..=126).contains(&b)) {
            return Err(err(&format!("bad {what}")));
        }
        Ok(v.to_owned())
    };
    let timestamp = next("TIMESTAMP", 32)?;
    let hostname = next("HOSTNAME", 255)?;
    let app = next("APP-NAME", 48)?;
    let procid = next("PROCID", 128)?;
    let msgid = next("MSGID", 32)?;
    let rest = parts.next().ok_or_else(|| err("no STRUCTURED-DATA"))?;
    let b = rest.as_bytes();
    let mut sd = BTreeMap::new();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i = 1;
    } else {
        while b.get(i) == Some(&b'[') {
            i += 1;
            let start = i;
            while i < b.len() && !matches!(b[i], b' ' | b']') {
                i += 1;
            }
            let id = rest[start..i].to_owned();
            check_name(&id).map_err(|e| err(&e))?;
            let mut params = Vec::new();
            while b.get(i) == Some(&b' ') {
                i += 1;
                let start = i;
                while i < b.len() && b[i] != b'=' {
                    i += 1;
                }
                let name = rest[start..i].to_owned();
                check_name(&name).map_err(|e| err(&e))?;
                if b.get(i + 1) != Some(&b'"') {
                    return Err(err("PARAM-VALUE not quoted"));
                }
                i += 2;
                let mut v = Vec::new();
                loop {
                    match b.get(i) {
                        None => return Err(err("unterminated PARAM-VALUE")),
                        Some(b'"') => break,
                        Some(b'\\') if matches!(b.get(i + 1), Some(b'"' | b'\\' | b']')) => {
                            v.push(b[i + 1]);
                            i += 2;
                        }
                        Some(b']') => return Err(err("unescaped ] in PARAM-VALUE")),
                        Some(&c) => {
                            v.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                params.push((name, String::from_utf8(v).map_err(|_| err("value UTF-8"))?));
            }
            if b.get(i) != Some(&b']') {
                return Err(err("SD-ELEMENT not closed"));
            }
            i += 1;
            sd.insert(id, params);
        }
        if sd.is_empty() {
            return Err(err("bad STRUCTURED-DATA"));
        }
    }
    let msg = match &rest[i..] {
        "" => String::new(),
        m => m
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before MSG"))?
            .to_owned(),
    };
    if msg.starts_with('\u{feff}') {
        return Err(err("MSG has a BOM"));
    }
    Ok(Msg {
        pri,
        timestamp,
        hostname,
        app,
        procid,
        msgid,
        sd,
        msg,
    })
}

fn check_name(n: &str) -> Result<(), String> {
    if n.is_empty()
        || n.len() > 32 + 6
        || !n
            .bytes()
            .all(|b| (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"'))
    {
        return Err(format!("bad SD-NAME {n:?}"));
    }
    Ok(())
}

/// What a receiver got: whole messages in arrival order.
#[derive(Clone, Default)]
pub struct Inbox {
    pub msgs: Arc<Mutex<Vec<Vec<u8>>>>,
    pub connections: Arc<AtomicUsize>,
    /// Bytes of messages cut short by a closed connection.
    pub partial: Arc<AtomicUsize>,
}

impl Inbox {
    pub fn len(&self) -> usize {
        self.msgs.lock().unwrap().len()
    }
    pub fn parsed(&self) -> Vec<Msg> {
        self.msgs
            .lock()
            .unwrap()
            .iter()
            .map(|m| parse(m).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }
    /// Waits until at least `n` messages arrived; panics after `within`.
    pub fn wait_for(&self, n: usize, within: Duration) {
        let t = Instant::now();
        while self.len() < n {
            assert!(
                t.elapsed() < within,
                "{} of {n} messages arrived within {within:?}",
                self.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A TCP receiver with RFC 6587 octet-counting framing. Dropping it stops accepting and closes
/// every connection.
pub struct TcpSink {
    pub port: u16,
    pub inbox: Inbox,
    stop: Arc<AtomicBool>,
}

impl TcpSink {
    pub fn start() -> TcpSink {
        Self::on(TcpListener::bind("127.0.0.1:0").unwrap(), Inbox::default())
    }

    /// A receiver on `port` (which may have been used before), adding to `inbox`.
    pub fn at(port: u16, inbox: Inbox) -> TcpSink {
        Self::on(TcpListener::bind(("127.0.0.1", port)).unwrap(), inbox)
    }

    fn on(l: TcpListener, inbox: Inbox) -> TcpSink {
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (st, ib) = (stop.clone(), inbox.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((c, _)) => {
                        ib.connections.fetch_add(1, Ordering::Relaxed);
                        let (st, ib) = (st.clone(), ib.clone());
                        std::thread::spawn(move || read_frames(c, &ib, &st));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        TcpSink { port, inbox, stop }
    }
}

impl Drop for TcpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Let the threads see it and close their sockets.
        std::thread::sleep(Duration::from_millis(150));
    }
}

fn read_frames(mut c: std::net::TcpStream, ib: &Inbox, stop: &AtomicBool) {
    c.set_nonblocking(false).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    while !stop.load(Ordering::Relaxed) {
        match c.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => break,
        }
        // MSG-LEN SP SYSLOG-MSG, repeated.
        while let Some(sp) = buf.iter().position(|&b| b == b' ') {
            let len: usize = std::str::from_utf8(&buf[..sp])
                .ok()
                .and_then(|l| l.parse().ok())
                .unwrap_or_else(|| {
                    panic!(
                        "bad frame length {:?}",
                        String::from_utf8_lossy(&buf[..sp.min(20)])
                    )
                });
            if buf.len() < sp + 1 + len {
                break;
            }
            ib.msgs
                .lock()
                .unwrap()
                .push(buf[sp + 1..sp + 1 + len].to_vec());
            buf.drain(..sp + 1 + len);
        }
    }
    ib.partial.fetch_add(buf.len(), Ordering::Relaxed);
}

/// A UDP receiver: one message per datagram.
pub struct UdpSink {
    pub port: u16,
    pub inbox: Inbox,
    stop: Arc<AtomicBool>,
}

impl UdpSink {
    pub fn start() -> UdpSink {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = s.local_addr().unwrap().port();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let inbox = Inbox::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (st, ib) = (stop.clone(), inbox.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !st.load(Ordering::Relaxed) {
                if let Ok(n) = s.recv(&mut buf) {
                    ib.msgs.lock().unwrap().push(buf[..n].to_vec());
                }
            }
        });
        UdpSink { port, inbox, stop }
    }
}

impl Drop for UdpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A Unix datagram receiver bound at `path`.
pub struct UnixSink {
    pub inbox: Inbox,
    stop: Arc<AtomicBool>,
}

impl UnixSink {
    pub fn start(path: &Path) -> UnixSink {
        let s = UnixDatagram::bind(path).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let inbox = Inbox::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (st, ib) = (stop.clone(), inbox.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !st.load(Ordering::Relaxed) {
                if let Ok(n) = s.recv(&mut buf) {
                    ib.msgs.lock().unwrap().push(buf[..n].to_vec());
                }
            }
        });
        UnixSink { inbox, stop }
    }
}

impl Drop for UnixSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn the_parser_rejects_what_the_grammar_forbids() {
    let ok = parse(
        br#"<14>1 2026-01-31T09:05:07.123456Z h app 7 m [fields@32473 a="x\]\"\\" b="2"][t@1 c="3"] hello world"#,
    )
    .unwrap();
    assert_eq!(ok.field("a"), Some("x]\"\\"));
    assert_eq!(ok.param("t@1", "c"), Some("3"));
    assert_eq!(ok.msg, "hello world");
    for bad in [
        &br#"<14>1 ts h app 7 m [f@1 a="x]"] m"#[..],
        br#"<14>1 ts h app 7 m [f@1 a=x] m"#,
        br#"<14>1 ts h app 7 m [f@1 a="x""#,
        br#"<14>2 ts h app 7 m - m"#,
        br#"<200>1 ts h app 7 m - m"#,
        br#"<14>1 ts h app 7 m -m"#,
        "<14>1 ts h app 7 m - \u{feff}bom".as_bytes(),
    ] {
        assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}
