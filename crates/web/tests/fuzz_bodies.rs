//! Fuzzing what the web app reads from requests: urlencoded form bodies, the instance form, and
//! the JSON bodies of every API call that takes one — read by the handlers' own code
//! (`runway_web::fuzzing`) and checked as the handlers check them, against a real store.
//!
//! Whatever arrives, the answer is a value or a 422 that names what is wrong — never a panic.
//! What is accepted keeps the documented limits (a trimmed, non-empty name; a poll interval of
//! one minute to thirty days; an address in its normal form; a CA of PEM certificates under
//! 64 KB; a login of the kind chosen; the expiry date typed is the date every rule sees), and no
//! refusal repeats a secret that was typed.
//!
//! Each property runs a bounded number of cases (set `PROPTEST_CASES` to run more); the
//! `cargo fuzz` targets under `fuzz/` run the same entry points for as long as wanted.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use runway_core::{
    BaseUrl, Credentials, LoginKind, MAX_CA_PEM_BYTES, MAX_MILESTONE_DAYS, PollInterval,
    RenewalTemplate, Zone, check_ca_pem,
};
use runway_store::{CustomerDraft, CustomerId, Login, TenantId, TenantSettings, Trigger};
use runway_testkit::{Backend, TestDb};
use runway_web::WebError;
use runway_web::api::account::TokenInput;
use runway_web::api::customers::CustomerInput;
use runway_web::api::instances::BulkInput;
use runway_web::edit::{InstanceDraft, SettingsDraft};
use runway_web::fuzzing;
use serde_json::{Map, Value};

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

/// Planted in every secret typed: no refusal may repeat it.
const SECRET_MARK: &str = "S3cr3tMark";

static ZONES: LazyLock<Vec<String>> = LazyLock::new(Zone::available);

// ---- generators ---------------------------------------------------------------------------------

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[ -~]{0,16}",
        1 => Just(String::new()),
        1 => prop::sample::select(vec!["  ", "\t", "\u{a0}", "é", "名前", "\u{0}", "%", "+", "&=;"])
            .prop_map(str::to_owned),
        1 => any::<String>(),
        1 => (1usize..5000).prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

fn secret() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[ -~]{0,8}".prop_map(|s| format!("{s}{SECRET_MARK}{s}")),
        1 => prop::sample::select(vec!["", " ", "\n"]).prop_map(str::to_owned),
    ]
    .boxed()
}

fn base_url() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "https://pbx.example.com:5001", "pbx.example.com", "http://127.0.0.1:8080/acme-hq",
            "HTTPS://PBX.Example.com:443/", "https://[::1]:5001", "https://pbx.example.com//",
            "ftp://pbx.example.com", "https://", "", " ", "https://pbx example.com",
            "https://pbx.example.com/?x=1", "bücher.example", "https://pbx.example.com:99999",
        ])
        .prop_map(str::to_owned),
        // A password typed into the address is masked in refusals (see runway-core's tests);
        // a body cut short may cut off its `@`, and then it is no password.
        1 => "[ -~]{0,8}".prop_map(|s| format!("https://admin:{s}@pbx.example.com")),
        1 => "[ -~]{0,8}".prop_map(|s| format!("admin:{s}@pbx.example.com")),
        1 => text(),
    ]
    .boxed()
}

fn login_kind() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(vec!["api_client", "user", "legacy", "manual"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["", "API_CLIENT", " user ", "admin", "manual\0"]).prop_map(str::to_owned),
        1 => text(),
    ]
    .boxed()
}

fn totp() -> BoxedStrategy<String> {
    prop_oneof![
        2 => Just(String::new()),
        2 => prop::sample::select(vec![
            "JBSWY3DPEHPK3PXP", "jbsw y3dp ehpk 3pxp", "GEZDGNBV-GY3TQOJQ", "====", "A", "0189",
        ])
        .prop_map(str::to_owned),
        1 => "[A-Z2-7]{0,40}",
        1 => secret(),
    ]
    .boxed()
}

fn pem_text() -> BoxedStrategy<String> {
    let block = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----";
    prop_oneof![
        3 => Just(String::new()),
        2 => (1usize..3).prop_map(move |n| vec![block; n].join("\n")),
        1 => Just(format!("{block}{}", "A".repeat(MAX_CA_PEM_BYTES))),
        1 => Just("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----".to_owned()),
        1 => text(),
    ]
    .boxed()
}

