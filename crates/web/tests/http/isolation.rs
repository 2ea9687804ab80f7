//! Nothing of one tenant is reachable by another: its ids answer 404 on pages and API, and
//! nothing changes.

use runway_testkit::Backend;

use crate::helpers::{Options, other_tenant, spawn_with};

async fn another_tenants_ids_are_not_found_anywhere(backend: Backend) {
    let Some(app) = spawn_with(backend, Options::default()).await else {
        return;
    };
    other_tenant(&app).await;
    let intruder = app.signed_in("owner@other.example").await;
    let id = app.id("renewing").0;
    let customer = app
        .store
        .instance(app.tenant, app.id("renewing"))
        .await
        .unwrap()
        .customer_id
        .0;
    let token_owner = app
        .store
        .user_by_email("owner@acme.example")
        .await
        .unwrap()
        .unwrap();
    let (_, token) =
        runway_web::create_api_token(&app.store, app.tenant, token_owner.id, "ci", app.now)
            .await
            .unwrap();
    let before = app.store.fleet(app.tenant).await.unwrap();

    // Its own view is empty.
    let home = intruder.get("/").await;
    assert_eq!(home.status, 200);
    assert!(!home.body.contains("Alpha Main"));
    assert_eq!(
        intruder.get("/api/v1/licenses").await.json()["rows"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let export = intruder.get("/api/v1/licenses/export?format=csv").await;
    assert_eq!(export.status, 200);
    assert_eq!(
        export.body.lines().count(),
        1,
        "the header alone: {}",
        export.body
    );
    assert!(!export.body.contains("Alpha"));

    for path in [
        format!("/instances/{id}"),
        format!("/instances/{id}/edit"),
        format!("/customers/{customer}/edit"),
    ] {
        assert_eq!(intruder.get(&path).await.status, 404, "{path}");
    }
    for path in [
        format!("/instances/{id}/refresh"),
        format!("/instances/{id}/read-now"),
        format!("/instances/{id}/disable"),
        format!("/instances/{id}/delete"),
        format!("/customers/{customer}/delete"),
        format!("/tokens/{}/revoke", token.id),
    ] {
        assert_eq!(intruder.post_form(&path, &[]).await.status, 404, "{path}");
    }
    let id_text = id.to_string();
    assert_eq!(
        intruder
            .post_form("/refresh", &[("instance", &id_text)])
            .await
            .status,
        404
    );
    assert_eq!(
        intruder
            .post_form(
                &format!("/customers/{customer}/edit"),
                &[("name", "Hijacked")]
            )
            .await
            .status,
        404
    );
    for path in [
        format!("/api/v1/instances/{id}"),
        format!("/api/v1/instances/{id}/readings"),
        format!("/api/v1/instances/{id}/events"),
        format!("/api/v1/instances/{id}/attempts"),
        format!("/api/v1/customers/{customer}"),
    ] {
        let reply = intruder.get(&path).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.json()["error"], "not found");
    }
    assert_eq!(
        intruder
            .post_json(
                &format!("/api/v1/instances/{id}/refresh"),
                &serde_json::json!({})
            )
            .await
            .status,
        404
    );
    assert_eq!(
        intruder
            .post_json("/api/v1/refresh", &serde_json::json!({"instances": [id]}))
            .await
            .status,
        404
    );
    assert_eq!(
        intruder
            .send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/customers/{customer}"),
                &serde_json::json!({"name": "Hijacked"})
            )
            .await
            .status,
        404
    );
    assert_eq!(
        intruder
            .send_json(
                reqwest::Method::DELETE,
                &format!("/api/v1/instances/{id}"),
                &serde_json::json!({})
            )
            .await
            .status,
        404
    );
    assert_eq!(
        intruder
            .send_json(
                reqwest::Method::DELETE,
                &format!("/api/v1/tokens/{}", token.id),
                &serde_json::json!({})
            )
            .await
            .status,
        404
    );
    // An instance cannot be planted under the other tenant's customer either.
    let planted = intruder
        .post_json(
            "/api/v1/instances",
            &serde_json::json!({"customer_id": customer, "name": "x", "login_kind": "manual"}),
        )
        .await;
    assert_eq!(planted.status, 422);

    assert_eq!(
        app.store.fleet(app.tenant).await.unwrap(),
        before,
        "nothing changed"
    );
    assert!(
        app.store.api_tokens(app.tenant).await.unwrap()[0]
            .revoked_at
            .is_none()
    );
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_tenants_ids_are_not_found_anywhere() {
        super::another_tenants_ids_are_not_found_anywhere(runway_testkit::Backend::Sqlite).await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_tenants_ids_are_not_found_anywhere() {
        super::another_tenants_ids_are_not_found_anywhere(runway_testkit::Backend::Postgres).await;
    }
}
