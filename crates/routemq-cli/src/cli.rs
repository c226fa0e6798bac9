//! The command line's grammar (clap).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::duration::parse_duration;

/// RouteMQ: background jobs on Redis or MySQL.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "RouteMQ: run workers, push and inspect background jobs on Redis or MySQL",
    after_help = "Configuration: flags > environment > .env, with QUEUE_CONNECTION (redis | database | memory), \
REDIS_URL or REDIS_HOST/REDIS_PORT/REDIS_DB/REDIS_PASSWORD or REDIS_CLUSTER_NODES, DATABASE_URL or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASS, \
ENABLE_REDIS, ENABLE_MYSQL.\n\nFirst run: `routemq demo` (no server needed)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every verb takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Driver to use: redis, database or memory (overrides QUEUE_CONNECTION).
    #[arg(long, short = 'c', global = true, value_name = "C")]
    pub connection: Option<String>,
    /// Read this file instead of ./.env (variables already set still win).
    #[arg(long, global = true, env = "ROUTEMQ_ENV_FILE", value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// Print JSON instead of tables and text.
    #[arg(long, global = true)]
    pub json: bool,
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a worker until SIGTERM/SIGINT or a limit.
    #[command(
        after_help = "Example:\n  routemq work --queue high,default --concurrency 16 --max-time 1h --metrics-addr 127.0.0.1:9187"
    )]
    Work(WorkArgs),
    /// Enqueue one job from the command line; prints its id (and `duplicate` when
    /// a unique key was held).
    #[command(
        after_help = "Example:\n  routemq push --queue default --job routemq.sleep --data '{\"ms\": 250}' --delay 10s\n  \
routemq push --job reports.build --data '{\"user\": 42}' --unique-key report:42 --unique-for 10m\n  \
routemq push --job search.index --data '{\"doc\": 7}' --unique-key index:7 --debounce 5s\n  \
routemq push --job invoices.render --data '{\"invoice\": 9}' --group tenant-42\n\n\
With --unique-key, a push while another job of the queue holds the key stores nothing and prints \
the holder's id followed by `duplicate` (exit code 0); with --debounce, a holder that has not \
started takes this push's data and is due DURATION from now (`duplicate debounced`)."
    )]
    Push(PushArgs),
    /// Per-queue counts: ready, delayed, reserved, failed, oldest ready age, paused,
    /// rate limit.
    #[command(after_help = "Example:\n  routemq stats\n  routemq stats --queue emails --json")]
    Stats(StatsArgs),
    /// Inspect and act on the failed-job store.
    #[command(subcommand)]
    Failed(FailedCommand),
    /// One job: where it is (delayed, ready, running with its worker and
    /// progress, succeeded, failed, cancelled), attempts, last error, kept result.
    #[command(subcommand)]
    Job(JobCommand),
    /// Batches of jobs: their counters and state, or cancel one.
    #[command(subcommand)]
    Batch(BatchCommand),
    /// Cancel a job: a waiting one is removed, a running one is stopped by its
    /// worker within a second; it is not retried and not counted as failed.
    #[command(after_help = "Example:
  routemq cancel 0192f0c4-…
  routemq cancel 0192f0c4-… --queue reports --json

