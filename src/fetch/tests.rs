//! The fetch algorithm against a simulated incidents service: thousands of random runs in a
//! second, checking the guarantees on every one. (tests/fetch.rs checks the same against the
//! emulator with the real binary.)

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use super::*;
use crate::api::alerts::{self, Alert};
use crate::api::incidents::{GRAPH_PAGE_SIZE, Incident, LEGACY_PAGE_SIZE};
use crate::config::ApiBackend;
use serde_json::value::RawValue;
use std::marker::PhantomData;

/// What a simulated service serves: incidents (as the legacy API or Graph does) or Graph's
/// alerts, built from the same records.
trait SimKind {
    type Item: Fetched;
    /// The most items a page holds as the real service serves them.
    const PAGE_SIZE: usize;
    /// The id of the `number`th item.
    fn id(number: u64) -> IncidentId;
    /// The item as the service sends it.
    fn item(id: &IncidentId, created: Timestamp) -> Self::Item;
}

/// Incidents, as the legacy API (pages of 100) or Microsoft Graph (`.graph()`, 50) serve them.
struct Incidents;

impl SimKind for Incidents {
    type Item = Incident;
    const PAGE_SIZE: usize = LEGACY_PAGE_SIZE;

    /// Mostly Defender's numbers, every seventh a text id such as Microsoft Graph may give (with
    /// characters that mean something in URLs and ranges).
    fn id(number: u64) -> IncidentId {
        if number.is_multiple_of(7) {
            IncidentId::Text(format!("ed-{number:x}/7,{}", number % 3))
        } else {
            IncidentId::Number(number)
        }
    }

    fn item(id: &IncidentId, created: Timestamp) -> Incident {
        let text = format!(
            r#"{{"incidentId":{},"createdTime":"{}"}}"#,
            serde_json::to_string(id).unwrap(),
            time::format(created)
        );
        Incident::from_raw(RawValue::from_string(text).unwrap()).unwrap()
    }
}

/// Microsoft Graph's alerts (alerts_v2): text ids, pages of 100.
struct Alerts;

impl SimKind for Alerts {
    type Item = Alert;
    const PAGE_SIZE: usize = alerts::PAGE_SIZE;

    fn id(number: u64) -> IncidentId {
        IncidentId::Text(format!("da{number:016}_-{}", number % 97))
    }

    fn item(id: &IncidentId, created: Timestamp) -> Alert {
        let text = format!(
            r#"{{"id":{},"createdDateTime":"{}","title":"t","severity":"high"}}"#,
            serde_json::to_string(&id.to_string()).unwrap(),
            time::format(created)
        );
        Alert::from_raw(RawValue::from_string(text).unwrap()).unwrap()
    }
}

struct SimIncident {
    id: IncidentId,
    created: Timestamp,
    visible_from: Timestamp,
}

/// A service of incidents or alerts with a clock, late visibility, arrivals while a run pages,
/// and failures on cue.
struct Sim<K: SimKind = Incidents> {
    rng: SmallRng,
    now: Timestamp,
    next_id: u64,
    incidents: Vec<SimIncident>,
    lookback: SignedDuration,
    /// Chance that an arrival happens just before a request is answered.
    arrival_chance: f64,
    /// Chance that a request fails.
    failure_chance: f64,
    /// The most incidents a page holds: 100 as the legacy API, 50 as Microsoft Graph.
    page_size: usize,
    /// Chance that a page holds fewer than it could although more follow, as a service that
    /// pages by its own rules (Graph's next links) may answer.
    short_page_chance: f64,
    calls: usize,
    kind: PhantomData<K>,
}

impl<K: SimKind> Sim<K> {
    fn new(seed: u64, now: Timestamp, lookback: SignedDuration) -> Sim<K> {
        Sim {
            rng: SmallRng::seed_from_u64(seed),
            now,
            next_id: 1,
            incidents: Vec::new(),
            lookback,
            arrival_chance: 0.0,
            failure_chance: 0.0,
            page_size: K::PAGE_SIZE,
            short_page_chance: 0.0,
            calls: 0,
            kind: PhantomData,
        }
    }

