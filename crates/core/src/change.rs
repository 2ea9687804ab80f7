//! What changed between two readings of a license: the instance's history.
//!
//! Every successful read is compared with the last good one. License fields that differ are
//! listed before → after (a renewal shows as the expiry moving; an upgrade as the edition and
//! call limit changing). Seat counts move every day and are not "changes"; instead a crossing of
//! the capacity threshold ([`CAPACITY_THRESHOLD_PERCENT`]) is reported. How a change is put in
//! words ([`FieldChange::describe`], [`CapacityCrossing::describe`]) lives here too, so the
//! event log and the history say the same thing.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::license::LicenseFacts;
use crate::seats::{CAPACITY_THRESHOLD_PERCENT, CapacityCrossing, SeatUsage, capacity_crossing};
use crate::zone::Zone;

/// A license field whose change is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseField {
    /// The expiry instant.
    Expiry,
    /// The maintenance expiry instant.
    Maintenance,
    /// The license key.
    LicenseKey,
    /// The product code.
    ProductCode,
    /// The resolved edition label.
    Edition,
    /// The PBX's license-active flag.
    LicenseActive,
    /// The simultaneous-call limit.
    MaxSimCalls,
    /// The user cap.
    UsersLicensed,
    /// The PBX's version.
    Version,
    /// The reseller.
    Reseller,
}

impl fmt::Display for LicenseField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LicenseField::Expiry => "expiry",
            LicenseField::Maintenance => "maintenance expiry",
            LicenseField::LicenseKey => "license key",
            LicenseField::ProductCode => "product code",
            LicenseField::Edition => "edition",
            LicenseField::LicenseActive => "license active",
            LicenseField::MaxSimCalls => "simultaneous calls",
            LicenseField::UsersLicensed => "licensed users",
            LicenseField::Version => "version",
            LicenseField::Reseller => "reseller",
        })
    }
}

impl LicenseField {
    /// The field's name in JSON (an event's before/after values).
    pub fn key(self) -> &'static str {
        match self {
            LicenseField::Expiry => "expiry",
            LicenseField::Maintenance => "maintenance_expiry",
            LicenseField::LicenseKey => "license_key",
            LicenseField::ProductCode => "product_code",
            LicenseField::Edition => "edition",
            LicenseField::LicenseActive => "license_active",
            LicenseField::MaxSimCalls => "max_sim_calls",
            LicenseField::UsersLicensed => "users_licensed",
            LicenseField::Version => "version",
            LicenseField::Reseller => "reseller",
        }
    }

    /// Whether the field holds an instant (shown as the tenant's calendar date).
    fn is_instant(self) -> bool {
        matches!(self, LicenseField::Expiry | LicenseField::Maintenance)
    }
}

/// One field's value before and after; `None` = not reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Which field.
    pub field: LicenseField,
    /// The value before, as text (instants in RFC 3339, UTC).
    pub before: Option<String>,
    /// The value after.
    pub after: Option<String>,
}

impl FieldChange {
    /// The change in words, instants as the tenant's calendar dates: "expiry 2026-11-30 →
    /// 2027-11-30", "edition Professional (annual) → Enterprise / AI (annual)"; a value not
    /// reported is "none". The one wording of a change: the event log and the reading history
    /// both use it.
    pub fn describe(&self, zone: &Zone) -> String {
        let show = |value: &Option<String>| match value {
            None => "none".to_owned(),
            Some(text) if self.field.is_instant() => text
                .parse::<Timestamp>()
                .map_or_else(|_| text.clone(), |t| zone.date_of(t).to_string()),
            Some(text) => text.clone(),
        };
        format!(
            "{} {} → {}",
            self.field,
            show(&self.before),
            show(&self.after)
        )
    }
}

