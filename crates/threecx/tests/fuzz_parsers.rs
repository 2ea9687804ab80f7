//! Fuzzing the PBX client's parsers: whatever answers at a PBX's address, the client reads it
//! into license facts or a typed error — it never panics, and its errors describe what came
//! back without quoting it (error texts are shown to every user of the tenant, and the address
//! may not be a PBX at all).
//!
//! Three layers:
//! - arbitrary bytes and arbitrary JSON into every parser (`runway_threecx::fuzzing`);
//! - structure-aware answers shaped like 3CX's (the fields of PROTOCOL.md with wrong kinds,
//!   huge numbers, odd dates, OData wrappers, deep nesting), and a model of a license rendered
//!   the many ways a PBX writes it, which must read back into exactly the model's facts;
//! - the real `PbxClient` against a loopback server that answers each request with a
//!   generated answer, so the glue between the parsers is fuzzed too.
//!
//! Each property runs a bounded number of cases (set `PROPTEST_CASES` to run more); the
//! `cargo fuzz` targets under `fuzz/` run the same entry points for as long as wanted.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use runway_core::{LicenseFacts, LicenseStatus, PbxLicense, Zone};
use runway_threecx::fuzzing::{self, LoggedIn, RawAnswer, XapiAnswers};
use runway_threecx::{
    BaseUrl, Connector, Credentials, LicenseReading, NetworkPolicy, PbxTarget, ReadError,
    ReadLimits, Secret, TlsOptions,
};
use serde_json::{Map, Value, json};

/// Planted in every text a generated answer carries: no error may repeat it.
const CANARY: &str = "c4n4ry";

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

// ---- generators -------------------------------------------------------------------------------

/// Text that carries the canary among printable characters.
fn canary_text() -> impl Strategy<Value = String> {
    ("[ -~]{0,12}", "[ -~]{0,12}").prop_map(|(a, b)| format!("{a}{CANARY}{b}"))
}

/// Dates as a PBX might write them, well formed or nearly so.
fn date_text() -> impl Strategy<Value = String> {
    let year = prop_oneof![
        Just("0001".to_owned()),
        Just("0000".to_owned()),
        Just("9999".to_owned()),
        Just("-0001".to_owned()),
        Just("+002026".to_owned()),
        Just("-009999".to_owned()),
        (1900u32..2100).prop_map(|y| format!("{y:04}")),
    ];
    let offset = prop_oneof![
        Just(String::new()),
        Just("Z".to_owned()),
        Just("z".to_owned()),
        (prop::bool::ANY, 0u8..=26, 0u8..=61)
            .prop_map(|(plus, h, m)| format!("{}{h:02}:{m:02}", if plus { '+' } else { '-' })),
        (0u8..=30, 0u8..=99).prop_map(|(h, m)| format!("+{h:02}{m:02}")),
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
                format!(".{}", "1234567890123".get(..digits).unwrap_or("0"))
            };
            format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{off}")
        });
    prop_oneof![
        4 => shaped,
        1 => (1900u32..2100, 0u8..=13, 0u8..=32).prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        1 => Just("0001-01-01T00:00:00.0000000+00:00".to_owned()),
        1 => Just("2035-01-01T00:00:00Z".to_owned()),
        1 => prop::sample::select(vec!["", " ", "null", "NULL", "None", "soon", "2026-02-30", "24:00"])
            .prop_map(str::to_owned),
        1 => "[0-9TZ:+. -]{0,40}",
    ]
}

/// Any text a field might hold: the canary, dates, numbers and flags written as text, Unicode.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => canary_text(),
        2 => date_text(),
        1 => any::<String>(),
        1 => any::<u64>().prop_map(|n| format!(" {n} ")),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["true", "False", " TRUE ", "yes", "1", "", "AuthSuccess"])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

/// Literals serde_json reads specially (past `u64`, past `f64`, exponents): planted as text and
/// swapped in after serialising.
const RAW_NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "123456789012345678901234567890",
    "18446744073709551616",
    "-9223372036854775809",
    "4294967296",
    "1.7976931348623157e308",
    "-0",
    "0e0",
    "1E+2",
    "16.0",
    "5e-324",
];
const RAW_MARK: &str = "@@raw";

/// A number of any kind, or a marker for one of [`RAW_NUMBERS`].
fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<u32>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (0..RAW_NUMBERS.len()).prop_map(|i| Value::from(format!("{RAW_MARK}{i}"))),
    ]
    .boxed()
}

/// Any JSON value, nested a few levels.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A value for a named field: usually of a plausible kind, often not.
fn field_value() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => Just(Value::Null),
        2 => any::<bool>().prop_map(Value::from),
        3 => number(),
        4 => text().prop_map(Value::from),
        1 => json_value(),
    ]
    .boxed()
}

/// Every field the client reads, from every endpoint.
const FIELDS: &[&str] = &[
    "FQDN",
    "Version",
    "Activated",
    "LicenseActive",
    "LicenseKey",
    "ProductCode",
    "ExpirationDate",
    "MaintenanceExpiresAt",
    "MaxSimCalls",
    "Support",
    "ResellerName",
    "ExtensionsTotal",
    "UserExtensions",
    "MaxUserExtensions",
    "IsSpla",
    "IsProfessional",
    "IsEnterprise",
    "IsMaintainceExpired",
    "CompanyName",
    "AdminEMail",
    "@odata.count",
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "Status",
    "TwoFactorAuth",
    "AIAgent",
];