A running job's handler sees ctx.cancelled() and has the worker's --cancel-grace to return before its future is dropped. Cancelling a finished job changes nothing (exit code 0); an unknown id exits 1.")]
    Cancel(JobArgs),
    /// Delete every ready, delayed and reserved job of a queue (not its failed jobs).
    #[command(after_help = "Example:\n  routemq clear --queue default --force")]
    Clear(ClearArgs),
    /// Stop workers from starting jobs of a queue (running jobs finish; dispatch
    /// still stores jobs) until `routemq resume`.
    #[command(
        after_help = "Example:\n  routemq pause emails\n  routemq pause emails --json\n\nWorkers stop starting jobs of the queue within about a second; running jobs finish, \
dispatch and delayed jobs keep adding to it. Pausing a paused queue changes nothing."
    )]
    Pause(PauseArgs),
    /// Let workers take jobs of a paused queue again (waiting workers wake at once).
    #[command(after_help = "Example:\n  routemq resume emails\n  routemq resume emails --json")]
    Resume(PauseArgs),
    /// Recurring jobs: add, list, remove, or run a schedule now. Every `routemq
    /// work` fires them (each tick once, however many workers run).
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Rate limits per queue: at most N jobs started per period, across all workers.
    #[command(subcommand)]
    Limit(LimitCommand),
    /// The transactional outbox of Redis queues (ROUTEMQ_OUTBOX=true): its
    /// backlog and relay lag, or a relay on its own.
    #[cfg(feature = "outbox")]
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Create or update the MySQL tables (idempotent); nothing to do for Redis.
    #[command(after_help = "Example:\n  QUEUE_CONNECTION=database routemq migrate")]
    Migrate,
    /// Live workers from their heartbeats.
    #[command(after_help = "Example:\n  routemq workers --json")]
    Workers,
    /// Serve the web dashboard (queues, jobs, failed jobs, workers, schedules,
    /// rate limits, batches) until SIGTERM/SIGINT.
    #[command(after_help = "Example:
  routemq dashboard
  ROUTEMQ_DASHBOARD_TOKEN=$(openssl rand -hex 32) routemq dashboard --addr 0.0.0.0:8080
  routemq dashboard --basic-auth ops:s3cret --read-only

Without credentials it serves a loopback address only. With a token, a browser logs in once \
with it (a session cookie); scripts send `Authorization: Bearer TOKEN`. Prefer the environment \
variables to the flags: a flag's value shows in the process list. Serve it over TLS (a reverse \
proxy) when it leaves the machine.")]
    Dashboard(DashboardArgs),
    /// Throughput and latency benchmark on the configured driver.
    #[command(
        after_help = "Example:\n  routemq bench --connection redis --jobs 20000 --concurrency 32 --json\n  routemq bench --connection redis --queued 1000000 --jobs 50000"
    )]
    Bench(BenchArgs),
    /// Enqueue a few hundred example jobs and run a worker on them (memory driver
    /// when no server is configured).
    #[command(
        after_help = "Example:\n  routemq demo\n  QUEUE_CONNECTION=redis REDIS_URL=redis://127.0.0.1:6379 routemq demo --jobs 500"
    )]
    Demo(DemoArgs),
    /// Show the resolved configuration (passwords shown as ***).
    #[command(after_help = "Example:\n  routemq config --json")]
    Config,
}

