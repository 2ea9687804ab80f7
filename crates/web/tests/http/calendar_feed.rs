//! The iCalendar feed: made and revoked by admins, fetched without sign-in at its secret URL,
//! one all-day event per expiry on the License Status page's date in the tenant's zone, with
//! UIDs that hold across fetches and change with the date; checked byte by byte here and by an
//! independent parser (Python's `icalendar`, see `runway_testkit::icalendar_python`).

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use runway_core::{LicenseFacts, PbxLicense, Zone};
use runway_store::{CustomerDraft, InstanceId, Login, NewInstance, TenantId};
use runway_testkit::Backend;
use serde_json::Value;

use crate::helpers::{App, Options, Reply, other_tenant, reply, spawn_with};

/// UTC+14 all year: far enough from UTC that a UTC date and the local date differ for half
/// of every day.
const FAR_ZONE: &str = "Pacific/Kiritimati";

/// A customer and instance name that need escaping, and folding across multi-byte text.
const CUSTOMER: &str = "Zahnärzte Müller, Söhne; Köln";
const INSTANCE: &str = "Empfang – Hauptgebäude (Telefonanlage für alle Standorte) \\ Süd";

/// Parses feeds given as files with `icalendar.Calendar.from_ical`, prints their events, and
/// imports every fetch into one store keyed by UID, as a subscribing calendar does.
const PARSE_FEEDS: &str = r#"
import datetime, json, sys
from icalendar import Calendar

store = {}
fetches = []
errors = []
name = None
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        cal = Calendar.from_ical(f.read())
    name = str(cal.get("X-WR-CALNAME"))
    for component in cal.walk():
        errors.extend(str(e) for e in getattr(component, "errors", []))
    events = []
    for event in cal.walk("VEVENT"):
        start = event.decoded("DTSTART")
        end = event.decoded("DTEND")
        uid = str(event["UID"])
        events.append({
            "uid": uid,
            "dtstart": start.isoformat(),
            "dtend": end.isoformat(),
            "all_day": not isinstance(start, datetime.datetime),
            "summary": str(event["SUMMARY"]),
            "description": str(event["DESCRIPTION"]),
            "url": str(event.get("URL", "")),
            "alarm_days": [a.decoded("TRIGGER").days for a in event.walk("VALARM")],
        })
        store[uid] = event
    fetches.append(events)
print(json.dumps({
    "version": str(cal.get("VERSION")),
    "calscale": str(cal.get("CALSCALE")),
    "name": name,
    "errors": errors,
    "fetches": fetches,
    "stored": len(store),
}))
"#;

