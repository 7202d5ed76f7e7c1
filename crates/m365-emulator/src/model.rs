//! The Defender incidents API's JSON, as serde types. Field names and their order follow what the
//! API returns (`test_data`'s `raw_incident.json`, and the schema tables in
//! <https://learn.microsoft.com/defender-xdr/api-list-incidents>), so the emulator's bodies can be
//! compared byte for byte with recorded ones.

use jiff::Timestamp;
use serde::Serialize;

use super::clock::{serialize_optional_time, serialize_time};

/// One of the API's string enumerations.
pub(crate) trait ApiEnum: Copy + 'static {
    /// Every value, in the order the documentation lists them.
    const ALL: &'static [Self];

    /// The wire name.
    fn as_str(self) -> &'static str;

    /// Parses a wire name. The API matches enumeration names without regard to case.
    fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.as_str().eq_ignore_ascii_case(text))
    }
}

/// Declares an `ApiEnum`: the Rust enum and its wire names, written once.
macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
        pub(crate) enum $name { $($variant),+ }

        impl ApiEnum for $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];

            fn as_str(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }
        }
    };
}

api_enum!(
    /// `status` of an incident, settable with PATCH
    /// (<https://learn.microsoft.com/defender-xdr/api-update-incidents>).
    IncidentStatus { Active, InProgress, Resolved, Redirected }
);

api_enum!(Severity {
    Informational,
    Low,
    Medium,
    High
});

api_enum!(Classification {
    Unknown,
    TruePositive,
    InformationalExpectedActivity,
    FalsePositive
});

api_enum!(Determination {
    NotAvailable,
    MultiStagedAttack,
    MaliciousUserActivity,
    Malware,
    Phishing,
    CompromisedAccount,
    UnwantedSoftware,
    SecurityTesting,
    LineOfBusinessApplication,
    ConfirmedActivity,
    NotMalicious,
    NoEnoughDataToValidate,
    Other,
});

impl Classification {
    /// The determinations allowed with each classification: Microsoft's table
    /// (<https://learn.microsoft.com/defender-xdr/api-update-incidents#request-body>), in the
    /// order of the portal's classify dialog.
    pub(crate) fn determinations(self) -> &'static [Determination] {
        use Determination::*;
        match self {
            Classification::TruePositive => &[
                MultiStagedAttack,
                MaliciousUserActivity,
                Malware,
                Phishing,
                CompromisedAccount,
                UnwantedSoftware,
                Other,
            ],
            Classification::InformationalExpectedActivity => &[
                SecurityTesting,
                LineOfBusinessApplication,
                ConfirmedActivity,
                Other,
            ],
            Classification::FalsePositive => &[NotMalicious, NoEnoughDataToValidate, Other],
            Classification::Unknown => &[NotAvailable],
        }
    }

    /// The determination the API records when a classification is set without one.
    pub(crate) fn default_determination(self) -> Determination {
        match self {
            Classification::Unknown => Determination::NotAvailable,
            _ => Determination::Other,
        }
    }
}

/// The two APIs over the tenant's incidents, which name them differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IncidentApi {
    /// Numbers only.
    Defender,
    /// Strings: the number's digits, or an id of Graph's own.
    Graph,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Incident {
    pub(crate) incident_id: u64,
    /// An `id` of Microsoft Graph's own instead of the number's digits: Graph types incident
    /// ids as strings and promises no digits. The Defender API numbers its incidents, so an
    /// incident with such an id is Graph's alone: the Defender API neither lists nor finds it
    /// (as for an incident the service has not made visible), where showing it under its
    /// internal number would give one incident two ids. Never all digits.
    #[serde(skip)]
    pub(crate) graph_id: Option<String>,
    pub(crate) redirect_incident_id: Option<u64>,
    pub(crate) incident_name: String,
    #[serde(serialize_with = "serialize_time")]
    pub(crate) created_time: Timestamp,
    #[serde(serialize_with = "serialize_time")]
    pub(crate) last_update_time: Timestamp,
    pub(crate) assigned_to: Option<String>,
    pub(crate) classification: Classification,
    pub(crate) determination: Determination,
    pub(crate) status: IncidentStatus,
    pub(crate) severity: Severity,
    pub(crate) tags: Vec<String>,
    pub(crate) comments: Vec<Comment>,
    pub(crate) alerts: Vec<Alert>,
}

impl Incident {
    /// The `id` Graph shows: the [`Incident::graph_id`] if there is one, the number otherwise.
    pub(crate) fn id_in_graph(&self) -> String {
        match &self.graph_id {
            Some(id) => id.clone(),
            None => self.incident_id.to_string(),
        }
    }

