//! Number arguments at and past the ends of their ranges, through the real binary: a value out
//! of range is an error entry that names the argument and the accepted range, before any
//! request; the ends of each range are accepted.

use serde_json::{Value, json};

use crate::support::{EmulatorSettings, RunningEmulator, run};

/// Values no number argument accepts: past `i64` and `u64`, fractions, NaN, infinities,
/// notations that are no number.
const NEVER_ACCEPTED: [&str; 10] = [
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1e309",
    "1.5",
    "NaN",
    "inf",
    "0x10",
    "½",
];

/// Each command with a number argument, the argument, the other arguments it needs, and the
/// accepted range as the error message words it.
fn number_arguments() -> Vec<(&'static str, &'static str, Value, &'static str)> {
    let incident = json!({"id": "1001"});
    vec![
        (
            "microsoft-365-defender-auth-complete",
            "timeout",
            json!({}),
            "Accepted values: 0 to 60 seconds.",
        ),
        (
            "microsoft-365-defender-incidents-list",
            "timeout",
            json!({}),
            "Accepted values: 1 to 3600 seconds.",
        ),
        (
            "microsoft-365-defender-incidents-list",
            "limit",
            json!({}),
            "Accepted values: 1 to 10000 incidents.",
        ),
        (
            "microsoft-365-defender-incidents-list",
            "offset",
            json!({}),
            "Accepted values: 0 to 1000000 incidents.",
        ),
        (
            "microsoft-365-defender-incident-get",
            "timeout",
            incident.clone(),
            "Accepted values: 1 to 3600 seconds.",
        ),
        (
            "microsoft-365-defender-incident-update",
            "timeout",
            json!({"id": "1001", "comment": "c"}),
            "Accepted values: 1 to 3600 seconds.",
        ),
        (
            "microsoft-365-defender-advanced-hunting",
            "timeout",
            json!({"query": "DeviceProcessEvents"}),
            "Accepted values: 1 to 3600 seconds.",
        ),
        (
            "microsoft-365-defender-advanced-hunting",
            "limit",
            json!({"query": "DeviceProcessEvents"}),
            "Accepted values: 1 to 100000 rows, or -1 for no limit.",
        ),
        (
            "update-remote-system",
            "status",
            json!({"remoteId": "1001", "incidentChanged": true, "delta": {"status": "x"}}),
            "Accepted values: 0 to 3 (the XSOAR incident status).",
        ),
    ]
}

/// The values just past the ends of each argument's range (none below a range that takes
/// every negative number).
fn just_outside(accepted: &str) -> Vec<String> {
    let numbers: Vec<i64> = accepted
        .trim_start_matches("Accepted values: ")
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .take(2)
        .map(|part| part.parse().unwrap())
        .collect();
    let (min, max) = (numbers[0], numbers[1]);
    let mut values = vec![(max + 1).to_string()];
    if !accepted.contains("-1 for") {
        values.push((min - 1).to_string());
    }
    values
}

#[test]
fn a_number_out_of_range_fails_before_any_request_and_names_the_range() {
    let emulator = RunningEmulator::start(&EmulatorSettings::default());
    let params = emulator.client_secret_params();
    // Sign in once, so that a request from a failing command would show in the log.
    let context = json!({"device_code": "pending-code"});
    for (command, name, base, accepted) in number_arguments() {
        let values = NEVER_ACCEPTED
            .iter()
            .map(|v| v.to_string())
            .chain(just_outside(accepted));
        for value in values {
            let mut args = base.clone();
            args[name] = json!(value);
            let envelope = json!({
                "command": command, "args": args, "params": params,
                "integration_context": context,
            });
            let result = run(&envelope);
            assert_eq!(result.code, 1, "{envelope}\n{}", result.message());
            let message = result.message();
            let quoted = serde_json::to_string(&value).unwrap();
            let expected = format!("Invalid value for argument `{name}`: {quoted}. ");
            assert!(
                message.contains(&expected) && message.ends_with(accepted),
                "{envelope}\nexpected `{expected}…{accepted}`, got:\n{message}"
            );
            assert_eq!(
                result.document["integration_context"], context,
                "{envelope}: the context is handed back unchanged"
            );
        }
    }
    assert_eq!(
        emulator.requests(),
        Vec::<String>::new(),
        "no request was sent"
    );
}

#[test]
fn the_ends_of_each_range_are_accepted() {
    let emulator = RunningEmulator::start(&EmulatorSettings::default());
    let params = emulator.client_secret_params();
    let cases = [
        (
            "microsoft-365-defender-incidents-list",
            json!({"timeout": "3600", "limit": "1", "offset": "1000000"}),
        ),
        (
            "microsoft-365-defender-incidents-list",
            json!({"timeout": 1, "limit": 10000.0, "offset": 0}),
        ),
        (
            "microsoft-365-defender-incident-get",
            json!({"id": "1001", "timeout": " 3600 "}),
        ),
        (
            "microsoft-365-defender-advanced-hunting",
            json!({"query": "DeviceProcessEvents | take 3", "limit": "-1", "timeout": "1e3"}),
        ),
        (
            "microsoft-365-defender-advanced-hunting",
            json!({"query": "DeviceProcessEvents", "limit": "1"}),
        ),
    ];
    for (command, args) in cases {
        let envelope = json!({"command": command, "args": args, "params": params});
        let result = run(&envelope);
        assert_eq!(result.code, 0, "{envelope}\n{}", result.message());
    }
}

#[test]
fn the_timeout_that_used_to_panic_is_an_error_entry() {
    // `Instant::now() + Duration::from_secs(i64::MAX)` overflowed before the range check.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let result = run(&json!({
        "command": "microsoft-365-defender-incidents-list",
        "args": {"timeout": "9223372036854775807"},
        "params": {"base_url": format!("http://{closed}"), "azure_ad_endpoint": format!("http://{closed}")}
    }));
    result.assert_failed(
        1,
        "Failed to execute microsoft-365-defender-incidents-list command.\nError:\nInvalid value for argument `timeout`: \"9223372036854775807\". Out of range. Accepted values: 1 to 3600 seconds.",
    );
    assert!(!result.stderr.contains("panicked"), "{}", result.stderr);
}
