//! Close reasons across the mirror. The platform closes an incident with a close reason
//! ("Resolved", "False Positive", "Duplicate", "Other", or one an administrator added); Defender
//! resolves one with a classification and a determination. By default mirroring translates
//! between the two as the XSOAR integration does; the instance settings
//! `custom_xsoar_to_defender_close_reason_mapping` (`Resolved=TruePositive-Malware,False
//! Positive=FalsePositive-NotMalicious`) and `custom_defender_to_xsoar_close_reason_mapping`
//! (`TruePositive=Resolved,FalsePositive=False Positive`) replace that translation entry by entry.
//!
//! A mapping is typed by hand into a text box, so it is read leniently: an entry that does not
//! parse, or names a classification or determination Defender does not have, is left out (the
//! default applies to that reason) and named once in the log. A mirror never fails over it.

use crate::graph::enums::{Classification, Determination, GraphEnum};

/// What a platform close reason becomes in Defender, in the legacy API's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub classification: &'static str,
    pub determination: &'static str,
}

impl Verdict {
    fn new(classification: Classification, determination: Determination) -> Verdict {
        Verdict {
            classification: classification.legacy_name(),
            determination: determination.legacy_name(),
        }
    }
}

/// The custom entries of both directions; empty when the settings are off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseReasonMapping {
    to_defender: Vec<(String, Verdict)>,
    to_platform: Vec<(Classification, String)>,
}

impl CloseReasonMapping {
    /// Reads the two settings' texts (`None` when the setting is off).
    pub fn parse(to_defender: Option<&str>, to_platform: Option<&str>) -> CloseReasonMapping {
        CloseReasonMapping {
            to_defender: to_defender.map(parse_to_defender).unwrap_or_default(),
            to_platform: to_platform.map(parse_to_platform).unwrap_or_default(),
        }
    }

    /// The verdict a platform close reason maps to, when a custom entry names the reason.
    pub fn verdict_for(&self, reason: &str) -> Option<Verdict> {
        self.to_defender
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(reason.trim()))
            .map(|(_, verdict)| *verdict)
    }

    /// The platform close reason for a Defender classification (in any spelling), when a
    /// custom entry names the classification.
    pub fn reason_for(&self, classification: &str) -> Option<&str> {
        let classification = Classification::parse(classification)?;
        self.to_platform
            .iter()
            .find(|(name, _)| *name == classification)
            .map(|(_, reason)| reason.as_str())
    }
}

const TO_DEFENDER: &str = "custom_xsoar_to_defender_close_reason_mapping";
const TO_PLATFORM: &str = "custom_defender_to_xsoar_close_reason_mapping";

/// The `name=value` pairs of a comma-separated mapping; an entry without `=` or with an empty
/// side is reported and left out.
fn pairs<'t>(setting: &'static str, text: &'t str) -> Vec<(&'t str, &'t str)> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| match entry.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
                Some((name.trim(), value.trim()))
            }
            _ => {
                ignored(setting, entry, "it is not of the form `A=B`");
                None
            }
        })
        .collect()
}

fn ignored(setting: &'static str, entry: &str, why: &str) {
    tracing::warn!(
        "{setting}: the entry {entry:?} is ignored because {why}; the default close reason mapping applies to it"
    );
}

/// `Resolved=TruePositive-Malware`: a platform close reason (any text: administrators add
/// their own) to a classification and, after a dash, a determination that belongs to it. A
/// classification alone takes its `Other` determination (`NotAvailable` for `Unknown`).
fn parse_to_defender(text: &str) -> Vec<(String, Verdict)> {
    let mut mapping = Vec::new();
    for (reason, value) in pairs(TO_DEFENDER, text) {
        let (classification_text, determination_text) = match value.split_once('-') {
            Some((classification, determination)) => (classification, Some(determination)),
            None => (value, None),
        };
        let Some(classification) = Classification::parse(classification_text) else {
            ignored(
                TO_DEFENDER,
                &format!("{reason}={value}"),
                &format!("{classification_text:?} is not a Defender classification"),
            );
            continue;
        };
        let allowed = classification.determinations();
        let determination = match determination_text {
            None if allowed.contains(&Determination::Other) => Determination::Other,
            None => allowed[0],
            Some(text) => match Determination::parse(text) {
                Some(determination) if allowed.contains(&determination) => determination,
                _ => {
                    ignored(
                        TO_DEFENDER,
                        &format!("{reason}={value}"),
                        &format!(
                            "{text:?} is not a determination Defender allows with {}",
                            classification.legacy_name()
                        ),
                    );
                    continue;
                }
            },
        };
        mapping.push((
            reason.to_owned(),
            Verdict::new(classification, determination),
        ));
    }
    mapping
}

