//! Graph's custom detection rules: `GET /v1.0/security/rules/detectionRules` (`$top`, `$skip`,
//! pages of 100 with an absolute `@odata.nextLink`) and
//! `GET /v1.0/security/rules/detectionRules/{id}`
//! (<https://learn.microsoft.com/graph/api/security-rulesroot-list-detectionrules>,
//! <https://learn.microsoft.com/graph/api/security-detectionrule-get>), read with
//! `CustomDetection.Read.All`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::super::EmulatorState;
use super::super::clock::format_time;
use super::super::dialect::{Listing, Operation, QueryPairs};
use super::super::odata::FilterDialect;
use super::super::rules::DetectionRule;
use super::super::tenant::Page;
use super::{Graph, GraphError, collection_page, entity_response, read_entity};

/// `@odata.type` and `identifier` of each asset or action, as Graph writes them.
fn typed(items: &[(&str, &str)]) -> Value {
    items
        .iter()
        .map(|(kind, identifier)| json!({"@odata.type": kind, "identifier": identifier}))
        .collect()
}

/// `microsoft.graph.security.detectionRule`.
fn shape(rule: &DetectionRule) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.security.detectionRule",
        "id": rule.id,
        "displayName": rule.display_name,
        "isEnabled": rule.is_enabled,
        "detectorId": rule.detector_id,
        "createdBy": rule.created_by,
        "createdDateTime": format_time(rule.created),
        "lastModifiedBy": rule.last_modified_by,
        "lastModifiedDateTime": format_time(rule.last_modified),
        "queryCondition": {
            "queryText": rule.query_text,
            "lastModifiedDateTime": format_time(rule.last_modified),
        },
        "schedule": {
            "period": rule.period,
            "nextRunDateTime": rule.next_run.map(format_time),
        },
        "lastRunDetails": {
            "lastRunDateTime": format_time(rule.last_run),
            "status": rule.last_run_status,
            "failureReason": rule.failure.map(|(reason, _)| reason),
            "errorCode": rule.failure.map(|(_, code)| code),
        },
        "detectionAction": {
            "alertTemplate": {
                "title": rule.title,
                "description": rule.description,
                "severity": rule.severity,
                "category": rule.category,
                "recommendedActions": rule.recommended_actions,
                "mitreTechniques": rule.mitre_techniques,
                "impactedAssets": typed(rule.impacted_assets),
            },
            "organizationalScope": null,
            "responseActions": typed(rule.response_actions),
        },
    })
}

/// `GET /v1.0/security/rules/detectionRules`
pub(crate) async fn list(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    query: QueryPairs,
) -> Response {
    let listing = Listing {
        operation: Operation::ReadDetectionRules,
        odata: FilterDialect::GraphDetectionRules,
    };
    listing.answer::<Graph>(&state, &headers, query, |tenant, _, options, page_size| {
        let page = Page::of(tenant.rules.iter().collect(), options.skip, page_size);
        let value = page.items.iter().map(|rule| shape(rule)).collect();
        collection_page(
            &state,
            "security/rules/detectionRules",
            options,
            page_size,
            &page,
            value,
        )
    })
}

/// `GET /v1.0/security/rules/detectionRules/{id}`
pub(crate) async fn get(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    read_entity(
        &state,
        &headers,
        Operation::ReadDetectionRules,
        |tenant, _| match tenant.rules.iter().find(|rule| rule.id == id) {
            Some(rule) => {
                entity_response(&state, "security/rules/detectionRules/$entity", shape(rule))
            }
            None => GraphError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("Detection rule with id '{id}' was not found."),
            )
            .into_response(),
        },
    )
}
