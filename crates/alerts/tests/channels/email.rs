//! The email channel against a real SMTP server, aiosmtpd, that keeps a Maildir
//! (CHANNELS.md §6). It offers no AUTH and no STARTTLS, so mail goes over plain SMTP.

use base64::Engine as _;
use runway_alerts::{Attempt, ChannelKind, ChannelSettings, Notifier};
use runway_clock::Clock as _;
use runway_store::SmtpTls;
use runway_testkit::SmtpServer;

use crate::support::{RENEW_URL, WAIT, assert_hides, clock, closed_port, init, resolve, trigger};

/// An SMTP password, used by no other test.
const PASSWORD: &str = "smtp-Pa55word-kept-out-of-errors";

fn settings(port: u16, tls: SmtpTls, username: Option<&str>) -> ChannelSettings {
    ChannelSettings {
        smtp_host: Some("127.0.0.1".to_owned()),
        smtp_port: Some(port),
        smtp_tls: Some(tls),
        smtp_username: username.map(str::to_owned),
        email_from: Some("Runway <runway@example.com>".to_owned()),
        email_to: vec![
            "ops@example.com".to_owned(),
            "Boss <boss@example.com>".to_owned(),
        ],
        ..ChannelSettings::default()
    }
}

fn notifier_with(settings: ChannelSettings, password: Option<&str>) -> Box<dyn Notifier> {
    crate::support::notifier(ChannelKind::Email, settings, password, clock())
}

/// A message or a MIME part: its headers (unfolded) and its body, with `\n` line ends.
struct Part {
    headers: Vec<(String, String)>,
    body: String,
}

impl Part {
    fn parse(raw: &str) -> Part {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Part {
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("text/plain")
    }

    /// The parts of a multipart body, in order.
    fn parts(&self) -> Vec<Part> {
        let boundary = self
            .content_type()
            .split(';')
            .find_map(|param| param.trim().strip_prefix("boundary="))
            .unwrap_or_else(|| panic!("no boundary in {}", self.content_type()))
            .trim_matches('"');
        let delimiter = format!("--{boundary}");
        self.body
            .split(&delimiter)
            .skip(1)
            .take_while(|part| !part.starts_with("--"))
            .map(|part| Part::parse(part.trim_start_matches('\n')))
            .collect()
    }

    /// The body with its transfer encoding undone.
    fn text(&self) -> String {
        let encoding = self
            .header("content-transfer-encoding")
            .unwrap_or("7bit")
            .to_ascii_lowercase();
        match encoding.as_str() {
            "base64" => {
                let joined: String = self.body.split_whitespace().collect();
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(joined)
                        .unwrap(),
                )
                .unwrap()
            }
            "quoted-printable" => quoted_printable(&self.body),
            _ => self.body.clone(),
        }
    }
}

