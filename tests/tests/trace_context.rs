//! Traces that follow a job, on real Redis and MySQL/MariaDB: a job dispatched
//! inside a span stores that span's W3C `traceparent` in its envelope, in both
//! codecs (JSON and MessagePack), byte for byte through the backend; the worker's
//! `job` span (and the handler's spans) continue the dispatcher's trace.
//!
//! The subscriber is set with `set_default` on a current-thread runtime, so the
//! worker's spawned tasks (same thread) see it and no other test does.

use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::trace::{SpanId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use routemq_core::{
    Codec, Envelope, Job, JobContext, JobError, JobOptions, Queue, QueueName, TraceContext,
};
use routemq_e2e::stores::Store;
use routemq_mysql::mysql_async::prelude::Queryable;
use routemq_worker::Worker;
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt as _;

const QUEUE: &str = "traced";

/// The trace map each handler saw, by job tag.
static SEEN: Mutex<Vec<(String, TraceContext)>> = Mutex::new(Vec::new());

#[derive(Serialize, Deserialize)]
struct Traced {
    tag: String,
}

impl Job for Traced {
    const NAME: &'static str = "e2e.traced";
    fn options() -> JobOptions {
        JobOptions::new().queue(QUEUE).max_tries(1)
    }
    async fn handle(&self, ctx: &JobContext) -> Result<(), JobError> {
        SEEN.lock()
            .unwrap()
            .push((self.tag.clone(), ctx.trace().clone()));
        tracing::info_span!("handler_work").in_scope(|| {});
        Ok(())
    }
}

/// A subscriber exporting every closed span to memory, for the current thread.
fn install() -> (
    InMemorySpanExporter,
    SdkTracerProvider,
    tracing::subscriber::DefaultGuard,
) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("routemq-e2e")));
    let guard = tracing::subscriber::set_default(subscriber);
    (exporter, provider, guard)
}

fn finished(exporter: &InMemorySpanExporter, provider: &SdkTracerProvider) -> Vec<SpanData> {
    provider.force_flush().expect("flush");
    exporter.get_finished_spans().expect("spans")
}

/// The stored envelopes of the queue, as the backend holds them: the Redis jobs
/// hash's payloads (after the metadata in front of each), MySQL's
/// `queue_jobs.payload`.
async fn stored_payloads(store: &mut Store) -> Vec<Vec<u8>> {
    match store {
        Store::Redis(s) => {
            // The jobs hash's time buckets, as its set of buckets lists them
            // (see `routemq_redis::job_hash`).
            let key = format!("{}:jobs", s.ready_key(&QUEUE.parse::<QueueName>().unwrap()));
            let buckets: Vec<Vec<u8>> = redis::cmd("SMEMBERS")
                .arg(format!("{key}:buckets"))
                .query_async(&mut s.raw)
                .await
                .expect("SMEMBERS");
            let mut payloads = Vec::new();
            for bucket in buckets {
                let pairs: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
                    .arg(&bucket)
                    .query_async(&mut s.raw)
                    .await
                    .expect("HGETALL");
                payloads.extend(
                    pairs
                        .into_iter()
                        .filter(|(field, _)| !field.ends_with(":meta"))
                        // The body carries the job's metadata in front.
                        .map(|(_, body)| routemq_redis::split_body(&body).0.to_vec()),
                );
            }
            payloads
        }
        Store::Mysql(s) => {
            let mut conn = s.raw().await;
            let rows: Vec<Vec<u8>> = conn
                .exec("SELECT payload FROM queue_jobs WHERE queue = ?", (QUEUE,))
                .await
                .expect("SELECT payload");
            conn.disconnect().await.expect("disconnect");
            rows
        }
    }
}

async fn scenario(mut store: Store) {
    let (exporter, provider, _guard) = install();
    let label = store.label();
    let queue = Queue::from_arc(store.dyn_driver());
    for (codec, span) in [
        (Codec::Json, tracing::info_span!("dispatch_json")),
        (Codec::MsgPack, tracing::info_span!("dispatch_msgpack")),
    ] {
        queue
            .dispatch_with(
                Traced {
                    tag: format!("{label}-{codec:?}"),
                },
                &JobOptions::new().codec(codec),
                None,
            )
            .instrument(span)
            .await
            .expect("dispatch");
    }
    let spans = finished(&exporter, &provider);
    let dispatcher = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name}: {spans:?}"))
            .span_context
            .clone()
    };
    let expected = |name: &str| {
        let sc = dispatcher(name);
        format!("00-{}-{}-01", sc.trace_id(), sc.span_id())
    };

    // Stored byte for byte, in the job's own codec.
    let payloads = stored_payloads(&mut store).await;
    assert_eq!(payloads.len(), 2, "{label}");
    for payload in &payloads {
        let env = Envelope::decode(payload).expect("a stored envelope");
        let (first_is_brace, name) = match env.codec {
            Codec::Json => (true, "dispatch_json"),
            Codec::MsgPack => (false, "dispatch_msgpack"),
        };
        assert_eq!(
            payload[0] == b'{',
            first_is_brace,
            "{label} {:?}",
            env.codec
        );
        assert_eq!(
            env.trace.get("traceparent"),
            Some(&expected(name)),
            "{label} {:?}: {:?}",
            env.codec,
            env.trace
        );
    }

    let worker = Worker::builder(store.dyn_driver())
        .register::<Traced>()
        .queues([QUEUE])
        .sleep(Duration::from_millis(50))
        .stop_when_empty(true)
        .build()
        .expect("valid worker");
    let report = tokio::time::timeout(Duration::from_secs(30), worker.run())
        .await
        .expect("the worker stops")
        .expect("the worker runs");
    assert_eq!(report.counts.processed, 2, "{label}: {report:?}");

    let spans = finished(&exporter, &provider);
    let jobs: Vec<&SpanData> = spans.iter().filter(|s| s.name == "job").collect();
    assert_eq!(jobs.len(), 2, "{label}: {jobs:?}");
    for (codec, name) in [
        (Codec::Json, "dispatch_json"),
        (Codec::MsgPack, "dispatch_msgpack"),
    ] {
        let parent = dispatcher(name);
        let job = jobs
            .iter()
            .find(|j| j.parent_span_id == parent.span_id())
            .unwrap_or_else(|| panic!("{label} {codec:?}: no job span under {name}: {jobs:?}"));
        assert_eq!(job.span_context.trace_id(), parent.trace_id(), "{label}");
        let handler = spans
            .iter()
            .find(|s| s.name == "handler_work" && s.parent_span_id == job.span_context.span_id())
            .unwrap_or_else(|| panic!("{label} {codec:?}: no handler span under the job"));
        assert_eq!(handler.span_context.trace_id(), parent.trace_id());
        assert_ne!(job.parent_span_id, SpanId::INVALID);

        let tag = format!("{label}-{codec:?}");
        let seen: Vec<TraceContext> = SEEN
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| *t == tag)
            .map(|(_, c)| c.clone())
            .collect();
        assert_eq!(seen.len(), 1, "{tag}");
        assert_eq!(seen[0].get("traceparent"), Some(&expected(name)), "{tag}");
    }
    store.cleanup().await;
}

#[tokio::test]
async fn redis_keeps_the_traceparent_in_both_codecs_and_the_job_continues_it() {
    scenario(Store::redis().await).await;
}

#[tokio::test]
async fn mysql_keeps_the_traceparent_in_both_codecs_and_the_job_continues_it() {
    scenario(Store::mysql().await).await;
}