/// `routemq work`.
#[derive(Debug, Args)]
pub struct WorkArgs {
    /// Queues to drain, in priority order (all of the first before the next).
    #[arg(
        long,
        short,
        value_delimiter = ',',
        default_value = "default",
        value_name = "Q[,Q…]"
    )]
    pub queue: Vec<String>,
    /// Jobs run at once.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub concurrency: usize,
    /// Jobs claimed ahead of free slots, started in claim order as slots free
    /// (leases kept meanwhile; given back unstarted at shutdown). Helps where
    /// a claim is slow, such as MySQL flushing its binary log at every commit.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub prefetch: usize,
    /// Longest idle wait between checks for jobs (seconds or 500ms, 2m…).
    #[arg(long, value_parser = duration, default_value = "3", value_name = "S")]
    pub sleep: Duration,
    /// Override every job's timeout.
    #[arg(long, value_parser = duration, value_name = "S")]
    pub timeout: Option<Duration>,
    /// Override every job's allowed attempts.
    #[arg(long, value_name = "N")]
    pub tries: Option<u32>,
    /// Stop after this many jobs.
    #[arg(long, value_name = "N")]
    pub max_jobs: Option<u64>,
    /// Stop after running this long.
    #[arg(long, value_parser = duration, value_name = "S")]
    pub max_time: Option<Duration>,
    /// Run one job, then stop.
    #[arg(long)]
    pub once: bool,
    /// Stop when the queues are empty.
    #[arg(long)]
    pub stop_when_empty: bool,
    /// Lease length; leases are extended while a job runs.
    #[arg(long, value_parser = duration, default_value = "30", value_name = "S")]
    pub lease: Duration,
    /// On SIGTERM/SIGINT, how long running jobs may take to finish.
    #[arg(long, value_parser = duration, default_value = "30", value_name = "S")]
    pub shutdown_grace: Duration,
    /// When a running job is cancelled (`routemq cancel`), how long its handler
    /// may take to return by itself before it is dropped (0 = at once).
    #[arg(long, value_parser = duration, default_value = "5", value_name = "S")]
    pub cancel_grace: Duration,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Take no part in firing schedules (`routemq schedule`); other workers do.
    #[arg(long)]
    pub no_schedules: bool,
    /// How often the worker writes its per-minute processed / failed / retried
    /// counts (the dashboard's charts) to the backend; once more at shutdown.
    #[arg(long, value_parser = duration, default_value = "5", value_name = "S")]
    pub history_flush: Duration,
    /// Write no throughput history (the dashboard's charts then miss this
    /// worker's jobs).
    #[arg(long)]
    pub no_history: bool,
}

/// `routemq push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Target queue.
    #[arg(long, short, default_value = "default", value_name = "Q")]
    pub queue: String,
    /// Job type name, e.g. routemq.noop or emails.send.
    #[arg(long, short, value_name = "NAME")]
    pub job: String,
    /// The job's fields as JSON.
    #[arg(long, short, default_value = "{}", value_name = "JSON")]
    pub data: String,
    /// Claimable only after this delay.
    #[arg(long, value_parser = duration, value_name = "S")]
    pub delay: Option<Duration>,
    /// Attempts allowed (default 3).
    #[arg(long, value_name = "N")]
    pub tries: Option<u32>,
    /// Run time allowed per attempt (default 60s).
    #[arg(long, value_parser = duration, value_name = "S")]
    pub timeout: Option<Duration>,
    /// Encrypt the job's data with ROUTEMQ_ENCRYPTION_KEY (always on with
    /// ROUTEMQ_ENCRYPT_ALL=true); the worker needs the key to run it.
    #[arg(long)]
    pub encrypt: bool,
    /// Make the job unique on its queue under this key (1-255 bytes): while a
    /// job holds it, a push with it stores nothing and prints the holder's id.
    #[arg(long, value_name = "K")]
    pub unique_key: Option<String>,
    /// The key is free after DURATION at the latest (or when the job finishes).
    #[arg(
        long,
        value_parser = duration,
        value_name = "DURATION",
        requires = "unique_key",
        conflicts_with = "unique_until"
    )]
    pub unique_for: Option<Duration>,
    /// When the key is free again: once a worker starts the job, or once it has
    /// finished or failed for good (default: finished; started with --debounce).
    #[arg(long, value_enum, value_name = "WHEN", requires = "unique_key")]
    pub unique_until: Option<UniqueUntil>,
    /// Debounce: the job is due DURATION after the last push of its key; a push
    /// that finds the key held by a job not started yet gives it this data.
    #[arg(long, value_parser = duration, value_name = "DURATION", requires = "unique_key")]
    pub debounce: Option<Duration>,
    /// Put the job in group G (a tenant, a customer; 1-128 bytes): claims take
    /// the queue's groups in turn, so one group's backlog does not delay another's.
    #[arg(long, value_name = "G")]
    pub group: Option<String>,
}

/// `routemq push --unique-until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UniqueUntil {
    /// Free once a worker claims the job.
    Started,
    /// Free once the job is acknowledged or has failed for good.
    Finished,
}

/// `routemq stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only these queues (default: every known queue).
    #[arg(long, short, value_delimiter = ',', value_name = "Q[,Q…]")]
    pub queue: Vec<String>,
}