fn expiry_date() -> BoxedStrategy<String> {
    prop_oneof![
        2 => Just(String::new()),
        3 => (1900i32..2200, 1u8..=12, 1u8..=31).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        2 => prop::sample::select(vec![
            "9999-12-31", "9999-12-30", "-009999-01-01", "-009999-01-02", "0001-01-01", "0000-01-01",
            "2026-02-30", "2026-13-01", "26-12-01", "2026/12/01", "2026-12-01T00:00:00Z", " 2026-12-01 ",
            "+010000-01-01",
        ])
        .prop_map(str::to_owned),
        1 => text(),
    ]
    .boxed()
}

/// A number as a form field carries it: digits, or anything.
fn number_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (0u64..50_000).prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["", "-1", "+5", " 60 ", "1e3", "99999999999999999999999", "sixty"])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

/// One field of an instance draft: a well-formed value and a wild one.
struct DraftField {
    name: &'static str,
    good: BoxedStrategy<String>,
    wild: BoxedStrategy<String>,
}

fn field(
    name: &'static str,
    good: BoxedStrategy<String>,
    wild: BoxedStrategy<String>,
) -> DraftField {
    DraftField { name, good, wild }
}

fn select(values: &[&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(values.to_vec())
        .prop_map(str::to_owned)
        .boxed()
}

/// Every field of an instance draft, as text.
fn draft_fields(customer: CustomerId) -> Vec<DraftField> {
    let pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----";
    vec![
        field("customer_id", Just(customer.0.to_string()).boxed(), number_text()),
        field("name", "[A-Za-z][A-Za-z0-9 .-]{0,20}".boxed(), text()),
        field(
            "base_url",
            select(&["https://pbx.example.com:5001", "pbx.example.com", "http://127.0.0.1:8080/acme-hq", "HTTPS://PBX.Example.com:443/", "https://[::1]:5001"]),
            base_url(),
        ),
        field("login_kind", select(&["api_client", "user", "legacy", "manual"]), login_kind()),
        field("identity", "[a-z0-9@.]{1,12}".boxed(), text()),
        field("secret", "[!-~]{0,8}".prop_map(|s| format!("{s}{SECRET_MARK}")).boxed(), secret()),
        field("totp_secret", select(&["", "JBSWY3DPEHPK3PXP", "jbsw y3dp ehpk 3pxp"]), totp()),
        field("poll_interval_minutes", (1u64..=43_200).prop_map(|n| n.to_string()).boxed(), number_text()),
        field("custom_ca_pem", prop_oneof![Just(String::new()), Just(pem.to_owned())].boxed(), pem_text()),
        field("accept_invalid_certs", select(&["", "on"]), select(&["true", "false", "1", "\0"])),
        field("manual_license_key", "[A-Z0-9-]{0,12}".boxed(), text()),
        field("manual_product_code", select(&["3CXPSPROFSPLA", "3CXPSPROFENTSPLA", "", "OTHER"]), text()),
        field(
            "manual_expiry_date",
            prop_oneof![
                3 => (1970i32..2200, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
                1 => Just(String::new()),
                1 => select(&["9999-12-31", "9999-12-30", "-009999-01-02", "-009999-01-03", "0001-01-01", "2028-02-29"]),
            ]
            .boxed(),
            expiry_date(),
        ),
        field("manual_version", "[0-9.]{0,12}".boxed(), text()),
        field("manual_max_sim_calls", prop_oneof![Just(String::new()), (0u32..2000).prop_map(|n| n.to_string())].boxed(), number_text()),
    ]
}

/// An instance draft's fields: well formed, with a share of them wild that differs from case
/// to case (none, a few, or all), so the checks are reached both past every field and at each.
fn instance_fields(customer: CustomerId) -> BoxedStrategy<Vec<(&'static str, String)>> {
    let fields = draft_fields(customer);
    let n = fields.len();
    let picks: Vec<BoxedStrategy<(&'static str, String, String)>> = fields
        .into_iter()
        .map(|f| {
            let name = f.name;
            (f.good, f.wild)
                .prop_map(move |(good, wild)| (name, good, wild))
                .boxed()
        })
        .collect();
    let wild_share = prop::sample::select(vec![0u32, 0, 5, 10, 30, 100]);
    (
        picks,
        wild_share,
        prop::collection::vec(0u32..100, n),
        prop::collection::vec(0u32..100, n),
    )
        .prop_map(|(picks, share, rolls, sent)| {
            picks
                .into_iter()
                .zip(rolls.into_iter().zip(sent))
                // A few fields are left out altogether.
                .filter(|(_, (_, sent))| *sent >= 3)
                .map(|((name, good, wild), (roll, _))| {
                    (name, if roll < share { wild } else { good })
                })
                .collect()
        })
        .boxed()
}

/// An instance form body: the fields in form order, some sent twice (the first counts).
fn instance_form_pairs(customer: CustomerId) -> BoxedStrategy<Vec<(String, String)>> {
    (
        instance_fields(customer),
        prop::collection::vec(any::<bool>(), 16),
    )
        .prop_map(|(fields, twice)| {
            let mut pairs = Vec::new();
            for (i, (name, value)) in fields.into_iter().enumerate() {
                pairs.push((name.to_owned(), value));
                if twice[i % twice.len()] && i % 3 == 0 {
                    pairs.push((name.to_owned(), "second".to_owned()));
                }
            }
            pairs
        })
        .boxed()
}

/// A urlencoded body: pairs encoded as a browser would, then sometimes damaged.
fn form_body(pairs: BoxedStrategy<Vec<(String, String)>>) -> BoxedStrategy<Vec<u8>> {
    let encoded = pairs.prop_map(|pairs| serde_urlencoded::to_string(&pairs).unwrap().into_bytes());
    prop_oneof![
        6 => encoded.clone(),
        1 => (encoded.clone(), any::<prop::sample::Index>(), prop::sample::select(vec![
            &b"%"[..], b"%zz", b"%C3", b"%FF%FE", b"&&", b"=", b"+", b"%00", b";", b"\xff",
        ]))
            .prop_map(|(mut body, at, junk)| {
                let i = at.index(body.len() + 1);
                body.splice(i..i, junk.iter().copied());
                body
            }),
        1 => (encoded, any::<prop::sample::Index>()).prop_map(|(mut body, at)| {
            body.truncate(at.index(body.len() + 1));
            body
        }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
    .boxed()
}

// ---- forms --------------------------------------------------------------------------------------

/// Field names a form may carry, the instance form's and others.
const FORM_NAMES: &[&str] = &[
    "name",
    "secret",
    "accept_invalid_certs",
    "ids",
    "",
    "a b",
    "é",
];

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn a_form_body_reads_back_the_pairs_a_browser_encoded(
        pairs in prop::collection::vec(
            (prop::sample::select(FORM_NAMES), prop_oneof![text(), Just("false".to_owned())]),
            0..8,
        )
    ) {
        let pairs: Vec<(String, String)> =
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let body = serde_urlencoded::to_string(&pairs).unwrap();
        let fields = fuzzing::form_fields(body.as_bytes(), FORM_NAMES).unwrap();
        for (name, field) in FORM_NAMES.iter().zip(fields) {
            let values: Vec<&String> =
                pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v).collect();
            let first = values.first().map_or("", |v| v.as_str());
            prop_assert_eq!(&field.raw, first);
            prop_assert_eq!(field.value.as_str(), first.trim());
            prop_assert_eq!(
                field.all,
                values.iter().map(|v| v.trim().to_owned()).collect::<Vec<_>>()
            );
            prop_assert_eq!(
                field.checked,
                values.iter().any(|v| !v.is_empty() && v.as_str() != "false")
            );
        }
    }

    #[test]
    fn any_bytes_are_a_form_or_a_422_that_quotes_nothing(
        body in prop_oneof![
            form_body(prop::collection::vec((text(), secret()), 0..6).boxed()),
            prop::collection::vec(any::<u8>(), 0..1024),
        ]
    ) {
        for result in [fuzzing::form_fields(&body, FORM_NAMES).map(|_| ()), fuzzing::instance_form(&body).map(|_| ())] {
            if let Err(err) = result {
                prop_assert!(matches!(err, WebError::Invalid(_)), "{err:?}");
                prop_assert!(!err.to_string().contains(SECRET_MARK), "{err}");
            }
        }
    }
}

// ---- instance drafts, from forms and from JSON, checked against a store --------------------------

/// A store with one tenant and one customer, for the checks that look the customer up.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    db: TestDb,
    tenant: TenantId,
    customer: CustomerId,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (db, tenant, customer) = runtime.block_on(async {
        let db = TestDb::new(Backend::Sqlite).await.unwrap();
        let tenant = db
            .store
            .create_tenant(&TenantSettings::new("Fuzz MSP"))
            .await
            .unwrap()
            .id;
        let customer = db
            .store
            .create_customer(tenant, &CustomerDraft::named("Acme"))
            .await
            .unwrap()
            .id;
        (db, tenant, customer)
    });
    Fixture {
        runtime,
        db,
        tenant,
        customer,
    }
}

/// Checks a draft and holds an accepted one to the documented limits; gives the login kind
/// of an accepted one.
fn assert_checked_draft(
    fixture: &Fixture,
    draft: &InstanceDraft,
    zone: &Zone,
) -> Result<Option<LoginKind>, TestCaseError> {
    let checked = fixture.runtime.block_on(fuzzing::check_instance(
        draft,
        &*fixture.db.store,
        fixture.tenant,
        zone,
    ));
    let (update, manual) = match checked {
        Ok(checked) => checked,
        Err(sentence) => {
            prop_assert!(!sentence.is_empty());
            prop_assert!(!sentence.contains(SECRET_MARK), "{sentence}");
            return Ok(None);
        }
    };
    let kind: LoginKind = draft.login_kind.parse().unwrap();
    prop_assert_eq!(update.customer_id, fixture.customer);
    prop_assert!(!update.name.is_empty() && update.name == draft.name.trim());
    let poll = PollInterval::from_minutes(draft.poll_interval_minutes.unwrap_or(360)).unwrap();
    prop_assert_eq!(update.poll_interval, poll);
    prop_assert!((PollInterval::MIN..=PollInterval::MAX).contains(&update.poll_interval));
    match &update.base_url {
        Some(url) => {
            prop_assert_eq!(url, &BaseUrl::parse(&draft.base_url).unwrap());
            prop_assert_eq!(&BaseUrl::parse(&url.to_string()).unwrap(), url);
        }
        None => prop_assert!(kind == LoginKind::Manual && draft.base_url.trim().is_empty()),
    }
    prop_assert_eq!(
        &update.tls.custom_ca_pem,
        &check_ca_pem(&draft.custom_ca_pem).unwrap()
    );
    prop_assert!(
        update
            .tls
            .custom_ca_pem
            .as_ref()
            .is_none_or(|pem| pem.len() <= MAX_CA_PEM_BYTES)
    );
    prop_assert_eq!(update.tls.accept_invalid_certs, draft.accept_invalid_certs);
    match update.login {
        Some(Login::Manual) => {
            prop_assert_eq!(kind, LoginKind::Manual);
            let facts = manual.unwrap();
            let typed = draft.manual_expiry_date.trim();
            match facts.expiry {
                // The date typed is the date every rule sees, in the tenant's zone.
                Some(expiry) => {
                    prop_assert_eq!(
                        Some(zone.date_of(expiry)),
                        runway_core::parse_typed_date(typed).ok()
                    );
                }
                None => prop_assert!(typed.is_empty(), "{typed:?} was accepted as no date"),
            }
            prop_assert_eq!(facts.max_sim_calls, draft.manual_max_sim_calls);
        }
        Some(Login::Pbx(credentials)) => {
            prop_assert_eq!(credentials.kind(), kind);
            prop_assert!(manual.is_none());
            let identity = credentials.identity();
            prop_assert!(!identity.is_empty() && identity == draft.identity.trim());
            prop_assert_eq!(credentials.secret().expose(), draft.secret.trim());
            prop_assert!(!credentials.secret().is_empty());
            match &credentials {
                Credentials::User { totp_secret, .. } => {
                    let typed = draft.totp_secret.trim();
                    prop_assert_eq!(
                        totp_secret.as_ref().map(runway_core::Secret::expose),
                        (!typed.is_empty()).then_some(typed)
                    );
                    if let Some(totp) = totp_secret {
                        prop_assert!(runway_threecx::validate_totp_secret(totp).is_ok());
                    }
                }
                Credentials::ApiClient { .. } | Credentials::Legacy { .. } => {}
            }
        }
        None => prop_assert!(false, "a new instance keeps no stored login"),
    }
    Ok(Some(kind))
}

/// What the checks accepted over a run, so a run that never gets past the checks (generators
/// gone wrong) fails rather than passing without reaching the code it is for.
#[derive(Default)]
struct Accepted(std::cell::RefCell<Vec<LoginKind>>);

impl Accepted {
    fn note(&self, kind: Option<LoginKind>) {
        self.0.borrow_mut().extend(kind);
    }

    /// Every login kind was accepted, and at least one case in twenty (a run accepts several
    /// times that), when the run is long enough to tell.
    fn assert_reached(&self, cases: u32) {
        let accepted = self.0.borrow();
        if cases < 200 {
            return;
        }
        assert!(
            accepted.len() * 20 >= cases as usize,
            "only {} of {cases} drafts were accepted",
            accepted.len()
        );
        for kind in [
            LoginKind::ApiClient,
            LoginKind::User,
            LoginKind::Legacy,
            LoginKind::Manual,
        ] {
            assert!(accepted.contains(&kind), "no {kind} draft was accepted");
        }
    }
}

fn zone() -> BoxedStrategy<Zone> {
    prop_oneof![
        2 => prop::sample::select(vec!["UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/New_York", "Asia/Tokyo"])
            .prop_map(|z| Zone::parse(z).unwrap()),
        1 => prop::sample::select(ZONES.clone()).prop_map(|z| Zone::parse(&z).unwrap()),
    ]
    .boxed()
}

#[test]
fn an_instance_form_is_accepted_within_the_limits_or_refused_without_repeating_a_secret() {
    let fixture = fixture();
    let config = config(384);
    let accepted = Accepted::default();
    let strategy = (form_body(instance_form_pairs(fixture.customer)), zone());
    TestRunner::new(config.clone())
        .run(&strategy, |(body, zone)| {
            match fuzzing::instance_form(&body) {
                Ok(draft) => accepted.note(assert_checked_draft(&fixture, &draft, &zone)?),
                Err(err) => prop_assert!(matches!(err, WebError::Invalid(_)), "{err:?}"),
            }
            Ok(())
        })
        .unwrap();
    accepted.assert_reached(config.cases);
}

/// Literals serde_json reads specially, planted as text and swapped in after serialising.
const RAW_NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "18446744073709551616",
    "-9223372036854775809",
    "4294967296",
    "-0",
    "1.5",
    "1E+2",
];
const RAW_MARK: &str = "@@raw";

fn render(value: &Value) -> Vec<u8> {
    let mut text = value.to_string();
    for (i, raw) in RAW_NUMBERS.iter().enumerate().rev() {
        text = text.replace(&format!("\"{RAW_MARK}{i}\""), raw);
    }
    text.into_bytes()
}

/// A value of the wrong kind, or a strange one of the right kind.
fn odd_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        (0..RAW_NUMBERS.len()).prop_map(|i| Value::from(format!("{RAW_MARK}{i}"))),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// An object of the given fields, each of its proper kind most of the time, with unknown
/// fields now and then.
fn json_object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let n = fields.len();
    let (names, values): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
    let values: Vec<BoxedStrategy<Option<Value>>> = values
        .into_iter()
        .map(|proper| {
            prop_oneof![
                1 => Just(None),
                6 => proper.prop_map(Some),
                1 => odd_value().prop_map(Some),
            ]
            .boxed()
        })
        .collect();
    (
        values,
        prop::collection::vec(("[a-zA-Z_]{1,10}", odd_value()), 0..2),
    )
        .prop_map(move |(values, unknown)| {
            let mut object = Map::new();
            for (name, value) in names.iter().zip(values).take(n) {
                if let Some(value) = value {
                    object.insert((*name).to_owned(), value);
                }
            }
            for (name, value) in unknown {
                object.insert(name, value);
            }
            Value::Object(object)
        })
        .boxed()
}

