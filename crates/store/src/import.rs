//! A CSV import as the store takes it: every instance of the file, each with its customer by
//! name, written in one transaction by [`crate::Imports::import_instances`] — all or nothing.
//!
//! The caller (the web layer's import, through the engine's recording path) has already
//! checked every row and worked out what changes; the store resolves customer names (creating
//! the missing ones), creates or updates the instances, and records each manual instance's
//! license with the same statements as [`crate::Licenses::record_reading`].

use runway_core::{BaseUrl, PollInterval, TlsOptions};

use crate::history::{NewEvent, NewReading};
use crate::ids::{InstanceId, ReadingId};
use crate::instance::Login;

/// What an import does to one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportTarget {
    /// Create it.
    Create,
    /// Replace the settings of this instance of the tenant.
    Update(InstanceId),
    /// Leave this instance's settings as they are (only its license is recorded).
    Keep(InstanceId),
}

/// One instance of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportItem {
    /// Its customer's name: the tenant's customer of that name (case-insensitively), created
    /// when the tenant has none.
    pub customer: String,
    /// Create, update or keep.
    pub target: ImportTarget,
    /// Its name, unique per customer.
    pub name: String,
    /// The PBX's address; `None` only for a manual instance.
    pub base_url: Option<BaseUrl>,
    /// New login settings; `None` keeps the stored ones (an instance to create needs one).
    pub login: Option<Login>,
    /// How often it is read.
    pub poll_interval: PollInterval,
    /// TLS settings.
    pub tls: TlsOptions,
    /// A manual instance's license to record, when it changed.
    pub license: Option<ImportLicense>,
}

/// A manual instance's license in an import, with the events the engine worked out for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLicense {
    /// The reading (source `manual`).
    pub reading: NewReading,
    /// Its events, worked out against the license current when the import was checked.
    pub events: Vec<NewEvent>,
    /// That license's reading (`None`: the instance had none). If another reading became
    /// current since, the events would be wrong: the import is refused as a `Conflict`.
    pub based_on: Option<ReadingId>,
}

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    /// Customers created (the names the tenant had none of).
    pub customers_created: Vec<String>,
    /// Every item's instance, in the order of the items.
    pub instances: Vec<InstanceId>,
    /// Readings recorded.
    pub readings: usize,
}