/// `routemq failed …`.
#[derive(Debug, Subcommand)]
pub enum FailedCommand {
    /// Failed jobs, newest first.
    #[command(after_help = "Example:\n  routemq failed list --queue emails --limit 20")]
    List {
        /// Only this queue.
        #[arg(long, short, value_name = "Q")]
        queue: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: usize,
        /// Skip this many (newest first).
        #[arg(long, default_value_t = 0, value_name = "N")]
        offset: usize,
    },
    /// One failed job in full: payload and error.
    #[command(after_help = "Example:\n  routemq failed show 0192f0c4-…")]
    Show {
        /// The job id.
        id: String,
    },
    /// Put failed jobs back on their queue with attempts reset.
    #[command(
        after_help = "Example:\n  routemq failed retry 0192f0c4-… 0192f0c5-…\n  routemq failed retry --all --queue emails"
    )]
    Retry {
        /// Job ids.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// Every failed job (of --queue, if given).
        #[arg(long)]
        all: bool,
        /// With --all: only this queue.
        #[arg(long, short, requires = "all", value_name = "Q")]
        queue: Option<String>,
    },
    /// Delete one failed job.
    #[command(after_help = "Example:\n  routemq failed forget 0192f0c4-…")]
    Forget {
        /// The job id.
        id: String,
    },
    /// Delete every failed job (of --queue, if given).
    #[command(after_help = "Example:\n  routemq failed flush --queue emails")]
    Flush {
        /// Only this queue.
        #[arg(long, short, value_name = "Q")]
        queue: Option<String>,
    },
    /// Delete failed jobs older than a duration.
    #[command(after_help = "Example:\n  routemq failed prune --older-than 30d")]
    Prune {
        /// Age, e.g. 30d, 12h.
        #[arg(long, value_parser = duration, value_name = "AGE")]
        older_than: Duration,
    },
}

/// `routemq clear`.
#[derive(Debug, Args)]
pub struct ClearArgs {
    /// The queue to empty.
    #[arg(long, short, value_name = "Q")]
    pub queue: String,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub force: bool,
}

