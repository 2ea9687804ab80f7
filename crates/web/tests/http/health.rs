//! Health endpoints: liveness always, readiness only while the database answers at the right
//! schema and the scheduler keeps looking for due reads; neither needs a sign-in or shows
//! tenant data.

use crate::helpers::spawn_app;

#[tokio::test]
async fn readiness_follows_the_scheduler_and_neither_endpoint_needs_a_sign_in() {
    let app = spawn_app().await;
    let anyone = app.browser();
    let alive = anyone.get("/healthz").await;
    assert_eq!(alive.status, 200);
    assert_eq!(alive.json()["status"], "alive");

    let before = anyone.get("/readyz").await;
    assert_eq!(before.status, 503, "{}", before.body);
    assert_eq!(before.json()["status"], "not ready");
    assert!(
        before.body.contains("the scheduler has not run yet"),
        "{}",
        before.body
    );

    app.engine.run_due().await;
    let ready = anyone.get("/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["status"], "ready");

    // A scheduler that stopped looking for work is reported, with when it last did.
    app.clock.advance(std::time::Duration::from_mins(10));
    let stuck = anyone.get("/readyz").await;
    assert_eq!(stuck.status, 503, "{}", stuck.body);
    assert!(
        stuck.body.contains("the scheduler last looked"),
        "{}",
        stuck.body
    );
    for tenant_data in ["Acme", "acme.example", "Bravo", "pbx"] {
        assert!(!stuck.body.contains(tenant_data), "{}", stuck.body);
    }
}