fn string(s: BoxedStrategy<String>) -> BoxedStrategy<Value> {
    s.prop_map(Value::from).boxed()
}

/// An instance draft as the API takes it: the same fields, numbers and flags as JSON numbers
/// and booleans when they are ones, and now and then a value of another kind altogether.
fn instance_json(customer: CustomerId) -> BoxedStrategy<Value> {
    const NUMBERS: &[&str] = &[
        "customer_id",
        "poll_interval_minutes",
        "manual_max_sim_calls",
    ];
    let fields = (
        instance_fields(customer),
        prop::collection::vec((0u32..100, odd_value()), 16),
        any::<bool>(),
        prop::collection::vec(("[a-zA-Z_]{1,10}", odd_value()), 0..2),
    );
    fields
        .prop_map(|(fields, odd, enabled, unknown)| {
            let mut object = Map::new();
            for ((name, text), (roll, odd)) in fields.into_iter().zip(odd) {
                let value = if roll < 1 {
                    odd
                } else if NUMBERS.contains(&name) {
                    text.parse::<i64>().map_or(Value::from(text), Value::from)
                } else if name == "accept_invalid_certs" {
                    Value::from(!text.is_empty() && text != "false")
                } else {
                    Value::from(text)
                };
                object.insert(name.to_owned(), value);
            }
            object.insert("enabled".into(), Value::from(enabled));
            for (name, value) in unknown {
                object.insert(name, value);
            }
            Value::Object(object)
        })
        .boxed()
}

