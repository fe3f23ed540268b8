//! The OTLP/HTTP client: one `POST` of a protobuf `ExportLogsServiceRequest` (gzip-compressed)
//! per batch over a kept-alive connection, and what the answer means, as the OTLP
//! specification says: 2xx accepted (perhaps in part: `partial_success`); 429, 502, 503 and
//! 504 "try again", after `Retry-After` when given; any other status will not change by
//! trying again. A connection that fails, or an answer that does not come in time, leaves the
//! request's fate unknown: it is sent again, so its records may arrive twice (the record id
//! tells them apart).
use super::super::sink::Failure;
use super::config::OtlpOptions;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use prost::Message as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// The client of one endpoint.
pub(super) struct Client {
    agent: ureq::Agent,
    url: String,
    headers: Vec<(String, String)>,
    timeout: Duration,
    gzip: bool,
}

/// What the collector said to a request it accepted.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Accepted {
    /// Records it rejected (`partial_success.rejected_log_records`).
    pub(super) rejected: u64,
    /// Why, in its words.
    pub(super) message: String,
}

/// `google.rpc.Status`, the body of an OTLP error response (its first two fields; the
/// details are not needed to say what went wrong).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The roots to trust: the PEM file's certificates, or the system's.
fn roots(ca_file: Option<&std::path::Path>) -> Result<RootCerts, String> {
    let certs: Vec<Certificate<'static>> = match ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(PemItem::Certificate(c)) => certs.push(c),
                    Ok(_) => {}
                    Err(e) => return Err(format!("{}: {e}", path.display())),
                }
            }
            if certs.is_empty() {
                return Err(format!("{}: no PEM certificate in it", path.display()));
            }
            certs
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            if found.certs.is_empty() {
                let why = found
                    .errors
                    .first()
                    .map_or_else(|| "none found".to_owned(), |e| e.to_string());
                return Err(format!(
                    "cannot load this system's trusted root certificates ({why}); give \
                     --otlp-ca-file or set SSL_CERT_FILE"
                ));
            }
            found
                .certs
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                .collect()
        }
    };
    Ok(RootCerts::Specific(Arc::new(certs)))
}

impl Client {
    /// A client for `o.endpoint`; for `https://`, trusting `o.ca_file`'s roots or the system's.
    pub(super) fn new(o: &OtlpOptions) -> Result<Client, String> {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(o.timeout))
            .user_agent(concat!("tachylog/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections_per_host(1);
        if o.endpoint.starts_with("https://") {
            let tls = TlsConfig::builder()
                .root_certs(roots(o.ca_file.as_deref())?)
                .build();
            config = config.tls_config(tls);
        }
        Ok(Client {
            agent: config.build().into(),
            url: o.endpoint.clone(),
            headers: o.headers.clone(),
            timeout: o.timeout,
            gzip: o.gzip,
        })
    }

    /// The request body for an encoded request: gzip-compressed unless turned off.
    pub(super) fn body(&self, encoded: Vec<u8>) -> Vec<u8> {
        if !self.gzip {
            return encoded;
        }
        let mut z = flate2::write::GzEncoder::new(
            Vec::with_capacity(encoded.len() / 4),
            flate2::Compression::fast(),
        );
        // Writing to a Vec cannot fail.
        let _ = z.write_all(&encoded);
        z.finish().unwrap_or_default()
    }

    /// Posts `body`, taking at most `within` (and at most the request timeout).
    pub(super) fn post(&self, body: &[u8], within: Option<Duration>) -> Result<Accepted, Failure> {
        let timeout = within.map_or(self.timeout, |w| w.min(self.timeout));
        let mut req = self
            .agent
            .post(&self.url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("Content-Type", "application/x-protobuf");
        if self.gzip {
            req = req.header("Content-Encoding", "gzip");
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let mut resp = req.send(body).map_err(|e| failure(e, timeout))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, SystemTime::now()));
        let protobuf = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-protobuf"));
        let answer = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .unwrap_or_default();
        if (200..300).contains(&status) {
            let partial = protobuf
                .then(|| ExportLogsServiceResponse::decode(&answer[..]).ok())
                .flatten()
                .and_then(|r| r.partial_success)
                .unwrap_or_default();
            return Ok(Accepted {
                rejected: u64::try_from(partial.rejected_log_records).unwrap_or(0),
                message: partial.error_message,
            });
        }
        let said = said(&answer, protobuf);
        let why = format!("the collector answered {status}{said}");
        match status {
            429 | 502 | 503 | 504 => Err(Failure::Retry {
                why,
                after: retry_after,
            }),
            413 => Err(Failure::Fatal(format!(
                "{why}: the request is too large for it; lower --batch-bytes"
            ))),
            _ => Err(Failure::Fatal(why)),
        }
    }
}

/// What an error response says: `google.rpc.Status`'s message, or the body's text.
fn said(answer: &[u8], protobuf: bool) -> String {
    let text = if protobuf {
        RpcStatus::decode(answer)
            .map(|s| s.message)
            .unwrap_or_default()
    } else {
        String::from_utf8_lossy(answer).into_owned()
    };
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(" ({text})")
    }
}

