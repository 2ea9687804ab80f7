//! Synthetic fleets for benchmarks: thousands of PBXs with a realistic mix of versions, login
//! kinds, editions and license dates, a share of them faulty, all deterministic from a seed.

use data_encoding::BASE32_NOPAD;
use rand::RngExt as _;
use rand::seq::IndexedRandom as _;
use serde_json::Value;

use crate::faults::{EndpointScope, Fault, FaultKind, GarbageStyle, OddStyle};
use crate::latency::Latency;
use crate::license::{RawLicenseChange, code_is_enterprise, fair_use_max_users};
use crate::rng::{self, SimRng};
use crate::scenario::{Login, RawPbx, ScenarioFile};

/// What fleet to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSpec {
    /// Number of PBXs.
    pub count: usize,
    /// Share of PBXs with a fault, in percent (0–100).
    pub faulty_percent: f64,
    /// Latency of every PBX.
    pub latency: Latency,
    /// Seed: the same seed gives the same fleet.
    pub seed: u64,
}

impl Default for FleetSpec {
    fn default() -> Self {
        FleetSpec {
            count: 100,
            faulty_percent: 2.0,
            latency: Latency::default(),
            seed: 1,
        }
    }
}

const ADJECTIVES: [&str; 16] = [
    "Harbor",
    "Summit",
    "Cedar",
    "Northgate",
    "Riverside",
    "Bluewater",
    "Granite",
    "Maple",
    "Lakeview",
    "Ironwood",
    "Coastal",
    "Pioneer",
    "Silverline",
    "Oakridge",
    "Meadow",
    "Beacon",
];
const NOUNS: [&str; 16] = [
    "Dental",
    "Logistics",
    "Legal",
    "Veterinary",
    "Accounting",
    "Realty",
    "Clinic",
    "Builders",
    "Insurance",
    "Hotels",
    "Motors",
    "Pharmacy",
    "Architects",
    "Schools",
    "Foods",
    "Print",
];
const SUFFIXES: [&str; 6] = ["Group", "LLC", "Ltd", "Partners", "Inc", "& Co"];

const VERSIONS: [(&str, u64); 5] = [
    ("18.0.9", 10),
    ("20.0.7", 15),
    ("20.0.8", 20),
    ("20.0.9", 25),
    ("20.0.10", 30),
];
const PRODUCT_CODES: [(&str, u64); 5] = [
    ("3CXPSPROFENTSPLA", 45),
    ("3CXPSPROFSPLA", 25),
    ("3CXPSSPLA", 15),
    ("3CXPSPROF", 10),
    ("3CXPSPROFENT", 5),
];
const CALL_TIERS: [u32; 9] = [4, 8, 16, 24, 32, 48, 64, 96, 128];
const RESELLERS: [&str; 4] = [
    "Northwind Telecom",
    "Contoso Voice",
    "Fabrikam Unified Comms",
    "Tailspin Networks",
];

