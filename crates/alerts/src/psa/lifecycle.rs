//! The ticket lifecycle every PSA shares: open, escalate, resolve (close, or leave a worked
//! ticket open), reopen on recurrence — keyed by the series, idempotent across retries.
//!
//! State between notifications is the channel's reference for the series, a
//! [`TicketLink`] (the link table's row): which ticket, where it is, the status and priority
//! Runway last set and the last stage it wrote. It is saved only after a notification went
//! through; a notification that failed half-way (a note added, then the priority change
//! refused) is retried whole, and each step it repeats is one the PSA shows twice at worst
//! (a note), never a second ticket: a create is always preceded by a lookup of the series'
//! external reference.

use std::fmt::Write as _;

use async_trait::async_trait;
use runway_core::Severity;
use runway_store::{
    Channel, ChannelKind, Notice, NoticeAction, PsaChoice, PsaSettings, TicketLink, TicketState,
};

use super::{ExternalRef, NewTicket, Note, PsaApi, PsaError, Reopened, Ticket};
use crate::notifier::{Attempt, Notifier};
use crate::text::sha256_hex;

/// The longest summary: ConnectWise's limit, the smallest of the four.
const SUMMARY_CHARS: usize = 100;

/// The external reference of `series_key` in `channel`: a hash of both and of when the channel
/// was made, so two Runway installations (or two channels) writing to one PSA never share one.
pub fn external_ref(channel: &Channel, series_key: &str) -> ExternalRef {
    let seed = format!(
        "{series_key}|c{}|{}",
        channel.id.0,
        channel.created_at.as_second()
    );
    ExternalRef {
        token: format!("RW-{}", &sha256_hex(&seed)[..12]),
    }
}

/// Sends notifications to one PSA channel.
pub struct PsaNotifier {
    api: Box<dyn PsaApi>,
    settings: PsaSettings,
    channel: Channel,
}

impl PsaNotifier {
    /// A notifier for `channel` (a PSA channel with `settings`) through `api`.
    pub fn new(api: Box<dyn PsaApi>, settings: PsaSettings, channel: Channel) -> PsaNotifier {
        PsaNotifier {
            api,
            settings,
            channel,
        }
    }

    fn xref(&self, notice: &Notice) -> ExternalRef {
        external_ref(&self.channel, &notice.series_key)
    }

    fn priority(&self, severity: Severity) -> Option<PsaChoice> {
        self.settings.priority_for(severity).cloned()
    }

    fn open_status(&self) -> Option<PsaChoice> {
        self.settings.open_status.clone()
    }

    fn reopen_status(&self) -> Option<PsaChoice> {
        self.settings
            .reopen_status
            .clone()
            .or_else(|| self.settings.open_status.clone())
    }

    fn closed_status(&self) -> Result<PsaChoice, PsaError> {
        self.settings
            .closed_status
            .clone()
            .ok_or_else(|| PsaError::Refused {
                error: format!(
                    "the {} channel has no closed status: choose one in its settings",
                    self.channel.kind.label()
                ),
            })
    }

    /// The ticket to create for `notice` in `company`.
    fn new_ticket(&self, notice: &Notice, company: &PsaChoice, follows: Option<&str>) -> NewTicket {
        let xref = self.xref(notice);
        let mut description = description(notice);
        if let Some(old) = follows {
            let _ = write!(
                description,
                "\n\nThis license's reminders came back after ticket #{old} was closed; \
                 this ticket follows it."
            );
        }
        NewTicket {
            company: company.clone(),
            summary: summary(notice, &xref),
            description,
            xref,
            status: self.open_status(),
            priority: self.priority(notice.severity),
        }
    }

    /// A link to `ticket`, as it is now, after the stage `after`.
    fn link(ticket: &Ticket, state: TicketState, after: &str) -> TicketLink {
        TicketLink {
            ticket: ticket.id.clone(),
            number: ticket.number.clone(),
            url: ticket.url.clone(),
            state,
            status: ticket.status.clone(),
            priority: ticket.priority.clone(),
            stage: after.to_owned(),
            follows: None,
        }
    }

