//! A job's body field in the jobs hash: the payload with the metadata it was
//! stored with in front, `"\0" + len(meta) + "|" + meta + payload`, so a queued
//! job costs one hash field, not two. `lib.lua`'s `body_with_meta` and
//! `split_body` hold the same framing (the scripts' writes and reads);
//! `tests/job_buckets.rs` checks that every push path frames a body the same
//! way. A `"{id}:meta"` field, once a
//! claim, a release or a reclaim writes it, outranks the prefix.

use std::io::Write;

/// The stored body of a job, `meta` in front of `payload`, as one command
/// argument: written straight into the command's buffer, so a push copies the
/// payload once.
pub(crate) struct BodyWithMeta<'a> {
    /// The job's metadata (`"attempts|max_tries|ready_at_ms"` and its tail).
    pub(crate) meta: &'a str,
    /// The encoded envelope, byte for byte.
    pub(crate) payload: &'a [u8],
}

impl redis::ToRedisArgs for BodyWithMeta<'_> {
    fn write_redis_args<W: ?Sized + redis::RedisWrite>(&self, out: &mut W) {
        let mut arg = out.writer_for_next_arg();
        let mut len = itoa::Buffer::new();
        [
            &b"\0"[..],
            len.format(self.meta.len()).as_bytes(),
            b"|",
            self.meta.as_bytes(),
            self.payload,
        ]
        .into_iter()
        .try_for_each(|part| arg.write_all(part))
        .expect("a command's buffer is memory; writing to it cannot fail");
    }
}

/// A job's body field as stored in the jobs hash, split into its payload and
/// the metadata the job was stored with (`"attempts|max_tries|ready_at_ms"` and
/// a tail; see [`job_hash`](crate::job_hash) for the layout). The body is
/// `"\0"`, the metadata's length in decimal, `"|"`, the metadata, then the
/// payload; a body without that framing (a job stored by a release before it,
/// whose metadata is only in `"{id}:meta"`) is all payload, with `None`. A
/// `"{id}:meta"` field, once written (by a claim, a release, a reclaim),
/// outranks the metadata in front of the body.
pub fn split_body(body: &[u8]) -> (&[u8], Option<&[u8]>) {
    let Some(rest) = body.strip_prefix(&[0]) else {
        return (body, None);
    };
    let Some(bar) = rest.iter().position(|b| *b == b'|') else {
        return (body, None);
    };
    let digits = &rest[..bar];
    let len = (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
        .then(|| std::str::from_utf8(digits).ok()?.parse::<usize>().ok())
        .flatten();
    match len {
        Some(len) if len < rest.len() - bar => {
            let (meta, payload) = rest[bar + 1..].split_at(len);
            (payload, Some(meta))
        }
        _ => (body, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use redis::ToRedisArgs;

    #[test]
    fn a_body_gives_back_its_payload_and_metadata() {
        for payload in [&b"{\"id\":1}"[..], b"", b"\0|7|x\n", b"\x82\xa2id"] {
            let meta = "0|3|1700000000000|s|k|ey";
            let mut args = BodyWithMeta { meta, payload }.to_redis_args();
            assert_eq!(args.len(), 1, "one argument");
            let body = args.remove(0);
            assert_eq!(
                split_body(&body),
                (payload, Some(&b"0|3|1700000000000|s|k|ey"[..]))
            );
        }
    }

    #[test]
    fn a_body_without_the_framing_is_a_payload() {
        for body in [
            &b"{\"id\":1}"[..],
            b"",
            b"\0",
            b"\0x|",
            b"\0|x",
            b"\0+1|x",
            b"\09|short",
            b"|x",
        ] {
            assert_eq!(split_body(body), (body, None), "{body:?}");
        }
    }
}
