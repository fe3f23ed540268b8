//! Records and notices as OpenTelemetry `LogRecord`s, and a batch of them as one
//! `ExportLogsServiceRequest`: one `ResourceLogs` per writing process (`service.name`,
//! `host.name`, `process.pid` and the resource attributes), one `ScopeLogs` per target.
//!
//! | OTLP | from |
//! | --- | --- |
//! | `time_unix_nano` | the record's time (0 for a sampling notice, which has none) |
//! | `observed_time_unix_nano` | when `ship` read it |
//! | `severity_number`, `severity_text` | ERROR 17, WARN 13, INFO 9, DEBUG 5, TRACE 1; the level's name |
//! | `body` | the formatted message (a string) |
//! | `attributes` | the structured fields, typed (integers that fit `int64` as ints, larger ones as strings; floats; bools; strings; `None` as an empty value), then `code.filepath`, `code.lineno`, `thread.id`, `thread.name`, and `log.record.uid` |
//! | scope | the target (`tachylog` for drop notices) |
//!
//! `log.record.uid` is the record's id, `<segment file>/<index>` (see
//! [`Meta::id`](super::super::sink::Meta::id)): the same in every run, so a receiver can drop
//! the repeats a crash or a request of unknown fate may cause. Drop notices carry
//! `tachylog.dropped` (the count), sampling notices `tachylog.sampled.kept` and
//! `tachylog.sampled.skipped`.
use super::super::sink::Meta;
use crate::notice::{dropped_text, sampled_text};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use tachylog::Level;
use tachylog::reader::{DropNotice, Record, SampledNotice, ThreadInfo};
use tachylog_fmt::Value;

/// The scope of drop notices.
pub(super) const NOTICE_SCOPE: &str = "tachylog";

/// A record on its way: the process and scope it goes under, and the record.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    /// `service.name` (the settled one, or the segment name's prefix).
    pub(super) service: String,
    /// The writer's pid, where known.
    pub(super) pid: Option<u32>,
    /// The instrumentation scope's name.
    pub(super) scope: String,
    pub(super) rec: LogRecord,
}

impl Pending {
    /// Bytes the record takes in the request (before compression).
    pub(super) fn encoded_len(&self) -> usize {
        self.rec.encoded_len()
    }
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(v) }),
        ..KeyValue::default()
    }
}

fn string(key: &str, v: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.to_owned()))
}

fn int(key: &str, v: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(v))
}

/// A field's value, typed as OTLP has types.
pub(super) fn any_value(v: &Value<'_>) -> AnyValue {
    use any_value::Value as A;
    let big = |s: String| Some(A::StringValue(s));
    let value = match v {
        Value::U8(n) => Some(A::IntValue(i64::from(*n))),
        Value::U16(n) => Some(A::IntValue(i64::from(*n))),
        Value::U32(n) => Some(A::IntValue(i64::from(*n))),
        Value::U64(n) => {
            i64::try_from(*n).map_or_else(|_| big(n.to_string()), |n| Some(A::IntValue(n)))
        }
        Value::U128(n) => {
            i64::try_from(*n).map_or_else(|_| big(n.to_string()), |n| Some(A::IntValue(n)))
        }
        Value::I8(n) => Some(A::IntValue(i64::from(*n))),
        Value::I16(n) => Some(A::IntValue(i64::from(*n))),
        Value::I32(n) => Some(A::IntValue(i64::from(*n))),
        Value::I64(n) => Some(A::IntValue(*n)),
        Value::I128(n) => {
            i64::try_from(*n).map_or_else(|_| big(n.to_string()), |n| Some(A::IntValue(n)))
        }
        Value::F32(x) => Some(A::DoubleValue(f64::from(*x))),
        Value::F64(x) => Some(A::DoubleValue(*x)),
        Value::Bool(b) => Some(A::BoolValue(*b)),
        Value::Char(c) => Some(A::StringValue(c.to_string())),
        Value::Str(s) | Value::Pre(s) | Value::Formatted(s) => {
            Some(A::StringValue((*s).to_owned()))
        }
        Value::None => None,
        Value::Some(inner) => return any_value(inner),
    };
    AnyValue { value }
}

/// The severity number and text of a level.
pub(super) fn severity(level: Level) -> (SeverityNumber, &'static str) {
    let n = match level {
        Level::Error => SeverityNumber::Error,
        Level::Warn => SeverityNumber::Warn,
        Level::Info => SeverityNumber::Info,
        Level::Debug => SeverityNumber::Debug,
        Level::Trace => SeverityNumber::Trace,
    };
    (n, level.as_str())
}

fn time(ns: i64) -> u64 {
    u64::try_from(ns).unwrap_or(0)
}

