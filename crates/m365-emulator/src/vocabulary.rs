//! The names Microsoft gives the members of the incident and alert enumerations: Graph's
//! metadata name (`notEnoughDataToValidate`) beside the legacy Defender API's
//! (`NoEnoughDataToValidate`). The emulator keeps its own table, written from Microsoft's
//! documentation, rather than the client's: it stands in for Microsoft, so a wrong name in the
//! client must make a test fail instead of being served back to it.
//!
//! Graph enumerations are "evolvable": members listed after `unknownFutureValue` are only sent
//! to, and accepted from, clients that ask with `Prefer: include-unknown-enum-members`
//! (<https://learn.microsoft.com/graph/best-practices-concept#handling-future-members-in-evolvable-enumerations>).
//! Members are listed in metadata order, sentinel included, so that rule follows from the order.

/// One member of an enumeration, under both APIs' names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Member {
    /// The name Graph sends and expects, e.g. `inProgress`.
    pub(crate) graph: &'static str,
    /// The legacy Defender API's name, e.g. `InProgress`.
    pub(crate) legacy: &'static str,
}

/// Graph's sentinel: members after it need opting in, and no client may set it.
const SENTINEL: &str = "unknownFutureValue";

/// The members of one enumeration, in Graph's metadata order.
pub(crate) struct Enumeration(&'static [Member]);

impl Enumeration {
    /// The member the legacy API (and so the emulator's store) calls `name`, in any case.
    pub(crate) fn by_legacy_name(&self, name: &str) -> Option<&'static Member> {
        self.0
            .iter()
            .find(|member| member.legacy.eq_ignore_ascii_case(name))
    }

    /// The member with Graph name `name`, in any case: Graph accepts `TruePositive` for
    /// `truePositive`, as its own update example shows
    /// (<https://learn.microsoft.com/graph/api/security-incident-update>).
    pub(crate) fn by_graph_name(&self, name: &str) -> Option<&'static Member> {
        let name = name.trim();
        self.0
            .iter()
            .find(|member| member.graph.eq_ignore_ascii_case(name))
    }

    /// Whether Graph sends and accepts `member` only after the client opted in.
    pub(crate) fn needs_opt_in(&self, member: &Member) -> bool {
        let position = |graph: &str| self.0.iter().position(|known| known.graph == graph);
        matches!(
            (position(member.graph), position(SENTINEL)),
            (Some(here), Some(sentinel)) if here > sentinel
        )
    }

    /// Whether `member` is the sentinel.
    pub(crate) fn is_sentinel(member: &Member) -> bool {
        member.graph == SENTINEL
    }

    /// The Graph names a client may set without opting in, for error messages.
    pub(crate) fn settable_graph_names(&self) -> Vec<&'static str> {
        self.0
            .iter()
            .filter(|member| !Self::is_sentinel(member) && !self.needs_opt_in(member))
            .map(|member| member.graph)
            .collect()
    }
}

const fn member(graph: &'static str, legacy: &'static str) -> Member {
    Member { graph, legacy }
}

/// `status` of an incident
/// (<https://learn.microsoft.com/graph/api/resources/security-incident#incidentstatus-values>).
pub(crate) const INCIDENT_STATUS: Enumeration = Enumeration(&[
    member("active", "Active"),
    member("resolved", "Resolved"),
    member("inProgress", "InProgress"),
    member("redirected", "Redirected"),
    member("unknownFutureValue", "UnknownFutureValue"),
    member("awaitingAction", "AwaitingAction"),
]);

/// The incident status only Microsoft Defender Experts set.
pub(crate) const AWAITING_ACTION: &str = "awaitingAction";

/// `status` of an alert
/// (<https://learn.microsoft.com/graph/api/resources/security-alert#alertstatus-values>).
pub(crate) const ALERT_STATUS: Enumeration = Enumeration(&[
    member("unknown", "Unknown"),
    member("new", "New"),
    member("inProgress", "InProgress"),
    member("resolved", "Resolved"),
    member("unknownFutureValue", "UnknownFutureValue"),
]);

