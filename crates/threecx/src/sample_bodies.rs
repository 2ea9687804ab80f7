//! The real bodies captured from 3CX PBXs parse into the facts a reader would expect.
//!
//! The bodies are third-party data kept in the team's shared reference folder, not in this
//! repository; these tests read them from there (`RUNWAY_SHARED_DIR`, default `../shared`
//! beside the checkout) and skip with a notice when it is absent — unless
//! `RUNWAY_REQUIRE_SERVICES=1` (CI), where its absence fails.

use std::path::PathBuf;

use runway_core::{Band, LicenseFacts, LicenseStatus, LicensedUsers, Timestamp, Zone};

use crate::fields::parse_object;
use crate::{legacy, xapi};

fn sample(name: &str) -> Option<Vec<u8>> {
    let shared = std::env::var_os("RUNWAY_SHARED_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    );
    let path = shared.join("reference/3cx/samples").join(name);
    match std::fs::read(&path) {
        Ok(body) => Some(body),
        Err(err) if std::env::var("RUNWAY_REQUIRE_SERVICES").as_deref() == Ok("1") => {
            panic!(
                "{} is required under RUNWAY_REQUIRE_SERVICES=1: {err}",
                path.display()
            )
        }
        Err(_) => {
            eprintln!("notice: {} not found; sample test skipped", path.display());
            None
        }
    }
}

#[test]
fn the_real_legacy_15_5_body_reads_as_a_perpetual_professional_license() {
    let Some(body) = sample("api-systemstatus-15.5-legacy.json") else {
        return;
    };
    let status = parse_object("SystemStatus", &body).unwrap();
    let facts = LicenseFacts::from_pbx(legacy::license_from(&status).unwrap());
    assert_eq!(facts.edition.to_string(), "Professional (perpetual)");
    assert_eq!(facts.license_key.as_deref(), Some("0123-4567-89AB-CDEF"));
    assert_eq!(facts.expiry, None, "ExpirationDate null is no date");
    assert_eq!(
        facts.maintenance_expiry.unwrap().to_string(),
        "2019-10-24T12:08:49Z"
    );
    assert_eq!((facts.max_sim_calls, facts.users_used), (Some(8), Some(18)));
    assert_eq!(
        facts.users_licensed,
        Some(LicensedUsers {
            count: 40,
            estimated: true
        })
    );
    assert_eq!(facts.reseller.as_deref(), Some("Snakeoil Ltd."));
    assert_eq!(facts.version.as_deref(), Some("15.5.15502.6"));
    let now: Timestamp = "2026-11-28T00:00:00Z".parse().unwrap();
    // Perpetual with no fixed expiry: Active, and maintenance long lapsed.
    assert_eq!(
        LicenseStatus::evaluate(Some(&facts), now, &Zone::utc()).band,
        Band::Active
    );
    assert!(facts.maintenance_lapsed(now));
}

#[test]
fn the_real_20_0_7_body_reads_with_its_far_hosted_date_and_redacted_code() {
    let Some(body) = sample("systemstatus-20.0.7.1080.json") else {
        return;
    };
    let status = parse_object("SystemStatus", &body).unwrap();
    let facts = LicenseFacts::from_pbx(xapi::license_from(&status, None, None, None).unwrap());
    assert_eq!(facts.edition.to_string(), "Unknown (XXXXXXX)");
    assert_eq!(facts.expiry.unwrap().to_string(), "2035-01-01T00:00:00Z");
    assert_eq!(facts.license_active, Some(true));
    assert_eq!(
        (facts.max_sim_calls, facts.users_used),
        (Some(16), Some(45))
    );
    assert_eq!(
        facts.users_licensed,
        Some(LicensedUsers {
            count: 80,
            estimated: true
        })
    );
    assert_eq!(facts.fqdn.as_deref(), Some("XXXXXXX.my3cx.fr"));
    assert_eq!(facts.version.as_deref(), Some("20.0.7.1080"));
    let now: Timestamp = "2026-11-28T00:00:00Z".parse().unwrap();
    assert_eq!(
        LicenseStatus::evaluate(Some(&facts), now, &Zone::utc()).band,
        Band::Active
    );
}
