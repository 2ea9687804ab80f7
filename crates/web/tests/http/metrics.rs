//! Prometheus metrics: `/metrics` with an API token shows its own tenant only, with the
//! expiries the API gives and the days left the page shows; the metrics listener shows every
//! tenant without a token and nothing else. The exposition is read by an OpenMetrics parser
//! that is not the writer (`openmetrics-parser`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use openmetrics_parser::{MetricNumber, MetricsExposition, OpenMetricsType, OpenMetricsValue};
use runway_core::{FailureKind, LicenseFacts, PbxLicense};
use runway_store::{
    AttemptError, CustomerDraft, InstanceId, Login, NewAttempt, NewInstance, NewReading,
    ReadingSource, TenantId, Trigger,
};
use runway_testkit::Backend;
use runway_web::{AppState, WebSettings};
use serde_json::Value;

use crate::helpers::{App, Options, other_tenant, spawn_with};

/// A customer and instance whose names need escaping in label values.
const CUSTOMER: &str = r#"Zahnärzte "Müller", Söhne \ Köln"#;
const INSTANCE: &str = "Empfang = Haupt, {Süd}";

/// The fleet's PBX client secrets (see `helpers::FLEET`).
const SECRETS: [&str; 6] = [
    "s-overdue",
    "s-tomorrow",
    "s-renewing",
    "s-warning",
    "s-active",
    "s-nodate",
];

type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

fn parse(body: &str) -> Exposition {
    openmetrics_parser::openmetrics::parse_openmetrics(body)
        .unwrap_or_else(|err| panic!("not valid OpenMetrics ({err:?}):\n{body}"))
}

fn number(value: &OpenMetricsValue) -> f64 {
    match value {
        OpenMetricsValue::Gauge(n) | OpenMetricsValue::Unknown(n) => n.as_f64(),
        OpenMetricsValue::Counter(c) => c.value.as_f64(),
        other => panic!("not a number: {other:?}"),
    }
}

/// The samples of a family: its labels (name → value) and value.
fn samples(exposition: &Exposition, family: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let family = exposition
        .families
        .get(family)
        .unwrap_or_else(|| panic!("no family {family}: {:?}", exposition.families.keys()));
    family
        .iter_samples()
        .map(|sample| {
            let labels = sample
                .get_labelset()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (labels, number(&sample.value))
        })
        .collect()
}

/// A family's values by the `instance_id` label.
fn by_instance(exposition: &Exposition, family: &str) -> BTreeMap<i64, f64> {
    samples(exposition, family)
        .into_iter()
        .map(|(labels, value)| (labels["instance_id"].parse().unwrap(), value))
        .collect()
}

fn family_type(exposition: &Exposition, family: &str) -> OpenMetricsType {
    exposition.families[family].family_type
}

/// A manual instance of `tenant` whose license expires in `days` days, with maintenance.
async fn manual_instance(
    app: &App,
    tenant: TenantId,
    customer: &str,
    name: &str,
    days: u64,
) -> InstanceId {
    let customer = app
        .store
        .create_customer(
            tenant,
            &CustomerDraft {
                name: customer.into(),
                notes: String::new(),
            },
        )
        .await
        .unwrap();
    let instance = app
        .store
        .create_instance(
            tenant,
            &NewInstance::new(customer.id, name, None, Login::Manual),
            app.now,
        )
        .await
        .unwrap();
    let facts = LicenseFacts::from_pbx(PbxLicense {
        license_key: Some(format!("KEY-{name}")),
        expiry: Some(app.now + Duration::from_hours(days * 24)),
        maintenance_expiry: Some(app.now + Duration::from_hours(days * 12)),
        max_sim_calls: Some(4),
        ..PbxLicense::default()
    });
    let reading = NewReading {
        read_at: app.now,
        source: ReadingSource::Manual,
        facts,
        raw_body: None,
    };
    app.store
        .record_reading(tenant, instance.id, &reading, None, &[])
        .await
        .unwrap();
    instance.id
}

