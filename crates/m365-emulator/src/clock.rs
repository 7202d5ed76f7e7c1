//! The emulator's own clock. Token lifetimes, device-code expiry, refresh-token inactivity, comment
//! times and `lastUpdateTime` all read it, so a test can jump an hour ahead instead of waiting one
//! hour. It runs at wall-clock speed from an anchor that the control API can move or freeze.
//!
//! It also owns the one timestamp format Microsoft's JSON uses, so every module writes times alike.

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use serde::Serializer;

pub(crate) struct Clock {
    anchor: Timestamp,
    anchored_at: Instant,
    frozen: bool,
}

impl Clock {
    pub(crate) fn starting_at(start: Timestamp) -> Clock {
        Clock {
            anchor: start,
            anchored_at: Instant::now(),
            frozen: false,
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        if self.frozen {
            return self.anchor;
        }
        let elapsed =
            SignedDuration::try_from(self.anchored_at.elapsed()).unwrap_or(SignedDuration::MAX);
        self.anchor.saturating_add(elapsed).unwrap_or(self.anchor)
    }

    pub(crate) fn set(&mut self, to: Timestamp) {
        self.anchor = to;
        self.anchored_at = Instant::now();
    }

    pub(crate) fn advance(&mut self, by: SignedDuration) {
        let now = self.now();
        self.set(now.saturating_add(by).unwrap_or(now));
    }

    /// A frozen clock stands still until it is moved, which makes sequences of requests that
    /// depend on elapsed time (device-code polling, rate-limit windows) exact.
    pub(crate) fn set_frozen(&mut self, frozen: bool) {
        let now = self.now();
        self.set(now);
        self.frozen = frozen;
    }

    pub(crate) fn is_frozen(&self) -> bool {
        self.frozen
    }
}

/// Formats a time the way the Defender API does: UTC, up to seven fractional digits (.NET ticks)
/// with trailing zeros dropped, e.g. `2020-09-06T14:46:57.0733333Z`, `2020-09-06T14:46:57.29Z`,
/// `2020-09-04T05:22:59Z` (see the examples in
/// <https://learn.microsoft.com/defender-xdr/api-list-incidents>). Graph writes its
/// `DateTimeOffset` values the same way.
pub(crate) fn format_time(time: Timestamp) -> String {
    let seconds = time.strftime("%Y-%m-%dT%H:%M:%S");
    // Ticks are whole 100-nanosecond steps: finer digits are cut, not rounded.
    let ticks = format!("{:07}", time.subsec_nanosecond() / 100);
    match ticks.trim_end_matches('0') {
        "" => format!("{seconds}Z"),
        fraction => format!("{seconds}.{fraction}Z"),
    }
}

/// Parses the ISO-8601 instants that clients send: RFC 3339 with `Z` or an offset, with up to nine
/// fractional digits (Microsoft sends seven).
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    text.trim().parse::<Timestamp>().ok()
}

pub(crate) fn serialize_time<S: Serializer>(
    time: &Timestamp,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_time(*time))
}

pub(crate) fn serialize_optional_time<S: Serializer>(
    time: &Option<Timestamp>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => serialize_time(time, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_defender_api() {
        let time: Timestamp = "2020-09-06T14:46:57.0733333Z".parse().unwrap();
        assert_eq!(format_time(time), "2020-09-06T14:46:57.0733333Z");
        let time: Timestamp = "2020-09-06T14:46:57.29Z".parse().unwrap();
        assert_eq!(format_time(time), "2020-09-06T14:46:57.29Z");
        let time: Timestamp = "2020-09-04T05:22:59Z".parse().unwrap();
        assert_eq!(format_time(time), "2020-09-04T05:22:59Z");
    }

    #[test]
    fn a_frozen_clock_moves_only_when_told() {
        let start: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let mut clock = Clock::starting_at(start);
        clock.set_frozen(true);
        let frozen_at = clock.now();
        assert_eq!(clock.now(), frozen_at);
        clock.advance(SignedDuration::from_secs(3600));
        assert_eq!(clock.now(), frozen_at + SignedDuration::from_secs(3600));
    }
}
