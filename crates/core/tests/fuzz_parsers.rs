//! Fuzzing runway-core's parsers: every text a user, a setting or a PBX hands Runway — a PBX
//! address, an address range, an email address, a CA certificate, a poll interval, a PBX date,
//! a time zone, a renewal-link template, reminder days — is read into its type or refused,
//! never a panic; what is accepted keeps the documented limits and reads back to itself.
//! Facts built from anything a PBX can report then go through every rule without a panic.
//!
//! Each property runs a bounded number of cases (set `PROPTEST_CASES` to run more); the
//! `cargo fuzz` targets under `fuzz/` run the same parsers for as long as wanted.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::sync::LazyLock;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use proptest::prelude::*;
use runway_core::{
    BadCaPem, BaseUrl, Cidr, DaysLeft, LicenseFacts, LicenseStatus, LoginKind, MAX_CA_PEM_BYTES,
    MAX_EMAIL_LENGTH, MAX_MILESTONE_DAYS, PbxLicense, PollInterval, ReadingChanges, ReminderInput,
    ReminderPolicy, RenewalTemplate, SeatUsage, Stage, Zone, check_ca_pem, check_email, is_no_date,
    parse_pbx_instant,
};

/// `cases` unless `PROPTEST_CASES` asks for another number.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

static ZONES: LazyLock<Vec<String>> = LazyLock::new(Zone::available);

/// Surrounding white space, as people paste.
fn padded(inner: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", " ", "\t", "\n ", "\u{a0}"]),
        inner,
        prop::sample::select(vec!["", " ", "\r\n", "\u{3000}"]),
    )
        .prop_map(|(a, s, b)| format!("{a}{s}{b}"))
}

// ---- PBX addresses ------------------------------------------------------------------------------

const PASSWORD: &str = "pw-s3cr3t";