/// Two failed reads of the "warning" PBX (timeouts) and one of "active" (rejected login).
async fn failed_reads(app: &App) {
    for (pbx, kind, minute) in [
        ("warning", FailureKind::Timeout, 1),
        ("warning", FailureKind::Timeout, 2),
        ("active", FailureKind::LoginRejected, 3),
    ] {
        let attempt = NewAttempt {
            started_at: app.now + Duration::from_mins(minute),
            duration: Duration::from_millis(900),
            trigger: Trigger::Schedule,
            clock_offset: None,
        };
        let error = AttemptError {
            kind,
            message: format!("{kind} in a test"),
        };
        app.store
            .record_failure(app.tenant, app.id(pbx), &attempt, &error, &[])
            .await
            .unwrap();
    }
}

/// An API token of a viewer of the app's tenant.
async fn viewer_token(app: &App) -> String {
    let viewer = app
        .store
        .user_by_email("viewer@acme.example")
        .await
        .unwrap()
        .unwrap();
    let (token, _) =
        runway_web::create_api_token(&app.store, app.tenant, viewer.id, "prometheus", app.now)
            .await
            .unwrap();
    token.expose().to_owned()
}

async fn a_token_scrapes_its_own_tenant_with_the_apis_expiries_and_the_pages_days_left(
    backend: Backend,
) {
    let Some(app) = spawn_with(backend, Options::default()).await else {
        return;
    };
    let escaped = manual_instance(&app, app.tenant, CUSTOMER, INSTANCE, 20).await;
    let other = other_tenant(&app).await;
    let foreign = manual_instance(&app, other, "Other Customer", "Other PBX", 9).await;
    failed_reads(&app).await;
    let token = viewer_token(&app).await;
    let client = app.bearer(&token);

    let reply = client.get("/metrics").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.headers["content-type"],
        runway_web::metrics::CONTENT_TYPE
    );
    let metrics = parse(&reply.body);
    let table = client.get("/api/v1/licenses").await.json();
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7, "the fleet and the manual instance");

    // Every instance's expiry is the API's instant; days left are the page's.
    let expiries = by_instance(&metrics, "runway_license_expiry_timestamp_seconds");
    let maintenance = by_instance(
        &metrics,
        "runway_license_maintenance_expiry_timestamp_seconds",
    );
    let days_left = by_instance(&metrics, "runway_license_days_left");
    let calls = by_instance(&metrics, "runway_license_call_limit");
    let used = by_instance(&metrics, "runway_license_users_used");
    let licensed = by_instance(&metrics, "runway_license_users_licensed");
    let last_read = by_instance(&metrics, "runway_instance_last_read_timestamp_seconds");
    let seconds = |v: &Value| -> Option<f64> {
        v.as_str().map(|text| {
            #[allow(clippy::cast_precision_loss, reason = "Unix seconds fit in f64")]
            let s = text.parse::<Timestamp>().unwrap().as_second() as f64;
            s
        })
    };
    let num = |v: &Value| v.as_f64();
    for row in rows {
        let id = row["instance_id"].as_i64().unwrap();
        let name = &row["instance_name"];
        assert_eq!(
            expiries.get(&id).copied(),
            seconds(&row["expiry"]),
            "{name}"
        );
        assert_eq!(
            maintenance.get(&id).copied(),
            seconds(&row["maintenance_expiry"]),
            "{name}"
        );
        assert_eq!(
            days_left.get(&id).copied(),
            num(&row["days_left"]),
            "{name}"
        );
        assert_eq!(
            calls.get(&id).copied(),
            num(&row["max_sim_calls"]),
            "{name}"
        );
        assert_eq!(used.get(&id).copied(), num(&row["seats"]["used"]), "{name}");
        assert_eq!(
            licensed.get(&id).copied(),
            num(&row["seats"]["licensed"]),
            "{name}"
        );
        assert_eq!(
            last_read.get(&id).copied(),
            seconds(&row["last_read_instant"]),
            "{name}"
        );
    }
    assert!(
        expiries.len() == 6 && !expiries.contains_key(&app.id("nodate").0),
        "no sample for an unknown expiry: {expiries:?}"
    );
    assert_eq!(days_left[&app.id("overdue").0].to_string(), "-3");
    assert_eq!(days_left[&app.id("tomorrow").0].to_string(), "1");
    assert_eq!(days_left[&escaped.0].to_string(), "20");

    // Labels: names as given, through the parser's unescaping; nothing of another tenant.
    let (labels, _) = samples(&metrics, "runway_license_expiry_timestamp_seconds")
        .into_iter()
        .find(|(labels, _)| labels["instance_id"] == escaped.0.to_string())
        .unwrap();
    assert_eq!(
        labels.keys().map(String::as_str).collect::<Vec<_>>(),
        ["customer", "instance", "instance_id", "tenant"]
    );
    assert_eq!(labels["customer"], CUSTOMER);
    assert_eq!(labels["instance"], INSTANCE);
    assert_eq!(labels["tenant"], "Acme MSP");
    for family in metrics.families.values() {
        for sample in family.iter_samples() {
            let labels = sample.get_labelset().unwrap();
            assert_ne!(labels.get_label_value("tenant"), Some("Other MSP"));
            assert_ne!(
                labels.get_label_value("instance_id"),
                Some(foreign.0.to_string().as_str())
            );
        }
    }
    assert!(!reply.body.contains("Other PBX") && !reply.body.contains("Other Customer"));

    // No secret, no address.
    for secret in SECRETS.iter().copied().chain([token.as_str()]) {
        assert!(!reply.body.contains(secret), "{secret} in the metrics");
    }
    assert!(!reply.body.contains("http://"), "no URL in the metrics");

    // Failed reads by kind, counters.
    assert_eq!(
        family_type(&metrics, "runway_instance_read_failures"),
        OpenMetricsType::Counter
    );
    let mut failures: Vec<(String, String, f64)> =
        samples(&metrics, "runway_instance_read_failures")
            .into_iter()
            .map(|(l, v)| (l["instance"].clone(), l["kind"].clone(), v))
            .collect();
    failures.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(
        failures,
        [
            (
                "Charlie Branch".to_owned(),
                "login_rejected".to_owned(),
                1.0
            ),
            ("Charlie HQ".to_owned(), "timeout".to_owned(), 2.0),
        ]
    );

    // The tenant's own health; the node's read durations (every tenant's reads) are not here.
    let due = samples(&metrics, "runway_instances_due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0["tenant"], "Acme MSP");
    let pending = samples(&metrics, "runway_outbox_pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].0["tenant"], "Acme MSP");
    let outcomes: BTreeSet<String> = samples(&metrics, "runway_deliveries")
        .into_iter()
        .map(|(labels, _)| {
            assert_eq!(labels["tenant"], "Acme MSP");
            labels["outcome"].clone()
        })
        .collect();
    assert_eq!(
        outcomes,
        BTreeSet::from(["cancelled".into(), "failed".into(), "sent".into()])
    );
    assert!(
        !metrics
            .families
            .contains_key("runway_poll_duration_seconds")
    );

    // The other tenant's token sees its own instance only.
    let other_owner = app
        .store
        .user_by_email("owner@other.example")
        .await
        .unwrap()
        .unwrap();
    let (other_token, _) =
        runway_web::create_api_token(&app.store, other, other_owner.id, "prom", app.now)
            .await
            .unwrap();
    let theirs = app.bearer(other_token.expose()).get("/metrics").await;
    assert_eq!(theirs.status, 200);
    let theirs = parse(&theirs.body);
    assert_eq!(
        by_instance(&theirs, "runway_license_expiry_timestamp_seconds")
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [foreign.0]
    );

    // Without a valid API token: 401, never a redirect to sign in.
    let anonymous = app.browser().get("/metrics").await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.location(), "");
    let wrong = app
        .bearer("rw_not-a-real-token-at-all")
        .get("/metrics")
        .await;
    assert_eq!(wrong.status, 401);
    let session = app
        .signed_in("owner@acme.example")
        .await
        .get("/metrics")
        .await;
    assert_eq!(session.status, 401, "a browser session is no metrics token");
    assert!(!session.body.contains("runway_license"));
}

