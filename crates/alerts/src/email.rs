//! Email over SMTP with `lettre`: the channel's settings name the server, its security, the
//! sender and the recipients; its secret, if any, is the SMTP password.
//!
//! ## Security
//! `None` is plain SMTP (for a relay on the same host or network; no password is ever sent over
//! it), `Starttls` requires STARTTLS before anything is sent, `Tls` is implicit TLS from the
//! first byte. The default ports are 25, 587 and 465. Certificates are checked against the
//! platform's roots, with rustls and ring.
//!
//! ## One thread per series
//! - **Subject**: the same for every mail of a series ("\[Runway\] License for pbx-01 (Acme)
//!   expires 2026-12-01"), because mail clients thread by subject too; what changed is in the
//!   body.
//! - **Message-ID**: `<{first 128 bits of SHA-256 of the idempotency key}@runway>`: unique per
//!   notification, and the same for a retry of it, so a mail sent twice after a lost answer is
//!   recognisably one.
//! - **In-Reply-To / References**: a series root `<series-{first 64 bits of SHA-256 of the
//!   series key}@runway>` that is never sent itself (as Alertmanager's email threading does):
//!   every mail of the series hangs under it.
//!
//! The body is `multipart/alternative`: plain text first, then HTML with every value escaped.
//! SMTP 4xx replies and connection failures are retried; 5xx replies and authentication or TLS
//! configuration errors are permanent.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use runway_clock::Clock;
use runway_core::Severity;
use runway_store::{AlertKind, ChannelKind, ChannelSettings, Notice, NoticeAction, SmtpTls};

use crate::notifier::{Attempt, ChannelError, Notifier};
use crate::render::{self, Status};
use crate::text::{ANSWER_CHARS, Redactor, html_escape, one_line, safe_link, sha256_hex, truncate};

/// The longest an SMTP command may take before the attempt is given up (and retried).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The subject at most, in characters.
const SUBJECT_CHARS: usize = 200;

/// The default port for a security mode.
pub fn default_port(tls: SmtpTls) -> u16 {
    match tls {
        SmtpTls::None => 25,
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
    }
}

/// The subject: the same for every notification of a series.
pub fn subject(notice: &Notice) -> String {
    let who = format!("{} ({})", notice.instance_name, notice.customer_name);
    let subject = match (notice.action, notice.kind, notice.expiry_date) {
        (NoticeAction::Test, _, _) => format!("[Runway] Test notification for {who}"),
        (NoticeAction::Problem, _, _) => format!("[Runway] {}", notice.summary),
        (_, AlertKind::LicenseExpiry, Some(date)) => {
            format!("[Runway] License for {who} expires {date}")
        }
        (_, AlertKind::LicenseExpiry, None) => format!("[Runway] License for {who}"),
        (_, AlertKind::MaintenanceExpiry, Some(date)) => {
            format!("[Runway] Maintenance for {who} expires {date}")
        }
        (_, AlertKind::MaintenanceExpiry, None) => format!("[Runway] Maintenance for {who}"),
        (_, AlertKind::NotRead, _) => format!("[Runway] {who} is not being read"),
        (_, AlertKind::Capacity, _) => format!("[Runway] {who} is near its licensed users"),
    };
    truncate(&one_line(&subject), SUBJECT_CHARS)
}

/// The notification's own Message-ID.
pub fn message_id(notice: &Notice) -> String {
    format!("<{}@runway>", &sha256_hex(&notice.idempotency_key)[..32])
}

/// The series root every mail of the series replies to.
pub fn series_root(notice: &Notice) -> String {
    format!("<series-{}@runway>", &sha256_hex(&notice.series_key)[..16])
}

/// The plain-text body.
pub fn plain_body(notice: &Notice) -> String {
    let mut body = format!(
        "{}\n{}\n\n",
        render::title(notice),
        render::status_line(notice)
    );
    let facts = render::facts(notice);
    let width = facts
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    for (label, value) in facts {
        let _ = writeln!(
            body,
            "{:width$}  {}",
            format!("{label}:"),
            value,
            width = width + 1
        );
    }
    if let Some(url) = renew_link(notice) {
        let _ = write!(body, "\nRenew: {url}\n");
    }
    body.push_str("\n-- \nSent by Runway, which keeps track of your 3CX license renewals.\n");
    body
}