impl CapacityCrossing {
    /// The crossing in words, with the usage after it when known: "Seat usage reached 90% of
    /// the license (19 of 20 users, 95%)".
    pub fn describe(self, usage: Option<&SeatUsage>) -> String {
        let way = match self {
            CapacityCrossing::Up => "reached",
            CapacityCrossing::Down => "fell below",
        };
        let detail = usage.map_or_else(String::new, |u| {
            format!(
                " ({} of {} users, {}%)",
                u.used,
                u.licensed.count,
                u.percent()
            )
        });
        format!("Seat usage {way} {CAPACITY_THRESHOLD_PERCENT}% of the license{detail}")
    }
}

/// Everything a new reading changed relative to the last good one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadingChanges {
    /// License fields that differ, in a fixed order.
    pub fields: Vec<FieldChange>,
    /// Whether the seat usage crossed the capacity threshold, and which way.
    pub capacity: Option<CapacityCrossing>,
}

impl ReadingChanges {
    /// Compares a new reading with the previous good one (`None` for an instance's first read,
    /// which changes nothing).
    pub fn between(before: Option<&LicenseFacts>, after: &LicenseFacts) -> ReadingChanges {
        let Some(before) = before else {
            return ReadingChanges::default();
        };
        let instant = |t: Option<Timestamp>| t.map(|t| t.to_string());
        let text = |s: &Option<String>| s.clone();
        let pairs = [
            (
                LicenseField::Expiry,
                instant(before.expiry),
                instant(after.expiry),
            ),
            (
                LicenseField::Maintenance,
                instant(before.maintenance_expiry),
                instant(after.maintenance_expiry),
            ),
            (
                LicenseField::LicenseKey,
                text(&before.license_key),
                text(&after.license_key),
            ),
            (
                LicenseField::ProductCode,
                text(&before.product_code),
                text(&after.product_code),
            ),
            (
                LicenseField::Edition,
                Some(before.edition.to_string()),
                Some(after.edition.to_string()),
            ),
            (
                LicenseField::LicenseActive,
                before.license_active.map(|b| b.to_string()),
                after.license_active.map(|b| b.to_string()),
            ),
            (
                LicenseField::MaxSimCalls,
                before.max_sim_calls.map(|n| n.to_string()),
                after.max_sim_calls.map(|n| n.to_string()),
            ),
            (
                LicenseField::UsersLicensed,
                before.users_licensed.map(|l| l.count.to_string()),
                after.users_licensed.map(|l| l.count.to_string()),
            ),
            (
                LicenseField::Version,
                text(&before.version),
                text(&after.version),
            ),
            (
                LicenseField::Reseller,
                text(&before.reseller),
                text(&after.reseller),
            ),
        ];
        let fields = pairs
            .into_iter()
            .filter(|(_, b, a)| b != a)
            .map(|(field, before, after)| FieldChange {
                field,
                before,
                after,
            })
            .collect();
        let capacity = capacity_crossing(before.seat_usage().as_ref(), after.seat_usage().as_ref());
        ReadingChanges { fields, capacity }
    }

    /// Whether any license field changed.
    pub fn license_changed(&self) -> bool {
        !self.fields.is_empty()
    }

