//! Faults: a full disk, an idle transaction, and what /healthz and /readyz
//! say meanwhile.

use crate::common::{Backend, TestApp, license_input, run, serve_args};
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, Instant};

const GRANT: &str = "mutation($p: ID!, $a: Int!, $r: String!) { grantCredits(partnerId: $p, amount: $a, reference: $r) { id balanceAfter } }";

fn base(app: &TestApp) -> String {
    app.url.trim_end_matches("/graphql").to_string()
}

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let resp = app
        .client
        .get(format!("{}{path}", base(app)))
        .send()
        .await
        .expect("GET");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// A tmpfs of `size` mounted on `dir`, unmounted on drop; None where this
/// process may not mount (not root, or in a container without the right).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &std::path::Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).ok()?;
        let done = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        done.success().then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes zeros to `path` until the file system is full.
fn fill(path: &std::path::Path) {
    let mut file = std::fs::File::create(path).expect("filler file");
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_writes_resume_after_a_full_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mount = dir.path().join("db");
    let Some(tmpfs) = Tmpfs::mount(&mount, "12m") else {
        eprintln!(
            "SKIPPED faults::sqlite_writes_resume_after_a_full_disk: mounting a tmpfs is not permitted here (needs root)"
        );
        return;
    };
    let url = testkit::database::sqlite_url(&mount, "full.db");
    let app = TestApp::spawn_with(serve_args(url, dir.path()), dir).await;
    let (admin, acme, token) = app.admin_and_partner("acme").await;
    assert_eq!(get(&app, "/healthz").await.0, 200);

    fill(&mount.join("filler"));
    // Some writes still fit in pages already allocated; soon one does not.
    let mut granted = 0;
    let mut refusal = None;
    for i in 0..500 {
        let answer = app
            .gql(
                Some(&admin),
                GRANT,
                json!({ "p": acme, "a": 1, "r": format!("full-{i}") }),
            )
            .await;
        match answer["errors"].get(0) {
            None => granted += 1,
            Some(e) => {
                refusal = Some(e.clone());
                break;
            }
        }
    }
    let refusal = refusal.expect("a write is refused once the disk is full");
    assert_eq!(refusal["extensions"]["code"], "INTERNAL");
    let message = refusal["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no space left") && message.contains("nothing was changed"),
        "a refusal that says why: {refusal}"
    );
    let (status, body) = get(&app, "/healthz").await;
    assert_eq!(status, 503, "healthz while the disk is full: {body}");

    std::fs::remove_file(mount.join("filler")).expect("free the space");
    // Without a restart, a write goes through within seconds.
    let started = Instant::now();
    let mut answer = Value::Null;
    while started.elapsed() < Duration::from_secs(20) {
        answer = app
            .gql(
                Some(&admin),
                GRANT,
                json!({ "p": acme, "a": 1, "r": "after-the-disk-was-freed" }),
            )
            .await;
        if answer["errors"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        answer["errors"].is_null(),
        "writes resume once space is freed: {answer}"
    );
    let resumed_in = started.elapsed();
    assert!(resumed_in < Duration::from_secs(5), "took {resumed_in:?}");
    granted += 1;
    // The refused grants left nothing behind; the others are all there.
    assert_eq!(app.balance(&token).await, granted);
    app.assert_history_adds_up(&token).await;
    let started = Instant::now();
    while get(&app, "/healthz").await.0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "healthz recovers"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    drop(app);
    drop(tmpfs);
}

both_backends!(
    readyz_reports_the_projector_lag,
    |app: TestApp| async move {
        app.funded_partner("acme", 5).await;
        let (status, body) = get(&app, "/readyz").await;
        assert_eq!(status, 200, "{body}");
        let ready: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(ready["database"], "ok");
        // The mutation waited for its events to be projected.
        assert_eq!(ready["projector"]["lagEvents"], 0, "{ready}");
        assert_eq!(ready["projector"]["lagSeconds"], 0, "{ready}");
        assert!(ready["projector"]["position"].as_i64() > Some(0), "{ready}");
    }
);