/// A JSON body: the object written out, sometimes damaged, or nested past any limit.
fn json_body(object: BoxedStrategy<Value>) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        16 => object.clone().prop_map(|v| render(&v)),
        1 => (object.clone(), any::<prop::sample::Index>()).prop_map(|(v, at)| {
            let mut bytes = render(&v);
            bytes.truncate(at.index(bytes.len() + 1));
            bytes
        }),
        1 => (object, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(v, at, byte)| {
            let mut bytes = render(&v);
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            bytes
        }),
        1 => (1usize..20_000, any::<bool>()).prop_map(|(depth, objects)| {
            let (open, close) = if objects { ("{\"name\":", "}") } else { ("[", "]") };
            format!("{}1{}", open.repeat(depth), close.repeat(depth)).into_bytes()
        }),
        1 => Just(br#"{"name":"a","name":"b"}"#.to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
    .boxed()
}

/// An API body error is a 422 that says the JSON is not valid.
fn assert_body_refusal(err: &WebError) -> Result<(), TestCaseError> {
    prop_assert!(
        matches!(err, WebError::Invalid(m) if m.starts_with("the JSON body is not valid")),
        "{err:?}"
    );
    prop_assert!(!err.to_string().contains(SECRET_MARK), "{err}");
    Ok(())
}