/// The feeds parsed by Python's `icalendar`; `None` when it is not configured (the test then
/// checks the bytes only, unless services are required: then it fails).
async fn parse_with_python(feeds: &[&str]) -> Option<Value> {
    let python = runway_testkit::icalendar_python()?;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("parse_feeds.py");
    std::fs::write(&script, PARSE_FEEDS).unwrap();
    let mut command = tokio::process::Command::new(python);
    command.arg(&script);
    for (i, feed) in feeds.iter().enumerate() {
        let path = dir.path().join(format!("feed-{i}.ics"));
        std::fs::write(&path, feed).unwrap();
        command.arg(path);
    }
    let output = command.output().await.unwrap();
    assert!(
        output.status.success(),
        "icalendar refused the feed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

/// Every physical line ends in CRLF and holds at most 75 octets; the text unfolded into
/// content lines.
fn content_lines(feed: &str) -> Vec<String> {
    assert!(feed.ends_with("\r\n"), "the feed ends in CRLF");
    for line in feed[..feed.len() - 2].split("\r\n") {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare line break in {line:?}"
        );
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    feed.replace("\r\n ", "")
        .trim_end()
        .split("\r\n")
        .map(str::to_owned)
        .collect()
}

/// The feed's events, as property name (without parameters) → value, in order.
fn events(feed: &str) -> Vec<BTreeMap<String, String>> {
    let mut events = Vec::new();
    let mut current: Option<BTreeMap<String, String>> = None;
    let mut depth = 0;
    for line in content_lines(feed) {
        let (name, value) = line.split_once(':').unwrap();
        match (name, value) {
            ("BEGIN", "VEVENT") => current = Some(BTreeMap::new()),
            ("END", "VEVENT") => events.push(current.take().unwrap()),
            // Components inside an event (alarms): their properties are not the event's.
            ("BEGIN", _) if current.is_some() => depth += 1,
            ("END", _) if current.is_some() => depth -= 1,
            ("BEGIN" | "END", _) => {}
            _ => {
                if let (Some(event), 0) = (current.as_mut(), depth) {
                    let name = name.split(';').next().unwrap().to_owned();
                    event.insert(name, value.to_owned());
                }
            }
        }
    }
    events
}

fn uid_of(events: &[BTreeMap<String, String>], instance: InstanceId) -> Option<String> {
    events
        .iter()
        .map(|e| e["UID"].clone())
        .find(|uid| uid.starts_with(&format!("{}-", instance.0)))
}

/// A manual instance of a new customer, its license expiring at `expiry`.
async fn manual_instance(
    app: &App,
    tenant: TenantId,
    customer: &str,
    name: &str,
    key: &str,
    expiry: Timestamp,
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
        .unwrap()
        .id;
    let instance = app
        .store
        .create_instance(
            tenant,
            &NewInstance::new(customer, name, None, Login::Manual),
            app.now,
        )
        .await
        .unwrap()
        .id;
    set_expiry(app, tenant, instance, key, expiry).await;
    instance
}

/// Records a manual license through the one recording path.
async fn set_expiry(app: &App, tenant: TenantId, instance: InstanceId, key: &str, at: Timestamp) {
    let facts = LicenseFacts::from_pbx(PbxLicense {
        license_key: Some(key.into()),
        product_code: Some("3CXPSPROFENTSPLA".into()),
        expiry: Some(at),
        ..PbxLicense::default()
    });
    app.engine
        .set_manual_license(tenant, instance, facts)
        .await
        .unwrap();
}

async fn set_zone(app: &App, tenant: TenantId, zone: &str) {
    let mut settings = app.store.tenant(tenant).await.unwrap().settings;
    settings.zone = Zone::parse(zone).unwrap();
    app.store.update_tenant(tenant, &settings).await.unwrap();
}

/// A client with no session and no token: what a calendar app is.
async fn fetch(url: &str) -> Reply {
    reply(reqwest::get(url).await.unwrap()).await
}

/// Makes a feed URL through the API as `email`; returns the URL.
async fn make_feed(app: &App, email: &str) -> String {
    let admin = app.signed_in(email).await;
    let made = admin
        .post_json("/api/v1/calendar-feed", &serde_json::json!({}))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let made = made.json();
    let url = made["url"].as_str().unwrap().to_owned();
    runway_testkit::secrets::used(&url);
    assert!(
        url.starts_with(&format!("{}/calendar/rwcal_", app.base)),
        "{url}"
    );
    assert!(url.strip_suffix(".ics").is_some(), "{url}");
    assert_eq!(
        made["webcal_url"].as_str().unwrap(),
        url.replacen("http://", "webcal://", 1)
    );
    url
}

async fn the_feed_lists_each_expiry_on_its_local_date_with_a_uid_that_follows_the_date(
    backend: Backend,
) {
    let Some(app) = spawn_with(backend, Options::default()).await else {
        return;
    };
    set_zone(&app, app.tenant, FAR_ZONE).await;
    // 10:30 UTC on 10 March is 00:30 on 11 March in Kiritimati; 09:30 UTC is 23:30 on 10 March.
    let after_midnight = manual_instance(
        &app,
        app.tenant,
        CUSTOMER,
        INSTANCE,
        "KEY-AFTER-MIDNIGHT",
        "2027-03-10T10:30:00Z".parse().unwrap(),
    )
    .await;
    let before_midnight = manual_instance(
        &app,
        app.tenant,
        "Late Customer",
        "Night PBX",
        "KEY-BEFORE-MIDNIGHT",
        "2027-03-10T09:30:00Z".parse().unwrap(),
    )
    .await;
    let url = make_feed(&app, "admin@acme.example").await;

    let first = fetch(&url).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.headers["content-type"].to_str().unwrap(),
        "text/calendar; charset=utf-8"
    );
    let lines = content_lines(&first.body);
    for expected in ["BEGIN:VCALENDAR", "VERSION:2.0", "CALSCALE:GREGORIAN"] {
        assert!(lines.iter().any(|l| l == expected), "{expected}");
    }
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
    assert!(lines.iter().any(|l| l.starts_with("X-WR-CALNAME:")));
    let events_1 = events(&first.body);

    // The dates of the License Status page, which the feed must agree with.
    let viewer = app.signed_in("viewer@acme.example").await;
    let page_rows = viewer.get("/api/v1/licenses").await.json()["rows"].clone();
    let page_date = |id: InstanceId| {
        page_rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["instance_id"] == id.0)
            .unwrap()["expiry_date"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(page_date(after_midnight), "2027-03-11");
    assert_eq!(page_date(before_midnight), "2027-03-10");
    let dated_rows = page_rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["expiry_date"].is_null())
        .count();
    assert_eq!(events_1.len(), dated_rows, "one event per dated row");

    let event = |events: &[BTreeMap<String, String>], id: InstanceId| {
        let uid = uid_of(events, id).unwrap_or_else(|| panic!("no event of {id:?}"));
        events.iter().find(|e| e["UID"] == uid).unwrap().clone()
    };
    let late = event(&events_1, after_midnight);
    assert_eq!(
        late["DTSTART"], "20270311",
        "the local date, not the UTC one"
    );
    assert_eq!(late["DTEND"], "20270312");
    assert_eq!(
        late["UID"],
        format!(
            "{}-20270311@tenant-{}.runway",
            after_midnight.0, app.tenant.0
        )
    );
    assert_eq!(
        late["SUMMARY"],
        "3CX license expires: Zahnärzte Müller\\, Söhne\\; Köln / Empfang – Hauptgebäude \
         (Telefonanlage für alle Standorte) \\\\ Süd"
    );
    assert!(late["DESCRIPTION"].contains("License key: KEY-AFTER-MIDNIGHT"));
    assert_eq!(
        late["URL"],
        "https://portal.3cx.com/?license=KEY-AFTER-MIDNIGHT"
    );
    assert!(first.body.contains("DTSTART;VALUE=DATE:20270311\r\n"));
    let early = event(&events_1, before_midnight);
    assert_eq!(early["DTSTART"], "20270310");
    assert_eq!(early["DTEND"], "20270311");

    // Fetched again: the same UIDs.
    app.clock.advance(Duration::from_mins(90));
    let second = fetch(&url).await;
    assert_eq!(second.status, 200);
    let events_2 = events(&second.body);
    let uids = |events: &[BTreeMap<String, String>]| {
        let mut uids: Vec<String> = events.iter().map(|e| e["UID"].clone()).collect();
        uids.sort();
        uids
    };
    assert_eq!(uids(&events_1), uids(&events_2), "UIDs hold across fetches");

    // The independent parser reads the same events, and importing both fetches into one store
    // keyed by UID (as a subscribed calendar does) leaves no duplicates.
    if let Some(parsed) = parse_with_python(&[&first.body, &second.body]).await {
        assert_eq!(parsed["errors"], serde_json::json!([]), "{parsed}");
        assert_eq!(
            (parsed["version"].as_str(), parsed["calscale"].as_str()),
            (Some("2.0"), Some("GREGORIAN"))
        );
        assert!(parsed["name"].as_str().unwrap().contains("Acme MSP"));
        let fetches = parsed["fetches"].as_array().unwrap();
        for fetched in fetches {
            let mut parsed_uids: Vec<String> = fetched
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["uid"].as_str().unwrap().to_owned())
                .collect();
            parsed_uids.sort();
            assert_eq!(parsed_uids, uids(&events_1));
        }
        let parsed_late = fetches[0]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["uid"] == late["UID"].as_str())
            .unwrap();
        assert_eq!(parsed_late["dtstart"], "2027-03-11");
        assert_eq!(parsed_late["dtend"], "2027-03-12");
        assert_eq!(parsed_late["all_day"], true);
        assert_eq!(
            parsed_late["summary"],
            format!("3CX license expires: {CUSTOMER} / {INSTANCE}"),
            "escaping and folding undone exactly"
        );
        assert!(
            parsed_late["description"]
                .as_str()
                .unwrap()
                .contains(&format!(
                    "\nInstance: {INSTANCE}\nLicense key: KEY-AFTER-MIDNIGHT\n"
                )),
            "{parsed_late}"
        );
        assert_eq!(
            parsed_late["url"],
            "https://portal.3cx.com/?license=KEY-AFTER-MIDNIGHT"
        );
        assert_eq!(parsed_late["alarm_days"], serde_json::json!([]));
        assert_eq!(
            parsed["stored"].as_u64().unwrap(),
            u64::try_from(events_1.len()).unwrap(),
            "two imports, no duplicates"
        );
    }

    // A renewal moves the date: the event's UID changes with it, and the old one leaves.
    set_expiry(
        &app,
        app.tenant,
        after_midnight,
        "KEY-AFTER-MIDNIGHT",
        "2028-03-10T10:30:00Z".parse().unwrap(),
    )
    .await;
    let renewed = events(&fetch(&url).await.body);
    let new_uid = uid_of(&renewed, after_midnight).unwrap();
    assert_eq!(
        new_uid,
        format!(
            "{}-20280311@tenant-{}.runway",
            after_midnight.0, app.tenant.0
        )
    );
    assert!(!renewed.iter().any(|e| e["UID"] == late["UID"]));
    assert_eq!(
        uid_of(&renewed, before_midnight),
        Some(early["UID"].clone()),
        "the other instance's event is untouched"
    );

    // Alarms at the tenant's milestones when asked for.
    let with_alarms = fetch(&format!("{url}?alarms=1")).await;
    assert_eq!(with_alarms.status, 200);
    let lines = content_lines(&with_alarms.body);
    for trigger in ["-P10D", "-P3D", "-P1D"] {
        assert!(
            lines.contains(&format!("TRIGGER;RELATED=START:{trigger}")),
            "{trigger}"
        );
    }
    assert_eq!(
        with_alarms.body.matches("BEGIN:VALARM").count(),
        3 * renewed.len()
    );
    assert!(with_alarms.body.contains("ACTION:DISPLAY\r\n"));
    if let Some(parsed) = parse_with_python(&[&with_alarms.body]).await {
        assert_eq!(parsed["errors"], serde_json::json!([]), "{parsed}");
        for event in parsed["fetches"][0].as_array().unwrap() {
            assert_eq!(
                event["alarm_days"],
                serde_json::json!([-10, -3, -1]),
                "{event}"
            );
        }
    }
}

