//! The fetch cursor: everything one fetch run hands to the next through the platform's
//! `last_run`. It is small by construction — times, a window, two paging positions, and the ids
//! emitted recently enough that a later read can meet them again — so it stays far below the
//! platform's comfort zone whatever the backlog (no queue of incidents, as the XSOAR integration
//! kept).
//!
//! ```json
//! {"version": 1,
//!  "origin": "2025-01-01T00:00:00Z",         // first_fetch: nothing older is emitted
//!  "settled": "2025-01-10T08:05:00Z",        // everything older was emitted
//!  "start": "2025-01-10T08:15:00.1234567Z",  // forward frontier: older ones were read once
//!  "window": "PT3H",                          // width of the next forward read
//!  "ahead": "2025-01-10T11:00:00Z",           // a full page is known to lie before this
//!  "newest": "2025-01-14T11:11:11Z",         // newest createdTime any read has shown
//!  "burst": {"at": "…", "skip": 200, "settles": true},   // >100 incidents at one instant
//!  "lookback": {"from": "…", "to": "…", "skip": 100, "settles": "…"}, // a re-read under way
//!  "seen": {"2025-01-10T08:15": "101-150,160"},  // emitted ids by minute of createdTime
//!  "seen_digests": {"2025-01-10T08:15": "q3Zp0fLm…"}}  // text ids (Graph's), 8 characters each
//! ```
//!
//! `last_run` comes from outside, so every number in it is checked before any arithmetic: times
//! must lie in [`time::EARLIEST`]..=[`time::LATEST`], paging positions from 0 to [`MAX_SKIP`],
//! the window must be a duration of at least a tick (a wider one than [`MAX_WINDOW`] is read as
//! that). Anything else is refused with a [`CursorError`] that names the field.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use super::MAX_WINDOW;
use super::id_set::IdSet;
use crate::api::IncidentId;
use crate::time::{self, TICK};

/// The cursor format this version writes and reads.
const VERSION: u64 = 1;

/// The largest paging position a cursor may hold: far more incidents than one instant or one
/// look-back range ever holds, and far from overflowing when a page is added.
pub const MAX_SKIP: u64 = 1_000_000_000;

/// Where fetching stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// Incidents created before this are never emitted: the first fetch time.
    pub origin: Timestamp,
    /// Every incident created before `settled` was emitted. Between `settled` and `start` lie
    /// incidents read when some may still have been invisible: look-back reads go over them.
    pub settled: Timestamp,
    /// Forward reads continue from here: every incident created before it that was visible
    /// when the frontier passed was emitted.
    pub start: Timestamp,
    /// How far past `start` the next forward read reaches; none means "to the newest".
    pub window: Option<SignedDuration>,
    /// While looking for the first incidents after `start`: the end of the last read that found
    /// a full page, so that an empty read can halve the way to it instead of widening blindly.
    pub ahead: Option<Timestamp>,
    /// The newest `createdTime` any read has shown. The service's clock is at least this, so a
    /// read that ends here is complete for good; nothing newer can appear below it, except late.
    pub newest: Option<Timestamp>,
    /// Paging through more than a page of incidents created at `start` exactly.
    pub burst: Option<Burst>,
    /// A look-back read in progress.
    pub lookback: Option<LookbackPass>,
    /// Ids already emitted that a read may still return.
    pub seen: SeenIds,
}

/// Position in the incidents created at one instant, read a page at a time with `$skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    pub at: Timestamp,
    pub skip: usize,
    /// Whether every incident at `at` was visible when the burst read began, so that reading
    /// it to the end settles it.
    pub settles: bool,
}

/// A re-read of `[from, to)` for incidents that became visible after the frontier passed them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookbackPass {
    pub from: Timestamp,
    pub to: Timestamp,
    pub skip: usize,
    /// What `settled` may move to once the pass is complete: the incidents created before this
    /// were all visible when it began.
    pub settles: Timestamp,
}

