//! The tenant's custom detection rules: advanced hunting queries that Defender runs on a schedule
//! and that raise alerts (<https://learn.microsoft.com/defender-xdr/custom-detection-rules>).
//! Graph lists them under `/security/rules/detectionRules`
//! (<https://learn.microsoft.com/graph/api/resources/security-detectionrule>). A handful is enough
//! for the plugin to list and read them; they come from the seed, with a generator of their own,
//! so that the incidents stay exactly what they were before rules existed.

use jiff::{SignedDuration, Timestamp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::tenant::{Directory, guid, instant_between, pick};

/// What a rule looks for and the alert it raises.
struct RuleKind {
    display_name: &'static str,
    query: &'static str,
    /// How often it runs: `0` (near real time), `1H`, `3H`, `12H` or `24H`.
    period: &'static str,
    title: &'static str,
    description: &'static str,
    /// Graph's `alertSeverity` member.
    severity: &'static str,
    category: &'static str,
    recommended_actions: Option<&'static str>,
    mitre_techniques: &'static [&'static str],
    /// `(@odata.type, identifier)` of the impacted assets.
    impacted_assets: &'static [(&'static str, &'static str)],
    /// `(@odata.type, identifier)` of the automatic response actions.
    response_actions: &'static [(&'static str, &'static str)],
}

const RULE_KINDS: &[RuleKind] = &[
    RuleKind {
        display_name: "Encoded PowerShell command line",
        query: "DeviceProcessEvents\n| where FileName =~ \"powershell.exe\" and ProcessCommandLine has \"-EncodedCommand\"\n| project Timestamp, DeviceId, DeviceName, ReportId, AccountSid, ProcessCommandLine",
        period: "1H",
        title: "Encoded PowerShell command line",
        description: "An encoded PowerShell command line was run. Attackers encode commands to hide them.",
        severity: "medium",
        category: "Execution",
        recommended_actions: Some("Review the command line and the account that ran it."),
        mitre_techniques: &["T1059.001", "T1027"],
        impacted_assets: &[
            ("#microsoft.graph.security.impactedDeviceAsset", "deviceId"),
            ("#microsoft.graph.security.impactedUserAsset", "accountSid"),
        ],
        response_actions: &[],
    },
    RuleKind {
        display_name: "Rclone exfiltration tool",
        query: "DeviceProcessEvents\n| where FileName =~ \"rclone.exe\"\n| project Timestamp, DeviceId, DeviceName, ReportId, SHA1, InitiatingProcessAccountObjectId",
        period: "3H",
        title: "Rclone used to copy data out",
        description: "Rclone, a tool ransomware operators use to exfiltrate data, ran on a device.",
        severity: "high",
        category: "Exfiltration",
        recommended_actions: None,
        mitre_techniques: &["T1567.002"],
        impacted_assets: &[("#microsoft.graph.security.impactedDeviceAsset", "deviceId")],
        response_actions: &[(
            "#microsoft.graph.security.stopAndQuarantineFileResponseAction",
            "sha1",
        )],
    },
    RuleKind {
        display_name: "Inbox rule forwarding outside the organization",
        query: "CloudAppEvents\n| where ActionType == \"New-InboxRule\" and RawEventData has \"ForwardTo\"\n| project Timestamp, ReportId, AccountObjectId, AccountDisplayName",
        period: "24H",
        title: "Mail forwarded outside the organization",
        description: "A user created an inbox rule that forwards mail to an outside address.",
        severity: "medium",
        category: "Collection",
        recommended_actions: Some("Confirm the rule with the user; remove it if it is not theirs."),
        mitre_techniques: &["T1114.003"],
        impacted_assets: &[(
            "#microsoft.graph.security.impactedMailboxAsset",
            "accountObjectId",
        )],
        response_actions: &[],
    },
    RuleKind {
        display_name: "Sign-ins from anonymizing proxies",
        query: "AADSignInEventsBeta\n| where RiskLevelDuringSignIn >= 50 and NetworkLocationDetails has \"anonymizedIPAddress\"\n| project Timestamp, ReportId, AccountObjectId, IPAddress",
        period: "0",
        title: "Sign-in from an anonymizing proxy",
        description: "An account signed in through an anonymizing proxy or Tor exit node.",
        severity: "low",
        category: "InitialAccess",
        recommended_actions: None,
        mitre_techniques: &["T1090.003"],
        impacted_assets: &[(
            "#microsoft.graph.security.impactedUserAsset",
            "accountObjectId",
        )],
        response_actions: &[],
    },
];

