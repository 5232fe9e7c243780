//! k6-style durations: `"30s"`, `"1m30s"`, `"500ms"`, `"2h"`, `"1.5s"`, or a bare
//! number of seconds.

use std::time::Duration;

/// Parses a k6 duration string.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds_to_duration(seconds, text);
    }
    let mut total = 0.0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("invalid duration {text:?}: missing unit after the number"))?;
        if number_len == 0 {
            return Err(format!("invalid duration {text:?}: expected a number"));
        }
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: bad number"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            unit => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {unit:?} (use h, m, s, ms, us or ns)"
                ));
            }
        };
        total += number * factor;
        rest = &rest[unit_len..];
    }
    seconds_to_duration(total, text)
}

/// The longest duration accepted (a year): longer ones are surely mistakes,
/// and deadlines computed from them must not overflow the clock.
pub const MAX: Duration = Duration::from_secs(365 * 24 * 3600);

fn seconds_to_duration(seconds: f64, text: &str) -> Result<Duration, String> {
    let duration =
        Duration::try_from_secs_f64(seconds).map_err(|_| format!("invalid duration {text:?}"))?;
    if duration > MAX {
        return Err(format!(
            "invalid duration {text:?}: longer than the limit of {}",
            format(MAX)
        ));
    }
    Ok(duration)
}

/// Formats a duration the way k6 prints one: `1m30s`, `500ms`, `2h0m0s`.
pub fn format(duration: Duration) -> String {
    let total_ms = duration.as_millis();
    if total_ms < 1000 {
        return format!("{total_ms}ms");
    }
    let secs = duration.as_secs_f64();
    let hours = (secs / 3600.0).floor();
    let minutes = ((secs - hours * 3600.0) / 60.0).floor();
    let seconds = secs - hours * 3600.0 - minutes * 60.0;
    let seconds = if (seconds - seconds.round()).abs() < 1e-9 {
        format!("{}", seconds.round())
    } else {
        format!("{seconds:.1}")
    };
    match (hours as u64, minutes as u64) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// Serde support for optional k6 duration strings (or numbers of seconds).
pub mod serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Seconds(f64),
    }

    /// Deserializes `"30s"` or `30` into a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<Raw>::deserialize(d)? {
            None => Ok(None),
            Some(Raw::Text(text)) => super::parse(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            Some(Raw::Seconds(s)) => Duration::try_from_secs_f64(s)
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("invalid duration {s}"))),
        }
    }

    /// Serializes a duration as a k6 duration string.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format(*d)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k6_durations() {
        for (text, ms) in [
            ("30s", 30_000),
            ("1m30s", 90_000),
            ("500ms", 500),
            ("2h", 7_200_000),
            ("1.5s", 1_500),
            ("10", 10_000),
            ("1h2m3s4ms", 3_723_004),
        ] {
            assert_eq!(parse(text), Ok(Duration::from_millis(ms)), "{text}");
        }
        for bad in ["", "s", "10x", "-1s", "1m30", "abc", "8761h", "1e30"] {
            assert!(parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn formats_like_k6() {
        assert_eq!(format(Duration::from_millis(500)), "500ms");
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_secs(30)), "30s");
        assert_eq!(format(Duration::from_secs(3600)), "1h0m0s");
    }
}

/// Serde support for required k6 duration strings (or numbers of seconds).
pub mod serde_req {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    /// Deserializes `"30s"` or `30` into a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        super::serde_opt::deserialize(d)?
            .ok_or_else(|| serde::de::Error::custom("expected a duration such as \"30s\""))
    }

    /// Serializes a duration as a k6 duration string.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*d))
    }
}
