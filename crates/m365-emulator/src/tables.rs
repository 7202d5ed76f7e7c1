//! The advanced hunting tables, with the columns and types of Defender's schema
//! (<https://learn.microsoft.com/defender-xdr/advanced-hunting-schema-tables>). Event tables are
//! computed row by row from the seed and the row number, so the 120,000 rows of
//! `DeviceProcessEvents` (more than the 100,000 a result may hold) cost nothing until a query reads
//! them, and read the same every time. `AlertInfo` and `AlertEvidence` are the current incidents'
//! alerts, so hunting agrees with the incidents API.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::kql::{Column, ColumnType, Row, TableSource, Value};
use super::model::{ApiEnum, EntityType, Incident};
use super::tenant::{DATA_WINDOW, Directory, MAIL_DOMAIN, hex, pick};

const fn column(name: &'static str, kind: ColumnType) -> Column {
    Column { name, kind }
}

use ColumnType::{DateTime, Int, Long, String as Text};

const DEVICE_PROCESS_EVENTS: &[Column] = &[
    column("Timestamp", DateTime),
    column("DeviceId", Text),
    column("DeviceName", Text),
    column("ActionType", Text),
    column("FileName", Text),
    column("FolderPath", Text),
    column("SHA1", Text),
    column("ProcessId", Long),
    column("ProcessCommandLine", Text),
    column("AccountDomain", Text),
    column("AccountName", Text),
    column("InitiatingProcessFileName", Text),
    column("InitiatingProcessId", Long),
    column("ReportId", Long),
];

const DEVICE_NETWORK_EVENTS: &[Column] = &[
    column("Timestamp", DateTime),
    column("DeviceId", Text),
    column("DeviceName", Text),
    column("ActionType", Text),
    column("RemoteIP", Text),
    column("RemotePort", Int),
    column("RemoteUrl", Text),
    column("LocalIP", Text),
    column("LocalPort", Int),
    column("Protocol", Text),
    column("InitiatingProcessFileName", Text),
    column("InitiatingProcessAccountName", Text),
    column("ReportId", Long),
];

const EMAIL_EVENTS: &[Column] = &[
    column("Timestamp", DateTime),
    column("NetworkMessageId", Text),
    column("InternetMessageId", Text),
    column("SenderFromAddress", Text),
    column("SenderIPv4", Text),
    column("RecipientEmailAddress", Text),
    column("Subject", Text),
    column("EmailDirection", Text),
    column("DeliveryAction", Text),
    column("DeliveryLocation", Text),
    column("ThreatTypes", Text),
    column("AttachmentCount", Int),
    column("UrlCount", Int),
    column("ReportId", Long),
];

const IDENTITY_LOGON_EVENTS: &[Column] = &[
    column("Timestamp", DateTime),
    column("ActionType", Text),
    column("Application", Text),
    column("LogonType", Text),
    column("Protocol", Text),
    column("FailureReason", Text),
    column("AccountName", Text),
    column("AccountDomain", Text),
    column("AccountUpn", Text),
    column("AccountObjectId", Text),
    column("DeviceName", Text),
    column("IPAddress", Text),
    column("Location", Text),
    column("ReportId", Long),
];

const ALERT_INFO: &[Column] = &[
    column("Timestamp", DateTime),
    column("AlertId", Text),
    column("Title", Text),
    column("Category", Text),
    column("Severity", Text),
    column("ServiceSource", Text),
    column("DetectionSource", Text),
    column("AttackTechniques", Text),
];

const ALERT_EVIDENCE: &[Column] = &[
    column("Timestamp", DateTime),
    column("AlertId", Text),
    column("Title", Text),
    column("Categories", Text),
    column("AttackTechniques", Text),
    column("ServiceSource", Text),
    column("DetectionSource", Text),
    column("EntityType", Text),
    column("EvidenceRole", Text),
    column("RemoteIP", Text),
    column("RemoteUrl", Text),
    column("FileName", Text),
    column("FolderPath", Text),
    column("SHA1", Text),
    column("SHA256", Text),
    column("ProcessCommandLine", Text),
    column("AccountName", Text),
    column("AccountDomain", Text),
    column("AccountUpn", Text),
    column("AccountObjectId", Text),
    column("DeviceId", Text),
    column("DeviceName", Text),
    column("EmailSubject", Text),
    column("RegistryKey", Text),
    column("RegistryValueData", Text),
];

