//! Traces that follow a job (feature `otel`), on the memory driver: the job span
//! and the handler's spans continue the dispatcher's trace; a job dispatched
//! outside any span, or whose stored `traceparent` is garbage, runs in a trace of
//! its own.
//!
//! Each test installs its own subscriber with `set_default` on a current-thread
//! runtime, so the worker's spawned tasks (same thread) see it and nothing leaks
//! into other tests.
#![cfg(feature = "otel")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use routemq_core::prelude::*;
use routemq_core::{
    Envelope, Job, JobContext, JobError, JobOptions, MemoryDriver, PendingJob, Queue, TraceContext,
};
use routemq_worker::{Worker, WorkerReport};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt as _;

/// The trace map each handler saw, by job tag.
static SEEN: Mutex<Vec<(String, TraceContext)>> = Mutex::new(Vec::new());

#[derive(Serialize, Deserialize)]
struct Traced {
    tag: String,
}

impl Job for Traced {
    const NAME: &'static str = "otel.traced";
    fn options() -> JobOptions {
        JobOptions::new().queue("otel").max_tries(1)
    }
    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        SEEN.lock()
            .unwrap()
            .push((self.tag.clone(), ctx.trace().clone()));
        tracing::info_span!("handler_work").in_scope(|| {});
        Ok(())
    }
}

fn seen(tag: &str) -> Vec<TraceContext> {
    SEEN.lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t == tag)
        .map(|(_, c)| c.clone())
        .collect()
}

/// A subscriber exporting every closed span to memory.
struct Exported {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
}

impl Exported {
    fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("routemq-test")));
        let guard = tracing::subscriber::set_default(subscriber);
        (Exported { exporter, provider }, guard)
    }

    fn spans(&self, name: &str) -> Vec<SpanData> {
        self.provider.force_flush().expect("flush");
        self.exporter
            .get_finished_spans()
            .expect("spans")
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    fn one(&self, name: &str) -> SpanData {
        let mut spans = self.spans(name);
        assert_eq!(spans.len(), 1, "spans named {name}: {spans:?}");
        spans.pop().unwrap()
    }
}

async fn drain(driver: Arc<dyn Driver>) -> WorkerReport {
    let worker = Worker::builder(driver)
        .register::<Traced>()
        .queues(["otel"])
        .sleep(Duration::from_millis(20))
        .stop_when_empty(true)
        .build()
        .expect("valid worker");
    tokio::time::timeout(Duration::from_secs(20), worker.run())
        .await
        .expect("the worker stops")
        .expect("the worker runs")
}

#[tokio::test]
async fn the_job_span_continues_the_dispatchers_trace() {
    let (otel, _guard) = Exported::install();
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let queue = Queue::from_arc(driver.clone());
    let tag = "continues";
    queue
        .dispatch(Traced { tag: tag.into() })
        .instrument(tracing::info_span!("dispatcher"))
        .await
        .unwrap();

    let report = drain(driver).await;
    assert_eq!(report.counts.processed, 1, "{report:?}");

    let dispatcher = otel.one("dispatcher");
    let job = otel.one("job");
    let handler = otel.one("handler_work");
    let trace_id = dispatcher.span_context.trace_id();
    assert_ne!(trace_id, TraceId::INVALID);
    assert_eq!(job.span_context.trace_id(), trace_id);
    assert_eq!(job.parent_span_id, dispatcher.span_context.span_id());
    assert!(
        job.parent_span_is_remote,
        "the parent came from the envelope"
    );
    assert_eq!(handler.span_context.trace_id(), trace_id);
    assert_eq!(handler.parent_span_id, job.span_context.span_id());

    let stored = seen(tag);
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].get("traceparent").map(String::as_str),
        Some(format!("00-{}-{}-01", trace_id, dispatcher.span_context.span_id()).as_str()),
        "{stored:?}"
    );
}