    /// The same service serving pages of 50 at most, as Microsoft Graph does its incidents.
    fn graph(mut self) -> Sim<K> {
        self.page_size = GRAPH_PAGE_SIZE;
        self
    }

    /// Adds incidents, keeping the list in (createdTime, id) order.
    fn add(&mut self, count: usize, created: Timestamp, visible_from: Timestamp) {
        for _ in 0..count {
            let position = self.incidents.partition_point(|i| i.created <= created);
            self.incidents.insert(
                position,
                SimIncident {
                    id: K::id(self.next_id),
                    created,
                    visible_from,
                },
            );
            self.next_id += 1;
        }
    }

    /// Some incidents created recently: at one instant (a burst, or ties) or spread out, some
    /// of them visible only later, none later than the look-back allows.
    fn arrive(&mut self) {
        let lookback_secs = self.lookback.as_secs().max(1);
        let count = match self.rng.random_range(0..10) {
            0 => self.rng.random_range(100..350),
            1..=3 => self.rng.random_range(2..6),
            _ => 1,
        };
        let same_instant = self.rng.random_bool(0.5);
        let mut created = self.now - SignedDuration::from_millis(self.rng.random_range(0..3000));
        for _ in 0..count {
            if !same_instant {
                created = self.now
                    - SignedDuration::from_nanos(
                        self.rng.random_range(0..5_000_000_000) / 100 * 100,
                    );
            }
            let lag = if self.rng.random_bool(0.2) {
                SignedDuration::from_secs(self.rng.random_range(0..lookback_secs))
            } else {
                SignedDuration::ZERO
            };
            let visible_from = created + lag;
            self.add(1, time::whole_ticks(created), visible_from.max(self.now));
        }
    }

    fn advance(&mut self, seconds: i64) {
        self.now += SignedDuration::from_secs(seconds);
    }

    fn page(&mut self, range: CreatedRange, skip: usize) -> (Vec<K::Item>, bool) {
        let low = self.incidents.partition_point(|i| i.created < range.from);
        let high = range.to.map_or(self.incidents.len(), |to| {
            self.incidents.partition_point(|i| i.created < to)
        });
        let mut incidents: Vec<K::Item> = self.incidents[low..high.max(low)]
            .iter()
            .rev()
            .filter(|i| i.visible_from <= self.now)
            .skip(skip)
            .take(self.page_size + 1)
            .map(|i| K::item(&i.id, i.created))
            .collect();
        let mut size = self.page_size;
        if incidents.len() > 1 && self.rng.random_bool(self.short_page_chance) {
            size = self
                .rng
                .random_range(1..incidents.len().min(self.page_size));
        }
        let more = incidents.len() > size;
        incidents.truncate(size);
        (incidents, more)
    }
}

impl<K: SimKind> FetchSource for Sim<K> {
    type Item = K::Item;

    fn api(&self) -> ApiBackend {
        if self.page_size == LEGACY_PAGE_SIZE && K::PAGE_SIZE == LEGACY_PAGE_SIZE {
            ApiBackend::Legacy
        } else {
            ApiBackend::Graph
        }
    }

    fn host(&self) -> String {
        "https://sim.example".to_owned()
    }

    fn page_size(&self) -> usize {
        self.page_size
    }

    fn limit_to(&mut self, _: Duration) {}

    async fn created_page(
        &mut self,
        range: CreatedRange,
        skip: usize,
    ) -> Result<(Vec<K::Item>, bool), ApiError> {
        self.calls += 1;
        self.now += SignedDuration::from_millis(self.rng.random_range(1..400));
        if self.rng.random_bool(self.arrival_chance) {
            self.arrive();
        }
        if self.rng.random_bool(self.failure_chance) {
            return Err(ApiError::Status {
                status: 503,
                detail: "ServiceUnavailable: injected".to_owned(),
            });
        }
        Ok(self.page(range, skip))
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(future)
}

/// The platform's side: keeps the cursor of every run that emitted something or succeeded,
/// and checks every guarantee on every run.
struct Platform {
    cursor: Map<String, Value>,
    first_fetch: Timestamp,
    limits: FetchLimits,
    emitted: HashMap<IncidentId, usize>,
    runs: usize,
}

impl Platform {
    fn new(first_fetch: Timestamp, max_fetch: usize, lookback: SignedDuration) -> Platform {
        Platform {
            cursor: Map::new(),
            first_fetch,
            limits: FetchLimits {
                max_fetch,
                lookback,
                deadline: None,
            },
            emitted: HashMap::new(),
            runs: 0,
        }
    }

