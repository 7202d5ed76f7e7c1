//! The enumerations of incidents and alerts, spelled both ways. Microsoft Graph writes its
//! members in camelCase under their metadata names (`truePositive`, `notEnoughDataToValidate`);
//! the legacy Defender API, and so every playbook built on it, writes them in PascalCase and
//! sometimes under another name (`NoEnoughDataToValidate`, detection source `EDR`). Over the
//! years Microsoft also documented members under names it later changed (`clean`,
//! `insufficientData`, `compromisedUser`, `benignPositive`), and users type portal labels. This
//! module is the one table of all of them: Graph name, legacy name, older aliases.
//!
//! Graph enumerations are "evolvable": members listed after the `unknownFutureValue` sentinel
//! are only sent to, and accepted from, clients that ask for them with the header
//! `Prefer: include-unknown-enum-members`
//! (<https://learn.microsoft.com/graph/best-practices-concept#handling-future-members-in-evolvable-enumerations>).
//! Members here are declared in metadata order, sentinel included, so [`GraphEnum::needs_opt_in`]
//! follows from the order alone.

/// One Graph enumeration with its legacy counterpart.
pub trait GraphEnum: Copy + Eq + Sized + 'static {
    /// Every member in the order of Graph's metadata, `UnknownFutureValue` included.
    const ALL: &'static [Self];
    /// What the type is called in messages, e.g. `classification`.
    const NAME: &'static str;

    /// The metadata name Graph sends and expects, e.g. `notEnoughDataToValidate`.
    fn graph_name(self) -> &'static str;

    /// The legacy Defender API's name, e.g. `NoEnoughDataToValidate`.
    fn legacy_name(self) -> &'static str;

    /// Other names Microsoft documented for the member, or that the portal shows.
    fn aliases(self) -> &'static [&'static str];

    /// Whether Graph sends and accepts the member only with
    /// `Prefer: include-unknown-enum-members`: it comes after the sentinel.
    fn needs_opt_in(self) -> bool {
        let position = |member: Self| Self::ALL.iter().position(|known| *known == member);
        let sentinel = Self::ALL
            .iter()
            .position(|member| member.graph_name() == "unknownFutureValue");
        matches!((position(self), sentinel), (Some(here), Some(sentinel)) if here > sentinel)
    }

    /// The member with exactly this Graph name, ignoring case (Graph accepts `TruePositive` for
    /// `truePositive`, as its own update example shows).
    fn from_graph_name(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|member| member.graph_name().eq_ignore_ascii_case(text.trim()))
    }

    /// The member any documented spelling names: Graph name, legacy name or alias, in any case,
    /// with spaces, dashes and underscores ignored (`Not enough data to validate` works too).
    fn parse(text: &str) -> Option<Self> {
        let wanted = normalized(text);
        if wanted.is_empty() {
            return None;
        }
        Self::ALL.iter().copied().find(|member| {
            normalized(member.graph_name()) == wanted
                || normalized(member.legacy_name()) == wanted
                || member
                    .aliases()
                    .iter()
                    .any(|alias| normalized(alias) == wanted)
        })
    }

    /// The Graph names a client may send without opting in, for error messages.
    fn settable_graph_names() -> Vec<&'static str> {
        Self::ALL
            .iter()
            .filter(|member| !member.needs_opt_in() && member.graph_name() != "unknownFutureValue")
            .map(|member| member.graph_name())
            .collect()
    }
}

fn normalized(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The legacy spelling of a Graph value: the table's legacy name when the value is a known
/// member, otherwise the value with its first letter raised (`noThreatsFound` →
/// `NoThreatsFound`), which is how the legacy API spells the members the two APIs share.
pub fn legacy_spelling<E: GraphEnum>(graph_value: &str) -> String {
    match E::parse(graph_value) {
        Some(member) => member.legacy_name().to_owned(),
        None => pascal_case(graph_value),
    }
}

/// `inProgress` → `InProgress`.
pub fn pascal_case(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// `InProgress` → `inProgress`.
pub fn camel_case(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// Declares a [`GraphEnum`]: each member as `Variant = "graphName" / "LegacyName"` with optional
/// `["alias", …]`, in metadata order.
macro_rules! graph_enum {
    (
        $(#[$meta:meta])*
        $name:ident ($label:literal) {
            $($variant:ident = $graph:literal / $legacy:literal $([$($alias:literal),+ $(,)?])?),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl GraphEnum for $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];
            const NAME: &'static str = $label;

            fn graph_name(self) -> &'static str {
                match self { $($name::$variant => $graph),+ }
            }

            fn legacy_name(self) -> &'static str {
                match self { $($name::$variant => $legacy),+ }
            }

            fn aliases(self) -> &'static [&'static str] {
                match self { $($name::$variant => &[$($($alias),+)?]),+ }
            }
        }
    };
}