async fn the_metrics_listener_shows_every_tenant_without_a_token_and_nothing_else(
    backend: Backend,
) {
    let Some(app) = spawn_with(backend, Options::default()).await else {
        return;
    };
    let other = other_tenant(&app).await;
    let foreign = manual_instance(&app, other, "Other Customer", "Other PBX", 9).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(app.engine.clone(), WebSettings::default());
    let server = tokio::spawn(runway_web::serve_metrics(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str| client.get(format!("{base}{path}")).send();

    let reply = get("/metrics").await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.headers()["content-type"],
        runway_web::metrics::CONTENT_TYPE
    );
    let body = reply.text().await.unwrap();
    let metrics = parse(&body);
    let expiries = samples(&metrics, "runway_license_expiry_timestamp_seconds");
    let tenants: BTreeSet<&str> = expiries.iter().map(|(l, _)| l["tenant"].as_str()).collect();
    assert_eq!(tenants, BTreeSet::from(["Acme MSP", "Other MSP"]));
    let ids: BTreeSet<i64> = expiries
        .iter()
        .map(|(l, _)| l["instance_id"].parse().unwrap())
        .collect();
    assert!(ids.contains(&foreign.0) && ids.contains(&app.id("warning").0));
    let due: BTreeSet<String> = samples(&metrics, "runway_instances_due")
        .into_iter()
        .map(|(l, _)| l["tenant"].clone())
        .collect();
    assert_eq!(due.len(), 2, "each tenant's instances due");
    for secret in SECRETS {
        assert!(!body.contains(secret), "{secret} in the metrics");
    }

    // This node's read durations: the fleet's six reads at start.
    let family = &metrics.families["runway_poll_duration_seconds"];
    assert_eq!(family.family_type, OpenMetricsType::Histogram);
    let histogram = match &family.iter_samples().next().unwrap().value {
        OpenMetricsValue::Histogram(h) => h.clone(),
        other => panic!("not a histogram: {other:?}"),
    };
    assert_eq!(histogram.count, Some(app.engine.poll_durations().count()));
    assert_eq!(histogram.count, Some(6));
    let bounds: Vec<f64> = histogram.buckets.iter().map(|b| b.upper_bound).collect();
    assert!(
        bounds.first() == Some(&0.05) && bounds.contains(&20.0) && bounds.contains(&f64::INFINITY),
        "{bounds:?}"
    );
    let infinite = histogram.buckets.last().unwrap();
    assert_eq!(infinite.count, MetricNumber::Int(6));

    // Nothing else answers there.
    for path in ["/", "/api/v1/licenses", "/healthz", "/login", "/metrics/x"] {
        assert_eq!(get(path).await.unwrap().status(), 404, "{path}");
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_token_scrapes_its_own_tenant_with_the_apis_expiries_and_the_pages_days_left() {
        super::a_token_scrapes_its_own_tenant_with_the_apis_expiries_and_the_pages_days_left(
            runway_testkit::Backend::Sqlite,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_metrics_listener_shows_every_tenant_without_a_token_and_nothing_else() {
        super::the_metrics_listener_shows_every_tenant_without_a_token_and_nothing_else(
            runway_testkit::Backend::Sqlite,
        )
        .await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_token_scrapes_its_own_tenant_with_the_apis_expiries_and_the_pages_days_left() {
        super::a_token_scrapes_its_own_tenant_with_the_apis_expiries_and_the_pages_days_left(
            runway_testkit::Backend::Postgres,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_metrics_listener_shows_every_tenant_without_a_token_and_nothing_else() {
        super::the_metrics_listener_shows_every_tenant_without_a_token_and_nothing_else(
            runway_testkit::Backend::Postgres,
        )
        .await;
    }
}
