//! The tenant's incidents as Graph writes them: the same stored incident the Defender API serves,
//! rendered with Graph's property names and order
//! (<https://learn.microsoft.com/graph/api/resources/security-incident>,
//! <https://learn.microsoft.com/graph/api/resources/security-alert>), enumeration members under
//! their metadata names, and each piece of alert evidence as its `alertEvidence` subtype with
//! the fields the documentation lists. Members after `unknownFutureValue` (Defender for Cloud as
//! a service or detection source) read `unknownFutureValue` unless the client opted in.

use percent_encoding::utf8_percent_encode;
use serde_json::{Map, Value, json};

use super::super::DEMO_TENANT_ID;
use super::super::clock::format_time;
use super::super::model::{Alert, ApiEnum, Comment, Device, Entity, EntityType, Incident};
use crate::NOT_UNRESERVED;
use crate::vocabulary::{
    ALERT_STATUS, CLASSIFICATION, DETECTION_SOURCE, DETERMINATION, Enumeration, INCIDENT_STATUS,
    SERVICE_SOURCE, SEVERITY, camel_case,
};

/// How a response renders enumerations: with or without the opt-in members.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rendering {
    /// The request sent `Prefer: include-unknown-enum-members`.
    pub(crate) unknown_enum_members: bool,
}

impl Rendering {
    /// The Graph member for a stored (legacy-named) value.
    fn member(self, enumeration: &Enumeration, legacy: &str) -> Value {
        let name = match enumeration.by_legacy_name(legacy) {
            Some(member) if enumeration.needs_opt_in(member) && !self.unknown_enum_members => {
                "unknownFutureValue".to_owned()
            }
            Some(member) => member.graph.to_owned(),
            None => camel_case(legacy),
        };
        Value::String(name)
    }
}

/// The page in the Defender portal of the incident with Graph id `id`.
pub(crate) fn incident_web_url(id: &str) -> String {
    format!(
        "https://security.microsoft.com/incidents/{}?tid={DEMO_TENANT_ID}",
        utf8_percent_encode(id, NOT_UNRESERVED)
    )
}

fn time_or_null(time: Option<jiff::Timestamp>) -> Value {
    time.map(|time| Value::String(format_time(time)))
        .unwrap_or(Value::Null)
}

/// Tags Defender itself puts on an incident, derived from what its alerts are about.
fn system_tags(incident: &Incident) -> Vec<&'static str> {
    let mut tags = Vec::new();
    for alert in &incident.alerts {
        let tag = match (alert.category, alert.title) {
            ("Ransomware", _) => Some("Ransomware"),
            (_, "Suspected business email compromise") => Some("BEC Fraud"),
            _ => None,
        };
        if let Some(tag) = tag.filter(|tag| !tags.contains(tag)) {
            tags.push(tag);
        }
    }
    tags
}

/// `microsoft.graph.security.incident`, with its alerts when `expand_alerts`.
pub(crate) fn incident(incident: &Incident, expand_alerts: bool, rendering: Rendering) -> Value {
    let id = incident.id_in_graph();
    let mut object = json!({
        "id": id,
        "incidentWebUrl": incident_web_url(&id),
        "tenantId": DEMO_TENANT_ID,
        "redirectIncidentId": incident.redirect_incident_id.map(|id| id.to_string()),
        "displayName": incident.incident_name,
        "createdDateTime": format_time(incident.created_time),
        "lastUpdateDateTime": format_time(incident.last_update_time),
        "assignedTo": incident.assigned_to,
        "classification": rendering.member(&CLASSIFICATION, incident.classification.as_str()),
        "determination": rendering.member(&DETERMINATION, incident.determination.as_str()),
        "status": rendering.member(&INCIDENT_STATUS, incident.status.as_str()),
        "severity": rendering.member(&SEVERITY, incident.severity.as_str()),
        "customTags": incident.tags,
        "comments": comments(&incident.comments),
        "systemTags": system_tags(incident),
        "description": null,
        "summary": null,
        "lastModifiedBy": null,
        "resolvingComment": null,
    });
    if expand_alerts {
        object["alerts"] = incident
            .alerts
            .iter()
            .map(|one| alert(one, &id, rendering))
            .collect();
    }
    object
}

/// `microsoft.graph.security.alertComment` collection.
pub(crate) fn comments(comments: &[Comment]) -> Value {
    comments
        .iter()
        .map(|comment| {
            json!({
                "comment": comment.comment,
                "createdByDisplayName": comment.created_by,
                "createdDateTime": format_time(comment.created_time),
            })
        })
        .collect()
}

