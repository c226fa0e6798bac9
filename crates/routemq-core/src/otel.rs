//! Trace context across dispatch and job (feature `otel`): the W3C
//! `traceparent`/`tracestate` pair of the dispatching span, stored in
//! [`Envelope::trace`](crate::Envelope::trace) and read back by the worker.
//!
//! The spans are `tracing` spans; their OpenTelemetry identity comes from a
//! [`tracing_opentelemetry`] layer the application installs. Without that layer
//! (or outside any span) there is no OpenTelemetry context, nothing is injected,
//! and the envelope's trace map stays empty.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::TraceContext;

/// The W3C key holding version, trace id, parent span id and flags.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C key holding vendor-specific trace state.
pub const TRACESTATE: &str = "tracestate";

/// Writes the OpenTelemetry context of `span` into `trace` as W3C
/// `traceparent` (and `tracestate` when not empty). Leaves `trace` untouched when
/// the span has no valid OpenTelemetry span context (no OpenTelemetry layer, a
/// disabled span, or [`tracing::Span::none`]).
pub fn inject(span: &tracing::Span, trace: &mut TraceContext) {
    if span.is_disabled() {
        return;
    }
    let cx = span.context();
    TraceContextPropagator::new().inject_context(&cx, &mut MapInjector(trace));
}

/// [`inject`] with [`tracing::Span::current`]: what [`Queue`](crate::Queue)'s
/// dispatch methods call.
pub fn inject_current(trace: &mut TraceContext) {
    inject(&tracing::Span::current(), trace);
}

/// The remote parent stored in `trace`, or `None` when `traceparent` is missing
/// or malformed (the job then starts a trace of its own).
pub fn extract(trace: &TraceContext) -> Option<Context> {
    let cx = TraceContextPropagator::new().extract(&MapExtractor(trace));
    let valid = cx.span().span_context().is_valid();
    valid.then_some(cx)
}

/// Writes W3C fields into a [`TraceContext`]; an empty `tracestate` is omitted.
struct MapInjector<'a>(&'a mut TraceContext);

impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACESTATE && value.is_empty() {
            return;
        }
        self.0.insert(key.to_owned(), value);
    }
}

/// Reads W3C fields from a [`TraceContext`].
struct MapExtractor<'a>(&'a TraceContext);

impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> TraceContext {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_valid_traceparent_is_extracted_with_its_state() {
        let trace = map(&[
            (
                TRACEPARENT,
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            (TRACESTATE, "vendor=abc"),
        ]);
        let cx = extract(&trace).expect("valid");
        let span = cx.span();
        let sc = span.span_context();
        assert_eq!(
            sc.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(sc.span_id().to_string(), "00f067aa0ba902b7");
        assert!(sc.is_remote() && sc.is_sampled());
        assert_eq!(sc.trace_state().header(), "vendor=abc");
    }

    #[test]
    fn missing_or_malformed_traceparents_are_none() {
        assert!(extract(&TraceContext::new()).is_none());
        for bad in [
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(extract(&map(&[(TRACEPARENT, bad)])).is_none(), "{bad}");
        }
    }

    #[test]
    fn without_an_opentelemetry_layer_nothing_is_injected() {
        let mut trace = map(&[("app", "kept")]);
        inject_current(&mut trace);
        let span = tracing::info_span!("no_layer");
        inject(&span, &mut trace);
        assert_eq!(trace, map(&[("app", "kept")]));
    }

    #[test]
    fn an_extracted_context_injects_back_unchanged() {
        let trace = map(&[
            (
                TRACEPARENT,
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            (TRACESTATE, "vendor=abc"),
        ]);
        let cx = extract(&trace).expect("valid");
        let mut out = TraceContext::new();
        TraceContextPropagator::new().inject_context(&cx, &mut MapInjector(&mut out));
        assert_eq!(out, trace);
    }
}
