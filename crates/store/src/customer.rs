//! Customers: an MSP's client companies, each owning instances.

use jiff::Timestamp;

use crate::ids::{CustomerId, TenantId};

/// A customer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Its id.
    pub id: CustomerId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Its name, unique within the tenant (case-insensitively).
    pub name: String,
    /// Free-text notes.
    pub notes: String,
    /// How many instances it has.
    pub instance_count: u32,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A customer's editable fields, to create or update one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerDraft {
    /// Its name.
    pub name: String,
    /// Free-text notes.
    pub notes: String,
}

impl CustomerDraft {
    /// A customer with a name and no notes.
    pub fn named(name: impl Into<String>) -> CustomerDraft {
        CustomerDraft {
            name: name.into(),
            notes: String::new(),
        }
    }
}
