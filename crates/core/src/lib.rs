//! # runway-core: the license rules of Runway
//!
//! Everything Runway shows or sends rests on a handful of rules. They live here, in one place,
//! with no I/O and no clock: the current instant and the tenant's time zone are always
//! parameters, so every rule is a function a test can pin.
//!
//! A short tour, in the order a license travels:
//!
//! 1. **What a PBX said** ([`PbxLicense`]) becomes **license facts** ([`LicenseFacts`]). Dates
//!    are read by [`parse_pbx_instant`], which knows that `null` and .NET's
//!    `0001-01-01T00:00:00` mean "no date".
//! 2. The product code and flags resolve to one **edition** label ([`Edition`]), such as
//!    "Professional (annual)" or "Unknown (CODE)".
//! 3. **Days left** ([`DaysLeft`]) are calendar days in the tenant's [`Zone`]: the expiry's local
//!    date minus today's local date, shown as "today", "1 day", "N days" or "Nd overdue".
//! 4. Days left and the PBX's active flag give the **band** ([`Band`]: Expired, Critical ≤ 14,
//!    Warning ≤ 60, Active, Unknown), summed into the five [`BandCounts`]; [`LicenseStatus`] holds
//!    all three for one license at one moment.
//! 5. The **fleet order** ([`fleet_order`]) puts the next lapse on top; the **expiry calendar**
//!    ([`expiry_calendar`]) groups renewals by month after an "Overdue" group.
//! 6. The **reminder policy** ([`ReminderPolicy::evaluate`]) decides which 10/3/1-day reminder
//!    fires, which are skipped by catch-up, and which earlier series resolve after a renewal.
//! 7. **Seat usage** ([`SeatUsage`]) compares users to the licensed cap (reported, or estimated
//!    from the fair-use table) and spots 90% crossings ([`capacity_crossing`]).
//! 8. **What changed** between two readings ([`ReadingChanges`]) makes an instance's history.
//! 9. The **renewal link** ([`RenewalTemplate`]) fills a tenant's template with the key.
//!
//! Beside the license rules, the rules of an instance's settings have their one owner here:
//! its address ([`BaseUrl`]), how Runway logs in ([`Credentials`]), how its certificate is
//! trusted ([`TlsOptions`], [`check_ca_pem`]), how often it is read ([`PollInterval`]); why a
//! read failed ([`FailureKind`]); what an email address is ([`check_email`]); and how a date
//! typed into a form or a CSV import is read ([`parse_typed_date`]) and placed in the tenant's
//! zone ([`typed_date_instant`]).
//!
//! Secrets (PBX passwords, API client secrets) travel as [`Secret`], which never formats itself.

mod band;
mod calendar;
mod change;
mod countdown;
mod edition;
mod email;
mod failure;
mod hex;
mod instance;
mod license;
mod network;
mod order;
mod pbx_date;
mod reminder;
mod renewal;
mod retention;
mod seats;
mod secret;
mod typed_date;
mod zone;

pub use band::{Band, BandCounts, CRITICAL_DAYS, LicenseStatus, WARNING_DAYS};
pub use calendar::{CalendarGroup, CalendarHeading, expiry_calendar};
pub use change::{FieldChange, LicenseField, ReadingChanges};
pub use countdown::DaysLeft;
pub use edition::{Edition, EditionClues, Family, Term};
pub use email::{BadEmail, MAX_EMAIL_LENGTH, check_email};
pub use failure::FailureKind;
pub use hex::hex;
pub use instance::{
    BadBaseUrl, BadCaPem, BadPollInterval, BaseUrl, Credentials, LoginKind, MAX_CA_PEM_BYTES,
    PollInterval, TlsOptions, check_ca_pem,
};
pub use license::{LicenseFacts, PbxLicense};
pub use network::{BadCidr, Cidr};
pub use order::{FleetSortKey, fleet_order, sort_fleet};
pub use pbx_date::{BadPbxDate, is_no_date, parse_pbx_instant};
pub use reminder::{
    Fire, MAX_MILESTONE_DAYS, Milestone, ReminderDecision, ReminderInput, ReminderPolicy,
    ReminderPolicyError, Resolution, ResolveReason, Severity, Stage,
};
pub use renewal::{DEFAULT_RENEWAL_TEMPLATE, RenewalTemplate, RenewalTemplateError};
pub use retention::{BadRetention, Retention};
pub use seats::{
    CAPACITY_THRESHOLD_PERCENT, CapacityCrossing, LicensedUsers, SeatUsage, capacity_crossing,
    fair_use_cap,
};
pub use secret::Secret;
pub use typed_date::{BadTypedDate, parse_typed_date, typed_date_instant};
pub use zone::{UnknownZone, Zone};

/// Re-exported so callers name the same instant and date types as the rules.
pub use jiff::{Timestamp, civil::Date};
