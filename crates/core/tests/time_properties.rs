//! Properties of the calendar-day countdown across every IANA zone and DST transition.
//!
//! Days left are `expiry_local_date − today_local_date` in the tenant's zone. Whatever the zone,
//! the count must only ever change at a local midnight, by exactly one day, and must not depend
//! on the zone of the server Runway happens to run on.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::process::Command;
use std::sync::LazyLock;

use jiff::{SignedDuration, Timestamp, civil::Date, tz::Offset};
use proptest::prelude::*;
use runway_core::{DaysLeft, Zone, parse_pbx_instant};

static ZONES: LazyLock<Vec<String>> = LazyLock::new(Zone::available);

/// Instants from 2015 to 2060. Before 2015, a few Pacific zones skipped a whole calendar day
/// when they crossed the date line (Samoa 2011, Kiritimati 1994): there the count jumps by two.
const RANGE: std::ops::Range<i64> = 1_420_070_400..2_871_763_200;

fn zone_strategy() -> impl Strategy<Value = Zone> {
    prop::sample::select(ZONES.clone()).prop_map(|name| Zone::parse(&name).unwrap())
}

fn instant_strategy() -> impl Strategy<Value = Timestamp> {
    RANGE.prop_map(|s| Timestamp::from_second(s).unwrap())
}

/// The first instant of the local day after the one `t` falls on.
fn next_local_midnight(zone: &Zone, t: Timestamp) -> Timestamp {
    let tomorrow = zone.date_of(t).tomorrow().unwrap();
    tomorrow
        .to_zoned_datetime(zone.time_zone().clone())
        .unwrap()
        .timestamp()
}

/// Checks that crossing the local midnight after `t` moves both sides of the count by one.
fn assert_midnight_moves_count_by_one(zone: &Zone, t: Timestamp, other: Timestamp) {
    let midnight = next_local_midnight(zone, t);
    let just_before = midnight - SignedDuration::from_nanos(1);
    assert_eq!(
        zone.date_of(just_before).tomorrow().unwrap(),
        zone.date_of(midnight),
        "{zone}: {just_before} and {midnight} are not consecutive local days"
    );
    // Today moves past midnight: one day fewer left.
    let before = DaysLeft::of(other, just_before, zone).get();
    let after = DaysLeft::of(other, midnight, zone).get();
    assert_eq!(
        before - after,
        1,
        "{zone}: now crossing {midnight}, expiry {other}"
    );
    // The expiry moves past midnight: one day more left.
    let before = DaysLeft::of(just_before, other, zone).get();
    let after = DaysLeft::of(midnight, other, zone).get();
    assert_eq!(
        after - before,
        1,
        "{zone}: expiry crossing {midnight}, now {other}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn crossing_local_midnight_moves_days_left_by_exactly_one_in_every_zone(
        zone in zone_strategy(), now in instant_strategy(), expiry in instant_strategy()
    ) {
        assert_midnight_moves_count_by_one(&zone, now, expiry);
    }

    #[test]
    fn days_left_is_constant_within_a_local_day(
        zone in zone_strategy(), now in instant_strategy(), expiry in instant_strategy(),
        fraction in 0.0f64..1.0
    ) {
        let start = zone.date_of(now).to_zoned_datetime(zone.time_zone().clone()).unwrap().timestamp();
        let end = next_local_midnight(&zone, now);
        let length = end.duration_since(start).as_secs_f64();
        let inside = start + SignedDuration::from_secs_f64(length * fraction);
        prop_assert_eq!(DaysLeft::of(expiry, start, &zone), DaysLeft::of(expiry, inside, &zone));
    }

    #[test]
    fn days_left_is_antisymmetric(zone in zone_strategy(), a in instant_strategy(), b in instant_strategy()) {
        prop_assert_eq!(DaysLeft::of(a, b, &zone).get(), -DaysLeft::of(b, a, &zone).get());
    }

    #[test]
    fn days_left_stays_within_a_day_of_elapsed_time(
        zone in zone_strategy(), now in instant_strategy(), expiry in instant_strategy()
    ) {
        // Local offsets differ by well under a day between two instants (DST is an hour or two),
        // so the calendar count is never more than one day away from elapsed 24-hour periods.
        let elapsed_days = expiry.duration_since(now).as_secs_f64() / 86_400.0;
        let days = f64::from(DaysLeft::of(expiry, now, &zone).get());
        prop_assert!((days - elapsed_days).abs() < 2.0, "{} vs {}", days, elapsed_days);
    }

    #[test]
    fn the_same_instant_written_with_any_offset_gives_the_same_days_left(
        zone in zone_strategy(), now in instant_strategy(), expiry in instant_strategy(),
        offset_minutes in -(14 * 60)..=(14 * 60i32)
    ) {
        let offset = Offset::from_seconds(offset_minutes * 60).unwrap();
        let written = expiry.display_with_offset(offset).to_string();
        let parsed = parse_pbx_instant(&written).unwrap().unwrap();
        prop_assert_eq!(parsed, expiry);
        prop_assert_eq!(DaysLeft::of(parsed, now, &zone), DaysLeft::of(expiry, now, &zone));
    }
}