#[test]
fn an_instance_json_body_is_accepted_within_the_limits_or_refused_with_a_422() {
    let fixture = fixture();
    let config = config(384);
    let accepted = Accepted::default();
    let strategy = (json_body(instance_json(fixture.customer)), zone());
    TestRunner::new(config.clone())
        .run(&strategy, |(body, zone)| {
            match fuzzing::api_body::<InstanceDraft>(&body) {
                Ok(draft) => accepted.note(assert_checked_draft(&fixture, &draft, &zone)?),
                Err(err) => assert_body_refusal(&err)?,
            }
            Ok(())
        })
        .unwrap();
    accepted.assert_reached(config.cases);
}

// ---- the other API bodies -------------------------------------------------------------------------

fn milestones() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::collection::vec(0u32..400, 0..6).prop_map(|d| {
            d.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        }),
        1 => prop::sample::select(vec!["10, 3, 1", "10,,3", "1 1", "-1", "65536", "ten", " , ", "366 367"])
            .prop_map(str::to_owned),
        1 => text(),
    ]
    .boxed()
}

fn template() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "https://portal.3cx.com/?license={key}", "https://shop.example/renew?k={key}&p={product_code}",
            "http://x.example/{licence}", "javascript:alert(1)", "https://x.example/{key", "https://a b",
        ])
        .prop_map(str::to_owned),
        1 => text(),
    ]
    .boxed()
}

