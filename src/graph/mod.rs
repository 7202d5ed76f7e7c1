//! The Microsoft Graph security API, the successor of the legacy Defender XDR API
//! (`api.security.microsoft.com`, retired on 1 Feb 2027). Graph serves the same incidents,
//! alerts and hunting under other names, casings and shapes; [`translate`] turns Graph's
//! answers into the legacy shapes the commands and playbooks rely on, and legacy writes into
//! Graph's bodies, over the enumeration table in [`enums`].

pub mod enums;
pub mod translate;
