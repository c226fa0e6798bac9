//! Durations on the command line: a plain number is seconds (`--sleep 0.5`), or a
//! humantime string (`500ms`, `30s`, `2m`, `30d`).

use std::time::Duration;

/// Parses `3`, `0.25` (seconds) or `500ms`, `1m 30s`, `30d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!(
            "{text:?} is not a duration (negative or not finite)"
        ));
    }
    humantime::parse_duration(text).map_err(|e| {
        format!("{text:?} is not a duration ({e}); write seconds (30, 0.5) or 500ms, 2m, 30d")
    })
}

/// A short human form: `850ms`, `12.3s`, `4m 5s`, `2h 3m`, `3d 4h`.
pub fn short(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    if secs < 60 {
        return format!("{:.1}s", d.as_secs_f64());
    }
    let (m, s) = (secs / 60, secs % 60);
    if m < 60 {
        return format!("{m}m {s}s");
    }
    let (h, m) = (m / 60, m % 60);
    if h < 24 {
        return format!("{h}h {m}m");
    }
    format!("{}d {}h", h / 24, h % 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_humantime() {
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("0.25").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert!(parse_duration("-1").is_err());
        let e = parse_duration("soon").unwrap_err();
        assert!(e.contains("\"soon\" is not a duration"), "{e}");
    }

    #[test]
    fn short_forms() {
        assert_eq!(short(Duration::from_millis(850)), "850ms");
        assert_eq!(short(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(short(Duration::from_secs(245)), "4m 5s");
        assert_eq!(short(Duration::from_secs(7_380)), "2h 3m");
        assert_eq!(short(Duration::from_secs(3 * 86_400 + 4 * 3_600)), "3d 4h");
    }
}