/// Well formed most of the time, anything now and then.
fn mostly(good: BoxedStrategy<Value>, wild: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![6 => good, 1 => wild].boxed()
}

fn settings_json() -> BoxedStrategy<Value> {
    let good_milestones = (
        prop::collection::btree_set(0u16..=MAX_MILESTONE_DAYS, 0..5),
        any::<bool>(),
    )
        .prop_map(|(days, commas)| {
            let days: Vec<String> = days.iter().rev().map(u16::to_string).collect();
            Value::from(days.join(if commas { ", " } else { " " }))
        })
        .boxed();
    json_object(vec![
        (
            "name",
            mostly(
                "[A-Za-z][A-Za-z0-9 ]{0,20}".prop_map(Value::from).boxed(),
                string(text()),
            ),
        ),
        (
            "zone",
            mostly(
                prop::sample::select(ZONES.clone())
                    .prop_map(Value::from)
                    .boxed(),
                prop_oneof![
                    prop::sample::select(ZONES.clone())
                        .prop_map(|z| Value::from(format!(" {} ", z.to_lowercase()))),
                    string(text()),
                ]
                .boxed(),
            ),
        ),
        ("milestones", mostly(good_milestones, string(milestones()))),
        ("lapse_alert", any::<bool>().prop_map(Value::from).boxed()),
        (
            "renewal_template",
            mostly(
                prop::sample::select(vec![
                    "https://portal.3cx.com/?license={key}",
                    "https://shop.example/renew?k={key}&p={product_code}",
                    "HTTP://x.example",
                ])
                .prop_map(Value::from)
                .boxed(),
                string(template()),
            ),
        ),
        (
            "history_days",
            mostly(
                (30u32..=3650).prop_map(Value::from).boxed(),
                any::<u32>().prop_map(Value::from).boxed(),
            ),
        ),
        (
            "attempt_days",
            mostly(
                (1u32..=3650).prop_map(Value::from).boxed(),
                any::<u32>().prop_map(Value::from).boxed(),
            ),
        ),
    ])
}