/// An object with some of the known fields (and some unknown ones), values of any kind.
fn object() -> BoxedStrategy<Map<String, Value>> {
    let known = prop::collection::vec((prop::sample::select(FIELDS), field_value()), 0..12);
    let unknown = prop::collection::vec((text(), field_value()), 0..3);
    (known, unknown)
        .prop_map(|(known, unknown)| {
            let mut object = Map::new();
            for (key, value) in known {
                object.insert(key.to_owned(), value);
            }
            for (key, value) in unknown {
                object.insert(key, value);
            }
            object
        })
        .boxed()
}

/// A body as a JSON document: an object as it is, wrapped the OData way, or a list of users.
fn json_body() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => object().prop_map(Value::Object),
        2 => (object(), text()).prop_map(|(o, context)| json!({"@odata.context": context, "value": o})),
        1 => (object(), any::<u32>()).prop_map(|(o, n)| json!({"@odata.count": n, "value": [o]})),
        1 => prop::collection::vec(object(), 0..5).prop_map(|users| json!({"value": users})),
        1 => (object(), object()).prop_map(|(o, token)| {
            let mut o = o;
            o.insert("Token".into(), Value::Object(token));
            Value::Object(o)
        }),
        1 => json_value(),
    ]
    .boxed()
}

/// A JSON document written out, with [`RAW_NUMBERS`] swapped in.
fn render(value: &Value) -> Vec<u8> {
    let mut text = value.to_string();
    for (i, raw) in RAW_NUMBERS.iter().enumerate().rev() {
        text = text.replace(&format!("\"{RAW_MARK}{i}\""), raw);
    }
    text.into_bytes()
}

/// A body of any sort: JSON (sometimes cut short or with a byte changed), deep nesting, HTML,
/// plain text, arbitrary bytes.
fn body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        8 => json_body().prop_map(|v| render(&v)),
        2 => (json_body(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(v, at, byte)| {
            let mut bytes = render(&v);
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            bytes
        }),
        1 => (json_body(), any::<prop::sample::Index>()).prop_map(|(v, at)| {
            let mut bytes = render(&v);
            bytes.truncate(at.index(bytes.len() + 1));
            bytes
        }),
        1 => (1usize..20_000, prop::bool::ANY).prop_map(|(depth, objects)| {
            let (open, close) = if objects { ("{\"value\":", "}") } else { ("[", "]") };
            format!("{}{CANARY}{}", open.repeat(depth), close.repeat(depth)).into_bytes()
        }),
        1 => canary_text().prop_map(|t| format!("<!DOCTYPE html><html><body>{t}</body></html>").into_bytes()),
        1 => canary_text().prop_map(|t| format!("\"AuthSuccess\" {t}").into_bytes()),
        1 => prop::sample::select(vec!["AuthSuccess", "\"AuthSuccess\"", " AuthSuccess\n", "AuthFailed", ""])
            .prop_map(|t| t.as_bytes().to_vec()),
        1 => canary_text().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
    .boxed()
}

/// Statuses a PBX (or something else) answers, weighted towards the ones the client treats
/// specially.
fn status() -> BoxedStrategy<u16> {
    prop_oneof![
        6 => Just(200u16),
        1 => prop::sample::select(vec![201u16, 204, 301, 302, 307, 308, 400, 401, 403, 404, 405, 408, 429, 500, 502, 503, 504]),
        1 => 200u16..=599,
        1 => any::<u16>(),
    ]
    .boxed()
}

/// Headers the client reads (cookies, redirects) among others; texts carry the canary except
/// a redirect's scheme, host and port, which the client names on purpose.
fn headers() -> BoxedStrategy<Vec<(String, Vec<u8>)>> {
    let cookie = prop_oneof![
        canary_text().prop_map(|t| format!("ASP.NET_SessionId={t}; path=/; HttpOnly")),
        canary_text(),
        Just("=".to_owned()),
        Just("; ;".to_owned()),
    ]
    .prop_map(|v| ("Set-Cookie".to_owned(), v.into_bytes()));
    let location = prop_oneof![
        canary_text().prop_map(|t| format!("https://portal.example.com:8443/{t}?{t}#{t}")),
        canary_text().prop_map(|t| format!("/{t}")),
        canary_text(),
        Just("https://[::1]:1/".to_owned()),
        Just("file:///etc/passwd".to_owned()),
    ]
    .prop_map(|v| ("Location".to_owned(), v.into_bytes()));
    let other = (
        prop::sample::select(vec![
            "Content-Type",
            "WWW-Authenticate",
            "X-3CX-Version",
            "X-Unknown",
        ]),
        prop_oneof![
            canary_text().prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..40),
        ],
    )
        .prop_map(|(n, v)| (n.to_owned(), v));
    let arbitrary = ("[ -~]{0,12}", prop::collection::vec(any::<u8>(), 0..20));
    prop::collection::vec(
        prop_oneof![4 => cookie, 2 => location, 2 => other, 1 => arbitrary],
        0..4,
    )
    .boxed()
}

fn answer() -> BoxedStrategy<RawAnswer> {
    (status(), headers(), body())
        .prop_map(|(status, headers, body)| RawAnswer {
            status,
            headers,
            body,
        })
        .boxed()
}