async fn a_rotated_or_revoked_feed_url_answers_404_and_only_admins_make_one(backend: Backend) {
    let Some(app) = spawn_with(backend, Options::default()).await else {
        return;
    };
    for email in ["viewer@acme.example", "technician@acme.example"] {
        let user = app.signed_in(email).await;
        let refused = user
            .post_json("/api/v1/calendar-feed", &serde_json::json!({}))
            .await;
        assert_eq!(refused.status, 403, "{email}: {}", refused.body);
        assert!(!refused.body.contains("rwcal_"));
        let page = user.post_form("/calendar-feed", &[]).await;
        assert_eq!(page.status, 403, "{email}");
        assert!(!page.body.contains("rwcal_"));
    }
    let unknown = fetch(&format!(
        "{}/calendar/rwcal_{}.ics",
        app.base,
        "0".repeat(64)
    ))
    .await;
    assert_eq!(unknown.status, 404);

    let first = make_feed(&app, "admin@acme.example").await;
    assert_eq!(fetch(&first).await.status, 200);
    let second = make_feed(&app, "owner@acme.example").await;
    assert_ne!(first, second);
    let gone = fetch(&first).await;
    assert_eq!(gone.status, 404, "the rotated URL is dead");
    for secret in ["Acme", "Alpha", "Bravo", "BEGIN:"] {
        assert!(!gone.body.contains(secret), "a 404 tells nothing: {secret}");
    }
    assert_eq!(fetch(&second).await.status, 200);
    // Without `.ics` the token opens nothing either.
    assert_eq!(
        fetch(second.strip_suffix(".ics").unwrap()).await.status,
        404
    );

    let admin = app.signed_in("admin@acme.example").await;
    let revoked = admin
        .send_json(
            reqwest::Method::DELETE,
            "/api/v1/calendar-feed",
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    assert_eq!(fetch(&second).await.status, 404, "the revoked URL is dead");
    assert_eq!(
        admin.get("/api/v1/calendar-feed").await.json()["exists"],
        false
    );

    // The settings page: the URL is shown once, the calendar offers to subscribe, and the
    // revoke button ends it.
    let settings = admin.get("/settings").await;
    assert!(
        settings.body.contains("No feed address yet"),
        "{}",
        settings.body
    );
    assert!(
        !admin
            .get("/")
            .await
            .body
            .contains("id=\"calendar-subscribe\"")
    );
    let made = admin.post_form("/calendar-feed", &[]).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let at = made.body.find("id=\"feed-url\" readonly value=\"").unwrap();
    let rest = &made.body[at + "id=\"feed-url\" readonly value=\"".len()..];
    let page_url = rest[..rest.find('"').unwrap()].to_owned();
    runway_testkit::secrets::used(&page_url);
    assert!(page_url.starts_with(&format!("{}/calendar/rwcal_", app.base)));
    assert!(made.body.contains("Outlook") && made.body.contains("Google Calendar"));
    assert_eq!(fetch(&page_url).await.status, 200);
    let shown_again = admin.get("/settings").await.body;
    assert!(!shown_again.contains(&page_url), "shown once only");
    assert!(shown_again.contains("A feed address is in use since"));
    let status_page = app.signed_in("viewer@acme.example").await.get("/").await;
    assert!(
        status_page.body.contains(
            "<a href=\"/settings#calendar-feed\" id=\"calendar-subscribe\">Subscribe</a>"
        ),
        "the calendar offers to subscribe once a feed exists"
    );
    let revoked = admin.post_form("/calendar-feed/revoke", &[]).await;
    assert_eq!(revoked.status, 303);
    assert_eq!(fetch(&page_url).await.status, 404);

    // Every make and revoke is in the audit log, never with the URL.
    let audit = admin.get("/api/v1/audit?limit=100").await;
    let actions: Vec<String> = audit
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "calendar_feed_created")
            .count(),
        3,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "calendar_feed_revoked")
            .count(),
        2,
        "{actions:?}"
    );
    assert!(!audit.body.contains("rwcal_"));
}

