//! Reading a [`Backoff`] in one pass.
//!
//! The derived form of an internally tagged enum (`#[serde(tag = "kind")]`)
//! first copies the whole map into serde's private content tree, then finds
//! the tag in it and reads the variant from the copy: about 2,500 of the 9,500
//! instructions a worker spent decoding a job's JSON envelope under callgrind
//! (ARCHITECTURE.md, "A backoff is read in one pass"). This visitor reads the
//! fields as they come, whatever the tag's position, and builds the variant at
//! the end.
//!
//! It reads exactly what the derived `Serialize` writes, in every format:
//! a map (JSON, MessagePack with named fields), or a sequence of the tag then
//! the variant's fields in declaration order (MessagePack with unnamed
//! fields, as the derived form also read). The errors are serde's own kinds:
//! an unknown `kind`, a missing or repeated field, a wrong type, a sequence of
//! the wrong length. Unknown keys are ignored, as before, and so are another
//! kind's fields after the tag. One difference: another kind's field written
//! *before* the tag is read with its type, so a wrong type there is an error
//! where the derived form ignored it (nothing this crate writes has one).

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::Backoff;

/// The tag's value: `Backoff`'s variant names, read as serde reads a
/// variant identifier (a name, or the variant's index, as the derived form
/// also took).
#[derive(Clone, Copy, Deserialize)]
#[serde(variant_identifier, rename_all = "snake_case")]
enum Kind {
    Fixed,
    Exponential,
    List,
}

/// A key of a backoff map; keys of no backoff are `Other`, skipped.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Kind,
    DelayMs,
    BaseMs,
    CapMs,
    Jitter,
    DelaysMs,
    #[serde(other)]
    Other,
}

/// Sets `slot` from the map's next value, or fails on a second `name`.
fn take<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// The next element of a sequence form, or an error naming how many there were.
fn element<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
    seq: &mut A,
    at: usize,
    expected: &'static str,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| de::Error::invalid_length(at, &expected))
}

struct BackoffVisitor;