/// An answer that is a 200 most of the time, so reads get past their first step.
fn mostly_ok_answer() -> BoxedStrategy<RawAnswer> {
    prop_oneof![
        3 => (headers(), body()).prop_map(|(headers, body)| RawAnswer { status: 200, headers, body }),
        1 => answer(),
    ]
    .boxed()
}

/// Fields by the kind the client reads them as.
const TEXTS: &[&str] = &[
    "FQDN",
    "Version",
    "LicenseKey",
    "ProductCode",
    "ResellerName",
    "CompanyName",
];
const COUNTS: &[&str] = &[
    "MaxSimCalls",
    "ExtensionsTotal",
    "UserExtensions",
    "MaxUserExtensions",
];
const FLAGS: &[&str] = &[
    "Activated",
    "LicenseActive",
    "IsSpla",
    "IsProfessional",
    "IsEnterprise",
    "IsMaintainceExpired",
    "AIAgent",
];
const DATES: &[&str] = &["ExpirationDate", "MaintenanceExpiresAt"];

/// A value of the kind a field is read as, in any of the ways PBXs write that kind; now and
/// then one of another kind altogether.
fn plausible_value(field: &str) -> BoxedStrategy<Value> {
    let proper = if TEXTS.contains(&field) {
        prop_oneof![4 => text().prop_map(Value::from), 1 => any::<u32>().prop_map(Value::from)]
            .boxed()
    } else if COUNTS.contains(&field) {
        prop_oneof![
            4 => any::<u32>().prop_map(Value::from),
            1 => any::<u32>().prop_map(|n| Value::from(format!(" {n}"))),
        ]
        .boxed()
    } else if FLAGS.contains(&field) {
        prop_oneof![
            4 => any::<bool>().prop_map(Value::from),
            1 => prop::sample::select(vec!["True", "false", " TRUE "]).prop_map(Value::from),
        ]
        .boxed()
    } else {
        prop_oneof![
            4 => (instant(), style()).prop_map(|(t, style)| date_value(t, style)),
            1 => Just(Value::from("0001-01-01T00:00:00.0000000+00:00")),
        ]
        .boxed()
    };
    prop_oneof![40 => proper, 5 => Just(Value::Null), 1 => field_value()].boxed()
}

/// A license object as a PBX writes it: some of the license fields, mostly of their kind.
fn plausible_object() -> BoxedStrategy<Value> {
    let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = [TEXTS, COUNTS, FLAGS, DATES]
        .concat()
        .into_iter()
        .map(|field| {
            proptest::option::weighted(0.6, plausible_value(field))
                .prop_map(move |v| v.map(|v| (field.to_owned(), v)))
                .boxed()
        })
        .collect();
    (fields, any::<bool>(), text())
        .prop_map(|(fields, wrapped, context)| {
            let object = Value::Object(fields.into_iter().flatten().collect());
            if wrapped {
                json!({"@odata.context": context, "value": object})
            } else {
                object
            }
        })
        .boxed()
}

/// The AI-agent count (`$count`), or a page without one.
fn plausible_ai_count() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => plausible_value("MaxSimCalls").prop_map(|n| json!({"@odata.count": n, "value": []})),
        1 => Just(json!({"value": []})),
    ]
    .boxed()
}

/// Listed users with their `AIAgent` flags.
fn plausible_ai_list() -> BoxedStrategy<Value> {
    prop::collection::vec(
        (
            any::<u32>(),
            proptest::option::of(plausible_value("AIAgent")),
        ),
        0..8,
    )
    .prop_map(|users| {
        let users: Vec<Value> = users
            .into_iter()
            .map(|(id, flag)| match flag {
                Some(flag) => json!({"Id": id, "AIAgent": flag}),
                None => json!({"Id": id}),
            })
            .collect();
        json!({"value": users})
    })
    .boxed()
}

/// A 200 with a plausible body most of the time; otherwise anything at all.
fn plausible_answer(body: BoxedStrategy<Value>) -> BoxedStrategy<RawAnswer> {
    prop_oneof![
        8 => (headers(), body).prop_map(|(headers, body)| RawAnswer { status: 200, headers, body: render(&body) }),
        1 => mostly_ok_answer(),
    ]
    .boxed()
}

fn xapi_answers() -> BoxedStrategy<XapiAnswers> {
    (
        plausible_answer(plausible_object()),
        plausible_answer(plausible_object()),
        plausible_answer(plausible_object()),
        plausible_answer(plausible_ai_count()),
        plausible_answer(plausible_ai_list()),
    )
        .prop_map(
            |(system_status, license_status, parameters, ai_count, ai_list)| XapiAnswers {
                system_status,
                license_status,
                parameters,
                ai_count,
                ai_list,
            },
        )
        .boxed()
}

// ---- properties -------------------------------------------------------------------------------

/// Runs `test` on `cases` cases of `strategy`, and fails unless at least one case in `share`
/// got a reading (when the run is long enough to tell): generators that drift into only ever
/// failing the first check would otherwise pass without reaching the code they are for.
fn run_reaching<S: Strategy>(
    cases: u32,
    share: usize,
    strategy: S,
    test: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) {
    let config = config(cases);
    let reached = std::cell::Cell::new(0usize);
    proptest::test_runner::TestRunner::new(config.clone())
        .run(&strategy, |value| {
            reached.set(reached.get() + usize::from(test(value)?));
            Ok(())
        })
        .unwrap();
    if config.cases >= 100 {
        assert!(
            reached.get() * share >= config.cases as usize,
            "only {} of {} cases got a reading",
            reached.get(),
            config.cases
        );
    }
}