/// `microsoft.graph.security.alert` of the incident with Graph id `incident_id`, as
/// `$expand=alerts` and `alerts_v2` show it.
pub(crate) fn alert(alert: &Alert, incident_id: &str, rendering: Rendering) -> Value {
    let evidence: Vec<Value> = alert
        .devices
        .iter()
        .map(|device| device_evidence(device, alert))
        .chain(alert.entities.iter().map(entity_evidence))
        .collect();
    json!({
        "id": alert.alert_id,
        "providerAlertId": alert.alert_id,
        "incidentId": incident_id,
        "status": rendering.member(&ALERT_STATUS, alert.status),
        "severity": rendering.member(&SEVERITY, alert.severity.as_str()),
        "classification": rendering.member(&CLASSIFICATION, alert.classification_or_unknown()),
        "determination": rendering.member(&DETERMINATION, alert.determination_or_unknown()),
        "serviceSource": rendering.member(&SERVICE_SOURCE, alert.service_source),
        "detectionSource": rendering.member(&DETECTION_SOURCE, alert.detection_source),
        "detectorId": alert.detector_id,
        "tenantId": DEMO_TENANT_ID,
        "title": alert.title,
        "description": alert.description,
        "recommendedActions": null,
        "category": alert.category,
        "assignedTo": alert.assigned_to,
        "alertWebUrl": format!("https://security.microsoft.com/alerts/{}?tid={DEMO_TENANT_ID}", alert.alert_id),
        "incidentWebUrl": incident_web_url(incident_id),
        "actorDisplayName": alert.actor_name,
        "threatDisplayName": alert.threat_family_name,
        "threatFamilyName": alert.threat_family_name,
        "mitreTechniques": alert.mitre_techniques,
        "createdDateTime": format_time(alert.creation_time),
        "lastUpdateDateTime": format_time(alert.last_updated_time),
        "resolvedDateTime": time_or_null(alert.resolved_time),
        "firstActivityDateTime": format_time(alert.first_activity),
        "lastActivityDateTime": format_time(alert.last_activity),
        "comments": comments(&alert.comments),
        "evidence": evidence,
        "systemTags": [],
    })
}

