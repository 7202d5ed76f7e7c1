//! Microsoft's security vocabulary: the enumerations (statuses, severities, verdicts, sources)
//! in the spellings of the legacy Defender API and of Microsoft Graph, which the API layer
//! translates between and the commands accept.

pub mod enums;
