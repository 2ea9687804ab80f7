//! Large fleets with licenses, made through the store's public API for the alert and outbox
//! benchmarks: customers with [`runway_store::Customers::create_customer`], instances with
//! [`runway_store::Instances::create_instance`] and licenses with
//! [`runway_store::Licenses::record_reading`] — the store's half of the one recording path, so
//! every reading writes its history row, the current license and the instance's alert
//! evaluation in one transaction, exactly as a read of the PBX does. No PBX is read (there is
//! none at these sizes): the benchmarks are about what happens after the readings.
//!
//! What the engine adds on top of `record_reading` — the instance's events ("license
//! changed") — is left out: no alert rule reads them.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures_util::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use runway_core::{BaseUrl, Credentials, LicenseFacts, PbxLicense, Secret};
use runway_store::{
    CustomerDraft, CustomerId, InstanceId, Login, NewAttempt, NewInstance, NewReading,
    ReadingSource, Store, TenantId, Trigger,
};

/// One instance to create, and what is known of its license.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Which of the tenant's customers it belongs to (an index into their list).
    pub customer: usize,
    /// Its name (unique per customer).
    pub name: String,
    /// Read from a PBX (`true`), or a manual instance whose license is typed in.
    pub polled: bool,
    /// Its license.
    pub license: PlannedLicense,
}

/// What an instance's license is when the benchmark starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedLicense {
    /// Never read: no license on record.
    NeverRead,
    /// Read (or typed in) at `read_at`, showing `expiry` (`None`: the PBX reports no date).
    Read {
        /// When it was read.
        read_at: Timestamp,
        /// The license's expiry.
        expiry: Option<Timestamp>,
    },
}

impl PlannedLicense {
    /// The facts an instance with this plan has on record; `None` when never read.
    pub fn facts(&self, key: &str) -> Option<LicenseFacts> {
        match *self {
            PlannedLicense::NeverRead => None,
            PlannedLicense::Read { expiry, .. } => Some(facts(key, expiry)),
        }
    }
}

/// The facts of an annual Professional license (SPLA) with `key` and `expiry`.
pub fn facts(key: &str, expiry: Option<Timestamp>) -> LicenseFacts {
    LicenseFacts::from_pbx(PbxLicense {
        fqdn: Some(format!("{}.bench.invalid", key.to_ascii_lowercase())),
        version: Some("20.0.10.1015".to_owned()),
        license_key: Some(key.to_owned()),
        product_code: Some("3CXPSPROFSPLA".to_owned()),
        expiry,
        license_active: Some(true),
        max_sim_calls: Some(16),
        users_used: Some(40),
        max_user_extensions: Some(100),
        ..PbxLicense::default()
    })
}

/// The license key of the `index`-th instance of a tenant: unique in the installation.
pub fn license_key(tenant: TenantId, index: usize) -> String {
    format!("BENCH-{}-{index:06}", tenant.0)
}

/// Creates `count` customers named `Customer 0001`… for the tenant.
pub async fn create_customers(
    store: &dyn Store,
    tenant: TenantId,
    count: usize,
) -> anyhow::Result<Vec<CustomerId>> {
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let draft = CustomerDraft::named(format!("Customer {:04}", n + 1));
        ids.push(store.create_customer(tenant, &draft).await?.id);
    }
    Ok(ids)
}

/// Creates the planned instances of a tenant (created at `created_at`) and records each one's
/// license, `concurrency` instances at a time; returns their ids in plan order. Prints
/// progress to stderr.
pub async fn load(
    store: &Arc<dyn Store>,
    tenant: TenantId,
    customers: &[CustomerId],
    planned: &[Planned],
    created_at: Timestamp,
    concurrency: usize,
) -> anyhow::Result<Vec<InstanceId>> {
    let total = planned.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let done = &done;
    futures_util::stream::iter(planned.iter().enumerate())
        .map(|(index, plan)| async move {
            let id = load_one(store, tenant, customers, index, plan, created_at)
                .await
                .with_context(|| format!("instance {} of tenant {}", plan.name, tenant.0))?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if n.is_multiple_of(10_000) || n == total {
                eprintln!("  tenant {}: {n} of {total} instances", tenant.0);
            }
            Ok::<InstanceId, anyhow::Error>(id)
        })
        .buffered(concurrency.max(1))
        .try_collect()
        .await
}

async fn load_one(
    store: &Arc<dyn Store>,
    tenant: TenantId,
    customers: &[CustomerId],
    index: usize,
    plan: &Planned,
    created_at: Timestamp,
) -> anyhow::Result<InstanceId> {
    let customer = *customers
        .get(plan.customer)
        .context("a planned instance names a customer that was not created")?;
    let new = if plan.polled {
        let url = format!("https://pbx-{}-{index:06}.bench.invalid:5001", tenant.0);
        NewInstance::new(
            customer,
            &plan.name,
            Some(BaseUrl::parse(&url)?),
            Login::Pbx(Credentials::ApiClient {
                client_id: "runway".to_owned(),
                client_secret: Secret::new(format!("bench-client-secret-{index:06}")),
            }),
        )
    } else {
        NewInstance::new(customer, &plan.name, None, Login::Manual)
    };
    let id = store.create_instance(tenant, &new, created_at).await?.id;
    if let PlannedLicense::Read { read_at, .. } = plan.license {
        let facts = plan
            .license
            .facts(&license_key(tenant, index))
            .context("a read license has facts")?;
        let reading = NewReading {
            read_at,
            source: if plan.polled {
                ReadingSource::Xapi
            } else {
                ReadingSource::Manual
            },
            facts,
            raw_body: None,
        };
        let attempt = plan.polled.then_some(NewAttempt {
            started_at: read_at,
            duration: Duration::from_millis(180),
            trigger: Trigger::Schedule,
            clock_offset: None,
        });
        store
            .record_reading(tenant, id, &reading, attempt.as_ref(), &[])
            .await?;
    }
    Ok(id)
}