fn log_record(
    level: Level,
    ts: u64,
    observed: u64,
    body: String,
    attributes: Vec<KeyValue>,
) -> LogRecord {
    let (n, text) = severity(level);
    LogRecord {
        time_unix_nano: ts,
        observed_time_unix_nano: observed,
        severity_number: n as i32,
        severity_text: text.to_owned(),
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(body)),
        }),
        attributes,
        ..LogRecord::default()
    }
}

fn thread_attributes(attrs: &mut Vec<KeyValue>, t: &ThreadInfo) {
    attrs.push(int("thread.id", i64::from(t.tid)));
    if let Some(name) = &t.name {
        attrs.push(string("thread.name", name));
    }
}

/// A record as a `LogRecord`; `observed` is now, in ns since the epoch.
pub(super) fn record(r: &Record, meta: &Meta<'_>, service: &str, observed: u64) -> Pending {
    let mut attributes = Vec::with_capacity(r.callsite().field_names.len() + 5);
    let mut body = String::new();
    let rendered = r.write_message_and_fields(&mut body, |name, v| {
        attributes.push(KeyValue {
            key: name.to_owned(),
            value: Some(any_value(&v)),
            ..KeyValue::default()
        });
    });
    if let Err(e) = rendered {
        body.clear();
        r.write_undecodable(&mut body, &e);
    }
    attributes.push(string("code.filepath", &r.callsite().file));
    attributes.push(int("code.lineno", i64::from(r.callsite().line)));
    thread_attributes(&mut attributes, &r.thread);
    attributes.push(string("log.record.uid", &meta.id()));
    Pending {
        service: service.to_owned(),
        pid: Some(r.pid),
        scope: r.callsite().target.to_string(),
        rec: log_record(r.level, time(r.ts_unix_ns), observed, body, attributes),
    }
}

/// A drop notice as a WARN `LogRecord` of scope `tachylog` with `tachylog.dropped`.
pub(super) fn dropped(d: &DropNotice, meta: &Meta<'_>, service: &str, observed: u64) -> Pending {
    let mut attributes = vec![int(
        "tachylog.dropped",
        i64::try_from(d.count).unwrap_or(i64::MAX),
    )];
    if let Some(t) = &d.thread {
        thread_attributes(&mut attributes, t);
    }
    attributes.push(string("log.record.uid", &meta.id()));
    Pending {
        service: service.to_owned(),
        pid: meta.pid,
        scope: NOTICE_SCOPE.to_owned(),
        rec: log_record(
            Level::Warn,
            time(d.ts_unix_ns),
            observed,
            dropped_text(d.count),
            attributes,
        ),
    }
}

/// A sampling notice as an INFO `LogRecord` of the call site's target, with
/// `tachylog.sampled.kept` and `tachylog.sampled.skipped`.
pub(super) fn sampled(s: &SampledNotice, meta: &Meta<'_>, service: &str, observed: u64) -> Pending {
    let attributes = vec![
        int(
            "tachylog.sampled.kept",
            i64::try_from(s.kept).unwrap_or(i64::MAX),
        ),
        int(
            "tachylog.sampled.skipped",
            i64::try_from(s.skipped).unwrap_or(i64::MAX),
        ),
        string("code.filepath", &s.callsite.file),
        int("code.lineno", i64::from(s.callsite.line)),
        string("log.record.uid", &meta.id()),
    ];
    Pending {
        service: service.to_owned(),
        pid: meta.pid,
        scope: s.callsite.target.to_string(),
        rec: log_record(Level::Info, 0, observed, sampled_text(s), attributes),
    }
}