/// Rows per generated table. `DeviceProcessEvents` is larger than a result may be.
const DEVICE_PROCESS_ROWS: u64 = 120_000;
const DEVICE_NETWORK_ROWS: u64 = 30_000;
const EMAIL_ROWS: u64 = 8_000;
const IDENTITY_LOGON_ROWS: u64 = 10_000;

/// Everyday processes, with the folder they run from and a typical command line.
const PROCESSES: &[(&str, &str, &str)] = &[
    (
        "svchost.exe",
        "C:\\Windows\\System32",
        "svchost.exe -k netsvcs -p -s Schedule",
    ),
    (
        "chrome.exe",
        "C:\\Program Files\\Google\\Chrome\\Application",
        "\"chrome.exe\" --type=renderer",
    ),
    (
        "msedge.exe",
        "C:\\Program Files (x86)\\Microsoft\\Edge\\Application",
        "\"msedge.exe\" --single-argument https://contoso.sharepoint.com/",
    ),
    (
        "powershell.exe",
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
        "powershell.exe -NoProfile -Command Get-Service",
    ),
    ("cmd.exe", "C:\\Windows\\System32", "cmd.exe /c whoami"),
    (
        "conhost.exe",
        "C:\\Windows\\System32",
        "conhost.exe 0xffffffff -ForceV1",
    ),
    (
        "OUTLOOK.EXE",
        "C:\\Program Files\\Microsoft Office\\root\\Office16",
        "\"OUTLOOK.EXE\"",
    ),
    (
        "Teams.exe",
        "C:\\Users\\Public\\AppData\\Local\\Microsoft\\Teams\\current",
        "\"Teams.exe\" --system-initiated",
    ),
    (
        "WINWORD.EXE",
        "C:\\Program Files\\Microsoft Office\\root\\Office16",
        "\"WINWORD.EXE\" /n",
    ),
    (
        "EXCEL.EXE",
        "C:\\Program Files\\Microsoft Office\\root\\Office16",
        "\"EXCEL.EXE\"",
    ),
    (
        "rundll32.exe",
        "C:\\Windows\\System32",
        "rundll32.exe shell32.dll,Control_RunDLL",
    ),
    ("taskhostw.exe", "C:\\Windows\\System32", "taskhostw.exe"),
    (
        "MsMpEng.exe",
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform",
        "MsMpEng.exe",
    ),
    (
        "git.exe",
        "C:\\Program Files\\Git\\cmd",
        "git.exe fetch --all",
    ),
    ("python.exe", "C:\\Python312", "python.exe -m pip list"),
];
const PARENTS: &[&str] = &[
    "explorer.exe",
    "services.exe",
    "svchost.exe",
    "cmd.exe",
    "powershell.exe",
    "userinit.exe",
];
const BENIGN_REMOTES: &[(&str, &str)] = &[
    ("13.107.42.14", "contoso.sharepoint.com"),
    ("52.96.165.18", "outlook.office365.com"),
    ("20.190.151.68", "login.microsoftonline.com"),
    ("140.82.112.3", "github.com"),
    ("142.250.74.206", "www.google.com"),
];
const SUBJECTS: &[&str] = &[
    "Weekly status",
    "Invoice overdue",
    "Your mailbox is full",
    "Lunch on Friday?",
    "Shared document: Q3 plan",
    "[EXTERNAL] Attention",
    "Password expires today",
];
const LOCATIONS: &[&str] = &["US", "GB", "DE", "NL", "IN", "BR", "RU", "NG"];

struct ProcessSample {
    file_name: Arc<str>,
    folder: Arc<str>,
    command_line: Arc<str>,
    sha1: Arc<str>,
}