    /// Whether `api` lists and finds this incident.
    pub(crate) fn is_in(&self, api: IncidentApi) -> bool {
        api == IncidentApi::Graph || self.graph_id.is_none()
    }

    /// Whether `id`, from a URL of `api`, names this incident.
    pub(crate) fn is_named(&self, api: IncidentApi, id: &str) -> bool {
        match (&self.graph_id, api) {
            (Some(graph_id), IncidentApi::Graph) => graph_id == id,
            (Some(_), IncidentApi::Defender) => false,
            (None, _) => id.parse::<u64>() == Ok(self.incident_id),
        }
    }

    /// The order both APIs list incidents in: newest first, and incidents created at the same
    /// instant in a stable order (higher id first).
    pub(crate) fn newest_first(a: &Incident, b: &Incident) -> std::cmp::Ordering {
        b.created_time
            .cmp(&a.created_time)
            .then(b.incident_id.cmp(&a.incident_id))
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Comment {
    pub(crate) comment: String,
    pub(crate) created_by: String,
    #[serde(serialize_with = "serialize_time")]
    pub(crate) created_time: Timestamp,
}

impl Comment {
    /// `comment`, written by `author` at `now`.
    pub(crate) fn new(comment: String, author: &str, now: Timestamp) -> Comment {
        Comment {
            comment,
            created_by: author.to_owned(),
            created_time: now,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Alert {
    pub(crate) alert_id: String,
    pub(crate) incident_id: u64,
    pub(crate) service_source: &'static str,
    #[serde(serialize_with = "serialize_time")]
    pub(crate) creation_time: Timestamp,
    #[serde(serialize_with = "serialize_time")]
    pub(crate) last_updated_time: Timestamp,
    #[serde(serialize_with = "serialize_optional_time")]
    pub(crate) resolved_time: Option<Timestamp>,
    #[serde(serialize_with = "serialize_time")]
    pub(crate) first_activity: Timestamp,
    #[serde(serialize_with = "serialize_time")]
    pub(crate) last_activity: Timestamp,
    pub(crate) title: &'static str,
    pub(crate) description: String,
    pub(crate) category: &'static str,
    pub(crate) status: &'static str,
    pub(crate) severity: Severity,
    pub(crate) investigation_id: Option<u64>,
    pub(crate) investigation_state: &'static str,
    /// The legacy name of the alert's classification; none until someone sets it. Alerts
    /// take any member Graph's metadata has (Graph's `apt` and `securityPersonnel` included),
    /// where an incident's must fit Defender's classification table.
    pub(crate) classification: Option<&'static str>,
    /// The legacy name of the alert's determination; none until someone sets it.
    pub(crate) determination: Option<&'static str>,
    pub(crate) detection_source: &'static str,
    pub(crate) detector_id: String,
    pub(crate) assigned_to: Option<String>,
    pub(crate) actor_name: Option<&'static str>,
    pub(crate) threat_family_name: Option<&'static str>,
    pub(crate) mitre_techniques: Vec<&'static str>,
    pub(crate) devices: Vec<Device>,
    pub(crate) entities: Vec<Entity>,
    /// Comments added through Graph's alerts API; the Defender API's alerts have none.
    #[serde(skip)]
    pub(crate) comments: Vec<Comment>,
}

impl Alert {
    /// The stored classification, `Unknown` until someone sets it.
    pub(crate) fn classification_or_unknown(&self) -> &'static str {
        self.classification
            .unwrap_or(Classification::Unknown.as_str())
    }

    /// The stored determination, `NotAvailable` until someone sets it.
    pub(crate) fn determination_or_unknown(&self) -> &'static str {
        self.determination
            .unwrap_or(Determination::NotAvailable.as_str())
    }

    /// The order Graph lists alerts in: newest first, and alerts created at the same instant in
    /// a stable order (higher id first).
    pub(crate) fn newest_first(a: &Alert, b: &Alert) -> std::cmp::Ordering {
        b.creation_time
            .cmp(&a.creation_time)
            .then_with(|| b.alert_id.cmp(&a.alert_id))
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Device {
    pub(crate) mdatp_device_id: String,
    pub(crate) aad_device_id: Option<String>,
    pub(crate) device_dns_name: Option<String>,
    pub(crate) os_platform: &'static str,
    pub(crate) version: &'static str,
    pub(crate) os_processor: &'static str,
    pub(crate) os_build: u32,
    pub(crate) health_status: &'static str,
    pub(crate) risk_score: &'static str,
    pub(crate) rbac_group_name: Option<&'static str>,
    #[serde(serialize_with = "serialize_time")]
    pub(crate) first_seen: Timestamp,
    pub(crate) tags: Vec<&'static str>,
    pub(crate) defender_av_status: &'static str,
    pub(crate) onboarding_status: &'static str,
    pub(crate) vm_metadata: Option<VmMetadata>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VmMetadata {
    pub(crate) vm_id: String,
    pub(crate) cloud_provider: &'static str,
    pub(crate) resource_id: String,
    pub(crate) subscription_id: String,
}

api_enum!(
    /// `entityType` values of alert evidence, spelled as the API spells them.
    EntityType {
        User,
        Ip,
        Url,
        File,
        Process,
        MailBox,
        MailMessage,
        MailCluster,
        Registry,
        SecurityGroup,
    }
);

/// One piece of alert evidence. The API sends every field for every entity type, `null` where it
/// does not apply, so this is one flat struct rather than an enum.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entity {
    pub(crate) entity_type: EntityType,
    #[serde(serialize_with = "serialize_time")]
    pub(crate) evidence_creation_time: Timestamp,
    pub(crate) verdict: &'static str,
    pub(crate) remediation_status: &'static str,
    pub(crate) sha1: Option<String>,
    pub(crate) sha256: Option<String>,
    pub(crate) file_name: Option<String>,
    pub(crate) file_path: Option<String>,
    pub(crate) process_id: Option<u32>,
    pub(crate) process_command_line: Option<String>,
    #[serde(serialize_with = "serialize_optional_time")]
    pub(crate) process_creation_time: Option<Timestamp>,
    pub(crate) parent_process_id: Option<u32>,
    #[serde(serialize_with = "serialize_optional_time")]
    pub(crate) parent_process_creation_time: Option<Timestamp>,
    pub(crate) ip_address: Option<String>,
    pub(crate) url: Option<String>,
    pub(crate) account_name: Option<String>,
    pub(crate) domain_name: Option<String>,
    pub(crate) user_sid: Option<String>,
    pub(crate) aad_user_id: Option<String>,
    pub(crate) user_principal_name: Option<String>,
    pub(crate) mailbox_display_name: Option<String>,
    pub(crate) mailbox_address: Option<String>,
    pub(crate) cluster_by: Option<String>,
    pub(crate) sender: Option<String>,
    pub(crate) recipient: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) delivery_action: Option<String>,
    pub(crate) security_group_id: Option<String>,
    pub(crate) security_group_name: Option<String>,
    pub(crate) registry_hive: Option<String>,
    pub(crate) registry_key: Option<String>,
    pub(crate) registry_value_type: Option<String>,
    pub(crate) registry_value: Option<String>,
    pub(crate) device_id: Option<String>,
}

impl Entity {
    /// An entity of `entity_type` with every type-specific field empty, to be filled in.
    pub(crate) fn new(entity_type: EntityType, evidence_creation_time: Timestamp) -> Entity {
        Entity {
            entity_type,
            evidence_creation_time,
            verdict: "Suspicious",
            remediation_status: "None",
            sha1: None,
            sha256: None,
            file_name: None,
            file_path: None,
            process_id: None,
            process_command_line: None,
            process_creation_time: None,
            parent_process_id: None,
            parent_process_creation_time: None,
            ip_address: None,
            url: None,
            account_name: None,
            domain_name: None,
            user_sid: None,
            aad_user_id: None,
            user_principal_name: None,
            mailbox_display_name: None,
            mailbox_address: None,
            cluster_by: None,
            sender: None,
            recipient: None,
            subject: None,
            delivery_action: None,
            security_group_id: None,
            security_group_name: None,
            registry_hive: None,
            registry_key: None,
            registry_value_type: None,
            registry_value: None,
            device_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_determination_but_other_belongs_to_one_classification() {
        for determination in Determination::ALL {
            let owners = Classification::ALL
                .iter()
                .filter(|classification| classification.determinations().contains(determination))
                .count();
            let expected = if *determination == Determination::Other {
                3
            } else {
                1
            };
            assert_eq!(owners, expected, "{determination:?}");
        }
        assert_eq!(
            Classification::FalsePositive.determinations(),
            [
                Determination::NotMalicious,
                Determination::NoEnoughDataToValidate,
                Determination::Other
            ]
        );
        assert_eq!(
            Classification::Unknown.determinations(),
            [Determination::NotAvailable]
        );
    }
}
