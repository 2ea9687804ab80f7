//! Failed sign-ins: counted per key in fixed windows, shared by every node, purged when old.

use std::time::Duration;

use crate::harness::{Harness, at};

const WINDOW: Duration = Duration::from_mins(15);

async fn failures_are_counted_per_key_within_a_window_that_starts_again(h: Harness) {
    let store = h.store();
    let t0 = at("2026-06-01T00:00:00Z");
    let key = "account:ops@acme.example|198.51.100.7";
    for expected in 1..=3 {
        let counted = store
            .count_sign_in_failure(key, t0 + Duration::from_secs(expected), WINDOW)
            .await
            .unwrap();
        assert_eq!(counted, u32::try_from(expected).unwrap());
    }
    assert_eq!(
        store
            .count_sign_in_failure("address:198.51.100.7", t0, WINDOW)
            .await
            .unwrap(),
        1,
        "every key counts apart"
    );
    // Within the window that began at the first failure, counting goes on…
    let late = t0 + WINDOW - Duration::from_secs(1);
    assert_eq!(
        store
            .count_sign_in_failure(key, late, WINDOW)
            .await
            .unwrap(),
        4
    );
    // …and once it has passed, a new window begins.
    let next = t0 + WINDOW + Duration::from_secs(1);
    assert_eq!(
        store
            .count_sign_in_failure(key, next, WINDOW)
            .await
            .unwrap(),
        1
    );

    store.clear_sign_in_failures(key).await.unwrap();
    assert_eq!(
        store
            .count_sign_in_failure(key, next, WINDOW)
            .await
            .unwrap(),
        1
    );
}

async fn another_node_sees_the_same_count_and_old_windows_are_purged(h: Harness) {
    let t0 = at("2026-06-01T00:00:00Z");
    let key = "address:203.0.113.9";
    let first = h.store();
    first.count_sign_in_failure(key, t0, WINDOW).await.unwrap();
    let other = h.second_node().await;
    assert_eq!(
        other.count_sign_in_failure(key, t0, WINDOW).await.unwrap(),
        2
    );

    first
        .count_sign_in_failure("address:old", t0 - Duration::from_hours(2), WINDOW)
        .await
        .unwrap();
    assert_eq!(
        first
            .purge_sign_in_failures(t0 - Duration::from_hours(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        first.count_sign_in_failure(key, t0, WINDOW).await.unwrap(),
        3
    );
    assert!(first.count_sign_in_failure("", t0, WINDOW).await.is_err());
}

conformance!(
    failures_are_counted_per_key_within_a_window_that_starts_again,
    another_node_sees_the_same_count_and_old_windows_are_purged,
);