/// The parts of the directory the generated tables draw from, shared as cheap `Arc<str>`s.
struct Pools {
    /// Device id, device name, local IP address.
    devices: Vec<(Arc<str>, Arc<str>, Arc<str>)>,
    /// Account name, UPN, Entra object id.
    accounts: Vec<(Arc<str>, Arc<str>, Arc<str>)>,
    processes: Vec<ProcessSample>,
    parents: Vec<Arc<str>>,
    external_ips: Vec<Arc<str>>,
    urls: Vec<Arc<str>>,
}

pub(crate) struct GeneratedTables {
    seed: u64,
    window_start: Timestamp,
    pools: Pools,
}

fn text(value: impl AsRef<str>) -> Value {
    Value::String(value.as_ref().into())
}

impl GeneratedTables {
    pub(crate) fn new(seed: u64, start: Timestamp, directory: Arc<Directory>) -> GeneratedTables {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0x7AB1E5);
        let shared = |value: &str| -> Arc<str> { value.into() };
        let mut processes: Vec<ProcessSample> = PROCESSES
            .iter()
            .map(|(name, folder, command)| ProcessSample {
                file_name: shared(name),
                folder: shared(folder),
                command_line: shared(command),
                sha1: shared(&hex(&mut rng, 40)),
            })
            .collect();
        processes.extend(directory.files.iter().map(|file| ProcessSample {
            file_name: shared(file.name),
            folder: shared(&file.folder.replace("{user}", "Public")),
            command_line: shared(&file.command_line.replace("{user}", "Public")),
            sha1: shared(&file.sha1),
        }));
        GeneratedTables {
            seed,
            window_start: start - DATA_WINDOW,
            pools: Pools {
                devices: directory
                    .hosts
                    .iter()
                    .map(|host| {
                        (
                            shared(&host.device_id),
                            shared(&host.dns_name),
                            shared(&host.ip_address),
                        )
                    })
                    .collect(),
                accounts: directory
                    .users
                    .iter()
                    .map(|user| {
                        (
                            shared(&user.account_name),
                            shared(&user.upn),
                            shared(&user.object_id),
                        )
                    })
                    .collect(),
                processes,
                parents: PARENTS.iter().map(|name| shared(name)).collect(),
                external_ips: directory.external_ips.iter().map(|ip| shared(ip)).collect(),
                urls: directory.urls.iter().map(|url| shared(url)).collect(),
            },
        }
    }

    /// The random source of one row: the same table, row and seed always give the same row.
    fn row_rng(&self, table: u64, index: u64) -> SmallRng {
        SmallRng::seed_from_u64(
            self.seed ^ table.rotate_left(32) ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )
    }

    /// Row `index` of `rows` happens in its slice of the 30-day window, so tables are in time order.
    fn row_time(&self, rng: &mut SmallRng, index: u64, rows: u64) -> Value {
        let slot = DATA_WINDOW.as_nanos() / i128::from(rows);
        let offset = slot * i128::from(index) + rng.random_range(0..slot.max(1)) / 100 * 100;
        Value::DateTime(self.window_start + SignedDuration::from_nanos(offset as i64))
    }

    fn device_process_event(&self, index: u64) -> Row {
        let mut rng = self.row_rng(1, index);
        let pools = &self.pools;
        let (device_id, device_name, _) = pick(&mut rng, &pools.devices);
        let (account, _, _) = pick(&mut rng, &pools.accounts);
        // One process in 400 is one of the tenant's suspicious files.
        let process = if rng.random_ratio(1, 400) {
            pick(&mut rng, &pools.processes[PROCESSES.len()..])
        } else {
            pick(&mut rng, &pools.processes[..PROCESSES.len()])
        };
        vec![
            self.row_time(&mut rng, index, DEVICE_PROCESS_ROWS),
            Value::String(device_id.clone()),
            Value::String(device_name.clone()),
            text("ProcessCreated"),
            Value::String(process.file_name.clone()),
            Value::String(format!("{}\\{}", process.folder, process.file_name).into()),
            Value::String(process.sha1.clone()),
            Value::Long(rng.random_range(1_000..40_000)),
            Value::String(process.command_line.clone()),
            text("contoso"),
            Value::String(account.clone()),
            Value::String(pick(&mut rng, &pools.parents).clone()),
            Value::Long(rng.random_range(500..1_000)),
            Value::Long(index as i64 + 1),
        ]
    }

    fn device_network_event(&self, index: u64) -> Row {
        let mut rng = self.row_rng(2, index);
        let pools = &self.pools;
        let (device_id, device_name, local_ip) = pick(&mut rng, &pools.devices);
        let (account, _, _) = pick(&mut rng, &pools.accounts);
        let (remote_ip, remote_url): (Value, Value) = if rng.random_ratio(1, 50) {
            (
                Value::String(pick(&mut rng, &pools.external_ips).clone()),
                Value::String(pick(&mut rng, &pools.urls).clone()),
            )
        } else {
            let (ip, url) = pick(&mut rng, BENIGN_REMOTES);
            (text(ip), text(url))
        };
        let action = *pick(
            &mut rng,
            &[
                "ConnectionSuccess",
                "ConnectionSuccess",
                "ConnectionSuccess",
                "ConnectionFailed",
            ],
        );
        vec![
            self.row_time(&mut rng, index, DEVICE_NETWORK_ROWS),
            Value::String(device_id.clone()),
            Value::String(device_name.clone()),
            text(action),
            remote_ip,
            Value::Long(*pick(&mut rng, &[443, 443, 80, 445, 3389, 8080])),
            remote_url,
            Value::String(local_ip.clone()),
            Value::Long(rng.random_range(49_152..65_535)),
            text("Tcp"),
            Value::String(pick(&mut rng, &pools.processes).file_name.clone()),
            Value::String(account.clone()),
            Value::Long(index as i64 + 1),
        ]
    }

    fn email_event(&self, index: u64) -> Row {
        let mut rng = self.row_rng(3, index);
        let pools = &self.pools;
        let (_, recipient, _) = pick(&mut rng, &pools.accounts);
        let phish = rng.random_ratio(1, 25);
        let sender = if phish {
            format!(
                "billing@{}",
                pick(&mut rng, &pools.urls)
                    .trim_start_matches("https://")
                    .split('/')
                    .next()
                    .unwrap_or("example.com")
            )
        } else {
            format!("{}@{MAIL_DOMAIN}", pick(&mut rng, &pools.accounts).0)
        };
        let message_id = super::tenant::guid(&mut rng);
        vec![
            self.row_time(&mut rng, index, EMAIL_ROWS),
            Value::String(message_id.into()),
            Value::String(format!("<{}@{MAIL_DOMAIN}>", hex(&mut rng, 16)).into()),
            Value::String(sender.into()),
            Value::String(pick(&mut rng, &pools.external_ips).clone()),
            Value::String(recipient.clone()),
            text(*pick(&mut rng, SUBJECTS)),
            text(if phish {
                "Inbound"
            } else {
                *pick(&mut rng, &["Intra-org", "Inbound", "Outbound"])
            }),
            text(if phish {
                *pick(&mut rng, &["Blocked", "Junked", "Delivered"])
            } else {
                "Delivered"
            }),
            text(if phish { "Quarantine" } else { "Inbox/folder" }),
            if phish {
                text(*pick(&mut rng, &["Phish", "Malware", "Spam"]))
            } else {
                text("")
            },
            Value::Long(rng.random_range(0..3)),
            Value::Long(rng.random_range(0..6)),
            Value::Long(index as i64 + 1),
        ]
    }

    fn identity_logon_event(&self, index: u64) -> Row {
        let mut rng = self.row_rng(4, index);
        let pools = &self.pools;
        let (account, upn, object_id) = pick(&mut rng, &pools.accounts);
        let failed = rng.random_ratio(1, 12);
        vec![
            self.row_time(&mut rng, index, IDENTITY_LOGON_ROWS),
            text(if failed {
                "LogonFailed"
            } else {
                "LogonSuccess"
            }),
            text(*pick(
                &mut rng,
                &[
                    "Active Directory",
                    "Microsoft 365",
                    "Microsoft Teams",
                    "Office 365 Exchange Online",
                ],
            )),
            text(*pick(
                &mut rng,
                &["Interactive", "Resource access", "Network"],
            )),
            text(*pick(&mut rng, &["Kerberos", "Ntlm", "OAuth2:Authorize"])),
            text(if failed {
                *pick(&mut rng, &["WrongPassword", "AccountLocked", "MfaDenied"])
            } else {
                ""
            }),
            Value::String(account.clone()),
            text("contoso"),
            Value::String(upn.clone()),
            Value::String(object_id.clone()),
            Value::String(pick(&mut rng, &pools.devices).1.clone()),
            Value::String(pick(&mut rng, &pools.external_ips).clone()),
            text(*pick(&mut rng, LOCATIONS)),
            Value::Long(index as i64 + 1),
        ]
    }
}

