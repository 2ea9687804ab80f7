//! Stored PBX secrets go only to the server and the login they were entered for: an admin (or
//! an admin's API token) cannot have them sent to another address by leaving the secret empty.

use std::net::TcpListener;

use crate::helpers::spawn_app;

/// A loopback port that records whether anything connected to it: the "elsewhere" a stolen
/// secret would be sent to. Connections wait in its backlog, so after a request has been
/// answered, an empty backlog means nothing was sent.
struct Elsewhere(TcpListener);

impl Elsewhere {
    fn new() -> Elsewhere {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Elsewhere(listener)
    }

    fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().unwrap())
    }

    fn reached(&self) -> bool {
        match self.0.accept() {
            Ok(_) => true,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(err) => panic!("{err}"),
        }
    }
}

#[tokio::test]
async fn a_stored_secret_is_never_sent_to_another_address_or_used_for_another_login() {
    let app = spawn_app().await;
    let admin = app.signed_in("admin@acme.example").await;
    let instance = app
        .store
        .instance(app.tenant, app.id("warning"))
        .await
        .unwrap();
    let id = instance.id.0.to_string();
    let customer = instance.customer_id.0.to_string();
    let stored_url = instance.base_url.clone().unwrap().to_string();
    let elsewhere = Elsewhere::new();
    let other = elsewhere.url();
    let form = |base_url: &str, kind: &str| -> Vec<(String, String)> {
        [
            ("customer_id", customer.as_str()),
            ("name", instance.name.as_str()),
            ("base_url", base_url),
            ("login_kind", kind),
            ("identity", "runway"),
            ("secret", ""),
            ("poll_interval_minutes", "60"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    };
    let post = |path: String, fields: Vec<(String, String)>| {
        let admin = &admin;
        async move {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            admin.post_form(&path, &fields).await
        }
    };

    // Test connection with the stored secret against another address: refused, nothing sent.
    let mut test = form(&other, "api_client");
    test.push(("instance_id".into(), id.clone()));
    let tested = post("/instances/test".into(), test).await;
    assert!(tested.body.contains("Connection failed"), "{}", tested.body);
    assert!(
        tested.body.contains("enter the client secret again"),
        "{}",
        tested.body
    );
    assert!(!elsewhere.reached(), "the stored secret was sent elsewhere");

    // Saving another address with the secret left empty: refused, nothing stored or sent.
    let moved = post(format!("/instances/{id}/edit"), form(&other, "api_client")).await;
    assert_eq!(moved.status, 422, "{}", moved.body);
    assert!(moved.body.contains("id=\"error-secret\""), "{}", moved.body);
    let api = admin
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/instances/{id}"),
            &serde_json::json!({
                "customer_id": instance.customer_id.0, "name": instance.name,
                "base_url": other, "login_kind": "api_client", "identity": "runway",
            }),
        )
        .await;
    assert_eq!(api.status, 422, "{}", api.body);
    assert!(!elsewhere.reached(), "the stored secret was sent elsewhere");

    // Another login kind at the same address does not reuse the client secret as a password.
    let switched = post(format!("/instances/{id}/edit"), form(&stored_url, "user")).await;
    assert_eq!(switched.status, 422, "{}", switched.body);
    assert!(switched.body.contains("id=\"error-secret\""));

    let unchanged = app.store.instance(app.tenant, instance.id).await.unwrap();
    assert_eq!(
        (unchanged.base_url, unchanged.login_kind),
        (instance.base_url.clone(), instance.login_kind)
    );

    // The same address written another way keeps the stored secret: it still reads.
    let same = format!("{stored_url}/");
    let kept = post(format!("/instances/{id}/edit"), form(&same, "api_client")).await;
    assert_eq!(kept.status, 303, "{}", kept.body);
    let read = admin
        .post_form(&format!("/instances/{id}/read-now"), &[])
        .await;
    assert!(!read.body.contains("id=\"read-error\""), "{}", read.body);
}