graph_enum!(
    /// `status` of an incident
    /// (<https://learn.microsoft.com/graph/api/resources/security-incident#incidentstatus-values>).
    /// `awaitingAction` is set only by Defender Experts and is an opt-in member.
    IncidentStatus("status") {
        Active = "active" / "Active",
        Resolved = "resolved" / "Resolved",
        InProgress = "inProgress" / "InProgress",
        Redirected = "redirected" / "Redirected",
        UnknownFutureValue = "unknownFutureValue" / "UnknownFutureValue",
        AwaitingAction = "awaitingAction" / "AwaitingAction",
    }
);

graph_enum!(
    /// `classification` of an incident or alert (`microsoft.graph.security.alertClassification`).
    /// The beta API once called informational expected activity `benignPositive`.
    Classification("classification") {
        Unknown = "unknown" / "Unknown",
        FalsePositive = "falsePositive" / "FalsePositive",
        TruePositive = "truePositive" / "TruePositive",
        InformationalExpectedActivity = "informationalExpectedActivity" / "InformationalExpectedActivity" ["benignPositive"],
        UnknownFutureValue = "unknownFutureValue" / "UnknownFutureValue",
    }
);

graph_enum!(
    /// `determination` of an incident or alert (`microsoft.graph.security.alertDetermination`),
    /// in metadata order. Graph's `unknown` is the legacy `NotAvailable`. Graph's property
    /// tables long listed the first names of four members (`compromisedUser`, `clean`,
    /// `insufficientData`, `confirmedUserActivity`); the metadata, and so the service, uses
    /// `compromisedAccount`, `notMalicious`, `notEnoughDataToValidate` and `confirmedActivity`.
    /// The legacy API spells "not enough data" `NoEnoughDataToValidate`; its documentation shows
    /// the portal label `Clean` for not malicious.
    Determination("determination") {
        Unknown = "unknown" / "NotAvailable",
        Apt = "apt" / "Apt",
        Malware = "malware" / "Malware",
        SecurityPersonnel = "securityPersonnel" / "SecurityPersonnel",
        SecurityTesting = "securityTesting" / "SecurityTesting" ["securityTest"],
        UnwantedSoftware = "unwantedSoftware" / "UnwantedSoftware",
        Other = "other" / "Other",
        MultiStagedAttack = "multiStagedAttack" / "MultiStagedAttack" ["multistageAttack"],
        CompromisedAccount = "compromisedAccount" / "CompromisedAccount" ["compromisedUser"],
        Phishing = "phishing" / "Phishing",
        MaliciousUserActivity = "maliciousUserActivity" / "MaliciousUserActivity",
        NotMalicious = "notMalicious" / "NotMalicious" ["clean"],
        NotEnoughDataToValidate = "notEnoughDataToValidate" / "NoEnoughDataToValidate" ["insufficientData"],
        ConfirmedActivity = "confirmedActivity" / "ConfirmedActivity" ["confirmedUserActivity"],
        LineOfBusinessApplication = "lineOfBusinessApplication" / "LineOfBusinessApplication",
        UnknownFutureValue = "unknownFutureValue" / "UnknownFutureValue",
    }
);

graph_enum!(
    /// `severity` of an incident or alert (`microsoft.graph.security.alertSeverity`). Graph's
    /// `unknown` is the legacy `UnSpecified`.
    Severity("severity") {
        Unknown = "unknown" / "UnSpecified",
        Informational = "informational" / "Informational",
        Low = "low" / "Low",
        Medium = "medium" / "Medium",
        High = "high" / "High",
        UnknownFutureValue = "unknownFutureValue" / "UnknownFutureValue",
    }
);

graph_enum!(
    /// `status` of an alert (`microsoft.graph.security.alertStatus`).
    AlertStatus("alert status") {
        Unknown = "unknown" / "Unknown",
        New = "new" / "New",
        InProgress = "inProgress" / "InProgress",
        Resolved = "resolved" / "Resolved",
        UnknownFutureValue = "unknownFutureValue" / "UnknownFutureValue",
    }
);

