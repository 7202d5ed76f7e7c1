//! The files that describe the contract — schemas, integration.yml, README — agree with the
//! code. Set `UPDATE_CONTRACT_FILES=1` to rewrite the generated ones, then review the diff.

use m365_defender::commands::{CommandSpec, Source, commands};
use m365_defender::declaration;

use crate::support::repo_path;

fn check_generated(relative: &str, generated: &str) {
    let path = repo_path(relative);
    if std::env::var_os("UPDATE_CONTRACT_FILES").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{relative} differs from what the code generates; run the tests with UPDATE_CONTRACT_FILES=1 and review the diff.\n--- generated ---\n{generated}"
    );
}

#[test]
fn committed_schemas_match_the_code() {
    check_generated(
        "schemas/envelope.schema.json",
        &m365_defender::schema::envelope(),
    );
    check_generated(
        "schemas/output.schema.json",
        &m365_defender::schema::output(),
    );
}

#[test]
fn every_declared_command_is_routed_and_every_routed_command_declared() {
    let integration = declaration::integration().unwrap();
    for declared in &integration.script.commands {
        let command = CommandSpec::named(&declared.name)
            .unwrap_or_else(|| panic!("{} has no handler", declared.name));
        assert_eq!(command.source, Source::Declared, "{}", declared.name);
    }
    for command in commands() {
        assert_eq!(
            integration.command(command.name).is_some(),
            command.source == Source::Declared,
            "{} declared in integration.yml",
            command.name
        );
    }
    let mut names: Vec<&str> = commands().map(|command| command.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names.len(),
        commands().count(),
        "a command is in the table twice"
    );
}

#[test]
fn readme_command_reference_matches_integration_yml() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let start = "<!-- command reference: generated from integration.yml -->\n";
    let end = "<!-- end of command reference -->";
    let (before, rest) = readme
        .split_once(start)
        .expect("README has the start marker");
    let (_, after) = rest.split_once(end).expect("README has the end marker");
    let reference = declaration::integration().unwrap().command_reference();
    check_generated(
        "README.md",
        &format!("{before}{start}{reference}{end}{after}"),
    );
}
