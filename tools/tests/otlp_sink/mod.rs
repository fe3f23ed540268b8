//! Test-side OTLP: an OTLP/HTTP receiver owned by the test (plain or TLS) whose answers the
//! test scripts (503 with Retry-After, a request taken but never answered, a partial success,
//! a refusal), and the real servers from the project's setup: the `rotel` collector and a
//! receiver built on the `opentelemetry-proto` Python package (`receiver.py`), found in the
//! virtual environment `.ci/run` makes.
#![allow(dead_code)]
use flate2::read::GzDecoder;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Checks one record against what `shop::range` logged: severity, scope, body, typed
/// attributes, the conventions, the id, the times and the process.
pub fn check_one(g: &Got) {
    let i = g.attr("i").int() as u64;
    let (level, target, body, user) = super::common::shop::expected(i);
    let sev = match level {
        tachylog::Level::Error => 17,
        tachylog::Level::Warn => 13,
        tachylog::Level::Info => 9,
        tachylog::Level::Debug => 5,
        tachylog::Level::Trace => 1,
    };
    assert_eq!(
        (g.severity_number, g.severity_text.as_str()),
        (sev, level.as_str()),
        "{g:?}"
    );
    assert_eq!(g.scope, target);
    assert_eq!(g.body, V::S(body));
    assert_eq!(g.attr("user"), &V::S(user.into()));
    assert_eq!(g.attr("ratio"), &V::D(i as f64 / 4.0));
    assert_eq!(g.attr("even"), &V::B(i.is_multiple_of(2)));
    assert_eq!(
        g.attr("code.filepath"),
        &V::S(super::common::shop::FILE.into())
    );
    assert!(g.attr("code.lineno").int() > 0);
    assert!(g.attr("thread.id").int() > 0);
    assert!(
        g.uid().starts_with("shop-") && g.uid().contains(".tlog/"),
        "{}",
        g.uid()
    );
    assert!(
        g.time > 1_600_000_000_000_000_000 && g.observed >= g.time,
        "{g:?}"
    );
    assert_eq!(
        g.resource.get("process.pid"),
        Some(&V::I(i64::from(std::process::id())))
    );
}

/// A typed attribute value, as the tests compare them.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    S(String),
    I(i64),
    D(f64),
    B(bool),
    Empty,
}

impl V {
    pub fn of(v: &Option<AnyValue>) -> V {
        match v.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => V::S(s.clone()),
            Some(any_value::Value::IntValue(i)) => V::I(*i),
            Some(any_value::Value::DoubleValue(d)) => V::D(*d),
            Some(any_value::Value::BoolValue(b)) => V::B(*b),
            None => V::Empty,
            Some(other) => panic!("unexpected value {other:?}"),
        }
    }

    /// From the JSON `receiver.py` writes: `{"type": "int", "value": 5}`.
    pub fn from_json(j: &serde_json::Value) -> V {
        match j["type"].as_str().unwrap() {
            "string" => V::S(j["value"].as_str().unwrap().to_owned()),
            "int" => V::I(j["value"].as_i64().unwrap()),
            "double" => V::D(j["value"].as_f64().unwrap()),
            "bool" => V::B(j["value"].as_bool().unwrap()),
            "empty" => V::Empty,
            other => panic!("unexpected value type {other}"),
        }
    }

    pub fn str(&self) -> &str {
        match self {
            V::S(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    pub fn int(&self) -> i64 {
        match self {
            V::I(i) => *i,
            other => panic!("not an int: {other:?}"),
        }
    }
}

fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, V> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), V::of(&kv.value)))
        .collect()
}

/// One log record as a receiver got it, with its resource and scope.
#[derive(Debug, Clone)]
pub struct Got {
    pub resource: BTreeMap<String, V>,
    pub scope: String,
    pub time: u64,
    pub observed: u64,
    pub severity_number: i32,
    pub severity_text: String,
    pub body: V,
    pub attributes: BTreeMap<String, V>,
    /// Which request brought it (0-based, in arrival order).
    pub request: usize,
}

impl Got {
    pub fn attr(&self, k: &str) -> &V {
        self.attributes
            .get(k)
            .unwrap_or_else(|| panic!("no attribute {k}: {self:?}"))
    }

    pub fn uid(&self) -> &str {
        self.attr("log.record.uid").str()
    }

    /// From a line of `receiver.py`'s output.
    pub fn from_json(line: &str) -> Got {
        let j: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let map = |o: &serde_json::Value| -> BTreeMap<String, V> {
            o.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), V::from_json(v)))
                .collect()
        };
        Got {
            resource: map(&j["resource"]),
            scope: j["scope"].as_str().unwrap().to_owned(),
            time: j["time"].as_u64().unwrap(),
            observed: j["observed"].as_u64().unwrap(),
            severity_number: j["severity_number"].as_i64().unwrap() as i32,
            severity_text: j["severity_text"].as_str().unwrap().to_owned(),
            body: V::from_json(&j["body"]),
            attributes: map(&j["attributes"]),
            request: 0,
        }
    }
}

