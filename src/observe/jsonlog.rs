//! The JSON log line, written straight into the line buffer: `{"timestamp", "level", "fields":
//! {...}, "target"}`, the shape of `tracing-subscriber`'s JSON format, which went through serde
//! and a UTF-8 check per piece and cost a request more than the rest of its accounting.

use std::fmt::{self, Write};

use tracing::{Event, Subscriber, field::Field};
use tracing_subscriber::{
    fmt::{
        FmtContext, FormatEvent, FormatFields,
        format::Writer,
        time::{FormatTime, SystemTime},
    },
    registry::LookupSpan,
};

/// Formats each event as one JSON object per line.
pub struct JsonLine;

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        w.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut w)?;
        w.write_str("\",\"level\":\"")?;
        w.write_str(meta.level().as_str())?;
        w.write_str("\",\"fields\":{")?;
        let mut fields = Fields {
            w: &mut w,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        w.write_str("},\"target\":")?;
        string(&mut w, meta.target())?;
        w.write_str("}\n")
    }
}

/// Writes each field as `"name":value`.
struct Fields<'a, W> {
    w: &'a mut W,
    first: bool,
    result: fmt::Result,
}

impl<W: Write> Fields<'_, W> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.w.write_char(',')?;
            }
            string(self.w, field.name())?;
            self.w.write_char(':')?;
            value(self.w)
        })();
    }
}

impl<W: Write> tracing::field::Visit for Fields<'_, W> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.field(field, |w| {
            if value.is_finite() {
                write!(w, "{value}")
            } else {
                w.write_str("null")
            }
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |w| write!(w, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |w| write!(w, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.field(field, |w| w.write_str(if value { "true" } else { "false" }));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, |w| string(w, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |w| {
            w.write_char('"')?;
            write!(Escaping(w), "{value:?}")?;
            w.write_char('"')
        });
    }
}

/// A JSON string literal.
fn string<W: Write>(w: &mut W, s: &str) -> fmt::Result {
    w.write_char('"')?;
    Escaping(w).write_str(s)?;
    w.write_char('"')
}

/// Escapes what passes through it for the inside of a JSON string, as serde_json does: quote,
/// backslash and control characters.
struct Escaping<'a, W>(&'a mut W);

impl<W: Write> Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            // Every byte matched above is ASCII, so `i` is a character boundary.
            self.0.write_str(&s[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{b:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use tracing_subscriber::{fmt::MakeWriter, layer::SubscriberExt};

    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_or(Ok(0), |mut v| {
                v.extend_from_slice(b);
                Ok(b.len())
            })
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Sink {
        type Writer = Sink;
        fn make_writer(&'a self) -> Sink {
            self.clone()
        }
    }

    fn line(emit: impl FnOnce()) -> serde_json::Value {
        let sink = Sink::default();
        let layer = tracing_subscriber::fmt::layer()
            .event_format(JsonLine)
            .with_writer(sink.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), emit);
        let bytes = sink.0.lock().map(|v| v.clone()).unwrap_or_default();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "one line: {text}");
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn every_kind_of_field_is_valid_json_with_its_type() {
        let v = line(|| {
            let id = String::from("req_1");
            tracing::info!(
                request_id = id.as_str(),
                user = %"ann \"the\" user\\",
                status = 200u16,
                delta = -3i64,
                latency_ms = 2.5f64,
                nan = f64::NAN,
                ok = true,
                weird = "tab\there\nnew\u{1}line é",
                "request"
            );
        });
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], module_path!());
        let f = &v["fields"];
        assert_eq!(f["message"], "request");
        assert_eq!(f["request_id"], "req_1");
        assert_eq!(f["user"], "ann \"the\" user\\");
        assert_eq!(f["status"], 200);
        assert_eq!(f["delta"], -3);
        assert_eq!(f["latency_ms"], 2.5);
        assert!(f["nan"].is_null());
        assert_eq!(f["ok"], true);
        assert_eq!(f["weird"], "tab\there\nnew\u{1}line é");
        let ts = v["timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z') && ts.len() == "2026-11-27T19:57:43.235867Z".len());
    }

    #[test]
    fn an_event_without_fields_but_its_message() {
        let v = line(|| tracing::warn!("plain"));
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["fields"], serde_json::json!({"message": "plain"}));
    }
}