/// Every zone, every transition from 2020 to 2035: the count moves by one across the local
/// midnights before and after the transition, and by nothing at the transition itself.
#[test]
fn every_dst_transition_of_every_zone_keeps_the_count_moving_by_one_at_midnight() {
    let start: Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
    let end: Timestamp = "2035-12-31T00:00:00Z".parse().unwrap();
    let probe_expiry: Timestamp = "2030-06-15T12:00:00Z".parse().unwrap();
    let mut transitions = 0;
    for name in ZONES.iter() {
        let zone = Zone::parse(name).unwrap();
        for transition in zone
            .time_zone()
            .following(start)
            .take_while(|t| t.timestamp() < end)
        {
            let at = transition.timestamp();
            transitions += 1;
            for hours in [-25, -1, 0, 1, 25] {
                let t = at + SignedDuration::from_hours(hours);
                assert_midnight_moves_count_by_one(&zone, t, probe_expiry);
            }
            let just_before = at - SignedDuration::from_nanos(1);
            if zone.date_of(just_before) == zone.date_of(at) {
                assert_eq!(
                    DaysLeft::of(probe_expiry, just_before, &zone),
                    DaysLeft::of(probe_expiry, at, &zone),
                    "{zone}: the count moved at the transition {at} without a new local day"
                );
            }
        }
    }
    assert!(
        transitions > 1000,
        "only {transitions} transitions found: is the tz database empty?"
    );
}

const SERVER_ZONE_PROBE: &str = "RUNWAY_CORE_SERVER_ZONE_PROBE";

/// A fixed sample of (zone, now, expiry) that every process must count identically.
fn probe_sample() -> Vec<(String, i32)> {
    let zones = [
        "America/New_York",
        "UTC",
        "Pacific/Auckland",
        "Asia/Kathmandu",
        "America/St_Johns",
    ];
    let mut out = Vec::new();
    for (i, zone) in zones.iter().enumerate() {
        let zone = Zone::parse(zone).unwrap();
        for hour in 0..48 {
            let now = Timestamp::from_second(1_795_000_000 + i64::from(hour) * 3_600).unwrap();
            let expiry =
                Timestamp::from_second(1_795_200_000 + i64::try_from(i).unwrap() * 7_777).unwrap();
            out.push((
                format!("{zone}@{hour}"),
                DaysLeft::of(expiry, now, &zone).get(),
            ));
        }
    }
    out
}

/// Runs this very test again in child processes whose own `TZ` differs: the counts must match.
#[test]
fn days_left_does_not_depend_on_the_servers_own_zone() {
    if std::env::var_os(SERVER_ZONE_PROBE).is_some() {
        for (key, days) in probe_sample() {
            println!("probe {key} {days}");
        }
        return;
    }
    let expected: Vec<String> = probe_sample()
        .into_iter()
        .map(|(key, days)| format!("probe {key} {days}"))
        .collect();
    let exe = std::env::current_exe().unwrap();
    for server_zone in [
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "Asia/Kolkata",
        "UTC",
        "Europe/Berlin",
    ] {
        let output = Command::new(&exe)
            .args([
                "days_left_does_not_depend_on_the_servers_own_zone",
                "--exact",
                "--nocapture",
            ])
            .env(SERVER_ZONE_PROBE, "1")
            .env("TZ", server_zone)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "probe under TZ={server_zone} failed: {output:?}"
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let got: Vec<&str> = stdout.lines().filter(|l| l.starts_with("probe ")).collect();
        assert_eq!(
            got, expected,
            "days left changed with the server's TZ={server_zone}"
        );
    }
}

#[test]
fn the_issue_example_counts_one_day_in_new_york_two_in_utc_and_one_in_auckland() {
    let expiry: Timestamp = "2026-12-01T02:00:00Z".parse().unwrap();
    let now: Timestamp = "2026-11-29T15:00:00Z".parse().unwrap();
    let days = |zone: &str| DaysLeft::of(expiry, now, &Zone::parse(zone).unwrap()).get();
    assert_eq!(
        (
            days("America/New_York"),
            days("UTC"),
            days("Pacific/Auckland")
        ),
        (1, 2, 1)
    );
    assert_eq!(
        Zone::parse("America/New_York").unwrap().date_of(now),
        Date::new(2026, 11, 29).unwrap()
    );
}