impl Cursor {
    /// A first run's cursor: from `first_fetch`, the extent of the backlog unknown.
    pub fn starting_at(first_fetch: Timestamp) -> Cursor {
        let origin = time::whole_ticks(first_fetch);
        Cursor {
            origin,
            settled: origin,
            start: origin,
            window: None,
            ahead: None,
            newest: None,
            burst: None,
            lookback: None,
            seen: SeenIds::default(),
        }
    }

    /// Reads `last_run`: empty means a first run; the XSOAR integration's own cursor is taken
    /// over (see [`Cursor::from_xsoar_integration`]).
    pub fn from_last_run(
        last_run: &Map<String, Value>,
        first_fetch: Timestamp,
    ) -> Result<Cursor, CursorError> {
        if last_run.is_empty() {
            return Ok(Cursor::starting_at(first_fetch));
        }
        if last_run.contains_key("last_run") && !last_run.contains_key("version") {
            return Cursor::from_xsoar_integration(last_run);
        }
        match last_run.get("version").and_then(Value::as_u64) {
            Some(VERSION) => Cursor::parse(last_run),
            Some(other) => Err(CursorError(format!(
                "it has version {other}, and this version of the integration reads version {VERSION}"
            ))),
            None => Err(CursorError(format!(
                "its `version` is missing or not a whole number (this version of the integration reads version {VERSION})"
            ))),
        }
    }

    /// Takes over the XSOAR integration's `{"last_run": <newest createdTime fetched>,
    /// "incidents_queue": [<fetched, not yet created>]}`. Its queue holds the incidents it had
    /// read but not handed over, oldest first; restarting at the oldest of them hands them over
    /// again without repeating older ones (it read with `createdTime gt last_run`, so an empty
    /// queue means everything up to and including `last_run` was handed over).
    fn from_xsoar_integration(last_run: &Map<String, Value>) -> Result<Cursor, CursorError> {
        let queued = last_run
            .get("incidents_queue")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|incident| incident.get("occurred")?.as_str())
            .filter_map(time::parse_instant)
            .filter(|occurred| time::in_range(*occurred))
            .min();
        let start = match queued {
            Some(oldest) => oldest,
            None => {
                let text = last_run
                    .get("last_run")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let last = time::parse_instant(text)
                    .filter(|last| time::in_range(*last))
                    .ok_or_else(|| {
                        CursorError(format!(
                            "its `last_run` {text:?} is not a time {}",
                            time::range_text()
                        ))
                    })?;
                time::later(last, TICK)
            }
        };
        Ok(Cursor::starting_at(start))
    }

    fn parse(last_run: &Map<String, Value>) -> Result<Cursor, CursorError> {
        let instant = |value: Option<&Value>, name: &str| -> Result<Timestamp, CursorError> {
            let instant = value
                .and_then(Value::as_str)
                .and_then(time::parse_instant)
                .ok_or_else(|| {
                    CursorError(format!(
                        "its `{name}` is missing or not an ISO-8601 time {}",
                        time::range_text()
                    ))
                })?;
            if !time::in_range(instant) {
                return Err(CursorError(format!(
                    "its `{name}` {} is not a time {}",
                    time::format(instant),
                    time::range_text()
                )));
            }
            Ok(time::whole_ticks(instant))
        };
        let optional_instant = |name: &str| match last_run.get(name) {
            None | Some(Value::Null) => Ok(None),
            value => instant(value, name).map(Some),
        };
        let skip = |value: &Value, name: &str| {
            value
                .get("skip")
                .and_then(Value::as_u64)
                .filter(|n| *n <= MAX_SKIP)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    CursorError(format!(
                        "its `{name}.skip` is not a whole number from 0 to {MAX_SKIP}"
                    ))
                })
        };
        let window = match last_run.get("window") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_str()
                    .and_then(|text| text.parse::<SignedDuration>().ok())
                    .filter(|window| *window >= TICK)
                    .map(|window| window.min(MAX_WINDOW))
                    .ok_or_else(|| {
                        CursorError(
                            "its `window` is not a duration of at least 100 ns (such as PT3H)"
                                .to_owned(),
                        )
                    })?,
            ),
        };
        let burst = match last_run.get("burst") {
            None | Some(Value::Null) => None,
            Some(value) => Some(Burst {
                at: instant(value.get("at"), "burst.at")?,
                skip: skip(value, "burst")?,
                settles: value
                    .get("settles")
                    .and_then(Value::as_bool)
                    .ok_or_else(|| CursorError("its `burst.settles` is not a flag".to_owned()))?,
            }),
        };
        let lookback = match last_run.get("lookback") {
            None | Some(Value::Null) => None,
            Some(value) => Some(LookbackPass {
                from: instant(value.get("from"), "lookback.from")?,
                to: instant(value.get("to"), "lookback.to")?,
                skip: skip(value, "lookback")?,
                settles: instant(value.get("settles"), "lookback.settles")?,
            }),
        };
        let buckets = |name: &str| match last_run.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(buckets)) => Ok(Some(buckets)),
            Some(_) => Err(CursorError(format!("its `{name}` is not an object"))),
        };
        let seen = SeenIds::parse(
            buckets("seen")?,
            buckets("seen_text")?,
            buckets("seen_digests")?,
        )?;
        Ok(Cursor {
            origin: instant(last_run.get("origin"), "origin")?,
            settled: instant(last_run.get("settled"), "settled")?,
            start: instant(last_run.get("start"), "start")?,
            window,
            ahead: optional_instant("ahead")?,
            newest: optional_instant("newest")?,
            burst,
            lookback,
            seen,
        })
    }

    /// The cursor as `last_run`.
    pub fn to_last_run(&self) -> Map<String, Value> {
        let (seen, seen_digests) = self.seen.to_json();
        let last_run = LastRun {
            version: VERSION,
            origin: time::format(self.origin),
            settled: time::format(self.settled),
            start: time::format(self.start),
            window: self.window.map(|window| window.to_string()),
            ahead: self.ahead.map(time::format),
            newest: self.newest.map(time::format),
            burst: self.burst.map(|burst| LastRunBurst {
                at: time::format(burst.at),
                skip: burst.skip as u64,
                settles: burst.settles,
            }),
            lookback: self.lookback.map(|pass| LastRunLookback {
                from: time::format(pass.from),
                to: time::format(pass.to),
                skip: pass.skip as u64,
                settles: time::format(pass.settles),
            }),
            seen,
            seen_digests: (!seen_digests.is_empty()).then_some(seen_digests),
        };
        match serde_json::to_value(last_run) {
            Ok(Value::Object(map)) => map,
            // A struct of strings, numbers and maps always serializes to an object.
            _ => Map::new(),
        }
    }
}