/// PBX addresses as typed: schemes, user info, hosts of every kind, ports, paths, queries.
fn base_url_text() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "",
        "https://",
        "http://",
        "HTTPS://",
        "hTtP://",
        "ftp://",
        "//",
        "https:",
        "https:/",
        "javascript:",
        "file://",
    ]);
    let userinfo = prop::sample::select(vec![
        String::new(),
        "admin@".to_owned(),
        format!("admin:{PASSWORD}@"),
        format!(":{PASSWORD}@"),
        format!("a@b:{PASSWORD}@"),
        "@".to_owned(),
    ]);
    let host = prop_oneof![
        "[a-z0-9-]{1,12}(\\.[a-z0-9-]{1,12}){0,3}",
        "[A-Z]{1,8}\\.Example\\.COM",
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        any::<[u16; 8]>().prop_map(|s| format!(
            "[{}]",
            s.iter()
                .map(|g| format!("{g:x}"))
                .collect::<Vec<_>>()
                .join(":")
        )),
        prop::sample::select(vec![
            "",
            ".",
            "..",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "[fe80::1%25eth0]",
            "bücher.example",
            "xn--bcher-kva.example",
            "%41.example",
            "256.1.1.1",
            "0x7f.1",
            "a_b.example",
            "-lead.example",
            "[::1",
            "::1",
            "localhost",
        ])
        .prop_map(str::to_owned),
        "[^/?#@ ]{0,12}",
    ];
    let port = prop_oneof![
        Just(String::new()),
        Just(":".to_owned()),
        any::<u16>().prop_map(|p| format!(":{p}")),
        prop::sample::select(vec![":65536", ":99999999999", ":-1", ":5001x", ":443"])
            .prop_map(str::to_owned),
    ];
    let path = prop_oneof![
        Just(String::new()),
        prop::sample::select(vec![
            "/",
            "//",
            "///",
            "/a//",
            "/acme-hq",
            "/acme-hq/",
            "/a/./b/../c",
            "/%2F",
            "/%2f/",
            "/ä",
            "/a b",
            "/..",
            "/x/..//",
            "\\x",
            "/a/%",
            "/%zz",
        ])
        .prop_map(str::to_owned),
        "(/[a-zA-Z0-9._~%-]{0,6}){1,4}/{0,3}",
    ];
    let tail = prop::sample::select(vec!["", "", "", "?", "?x=1", "#", "#frag", "?a#b"]);
    prop_oneof![
        5 => (scheme, userinfo, host, port, path, tail).prop_map(|(s, u, h, p, pa, t)| format!("{s}{u}{h}{p}{pa}{t}")),
        1 => any::<String>(),
    ]
    .prop_flat_map(|s| padded(Just(s)))
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn a_pbx_address_is_read_into_its_normal_form_or_refused_without_its_password(
        text in base_url_text()
    ) {
        match BaseUrl::parse(&text) {
            Ok(url) => {
                let shown = url.to_string();
                // Its normal form is what is stored and shown: it reads back to itself.
                let again = BaseUrl::parse(&shown);
                prop_assert_eq!(again.as_ref(), Ok(&url), "{:?} → {}", text, shown);
                prop_assert!(!shown.ends_with('/'), "{shown}");
                let joined = url.url();
                prop_assert!(joined.as_str().ends_with('/'));
                prop_assert!(matches!(joined.scheme(), "http" | "https"));
                prop_assert!(!url.host().is_empty());
                prop_assert!(joined.username().is_empty() && joined.password().is_none());
                prop_assert!(joined.query().is_none() && joined.fragment().is_none());
                prop_assert!(url.same_server(&url));
                for path in ["xapi/v1/SystemStatus", "connect/token", "api/login"] {
                    let full = joined.join(path).unwrap();
                    prop_assert!(url.same_server(&BaseUrl::parse(full.origin().ascii_serialization().as_str()).unwrap()));
                }
            }
            Err(err) => {
                let said = err.to_string();
                prop_assert!(!said.contains(PASSWORD), "{said}");
            }
        }
    }

    #[test]
    fn an_address_range_reads_back_to_itself_and_contains_its_network(
        text in padded(prop_oneof![
            3 => (any::<[u8; 4]>(), proptest::option::of(0u16..=40))
                .prop_map(|(a, p)| format!("{}.{}.{}.{}{}", a[0], a[1], a[2], a[3], p.map(|p| format!("/{p}")).unwrap_or_default())),
            3 => (any::<u128>(), proptest::option::of(0u16..=140))
                .prop_map(|(a, p)| format!("{}{}", std::net::Ipv6Addr::from(a), p.map(|p| format!("/{p}")).unwrap_or_default())),
            1 => any::<[u8; 4]>().prop_map(|a| format!("::ffff:{}.{}.{}.{}/120", a[0], a[1], a[2], a[3])),
            1 => "[0-9a-fA-F:./+ -]{0,45}",
            1 => any::<String>(),
        ]),
        others in prop::collection::vec(any::<u128>(), 4),
    ) {
        let list = Cidr::parse_list(&format!("{text},,{text}"));
        match Cidr::parse(&text) {
            Ok(cidr) => {
                let shown = cidr.to_string();
                prop_assert_eq!(Cidr::parse(&shown), Ok(cidr));
                let (address, prefix) = shown.split_once('/').unwrap();
                let address: std::net::IpAddr = address.parse().unwrap();
                prop_assert!(cidr.contains(address));
                let bits = if address.is_ipv4() { 32 } else { 128 };
                prop_assert!(prefix.parse::<u8>().unwrap() <= bits);
                prop_assert_eq!(list, Ok(vec![cidr, cidr]));
                for other in others {
                    let _ = cidr.contains(std::net::Ipv6Addr::from(other).into());
                }
            }
            Err(err) => {
                prop_assert!(err.0.chars().count() <= 100);
                if !text.trim().is_empty() && !text.contains(',') {
                    prop_assert!(list.is_err());
                }
            }
        }
    }

    #[test]
    fn an_accepted_email_address_keeps_the_rules_and_is_accepted_again(
        text in padded(prop_oneof![
            3 => "[a-z0-9._%+-]{0,20}@[a-z0-9.-]{0,20}",
            1 => "[^@]{0,10}@{0,2}[^@]{0,10}",
            1 => (1usize..400).prop_map(|n| format!("{}@example.com", "a".repeat(n))),
            1 => any::<String>(),
        ])
    ) {
        match check_email(&text) {
            Ok(email) => {
                prop_assert!(email.len() <= MAX_EMAIL_LENGTH);
                prop_assert!(!email.chars().any(|c| c.is_whitespace() || c.is_control()));
                let (local, domain) = email.split_once('@').unwrap();
                prop_assert!(!local.is_empty() && !domain.is_empty());
                prop_assert_eq!(check_email(&email), Ok(email.clone()));
            }
            Err(err) => prop_assert!(err.0.chars().count() <= MAX_EMAIL_LENGTH),
        }
    }

    #[test]
    fn an_accepted_custom_ca_is_pem_certificates_within_the_size_limit(
        text in prop_oneof![
            3 => prop::collection::vec(
                (
                    "[A-Za-z0-9+/=\\n ]{0,120}",
                    prop::sample::select(vec!["", "\n", "junk\n", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"]),
                    prop::sample::select(vec![
                        "-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE----", "-----begin certificate-----",
                    ]),
                    prop::sample::select(vec!["-----END CERTIFICATE-----", "-----END CERTIFICATE", ""]),
                ),
                0..4,
            )
            .prop_map(|blocks| {
                blocks
                    .into_iter()
                    .map(|(body, before, begin, end)| [before, begin, "\n", &body, "\n", end, "\n"].concat())
                    .collect::<String>()
            }),
            1 => (0usize..3, MAX_CA_PEM_BYTES - 64..MAX_CA_PEM_BYTES + 64).prop_map(|(n, size)| {
                let block = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", "A".repeat(size / 2));
                block.repeat(n.max(1))
            }),
            1 => any::<String>(),
        ]
    ) {
        match check_ca_pem(&text) {
            Ok(None) => prop_assert!(text.trim().is_empty()),
            Ok(Some(pem)) => {
                prop_assert!(pem.len() <= MAX_CA_PEM_BYTES);
                prop_assert!(pem.contains("-----BEGIN CERTIFICATE-----"));
                prop_assert!(pem.contains("-----END CERTIFICATE-----"));
                prop_assert_eq!(pem.trim(), &pem);
                prop_assert_eq!(check_ca_pem(&pem), Ok(Some(pem.clone())));
            }
            Err(BadCaPem::TooLarge) => prop_assert!(text.trim().len() > MAX_CA_PEM_BYTES),
            Err(BadCaPem::NotPem) => {}
        }
    }

    #[test]
    fn a_poll_interval_is_accepted_exactly_from_one_minute_to_thirty_days(
        minutes in prop_oneof![0u64..50_000, any::<u64>()],
        seconds in any::<u64>(), nanos in 0u32..1_000_000_000,
    ) {
        match PollInterval::from_minutes(minutes) {
            Ok(interval) => {
                prop_assert!((1..=43_200).contains(&minutes));
                prop_assert_eq!(interval.minutes(), minutes);
            }
            Err(_) => prop_assert!(!(1..=43_200).contains(&minutes)),
        }
        let duration = Duration::new(seconds % 5_000_000, nanos);
        match PollInterval::new(duration) {
            Ok(interval) => {
                prop_assert!((PollInterval::MIN..=PollInterval::MAX).contains(&interval));
                prop_assert_eq!(interval.get(), duration);
            }
            Err(_) => prop_assert!(duration < PollInterval::MIN.get() || duration > PollInterval::MAX.get()),
        }
    }
}

// ---- PBX dates ----------------------------------------------------------------------------------

/// Dates as a PBX might write them, well formed or nearly so.
fn date_text() -> impl Strategy<Value = String> {
    let year = prop_oneof![
        prop::sample::select(vec![
            "0001", "0000", "9999", "-0001", "+002026", "-009999", "+010000"
        ])
        .prop_map(str::to_owned),
        (1900u32..2100).prop_map(|y| format!("{y:04}")),
    ];
    let offset = prop_oneof![
        prop::sample::select(vec![
            "", "Z", "z", "+00:00", "-00:00", "+14:00", "-12:00", "+25:00", "+1:00", "+0530", "UTC"
        ])
        .prop_map(str::to_owned),
        (prop::bool::ANY, 0u8..=26, 0u8..=61)
            .prop_map(|(plus, h, m)| format!("{}{h:02}:{m:02}", if plus { '+' } else { '-' })),
    ];
    let shaped = (
        year,
        0u8..=13,
        0u8..=32,
        0u8..=25,
        0u8..=61,
        0u8..=61,
        0usize..=12,
        offset,
    )
        .prop_map(|(y, mo, d, h, mi, s, digits, off)| {
            let fraction = if digits == 0 {
                String::new()
            } else {
                format!(".{}", &"9876543210987"[..digits])
            };
            format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{off}")
        });
    prop_oneof![
        6 => padded(shaped),
        1 => (1900u32..2100, 0u8..=13, 0u8..=32).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        1 => prop::sample::select(vec![
            "0001-01-01T00:00:00.0000000+00:00", "0001-01-01T00:00:00-14:00", "2035-01-01T00:00:00Z",
            "null", "NULL", "", "  ", "2026-12-01T02:00:00 Z", "2026-12-01 02:00:00Z", "20261201T020000Z",
            "2026-W48-2", "2026-335", "1e9", "-1", "2026-12-01T02:00:00Z[Europe/Paris]",
        ])
        .prop_map(str::to_owned),
        1 => "[0-9TZ:+. -]{0,40}",
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn a_pbx_date_is_an_instant_no_date_or_an_error_never_a_panic(text in date_text()) {
        match parse_pbx_instant(&text) {
            Ok(Some(instant)) => {
                prop_assert!(!is_no_date(instant), "{text:?} → {instant}");
                // Written back in RFC 3339 it reads as the same instant.
                prop_assert_eq!(parse_pbx_instant(&instant.to_string()), Ok(Some(instant)));
            }
            Ok(None) => {}
            Err(err) => {
                prop_assert!(err.text.chars().count() <= 64);
                let _ = err.to_string();
            }
        }
    }

    #[test]
    fn a_time_zone_name_is_found_in_any_case_or_refused(
        name in prop_oneof![
            3 => prop::sample::select(ZONES.clone()),
            2 => (prop::sample::select(ZONES.clone()), any::<prop::sample::Index>(), any::<char>())
                .prop_map(|(z, at, c)| {
                    let mut chars: Vec<char> = z.chars().collect();
                    let i = at.index(chars.len());
                    chars[i] = c;
                    chars.into_iter().collect()
                }),
            1 => prop::sample::select(ZONES.clone()).prop_map(|z| z.to_uppercase()),
            1 => "[A-Za-z_/+-]{0,30}",
            1 => prop::sample::select(vec!["../../etc/passwd", "/usr/share/zoneinfo/UTC", "posixrules",
                                           "EST5EDT,M3.2.0,M11.1.0", "<+03>-3", "Etc/GMT+99", "UTC+1"])
                .prop_map(str::to_owned),
            1 => any::<String>(),
        ]
    ) {
        if let Ok(zone) = Zone::parse(&name) {
            let again = Zone::parse(zone.name()).unwrap();
            prop_assert_eq!(again.name(), zone.name());
            let _ = zone.date_of(Timestamp::MIN);
            let _ = zone.date_of(Timestamp::MAX);
        }
    }

    #[test]
    fn an_accepted_renewal_template_makes_links_without_braces_or_spaces(
        text in padded(prop_oneof![
            3 => (
                prop::sample::select(vec!["https://", "http://", "HTTPS://", "ftp://", "https:/", ""]),
                prop::collection::vec(
                    prop_oneof![
                        "[a-z0-9./?=&-]{0,8}".boxed(),
                        prop::sample::select(vec!["{key}", "{product_code}", "{", "}", "{licence}", "{{key}}", "{key", "é", " "])
                            .prop_map(str::to_owned).boxed(),
                    ],
                    0..8,
                ),
            )
                .prop_map(|(scheme, parts)| format!("{scheme}{}", parts.concat())),
            1 => any::<String>(),
        ]),
        key in any::<String>(), code in proptest::option::of(any::<String>()),
    ) {
        if let Ok(template) = RenewalTemplate::parse(&text) {
            prop_assert_eq!(RenewalTemplate::parse(template.as_str()), Ok(template.clone()));
            let link = template.link(&key, code.as_deref());
            prop_assert!(!link.contains(['{', '}']) && !link.chars().any(char::is_whitespace), "{link}");
            prop_assert!(link.to_ascii_lowercase().starts_with("http"));
            let json = serde_json::to_string(&template).unwrap();
            prop_assert_eq!(serde_json::from_str::<RenewalTemplate>(&json).unwrap(), template);
        }
    }

    #[test]
    fn accepted_reminder_days_are_distinct_within_a_year_and_furthest_first(
        days in prop::collection::vec(prop_oneof![0u16..=400, any::<u16>()], 0..12),
        lapse in any::<bool>(),
    ) {
        if let Ok(policy) = ReminderPolicy::from_days(&days, lapse) {
            let kept: Vec<u16> = policy.milestones().iter().map(|m| m.days_before).collect();
            prop_assert!(kept.windows(2).all(|w| w[0] > w[1]), "{kept:?}");
            prop_assert!(kept.iter().all(|d| *d <= MAX_MILESTONE_DAYS));
            prop_assert_eq!(kept.len(), days.len());
        }
    }

    #[test]
    fn a_login_kind_reads_back_from_its_stored_spelling(text in prop_oneof![
        prop::sample::select(vec!["api_client", "user", "legacy", "manual", "API_CLIENT", " user", "Manual"]).prop_map(str::to_owned),
        any::<String>(),
    ]) {
        if let Ok(kind) = text.parse::<LoginKind>() {
            prop_assert_eq!(kind.as_str(), text.as_str());
            prop_assert_eq!(kind.to_string().parse::<LoginKind>(), Ok(kind));
        }
    }
}

// ---- facts from anything a PBX can report, through every rule ---------------------------------

fn any_instant() -> impl Strategy<Value = Timestamp> {
    prop_oneof![
        Just(Timestamp::MIN),
        Just(Timestamp::MAX),
        Just(Timestamp::UNIX_EPOCH),
        (Timestamp::MIN.as_second()..=Timestamp::MAX.as_second())
            .prop_map(|s| Timestamp::from_second(s).unwrap()),
        (1_700_000_000i64..2_100_000_000).prop_map(|s| Timestamp::from_second(s).unwrap()),
    ]
}

fn pbx_license() -> impl Strategy<Value = PbxLicense> {
    let text = || {
        proptest::option::of(prop_oneof![
            prop::sample::select(vec![
                "3CXPSPROFENTSPLA",
                "3cxpsprof",
                "3CXPSSPLA",
                "3CXPS",
                " ",
                "SPLA"
            ])
            .prop_map(str::to_owned),
            any::<String>(),
        ])
    };
    let count = || proptest::option::of(prop_oneof![0u32..=2000, any::<u32>()]);
    let flag = || proptest::option::of(any::<bool>());
    (
        (text(), text(), text(), text(), text()),
        (
            proptest::option::of(any_instant()),
            proptest::option::of(any_instant()),
        ),
        (flag(), flag(), flag(), flag(), flag()),
        (count(), count(), count(), count()),
    )
        .prop_map(
            |(
                (fqdn, version, license_key, product_code, reseller),
                (expiry, maintenance_expiry),
                (license_active, is_spla, is_professional, is_enterprise, maintenance_expired),
                (max_sim_calls, users_used, max_user_extensions, ai_users),
            )| PbxLicense {
                fqdn,
                version,
                license_key,
                product_code,
                expiry,
                maintenance_expiry,
                license_active,
                max_sim_calls,
                users_used,
                max_user_extensions,
                ai_users,
                reseller,
                is_spla,
                is_professional,
                is_enterprise,
                maintenance_expired,
            },
        )
}

fn any_date() -> impl Strategy<Value = Date> {
    prop_oneof![
        Just(Date::MIN),
        Just(Date::MAX),
        (-9999i16..=9999, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap()),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn facts_from_anything_a_pbx_reports_go_through_every_rule(
        before in pbx_license(), after in pbx_license(), now in any_instant(),
        zone in prop::sample::select(ZONES.clone()),
        days in prop::collection::vec(0u16..=366, 0..5),
        today in any_date(), open in prop::collection::vec(any_date(), 0..3),
        done in prop::collection::vec(prop_oneof![Just(Stage::Lapse), (0u16..=366).prop_map(Stage::Milestone)], 0..3),
    ) {
        let zone = Zone::parse(&zone).unwrap();
        let before = LicenseFacts::from_pbx(before);
        let after = LicenseFacts::from_pbx(after);
        for facts in [&before, &after] {
            let _ = facts.edition.to_string();
            let status = LicenseStatus::evaluate(Some(facts), now, &zone);
            let _ = (status.band.to_string(), status.days_left.map(|d| d.to_string()));
            if let Some(usage) =
                facts.users_used.and_then(|used| SeatUsage::new(used, facts.users_licensed))
            {
                let _ = (usage.percent(), usage.is_near_capacity());
            }
            if let Some(expiry) = facts.expiry {
                let days_left = DaysLeft::of(expiry, now, &zone);
                prop_assert_eq!(Some(days_left), status.days_left);
            }
            let json = serde_json::to_string(facts).unwrap();
            prop_assert_eq!(&serde_json::from_str::<LicenseFacts>(&json).unwrap(), facts);
        }
        let changes = ReadingChanges::between(Some(&before), &after);
        let _ = changes.describe_fields(&zone);
        for change in &changes.fields {
            let _ = change.describe(&zone);
        }
        if let Ok(policy) = ReminderPolicy::from_days(&days, true) {
            let _ = policy.evaluate(&ReminderInput {
                expiry_date: after.expiry.map(|e| zone.date_of(e)),
                today,
                done: &done,
                open_series: &open,
            });
        }
    }
}
