//! Editions: one consistent label from a PBX's product code and flags.
//!
//! 3CX product codes read `3CXPS` (phone system) + `PROFENT` (Enterprise, renamed "AI" in 2026)
//! or `PROF` (Professional) or nothing (Standard, newer naming "Basic"), + a trailing `SPLA` for
//! an annual (subscription) term. Newer PBXs also say `IsEnterprise` / `IsProfessional`, legacy
//! ones `IsSpla`; where the PBX reports those flags they win. Free editions carry no code and a
//! call limit of 2 or 4. Anything else is shown as "Unknown (CODE)": never an empty cell, never a
//! guess dressed up as a fact.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The product family of a 3CX license.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Free edition: no product code, 2 or 4 simultaneous calls.
    Free,
    /// Standard (newer naming "Basic").
    Standard,
    /// Professional.
    Professional,
    /// Enterprise, renamed "AI" in 2026.
    Enterprise,
}

/// How long a license runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// Annual subscription (SPLA codes, hosted PBXs).
    Annual,
    /// Perpetual key; may carry only a maintenance date.
    Perpetual,
}

/// The resolved edition of a license.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Edition {
    /// A recognised family, with its term when the PBX lets us tell.
    Known {
        /// Product family.
        family: Family,
        /// Annual or perpetual, if known.
        term: Option<Term>,
    },
    /// Nothing we recognise: keeps the product code as the PBX sent it (may be empty).
    Unknown {
        /// The product code as received, trimmed.
        product_code: String,
    },
}

/// What a PBX tells us that bears on its edition; every field may be missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EditionClues<'a> {
    /// `ProductCode`, e.g. `3CXPSPROFENTSPLA`.
    pub product_code: Option<&'a str>,
    /// Legacy `IsSpla`: annual/hosted.
    pub is_spla: Option<bool>,
    /// `IsProfessional` (20.0.10+).
    pub is_professional: Option<bool>,
    /// `IsEnterprise` (20.0.10+).
    pub is_enterprise: Option<bool>,
    /// `MaxSimCalls`, which tells a Free edition apart.
    pub max_sim_calls: Option<u32>,
}

/// The largest call limit a Free edition comes with.
const FREE_MAX_CALLS: u32 = 4;

impl Edition {
    /// Resolves the clues into one edition; see the module docs for the rules.
    pub fn resolve(clues: EditionClues<'_>) -> Edition {
        let code = clues.product_code.map(str::trim).filter(|c| !c.is_empty());
        let from_code = code.and_then(parse_product_code);
        let from_flags = match (clues.is_enterprise, clues.is_professional) {
            (Some(true), _) => Some(Family::Enterprise),
            (_, Some(true)) => Some(Family::Professional),
            (Some(false), Some(false)) if code.is_some() => Some(Family::Standard),
            _ => None,
        };
        let free = code.is_none() && clues.max_sim_calls.is_some_and(|c| c <= FREE_MAX_CALLS);

        if free && from_flags.is_none() {
            return Edition::Known {
                family: Family::Free,
                term: None,
            };
        }
        let Some(family) = from_flags.or(from_code.map(|(family, _)| family)) else {
            return Edition::Unknown {
                product_code: code.unwrap_or_default().to_owned(),
            };
        };
        let term = match (from_code, clues.is_spla) {
            (Some((_, term)), _) => Some(term),
            (None, Some(true)) => Some(Term::Annual),
            (None, Some(false)) => Some(Term::Perpetual),
            (None, None) => None,
        };
        Edition::Known { family, term }
    }

    /// The term, when known.
    pub fn term(&self) -> Option<Term> {
        match self {
            Edition::Known { term, .. } => *term,
            Edition::Unknown { .. } => None,
        }
    }

    /// Whether the license is perpetual, i.e. may have no expiry date at all.
    pub fn is_perpetual(&self) -> bool {
        self.term() == Some(Term::Perpetual)
    }
}