/// The request for `pending`, in order: a `ResourceLogs` per (service, pid) and a `ScopeLogs`
/// per scope within it, in order of first appearance. `resource` are the attributes every
/// resource has (`host.name` and `OTEL_RESOURCE_ATTRIBUTES`).
pub(super) fn request(
    pending: &[Pending],
    resource: &[(String, String)],
) -> ExportLogsServiceRequest {
    let mut out: Vec<ResourceLogs> = Vec::new();
    let mut keys: Vec<(&str, Option<u32>)> = Vec::new();
    for p in pending {
        let key = (p.service.as_str(), p.pid);
        let ri = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                let mut attributes = vec![string("service.name", &p.service)];
                attributes.extend(resource.iter().map(|(k, v)| string(k, v)));
                if let Some(pid) = p.pid {
                    attributes.push(int("process.pid", i64::from(pid)));
                }
                keys.push(key);
                out.push(ResourceLogs {
                    resource: Some(Resource {
                        attributes,
                        ..Resource::default()
                    }),
                    ..ResourceLogs::default()
                });
                out.len() - 1
            }
        };
        let scopes = &mut out[ri].scope_logs;
        let si = match scopes
            .iter()
            .position(|s| s.scope.as_ref().is_some_and(|s| s.name == p.scope))
        {
            Some(i) => i,
            None => {
                scopes.push(ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: p.scope.clone(),
                        ..InstrumentationScope::default()
                    }),
                    ..ScopeLogs::default()
                });
                scopes.len() - 1
            }
        };
        scopes[si].log_records.push(p.rec.clone());
    }
    ExportLogsServiceRequest { resource_logs: out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use any_value::Value as A;

    #[test]
    fn field_values_keep_their_types() {
        let cases: Vec<(Value<'_>, Option<A>)> = vec![
            (Value::U8(7), Some(A::IntValue(7))),
            (Value::I64(-3), Some(A::IntValue(-3))),
            (
                Value::U64(u64::MAX),
                Some(A::StringValue(u64::MAX.to_string())),
            ),
            (Value::U64(5), Some(A::IntValue(5))),
            (
                Value::I128(-(1 << 70)),
                Some(A::StringValue((-(1i128 << 70)).to_string())),
            ),
            (Value::F32(0.5), Some(A::DoubleValue(0.5))),
            (Value::F64(2.25), Some(A::DoubleValue(2.25))),
            (Value::Bool(true), Some(A::BoolValue(true))),
            (Value::Char('é'), Some(A::StringValue("é".into()))),
            (Value::Str("ana"), Some(A::StringValue("ana".into()))),
            (
                Value::Pre("Point { x: 1 }"),
                Some(A::StringValue("Point { x: 1 }".into())),
            ),
            (Value::None, None),
            (Value::Some(Box::new(Value::U16(9))), Some(A::IntValue(9))),
        ];
        for (v, want) in cases {
            assert_eq!(any_value(&v).value, want, "{v:?}");
        }
    }

    #[test]
    fn levels_map_to_the_severity_numbers_of_the_log_data_model() {
        assert_eq!(severity(Level::Error), (SeverityNumber::Error, "ERROR"));
        assert_eq!(severity(Level::Warn).0 as i32, 13);
        assert_eq!(severity(Level::Info).0 as i32, 9);
        assert_eq!(severity(Level::Debug).0 as i32, 5);
        assert_eq!(severity(Level::Trace), (SeverityNumber::Trace, "TRACE"));
    }

    fn pending(service: &str, pid: Option<u32>, scope: &str, body: &str) -> Pending {
        Pending {
            service: service.into(),
            pid,
            scope: scope.into(),
            rec: log_record(Level::Info, 1, 2, body.into(), vec![]),
        }
    }

    #[test]
    fn a_request_groups_by_process_then_scope_in_order_of_first_appearance() {
        let p = [
            pending("orders", Some(10), "a", "1"),
            pending("orders", Some(10), "b", "2"),
            pending("orders", Some(11), "a", "3"),
            pending("orders", Some(10), "a", "4"),
            pending("orders", None, "tachylog", "5"),
        ];
        let resource = [("host.name".to_owned(), "h".to_owned())];
        let req = request(&p, &resource);
        type Shape = (Vec<(String, String)>, Vec<(String, Vec<String>)>);
        let shape: Vec<Shape> = req
            .resource_logs
            .iter()
            .map(|rl| {
                let attrs = rl
                    .resource
                    .as_ref()
                    .unwrap()
                    .attributes
                    .iter()
                    .map(|kv| {
                        let v = match kv.value.as_ref().unwrap().value.as_ref().unwrap() {
                            A::StringValue(s) => s.clone(),
                            A::IntValue(n) => n.to_string(),
                            other => panic!("{other:?}"),
                        };
                        (kv.key.clone(), v)
                    })
                    .collect();
                let scopes = rl
                    .scope_logs
                    .iter()
                    .map(|s| {
                        let bodies = s
                            .log_records
                            .iter()
                            .map(|r| match r.body.as_ref().unwrap().value.as_ref().unwrap() {
                                A::StringValue(s) => s.clone(),
                                other => panic!("{other:?}"),
                            })
                            .collect();
                        (s.scope.as_ref().unwrap().name.clone(), bodies)
                    })
                    .collect();
                (attrs, scopes)
            })
            .collect();
        let kvs = |pid: Option<&str>| {
            let mut v = vec![
                ("service.name".to_owned(), "orders".to_owned()),
                ("host.name".to_owned(), "h".to_owned()),
            ];
            if let Some(p) = pid {
                v.push(("process.pid".to_owned(), p.to_owned()));
            }
            v
        };
        let s = |n: &str, b: &[&str]| (n.to_owned(), b.iter().map(|x| x.to_string()).collect());
        assert_eq!(
            shape,
            vec![
                (kvs(Some("10")), vec![s("a", &["1", "4"]), s("b", &["2"])]),
                (kvs(Some("11")), vec![s("a", &["3"])]),
                (kvs(None), vec![s("tachylog", &["5"])]),
            ]
        );
        // What is counted per record is what the request carries, give or take the framing.
        let records: usize = p.iter().map(Pending::encoded_len).sum();
        assert!(req.encoded_len() > records);
    }
}
