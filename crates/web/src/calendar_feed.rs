//! The private iCalendar feed: every license expiry of a tenant, for calendar apps, at a secret
//! URL (`/calendar/<token>.ics`) that needs no sign-in.
//!
//! Calendar apps cannot sign in, so the URL is the credential: a 256-bit random token with the
//! `rwcal_` prefix, of which the store keeps only the SHA-256 (like API tokens, see
//! [`crate::auth::tokens`]). The token names the tenant and nothing else can: the feed of a
//! request is the feed its token's hash finds, and an unknown, rotated or revoked token gets
//! the same 404 as any unknown path. A tenant has one feed; making a new URL replaces the old
//! one, which stops working at once.
//!
//! One all-day event per instance with a known expiry, on the date the License Status page
//! shows (the rows of [`crate::view::fleet_view`], whose dates `runway-core` computes in the
//! tenant's zone). Its UID is the instance and that date, so a calendar that fetches again
//! updates the event, and a renewal (a new date) becomes a new event while the old one leaves
//! the feed. With `?alarms=1` each event carries a `VALARM` per reminder milestone.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use runway_core::Secret;
use runway_store::{CalendarFeed, Store, Tenant, TenantId};
use serde::Deserialize;

use crate::auth::tokens::{random_secret, token_hash};
use crate::error::WebError;
use crate::ical::{self, ICalWriter};
use crate::state::AppState;
use crate::view::{Filter, StatusRow, fleet_view};

/// The prefix of every feed token.
pub(crate) const FEED_TOKEN_PREFIX: &str = "rwcal_";

/// The media type of the feed.
pub(crate) const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";

/// The feed's `PRODID`.
const PRODID: &str = "-//Runway//3CX license expiries//EN";

/// How often calendar apps are asked to fetch the feed again.
const REFRESH: &str = "PT1H";

/// The path of the feed a token opens.
pub(crate) fn feed_path(token: &str) -> String {
    format!("/calendar/{token}.ics")
}

/// Makes a new feed URL for the tenant, replacing any earlier one; returns the token (shown
/// once, never stored) and the stored feed.
pub(crate) async fn create_feed(
    store: &dyn Store,
    tenant: TenantId,
    now: Timestamp,
) -> Result<(Secret, CalendarFeed), WebError> {
    let token = format!("{FEED_TOKEN_PREFIX}{}", random_secret()?);
    let feed = store
        .set_calendar_feed(tenant, &token_hash(&token), now)
        .await?;
    Ok((Secret::new(token), feed))
}

/// The scheme and host the caller reached Runway at, for absolute feed URLs: HTTPS when the
/// installation or a trusted proxy says so, the request's `Host` otherwise as given.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    https: bool,
    host: String,
}

impl Origin {
    /// `https://host/path` (or `http://`).
    pub(crate) fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.host)
    }

    /// `webcal://host/path`: the link that opens a calendar app's "subscribe" dialog.
    pub(crate) fn webcal(&self, path: &str) -> String {
        format!("webcal://{}{path}", self.host)
    }
}

impl FromRequestParts<AppState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Origin, std::convert::Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let https = crate::auth::transport::is_https(&state.settings, peer, &parts.headers);
        // Only what a host name and port consist of: the value ends up in a URL shown to users.
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|h| {
                !h.is_empty()
                    && h.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                    })
            })
            .unwrap_or("localhost")
            .to_owned();
        Ok(Origin { https, host })
    }
}

/// What one fetch of the feed asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FeedOptions {
    /// A `VALARM` per reminder milestone on every event.
    pub(crate) alarms: bool,
}

/// The feed's query: `?alarms=1` adds the reminders.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FeedQuery {
    alarms: Option<String>,
}

impl FeedQuery {
    fn options(&self) -> FeedOptions {
        let alarms = self.alarms.as_deref().map(str::trim).is_some_and(|v| {
            ["1", "true", "yes", "on"]
                .iter()
                .any(|w| v.eq_ignore_ascii_case(w))
        });
        FeedOptions { alarms }
    }
}