/// Reads `3CXPS[PROF|PROFENT][SPLA]`; anything else is not recognised.
fn parse_product_code(code: &str) -> Option<(Family, Term)> {
    let code = code.to_ascii_uppercase();
    let rest = code.strip_prefix("3CXPS")?;
    let (body, term) = match rest.strip_suffix("SPLA") {
        Some(body) => (body, Term::Annual),
        None => (rest, Term::Perpetual),
    };
    let family = match body {
        "PROFENT" => Family::Enterprise,
        "PROF" => Family::Professional,
        "" => Family::Standard,
        _ => return None,
    };
    Some((family, term))
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Free => "Free",
            Family::Standard => "Standard",
            Family::Professional => "Professional",
            Family::Enterprise => "Enterprise / AI",
        })
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Term::Annual => "annual",
            Term::Perpetual => "perpetual",
        })
    }
}

/// The label shown in the edition column, e.g. "Professional (annual)" or "Unknown (XYZ)".
impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edition::Known {
                family: Family::Free,
                ..
            } => f.write_str("Free"),
            Edition::Known {
                family,
                term: Some(term),
            } => write!(f, "{family} ({term})"),
            Edition::Known { family, term: None } => write!(f, "{family}"),
            Edition::Unknown { product_code } if product_code.is_empty() => {
                f.write_str("Unknown (no product code)")
            }
            Edition::Unknown { product_code } => write!(f, "Unknown ({product_code})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(clues: EditionClues<'_>) -> String {
        Edition::resolve(clues).to_string()
    }

    fn code(code: &str) -> EditionClues<'_> {
        EditionClues {
            product_code: Some(code),
            ..EditionClues::default()
        }
    }

    #[test]
    fn product_codes_resolve_to_family_and_term() {
        assert_eq!(label(code("3CXPSPROF")), "Professional (perpetual)");
        assert_eq!(label(code("3CXPSPROFSPLA")), "Professional (annual)");
        assert_eq!(label(code("3CXPSPROFENTSPLA")), "Enterprise / AI (annual)");
        assert_eq!(label(code("3CXPSPROFENT")), "Enterprise / AI (perpetual)");
        assert_eq!(label(code("3CXPSSPLA")), "Standard (annual)");
        assert_eq!(label(code(" 3cxpsprofspla ")), "Professional (annual)");
    }

    #[test]
    fn unknown_codes_read_unknown_with_the_code_never_empty() {
        assert_eq!(label(code("XXXXXXX")), "Unknown (XXXXXXX)");
        assert_eq!(label(code("3CXPSGOLD")), "Unknown (3CXPSGOLD)");
        assert_eq!(label(EditionClues::default()), "Unknown (no product code)");
        assert_eq!(label(code("   ")), "Unknown (no product code)");
    }

    #[test]
    fn flags_reported_by_the_pbx_win_over_the_code() {
        let clues = EditionClues {
            is_enterprise: Some(true),
            is_professional: Some(true),
            ..code("3CXPSPROFSPLA")
        };
        assert_eq!(label(clues), "Enterprise / AI (annual)");
        let clues = EditionClues {
            is_enterprise: Some(false),
            is_professional: Some(false),
            ..code("3CXPSPROF")
        };
        assert_eq!(label(clues), "Standard (perpetual)");
        let redacted = EditionClues {
            is_professional: Some(true),
            ..code("XXXXXXX")
        };
        assert_eq!(label(redacted), "Professional");
    }

    #[test]
    fn legacy_is_spla_gives_the_term_when_the_code_cannot() {
        let clues = EditionClues {
            is_spla: Some(true),
            is_professional: Some(true),
            ..EditionClues::default()
        };
        assert_eq!(label(clues), "Professional (annual)");
    }

    #[test]
    fn no_code_and_a_small_call_limit_is_the_free_edition() {
        for calls in [2, 4] {
            let clues = EditionClues {
                max_sim_calls: Some(calls),
                ..EditionClues::default()
            };
            assert_eq!(label(clues), "Free");
        }
        let clues = EditionClues {
            max_sim_calls: Some(8),
            ..EditionClues::default()
        };
        assert_eq!(label(clues), "Unknown (no product code)");
        // A code always wins over the call-limit heuristic.
        let clues = EditionClues {
            max_sim_calls: Some(4),
            ..code("3CXPSSPLA")
        };
        assert_eq!(label(clues), "Standard (annual)");
    }

    #[test]
    fn perpetual_is_known_only_from_a_perpetual_term() {
        assert!(Edition::resolve(code("3CXPSPROF")).is_perpetual());
        assert!(!Edition::resolve(code("3CXPSPROFSPLA")).is_perpetual());
        assert!(!Edition::resolve(code("junk")).is_perpetual());
    }
}