/// The cursor as it travels in `last_run` (format version 1): what `fetch-incidents` writes, and
/// what the next run reads back, checking every field before use ([`Cursor::from_last_run`]).
/// Times are ISO-8601 UTC with up to seven fractional digits, from 1970 to 2200.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "fetch cursor")]
pub struct LastRun {
    /// The format version: 1.
    pub version: u64,
    /// The first fetch time: nothing created before it is emitted.
    pub origin: String,
    /// Every incident created before this was emitted.
    pub settled: String,
    /// Forward reads continue from here.
    pub start: String,
    /// How far past `start` the next forward read reaches (an ISO-8601 duration such as
    /// `PT3H`); absent means to the newest incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// While searching forward: the end of the last read that found a full page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ahead: Option<String>,
    /// The newest `createdTime` any read has shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// Paging through more than a page of incidents created at one instant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<LastRunBurst>,
    /// A look-back read under way, for incidents that became visible late.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookback: Option<LastRunLookback>,
    /// Ids emitted recently enough that a read may meet them again, by the minute of their
    /// `createdTime` (`2025-01-10T08:15`), as ranges: `101-150,160`.
    pub seen: Map<String, Value>,
    /// The same for text ids (Microsoft Graph's alerts, and incidents whose Graph id is not a
    /// number), as digests: 8 characters (48 bits, base64url) an id, run together. Absent when
    /// there are none. A cursor of the previous version kept them as lists of ids under
    /// `seen_text`, which is still read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen_digests: Option<Map<String, Value>>,
}