/// `GET /calendar/{token}.ics`: the feed, without sign-in; 404 unless the token is the
/// tenant's current one.
pub(crate) async fn serve(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(query): Query<FeedQuery>,
) -> Result<Response, WebError> {
    let token = file.strip_suffix(".ics").ok_or(WebError::NotFound)?;
    let feed = state
        .store
        .calendar_feed_by_token(&token_hash(token))
        .await?
        .ok_or(WebError::NotFound)?;
    let tenant = state.store.tenant(feed.tenant_id).await?;
    let fleet = state.store.fleet(tenant.id).await?;
    let now = state.now();
    let view = fleet_view(&fleet, &tenant, now, &Filter::default());
    let body = feed_text(&view.rows, &tenant, now, query.options());
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    // The URL is a secret: no shared cache keeps the answer, no search engine lists it.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex"),
    );
    Ok(response)
}

/// The UID of the event of one instance's expiry date: the same on every fetch while the date
/// holds, a new one when the date changes.
pub(crate) fn event_uid(tenant: TenantId, instance_id: i64, expiry_date: Date) -> String {
    format!(
        "{instance_id}-{}@tenant-{}.runway",
        ical::date(expiry_date),
        tenant.0
    )
}

/// The feed of the given rows (the License Status page's, in its order).
pub(crate) fn feed_text(
    rows: &[StatusRow],
    tenant: &Tenant,
    now: Timestamp,
    options: FeedOptions,
) -> String {
    let settings = &tenant.settings;
    let mut w = ICalWriter::new();
    w.begin("VCALENDAR");
    w.raw("VERSION", "2.0");
    w.raw("PRODID", PRODID);
    w.raw("CALSCALE", "GREGORIAN");
    w.raw("METHOD", "PUBLISH");
    w.text(
        "X-WR-CALNAME",
        &format!("3CX license expiries – {}", settings.name),
    );
    w.text(
        "X-WR-CALDESC",
        &format!(
            "Every 3CX license expiry of {}'s fleet, from Runway (dates in {}).",
            settings.name,
            settings.zone.name()
        ),
    );
    w.text("X-WR-TIMEZONE", settings.zone.name());
    w.raw("REFRESH-INTERVAL;VALUE=DURATION", REFRESH);
    w.raw("X-PUBLISHED-TTL", REFRESH);
    let stamp = ical::utc_date_time(now);
    for row in rows {
        // The date the page shows; rows without one have no event.
        let Some(date) = row
            .expiry_date
            .as_deref()
            .and_then(|d| d.parse::<Date>().ok())
        else {
            continue;
        };
        let Some(next_day) = date.tomorrow().ok() else {
            continue;
        };
        let title = format!("{} / {}", row.customer_name, row.instance_name);
        w.begin("VEVENT");
        w.text("UID", &event_uid(tenant.id, row.instance_id, date));
        w.raw("DTSTAMP", &stamp);
        w.raw("DTSTART;VALUE=DATE", &ical::date(date));
        w.raw("DTEND;VALUE=DATE", &ical::date(next_day));
        w.text("SUMMARY", &format!("3CX license expires: {title}"));
        w.text("DESCRIPTION", &description(row, date, settings.zone.name()));
        if let Some(url) = &row.renew_url {
            w.raw("URL", url);
        }
        // An all-day marker, not a meeting: it should not show the day as busy.
        w.raw("TRANSP", "TRANSPARENT");
        if options.alarms {
            for milestone in settings.reminders.milestones() {
                let days = milestone.days_before;
                w.begin("VALARM");
                w.raw("ACTION", "DISPLAY");
                w.text(
                    "DESCRIPTION",
                    &match days {
                        0 => format!("3CX license expires today: {title}"),
                        1 => format!("3CX license expires tomorrow: {title}"),
                        n => format!("3CX license expires in {n} days: {title}"),
                    },
                );
                w.raw("TRIGGER;RELATED=START", &format!("-P{days}D"));
                w.end("VALARM");
            }
        }
        w.end("VEVENT");
    }
    w.end("VCALENDAR");
    w.finish()
}

