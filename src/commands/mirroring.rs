//! Incident mirroring: the commands XSOAR's mirroring engine calls to keep an incident in step
//! on both sides. Their answers take the shapes that engine consumes, not war-room entries, and
//! their failures the wording it acts on ("skip update", "API rate limit", `in_mirror_error`;
//! xsoar.pan.dev/docs/integrations/mirroring_integration).
//!
//! Close and reopen: Defender keeps no history of an incident's status, and `get-remote-data`
//! is called for every change (a new comment, a tag). To send a close entry only when an incident
//! became Resolved, and a reopen entry only when it went from Resolved back to active, the
//! integration context keeps the ids of the incidents mirroring last saw Resolved
//! (`mirror_resolved_ids`, as ranges; Microsoft Graph's text ids, if any, as a list under
//! `mirror_resolved_text_ids`): Resolved and not in it → close entry and remember; not
//! Resolved and in it → reopen entry and forget. Closing from the platform (`close_out`)
//! remembers the id too, so the resolution it causes does not come back as a second close.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::close_reasons::CloseReasonMapping;
use super::{CommandSpec, Invocation, Outcome, declared, offline};
use crate::api::incidents::IncidentChanges;
use crate::api::paging::{Items, PageBound};
use crate::api::{Api, ApiError, IncidentId, IncidentsBackend};
use crate::args::{FromArgs, GivenArgs, IncidentIdArgument, NumberRange};
use crate::auth::Session;
use crate::config::MirrorSettings;
use crate::error::{ArgumentError, Error, ShownValue};
use crate::fetch::id_set::IdSet;
use crate::fetch::platform::with_summary_fields;
use crate::fetch::reads::{self, within};
use crate::http::host_of;
use crate::output::{MirrorEntry, ResultItem};
use crate::time;

/// The mirroring commands, which the platform calls on its own schedule.
pub(super) const COMMANDS: &[CommandSpec] = &[
    declared("get-modified-remote-data", modified_ids_command),
    declared("get-remote-data", remote_data_command),
    declared("update-remote-system", update_remote_command),
    offline("get-mapping-fields", |_| mapping_fields()),
];

online_handlers! {
    modified_ids_command(args: ModifiedIdsArgs, _invocation, session) =>
        modified_ids(&args, session).await;
    remote_data_command(args: RemoteDataArgs, invocation, session) =>
        remote_data(&args, invocation, session).await;
    update_remote_command(args: UpdateRemoteArgs, invocation, session) =>
        update_remote(&args, invocation, session).await;
}

/// The mirroring scheme's name; XSOAR's outgoing mapper refers to it.
const SCHEME: &str = "Microsoft 365 Defender Incident";

/// What comments written by this integration end with, so that mirroring does not bring them
/// back in (the XSOAR integration's marker, kept so both recognise each other's comments).
const MIRRORED_MARKER: &str = "Mirrored from Cortex XSOAR";

/// Each mirroring request gets this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// `get-mapping-fields`: the incident fields an outgoing mapper may set, with the descriptions
/// the XSOAR integration shows for them.
pub fn mapping_fields() -> Outcome {
    Outcome::single(ResultItem::Raw(json!({
        SCHEME: {
            "status": "Specifies the current status of the incident.",
            "assignedTo": "Owner of the incident.",
            "classification": "Specification of the incident.",
            "determination": "Specifies the determination of the incident.",
            "tags": "List of Incident tags.",
            "comment": "Comment to be added to the incident."
        }
    })))
}

/// The most pages `get-modified-remote-data` reads: 10,000 changed incidents on the legacy API
/// (pages of 100), 5,000 on Microsoft Graph (pages of 50). A service that announces more after
/// that is not ending its list.
const MODIFIED_IDS_MAX_PAGES: usize = 100;

/// How long `get-modified-remote-data` may take, all pages together.
const MODIFIED_IDS_TIMEOUT: Duration = Duration::from_secs(120);

/// The arguments of `get-modified-remote-data`.
pub struct ModifiedIdsArgs {
    /// Read against the clock when the command runs.
    pub last_update: Option<String>,
}