    /// Creates the series' ticket — unless the lookup finds the one an earlier attempt made.
    async fn open(
        &self,
        notice: &Notice,
        company: &PsaChoice,
        follows: Option<&str>,
    ) -> Result<TicketLink, PsaError> {
        let xref = self.xref(notice);
        let found = self
            .api
            .find(&xref, company)
            .await
            .map_err(|e| e.context("looking for the series' ticket"))?;
        if let Some(ticket) = found.filter(|t| follows.is_none_or(|old| t.id != old)) {
            tracing::info!(
                channel = %self.channel.name,
                ticket = %ticket.id,
                key = %notice.idempotency_key,
                "found the series' ticket by its external reference; not creating another"
            );
            if ticket.closed {
                return self.recur(notice, company, ticket).await;
            }
            return Ok(Self::link(&ticket, TicketState::Open, &notice.stage));
        }
        let new = self.new_ticket(notice, company, follows);
        let ticket = self
            .api
            .create(&new)
            .await
            .map_err(|e| e.context("creating the ticket"))?;
        let mut link = Self::link(&ticket, TicketState::Open, &notice.stage);
        link.status = link.status.or_else(|| new.status.map(|s| s.id));
        link.priority = link.priority.or_else(|| new.priority.map(|p| p.id));
        link.follows = follows.map(str::to_owned);
        Ok(link)
    }

    /// The series fired again after its ticket was closed: reopen it with a note, or open a
    /// new ticket that names it when the PSA will not reopen it.
    async fn recur(
        &self,
        notice: &Notice,
        company: &PsaChoice,
        ticket: Ticket,
    ) -> Result<TicketLink, PsaError> {
        let note = Note {
            title: "License reminder again".to_owned(),
            text: format!(
                "{}\n\nThe license reminders for this series came back after the ticket was \
                 closed (a refund, or a renewal that did not take). Runway reopened the ticket.",
                notice.summary
            ),
        };
        let status = self.reopen_status().ok_or_else(|| PsaError::Refused {
            error: format!(
                "the {} channel has no open status to reopen the ticket to: choose one in its \
                 settings",
                self.channel.kind.label()
            ),
        })?;
        match self
            .api
            .reopen(&ticket.id, &status, &note)
            .await
            .map_err(|e| e.context("reopening the ticket"))?
        {
            Reopened::Yes => {
                if let Some(priority) = self.priority(notice.severity) {
                    self.api
                        .set_priority(&ticket.id, &priority)
                        .await
                        .map_err(|e| e.context("raising the ticket's priority"))?;
                }
                let mut link = Self::link(&ticket, TicketState::Open, &notice.stage);
                link.status = Some(status.id);
                link.priority = self.priority(notice.severity).map(|p| p.id);
                Ok(link)
            }
            Reopened::NotPossible => Box::pin(self.open(notice, company, Some(&ticket.id))).await,
        }
    }

    /// A later stage of a series with an open ticket: a note, and the higher priority.
    async fn escalate(
        &self,
        notice: &Notice,
        mut link: TicketLink,
    ) -> Result<TicketLink, PsaError> {
        let note = Note {
            title: format!("Escalated to {}", notice.severity),
            text: format!(
                "Escalated to {}: {}\n\n{}",
                notice.severity,
                notice.summary,
                description(notice)
            ),
        };
        self.api
            .note(&link.ticket, &note)
            .await
            .map_err(|e| e.context("adding the escalation note"))?;
        if let Some(priority) = self.priority(notice.severity)
            && link.priority.as_deref() != Some(priority.id.as_str())
        {
            self.api
                .set_priority(&link.ticket, &priority)
                .await
                .map_err(|e| e.context("raising the ticket's priority"))?;
            link.priority = Some(priority.id);
        }
        link.state = TicketState::Open;
        link.stage.clone_from(&notice.stage);
        Ok(link)
    }

