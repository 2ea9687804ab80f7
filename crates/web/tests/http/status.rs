//! The License Status page and its API twin: counters, order, days left, calendar, filters,
//! stale rows — checked against an expectation built here from the scenario's dates, not from
//! runway-core.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use runway_core::Secret;
use runway_store::{Credentials, InstanceUpdate, Login, Trigger};

use crate::helpers::{App, ZONE, spawn_app};

/// One row as the page shows it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) instance: i64,
    pub(crate) band: String,
    pub(crate) expiry: String,
    pub(crate) days_left: String,
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let at = text.find(start)? + start.len();
    let rest = &text[at..];
    Some(&rest[..rest.find(end)?])
}

fn table_rows(body: &str) -> Vec<Row> {
    let table = between(body, "id=\"status-table\"", "</table>").unwrap();
    table
        .split("<tr class=\"band-")
        .skip(1)
        .map(|chunk| Row {
            band: chunk[..chunk.find('"').unwrap()].to_owned(),
            instance: between(chunk, "data-instance-id=\"", "\"")
                .unwrap()
                .parse()
                .unwrap(),
            expiry: between(chunk, "<td class=\"expiry\">", "</td>")
                .unwrap()
                .trim()
                .to_owned(),
            days_left: between(chunk, "<td class=\"days-left\">", "</td>")
                .unwrap()
                .trim()
                .to_owned(),
        })
        .collect()
}

fn counter(body: &str, band: &str) -> usize {
    let chunk = between(body, &format!("id=\"counter-{band}\""), "</a>").unwrap();
    between(chunk, "<span class=\"count\">", "</span>")
        .unwrap()
        .parse()
        .unwrap()
}

/// The local date `days` days from `now` in the tenant's zone, computed with jiff alone.
pub(crate) fn date_in(now: Timestamp, days: i64) -> jiff::civil::Date {
    let tz = TimeZone::get(ZONE).unwrap();
    (now + SignedDuration::from_hours(24 * days))
        .to_zoned_datetime(tz)
        .date()
}