/// What the receiver does with the next request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Takes the records and answers this status (2xx: accepted; others: refused, records not
    /// kept), with a `Retry-After` header if given.
    Status(u16, Option<&'static str>),
    /// Takes the records, then closes the connection without answering: the sender cannot
    /// know they arrived.
    Vanish,
    /// Accepts, saying it rejected this many records (a partial success).
    Partial(i64),
}

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Request {
    pub headers: BTreeMap<String, String>,
    /// Body bytes as sent, and once uncompressed.
    pub sent_bytes: usize,
    pub bytes: usize,
    pub records: usize,
    pub at: Instant,
    pub answer: u16,
}

#[derive(Default)]
pub struct State {
    pub records: Vec<Got>,
    pub requests: Vec<Request>,
    pub script: VecDeque<Answer>,
}

/// An OTLP/HTTP logs receiver on 127.0.0.1, plain or with TLS (the certificate in `tls/`,
/// for `localhost` and 127.0.0.1, signed by `tls/ca.pem`; a key made for these tests only).
pub struct HttpSink {
    pub port: u16,
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

fn tls_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otlp_sink/tls")
}

pub fn ca_file() -> PathBuf {
    tls_dir().join("ca.pem")
}

fn tls_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_dir().join("server.pem"))
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
    let key = PrivateKeyDer::from_pem_file(tls_dir().join("server.key")).unwrap();
    Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    )
}

impl HttpSink {
    pub fn start() -> HttpSink {
        Self::on(TcpListener::bind("127.0.0.1:0").unwrap(), false)
    }

    pub fn start_tls() -> HttpSink {
        Self::on(TcpListener::bind("127.0.0.1:0").unwrap(), true)
    }