/// A failed request: the fate of a request whose connection failed or timed out is unknown,
/// and it is tried again; a refused certificate is not going to change.
fn failure(e: ureq::Error, timeout: Duration) -> Failure {
    match e {
        ureq::Error::HostNotFound => Failure::retry("cannot resolve the host"),
        ureq::Error::Timeout(t) => Failure::retry(format!(
            "no answer within {timeout:?} ({t}; the request may have arrived: sent again)"
        )),
        ureq::Error::Io(io) => match io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(tls) => Failure::Fatal(format!(
                "TLS: {tls} (for a private CA, give --otlp-ca-file)"
            )),
            // Not connected: the collector got nothing.
            None if io.kind() == std::io::ErrorKind::ConnectionRefused => Failure::retry(io),
            None => Failure::retry(format!("{io} (the request may have arrived: sent again)")),
        },
        ureq::Error::Tls(why) => Failure::Fatal(format!("TLS: {why}")),
        ureq::Error::ConnectionFailed => Failure::retry(e),
        ureq::Error::Protocol(_) => {
            Failure::retry(format!("{e} (the request may have arrived: sent again)"))
        }
        other => Failure::Fatal(other.to_string()),
    }
}

/// `Retry-After`: seconds, or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) from `now`.
/// Longer waits than an hour are cut to one.
pub(super) fn retry_after(v: &str, now: SystemTime) -> Option<Duration> {
    let v = v.trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = http_date(v)?;
        let now = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
        Duration::from_secs(at.saturating_sub(now))
    };
    Some(d.min(Duration::from_secs(3600)))
}

/// Seconds since the epoch of an IMF-fixdate, the HTTP date form (RFC 9110, 5.6.7).
fn http_date(v: &str) -> Option<u64> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let rest = v.split_once(", ")?.1;
    let mut p = rest.split(' ');
    let day: u64 = p.next()?.parse().ok()?;
    let month = p.next()?;
    let year: i64 = p.next()?.parse().ok()?;
    let hms: Vec<u64> = p
        .next()?
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if p.next()? != "GMT" || hms.len() != 3 {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| *x == month)? as i64 + 1;
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_770);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example).
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                "Sun, 06 Nov 1994 08:49:37 GMT",
                now + Duration::from_secs(60)
            ),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        assert_eq!(retry_after("86400", now), Some(Duration::from_secs(3600)));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:49:37 PST", now), None);
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400)
        );
    }

    #[test]
    fn an_error_body_is_shown_briefly() {
        let s = RpcStatus {
            code: 3,
            message: "bad\nrecord".into(),
        };
        assert_eq!(said(&s.encode_to_vec(), true), " (bad record)");
        assert_eq!(said(b"  ", false), "");
        assert_eq!(said("x".repeat(500).as_bytes(), false).len(), 203);
    }

    #[test]
    fn bodies_are_gzip_unless_turned_off() {
        let mut o = OtlpOptions::new(&Default::default(), |_| None, "h").unwrap();
        let data = b"hello hello hello hello".to_vec();
        let z = Client::new(&o).unwrap().body(data.clone());
        assert_eq!(&z[..2], &[0x1f, 0x8b], "gzip magic");
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&z[..]), &mut back).unwrap();
        assert_eq!(back, data);
        o.gzip = false;
        assert_eq!(Client::new(&o).unwrap().body(data.clone()), data);
    }
}