#[test]
fn any_xapi_answers_give_sane_facts_or_an_error_that_quotes_nothing() {
    run_reaching(512, 5, xapi_answers(), |answers| {
        let result = fuzzing::xapi_reading(&answers);
        check_result(&result, assert_sane)?;
        // With every status a success, only the bodies can be wrong.
        let all_ok = [
            &answers.system_status,
            &answers.license_status,
            &answers.parameters,
            &answers.ai_count,
            &answers.ai_list,
        ]
        .iter()
        .all(|a| (200..300).contains(&a.status));
        if let (true, Err(err)) = (all_ok, &result) {
            prop_assert_eq!(
                err.kind(),
                runway_core::FailureKind::UnexpectedAnswer,
                "{}",
                err
            );
        }
        Ok(result.is_ok())
    });
}

#[test]
fn any_legacy_answer_gives_sane_facts_or_an_error_that_quotes_nothing() {
    run_reaching(512, 5, plausible_answer(plausible_object()), |answer| {
        let result = fuzzing::legacy_reading(&answer);
        check_result(&result, assert_sane)?;
        Ok(result.is_ok())
    });
}

/// An error (or a note made of one) must not repeat what the answer said.
fn assert_not_quoted(text: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !text.to_ascii_lowercase().contains(CANARY),
        "an error repeats the answer: {text}"
    );
    Ok(())
}

/// Facts a reading may hold, whatever the PBX said: texts trimmed and non-empty, no .NET
/// "no date", the cap estimated only when the PBX reported none; and the facts can be shown.
fn assert_sane(reading: &LicenseReading) -> Result<(), TestCaseError> {
    for note in &reading.notes {
        assert_not_quoted(note)?;
    }
    let facts = &reading.facts;
    for text in [
        &facts.fqdn,
        &facts.license_key,
        &facts.product_code,
        &facts.version,
        &facts.reseller,
    ]
    .into_iter()
    .flatten()
    {
        prop_assert!(!text.is_empty() && text.trim() == text, "{text:?}");
    }
    for date in [facts.expiry, facts.maintenance_expiry]
        .into_iter()
        .flatten()
    {
        prop_assert!(!runway_core::is_no_date(date), "{date}");
    }
    for zone in [Zone::utc(), Zone::parse("Pacific/Kiritimati").unwrap()] {
        for now in [Timestamp::MIN, Timestamp::UNIX_EPOCH, Timestamp::MAX] {
            let status = LicenseStatus::evaluate(Some(facts), now, &zone);
            let _ = (
                status.band.to_string(),
                status.days_left.map(|d| d.to_string()),
            );
        }
    }
    let _ = facts.edition.to_string();
    let _ = serde_json::to_string(&reading.raw).unwrap();
    Ok(())
}