/// PostgreSQL reads an event only once every older transaction has ended:
/// a transaction of the service's own left open is ended by the server
/// (PG_IDLE_IN_TRANSACTION_TIMEOUT), and the projector moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_an_idle_transaction_does_not_stall_the_views() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = crate::common::fresh_database(Backend::Postgres, dir.path()).await;
    let mut args = serve_args(url, dir.path());
    args.db.idle_in_transaction_timeout = 1;
    let app = TestApp::spawn_with(args, dir).await;
    let (admin, acme, token) = app.admin_and_partner("acme").await;

    let db = app.running.as_ref().expect("running").app.db.clone();
    let mut stuck = db.pool.begin().await.expect("begin");
    sqlx::query("SELECT pg_current_xact_id()::text")
        .execute(&mut *stuck)
        .await
        .expect("take a transaction id");
    // Left open: events written after it cannot be read until it ends.
    let started = Instant::now();
    app.grant(&admin, &acme, 7, "INV-IDLE").await;
    while app.balance(&token).await != 7 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the views stayed behind the idle transaction"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The server ended it.
    let after = sqlx::query("SELECT 1").execute(&mut *stuck).await;
    assert!(after.is_err(), "the idle transaction was ended");
    drop(stuck);
}

/// What a full disk does to a SQLite transaction, without the disk: SQLite
/// rolls the transaction back itself, sqlx's ROLLBACK then fails and sqlx
/// still counts the transaction. Such a connection must not be handed out
/// again (it refused every `BEGIN IMMEDIATE` after, "non-zero transaction
/// depth", until a restart).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_a_connection_left_inside_a_transaction_is_not_reused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = testkit::database::sqlite_url(dir.path(), "tx.db");
    let storage = license_portal::storage::open(&url).await.expect("open");
    let db = storage.db;
    for _ in 0..3 {
        let mut tx = db.begin_write().await.expect("begin");
        // As SQLite does on SQLITE_FULL: the transaction ends under sqlx.
        sqlx::query("ROLLBACK")
            .execute(&mut *tx)
            .await
            .expect("rollback under sqlx");
        drop(tx);
    }
    for i in 0..20 {
        let mut tx = db
            .begin_write()
            .await
            .unwrap_or_else(|e| panic!("write transaction {i} after the failures: {e}"));
        sqlx::query("UPDATE log_checkpoints SET position = position")
            .execute(&mut *tx)
            .await
            .expect("write");
        tx.commit().await.expect("commit");
    }
}

fn verify_views(app: &TestApp) -> (Option<i32>, String) {
    let r = run(app, &["verify", "--views"], &[]);
    (r.code, r.stdout)
}

both_backends!(
    verify_views_compares_with_a_replay,
    |app: TestApp| async move {
        let (token, key) = app.funded_partner_key("acme", 500, "Server").await;
        app.ok(
        Some(&token),
        "mutation($i: AssignLicenseInput!) { assignLicense(input: $i, idempotencyKey: \"l-1\") { id } }",
        json!({ "i": license_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT") }),
    )
    .await;
        let (code, out) = verify_views(&app);
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("views verified"), "{out}");

        // A view that lost a row no longer equals the replay; the log is intact.
        let db = app.running.as_ref().expect("running").app.db.clone();
        sqlx::query("DELETE FROM activation_keys")
            .execute(&db.pool)
            .await
            .expect("tamper");
        let (code, out) = verify_views(&app);
        assert_eq!(code, Some(3), "{out}");
        assert!(
            out.contains("activation_keys: 0 rows live, 1 replayed"),
            "{out}"
        );
        // The comparison was rolled back: the live views are as they were.
        let (code, _) = verify_views(&app);
        assert_eq!(code, Some(3));
    }
);