/// The HTML body, every value escaped.
pub fn html_body(notice: &Notice) -> String {
    let color = match Status::of(notice) {
        Status::Firing(Severity::Critical) => "#c62828",
        Status::Firing(Severity::Warning) => "#b26a00",
        Status::Firing(Severity::Info) | Status::Test => "#1565c0",
        Status::Resolved => "#2e7d32",
    };
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:sans-serif;color:#222\">\n",
    );
    let _ = write!(
        html,
        "<h2 style=\"color:{color};margin-bottom:4px\">{}</h2>\n<p style=\"margin-top:0\">{}</p>\n",
        html_escape(&render::title(notice)),
        html_escape(&render::status_line(notice)),
    );
    html.push_str("<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n");
    for (label, value) in render::facts(notice) {
        let _ = writeln!(
            html,
            "<tr><th align=\"left\" valign=\"top\">{}</th><td>{}</td></tr>",
            html_escape(label),
            html_escape(&value),
        );
    }
    html.push_str("</table>\n");
    if let Some(url) = renew_link(notice) {
        let _ = writeln!(
            html,
            "<p><a href=\"{}\">Renew this license</a></p>",
            html_escape(&url)
        );
    }
    html.push_str(
        "<p style=\"color:#666;font-size:small\">Sent by Runway, which keeps track of your \
         3CX license renewals.</p>\n</body></html>\n",
    );
    html
}

/// The renewal link, for a notification that asks for action.
fn renew_link(notice: &Notice) -> Option<String> {
    (notice.action != NoticeAction::Resolve)
        .then(|| safe_link(notice.renew_url.as_deref()))
        .flatten()
        .map(String::from)
}

/// The mail for a notice, dated `date`.
pub fn message(
    notice: &Notice,
    from: &Mailbox,
    to: &[Mailbox],
    date: SystemTime,
) -> Result<Message, lettre::error::Error> {
    let root = series_root(notice);
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(subject(notice))
        .date(date)
        .message_id(Some(message_id(notice)))
        .in_reply_to(root.clone())
        .references(root)
        // RFC 3834: no out-of-office replies to an automatic notification.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ));
    for recipient in to {
        builder = builder.to(recipient.clone());
    }
    builder.multipart(MultiPart::alternative_plain_html(
        plain_body(notice),
        html_body(notice),
    ))
}

/// An email channel's configuration.
#[derive(Clone)]
pub(crate) struct Config {
    host: String,
    port: u16,
    tls: SmtpTls,
    credentials: Option<(String, String)>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Config {
    /// The server, sender and recipients from the settings; the password from the secret.
    pub(crate) fn parse(
        settings: &ChannelSettings,
        secret: Option<&str>,
    ) -> Result<Config, ChannelError> {
        let kind = ChannelKind::Email;
        let host = settings.smtp_host.as_deref().unwrap_or("").trim();
        if host.is_empty() {
            return Err(ChannelError::missing(kind, "SMTP host"));
        }
        if host.contains("://") || host.contains('/') || host.contains(char::is_whitespace) {
            return Err(ChannelError::invalid(
                kind,
                "SMTP host",
                "give a host name or address only (the port and security are separate settings)",
            ));
        }
        let tls = settings.smtp_tls.unwrap_or_default();
        let port = settings.smtp_port.unwrap_or_else(|| default_port(tls));
        if port == 0 {
            return Err(ChannelError::invalid(kind, "SMTP port", "0 is not a port"));
        }
        let username = settings
            .smtp_username
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty());
        let password = secret.filter(|password| !password.is_empty());
        let credentials = match (username, password) {
            (None, None) => None,
            (Some(_), None) => return Err(ChannelError::missing(kind, "SMTP password")),
            (None, Some(_)) => return Err(ChannelError::missing(kind, "SMTP user name")),
            (Some(_), Some(_)) if tls == SmtpTls::None => {
                return Err(ChannelError::invalid(
                    kind,
                    "SMTP security",
                    "a password is never sent over plain SMTP: choose STARTTLS or TLS",
                ));
            }
            (Some(username), Some(password)) => Some((username.to_owned(), password.to_owned())),
        };
        let from = settings.email_from.as_deref().unwrap_or("").trim();
        if from.is_empty() {
            return Err(ChannelError::missing(kind, "sender address"));
        }
        let from = mailbox(from, "sender address")?;
        if settings.email_to.iter().all(|to| to.trim().is_empty()) {
            return Err(ChannelError::missing(kind, "recipients"));
        }
        let to = settings
            .email_to
            .iter()
            .map(|to| to.trim())
            .filter(|to| !to.is_empty())
            .map(|to| mailbox(to, "recipient"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            host: host.to_owned(),
            port,
            tls,
            credentials,
            from,
            to,
        })
    }
}

