//! The projector: events appended while it is not running are projected
//! exactly once when it resumes, even with two projectors racing.

use crate::common::{Backend, fresh_database, serve_args};
use aggregates::{LedgerCommand, Role};
use license_portal::ledgers::Actor;
use projections::Projector;

async fn count(db: &projections::Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&db.pool)
        .await
        .expect("count")
}

/// Drains until `expected` events have been applied, counting from
/// `already`. On PostgreSQL an event is read once every transaction older
/// than it has ended, in any database of the server, and the tests run side
/// by side: a drain may find nothing yet for a moment.
async fn drained(p: &Projector, already: usize, expected: usize) -> usize {
    let mut applied = already;
    for _ in 0..200 {
        if applied >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        applied += p.drain().await.expect("drain");
    }
    applied
}

async fn appended_while_stopped(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let args = serve_args(fresh_database(backend, dir.path()).await, dir.path());
    // The app without its background tasks: no projector runs.
    let app = license_portal::server::build_app(&args).await.expect("app");
    let actor = Actor::System("test");
    let register = LedgerCommand::RegisterPartner {
        login: "acme".into(),
        email: "a@acme.example".into(),
        name: "Acme".into(),
    };
    app.ledgers
        .execute(Role::Partner, "acc_acme", register, &actor)
        .await
        .expect("register");
    for i in 1..=30 {
        let grant = LedgerCommand::GrantCredits {
            amount: i,
            reference: format!("R{i}"),
            idempotency: None,
        };
        app.ledgers
            .execute(Role::Partner, "acc_acme", grant, &actor)
            .await
            .expect("grant");
    }
    let db = &app.db;
    assert_eq!(
        count(db, "SELECT count(*) FROM accounts").await,
        0,
        "nothing projected yet"
    );

    // Two projectors resume at once, as after a crash with two instances.
    let a = Projector::new(db.clone());
    let b = Projector::new(db.clone());
    let (ra, rb) = tokio::join!(a.drain(), b.drain());
    assert_eq!(
        drained(&a, ra.expect("a") + rb.expect("b"), 31).await,
        31,
        "every event applied by exactly one of them"
    );
    assert_eq!(count(db, "SELECT count(*) FROM credit_entries").await, 30);
    assert_eq!(
        count(db, "SELECT balance FROM accounts WHERE id = 'acc_acme'").await,
        (1..=30).sum::<i64>()
    );

    // Resuming again applies nothing twice.
    assert_eq!(a.drain().await.expect("again"), 0);
    assert_eq!(count(db, "SELECT count(*) FROM credit_entries").await, 30);

    // More events later: only those are applied.
    let grant = LedgerCommand::GrantCredits {
        amount: 1000,
        reference: "LATE".into(),
        idempotency: None,
    };
    app.ledgers
        .execute(Role::Partner, "acc_acme", grant, &actor)
        .await
        .expect("grant");
    let late = b.drain().await.expect("late");
    assert_eq!(drained(&b, late, 1).await, 1);
    assert_eq!(
        count(db, "SELECT balance FROM accounts WHERE id = 'acc_acme'").await,
        465 + 1000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_events_appended_while_stopped_are_projected_once() {
    appended_while_stopped(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_events_appended_while_stopped_are_projected_once() {
    appended_while_stopped(Backend::Postgres).await;
}