/// `routemq schedule …`.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Create or replace a schedule (same spec: its next run is kept).
    #[command(
        after_help = "Example:\n  routemq schedule add nightly-report --cron '0 30 2 * * *' --tz Europe/Paris --job reports.nightly --data '{\"format\": \"pdf\"}'\n  routemq schedule add heartbeat --every 30s --job routemq.noop --queue low --missed catch-up:1 --json\n\n\
Cron: 5 fields (minute first), 6 (seconds first) or 7 (year last); @hourly, @daily… \
Interval ticks are counted from the Unix epoch (every 30s fires at :00 and :30). \
A tick more than 5 s late when a worker first sees it is missed: skip (default) enqueues nothing for it, \
catch-up:N enqueues the oldest N missed ticks."
    )]
    Add(ScheduleAddArgs),
    /// Every schedule with its next run, last run and last job id.
    #[command(after_help = "Example:\n  routemq schedule list\n  routemq schedule list --json")]
    List,
    /// Delete a schedule (jobs it enqueued stay).
    #[command(after_help = "Example:\n  routemq schedule remove nightly-report --json")]
    Remove {
        /// The schedule's name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Enqueue the schedule's job now; its next run does not move.
    #[command(after_help = "Example:\n  routemq schedule run nightly-report --json")]
    Run {
        /// The schedule's name.
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// `routemq schedule add`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("when").required(true).args(["cron", "every"])))]
pub struct ScheduleAddArgs {
    /// The schedule's name: 1-100 of A-Z a-z 0-9 _ - .
    #[arg(value_name = "NAME")]
    pub name: String,
    /// A cron expression, e.g. '*/10 * * * * *' (every 10 seconds).
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// The IANA time zone the cron expression is read in.
    #[arg(long, default_value = "UTC", value_name = "ZONE", requires = "cron")]
    pub tz: String,
    /// A fixed interval instead of --cron, e.g. 30s, 5m (at least 1s).
    #[arg(long, value_parser = duration, value_name = "D")]
    pub every: Option<Duration>,
    /// Job type name, e.g. routemq.noop or reports.nightly.
    #[arg(long, short, value_name = "NAME")]
    pub job: String,
    /// The job's fields as JSON.
    #[arg(long, short, default_value = "{}", value_name = "JSON")]
    pub data: String,
    /// Target queue.
    #[arg(long, short, default_value = "default", value_name = "Q")]
    pub queue: String,
    /// Missed ticks: skip, or catch-up:N.
    #[arg(long, default_value = "skip", value_name = "POLICY")]
    pub missed: String,
    /// Attempts allowed per job (default 3).
    #[arg(long, value_name = "N")]
    pub tries: Option<u32>,
    /// Run time allowed per attempt (default 60s).
    #[arg(long, value_parser = duration, value_name = "S")]
    pub timeout: Option<Duration>,
}

/// `routemq job …`.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Where one job is and what it last reported.
    #[command(after_help = "Example:
  routemq job show 0192f0c4-…
  routemq job show 0192f0c4-… --queue reports --json

Succeeded jobs are known only when their type keeps its result (JobOptions::keep_result), for that long; cancelled jobs for 24 hours; failed jobs while they are in the failed store.")]
    Show(JobArgs),
}

/// `routemq batch …`.
#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// One batch: total, pending, succeeded, failed and cancelled jobs, state.
    #[command(
        after_help = "Example:\n  routemq batch show 0192f0c4-…\n  routemq batch show 0192f0c4-… --json"
    )]
    Show {
        /// The batch id.
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Every batch still kept (finished ones for 7 days), newest first.
    #[command(after_help = "Example:\n  routemq batch list --json")]
    List,
    /// Cancel a batch: its jobs not yet started are not run (running ones
    /// finish); its `finally` job still runs once nothing is pending.
    #[command(after_help = "Example:\n  routemq batch cancel 0192f0c4-…")]
    Cancel {
        /// The batch id.
        #[arg(value_name = "ID")]
        id: String,
    },
}

/// A job named by id, optionally on one queue.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// The job id.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Look only on this queue (default: every known queue).
    #[arg(long, short, value_name = "Q")]
    pub queue: Option<String>,
}

/// `routemq pause` and `routemq resume`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The queue.
    #[arg(value_name = "QUEUE")]
    pub queue: String,
}

/// `routemq limit …`.
#[derive(Debug, Subcommand)]
pub enum LimitCommand {
    /// Set (or replace) a queue's rate limit (workers start at most N of its jobs
    /// in any window of the period, all workers together; with --per-group, N
    /// per group), or cap how many jobs of one group run at once.
    #[command(
        group(clap::ArgGroup::new("what").required(true).multiple(true).args(["jobs", "group_concurrency"])),
        after_help = "Example:\n  routemq limit set --queue emails --jobs 20 --per 1s\n  routemq limit set --queue reports --jobs 100 --per 1h --json\n  \
routemq limit set --queue webhooks --jobs 5 --per 1s --per-group\n  routemq limit set --queue exports --group-concurrency 2\n\n\
Jobs over the limit wait in the queue (not failed, not retried); idle workers sleep until the window opens. \
With --per-group every group (`routemq push --group G`) has a window of its own and the queue's ungrouped jobs share one more; \
--group-concurrency N lets at most N jobs of one group run at once across all workers (ungrouped jobs are not capped). \
Periods are humantime (500ms, 1s, 2m, 1h, 1d) or seconds, with millisecond precision."
    )]
    Set {
        /// The queue.
        #[arg(long, short, value_name = "Q")]
        queue: String,
        /// Jobs started per period, 1 or more.
        #[arg(long, value_name = "N", requires = "per")]
        jobs: Option<u32>,
        /// The period, e.g. 1s, 500ms, 1m.
        #[arg(long, value_parser = duration, value_name = "DURATION", requires = "jobs")]
        per: Option<Duration>,
        /// Keep the limit for each group of the queue (and its ungrouped jobs) apart.
        #[arg(long, requires = "jobs")]
        per_group: bool,
        /// At most N jobs of one group running at once, all workers together.
        #[arg(long, value_name = "N")]
        group_concurrency: Option<u32>,
    },
    /// Every queue's rate limit and group concurrency cap.
    #[command(after_help = "Example:\n  routemq limit list\n  routemq limit list --json")]
    List,
    /// Remove a queue's rate limit and group concurrency cap (and any hold of
    /// the queue or its groups from a rate-limited job).
    #[command(after_help = "Example:\n  routemq limit clear --queue emails")]
    Clear {
        /// The queue.
        #[arg(long, short, value_name = "Q")]
        queue: String,
    },
}

