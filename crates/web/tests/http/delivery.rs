//! Where alerts go, over the JSON API: channels of every kind (their secrets never shown back),
//! refusals that name the field, test notifications against local receivers, routing rules and
//! escalation policies, another tenant kept out, and an alert's deliveries after the worker ran.

use std::sync::Arc;
use std::time::Duration;

use runway_alerts::{Worker, WorkerConfig};
use runway_testkit::{Reply, WebhookReceiver};
use serde_json::{Value, json};

use crate::helpers::{App, Browser, other_tenant, spawn_app};

/// The webhook channels' signing secret (`whsec_` + base64 of 32 random bytes).
const SECRET: &str = "whsec_ptt6ro7f9sOMYm9bONE9Nu2Pyn3Y04XALTy3iOEyL4s=";

/// How long a test waits for a request that is already on its way.
const WAIT: Duration = Duration::from_secs(10);

/// The base64 key of a `whsec_` secret: it must not show either.
fn key_of(secret: &str) -> &str {
    secret.trim_start_matches("whsec_")
}

/// Creates a channel as `who`; panics unless it is created.
async fn create_channel(who: &Browser, body: &Value) -> Value {
    let created = who.post_json("/api/v1/channels", body).await;
    assert_eq!(created.status, 201, "{body}: {}", created.body);
    created.json()
}