/// The event's description: who, which PBX, which key and edition, and where to renew.
fn description(row: &StatusRow, date: Date, zone: &str) -> String {
    let mut lines = vec![
        format!("Customer: {}", row.customer_name),
        if row.fqdn.is_empty() {
            format!("Instance: {}", row.instance_name)
        } else {
            format!("Instance: {} ({})", row.instance_name, row.fqdn)
        },
    ];
    if let Some(key) = &row.license_key {
        lines.push(format!("License key: {key}"));
    }
    lines.push(format!("Edition: {}", row.edition));
    lines.push(format!("Expires: {date} ({zone})"));
    if let Some(url) = &row.renew_url {
        lines.push(format!("Renew: {url}"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use runway_store::TenantSettings;

    fn row(id: i64, customer: &str, date: Option<&str>) -> StatusRow {
        StatusRow {
            instance_id: id,
            instance_name: "HQ".into(),
            customer_id: 1,
            customer_name: customer.into(),
            fqdn: "pbx.example.com".into(),
            manual: false,
            enabled: true,
            edition: "Professional (annual)".into(),
            license_key: Some("ABCD-1234".into()),
            product_code: None,
            version: None,
            band: "active".into(),
            band_label: "Active".into(),
            expiry: None,
            expiry_date: date.map(str::to_owned),
            days_left: None,
            days_left_text: None,
            max_sim_calls: None,
            seats: None,
            maintenance_expiry: None,
            maintenance_date: None,
            maintenance_lapsed: false,
            last_read_at: None,
            last_read_instant: None,
            stale: None,
            renew_url: Some("https://portal.3cx.com/?license=ABCD-1234".into()),
        }
    }

    fn tenant() -> Tenant {
        Tenant {
            id: TenantId(7),
            settings: TenantSettings::new("Acme; MSP, Zürich"),
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn unfolded(text: &str) -> Vec<String> {
        text.replace("\r\n ", "")
            .split("\r\n")
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn one_all_day_event_per_dated_row_with_escaped_text_and_a_stable_uid() {
        let now: Timestamp = "2026-12-03T12:00:00Z".parse().unwrap();
        let rows = [
            row(12, "Smith, Jones; Partners", Some("2027-02-28")),
            row(13, "No date", None),
        ];
        let text = feed_text(&rows, &tenant(), now, FeedOptions::default());
        let lines = unfolded(&text);
        for expected in [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "CALSCALE:GREGORIAN",
            "X-WR-CALNAME:3CX license expiries – Acme\\; MSP\\, Zürich",
            "UID:12-20270228@tenant-7.runway",
            "DTSTAMP:20261203T120000Z",
            "DTSTART;VALUE=DATE:20270228",
            "DTEND;VALUE=DATE:20270301",
            "SUMMARY:3CX license expires: Smith\\, Jones\\; Partners / HQ",
            "URL:https://portal.3cx.com/?license=ABCD-1234",
        ] {
            assert!(lines.iter().any(|l| l == expected), "{expected}\n{text}");
        }
        let description = lines
            .iter()
            .find(|l| l.starts_with("DESCRIPTION:"))
            .unwrap();
        assert!(
            description.contains("\\nLicense key: ABCD-1234\\nEdition: Professional (annual)\\n"),
            "{description}"
        );
        assert_eq!(
            text.matches("BEGIN:VEVENT").count(),
            1,
            "no event without a date"
        );
        assert!(!text.contains("VALARM"));
        assert!(text.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn alarms_follow_the_tenant_milestones_when_asked_for() {
        let now: Timestamp = "2026-12-03T12:00:00Z".parse().unwrap();
        let rows = [row(12, "Acme", Some("2027-01-31"))];
        let text = feed_text(&rows, &tenant(), now, FeedOptions { alarms: true });
        let triggers: Vec<String> = unfolded(&text)
            .into_iter()
            .filter(|l| l.starts_with("TRIGGER"))
            .collect();
        assert_eq!(
            triggers,
            [
                "TRIGGER;RELATED=START:-P10D",
                "TRIGGER;RELATED=START:-P3D",
                "TRIGGER;RELATED=START:-P1D"
            ]
        );
        assert_eq!(text.matches("ACTION:DISPLAY").count(), 3);
    }

    #[test]
    fn the_uid_names_instance_and_date() {
        let uid = event_uid(TenantId(3), 41, jiff::civil::date(2027, 3, 1));
        assert_eq!(uid, "41-20270301@tenant-3.runway");
        assert_ne!(
            uid,
            event_uid(TenantId(3), 41, jiff::civil::date(2027, 3, 2))
        );
    }

    #[test]
    fn alarms_are_asked_for_with_a_yes_like_value() {
        for (value, alarms) in [("1", true), ("TRUE", true), ("0", false), ("", false)] {
            let query = FeedQuery {
                alarms: Some(value.into()),
            };
            assert_eq!(query.options().alarms, alarms, "{value:?}");
        }
        assert!(!FeedQuery::default().options().alarms);
    }
}
