//! Microsoft Graph's incidents, alerts and comments in the legacy shapes
//! (<https://learn.microsoft.com/graph/api/resources/security-incident>,
//! <https://learn.microsoft.com/graph/api/resources/security-alert>,
//! <https://learn.microsoft.com/graph/api/security-incident-post-comments>).

use serde_json::{Value, json};

use super::evidence::evidence_to_legacy;
use crate::api::graph::{LegacyObject, TranslateError, kind_of, legacy_enum, legacy_id, object};
use crate::graph::enums::{
    AlertStatus, Classification, DetectionSource, Determination, IncidentStatus, ServiceSource,
    Severity,
};

/// A Graph incident (`microsoft.graph.security.incident`, alerts expanded or not) in the legacy
/// incident shape.
pub fn incident_to_legacy(graph: &Value) -> Result<Value, TranslateError> {
    let mut incident = LegacyObject::from(object(graph, "an incident object")?);
    let id = legacy_id(incident.take("id"));
    incident.put("incidentId", id);
    let redirect = legacy_id(incident.take("redirectIncidentId"));
    incident.put("redirectIncidentId", redirect);
    incident.rename("incidentName", "displayName");
    incident.rename("createdTime", "createdDateTime");
    incident.rename("lastUpdateTime", "lastUpdateDateTime");
    incident.rename("assignedTo", "assignedTo");
    let classification = legacy_enum::<Classification>(incident.take("classification"));
    incident.put("classification", classification);
    let determination = legacy_enum::<Determination>(incident.take("determination"));
    incident.put("determination", determination);
    let status = legacy_enum::<IncidentStatus>(incident.take("status"));
    incident.put("status", status);
    let severity = legacy_enum::<Severity>(incident.take("severity"));
    incident.put("severity", severity);
    let tags = incident.take("customTags").cloned().unwrap_or(json!([]));
    incident.put("tags", tags);
    let comments = match incident.take("comments") {
        Some(Value::Array(comments)) => comments.iter().map(comment_to_legacy).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => {
            return Err(TranslateError::Unexpected {
                expected: "a list of comments",
                found: kind_of(other),
            });
        }
    };
    incident.put("comments", Value::Array(comments));
    let alerts = match incident.take("alerts") {
        Some(Value::Array(alerts)) => alerts
            .iter()
            .map(alert_to_legacy)
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => {
            return Err(TranslateError::Unexpected {
                expected: "a list of alerts",
                found: kind_of(other),
            });
        }
    };
    incident.put("alerts", Value::Array(alerts));
    incident.rename("incidentUri", "incidentWebUrl");
    Ok(Value::Object(incident.finish()))
}

/// A Graph comment `{comment, createdByDisplayName, createdDateTime}` as the legacy
/// `{comment, createdBy, createdTime}`.
pub fn comment_to_legacy(graph: &Value) -> Value {
    let Some(source) = graph.as_object() else {
        return graph.clone();
    };
    let mut comment = LegacyObject::from(source);
    comment.rename("comment", "comment");
    comment.rename("createdBy", "createdByDisplayName");
    comment.rename("createdTime", "createdDateTime");
    Value::Object(comment.finish())
}

