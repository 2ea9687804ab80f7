//! What a notification says to a person, once for every channel that shows text (Slack, Teams,
//! email, PagerDuty's details): a title, a status, and the facts in the product's words. Each
//! channel only lays these out in its own format.

use runway_core::Severity;
use runway_store::{AlertKind, Notice, NoticeAction};

use crate::text::truncate;

/// The longest a single fact's value gets (a customer name, a license key): far below every
/// channel's limits, so no one long value pushes the others out.
const FACT_CHARS: usize = 200;

/// Where a notification stands, which picks its colour in every channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// A trigger at this severity.
    Firing(Severity),
    /// The alert resolved.
    Resolved,
    /// A test from the channel's button.
    Test,
}

impl Status {
    /// The status of a notice.
    pub(crate) fn of(notice: &Notice) -> Status {
        match notice.action {
            NoticeAction::Trigger | NoticeAction::Problem => Status::Firing(notice.severity),
            NoticeAction::Resolve => Status::Resolved,
            NoticeAction::Test => Status::Test,
        }
    }
}

/// The lower-case name of a severity, as PagerDuty and Alertmanager spell it.
pub(crate) fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// One line for a title or a notification: the store's summary, tagged with the severity when
/// it fires (a resolve's or a test's summary already says what it is).
pub(crate) fn title(notice: &Notice) -> String {
    match notice.action {
        NoticeAction::Trigger | NoticeAction::Problem => {
            format!("[{}] {}", notice.severity, notice.summary)
        }
        NoticeAction::Resolve | NoticeAction::Test => notice.summary.clone(),
    }
}

/// The facts of a notice as (label, value) pairs, in the order people read them; facts the
/// notice does not know are left out.
pub(crate) fn facts(notice: &Notice) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("Customer", notice.customer_name.clone()),
        ("Instance", notice.instance_name.clone()),
    ];
    if let Some(key) = &notice.license_key {
        facts.push(("License key", key.clone()));
    }
    if let Some(edition) = &notice.edition {
        facts.push(("Edition", edition.clone()));
    }
    if let Some(date) = notice.expiry_date {
        let label = match notice.kind {
            AlertKind::MaintenanceExpiry => "Maintenance expires",
            _ => "Expires",
        };
        facts.push((label, format!("{date} ({})", notice.zone)));
    }
    if notice.action != NoticeAction::Resolve
        && let Some(days) = notice.days_left
    {
        facts.push(("Days left", days_left(days)));
    }
    if notice.kind == AlertKind::NotRead && notice.action == NoticeAction::Trigger {
        facts.push(("Problem", "Runway has not been able to read it".to_owned()));
    }
    if notice.action == NoticeAction::Resolve {
        let note = notice
            .resolution_note
            .clone()
            .or_else(|| notice.resolution.map(|r| r.as_str().replace('_', " ")))
            .unwrap_or_else(|| "resolved".to_owned());
        facts.push(("Resolved", note));
    }
    facts
        .into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(label, value)| (label, truncate(value.trim(), FACT_CHARS)))
        .collect()
}

/// A one-line status: "CRITICAL · 3-day reminder", "RESOLVED", "TEST".
pub(crate) fn status_line(notice: &Notice) -> String {
    match Status::of(notice) {
        Status::Firing(severity) => match stage_words(&notice.stage) {
            Some(stage) => format!("{severity} · {stage}"),
            None => severity.to_string(),
        },
        Status::Resolved => "RESOLVED".to_owned(),
        Status::Test => "TEST: a test notification, nothing to do".to_owned(),
    }
}

/// A stored stage in words: `milestone:3` → "3-day reminder", `lapse` → "license lapsed".
pub(crate) fn stage_words(stage: &str) -> Option<String> {
    match stage {
        "lapse" => Some("license lapsed".to_owned()),
        "not_read" => Some("not read".to_owned()),
        "" => None,
        other => Some(match other.strip_prefix("milestone:") {
            Some(days) => format!("{days}-day reminder"),
            None => other.to_owned(),
        }),
    }
}

