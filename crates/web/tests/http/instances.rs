//! The instance page, Refresh license (before → after), forms for customers and instances,
//! the connection test, and what bad input does.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::helpers::{ZONE, spawn_app};

fn date_in(now: Timestamp, days: i64) -> String {
    let tz = TimeZone::get(ZONE).unwrap();
    (now + SignedDuration::from_hours(24 * days))
        .to_zoned_datetime(tz)
        .date()
        .to_string()
}

fn text_of<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("#{id} in {body}"))
        + id.len()
        + 6;
    &body[start..start + body[start..].find('<').unwrap()]
}

#[tokio::test]
async fn refresh_license_shows_the_expiry_before_and_after_a_pending_renewal() {
    let app = spawn_app().await;
    let id = app.id("renewing").0;
    let technician = app.signed_in("technician@acme.example").await;
    let page = technician.get(&format!("/instances/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"refresh-license\""));

    let refreshed = technician
        .post_form(&format!("/instances/{id}/refresh"), &[])
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(
        text_of(&refreshed.body, "expiry-before"),
        date_in(app.now, 12)
    );
    assert_eq!(
        text_of(&refreshed.body, "expiry-after"),
        date_in(app.now, 377)
    );
    assert!(!refreshed.body.contains("id=\"read-error\""));
    // History shows the change, the refresh event and the attempt.
    assert!(
        refreshed.body.contains(&format!(
            "expiry {} → {}",
            date_in(app.now, 12),
            date_in(app.now, 377)
        )),
        "reading history lists the change in the tenant's dates"
    );
    assert!(refreshed.body.contains("refresh_performed"));
    let stored = app
        .store
        .license(app.tenant, app.id("renewing"))
        .await
        .unwrap();
    let expiry = stored.good.unwrap().facts.expiry.unwrap();
    assert_eq!(
        expiry
            .to_zoned_datetime(TimeZone::get(ZONE).unwrap())
            .date()
            .to_string(),
        date_in(app.now, 377)
    );

    // Through the API: before and after again (now both the renewed date).
    let api = technician
        .post_json(
            &format!("/api/v1/instances/{id}/refresh"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(api.status, 200, "{}", api.body);
    let json = api.json();
    assert_eq!(json["succeeded"], true);
    assert_eq!(
        json["before"]["expiry_date"],
        date_in(app.now, 377).as_str()
    );
    assert_eq!(json["after"]["expiry_date"], date_in(app.now, 377).as_str());
    let readings = technician
        .get(&format!("/api/v1/instances/{id}/readings"))
        .await
        .json();
    assert!(readings.as_array().unwrap().len() >= 2);
    let attempts = technician
        .get(&format!("/api/v1/instances/{id}/attempts"))
        .await
        .json();
    assert_eq!(attempts[0]["trigger"], "refresh");
    let events = technician
        .get(&format!("/api/v1/instances/{id}/events"))
        .await
        .json();
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "license_changed")
    );
}

#[tokio::test]
async fn a_failing_read_shows_its_error_as_clearly_as_a_success() {
    let app = spawn_app().await;
    let id = app.id("active");
    let pbx = app.sim.pbx("active").unwrap();
    pbx.revoke_tokens();
    pbx.add_fault(runway_sim::Fault::new(runway_sim::FaultKind::Hang {}));
    let technician = app.signed_in("technician@acme.example").await;
    let page = technician
        .post_form(&format!("/instances/{}/read-now", id.0), &[])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"read-error\""), "{}", page.body);
    assert_eq!(
        text_of(&page.body, "expiry-before"),
        text_of(&page.body, "expiry-after")
    );
}

#[tokio::test]
async fn bulk_refresh_reads_the_selected_rows() {
    let app = spawn_app().await;
    let technician = app.signed_in("technician@acme.example").await;
    let a = app.id("renewing").0.to_string();
    let b = app.id("warning").0.to_string();
    let reply = technician
        .post_form(
            "/refresh",
            &[("instance", &a), ("instance", &b), ("trigger", "refresh")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains(&format!(
        "{} → {}",
        date_in(app.now, 12),
        date_in(app.now, 377)
    )));
    assert!(reply.body.contains(&format!("data-instance-id=\"{b}\"")));
    let api = technician
        .post_json(
            "/api/v1/refresh",
            &serde_json::json!({"instances": [app.id("active").0], "trigger": "read_now"}),
        )
        .await
        .json();
    assert_eq!(api[0]["outcome"]["succeeded"], true);
}

/// A bulk request reads each instance once however often it names it, in the order first
/// named, so no request makes the engine read more instances than the tenant has.
#[tokio::test]
async fn bulk_refresh_reads_each_named_instance_once_and_never_more_than_the_fleet() {
    let app = spawn_app().await;
    let technician = app.signed_in("technician@acme.example").await;
    let (a, b) = (app.id("warning").0, app.id("active").0);
    let attempts_of = |id| {
        let store = app.store.clone();
        let tenant = app.tenant;
        async move {
            store
                .attempts(tenant, runway_store::InstanceId(id), 100)
                .await
                .unwrap()
                .len()
        }
    };
    let (before_a, before_b) = (attempts_of(a).await, attempts_of(b).await);
    let named = serde_json::json!({"instances": [a, a, b, a, b, a], "trigger": "read_now"});
    let reply = technician.post_json("/api/v1/refresh", &named).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.json();
    let ids: Vec<i64> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["instance_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [a, b],
        "one result per instance, in the order first named"
    );
    assert_eq!(
        (attempts_of(a).await, attempts_of(b).await),
        (before_a + 1, before_b + 1),
        "each read once"
    );

    // Every instance named twice over: exactly the fleet is read, once each.
    let fleet: Vec<i64> = app
        .store
        .instances(app.tenant)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id.0)
        .collect();
    let twice: Vec<(&str, String)> = fleet
        .iter()
        .chain(fleet.iter())
        .map(|id| ("instance", id.to_string()))
        .chain([("trigger", "read_now".to_owned())])
        .collect();
    let form: Vec<(&str, &str)> = twice.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = technician.post_form("/refresh", &form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.body.matches("<tr data-instance-id=").count(),
        fleet.len(),
        "one line per instance of the fleet"
    );
}