/// A Graph alert (`microsoft.graph.security.alert`) as a legacy alert: its evidence becomes the
/// legacy `entities` and `devices` as far as they map, and stays under `evidence` as Graph sent
/// it.
pub fn alert_to_legacy(graph: &Value) -> Result<Value, TranslateError> {
    let mut alert = LegacyObject::from(object(graph, "an alert object")?);
    alert.rename("alertId", "id");
    let incident_id = legacy_id(alert.take("incidentId"));
    alert.put("incidentId", incident_id);
    let service_source = legacy_enum::<ServiceSource>(alert.take("serviceSource"));
    alert.put("serviceSource", service_source);
    alert.rename("creationTime", "createdDateTime");
    alert.rename("lastUpdatedTime", "lastUpdateDateTime");
    alert.rename("resolvedTime", "resolvedDateTime");
    alert.rename("firstActivity", "firstActivityDateTime");
    alert.rename("lastActivity", "lastActivityDateTime");
    alert.rename("title", "title");
    alert.rename("description", "description");
    alert.rename("category", "category");
    let status = legacy_enum::<AlertStatus>(alert.take("status"));
    alert.put("status", status);
    let severity = legacy_enum::<Severity>(alert.take("severity"));
    alert.put("severity", severity);
    // Automated investigations are not part of Graph's alert.
    alert.put("investigationId", Value::Null);
    alert.put("investigationState", Value::Null);
    // The legacy API leaves an unclassified alert's classification and determination `null`.
    let classification = unless_unknown(alert.take("classification"));
    alert.put(
        "classification",
        legacy_enum::<Classification>(classification),
    );
    let determination = unless_unknown(alert.take("determination"));
    alert.put("determination", legacy_enum::<Determination>(determination));
    let detection_source = legacy_enum::<DetectionSource>(alert.take("detectionSource"));
    alert.put("detectionSource", detection_source);
    alert.rename("detectorId", "detectorId");
    alert.rename("assignedTo", "assignedTo");
    alert.rename("actorName", "actorDisplayName");
    alert.rename("threatFamilyName", "threatFamilyName");
    let techniques = alert.take("mitreTechniques").cloned().unwrap_or(json!([]));
    alert.put("mitreTechniques", techniques);
    let evidence = match alert.take("evidence") {
        Some(Value::Array(evidence)) => evidence.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => {
            return Err(TranslateError::Unexpected {
                expected: "a list of evidence",
                found: kind_of(other),
            });
        }
    };
    let translated = evidence_to_legacy(&evidence);
    alert.put("devices", Value::Array(translated.devices));
    alert.put("entities", Value::Array(translated.entities));
    alert.put("evidence", Value::Array(evidence));
    Ok(Value::Object(alert.finish()))
}

