//! What a user submits to create or change an instance, customer or tenant settings, checked
//! field by field — shared by the HTML forms and the JSON API so both accept the same input
//! and say the same things about it.

use jiff::Timestamp;
use runway_core::{
    BaseUrl, LicenseFacts, PbxLicense, PollInterval, ReminderPolicy, RenewalTemplate, Retention,
    Secret, TlsOptions, Zone, check_ca_pem, parse_typed_date, typed_date_instant,
};
use runway_store::{
    Credentials, CustomerId, Instance, InstanceId, InstanceUpdate, Login, LoginKind, NewInstance,
    Store, TenantId, TenantSettings,
};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::WebError;
use crate::forms::{FieldErrors, FormData};

/// An instance as submitted (form or API). Secrets left empty keep the stored ones.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct InstanceDraft {
    /// The customer it belongs to.
    pub customer_id: i64,
    /// Its name.
    pub name: String,
    /// The PBX's address, e.g. `https://pbx.example.com:5001` (may be empty for manual ones).
    pub base_url: String,
    /// `api_client`, `user`, `legacy` or `manual`.
    pub login_kind: String,
    /// The client id (API client) or user name.
    pub identity: String,
    /// The client secret or password; empty keeps the stored one.
    pub secret: String,
    /// The TOTP seed (base32) for a user with MFA; empty keeps the stored one.
    pub totp_secret: String,
    /// Minutes between reads (default 360).
    pub poll_interval_minutes: Option<u64>,
    /// A CA certificate (PEM) to trust for this PBX.
    pub custom_ca_pem: String,
    /// Accept any certificate (self-signed PBXs).
    pub accept_invalid_certs: bool,
    /// Manual instances: the license key.
    pub manual_license_key: String,
    /// Manual instances: the product code.
    pub manual_product_code: String,
    /// Manual instances: the expiry date (`YYYY-MM-DD`, in the tenant's zone); empty = none.
    pub manual_expiry_date: String,
    /// Manual instances: the version.
    pub manual_version: String,
    /// Manual instances: the simultaneous-call limit.
    pub manual_max_sim_calls: Option<u32>,
    /// Manual instances: the maintenance expiry date (`YYYY-MM-DD`, in the tenant's zone).
    pub manual_maintenance_date: String,
    /// Manual instances: user extensions in use.
    pub manual_users_used: Option<u32>,
    /// Manual instances: user extensions licensed (when left out, estimated from the calls).
    pub manual_users_licensed: Option<u32>,
    /// API only: enable or disable polling (unchanged when absent).
    pub enabled: Option<bool>,
}

/// How the login part of a draft resolved.
#[derive(Debug, Clone)]
pub(crate) enum DraftLogin {
    /// New credentials to store, or a switch to manual.
    Set(Login),
    /// Keep what is stored.
    Keep,
}

/// A checked draft.
#[derive(Debug, Clone)]
pub(crate) struct CheckedInstance {
    pub(crate) customer_id: CustomerId,
    pub(crate) name: String,
    pub(crate) base_url: Option<BaseUrl>,
    pub(crate) login: DraftLogin,
    /// A manual instance's license as typed, when it differs from the current one: it is
    /// recorded through the engine's recording path once the settings are saved.
    pub(crate) manual_facts: Option<LicenseFacts>,
    pub(crate) poll_interval: PollInterval,
    pub(crate) tls: TlsOptions,
}

impl CheckedInstance {
    /// The instance to create (a draft that keeps stored credentials cannot create one).
    pub(crate) fn new_instance(&self) -> Result<NewInstance, WebError> {
        let DraftLogin::Set(login) = &self.login else {
            return Err(WebError::Invalid(
                "the password or client secret is required".into(),
            ));
        };
        let mut new = NewInstance::new(
            self.customer_id,
            self.name.clone(),
            self.base_url.clone(),
            login.clone(),
        );
        new.poll_interval = self.poll_interval;
        new.tls = self.tls.clone();
        Ok(new)
    }

    /// The update to apply.
    pub(crate) fn update(&self) -> InstanceUpdate {
        InstanceUpdate {
            customer_id: self.customer_id,
            name: self.name.clone(),
            base_url: self.base_url.clone(),
            login: match &self.login {
                DraftLogin::Set(login) => Some(login.clone()),
                DraftLogin::Keep => None,
            },
            poll_interval: self.poll_interval,
            tls: self.tls.clone(),
        }
    }
}

