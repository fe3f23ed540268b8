//! Where and how to send OTLP: the endpoint, headers, trusted roots, resource attributes,
//! timeout and compression, from the command line and the `OTEL_*` environment variables the
//! OpenTelemetry SDKs read (the command line wins; a signal-specific `OTEL_EXPORTER_OTLP_LOGS_*`
//! variable wins over its general form).
use std::path::PathBuf;
use std::time::Duration;

/// The collector's port for OTLP/HTTP, and the path of the logs signal on it.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";
const LOGS_PATH: &str = "/v1/logs";
/// How long one request may take, unless `OTEL_EXPORTER_OTLP_TIMEOUT` says otherwise (the
/// SDKs' default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to send records to an OpenTelemetry collector over OTLP/HTTP with protobuf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpOptions {
    /// The logs URL requests go to (`http://host:4318/v1/logs`).
    pub endpoint: String,
    /// Headers sent with every request (authentication, tenant), in order.
    pub headers: Vec<(String, String)>,
    /// PEM file of the roots to trust for `https://` instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// Resource attributes, in order: `OTEL_RESOURCE_ATTRIBUTES`, then `service.name` and
    /// `host.name` as settled (`process.pid` is each record's writer).
    pub resource: Vec<(String, String)>,
    /// `service.name` when it is settled here (`--app-name`, `OTEL_SERVICE_NAME`, or
    /// `OTEL_RESOURCE_ATTRIBUTES`); `None`: each segment's name prefix.
    pub service_name: Option<String>,
    /// How long one request may take.
    pub timeout: Duration,
    /// Compress request bodies with gzip (`OTEL_EXPORTER_OTLP_COMPRESSION=none` turns it off).
    pub gzip: bool,
}

/// What the command line says about OTLP.
#[derive(Debug, Clone, Default)]
pub struct OtlpFlags {
    /// `--otlp URL`: the collector's base URL (`/v1/logs` is added unless the path ends so).
    pub url: Option<String>,
    /// `--otlp-header NAME=VALUE`, repeated.
    pub headers: Vec<String>,
    /// `--otlp-ca-file FILE`.
    pub ca_file: Option<PathBuf>,
    /// `--app-name`.
    pub service_name: Option<String>,
    /// `--hostname`.
    pub host_name: Option<String>,
}

impl OtlpOptions {
    /// The options from `flags` and the environment as `var` reads it (`std::env::var` in the
    /// command; a map in tests); `machine` is this machine's name, the default `host.name`.
    pub fn new(
        flags: &OtlpFlags,
        var: impl Fn(&str) -> Option<String>,
        machine: &str,
    ) -> Result<OtlpOptions, String> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let endpoint = match (&flags.url, var("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")) {
            (Some(u), _) => logs_url(u)?,
            (None, Some(u)) => check_url(u.trim(), "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")?,
            (None, None) => logs_url(
                var("OTEL_EXPORTER_OTLP_ENDPOINT")
                    .as_deref()
                    .unwrap_or(DEFAULT_ENDPOINT),
            )?,
        };
        let mut headers = Vec::new();
        for name in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
        ] {
            if let Some(v) = var(name) {
                for (k, v) in key_values(&v).map_err(|e| format!("{name}: {e}"))? {
                    set(&mut headers, k, v);
                }
            }
        }
        for h in &flags.headers {
            let (k, v) = h
                .split_once('=')
                .ok_or_else(|| format!("--otlp-header {h:?}: expected NAME=VALUE"))?;
            set(&mut headers, k.trim().to_owned(), v.trim().to_owned());
        }
        for (k, v) in &headers {
            check_header(k, v)?;
        }
        let ca_file = flags.ca_file.clone().or_else(|| {
            var("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE")
                .or_else(|| var("OTEL_EXPORTER_OTLP_CERTIFICATE"))
                .map(PathBuf::from)
        });
        let mut resource = match var("OTEL_RESOURCE_ATTRIBUTES") {
            Some(v) => key_values(&v).map_err(|e| format!("OTEL_RESOURCE_ATTRIBUTES: {e}"))?,
            None => Vec::new(),
        };
        let service_name = flags
            .service_name
            .clone()
            .or_else(|| var("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned()))
            .or_else(|| get(&resource, "service.name").map(str::to_owned));
        resource.retain(|(k, _)| k != "service.name");
        let host = flags
            .host_name
            .clone()
            .or_else(|| get(&resource, "host.name").map(str::to_owned))
            .unwrap_or_else(|| machine.to_owned());
        set(&mut resource, "host.name".into(), host);
        let timeout = match var("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT")
            .map(|v| ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", v))
            .or_else(|| {
                var("OTEL_EXPORTER_OTLP_TIMEOUT").map(|v| ("OTEL_EXPORTER_OTLP_TIMEOUT", v))
            }) {
            Some((name, v)) => match v.trim().parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    return Err(format!(
                        "{name}={v:?}: expected milliseconds, such as 10000"
                    ));
                }
            },
            None => DEFAULT_TIMEOUT,
        };
        let gzip = match var("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION")
            .or_else(|| var("OTEL_EXPORTER_OTLP_COMPRESSION"))
            .as_deref()
            .map(str::trim)
        {
            None | Some("gzip") => true,
            Some("none") => false,
            Some(other) => {
                return Err(format!(
                    "OTEL_EXPORTER_OTLP_COMPRESSION={other:?}: expected gzip or none"
                ));
            }
        };
        Ok(OtlpOptions {
            endpoint,
            headers,
            ca_file,
            resource,
            service_name,
            timeout,
            gzip,
        })
    }
}

