//! integration.yml, embedded in the binary and read as the one declaration of every command's
//! arguments and of the instance parameters. The platform shows users the same file, so what
//! the binary accepts cannot drift from what the platform offers.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

/// integration.yml as compact JSON, converted by the build script.
const INTEGRATION_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/integration.json"));

/// The parts of integration.yml the binary reads; serde skips the rest (displays, descriptions
/// of arguments, outputs), which only the platform shows.
#[derive(Debug, Deserialize)]
pub struct Integration {
    pub configuration: Vec<ParamDeclaration>,
    pub script: Script,
}

#[derive(Debug, Deserialize)]
pub struct Script {
    pub commands: Vec<CommandDeclaration>,
}

/// One instance parameter (`configuration` entry).
#[derive(Debug, Deserialize)]
pub struct ParamDeclaration {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(default)]
    pub defaultvalue: Option<Value>,
    #[serde(default)]
    pub options: Vec<String>,
}

/// One command and its arguments.
#[derive(Debug, Deserialize)]
pub struct CommandDeclaration {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub arguments: Vec<ArgumentDeclaration>,
}

/// How an argument's text is interpreted (the `type` key of an argument; absent = text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArgumentType {
    Number,
    Boolean,
    Json,
}

#[derive(Debug, Deserialize)]
pub struct ArgumentDeclaration {
    pub name: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, rename = "defaultValue")]
    pub default_value: Option<Value>,
    #[serde(default)]
    pub predefined: Vec<String>,
    #[serde(default, rename = "isArray")]
    pub is_array: bool,
    #[serde(default, rename = "type")]
    pub kind: Option<ArgumentType>,
}

/// The parsed declaration, read once per process.
pub fn integration() -> Result<&'static Integration, String> {
    static PARSED: OnceLock<Result<Integration, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            serde_json::from_str(INTEGRATION_JSON)
                .map_err(|e| format!("the embedded integration.yml cannot be read: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

impl Integration {
    pub fn command(&self, name: &str) -> Option<&CommandDeclaration> {
        self.script.commands.iter().find(|c| c.name == name)
    }

    pub fn param(&self, name: &str) -> Option<&ParamDeclaration> {
        self.configuration.iter().find(|p| p.name == name)
    }

    /// The README's command reference, rendered from the declaration.
    pub fn command_reference(&self) -> String {
        let mut table = String::from("| command | arguments | description |\n|---|---|---|\n");
        for command in &self.script.commands {
            let arguments: Vec<String> = command
                .arguments
                .iter()
                .map(|a| {
                    let mut shown = format!("`{}`", a.name);
                    if a.required {
                        shown.push_str(" (required)");
                    }
                    if let Some(default) = &a.default_value {
                        let default = match default {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        shown.push_str(&format!(" = {default}"));
                    }
                    shown
                })
                .collect();
            let description = command.description.replace('|', "\\|").replace('\n', " ");
            table.push_str(&format!(
                "| `{}` | {} | {} |\n",
                command.name,
                arguments.join(", "),
                description
            ));
        }
        table
    }
}