/// `severity` of an incident or alert
/// (<https://learn.microsoft.com/graph/api/resources/security-alert#alertseverity-values>);
/// the legacy API calls `unknown` `UnSpecified`.
pub(crate) const SEVERITY: Enumeration = Enumeration(&[
    member("unknown", "UnSpecified"),
    member("informational", "Informational"),
    member("low", "Low"),
    member("medium", "Medium"),
    member("high", "High"),
    member("unknownFutureValue", "UnknownFutureValue"),
]);

/// `classification` of an incident or alert
/// (<https://learn.microsoft.com/graph/api/resources/security-alert#alertclassification-values>).
pub(crate) const CLASSIFICATION: Enumeration = Enumeration(&[
    member("unknown", "Unknown"),
    member("falsePositive", "FalsePositive"),
    member("truePositive", "TruePositive"),
    member(
        "informationalExpectedActivity",
        "InformationalExpectedActivity",
    ),
    member("unknownFutureValue", "UnknownFutureValue"),
]);

/// `determination` of an incident or alert, in the order of Graph's metadata
/// (`microsoft.graph.security.alertDetermination`); the legacy API calls `unknown`
/// `NotAvailable` and `notEnoughDataToValidate` `NoEnoughDataToValidate`
/// (<https://learn.microsoft.com/defender-xdr/api-update-incidents#request-body>).
pub(crate) const DETERMINATION: Enumeration = Enumeration(&[
    member("unknown", "NotAvailable"),
    member("apt", "Apt"),
    member("malware", "Malware"),
    member("securityPersonnel", "SecurityPersonnel"),
    member("securityTesting", "SecurityTesting"),
    member("unwantedSoftware", "UnwantedSoftware"),
    member("other", "Other"),
    member("multiStagedAttack", "MultiStagedAttack"),
    member("compromisedAccount", "CompromisedAccount"),
    member("phishing", "Phishing"),
    member("maliciousUserActivity", "MaliciousUserActivity"),
    member("notMalicious", "NotMalicious"),
    member("notEnoughDataToValidate", "NoEnoughDataToValidate"),
    member("confirmedActivity", "ConfirmedActivity"),
    member("lineOfBusinessApplication", "LineOfBusinessApplication"),
    member("unknownFutureValue", "UnknownFutureValue"),
]);

/// `serviceSource` of an alert: the product that raised it
/// (<https://learn.microsoft.com/graph/api/resources/security-alert#servicesource-values>); the
/// legacy API still calls Defender for Cloud Apps `MicrosoftCloudAppSecurity`.
pub(crate) const SERVICE_SOURCE: Enumeration = Enumeration(&[
    member("unknown", "Unknown"),
    member(
        "microsoftDefenderForEndpoint",
        "MicrosoftDefenderForEndpoint",
    ),
    member(
        "microsoftDefenderForIdentity",
        "MicrosoftDefenderForIdentity",
    ),
    member("microsoftDefenderForCloudApps", "MicrosoftCloudAppSecurity"),
    member(
        "microsoftDefenderForOffice365",
        "MicrosoftDefenderForOffice365",
    ),
    member("microsoft365Defender", "Microsoft365Defender"),
    member("azureAdIdentityProtection", "AzureAdIdentityProtection"),
    member("microsoftAppGovernance", "MicrosoftAppGovernance"),
    member("dataLossPrevention", "DataLossPrevention"),
    member("unknownFutureValue", "UnknownFutureValue"),
    member("microsoftDefenderForCloud", "MicrosoftDefenderForCloud"),
]);

