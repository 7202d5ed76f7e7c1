//! `fetch-incidents` run by the real binary against the emulator, the way the platform runs it:
//! one process per run, `last_run` and the integration context carried from run to run.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::emulated::{START, Tenant};
use crate::support::{Run, run};

fn start() -> Timestamp {
    START.parse().unwrap()
}

fn iso(time: Timestamp) -> String {
    m365_defender::time::format(time)
}

fn envelope(tenant: &Tenant, params: &Value, last_run: &Value) -> Value {
    json!({
        "command": "fetch-incidents",
        "params": params,
        "last_run": last_run,
        "integration_context": tenant.context,
        "integration_instance": "Microsoft 365 Defender_instance_1",
    })
}

/// The ids of the incidents a run handed over.
fn incident_ids(run: &Run) -> Vec<u64> {
    run.document["incidents"]
        .as_array()
        .map(|incidents| {
            incidents
                .iter()
                .map(|incident| incident["dbotMirrorId"].as_str().unwrap().parse().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// The incident list of the API a logged request went to.
fn list_path(request: &Value) -> &'static str {
    if request["path"]
        .as_str()
        .is_some_and(|path| path.starts_with("/v1.0/"))
    {
        GRAPH_LIST
    } else {
        LEGACY_LIST
    }
}

const LEGACY_LIST: &str = "/api/incidents";
const GRAPH_LIST: &str = "/v1.0/security/incidents";

/// List requests among the emulator's logged requests. A request the client sent again after
/// a 5xx counts once: the failed attempts of a run are one request, since a failure ends it.
fn list_requests(log: &[Value]) -> usize {
    let lists = log
        .iter()
        .filter(|request| request["method"] == "GET" && request["path"] == list_path(request));
    let (answered, failed): (Vec<&Value>, Vec<&Value>) =
        lists.partition(|request| request["status"].as_u64().is_some_and(|s| s < 300));
    answered.len() + failed.len().min(1)
}

fn cursor_bytes(run: &Run) -> usize {
    run.document["last_run"].to_string().len()
}

#[test]
fn fetches_a_backlog_across_runs_as_xsoar_expects_it() {
    let mut tenant = Tenant::start(45);
    let params = tenant.params(json!({
        "first_fetch": "2025-12-01T00:00:00Z",
        "max_fetch": "10",
        "mirror_direction": "Incoming And Outgoing",
        "comment_tag": "CommentToMicrosoft365Defender",
        "incidentType": "Microsoft 365 Defender Incident",
    }));
    let mut last_run = json!({});
    let mut fetched = Vec::new();
    let mut occurred = Vec::new();
    for _ in 0..8 {
        tenant.take_requests();
        let result = tenant.run(envelope(&tenant, &params, &last_run));
        assert_eq!(result.code, 0, "{}", result.document);
        assert!(list_requests(&tenant.take_requests()) <= 3);
        let incidents = result.document["incidents"].as_array().unwrap();
        assert!(incidents.len() <= 10);
        for incident in incidents {
            let id = incident["dbotMirrorId"].as_str().unwrap();
            assert_eq!(
                incident["name"],
                json!(format!("Microsoft 365 Defender {id}"))
            );
            assert_eq!(incident["type"], "Microsoft 365 Defender Incident");
            let raw: Value = serde_json::from_str(incident["rawJSON"].as_str().unwrap()).unwrap();
            assert_eq!(raw["incidentId"].to_string(), id);
            assert_eq!(incident["occurred"], raw["createdTime"]);
            let severity = match raw["severity"].as_str().unwrap() {
                "Informational" => json!(0.5),
                "Low" => json!(1),
                "Medium" => json!(2),
                "High" => json!(3),
                _ => json!(0),
            };
            assert_eq!(incident["severity"], severity);
            for field in [
                "Categories",
                "Impacted entities",
                "Active alerts",
                "Service sources",
                "Detection sources",
                "First activity",
                "Last activity",
                "Devices",
                "Mailboxes",
            ] {
                assert!(raw.get(field).is_some(), "{field} missing from rawJSON");
            }
            assert_eq!(raw["mirror_direction"], "Both");
            assert_eq!(raw["mirror_instance"], "Microsoft 365 Defender_instance_1");
            assert_eq!(raw["mirror_tags"], json!(["CommentToMicrosoft365Defender"]));
            occurred.push(
                incident["occurred"]
                    .as_str()
                    .unwrap()
                    .parse::<Timestamp>()
                    .unwrap(),
            );
            fetched.push(id.parse::<u64>().unwrap());
        }
        last_run = result.document["last_run"].clone();
        assert!(last_run.is_object());
    }
    // The seeded ids are 1 + creation order: all 45, oldest first, each once.
    let mut sorted = fetched.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 45);
    assert!(
        occurred.windows(2).all(|pair| pair[0] <= pair[1]),
        "oldest first"
    );
}

/// What the platform does with one run's answer: keep the cursor of a successful run, and
/// the old one after a failure.
struct Platform {
    params: Value,
    last_run: Value,
    emitted: HashMap<u64, usize>,
    budget: usize,
}

impl Platform {
    /// The most list requests the next run may make: 12 while the cursor has not seen an
    /// incident yet (a first run searching a backlog), else ⌈max_fetch/100⌉ + 2.
    fn next_budget(&self) -> usize {
        if self.last_run.get("newest").is_none() {
            self.budget.max(12)
        } else {
            self.budget
        }
    }

    fn accept(&mut self, result: &Run) -> (usize, bool) {
        if result.code != 0 {
            assert_eq!(result.document["results"][0]["Type"], 4);
            assert!(result.document.get("last_run").is_none());
            assert!(result.document.get("incidents").is_none());
            return (0, false);
        }
        let ids = incident_ids(result);
        for id in &ids {
            let count = self.emitted.entry(*id).or_default();
            *count += 1;
            assert_eq!(*count, 1, "incident {id} was fetched twice");
        }
        assert!(cursor_bytes(result) < 16 * 1024);
        let mut before = self.last_run.clone();
        let mut after = result.document["last_run"].clone();
        for cursor in [&mut before, &mut after] {
            if let Some(cursor) = cursor.as_object_mut() {
                cursor.remove("lookback");
            }
        }
        self.last_run = result.document["last_run"].clone();
        (ids.len(), before != after)
    }

    fn run(&mut self, tenant: &mut Tenant) -> (usize, bool) {
        tenant.take_requests();
        let budget = self.next_budget();
        let result = tenant.run(envelope(tenant, &self.params, &self.last_run));
        let requests = list_requests(&tenant.take_requests());
        assert!(requests <= budget, "{requests} list requests in one run");
        self.accept(&result)
    }

    fn run_until_quiet(&mut self, tenant: &mut Tenant) {
        let mut quiet = 0;
        let mut runs = 0;
        while quiet < 5 {
            runs += 1;
            assert!(runs < 500, "fetch never became quiet");
            match self.run(tenant) {
                (0, false) => quiet += 1,
                _ => quiet = 0,
            }
            tenant.advance_clock(30);
        }
    }
}

/// Random streams of incidents — a backlog, bursts of hundreds at one createdTime, ties,
/// incidents visible up to the look-back late, arrivals while a run pages, 5xx on some page —
/// fetched run after run until quiet: every incident exactly once, at most ⌈max_fetch/100⌉ + 2
/// list requests a run (12 in the first), `last_run` under 16 KB. One seed each through the
/// real binary (the in-process property test in `src/fetch/tests.rs` covers many more);
/// `FETCH_STREAM_SEEDS=n` runs n seeds from this one.
#[test]
fn random_streams_are_fetched_exactly_once() {
    random_streams("Legacy Defender API", LEGACY_LIST, 0);
}

/// The same through Microsoft Graph, whose pages hold 50, with the same bound.
#[test]
fn random_streams_are_fetched_exactly_once_through_microsoft_graph() {
    random_streams("Microsoft Graph", GRAPH_LIST, 2);
}

fn random_streams(backend: &str, list: &str, first_seed: u64) {
    let seeds = std::env::var("FETCH_STREAM_SEEDS")
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(1);
    for seed in first_seed..first_seed + seeds {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut tenant = Tenant::start(0);
        let mut now = start();
        let first_fetch = now - SignedDuration::from_hours(48);
        let max_fetch = [10, 50, 100][seed as usize % 3];
        let mut platform = Platform {
            params: tenant.params(json!({
                "first_fetch": iso(first_fetch),
                "max_fetch": max_fetch.to_string(),
                "fetch_lookback": "10",
                "api_backend": backend,
            })),
            last_run: json!({}),
            emitted: HashMap::new(),
            budget: usize::div_ceil(max_fetch, 100) + 2,
        };
        let mut expected = BTreeSet::new();
        // Too old: never fetched.
        tenant.add_incidents(
            json!({"count": 3, "created_time": iso(first_fetch - SignedDuration::from_hours(1))}),
        );
        for _ in 0..rng.random_range(50..150) {
            let created = now - SignedDuration::from_secs(rng.random_range(0..47 * 3600));
            expected.extend(tenant.add_incidents(json!({"created_time": iso(created)})));
        }
        for step in 0..25 {
            // Arrivals since the last run.
            for _ in 0..rng.random_range(0..3) {
                let created = now - SignedDuration::from_millis(rng.random_range(0..60_000));
                let (count, late) = match rng.random_range(0..10) {
                    0 => (rng.random_range(100..250), 0),
                    1..=3 => (rng.random_range(2..6), 0),
                    4..=5 => (1, rng.random_range(30..600)),
                    _ => (1, 0),
                };
                expected.extend(tenant.add_incidents(json!({
                    "count": count,
                    "created_time": iso(created),
                    "visible_after_seconds": late,
                })));
            }
            if rng.random_bool(0.12) {
                tenant.fail_after(list, rng.random_range(0..3), 503);
            }
            tenant.take_requests();
            let budget = platform.next_budget();
            let envelope = envelope(&tenant, &platform.params, &platform.last_run);
            let result = if step % 3 == 0 {
                // Arrivals while the run pages.
                let runner = std::thread::spawn(move || run(&envelope));
                for _ in 0..3 {
                    expected.extend(
                        tenant.add_incidents(json!({"count": 2, "created_time": iso(now)})),
                    );
                }
                runner.join().unwrap()
            } else {
                run(&envelope)
            };
            tenant.keep_context(&result);
            let log = tenant.take_requests();
            assert!(
                log.iter().any(|request| request["path"] == list),
                "no list request to {list}"
            );
            let requests = list_requests(&log);
            assert!(requests <= budget, "{requests} list requests in one run");
            platform.accept(&result);
            tenant.clear_faults();
            let pause = rng.random_range(0..120);
            tenant.advance_clock(pause);
            now += SignedDuration::from_secs(pause);
        }
        // Everything late is visible after one more look-back.
        tenant.advance_clock(11 * 60);
        platform.run_until_quiet(&mut tenant);
        let emitted: BTreeSet<u64> = platform.emitted.keys().copied().collect();
        let missed: Vec<_> = expected.difference(&emitted).collect();
        let extra: Vec<_> = emitted.difference(&expected).collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{backend}, seed {seed}: missed {missed:?}, fetched though older than first_fetch {extra:?}"
        );
    }
}

/// A backlog the first run cannot page through from the newest end: twice what its 12 list
/// requests read at the legacy API's 100 a page (and four times at Graph's 50), so it must
/// search where the backlog begins. The in-process tests of src/fetch/tests.rs search backlogs
/// of 10,000; every incident here passes through the real binary, so the drain costs seconds
/// per thousand.
const LARGE_BACKLOG: usize = 2 * 12 * 100;

/// The first run on a [`LARGE_BACKLOG`] (30 days of incidents, first_fetch a day before the
/// oldest) hands over the max_fetch oldest, with at most 12 list requests, on either API; the
/// later runs keep to ⌈max_fetch/100⌉ + 2 and together hand over every incident once (drained
/// through the legacy API only, to keep the test short: the simulated streams of
/// src/fetch/tests.rs drain through both).
#[test]
fn the_first_run_on_a_large_backlog_fetches_max_fetch_oldest_first() {
    for backend in ["Legacy Defender API", "Microsoft Graph"] {
        let backlog = LARGE_BACKLOG;
        let mut tenant = Tenant::start(backlog);
        let mut platform = Platform {
            params: tenant.params(json!({
                "first_fetch": iso(start() - SignedDuration::from_hours(31 * 24)),
                "max_fetch": "100",
                "api_backend": backend,
            })),
            last_run: json!({}),
            emitted: HashMap::new(),
            budget: 3,
        };
        tenant.take_requests();
        let first = tenant.run(envelope(&tenant, &platform.params, &platform.last_run));
        assert_eq!(first.code, 0, "{}", first.document);
        let requests = list_requests(&tenant.take_requests());
        assert!(
            requests <= 12,
            "{backend}: {requests} list requests in the first run"
        );
        let first_ids = incident_ids(&first);
        assert_eq!(first_ids.len(), 100, "{backend}");
        let occurred: Vec<Timestamp> = first.document["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|incident| incident["occurred"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(occurred.is_sorted(), "{backend}: oldest first");
        platform.accept(&first);
        if backend != "Legacy Defender API" {
            continue;
        }
        platform.run_until_quiet(&mut tenant);
        // Seeded ids follow creation order: the first run had the smallest.
        let mut all: Vec<u64> = platform.emitted.keys().copied().collect();
        all.sort_unstable();
        assert_eq!(all.len(), backlog, "{backend}");
        assert_eq!(all[..100], first_ids[..], "{backend}");
    }
}

#[test]
fn a_failed_run_keeps_the_old_cursor_and_a_run_failing_after_emitting_keeps_its_incidents() {
    let mut tenant = Tenant::start(0);
    let now = start();
    let mut expected = Vec::new();
    for minutes_ago in (1..=300).rev() {
        let created = now - SignedDuration::from_mins(minutes_ago);
        expected.extend(tenant.add_incidents(json!({"created_time": iso(created)})));
    }
    let mut platform = Platform {
        params: tenant.params(json!({
            "first_fetch": iso(now - SignedDuration::from_mins(301)),
            "max_fetch": "100",
        })),
        last_run: json!({}),
        emitted: HashMap::new(),
        budget: 3,
    };
    // The first list request fails: nothing fetched, an error, no last_run.
    tenant.fail_after("/api/incidents", 0, 503);
    let result = tenant.run(envelope(&tenant, &platform.params, &platform.last_run));
    result.assert_failed(1, "[503]");
    platform.accept(&result);
    tenant.clear_faults();
    // Runs that fail on their second or third page hand over what they fetched before.
    let mut partial_runs = 0;
    for pass in [1, 2, 1, 2] {
        tenant.fail_after("/api/incidents", pass, 500);
        let result = tenant.run(envelope(&tenant, &platform.params, &platform.last_run));
        tenant.clear_faults();
        if result.code == 0 && !incident_ids(&result).is_empty() {
            partial_runs += 1;
        }
        platform.accept(&result);
    }
    assert!(partial_runs > 0, "no run failed after emitting");
    platform.run_until_quiet(&mut tenant);
    let emitted: BTreeSet<u64> = platform.emitted.keys().copied().collect();
    assert_eq!(emitted, expected.into_iter().collect());
}

#[test]
fn a_run_near_its_timeout_returns_what_it_has() {
    let mut tenant = Tenant::start(0);
    let now = start();
    for minutes_ago in (1..=250).rev() {
        tenant.add_incidents(
            json!({"created_time": iso(now - SignedDuration::from_mins(minutes_ago))}),
        );
    }
    let params = tenant.params(json!({
        "first_fetch": iso(now - SignedDuration::from_mins(251)),
        "max_fetch": "100",
        "fetch_timeout": "4",
    }));
    // Sign in first, so that the slow answer is the only thing that takes time.
    let warm_up =
        tenant.run(json!({"command": "microsoft-365-defender-auth-test", "params": params}));
    assert_eq!(warm_up.code, 0, "{}", warm_up.document);
    // 4 s budget, 1 s margin, no request started with less than 2 s left: the shortest budget
    // with room for two requests. After a second answer that takes 1.5 s no request fits any
    // more (the first only finds out how dense the backlog is).
    tenant.control(
        "POST",
        "/_emulator/faults",
        json!([
            {"method": "GET", "path": "/api/incidents", "delay_ms": 0},
            {"method": "GET", "path": "/api/incidents", "delay_ms": 1500}
        ]),
    );
    tenant.take_requests();
    let result = tenant.run(envelope(&tenant, &params, &json!({})));
    assert_eq!(result.code, 0, "{}", result.document);
    assert!(list_requests(&tenant.take_requests()) <= 2);
    let first = incident_ids(&result);
    assert!(!first.is_empty());
    // The next run continues where that one stopped.
    let next = tenant.run(envelope(&tenant, &params, &result.document["last_run"]));
    let second = incident_ids(&next);
    assert!(!second.is_empty());
    assert!(first.iter().all(|id| !second.contains(id)));
    assert!(first.iter().max() < second.iter().min());
    // An answer slower than the whole budget fails the run, which hands over nothing.
    tenant.control(
        "POST",
        "/_emulator/faults",
        json!({"method": "GET", "path": "/api/incidents", "delay_ms": 4000}),
    );
    let timed_out = tenant.run(envelope(&tenant, &params, &next.document["last_run"]));
    timed_out.assert_failed(1, "no answer within");
    assert!(timed_out.document.get("last_run").is_none());
}

#[test]
fn takes_over_the_xsoar_integrations_last_run() {
    let mut tenant = Tenant::start(0);
    let now = start();
    let old = tenant.add_incidents(
        json!({"count": 3, "created_time": iso(now - SignedDuration::from_hours(3))}),
    );
    let queued = tenant.add_incidents(
        json!({"count": 2, "created_time": iso(now - SignedDuration::from_hours(2))}),
    );
    let newer = tenant.add_incidents(
        json!({"count": 2, "created_time": iso(now - SignedDuration::from_hours(1))}),
    );
    let params = tenant.params(json!({
        "first_fetch": iso(now - SignedDuration::from_hours(72)),
        "max_fetch": "50",
    }));
    let legacy = json!({
        "last_run": iso(now - SignedDuration::from_hours(2)),
        "incidents_queue": queued.iter().map(|id| json!({
            "name": format!("Microsoft 365 Defender {id}"),
            "occurred": iso(now - SignedDuration::from_hours(2)),
            "rawJSON": "{}",
        })).collect::<Vec<_>>(),
    });
    let result = tenant.run(envelope(&tenant, &params, &legacy));
    assert_eq!(result.code, 0, "{}", result.document);
    let ids = incident_ids(&result);
    assert!(
        old.iter().all(|id| !ids.contains(id)),
        "already fetched by the old integration"
    );
    assert!(queued.iter().chain(&newer).all(|id| ids.contains(id)));
    assert_eq!(result.document["last_run"]["version"], 1);
}

#[test]
fn a_cursor_it_cannot_read_is_an_error_that_keeps_it() {
    let mut tenant = Tenant::start(0);
    let params = tenant.params(json!({}));
    let result = tenant.run(envelope(&tenant, &params, &json!({"version": 9})));
    result.assert_failed(1, "Reset the last run");
    assert!(result.document.get("last_run").is_none());
}

/// Numbers from outside — a cursor near the year 9999 or before 1970, paging positions and
/// windows out of range, params at the ends of a 64-bit integer — are refused with an error
/// that names the field (exit 1, no `last_run`, so the platform keeps its cursor) or held at
/// their documented limit; never a panic.
#[test]
fn numbers_out_of_range_in_the_cursor_or_params_are_errors_not_panics() {
    let mut tenant = Tenant::start(20);
    let params = tenant.params(json!({"first_fetch": "2025-12-01T00:00:00Z"}));
    let cursor = |field: &str, value: Value| {
        let mut cursor = json!({"version": 1, "origin": "2025-12-01T00:00:00Z",
            "settled": "2025-12-01T00:00:00Z", "start": "2025-12-01T00:00:00Z"});
        cursor[field] = value;
        cursor
    };
    for (last_run, field) in [
        (
            cursor("start", json!("9999-12-31T23:59:59.9999999Z")),
            "`start`",
        ),
        (
            cursor("newest", json!("9999-12-31T23:59:59.9999999Z")),
            "`newest`",
        ),
        (
            json!({"version": 1, "origin": "2025-12-01T00:00:00Z", "settled": "9999-12-31T23:00:00Z",
                "start": "9999-12-31T23:00:00Z", "newest": "9999-12-31T23:59:59Z", "window": "PT2H"}),
            "`settled`",
        ),
        (
            cursor("settled", json!("0001-01-01T00:00:00Z")),
            "`settled`",
        ),
        (cursor("window", json!("PT9999999999999999H")), "`window`"),
        (
            cursor(
                "burst",
                json!({"at": "2025-12-01T00:00:00Z", "skip": u64::MAX, "settles": true}),
            ),
            "`burst.skip`",
        ),
        (
            cursor(
                "burst",
                json!({"at": "2025-12-01T00:00:00Z", "skip": -1, "settles": true}),
            ),
            "`burst.skip`",
        ),
        (
            json!({"last_run": "9999-12-31T23:59:59.9999999Z", "incidents_queue": []}),
            "`last_run`",
        ),
    ] {
        let result = tenant.run(envelope(&tenant, &params, &last_run));
        result.assert_failed(1, field);
        assert!(
            result.message().contains("Reset the last run"),
            "{}",
            result.message()
        );
        assert_eq!(result.document["results"][0]["Type"], 4);
        assert!(result.document.get("last_run").is_none());
        assert!(!result.stderr.contains("panicked"), "{}", result.stderr);
    }
    let huge = "9223372036854775807";
    for (param, value) in [
        ("first_fetch", "9999-12-31T23:59:59Z"),
        ("first_fetch", "1e309"),
        ("first_fetch", huge),
        ("max_fetch", "-9223372036854775808"),
        ("max_fetch", "1e309"),
        ("fetch_timeout", "-1"),
        ("fetch_lookback", huge),
    ] {
        let params = tenant.params(json!({param: value}));
        let result = tenant.run(envelope(&tenant, &params, &json!({})));
        result.assert_failed(1, &format!("`{param}`"));
        assert!(result.document.get("last_run").is_none());
        assert!(!result.stderr.contains("panicked"), "{}", result.stderr);
    }
    // Held at their limits: 100 incidents a run, a day at most.
    let params = tenant.params(json!({"first_fetch": "2025-12-01T00:00:00Z",
        "max_fetch": huge, "fetch_timeout": huge}));
    let result = tenant.run(envelope(&tenant, &params, &json!({})));
    assert_eq!(result.code, 0, "{}", result.document);
    assert_eq!(incident_ids(&result).len(), 20);
}

/// `scripts/bench-fetch.sh`: a backlog of 10,000 incidents drained with max_fetch 100, through
/// the API named by `BENCH_API_BACKEND` (the legacy API unless it says `Microsoft Graph`).
#[test]
#[ignore = "a benchmark; scripts/bench-fetch.sh runs it"]
fn bench_fetch_backlog() {
    let backlog = 10_000;
    let backend =
        std::env::var("BENCH_API_BACKEND").unwrap_or_else(|_| "Legacy Defender API".to_owned());
    let mut tenant = Tenant::start(backlog);
    let params = tenant.params(json!({
        "first_fetch": iso(start() - SignedDuration::from_hours(31 * 24)),
        "max_fetch": "100",
        "api_backend": backend,
    }));
    let mut last_run = json!({});
    let mut fetched = BTreeSet::new();
    let mut rows = Vec::new();
    let mut quiet = 0;
    let began = Instant::now();
    while quiet < 2 {
        tenant.take_requests();
        let clock = Instant::now();
        let result = tenant.run(envelope(&tenant, &params, &last_run));
        let wall = clock.elapsed();
        assert_eq!(result.code, 0, "{}", result.document);
        let requests = list_requests(&tenant.take_requests());
        let ids = incident_ids(&result);
        for id in &ids {
            assert!(fetched.insert(*id), "{id} twice");
        }
        let moved = result.document["last_run"] != last_run;
        quiet = if ids.is_empty() && !moved {
            quiet + 1
        } else {
            0
        };
        last_run = result.document["last_run"].clone();
        rows.push((ids.len(), requests, wall, last_run.to_string().len()));
    }
    let total = began.elapsed();
    assert_eq!(fetched.len(), backlog);
    println!(
        "backlog {backlog} incidents, max_fetch 100, {backend}: {} runs, the last 2 finding nothing new",
        rows.len()
    );
    println!("run  fetched  list requests  wall ms  last_run bytes");
    for (index, (count, requests, wall, bytes)) in rows.iter().enumerate() {
        if index < 5
            || index + 5 >= rows.len()
            || index % 20 == 0
            || std::env::var_os("BENCH_ALL_RUNS").is_some()
        {
            println!(
                "{index:>3}  {count:>7}  {requests:>13}  {:>7.1}  {bytes:>14}",
                wall.as_secs_f64() * 1000.0
            );
        }
    }
    let max_requests = rows.iter().map(|row| row.1).max().unwrap_or(0);
    let total_requests: usize = rows.iter().map(|row| row.1).sum();
    let max_bytes = rows.iter().map(|row| row.3).max().unwrap_or(0);
    let mut walls: Vec<f64> = rows
        .iter()
        .map(|row| row.2.as_secs_f64() * 1000.0)
        .collect();
    walls.sort_by(f64::total_cmp);
    println!(
        "list requests: {total_requests} in all, at most {max_requests} a run; wall per run: median {:.1} ms, max {:.1} ms; last_run at most {max_bytes} bytes; total {:.1} s",
        walls[walls.len() / 2],
        walls[walls.len() - 1],
        total.as_secs_f64()
    );
}