fn check_result<T>(
    result: &Result<T, ReadError>,
    sane: impl Fn(&T) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    match result {
        Ok(value) => sane(value),
        Err(err) => {
            let _ = err.kind();
            assert_not_quoted(&err.to_string())
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_login_answer_gives_a_session_or_an_error_that_quotes_nothing(
        answer in answer(), has_totp in any::<bool>()
    ) {
        check_result(&fuzzing::api_client_login(&answer), |_| Ok(()))?;
        check_result(&fuzzing::user_login(&answer, has_totp), |_| Ok(()))?;
        check_result(&fuzzing::legacy_login(&answer), |_| Ok(()))?;
    }

    #[test]
    fn a_token_or_a_cookie_in_any_dress_logs_in(
        token in "[!-~]{1,64}", expires_in in prop_oneof![number(), Just(Value::Null)],
        cookie in "[A-Za-z0-9_.]{1,20}=[!-:<-~]{0,20}", quoted in any::<bool>(),
        extra in prop::collection::vec(prop::sample::select(vec!["path=/", "HttpOnly", "Secure"]), 0..3),
    ) {
        let body = render(&json!({"token_type": "Bearer", "expires_in": expires_in,
                                   "access_token": token, "refresh_token": null}));
        let answer = RawAnswer::new(200, body.clone());
        // `expires_in` of a kind that is not a whole number is refused, not guessed.
        let whole = serde_json::from_slice::<Value>(&body)
            .is_ok_and(|v| v["expires_in"].is_null() || v["expires_in"].as_u64().is_some_and(|n| u32::try_from(n).is_ok()));
        prop_assert_eq!(fuzzing::api_client_login(&answer).ok(), whole.then_some(LoggedIn::Bearer));
        let user = render(&json!({"Status": "AuthSuccess", "Token": serde_json::from_slice::<Value>(&body).ok(),
                                   "TwoFactorAuth": null}));
        prop_assert_eq!(
            fuzzing::user_login(&RawAnswer::new(200, user), false).ok(),
            whole.then_some(LoggedIn::Bearer)
        );
        let legacy = RawAnswer {
            status: 200,
            headers: vec![("Set-Cookie".into(), [cookie.clone()].into_iter().chain(extra.iter().map(|e| (*e).to_owned())).collect::<Vec<_>>().join("; ").into_bytes())],
            body: if quoted { b"\"AuthSuccess\"\r\n".to_vec() } else { b"AuthSuccess".to_vec() },
        };
        prop_assert_eq!(fuzzing::legacy_login(&legacy), Ok(LoggedIn::Cookie));
    }

    #[test]
    fn arbitrary_bytes_in_every_parser_never_panic(
        status in any::<u16>(), body in prop::collection::vec(any::<u8>(), 0..2048),
        version in proptest::option::of(any::<String>()),
    ) {
        let raw = RawAnswer::new(status, body.clone());
        let _ = fuzzing::api_client_login(&raw);
        let _ = fuzzing::user_login(&raw, false);
        let _ = fuzzing::legacy_login(&raw);
        let _ = fuzzing::legacy_reading(&raw);
        let _ = fuzzing::check_status(&raw, "SystemStatus");
        let answers = XapiAnswers {
            system_status: raw.clone(), license_status: raw.clone(), parameters: raw.clone(),
            ai_count: raw.clone(), ai_list: raw,
        };
        let _ = fuzzing::xapi_reading(&answers);
        let _ = fuzzing::has_ai_agents(version.as_deref());
        let described = fuzzing::describe_body(&body);
        prop_assert!(
            described == "an empty body"
                || ["an HTML page", "an XML document", "JSON", "plain text", "binary data"]
                    .iter()
                    .any(|kind| described == format!("{kind} of {} bytes", body.len())),
            "{described}"
        );
    }

    #[test]
    fn statuses_map_to_the_errors_they_mean_and_redirects_name_only_where_they_point(
        answer in answer()
    ) {
        let result = fuzzing::check_status(&answer, "SystemStatus");
        prop_assert_eq!(result.is_ok(), (200..300).contains(&answer.status) || !(100..=999).contains(&answer.status));
        if let Err(err) = result {
            assert_not_quoted(&err.to_string())?;
            let expected = match answer.status {
                401 => Some(runway_core::FailureKind::LoginRejected),
                408 | 429 | 500..=599 => Some(runway_core::FailureKind::ServerError),
                300..=399 | 400 | 404 => Some(runway_core::FailureKind::UnexpectedAnswer),
                _ => None,
            };
            if let Some(kind) = expected {
                prop_assert_eq!(err.kind(), kind);
            }
        }
    }
}

// ---- a license model, written the ways PBXs write it, read back exactly -------------------------

/// What a PBX knows about its license, before it writes it out.
#[derive(Debug, Clone)]
struct Model {
    fqdn: Option<String>,
    version: Option<String>,
    license_key: Option<String>,
    product_code: Option<String>,
    reseller: Option<String>,
    expiry: Option<Timestamp>,
    maintenance: Option<Timestamp>,
    active: Option<bool>,
    spla: Option<bool>,
    calls: Option<u32>,
    users: Option<u32>,
    max_users: Option<u32>,
    ai: Option<u32>,
}

/// Instants between 1970 and 2100, to a tenth of a microsecond (3CX's seven digits).
fn instant() -> impl Strategy<Value = Timestamp> {
    (0i64..4_102_444_800, 0i32..10_000_000)
        .prop_map(|(s, ticks)| Timestamp::new(s, ticks * 100).unwrap())
}

fn model() -> impl Strategy<Value = Model> {
    let text = || proptest::option::of(prop_oneof!["[ -~]{0,20}", any::<String>()]);
    let code = proptest::option::of(prop::sample::select(vec![
        "3CXPSPROF",
        "3CXPSPROFSPLA",
        "3CXPSPROFENTSPLA",
        "3cxpsprofent",
        "3CXPSSPLA",
        "OTHER",
        " ",
    ]))
    .prop_map(|c| c.map(str::to_owned));
    (
        (text(), text(), text(), code, text()),
        (
            proptest::option::of(instant()),
            proptest::option::of(instant()),
        ),
        (
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
        ),
        (
            proptest::option::of(prop_oneof![
                prop::sample::select(vec![
                    2u32, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024
                ]),
                any::<u32>()
            ]),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<u32>()),
        ),
    )
        .prop_map(
            |(
                (fqdn, version, license_key, product_code, reseller),
                (expiry, maintenance),
                (active, spla),
                (calls, users, max_users, ai),
            )| Model {
                fqdn,
                version,
                license_key,
                product_code,
                reseller,
                expiry,
                maintenance,
                active,
                spla,
                calls,
                users,
                max_users,
                ai,
            },
        )
}

/// How one value is written: choices drawn once per field.
#[derive(Debug, Clone, Copy)]
struct Style {
    /// `None` written as an absent field rather than `null`.
    absent: bool,
    /// Numbers and flags written as text.
    as_text: bool,
    /// Offset of a written date, in minutes east of UTC.
    offset_minutes: i32,
    /// Fraction digits of a written date (when it has a fraction).
    digits: usize,
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        any::<bool>(),
        -14 * 60i32..=14 * 60,
        0usize..=9,
    )
        .prop_map(|(absent, as_text, offset_minutes, digits)| Style {
            absent,
            as_text,
            offset_minutes,
            digits,
        })
}