/// `detectionSource` of an alert: the sensor that noticed it
/// (<https://learn.microsoft.com/graph/api/resources/security-alert#detectionsource-values>);
/// the legacy API uses the products' internal names (`EDR`, `WindowsDefenderAv`, `OfficeATP`,
/// `AATP`, `MCAS`, `MTP`), as its alert documentation shows
/// (<https://learn.microsoft.com/defender-endpoint/api/alerts>).
pub(crate) const DETECTION_SOURCE: Enumeration = Enumeration(&[
    member("unknown", "Unknown"),
    member("microsoftDefenderForEndpoint", "EDR"),
    member("antivirus", "WindowsDefenderAv"),
    member("smartScreen", "WindowsDefenderSmartScreen"),
    member("customTi", "CustomerTI"),
    member("microsoftDefenderForOffice365", "OfficeATP"),
    member("automatedInvestigation", "AutomatedInvestigation"),
    member("microsoftThreatExperts", "ThreatExperts"),
    member("customDetection", "CustomDetection"),
    member("microsoftDefenderForIdentity", "AATP"),
    member("cloudAppSecurity", "MCAS"),
    member("microsoft365Defender", "MTP"),
    member("azureAdIdentityProtection", "AzureAdIdentityProtection"),
    member("manual", "Manual"),
    member("microsoftDataLossPrevention", "MicrosoftDataLossPrevention"),
    member("appGovernancePolicy", "AppGovernancePolicy"),
    member("appGovernanceDetection", "AppGovernanceDetection"),
    member("unknownFutureValue", "UnknownFutureValue"),
    member("microsoftDefenderForCloud", "MicrosoftDefenderForCloud"),
    member("microsoftDefenderForIoT", "MicrosoftDefenderForIoT"),
    member("microsoftDefenderForServers", "MicrosoftDefenderForServers"),
    member("microsoftDefenderForStorage", "MicrosoftDefenderForStorage"),
    member("microsoftDefenderForDNS", "MicrosoftDefenderForDNS"),
    member(
        "microsoftDefenderForDatabases",
        "MicrosoftDefenderForDatabases",
    ),
    member(
        "microsoftDefenderForContainers",
        "MicrosoftDefenderForContainers",
    ),
    member("microsoftDefenderForNetwork", "MicrosoftDefenderForNetwork"),
    member(
        "microsoftDefenderForAppService",
        "MicrosoftDefenderForAppService",
    ),
    member(
        "microsoftDefenderForKeyVault",
        "MicrosoftDefenderForKeyVault",
    ),
    member(
        "microsoftDefenderForResourceManager",
        "MicrosoftDefenderForResourceManager",
    ),
    member(
        "microsoftDefenderForApiManagement",
        "MicrosoftDefenderForApiManagement",
    ),
]);

/// `inProgress` from `InProgress`: how Graph spells a member the legacy API shares with it,
/// for values outside the tables above.
pub(crate) fn camel_case(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_after_the_sentinel_need_opting_in() {
        let awaiting = INCIDENT_STATUS.by_graph_name("AwaitingAction").unwrap();
        assert!(INCIDENT_STATUS.needs_opt_in(awaiting));
        let cloud = SERVICE_SOURCE
            .by_legacy_name("MicrosoftDefenderForCloud")
            .unwrap();
        assert!(SERVICE_SOURCE.needs_opt_in(cloud));
        let edr = DETECTION_SOURCE.by_legacy_name("EDR").unwrap();
        assert_eq!(edr.graph, "microsoftDefenderForEndpoint");
        assert!(!DETECTION_SOURCE.needs_opt_in(edr));
        assert_eq!(
            INCIDENT_STATUS.settable_graph_names(),
            ["active", "resolved", "inProgress", "redirected"]
        );
    }

    #[test]
    fn legacy_and_graph_names_differ_where_microsoft_documents_it() {
        assert_eq!(
            DETERMINATION
                .by_legacy_name("NoEnoughDataToValidate")
                .unwrap()
                .graph,
            "notEnoughDataToValidate"
        );
        assert_eq!(
            DETERMINATION.by_graph_name("unknown").unwrap().legacy,
            "NotAvailable"
        );
        assert_eq!(
            SEVERITY.by_legacy_name("UnSpecified").unwrap().graph,
            "unknown"
        );
        assert_eq!(DETERMINATION.by_graph_name("clean"), None);
        assert_eq!(camel_case("NoThreatsFound"), "noThreatsFound");
    }
}