impl FromArgs for ModifiedIdsArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<ModifiedIdsArgs, ArgumentError> {
        Ok(ModifiedIdsArgs {
            last_update: args.text("lastUpdate")?,
        })
    }
}

/// `get-modified-remote-data`: the ids of the incidents changed after `lastUpdate`, all pages
/// (at most [`MODIFIED_IDS_MAX_PAGES`], within [`MODIFIED_IDS_TIMEOUT`]).
pub async fn modified_ids(
    args: &ModifiedIdsArgs,
    session: &mut Session<'_>,
) -> Result<Outcome, Error> {
    let text = args.last_update.as_deref().ok_or(ArgumentError::Missing {
        name: "lastUpdate".to_owned(),
    })?;
    let after = point_in_time("lastUpdate", text)?;
    let endpoints = &session.config().endpoints;
    let (api, host) = (endpoints.backend, host_of(&endpoints.api_base));
    let deadline = Instant::now() + MODIFIED_IDS_TIMEOUT;
    let ids = changed_ids(&mut Api::new(session, REQUEST_TIMEOUT), after, deadline)
        .await
        .map_err(|error| match error {
            ListingError::Api(error) if is_rate_limit(&error) => Error::MirrorRateLimited(error),
            ListingError::Api(error) => Error::MirrorSkipUpdate(error),
            ListingError::OutOfTime => Error::MirrorSkipUpdate(ApiError::ListingTimedOut {
                api,
                host,
                seconds: MODIFIED_IDS_TIMEOUT.as_secs(),
            }),
        })?;
    let ids = ids.iter().map(|id| json!(id.to_string())).collect();
    Ok(Outcome::single(ResultItem::Mirror(MirrorEntry::json(
        Value::Array(ids),
    ))))
}

/// Why listing the changed incidents failed.
#[derive(Debug)]
enum ListingError {
    Api(ApiError),
    /// The deadline passed between two pages.
    OutOfTime,
}

impl From<ApiError> for ListingError {
    fn from(error: ApiError) -> ListingError {
        ListingError::Api(error)
    }
}

/// The ids of the incidents changed after `after`, each once, reading page after page until
/// `source` says there are no more, the page cap is reached or `deadline` passes.
async fn changed_ids(
    backend: &mut impl IncidentsBackend,
    after: Timestamp,
    deadline: Instant,
) -> Result<Vec<IncidentId>, ListingError> {
    let mut bound = PageBound::new(
        MODIFIED_IDS_MAX_PAGES,
        "the most get-modified-remote-data reads in one run".to_owned(),
        Items {
            noun: "incidents",
            advice: "mirroring tries again on its next cycle",
        },
    );
    let mut ids: Vec<IncidentId> = Vec::new();
    let mut known = HashSet::new();
    let mut skip = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ListingError::OutOfTime);
        }
        let page = reads::updated_after(backend, after, skip, left.min(REQUEST_TIMEOUT)).await?;
        let page_ids: Vec<IncidentId> = page
            .incidents
            .iter()
            .map(|incident| incident.fields.incident_id.clone())
            .collect();
        bound.read(&page_ids);
        // Pages shift when incidents change meanwhile; an id read twice is listed once.
        for id in page_ids {
            if known.insert(id.clone()) {
                ids.push(id);
            }
        }
        if !page.more {
            break;
        }
        bound.next().map_err(ApiError::from)?;
        skip += page.incidents.len();
    }
    Ok(ids)
}

/// The arguments of `get-remote-data`.
pub struct RemoteDataArgs {
    pub id: IncidentIdArgument,
    /// Read against the clock when the command runs.
    pub last_update: Option<String>,
}

impl FromArgs for RemoteDataArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<RemoteDataArgs, ArgumentError> {
        Ok(RemoteDataArgs {
            id: args.incident_id("id")?,
            last_update: args.text("lastUpdate")?,
        })
    }
}