/// `burst` in [`LastRun`].
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LastRunBurst {
    /// The instant whose incidents are being paged.
    pub at: String,
    /// How many of them were read (0 to 1,000,000,000).
    pub skip: u64,
    /// Whether reading them to the end settles that instant.
    pub settles: bool,
}

/// `lookback` in [`LastRun`].
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LastRunLookback {
    /// The range re-read: `from` included, `to` excluded.
    pub from: String,
    pub to: String,
    /// How many of its incidents were read (0 to 1,000,000,000).
    pub skip: u64,
    /// Where `settled` may move once the pass is complete.
    pub settles: String,
}

/// A `last_run` this version cannot continue from.
#[derive(Debug, thiserror::Error)]
#[error(
    "The fetch cursor (last run) cannot be used: {0}. Reset the last run of this instance (Fetch history, Reset the \"last run\" timestamp) to fetch again from the first fetch time."
)]
pub struct CursorError(String);

/// Ids of emitted items, grouped by the minute of their creation time so that they can be
/// forgotten by age. Numbers are written as ranges under `seen`; text ids (Microsoft Graph's)
/// are kept as their [`digest`]s, written run together under `seen_digests`, which is left out
/// when there are none. An alert id is some 40 characters; a few hundred alerts created at one
/// instant would otherwise overflow the platform's 16 KB for `last_run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenIds {
    /// Epoch minute → ids.
    by_minute: BTreeMap<i64, IdSet>,
}

impl SeenIds {
    fn minute_of(created: Timestamp) -> i64 {
        created.as_second().div_euclid(60)
    }

    pub fn contains(&self, id: &IncidentId, created: Timestamp) -> bool {
        self.by_minute
            .get(&Self::minute_of(created))
            .is_some_and(|ids| ids.contains(&kept(id)))
    }

    pub fn insert(&mut self, id: IncidentId, created: Timestamp) {
        self.by_minute
            .entry(Self::minute_of(created))
            .or_default()
            .insert(kept(&id));
    }

    /// Forgets ids created before the minute that contains `before`.
    pub fn forget_before(&mut self, before: Timestamp) {
        let keep_from = Self::minute_of(before);
        self.by_minute = self.by_minute.split_off(&keep_from);
    }