fn get<'a>(kv: &'a [(String, String)], key: &str) -> Option<&'a str> {
    kv.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Sets `key` to `value`, replacing an earlier value (case-insensitively, as header names
/// compare) in its place.
fn set(kv: &mut Vec<(String, String)>, key: String, value: String) {
    match kv.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&key)) {
        Some(e) => e.1 = value,
        None => kv.push((key, value)),
    }
}

/// `key1=value1,key2=value2` as the OpenTelemetry variables write lists (W3C Baggage's
/// form): keys and values trimmed, values percent-decoded.
fn key_values(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in s.split(',').filter(|i| !i.trim().is_empty()) {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not key=value"))?;
        let k = k.trim();
        if k.is_empty() {
            return Err(format!("{item:?} has no key"));
        }
        set(&mut out, k.to_owned(), percent_decode(v.trim())?);
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{s:?}: a % not followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?}: not UTF-8 once decoded"))
}

/// A header name must be an HTTP token, a value must not break the header block.
fn check_header(k: &str, v: &str) -> Result<(), String> {
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if k.is_empty() || !k.bytes().all(token) {
        return Err(format!("header name {k:?} is not a valid HTTP header name"));
    }
    if v.bytes().any(|c| c == b'\r' || c == b'\n' || c == 0) {
        return Err(format!("the value of header {k} holds a line break"));
    }
    Ok(())
}

/// A base URL with the logs path added (unless it ends with it), as the general
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is read.
fn logs_url(base: &str) -> Result<String, String> {
    let base = base.trim();
    check_url(base, "the OTLP endpoint")?;
    let trimmed = base.trim_end_matches('/');
    Ok(if trimmed.ends_with(LOGS_PATH) {
        trimmed.to_owned()
    } else {
        format!("{trimmed}{LOGS_PATH}")
    })
}