/// How the advanced hunting tables name a service source (`ServiceSource` column), which differs
/// from the incidents API's enumeration names.
fn service_source_name(service_source: &str) -> &'static str {
    match service_source {
        "MicrosoftDefenderForEndpoint" => "Microsoft Defender for Endpoint",
        "MicrosoftDefenderForOffice365" => "Microsoft Defender for Office 365",
        "MicrosoftDefenderForIdentity" => "Microsoft Defender for Identity",
        "MicrosoftCloudAppSecurity" => "Microsoft Defender for Cloud Apps",
        "AzureAdIdentityProtection" => "Microsoft Entra ID Protection",
        "MicrosoftDefenderForCloud" => "Microsoft Defender for Cloud",
        _ => "Microsoft Defender XDR",
    }
}

fn detection_source_name(detection_source: &str) -> &'static str {
    match detection_source {
        "EDR" => "EDR",
        "WindowsDefenderAv" => "Antivirus",
        "AutomatedInvestigation" => "Automated investigation",
        "OfficeATP" => "Microsoft Defender for Office 365",
        "AATP" => "Microsoft Defender for Identity",
        "MCAS" => "Microsoft Defender for Cloud Apps",
        "AzureAdIdentityProtection" => "Microsoft Entra ID Protection",
        "MicrosoftDefenderForCloud" => "Microsoft Defender for Cloud",
        _ => "Microsoft Defender XDR",
    }
}

