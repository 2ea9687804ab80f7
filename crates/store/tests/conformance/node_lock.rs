//! SQLite is single-node: a second Runway process on the same file is refused.

use runway_store::{OpenOptions, StoreError};

#[tokio::test]
async fn a_second_node_on_the_same_sqlite_file_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("runway.db").display());
    let key = crate::harness::key();
    let first = runway_store::open(&url, OpenOptions::new(key.clone()))
        .await
        .unwrap();

    let err = runway_store::open(&url, OpenOptions::new(key.clone()))
        .await
        .map(|_| ())
        .unwrap_err();
    let pid = std::process::id().to_string();
    assert!(
        matches!(&err, StoreError::NodeLocked { pid: p } if *p == pid),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "this SQLite database is in use by another Runway node (pid {pid}); use PostgreSQL \
             to run several nodes"
        )
    );

    first.close().await;
    drop(first);
    let again = runway_store::open(&url, OpenOptions::new(key))
        .await
        .unwrap();
    again.close().await;
}

#[tokio::test]
async fn a_sqlite_database_in_a_missing_directory_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("nested").join("runway.db");
    let url = format!("sqlite:{}", path.display());
    let store = runway_store::open(&url, OpenOptions::new(crate::harness::key()))
        .await
        .unwrap();
    assert!(path.exists());
    store.close().await;
}