/// An address, with or without a display name ("Ops <ops@example.com>").
fn mailbox(text: &str, field: &'static str) -> Result<Mailbox, ChannelError> {
    text.parse::<Mailbox>().map_err(|err| {
        ChannelError::invalid(
            ChannelKind::Email,
            field,
            format!("{:?} is not an email address ({err})", truncate(text, 100)),
        )
    })
}

/// Sends mail through an SMTP server.
pub struct EmailNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    clock: Arc<dyn Clock>,
    redactor: Redactor,
    server: String,
}

impl EmailNotifier {
    /// A notifier for a checked configuration; `clock` dates each mail.
    pub(crate) fn new(config: Config, clock: Arc<dyn Clock>) -> Result<Self, ChannelError> {
        let tls_parameters = || {
            TlsParameters::new(config.host.clone()).map_err(|err| {
                ChannelError::invalid(
                    ChannelKind::Email,
                    "SMTP host",
                    format!("cannot set up TLS for it ({err})"),
                )
            })
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(SMTP_TIMEOUT));
        builder = match config.tls {
            SmtpTls::None => builder.tls(Tls::None),
            SmtpTls::Starttls => builder.tls(Tls::Required(tls_parameters()?)),
            SmtpTls::Tls => builder.tls(Tls::Wrapper(tls_parameters()?)),
        };
        let mut redactor = Redactor::default();
        if let Some((username, password)) = &config.credentials {
            redactor = redactor.with(password);
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        Ok(EmailNotifier {
            transport: builder.build(),
            server: format!("{}:{}", config.host, config.port),
            from: config.from,
            to: config.to,
            clock,
            redactor,
        })
    }
}

impl fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

/// The outcome of an SMTP failure: a 4xx reply, a refused or dropped connection or a timeout is
/// worth retrying; a 5xx reply, or a client-side refusal (no common authentication mechanism,
/// no STARTTLS offered) or a TLS failure — both configuration — is not.
pub fn classify_smtp(err: &lettre::transport::smtp::Error) -> Attempt {
    let text = truncate(&one_line(&format!("SMTP: {err}")), ANSWER_CHARS);
    if err.is_transient() {
        Attempt::retry(text)
    } else if err.is_permanent() || err.is_client() || err.is_tls() {
        Attempt::permanent(text)
    } else {
        Attempt::retry(text)
    }
}

#[async_trait]
impl Notifier for EmailNotifier {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    async fn notify(&self, notice: &Notice, _reference: Option<&str>) -> Attempt {
        // Only an instant beyond SystemTime's range fails; the mail is then dated by lettre.
        let date = SystemTime::try_from(self.clock.now()).unwrap_or_else(|_| SystemTime::now());
        let message = match message(notice, &self.from, &self.to, date) {
            Ok(message) => message,
            Err(err) => return Attempt::permanent(format!("cannot build the email: {err}")),
        };
        match self.transport.send(message).await {
            Ok(_) => Attempt::sent(),
            Err(err) => classify_smtp(&err).redacted(&self.redactor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;

    fn settings() -> ChannelSettings {
        ChannelSettings {
            smtp_host: Some("smtp.example.com".to_owned()),
            email_from: Some("Runway <runway@example.com>".to_owned()),
            email_to: vec!["ops@example.com".to_owned(), "boss@example.com".to_owned()],
            ..ChannelSettings::default()
        }
    }

    fn formatted(notice: &Notice) -> String {
        let config = Config::parse(&settings(), None).unwrap();
        let date = SystemTime::try_from(notice.at).unwrap();
        let message = message(notice, &config.from, &config.to, date).unwrap();
        String::from_utf8(message.formatted()).unwrap()
    }

    fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
        let head = mail.split("\r\n\r\n").next().unwrap();
        head.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
    }

    #[test]
    fn the_subject_is_stable_across_a_series() {
        assert_eq!(
            subject(&fixtures::trigger()),
            "[Runway] License for pbx-01 (Smith & Sons <Ltd>) expires 2026-12-01"
        );
        assert_eq!(subject(&fixtures::trigger()), subject(&fixtures::resolve()));
    }

    #[test]
    fn every_mail_has_its_own_id_and_replies_to_the_series_root() {
        let trigger = formatted(&fixtures::trigger());
        let resolve = formatted(&fixtures::resolve());
        let id = header(&trigger, "Message-ID").unwrap();
        assert!(id.starts_with('<') && id.ends_with("@runway>"), "{id}");
        assert_ne!(id, header(&resolve, "Message-ID").unwrap());
        let root = series_root(&fixtures::trigger());
        assert!(root.starts_with("<series-") && root.ends_with("@runway>"));
        for mail in [&trigger, &resolve] {
            assert_eq!(header(mail, "In-Reply-To"), Some(root.as_str()));
            assert_eq!(header(mail, "References"), Some(root.as_str()));
            assert_eq!(header(mail, "Auto-Submitted"), Some("auto-generated"));
        }
        assert_eq!(header(&trigger, "Subject"), header(&resolve, "Subject"));
        assert_eq!(
            message_id(&fixtures::trigger()),
            message_id(&fixtures::trigger())
        );
    }

    #[test]
    fn the_mail_is_plain_text_then_html() {
        let mail = formatted(&fixtures::trigger());
        assert!(
            header(&mail, "From")
                .unwrap()
                .contains("runway@example.com")
        );
        assert!(header(&mail, "To").unwrap().contains("ops@example.com"));
        assert!(header(&mail, "Date").is_some());
        assert!(
            header(&mail, "Content-Type")
                .unwrap()
                .starts_with("multipart/alternative"),
            "{mail}"
        );
        let plain = mail.find("Content-Type: text/plain").unwrap();
        let html = mail.find("Content-Type: text/html").unwrap();
        assert!(plain < html);
    }

    #[test]
    fn the_html_escapes_every_value_and_links_the_renewal() {
        let html = html_body(&fixtures::trigger());
        assert!(html.contains("Smith &amp; Sons &lt;Ltd&gt;"));
        assert!(!html.contains("<Ltd>"));
        assert!(
            html.contains("<a href=\"https://www.3cx.com/renew?key=ABCD-EFGH-IJKL-MNOP&amp;x=1\">")
        );
        let plain = plain_body(&fixtures::trigger());
        assert!(
            plain.contains("Customer:     Smith & Sons <Ltd>"),
            "{plain}"
        );
        assert!(plain.contains("Renew: https://www.3cx.com/renew?key=ABCD-EFGH-IJKL-MNOP&x=1"));
    }

    #[test]
    fn a_resolve_names_the_new_expiry_and_asks_for_nothing() {
        let plain = plain_body(&fixtures::resolve());
        assert!(plain.contains("renewed: new expiry 2027-12-01"), "{plain}");
        assert!(!plain.contains("Renew:"));
    }

    #[test]
    fn the_configuration_names_what_is_missing_or_wrong() {
        let problem = |settings: ChannelSettings, secret: Option<&str>| {
            Config::parse(&settings, secret).err().unwrap().to_string()
        };
        assert_eq!(
            problem(
                ChannelSettings {
                    email_from: None,
                    ..settings()
                },
                None
            ),
            "the Email channel has no sender address"
        );
        assert_eq!(
            problem(
                ChannelSettings {
                    email_to: vec![],
                    ..settings()
                },
                None
            ),
            "the Email channel has no recipients"
        );
        assert!(
            problem(
                ChannelSettings {
                    email_to: vec!["not-an-address".to_owned()],
                    ..settings()
                },
                None
            )
            .starts_with("the Email channel's recipient is not valid: \"not-an-address\"")
        );
        assert_eq!(
            problem(
                ChannelSettings {
                    smtp_username: Some("runway".to_owned()),
                    ..settings()
                },
                None
            ),
            "the Email channel has no SMTP password"
        );
        let plain_with_password = ChannelSettings {
            smtp_username: Some("runway".to_owned()),
            smtp_tls: Some(SmtpTls::None),
            ..settings()
        };
        assert!(problem(plain_with_password, Some("hunter2-password")).contains("SMTP security"));
        assert!(
            problem(
                ChannelSettings {
                    smtp_host: Some("smtp://x".to_owned()),
                    ..settings()
                },
                None
            )
            .contains("SMTP host")
        );
        let config = Config::parse(&settings(), None).unwrap();
        assert_eq!((config.port, config.tls), (587, SmtpTls::Starttls));
    }
}