/// `AttackTechniques` holds technique names with their ids, as a JSON list in a string.
fn attack_techniques(ids: &[&str]) -> String {
    let names: Vec<String> = ids
        .iter()
        .map(|id| {
            let name = match *id {
                "T1059.001" => "PowerShell",
                "T1059.004" => "Unix Shell",
                "T1003.001" => "LSASS Memory",
                "T1003.006" => "DCSync",
                "T1547.001" => "Registry Run Keys / Startup Folder",
                "T1071.001" => "Web Protocols",
                "T1105" => "Ingress Tool Transfer",
                "T1486" => "Data Encrypted for Impact",
                "T1566" => "Phishing",
                "T1566.001" => "Spearphishing Attachment",
                "T1566.002" => "Spearphishing Link",
                "T1098" => "Account Manipulation",
                "T1078" => "Valid Accounts",
                "T1078.004" => "Cloud Accounts",
                "T1530" => "Data from Cloud Storage",
                "T1110.003" => "Password Spraying",
                "T1114.003" => "Email Forwarding Rule",
                _ => "Technique",
            };
            format!("{name} ({id})")
        })
        .collect();
    serde_json::to_string(&names).unwrap_or_default()
}

/// `AlertInfo` and `AlertEvidence` rows of the incidents visible now.
pub(crate) struct AlertRows {
    info: Vec<Row>,
    evidence: Vec<Row>,
}