/// Days left in words: "3", "today (0)", "expired 2 days ago".
fn days_left(days: i32) -> String {
    match days {
        0 => "0 (expires today)".to_owned(),
        1 => "1 (expires tomorrow)".to_owned(),
        -1 => "expired 1 day ago".to_owned(),
        d if d < 0 => format!("expired {} days ago", d.unsigned_abs()),
        d => d.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Notices for the unit tests of every channel.

    use jiff::civil::date;
    use runway_core::Severity;
    use runway_store::{AlertId, AlertKind, AlertResolution, InstanceId, Notice, NoticeAction};

    /// A critical reminder three days before expiry.
    pub(crate) fn trigger() -> Notice {
        Notice {
            idempotency_key: "runway:t1:i7:license_expiry:2026-12-01:milestone:3".to_owned(),
            series_key: "runway:t1:i7:license_expiry:2026-12-01".to_owned(),
            action: NoticeAction::Trigger,
            alert_id: Some(AlertId(42)),
            kind: AlertKind::LicenseExpiry,
            severity: Severity::Critical,
            stage: "milestone:3".to_owned(),
            days_left: Some(3),
            instance_id: InstanceId(7),
            instance_name: "pbx-01".to_owned(),
            customer_name: "Smith & Sons <Ltd>".to_owned(),
            customer_id: None,
            license_key: Some("ABCD-EFGH-IJKL-MNOP".to_owned()),
            edition: Some("Enterprise".to_owned()),
            expiry_date: Some(date(2026, 12, 1)),
            zone: "Europe/Berlin".to_owned(),
            renew_url: Some("https://www.3cx.com/renew?key=ABCD-EFGH-IJKL-MNOP&x=1".to_owned()),
            resolution: None,
            resolution_note: None,
            summary: "pbx-01 (Smith & Sons <Ltd>): license expires in 3 days on 2026-12-01"
                .to_owned(),
            at: "2026-11-28T08:00:00Z".parse().expect("a timestamp"),
        }
    }

    /// The same series, resolved by a renewal.
    pub(crate) fn resolve() -> Notice {
        Notice {
            idempotency_key: "runway:t1:i7:license_expiry:2026-12-01:resolve:1".to_owned(),
            action: NoticeAction::Resolve,
            resolution: Some(AlertResolution::Renewed),
            resolution_note: Some("renewed: new expiry 2027-12-01".to_owned()),
            summary: "Resolved: pbx-01 (Smith & Sons <Ltd>): renewed: new expiry 2027-12-01"
                .to_owned(),
            at: "2026-11-29T09:30:00Z".parse().expect("a timestamp"),
            ..trigger()
        }
    }

    /// A test from the channel's button.
    pub(crate) fn test() -> Notice {
        Notice {
            idempotency_key: "runway:t1:test:channel:3:1764316800".to_owned(),
            series_key: "runway:t1:test:channel:3".to_owned(),
            action: NoticeAction::Test,
            alert_id: None,
            severity: Severity::Info,
            summary: "Test notification from Runway: pbx-01 (Smith & Sons <Ltd>): license \
                      expires in 3 days on 2026-12-01"
                .to_owned(),
            ..trigger()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{resolve, trigger};
    use super::*;

    #[test]
    fn a_trigger_title_names_the_severity_and_a_resolve_title_does_not() {
        assert_eq!(
            title(&trigger()),
            "[CRITICAL] pbx-01 (Smith & Sons <Ltd>): license expires in 3 days on 2026-12-01"
        );
        assert!(title(&resolve()).starts_with("Resolved: "));
    }

    #[test]
    fn the_facts_name_the_expiry_in_the_tenants_zone_and_a_resolve_the_new_expiry() {
        let facts = facts(&trigger());
        assert!(facts.contains(&("Expires", "2026-12-01 (Europe/Berlin)".to_owned())));
        assert!(facts.contains(&("Days left", "3".to_owned())));
        let resolved = super::facts(&resolve());
        assert!(resolved.contains(&("Resolved", "renewed: new expiry 2027-12-01".to_owned())));
        assert!(!resolved.iter().any(|(label, _)| *label == "Days left"));
    }

    #[test]
    fn the_status_line_names_severity_and_stage() {
        assert_eq!(status_line(&trigger()), "CRITICAL · 3-day reminder");
        assert_eq!(status_line(&resolve()), "RESOLVED");
        assert_eq!(stage_words("lapse").as_deref(), Some("license lapsed"));
    }

    #[test]
    fn days_left_read_as_words_around_the_expiry() {
        assert_eq!(days_left(0), "0 (expires today)");
        assert_eq!(days_left(-3), "expired 3 days ago");
        assert_eq!(days_left(14), "14");
    }
}