    async fn trigger(
        &self,
        notice: &Notice,
        link: Option<TicketLink>,
    ) -> Result<Option<TicketLink>, PsaError> {
        let Some(company) = self.settings.company_for(notice.customer_id).cloned() else {
            tracing::info!(
                channel = %self.channel.name,
                customer = %notice.customer_name,
                key = %notice.idempotency_key,
                "the customer is not mapped to a PSA company and the channel has no default: \
                 no ticket"
            );
            return Ok(link);
        };
        if let Some(link) = link {
            if link.stage == notice.stage {
                return Ok(Some(link));
            }
            match self.api.get(&link.ticket).await {
                Ok(ticket) if ticket.closed => {
                    return self.recur(notice, &company, ticket).await.map(Some);
                }
                Ok(_) => return self.escalate(notice, link).await.map(Some),
                Err(PsaError::NotFound { .. }) => tracing::warn!(
                    channel = %self.channel.name,
                    ticket = %link.ticket,
                    key = %notice.idempotency_key,
                    "the series' ticket is gone from the PSA (deleted or merged); looking for \
                     it again by its external reference"
                ),
                Err(err) => return Err(err.context("reading the series' ticket")),
            }
        }
        self.open(notice, &company, None).await.map(Some)
    }

    async fn resolve(
        &self,
        notice: &Notice,
        link: Option<TicketLink>,
    ) -> Result<Option<TicketLink>, PsaError> {
        let stage = resolve_stage(notice);
        let link = match link {
            Some(link) => link,
            // A ticket whose create's answer was lost is found by its reference.
            None => match self.found(notice).await? {
                Some(link) => link,
                None => return Ok(None),
            },
        };
        if link.stage == stage || link.state == TicketState::Closed {
            return Ok(Some(link));
        }
        let closed = TicketLink {
            state: TicketState::Closed,
            stage: stage.clone(),
            ..link.clone()
        };
        let ticket = match self.api.get(&link.ticket).await {
            Ok(ticket) if ticket.closed => return Ok(Some(closed)),
            Ok(ticket) => ticket,
            Err(PsaError::NotFound { .. }) => {
                tracing::warn!(
                    channel = %self.channel.name,
                    ticket = %link.ticket,
                    "the series' ticket is gone from the PSA (deleted or merged): nothing to close"
                );
                return Ok(Some(closed));
            }
            Err(err) => return Err(err.context("reading the series' ticket")),
        };
        let what = notice
            .resolution_note
            .clone()
            .unwrap_or_else(|| "resolved".to_owned());
        let touched = self.touched(&ticket, &link).await?;
        match touched {
            Some(why) if !self.settings.close_when_touched => {
                let note = Note {
                    title: "License renewed".to_owned(),
                    text: format!(
                        "License {what}. Runway left this ticket open because {why}; close it \
                         when you are done."
                    ),
                };
                self.api
                    .note(&ticket.id, &note)
                    .await
                    .map_err(|e| e.context("adding the renewal note"))?;
                Ok(Some(TicketLink {
                    state: TicketState::LeftOpen,
                    stage,
                    ..link
                }))
            }
            _ => {
                let status = self.closed_status()?;
                let note = Note {
                    title: "License renewed".to_owned(),
                    text: format!("License {what}. Runway closed this ticket."),
                };
                self.api
                    .close(&ticket.id, &status, &note)
                    .await
                    .map_err(|e| e.context("closing the ticket"))?;
                Ok(Some(TicketLink {
                    status: Some(status.id),
                    ..closed
                }))
            }
        }
    }

    /// The series' ticket found by its external reference in the customer's company, if any.
    async fn found(&self, notice: &Notice) -> Result<Option<TicketLink>, PsaError> {
        let Some(company) = self.settings.company_for(notice.customer_id) else {
            return Ok(None);
        };
        let found = self
            .api
            .find(&self.xref(notice), company)
            .await
            .map_err(|e| e.context("looking for the series' ticket"))?;
        Ok(found.map(|ticket| Self::link(&ticket, TicketState::Open, "found")))
    }

