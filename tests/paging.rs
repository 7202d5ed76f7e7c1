//! Paging against a hostile server: answers that announce more results forever (an empty page
//! with an `@odata.nextLink`, a link back to the same page, a `$skip` the server ignores) must end
//! every paging loop with an error that names its bound, on both backends. The server is the
//! emulator with a fault that answers every list request with one fixed page; each run of the
//! binary is killed after a while, so a loop that does not end fails its test instead of hanging
//! the suite.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{EmulatorSettings, Run, RunningEmulator, run_bytes_within};

/// Longer than any bounded loop here takes, far shorter than a loop that never ends.
const KILL_AFTER: Duration = Duration::from_secs(20);

const LEGACY_LIST: &str = "/api/incidents";
const GRAPH_LIST: &str = "/v1.0/security/incidents";

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Legacy,
    Graph,
}

impl Backend {
    fn list_path(self) -> &'static str {
        match self {
            Backend::Legacy => LEGACY_LIST,
            Backend::Graph => GRAPH_LIST,
        }
    }

    /// One incident in the backend's own shape.
    fn incident(self, id: u64) -> Value {
        match self {
            Backend::Legacy => json!({
                "incidentId": id, "incidentName": "Hostile", "createdTime": "2026-01-10T00:00:00Z",
                "lastUpdateTime": "2026-01-10T00:00:00Z", "status": "Active", "severity": "High",
                "tags": [], "comments": [], "alerts": []
            }),
            Backend::Graph => json!({
                "id": id.to_string(), "displayName": "Hostile",
                "createdDateTime": "2026-01-10T00:00:00Z",
                "lastUpdateDateTime": "2026-01-10T00:00:00Z", "status": "active",
                "severity": "high", "customTags": [], "comments": [], "alerts": []
            }),
        }
    }

    /// A page of `ids`, with a next link when `next` is given.
    fn page(self, ids: impl IntoIterator<Item = u64>, next: Option<&str>) -> String {
        let mut page =
            json!({"value": ids.into_iter().map(|id| self.incident(id)).collect::<Vec<_>>()});
        if let Some(next) = next {
            page["@odata.nextLink"] = json!(next);
        }
        page.to_string()
    }

    /// A next link to the first page again (relative: the client resolves it against its base).
    fn link_back(self) -> String {
        match self {
            Backend::Legacy => format!("{LEGACY_LIST}?$top=100&$skip=0"),
            Backend::Graph => format!("{GRAPH_LIST}?$expand=alerts&$top=50&$skip=0"),
        }
    }
}

struct Hostile {
    emulator: RunningEmulator,
    backend: Backend,
}

impl Hostile {
    fn start(backend: Backend) -> Hostile {
        Hostile {
            emulator: RunningEmulator::start(&EmulatorSettings::default()),
            backend,
        }
    }

    /// Every list request from now on is answered with `body`, after `delay_ms`.
    fn always_answer(&self, body: String, delay_ms: u64) {
        self.emulator.call(
            "POST",
            "/_emulator/faults",
            Some(&json!({
                "method": "GET", "path": self.backend.list_path(), "body": body,
                "delay_ms": delay_ms, "times": 1_000_000
            })),
        );
    }

    fn run(&self, command: &str, args: Value) -> Run {
        let mut params = self.emulator.client_secret_params();
        if self.backend == Backend::Graph {
            params["api_backend"] = json!("Microsoft Graph");
        }
        run_bounded(&json!({"command": command, "args": args, "params": params}))
    }

    /// How many list requests reached the server.
    fn list_requests(&self) -> usize {
        let log = self.emulator.call("GET", "/_emulator/requests", None);
        log.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["path"] == self.backend.list_path())
            .count()
    }
}

/// Runs the binary on `envelope`, killing it after [`KILL_AFTER`]: a paging loop that never
/// ends fails the test here.
fn run_bounded(envelope: &Value) -> Run {
    run_bytes_within(envelope.to_string().as_bytes(), &[], &[], KILL_AFTER)
}

const LIST: &str = "microsoft-365-defender-incidents-list";
const MODIFIED: &str = "get-modified-remote-data";

fn modified_args() -> Value {
    json!({"lastUpdate": "2026-01-01T00:00:00Z"})
}

// --- incidents-list

#[test]
fn a_list_of_empty_pages_with_next_links_stops_at_its_page_cap() {
    let caps = [
        (Backend::Legacy, 4, "(⌈120/100⌉ + 2)"),
        (Backend::Graph, 5, "(⌈120/50⌉ + 2)"),
    ];
    for (backend, cap, formula) in caps {
        let hostile = Hostile::start(backend);
        hostile.always_answer(backend.page([], Some(&backend.link_back())), 0);
        let result = hostile.run(LIST, json!({"limit": "120"}));
        result.assert_failed(
            1,
            &format!(
                "page after page announced more results, so listing stopped after {cap} pages"
            ),
        );
        result.assert_failed(1, formula);
        assert_eq!(hostile.list_requests(), cap);
    }
}

#[test]
fn a_next_link_back_to_the_same_page_stops_the_list() {
    for backend in [Backend::Legacy, Backend::Graph] {
        let hostile = Hostile::start(backend);
        hostile.always_answer(backend.page([7, 8], Some(&backend.link_back())), 0);
        let result = hostile.run(LIST, json!({"limit": "50"}));
        result.assert_failed(1, "page 2 held only incidents already read");
        assert_eq!(hostile.list_requests(), 2);
    }
}

#[test]
fn a_full_page_repeated_whatever_the_skip_stops_the_list() {
    // The legacy API pages by `$skip` when it sends no link: a server that ignores it sends the
    // first page again and again.
    let hostile = Hostile::start(Backend::Legacy);
    hostile.always_answer(Backend::Legacy.page(1..=100, None), 0);
    let result = hostile.run(LIST, json!({"limit": "300"}));
    result.assert_failed(1, "page 2 held only incidents already read");
    assert_eq!(hostile.list_requests(), 2);
}

#[test]
fn a_list_ends_at_its_timeout_while_pages_keep_coming() {
    let hostile = Hostile::start(Backend::Graph);
    hostile.always_answer(
        Backend::Graph.page([], Some(&Backend::Graph.link_back())),
        400,
    );
    // 102 pages of 400 ms would take 41 s: the 1 s timeout must end the list long before.
    let started = Instant::now();
    let result = hostile.run(LIST, json!({"limit": "10000", "timeout": "1"}));
    result.assert_failed(1, "did not answer within the command's timeout of 1 second");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

// --- get-modified-remote-data

#[test]
fn modified_ids_stop_at_the_page_cap_when_empty_pages_keep_linking_on() {
    for backend in [Backend::Legacy, Backend::Graph] {
        let hostile = Hostile::start(backend);
        hostile.always_answer(backend.page([], Some(&backend.link_back())), 0);
        let result = hostile.run(MODIFIED, modified_args());
        result.assert_failed(1, "skip update - ");
        result.assert_failed(1, "listing stopped after 100 pages");
        assert_eq!(hostile.list_requests(), 100);
    }
}

#[test]
fn modified_ids_stop_when_the_server_ignores_skip() {
    for (backend, page_size) in [(Backend::Legacy, 100), (Backend::Graph, 50)] {
        let hostile = Hostile::start(backend);
        hostile.always_answer(backend.page(1..=page_size, None), 0);
        let result = hostile.run(MODIFIED, modified_args());
        result.assert_failed(1, "skip update - ");
        result.assert_failed(1, "page 2 held only incidents already read");
        assert_eq!(hostile.list_requests(), 2);
    }
}
