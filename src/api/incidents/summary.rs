//! What an incident's alerts add up to: categories, users, mailboxes, sources, devices, how many
//! alerts are active, and the first and last activity. Computed once from the typed incident;
//! the incidents table (`commands/incidents.rs`) and the platform's incident objects
//! (`fetch/platform.rs`) each show it in the form the XSOAR integration gave it there.

use jiff::Timestamp;

use super::model::{Alert, Device, Entity, Field, IncidentFields};
use crate::time;

/// The summary of one incident's alerts, borrowing from the incident. Lists keep the alerts'
/// order and every value as sent (missing, `null` or text), for each view to filter and sort.
#[derive(Debug)]
pub struct IncidentSummary<'i> {
    /// Each alert's category.
    pub categories: Vec<&'i Field<String>>,
    /// The domain of every user entity of every alert.
    pub user_domains: Vec<&'i Field<String>>,
    /// The mailbox entities, each address once.
    pub mailboxes: Vec<&'i Entity>,
    /// Each alert's service source.
    pub service_sources: Vec<&'i Field<String>>,
    /// Each alert's detection source.
    pub detection_sources: Vec<&'i Field<String>>,
    /// The devices of every alert.
    pub devices: Vec<&'i Device>,
    /// Alerts whose status is `New` or `Active`.
    pub active_alerts: usize,
    /// Alerts with a status at all.
    pub alerts_with_status: usize,
    /// The earliest `firstActivity` of the alerts, as the API wrote it.
    pub first_activity: Option<&'i str>,
    /// The latest `lastActivity` of the alerts, as the API wrote it.
    pub last_activity: Option<&'i str>,
}

impl<'i> IncidentSummary<'i> {
    pub fn of(incident: &'i IncidentFields) -> IncidentSummary<'i> {
        let alerts = incident.alerts.get().map_or(&[][..], Vec::as_slice);
        let each = |field: fn(&'i Alert) -> &'i Field<String>| alerts.iter().map(field).collect();
        let entities = || alerts.iter().flat_map(Alert::entity_list);
        let mut mailboxes: Vec<&Entity> = Vec::new();
        // A missing address reads as an empty one (the XSOAR integration's `dict.get(key, '')`).
        for entity in entities().filter(|entity| entity.is("Mailbox")) {
            if !mailboxes
                .iter()
                .any(|kept| mailbox_key(kept) == mailbox_key(entity))
            {
                mailboxes.push(entity);
            }
        }
        let statuses: Vec<&str> = alerts
            .iter()
            .filter_map(|alert| alert.status.get().map(String::as_str))
            .filter(|status| !status.is_empty())
            .collect();
        IncidentSummary {
            categories: each(|alert| &alert.category),
            user_domains: entities()
                .filter(|entity| entity.is("User"))
                .map(|entity| &entity.domain_name)
                .collect(),
            mailboxes,
            service_sources: each(|alert| &alert.service_source),
            detection_sources: each(|alert| &alert.detection_source),
            devices: alerts.iter().flat_map(Alert::device_list).collect(),
            active_alerts: statuses
                .iter()
                .filter(|status| matches!(**status, "Active" | "New"))
                .count(),
            alerts_with_status: statuses.len(),
            first_activity: extreme(alerts.iter().map(|alert| &alert.first_activity), false),
            last_activity: extreme(alerts.iter().map(|alert| &alert.last_activity), true),
        }
    }

    /// `Active alerts`: "2 / 5".
    pub fn active_alerts_text(&self) -> String {
        format!("{} / {}", self.active_alerts, self.alerts_with_status)
    }
}

/// What tells mailboxes apart: the address, a missing one read as an empty one (the XSOAR
/// integration's `dict.get(key, '')`).
fn mailbox_key(entity: &Entity) -> Option<&str> {
    match &entity.mailbox_address {
        Field::Absent => Some(""),
        Field::Null => None,
        Field::Present(address) => Some(address),
    }
}

/// The earliest (or, with `latest`, the latest) of some API times, as the API wrote it. Times
/// are compared as instants, since the API writes fractions of varying length; a time that
/// does not read as one counts as earlier than any that does.
fn extreme<'t>(times: impl Iterator<Item = &'t Field<String>>, latest: bool) -> Option<&'t str> {
    let key = |text: &&'t String| (time::parse_instant(text).unwrap_or(Timestamp::MIN), *text);
    let times = times.filter_map(Field::get);
    let found = if latest {
        times.max_by_key(key)
    } else {
        times.min_by_key(key)
    };
    found.map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::incidents::Incident;

    fn summary_of(incident: serde_json::Value) -> (Incident, fn(&Incident) -> IncidentSummary) {
        let incident = Incident::from_object(incident.as_object().unwrap()).unwrap();
        (incident, |incident| IncidentSummary::of(&incident.fields))
    }

    #[test]
    fn alerts_add_up_keeping_what_each_view_needs() {
        let (incident, summarize) = summary_of(serde_json::json!({
            "incidentId": 1,
            "alerts": [
                {"status": "New", "category": "Malware", "serviceSource": "MicrosoftDefenderForEndpoint",
                 "firstActivity": "2024-01-02T00:00:00.1234567Z", "lastActivity": "2024-01-03T00:00:00Z",
                 "devices": [{"deviceDnsName": "pc1"}],
                 "entities": [{"entityType": "User", "domainName": "CONTOSO"},
                              {"entityType": "MailBox", "mailboxAddress": "a@contoso.com"},
                              {"entityType": "Mailbox", "mailboxAddress": "a@contoso.com"}]},
                {"status": "Resolved", "category": null,
                 "firstActivity": "2024-01-01T23:59:59.9Z", "lastActivity": "2024-01-03T00:00:00.5Z"},
                {"status": ""}
            ]
        }));
        let summary = summarize(&incident);
        assert_eq!(summary.active_alerts_text(), "1 / 2");
        assert_eq!(
            summary.categories,
            [
                &Field::Present("Malware".to_owned()),
                &Field::Null,
                &Field::Absent
            ]
        );
        assert_eq!(summary.mailboxes.len(), 1);
        assert_eq!(summary.user_domains.len(), 1);
        assert_eq!(summary.devices.len(), 1);
        assert_eq!(summary.first_activity, Some("2024-01-01T23:59:59.9Z"));
        assert_eq!(summary.last_activity, Some("2024-01-03T00:00:00.5Z"));
    }

    #[test]
    fn times_compare_as_instants_and_unreadable_ones_first() {
        let times = [
            "2025-01-10T08:18:30.25Z",
            "2025-01-10T08:10:00Z",
            "2025-01-10T09:02:00Z",
        ]
        .map(|time| Field::Present(time.to_owned()));
        assert_eq!(extreme(times.iter(), false), Some("2025-01-10T08:10:00Z"));
        assert_eq!(extreme(times.iter(), true), Some("2025-01-10T09:02:00Z"));
        assert_eq!(extreme([].iter(), true), None);
        let odd = [
            Field::Present("soon".to_owned()),
            Field::Null,
            times[0].clone(),
        ];
        assert_eq!(extreme(odd.iter(), false), Some("soon"));
        assert_eq!(extreme(odd.iter(), true), Some("2025-01-10T08:18:30.25Z"));
    }

    #[test]
    fn an_incident_without_alerts_sums_to_nothing() {
        let (incident, summarize) = summary_of(serde_json::json!({"incidentId": 1}));
        let summary = summarize(&incident);
        assert_eq!(summary.active_alerts_text(), "0 / 0");
        assert!(summary.categories.is_empty() && summary.first_activity.is_none());
    }
}