/// One item of a table, drawn in proportion to its weight.
fn weighted<'a>(rng: &mut SimRng, table: &'a [(&'a str, u64)]) -> &'a str {
    table
        .choose_weighted(rng, |(_, weight)| *weight)
        .map_or(table[0].0, |(item, _)| item)
}

/// One element of a non-empty list.
fn pick<T: Copy>(rng: &mut SimRng, items: &[T]) -> T {
    items[rng.random_range(..items.len())]
}

fn customer_name(index: usize, seed: u64) -> String {
    let mut rng = rng::seeded(seed ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    format!(
        "{} {} {} {index}",
        pick(&mut rng, &ADJECTIVES),
        pick(&mut rng, &NOUNS),
        pick(&mut rng, &SUFFIXES)
    )
}

fn random_fault(rng: &mut SimRng) -> Fault {
    match rng.random_range(0..=10) {
        0 => Fault::new(FaultKind::Status {
            status: 503,
            retry_after: Some(30),
        }),
        1 => Fault::new(FaultKind::Status {
            status: 500,
            retry_after: None,
        })
        .on(EndpointScope::Data),
        2 => Fault::new(FaultKind::Status {
            status: 504,
            retry_after: None,
        }),
        3 => Fault::new(FaultKind::Status {
            status: 429,
            retry_after: Some(60),
        }),
        4 => Fault::new(FaultKind::Delay {
            ms: rng.random_range(2_000..=8_000),
        }),
        5 => Fault::new(FaultKind::Hang {}),
        6 => Fault::new(FaultKind::Garbage {
            style: GarbageStyle::NotJson,
        })
        .on(EndpointScope::Data),
        7 => Fault::new(FaultKind::Garbage {
            style: GarbageStyle::WrongTypes,
        })
        .on(EndpointScope::Data),
        8 => Fault::new(FaultKind::RejectLogin {}),
        9 => Fault::new(FaultKind::OddBody {
            style: OddStyle::MissingFields,
        }),
        _ => Fault::new(FaultKind::ShortToken { lifetime_ms: 2_000 }),
    }
}

/// Generates a fleet as a scenario file (write it out with [`ScenarioFile::to_toml`], or
/// resolve it directly).
#[allow(clippy::too_many_lines, reason = "one PBX field after the other")]
pub fn generate(spec: &FleetSpec) -> ScenarioFile {
    let mut rng = rng::seeded(spec.seed);
    let latency = Value::from(spec.latency.to_string());
    let mut pbx = Vec::with_capacity(spec.count);
    let mut sites_left = 0usize;
    let mut site = 0usize;
    let mut customer_index = 0usize;
    for i in 1..=spec.count {
        // Customers own 1–12 PBXs.
        if sites_left == 0 {
            customer_index += 1;
            sites_left = rng.random_range(1..=12);
            site = 0;
        }
        sites_left -= 1;
        site += 1;
        let customer = customer_name(customer_index, spec.seed);
        let slug: String = customer
            .to_ascii_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let id = format!("pbx-{i:05}");
        let family = weighted(&mut rng, &VERSIONS);
        let legacy = family.starts_with("18");
        let version = format!("{family}.{}", rng.random_range(20..=1400));
        let product_code = weighted(&mut rng, &PRODUCT_CODES).to_owned();
        let perpetual = !product_code.ends_with("SPLA");
        let enterprise = code_is_enterprise(&product_code);
        let login = if legacy {
            Login::Legacy {
                username: "admin".to_owned(),
                password: format!("pw-{i}"),
            }
        } else if enterprise && rng.random_bool(0.75) {
            Login::ClientCredentials {
                client_id: "runway".to_owned(),
                client_secret: format!("sim-secret-{i:05}"),
            }
        } else {
            let mfa = rng.random_bool(0.15);
            let secret_bytes: [u8; 10] = rng.random();
            Login::User {
                username: format!("admin@{slug}.example"),
                password: format!("pw-{i}"),
                totp_secret: mfa.then(|| BASE32_NOPAD.encode(&secret_bytes)),
            }
        };
        let days: i64 = rng.random_range(-60..=400);
        let relative = format!("{}{}d", if days < 0 { "-" } else { "+" }, days.abs());
        let hosted = !legacy && rng.random_bool(0.05);
        let (expiry, maintenance) = if hosted {
            (
                "2035-01-01T00:00:00Z".to_owned(),
                "2035-01-01T00:00:00Z".to_owned(),
            )
        } else if perpetual {
            (
                if legacy { "null" } else { "none" }.to_owned(),
                relative.clone(),
            )
        } else {
            (relative.clone(), relative.clone())
        };
        let calls = pick(&mut rng, &CALL_TIERS);
        let cap = fair_use_max_users(calls);
        let users = rng.random_range(1..=cap);
        let ai_agents = if !legacy && enterprise {
            rng.random_range(0..=3)
        } else {
            0
        };
        // Any share: at most 0 % means none, 100 % or more means all.
        let faults = (rng.random_range(0.0..100.0) < spec.faulty_percent)
            .then(|| vec![random_fault(&mut rng)]);
        let renewal = (!perpetual && rng.random_bool(0.02)).then(|| RawLicenseChange {
            expiry: Some(Value::from(format!("+{}d", days.max(0) + 365))),
            maintenance_expiry: Some(Value::from(format!("+{}d", days.max(0) + 365))),
            ..RawLicenseChange::default()
        });
        pbx.push(RawPbx {
            id: Some(id),
            name: Some(format!("{customer} — site {site}")),
            customer: Some(customer),
            version: Some(version),
            login: Some(login),
            product_code: Some(product_code),
            expiry: Some(Value::from(expiry)),
            maintenance_expiry: Some(Value::from(maintenance)),
            reseller: Some(pick(&mut rng, &RESELLERS).to_owned()),
            max_sim_calls: Some(calls),
            users: Some(users),
            ai_agents: (ai_agents > 0).then_some(ai_agents),
            latency: Some(latency.clone()),
            faults,
            renewal,
            ..RawPbx::default()
        });
    }
    ScenarioFile {
        name: Some(format!(
            "Generated fleet of {} PBXs (seed {})",
            spec.count, spec.seed
        )),
        description: None,
        pbx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_resolves() {
        let spec = FleetSpec {
            count: 300,
            faulty_percent: 10.0,
            ..FleetSpec::default()
        };
        let a = generate(&spec);
        assert_eq!(a, generate(&spec));
        assert_ne!(
            a,
            generate(&FleetSpec {
                seed: 2,
                ..spec.clone()
            })
        );
        let now = "2026-11-29T12:00:00Z".parse().unwrap();
        let scenario = a.resolve("generated", now).unwrap();
        assert_eq!(scenario.pbxs.len(), 300);
        let faulty = scenario
            .pbxs
            .iter()
            .filter(|p| !p.faults.is_empty())
            .count();
        assert!((10..=60).contains(&faulty), "{faulty}");
        assert!(scenario.pbxs.iter().any(|p| p.version.is_legacy()));
        // The TOML form parses back to the same fleet.
        let text = a.to_toml().unwrap();
        let back =
            ScenarioFile::parse(&text, crate::scenario::ScenarioFormat::Toml, "gen.toml").unwrap();
        assert_eq!(back.resolve("gen.toml", now).unwrap(), scenario);
    }

    /// A seed names the same fleet from one build to the next (benchmark results quote their
    /// seed). If this fails after a dependency update, the generator's stream changed: every
    /// seed now names another fleet.
    #[test]
    fn a_seed_names_the_same_fleet_across_builds() {
        let file = generate(&FleetSpec {
            count: 2,
            ..FleetSpec::default()
        });
        let first = &file.pbx[0];
        assert_eq!(
            first.name.as_deref(),
            Some("Riverside Builders Group 1 — site 1")
        );
        assert_eq!(first.version.as_deref(), Some("20.0.10.158"));
        assert_eq!(first.product_code.as_deref(), Some("3CXPSSPLA"));
        assert_eq!(first.expiry, Some(Value::from("+12d")));
        assert_eq!(file.pbx[1].version.as_deref(), Some("20.0.7.590"));
    }
}