/// The expected table: (pbx, band, days from now or none, days-left text), in the order the
/// product rules give (most overdue first, then soonest, unknown last).
pub(crate) fn expected(app: &App) -> Vec<Row> {
    let rows: [(&str, &str, Option<i64>, &str); 6] = [
        ("overdue", "expired", Some(-3), "3d overdue"),
        ("tomorrow", "critical", Some(1), "1 day"),
        ("renewing", "critical", Some(12), "12 days"),
        ("warning", "warning", Some(45), "45 days"),
        ("active", "active", Some(200), "200 days"),
        ("nodate", "unknown", None, "—"),
    ];
    rows.iter()
        .map(|(pbx, band, days, text)| Row {
            instance: app.id(pbx).0,
            band: (*band).to_owned(),
            expiry: days.map_or_else(|| "—".to_owned(), |d| date_in(app.now, d).to_string()),
            days_left: (*text).to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn the_table_is_sorted_counted_and_dated_in_the_tenants_zone() {
    let app = spawn_app().await;
    let browser = app.signed_in("viewer@acme.example").await;
    let page = browser.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(table_rows(&page.body), expected(&app));
    for (band, count) in [
        ("expired", 1),
        ("critical", 2),
        ("warning", 1),
        ("active", 1),
        ("unknown", 1),
    ] {
        assert_eq!(counter(&page.body, band), count, "{band}");
    }
    // Each row names its customer and FQDN, and renews the right key in a new tab.
    assert!(page.body.contains("alpha-north.example.com"));
    assert!(page.body.contains("Alpha Dental"));
    let license = app
        .store
        .license(app.tenant, app.id("tomorrow"))
        .await
        .unwrap();
    let key = license.good.unwrap().facts.license_key.unwrap();
    assert!(
        page.body.contains(&format!(
            "href=\"https://portal.3cx.com/?license={key}\" target=\"_blank\" rel=\"noopener noreferrer\""
        )),
        "renewal link for {key}"
    );
    assert!(page.body.contains("36 human · 2 AI"), "seat split");

    // The API: same rows in the same order, same counters.
    let api = browser.get("/api/v1/licenses").await.json();
    let ids: Vec<i64> = api["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["instance_id"].as_i64().unwrap())
        .collect();
    let expected_ids: Vec<i64> = expected(&app).iter().map(|r| r.instance).collect();
    assert_eq!(ids, expected_ids);
    assert_eq!(api["counters"]["critical"], 2);
    assert_eq!(api["rows"][0]["days_left"], -3);
    assert_eq!(api["rows"][1]["days_left_text"], "1 day");
}

#[tokio::test]
async fn time_moving_on_moves_the_days_left_and_the_bands() {
    let app = spawn_app().await;
    let browser = app.signed_in("viewer@acme.example").await;
    app.clock.advance(std::time::Duration::from_hours(24 * 2));
    assert_eq!(
        browser.get("/").await.status,
        303,
        "a 12-hour session is over two days later"
    );
    let browser = app.signed_in("viewer@acme.example").await;
    let rows = table_rows(&browser.get("/").await.body);
    let tomorrow = rows
        .iter()
        .find(|r| r.instance == app.id("tomorrow").0)
        .unwrap();
    assert_eq!(
        (tomorrow.band.as_str(), tomorrow.days_left.as_str()),
        ("expired", "1d overdue")
    );
    assert_eq!(rows[0].instance, app.id("overdue").0, "most overdue first");
    assert_eq!(rows[1].instance, app.id("tomorrow").0);
}

#[tokio::test]
async fn the_calendar_groups_overdue_first_then_months_in_order() {
    let app = spawn_app().await;
    let browser = app.signed_in("viewer@acme.example").await;
    let body = browser.get("/").await.body;
    let calendar = &body[body.find("id=\"calendar\"").unwrap()..];
    let headings: Vec<&str> = calendar
        .split("data-heading=\"")
        .skip(1)
        .map(|c| &c[..c.find('"').unwrap()])
        .collect();
    let mut months: Vec<(jiff::civil::Date, String)> = [1, 12, 45, 200]
        .iter()
        .map(|d| {
            let date = date_in(app.now, *d);
            (date.first_of_month(), date.strftime("%B %Y").to_string())
        })
        .collect();
    months.dedup();
    let mut expected = vec!["Overdue".to_owned()];
    expected.extend(months.into_iter().map(|(_, m)| m));
    assert_eq!(headings, expected);
    // Each instance sits under its own month.
    for (pbx, days) in [
        ("tomorrow", 1),
        ("renewing", 12),
        ("warning", 45),
        ("active", 200),
    ] {
        let heading = date_in(app.now, days).strftime("%B %Y").to_string();
        let group = between(calendar, &format!("data-heading=\"{heading}\""), "</ul>").unwrap();
        assert!(
            group.contains(&format!("data-instance-id=\"{}\"", app.id(pbx).0)),
            "{pbx} in {heading}"
        );
    }
    let overdue = between(calendar, "data-heading=\"Overdue\"", "</ul>").unwrap();
    assert!(overdue.contains(&format!("href=\"/instances/{}\"", app.id("overdue").0)));
    assert!(overdue.contains("3d overdue"));
    assert!(
        !calendar.contains(&format!("data-instance-id=\"{}\"", app.id("nodate").0)),
        "undated ones are not in the calendar"
    );

    let api = browser.get("/api/v1/calendar").await.json();
    let api_headings: Vec<&str> = api
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["heading"].as_str().unwrap())
        .collect();
    assert_eq!(api_headings, expected);
}

#[tokio::test]
async fn filters_narrow_the_table_but_not_the_counters() {
    let app = spawn_app().await;
    let browser = app.signed_in("viewer@acme.example").await;
    let critical = browser.get("/?band=critical").await.body;
    let rows = table_rows(&critical);
    assert_eq!(
        rows.iter().map(|r| r.instance).collect::<Vec<_>>(),
        [app.id("tomorrow").0, app.id("renewing").0]
    );
    assert_eq!(counter(&critical, "active"), 1);
    let text = table_rows(&browser.get("/?q=CHARLIE").await.body);
    assert_eq!(text.len(), 2);
    let customer = app
        .store
        .instance(app.tenant, app.id("overdue"))
        .await
        .unwrap()
        .customer_id;
    let by_customer = table_rows(&browser.get(&format!("/?customer={customer}")).await.body);
    assert_eq!(
        by_customer.iter().map(|r| r.instance).collect::<Vec<_>>(),
        [app.id("overdue").0, app.id("nodate").0]
    );
    let api = browser.get("/api/v1/licenses?band=warning").await.json();
    assert_eq!(api["rows"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_read_keeps_the_row_and_says_why_it_is_stale() {
    let app = spawn_app().await;
    let id = app.id("warning");
    let instance = app.store.instance(app.tenant, id).await.unwrap();
    let mut update = InstanceUpdate::from_instance(&instance);
    update.login = Some(Login::Pbx(Credentials::ApiClient {
        client_id: "runway".into(),
        client_secret: Secret::new("wrong"),
    }));
    app.store
        .update_instance(app.tenant, id, &update, app.now)
        .await
        .unwrap();
    let outcome = app
        .engine
        .read_instance(app.tenant, id, Trigger::ReadNow)
        .await
        .unwrap();
    let error = outcome.error.unwrap();
    let browser = app.signed_in("viewer@acme.example").await;
    let body = browser.get("/").await.body;
    let row = between(&body, &format!("data-instance-id=\"{}\"", id.0), "</tr>").unwrap();
    assert!(!error.message.is_empty());
    assert!(
        row.contains("class=\"stale\"") && row.contains("stale: "),
        "{row}"
    );
    assert!(
        row.contains(&date_in(app.now, 45).to_string()),
        "the last good expiry stays"
    );
    assert!(row.contains("45 days"));
}

/// The export: the page's rows in the page's order after its filter, as a CSV a spreadsheet
/// opens (UTF-8 mark, header, CRLF) — read back with the `csv` crate — and as JSON.
#[tokio::test]
async fn the_export_holds_the_pages_rows_in_its_order_as_csv_and_json() {
    let app = spawn_app().await;
    let browser = app.signed_in("viewer@acme.example").await;
    let response = browser
        .client
        .get(format!("{}/api/v1/licenses/export", browser.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    let today = date_in(app.now, 0);
    assert_eq!(
        header("content-disposition"),
        format!("attachment; filename=\"runway-licenses-{today}.csv\"")
    );
    let bytes = response.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"\xef\xbb\xbf"),
        "a UTF-8 byte-order mark"
    );
    assert!(bytes.windows(2).any(|w| w == b"\r\n"), "CRLF line ends");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let columns: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    for wanted in [
        "customer",
        "instance",
        "license_key",
        "band",
        "expiry",
        "expiry_at",
        "days_left",
    ] {
        assert!(
            columns.iter().any(|c| c == wanted),
            "{wanted} in {columns:?}"
        );
    }
    let column = |name: &str| columns.iter().position(|c| c == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let api = browser.get("/api/v1/licenses").await.json();
    let api_rows = api["rows"].as_array().unwrap();
    assert_eq!(records.len(), api_rows.len());
    for ((record, row), expected) in records.iter().zip(api_rows).zip(expected(&app)) {
        assert_eq!(
            &record[column("instance")],
            row["instance_name"].as_str().unwrap()
        );
        assert_eq!(&record[column("band")], expected.band);
        let date = if expected.expiry == "—" {
            ""
        } else {
            expected.expiry.as_str()
        };
        assert_eq!(
            &record[column("expiry")],
            date,
            "the civil date in the tenant's zone"
        );
        if let Some(instant) = row["expiry"].as_str() {
            let at: Timestamp = record[column("expiry_at")].parse().unwrap();
            assert_eq!(at, instant.parse::<Timestamp>().unwrap());
            assert_eq!(
                at.to_zoned_datetime(TimeZone::get(ZONE).unwrap())
                    .date()
                    .to_string(),
                date
            );
        }
    }

    // The filter of the page; the page links its export with that filter.
    let critical = browser.get("/api/v1/licenses/export?band=critical").await;
    assert_eq!(
        critical.body.lines().count(),
        3,
        "header and two rows: {}",
        critical.body
    );
    let page = browser.get("/?band=critical").await.body;
    assert!(
        page.contains("href=\"/api/v1/licenses/export?format=csv&#38;band=critical\""),
        "the export link keeps the filter: {}",
        &page[page.find("id=\"export\"").unwrap()..][..200]
    );

    let json = browser.get("/api/v1/licenses/export?format=json").await;
    assert_eq!(
        json.headers["content-type"].to_str().unwrap(),
        "application/json"
    );
    let json = json.json();
    assert_eq!(json["rows"], api["rows"]);
    assert_eq!(json["counters"], api["counters"]);
    assert_eq!(json["zone"], ZONE);
    let bad = browser.get("/api/v1/licenses/export?format=xlsx").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}

/// A name a spreadsheet would run as a formula is exported as text.
#[tokio::test]
async fn the_csv_export_never_hands_a_spreadsheet_a_formula() {
    let app = spawn_app().await;
    let customer = app
        .store
        .instance(app.tenant, app.id("overdue"))
        .await
        .unwrap()
        .customer_id;
    let admin = app.signed_in("admin@acme.example").await;
    let renamed = admin
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/customers/{customer}"),
            &serde_json::json!({"name": "=HYPERLINK(\"http://127.0.0.1/\",\"x\")"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let export = admin.get("/api/v1/licenses/export").await.body;
    let mut reader = csv::Reader::from_reader(export.as_bytes());
    let customers: Vec<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
    assert!(
        customers.contains(&"'=HYPERLINK(\"http://127.0.0.1/\",\"x\")".to_owned()),
        "{customers:?}"
    );
    assert!(customers.iter().all(|c| !c.starts_with('=')));
}