/// `TruePositive=Resolved`: a Defender classification to a platform close reason.
fn parse_to_platform(text: &str) -> Vec<(Classification, String)> {
    let mut mapping = Vec::new();
    for (classification_text, reason) in pairs(TO_PLATFORM, text) {
        match Classification::parse(classification_text) {
            Some(classification) => mapping.push((classification, reason.to_owned())),
            None => ignored(
                TO_PLATFORM,
                &format!("{classification_text}={reason}"),
                &format!("{classification_text:?} is not a Defender classification"),
            ),
        }
    }
    mapping
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_examples_read_as_meant() {
        let mapping = CloseReasonMapping::parse(
            Some("Resolved=TruePositive-Malware,False Positive=FalsePositive-NotMalicious"),
            Some("TruePositive=Resolved,FalsePositive=False Positive"),
        );
        assert_eq!(
            mapping.verdict_for("Resolved"),
            Some(Verdict {
                classification: "TruePositive",
                determination: "Malware"
            })
        );
        assert_eq!(
            mapping.verdict_for(" false positive "),
            Some(Verdict {
                classification: "FalsePositive",
                determination: "NotMalicious"
            })
        );
        assert_eq!(mapping.verdict_for("Duplicate"), None);
        assert_eq!(mapping.reason_for("TruePositive"), Some("Resolved"));
        assert_eq!(mapping.reason_for("falsePositive"), Some("False Positive"));
        assert_eq!(mapping.reason_for("InformationalExpectedActivity"), None);
    }

    #[test]
    fn spellings_and_a_missing_determination_are_understood() {
        let mapping = CloseReasonMapping::parse(
            Some(
                "Other=unknown, Duplicate=falsePositive, Benign=informationalExpectedActivity-securityTesting, Lacking=FalsePositive-insufficientData",
            ),
            None,
        );
        let verdict = |reason| mapping.verdict_for(reason).unwrap();
        assert_eq!(verdict("Other").classification, "Unknown");
        assert_eq!(verdict("Other").determination, "NotAvailable");
        assert_eq!(verdict("Duplicate").determination, "Other");
        assert_eq!(verdict("Benign").determination, "SecurityTesting");
        assert_eq!(verdict("Lacking").determination, "NoEnoughDataToValidate");
    }

    #[test]
    fn broken_entries_are_left_out_and_the_rest_kept() {
        let mapping = CloseReasonMapping::parse(
            Some(
                "Resolved,=TruePositive,Bad=Sometimes,Mixed=FalsePositive-Malware,Good=TruePositive-Phishing",
            ),
            Some("Maybe=Resolved,TruePositive=,Unknown=Other"),
        );
        assert_eq!(mapping.to_defender.len(), 1, "{mapping:?}");
        assert_eq!(
            mapping.verdict_for("Good").unwrap().determination,
            "Phishing"
        );
        assert_eq!(mapping.verdict_for("Mixed"), None);
        assert_eq!(mapping.to_platform.len(), 1, "{mapping:?}");
        assert_eq!(mapping.reason_for("Unknown"), Some("Other"));
    }

    #[test]
    fn settings_that_are_off_map_nothing() {
        assert_eq!(
            CloseReasonMapping::parse(None, None),
            CloseReasonMapping::default()
        );
    }
}