fn put(object: &mut Map<String, Value>, key: &str, value: Option<Value>, style: Style) {
    match value {
        Some(value) => {
            object.insert(key.to_owned(), value);
        }
        None if style.absent => {}
        None => {
            object.insert(key.to_owned(), Value::Null);
        }
    }
}

fn count_value(n: u32, style: Style) -> Value {
    if style.as_text {
        Value::from(format!(" {n}"))
    } else {
        Value::from(n)
    }
}

fn flag_value(b: bool, style: Style) -> Value {
    if style.as_text {
        Value::from(if b { "True" } else { "FALSE " })
    } else {
        Value::from(b)
    }
}

/// An instant in RFC 3339 at the style's offset, with enough fraction digits to be exact.
fn date_value(t: Timestamp, style: Style) -> Value {
    let offset = Offset::from_seconds(style.offset_minutes * 60).unwrap();
    let local = TimeZone::fixed(offset).to_datetime(t);
    let nanos = format!("{:09}", local.subsec_nanosecond());
    let needed = nanos.trim_end_matches('0').len();
    let digits = style.digits.max(needed);
    let fraction = if digits == 0 {
        String::new()
    } else {
        format!(".{}", &nanos[..digits])
    };
    let minutes = style.offset_minutes.unsigned_abs();
    let zone = if minutes == 0 && style.as_text {
        "Z".to_owned()
    } else {
        format!(
            "{}{:02}:{:02}",
            if style.offset_minutes < 0 { '-' } else { '+' },
            minutes / 60,
            minutes % 60
        )
    };
    Value::from(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}{zone}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    ))
}

/// The model as a SystemStatus of the given API (`legacy` writes `ExtensionsTotal` and `IsSpla`,
/// v20 `UserExtensions` and `MaxUserExtensions`).
fn system_status(model: &Model, styles: &[Style; 13], legacy: bool) -> Map<String, Value> {
    let mut o = Map::new();
    let text = |s: &Option<String>| s.clone().map(Value::from);
    put(&mut o, "FQDN", text(&model.fqdn), styles[0]);
    put(&mut o, "Version", text(&model.version), styles[1]);
    put(&mut o, "LicenseKey", text(&model.license_key), styles[2]);
    put(&mut o, "ProductCode", text(&model.product_code), styles[3]);
    put(&mut o, "ResellerName", text(&model.reseller), styles[4]);
    let s = styles[5];
    put(
        &mut o,
        "ExpirationDate",
        model.expiry.map(|t| date_value(t, s)),
        s,
    );
    let s = styles[6];
    put(
        &mut o,
        "MaintenanceExpiresAt",
        model.maintenance.map(|t| date_value(t, s)),
        s,
    );
    let s = styles[7];
    put(
        &mut o,
        "LicenseActive",
        model.active.map(|b| flag_value(b, s)),
        s,
    );
    let s = styles[9];
    put(
        &mut o,
        "MaxSimCalls",
        model.calls.map(|n| count_value(n, s)),
        s,
    );
    let s = styles[10];
    if legacy {
        let s8 = styles[8];
        put(&mut o, "IsSpla", model.spla.map(|b| flag_value(b, s8)), s8);
        put(
            &mut o,
            "ExtensionsTotal",
            model.users.map(|n| count_value(n, s)),
            s,
        );
    } else {
        put(
            &mut o,
            "UserExtensions",
            model.users.map(|n| count_value(n, s)),
            s,
        );
        let s11 = styles[11];
        put(
            &mut o,
            "MaxUserExtensions",
            model.max_users.map(|n| count_value(n, s11)),
            s11,
        );
    }
    // Fields the client does not read are left alone, whatever they hold.
    o.insert(
        "FreeFirtualMemory".into(),
        json!({"nested": [1, "two", null]}),
    );
    o
}

/// The facts the model must read into.
fn expected(model: &Model, legacy: bool, ai_users: Option<u32>) -> LicenseFacts {
    LicenseFacts::from_pbx(PbxLicense {
        fqdn: model.fqdn.clone(),
        version: model.version.clone(),
        license_key: model.license_key.clone(),
        product_code: model.product_code.clone(),
        expiry: model.expiry,
        maintenance_expiry: model.maintenance,
        license_active: model.active,
        max_sim_calls: model.calls,
        users_used: model.users,
        max_user_extensions: if legacy { None } else { model.max_users },
        ai_users,
        reseller: model.reseller.clone(),
        is_spla: if legacy { model.spla } else { None },
        is_professional: None,
        is_enterprise: None,
        maintenance_expired: None,
    })
}