    pub fn len(&self) -> usize {
        self.by_minute.values().map(IdSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_minute.is_empty()
    }

    /// `seen` and `seen_digests`. A minute goes into `seen` unless it holds text ids only, so
    /// that every minute a cursor without text ids names is written back as it was read.
    fn to_json(&self) -> (Map<String, Value>, Map<String, Value>) {
        let mut numbers = Map::new();
        let mut texts = Map::new();
        for (minute, ids) in &self.by_minute {
            let key = Timestamp::from_second(minute * 60)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default();
            if ids.has_numbers() || !ids.has_texts() {
                numbers.insert(key.clone(), Value::String(ids.ranges()));
            }
            if ids.has_texts() {
                texts.insert(key, Value::String(ids.texts().concat()));
            }
        }
        (numbers, texts)
    }

    fn parse(
        numbers: Option<&Map<String, Value>>,
        texts: Option<&Map<String, Value>>,
        digests: Option<&Map<String, Value>>,
    ) -> Result<SeenIds, CursorError> {
        let mut seen = SeenIds::default();
        for (key, value) in numbers.into_iter().flatten() {
            let minute = Self::parse_minute("seen", key)?;
            let text = value.as_str().ok_or_else(|| {
                CursorError(format!("its `seen` entry for {key} is not a text of ids"))
            })?;
            let ids = IdSet::from_ranges(text).ok_or_else(|| {
                CursorError(format!("its `seen` entry for {key} is not a list of ids"))
            })?;
            seen.by_minute.insert(minute, ids);
        }
        for (key, value) in texts.into_iter().flatten() {
            let minute = Self::parse_minute("seen_text", key)?;
            let mut ids = IdSet::default();
            ids.add_texts(value).ok_or_else(|| {
                CursorError(format!(
                    "its `seen_text` entry for {key} is not a list of ids"
                ))
            })?;
            let set = seen.by_minute.entry(minute).or_default();
            for id in ids.texts() {
                set.insert(kept(&IncidentId::Text(id.clone())));
            }
        }
        for (key, value) in digests.into_iter().flatten() {
            let minute = Self::parse_minute("seen_digests", key)?;
            let text = value
                .as_str()
                .filter(|text| {
                    text.len().is_multiple_of(DIGEST_LENGTH)
                        && text
                            .bytes()
                            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'))
                })
                .ok_or_else(|| {
                    CursorError(format!(
                        "its `seen_digests` entry for {key} is not a run of 8-character digests"
                    ))
                })?;
            let set = seen.by_minute.entry(minute).or_default();
            for index in (0..text.len()).step_by(DIGEST_LENGTH) {
                set.insert(IncidentId::Text(
                    text[index..index + DIGEST_LENGTH].to_owned(),
                ));
            }
        }
        Ok(seen)
    }

    fn parse_minute(name: &str, key: &str) -> Result<i64, CursorError> {
        time::parse_instant(&format!("{key}:00Z"))
            .map(Self::minute_of)
            .ok_or_else(|| CursorError(format!("its `{name}` key {key:?} is not a minute")))
    }
}

/// The length of a text id's [`digest`].
const DIGEST_LENGTH: usize = 8;

/// An id as the cursor keeps it: a number as it is, a text id as its [`digest`].
fn kept(id: &IncidentId) -> IncidentId {
    match id {
        IncidentId::Number(number) => IncidentId::Number(*number),
        IncidentId::Text(text) => IncidentId::Text(digest(text)),
    }
}

/// A text id's digest: the low 48 bits of its 64-bit FNV-1a hash, in 8 base64url characters.
/// Stable across versions and machines (it is written into the cursor), and short; two ids of
/// one minute share a digest with a chance of about n²/2⁴⁹, one in a billion for a thousand
/// ids, which would make the second look emitted already.
fn digest(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (0..DIGEST_LENGTH)
        .map(|index| char::from(ALPHABET[((hash >> (6 * index)) & 63) as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn round_trips_through_last_run() {
        let mut cursor = Cursor::starting_at(at("2025-01-01T00:00:00Z"));
        cursor.settled = at("2025-01-10T08:05:00Z");
        cursor.start = at("2025-01-10T08:15:00.1234567Z");
        cursor.window = Some(SignedDuration::from_secs(3 * 3600) + TICK);
        cursor.ahead = Some(at("2025-01-10T11:00:00Z"));
        cursor.newest = Some(at("2025-01-14T11:11:11Z"));
        cursor.burst = Some(Burst {
            at: cursor.start,
            skip: 200,
            settles: true,
        });
        cursor.lookback = Some(LookbackPass {
            from: at("2025-01-10T08:05:00Z"),
            to: cursor.start,
            skip: 100,
            settles: at("2025-01-10T08:10:00Z"),
        });
        for id in [101, 102, 103, 160, 150] {
            cursor
                .seen
                .insert(IncidentId::from(id), at("2025-01-10T08:15:30Z"));
        }
        cursor
            .seen
            .insert(IncidentId::from(7), at("2025-01-10T08:10:00Z"));
        let last_run = cursor.to_last_run();
        assert_eq!(
            Value::Object(last_run.clone()),
            json!({
                "version": 1,
                "origin": "2025-01-01T00:00:00Z",
                "settled": "2025-01-10T08:05:00Z",
                "start": "2025-01-10T08:15:00.1234567Z",
                "window": "PT3H0.0000001S",
                "ahead": "2025-01-10T11:00:00Z",
                "newest": "2025-01-14T11:11:11Z",
                "burst": {"at": "2025-01-10T08:15:00.1234567Z", "skip": 200, "settles": true},
                "lookback": {
                    "from": "2025-01-10T08:05:00Z",
                    "to": "2025-01-10T08:15:00.1234567Z",
                    "skip": 100,
                    "settles": "2025-01-10T08:10:00Z"
                },
                "seen": {"2025-01-10T08:10": "7", "2025-01-10T08:15": "101-103,150,160"}
            })
        );
        let parsed = Cursor::from_last_run(&last_run, at("2030-01-01T00:00:00Z")).unwrap();
        assert_eq!(parsed, cursor);
    }

    fn text(id: &str) -> IncidentId {
        IncidentId::Text(id.to_owned())
    }

    #[test]
    fn a_cursor_without_text_ids_is_written_back_as_it_was_read() {
        // As this version wrote cursors before it knew text ids; an empty minute included.
        let text = r#"{"version":1,"origin":"2025-01-01T00:00:00Z","settled":"2025-01-10T08:05:00Z","start":"2025-01-10T08:15:00.1234567Z","newest":"2025-01-14T11:11:11Z","seen":{"2025-01-10T08:09":"","2025-01-10T08:10":"7","2025-01-10T08:15":"101-103,150,160"}}"#;
        let last_run: Map<String, Value> = serde_json::from_str(text).unwrap();
        let cursor = Cursor::from_last_run(&last_run, at("2030-01-01T00:00:00Z")).unwrap();
        assert_eq!(cursor.seen.len(), 6);
        assert_eq!(serde_json::to_string(&cursor.to_last_run()).unwrap(), text);
    }

    #[test]
    fn text_ids_round_trip_beside_the_ranges() {
        let mut cursor = Cursor::starting_at(at("2025-01-01T00:00:00Z"));
        cursor
            .seen
            .insert(IncidentId::from(101), at("2025-01-10T08:15:30Z"));
        cursor
            .seen
            .insert(text("ed-4c2a/7"), at("2025-01-10T08:15:10Z"));
        cursor
            .seen
            .insert(text("a,b-c"), at("2025-01-10T08:15:50Z"));
        cursor.seen.insert(text("x"), at("2025-01-10T08:16:00Z"));
        let last_run = cursor.to_last_run();
        assert_eq!(last_run["seen"], json!({"2025-01-10T08:15": "101"}));
        let digests = last_run["seen_digests"].as_object().unwrap();
        assert_eq!(
            digests["2025-01-10T08:15"],
            json!(format!("{}{}", digest("ed-4c2a/7"), digest("a,b-c")))
        );
        assert_eq!(digests["2025-01-10T08:16"], json!(digest("x")));
        assert!(last_run.get("seen_text").is_none());
        let parsed = Cursor::from_last_run(&last_run, at("2030-01-01T00:00:00Z")).unwrap();
        assert_eq!(parsed, cursor);
        assert!(
            parsed
                .seen
                .contains(&text("a,b-c"), at("2025-01-10T08:15:00Z"))
        );
        assert!(
            !parsed
                .seen
                .contains(&text("a,b-c"), at("2025-01-10T08:16:00Z"))
        );
        assert!(
            !parsed
                .seen
                .contains(&IncidentId::from(7), at("2025-01-10T08:15:00Z"))
        );
        assert_eq!(parsed.to_last_run(), last_run);
    }

    #[test]
    fn digests_are_short_stable_and_read_with_the_previous_lists() {
        assert_eq!(digest("ed-4c2a/7").len(), DIGEST_LENGTH);
        // Written into cursors: a change would make every kept text id look new.
        assert_eq!(digest(""), "lMiIESOn");
        assert_eq!(digest("ed-4c2a/7"), "ZO8__trn");
        assert_ne!(digest("da1"), digest("da2"));
        // What the previous version wrote: the ids themselves, as lists.
        let previous = json!({
            "version": 1, "origin": "2025-01-01T00:00:00Z", "settled": "2025-01-01T00:00:00Z",
            "start": "2025-01-10T08:15:00Z", "seen": {},
            "seen_text": {"2025-01-10T08:15": ["ed-4c2a/7"]}
        });
        let cursor =
            Cursor::from_last_run(previous.as_object().unwrap(), at("2030-01-01T00:00:00Z"))
                .unwrap();
        assert!(
            cursor
                .seen
                .contains(&text("ed-4c2a/7"), at("2025-01-10T08:15:20Z"))
        );
        let written = cursor.to_last_run();
        assert_eq!(
            written["seen_digests"],
            json!({"2025-01-10T08:15": digest("ed-4c2a/7")})
        );
        for bad in [json!("abc"), json!("abcdefg!"), json!(["x"])] {
            let mut last_run = written.clone();
            last_run["seen_digests"] = json!({"2025-01-10T08:15": bad});
            let error = Cursor::from_last_run(&last_run, at("2030-01-01T00:00:00Z")).unwrap_err();
            assert!(error.to_string().contains("seen_digests"), "{error}");
        }
    }

    #[test]
    fn forgets_ids_by_minute() {
        let mut seen = SeenIds::default();
        seen.insert(IncidentId::from(1), at("2025-01-10T08:14:59Z"));
        seen.insert(text("old"), at("2025-01-10T08:14:00Z"));
        seen.insert(IncidentId::from(2), at("2025-01-10T08:15:00Z"));
        seen.insert(text("new"), at("2025-01-10T08:15:01Z"));
        seen.insert(IncidentId::from(3), at("2025-01-10T08:16:00Z"));
        seen.forget_before(at("2025-01-10T08:15:30Z"));
        assert!(!seen.contains(&IncidentId::from(1), at("2025-01-10T08:14:59Z")));
        assert!(!seen.contains(&text("old"), at("2025-01-10T08:14:00Z")));
        assert!(seen.contains(&IncidentId::from(2), at("2025-01-10T08:15:00Z")));
        assert!(seen.contains(&text("new"), at("2025-01-10T08:15:01Z")));
        assert_eq!(seen.len(), 3);
        seen.forget_before(at("2025-01-10T08:17:00Z"));
        assert!(seen.is_empty());
        let last_run = Cursor {
            seen,
            ..Cursor::starting_at(at("2025-01-01T00:00:00Z"))
        }
        .to_last_run();
        assert_eq!(last_run["seen"], json!({}));
        assert!(!last_run.contains_key("seen_text"));
    }

    #[test]
    fn takes_over_the_xsoar_integrations_cursor() {
        let first_fetch = at("2020-01-01T00:00:00Z");
        let queued = json!({
            "last_run": "2025-01-14T11:11:11Z",
            "incidents_queue": [
                {"name": "Microsoft 365 Defender 105", "occurred": "2025-01-13T03:00:00Z", "rawJSON": "{}"},
                {"name": "Microsoft 365 Defender 106", "occurred": "2025-01-14T11:11:11Z", "rawJSON": "{}"}
            ]
        });
        let cursor = Cursor::from_last_run(queued.as_object().unwrap(), first_fetch).unwrap();
        assert_eq!(cursor.start, at("2025-01-13T03:00:00Z"));
        let drained = json!({"last_run": "2025-01-14T11:11:11Z", "incidents_queue": []});
        let cursor = Cursor::from_last_run(drained.as_object().unwrap(), first_fetch).unwrap();
        assert_eq!(cursor.start, at("2025-01-14T11:11:11Z") + TICK);
    }

    #[test]
    fn checks_every_number_before_using_it() {
        let first_fetch = at("2020-01-01T00:00:00Z");
        let base = json!({"version": 1, "origin": "2025-01-01T00:00:00Z",
            "settled": "2025-01-01T00:00:00Z", "start": "2025-01-01T00:00:00Z"});
        let with = |key: &str, value: Value| {
            let mut cursor = base.as_object().unwrap().clone();
            cursor.insert(key.to_owned(), value);
            cursor
        };
        let burst =
            |skip: Value| json!({"at": "2025-01-01T00:00:00Z", "skip": skip, "settles": true});
        for (field, bad) in [
            (
                "`start`",
                with("start", json!("9999-12-31T23:59:59.9999999Z")),
            ),
            ("`start`", with("start", json!("0001-01-01T00:00:00Z"))),
            ("`start`", with("start", json!("-009999-01-01T00:00:00Z"))),
            ("`start`", with("start", json!(1735689600))),
            ("`newest`", with("newest", json!("9999-12-31T23:59:59Z"))),
            ("`origin`", with("origin", json!("1969-12-31T23:59:59Z"))),
            ("`window`", with("window", json!("PT9999999999999999H"))),
            ("`window`", with("window", json!("-PT1H"))),
            ("`window`", with("window", json!(3600))),
            ("`burst.skip`", with("burst", burst(json!(u64::MAX)))),
            ("`burst.skip`", with("burst", burst(json!(-1)))),
            ("`burst.skip`", with("burst", burst(json!(1.5)))),
            ("`burst.skip`", with("burst", burst(json!("100")))),
            ("`burst.skip`", with("burst", burst(json!(1e300)))),
            (
                "`burst.at`",
                with(
                    "burst",
                    json!({"at": "9999-12-31T23:59:59Z", "skip": 0, "settles": true}),
                ),
            ),
            (
                "`lookback.skip`",
                with(
                    "lookback",
                    json!({"from": "2025-01-01T00:00:00Z",
                "to": "2025-01-01T00:00:00Z", "skip": 1_000_000_001u64, "settles": "2025-01-01T00:00:00Z"}),
                ),
            ),
            ("`version`", with("version", json!(1.0))),
            ("`version`", with("version", json!("1"))),
        ] {
            let error = Cursor::from_last_run(&bad, first_fetch)
                .unwrap_err()
                .to_string();
            assert!(error.contains(field), "{field}: {error}");
        }
        let xsoar = json!({"last_run": "9999-12-31T23:59:59.9999999Z", "incidents_queue": []});
        let error = Cursor::from_last_run(xsoar.as_object().unwrap(), first_fetch).unwrap_err();
        assert!(error.to_string().contains("`last_run`"), "{error}");
        // Held at the limits the cursor documents.
        let wide = with("window", json!("PT876000H"));
        let cursor = Cursor::from_last_run(&wide, first_fetch).unwrap();
        assert_eq!(cursor.window, Some(MAX_WINDOW));
        let deep = with("burst", burst(json!(MAX_SKIP)));
        let cursor = Cursor::from_last_run(&deep, first_fetch).unwrap();
        assert_eq!(cursor.burst.map(|burst| burst.skip as u64), Some(MAX_SKIP));
    }

    #[test]
    fn refuses_what_it_cannot_continue_from() {
        let first_fetch = at("2020-01-01T00:00:00Z");
        for bad in [
            json!({"version": 2, "start": "2025-01-01T00:00:00Z"}),
            json!({"version": 1, "start": "yesterday", "origin": "2025-01-01T00:00:00Z"}),
            json!({"version": 1, "start": "2025-01-01T00:00:00Z", "origin": "2025-01-01T00:00:00Z", "seen": {"2025-01-01T00:00": "9-x"}}),
            json!({"version": 1, "start": "2025-01-01T00:00:00Z", "origin": "2025-01-01T00:00:00Z", "seen_text": {"2025-01-01T00:00": "x"}}),
            json!({"version": 1, "start": "2025-01-01T00:00:00Z", "origin": "2025-01-01T00:00:00Z", "seen_text": {"yesterday": ["x"]}}),
            json!({"version": 1, "start": "2025-01-01T00:00:00Z", "origin": "2025-01-01T00:00:00Z", "seen_text": ["x"]}),
            json!({"something": "else"}),
        ] {
            let error = Cursor::from_last_run(bad.as_object().unwrap(), first_fetch).unwrap_err();
            assert!(error.to_string().contains("Reset the last run"), "{error}");
        }
    }
}
