//! The floor under an idle worker's latency on this machine: one thread
//! blocked in `BLPOP` on a connection of its own, another pushing a timestamp
//! with `RPUSH` every 5 ms, the wait from just before the push to the
//! `BLPOP`'s reply. It is the push's trip to Redis and the wake-up's trip back,
//! with no queue, job or runtime in between: what `compare-sidekiq` prints
//! beside RouteMQ's and Sidekiq's latency, so a round reads against the round
//! trip of its own minutes (an idle virtual machine's cores wake slowly, and
//! that, not either queue, sets most of the figure).

use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use redis::Commands;

use crate::sidekiq::Waits;

/// Microseconds since the Unix epoch.
fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// p50 and p99, in milliseconds, of `jobs` pushes sent `every` apart to a
/// `BLPOP` waiting on `url`. Uses one key of its own, deleted after.
pub(crate) fn latency_floor(url: &str, jobs: usize, every: Duration) -> Result<Waits> {
    let client = redis::Client::open(url).with_context(|| format!("Redis URL {url:?}"))?;
    let key = format!("routemq:compare:floor:{}", std::process::id());
    let mut pusher = client
        .get_connection()
        .with_context(|| format!("connecting to {url}"))?;
    let mut popper = client
        .get_connection()
        .with_context(|| format!("connecting to {url}"))?;
    let _: () = pusher.del(&key)?;
    let waiter = {
        let key = key.clone();
        thread::spawn(move || -> Result<Vec<u64>> {
            let mut waits = Vec::with_capacity(jobs);
            for _ in 0..jobs {
                let popped: Option<(String, u64)> = popper.blpop(&key, 5.0)?;
                let Some((_, sent_us)) = popped else {
                    bail!("no push reached the BLPOP within 5 s");
                };
                waits.push(now_us().saturating_sub(sent_us));
            }
            Ok(waits)
        })
    };
    thread::sleep(Duration::from_millis(200));
    for _ in 0..jobs {
        thread::sleep(every);
        let _: i64 = pusher.rpush(&key, now_us())?;
    }
    let mut waits = waiter
        .join()
        .map_err(|_| anyhow::anyhow!("the BLPOP thread panicked"))??;
    let _: () = pusher.del(&key)?;
    waits.sort_unstable();
    let at = |pct: usize| waits[(waits.len() * pct / 100).min(waits.len() - 1)] as f64 / 1000.0;
    Ok((at(50), at(99)))
}
