//! Instance parameters read against their declaration in integration.yml, as arguments are
//! (see [`crate::args`]): the declaration gives each parameter's type, its default and a
//! select's options, so the program keeps no second list of them. XSOAR fills a declared
//! default in when an instance is configured, so the default read here is the value a real
//! instance has; an envelope without the parameter means the same.
//!
//! Every parameter the program reads is named once, in the table below, with the way it is
//! read; readers take those names only, and a test checks each against the declaration.

use std::marker::PhantomData;

use serde_json::{Map, Value};

use super::ConfigError;
use crate::declaration::{self, Integration, ParamDeclaration};
use crate::envelope::kind_of;

/// A way the program reads a parameter, and the XSOAR parameter types (`type` codes) it fits.
pub trait Reading {
    /// The reading's name, for test messages.
    const NAME: &'static str;
    /// The declared types this reading accepts.
    const TYPES: &'static [u8];
}

/// Text: short text (0), encrypted (4), long text (12), incident type (13), encrypted long
/// text (14).
pub enum Text {}
/// A whole number; XSOAR has no number parameter, so it is declared as short text (0).
pub enum Number {}
/// A checkbox (8).
pub enum Flag {}
/// Credentials (9): `{"identifier": …, "password": …}`.
pub enum Credential {}
/// A single select (15): one of the declared `options`.
pub enum Select {}

impl Reading for Text {
    const NAME: &'static str = "text";
    const TYPES: &'static [u8] = &[0, 4, 12, 13, 14];
}

impl Reading for Number {
    const NAME: &'static str = "whole number";
    const TYPES: &'static [u8] = &[0];
}

impl Reading for Flag {
    const NAME: &'static str = "checkbox";
    const TYPES: &'static [u8] = &[8];
}

impl Reading for Credential {
    const NAME: &'static str = "credentials";
    const TYPES: &'static [u8] = &[9];
}

impl Reading for Select {
    const NAME: &'static str = "single select";
    const TYPES: &'static [u8] = &[15];
}

/// One parameter the program reads, and how.
pub struct Param<R> {
    pub name: &'static str,
    /// Whether a field the user left empty means "not set" rather than the declared default:
    /// only for parameters whose emptiness has a meaning of its own.
    empty_is_unset: bool,
    reading: PhantomData<fn() -> R>,
}

impl<R> Clone for Param<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Param<R> {}

