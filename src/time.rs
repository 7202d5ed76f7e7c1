//! Times the way Microsoft 365 Defender and the platform write them. Defender stamps incidents
//! with .NET ticks (100 ns) and prints seven fractional digits
//! (`2025-01-10T08:15:00.1234567Z`); its OData `$filter` compares at that precision, so the fetch
//! cursor works in whole ticks. The platform hands over times as ISO-8601 text, epoch seconds,
//! or (for `first_fetch`) spans such as `3 days`.
//!
//! Fetching accepts times from [`EARLIEST`] to [`LATEST`] only, wherever they come from (the
//! cursor, `first_fetch`, an incident's `createdTime`): far from the ends of what a timestamp
//! can hold (years -9999 and 9999), so that no window or look-back added to one can overflow,
//! and wide enough for any real incident.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};

/// One tick, Defender's time resolution.
pub const TICK: SignedDuration = SignedDuration::from_nanos(100);

/// The earliest time fetching accepts: the Unix epoch (`first_fetch` 0 in epoch seconds).
pub const EARLIEST: Timestamp = Timestamp::UNIX_EPOCH;
/// The latest time fetching accepts: 2200-01-01T00:00:00Z.
pub const LATEST: Timestamp = Timestamp::constant(7_258_118_400, 0);

/// Whether fetching accepts `time`: from [`EARLIEST`] to [`LATEST`].
pub fn in_range(time: Timestamp) -> bool {
    (EARLIEST..=LATEST).contains(&time)
}

/// The accepted range, for messages.
pub fn range_text() -> String {
    format!("from {} to {}", format(EARLIEST), format(LATEST))
}

/// `time + by`, held at the end of the representable range rather than overflowing.
pub fn later(time: Timestamp, by: SignedDuration) -> Timestamp {
    time.saturating_add(by).unwrap_or(Timestamp::MAX)
}

/// `time - by`, held at the start of the representable range rather than overflowing.
pub fn earlier(time: Timestamp, by: SignedDuration) -> Timestamp {
    time.saturating_sub(by).unwrap_or(Timestamp::MIN)
}

/// `time` cut down to whole ticks.
pub fn whole_ticks(time: Timestamp) -> Timestamp {
    let nanos = time.as_nanosecond();
    Timestamp::from_nanosecond(nanos - nanos.rem_euclid(100)).unwrap_or(time)
}

/// Defender's notation: seconds, then up to seven fractional digits without trailing zeros.
/// Used in `$filter` literals and in the cursor.
pub fn format(time: Timestamp) -> String {
    let time = whole_ticks(time);
    let seconds = time.strftime("%Y-%m-%dT%H:%M:%S");
    let ticks = time.subsec_nanosecond() / 100;
    if ticks == 0 {
        return format!("{seconds}Z");
    }
    let fraction = format!("{ticks:07}");
    format!("{seconds}.{}Z", fraction.trim_end_matches('0'))
}

