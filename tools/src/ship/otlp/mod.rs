//! The OTLP target: records as OpenTelemetry log records (`encode`), a batch as one
//! OTLP/HTTP protobuf request (`http`), to the endpoint the command line and the `OTEL_*`
//! variables name (`config`). A batch is sent whole or not at all: the collector's answer
//! acknowledges it, so the position moves only past batches the collector took.
mod config;
mod encode;
mod http;

pub use config::{DEFAULT_ENDPOINT, OtlpFlags, OtlpOptions};

use super::sink::{Added, Failure, Meta, SendCx, Sink, Summary, report};
use encode::Pending;
use prost::Message as _;
use std::time::SystemTime;
use tachylog::reader::Event;

/// Sends to an OpenTelemetry collector.
pub(super) struct OtlpSink {
    client: http::Client,
    name: String,
    resource: Vec<(String, String)>,
    service: Option<String>,
    pending: Vec<Pending>,
    /// The request body for `pending`, kept while it is being retried.
    body: Option<Vec<u8>>,
}

impl OtlpSink {
    pub(super) fn new(o: &OtlpOptions) -> Result<OtlpSink, String> {
        Ok(OtlpSink {
            client: http::Client::new(o)?,
            name: o.endpoint.clone(),
            resource: o.resource.clone(),
            service: o.service_name.clone(),
            pending: Vec::new(),
            body: None,
        })
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Sink for OtlpSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn add(&mut self, ev: &Event, meta: &Meta<'_>) -> Added {
        let service = self.service.as_deref().unwrap_or(meta.app);
        let observed = now_ns();
        let p = match ev {
            Event::Record(r) => encode::record(r, meta, service, observed),
            Event::Dropped(d) => encode::dropped(d, meta, service, observed),
            Event::Sampled(s) => encode::sampled(s, meta, service, observed),
            _ => return Added::default(),
        };
        let bytes = p.encoded_len();
        self.pending.push(p);
        self.body = None;
        Added { bytes, cut: false }
    }

    fn send(&mut self, next: &mut usize, cx: &mut SendCx<'_>) -> Result<bool, Failure> {
        if *next >= self.pending.len() {
            return Ok(true);
        }
        debug_assert_eq!(*next, 0, "a batch is sent whole");
        let body = match &self.body {
            Some(b) => b,
            None => {
                let req = encode::request(&self.pending, &self.resource);
                self.body.insert(self.client.body(req.encode_to_vec()))
            }
        };
        let accepted = self.client.post(body, cx.within)?;
        if accepted.rejected > 0 {
            cx.summary.rejected += accepted.rejected;
            report(format_args!(
                "{}: the collector rejected {} of {} records{}",
                self.name,
                accepted.rejected,
                self.pending.len(),
                if accepted.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", accepted.message)
                }
            ));
        }
        *next = self.pending.len();
        Ok(true)
    }

    fn clear(&mut self) {
        self.pending.clear();
        self.body = None;
    }

    fn close(&mut self, _summary: &mut Summary) {}
}