impl<'de> Visitor<'de> for BackoffVisitor {
    type Value = Backoff;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a backoff: a map with a `kind` (fixed, exponential or list) and its fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Backoff, A::Error> {
        let mut kind: Option<Kind> = None;
        let (mut delay_ms, mut base_ms, mut cap_ms) = (None, None, None);
        let mut jitter: Option<f64> = None;
        let mut delays_ms: Option<Vec<u64>> = None;
        while let Some(key) = map.next_key::<Field>()? {
            // Once the kind is known, another kind's field is skipped unread,
            // as the derived form skipped it (the tag comes first in what
            // `Serialize` writes; a field before it is read with its type).
            let foreign = match (kind, &key) {
                (Some(Kind::Fixed), Field::DelayMs)
                | (Some(Kind::Exponential), Field::BaseMs | Field::CapMs | Field::Jitter)
                | (Some(Kind::List), Field::DelaysMs)
                | (None, _)
                | (_, Field::Kind) => false,
                (Some(_), _) => true,
            };
            if foreign {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            match key {
                Field::Kind => take(&mut map, &mut kind, "kind")?,
                Field::DelayMs => take(&mut map, &mut delay_ms, "delay_ms")?,
                Field::BaseMs => take(&mut map, &mut base_ms, "base_ms")?,
                Field::CapMs => take(&mut map, &mut cap_ms, "cap_ms")?,
                Field::Jitter => take(&mut map, &mut jitter, "jitter")?,
                Field::DelaysMs => take(&mut map, &mut delays_ms, "delays_ms")?,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = de::Error::missing_field;
        match kind.ok_or_else(|| missing("kind"))? {
            Kind::Fixed => Ok(Backoff::Fixed {
                delay_ms: delay_ms.ok_or_else(|| missing("delay_ms"))?,
            }),
            Kind::Exponential => Ok(Backoff::Exponential {
                base_ms: base_ms.ok_or_else(|| missing("base_ms"))?,
                cap_ms: cap_ms.ok_or_else(|| missing("cap_ms"))?,
                jitter: jitter.ok_or_else(|| missing("jitter"))?,
            }),
            Kind::List => Ok(Backoff::List {
                delays_ms: delays_ms.ok_or_else(|| missing("delays_ms"))?,
            }),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Backoff, A::Error> {
        let kind: Kind = element(&mut seq, 0, "a backoff kind then its fields")?;
        let (backoff, len, expected) = match kind {
            Kind::Fixed => (
                Backoff::Fixed {
                    delay_ms: element(&mut seq, 1, "fixed: kind, delay_ms")?,
                },
                2,
                "fixed: kind, delay_ms",
            ),
            Kind::Exponential => {
                const E: &str = "exponential: kind, base_ms, cap_ms, jitter";
                let base_ms = element(&mut seq, 1, E)?;
                let cap_ms = element(&mut seq, 2, E)?;
                let jitter = element(&mut seq, 3, E)?;
                (
                    Backoff::Exponential {
                        base_ms,
                        cap_ms,
                        jitter,
                    },
                    4,
                    E,
                )
            }
            Kind::List => (
                Backoff::List {
                    delays_ms: element(&mut seq, 1, "list: kind, delays_ms")?,
                },
                2,
                "list: kind, delays_ms",
            ),
        };
        let mut extra = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            extra += 1;
        }
        match extra {
            0 => Ok(backoff),
            n => Err(de::Error::invalid_length(len + n, &expected)),
        }
    }
}

impl<'de> Deserialize<'de> for Backoff {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BackoffVisitor)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Deserialize;

    use super::*;

    /// The derived form this module replaced: what it read is what `Backoff`
    /// must still read, and the errors must stay errors.
    // Its fields are read through `Debug` alone (`seen`).
    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Derived {
        Fixed {
            delay_ms: u64,
        },
        Exponential {
            base_ms: u64,
            cap_ms: u64,
            jitter: f64,
        },
        List {
            delays_ms: Vec<u64>,
        },
    }

    /// What a decode gave, comparable across the two types: their `Debug`
    /// forms match variant for variant (and a NaN jitter equals itself here).
    fn seen<T: fmt::Debug, E>(decoded: Result<T, E>) -> Option<String> {
        decoded.ok().map(|v| format!("{v:?}"))
    }

    proptest! {
        /// Every form `Serialize` writes (still the derive) is read as the
        /// derived form read it, or refused by both: serde_json writes a
        /// non-finite jitter as `null`, which neither reads as a number.
        #[test]
        fn reads_what_the_derived_form_wrote(b in crate::backoff::any_backoff()) {
            let json = serde_json::to_string(&b).unwrap();
            prop_assert_eq!(
                seen(serde_json::from_str::<Backoff>(&json)),
                seen(serde_json::from_str::<Derived>(&json))
            );
            #[cfg(feature = "msgpack")]
            for packed in [rmp_serde::to_vec_named(&b).unwrap(), rmp_serde::to_vec(&b).unwrap()] {
                let ours = seen(rmp_serde::from_slice::<Backoff>(&packed));
                prop_assert!(ours.is_some(), "{:?}: MessagePack not read", b);
                prop_assert_eq!(ours, seen(rmp_serde::from_slice::<Derived>(&packed)));
            }
        }
    }

    /// JSON texts the derived form read or refused; each must be read the
    /// same or refused here too.
    #[test]
    fn accepts_and_refuses_what_the_derived_form_did() {
        let cases = [
            r#"{"kind":"fixed","delay_ms":5}"#,
            r#"{"delay_ms":5,"kind":"fixed"}"#,
            r#"{"kind":"fixed","delay_ms":5,"note":[1,{"x":2}]}"#,
            r#"{"kind":"fixed","delay_ms":5,"jitter":"x","delays_ms":null}"#,
            r#"{"kind":"list","delays_ms":[3],"delay_ms":[]}"#,
            r#"{"base_ms":1,"jitter":0.5,"kind":"exponential","cap_ms":9}"#,
            r#"{"kind":"list","delays_ms":[]}"#,
            r#"["fixed",5]"#,
            r#"["exponential",1,9,0.5]"#,
            r#"["list",[1,2]]"#,
            r#"{"kind":"fixed"}"#,
            r#"{"delay_ms":5}"#,
            r#"{"kind":"linear","delay_ms":5}"#,
            r#"{"kind":"fixed","delay_ms":5,"delay_ms":6}"#,
            r#"{"kind":"fixed","kind":"list","delay_ms":5}"#,
            r#"{"kind":"fixed","delay_ms":"5"}"#,
            r#"{"kind":"fixed","delay_ms":-1}"#,
            r#"{"kind":"exponential","base_ms":1,"cap_ms":9}"#,
            r#"{"kind":5,"delay_ms":5}"#,
            r#"{"kind":0,"delay_ms":5}"#,
            r#"{"kind":"fixed","delay_ms":5,"kind":"fixed"}"#,
            r#"["fixed"]"#,
            r#"["fixed",5,6]"#,
            r#"["exponential",1,9]"#,
            r#"[]"#,
            r#""fixed""#,
            r#"5"#,
            r#"null"#,
        ];
        for text in cases {
            let ours = seen(serde_json::from_str::<Backoff>(text));
            assert_eq!(ours, seen(serde_json::from_str::<Derived>(text)), "{text}");
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let err = |text: &str| {
            serde_json::from_str::<Backoff>(text)
                .unwrap_err()
                .to_string()
        };
        assert!(err(r#"{"kind":"linear"}"#).contains("unknown variant `linear`"));
        assert!(err(r#"{"kind":"fixed"}"#).contains("missing field `delay_ms`"));
        assert!(err(r#"{"delay_ms":5}"#).contains("missing field `kind`"));
        assert!(err(r#"{"kind":"fixed","delay_ms":1,"delay_ms":2}"#)
            .contains("duplicate field `delay_ms`"));
        assert!(err(r#"["fixed",5,6]"#).contains("invalid length 3"));
    }
}
