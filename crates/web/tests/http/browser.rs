//! The dashboard in a real headless Chromium: sign in, read the table as a person sees it
//! (order, counters, colours), follow a calendar entry, press Refresh license and see the
//! expiry before → after. Leaves a screenshot of the status page in `target/screenshots/`.

use std::path::PathBuf;

use runway_testkit::{Chromium, Element};

use crate::helpers::{App, PASSWORD, spawn_app};
use crate::status::{date_in, expected};

/// Where screenshots go: the workspace's `target/screenshots/`.
pub(crate) fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
            PathBuf::from,
        )
        .join("screenshots")
}

/// `rgb(r, g, b)` or `rgba(r, g, b, a)` → (r, g, b).
pub(crate) fn rgb(css: &str) -> (u8, u8, u8) {
    let inner = css
        .trim_start_matches("rgba(")
        .trim_start_matches("rgb(")
        .trim_end_matches(')');
    let parts: Vec<u8> = inner
        .split(',')
        .take(3)
        .map(|p| p.trim().parse().unwrap())
        .collect();
    (parts[0], parts[1], parts[2])
}

pub(crate) async fn sign_in(chrome: &Chromium, app: &App, email: &str) {
    chrome.goto(&format!("{}/", app.base)).await.unwrap();
    assert!(
        chrome.current_url().await.unwrap().contains("/login"),
        "an anonymous visit is sent to sign in"
    );
    let field = chrome.find("#login-form input[name=email]").await.unwrap();
    chrome.type_into(&field, email).await.unwrap();
    let field = chrome
        .find("#login-form input[name=password]")
        .await
        .unwrap();
    chrome.type_into(&field, PASSWORD).await.unwrap();
    let submit = chrome
        .find("#login-form button[type=submit]")
        .await
        .unwrap();
    chrome.click(&submit).await.unwrap();
    chrome.find("#status-table").await.unwrap();
    assert_eq!(
        chrome.current_url().await.unwrap(),
        format!("{}/", app.base)
    );
}

async fn row_of(chrome: &Chromium, row: &Element) -> (i64, String, String, String) {
    let id = chrome
        .attribute(row, "data-instance-id")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let band = chrome.attribute(row, "data-band").await.unwrap().unwrap();
    let text = chrome.text(row).await.unwrap();
    (
        id,
        band,
        text,
        chrome.css_value(row, "background-color").await.unwrap(),
    )
}

#[tokio::test]
async fn a_technician_reads_the_dashboard_follows_the_calendar_and_refreshes_a_license() {
    let app = spawn_app().await;
    let Some(chrome) = Chromium::start().await else {
        return;
    };
    sign_in(&chrome, &app, "technician@acme.example").await;

    // The table: the rows in the product's order, each in its band, each showing its
    // expiry date and days left as the user reads them.
    let rows = chrome.find_all("#status-table tbody tr").await.unwrap();
    let want = expected(&app);
    assert_eq!(rows.len(), want.len());
    let mut backgrounds = Vec::new();
    for (row, want) in rows.iter().zip(&want) {
        let (id, band, text, background) = row_of(&chrome, row).await;
        assert_eq!((id, band.as_str()), (want.instance, want.band.as_str()));
        assert!(
            text.contains(&want.expiry),
            "{text:?} shows {}",
            want.expiry
        );
        assert!(
            text.contains(&want.days_left),
            "{text:?} shows {}",
            want.days_left
        );
        backgrounds.push((band, background));
    }

    // The counters as shown, and the colours: each band's rows are painted the colour of its
    // counter (active rows stay white), expired is red-dominant, and no two bands look alike.
    for (band, count) in [
        ("expired", "1"),
        ("critical", "2"),
        ("warning", "1"),
        ("active", "1"),
        ("unknown", "1"),
    ] {
        let counter = chrome.find(&format!("#counter-{band}")).await.unwrap();
        let shown = chrome
            .text_of(&format!("#counter-{band} .count"))
            .await
            .unwrap();
        assert_eq!(shown, count, "{band} counter");
        let counter_bg = chrome
            .css_value(&counter, "background-color")
            .await
            .unwrap();
        for (row_band, row_bg) in &backgrounds {
            if row_band == band && band != "active" {
                assert_eq!(
                    row_bg, &counter_bg,
                    "{band} rows share their counter's colour"
                );
            }
        }
    }
    let colour = |band: &str| {
        backgrounds
            .iter()
            .find(|(b, _)| b == band)
            .map(|(_, bg)| rgb(bg))
            .unwrap()
    };
    let (r, g, b) = colour("expired");
    assert!(r > g && r > b, "expired rows are red: {:?}", (r, g, b));
    let mut distinct: Vec<_> = ["expired", "critical", "warning", "active", "unknown"]
        .iter()
        .map(|band| colour(band))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "every band has its own colour");

    // Keep a picture of the page for people to look at.
    chrome.set_window_size(1440, 1400).await.unwrap();
    let shot = screenshot_dir().join("status.png");
    chrome.screenshot(&shot).await.unwrap();
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real picture"
    );

    // The calendar: overdue first, then months; its entry leads to the instance.
    let headings = chrome.find_all("#calendar [data-heading]").await.unwrap();
    let first = chrome
        .attribute(&headings[0], "data-heading")
        .await
        .unwrap();
    assert_eq!(first.as_deref(), Some("Overdue"));
    let renewing = app.id("renewing").0;
    let entry = chrome
        .find(&format!("#calendar li[data-instance-id=\"{renewing}\"] a"))
        .await
        .unwrap();
    chrome.click(&entry).await.unwrap();
    chrome.find("#instance").await.unwrap();
    assert_eq!(
        chrome.current_url().await.unwrap(),
        format!("{}/instances/{renewing}", app.base)
    );
    assert!(chrome.text_of("h1").await.unwrap().contains("Alpha Main"));

    // Refresh license: 3CX holds a renewal for this PBX; the page shows the expiry before and
    // after, and the row moves to its new band.
    let button = chrome.find("#refresh-license").await.unwrap();
    chrome.click(&button).await.unwrap();
    chrome.find("#read-outcome").await.unwrap();
    assert_eq!(
        chrome.text_of("#expiry-before").await.unwrap(),
        date_in(app.now, 12).to_string()
    );
    assert_eq!(
        chrome.text_of("#expiry-after").await.unwrap(),
        date_in(app.now, 377).to_string()
    );
    chrome.goto(&format!("{}/", app.base)).await.unwrap();
    let row = chrome
        .find(&format!(
            "#status-table tr[data-instance-id=\"{renewing}\"]"
        ))
        .await
        .unwrap();
    assert_eq!(
        chrome
            .attribute(&row, "data-band")
            .await
            .unwrap()
            .as_deref(),
        Some("active")
    );
    assert_eq!(
        chrome.text_of("#counter-critical .count").await.unwrap(),
        "1"
    );
    chrome.quit().await;
}

#[tokio::test]
async fn a_viewer_sees_no_refresh_button() {
    let app = spawn_app().await;
    let Some(chrome) = Chromium::start().await else {
        return;
    };
    sign_in(&chrome, &app, "viewer@acme.example").await;
    let id = app.id("renewing").0;
    chrome
        .goto(&format!("{}/instances/{id}", app.base))
        .await
        .unwrap();
    assert!(chrome.text_of("h1").await.unwrap().contains("Alpha Main"));
    assert_eq!(chrome.count("#refresh-license").await.unwrap(), 0);
    assert_eq!(
        chrome.count("#instance").await.unwrap(),
        1,
        "the page is there"
    );
    chrome.quit().await;
}