    fn on(l: TcpListener, tls: bool) -> HttpSink {
        let port = l.local_addr().unwrap().port();
        l.set_nonblocking(true).unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let config = tls.then(tls_config);
        std::thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((c, _)) => {
                        let (st, sp, config) = (st.clone(), sp.clone(), config.clone());
                        std::thread::spawn(move || {
                            c.set_nonblocking(false).unwrap();
                            c.set_read_timeout(Some(Duration::from_millis(100)))
                                .unwrap();
                            match config {
                                Some(cfg) => {
                                    let conn = rustls::ServerConnection::new(cfg).unwrap();
                                    serve(rustls::StreamOwned::new(conn, c), &st, &sp);
                                }
                                None => serve(c, &st, &sp),
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HttpSink { port, state, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Queues answers for the next requests (then 200 again).
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.lock().unwrap().script.extend(answers);
    }

    pub fn records(&self) -> Vec<Got> {
        self.state.lock().unwrap().records.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Waits until `n` records arrived; panics after `within`.
    pub fn wait_for(&self, n: usize, within: Duration) {
        let t = Instant::now();
        loop {
            let got = self.state.lock().unwrap().records.len();
            if got >= n {
                return;
            }
            assert!(
                t.elapsed() < within,
                "{got} of {n} records arrived within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads until `buf` holds `n` bytes, or the stop flag; false at end of stream.
fn fill(s: &mut impl Read, buf: &mut Vec<u8>, n: usize, stop: &AtomicBool) -> bool {
    let mut chunk = [0u8; 16384];
    while buf.len() < n {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        match s.read(&mut chunk) {
            Ok(0) => return false,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return false,
        }
    }
    true
}

/// Serves HTTP/1.1 requests on one connection, kept alive.
fn serve(mut s: impl Read + Write, state: &Mutex<State>, stop: &AtomicBool) {
    let mut buf = Vec::new();
    loop {
        // The head.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let want = buf.len() + 1;
            if !fill(&mut s, &mut buf, want, stop) {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.lines();
        let request_line = lines.next().unwrap_or_default().to_owned();
        let headers: BTreeMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .get("content-length")
            .map(|l| l.parse().unwrap())
            .expect("a request body with content-length");
        if !fill(&mut s, &mut buf, head_end + len, stop) {
            return;
        }
        let sent: Vec<u8> = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        assert!(request_line.starts_with("POST /v1/logs "), "{request_line}");
        let body = if headers.get("content-encoding").map(String::as_str) == Some("gzip") {
            let mut out = Vec::new();
            GzDecoder::new(&sent[..]).read_to_end(&mut out).unwrap();
            out
        } else {
            sent.clone()
        };
        let req = ExportLogsServiceRequest::decode(&body[..]).unwrap();
        let mut st = state.lock().unwrap();
        let answer = st.script.pop_front().unwrap_or(Answer::Status(200, None));
        let status = match &answer {
            Answer::Status(s, _) => *s,
            Answer::Vanish => 0,
            Answer::Partial(_) => 200,
        };
        let index = st.requests.len();
        let mut records = 0;
        if status == 0 || (200..300).contains(&status) {
            for rl in &req.resource_logs {
                let resource = attrs(&rl.resource.as_ref().unwrap().attributes);
                for sl in &rl.scope_logs {
                    for r in &sl.log_records {
                        records += 1;
                        st.records
                            .push(got(&resource, &sl.scope.as_ref().unwrap().name, r, index));
                    }
                }
            }
        }
        st.requests.push(Request {
            headers,
            sent_bytes: sent.len(),
            bytes: body.len(),
            records,
            at: Instant::now(),
            answer: status,
        });
        drop(st);
        let (status, extra, body) = match answer {
            Answer::Vanish => return,
            Answer::Status(s, retry_after) => (
                s,
                retry_after
                    .map(|r| format!("Retry-After: {r}\r\n"))
                    .unwrap_or_default(),
                match s {
                    200..300 => ExportLogsServiceResponse::default().encode_to_vec(),
                    429 | 500.. => b"try later".to_vec(),
                    _ => b"bad request".to_vec(),
                },
            ),
            Answer::Partial(n) => (
                200,
                String::new(),
                ExportLogsServiceResponse {
                    partial_success: Some(ExportLogsPartialSuccess {
                        rejected_log_records: n,
                        error_message: "too old".into(),
                    }),
                }
                .encode_to_vec(),
            ),
        };
        let ctype = if (200..300).contains(&status) {
            "application/x-protobuf"
        } else {
            "text/plain"
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{extra}\r\n",
            body.len()
        );
        if s.write_all(head.as_bytes()).is_err() || s.write_all(&body).is_err() {
            return;
        }
        let _ = s.flush();
    }
}

fn got(resource: &BTreeMap<String, V>, scope: &str, r: &LogRecord, request: usize) -> Got {
    Got {
        resource: resource.clone(),
        scope: scope.to_owned(),
        time: r.time_unix_nano,
        observed: r.observed_time_unix_nano,
        severity_number: r.severity_number,
        severity_text: r.severity_text.clone(),
        body: V::of(&r.body),
        attributes: attrs(&r.attributes),
        request,
    }
}

/// The virtual environment `.ci/run` installs rotel and opentelemetry-proto into:
/// `$TACHYLOG_CI_VENV`, else `target/ci-venv` in the workspace.
pub fn venv() -> PathBuf {
    std::env::var_os("TACHYLOG_CI_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ci-venv"),
        PathBuf::from,
    )
}

/// The venv's Python, if it has `opentelemetry-proto`; else why not.
pub fn python() -> Result<PathBuf, String> {
    let py = venv().join("bin/python");
    let ok = Command::new(&py)
        .args([
            "-c",
            "import opentelemetry.proto.collector.logs.v1.logs_service_pb2",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(py)
    } else {
        Err(format!(
            "{} with the opentelemetry-proto package is not there (.ci/run installs it with pip)",
            py.display()
        ))
    }
}

/// The rotel collector's binary in the venv, if it is installed and runs here; else why not.
pub fn rotel() -> Result<PathBuf, String> {
    let py = python()?;
    let out = Command::new(&py)
        .args([
            "-c",
            "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let runs = out.status.success()
        && Command::new(&bin)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if runs {
        Ok(bin)
    } else {
        Err(format!(
            "rotel is not installed in {} (.ci/run installs it with pip install --pre rotel)",
            venv().display()
        ))
    }
}

/// A child process killed when dropped.
pub struct Daemon(pub Child);

impl Daemon {
    /// Stops it with SIGTERM and waits for it to exit (at most 20 s).
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let t = Instant::now();
        while self.0.try_wait().unwrap().is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "it did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `receiver.py` running: its port, and the JSON lines it wrote.
pub struct PyReceiver {
    pub port: u16,
    pub out: PathBuf,
    _d: Daemon,
}

impl PyReceiver {
    pub fn start(py: &Path, dir: &Path) -> PyReceiver {
        let port_file = dir.join("receiver.port");
        let out = dir.join("received.jsonl");
        let child = Command::new(py)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/otlp_sink/receiver.py"))
            .arg(&port_file)
            .arg(&out)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let d = Daemon(child);
        let t = Instant::now();
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p.trim().parse().unwrap();
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "receiver.py did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        PyReceiver { port, out, _d: d }
    }

    pub fn records(&self) -> Vec<Got> {
        let f = std::fs::File::open(&self.out).unwrap();
        BufReader::new(f)
            .lines()
            .map(|l| Got::from_json(&l.unwrap()))
            .collect()
    }

    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Got> {
        let t = Instant::now();
        loop {
            let got = self.records();
            if got.len() >= n {
                return got;
            }
            assert!(
                t.elapsed() < within,
                "{} of {n} records arrived within {within:?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; tests use it at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts rotel: OTLP/HTTP on `http_port`, forwarding logs over OTLP/HTTP to `to_port`.
/// Returns once it accepts connections.
pub fn start_rotel(bin: &Path, http_port: u16, to_port: u16, dir: &Path) -> Daemon {
    let grpc_port = free_port();
    let child = Command::new(bin)
        .arg("start")
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
        .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
        .args(["--exporter", "otlp", "--otlp-exporter-protocol", "http"])
        .args([
            "--otlp-exporter-endpoint",
            &format!("http://127.0.0.1:{to_port}"),
        ])
        .arg("--pid-file")
        .arg(dir.join(format!("rotel-{http_port}.pid")))
        .arg("--log-file")
        .arg(dir.join(format!("rotel-{http_port}.log")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let d = Daemon(child);
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", http_port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20), "rotel did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    d
}