fn secret_or_none(text: &str) -> Option<Secret> {
    let text = text.trim();
    (!text.is_empty()).then(|| Secret::new(text))
}

impl InstanceDraft {
    /// The draft an instance form submits. Numbers that do not parse are left out (a missing
    /// poll interval means the default; a customer of 0 is no customer).
    pub(crate) fn from_form(form: &FormData) -> InstanceDraft {
        InstanceDraft {
            customer_id: form.get("customer_id").parse().unwrap_or(0),
            name: form.get("name"),
            base_url: form.get("base_url"),
            login_kind: form.get("login_kind"),
            identity: form.get("identity"),
            secret: form.raw("secret").to_owned(),
            totp_secret: form.get("totp_secret"),
            poll_interval_minutes: form.get("poll_interval_minutes").parse().ok(),
            custom_ca_pem: form.get("custom_ca_pem"),
            accept_invalid_certs: form.checked("accept_invalid_certs"),
            manual_license_key: form.get("manual_license_key"),
            manual_product_code: form.get("manual_product_code"),
            manual_expiry_date: form.get("manual_expiry_date"),
            manual_version: form.get("manual_version"),
            manual_max_sim_calls: form.get("manual_max_sim_calls").parse().ok(),
            manual_maintenance_date: form.get("manual_maintenance_date"),
            manual_users_used: form.get("manual_users_used").parse().ok(),
            manual_users_licensed: form.get("manual_users_licensed").parse().ok(),
            enabled: None,
        }
    }

    /// A draft showing an instance's current settings (never its secrets).
    pub(crate) fn from_instance(
        instance: &Instance,
        facts: Option<&LicenseFacts>,
        zone: &Zone,
    ) -> InstanceDraft {
        let mut draft = InstanceDraft {
            customer_id: instance.customer_id.0,
            name: instance.name.clone(),
            base_url: instance
                .base_url
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            login_kind: instance.login_kind.as_str().to_owned(),
            identity: instance.login_identity.clone().unwrap_or_default(),
            poll_interval_minutes: Some(instance.poll_interval.minutes()),
            custom_ca_pem: instance.tls.custom_ca_pem.clone().unwrap_or_default(),
            accept_invalid_certs: instance.tls.accept_invalid_certs,
            ..InstanceDraft::default()
        };
        if instance.login_kind == LoginKind::Manual
            && let Some(facts) = facts
        {
            draft.manual_license_key = facts.license_key.clone().unwrap_or_default();
            draft.manual_product_code = facts.product_code.clone().unwrap_or_default();
            draft.manual_expiry_date = facts
                .expiry
                .map(|e| zone.date_of(e).to_string())
                .unwrap_or_default();
            draft.manual_version = facts.version.clone().unwrap_or_default();
            draft.manual_max_sim_calls = facts.max_sim_calls;
            draft.manual_maintenance_date = facts
                .maintenance_expiry
                .map(|e| zone.date_of(e).to_string())
                .unwrap_or_default();
            draft.manual_users_used = facts.users_used;
            // An estimated cap comes back by itself from the call limit.
            draft.manual_users_licensed = facts
                .users_licensed
                .filter(|l| !l.estimated)
                .map(|l| l.count);
        }
        draft
    }

    /// The manual facts this draft describes.
    fn manual_facts(&self, zone: &Zone, errors: &mut FieldErrors) -> LicenseFacts {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let mut date = |field: &str, what: &str, typed: &str| -> Option<Timestamp> {
            let typed = typed.trim();
            if typed.is_empty() {
                return None;
            }
            match parse_typed_date(typed) {
                Ok(date) => {
                    let instant = typed_date_instant(date, zone);
                    // Only at the very ends of the calendar (9999-12-31 west of UTC): refused
                    // rather than recorded as no date at all.
                    if instant.is_none() {
                        errors.add(
                            field,
                            format!("the {what} date is beyond the dates Runway can record"),
                        );
                    }
                    instant
                }
                Err(err) => {
                    errors.add(field, err.to_string());
                    None
                }
            }
        };
        let expiry = date("manual_expiry_date", "expiry", &self.manual_expiry_date);
        let maintenance_expiry = date(
            "manual_maintenance_date",
            "maintenance",
            &self.manual_maintenance_date,
        );
        LicenseFacts::from_pbx(PbxLicense {
            license_key: text(&self.manual_license_key),
            product_code: text(&self.manual_product_code),
            version: text(&self.manual_version),
            expiry,
            maintenance_expiry,
            max_sim_calls: self.manual_max_sim_calls,
            users_used: self.manual_users_used,
            max_user_extensions: self.manual_users_licensed,
            ..PbxLicense::default()
        })
    }

