//! What a PSA channel keeps: its settings (which board or queue, which statuses and priorities,
//! which PSA company each customer's tickets belong to) and, per reminder series, the ticket
//! it opened ([`TicketLink`], kept as the channel's reference for the series).
//!
//! The PSAs' wire formats and lifecycle live in `runway-alerts` (`psa`); this module is only the
//! shape that is stored and shown. Ids are strings everywhere: ConnectWise, Autotask and Halo
//! number their records, Syncro names its statuses and priorities.

use std::collections::BTreeMap;

use runway_core::Severity;
use serde::{Deserialize, Serialize};

use crate::ids::CustomerId;

/// One of the PSA's records offered as a choice (a board, a status, a priority, a company):
/// its id, and its name as the PSA shows it, so pages show the name without asking again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PsaChoice {
    /// The PSA's id (or, for Syncro's statuses and priorities, the name it expects).
    pub id: String,
    /// The name shown.
    pub name: String,
}

impl PsaChoice {
    /// A choice whose id and name are `id` and `name`.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> PsaChoice {
        PsaChoice {
            id: id.into(),
            name: name.into(),
        }
    }
}

/// Where the tickets of one Runway customer go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to")]
pub enum CompanyMapping {
    /// This PSA company (or account, or client).
    Company {
        /// The company.
        company: PsaChoice,
    },
    /// No tickets for this customer.
    Skip,
}

/// What a PSA channel does, apart from its secret (ConnectWise's private key, Autotask's
/// secret, Halo's client secret, Syncro's API token).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PsaSettings {
    /// The PSA's address: ConnectWise's site (`na.myconnectwise.net`), Autotask's zone lookup
    /// (`https://webservices.autotask.net`), Halo's or Syncro's base URL.
    pub site: String,
    /// ConnectWise's company id (the one typed at sign-in), Halo's tenant (hosted Halo only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// ConnectWise's public key, Autotask's API user name, Halo's client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// ConnectWise's `clientId`, Autotask's API tracking identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_code: Option<String>,
    /// The API base the discovery found (ConnectWise's codebase URL, Autotask's zone URL),
    /// kept so that each delivery does not ask again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// The board (ConnectWise), queue (Autotask) or team (Halo) new tickets go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board: Option<PsaChoice>,
    /// Halo's ticket type, Syncro's problem type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<PsaChoice>,
    /// The status a new ticket gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_status: Option<PsaChoice>,
    /// The status that closes a ticket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_status: Option<PsaChoice>,
    /// The status a ticket is reopened to (the open status when not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopen_status: Option<PsaChoice>,
    /// The priority per severity: `INFO`, `WARNING`, `CRITICAL`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub priorities: BTreeMap<Severity, PsaChoice>,
    /// Halo's outcome for Runway's private notes ("Internal Note" is usually 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_outcome: Option<PsaChoice>,
    /// Where the tickets of customers that are not mapped go; `None`: nowhere (skip PSA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_company: Option<PsaChoice>,
    /// Each mapped customer's company, or "skip".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub companies: BTreeMap<CustomerId, CompanyMapping>,
    /// Close a renewed series' ticket even when a technician has touched it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close_when_touched: bool,
}

impl PsaSettings {
    /// The company the tickets of `customer` go to; `None`: skip PSA for it.
    pub fn company_for(&self, customer: Option<CustomerId>) -> Option<&PsaChoice> {
        match customer.and_then(|c| self.companies.get(&c)) {
            Some(CompanyMapping::Company { company }) => Some(company),
            Some(CompanyMapping::Skip) => None,
            None => self.default_company.as_ref(),
        }
    }

    /// The priority for `severity`: its own, or the nearest less severe one that is set.
    pub fn priority_for(&self, severity: Severity) -> Option<&PsaChoice> {
        self.priorities
            .range(..=severity)
            .next_back()
            .map(|(_, choice)| choice)
            .or_else(|| self.priorities.values().next())
    }
}

/// Where a series' ticket is, as far as Runway knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// Open, as Runway opened (or reopened) it.
    Open,
    /// The license was renewed, but a technician was working the ticket: Runway added a note
    /// and left it open.
    LeftOpen,
    /// Closed by Runway on renewal (or found closed).
    Closed,
}

