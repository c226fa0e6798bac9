//! [`History`] for [`RedisDriver`]: per-minute processed / failed / retried counts.
//!
//! Layout (see the `keys` module): one hash per queue per unix hour,
//! `routemq:queue:{q}:history:{hour}` (`hour` = unix minute / 60, in the queue's
//! hash tag in cluster mode), field `{minute of the hour}` (`"0"`–`"59"`) →
//! `"processed|failed|retried"`. One packed field per minute keeps an hour at 60
//! fields at most, inside Redis's compact small-hash encoding (three counter
//! fields per minute, 180, would not be). Each hash expires
//! [`HISTORY_KEPT_FOR`] after its hour ends, so old minutes leave by themselves.
//!
//! Clocks: retention is decided by the server's clock (`TIME`), as the other
//! drivers use their backend's: `record_history.lua` skips deltas for minutes
//! older than the retention and sets the expiry from it, and `history` reads
//! `TIME` in the same pipeline as the hours and leaves out minutes older than the
//! retention. The client's clock only bounds which hours a read asks for (with
//! [`CLOCK_SLACK_MINUTES`] of slack both ways), so a range of any length reads at
//! most the retained hours and a day beyond each end.
//!
//! Costs: `record_history` is one round trip: one `record_history.lua` call per
//! queue per [`BATCH`] distinct minutes, pipelined (one queue's keys share a slot;
//! different queues' may not, so there is no multi-queue script); deltas for the
//! same queue and minute are summed before sending. `history` is one pipeline:
//! `TIME` and one `HGETALL` per hour overlapping the range.
//!
//! `clear` leaves a queue's history alone: it records what happened, not jobs.

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;
use routemq_core::{
    merge_deltas, unix_minute, DriverError, History, HistoryCounts, HistoryDelta, MinuteCounts,
    QueueName, UnixMinute, HISTORY_KEPT_FOR,
};

use crate::error::{bad_record, bad_reply};
use crate::lifecycle::ms;
use crate::slot_pipeline::SlotPipeline;
use crate::RedisDriver;

/// Distinct minutes per `record_history.lua` call.
const BATCH: usize = 1_000;

/// How far the client's clock may be from the server's, in minutes, for a read
/// to still ask for every hour the server may hold for the range.
const CLOCK_SLACK_MINUTES: i64 = 24 * 60;

/// Minutes per hour.
const HOUR: i64 = 60;

/// How many minutes are kept.
fn kept_minutes() -> i64 {
    i64::try_from(HISTORY_KEPT_FOR.as_secs() / 60).unwrap_or(i64::MAX)
}

/// Parses a minute's value `"processed|failed|retried"`.
fn parse_counts(value: &str) -> Option<HistoryCounts> {
    let mut parts = value.split('|').map(|p| p.parse::<u64>().ok());
    let counts = HistoryCounts {
        processed: parts.next()??,
        failed: parts.next()??,
        retried: parts.next()??,
    };
    parts.next().is_none().then_some(counts)
}

/// The server's `TIME` reply as unix ms.
fn server_ms(time: &[String]) -> Result<i64, DriverError> {
    let bad = || bad_reply("TIME", format_args!("{time:?}"));
    let secs: i64 = time.first().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let micros: i64 = time.get(1).and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    Ok(secs * 1000 + micros / 1000)
}