fn styles() -> impl Strategy<Value = [Style; 13]> {
    prop::array::uniform13(style())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn a_legacy_system_status_reads_into_exactly_the_facts_it_was_written_from(
        model in model(), styles in styles()
    ) {
        let body = Value::Object(system_status(&model, &styles, true)).to_string();
        let reading = fuzzing::legacy_reading(&RawAnswer::new(200, body)).unwrap();
        prop_assert_eq!(reading.facts, expected(&model, true, None));
    }

    #[test]
    fn a_v20_system_status_reads_into_exactly_the_facts_it_was_written_from(
        model in model(), styles in styles(), wrapped in any::<bool>(), listed in any::<bool>()
    ) {
        // Pin the version so whether AI agents are asked for is known.
        let model = Model { version: Some("20.0.10.1015".into()), ..model };
        let status = Value::Object(system_status(&model, &styles, false));
        let status = if wrapped {
            json!({"@odata.context": "$metadata#SystemStatus", "value": status})
        } else {
            status
        };
        let ai = model.ai.unwrap_or(0);
        // The count the filter gives, or (when it gives none) the flags of listed users.
        let (ai_count, ai_list) = if listed {
            let users: Vec<Value> = (0..ai.min(50)).map(|i| json!({"Id": i, "AIAgent": true}))
                .chain([json!({"Id": -1, "AIAgent": false}), json!({"Id": -2})])
                .collect();
            (RawAnswer::new(200, json!({"value": []}).to_string()),
             RawAnswer::new(200, json!({"value": users}).to_string()))
        } else {
            (RawAnswer::new(200, json!({"@odata.count": ai, "value": []}).to_string()),
             RawAnswer::new(500, ""))
        };
        let answers = XapiAnswers {
            system_status: RawAnswer::new(200, status.to_string()),
            license_status: RawAnswer::new(404, ""),
            parameters: RawAnswer::new(404, ""),
            ai_count,
            ai_list,
        };
        let reading = fuzzing::xapi_reading(&answers).unwrap();
        let ai_users = Some(if listed { ai.min(50) } else { ai });
        prop_assert_eq!(reading.facts, expected(&model, false, ai_users));
        prop_assert_eq!(reading.notes.len(), 2, "{:?}", reading.notes);
    }
}

// ---- the real client against a loopback server of generated answers --------------------------

/// A loopback HTTP server answering each path from a table the test fills in per case; any
/// path not in the table is a 404.
struct FakePbx {
    base: String,
    table: Arc<Mutex<HashMap<String, RawAnswer>>>,
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
});

static FAKE_PBX: LazyLock<FakePbx> = LazyLock::new(|| {
    let table: Arc<Mutex<HashMap<String, RawAnswer>>> = Arc::default();
    let listener = RUNTIME
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::clone(&table);
    RUNTIME.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, Arc::clone(&served)));
        }
    });
    FakePbx { base, table }
});

/// Answers requests on one connection (`Connection: close` after each).
async fn serve(mut stream: tokio::net::TcpStream, table: Arc<Mutex<HashMap<String, RawAnswer>>>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_string();
    let target = head.split(' ').nth(1).unwrap_or("/").to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while request.len() < head_end + 4 + length {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let answer = table
        .lock()
        .unwrap()
        .get(&target)
        .cloned()
        .unwrap_or_else(|| RawAnswer::new(404, ""));
    let mut reply = format!("HTTP/1.1 {} Fuzz\r\n", answer.status).into_bytes();
    for (name, value) in &answer.headers {
        reply.extend_from_slice(name.as_bytes());
        reply.extend_from_slice(b": ");
        reply.extend_from_slice(value);
        reply.extend_from_slice(b"\r\n");
    }
    reply.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            answer.body.len()
        )
        .as_bytes(),
    );
    reply.extend_from_slice(&answer.body);
    let _ = stream.write_all(&reply).await;
    let _ = stream.shutdown().await;
}

/// Statuses HTTP/1.1 can frame with a body (no 1xx, 204 or 304).
fn framed_status() -> BoxedStrategy<u16> {
    status()
        .prop_map(|s| match s {
            200..=599 if s != 204 && s != 304 => s,
            _ => 200,
        })
        .boxed()
}

/// Headers that keep the framing intact: printable values, names of letters.
fn framed_headers() -> BoxedStrategy<Vec<(String, Vec<u8>)>> {
    headers()
        .prop_map(|headers| {
            headers
                .into_iter()
                .filter(|(name, value)| {
                    !name.is_empty()
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && !name.eq_ignore_ascii_case("content-length")
                        && !name.eq_ignore_ascii_case("transfer-encoding")
                        && !name.eq_ignore_ascii_case("connection")
                        && value.iter().all(|b| (b' '..=b'~').contains(b))
                })
                .collect()
        })
        .boxed()
}

fn framed_answer() -> BoxedStrategy<RawAnswer> {
    prop_oneof![
        3 => (framed_headers(), body()).prop_map(|(headers, body)| RawAnswer { status: 200, headers, body }),
        1 => (framed_status(), framed_headers(), body())
            .prop_map(|(status, headers, body)| RawAnswer { status, headers, body }),
    ]
    .boxed()
}

/// Every path the client asks for.
const PATHS: &[&str] = &[
    "/connect/token",
    "/webclient/api/Login/GetAccessToken",
    "/api/login",
    "/xapi/v1/SystemStatus",
    "/xapi/v1/LicenseStatus",
    "/xapi/v1/Defs/Pbx.GetLicenseParameters()",
    "/xapi/v1/Users?$filter=AIAgent%20eq%20true&$count=true&$top=0",
    "/xapi/v1/Users?$select=Id,AIAgent",
    "/xapi/v1/LicenseStatus/Pbx.RefreshLicenseStatus",
    "/api/SystemStatus",
];