impl TicketState {
    /// As the pages say it.
    pub fn label(self) -> &'static str {
        match self {
            TicketState::Open => "open",
            TicketState::LeftOpen => "left open (a technician is on it)",
            TicketState::Closed => "closed",
        }
    }
}

/// The ticket a PSA channel opened for one series: the link table's row (kept as the
/// channel's reference for the series, as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLink {
    /// The PSA's ticket id.
    pub ticket: String,
    /// The number people see, when it is not the id (Syncro's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The ticket in the PSA's own pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where it is.
    pub state: TicketState,
    /// The status Runway last set (a different one now means a technician moved it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The priority Runway last set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// The last stage written to it (`milestone:3`, `resolve:1`), so that a retried attempt
    /// does not write it twice.
    pub stage: String,
    /// The ticket this one follows, when the PSA could not reopen that one (Syncro).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows: Option<String>,
}

impl TicketLink {
    /// The link as it is stored.
    pub fn to_reference(&self) -> String {
        // Strings and an enum only: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A stored reference as a link; `None` when it is not one (another channel's kind).
    pub fn from_reference(reference: &str) -> Option<TicketLink> {
        serde_json::from_str(reference).ok()
    }

    /// What people call the ticket: `#1234`.
    pub fn display(&self) -> String {
        format!("#{}", self.number.as_deref().unwrap_or(&self.ticket))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_maps_to_its_company_to_the_default_or_to_nothing() {
        let mut psa = PsaSettings {
            default_company: Some(PsaChoice::new("1", "Default Co")),
            ..PsaSettings::default()
        };
        psa.companies.insert(
            CustomerId(7),
            CompanyMapping::Company {
                company: PsaChoice::new("250", "Smith & Sons"),
            },
        );
        psa.companies.insert(CustomerId(8), CompanyMapping::Skip);
        let id =
            |psa: &PsaSettings, c: Option<CustomerId>| psa.company_for(c).map(|p| p.id.clone());
        assert_eq!(id(&psa, Some(CustomerId(7))).as_deref(), Some("250"));
        assert_eq!(id(&psa, Some(CustomerId(8))), None, "skip PSA");
        assert_eq!(
            id(&psa, Some(CustomerId(9))).as_deref(),
            Some("1"),
            "unmapped: the default"
        );
        assert_eq!(id(&psa, None).as_deref(), Some("1"));
        psa.default_company = None;
        assert_eq!(id(&psa, Some(CustomerId(9))), None, "no default: no ticket");
    }

    #[test]
    fn a_severity_without_its_own_priority_takes_the_nearest_less_severe_one() {
        let mut psa = PsaSettings::default();
        assert_eq!(psa.priority_for(Severity::Critical), None);
        psa.priorities
            .insert(Severity::Warning, PsaChoice::new("3", "Medium"));
        let id = |s| psa.priority_for(s).map(|p| p.id.clone());
        assert_eq!(id(Severity::Critical).as_deref(), Some("3"));
        assert_eq!(id(Severity::Warning).as_deref(), Some("3"));
        assert_eq!(
            id(Severity::Info).as_deref(),
            Some("3"),
            "nothing less severe is set: the least severe one that is"
        );
    }

    #[test]
    fn settings_and_links_survive_their_stored_json() {
        let mut psa = PsaSettings {
            site: "na.myconnectwise.net".to_owned(),
            ..PsaSettings::default()
        };
        psa.priorities
            .insert(Severity::Critical, PsaChoice::new("1", "Priority 1"));
        psa.companies.insert(CustomerId(7), CompanyMapping::Skip);
        let json = serde_json::to_string(&psa).unwrap();
        assert_eq!(serde_json::from_str::<PsaSettings>(&json).unwrap(), psa);
        let link = TicketLink {
            ticket: "12".to_owned(),
            number: None,
            url: None,
            state: TicketState::LeftOpen,
            status: Some("16".to_owned()),
            priority: None,
            stage: "milestone:3".to_owned(),
            follows: None,
        };
        assert_eq!(TicketLink::from_reference(&link.to_reference()), Some(link));
        assert_eq!(TicketLink::from_reference("PD-dedup-key"), None);
    }
}