    /// One fetch run; returns how many incidents it emitted and whether the cursor changed.
    fn run<K: SimKind>(&mut self, sim: &mut Sim<K>) -> (usize, bool) {
        let cursor = Cursor::from_last_run(&self.cursor, self.first_fetch)
            .unwrap_or_else(|e| panic!("{e}: {:?}", self.cursor.get("window")));
        let budget = self.limits.request_budget_from(&cursor);
        let before = sim.calls;
        let outcome = block_on(fetch(sim, cursor, self.limits));
        let requests = sim.calls - before;
        assert_eq!(requests, outcome.requests);
        assert!(
            requests <= budget,
            "run {} made {requests} requests",
            self.runs
        );
        assert!(outcome.incidents.len() <= self.limits.max_fetch);
        self.runs += 1;
        if outcome.failure.is_some() && outcome.incidents.is_empty() {
            return (0, false);
        }
        for incident in &outcome.incidents {
            let id = incident.id();
            let count = self.emitted.entry(id.clone()).or_default();
            *count += 1;
            assert_eq!(*count, 1, "incident {id} emitted twice (run {})", self.runs);
        }
        let cursor = outcome.cursor.to_last_run();
        // A look-back pass goes round and round; only the forward state counts as moving.
        let forward = |cursor: &Map<String, Value>| {
            let mut cursor = cursor.clone();
            cursor.shift_remove("lookback");
            cursor
        };
        let moved = forward(&cursor) != forward(&self.cursor);
        self.cursor = cursor;
        let bytes = Value::Object(self.cursor.clone()).to_string().len();
        assert!(bytes < 16 * 1024, "cursor of {bytes} bytes");
        (outcome.incidents.len(), moved)
    }

    /// Runs until many runs in a row neither emit anything nor move the forward cursor (enough
    /// for look-back passes of several pages to go round).
    fn run_until_quiet<K: SimKind>(&mut self, sim: &mut Sim<K>) {
        let mut quiet = 0;
        while quiet < 10 {
            assert!(self.runs < 20_000, "fetch never became quiet");
            match self.run(sim) {
                (0, false) => quiet += 1,
                _ => quiet = 0,
            }
            sim.advance(30);
        }
    }