    /// Checks the draft. `existing` is the instance being edited (its stored secrets are kept
    /// when the secret fields are left empty); `current_facts` its current license.
    pub(crate) async fn check(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        zone: &Zone,
        existing: Option<(&Instance, Option<&LicenseFacts>)>,
    ) -> Result<CheckedInstance, FieldErrors> {
        let customer_known = store
            .customer(tenant, CustomerId(self.customer_id))
            .await
            .is_ok();
        self.check_settings(store, tenant, zone, existing, customer_known)
            .await
    }

    /// [`InstanceDraft::check`] with the customer already looked up: `customer_known` says
    /// whether `customer_id` is one of the tenant's (an import names customers by name and
    /// creates the missing ones, so it checks them itself).
    pub(crate) async fn check_settings(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        zone: &Zone,
        existing: Option<(&Instance, Option<&LicenseFacts>)>,
        customer_known: bool,
    ) -> Result<CheckedInstance, FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.name.trim().is_empty() {
            errors.add("name", "enter a name for the instance");
        }
        let customer_id = CustomerId(self.customer_id);
        if !customer_known {
            errors.add("customer_id", "choose one of your customers");
        }
        let kind: Option<LoginKind> = self.login_kind.parse().ok();
        if kind.is_none() {
            errors.add("login_kind", "choose how Runway logs in to the PBX");
        }
        let base_url = match (self.base_url.trim(), kind) {
            ("", Some(LoginKind::Manual)) => None,
            (text, _) => BaseUrl::parse(text)
                .map_err(|err| errors.add("base_url", err.to_string()))
                .ok(),
        };
        let poll_interval = PollInterval::from_minutes(self.poll_interval_minutes.unwrap_or(360))
            .map_err(|err| errors.add("poll_interval_minutes", err.to_string()))
            .ok();
        let custom_ca_pem = check_ca_pem(&self.custom_ca_pem)
            .map_err(|err| errors.add("custom_ca_pem", err.to_string()))
            .ok()
            .flatten();
        let mut manual_facts = None;
        let login = match kind {
            Some(LoginKind::Manual) => {
                let facts = self.manual_facts(zone, &mut errors);
                let was_manual =
                    existing.is_some_and(|(instance, _)| instance.login_kind == LoginKind::Manual);
                let unchanged =
                    was_manual && existing.is_some_and(|(_, current)| current == Some(&facts));
                if !unchanged {
                    manual_facts = Some(facts);
                }
                if was_manual {
                    DraftLogin::Keep
                } else {
                    DraftLogin::Set(Login::Manual)
                }
            }
            Some(kind) => match self
                .credentials(
                    store,
                    tenant,
                    kind,
                    existing.map(|e| e.0),
                    base_url.as_ref(),
                )
                .await
            {
                Ok(Some(credentials)) => DraftLogin::Set(Login::Pbx(credentials)),
                Ok(None) => DraftLogin::Keep,
                Err((field, message)) => {
                    errors.add(field, message);
                    DraftLogin::Keep
                }
            },
            None => DraftLogin::Keep,
        };
        let (false, Some(poll_interval)) = (errors.any(), poll_interval) else {
            return Err(errors);
        };
        Ok(CheckedInstance {
            customer_id,
            name: self.name.trim().to_owned(),
            base_url,
            login,
            manual_facts,
            poll_interval,
            tls: TlsOptions {
                custom_ca_pem,
                accept_invalid_certs: self.accept_invalid_certs,
            },
        })
    }

    /// The credentials to store: `None` when nothing changed; an error names the field.
    ///
    /// Secret fields left empty keep the stored secrets — but only for the server and the
    /// login kind they were entered for. A stored secret is never combined with another
    /// address (or kind) taken from a request, or an admin could have it sent anywhere.
    async fn credentials(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        kind: LoginKind,
        existing: Option<&Instance>,
        base_url: Option<&BaseUrl>,
    ) -> Result<Option<Credentials>, (&'static str, String)> {
        let identity = self.identity.trim().to_owned();
        if identity.is_empty() {
            let what = if kind == LoginKind::ApiClient {
                "client id"
            } else {
                "user name"
            };
            return Err(("identity", format!("enter the {what}")));
        }
        if let Some(totp) = secret_or_none(&self.totp_secret)
            && runway_threecx::validate_totp_secret(&totp).is_err()
        {
            return Err((
                "totp_secret",
                "the TOTP secret must be base32 (A–Z, 2–7)".into(),
            ));
        }
        let stored_usable = |instance: &&Instance| {
            instance.login_kind == kind
                && match (&instance.base_url, base_url) {
                    (Some(stored), Some(asked)) => stored.same_server(asked),
                    _ => false,
                }
        };
        let stored = match existing.filter(stored_usable) {
            Some(instance) => store.credentials(tenant, instance.id).await.ok(),
            None => None,
        };
        let must_retype = existing.is_some_and(|i| i.login_identity.is_some()) && stored.is_none();
        let stored_secret = stored.as_ref().map(|c| match c {
            Credentials::ApiClient { client_secret, .. } => client_secret.clone(),
            Credentials::User { password, .. } | Credentials::Legacy { password, .. } => {
                password.clone()
            }
        });
        let stored_totp = match &stored {
            Some(Credentials::User { totp_secret, .. }) => totp_secret.clone(),
            _ => None,
        };
        let Some(secret) = secret_or_none(&self.secret).or(stored_secret) else {
            let what = if kind == LoginKind::ApiClient {
                "client secret"
            } else {
                "password"
            };
            return Err(if must_retype {
                (
                    "secret",
                    format!(
                        "enter the {what} again: a stored secret is only sent to the address \
                         and login it was entered for, and these changed"
                    ),
                )
            } else {
                ("secret", format!("enter the {what}"))
            });
        };
        let credentials = match kind {
            LoginKind::ApiClient => Credentials::ApiClient {
                client_id: identity,
                client_secret: secret,
            },
            LoginKind::User => Credentials::User {
                username: identity,
                password: secret,
                totp_secret: secret_or_none(&self.totp_secret).or(stored_totp),
            },
            LoginKind::Legacy => Credentials::Legacy {
                username: identity,
                password: secret,
            },
            LoginKind::Manual => return Ok(None),
        };
        Ok((stored.as_ref() != Some(&credentials)).then_some(credentials))
    }

    /// The credentials and TLS settings a connection test should use. Stored secrets fill
    /// empty fields only when the address is the stored one's server and the login kind is
    /// the stored one (see `credentials`).
    pub(crate) async fn test_target(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        existing: Option<&Instance>,
    ) -> Result<(BaseUrl, Credentials, TlsOptions), String> {
        let kind: LoginKind = self
            .login_kind
            .parse()
            .map_err(|_| "choose how Runway logs in to the PBX".to_owned())?;
        if kind == LoginKind::Manual {
            return Err("a manual instance has no PBX to test".into());
        }
        let base_url = BaseUrl::parse(&self.base_url).map_err(|err| err.to_string())?;
        let credentials = match self
            .credentials(store, tenant, kind, existing, Some(&base_url))
            .await
        {
            Ok(Some(c)) => c,
            Ok(None) => {
                let instance = existing.ok_or("enter the password or client secret")?;
                store
                    .credentials(tenant, instance.id)
                    .await
                    .map_err(|_| "the stored credentials cannot be used".to_owned())?
            }
            Err((_, message)) => return Err(message),
        };
        let custom_ca_pem = check_ca_pem(&self.custom_ca_pem).map_err(|err| err.to_string())?;
        Ok((
            base_url,
            credentials,
            TlsOptions {
                custom_ca_pem,
                accept_invalid_certs: self.accept_invalid_certs,
            },
        ))
    }
}

