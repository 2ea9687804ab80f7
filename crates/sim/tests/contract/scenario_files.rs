//! Scenario files on disk, and the demo scenario the repository ships.

use std::collections::HashSet;
use std::path::PathBuf;

use jiff::SignedDuration;
use runway_sim::{LoginKind, Scenario, ScenarioFile, ServedDate};

use crate::helpers::now;

fn demo_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/demo.toml")
}

fn days_left(date: &ServedDate) -> Option<i64> {
    let instant = date.instant()?;
    Some(instant.duration_since(now()).as_secs().div_euclid(86_400))
}

#[test]
fn demo_scenario_covers_customers_versions_logins_and_every_band() {
    let scenario = Scenario::load(&demo_path(), now()).unwrap();
    assert_eq!(scenario.pbxs.len(), 40);
    assert_eq!(scenario.customers().len(), 12);

    let families: HashSet<String> = scenario
        .pbxs
        .iter()
        .map(|p| {
            p.version
                .as_str()
                .split('.')
                .take(3)
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    for family in ["20.0.7", "20.0.8", "20.0.9", "20.0.10"] {
        assert!(families.contains(family), "{family} missing");
    }
    assert!(scenario.pbxs.iter().any(|p| p.version.is_legacy()));
    for kind in [
        LoginKind::ClientCredentials,
        LoginKind::User,
        LoginKind::Legacy,
    ] {
        assert!(
            scenario.pbxs.iter().any(|p| p.login.kind() == kind),
            "{kind}"
        );
    }
    assert!(scenario.pbxs.iter().any(|p| p.license.is_enterprise()));
    assert!(scenario.pbxs.iter().any(|p| !p.license.is_enterprise()));

    let days: Vec<i64> = scenario
        .pbxs
        .iter()
        .filter_map(|p| days_left(&p.license.expiry))
        .collect();
    assert!(days.iter().any(|d| *d < 0), "overdue");
    for critical in [1, 3, 10] {
        assert!(days.contains(&critical), "critical {critical}");
    }
    assert!(days.iter().any(|d| (15..=60).contains(d)), "warning");
    assert!(days.iter().any(|d| *d > 60), "active");
    let unknown = scenario.pbxs.iter().any(|p| {
        p.license.expiry.instant().is_none() && p.license.maintenance_expiry.instant().is_none()
    });
    assert!(unknown, "unknown (no date at all)");
    assert!(
        scenario
            .pbxs
            .iter()
            .any(|p| p.license.expiry == ServedDate::DotNetMin
                && p.license.maintenance_expiry.instant().is_some()),
        "perpetual with maintenance only"
    );
    assert!(
        scenario
            .pbxs
            .iter()
            .any(|p| !p.license.license_active
                && days_left(&p.license.expiry).is_some_and(|d| d < 0)),
        "expired and inactive"
    );
    let hosted = "2035-01-01T00:00:00Z".parse().unwrap();
    assert!(
        scenario
            .pbxs
            .iter()
            .any(|p| p.license.expiry.instant() == Some(hosted))
    );
    assert!(
        scenario.pbxs.iter().any(|p| {
            let l = &p.license;
            l.users * 100 >= l.max_user_extensions() * 88
        }),
        "near the seat cap"
    );
    assert!(
        scenario
            .pbxs
            .iter()
            .any(|p| p.renewal.as_ref().is_some_and(|r| r.on_refresh))
    );
    let faults: Vec<String> = scenario
        .pbxs
        .iter()
        .flat_map(|p| {
            p.faults.iter().map(|f| {
                serde_json::to_value(f).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
        })
        .collect();
    for kind in ["hang", "reject_login", "garbage"] {
        assert!(faults.iter().any(|f| f == kind), "{kind}");
    }
}

#[test]
fn relative_dates_in_the_demo_follow_the_given_now() {
    let earlier = Scenario::load(&demo_path(), now()).unwrap();
    let later_now = now()
        .checked_add(SignedDuration::from_hours(24 * 30))
        .unwrap();
    let later = Scenario::load(&demo_path(), later_now).unwrap();
    let pick = |s: &Scenario| {
        s.pbx("harbor-main")
            .unwrap()
            .license
            .expiry
            .instant()
            .unwrap()
    };
    assert_eq!(
        pick(&later).duration_since(pick(&earlier)),
        SignedDuration::from_hours(24 * 30)
    );
}

#[test]
fn errors_loading_a_file_name_the_file_the_pbx_and_the_field() {
    let dir = std::env::temp_dir().join(format!("runway-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.toml");
    std::fs::write(
        &path,
        r#"
[[pbx]]
id = "good"
version = "20.0.9.1"
login = { kind = "client_credentials", client_id = "a", client_secret = "b" }

[[pbx]]
id = "bad-dates"
version = "20.0.9.1"
login = { kind = "client_credentials", client_id = "a", client_secret = "b" }
maintenance_expiry = "+12 days"
"#,
    )
    .unwrap();
    let error = Scenario::load(&path, now()).unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{text}");
    assert!(text.contains("PBX `bad-dates`"), "{text}");
    assert!(text.contains("field `maintenance_expiry`"), "{text}");
    assert!(text.contains("+12 days"), "{text}");

    let json = dir.join("broken.json");
    std::fs::write(&json, r#"{"pbx":[{"id":"j","version":"20.0.9.1","login":{"kind":"client_credentials","client_id":"a","client_secret":"b"},"faults":[{"kind":"garbage","style":"noise"}]}]}"#).unwrap();
    let error = Scenario::load(&json, now()).unwrap_err();
    assert_eq!(error.pbx.as_deref(), Some("j"));
    assert_eq!(error.field.as_deref(), Some("faults[0]"));
    assert!(error.message.contains("noise"), "{error}");

    let yaml = dir.join("fleet.yaml");
    std::fs::write(&yaml, "pbx: []").unwrap();
    let error = Scenario::load(&yaml, now()).unwrap_err();
    assert!(error.message.contains(".toml or .json"), "{error}");

    let missing = Scenario::load(&dir.join("nope.toml"), now()).unwrap_err();
    assert!(missing.message.contains("cannot read"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_generated_fleet_written_as_json_reads_back() {
    let file = runway_sim::generate(&runway_sim::FleetSpec {
        count: 50,
        ..Default::default()
    });
    let text = file.to_json().unwrap();
    let back = ScenarioFile::parse(&text, runway_sim::ScenarioFormat::Json, "gen.json").unwrap();
    assert_eq!(
        back.resolve("gen.json", now()).unwrap(),
        file.resolve("gen", now()).unwrap()
    );
}