    fn assert_everything_emitted<K: SimKind>(&self, sim: &Sim<K>) {
        let expected: BTreeSet<&IncidentId> = sim
            .incidents
            .iter()
            .filter(|i| i.created >= self.first_fetch)
            .map(|i| &i.id)
            .collect();
        let emitted: BTreeSet<&IncidentId> = self.emitted.keys().collect();
        let missed: Vec<_> = expected.difference(&emitted).take(20).collect();
        let extra: Vec<_> = emitted.difference(&expected).take(20).collect();
        let described: Vec<String> = sim
            .incidents
            .iter()
            .filter(|i| missed.contains(&&&i.id))
            .map(|i| {
                format!(
                    "{} (created {}, visible {})",
                    i.id,
                    time::format(i.created),
                    time::format(i.visible_from)
                )
            })
            .collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "missed {described:?}, emitted before first_fetch {extra:?}"
        );
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

#[test]
fn drains_a_backlog_oldest_first_in_bounded_runs() {
    let now = at("2025-02-01T00:00:00Z");
    let lookback = SignedDuration::from_mins(10);
    for mut sim in both_services(1, now, lookback) {
        drain_a_backlog(&mut sim, now, lookback);
    }
    drain_a_backlog(&mut Sim::<Alerts>::new(1, now, lookback), now, lookback);
}

fn drain_a_backlog<K: SimKind>(sim: &mut Sim<K>, now: Timestamp, lookback: SignedDuration) {
    let mut rng = SmallRng::seed_from_u64(7);
    for _ in 0..5000 {
        let created = now - SignedDuration::from_secs(rng.random_range(0..30 * 24 * 3600));
        sim.add(1, created, created);
    }
    // Before first_fetch: never emitted.
    sim.add(50, at("2024-12-01T00:00:00Z"), at("2024-12-01T00:00:00Z"));
    let mut platform = Platform::new(at("2025-01-01T00:00:00Z"), 100, lookback);
    let mut previous_newest = None;
    let mut quiet = 0;
    while quiet < 3 {
        let cursor = Cursor::from_last_run(&platform.cursor, platform.first_fetch).unwrap();
        let budget = platform.limits.request_budget_from(&cursor);
        let outcome = block_on(fetch(sim, cursor, platform.limits));
        let times: Vec<Timestamp> = outcome
            .incidents
            .iter()
            .map(|i| i.created().unwrap())
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "oldest first within a run"
        );
        if let (Some(previous), Some(first)) = (previous_newest, times.first()) {
            assert!(previous <= *first, "oldest first across runs");
        }
        previous_newest = times.last().copied().or(previous_newest);
        for incident in &outcome.incidents {
            assert!(platform.emitted.insert(incident.id(), 1).is_none());
        }
        // ⌈100/100⌉ + 2 whatever the page size, 12 in the first run.
        assert!(outcome.requests <= budget);
        assert!(budget == 3 || platform.runs == 0);
        platform.cursor = outcome.cursor.to_last_run();
        platform.runs += 1;
        quiet = if outcome.incidents.is_empty() {
            quiet + 1
        } else {
            0
        };
    }
    platform.assert_everything_emitted(sim);
    // 5000 incidents, 100 a run: 50 runs, a few to find the first ones, three quiet ones; with
    // pages of 50 the same three requests often find fewer than 100.
    let most_runs = if sim.page_size == LEGACY_PAGE_SIZE {
        60
    } else {
        75
    };
    assert!(
        platform.runs <= most_runs,
        "{} runs with pages of {}",
        platform.runs,
        sim.page_size
    );
}

/// The same incidents as the legacy API and as Microsoft Graph serve them.
fn both_services(seed: u64, now: Timestamp, lookback: SignedDuration) -> [Sim; 2] {
    [
        Sim::<Incidents>::new(seed, now, lookback),
        Sim::<Incidents>::new(seed, now, lookback).graph(),
    ]
}

#[test]
fn pages_through_hundreds_of_incidents_created_at_one_instant() {
    let now = at("2025-02-01T00:00:00Z");
    let lookback = SignedDuration::from_mins(10);
    for sim in both_services(2, now, lookback) {
        page_through_one_instant(sim, lookback);
    }
    page_through_one_instant(Sim::<Alerts>::new(2, now, lookback), lookback);
}

fn page_through_one_instant<K: SimKind>(mut sim: Sim<K>, lookback: SignedDuration) {
    let instant = at("2025-01-20T10:00:00.1234567Z");
    sim.add(20, instant - SignedDuration::from_secs(1), instant);
    sim.add(730, instant, instant);
    sim.add(20, instant + TICK, instant);
    sim.add(150, at("2025-01-31T23:59:59Z"), at("2025-01-31T23:59:59Z"));
    let mut platform = Platform::new(at("2025-01-01T00:00:00Z"), 40, lookback);
    platform.run_until_quiet(&mut sim);
    platform.assert_everything_emitted(&sim);
}

#[test]
fn catches_incidents_that_become_visible_late() {
    let now = at("2025-02-01T00:00:00Z");
    let lookback = SignedDuration::from_mins(10);
    for mut sim in both_services(3, now, lookback) {
        sim.add(
            5,
            now - SignedDuration::from_secs(60),
            now - SignedDuration::from_secs(60),
        );
        let mut platform = Platform::new(at("2025-01-01T00:00:00Z"), 10, lookback);
        platform.run_until_quiet(&mut sim);
        // Created now, visible only in nine minutes; meanwhile the frontier moves past it.
        let late = sim.now;
        sim.add(3, late, late + SignedDuration::from_mins(9));
        sim.advance(5);
        sim.add(2, sim.now, sim.now);
        for _ in 0..25 {
            platform.run(&mut sim);
            sim.advance(60);
        }
        platform.assert_everything_emitted(&sim);
    }
}

/// `FETCH_PROPERTY_SEEDS=500 cargo test --release random_streams` tries more streams.
#[test]
fn random_streams_are_emitted_exactly_once() {
    let seeds: u64 = std::env::var("FETCH_PROPERTY_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(12);
    for seed in 0..seeds {
        let now = at("2025-02-01T00:00:00Z");
        let lookback = SignedDuration::from_mins(10);
        for sim in both_services(seed, now, lookback) {
            random_stream(seed, sim, now, lookback);
        }
        random_stream(seed, Sim::<Alerts>::new(seed, now, lookback), now, lookback);
    }
}

fn random_stream<K: SimKind>(seed: u64, mut sim: Sim<K>, now: Timestamp, lookback: SignedDuration) {
    {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0xF00D);
        for _ in 0..rng.random_range(0..400) {
            let created = now - SignedDuration::from_secs(rng.random_range(0..3 * 24 * 3600));
            sim.add(1, created, created);
        }
        sim.arrival_chance = 0.3;
        sim.failure_chance = 0.1;
        if sim.page_size == GRAPH_PAGE_SIZE {
            sim.short_page_chance = 0.1;
        }
        let max_fetch = [5, 10, 25, 50, 100][rng.random_range(0..5)];
        let mut platform = Platform::new(at("2025-01-30T00:00:00Z"), max_fetch, lookback);
        for _ in 0..rng.random_range(20..120) {
            if rng.random_bool(0.5) {
                sim.arrive();
            }
            platform.run(&mut sim);
            // Mostly a run a minute or two; now and then the platform pauses fetching.
            let pause = if rng.random_bool(0.05) {
                3600
            } else {
                rng.random_range(0..120)
            };
            sim.advance(pause);
        }
        sim.arrival_chance = 0.0;
        sim.failure_chance = 0.0;
        sim.short_page_chance = 0.0;
        sim.advance(lookback.as_secs());
        platform.run_until_quiet(&mut sim);
        platform.assert_everything_emitted(&sim);
    }
}

/// 10,000 incidents spread over some days, with or without a quiet stretch between
/// first_fetch and the first of them: the first incidents come within a few runs, and then 100
/// a run.
#[test]
fn finds_the_first_incidents_after_a_quiet_stretch_in_a_few_runs() {
    let now = at("2026-01-15T12:00:00Z");
    let lookback = SignedDuration::from_mins(10);
    let cases = [(0, 30), (1, 30), (7, 3), (60, 1)];
    for (quiet_days, spread_days) in cases {
        for sim in both_services(1, now, lookback) {
            find_the_first_incidents(sim, quiet_days, spread_days);
        }
    }
}

fn find_the_first_incidents(mut sim: Sim, quiet_days: i64, spread_days: i64) {
    let now = sim.now;
    let lookback = sim.lookback;
    {
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..10_000 {
            let ago = rng.random_range(0..spread_days * 24 * 3600);
            let created = now - SignedDuration::from_secs(ago);
            sim.add(1, created, created);
        }
        let first_fetch = now - SignedDuration::from_hours((quiet_days + spread_days) * 24);
        let mut platform = Platform::new(first_fetch, 100, lookback);
        let mut first = None;
        let mut total = 0;
        while total < 10_000 {
            let (emitted, _) = platform.run(&mut sim);
            total += emitted;
            if emitted > 0 {
                first.get_or_insert(platform.runs);
            }
        }
        let label = format!(
            "{quiet_days} quiet days, then {spread_days} days of incidents, pages of {}",
            sim.page_size
        );
        assert!(
            first.is_some_and(|run| run <= 5),
            "{label}: first incidents in run {first:?}"
        );
        // 100 runs of 100; with pages of 50 the same three requests often find fewer than 100.
        let most_runs = if sim.page_size == LEGACY_PAGE_SIZE {
            110
        } else {
            140
        };
        assert!(
            platform.runs <= most_runs,
            "{label}: {} runs",
            platform.runs
        );
    }
}

/// The first run on a backlog of 10,000 spread over 30 days, beginning up to three days after
/// first_fetch: it makes at most 12 requests and emits the max_fetch oldest incidents; later
/// runs keep their bound and emit the rest, each once.
#[test]
fn the_first_run_on_a_large_backlog_emits_its_oldest_incidents() {
    let now = at("2026-01-15T12:00:00Z");
    let lookback = SignedDuration::from_mins(10);
    for (seed, quiet_days) in [(0, 0), (1, 1), (2, 3), (3, 0), (4, 1)] {
        let max_fetch = [100, 10, 50][seed as usize % 3];
        for mut sim in both_services(seed, now, lookback) {
            let mut rng = SmallRng::seed_from_u64(seed);
            for _ in 0..10_000 {
                let created = now - SignedDuration::from_secs(rng.random_range(0..30 * 24 * 3600));
                sim.add(1, created, created);
            }
            let first_fetch = now - SignedDuration::from_hours((30 + quiet_days) * 24);
            let label = format!(
                "seed {seed}, {quiet_days} quiet days, max_fetch {max_fetch}, pages of {}",
                sim.page_size
            );
            let cursor = Cursor::starting_at(first_fetch);
            let outcome = block_on(fetch(
                &mut sim,
                cursor,
                FetchLimits {
                    max_fetch,
                    lookback,
                    deadline: None,
                },
            ));
            assert!(outcome.failure.is_none(), "{label}");
            assert!(
                outcome.requests <= FIRST_RUN_REQUESTS,
                "{label}: {} requests",
                outcome.requests
            );
            let emitted: Vec<Timestamp> = outcome
                .incidents
                .iter()
                .map(|incident| incident.created().unwrap())
                .collect();
            let oldest: Vec<Timestamp> = sim
                .incidents
                .iter()
                .take(max_fetch)
                .map(|i| i.created)
                .collect();
            assert_eq!(emitted, oldest, "{label}");
            let mut platform = Platform::new(first_fetch, max_fetch, lookback);
            for incident in &outcome.incidents {
                platform.emitted.insert(incident.id(), 1);
            }
            platform.cursor = outcome.cursor.to_last_run();
            platform.runs = 1;
            platform.run_until_quiet(&mut sim);
            platform.assert_everything_emitted(&sim);
        }
    }
}

/// Times at the ends of what the cursor accepts, the widest window, the deepest paging
/// position, and incidents created at the end of what a timestamp holds: errors or reads,
/// never an overflow.
#[test]
fn the_extremes_of_the_cursor_and_the_service_do_not_overflow() {
    let lookback = SignedDuration::from_mins(1440);
    let limits = FetchLimits {
        max_fetch: 100,
        lookback,
        deadline: None,
    };
    // The latest time an incident may carry, and the earliest.
    let last_incident = time::LATEST - SignedDuration::from_secs(1);
    let latest = time::format(last_incident);
    let earliest = time::format(time::EARLIEST);
    for (at_end, other_end) in [(&latest, &earliest), (&earliest, &latest)] {
        let last_run = json!({"version": 1, "origin": other_end, "settled": other_end,
            "start": at_end, "window": "PT8784H", "newest": at_end,
            "burst": {"at": at_end, "skip": cursor::MAX_SKIP, "settles": true},
            "lookback": {"from": other_end, "to": at_end, "skip": cursor::MAX_SKIP, "settles": at_end}});
        let cursor = Cursor::from_last_run(last_run.as_object().unwrap(), time::EARLIEST).unwrap();
        let mut sim = Sim::<Incidents>::new(1, last_incident, lookback);
        sim.add(150, last_incident, time::EARLIEST);
        sim.add(150, time::EARLIEST, time::EARLIEST);
        for _ in 0..3 {
            let outcome = block_on(fetch(&mut sim, cursor.clone(), limits));
            assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
            let again = Cursor::from_last_run(&outcome.cursor.to_last_run(), time::EARLIEST);
            assert!(again.is_ok(), "its own cursor: {again:?}");
        }
    }
    let now = at("2025-02-01T00:00:00Z");
    let mut sim = Sim::<Incidents>::new(1, now, lookback);
    sim.add(150, Timestamp::MAX, now);
    sim.add(1, now, now);
    let outcome = block_on(fetch(&mut sim, Cursor::starting_at(time::EARLIEST), limits));
    assert!(
        matches!(&outcome.failure, Some(ApiError::Malformed(message)) if message.contains("createdTime")),
        "{:?}",
        outcome.failure
    );
    assert!(outcome.incidents.is_empty());
}