/// A webhook channel to `url`, signed with [`SECRET`].
async fn webhook_channel(who: &Browser, name: &str, url: &str) -> i64 {
    create_channel(
        who,
        &json!({"kind": "webhook", "name": name, "url": url, "secret": SECRET}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

/// Sends a test notification through the API; returns (status, outcome, message).
async fn test_channel(who: &Browser, id: i64) -> (u16, String, String) {
    let reply = who
        .post_json(&format!("/api/v1/channels/{id}/test"), &json!({}))
        .await;
    if reply.status != 200 {
        return (reply.status, String::new(), reply.body);
    }
    let result = reply.json();
    (
        reply.status,
        result["outcome"].as_str().unwrap().to_owned(),
        result["message"].as_str().unwrap().to_owned(),
    )
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn every_kind_of_channel_is_created_and_its_secret_is_never_shown_back() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let viewer = app.signed_in("viewer@acme.example").await;

    // The credentials of each kind; Slack's and Teams' are their URLs, PagerDuty's its key.
    let slack_url = "https://hooks.slack.com/services/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";
    let teams_url = "https://prod-42.westeurope.logic.azure.com:443/workflows/5e1f/triggers/\
                     manual/paths/invoke?api-version=2016-06-01&sig=aTeamsSignatureNobodySees";
    let routing_key = "R0UT1NGKEY0F32CHARACTERS00000000";
    let smtp_password = "smtp password nobody sees";
    let bearer = "alertmanager-bearer-nobody-sees";
    for secret in [slack_url, teams_url, routing_key, smtp_password, bearer] {
        runway_testkit::secrets::used(secret);
    }
    let secrets = [
        SECRET,
        key_of(SECRET),
        slack_url,
        "aSlackTokenOf24Chars0000",
        teams_url,
        "aTeamsSignatureNobodySees",
        routing_key,
        smtp_password,
        bearer,
    ];

    // (what is sent, the kind's label, where it says it sends, whether a secret is stored)
    let kinds = [
        (
            json!({"kind": "webhook", "name": "A webhook", "url": "https://hooks.example.com/runway",
                   "secret": SECRET}),
            "Webhook",
            "https://hooks.example.com/runway",
            true,
        ),
        (
            json!({"kind": "slack", "name": "B slack", "url": slack_url}),
            "Slack",
            "Slack incoming webhook",
            true,
        ),
        (
            json!({"kind": "teams", "name": "C teams", "url": teams_url}),
            "Microsoft Teams",
            "Teams Workflows webhook",
            true,
        ),
        (
            json!({"kind": "pagerduty", "name": "D pagerduty", "routing_key": routing_key}),
            "PagerDuty",
            "PagerDuty Events API v2",
            true,
        ),
        (
            json!({"kind": "email", "name": "E email", "smtp_host": "smtp.example.com",
                   "smtp_tls": "starttls", "smtp_username": "runway", "smtp_password": smtp_password,
                   "from": "runway@example.com", "to": ["ops@example.com", "oncall@example.com"]}),
            "Email",
            "ops@example.com, oncall@example.com via smtp.example.com",
            true,
        ),
        (
            json!({"kind": "alertmanager", "name": "F alertmanager",
                   "url": "http://alertmanager.example:9093", "secret": bearer}),
            "Alertmanager",
            "http://alertmanager.example:9093",
            true,
        ),
        (
            json!({"kind": "log", "name": "G log"}),
            "Log",
            "Runway's log",
            false,
        ),
    ];
    let labels: Vec<String> = kinds.iter().map(|k| k.1.to_owned()).collect();
    for (body, _, target, has_secret) in &kinds {
        let reply = admin.post_json("/api/v1/channels", body).await;
        assert_eq!(reply.status, 201, "{body}: {}", reply.body);
        for secret in secrets {
            assert!(!reply.body.contains(secret), "{body} answered a secret");
        }
        let view = reply.json();
        assert_eq!(view["kind"], body["kind"]);
        assert_eq!(view["name"], body["name"]);
        assert_eq!(view["target"], *target, "{view}");
        assert_eq!(view["has_secret"], *has_secret, "{view}");
        let keys: Vec<&String> = view.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "created_at",
                "has_secret",
                "id",
                "kind",
                "kind_label",
                "name",
                "target"
            ],
            "no field of a channel holds its secret"
        );
    }

    // Everyone signed in lists them, by name, without a secret.
    let list = viewer.get("/api/v1/channels").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let json = list.json();
    assert_eq!(
        names(&json),
        [
            "A webhook",
            "B slack",
            "C teams",
            "D pagerduty",
            "E email",
            "F alertmanager",
            "G log"
        ]
    );
    let shown_labels: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind_label"].as_str().unwrap())
        .collect();
    assert_eq!(shown_labels, labels);
    for secret in secrets {
        assert!(!list.body.contains(secret), "the list shows a secret");
    }

    // Nor does the page, for an admin (who has the form) or a viewer.
    for who in [&admin, &viewer] {
        let page = who.get("/channels").await;
        assert_eq!(page.status, 200, "{}", page.body);
        for (body, _, _, _) in &kinds {
            assert!(page.body.contains(body["name"].as_str().unwrap()));
        }
        assert!(page.body.contains("https://hooks.example.com/runway"));
        for secret in secrets {
            assert!(!page.body.contains(secret), "the page shows a secret");
        }
    }
}

#[tokio::test]
async fn bad_channel_input_is_refused_with_a_message_naming_the_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    webhook_channel(&admin, "Ops webhook", "https://hooks.example.com/ops").await;
    let short_key = "whsec_c2hvcnQga2V5"; // "short key": 9 bytes
    runway_testkit::secrets::used(short_key);

    // (what is sent, the status, words the message must hold)
    let cases = [
        (
            json!({"kind": "carrier-pigeon", "name": "Pigeon"}),
            422,
            vec![
                "kind must be one of webhook, slack, teams, pagerduty, email, alertmanager, connectwise, autotask, halopsa, syncro, log",
                "carrier-pigeon",
            ],
        ),
        (
            json!({"kind": "webhook", "name": "No URL", "secret": SECRET}),
            422,
            vec!["URL"],
        ),
        (
            json!({"kind": "connectwise", "name": "CW", "secret": "private"}),
            422,
            vec!["ConnectWise PSA channel has no site"],
        ),
        (
            json!({"kind": "syncro", "name": "Syncro", "site": "https://acme.syncromsp.com",
                   "secret": "token"}),
            422,
            vec!["Syncro", "cannot open tickets in this PSA yet"],
        ),
        (
            json!({"kind": "webhook", "name": "FTP", "url": "ftp://hooks.example.com/x",
                   "secret": SECRET}),
            422,
            vec!["URL", "https://"],
        ),
        (
            json!({"kind": "webhook", "name": "Not a URL", "url": "hooks dot example",
                   "secret": SECRET}),
            422,
            vec!["URL", "not a URL"],
        ),
        (
            json!({"kind": "webhook", "name": "No secret", "url": "https://hooks.example.com/x"}),
            422,
            vec!["signing secret"],
        ),
        (
            json!({"kind": "webhook", "name": "Bad prefix", "url": "https://hooks.example.com/x",
                   "secret": "sk_live_not_a_webhook_secret"}),
            422,
            vec!["signing secret", "whsec_"],
        ),
        (
            json!({"kind": "webhook", "name": "Not base64", "url": "https://hooks.example.com/x",
                   "secret": "whsec_!!not base64!!"}),
            422,
            vec!["signing secret", "base64"],
        ),
        (
            json!({"kind": "webhook", "name": "Short key", "url": "https://hooks.example.com/x",
                   "secret": short_key}),
            422,
            vec!["signing secret", "24 to 64"],
        ),
        (
            json!({"kind": "slack", "name": "Slack without URL"}),
            422,
            vec!["webhook URL"],
        ),
        (
            json!({"kind": "pagerduty", "name": "Short key", "routing_key": "abc"}),
            422,
            vec!["routing key", "32"],
        ),
        (
            json!({"kind": "email", "name": "No host", "from": "a@example.com",
                   "to": ["b@example.com"]}),
            422,
            vec!["SMTP host"],
        ),
        (
            json!({"kind": "email", "name": "Odd TLS", "smtp_host": "smtp.example.com",
                   "smtp_tls": "maybe", "from": "a@example.com", "to": ["b@example.com"]}),
            422,
            vec!["smtp_tls", "maybe"],
        ),
        (
            json!({"kind": "log", "name": "   "}),
            422,
            vec!["channel name"],
        ),
        (
            json!({"kind": "log", "name": "Colourful", "colour": "red"}),
            422,
            vec!["JSON body", "colour"],
        ),
        (
            json!({"kind": "log", "name": "Ops webhook"}),
            409,
            vec!["\"Ops webhook\" already exists"],
        ),
    ];
    for (body, status, words) in &cases {
        let reply = admin.post_json("/api/v1/channels", body).await;
        assert_eq!(reply.status, *status, "{body}: {}", reply.body);
        let error = reply.json()["error"].as_str().unwrap().to_owned();
        for word in words {
            assert!(error.contains(word), "{body}: {error:?} names {word:?}");
        }
        for secret in [SECRET, key_of(SECRET), short_key, key_of(short_key)] {
            assert!(
                !error.contains(secret),
                "{body}: {error:?} repeats a secret"
            );
        }
    }
    let list = admin.get("/api/v1/channels").await.json();
    assert_eq!(names(&list), ["Ops webhook"], "nothing refused was stored");

    // The page's form says the same and keeps what was typed.
    let page = admin
        .post_form(
            "/channels",
            &[
                ("kind", "webhook"),
                ("name", "Typed name"),
                ("url", "ftp://hooks.example.com/x"),
                ("secret", SECRET),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("id=\"form-error\""), "{}", page.body);
    assert!(page.body.contains("URL is not valid"), "{}", page.body);
    assert!(page.body.contains("value=\"Typed name\""), "{}", page.body);
    assert!(
        !page.body.contains(key_of(SECRET)),
        "the secret is not typed back"
    );

    // A port that is not a number is refused by name, not replaced by the default.
    let page = admin
        .post_form(
            "/channels",
            &[
                ("kind", "email"),
                ("name", "Mail"),
                ("smtp_host", "smtp.example.com"),
                ("smtp_port", "lots"),
                ("from", "runway@example.com"),
                ("to", "ops@example.com"),
            ],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(
        page.body
            .contains("smtp_port must be a port number (1 to 65535), not &#34;lots&#34;"),
        "{}",
        page.body
    );
    let list = admin.get("/api/v1/channels").await.json();
    assert_eq!(names(&list), ["Ops webhook"], "nothing refused was stored");
}

#[tokio::test]
async fn a_test_notification_reaches_the_receiver_and_a_failing_one_says_what_it_answered() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let receiver = WebhookReceiver::start_with_clock(SECRET, app.clock.clone()).await;
    let id = webhook_channel(&admin, "Ops webhook", &receiver.url()).await;

    let (status, outcome, message) = test_channel(&admin, id).await;
    assert_eq!((status, outcome.as_str()), (200, "sent"), "{message}");
    assert_eq!(message, "Ops webhook took the test notification");
    let events = receiver.wait_for(1, WAIT).await;
    receiver.assert_no_malformed();
    let payload = &events[0].payload;
    assert_eq!(payload["type"], "alert.test", "{payload}");
    assert!(
        payload["data"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Test notification from Runway for Ops webhook"),
        "{payload}"
    );

    // An outage: the receiver's status and answer, and whether it is worth another try.
    receiver.set_outage(Some(Reply::new(503).with_body("down for maintenance")));
    let (status, outcome, message) = test_channel(&admin, id).await;
    assert_eq!((status, outcome.as_str()), (200, "retryable"), "{message}");
    assert!(message.contains("HTTP 503"), "{message}");
    assert!(message.contains("down for maintenance"), "{message}");
    receiver.set_outage(Some(Reply::new(410).with_body("this hook was removed")));
    let (status, outcome, message) = test_channel(&admin, id).await;
    assert_eq!((status, outcome.as_str()), (200, "permanent"), "{message}");
    assert!(message.contains("HTTP 410"), "{message}");
    assert!(message.contains("this hook was removed"), "{message}");
    assert_eq!(
        receiver.received().len(),
        1,
        "refused requests are not processed"
    );

    // The page's button says the same.
    let page = admin.post_form(&format!("/channels/{id}/test"), &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("data-outcome=\"permanent\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("this hook was removed"), "{}", page.body);
    receiver.set_outage(None);
    let page = admin.post_form(&format!("/channels/{id}/test"), &[]).await;
    assert!(page.body.contains("data-outcome=\"sent\""), "{}", page.body);
    assert_eq!(receiver.wait_for(2, WAIT).await.len(), 2);

    // Nobody listening: the connection failure, worth another try.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let nobody = webhook_channel(&admin, "Nobody", &format!("http://{closed}/hook")).await;
    let (status, outcome, message) = test_channel(&admin, nobody).await;
    assert_eq!((status, outcome.as_str()), (200, "retryable"), "{message}");
    assert!(message.contains("cannot connect"), "{message}");

    // An unknown channel is not found.
    assert_eq!(test_channel(&admin, id + 1000).await.0, 404);
    receiver.assert_no_malformed();
}

/// Regression: the test notification's idempotency key was the tenant, the channel and the
/// instant only, so two presses within one millisecond — or any two under a clock that stands
/// still, as `--clock-file` does — shared a `webhook-id`, and the receiver dropped the second
/// as a duplicate while Runway said "sent".
#[tokio::test]
async fn two_test_notifications_at_the_same_instant_are_two_messages() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let receiver = WebhookReceiver::start_with_clock(SECRET, app.clock.clone()).await;
    let id = webhook_channel(&admin, "Ops webhook", &receiver.url()).await;
    for _ in 0..2 {
        assert_eq!(test_channel(&admin, id).await.1, "sent");
    }
    let events = receiver.wait_for(2, WAIT).await;
    assert_ne!(
        events[0].id, events[1].id,
        "each press has its own webhook-id"
    );
    assert_eq!(
        events[0].timestamp, events[1].timestamp,
        "the clock stood still"
    );
    receiver.assert_no_malformed();
}

#[tokio::test]
async fn routing_rules_and_escalation_policies_are_created_listed_and_deleted() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let viewer = app.signed_in("viewer@acme.example").await;
    let ops = webhook_channel(&admin, "Ops webhook", "https://hooks.example.com/ops").await;
    let pager = create_channel(&admin, &json!({"kind": "log", "name": "Pager"})).await["id"]
        .as_i64()
        .unwrap();
    let customer = app
        .store
        .instance(app.tenant, app.id("renewing"))
        .await
        .unwrap()
        .customer_id
        .0;

    // Routing rules.
    assert_eq!(viewer.get("/api/v1/routes").await.json(), json!([]));
    let route = admin
        .post_json(
            "/api/v1/routes",
            &json!({"kind": "license_expiry", "min_severity": "WARNING",
                    "customer_id": customer, "channel_id": ops}),
        )
        .await;
    assert_eq!(route.status, 201, "{}", route.body);
    let route = route.json();
    let every = admin
        .post_json("/api/v1/routes", &json!({"channel_id": pager}))
        .await;
    assert_eq!(every.status, 201, "{}", every.body);
    let every = every.json();
    assert_eq!(
        (
            &every["kind"],
            &every["min_severity"],
            &every["customer_id"]
        ),
        (&Value::Null, &json!("INFO"), &Value::Null),
        "without kind, severity and customer a rule takes every alert"
    );
    let listed = viewer.get("/api/v1/routes").await.json();
    assert_eq!(listed, json!([route.clone(), every.clone()]));
    assert_eq!(
        listed[0],
        json!({"id": route["id"], "kind": "license_expiry", "min_severity": "WARNING",
               "customer_id": customer, "channel_id": ops})
    );
    // The page says it in words (a viewer's page has no form listing the customers).
    let page = viewer.get("/channels").await.body;
    assert!(
        page.contains(
            "<td>license expiry</td><td>WARNING</td><td>Alpha Dental</td><td>Ops webhook</td>"
        ),
        "{page}"
    );
    assert!(
        page.contains("<td>every kind</td><td>INFO</td><td>every customer</td><td>Pager</td>"),
        "{page}"
    );

    for (body, status, word) in [
        (
            json!({"min_severity": "LOUD", "channel_id": ops}),
            422,
            "min_severity",
        ),
        (json!({"kind": "weather", "channel_id": ops}), 422, "kind"),
        (json!({"channel_id": ops + 1000}), 404, "not found"),
        (json!({"kind": "not_read"}), 422, "channel_id"),
    ] {
        let reply = admin.post_json("/api/v1/routes", &body).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert!(reply.body.contains(word), "{body}: {}", reply.body);
    }
    let path = format!("/api/v1/routes/{}", route["id"]);
    assert_eq!(
        admin
            .send_json(reqwest::Method::DELETE, &path, &json!({}))
            .await
            .status,
        204
    );
    assert_eq!(
        admin
            .send_json(reqwest::Method::DELETE, &path, &json!({}))
            .await
            .status,
        404,
        "gone"
    );
    assert_eq!(
        viewer.get("/api/v1/routes").await.json(),
        json!([every.clone()])
    );

    // Escalation policies.
    assert_eq!(viewer.get("/api/v1/escalations").await.json(), json!([]));
    let policy = admin
        .post_json(
            "/api/v1/escalations",
            &json!({"name": "Night shift", "min_severity": "CRITICAL",
                    "levels": [{"after_minutes": 15, "channel_id": ops},
                               {"after_minutes": 60, "channel_id": pager}]}),
        )
        .await;
    assert_eq!(policy.status, 201, "{}", policy.body);
    let policy = policy.json();
    assert_eq!(
        policy,
        json!({"id": policy["id"], "name": "Night shift", "min_severity": "CRITICAL",
               "levels": [{"after_minutes": 15, "channel_id": ops},
                          {"after_minutes": 60, "channel_id": pager}]})
    );
    assert_eq!(
        viewer.get("/api/v1/escalations").await.json(),
        json!([policy.clone()])
    );
    let page = viewer.get("/channels").await.body;
    assert!(
        page.contains("after 15 min → Ops webhook; after 60 min → Pager"),
        "{page}"
    );
    for (body, status, word) in [
        (
            json!({"name": "Night shift", "levels": [{"after_minutes": 5, "channel_id": ops}]}),
            409,
            "already exists",
        ),
        (
            json!({"name": "Empty", "levels": []}),
            422,
            "1 to 10 levels",
        ),
        (
            json!({"name": "Backwards", "levels": [{"after_minutes": 60, "channel_id": ops},
                                                  {"after_minutes": 5, "channel_id": pager}]}),
            422,
            "in order of their wait",
        ),
        (
            json!({"name": "Loud", "min_severity": "LOUD",
                   "levels": [{"after_minutes": 5, "channel_id": ops}]}),
            422,
            "min_severity",
        ),
        (
            json!({"name": "Nowhere", "levels": [{"after_minutes": 5, "channel_id": ops + 1000}]}),
            404,
            "not found",
        ),
        (
            json!({"name": "", "levels": [{"after_minutes": 5, "channel_id": ops}]}),
            422,
            "name",
        ),
    ] {
        let reply = admin.post_json("/api/v1/escalations", &body).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert!(reply.body.contains(word), "{body}: {}", reply.body);
    }
    let path = format!("/api/v1/escalations/{}", policy["id"]);
    assert_eq!(
        admin
            .send_json(reqwest::Method::DELETE, &path, &json!({}))
            .await
            .status,
        204
    );
    assert_eq!(
        admin
            .send_json(reqwest::Method::DELETE, &path, &json!({}))
            .await
            .status,
        404
    );
    assert_eq!(viewer.get("/api/v1/escalations").await.json(), json!([]));

    // Deleting a channel takes its routing rules with it.
    let path = format!("/api/v1/channels/{pager}");
    assert_eq!(
        admin
            .send_json(reqwest::Method::DELETE, &path, &json!({}))
            .await
            .status,
        204
    );
    assert_eq!(viewer.get("/api/v1/routes").await.json(), json!([]));
    assert_eq!(
        names(&viewer.get("/api/v1/channels").await.json()),
        ["Ops webhook"]
    );
    assert_eq!(
        admin
            .send_json(reqwest::Method::DELETE, &path, &json!({}))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn another_tenant_cannot_see_test_route_to_or_delete_a_channel() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let receiver = WebhookReceiver::start_with_clock(SECRET, app.clock.clone()).await;
    let id = webhook_channel(&admin, "Acme webhook", &receiver.url()).await;
    other_tenant(&app).await;
    let intruder = app.signed_in("owner@other.example").await;

    assert_eq!(intruder.get("/api/v1/channels").await.json(), json!([]));
    let page = intruder.get("/channels").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Acme webhook"));
    assert!(!page.body.contains(&receiver.url()));

    assert_eq!(test_channel(&intruder, id).await.0, 404);
    let path = format!("/api/v1/channels/{id}");
    assert_eq!(
        intruder
            .send_json(reqwest::Method::DELETE, &path, &json!({}))
            .await
            .status,
        404
    );
    for path in [
        format!("/channels/{id}/test"),
        format!("/channels/{id}/delete"),
    ] {
        assert_eq!(intruder.post_form(&path, &[]).await.status, 404, "{path}");
    }
    let route = intruder
        .post_json("/api/v1/routes", &json!({"channel_id": id}))
        .await;
    assert_eq!(route.status, 404, "{}", route.body);
    let policy = intruder
        .post_json(
            "/api/v1/escalations",
            &json!({"name": "Hijack", "levels": [{"after_minutes": 1, "channel_id": id}]}),
        )
        .await;
    assert_eq!(policy.status, 404, "{}", policy.body);

    // Nothing went out, and the channel is still the first tenant's alone.
    assert!(
        receiver.requests().is_empty(),
        "no test notification was sent"
    );
    assert_eq!(
        names(&admin.get("/api/v1/channels").await.json()),
        ["Acme webhook"]
    );
    assert_eq!(intruder.get("/api/v1/routes").await.json(), json!([]));
    assert_eq!(intruder.get("/api/v1/escalations").await.json(), json!([]));
}

/// Runs the delivery worker's step until nothing more is due now.
async fn deliver_all(worker: &Worker) {
    loop {
        let report = worker.deliver_due().await.unwrap();
        if report.claimed == 0 {
            return;
        }
    }
}

/// The alert of `pbx`'s license expiry among `alerts`.
fn alert_of(app: &App, alerts: &Value, pbx: &str) -> Value {
    let id = app.id(pbx).0;
    alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["instance_id"] == id && a["kind"] == "license_expiry")
        .cloned()
        .unwrap_or_else(|| panic!("{pbx} has a reminder: {alerts}"))
}

#[tokio::test]
async fn an_alerts_detail_lists_its_deliveries_after_the_worker_ran_and_a_refused_one_is_retried() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let ops = WebhookReceiver::start_with_clock(SECRET, app.clock.clone()).await;
    let gone = WebhookReceiver::start_with_clock(SECRET, app.clock.clone()).await;
    gone.set_outage(Some(Reply::new(410).with_body("this hook was removed")));
    let ops_id = webhook_channel(&admin, "Ops webhook", &ops.url()).await;
    let gone_id = webhook_channel(&admin, "Old webhook", &gone.url()).await;
    let worker = Worker::new(
        Arc::clone(&app.store),
        app.clock.clone(),
        runway_alerts::http_client().unwrap(),
        WorkerConfig::new("web-test"),
    );

    // Two days on, the 12-day license reaches its 10-day milestone; with no routing rules it
    // goes to both channels.
    app.clock.advance(Duration::from_hours(48));
    let now = runway_clock::Clock::now(&*app.clock);
    app.store.evaluate_alerts(now).await.unwrap();
    deliver_all(&worker).await;
    let viewer = app.signed_in("viewer@acme.example").await;
    let technician = app.signed_in("technician@acme.example").await;
    let alert = alert_of(&app, &viewer.get("/api/v1/alerts").await.json(), "renewing");
    assert_eq!(alert["milestone_days"], 10, "{alert}");
    let alert_id = alert["id"].as_i64().unwrap();
    let detail_path = format!("/api/v1/alerts/{alert_id}");

    let detail = viewer.get(&detail_path).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    let detail = detail.json();
    let deliveries = detail["deliveries"].as_array().unwrap();
    let of = |channel: i64| {
        deliveries
            .iter()
            .find(|d| d["channel_id"] == channel)
            .cloned()
            .unwrap_or_else(|| panic!("a delivery to channel {channel}: {deliveries:?}"))
    };
    assert_eq!(deliveries.len(), 2, "one per channel: {deliveries:?}");
    let sent = of(ops_id);
    assert_eq!(sent["channel"], "Ops webhook");
    assert_eq!(sent["action"], "trigger");
    assert_eq!(sent["stage"], "milestone:10");
    assert_eq!(sent["state"], "sent", "{sent}");
    assert_eq!(sent["attempts"], 1);
    assert_eq!(sent["last_error"], Value::Null);
    assert_eq!(sent["next_attempt_at"], Value::Null);
    assert!(sent["sent_at"].is_string(), "{sent}");
    let refused = of(gone_id);
    assert_eq!(refused["state"], "failed", "{refused}");
    assert_eq!(refused["attempts"], 1);
    assert!(
        refused["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 410 Gone"),
        "{refused}"
    );
    assert_eq!(refused["sent_at"], Value::Null);

    // The receiver got that very notification, under the delivery's idempotency key.
    let event = ops
        .received()
        .into_iter()
        .find(|e| e.payload["data"]["alert_id"] == alert_id)
        .unwrap_or_else(|| panic!("the webhook got alert {alert_id}: {:?}", ops.received()));
    assert_eq!(event.payload["type"], "alert.triggered");
    assert_eq!(event.payload["data"]["stage"], "milestone:10");
    assert_eq!(
        event.payload["data"]["idempotency_key"],
        sent["idempotency_key"]
    );
    ops.assert_no_malformed();

    // The page shows both, the refusal with a Retry button.
    let page = viewer.get(&format!("/alerts/{alert_id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Ops webhook") && page.body.contains("Old webhook"));
    assert!(page.body.contains("HTTP 410 Gone"), "{}", page.body);
    let page = technician.get(&format!("/alerts/{alert_id}")).await;
    let refused_id = refused["id"].as_i64().unwrap();
    assert!(
        page.body
            .contains(&format!("action=\"/deliveries/{refused_id}/retry\"")),
        "{}",
        page.body
    );

    // The hook is back: a technician retries the refused delivery, the worker sends it.
    gone.set_outage(None);
    let retry_path = format!("/api/v1/deliveries/{refused_id}/retry");
    let retried = technician.post_json(&retry_path, &json!({})).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.json()["state"], "pending");
    deliver_all(&worker).await;
    let detail = viewer.get(&detail_path).await.json();
    let again = detail["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == refused_id)
        .cloned()
        .unwrap();
    assert_eq!(again["state"], "sent", "{again}");
    assert_eq!(again["attempts"], 2);
    assert!(
        gone.received()
            .iter()
            .any(|e| e.payload["data"]["alert_id"] == alert_id),
        "the retried notification arrived"
    );
    // A sent delivery is not retried.
    let twice = technician.post_json(&retry_path, &json!({})).await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert!(twice.body.contains("only a failed delivery can be retried"));
    gone.assert_no_malformed();
}