macro_rules! read_params {
    ($($(#[$doc:meta])* $konst:ident: $reading:ident = $name:literal $(, $empty:ident)?;)*) => {
        $(
            $(#[$doc])*
            pub const $konst: Param<$reading> = Param {
                name: $name,
                empty_is_unset: read_params!(@empty $($empty)?),
                reading: PhantomData,
            };
        )*
        /// Every parameter the program reads: name, reading, the declared types that fit it.
        #[cfg(test)]
        pub const READ: &[(&str, &str, &[u8])] =
            &[$(($name, <$reading as Reading>::NAME, <$reading as Reading>::TYPES)),*];
    };
    (@empty) => { false };
    (@empty empty_is_unset) => { true };
}

read_params! {
    // Where to connect.
    BASE_URL: Text = "base_url";
    ENDPOINT_TYPE: Select = "endpoint_type";
    AZURE_AD_ENDPOINT: Text = "azure_ad_endpoint";
    API_BACKEND: Select = "api_backend";
    INSECURE: Flag = "insecure";
    PROXY: Flag = "proxy";
    // How to sign in; the deprecated names keep an existing instance's configuration working.
    USE_MANAGED_IDENTITIES: Flag = "use_managed_identities";
    MANAGED_IDENTITIES_CLIENT_ID: Credential = "managed_identities_client_id";
    CLIENT_CREDENTIALS: Flag = "client_credentials";
    CREDS_CLIENT_ID: Credential = "creds_client_id";
    /// Hidden; its declared default is the XSOAR integration's own app for device code sign-in.
    HIDDEN_APP_ID: Text = "_app_id";
    DEPRECATED_APP_ID: Text = "app_id";
    CREDS_TENANT_ID: Credential = "creds_tenant_id";
    HIDDEN_TENANT_ID: Text = "_tenant_id";
    DEPRECATED_TENANT_ID: Text = "tenant_id";
    CREDENTIALS: Credential = "credentials";
    DEPRECATED_ENC_KEY: Text = "enc_key";
    CREDS_CERTIFICATE: Credential = "creds_certificate";
    DEPRECATED_CERTIFICATE_THUMBPRINT: Text = "certificate_thumbprint";
    DEPRECATED_PRIVATE_KEY: Text = "private_key";
    // Fetching.
    FIRST_FETCH: Text = "first_fetch";
    MAX_FETCH: Number = "max_fetch";
    /// Empty means no limit of the integration's own, as its declaration tells the user.
    FETCH_TIMEOUT: Number = "fetch_timeout", empty_is_unset;
    FETCH_LOOKBACK: Number = "fetch_lookback";
    /// Empty means no type: the platform's classification decides.
    INCIDENT_TYPE: Text = "incidentType", empty_is_unset;
    FETCH_TYPE: Select = "fetch_type";
    // Mirroring.
    MIRROR_DIRECTION: Select = "mirror_direction";
    CLOSE_INCIDENT: Flag = "close_incident";
    CLOSE_OUT: Flag = "close_out";
    COMMENT_TAG: Text = "comment_tag";
    COMMENT_TAG_FROM_DEFENDER: Text = "comment_tag_from_microsoft365defender";
    CUSTOM_XSOAR_TO_DEFENDER_CLOSE_REASON: Flag = "custom_xsoar_to_defender_close_reason";
    CUSTOM_XSOAR_TO_DEFENDER_CLOSE_REASON_MAPPING: Text = "custom_xsoar_to_defender_close_reason_mapping";
    CUSTOM_DEFENDER_TO_XSOAR_CLOSE_REASON: Flag = "custom_defender_to_xsoar_close_reason";
    CUSTOM_DEFENDER_TO_XSOAR_CLOSE_REASON_MAPPING: Text = "custom_defender_to_xsoar_close_reason_mapping";
}

/// A credentials parameter's identifier and password, each possibly empty.
pub type CredentialValue = (Option<String>, Option<String>);

/// The envelope's parameters beside their declaration.
pub struct Params<'a> {
    given: &'a Map<String, Value>,
    declared: &'static Integration,
}

impl<'a> Params<'a> {
    pub fn new(given: &'a Map<String, Value>) -> Result<Params<'a>, ConfigError> {
        let declared = declaration::integration().map_err(ConfigError::Declaration)?;
        Ok(Params { given, declared })
    }

    /// Logs the parameters the declaration does not know, at debug level: like undeclared
    /// arguments, they are ignored (platforms add their own).
    pub fn log_undeclared(&self) {
        for name in self.given.keys() {
            if self.declared.param(name).is_none() {
                tracing::debug!(param = %name, "ignoring undeclared instance parameter");
            }
        }
    }

    /// The parameter's declaration, which must have a type the parameter's reading fits.
    fn declaration<R: Reading>(
        &self,
        param: Param<R>,
    ) -> Result<&'static ParamDeclaration, ConfigError> {
        let declaration = self.declared.param(param.name).ok_or_else(|| {
            ConfigError::Declaration(format!(
                "The embedded integration.yml does not declare the instance parameter `{}`.",
                param.name
            ))
        })?;
        if !R::TYPES.contains(&declaration.kind) {
            return Err(ConfigError::Declaration(format!(
                "The embedded integration.yml declares the instance parameter `{}` as type {}, which is not {}.",
                param.name,
                declaration.kind,
                R::NAME
            )));
        }
        Ok(declaration)
    }

    /// The declared default, as text; none when the declaration has none.
    pub fn declared_default<R: Reading>(
        &self,
        param: Param<R>,
    ) -> Result<Option<String>, ConfigError> {
        Ok(match &self.declaration(param)?.defaultvalue {
            Some(Value::String(s)) => non_empty(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        })
    }

    /// The parameter's text: the envelope's; the declared default when the envelope has none;
    /// the same when the field is empty, unless emptiness means "not set" for it.
    fn text_or_default<R: Reading>(&self, param: Param<R>) -> Result<Option<String>, ConfigError> {
        self.declaration(param)?;
        let Some(value) = self.given.get(param.name) else {
            return self.declared_default(param);
        };
        match given_text(param.name, value)? {
            Some(text) => Ok(Some(text)),
            None if param.empty_is_unset => Ok(None),
            None => self.declared_default(param),
        }
    }

    /// A text parameter, the declared default standing in for a missing one.
    pub fn text(&self, param: Param<Text>) -> Result<Option<String>, ConfigError> {
        self.text_or_default(param)
    }

    /// A text parameter as the envelope has it, without the declared default: for one of
    /// several names of a setting, where a default applies only once all of them are empty.
    pub fn given_text(&self, param: Param<Text>) -> Result<Option<String>, ConfigError> {
        self.declaration(param)?;
        match self.given.get(param.name) {
            None => Ok(None),
            Some(value) => given_text(param.name, value),
        }
    }

    /// A whole-number parameter, sent as text or as a number, the declared default standing in
    /// for a missing one.
    pub fn whole_number(&self, param: Param<Number>) -> Result<Option<i64>, ConfigError> {
        let Some(text) = self.text_or_default(param)? else {
            return Ok(None);
        };
        text.parse::<i64>()
            .map(Some)
            .map_err(|_| ConfigError::Invalid {
                param: param.name,
                reason: format!("{text:?} is not a whole number"),
            })
    }

    /// A checkbox parameter: XSOAR sends booleans, sometimes `"true"`/`"false"`. An empty one
    /// takes the declared default; without one, it is unchecked.
    pub fn flag(&self, param: Param<Flag>) -> Result<bool, ConfigError> {
        self.declaration(param)?;
        let given = match self.given.get(param.name) {
            Some(value) => flag(param.name, value)?,
            None => None,
        };
        if let Some(checked) = given {
            return Ok(checked);
        }
        match self.declared_default(param)? {
            Some(default) => Ok(flag(param.name, &Value::String(default))?.unwrap_or(false)),
            None => Ok(false),
        }
    }

    /// The option chosen in a single select: one of the declared options, the declared default
    /// standing in for a missing or empty one.
    pub fn select(&self, param: Param<Select>) -> Result<&'static str, ConfigError> {
        let declaration = self.declaration(param)?;
        let options = || declaration.options.join(", ");
        let Some(chosen) = self.text_or_default(param)? else {
            return Err(ConfigError::Missing(format!(
                "The instance parameter `{}` is empty: choose one of {}.",
                param.name,
                options()
            )));
        };
        declaration
            .options
            .iter()
            .find(|option| **option == chosen)
            .map(String::as_str)
            .ok_or_else(|| ConfigError::Invalid {
                param: param.name,
                reason: format!("{chosen:?} is not one of its options: {}", options()),
            })
    }

    /// The text the envelope holds for a select, whether or not it is one of the options.
    pub fn given_choice(&self, param: Param<Select>) -> Option<&'a str> {
        self.given.get(param.name).and_then(Value::as_str)
    }

    /// A credentials parameter (type 9): `{"identifier": …, "password": …}`; a plain string is
    /// taken as the password. Credentials have no declared default.
    pub fn credential(
        &self,
        param: Param<Credential>,
    ) -> Result<Option<CredentialValue>, ConfigError> {
        self.declaration(param)?;
        let name = param.name;
        match self.given.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some((None, non_empty(s)))),
            Some(Value::Object(fields)) => {
                let field = |key: &str| match fields.get(key) {
                    Some(Value::String(s)) => Ok(non_empty(s)),
                    None | Some(Value::Null) => Ok(None),
                    Some(other) => Err(wrong_type(name, "a credentials object of strings", other)),
                };
                Ok(Some((field("identifier")?, field("password")?)))
            }
            Some(other) => Err(wrong_type(name, "a credentials object", other)),
        }
    }

    pub fn credential_password(
        &self,
        param: Param<Credential>,
    ) -> Result<Option<String>, ConfigError> {
        Ok(self.credential(param)?.and_then(|(_, password)| password))
    }

    /// The text parameter `param` when the checkbox `switch` is on.
    pub fn text_if(
        &self,
        switch: Param<Flag>,
        param: Param<Text>,
    ) -> Result<Option<String>, ConfigError> {
        if self.flag(switch)? {
            self.text(param)
        } else {
            Ok(None)
        }
    }
}