#[tokio::test]
async fn bulk_and_delayed_dispatches_carry_the_trace_too() {
    let (otel, _guard) = Exported::install();
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let queue = Queue::from_arc(driver.clone());
    async {
        queue
            .dispatch_bulk([Traced { tag: "bulk".into() }, Traced { tag: "bulk".into() }])
            .await
            .unwrap();
        queue
            .dispatch_later(
                Duration::from_millis(10),
                Traced {
                    tag: "later".into(),
                },
            )
            .await
            .unwrap();
    }
    .instrument(tracing::info_span!("dispatcher"))
    .await;
    tokio::time::sleep(Duration::from_millis(20)).await;

    let report = drain(driver).await;
    assert_eq!(report.counts.processed, 3, "{report:?}");
    let dispatcher = otel.one("dispatcher");
    let jobs = otel.spans("job");
    assert_eq!(jobs.len(), 3);
    for job in jobs {
        assert_eq!(
            job.span_context.trace_id(),
            dispatcher.span_context.trace_id()
        );
        assert_eq!(job.parent_span_id, dispatcher.span_context.span_id());
    }
}

#[tokio::test]
async fn a_job_dispatched_outside_any_span_runs_in_its_own_trace() {
    let (otel, _guard) = Exported::install();
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let queue = Queue::from_arc(driver.clone());
    let tag = "no-span";
    queue.dispatch(Traced { tag: tag.into() }).await.unwrap();
    // A span elsewhere, closed before the dispatch matters not.
    tracing::info_span!("unrelated").in_scope(|| {});

    let report = drain(driver).await;
    assert_eq!(report.counts.processed, 1, "{report:?}");
    assert_eq!(seen(tag), vec![TraceContext::new()], "nothing was stored");
    let job = otel.one("job");
    let handler = otel.one("handler_work");
    assert_eq!(job.parent_span_id, SpanId::INVALID, "a root span");
    assert_ne!(
        job.span_context.trace_id(),
        otel.one("unrelated").span_context.trace_id()
    );
    assert_eq!(handler.span_context.trace_id(), job.span_context.trace_id());
    assert_eq!(handler.parent_span_id, job.span_context.span_id());
}

/// Pushes a `Traced` job whose stored trace map is `trace`.
async fn push_with_trace(driver: &Arc<dyn Driver>, tag: &str, trace: TraceContext) {
    let queue = Queue::from_arc(driver.clone());
    let pending = queue
        .pending(&Traced { tag: tag.into() }, &JobOptions::new(), None)
        .unwrap();
    let mut env = Envelope::decode(&pending.payload).unwrap();
    env.trace = trace;
    driver
        .push(PendingJob::new(&env, None).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_garbage_traceparent_is_ignored_and_the_job_runs() {
    let (otel, _guard) = Exported::install();
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let tag = "garbage";
    let trace: TraceContext = [
        ("traceparent".to_owned(), "00-not-a-trace-zz".to_owned()),
        ("tracestate".to_owned(), "=,=".to_owned()),
    ]
    .into();
    push_with_trace(&driver, tag, trace.clone()).await;

    let report = drain(driver.clone()).await;
    assert_eq!(
        (report.counts.processed, report.counts.failed),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(seen(tag), vec![trace], "the handler sees the stored map");
    let job = otel.one("job");
    assert_eq!(job.parent_span_id, SpanId::INVALID, "a root span");
    assert_ne!(job.span_context.trace_id(), TraceId::INVALID);
    assert_eq!(
        otel.one("handler_work").span_context.trace_id(),
        job.span_context.trace_id()
    );
}

#[tokio::test]
async fn a_stored_traceparent_from_another_process_is_continued() {
    let (otel, _guard) = Exported::install();
    let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
    let trace: TraceContext = [
        (
            "traceparent".to_owned(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        ),
        ("tracestate".to_owned(), "vendor=abc".to_owned()),
    ]
    .into();
    push_with_trace(&driver, "foreign", trace).await;

    let report = drain(driver).await;
    assert_eq!(report.counts.processed, 1, "{report:?}");
    let job = otel.one("job");
    assert_eq!(
        job.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    assert_eq!(job.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!(job.span_context.trace_state().header(), "vendor=abc");
}

#[test]
fn without_an_opentelemetry_layer_dispatch_stores_no_trace() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry();
    let _guard = tracing::subscriber::set_default(subscriber);
    rt.block_on(async {
        let driver: Arc<dyn Driver> = Arc::new(MemoryDriver::new());
        let queue = Queue::from_arc(driver.clone());
        queue
            .dispatch(Traced {
                tag: "no-layer".into(),
            })
            .instrument(tracing::info_span!("dispatcher"))
            .await
            .unwrap();
        let claimed = driver
            .claim(&["otel".parse().unwrap()], 1, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(claimed[0].envelope().unwrap().trace.is_empty());
    });
}