    /// Why a technician counts as having touched the ticket, if one has: its status moved
    /// from the one Runway set, someone is assigned, time is logged, someone else wrote on it.
    async fn touched(
        &self,
        ticket: &Ticket,
        link: &TicketLink,
    ) -> Result<Option<String>, PsaError> {
        if let (Some(now), Some(set)) = (&ticket.status, &link.status)
            && now != set
        {
            return Ok(Some("its status was changed".to_owned()));
        }
        if let Some(who) = &ticket.assigned {
            return Ok(Some(format!("it is assigned to {who}")));
        }
        if ticket.time_logged {
            return Ok(Some("time is logged on it".to_owned()));
        }
        if ticket.others_wrote {
            return Ok(Some("someone else wrote on it".to_owned()));
        }
        if self
            .api
            .work_logged(ticket)
            .await
            .map_err(|e| e.context("reading the ticket's time entries"))?
        {
            return Ok(Some("time is logged on it".to_owned()));
        }
        Ok(None)
    }

    /// A test from the channel's button: a ticket in the default company, closed at once.
    async fn test(&self, notice: &Notice) -> Result<(), PsaError> {
        let company = self
            .settings
            .default_company
            .clone()
            .or_else(|| {
                self.settings.companies.values().find_map(|m| match m {
                    runway_store::CompanyMapping::Company { company } => Some(company.clone()),
                    runway_store::CompanyMapping::Skip => None,
                })
            })
            .ok_or_else(|| PsaError::Refused {
                error: "a test ticket needs a company: choose a default company, or map a \
                        customer"
                    .to_owned(),
            })?;
        let mut new = self.new_ticket(notice, &company, None);
        new.summary = truncate_chars(
            &format!("Runway test ticket {}", new.xref.tag()),
            SUMMARY_CHARS,
        );
        new.description = format!(
            "{}\n\nThis ticket tests Runway's {} channel \"{}\". Runway closes it at once.",
            notice.summary,
            self.channel.kind.label(),
            self.channel.name
        );
        let ticket = self
            .api
            .create(&new)
            .await
            .map_err(|e| e.context("creating the test ticket"))?;
        if let Ok(status) = self.closed_status() {
            let note = Note {
                title: "Runway test".to_owned(),
                text: "The channel works: Runway closes its test ticket.".to_owned(),
            };
            self.api
                .close(&ticket.id, &status, &note)
                .await
                .map_err(|e| e.context("closing the test ticket"))?;
        }
        Ok(())
    }
}

#[async_trait]
impl Notifier for PsaNotifier {
    fn kind(&self) -> ChannelKind {
        self.api.kind()
    }

    async fn notify(&self, notice: &Notice, reference: Option<&str>) -> Attempt {
        let link = reference.and_then(TicketLink::from_reference);
        let outcome = match notice.action {
            NoticeAction::Trigger => self.trigger(notice, link).await,
            NoticeAction::Resolve => self.resolve(notice, link).await,
            NoticeAction::Test => self.test(notice).await.map(|()| None),
            // Problems are for the other channels; a PSA is never sent one.
            NoticeAction::Problem => Ok(link),
        };
        match outcome {
            Ok(link) => Attempt::Sent {
                reference: link.map(|l| l.to_reference()),
            },
            Err(err) => err.into_attempt(),
        }
    }
}

/// The stage a resolve writes to the link: `resolve:N`, N counting the series' resolves.
fn resolve_stage(notice: &Notice) -> String {
    notice
        .idempotency_key
        .rsplit_once(":resolve:")
        .map_or_else(|| "resolve".to_owned(), |(_, n)| format!("resolve:{n}"))
}

/// The ticket's one line: who, what, and the series' tag, within [`SUMMARY_CHARS`].
pub(crate) fn summary(notice: &Notice, xref: &ExternalRef) -> String {
    let tag = xref.tag();
    let what = match notice.days_left {
        Some(days) if days < 0 => "has expired".to_owned(),
        Some(0) => "expires today".to_owned(),
        Some(1) => "expires tomorrow".to_owned(),
        Some(days) => format!("expires in {days} days"),
        None => "needs attention".to_owned(),
    };
    let thing = match notice.kind {
        runway_store::AlertKind::MaintenanceExpiry => "3CX maintenance",
        runway_store::AlertKind::NotRead => "3CX PBX not read",
        runway_store::AlertKind::Capacity => "3CX seats",
        runway_store::AlertKind::LicenseExpiry => "3CX license",
    };
    let line = match notice.kind {
        runway_store::AlertKind::LicenseExpiry | runway_store::AlertKind::MaintenanceExpiry => {
            format!(
                "{thing} {what}: {} ({})",
                notice.instance_name, notice.customer_name
            )
        }
        _ => format!(
            "{thing}: {} ({})",
            notice.instance_name, notice.customer_name
        ),
    };
    let room = SUMMARY_CHARS - tag.chars().count() - 1;
    format!("{} {tag}", truncate_chars(&line, room))
}