impl<R> Param<R> {
    /// The error for a parameter that is empty and has no declared default.
    pub fn missing(self) -> ConfigError {
        ConfigError::Missing(format!(
            "The instance parameter `{}` is empty: fill it in.",
            self.name
        ))
    }
}

impl Param<Select> {
    /// The error for a declared option the program has no meaning for.
    pub fn unhandled(self, option: &str) -> ConfigError {
        ConfigError::Invalid {
            param: self.name,
            reason: format!(
                "{option:?} is declared in integration.yml, but this version does not support it"
            ),
        }
    }
}

/// A text value as the envelope has it; none when empty.
fn given_text(name: &'static str, value: &Value) -> Result<Option<String>, ConfigError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(non_empty(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(wrong_type(name, "text", other)),
    }
}

/// A checkbox value; none when empty.
fn flag(name: &'static str, value: &Value) -> Result<Option<bool>, ConfigError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(Some(true)),
            "false" | "no" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(ConfigError::Invalid {
                param: name,
                reason: format!("{s:?} is not true or false"),
            }),
        },
        other => Err(wrong_type(name, "true or false", other)),
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn wrong_type(param: &'static str, expected: &str, found: &Value) -> ConfigError {
    ConfigError::Invalid {
        param,
        reason: format!("expected {expected}, got {}", kind_of(found)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn declared(name: &str) -> &'static ParamDeclaration {
        declaration::integration()
            .unwrap()
            .param(name)
            .unwrap_or_else(|| panic!("`{name}` is read but not declared in integration.yml"))
    }

    #[test]
    fn every_parameter_read_is_declared_with_a_type_its_reading_fits() {
        for (name, reading, types) in READ {
            let kind = declared(name).kind;
            assert!(
                types.contains(&kind),
                "`{name}` is read as {reading}, but integration.yml declares type {kind}"
            );
        }
        let mut names: Vec<&str> = READ.iter().map(|(name, _, _)| *name).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "a parameter is in the table twice");
    }

    #[test]
    fn every_declared_default_reads_as_its_parameter() {
        let none = Map::new();
        let params = Params::new(&none).unwrap();
        for (name, reading, _) in READ {
            let declaration = declared(name);
            let Some(default) = &declaration.defaultvalue else {
                continue;
            };
            match *reading {
                "credentials" => {
                    panic!("`{name}`: credentials have no default, yet one is declared")
                }
                "single select" => assert!(
                    default
                        .as_str()
                        .is_some_and(|d| declaration.options.iter().any(|o| o == d)),
                    "`{name}`: the default {default} is not one of its options"
                ),
                "whole number" => assert!(
                    default
                        .as_str()
                        .is_some_and(|d| d.trim().parse::<i64>().is_ok()),
                    "`{name}`: the default {default} is not a whole number"
                ),
                "checkbox" => assert!(
                    flag("x", default).is_ok_and(|b| b.is_some()),
                    "`{name}`: the default {default} is not true or false"
                ),
                _ => assert!(
                    default.is_string(),
                    "`{name}`: the default {default} is not text"
                ),
            }
        }
        assert_eq!(params.select(ENDPOINT_TYPE).unwrap(), "Worldwide");
    }

    #[test]
    fn a_missing_parameter_takes_its_declared_default_and_an_empty_one_too_unless_it_means_unset() {
        let read = |given: Value| {
            let given = given.as_object().unwrap().clone();
            let params = Params::new(&given).unwrap();
            (
                params.text(FIRST_FETCH).unwrap(),
                params.whole_number(FETCH_TIMEOUT).unwrap(),
                params.text(INCIDENT_TYPE).unwrap(),
                params.flag(CLOSE_OUT).unwrap(),
            )
        };
        let defaults = (
            Some("12 hours".to_owned()),
            Some(30),
            Some("M365 Defender Incident".to_owned()),
            false,
        );
        assert_eq!(read(json!({})), defaults);
        assert_eq!(
            read(
                json!({"first_fetch": " ", "fetch_timeout": "", "incidentType": "", "close_out": ""})
            ),
            (Some("12 hours".to_owned()), None, None, false)
        );
        assert_eq!(
            read(
                json!({"first_fetch": null, "fetch_timeout": null, "incidentType": null, "close_out": null})
            ),
            (Some("12 hours".to_owned()), None, None, false)
        );
        assert_eq!(
            read(
                json!({"first_fetch": "1 day", "fetch_timeout": 5, "incidentType": "x", "close_out": "yes"})
            ),
            (
                Some("1 day".to_owned()),
                Some(5),
                Some("x".to_owned()),
                true
            )
        );
    }

    #[test]
    fn a_select_takes_only_its_declared_options() {
        let given = json!({"mirror_direction": " Incoming ", "api_backend": "microsoft graph"});
        let given = given.as_object().unwrap();
        let params = Params::new(given).unwrap();
        assert_eq!(params.select(MIRROR_DIRECTION).unwrap(), "Incoming");
        let error = params.select(API_BACKEND).unwrap_err().to_string();
        assert_eq!(
            error,
            "The instance parameter `api_backend` is invalid: \"microsoft graph\" is not one of its options: Legacy Defender API, Microsoft Graph."
        );
    }

    #[test]
    fn a_parameter_undeclared_or_declared_with_another_type_is_an_error() {
        let declared: Integration = serde_json::from_value(json!({
            "configuration": [{"name": "proxy", "type": 0}],
            "script": {"commands": []}
        }))
        .unwrap();
        let none = Map::new();
        let params = Params {
            given: &none,
            declared: Box::leak(Box::new(declared)),
        };
        let error = params.flag(PROXY).unwrap_err().to_string();
        assert!(
            error.contains("`proxy` as type 0, which is not checkbox"),
            "{error}"
        );
        let error = params.flag(INSECURE).unwrap_err().to_string();
        assert!(
            error.contains("does not declare the instance parameter `insecure`"),
            "{error}"
        );
    }

    /// Fetched incidents of an instance that names no type get the content pack's incident
    /// type, fetched alerts its alert type: the ones the pack's mappers and fields belong to
    /// (scripts/build_pack.py checks the declared default against the pack too).
    #[test]
    fn the_incident_types_are_the_packs() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pack/IncidentTypes");
        let mut ids: Vec<Value> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                serde_json::from_str::<Value>(&text).unwrap()["id"].clone()
            })
            .collect();
        ids.sort_by_key(|id| id.to_string());
        let alert_type = json!(crate::fetch::platform::ALERT_INCIDENT_TYPE);
        assert_eq!(
            ids,
            [alert_type, json!("M365 Defender Incident")],
            "{}",
            dir.display()
        );
        assert_eq!(
            declared("incidentType").defaultvalue,
            Some(json!("M365 Defender Incident"))
        );
    }

    #[test]
    fn the_hidden_app_id_defaults_to_the_xsoar_app_only_when_asked() {
        let none = Map::new();
        let params = Params::new(&none).unwrap();
        assert_eq!(params.given_text(HIDDEN_APP_ID).unwrap(), None);
        assert_eq!(
            params.declared_default(HIDDEN_APP_ID).unwrap().as_deref(),
            Some("9093c354-630a-47f1-b087-6768eb9427e6")
        );
    }
}