/// `get-remote-data`: the incident as it is now, then the entries to add to the platform's
/// copy: close or reopen, and the Defender comments written after `lastUpdate`.
pub async fn remote_data(
    args: &RemoteDataArgs,
    invocation: &Invocation<'_>,
    session: &mut Session<'_>,
) -> Result<Outcome, Error> {
    let settings = MirrorSettings::from_params(invocation.params)?;
    let id = args.id.for_api(session.config().endpoints.backend)?;
    let last_update = point_in_time("lastUpdate", args.last_update.as_deref().unwrap_or("0"))?;
    let mut api = Api::new(session, REQUEST_TIMEOUT);
    let read = within(&mut api, REQUEST_TIMEOUT, async |api| {
        api.get_incident(&id).await
    })
    .await;
    let incident = match read {
        Ok(incident) => with_summary_fields(&incident),
        Err(error) if is_rate_limit(&error) => return Err(Error::MirrorRateLimited(error)),
        Err(error) => {
            // XSOAR shows `in_mirror_error` on the incident and tries again next cycle.
            tracing::warn!(incident = %id, %error, "get-remote-data failed");
            return Ok(Outcome::single(ResultItem::Raw(json!({
                "incidentId": id,
                "in_mirror_error": error.to_string(),
            }))));
        }
    };
    let mut entries = Vec::new();
    if settings.close_incident {
        let resolved = incident.get("status").and_then(Value::as_str) == Some("Resolved");
        let mut remembered = ResolvedIds::load(session.context());
        match (resolved, remembered.0.contains(&id)) {
            (true, false) => {
                entries.push(close_entry(&incident, &settings.close_reasons));
                remembered.0.insert(id);
            }
            (false, true) => {
                entries.push(MirrorEntry::json(json!({"dbotIncidentReopen": true})));
                remembered.0.remove(&id);
            }
            _ => {}
        }
        remembered.store(session.context());
    }
    entries.extend(comment_entries(
        &incident,
        last_update,
        &settings.comment_tag_from_defender,
    ));
    let mut results = vec![ResultItem::Raw(Value::Object(incident))];
    results.extend(entries.into_iter().map(ResultItem::Mirror));
    Ok(Outcome {
        results,
        ..Outcome::default()
    })
}

/// The close entry, with the platform's close reason for Defender's classification: the
/// custom mapping's, or XSOAR's default.
fn close_entry(incident: &Map<String, Value>, mapping: &CloseReasonMapping) -> MirrorEntry {
    let text = |name: &str| incident.get(name).and_then(Value::as_str);
    let custom = text("classification").and_then(|c| mapping.reason_for(c));
    let reason = match (custom, text("classification")) {
        (Some(reason), _) => reason,
        (None, Some("TruePositive") | Some("InformationalExpectedActivity")) => "Resolved",
        (None, Some("FalsePositive")) => "False Positive",
        _ => "Other",
    };
    let mut notes = "Resolved in Microsoft 365 Defender".to_owned();
    if let Some(classification) = text("classification") {
        notes.push_str(&format!(" as {classification}"));
        if let Some(determination) = text("determination") {
            notes.push_str(&format!(" ({determination})"));
        }
    }
    notes.push('.');
    MirrorEntry::json(json!({
        "dbotIncidentClose": true,
        "closeReason": reason,
        "closeNotes": notes,
    }))
}

