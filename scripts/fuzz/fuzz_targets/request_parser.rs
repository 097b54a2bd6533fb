//! The request parser on arbitrary bytes: `ChatRequest::parse` and the `response_format` reader
//! must answer with a value or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::{guardrails::format::OutputFormat, wire::ChatRequest};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = ChatRequest::parse(data)
        && let Some(v) = req.extra.get("response_format")
        && let Ok(format) = OutputFormat::from_response_format(v)
    {
        for m in &req.messages {
            let _ = format.validate(&m.content_text());
        }
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = OutputFormat::from_response_format(&v);
    }
});