/// Undoes quoted-printable: soft line breaks, then `=XX` escapes.
fn quoted_printable(text: &str) -> String {
    let text = text.replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn a_trigger_arrives_as_plain_text_and_html_to_every_recipient() {
    init();
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let clock = clock();
    let notifier = crate::support::notifier(
        ChannelKind::Email,
        settings(smtp.port(), SmtpTls::None, None),
        None,
        clock.clone(),
    );
    assert_eq!(notifier.notify(&trigger(), None).await, Attempt::sent());
    let raw = &smtp.wait_for_messages(1, WAIT).await[0];
    assert!(
        raw.is_ascii(),
        "no SMTPUTF8: every header and part is encoded"
    );
    let mail = Part::parse(raw);
    let header = |name: &str| mail.header(name).unwrap_or_else(|| panic!("no {name}"));
    assert_eq!(header("X-MailFrom"), "runway@example.com");
    let recipients = header("X-RcptTo");
    assert!(
        recipients.contains("ops@example.com") && recipients.contains("boss@example.com"),
        "{recipients}"
    );
    assert!(header("From").contains("runway@example.com"));
    assert!(header("To").contains("ops@example.com") && header("To").contains("boss@example.com"));
    assert_eq!(
        header("Subject"),
        "[Runway] License for pbx-01 (Smith & Sons) expires 2026-12-01"
    );
    let date = jiff::fmt::rfc2822::parse(header("Date"))
        .unwrap()
        .timestamp();
    assert_eq!(date, clock.now(), "dated by the notifier's clock");
    let id = header("Message-ID");
    assert!(
        id.starts_with('<') && id.ends_with('>') && id.contains('@'),
        "{id}"
    );

    assert!(
        mail.content_type().starts_with("multipart/alternative"),
        "{}",
        mail.content_type()
    );
    let parts = mail.parts();
    let types: Vec<&str> = parts
        .iter()
        .map(|p| p.content_type().split(';').next().unwrap().trim())
        .collect();
    assert_eq!(types, ["text/plain", "text/html"]);
    let (plain, html) = (parts[0].text(), parts[1].text());
    for expected in [
        "[CRITICAL] pbx-01 (Smith & Sons)",
        "2026-12-01 (Europe/Berlin)",
        "Smith & Sons",
        &format!("Renew: {RENEW_URL}"),
    ] {
        assert!(plain.contains(expected), "{expected:?} in\n{plain}");
    }
    for expected in [
        "[CRITICAL] pbx-01 (Smith &amp; Sons)",
        "2026-12-01 (Europe/Berlin)",
        &format!("<a href=\"{}\">", RENEW_URL.replace('&', "&amp;")),
    ] {
        assert!(html.contains(expected), "{expected:?} in\n{html}");
    }
}

#[tokio::test]
async fn a_resolve_threads_under_the_same_subject_and_series_root() {
    init();
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let notifier = notifier_with(settings(smtp.port(), SmtpTls::None, None), None);
    assert!(notifier.notify(&trigger(), None).await.is_sent());
    assert!(notifier.notify(&resolve(), None).await.is_sent());
    let raw = smtp.wait_for_messages(2, WAIT).await;
    let (fired, resolved) = (Part::parse(&raw[0]), Part::parse(&raw[1]));
    let header = |mail: &Part, name: &str| mail.header(name).unwrap().to_owned();
    assert_eq!(header(&fired, "Subject"), header(&resolved, "Subject"));
    assert_ne!(
        header(&fired, "Message-ID"),
        header(&resolved, "Message-ID")
    );
    let root = header(&fired, "In-Reply-To");
    assert_eq!(header(&resolved, "In-Reply-To"), root);
    assert!(header(&resolved, "References").contains(&root));
    let plain = resolved.parts()[0].text();
    assert!(plain.contains("RESOLVED"), "{plain}");
    assert!(plain.contains("renewed: new expiry 2027-12-01"), "{plain}");
    assert!(!plain.contains("Renew:"), "nothing left to renew:\n{plain}");
}

#[tokio::test]
async fn a_refused_connection_is_retryable_and_names_no_password() {
    init();
    runway_testkit::secrets::used(PASSWORD);
    let settings = settings(closed_port(), SmtpTls::Starttls, Some("runway"));
    let attempt = notifier_with(settings, Some(PASSWORD))
        .notify(&trigger(), None)
        .await;
    assert!(
        matches!(
            attempt,
            Attempt::Retryable {
                retry_after: None,
                ..
            }
        ),
        "{attempt:?}"
    );
    assert_hides(&attempt, &[], &[PASSWORD]);
}

#[tokio::test]
async fn a_server_without_starttls_is_refused_before_the_password_is_sent() {
    init();
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    runway_testkit::secrets::used(PASSWORD);
    let settings = settings(smtp.port(), SmtpTls::Starttls, Some("runway"));
    let attempt = notifier_with(settings, Some(PASSWORD))
        .notify(&trigger(), None)
        .await;
    // Checked first: the messages below show the error text.
    assert_hides(&attempt, &[], &[PASSWORD]);
    assert!(
        matches!(attempt, Attempt::Permanent { .. }),
        "a configuration error, not worth retrying: {attempt:?}"
    );
    assert!(smtp.messages().is_empty());
    assert!(!smtp.log().contains(PASSWORD));
}