graph_enum!(
    /// `serviceSource` of an alert: the product that raised it
    /// (<https://learn.microsoft.com/graph/api/resources/security-alert#servicesource-values>).
    /// The legacy API still calls Defender for Cloud Apps `MicrosoftCloudAppSecurity`; the beta
    /// API used `aadIdentityProtection` and `appGovernance`.
    ServiceSource("service source") {
        Unknown = "unknown" / "Unknown",
        MicrosoftDefenderForEndpoint = "microsoftDefenderForEndpoint" / "MicrosoftDefenderForEndpoint",
        MicrosoftDefenderForIdentity = "microsoftDefenderForIdentity" / "MicrosoftDefenderForIdentity",
        MicrosoftDefenderForCloudApps = "microsoftDefenderForCloudApps" / "MicrosoftCloudAppSecurity",
        MicrosoftDefenderForOffice365 = "microsoftDefenderForOffice365" / "MicrosoftDefenderForOffice365",
        Microsoft365Defender = "microsoft365Defender" / "Microsoft365Defender",
        AzureAdIdentityProtection = "azureAdIdentityProtection" / "AzureAdIdentityProtection" ["aadIdentityProtection"],
        MicrosoftAppGovernance = "microsoftAppGovernance" / "MicrosoftAppGovernance" ["appGovernance"],
        DataLossPrevention = "dataLossPrevention" / "DataLossPrevention",
        UnknownFutureValue = "unknownFutureValue" / "UnknownFutureValue",
        MicrosoftDefenderForCloud = "microsoftDefenderForCloud" / "MicrosoftDefenderForCloud",
    }
);

graph_enum!(
    /// `detectionSource` of an alert: the sensor or technology that noticed it
    /// (<https://learn.microsoft.com/graph/api/resources/security-alert#detectionsource-values>).
    /// The legacy API uses the products' internal names (`EDR`, `WindowsDefenderAv`, `OfficeATP`,
    /// `AATP`, `MCAS`, `MTP`).
    DetectionSource("detection source") {
        Unknown = "unknown" / "Unknown",
        MicrosoftDefenderForEndpoint = "microsoftDefenderForEndpoint" / "EDR",
        Antivirus = "antivirus" / "WindowsDefenderAv",
        SmartScreen = "smartScreen" / "WindowsDefenderSmartScreen",
        CustomTi = "customTi" / "CustomerTI",
        MicrosoftDefenderForOffice365 = "microsoftDefenderForOffice365" / "OfficeATP",
        AutomatedInvestigation = "automatedInvestigation" / "AutomatedInvestigation",
        MicrosoftThreatExperts = "microsoftThreatExperts" / "ThreatExperts",
        CustomDetection = "customDetection" / "CustomDetection",
        MicrosoftDefenderForIdentity = "microsoftDefenderForIdentity" / "AATP",
        CloudAppSecurity = "cloudAppSecurity" / "MCAS",
        Microsoft365Defender = "microsoft365Defender" / "MTP",
        AzureAdIdentityProtection = "azureAdIdentityProtection" / "AzureAdIdentityProtection",
        Manual = "manual" / "Manual",
        MicrosoftDataLossPrevention = "microsoftDataLossPrevention" / "MicrosoftDataLossPrevention",
        AppGovernancePolicy = "appGovernancePolicy" / "AppGovernancePolicy",
        AppGovernanceDetection = "appGovernanceDetection" / "AppGovernanceDetection",
        UnknownFutureValue = "unknownFutureValue" / "UnknownFutureValue",
        MicrosoftDefenderForCloud = "microsoftDefenderForCloud" / "MicrosoftDefenderForCloud",
        MicrosoftDefenderForIoT = "microsoftDefenderForIoT" / "MicrosoftDefenderForIoT",
        MicrosoftDefenderForServers = "microsoftDefenderForServers" / "MicrosoftDefenderForServers",
        MicrosoftDefenderForStorage = "microsoftDefenderForStorage" / "MicrosoftDefenderForStorage",
        MicrosoftDefenderForDns = "microsoftDefenderForDNS" / "MicrosoftDefenderForDNS",
        MicrosoftDefenderForDatabases = "microsoftDefenderForDatabases" / "MicrosoftDefenderForDatabases",
        MicrosoftDefenderForContainers = "microsoftDefenderForContainers" / "MicrosoftDefenderForContainers",
        MicrosoftDefenderForNetwork = "microsoftDefenderForNetwork" / "MicrosoftDefenderForNetwork",
        MicrosoftDefenderForAppService = "microsoftDefenderForAppService" / "MicrosoftDefenderForAppService",
        MicrosoftDefenderForKeyVault = "microsoftDefenderForKeyVault" / "MicrosoftDefenderForKeyVault",
        MicrosoftDefenderForResourceManager = "microsoftDefenderForResourceManager" / "MicrosoftDefenderForResourceManager",
        MicrosoftDefenderForApiManagement = "microsoftDefenderForApiManagement" / "MicrosoftDefenderForApiManagement",
    }
);

