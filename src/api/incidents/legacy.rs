//! Incidents on the legacy API: `/api/incidents` with OData options
//! (<https://learn.microsoft.com/defender-xdr/api-list-incidents>,
//! <https://learn.microsoft.com/defender-xdr/api-update-incidents>).

use reqwest::Method;

use super::{
    INCIDENT_LIST, Incident, IncidentChanges, IncidentFilter, IncidentList, IncidentQuery, ListPage,
};
use crate::api::client::Call;
use crate::api::legacy::{LegacyApi, without_context};
use crate::api::odata::{self, FilterDialect};
use crate::api::paging::{Listing, ODataPage, read_list};
use crate::api::retry::Replay;
use crate::api::{ApiError, IncidentId};

/// The most incidents one list request returns (`$top` is capped at 100).
pub const MAX_PAGE: usize = 100;

pub(super) const INCIDENTS: &str = "/api/incidents";

/// The query options of the first list request: the user's own, or `$top`, `$filter` and
/// `$skip` in the XSOAR integration's order.
fn first_page_options(query: &IncidentQuery) -> Vec<(String, String)> {
    match &query.odata {
        Some(options) => options.pairs().to_vec(),
        None => page_options(&query.filter, query.offset, query.limit),
    }
}

fn page_options(filter: &IncidentFilter, skip: usize, wanted: usize) -> Vec<(String, String)> {
    let mut options = vec![("$top".to_owned(), wanted.min(MAX_PAGE).to_string())];
    if let Some(filter) = odata::filter_expression(filter, FilterDialect::Legacy) {
        options.push(("$filter".to_owned(), filter));
    }
    if skip > 0 {
        options.push(("$skip".to_owned(), skip.to_string()));
    }
    options
}

/// The path of incident `id`. The legacy API numbers its incidents: a text id (Microsoft
/// Graph's) is refused here, before anything is sent.
fn incident_path(id: &IncidentId) -> Result<String, ApiError> {
    match id.number() {
        Some(number) => Ok(format!("{INCIDENTS}/{number}")),
        None => Err(ApiError::NotALegacyId(id.clone())),
    }
}

/// An incident answer as the commands' type.
fn incident(answer: serde_json::Map<String, serde_json::Value>) -> Result<Incident, ApiError> {
    Incident::from_object(&without_context(answer)).map_err(|e| ApiError::Malformed(e.to_string()))
}

impl LegacyApi<'_, '_> {
    pub(super) async fn list_incidents(
        &mut self,
        query: &IncidentQuery,
    ) -> Result<IncidentList, ApiError> {
        let mut incidents = IncidentList::default();
        let read_on = |skip, wanted| page_options(&query.filter, skip, wanted);
        let listing = Listing {
            path: INCIDENTS,
            items: INCIDENT_LIST,
            options: first_page_options(query),
            limit: query.wanted(),
            page_size: MAX_PAGE,
            offset: query.offset,
            // A user's own options are sent once, as given.
            read_on: query.odata.is_none().then_some(&read_on as _),
        };
        read_list(&mut self.client, listing, |incident: Incident| {
            let id = incident.fields.incident_id.to_string();
            incidents.push(incident);
            Ok(id)
        })
        .await?;
        Ok(incidents)
    }

    pub(super) async fn list_page(
        &mut self,
        filter: &IncidentFilter,
        skip: usize,
    ) -> Result<ListPage, ApiError> {
        let url = self.client.url(INCIDENTS)?;
        let options = page_options(filter, skip, MAX_PAGE);
        let page: ODataPage<Incident> = self.client.get_json(url, &options).await?;
        Ok(ListPage {
            more: page.announces_more(MAX_PAGE),
            incidents: page.value,
        })
    }

    pub(super) async fn get_incident(&mut self, id: &IncidentId) -> Result<Incident, ApiError> {
        let url = self.client.url(&incident_path(id)?)?;
        let answer = self.client.get_json(url, &[]).await?;
        incident(answer)
    }

    pub(super) async fn update_incident(
        &mut self,
        id: &IncidentId,
        changes: &IncidentChanges,
    ) -> Result<Incident, ApiError> {
        let url = self.client.url(&incident_path(id)?)?;
        // A comment is appended on every request that arrives: never risk sending it twice.
        let replay = if changes.comment.is_some() {
            Replay::OnlyIfNeverSent
        } else {
            Replay::Safe
        };
        let answer = self
            .client
            .send_json(Call::json(Method::PATCH, url, changes, replay))
            .await?;
        incident(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::odata::UserOptions;

    #[test]
    fn first_page_follows_xsoar_order_and_skips_zero_offset() {
        let mut query = IncidentQuery::new(
            IncidentFilter {
                status: Some("Active".into()),
                ..IncidentFilter::default()
            },
            2,
        );
        query.offset = 1;
        assert_eq!(
            first_page_options(&query),
            [
                ("$top".to_owned(), "2".to_owned()),
                ("$filter".to_owned(), "status eq 'Active'".to_owned()),
                ("$skip".to_owned(), "1".to_owned())
            ]
        );
        let query = IncidentQuery::new(IncidentFilter::default(), 250);
        assert_eq!(
            first_page_options(&query),
            [("$top".to_owned(), "100".to_owned())]
        );
    }

    #[test]
    fn only_numbers_make_a_legacy_path() {
        assert_eq!(
            incident_path(&IncidentId::Number(1201)).unwrap(),
            "/api/incidents/1201"
        );
        let error = incident_path(&IncidentId::Text("ed-4c2a/7".into())).unwrap_err();
        assert!(matches!(error, ApiError::NotALegacyId(_)));
        assert!(
            error
                .to_string()
                .starts_with("Incident ed-4c2a/7 cannot be read or changed through the legacy"),
            "{error}"
        );
    }

    #[test]
    fn user_options_replace_the_built_ones() {
        let mut query = IncidentQuery::new(
            IncidentFilter {
                status: Some("Active".into()),
                ..IncidentFilter::default()
            },
            50,
        );
        let options = serde_json::json!({"$filter": "severity eq 'High'"});
        query.odata = Some(UserOptions::from_json(&options).unwrap());
        assert_eq!(
            first_page_options(&query),
            [("$filter".to_owned(), "severity eq 'High'".to_owned())]
        );
    }
}