#[async_trait]
impl History for RedisDriver {
    async fn record_history(&self, deltas: &[HistoryDelta]) -> Result<(), DriverError> {
        let merged = merge_deltas(deltas);
        if merged.is_empty() {
            return Ok(());
        }
        let script = &self.inner.pool.scripts().record_history;
        let kept = ms(HISTORY_KEPT_FOR);
        let mut pipe = SlotPipeline::new();
        for minutes in merged.chunk_by(|a, b| a.queue == b.queue) {
            let k = self.inner.keys.queue(&minutes[0].queue);
            for chunk in minutes.chunks(BATCH) {
                // Minutes are sorted, so each hour's deltas are consecutive: the
                // key index is the number of hours seen so far.
                let mut hours: Vec<i64> = chunk.iter().map(|d| d.minute.div_euclid(HOUR)).collect();
                let index: Vec<usize> = hours
                    .iter()
                    .scan((None, 0usize), |(last, n), h| {
                        if *last != Some(*h) {
                            *last = Some(*h);
                            *n += 1;
                        }
                        Some(*n)
                    })
                    .collect();
                hours.dedup();
                let keys: Vec<String> = hours.iter().map(|h| k.history_hour(*h)).collect();
                let mut cmd = script.cmd(&keys, kept);
                for (d, i) in chunk.iter().zip(index) {
                    let c = &d.counts;
                    cmd.arg(i)
                        .arg(d.minute)
                        .arg(c.processed)
                        .arg(c.failed)
                        .arg(c.retried);
                }
                pipe.add_command(cmd).ignore();
            }
        }
        self.inner.pool.pipe::<()>(&pipe).await
    }

    async fn history(
        &self,
        queue: &QueueName,
        from: UnixMinute,
        to: UnixMinute,
    ) -> Result<Vec<MinuteCounts>, DriverError> {
        let now = unix_minute(SystemTime::now());
        let lo = from.max(now - kept_minutes() - CLOCK_SLACK_MINUTES);
        let hi = to.min(now + CLOCK_SLACK_MINUTES);
        if lo > hi {
            return Ok(Vec::new());
        }
        let k = self.inner.keys.queue(queue);
        let hours: Vec<i64> = (lo.div_euclid(HOUR)..=hi.div_euclid(HOUR)).collect();
        let mut pipe = SlotPipeline::new();
        pipe.cmd("TIME");
        for hour in &hours {
            pipe.cmd("HGETALL").arg(k.history_hour(*hour));
        }
        let replies: Vec<redis::Value> = self.inner.pool.pipe(&pipe).await?;
        if replies.len() != hours.len() + 1 {
            return Err(bad_reply(
                "history pipeline",
                format_args!("{} replies for {} commands", replies.len(), hours.len() + 1),
            ));
        }
        let mut rows = replies.into_iter();
        let time: Vec<String> = rows
            .next()
            .map(redis::from_redis_value)
            .transpose()
            .map_err(|e| bad_reply("TIME", e))?
            .unwrap_or_default();
        let oldest = server_ms(&time)?.div_euclid(60_000) - kept_minutes();
        let lo = lo.max(oldest);
        let mut out = Vec::new();
        for (hour, row) in hours.iter().zip(rows) {
            let fields: BTreeMap<i64, String> = {
                let raw: Vec<(String, String)> =
                    redis::from_redis_value(row).map_err(|e| bad_reply("HGETALL", e))?;
                let mut fields = BTreeMap::new();
                for (field, value) in raw {
                    let key = k.history_hour(*hour);
                    let offset: i64 = field
                        .parse()
                        .ok()
                        .filter(|m| (0..HOUR).contains(m))
                        .ok_or_else(|| bad_record(&key, "history field", &field))?;
                    fields.insert(offset, value);
                }
                fields
            };
            for (offset, value) in fields {
                let minute = hour * HOUR + offset;
                if minute < lo || minute > hi {
                    continue;
                }
                let counts = parse_counts(&value).ok_or_else(|| {
                    bad_record(
                        &format!("{} field {offset}", k.history_hour(*hour)),
                        "history counts",
                        &value,
                    )
                })?;
                if !counts.is_empty() {
                    out.push(MinuteCounts { minute, counts });
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse_only_in_the_stored_shape() {
        let c = parse_counts("3|0|12").unwrap();
        assert_eq!((c.processed, c.failed, c.retried), (3, 0, 12));
        for bad in ["", "1|2", "1|2|3|4", "1|x|3", "-1|0|0"] {
            assert_eq!(parse_counts(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn server_time_is_read_as_ms() {
        let t = ["1700000000".to_owned(), "123456".to_owned()];
        assert_eq!(server_ms(&t).unwrap(), 1_700_000_000_123);
        assert!(server_ms(&["x".to_owned()]).is_err());
    }
}