#[tokio::test]
async fn every_page_renders_for_an_owner_with_security_headers() {
    let app = spawn_app().await;
    let owner = app.signed_in("owner@acme.example").await;
    let id = app.id("warning").0;
    let customer = app.store.customers(app.tenant).await.unwrap()[0].id.0;
    for path in [
        "/".to_owned(),
        format!("/instances/{id}"),
        "/instances/new".to_owned(),
        format!("/instances/{id}/edit"),
        "/customers".to_owned(),
        format!("/customers/{customer}/edit"),
        "/settings".to_owned(),
        "/users".to_owned(),
        "/tokens".to_owned(),
    ] {
        let reply = owner.get(&path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert!(
            reply.body.contains("id=\"tenant-name\">Acme MSP<"),
            "{path}"
        );
        let csp = reply.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(reply.headers["x-content-type-options"], "nosniff");
        assert!(reply.headers.contains_key("referrer-policy"));
        assert!(
            !reply.body.contains("http://") || path != "/",
            "nothing loaded from elsewhere"
        );
    }
    for (path, kind) in [
        ("/static/style.css", "text/css"),
        ("/static/app.js", "text/javascript"),
        ("/favicon.svg", "image/svg+xml"),
    ] {
        let reply = app.browser().get(path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert!(
            reply.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(
            reply.headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age")
        );
    }
    assert_eq!(owner.get("/no/such/page").await.status, 404);
    assert_eq!(owner.get("/instances/not-a-number").await.status, 404);
}

#[tokio::test]
async fn instances_are_added_edited_and_deleted_and_secrets_are_never_shown_back() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let customer = app.store.customers(app.tenant).await.unwrap()[0]
        .id
        .0
        .to_string();
    let base_url = app
        .sim
        .base_url("warning", runway_sim::Scheme::Http)
        .unwrap();
    let count = app.store.instances(app.tenant).await.unwrap().len();

    // Bad input: a message next to each field, nothing stored, the secret not echoed.
    let bad = admin
        .post_form(
            "/instances/new",
            &[
                ("customer_id", &customer),
                ("name", ""),
                ("base_url", "ftp://nope"),
                ("login_kind", "api_client"),
                ("identity", "runway"),
                ("secret", "typed-secret-123"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("id=\"error-name\""));
    assert!(bad.body.contains("id=\"error-base_url\""));
    assert!(!bad.body.contains("typed-secret-123"));
    assert_eq!(app.store.instances(app.tenant).await.unwrap().len(), count);

    // Test connection with the entered settings: facts, nothing saved.
    let test = admin
        .post_form(
            "/instances/test",
            &[
                ("customer_id", &customer),
                ("name", "New PBX"),
                ("base_url", base_url),
                ("login_kind", "api_client"),
                ("identity", "runway"),
                ("secret", "s-warning"),
            ],
        )
        .await;
    assert_eq!(test.status, 200, "{}", test.body);
    assert!(
        test.body.contains("Connected: the PBX answered"),
        "{}",
        test.body
    );
    assert!(test.body.contains(&date_in(app.now, 45)));
    assert!(!test.body.contains("s-warning"));
    let wrong = admin
        .post_form(
            "/instances/test",
            &[
                ("customer_id", &customer),
                ("name", "New PBX"),
                ("base_url", base_url),
                ("login_kind", "api_client"),
                ("identity", "runway"),
                ("secret", "wrong"),
            ],
        )
        .await;
    assert!(wrong.body.contains("Connection failed"), "{}", wrong.body);
    assert_eq!(app.store.instances(app.tenant).await.unwrap().len(), count);

    // Save.
    let created = admin
        .post_form(
            "/instances/new",
            &[
                ("customer_id", &customer),
                ("name", "New PBX"),
                ("base_url", base_url),
                ("login_kind", "api_client"),
                ("identity", "runway"),
                ("secret", "s-warning"),
                ("poll_interval_minutes", "60"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let new_id = created
        .location()
        .trim_start_matches("/instances/")
        .to_owned();
    // Saving read the PBX at once: the page the user lands on shows the license.
    let landed = admin.get(created.location()).await;
    assert!(!landed.body.contains("Not read yet"), "{}", landed.body);
    assert!(
        landed.body.contains(&date_in(app.now, 45)),
        "{}",
        landed.body
    );
    let edit = admin.get(&format!("/instances/{new_id}/edit")).await;
    assert!(
        !edit.body.contains("s-warning"),
        "the stored secret is never shown"
    );
    assert!(edit.body.contains("stored: leave empty to keep"));

    // Edit with the secret left empty keeps it: the instance still reads.
    let renamed = admin
        .post_form(
            &format!("/instances/{new_id}/edit"),
            &[
                ("customer_id", &customer),
                ("name", "Renamed PBX"),
                ("base_url", base_url),
                ("login_kind", "api_client"),
                ("identity", "runway"),
                ("secret", ""),
                ("poll_interval_minutes", "60"),
            ],
        )
        .await;
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    let read = admin
        .post_form(&format!("/instances/{new_id}/read-now"), &[])
        .await;
    assert!(!read.body.contains("id=\"read-error\""), "{}", read.body);
    assert!(read.body.contains("Renamed PBX"));

    // Disable, then delete.
    assert_eq!(
        admin
            .post_form(&format!("/instances/{new_id}/disable"), &[])
            .await
            .status,
        303
    );
    assert!(
        admin
            .get(&format!("/instances/{new_id}"))
            .await
            .body
            .contains(">disabled<")
    );
    assert_eq!(
        admin
            .post_form(&format!("/instances/{new_id}/delete"), &[])
            .await
            .status,
        303
    );
    assert_eq!(admin.get(&format!("/instances/{new_id}")).await.status, 404);
}

#[tokio::test]
async fn a_manual_instance_takes_part_and_is_marked_manual() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let customer = app.store.customers(app.tenant).await.unwrap()[0]
        .id
        .0
        .to_string();
    let expiry = date_in(app.now, 5);
    let created = admin
        .post_form(
            "/instances/new",
            &[
                ("customer_id", &customer),
                ("name", "Paper PBX"),
                ("base_url", ""),
                ("login_kind", "manual"),
                ("manual_license_key", "ABCD-1234"),
                ("manual_expiry_date", &expiry),
                ("manual_product_code", "3CXPSPROFSPLA"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let id = created
        .location()
        .trim_start_matches("/instances/")
        .to_owned();
    let status = admin.get("/").await.body;
    let row = &status[status.find(&format!("data-instance-id=\"{id}\"")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("manual"), "{row}");
    assert!(row.contains("5 days"), "{row}");
    assert!(row.contains(&expiry));
    let refresh = admin
        .post_form(&format!("/instances/{id}/refresh"), &[])
        .await;
    assert!(refresh.body.contains("entered by hand"), "{}", refresh.body);
    let bad = admin
        .post_form(
            &format!("/instances/{id}/edit"),
            &[
                ("customer_id", &customer),
                ("name", "Paper PBX"),
                ("login_kind", "manual"),
                ("manual_expiry_date", "03/06/2027"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"error-manual_expiry_date\""));
    assert!(bad.body.contains("is ambiguous"), "{}", bad.body);
}

#[tokio::test]
async fn customers_and_settings_refuse_bad_input_with_a_message_and_store_nothing() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let before = app.store.customers(app.tenant).await.unwrap();
    let dup = admin
        .post_form("/customers", &[("name", &before[0].name)])
        .await;
    assert_eq!(dup.status, 422);
    assert!(dup.body.contains("id=\"error-name\""));
    assert!(dup.body.contains("already exists"));
    assert_eq!(app.store.customers(app.tenant).await.unwrap(), before);
    let busy = admin
        .post_form(&format!("/customers/{}/delete", before[0].id), &[])
        .await;
    assert!(busy.body.contains("still has"), "{}", busy.body);

    let tenant_before = app.store.tenant(app.tenant).await.unwrap();
    let bad = admin
        .post_form(
            "/settings",
            &[
                ("name", "Acme MSP"),
                ("zone", "Nowhere/City"),
                ("milestones", "10, x"),
                ("renewal_template", "https://shop.example/{serial}"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    for field in ["zone", "milestones", "renewal_template"] {
        assert!(
            bad.body.contains(&format!("id=\"error-{field}\"")),
            "{field}"
        );
    }
    assert_eq!(app.store.tenant(app.tenant).await.unwrap(), tenant_before);
    let good = admin
        .post_form(
            "/settings",
            &[
                ("name", "Acme MSP"),
                ("zone", "Europe/Berlin"),
                ("milestones", "30, 7, 1"),
                ("lapse_alert", "1"),
                ("renewal_template", "https://shop.example/renew?k={key}"),
            ],
        )
        .await;
    assert_eq!(good.status, 303, "{}", good.body);
    let tenant = app.store.tenant(app.tenant).await.unwrap();
    assert_eq!(tenant.settings.zone.name(), "Europe/Berlin");
    assert!(
        admin
            .get("/")
            .await
            .body
            .contains("https://shop.example/renew?k=")
    );
}