fn bulk_json() -> BoxedStrategy<Value> {
    json_object(vec![
        ("instances", prop::collection::vec(any::<i64>(), 0..8).prop_map(Value::from).boxed()),
        ("trigger", prop_oneof![
            3 => prop::sample::select(vec!["refresh", "read_now", "READ_NOW", "", "poll"]).prop_map(Value::from),
            1 => string(text()),
        ].boxed()),
    ])
}

fn named_json() -> BoxedStrategy<Value> {
    json_object(vec![("name", string(text())), ("notes", string(text()))])
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn a_bulk_body_asks_for_a_refresh_or_a_read_now_or_is_refused(body in json_body(bulk_json())) {
        match fuzzing::api_body::<BulkInput>(&body) {
            Ok(input) => {
                let expected = match input.trigger.as_deref() {
                    None | Some("refresh") => Some(Trigger::Refresh),
                    Some("read_now") => Some(Trigger::ReadNow),
                    Some(_) => None,
                };
                match fuzzing::bulk_trigger(&input) {
                    Ok(trigger) => prop_assert_eq!(Some(trigger), expected),
                    Err(err) => {
                        prop_assert!(expected.is_none());
                        prop_assert!(matches!(err, WebError::Invalid(ref m) if m.starts_with("unknown trigger")), "{err:?}");
                    }
                }
            }
            Err(err) => assert_body_refusal(&err)?,
        }
    }

    #[test]
    fn customer_and_token_bodies_are_read_or_refused_with_a_422(body in json_body(named_json())) {
        // The name the body holds, when it is a JSON document at all (an ignored field may
        // hold a number no `Value` can, which the typed reader skips). Like every serde
        // struct, the inputs may also be written as arrays, fields in order.
        let value: Option<Value> = serde_json::from_slice(&body).ok();
        let named = match &value {
            Some(Value::Object(o)) => o.get("name").and_then(Value::as_str),
            Some(Value::Array(a)) => a.first().and_then(Value::as_str),
            _ => None,
        };
        let customer = fuzzing::api_body::<CustomerInput>(&body).map(|input| input.name);
        let token = fuzzing::api_body::<TokenInput>(&body).map(|input| input.name);
        for read in [customer, token] {
            match read {
                Ok(name) if value.is_some() => prop_assert_eq!(Some(name.as_str()), named),
                Ok(_) => {}
                Err(err) => assert_body_refusal(&err)?,
            }
        }
    }

    #[test]
    fn arbitrary_bytes_in_every_body_reader_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..2048), id in any::<String>()
    ) {
        for result in [
            fuzzing::api_body::<InstanceDraft>(&body).map(|_| ()),
            fuzzing::api_body::<SettingsDraft>(&body).map(|_| ()),
            fuzzing::api_body::<BulkInput>(&body).map(|_| ()),
            fuzzing::api_body::<CustomerInput>(&body).map(|_| ()),
            fuzzing::api_body::<TokenInput>(&body).map(|_| ()),
        ] {
            if let Err(err) = result {
                assert_body_refusal(&err)?;
            }
        }
        for id in [id.as_str(), &String::from_utf8_lossy(&body)] {
            let expected = id.trim().parse::<i64>().ok();
            prop_assert_eq!(fuzzing::instance_id(id), expected);
            prop_assert_eq!(fuzzing::api_path_id(id), expected);
        }
    }
}

