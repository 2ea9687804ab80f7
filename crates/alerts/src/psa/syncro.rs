//! Syncro: a placeholder until its API is written.

use async_trait::async_trait;
use runway_store::{ChannelKind, PsaChoice, PsaSettings};

use super::{ExternalRef, NewTicket, Note, PsaApi, PsaError, PsaOptions, Reopened, Ticket};
use crate::notifier::ChannelError;

/// Checks a Syncro channel's settings and secret.
pub(crate) fn check(_psa: &PsaSettings, _secret: Option<&str>) -> Result<(), ChannelError> {
    Err(ChannelError::invalid(
        ChannelKind::Syncro,
        "kind",
        "not built yet",
    ))
}

/// The Syncro API.
pub struct Syncro;

impl Syncro {
    /// The API for a channel's settings and secret.
    pub fn new(
        psa: &PsaSettings,
        secret: Option<&str>,
        _http: reqwest::Client,
    ) -> Result<Syncro, ChannelError> {
        check(psa, secret).map(|()| Syncro)
    }
}

fn unbuilt<T>() -> Result<T, PsaError> {
    Err(PsaError::Refused {
        error: "not built yet".to_owned(),
    })
}

#[async_trait]
impl PsaApi for Syncro {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Syncro
    }
    async fn find(&self, _x: &ExternalRef, _c: &PsaChoice) -> Result<Option<Ticket>, PsaError> {
        unbuilt()
    }
    async fn create(&self, _new: &NewTicket) -> Result<Ticket, PsaError> {
        unbuilt()
    }
    async fn get(&self, _id: &str) -> Result<Ticket, PsaError> {
        unbuilt()
    }
    async fn note(&self, _id: &str, _note: &Note) -> Result<(), PsaError> {
        unbuilt()
    }
    async fn set_priority(&self, _id: &str, _p: &PsaChoice) -> Result<(), PsaError> {
        unbuilt()
    }
    async fn close(&self, _id: &str, _s: &PsaChoice, _n: &Note) -> Result<(), PsaError> {
        unbuilt()
    }
    async fn reopen(&self, _id: &str, _s: &PsaChoice, _n: &Note) -> Result<Reopened, PsaError> {
        unbuilt()
    }
    async fn work_logged(&self, _t: &Ticket) -> Result<bool, PsaError> {
        unbuilt()
    }
    async fn options(&self, _b: Option<&PsaChoice>) -> Result<PsaOptions, PsaError> {
        unbuilt()
    }
    async fn companies(&self, _s: &str) -> Result<Vec<PsaChoice>, PsaError> {
        unbuilt()
    }
}