/// The ticket's description: the facts a technician needs to renew.
pub(crate) fn description(notice: &Notice) -> String {
    let mut lines = vec![notice.summary.clone(), String::new()];
    lines.push(format!("Customer: {}", notice.customer_name));
    lines.push(format!("Instance: {}", notice.instance_name));
    if let Some(key) = &notice.license_key {
        lines.push(format!("License key: {key}"));
    }
    if let Some(edition) = &notice.edition {
        lines.push(format!("Edition: {edition}"));
    }
    if let Some(date) = notice.expiry_date {
        lines.push(format!("Expires: {date} ({})", notice.zone));
    }
    if let Some(days) = notice.days_left {
        lines.push(format!("Days left: {days}"));
    }
    if let Some(url) = &notice.renew_url {
        lines.push(format!("Renew: {url}"));
    }
    lines.push(String::new());
    lines.push("Opened by Runway. Runway adds a note as the expiry nears and closes this ticket when the license is renewed.".to_owned());
    lines.join("\n")
}

/// At most `max` characters, with an ellipsis when cut.
fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    //! The lifecycle over an in-memory PSA: what each notification does to the ticket.

    use std::sync::Mutex;

    use runway_store::{AlertResolution, ChannelId, CompanyMapping, CustomerId, TenantId};

    use super::*;
    use crate::psa::PsaOptions;

    #[derive(Default)]
    struct Memory {
        tickets: Vec<(Ticket, String, Vec<String>)>,
        creates: usize,
        /// The next create is made but its answer is lost.
        lose_next_create: bool,
    }

    #[derive(Default)]
    struct FakePsa(Mutex<Memory>);

    impl FakePsa {
        fn with<T>(&self, f: impl FnOnce(&mut Memory) -> T) -> T {
            f(&mut self.0.lock().unwrap())
        }
    }

    #[async_trait]
    impl PsaApi for &'static FakePsa {
        fn kind(&self) -> ChannelKind {
            ChannelKind::Connectwise
        }
        async fn find(&self, x: &ExternalRef, _c: &PsaChoice) -> Result<Option<Ticket>, PsaError> {
            Ok(self.with(|m| {
                m.tickets
                    .iter()
                    .rev()
                    .find(|(_, xref, _)| *xref == x.token)
                    .map(|(t, _, _)| t.clone())
            }))
        }
        async fn create(&self, new: &NewTicket) -> Result<Ticket, PsaError> {
            self.with(|m| {
                m.creates += 1;
                let ticket = Ticket {
                    id: (m.tickets.len() + 100).to_string(),
                    status: new.status.as_ref().map(|s| s.id.clone()),
                    priority: new.priority.as_ref().map(|p| p.id.clone()),
                    ..Ticket::default()
                };
                m.tickets
                    .push((ticket.clone(), new.xref.token.clone(), Vec::new()));
                if std::mem::take(&mut m.lose_next_create) {
                    return Err(PsaError::Retry {
                        retry_after: None,
                        error: "timed out".to_owned(),
                    });
                }
                Ok(ticket)
            })
        }
        async fn get(&self, id: &str) -> Result<Ticket, PsaError> {
            self.with(|m| {
                m.tickets
                    .iter()
                    .find(|(t, _, _)| t.id == id)
                    .map(|(t, _, _)| t.clone())
                    .ok_or(PsaError::NotFound {
                        error: "gone".to_owned(),
                    })
            })
        }
        async fn note(&self, id: &str, note: &Note) -> Result<(), PsaError> {
            self.with(|m| edit(m, id, |_, notes| notes.push(note.text.clone())))
        }
        async fn set_priority(&self, id: &str, p: &PsaChoice) -> Result<(), PsaError> {
            self.with(|m| edit(m, id, |t, _| t.priority = Some(p.id.clone())))
        }
        async fn close(&self, id: &str, s: &PsaChoice, n: &Note) -> Result<(), PsaError> {
            self.with(|m| {
                edit(m, id, |t, notes| {
                    notes.push(n.text.clone());
                    t.status = Some(s.id.clone());
                    t.closed = true;
                })
            })
        }
        async fn reopen(&self, id: &str, s: &PsaChoice, n: &Note) -> Result<Reopened, PsaError> {
            self.with(|m| {
                edit(m, id, |t, notes| {
                    notes.push(n.text.clone());
                    t.status = Some(s.id.clone());
                    t.closed = false;
                })
            })
            .map(|()| Reopened::Yes)
        }
        async fn work_logged(&self, _t: &Ticket) -> Result<bool, PsaError> {
            Ok(false)
        }
        async fn options(&self, _b: Option<&PsaChoice>) -> Result<PsaOptions, PsaError> {
            Ok(PsaOptions::default())
        }
        async fn companies(&self, _s: &str) -> Result<Vec<PsaChoice>, PsaError> {
            Ok(Vec::new())
        }
    }

    fn edit(
        m: &mut Memory,
        id: &str,
        f: impl FnOnce(&mut Ticket, &mut Vec<String>),
    ) -> Result<(), PsaError> {
        let (t, _, notes) =
            m.tickets
                .iter_mut()
                .find(|(t, _, _)| t.id == id)
                .ok_or(PsaError::NotFound {
                    error: "gone".to_owned(),
                })?;
        f(t, notes);
        Ok(())
    }

    fn notifier(psa: &'static FakePsa) -> PsaNotifier {
        let mut settings = PsaSettings {
            site: "psa.example".to_owned(),
            open_status: Some(PsaChoice::new("1", "New")),
            closed_status: Some(PsaChoice::new("9", "Closed")),
            default_company: Some(PsaChoice::new("250", "Smith & Sons")),
            ..PsaSettings::default()
        };
        for (severity, id) in [
            (Severity::Info, "4"),
            (Severity::Warning, "3"),
            (Severity::Critical, "1"),
        ] {
            settings.priorities.insert(severity, PsaChoice::new(id, id));
        }
        settings
            .companies
            .insert(CustomerId(9), CompanyMapping::Skip);
        let channel = Channel {
            id: ChannelId(3),
            tenant_id: TenantId(1),
            name: "PSA".to_owned(),
            kind: ChannelKind::Connectwise,
            settings: runway_store::ChannelSettings::default(),
            has_secret: true,
            enabled: true,
            created_at: "2026-11-28T08:00:00Z".parse().unwrap(),
            paused: None,
        };
        PsaNotifier::new(Box::new(psa), settings, channel)
    }

    fn notice(stage: &str, severity: Severity, days: i32) -> Notice {
        let mut notice = crate::render::fixtures::trigger();
        notice.idempotency_key = format!("{}:{stage}", notice.series_key);
        notice.stage = stage.to_owned();
        notice.severity = severity;
        notice.days_left = Some(days);
        notice.customer_id = Some(CustomerId(1));
        notice
    }

    fn resolved(n: u32) -> Notice {
        let mut notice = notice("milestone:1", Severity::Critical, 1);
        notice.action = NoticeAction::Resolve;
        notice.idempotency_key = format!("{}:resolve:{n}", notice.series_key);
        notice.resolution = Some(AlertResolution::Renewed);
        notice.resolution_note = Some("renewed: new expiry 2027-12-01".to_owned());
        notice
    }

    async fn send(n: &PsaNotifier, notice: &Notice, reference: &mut Option<String>) -> Attempt {
        let attempt = n.notify(notice, reference.as_deref()).await;
        if let Attempt::Sent { reference: Some(r) } = &attempt {
            *reference = Some(r.clone());
        }
        attempt
    }

    fn leak() -> &'static FakePsa {
        Box::leak(Box::default())
    }

    #[tokio::test]
    async fn a_series_opens_one_ticket_escalates_it_and_closes_it_on_renewal() {
        let psa = leak();
        let n = notifier(psa);
        let mut reference = None;
        for (stage, severity, days) in [
            ("milestone:10", Severity::Info, 10),
            ("milestone:3", Severity::Warning, 3),
            ("milestone:3", Severity::Warning, 3),
            ("milestone:1", Severity::Critical, 1),
        ] {
            assert!(
                send(&n, &notice(stage, severity, days), &mut reference)
                    .await
                    .is_sent()
            );
        }
        psa.with(|m| {
            assert_eq!(m.creates, 1);
            let (t, _, notes) = &m.tickets[0];
            assert_eq!(t.priority.as_deref(), Some("1"));
            assert_eq!(
                notes.len(),
                2,
                "one note per later stage, a repeat adds none"
            );
        });
        assert!(send(&n, &resolved(1), &mut reference).await.is_sent());
        let link = TicketLink::from_reference(reference.as_deref().unwrap()).unwrap();
        assert_eq!(link.state, TicketState::Closed);
        psa.with(|m| {
            let (t, _, notes) = &m.tickets[0];
            assert!(t.closed);
            assert!(notes.last().unwrap().contains("new expiry 2027-12-01"));
        });
        // The same series fires again (a refund): the ticket reopens, no second one.
        assert!(
            send(&n, &notice("lapse", Severity::Critical, -1), &mut reference)
                .await
                .is_sent()
        );
        psa.with(|m| {
            assert_eq!(m.creates, 1);
            assert!(!m.tickets[0].0.closed);
        });
    }

    #[tokio::test]
    async fn a_ticket_a_technician_moved_is_left_open_with_a_note() {
        let psa = leak();
        let n = notifier(psa);
        let mut reference = None;
        send(
            &n,
            &notice("milestone:10", Severity::Info, 10),
            &mut reference,
        )
        .await;
        psa.with(|m| m.tickets[0].0.status = Some("5".to_owned()));
        assert!(send(&n, &resolved(1), &mut reference).await.is_sent());
        let link = TicketLink::from_reference(reference.as_deref().unwrap()).unwrap();
        assert_eq!(link.state, TicketState::LeftOpen);
        psa.with(|m| {
            let (t, _, notes) = &m.tickets[0];
            assert!(!t.closed);
            assert!(notes.last().unwrap().contains("status was changed"));
        });
    }

    #[tokio::test]
    async fn a_create_whose_answer_was_lost_is_found_and_not_made_twice() {
        let psa = leak();
        let n = notifier(psa);
        psa.with(|m| m.lose_next_create = true);
        let mut reference = None;
        let first = send(
            &n,
            &notice("milestone:10", Severity::Info, 10),
            &mut reference,
        )
        .await;
        assert!(matches!(first, Attempt::Retryable { .. }), "{first:?}");
        assert!(
            send(
                &n,
                &notice("milestone:10", Severity::Info, 10),
                &mut reference
            )
            .await
            .is_sent()
        );
        psa.with(|m| assert_eq!((m.creates, m.tickets.len()), (1, 1)));
        assert!(reference.is_some());
    }

    #[tokio::test]
    async fn a_skipped_customer_gets_no_ticket() {
        let psa = leak();
        let n = notifier(psa);
        let mut skipped = notice("milestone:10", Severity::Info, 10);
        skipped.customer_id = Some(CustomerId(9));
        let mut reference = None;
        assert!(send(&n, &skipped, &mut reference).await.is_sent());
        psa.with(|m| assert_eq!(m.creates, 0));
    }

    #[test]
    fn a_summary_names_who_and_when_with_the_series_tag_within_100_characters() {
        let xref = ExternalRef {
            token: "RW-0123456789ab".to_owned(),
        };
        let mut long = notice("milestone:10", Severity::Info, 10);
        long.customer_name = "A".repeat(200);
        let text = summary(&long, &xref);
        assert!(text.chars().count() <= SUMMARY_CHARS, "{text}");
        assert!(text.ends_with("[RW-0123456789ab]"), "{text}");
        let text = summary(&notice("milestone:10", Severity::Info, 10), &xref);
        assert!(
            text.contains("expires in 10 days") && text.contains("pbx-01"),
            "{text}"
        );
    }
}
