//! runway-core against test vectors computed by an independent implementation (Python's
//! `zoneinfo`) of PRODUCT.md's rules. The vectors live beside this file; see
//! `vectors/README.md` for where they come from.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::path::{Path, PathBuf};

use runway_core::{
    Band, Date, DaysLeft, LicenseFacts, LicenseStatus, PbxLicense, ReminderInput, ReminderPolicy,
    Stage, Timestamp, Zone,
};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(vectors_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn band_name(band: Band) -> &'static str {
    band.as_str()
}

#[test]
fn days_left_text_and_band_agree_with_every_vector() {
    let cases = load("days_left.json")["cases"].as_array().unwrap().clone();
    assert!(cases.len() > 500, "vectors went missing: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let now: Timestamp = case["now"].as_str().unwrap().parse().unwrap();
        let expiry: Timestamp = case["expiry"].as_str().unwrap().parse().unwrap();
        let zone = Zone::parse(case["zone"].as_str().unwrap()).unwrap();

        let days = DaysLeft::of(expiry, now, &zone);
        let facts = LicenseFacts::from_pbx(PbxLicense {
            expiry: Some(expiry),
            license_active: Some(true),
            ..PbxLicense::default()
        });
        let status = LicenseStatus::evaluate(Some(&facts), now, &zone);
        let got = (
            i64::from(days.get()),
            days.to_string(),
            band_name(status.band),
        );
        let want = (
            case["days_left"].as_i64().unwrap(),
            case["text"].as_str().unwrap().to_owned(),
            case["band"].as_str().unwrap(),
        );
        if got != want {
            failures.push(format!("{case}: got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Plays each series through the policy, keeping what fired or was skipped as the store would.
#[test]
fn reminder_series_agree_with_every_vector() {
    let series = load("reminder_series.json")["series"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!series.is_empty());
    let expiry_date = Date::new(2026, 12, 1).unwrap();
    for s in &series {
        let name = s["name"].as_str().unwrap();
        let days: Vec<u16> = s["milestones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| u16::try_from(m.as_u64().unwrap()).unwrap())
            .collect();
        let policy = ReminderPolicy::from_days(&days, s["lapse_alert"].as_bool().unwrap()).unwrap();
        let mut done: Vec<Stage> = Vec::new();
        for (i, step) in s["steps"].as_array().unwrap().iter().enumerate() {
            let days_left = step["days_left"].as_i64().unwrap();
            let today = expiry_date
                .checked_sub(jiff::Span::new().days(days_left))
                .unwrap();
            let decision = policy.evaluate(&ReminderInput {
                expiry_date: Some(expiry_date),
                today,
                done: &done,
                open_series: &[],
            });
            let fired = decision.fire.map(|f| match f.stage {
                Stage::Milestone(m) => Value::from(m),
                Stage::Lapse => Value::from("lapse"),
            });
            let want_skipped: Vec<u16> = step["skipped"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| u16::try_from(m.as_u64().unwrap()).unwrap())
                .collect();
            let mut skipped = decision.skip.clone();
            skipped.sort_unstable_by(|a, b| b.cmp(a));
            assert_eq!(
                (fired.unwrap_or(Value::Null), skipped),
                (step["fire"].clone(), want_skipped),
                "series {name:?}, step {i} at {days_left} days left"
            );
            done.extend(decision.fire.map(|f| f.stage));
            done.extend(decision.skip.iter().map(|m| Stage::Milestone(*m)));
        }
    }
}

/// The vectors are copied from the team's shared reference folder; when that folder is beside
/// the checkout, the copies must not have drifted from it.
#[test]
fn vector_copies_match_the_shared_reference_when_it_is_present() {
    let shared = std::env::var_os("RUNWAY_SHARED_DIR")
        .map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
            PathBuf::from,
        )
        .join("reference/vectors");
    if !shared.is_dir() {
        eprintln!(
            "notice: {} not found; vector drift not checked",
            shared.display()
        );
        return;
    }
    for name in ["days_left.json", "reminder_series.json"] {
        let ours = std::fs::read(vectors_dir().join(name)).unwrap();
        let theirs = std::fs::read(shared.join(name)).unwrap();
        assert!(
            ours == theirs,
            "{name} differs from {}: copy it again",
            shared.display()
        );
    }
}