impl Classification {
    /// The determinations Microsoft allows with each classification, in Graph's terms (the
    /// table of the update incident API,
    /// <https://learn.microsoft.com/defender-xdr/api-update-incidents#request-body>, and the
    /// portal's classify dialog). `apt` and `securityPersonnel` remain in Graph's enumeration from
    /// the retired alerts API but belong to no classification any more.
    pub fn determinations(self) -> &'static [Determination] {
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
            Classification::FalsePositive => &[NotMalicious, NotEnoughDataToValidate, Other],
            Classification::Unknown | Classification::UnknownFutureValue => &[Unknown],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_spelling_names_the_same_member() {
        for spelling in [
            "notEnoughDataToValidate",
            "insufficientData",
            "NoEnoughDataToValidate",
            "NOTENOUGHDATATOVALIDATE",
            "Not enough data to validate",
        ] {
            assert_eq!(
                Determination::parse(spelling),
                Some(Determination::NotEnoughDataToValidate),
                "{spelling}"
            );
        }
        for spelling in ["notMalicious", "clean", "NotMalicious", "Clean"] {
            assert_eq!(
                Determination::parse(spelling),
                Some(Determination::NotMalicious)
            );
        }
        assert_eq!(
            Determination::parse("NotAvailable"),
            Some(Determination::Unknown)
        );
        assert_eq!(
            Determination::parse("compromisedUser"),
            Some(Determination::CompromisedAccount)
        );
        assert_eq!(
            Classification::parse("benign positive"),
            Some(Classification::InformationalExpectedActivity)
        );
        assert_eq!(
            IncidentStatus::parse("in_progress"),
            Some(IncidentStatus::InProgress)
        );
        assert_eq!(Severity::parse("UnSpecified"), Some(Severity::Unknown));
        assert_eq!(Determination::parse("nonsense"), None);
        assert_eq!(Determination::parse(""), None);
    }

    #[test]
    fn graph_names_are_the_metadata_names() {
        assert_eq!(
            Determination::NotEnoughDataToValidate.graph_name(),
            "notEnoughDataToValidate"
        );
        assert_eq!(Determination::NotMalicious.graph_name(), "notMalicious");
        assert_eq!(
            Classification::InformationalExpectedActivity.graph_name(),
            "informationalExpectedActivity"
        );
        assert_eq!(IncidentStatus::InProgress.graph_name(), "inProgress");
        // Strict lookups take Graph names only, in any case.
        assert_eq!(
            Determination::from_graph_name("MultiStagedAttack"),
            Some(Determination::MultiStagedAttack)
        );
        assert_eq!(Determination::from_graph_name("clean"), None);
        assert_eq!(
            Determination::from_graph_name("NoEnoughDataToValidate"),
            None
        );
    }

    #[test]
    fn only_members_after_the_sentinel_need_opting_in() {
        assert!(IncidentStatus::AwaitingAction.needs_opt_in());
        assert!(ServiceSource::MicrosoftDefenderForCloud.needs_opt_in());
        assert!(DetectionSource::MicrosoftDefenderForIoT.needs_opt_in());
        assert!(!IncidentStatus::Redirected.needs_opt_in());
        assert!(!IncidentStatus::UnknownFutureValue.needs_opt_in());
        // Every classification and determination precedes the sentinel in the metadata.
        assert!(
            Classification::ALL
                .iter()
                .all(|member| !member.needs_opt_in())
        );
        assert!(
            Determination::ALL
                .iter()
                .all(|member| !member.needs_opt_in())
        );
        assert_eq!(
            IncidentStatus::settable_graph_names(),
            ["active", "resolved", "inProgress", "redirected"]
        );
    }

    #[test]
    fn legacy_spellings() {
        assert_eq!(
            legacy_spelling::<DetectionSource>("antivirus"),
            "WindowsDefenderAv"
        );
        assert_eq!(
            legacy_spelling::<ServiceSource>("microsoftDefenderForCloudApps"),
            "MicrosoftCloudAppSecurity"
        );
        assert_eq!(
            legacy_spelling::<DetectionSource>("someNewSensor"),
            "SomeNewSensor"
        );
        assert_eq!(
            legacy_spelling::<IncidentStatus>("unknownFutureValue"),
            "UnknownFutureValue"
        );
        assert_eq!(pascal_case("noThreatsFound"), "NoThreatsFound");
        assert_eq!(camel_case("NoThreatsFound"), "noThreatsFound");
        assert_eq!(pascal_case(""), "");
    }

    #[test]
    fn every_allowed_determination_is_a_settable_member() {
        for classification in Classification::ALL {
            for determination in classification.determinations() {
                assert!(!determination.needs_opt_in());
                assert_ne!(*determination, Determination::UnknownFutureValue);
            }
        }
        assert!(
            Classification::TruePositive
                .determinations()
                .contains(&Determination::CompromisedAccount)
        );
        assert!(
            !Classification::TruePositive
                .determinations()
                .contains(&Determination::Apt)
        );
    }
}