/// The properties every `alertEvidence` has, under its subtype's `@odata.type`.
fn evidence_base(
    kind: &str,
    created: Value,
    verdict: &str,
    remediation: &str,
) -> Map<String, Value> {
    let base = json!({
        "@odata.type": format!("#microsoft.graph.security.{kind}"),
        "createdDateTime": created,
        "verdict": camel_case(verdict),
        "remediationStatus": camel_case(remediation),
        "remediationStatusDetails": null,
        "roles": [],
        "detailedRoles": [],
        "tags": [],
    });
    match base {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// `deviceEvidence` for a device an alert is on.
fn device_evidence(device: &Device, alert: &Alert) -> Value {
    let mut evidence = evidence_base(
        "deviceEvidence",
        Value::String(format_time(alert.creation_time)),
        "Unknown",
        "None",
    );
    let vm_metadata = device.vm_metadata.as_ref().map(|vm| {
        json!({
            "vmId": vm.vm_id,
            "cloudProvider": camel_case(vm.cloud_provider),
            "resourceId": vm.resource_id,
            "subscriptionId": vm.subscription_id,
        })
    });
    let fields = json!({
        "firstSeenDateTime": format_time(device.first_seen),
        "mdeDeviceId": device.mdatp_device_id,
        "azureAdDeviceId": device.aad_device_id,
        "deviceDnsName": device.device_dns_name,
        "osPlatform": device.os_platform,
        "osBuild": device.os_build,
        "version": device.version,
        "rbacGroupId": null,
        "rbacGroupName": device.rbac_group_name,
        "healthStatus": camel_case(device.health_status),
        "riskScore": camel_case(device.risk_score),
        "onboardingStatus": camel_case(device.onboarding_status),
        "defenderAvStatus": camel_case(device.defender_av_status),
        "vmMetadata": vm_metadata,
        "ipInterfaces": [],
        "loggedOnUsers": [],
    });
    extend(&mut evidence, fields);
    evidence.insert("tags".into(), json!(device.tags));
    Value::Object(evidence)
}

fn extend(evidence: &mut Map<String, Value>, fields: Value) {
    if let Value::Object(fields) = fields {
        evidence.extend(fields);
    }
}

/// `microsoft.graph.security.userAccount`.
fn user_account(entity: &Entity) -> Value {
    json!({
        "accountName": entity.account_name,
        "azureAdUserId": entity.aad_user_id,
        "displayName": null,
        "domainName": entity.domain_name,
        "userPrincipalName": entity.user_principal_name,
        "userSid": entity.user_sid,
    })
}

/// `microsoft.graph.security.fileDetails`.
fn file_details(entity: &Entity) -> Value {
    json!({
        "sha1": entity.sha1,
        "sha256": entity.sha256,
        "fileName": entity.file_name,
        "filePath": entity.file_path,
        "fileSize": null,
        "filePublisher": null,
        "signer": null,
        "issuer": null,
    })
}

/// The `alertEvidence` subtype of one legacy entity, with the properties its documentation
/// lists (`null` where the tenant holds no value).
fn entity_evidence(entity: &Entity) -> Value {
    let (kind, fields) = match entity.entity_type {
        EntityType::User => ("userEvidence", json!({"userAccount": user_account(entity)})),
        EntityType::Ip => (
            "ipEvidence",
            json!({"ipAddress": entity.ip_address, "countryLetterCode": null}),
        ),
        EntityType::Url => ("urlEvidence", json!({"url": entity.url})),
        EntityType::File => (
            "fileEvidence",
            json!({
                "fileDetails": file_details(entity),
                "mdeDeviceId": entity.device_id,
                "detectionStatus": "detected",
            }),
        ),
        EntityType::Process => (
            "processEvidence",
            json!({
                "processId": entity.process_id,
                "parentProcessId": entity.parent_process_id,
                "processCommandLine": entity.process_command_line,
                "processCreationDateTime": time_or_null(entity.process_creation_time),
                "parentProcessCreationDateTime": time_or_null(entity.parent_process_creation_time),
                "detectionStatus": "detected",
                "mdeDeviceId": entity.device_id,
                "imageFile": file_details(entity),
                "parentProcessImageFile": null,
                "userAccount": null,
            }),
        ),
        EntityType::MailBox => (
            "mailboxEvidence",
            json!({
                "displayName": entity.mailbox_display_name,
                "primaryAddress": entity.mailbox_address,
                "upn": entity.user_principal_name,
                "userAccount": user_account(entity),
            }),
        ),
        EntityType::MailMessage => {
            let sender_domain = entity
                .sender
                .as_deref()
                .and_then(|sender| sender.split_once('@'))
                .map(|(_, domain)| domain.to_owned());
            let sender = json!({
                "displayName": null,
                "domainName": sender_domain,
                "emailAddress": entity.sender,
            });
            (
                "analyzedMessageEvidence",
                json!({
                    "networkMessageId": null,
                    "internetMessageId": null,
                    "subject": entity.subject,
                    "language": "en",
                    "senderIp": null,
                    "recipientEmailAddress": entity.recipient,
                    "antiSpamDirection": "inbound",
                    "deliveryAction": entity.delivery_action.as_deref().map(camel_case),
                    "deliveryLocation": null,
                    "urn": null,
                    "threats": [],
                    "threatDetectionMethods": [],
                    "urls": [],
                    "urlCount": 0,
                    "attachmentsCount": 0,
                    "receivedDateTime": format_time(entity.evidence_creation_time),
                    "p1Sender": sender,
                    "p2Sender": sender,
                }),
            )
        }
        EntityType::MailCluster => (
            "mailClusterEvidence",
            json!({
                "clusterBy": entity.cluster_by,
                "clusterByValue": null,
                "emailCount": 0,
                "networkMessageIds": [],
                "query": null,
                "urn": null,
            }),
        ),
        EntityType::Registry if entity.registry_value.is_some() => (
            "registryValueEvidence",
            json!({
                "mdeDeviceId": entity.device_id,
                "registryKey": entity.registry_key,
                "registryHive": entity.registry_hive,
                "registryValue": entity.registry_value,
                "registryValueName": null,
                "registryValueType": entity.registry_value_type,
            }),
        ),
        EntityType::Registry => (
            "registryKeyEvidence",
            json!({"registryKey": entity.registry_key, "registryHive": entity.registry_hive}),
        ),
        EntityType::SecurityGroup => (
            "securityGroupEvidence",
            json!({
                "securityGroupId": entity.security_group_id,
                "displayName": entity.security_group_name,
            }),
        ),
    };
    let mut evidence = evidence_base(
        kind,
        Value::String(format_time(entity.evidence_creation_time)),
        entity.verdict,
        entity.remediation_status,
    );
    extend(&mut evidence, fields);
    Value::Object(evidence)
}
