//! The JSON API: its OpenAPI document, CRUD round trips and JSON errors.

use runway_testkit::Backend;

use crate::helpers::{Options, spawn_with};

#[tokio::test]
async fn the_openapi_document_parses_and_lists_every_path() {
    let app = spawn_with(
        Backend::Sqlite,
        Options {
            empty: true,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let reply = app.browser().get("/api/v1/openapi.json").await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/licenses",
        "/api/v1/calendar",
        "/api/v1/licenses/export",
        "/api/v1/import",
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/instances",
        "/api/v1/instances/{id}",
        "/api/v1/instances/{id}/refresh",
        "/api/v1/instances/{id}/read-now",
        "/api/v1/instances/{id}/readings",
        "/api/v1/instances/{id}/events",
        "/api/v1/instances/{id}/attempts",
        "/api/v1/instances/test-connection",
        "/api/v1/refresh",
        "/api/v1/me",
        "/api/v1/settings",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
    assert!(doc["components"]["schemas"]["FleetView"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

async fn customers_and_instances_round_trip_through_the_api(backend: Backend) {
    let Some(app) = spawn_with(backend, Options::default()).await else {
        return;
    };
    let admin = app.signed_in("admin@acme.example").await;
    assert_eq!(
        admin.get("/api/v1/nothing-here").await.json()["error"],
        "not found"
    );
    let unauthenticated = app.browser().get("/api/v1/customers").await;
    assert_eq!(unauthenticated.status, 401);
    assert!(unauthenticated.headers.contains_key("www-authenticate"));

    let created = admin
        .post_json(
            "/api/v1/customers",
            &serde_json::json!({"name": "Golf Hotel", "notes": "VIP"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let customer = created.json()["id"].as_i64().unwrap();
    let dup = admin
        .post_json(
            "/api/v1/customers",
            &serde_json::json!({"name": "golf hotel"}),
        )
        .await;
    assert_eq!(dup.status, 409);
    assert!(
        dup.json()["error"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    let garbage = admin
        .post_json("/api/v1/customers", &serde_json::json!({"nom": 1}))
        .await;
    assert_eq!(garbage.status, 422);

    let base_url = app
        .sim
        .base_url("active", runway_sim::Scheme::Http)
        .unwrap();
    let draft = serde_json::json!({
        "customer_id": customer, "name": "Golf PBX", "base_url": base_url,
        "login_kind": "api_client", "identity": "runway", "secret": "s-active",
    });
    let tested = admin
        .post_json("/api/v1/instances/test-connection", &draft)
        .await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    assert!(tested.json()["license_key"].is_string());
    let instance = admin.post_json("/api/v1/instances", &draft).await;
    assert_eq!(instance.status, 201, "{}", instance.body);
    let json = instance.json();
    assert!(
        !instance.body.contains("s-active"),
        "secrets are write-only"
    );
    assert_eq!(json["login_identity"], "runway");
    let id = json["id"].as_i64().unwrap();

    let mut change = draft.clone();
    change["name"] = "Golf PBX 2".into();
    change["secret"] = "".into();
    change["enabled"] = false.into();
    let updated = admin
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/instances/{id}"),
            &change,
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(
        (
            updated.json()["name"].as_str(),
            updated.json()["enabled"].as_bool()
        ),
        (Some("Golf PBX 2"), Some(false))
    );
    let read = admin
        .post_json(
            &format!("/api/v1/instances/{id}/read-now"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(
        read.json()["succeeded"],
        true,
        "the kept secret still works: {}",
        read.body
    );

    let listed = admin.get("/api/v1/instances").await.json();
    assert!(listed.as_array().unwrap().iter().any(|i| i["id"] == id));
    let settings = admin.get("/api/v1/settings").await.json();
    assert_eq!(settings["zone"], crate::helpers::ZONE);
    let bad = admin.send_json(reqwest::Method::PUT, "/api/v1/settings", &serde_json::json!({"name": "Acme MSP", "zone": "Atlantis", "milestones": "10", "renewal_template": "https://x.example/{key}"})).await;
    assert_eq!(bad.status, 422);
    assert!(bad.json()["error"].as_str().unwrap().contains("zone"));

    let in_use = admin
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/customers/{customer}"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(in_use.status, 409);
    let gone = admin
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/v1/customers/{customer}?cascade=true"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(gone.status, 204);
    assert_eq!(
        admin.get(&format!("/api/v1/instances/{id}")).await.status,
        404
    );
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn customers_and_instances_round_trip_through_the_api() {
        super::customers_and_instances_round_trip_through_the_api(runway_testkit::Backend::Sqlite)
            .await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn customers_and_instances_round_trip_through_the_api() {
        super::customers_and_instances_round_trip_through_the_api(
            runway_testkit::Backend::Postgres,
        )
        .await;
    }
}