impl AlertRows {
    pub(crate) fn of<'a>(incidents: impl Iterator<Item = &'a Incident>) -> AlertRows {
        let mut rows = AlertRows {
            info: Vec::new(),
            evidence: Vec::new(),
        };
        let optional =
            |value: &Option<String>| value.as_deref().map_or(Value::String("".into()), text);
        for alert in incidents.flat_map(|incident| &incident.alerts) {
            let techniques = attack_techniques(&alert.mitre_techniques);
            rows.info.push(vec![
                Value::DateTime(alert.creation_time),
                text(&alert.alert_id),
                text(alert.title),
                text(alert.category),
                text(alert.severity.as_str()),
                text(service_source_name(alert.service_source)),
                text(detection_source_name(alert.detection_source)),
                text(&techniques),
            ]);
            let device = alert.devices.first();
            for entity in &alert.entities {
                let entity_type = match entity.entity_type {
                    EntityType::MailBox => "Mailbox",
                    EntityType::Registry => "RegistryValue",
                    other => other.as_str(),
                };
                rows.evidence.push(vec![
                    Value::DateTime(alert.creation_time),
                    text(&alert.alert_id),
                    text(alert.title),
                    text(format!("[\"{}\"]", alert.category)),
                    text(&techniques),
                    text(service_source_name(alert.service_source)),
                    text(detection_source_name(alert.detection_source)),
                    text(entity_type),
                    text(if entity.verdict == "Malicious" {
                        "Impacted"
                    } else {
                        "Related"
                    }),
                    optional(&entity.ip_address),
                    optional(&entity.url),
                    optional(&entity.file_name),
                    optional(&entity.file_path),
                    optional(&entity.sha1),
                    optional(&entity.sha256),
                    optional(&entity.process_command_line),
                    optional(&entity.account_name),
                    optional(&entity.domain_name),
                    optional(&entity.user_principal_name),
                    optional(&entity.aad_user_id),
                    optional(
                        &entity
                            .device_id
                            .clone()
                            .or_else(|| device.map(|device| device.mdatp_device_id.clone())),
                    ),
                    optional(&device.and_then(|device| device.device_dns_name.clone())),
                    optional(&entity.subject),
                    optional(&entity.registry_key),
                    optional(&entity.registry_value),
                ]);
            }
        }
        rows
    }
}

/// What one hunting query reads: the generated event tables and the alert tables of now.
pub(crate) struct HuntingTables {
    pub(crate) generated: Arc<GeneratedTables>,
    pub(crate) alerts: AlertRows,
}

impl TableSource for HuntingTables {
    fn columns(&self, table: &str) -> Option<&'static [Column]> {
        Some(match table {
            "DeviceProcessEvents" => DEVICE_PROCESS_EVENTS,
            "DeviceNetworkEvents" => DEVICE_NETWORK_EVENTS,
            "EmailEvents" => EMAIL_EVENTS,
            "IdentityLogonEvents" => IDENTITY_LOGON_EVENTS,
            "AlertInfo" => ALERT_INFO,
            "AlertEvidence" => ALERT_EVIDENCE,
            _ => return None,
        })
    }

    fn rows(&self, table: &str) -> Box<dyn Iterator<Item = Row> + '_> {
        let generated = &self.generated;
        match table {
            "DeviceProcessEvents" => Box::new(
                (0..DEVICE_PROCESS_ROWS).map(|index| generated.device_process_event(index)),
            ),
            "DeviceNetworkEvents" => Box::new(
                (0..DEVICE_NETWORK_ROWS).map(|index| generated.device_network_event(index)),
            ),
            "EmailEvents" => Box::new((0..EMAIL_ROWS).map(|index| generated.email_event(index))),
            "IdentityLogonEvents" => Box::new(
                (0..IDENTITY_LOGON_ROWS).map(|index| generated.identity_logon_event(index)),
            ),
            "AlertInfo" => Box::new(self.alerts.info.iter().cloned()),
            "AlertEvidence" => Box::new(self.alerts.evidence.iter().cloned()),
            _ => Box::new(std::iter::empty()),
        }
    }
}