/// A note for each comment written after `after`, except those this integration wrote.
fn comment_entries(incident: &Map<String, Value>, after: Timestamp, tag: &str) -> Vec<MirrorEntry> {
    let comments = incident
        .get("comments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object);
    let mut entries = Vec::new();
    for comment in comments {
        let text = |name: &str| {
            comment
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        if text("comment").contains(MIRRORED_MARKER) {
            continue;
        }
        let Some(created) = time::parse_instant(text("createdTime")) else {
            tracing::warn!(
                created = text("createdTime"),
                "a comment without a readable time is not mirrored"
            );
            continue;
        };
        if created <= after {
            continue;
        }
        let mut context = Map::new();
        context.insert("comments".into(), Value::Object(comment.clone()));
        entries.push(MirrorEntry {
            Contents: json!(format!(
                "Created By: {}\nCreated On: {}\n{}",
                text("createdBy"),
                text("createdTime"),
                text("comment")
            )),
            ContentsFormat: "html".to_owned(),
            Tags: Some(vec![tag.to_owned()]),
            Note: Some(true),
            EntryContext: Some(context),
            ..MirrorEntry::json(Value::Null)
        });
    }
    entries
}

/// XSOAR's incident status for a closed incident (`IncidentStatus.DONE`).
const PLATFORM_STATUS_DONE: i64 = 2;

/// The arguments of `update-remote-system`.
pub struct UpdateRemoteArgs {
    pub remote_id: IncidentIdArgument,
    pub data: Option<Value>,
    pub entries: Option<Value>,
    pub incident_changed: Option<bool>,
    pub delta: Option<Value>,
    pub status: Option<i64>,
}

impl FromArgs for UpdateRemoteArgs {
    fn from_args(args: &mut GivenArgs<'_>) -> Result<UpdateRemoteArgs, ArgumentError> {
        Ok(UpdateRemoteArgs {
            remote_id: args.incident_id("remoteId")?,
            data: args.json("data")?,
            entries: args.json("entries")?,
            incident_changed: args.flag("incidentChanged")?,
            delta: args.json("delta")?,
            status: args.number("status", PLATFORM_STATUS)?,
        })
    }
}

/// `status` of update-remote-system, XSOAR's incident status: 0 pending, 1 active, 2 done,
/// 3 archived.
const PLATFORM_STATUS: NumberRange = NumberRange {
    min: 0,
    max: 3,
    unit: "(the XSOAR incident status)",
    negative_means: None,
};

/// The fields of the platform's close form; set in `delta` when the incident was closed, set to
/// "" when it was reopened.
const CLOSE_FIELDS: [&str; 3] = ["closeReason", "closeNotes", "closingUserId"];

/// `update-remote-system`: writes the platform's changes to the Defender incident — one PATCH
/// for the changed fields (with `close_out`, closing resolves and reopening reactivates), then
/// one comment for each entry tagged with `comment_tag`. Returns the remote id.
pub async fn update_remote(
    args: &UpdateRemoteArgs,
    invocation: &Invocation<'_>,
    session: &mut Session<'_>,
) -> Result<Outcome, Error> {
    let settings = MirrorSettings::from_params(invocation.params)?;
    let id = args.remote_id.for_api(session.config().endpoints.backend)?;
    let delta = args
        .delta
        .as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let data = args.data.as_ref().and_then(Value::as_object);
    let changed = args.incident_changed.unwrap_or(false);
    let closed = args.status == Some(PLATFORM_STATUS_DONE);
    let mut changes = IncidentChanges::default();
    if changed && !delta.is_empty() {
        changes = field_changes(&delta, data, closed, &settings);
    }
    if changes != IncidentChanges::default() {
        let mut api = Api::new(session, REQUEST_TIMEOUT);
        within(&mut api, REQUEST_TIMEOUT, async |api| {
            api.update_incident(&id, &changes).await
        })
        .await?;
        // Remembered at once, so that a comment failing below cannot make the next
        // get-remote-data close or reopen the platform's incident a second time.
        if let Some(status) = changes.status.as_deref() {
            let mut remembered = ResolvedIds::load(session.context());
            if status == "Resolved" {
                remembered.0.insert(id.clone());
            } else {
                remembered.0.remove(&id);
            }
            remembered.store(session.context());
        }
    }
    let mut api = Api::new(session, REQUEST_TIMEOUT);
    let entries = args.entries.as_ref().and_then(Value::as_array);
    for entry in entries.into_iter().flatten().filter_map(Value::as_object) {
        let tagged = entry
            .get("tags")
            .and_then(Value::as_array)
            .is_some_and(|tags| {
                tags.iter()
                    .any(|tag| tag.as_str() == Some(&settings.comment_tag))
            });
        if !tagged {
            continue;
        }
        let comment = IncidentChanges {
            comment: Some(outgoing_comment(entry)),
            ..IncidentChanges::default()
        };
        within(&mut api, REQUEST_TIMEOUT, async |api| {
            api.update_incident(&id, &comment).await
        })
        .await?;
    }
    Ok(Outcome::single(ResultItem::Raw(json!(id.to_string()))))
}

/// The changed fields (sent in the order the XSOAR integration sends them).
fn field_changes(
    delta: &Map<String, Value>,
    data: Option<&Map<String, Value>>,
    closed: bool,
    settings: &MirrorSettings,
) -> IncidentChanges {
    let text = |name: &str| delta.get(name).and_then(Value::as_str).map(str::to_owned);
    let mut status = text("status");
    let mut classification = text("classification");
    let mut determination = text("determination");
    if settings.close_out {
        let close_fields_set = CLOSE_FIELDS.iter().any(|name| {
            delta
                .get(*name)
                .is_some_and(|value| value != "" && !value.is_null())
        });
        let close_fields_cleared = CLOSE_FIELDS
            .iter()
            .any(|name| delta.get(*name).is_some_and(|value| value == ""));
        if closed && close_fields_set {
            status = Some("Resolved".to_owned());
            let reason = text("closeReason").or_else(|| {
                data.and_then(|data| data.get("closeReason")?.as_str().map(str::to_owned))
            });
            let custom = reason
                .as_deref()
                .and_then(|reason| settings.close_reasons.verdict_for(reason));
            if let (None, Some(verdict)) = (&classification, custom) {
                classification = Some(verdict.classification.to_owned());
                determination = Some(verdict.determination.to_owned());
            } else if classification.is_none() {
                match reason.as_deref() {
                    Some("False Positive" | "FalsePositive") => {
                        classification = Some("FalsePositive".to_owned());
                        determination = Some("Other".to_owned());
                    }
                    Some("Duplicate" | "Other") => {
                        classification = Some("Unknown".to_owned());
                        determination = Some("NotAvailable".to_owned());
                    }
                    _ => {}
                }
            }
        } else if !closed && close_fields_cleared {
            status = Some("Active".to_owned());
        }
    }
    if let (Some(classification), None) = (&classification, &determination) {
        // Defender accepts a classification only with a determination that belongs to it.
        determination = Some(if classification == "Unknown" {
            "NotAvailable".to_owned()
        } else {
            "Other".to_owned()
        });
    }
    let tags = delta.get("tags").map(|tags| match tags {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Value::String(text) => text
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    });
    IncidentChanges {
        status,
        assigned_to: delta
            .get("assignedTo")
            .and_then(Value::as_str)
            .map(str::to_owned),
        classification,
        determination,
        tags,
        comment: text("comment")
            .filter(|comment| !comment.is_empty())
            .map(|comment| format!("{comment}\n\n {MIRRORED_MARKER}")),
    }
}

/// A platform entry as a Defender comment: who wrote it, what, and the marker.
fn outgoing_comment(entry: &Map<String, Value>) -> String {
    let user = entry
        .get("user")
        .and_then(Value::as_str)
        .filter(|user| !user.is_empty())
        .unwrap_or("dbot");
    let contents = match entry.get("contents") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    if entry.get("format").and_then(Value::as_str) == Some("html") {
        format!("({user}): <br/><br/>[code]{contents} <br/><br/>[/code] {MIRRORED_MARKER}")
    } else {
        format!("({user}): {contents}\n\n {MIRRORED_MARKER}")
    }
}

fn is_rate_limit(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Throttled { .. } | ApiError::Status { status: 429, .. }
    )
}

fn point_in_time(name: &str, text: &str) -> Result<Timestamp, ArgumentError> {
    time::parse_point_in_time(text, Timestamp::now()).ok_or_else(|| ArgumentError::Invalid {
        name: name.to_owned(),
        value: ShownValue(text.to_owned()),
        allowed: "Expected an ISO-8601 time or epoch seconds.".to_owned(),
    })
}

/// The incidents mirroring last saw Resolved, kept in the integration context.
struct ResolvedIds(IdSet);

impl ResolvedIds {
    const KEY: &'static str = "mirror_resolved_ids";
    /// Microsoft Graph's text ids, kept apart so that the ranges read as they always did.
    const TEXT_KEY: &'static str = "mirror_resolved_text_ids";
    /// The newest ids kept (the highest numbers, the text ids remembered last): an incident
    /// reactivated after this many later ones were resolved gets no reopen entry.
    const LIMIT: usize = 10_000;

    fn load(context: &Map<String, Value>) -> ResolvedIds {
        let mut ids = context
            .get(Self::KEY)
            .and_then(Value::as_str)
            .and_then(IdSet::from_ranges)
            .unwrap_or_default();
        if let Some(texts) = context.get(Self::TEXT_KEY) {
            // A list that does not read is forgotten, as ranges that do not read are.
            ids.add_texts(texts);
        }
        ResolvedIds(ids)
    }

    fn store(mut self, context: &mut Map<String, Value>) {
        self.0.keep_newest(Self::LIMIT);
        if self.0.has_numbers() {
            context.insert(Self::KEY.into(), json!(self.0.ranges()));
        } else {
            context.shift_remove(Self::KEY);
        }
        if self.0.has_texts() {
            context.insert(Self::TEXT_KEY.into(), self.0.texts_json());
        } else {
            context.shift_remove(Self::TEXT_KEY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::incidents::{Incident, IncidentList, IncidentQuery};
    use crate::api::{IncidentFilter, ListPage};
    use crate::config::ApiBackend;

    /// A service that always answers with the same page, which announces more.
    struct EndlessSource {
        ids: Vec<u64>,
        /// Each answer takes this long.
        delay: Duration,
        calls: usize,
    }

    impl IncidentsBackend for EndlessSource {
        fn api(&self) -> ApiBackend {
            ApiBackend::Legacy
        }

        fn host(&self) -> String {
            "https://endless.example".to_owned()
        }

        fn page_size(&self) -> usize {
            100
        }

        fn limit_to(&mut self, _: Duration) {}

        async fn probe(&mut self) -> Result<(), ApiError> {
            unreachable!("mirroring lists a page at a time")
        }

        async fn list_incidents(&mut self, _: &IncidentQuery) -> Result<IncidentList, ApiError> {
            unreachable!("mirroring lists a page at a time")
        }

        async fn list_page(&mut self, _: &IncidentFilter, _: usize) -> Result<ListPage, ApiError> {
            self.calls += 1;
            tokio::time::sleep(self.delay).await;
            let incidents = self
                .ids
                .iter()
                .map(|id| Incident::from_object(json!({"incidentId": id}).as_object().unwrap()))
                .collect::<Result<_, _>>()
                .unwrap();
            Ok(ListPage {
                incidents,
                more: true,
            })
        }

        async fn get_incident(&mut self, _: &IncidentId) -> Result<Incident, ApiError> {
            unreachable!()
        }

        async fn update_incident(
            &mut self,
            _: &IncidentId,
            _: &IncidentChanges,
        ) -> Result<Incident, ApiError> {
            unreachable!()
        }
    }

    fn endless(ids: Vec<u64>, delay_ms: u64) -> EndlessSource {
        EndlessSource {
            ids,
            delay: Duration::from_millis(delay_ms),
            calls: 0,
        }
    }

    fn in_a_minute() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn empty_pages_that_announce_more_stop_at_the_page_cap() {
        let mut source = endless(Vec::new(), 0);
        let error = changed_ids(&mut source, Timestamp::UNIX_EPOCH, in_a_minute())
            .await
            .unwrap_err();
        assert_eq!(source.calls, MODIFIED_IDS_MAX_PAGES);
        let ListingError::Api(error) = error else {
            panic!("{error:?}")
        };
        assert!(
            error
                .to_string()
                .contains("listing stopped after 100 pages, the most get-modified-remote-data reads in one run"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_page_of_nothing_new_stops_the_listing() {
        let mut source = endless(vec![3, 4], 0);
        let error = changed_ids(&mut source, Timestamp::UNIX_EPOCH, in_a_minute())
            .await
            .unwrap_err();
        assert_eq!(source.calls, 2);
        assert!(
            matches!(&error, ListingError::Api(e) if e.to_string().contains("page 2 held only incidents already read")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn the_deadline_bounds_the_listing_between_pages_and_within_one() {
        let mut source = endless(Vec::new(), 20);
        let deadline = Instant::now() + Duration::from_millis(100);
        let error = changed_ids(&mut source, Timestamp::UNIX_EPOCH, deadline)
            .await
            .unwrap_err();
        // Out of time between two pages, or during the page that was under way when it ran out.
        let within_a_page = |error: &ApiError| error.to_string().contains("no answer within");
        assert!(
            matches!(&error, ListingError::OutOfTime)
                || matches!(&error, ListingError::Api(error) if within_a_page(error)),
            "{error:?}"
        );
        // 100 ms of 20 ms pages: never more than six, however slow the machine.
        assert!((1..=6).contains(&source.calls), "{}", source.calls);
    }

    fn settings(params: Value) -> MirrorSettings {
        MirrorSettings::from_params(params.as_object().unwrap()).unwrap()
    }

    #[test]
    fn closing_with_close_out_resolves_with_a_classification_from_the_close_reason() {
        let close_out = settings(json!({"close_out": true}));
        let keep = settings(json!({}));
        let delta = json!({"closeReason": "FalsePositive", "closeNotes": "benign test", "closingUserId": "admin", "tags": "fp,closed"});
        let changes = field_changes(delta.as_object().unwrap(), None, true, &close_out);
        assert_eq!(
            serde_json::to_value(&changes).unwrap(),
            json!({"status": "Resolved", "classification": "FalsePositive", "determination": "Other", "tags": ["fp", "closed"]})
        );
        let delta = json!({"closeReason": "Duplicate", "closingUserId": "admin"});
        let changes = field_changes(delta.as_object().unwrap(), None, true, &close_out);
        assert_eq!(
            serde_json::to_value(&changes).unwrap(),
            json!({"status": "Resolved", "classification": "Unknown", "determination": "NotAvailable"})
        );
        let changes = field_changes(delta.as_object().unwrap(), None, true, &keep);
        assert!(
            changes == IncidentChanges::default(),
            "without close_out closing changes nothing"
        );
        let reopened = json!({"closeReason": "", "closeNotes": "", "closingUserId": ""});
        let changes = field_changes(reopened.as_object().unwrap(), None, false, &close_out);
        assert_eq!(
            serde_json::to_value(&changes).unwrap(),
            json!({"status": "Active"})
        );
    }

    #[test]
    fn custom_close_reason_mappings_apply_in_both_directions() {
        let custom = settings(json!({
            "close_out": true,
            "custom_xsoar_to_defender_close_reason": true,
            "custom_xsoar_to_defender_close_reason_mapping": "Resolved=TruePositive-Malware,False Positive=FalsePositive-NotMalicious,Broken",
            "custom_defender_to_xsoar_close_reason": "true",
            "custom_defender_to_xsoar_close_reason_mapping": "TruePositive=Duplicate,Nonsense=Resolved"
        }));
        let changes = |reason: &str| {
            let delta = json!({"closeReason": reason, "closingUserId": "admin"});
            serde_json::to_value(field_changes(
                delta.as_object().unwrap(),
                None,
                true,
                &custom,
            ))
            .unwrap()
        };
        assert_eq!(
            changes("Resolved"),
            json!({"status": "Resolved", "classification": "TruePositive", "determination": "Malware"})
        );
        assert_eq!(
            changes("False Positive"),
            json!({"status": "Resolved", "classification": "FalsePositive", "determination": "NotMalicious"})
        );
        assert_eq!(
            changes("Duplicate"),
            json!({"status": "Resolved", "classification": "Unknown", "determination": "NotAvailable"}),
            "a reason the mapping does not name keeps the default"
        );
        let closed = |classification: &str| {
            let incident = json!({"classification": classification, "determination": "Other"});
            close_entry(incident.as_object().unwrap(), &custom.close_reasons).Contents
                ["closeReason"]
                .clone()
        };
        assert_eq!(closed("TruePositive"), "Duplicate");
        assert_eq!(closed("FalsePositive"), "False Positive", "the default");
        let switched_off = settings(json!({
            "custom_defender_to_xsoar_close_reason_mapping": "TruePositive=Duplicate"
        }));
        let incident = json!({"classification": "TruePositive"});
        assert_eq!(
            close_entry(incident.as_object().unwrap(), &switched_off.close_reasons).Contents["closeReason"],
            "Resolved",
            "a mapping whose switch is off is not used"
        );
    }

    #[test]
    fn outgoing_comments_carry_the_author_and_the_marker() {
        let entry =
            json!({"user": "admin", "contents": "Closing as false positive", "format": "markdown"});
        assert_eq!(
            outgoing_comment(entry.as_object().unwrap()),
            "(admin): Closing as false positive\n\n Mirrored from Cortex XSOAR"
        );
        let entry = json!({"user": "", "contents": "<b>x</b>", "format": "html"});
        assert_eq!(
            outgoing_comment(entry.as_object().unwrap()),
            "(dbot): <br/><br/>[code]<b>x</b> <br/><br/>[/code] Mirrored from Cortex XSOAR"
        );
    }

    #[test]
    fn resolved_ids_round_trip_and_keep_the_newest() {
        let mut context = Map::new();
        let mut ids = ResolvedIds::load(&context);
        for id in [5, 3, 4, 9] {
            ids.0.insert(IncidentId::from(id));
        }
        ids.0.remove(&IncidentId::from(9));
        ids.store(&mut context);
        assert_eq!(
            Value::Object(context.clone()),
            json!({"mirror_resolved_ids": "3-5"})
        );
        let mut many = ResolvedIds::load(&context);
        for id in 0..ResolvedIds::LIMIT as u64 + 5 {
            many.0.insert(IncidentId::from(id));
        }
        many.0.insert(IncidentId::from(1_000_000));
        many.store(&mut context);
        let kept = ResolvedIds::load(&context);
        assert_eq!(kept.0.len(), ResolvedIds::LIMIT);
        assert!(
            kept.0.contains(&IncidentId::from(1_000_000)) && !kept.0.contains(&IncidentId::from(0))
        );
    }

    #[test]
    fn resolved_text_ids_are_kept_beside_the_ranges() {
        let text = |id: &str| IncidentId::Text(id.to_owned());
        let mut context = Map::new();
        context.insert("other".into(), json!(1));
        let mut ids = ResolvedIds::load(&context);
        ids.0.insert(IncidentId::from(12));
        ids.0.insert(text("ed-4c2a/7"));
        ids.0.insert(text("a,b"));
        ids.store(&mut context);
        assert_eq!(
            Value::Object(context.clone()),
            json!({"other": 1, "mirror_resolved_ids": "12", "mirror_resolved_text_ids": ["ed-4c2a/7", "a,b"]})
        );
        let mut ids = ResolvedIds::load(&context);
        assert!(ids.0.contains(&text("ed-4c2a/7")) && ids.0.contains(&IncidentId::from(12)));
        ids.0.remove(&IncidentId::from(12));
        ids.0.remove(&text("a,b"));
        ids.store(&mut context);
        assert_eq!(
            Value::Object(context.clone()),
            json!({"other": 1, "mirror_resolved_text_ids": ["ed-4c2a/7"]})
        );
        let mut ids = ResolvedIds::load(&context);
        ids.0.remove(&text("ed-4c2a/7"));
        ids.store(&mut context);
        assert_eq!(Value::Object(context.clone()), json!({"other": 1}));
        // A list that does not read is forgotten, not an error.
        context.insert("mirror_resolved_text_ids".into(), json!("ed-4c2a/7"));
        assert!(ResolvedIds::load(&context).0.is_empty());
    }
}