/// A login that succeeds half of the time, so reads get past it.
fn login_answer(path: &str) -> BoxedStrategy<Option<RawAnswer>> {
    let token = (
        prop_oneof![number(), Just(Value::Null), Just(Value::from(60))],
        text(),
    )
        .prop_map(|(expires_in, token)| {
            json!({"token_type": "Bearer", "expires_in": expires_in, "access_token": token,
                   "refresh_token": null})
        });
    let success = match path {
        "/connect/token" => token.prop_map(|t| RawAnswer::new(200, render(&t))).boxed(),
        "/api/login" => canary_text()
            .prop_map(|cookie| RawAnswer {
                status: 200,
                headers: vec![(
                    "Set-Cookie".into(),
                    format!("ASP.NET_SessionId={cookie}; path=/").into_bytes(),
                )],
                body: b"AuthSuccess".to_vec(),
            })
            .boxed(),
        _ => token
            .prop_map(|t| {
                let body = json!({"Status": "AuthSuccess", "Token": t, "TwoFactorAuth": null});
                RawAnswer::new(200, render(&body))
            })
            .boxed(),
    };
    prop_oneof![
        1 => Just(None),
        6 => success.prop_map(Some),
        2 => framed_answer().prop_map(Some),
    ]
    .boxed()
}

fn table() -> impl Strategy<Value = Vec<Option<RawAnswer>>> {
    PATHS
        .iter()
        .map(|path| {
            if path.starts_with("/xapi/v1/") || *path == "/api/SystemStatus" {
                let plausible = if path.contains("$count") {
                    plausible_ai_count()
                } else if path.contains("$select") {
                    plausible_ai_list()
                } else {
                    plausible_object()
                };
                prop_oneof![
                    1 => Just(None),
                    2 => framed_answer().prop_map(Some),
                    6 => (framed_headers(), plausible).prop_map(|(headers, body)| {
                        Some(RawAnswer { status: 200, headers, body: render(&body) })
                    }),
                ]
                .boxed()
            } else {
                login_answer(path)
            }
        })
        .collect::<Vec<_>>()
}

fn credentials() -> impl Strategy<Value = Credentials> {
    prop_oneof![
        Just(Credentials::ApiClient {
            client_id: "runway".into(),
            client_secret: Secret::new("s3cret-client"),
        }),
        any::<bool>().prop_map(|totp| Credentials::User {
            username: "100".into(),
            password: Secret::new("s3cret-password"),
            totp_secret: totp.then(|| Secret::new("JBSWY3DPEHPK3PXP")),
        }),
        Just(Credentials::Legacy {
            username: "admin".into(),
            password: Secret::new("s3cret-password"),
        }),
    ]
}

static CONNECTOR: LazyLock<Connector> = LazyLock::new(|| {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Connector::new(
        ReadLimits {
            timeout: Duration::from_secs(5),
            max_body_bytes: 1024 * 1024,
        },
        NetworkPolicy::allowing_loopback(),
    )
});

#[test]
fn the_client_reads_any_answers_into_sane_facts_or_an_error_that_quotes_nothing() {
    let strategy = (table(), credentials(), any::<bool>());
    run_reaching(128, 10, strategy, |(table, credentials, refresh)| {
        let pbx = &*FAKE_PBX;
        {
            let mut served = pbx.table.lock().unwrap();
            served.clear();
            for (path, answer) in PATHS.iter().zip(table) {
                if let Some(answer) = answer {
                    served.insert((*path).to_owned(), answer);
                }
            }
        }
        let client = CONNECTOR
            .client(PbxTarget {
                base_url: BaseUrl::parse(&pbx.base).unwrap(),
                credentials,
                tls: TlsOptions::default(),
            })
            .unwrap();
        let result = RUNTIME.block_on(async {
            if refresh {
                client.refresh_license().await
            } else {
                client.read_license().await
            }
        });
        if let Err(err) = &result {
            // A loopback server of complete answers: never a timeout or a broken connection.
            prop_assert!(
                !matches!(
                    err,
                    ReadError::Timeout { .. } | ReadError::Unreachable { .. }
                ),
                "{err}"
            );
            prop_assert!(!err.to_string().contains("s3cret"), "{err}");
        }
        check_result(&result, assert_sane)?;
        Ok(result.is_ok())
    });
}

// ---- regressions: inputs the fuzzing found ------------------------------------------------------

/// Found by `any_login_answer_gives_a_session_or_an_error_that_quotes_nothing`: a web-client
/// login's `Status` was quoted into the error whatever it held, so any service answering at a
/// PBX's address could put its text in front of every user of the tenant.
#[test]
fn regression_a_login_status_that_is_not_a_3cx_word_is_not_quoted() {
    let said = |body: &str, has_totp| {
        fuzzing::user_login(&RawAnswer::new(200, body), has_totp)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        said(r#"{"Status":"c4n4ry"}"#, false),
        "login rejected: the PBX answered a status that is not one of 3CX's words: check the \
         username and password"
    );
    let long = said(
        r#"{"Status":"Your session id is 5f2c-91; contact ops@example.com","TwoFactorAuth":{}}"#,
        false,
    );
    assert!(
        !long.contains("5f2c") && long.contains("two-factor authentication"),
        "{long}"
    );
    // 3CX's own single-word statuses are still named: they say why.
    assert_eq!(
        said(r#"{"Status":"AuthFailed"}"#, true),
        "login rejected: the PBX answered \"AuthFailed\": check the username, password and TOTP \
         secret (and that this server's clock is right)"
    );
    assert!(said("{}", false).contains("the PBX answered no status"));
}
