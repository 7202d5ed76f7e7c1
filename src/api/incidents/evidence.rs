//! An alert's evidence in Microsoft Graph
//! (<https://learn.microsoft.com/graph/api/resources/security-alertevidence>) as the legacy
//! API's `entities` and `devices`.

use serde_json::{Map, Value, json};

use crate::api::graph::legacy_open_enum;

/// An alert's evidence in the legacy shapes.
#[derive(Debug, Default, PartialEq)]
pub struct LegacyEvidence {
    /// Legacy `entities[]`: users, addresses, files, processes, mail, registry, groups.
    pub entities: Vec<Value>,
    /// Legacy `devices[]`, from `deviceEvidence`.
    pub devices: Vec<Value>,
}

/// The keys of a legacy entity, in the legacy order. The legacy API sends all of them for every
/// entity type, `null` where one does not apply.
pub(super) const ENTITY_KEYS: &[&str] = &[
    "entityType",
    "evidenceCreationTime",
    "verdict",
    "remediationStatus",
    "sha1",
    "sha256",
    "fileName",
    "filePath",
    "processId",
    "processCommandLine",
    "processCreationTime",
    "parentProcessId",
    "parentProcessCreationTime",
    "ipAddress",
    "url",
    "accountName",
    "domainName",
    "userSid",
    "aadUserId",
    "userPrincipalName",
    "mailboxDisplayName",
    "mailboxAddress",
    "clusterBy",
    "sender",
    "recipient",
    "subject",
    "deliveryAction",
    "securityGroupId",
    "securityGroupName",
    "registryHive",
    "registryKey",
    "registryValueType",
    "registryValue",
    "deviceId",
];

/// The evidence kind of `@odata.type`, e.g. `#microsoft.graph.security.userEvidence` →
/// `userevidence`.
fn evidence_kind(evidence: &Map<String, Value>) -> String {
    let odata_type = evidence
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    odata_type
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .trim_start_matches('#')
        .to_ascii_lowercase()
}

/// Graph evidence → legacy `entities[]` and `devices[]`. Evidence without a legacy counterpart
/// (cloud applications, OAuth applications, …) has no entity; it remains in the raw evidence.
pub fn evidence_to_legacy(evidence: &[Value]) -> LegacyEvidence {
    let mut legacy = LegacyEvidence::default();
    for item in evidence {
        let Some(source) = item.as_object() else {
            continue;
        };
        let kind = evidence_kind(source);
        if kind == "deviceevidence" {
            legacy.devices.push(device_to_legacy(source));
        } else if let Some(entity) = entity_to_legacy(&kind, source) {
            legacy.entities.push(entity);
        }
    }
    legacy
}

/// The value at `path` (`["imageFile", "sha1"]`), `null` when any step is missing.
fn field(source: &Map<String, Value>, path: &[&str]) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return Value::Null;
    };
    let mut value = source.get(*first);
    for key in rest {
        value = value.and_then(|inner| inner.get(key));
    }
    value.cloned().unwrap_or(Value::Null)
}