async fn a_tenants_feed_never_shows_another_tenants_instances(backend: Backend) {
    let Some(app) = spawn_with(backend, Options::default()).await else {
        return;
    };
    let other = other_tenant(&app).await;
    let theirs = manual_instance(
        &app,
        other,
        "Other Customer",
        "Other PBX",
        "OTHER-KEY",
        "2027-05-01T12:00:00Z".parse().unwrap(),
    )
    .await;
    let ours_url = make_feed(&app, "admin@acme.example").await;
    let theirs_url = make_feed(&app, "owner@other.example").await;

    let ours = fetch(&ours_url).await.body;
    let their_feed = fetch(&theirs_url).await.body;
    let their_events = events(&their_feed);
    assert_eq!(their_events.len(), 1, "{their_feed}");
    assert_eq!(
        uid_of(&their_events, theirs).unwrap(),
        format!("{}-20270501@tenant-{}.runway", theirs.0, other.0)
    );
    for ours_only in ["Alpha", "Bravo", "Charlie", "Acme MSP"] {
        assert!(!their_feed.contains(ours_only), "{ours_only} leaked");
    }
    for id in app.ids.values() {
        assert!(uid_of(&their_events, *id).is_none());
    }
    assert!(!ours.contains("Other PBX") && !ours.contains("OTHER-KEY"));
    assert!(uid_of(&events(&ours), theirs).is_none());
}

