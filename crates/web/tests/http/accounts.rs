//! Setup, sign-in, cookies, throttling, CSRF and roles.

use runway_testkit::Backend;

use crate::helpers::{App, Options, PASSWORD, spawn_app, spawn_with};

#[tokio::test]
async fn setup_is_offered_only_while_no_tenant_exists_and_bad_input_creates_nothing() {
    let app = spawn_with(
        Backend::Sqlite,
        Options {
            empty: true,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let browser = app.browser();
    let home = browser.get("/").await;
    assert_eq!((home.status, home.location()), (303, "/login"));
    let login = browser.get("/login").await;
    assert_eq!((login.status, login.location()), (303, "/setup"));
    let page = browser.get("/setup").await;
    assert_eq!(page.status, 200);
    let csrf = page.form_csrf();

    let bad = browser
        .post_raw_form(
            "/setup",
            &[
                ("csrf", &csrf),
                ("tenant_name", "Acme MSP"),
                ("zone", "Mars/Olympus"),
                ("email", "owner@acme.example"),
                ("password", "short"),
                ("password_again", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"error-zone\""), "{}", bad.body);
    assert!(bad.body.contains("unknown time zone"), "{}", bad.body);
    assert!(
        app.store.tenants().await.unwrap().is_empty(),
        "nothing half-created"
    );

    let csrf = bad.form_csrf();
    let good = browser
        .post_raw_form(
            "/setup",
            &[
                ("csrf", &csrf),
                ("tenant_name", "Acme MSP"),
                ("zone", "America/New_York"),
                ("email", "owner@acme.example"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert_eq!((good.status, good.location()), (303, "/"), "{}", good.body);
    let tenants = app.store.tenants().await.unwrap();
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0].settings.zone.name(), "America/New_York");
    let home = browser.get("/").await;
    assert_eq!(home.status, 200, "signed in straight after setup");
    assert!(home.body.contains("Acme MSP"));

    assert_eq!(app.browser().get("/setup").await.status, 404);
    let again = app
        .browser()
        .post_raw_form("/setup", &[("csrf", &csrf), ("tenant_name", "Evil")])
        .await;
    assert_ne!(again.status, 303);
    assert_eq!(app.store.tenants().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_and_secure_when_configured() {
    for secure in [false, true] {
        let app = spawn_with(
            Backend::Sqlite,
            Options {
                secure_cookies: secure,
                ..Options::default()
            },
        )
        .await
        .unwrap();
        let mut browser = app.browser();
        let reply = browser.login("owner@acme.example", PASSWORD).await;
        assert_eq!(reply.status, 303);
        // Over HTTPS (which --secure-cookies declares) the cookie carries the __Host- prefix.
        let name = if secure {
            "__Host-runway_session="
        } else {
            "runway_session="
        };
        let cookie = reply
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(name))
            .unwrap();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert_eq!(cookie.contains("Secure"), secure, "{cookie}");
        let secret = cookie[name.len()..].split(';').next().unwrap();
        assert_eq!(secret.len(), 64, "a 256-bit secret");
    }
}

#[tokio::test]
async fn signing_out_ends_the_session_for_good() {
    let app = spawn_app().await;
    let browser = app.signed_in("owner@acme.example").await;
    let cookie_jar_copy = browser.get("/").await;
    assert_eq!(cookie_jar_copy.status, 200);
    let out = browser.post_form("/logout", &[]).await;
    assert_eq!((out.status, out.location()), (303, "/login"));
    assert_eq!(browser.get("/").await.status, 303);
    assert_eq!(browser.get("/api/v1/licenses").await.status, 401);
}

#[tokio::test]
async fn wrong_passwords_are_throttled_even_before_the_right_one() {
    let app = spawn_app().await;
    let mut browser = app.browser();
    for _ in 0..5 {
        let reply = browser
            .login("viewer@acme.example", "wrong password!")
            .await;
        assert_eq!(reply.status, 401);
        assert!(
            reply
                .body
                .contains("the email address or password is wrong")
        );
    }
    let blocked = browser.login("viewer@acme.example", PASSWORD).await;
    assert_eq!(blocked.status, 429, "{}", blocked.body);
    assert!(blocked.headers.contains_key("retry-after"));
    // Another account is not blocked by these failures.
    let other = app
        .browser()
        .login("admin@acme.example", PASSWORD)
        .await
        .status;
    assert_eq!(other, 303);
    // A disabled user cannot sign in.
    let unknown = app.browser().login("nobody@acme.example", PASSWORD).await;
    assert_eq!(unknown.status, 401);
}

#[tokio::test]
async fn every_form_post_needs_the_sessions_csrf_token() {
    let app = spawn_app().await;
    let browser = app.signed_in("admin@acme.example").await;
    let before = app.store.customers(app.tenant).await.unwrap().len();
    let missing = browser
        .post_raw_form("/customers", &[("name", "Delta")])
        .await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    let wrong = browser
        .post_raw_form("/customers", &[("name", "Delta"), ("csrf", "0000")])
        .await;
    assert_eq!(wrong.status, 403);
    // Another session's token does not do either.
    let other = app.signed_in("owner@acme.example").await;
    let foreign = browser
        .post_raw_form("/customers", &[("name", "Delta"), ("csrf", &other.csrf)])
        .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(app.store.customers(app.tenant).await.unwrap().len(), before);
    let ok = browser.post_form("/customers", &[("name", "Delta")]).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(
        app.store.customers(app.tenant).await.unwrap().len(),
        before + 1
    );

    // Session-authenticated API calls need the header; JSON without it is refused.
    let mut no_header = app.signed_in("admin@acme.example").await;
    no_header.csrf.clear();
    let refused = no_header
        .post_json("/api/v1/customers", &serde_json::json!({"name": "Echo"}))
        .await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.json()["error"]
            .as_str()
            .unwrap()
            .contains("form has expired")
    );
    let accepted = browser
        .post_json("/api/v1/customers", &serde_json::json!({"name": "Echo"}))
        .await;
    assert_eq!(accepted.status, 201, "{}", accepted.body);
}

/// The sign-in form's token is the pre-session cookie signed with the server's key: a cookie
/// someone planted in the browser, sent back as its own token (the "double submit" that an
/// unsigned scheme would accept), is refused, as is the token of another installation.
#[tokio::test]
async fn the_sign_in_forms_token_is_signed_by_the_server_and_a_planted_cookie_cannot_forge_it() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sign_in = |cookie: String, token: String| {
        client
            .post(format!("{}/login", app.base))
            .header("cookie", format!("runway_presession={cookie}"))
            .form(&[
                ("csrf", token),
                ("email", "admin@acme.example".to_owned()),
                ("password", crate::helpers::PASSWORD.to_owned()),
            ])
            .send()
    };
    let planted = "a".repeat(64);
    let double_submit = sign_in(planted.clone(), planted).await.unwrap();
    assert_eq!(double_submit.status().as_u16(), 403);

    let page = client
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let (cookie, _) = set_cookie(&page, "runway_presession").unwrap();
    let token = crate::helpers::reply(page).await.form_csrf();
    assert_ne!(token, cookie, "the token is not the cookie itself");

    // The same pair, shown by an installation with another secret key, opens nothing here.
    let other = spawn_app().await;
    let foreign = client
        .get(format!("{}/login", other.base))
        .send()
        .await
        .unwrap();
    let (foreign_cookie, _) = set_cookie(&foreign, "runway_presession").unwrap();
    let foreign_token = crate::helpers::reply(foreign).await.form_csrf();
    let crossed = sign_in(foreign_cookie, foreign_token).await.unwrap();
    assert_eq!(crossed.status().as_u16(), 403);

    let signed_in = sign_in(cookie, token).await.unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
}

/// The token of the sign-in form stands in for nothing else, and only `Bearer` requests skip
/// the CSRF check: a cookie an attacker planted, or any other `Authorization` header, does not
/// open the signed-in forms.
#[tokio::test]
async fn the_sign_in_forms_token_and_other_authorization_schemes_open_no_other_form() {
    let app = spawn_app().await;
    let browser = app.browser();
    let before = app.store.customers(app.tenant).await.unwrap().len();
    let presession = browser.get("/login").await.form_csrf();
    let signed_in = browser
        .post_raw_form(
            "/login",
            &[
                ("csrf", &presession),
                ("email", "admin@acme.example"),
                ("password", crate::helpers::PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let with_presession = browser
        .post_raw_form("/customers", &[("name", "Delta"), ("csrf", &presession)])
        .await;
    assert_eq!(with_presession.status, 403, "{}", with_presession.body);

    let basic = browser
        .client
        .post(format!("{}/customers", browser.base))
        .header("authorization", "Basic YWRtaW46eA==")
        .form(&[("name", "Echo")])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 403);
    assert_eq!(app.store.customers(app.tenant).await.unwrap().len(), before);
}

/// One sign-in attempt as it arrives through a reverse proxy that reports `client`.
async fn login_via_proxy(app: &App, client: &str, email: &str, password: &str) -> u16 {
    let browser = app.browser();
    let page = browser.get("/login").await;
    let reply = browser
        .client
        .post(format!("{}/login", browser.base))
        .header("x-forwarded-for", client)
        .form(&[
            ("csrf", page.form_csrf().as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    reply.status().as_u16()
}

/// Behind a reverse proxy every user shares the proxy's address. A stranger's failures must
/// not lock anyone else out — not by address, and not by naming the owner.
#[tokio::test]
async fn behind_a_trusted_proxy_a_strangers_failures_lock_out_nobody_else() {
    let options = Options {
        trusted_proxies: vec![runway_core::Cidr::parse("127.0.0.1").unwrap()],
        ..Options::default()
    };
    let app = spawn_with(Backend::Sqlite, options).await.unwrap();
    let stranger = "203.0.113.66";
    for n in 0..30 {
        let status = login_via_proxy(&app, stranger, &format!("guess{n}@acme.example"), "x").await;
        assert_eq!(status, 401);
    }
    for _ in 0..5 {
        let status = login_via_proxy(&app, stranger, "owner@acme.example", "guess").await;
        assert_eq!(status, 401);
    }
    // The owner, from their own address, signs in; so does anyone else.
    assert_eq!(
        login_via_proxy(&app, "198.51.100.20", "owner@acme.example", PASSWORD).await,
        303
    );
    assert_eq!(
        login_via_proxy(&app, "198.51.100.21", "viewer@acme.example", PASSWORD).await,
        303
    );
    // The stranger's address is slowed, never refused: a right password still works from it…
    assert_eq!(
        login_via_proxy(&app, stranger, "admin@acme.example", PASSWORD).await,
        303
    );
    // …but the owner's account from the stranger's address stays refused for the window.
    assert_eq!(
        login_via_proxy(&app, stranger, "owner@acme.example", PASSWORD).await,
        429
    );
}

/// Without a trusted proxy the forwarding headers are ignored: a guesser cannot escape the
/// account's limit by claiming to be someone else.
#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let app = spawn_app().await;
    for n in 0..5 {
        let status =
            login_via_proxy(&app, &format!("198.51.100.{n}"), "viewer@acme.example", "x").await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        login_via_proxy(&app, "198.51.100.99", "viewer@acme.example", PASSWORD).await,
        429
    );
}

/// Every user — a viewer too — changes their own password with the current one, and the
/// change signs them out everywhere else while this browser stays signed in.
#[tokio::test]
async fn a_user_changes_their_own_password_and_every_other_session_ends() {
    let app = spawn_app().await;
    let here = app.signed_in("viewer@acme.example").await;
    let elsewhere = app.signed_in("viewer@acme.example").await;
    assert_eq!(here.get("/account/password").await.status, 200);
    let new = "a brand new passphrase";
    let wrong = here
        .post_form(
            "/account/password",
            &[
                ("current_password", "not the password"),
                ("new_password", new),
                ("new_password_again", new),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains("id=\"error-current_password\""));
    assert_eq!(elsewhere.get("/").await.status, 200, "nothing changed yet");

    let changed = here
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new),
                ("new_password_again", new),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let shown = here.get(changed.location()).await;
    assert_eq!(shown.status, 200, "this browser stays signed in");
    assert!(shown.body.contains("every other session is signed out"));
    assert_eq!(
        elsewhere.get("/").await.status,
        303,
        "the other session ended"
    );
    assert_eq!(
        app.browser()
            .login("viewer@acme.example", PASSWORD)
            .await
            .status,
        401
    );
    assert_eq!(
        app.browser().login("viewer@acme.example", new).await.status,
        303
    );
}

/// Ended sessions and passed throttle windows are deleted, so neither grows without limit.
#[tokio::test]
async fn expired_sessions_and_throttle_windows_are_swept_away() {
    let app = spawn_app().await;
    let signed_in = app.signed_in("viewer@acme.example").await;
    assert_eq!(
        app.browser()
            .login("viewer@acme.example", "wrong")
            .await
            .status,
        401
    );
    let window = std::time::Duration::from_mins(15);
    let now = runway_clock::Clock::now(&*app.clock);
    assert_eq!(
        runway_web::sweep_expired(&*app.store, now, window)
            .await
            .unwrap(),
        runway_web::Swept::default(),
        "nothing has expired yet"
    );
    assert_eq!(signed_in.get("/").await.status, 200);

    let later = now + std::time::Duration::from_hours(13);
    let runway_web::Swept {
        sessions,
        throttle_windows: windows,
        ..
    } = runway_web::sweep_expired(&*app.store, later, window)
        .await
        .unwrap();
    assert!(sessions >= 1, "the 12-hour sessions ended: {sessions}");
    assert!(
        windows >= 2,
        "the account's and the address's windows: {windows}"
    );
}

/// The value of a `Set-Cookie` named `name` (and the whole header, to check its attributes).
fn set_cookie(reply: &reqwest::Response, name: &str) -> Option<(String, String)> {
    reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..].split(';').next().unwrap().to_owned();
            (value, v.to_owned())
        })
}

/// Over HTTPS (a trusted proxy says so) cookies are `__Host-` and `Secure`, HSTS is sent, and an
/// unprefixed cookie — which a plain-HTTP answer could have planted — opens nothing.
#[tokio::test]
async fn over_https_cookies_are_host_prefixed_and_secure_and_hsts_is_sent() {
    let options = Options {
        trusted_proxies: vec![runway_core::Cidr::parse("127.0.0.1").unwrap()],
        ..Options::default()
    };
    let app = spawn_with(Backend::Sqlite, options).await.unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let https = |request: reqwest::RequestBuilder| request.header("x-forwarded-proto", "https");
    let page = https(client.get(format!("{}/login", app.base)))
        .send()
        .await
        .unwrap();
    assert!(page.headers().contains_key("strict-transport-security"));
    let (presession, header) = set_cookie(&page, "__Host-runway_presession").unwrap();
    assert!(
        header.contains("; Secure") && header.contains("Path=/"),
        "{header}"
    );
    assert!(!header.contains("Domain="), "{header}");
    let form_token = crate::helpers::reply(page).await.form_csrf();

    let signed_in = https(client.post(format!("{}/login", app.base)))
        .header("cookie", format!("__Host-runway_presession={presession}"))
        .form(&[
            ("csrf", form_token.as_str()),
            ("email", "viewer@acme.example"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    let (session, header) = set_cookie(&signed_in, "__Host-runway_session").unwrap();
    assert!(
        header.contains("; Secure") && header.contains("HttpOnly"),
        "{header}"
    );

    let with = |cookie: String| {
        https(client.get(format!("{}/", app.base)))
            .header("cookie", cookie)
            .send()
    };
    let prefixed = with(format!("__Host-runway_session={session}"))
        .await
        .unwrap();
    assert_eq!(prefixed.status().as_u16(), 200);
    let unprefixed = with(format!("runway_session={session}")).await.unwrap();
    assert_eq!(
        unprefixed.status().as_u16(),
        303,
        "an unprefixed cookie opens nothing"
    );

    // Plain HTTP, or a client claiming HTTPS without a trusted proxy: neither.
    let plain = spawn_app().await;
    let reply = https(client.get(format!("{}/login", plain.base)))
        .send()
        .await
        .unwrap();
    assert!(!reply.headers().contains_key("strict-transport-security"));
    let (_, header) = set_cookie(&reply, "runway_presession").unwrap();
    assert!(!header.contains("Secure"), "{header}");
}

#[tokio::test]
async fn roles_decide_who_may_refresh_edit_and_manage_users() {
    let app = spawn_app().await;
    let pbx = app.id("warning").0;
    let viewer = app.signed_in("viewer@acme.example").await;
    let technician = app.signed_in("technician@acme.example").await;
    let admin = app.signed_in("admin@acme.example").await;
    let owner = app.signed_in("owner@acme.example").await;

    // Viewer: reads, nothing else.
    assert_eq!(viewer.get("/").await.status, 200);
    assert_eq!(viewer.get(&format!("/instances/{pbx}")).await.status, 200);
    assert_eq!(
        viewer
            .post_form(&format!("/instances/{pbx}/refresh"), &[])
            .await
            .status,
        403
    );
    assert_eq!(
        viewer
            .post_form(&format!("/instances/{pbx}/read-now"), &[])
            .await
            .status,
        403
    );
    let instance = pbx.to_string();
    assert_eq!(
        viewer
            .post_form("/refresh", &[("instance", &instance)])
            .await
            .status,
        403
    );
    assert_eq!(
        viewer
            .post_json(
                &format!("/api/v1/instances/{pbx}/refresh"),
                &serde_json::json!({})
            )
            .await
            .status,
        403
    );
    assert_eq!(
        viewer
            .post_form("/customers", &[("name", "Nope")])
            .await
            .status,
        403
    );
    assert_eq!(viewer.get("/instances/new").await.status, 403);
    assert_eq!(
        viewer
            .post_form("/settings", &[("name", "Hijack")])
            .await
            .status,
        403
    );
    assert_eq!(viewer.get("/users").await.status, 403);
    let page = viewer.get("/").await.body;
    assert!(
        !page.contains("id=\"bulk-refresh\""),
        "no refresh button for viewers"
    );

    // Technician: refresh and read now, no editing.
    let read = technician
        .post_form(&format!("/instances/{pbx}/read-now"), &[])
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(read.body.contains("id=\"read-outcome\""));
    assert_eq!(
        technician
            .post_form("/customers", &[("name", "Nope")])
            .await
            .status,
        403
    );
    assert_eq!(
        technician
            .post_form(&format!("/instances/{pbx}/delete"), &[])
            .await
            .status,
        403
    );

    // Admin: edits, no users.
    assert_eq!(
        admin
            .post_form("/customers", &[("name", "Foxtrot")])
            .await
            .status,
        303
    );
    assert_eq!(admin.get("/users").await.status, 403);
    assert_eq!(
        admin
            .post_form(
                "/users",
                &[
                    ("email", "x@acme.example"),
                    ("role", "owner"),
                    ("password", PASSWORD)
                ]
            )
            .await
            .status,
        403
    );

    // Owner: users too.
    assert_eq!(owner.get("/users").await.status, 200);
    let created = owner
        .post_form(
            "/users",
            &[
                ("email", "new@acme.example"),
                ("display_name", "New"),
                ("role", "viewer"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    assert!(
        app.store
            .user_by_email("new@acme.example")
            .await
            .unwrap()
            .is_some()
    );
}

/// An owner adding a user learns nothing about other MSPs: an address another tenant already
/// uses is accepted like any new one (emails are unique per tenant), and each account signs in
/// to its own tenant with its own password.
#[tokio::test]
async fn creating_a_user_never_reveals_an_account_of_another_tenant() {
    let app = spawn_app().await;
    crate::helpers::other_tenant(&app).await;
    let owner = app.signed_in("owner@acme.example").await;
    let other_password = "the other tenant's own passphrase";
    runway_testkit::secrets::used(other_password);
    let form = |email: &'static str| {
        [
            ("email", email),
            ("display_name", "Shared"),
            ("role", "viewer"),
            ("password", other_password),
        ]
    };
    let fresh = owner.post_form("/users", &form("fresh@acme.example")).await;
    let taken_elsewhere = owner
        .post_form("/users", &form("OWNER@other.example"))
        .await;
    assert_eq!(fresh.status, 303, "{}", fresh.body);
    assert_eq!(
        taken_elsewhere.status, fresh.status,
        "{}",
        taken_elsewhere.body
    );
    assert_eq!(taken_elsewhere.location(), fresh.location());
    let again = owner
        .post_form("/users", &form("owner@other.example"))
        .await;
    assert_eq!(
        again.status, 422,
        "a duplicate within the tenant is refused"
    );
    assert!(
        again.body.contains("this account already has a user"),
        "{}",
        again.body
    );

    // Each password opens its own tenant.
    let mut theirs = app.browser();
    assert_eq!(
        theirs.login("owner@other.example", PASSWORD).await.status,
        303
    );
    assert_eq!(
        theirs.get("/api/v1/me").await.json()["tenant_name"],
        "Other MSP"
    );
    let mut ours = app.browser();
    assert_eq!(
        ours.login("owner@other.example", other_password)
            .await
            .status,
        303
    );
    assert_eq!(
        ours.get("/api/v1/me").await.json()["tenant_name"],
        "Acme MSP"
    );
    assert_eq!(
        app.browser()
            .login("owner@other.example", "neither of them")
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn disabling_a_user_signs_them_out_at_once() {
    let app = spawn_app().await;
    let viewer = app.signed_in("viewer@acme.example").await;
    assert_eq!(viewer.get("/").await.status, 200);
    let owner = app.signed_in("owner@acme.example").await;
    let user = app
        .store
        .user_by_email("viewer@acme.example")
        .await
        .unwrap()
        .unwrap();
    let reply = owner
        .post_form(
            &format!("/users/{}", user.id),
            &[("role", "viewer"), ("disabled", "1")],
        )
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(viewer.get("/").await.status, 303);
    assert_eq!(
        app.browser()
            .login("viewer@acme.example", PASSWORD)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn api_tokens_are_shown_once_work_as_bearer_and_stop_when_revoked() {
    let app = spawn_app().await;
    let technician = app.signed_in("technician@acme.example").await;
    let page = technician
        .post_form("/tokens", &[("name", "grafana")])
        .await;
    assert_eq!(page.status, 200);
    let at = page.body.find("id=\"token-value\">").unwrap() + "id=\"token-value\">".len();
    let token = page.body[at..at + 67].to_owned();
    assert!(token.starts_with("rw_"), "{token}");
    assert!(
        !technician.get("/tokens").await.body.contains(&token),
        "shown only once"
    );
    let stored = app.store.api_tokens(app.tenant).await.unwrap();
    assert_eq!(stored.len(), 1);

    let bearer = app.bearer(&token);
    let licenses = bearer.get("/api/v1/licenses").await;
    assert_eq!(licenses.status, 200);
    // No CSRF token needed with a bearer token, and the role is the user's.
    let pbx = app.id("warning").0;
    let read = bearer
        .post_json(
            &format!("/api/v1/instances/{pbx}/read-now"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    let edit = bearer
        .post_json("/api/v1/customers", &serde_json::json!({"name": "Nope"}))
        .await;
    assert_eq!(edit.status, 403);
    assert!(
        app.store.api_tokens(app.tenant).await.unwrap()[0]
            .last_used_at
            .is_some()
    );

    // Created through the API too, then revoked.
    let created = bearer
        .post_json("/api/v1/tokens", &serde_json::json!({"name": "ci"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let second = created.json()["token"].as_str().unwrap().to_owned();
    let id = created.json()["id"].as_i64().unwrap();
    assert_eq!(app.bearer(&second).get("/api/v1/me").await.status, 200);
    let revoked = bearer
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let after = app.bearer(&second).get("/api/v1/licenses").await;
    assert_eq!(after.status, 401);
    assert!(after.json()["error"].is_string());
    assert_eq!(
        app.bearer("rw_not-a-token").get("/api/v1/me").await.status,
        401
    );

    // Revoked through the page.
    let first_id = stored[0].id.0;
    assert_eq!(
        technician
            .post_form(&format!("/tokens/{first_id}/revoke"), &[])
            .await
            .status,
        303
    );
    assert_eq!(app.bearer(&token).get("/api/v1/me").await.status, 401);
}