/// Parses an instant as Defender or the platform writes it: RFC 3339 (`T` or a space between
/// date and time, `Z` or an offset, any fraction), a date-time without zone (taken as UTC), or
/// a date (midnight UTC).
pub fn parse_instant(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(time) = text.parse::<Timestamp>() {
        return Some(time);
    }
    if let Ok(time) = text.replacen(' ', "T", 1).parse::<Timestamp>() {
        return Some(time);
    }
    if let Ok(civil) = text.parse::<DateTime>() {
        return civil.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    if let Ok(date) = text.parse::<Date>() {
        return date.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    None
}

/// Parses a point in time given as an instant ([`parse_instant`]), epoch seconds (or epoch
/// milliseconds, recognised by their size), or a span back from `now` such as `3 days`,
/// `12 hours`, `30 minutes ago`, `1 week`, `2 months`.
pub fn parse_point_in_time(text: &str, now: Timestamp) -> Option<Timestamp> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(epoch) = text.parse::<f64>() {
        if !epoch.is_finite() {
            return None;
        }
        // 100 billion seconds is the year 5138; anything larger is milliseconds.
        let seconds = if epoch.abs() >= 1e11 {
            epoch / 1000.0
        } else {
            epoch
        };
        return Timestamp::from_nanosecond((seconds * 1e9).round() as i128).ok();
    }
    parse_instant(text).or_else(|| parse_span_back(text, now))
}

/// A span (`3 days`, `12 hours`, `1 week 2 days`, `30 minutes ago`; jiff's friendly format or
/// ISO 8601), counted back from `now` in UTC (months and years by the calendar). A span that
/// points forward (`-3 days`) is not a time to start from.
fn parse_span_back(text: &str, now: Timestamp) -> Option<Timestamp> {
    let lowered = text.trim().to_ascii_lowercase();
    let span: Span = lowered.parse().ok()?;
    let back = if lowered.ends_with("ago") {
        span.negate()
    } else {
        span
    };
    if back.is_negative() {
        return None;
    }
    now.to_zoned(TimeZone::UTC)
        .checked_sub(back)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn formats_seven_digits_without_trailing_zeros() {
        assert_eq!(
            format(at("2025-01-10T08:15:00.123456789Z")),
            "2025-01-10T08:15:00.1234567Z"
        );
        assert_eq!(
            format(at("2025-01-10T08:15:00.5Z")),
            "2025-01-10T08:15:00.5Z"
        );
        assert_eq!(format(at("2025-01-10T08:15:00Z")), "2025-01-10T08:15:00Z");
        assert_eq!(
            format(at("2025-01-10T08:15:00Z") + TICK),
            "2025-01-10T08:15:00.0000001Z"
        );
    }

    #[test]
    fn the_accepted_range_is_1970_to_2200() {
        assert_eq!(
            range_text(),
            "from 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"
        );
        assert!(in_range(at("2026-12-05T00:00:00Z")));
        assert!(!in_range(at("9999-12-30T00:00:00Z")));
        assert!(!in_range(at("1969-12-31T23:59:59Z")));
        assert_eq!(later(Timestamp::MAX, TICK), Timestamp::MAX);
        assert_eq!(earlier(Timestamp::MIN, SignedDuration::MAX), Timestamp::MIN);
    }

    #[test]
    fn parses_the_first_fetch_forms() {
        let now = at("2025-03-31T12:00:00Z");
        let parse = |text| parse_point_in_time(text, now).map(format);
        assert_eq!(parse("3 days").as_deref(), Some("2025-03-28T12:00:00Z"));
        assert_eq!(parse("12 hours").as_deref(), Some("2025-03-31T00:00:00Z"));
        assert_eq!(
            parse("30 Minutes ago").as_deref(),
            Some("2025-03-31T11:30:00Z")
        );
        assert_eq!(parse("1 month").as_deref(), Some("2025-02-28T12:00:00Z"));
        assert_eq!(parse("1 week").as_deref(), Some("2025-03-24T12:00:00Z"));
        assert_eq!(
            parse("1 day 2 hours").as_deref(),
            Some("2025-03-30T10:00:00Z")
        );
        assert_eq!(parse("2 secs").as_deref(), Some("2025-03-31T11:59:58Z"));
        assert_eq!(
            parse("2025-01-01T00:00:00Z").as_deref(),
            Some("2025-01-01T00:00:00Z")
        );
        assert_eq!(
            parse("2025-01-01T02:00:00+02:00").as_deref(),
            Some("2025-01-01T00:00:00Z")
        );
        assert_eq!(
            parse("2025-01-01 00:00:00.5").as_deref(),
            Some("2025-01-01T00:00:00.5Z")
        );
        assert_eq!(parse("2025-01-01").as_deref(), Some("2025-01-01T00:00:00Z"));
        assert_eq!(parse("1735689600").as_deref(), Some("2025-01-01T00:00:00Z"));
        assert_eq!(
            parse("1735689600500").as_deref(),
            Some("2025-01-01T00:00:00.5Z")
        );
        assert_eq!(parse("0").as_deref(), Some("1970-01-01T00:00:00Z"));
        for bad in [
            "",
            "soon",
            "3 fortnights",
            "-3 days",
            "3 days from now",
            "NaN",
            "inf",
            "1e309",
            "-1e309",
            "1e30",
            "100000 years",
            "9223372036854775807 days",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