fn unless_unknown(value: Option<&Value>) -> Option<&Value> {
    value.filter(|value| {
        !value
            .as_str()
            .is_some_and(|text| text.eq_ignore_ascii_case("unknown"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::incidents::evidence::ENTITY_KEYS;

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    fn graph_incident() -> Value {
        json!({
            "@odata.type": "#microsoft.graph.security.incident",
            "id": "2972395",
            "tenantId": "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c",
            "status": "inProgress",
            "incidentWebUrl": "https://security.microsoft.com/incidents/2972395?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c",
            "redirectIncidentId": null,
            "displayName": "Multi-stage incident involving Initial access & Command and control",
            "createdDateTime": "2021-08-13T08:43:35.5533333Z",
            "lastUpdateDateTime": "2021-09-30T09:35:45.1133333Z",
            "assignedTo": "KaiC@contoso.onmicrosoft.com",
            "classification": "falsePositive",
            "determination": "notEnoughDataToValidate",
            "severity": "medium",
            "customTags": ["Demo"],
            "systemTags": ["Defender Experts"],
            "description": "Raspberry Robin worm activity",
            "summary": null,
            "comments": [{
                "comment": "Demo incident",
                "createdByDisplayName": "DavidS@contoso.onmicrosoft.com",
                "createdDateTime": "2021-09-30T12:07:37.2756993Z"
            }],
            "alerts": [graph_alert()]
        })
    }

    fn graph_alert() -> Value {
        json!({
            "@odata.type": "#microsoft.graph.security.alert",
            "id": "da637551227677560813_-961444813",
            "providerAlertId": "da637551227677560813_-961444813",
            "incidentId": "2972395",
            "status": "new",
            "severity": "low",
            "classification": "unknown",
            "determination": "unknown",
            "serviceSource": "microsoftDefenderForEndpoint",
            "detectionSource": "antivirus",
            "detectorId": "e0da400f-affd-43ef-b1d5-afc2eb6f2756",
            "title": "Suspicious execution of hidden file",
            "description": "A hidden file has been launched.",
            "category": "DefenseEvasion",
            "assignedTo": null,
            "actorDisplayName": null,
            "threatFamilyName": null,
            "mitreTechniques": ["T1564.001"],
            "createdDateTime": "2021-04-27T12:19:27.7211305Z",
            "lastUpdateDateTime": "2021-05-02T14:19:01.3266667Z",
            "resolvedDateTime": null,
            "firstActivityDateTime": "2021-04-26T07:45:50.116Z",
            "lastActivityDateTime": "2021-05-02T07:56:58.222Z",
            "comments": [],
            "evidence": [device_evidence(), process_evidence(), json!({"@odata.type": "#microsoft.graph.security.cloudApplicationEvidence", "appId": 11161, "displayName": "Office 365"})]
        })
    }

    fn device_evidence() -> Value {
        json!({
                            "@odata.type": "#microsoft.graph.security.deviceEvidence",
                            "createdDateTime": "2021-04-27T12:19:27.7211305Z",
                            "verdict": "unknown",
                            "remediationStatus": "none",
                            "firstSeenDateTime": "2020-09-12T07:28:32.4321753Z",
                            "mdeDeviceId": "73e7e2de709dff64ef64b1d0c30e67fab63279db",
                            "azureAdDeviceId": null,
                            "deviceDnsName": "tempDns",
                            "osPlatform": "Windows10",
                            "osBuild": 22424,
                            "version": "Other",
                            "healthStatus": "active",
                            "riskScore": "medium",
                            "rbacGroupName": "UnassignedGroup",
                            "onboardingStatus": "onboarded",
                            "defenderAvStatus": "unknown",
                            "tags": ["Test Machine"],
                            "vmMetadata": {
                                "vmId": "ca1b0d41-5a3b-4d95-b48b-f220aed11d78",
                                "cloudProvider": "azure",
                                "resourceId": "/subscriptions/8700d3a3/virtualMachines/vm1",
                                "subscriptionId": "8700d3a3"
        }
        })
    }

    fn process_evidence() -> Value {
        json!({
        "@odata.type": "#microsoft.graph.security.processEvidence",
                            "createdDateTime": "2021-04-27T12:19:27.7211305Z",
                            "verdict": "suspicious",
                            "remediationStatus": "none",
                            "processId": 4780,
                            "parentProcessId": 668,
                            "processCommandLine": "\"MsSense.exe\"",
                            "processCreationDateTime": "2021-08-12T12:43:19.0772577Z",
                            "parentProcessCreationDateTime": "2021-08-12T07:39:09.0909239Z",
                            "mdeDeviceId": "73e7e2de709dff64ef64b1d0c30e67fab63279db",
                            "imageFile": {"sha1": "5f1e", "sha256": "8963", "fileName": "MsSense.exe", "filePath": "C:\\Program Files\\temp"},
                            "userAccount": {"accountName": "SYSTEM", "domainName": "NT AUTHORITY", "userSid": "S-1-5-18", "azureAdUserId": null, "userPrincipalName": null}
        })
    }

    #[test]
    fn an_incident_reads_in_the_legacy_shape_and_order() {
        let legacy = incident_to_legacy(&graph_incident()).unwrap();
        assert_eq!(
            keys(&legacy),
            [
                "incidentId",
                "redirectIncidentId",
                "incidentName",
                "createdTime",
                "lastUpdateTime",
                "assignedTo",
                "classification",
                "determination",
                "status",
                "severity",
                "tags",
                "comments",
                "alerts",
                "incidentUri",
                "tenantId",
                "systemTags",
                "description",
                "summary",
            ]
        );
        assert_eq!(legacy["incidentId"], 2972395);
        assert_eq!(legacy["redirectIncidentId"], Value::Null);
        assert_eq!(legacy["status"], "InProgress");
        assert_eq!(legacy["classification"], "FalsePositive");
        assert_eq!(legacy["determination"], "NoEnoughDataToValidate");
        assert_eq!(legacy["severity"], "Medium");
        assert_eq!(legacy["tags"], json!(["Demo"]));
        assert_eq!(legacy["systemTags"], json!(["Defender Experts"]));
        assert_eq!(
            legacy["comments"],
            json!([{
                "comment": "Demo incident",
                "createdBy": "DavidS@contoso.onmicrosoft.com",
                "createdTime": "2021-09-30T12:07:37.2756993Z"
            }])
        );
        assert!(
            legacy["incidentUri"]
                .as_str()
                .unwrap()
                .starts_with("https://security.microsoft.com/incidents/2972395")
        );
    }

    #[test]
    fn ids_are_numbers_only_when_all_digits() {
        let mut incident = graph_incident();
        incident["id"] = json!("ed-4c2a");
        incident["redirectIncidentId"] = json!("2972400");
        let legacy = incident_to_legacy(&incident).unwrap();
        assert_eq!(legacy["incidentId"], "ed-4c2a");
        assert_eq!(legacy["redirectIncidentId"], 2972400);
        incident["id"] = json!("99999999999999999999999");
        assert_eq!(
            incident_to_legacy(&incident).unwrap()["incidentId"],
            "99999999999999999999999"
        );
    }

    #[test]
    fn enums_map_to_the_legacy_values() {
        let cases = [
            ("status", "active", "Active"),
            ("status", "redirected", "Redirected"),
            ("status", "awaitingAction", "AwaitingAction"),
            ("status", "unknownFutureValue", "UnknownFutureValue"),
            ("classification", "truePositive", "TruePositive"),
            (
                "classification",
                "informationalExpectedActivity",
                "InformationalExpectedActivity",
            ),
            ("classification", "unknown", "Unknown"),
            ("determination", "unknown", "NotAvailable"),
            ("determination", "notMalicious", "NotMalicious"),
            ("determination", "clean", "NotMalicious"),
            (
                "determination",
                "insufficientData",
                "NoEnoughDataToValidate",
            ),
            ("determination", "compromisedAccount", "CompromisedAccount"),
            ("determination", "confirmedActivity", "ConfirmedActivity"),
            (
                "determination",
                "someFutureDetermination",
                "SomeFutureDetermination",
            ),
            ("severity", "unknown", "UnSpecified"),
            ("severity", "high", "High"),
        ];
        for (property, graph, expected) in cases {
            let mut incident = graph_incident();
            incident[property] = json!(graph);
            let legacy = incident_to_legacy(&incident).unwrap();
            assert_eq!(legacy[property], expected, "{property} {graph}");
        }
    }

    #[test]
    fn an_alert_reads_in_the_legacy_shape() {
        let legacy = alert_to_legacy(&graph_alert()).unwrap();
        assert_eq!(
            keys(&legacy)[..25],
            [
                "alertId",
                "incidentId",
                "serviceSource",
                "creationTime",
                "lastUpdatedTime",
                "resolvedTime",
                "firstActivity",
                "lastActivity",
                "title",
                "description",
                "category",
                "status",
                "severity",
                "investigationId",
                "investigationState",
                "classification",
                "determination",
                "detectionSource",
                "detectorId",
                "assignedTo",
                "actorName",
                "threatFamilyName",
                "mitreTechniques",
                "devices",
                "entities"
            ]
        );
        assert_eq!(
            keys(&legacy)[25..],
            ["evidence", "providerAlertId", "comments"]
        );
        assert_eq!(legacy["incidentId"], 2972395);
        assert_eq!(legacy["serviceSource"], "MicrosoftDefenderForEndpoint");
        assert_eq!(legacy["detectionSource"], "WindowsDefenderAv");
        assert_eq!(legacy["status"], "New");
        assert_eq!(legacy["severity"], "Low");
        assert_eq!(legacy["classification"], Value::Null);
        assert_eq!(legacy["determination"], Value::Null);
        assert_eq!(legacy["creationTime"], "2021-04-27T12:19:27.7211305Z");
        assert_eq!(legacy["evidence"].as_array().unwrap().len(), 3);
        let device = &legacy["devices"][0];
        assert_eq!(
            device["mdatpDeviceId"],
            "73e7e2de709dff64ef64b1d0c30e67fab63279db"
        );
        assert_eq!(device["healthStatus"], "Active");
        assert_eq!(device["riskScore"], "Medium");
        assert_eq!(device["onboardingStatus"], "Onboarded");
        assert_eq!(device["firstSeen"], "2020-09-12T07:28:32.4321753Z");
        assert_eq!(device["vmMetadata"]["cloudProvider"], "Azure");
        // The process maps; the cloud application has no legacy entity.
        let entities = legacy["entities"].as_array().unwrap();
        assert_eq!(entities.len(), 1);
        let process = &entities[0];
        assert_eq!(keys(process), ENTITY_KEYS);
        assert_eq!(process["entityType"], "Process");
        assert_eq!(process["verdict"], "Suspicious");
        assert_eq!(process["remediationStatus"], "None");
        assert_eq!(process["fileName"], "MsSense.exe");
        assert_eq!(process["processId"], 4780);
        assert_eq!(
            process["parentProcessCreationTime"],
            "2021-08-12T07:39:09.0909239Z"
        );
        assert_eq!(process["accountName"], "SYSTEM");
        assert_eq!(
            process["deviceId"],
            "73e7e2de709dff64ef64b1d0c30e67fab63279db"
        );
        assert_eq!(process["ipAddress"], Value::Null);
    }

    #[test]
    fn every_mapped_evidence_kind_becomes_its_entity_type() {
        let evidence = json!([
            {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {"accountName": "avance", "domainName": "CONTOSO", "userSid": "S-1-5-21-1", "azureAdUserId": "guid", "userPrincipalName": "adele.vance@contoso.com"}},
            {"@odata.type": "#microsoft.graph.security.ipEvidence", "ipAddress": "45.1.2.3"},
            {"@odata.type": "#microsoft.graph.security.urlEvidence", "url": "https://contoso-payroll.com/login"},
            {"@odata.type": "#microsoft.graph.security.fileEvidence", "mdeDeviceId": "dev", "fileDetails": {"sha1": "aa", "sha256": "bb", "fileName": "payload.dll", "filePath": "C:\\ProgramData"}},
            {"@odata.type": "#microsoft.graph.security.mailboxEvidence", "displayName": "Adele Vance", "primaryAddress": "adele.vance@contoso.com", "upn": "adele.vance@contoso.com"},
            {"@odata.type": "#microsoft.graph.security.analyzedMessageEvidence", "subject": "Invoice overdue", "recipientEmailAddress": "adele.vance@contoso.com", "deliveryAction": "delivered", "p1Sender": {"emailAddress": "billing@invoice-portal.co"}},
            {"@odata.type": "#microsoft.graph.security.mailClusterEvidence", "clusterBy": "Subject;P2SenderDomain"},
            {"@odata.type": "#microsoft.graph.security.registryKeyEvidence", "registryHive": "HKEY_LOCAL_MACHINE", "registryKey": "SOFTWARE\\Run"},
            {"@odata.type": "#microsoft.graph.security.registryValueEvidence", "registryHive": "HKEY_LOCAL_MACHINE", "registryKey": "SOFTWARE\\Run", "registryValueType": "String", "registryValue": "C:\\x.exe", "mdeDeviceId": "dev"},
            {"@odata.type": "#microsoft.graph.security.securityGroupEvidence", "securityGroupId": "sg", "displayName": "Domain Admins"},
            {"@odata.type": "#microsoft.graph.security.oauthApplicationEvidence", "appId": "x"},
            "not an object"
        ]);
        let legacy = evidence_to_legacy(evidence.as_array().unwrap());
        let types: Vec<&str> = legacy
            .entities
            .iter()
            .map(|entity| entity["entityType"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "User",
                "Ip",
                "Url",
                "File",
                "MailBox",
                "MailMessage",
                "MailCluster",
                "Registry",
                "Registry",
                "SecurityGroup"
            ]
        );
        let e = &legacy.entities;
        assert_eq!(e[0]["userPrincipalName"], "adele.vance@contoso.com");
        assert_eq!(e[0]["aadUserId"], "guid");
        assert_eq!(e[1]["ipAddress"], "45.1.2.3");
        assert_eq!(e[2]["url"], "https://contoso-payroll.com/login");
        assert_eq!(e[3]["sha256"], "bb");
        assert_eq!(e[3]["deviceId"], "dev");
        assert_eq!(e[4]["mailboxAddress"], "adele.vance@contoso.com");
        assert_eq!(e[4]["mailboxDisplayName"], "Adele Vance");
        assert_eq!(e[5]["sender"], "billing@invoice-portal.co");
        assert_eq!(e[5]["deliveryAction"], "Delivered");
        assert_eq!(e[6]["clusterBy"], "Subject;P2SenderDomain");
        assert_eq!(e[7]["registryValue"], Value::Null);
        assert_eq!(e[8]["registryValue"], "C:\\x.exe");
        assert_eq!(e[9]["securityGroupName"], "Domain Admins");
        assert!(legacy.devices.is_empty());
    }

    #[test]
    fn not_an_object_is_an_error() {
        assert_eq!(
            incident_to_legacy(&json!("x")).unwrap_err(),
            TranslateError::Unexpected {
                expected: "an incident object",
                found: "a string"
            }
        );
        let mut incident = graph_incident();
        incident["alerts"] = json!({});
        assert!(incident_to_legacy(&incident).is_err());
    }

    #[test]
    fn an_unexpanded_incident_has_no_alerts() {
        let mut incident = graph_incident();
        incident.as_object_mut().unwrap().remove("alerts");
        assert_eq!(incident_to_legacy(&incident).unwrap()["alerts"], json!([]));
    }
}