mod sqlite {
    use runway_testkit::Backend;

    #[tokio::test]
    async fn the_feed_lists_each_expiry_on_its_local_date_with_a_uid_that_follows_the_date() {
        super::the_feed_lists_each_expiry_on_its_local_date_with_a_uid_that_follows_the_date(
            Backend::Sqlite,
        )
        .await;
    }

    #[tokio::test]
    async fn a_rotated_or_revoked_feed_url_answers_404_and_only_admins_make_one() {
        super::a_rotated_or_revoked_feed_url_answers_404_and_only_admins_make_one(Backend::Sqlite)
            .await;
    }

    #[tokio::test]
    async fn a_tenants_feed_never_shows_another_tenants_instances() {
        super::a_tenants_feed_never_shows_another_tenants_instances(Backend::Sqlite).await;
    }
}

mod postgres {
    use runway_testkit::Backend;

    #[tokio::test]
    async fn the_feed_lists_each_expiry_on_its_local_date_with_a_uid_that_follows_the_date() {
        super::the_feed_lists_each_expiry_on_its_local_date_with_a_uid_that_follows_the_date(
            Backend::Postgres,
        )
        .await;
    }

    #[tokio::test]
    async fn a_rotated_or_revoked_feed_url_answers_404_and_only_admins_make_one() {
        super::a_rotated_or_revoked_feed_url_answers_404_and_only_admins_make_one(
            Backend::Postgres,
        )
        .await;
    }

    #[tokio::test]
    async fn a_tenants_feed_never_shows_another_tenants_instances() {
        super::a_tenants_feed_never_shows_another_tenants_instances(Backend::Postgres).await;
    }
}