/// `routemq outbox …`.
#[cfg(feature = "outbox")]
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Jobs staged and not yet relayed, and the relay lag (the oldest one's age).
    #[command(
        after_help = "Example:\n  QUEUE_CONNECTION=redis ROUTEMQ_OUTBOX=true DATABASE_URL=mysql://app@db/shop routemq outbox status --json"
    )]
    Status,
    /// Relay the outbox to the Redis queues until SIGTERM/SIGINT (`routemq work`
    /// already does this while ROUTEMQ_OUTBOX=true).
    #[command(
        after_help = "Example:\n  routemq outbox relay\n  routemq outbox relay --until-empty --json\n\n\
One relay works at a time per database (the others wait for its lock); each job reaches its queue once, in the order it was staged."
    )]
    Relay {
        /// Stop once the outbox is empty instead of waiting for more.
        #[arg(long)]
        until_empty: bool,
    },
}

/// `routemq dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Address to listen on (a port of 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub addr: SocketAddr,
    /// Require this token: browsers log in with it, scripts send `Authorization:
    /// Bearer TOKEN` (default: ROUTEMQ_DASHBOARD_TOKEN).
    #[arg(long, value_name = "TOKEN", conflicts_with = "basic_auth")]
    pub auth_token: Option<String>,
    /// Require HTTP Basic authentication with these credentials (default:
    /// ROUTEMQ_DASHBOARD_BASIC_AUTH).
    #[arg(long, value_name = "USER:PASSWORD")]
    pub basic_auth: Option<String>,
    /// Show everything, change nothing: no pause, resume, retry, forget or cancel.
    #[arg(long)]
    pub read_only: bool,
}

/// `routemq bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Jobs in the enqueue and drain phases.
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    pub jobs: usize,
    /// Worker concurrency.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub concurrency: usize,
    /// Jobs each worker claims ahead of its free slots (`routemq work
    /// --prefetch`).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub prefetch: usize,
    /// Jobs in the latency phase (sent 5 ms apart to an idle worker).
    #[arg(long, default_value_t = 1_000, value_name = "N")]
    pub latency_jobs: usize,
    /// No-op filler jobs pushed to the bench queue first and kept waiting
    /// through the enqueue and drain phases (0: none), to see whether their
    /// cost stays flat as the queue grows; adds the fill rate, this process's
    /// memory and the store's bytes per queued job to the report.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub queued: usize,
    /// With --queued: a pause between the fill and the measured phases (for
    /// example 30s), so that what the fill left the store doing settles
    /// first; the report gives it as settle_seconds.
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = duration)]
    pub settle: Duration,
}

/// `routemq demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many example jobs to enqueue.
    #[arg(long, default_value_t = 300, value_name = "N")]
    pub jobs: usize,
    /// Worker concurrency.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
    /// Queue used by the demo (cleared first).
    #[arg(long, default_value = "routemq-demo", value_name = "Q")]
    pub queue: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}