#[test]
fn a_settings_body_is_accepted_within_the_limits_or_refused_with_a_sentence() {
    let config = config(512);
    let accepted = std::cell::Cell::new(0usize);
    let current = TenantSettings::new("Fuzz MSP");
    TestRunner::new(config.clone())
        .run(&json_body(settings_json()), |body| {
            let draft = match fuzzing::api_body::<SettingsDraft>(&body) {
                Ok(draft) => draft,
                Err(err) => return assert_body_refusal(&err),
            };
            match fuzzing::check_settings(&draft, &current) {
                Ok(settings) => {
                    accepted.set(accepted.get() + 1);
                    prop_assert!(!settings.name.is_empty() && settings.name == draft.name.trim());
                    let zone = Zone::parse(&draft.zone).unwrap();
                    prop_assert_eq!(settings.zone.name(), zone.name());
                    let days: Vec<u16> = settings
                        .reminders
                        .milestones()
                        .iter()
                        .map(|m| m.days_before)
                        .collect();
                    prop_assert!(days.windows(2).all(|w| w[0] > w[1]), "{days:?}");
                    prop_assert!(days.iter().all(|d| *d <= MAX_MILESTONE_DAYS));
                    prop_assert_eq!(settings.reminders.lapse_alert(), draft.lapse_alert);
                    prop_assert_eq!(
                        &settings.renewal_template,
                        &RenewalTemplate::parse(&draft.renewal_template).unwrap()
                    );
                }
                Err(sentence) => prop_assert!(!sentence.is_empty()),
            }
            Ok(())
        })
        .unwrap();
    // A run that never gets past the checks has not tested what they accept.
    if config.cases >= 200 {
        assert!(
            accepted.get() * 20 >= config.cases as usize,
            "only {} of {} settings were accepted",
            accepted.get(),
            config.cases
        );
    }
}

// ---- regressions: inputs the fuzzing found ------------------------------------------------------

/// Found by `an_instance_form_is_accepted_within_the_limits_or_refused_without_repeating_a_secret`:
/// a manual expiry date at the very end of the calendar (9999-12-31, in a zone west of UTC) has
/// no instant, and was recorded as "no expiry" without a word. It is refused next to the field.
#[test]
fn regression_a_manual_expiry_date_beyond_the_calendar_is_refused_not_dropped() {
    let fixture = fixture();
    let check = |date: &str, zone: &str| {
        let body = format!(
            "customer_id={}&name=Annex&login_kind=manual&manual_expiry_date={date}",
            fixture.customer.0
        );
        let draft = fuzzing::instance_form(body.as_bytes()).unwrap();
        let zone = Zone::parse(zone).unwrap();
        fixture
            .runtime
            .block_on(fuzzing::check_instance(
                &draft,
                &*fixture.db.store,
                fixture.tenant,
                &zone,
            ))
            .map(|(_, facts)| zone.date_of(facts.unwrap().expiry.unwrap()).to_string())
    };
    assert_eq!(
        check("9999-12-31", "Etc/GMT+12"),
        Err("manual_expiry_date: the expiry date is beyond the dates Runway can record".into())
    );
    assert_eq!(check("9999-12-30", "UTC"), Ok("9999-12-30".into()));
}