/// Tenant settings as submitted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SettingsDraft {
    /// The MSP's name.
    pub name: String,
    /// The IANA time zone, e.g. `America/New_York`.
    pub zone: String,
    /// Reminder milestones in days before expiry, e.g. `10, 3, 1`.
    pub milestones: String,
    /// Whether a lapsed license raises the "license expired" alert.
    pub lapse_alert: bool,
    /// The renewal-link template with `{key}` and `{product_code}`.
    pub renewal_template: String,
    /// Days of license history (readings, events, audit log) kept; unchanged when absent.
    pub history_days: Option<u32>,
    /// Days of read attempts kept; unchanged when absent.
    pub attempt_days: Option<u32>,
    /// Hours without a successful read before the "not read" alert; unchanged when absent.
    pub not_read_after_hours: Option<u32>,
    /// Whether an instance at 90% or more of its licensed users raises a "capacity" alert;
    /// unchanged when absent.
    pub capacity_alerts: Option<bool>,
    /// Whether maintenance dates get a reminder series too; unchanged when absent.
    pub maintenance_reminders: Option<bool>,
}

impl SettingsDraft {
    /// A draft showing the current settings.
    pub(crate) fn from_settings(settings: &TenantSettings) -> SettingsDraft {
        SettingsDraft {
            name: settings.name.clone(),
            zone: settings.zone.name().to_owned(),
            milestones: settings
                .reminders
                .milestones()
                .iter()
                .map(|m| m.days_before.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            lapse_alert: settings.reminders.lapse_alert(),
            renewal_template: settings.renewal_template.as_str().to_owned(),
            history_days: Some(settings.retention.history_days()),
            attempt_days: Some(settings.retention.attempt_days()),
            not_read_after_hours: Some(settings.not_read_after_hours),
            capacity_alerts: Some(settings.capacity_alerts),
            maintenance_reminders: Some(settings.maintenance_reminders),
        }
    }

    /// Checks every field; retention periods left out stay as they are in `current`.
    pub(crate) fn check(&self, current: &TenantSettings) -> Result<TenantSettings, FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.name.trim().is_empty() {
            errors.add("name", "enter the MSP's name");
        }
        let zone = Zone::parse(&self.zone)
            .map_err(|e| errors.add("zone", e.to_string()))
            .ok();
        let days: Result<Vec<u16>, _> = self
            .milestones
            .split([',', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse::<u16>())
            .collect();
        let reminders = if let Ok(days) = days {
            ReminderPolicy::from_days(&days, self.lapse_alert)
                .map_err(|e| errors.add("milestones", e.to_string()))
                .ok()
        } else {
            errors.add("milestones", "enter whole numbers of days, e.g. 10, 3, 1");
            None
        };
        let template = RenewalTemplate::parse(&self.renewal_template)
            .map_err(|e| errors.add("renewal_template", e.to_string()))
            .ok();
        let retention = Retention::new(
            self.history_days
                .unwrap_or(current.retention.history_days()),
            self.attempt_days
                .unwrap_or(current.retention.attempt_days()),
        )
        .map_err(|e| {
            let field = if e.what == "read attempts" {
                "attempt_days"
            } else {
                "history_days"
            };
            errors.add(field, e.to_string());
        })
        .ok();
        let not_read_after_hours = runway_store::check_not_read_after_hours(
            self.not_read_after_hours
                .unwrap_or(current.not_read_after_hours),
        )
        .map_err(|e| errors.add("not_read_after_hours", e))
        .unwrap_or_default();
        match (zone, reminders, template, retention) {
            (Some(zone), Some(reminders), Some(renewal_template), Some(retention))
                if !errors.any() =>
            {
                Ok(TenantSettings {
                    name: self.name.trim().to_owned(),
                    zone,
                    reminders,
                    renewal_template,
                    retention,
                    not_read_after_hours,
                    capacity_alerts: self.capacity_alerts.unwrap_or(current.capacity_alerts),
                    maintenance_reminders: self
                        .maintenance_reminders
                        .unwrap_or(current.maintenance_reminders),
                })
            }
            _ => Err(errors),
        }
    }
}

/// Reads an instance id from a path or form value.
pub(crate) fn instance_id(text: &str) -> Option<InstanceId> {
    text.trim().parse().ok().map(InstanceId)
}