    /// Every changed field in words ([`FieldChange::describe`]), joined by "; ".
    pub fn describe_fields(&self, zone: &Zone) -> String {
        self.fields
            .iter()
            .map(|change| change.describe(zone))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The change of one field, if it changed.
    pub fn field(&self, field: LicenseField) -> Option<&FieldChange> {
        self.fields.iter().find(|c| c.field == field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::license::PbxLicense;

    fn facts(expiry: &str, code: &str, calls: u32, users: u32) -> LicenseFacts {
        LicenseFacts::from_pbx(PbxLicense {
            expiry: Some(expiry.parse().unwrap()),
            product_code: Some(code.into()),
            max_sim_calls: Some(calls),
            users_used: Some(users),
            ..PbxLicense::default()
        })
    }

    #[test]
    fn a_first_reading_changes_nothing() {
        let first = facts("2027-01-01T00:00:00Z", "3CXPSPROFSPLA", 8, 10);
        assert_eq!(
            ReadingChanges::between(None, &first),
            ReadingChanges::default()
        );
    }

    #[test]
    fn a_renewal_shows_the_expiry_before_and_after() {
        let old = facts("2026-12-01T00:00:00Z", "3CXPSPROFSPLA", 8, 10);
        let new = facts("2027-12-01T00:00:00Z", "3CXPSPROFSPLA", 8, 10);
        let changes = ReadingChanges::between(Some(&old), &new);
        assert_eq!(
            changes.fields,
            [FieldChange {
                field: LicenseField::Expiry,
                before: Some("2026-12-01T00:00:00Z".into()),
                after: Some("2027-12-01T00:00:00Z".into()),
            }]
        );
        assert!(changes.license_changed());
    }

    #[test]
    fn an_upgrade_changes_edition_code_calls_and_cap_but_seat_counts_are_not_changes() {
        let old = facts("2027-01-01T00:00:00Z", "3CXPSPROFSPLA", 8, 10);
        let new = facts("2027-01-01T00:00:00Z", "3CXPSPROFENTSPLA", 16, 11);
        let changes = ReadingChanges::between(Some(&old), &new);
        let fields: Vec<_> = changes.fields.iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            [
                LicenseField::ProductCode,
                LicenseField::Edition,
                LicenseField::MaxSimCalls,
                LicenseField::UsersLicensed
            ]
        );
        assert_eq!(
            changes
                .field(LicenseField::Edition)
                .and_then(|c| c.after.as_deref()),
            Some("Enterprise / AI (annual)")
        );
        let same = ReadingChanges::between(
            Some(&new),
            &facts("2027-01-01T00:00:00Z", "3CXPSPROFENTSPLA", 16, 30),
        );
        assert!(!same.license_changed());
    }

    #[test]
    fn a_change_is_described_with_dates_in_the_tenants_zone() {
        let zone = Zone::parse("America/New_York").unwrap();
        let old = facts("2026-12-01T03:00:00Z", "3CXPSPROFSPLA", 8, 10);
        let new = facts("2027-12-01T03:00:00Z", "3CXPSPROFENTSPLA", 8, 10);
        let changes = ReadingChanges::between(Some(&old), &new);
        // 03:00 UTC is the evening before in New York.
        assert_eq!(
            changes.describe_fields(&zone),
            "expiry 2026-11-30 → 2027-11-30; product code 3CXPSPROFSPLA → 3CXPSPROFENTSPLA; \
             edition Professional (annual) → Enterprise / AI (annual)"
        );
        let gone = FieldChange {
            field: LicenseField::Version,
            before: Some("20.0.8".into()),
            after: None,
        };
        assert_eq!(gone.describe(&zone), "version 20.0.8 → none");
    }

    #[test]
    fn a_capacity_crossing_is_described_with_the_threshold_and_the_usage() {
        let usage = SeatUsage::new(
            19,
            Some(crate::seats::LicensedUsers {
                count: 20,
                estimated: false,
            }),
        );
        assert_eq!(
            CapacityCrossing::Up.describe(usage.as_ref()),
            "Seat usage reached 90% of the license (19 of 20 users, 95%)"
        );
        assert_eq!(
            CapacityCrossing::Down.describe(None),
            "Seat usage fell below 90% of the license"
        );
    }

    #[test]
    fn crossing_ninety_percent_is_reported_up_and_down() {
        let low = facts("2027-01-01T00:00:00Z", "3CXPSPROFSPLA", 8, 30);
        let high = facts("2027-01-01T00:00:00Z", "3CXPSPROFSPLA", 8, 37);
        assert_eq!(
            ReadingChanges::between(Some(&low), &high).capacity,
            Some(CapacityCrossing::Up)
        );
        assert_eq!(
            ReadingChanges::between(Some(&high), &low).capacity,
            Some(CapacityCrossing::Down)
        );
    }
}