/// Why a rule's last run failed, and its error code.
const FAILURE: (&str, &str) = (
    "The query exceeded the allotted resources. Optimize the query and try again.",
    "QueryLimitExceeded",
);

/// One custom detection rule, with its state at the emulator's start.
pub(crate) struct DetectionRule {
    pub(crate) id: String,
    pub(crate) display_name: &'static str,
    pub(crate) is_enabled: bool,
    pub(crate) detector_id: String,
    pub(crate) created_by: String,
    pub(crate) created: Timestamp,
    pub(crate) last_modified_by: String,
    pub(crate) last_modified: Timestamp,
    pub(crate) query_text: &'static str,
    pub(crate) period: &'static str,
    pub(crate) next_run: Option<Timestamp>,
    pub(crate) last_run: Timestamp,
    /// Graph's `detectionRuleStatus` of the last run, and the failure's reason and code.
    pub(crate) last_run_status: &'static str,
    pub(crate) failure: Option<(&'static str, &'static str)>,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    pub(crate) severity: &'static str,
    pub(crate) category: &'static str,
    pub(crate) recommended_actions: Option<&'static str>,
    pub(crate) mitre_techniques: &'static [&'static str],
    pub(crate) impacted_assets: &'static [(&'static str, &'static str)],
    pub(crate) response_actions: &'static [(&'static str, &'static str)],
}

/// How long a run takes to come round again; `0` (near real time) runs continuously.
fn period_length(period: &str) -> SignedDuration {
    let hours = period.trim_end_matches('H').parse::<i64>().unwrap_or(0);
    SignedDuration::from_hours(hours)
}

/// The rules of the tenant seeded with `seed`, as they stand at `start`: written by its analysts
/// in the year before, the last disabled, one whose last run failed.
pub(crate) fn seeded(seed: u64, start: Timestamp, directory: &Directory) -> Vec<DetectionRule> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xDE7E_C7ED);
    let failing = rng.random_range(0..RULE_KINDS.len() - 1);
    let mut id = rng.random_range(1_000..9_000u32);
    RULE_KINDS
        .iter()
        .enumerate()
        .map(|(index, kind)| {
            id += rng.random_range(1..400);
            let created = instant_between(
                &mut rng,
                start - SignedDuration::from_hours(365 * 24),
                start - SignedDuration::from_hours(40 * 24),
            );
            let last_modified = instant_between(&mut rng, created, start);
            let created_by = pick(&mut rng, &directory.analysts).clone();
            let last_modified_by = pick(&mut rng, &directory.analysts).clone();
            let is_enabled = index + 1 < RULE_KINDS.len();
            let length = period_length(kind.period);
            let last_run = start - SignedDuration::from_secs(rng.random_range(60..3_600));
            let failed = index == failing;
            DetectionRule {
                id: id.to_string(),
                display_name: kind.display_name,
                is_enabled,
                detector_id: guid(&mut rng),
                created_by,
                created,
                last_modified_by,
                last_modified,
                query_text: kind.query,
                period: kind.period,
                next_run: is_enabled.then(|| last_run + length),
                last_run,
                last_run_status: if failed { "failed" } else { "completed" },
                failure: failed.then_some(FAILURE),
                title: kind.title,
                description: kind.description,
                severity: kind.severity,
                category: kind.category,
                recommended_actions: kind.recommended_actions,
                mitre_techniques: kind.mitre_techniques,
                impacted_assets: kind.impacted_assets,
                response_actions: kind.response_actions,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_rules() {
        let start: Timestamp = "2025-02-01T00:00:00Z".parse().unwrap();
        let tenant = crate::tenant::Tenant::seeded(1, 1, start);
        let ids = |seed| -> Vec<String> {
            seeded(seed, start, &tenant.directory)
                .into_iter()
                .map(|rule| rule.id)
                .collect()
        };
        assert_eq!(ids(1), ids(1));
        assert_ne!(ids(1), ids(2));
        let rules = seeded(1, start, &tenant.directory);
        assert_eq!(rules.len(), RULE_KINDS.len());
        assert_eq!(rules.iter().filter(|rule| !rule.is_enabled).count(), 1);
        assert_eq!(
            rules.iter().filter(|rule| rule.failure.is_some()).count(),
            1
        );
        assert!(rules.iter().all(|rule| rule.created < rule.last_modified));
    }
}