fn entity_to_legacy(kind: &str, source: &Map<String, Value>) -> Option<Value> {
    let entity_type = match kind {
        "userevidence" => "User",
        "ipevidence" => "Ip",
        "urlevidence" => "Url",
        "fileevidence" => "File",
        "processevidence" => "Process",
        "mailboxevidence" => "MailBox",
        "analyzedmessageevidence" => "MailMessage",
        "mailclusterevidence" => "MailCluster",
        "registrykeyevidence" | "registryvalueevidence" => "Registry",
        "securitygroupevidence" => "SecurityGroup",
        _ => return None,
    };
    let mut entity: Map<String, Value> = ENTITY_KEYS
        .iter()
        .map(|key| ((*key).to_owned(), Value::Null))
        .collect();
    let mut set = |key: &str, value: Value| {
        entity.insert(key.to_owned(), value);
    };
    set("entityType", Value::from(entity_type));
    set("evidenceCreationTime", field(source, &["createdDateTime"]));
    set("verdict", legacy_open_enum(source.get("verdict")));
    set(
        "remediationStatus",
        legacy_open_enum(source.get("remediationStatus")),
    );
    let account = |set: &mut dyn FnMut(&str, Value), path: &str| {
        set("accountName", field(source, &[path, "accountName"]));
        set("domainName", field(source, &[path, "domainName"]));
        set("userSid", field(source, &[path, "userSid"]));
        set("aadUserId", field(source, &[path, "azureAdUserId"]));
        set(
            "userPrincipalName",
            field(source, &[path, "userPrincipalName"]),
        );
    };
    let file = |set: &mut dyn FnMut(&str, Value), path: &str| {
        set("sha1", field(source, &[path, "sha1"]));
        set("sha256", field(source, &[path, "sha256"]));
        set("fileName", field(source, &[path, "fileName"]));
        set("filePath", field(source, &[path, "filePath"]));
    };
    match entity_type {
        "User" => account(&mut set, "userAccount"),
        "Ip" => set("ipAddress", field(source, &["ipAddress"])),
        "Url" => set("url", field(source, &["url"])),
        "File" => {
            file(&mut set, "fileDetails");
            set("deviceId", field(source, &["mdeDeviceId"]));
        }
        "Process" => {
            file(&mut set, "imageFile");
            set("processId", field(source, &["processId"]));
            set("processCommandLine", field(source, &["processCommandLine"]));
            set(
                "processCreationTime",
                field(source, &["processCreationDateTime"]),
            );
            set("parentProcessId", field(source, &["parentProcessId"]));
            set(
                "parentProcessCreationTime",
                field(source, &["parentProcessCreationDateTime"]),
            );
            if source.get("userAccount").is_some_and(Value::is_object) {
                account(&mut set, "userAccount");
            }
            set("deviceId", field(source, &["mdeDeviceId"]));
        }
        "MailBox" => {
            set("mailboxDisplayName", field(source, &["displayName"]));
            set("mailboxAddress", field(source, &["primaryAddress"]));
            let upn = match field(source, &["upn"]) {
                Value::Null => field(source, &["userAccount", "userPrincipalName"]),
                upn => upn,
            };
            set("userPrincipalName", upn);
        }
        "MailMessage" => {
            let sender = match field(source, &["p1Sender", "emailAddress"]) {
                Value::Null => field(source, &["p2Sender", "emailAddress"]),
                sender => sender,
            };
            set("sender", sender);
            set("recipient", field(source, &["recipientEmailAddress"]));
            set("subject", field(source, &["subject"]));
            set(
                "deliveryAction",
                legacy_open_enum(source.get("deliveryAction")),
            );
        }
        "MailCluster" => set("clusterBy", field(source, &["clusterBy"])),
        "Registry" => {
            set("registryHive", field(source, &["registryHive"]));
            set("registryKey", field(source, &["registryKey"]));
            set("registryValueType", field(source, &["registryValueType"]));
            set("registryValue", field(source, &["registryValue"]));
            set("deviceId", field(source, &["mdeDeviceId"]));
        }
        "SecurityGroup" => {
            set("securityGroupId", field(source, &["securityGroupId"]));
            set("securityGroupName", field(source, &["displayName"]));
        }
        _ => {}
    }
    Some(Value::Object(entity))
}

fn device_to_legacy(source: &Map<String, Value>) -> Value {
    let vm_metadata = match source.get("vmMetadata") {
        Some(Value::Object(vm)) => json!({
            "vmId": vm.get("vmId").cloned().unwrap_or(Value::Null),
            "cloudProvider": legacy_open_enum(vm.get("cloudProvider")),
            "resourceId": vm.get("resourceId").cloned().unwrap_or(Value::Null),
            "subscriptionId": vm.get("subscriptionId").cloned().unwrap_or(Value::Null),
        }),
        _ => Value::Null,
    };
    json!({
        "mdatpDeviceId": field(source, &["mdeDeviceId"]),
        "aadDeviceId": field(source, &["azureAdDeviceId"]),
        "deviceDnsName": field(source, &["deviceDnsName"]),
        "osPlatform": field(source, &["osPlatform"]),
        "version": field(source, &["version"]),
        "osProcessor": field(source, &["osProcessor"]),
        "osBuild": field(source, &["osBuild"]),
        "healthStatus": legacy_open_enum(source.get("healthStatus")),
        "riskScore": legacy_open_enum(source.get("riskScore")),
        "rbacGroupName": field(source, &["rbacGroupName"]),
        "firstSeen": field(source, &["firstSeenDateTime"]),
        "tags": source.get("tags").cloned().unwrap_or(json!([])),
        "defenderAvStatus": legacy_open_enum(source.get("defenderAvStatus")),
        "onboardingStatus": legacy_open_enum(source.get("onboardingStatus")),
        "vmMetadata": vm_metadata,
    })
}