/// `http://HOST[:PORT][/PATH]` or `https://...`.
fn check_url(u: &str, what: &str) -> Result<String, String> {
    let bad = |why: &str| format!("{what} {u:?}: {why}");
    let (scheme, rest) = u
        .split_once("://")
        .ok_or_else(|| bad("expected http://HOST:PORT or https://HOST:PORT"))?;
    if !matches!(scheme, "http" | "https") {
        return Err(bad("OTLP/HTTP needs an http:// or https:// URL"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("no ] after [IPv6"))?;
            (h, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    if host.is_empty() || host.contains(['@', '[', ']']) {
        return Err(bad("no host"));
    }
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return Err(bad("the port is not a number from 0 to 65535"));
    }
    Ok(u.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn opts(flags: &OtlpFlags, env: &[(&str, &str)]) -> Result<OtlpOptions, String> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OtlpOptions::new(flags, |k| env.get(k).cloned(), "box-1")
    }

    #[test]
    fn the_endpoint_comes_from_the_flag_then_the_logs_variable_then_the_general_one() {
        let none = OtlpFlags::default();
        assert_eq!(
            opts(&none, &[]).unwrap().endpoint,
            "http://localhost:4318/v1/logs"
        );
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://col:4318/base/"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://logs:9000/custom",
            ),
        ];
        assert_eq!(
            opts(&none, &env[..1]).unwrap().endpoint,
            "https://col:4318/base/v1/logs"
        );
        assert_eq!(
            opts(&none, &env).unwrap().endpoint,
            "http://logs:9000/custom"
        );
        let flag = OtlpFlags {
            url: Some("http://10.0.0.1:4318/v1/logs".into()),
            ..OtlpFlags::default()
        };
        assert_eq!(
            opts(&flag, &env).unwrap().endpoint,
            "http://10.0.0.1:4318/v1/logs"
        );
        for bad in ["tcp://x:1", "localhost:4318", "http://", "http://h:port"] {
            let f = OtlpFlags {
                url: Some(bad.into()),
                ..OtlpFlags::default()
            };
            assert!(opts(&f, &[]).is_err(), "{bad}");
        }
        assert!(opts(&none, &[("OTEL_EXPORTER_OTLP_ENDPOINT", "[::1]:4318")]).is_err());
        assert_eq!(
            logs_url("http://[::1]:4318").unwrap(),
            "http://[::1]:4318/v1/logs"
        );
    }

    #[test]
    fn headers_merge_general_then_logs_then_flags_and_values_are_percent_decoded() {
        let flags = OtlpFlags {
            headers: vec!["x-tenant = acme".into()],
            ..OtlpFlags::default()
        };
        let o = opts(
            &flags,
            &[
                (
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "Authorization=Bearer%20abc%3D%3D, X-Tenant=other,x-a=1",
                ),
                ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-a=2"),
            ],
        )
        .unwrap();
        assert_eq!(
            o.headers,
            [
                ("Authorization".to_owned(), "Bearer abc==".to_owned()),
                ("X-Tenant".to_owned(), "acme".to_owned()),
                ("x-a".to_owned(), "2".to_owned()),
            ]
        );
        let bad = |h: &str| {
            let f = OtlpFlags {
                headers: vec![h.into()],
                ..OtlpFlags::default()
            };
            opts(&f, &[]).unwrap_err()
        };
        assert!(bad("no-equals").contains("NAME=VALUE"));
        assert!(bad("bad name=x").contains("not a valid HTTP header name"));
        assert!(
            opts(
                &OtlpFlags::default(),
                &[("OTEL_EXPORTER_OTLP_HEADERS", "a=%zz")]
            )
            .unwrap_err()
            .starts_with("OTEL_EXPORTER_OTLP_HEADERS: ")
        );
    }

    #[test]
    fn service_and_host_names_follow_the_flag_then_the_variables() {
        let env = [
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=from-attrs,deployment.environment=prod%2Feu,host.name=h-attr",
            ),
            ("OTEL_SERVICE_NAME", "from-var"),
        ];
        let o = opts(&OtlpFlags::default(), &env).unwrap();
        assert_eq!(o.service_name.as_deref(), Some("from-var"));
        assert_eq!(
            o.resource,
            [
                ("deployment.environment".to_owned(), "prod/eu".to_owned()),
                ("host.name".to_owned(), "h-attr".to_owned()),
            ]
        );
        let o = opts(&OtlpFlags::default(), &env[..1]).unwrap();
        assert_eq!(o.service_name.as_deref(), Some("from-attrs"));
        let flags = OtlpFlags {
            service_name: Some("flag".into()),
            host_name: Some("h-flag".into()),
            ..OtlpFlags::default()
        };
        let o = opts(&flags, &env).unwrap();
        assert_eq!(o.service_name.as_deref(), Some("flag"));
        assert_eq!(get(&o.resource, "host.name"), Some("h-flag"));
        let o = opts(&OtlpFlags::default(), &[]).unwrap();
        assert_eq!(o.service_name, None, "each segment's name then");
        assert_eq!(o.resource, [("host.name".to_owned(), "box-1".to_owned())]);
        assert!(
            opts(
                &OtlpFlags::default(),
                &[("OTEL_RESOURCE_ATTRIBUTES", "novalue")]
            )
            .is_err()
        );
    }

    #[test]
    fn timeout_compression_and_certificate_come_from_the_environment() {
        let o = opts(
            &OtlpFlags::default(),
            &[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"),
            ],
        )
        .unwrap();
        assert_eq!(o.timeout, Duration::from_millis(2500));
        assert!(!o.gzip);
        assert_eq!(o.ca_file, Some(PathBuf::from("/etc/ca.pem")));
        let d = opts(&OtlpFlags::default(), &[]).unwrap();
        assert_eq!(
            (d.timeout, d.gzip, d.ca_file),
            (DEFAULT_TIMEOUT, true, None)
        );
        assert!(
            opts(
                &OtlpFlags::default(),
                &[("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")]
            )
            .is_err()
        );
        assert!(
            opts(
                &OtlpFlags::default(),
                &[("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd")]
            )
            .is_err()
        );
    }
}
