//! The projector: events appended while it is not running are projected
//! exactly once when it resumes, even with two projectors racing.

use crate::common::{Backend, fresh_database, serve_args};
use aggregates::{LedgerCommand, Role};
use license_portal::app::App;
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

/// Registers partner acc_acme and grants it 1, 2, … `grants` credits
/// through the ledgers alone, so that no projector has seen the events.
async fn acme_with_grants(app: &App, grants: i64) {
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
    for i in 1..=grants {
        grant_acme(app, i, &format!("R{i}")).await;
    }
}

/// Grants acc_acme `amount` credits through the ledgers alone.
async fn grant_acme(app: &App, amount: i64, reference: &str) {
    let grant = LedgerCommand::GrantCredits {
        amount,
        reference: reference.into(),
        idempotency: None,
    };
    app.ledgers
        .execute(Role::Partner, "acc_acme", grant, &Actor::System("test"))
        .await
        .expect("grant");
}

/// An app on a fresh database with acc_acme and its 3 grants (4 events),
/// projected and chained by the projector returned.
async fn chained_acme(
    backend: Backend,
    dir: &std::path::Path,
) -> (std::sync::Arc<App>, std::sync::Arc<Projector>) {
    let args = serve_args(fresh_database(backend, dir).await, dir);
    let app = license_portal::server::build_app(&args).await.expect("app");
    acme_with_grants(&app, 3).await;
    let p = Projector::new(app.db.clone());
    assert_eq!(drained(&p, p.drain().await.expect("drain"), 4).await, 4);
    assert_eq!(count(&app.db, "SELECT count(*) FROM event_hashes").await, 4);
    (app, p)
}

async fn appended_while_stopped(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let args = serve_args(fresh_database(backend, dir.path()).await, dir.path());
    // The app without its background tasks: no projector runs.
    let app = license_portal::server::build_app(&args).await.expect("app");
    acme_with_grants(&app, 30).await;
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
    grant_acme(&app, 1000, "LATE").await;
    let late = b.drain().await.expect("late");
    assert_eq!(drained(&b, late, 1).await, 1);
    assert_eq!(
        count(db, "SELECT balance FROM accounts WHERE id = 'acc_acme'").await,
        465 + 1000
    );

    // A projector goes on from the checkpoint it last committed, without
    // reading it back; when another has moved it since, it must find out
    // and apply only what came after.
    grant_acme(&app, 10_000, "LATER").await;
    assert_eq!(applied_once(&a).await, 1);
    grant_acme(&app, 20_000, "LATEST").await;
    let latest = b.drain().await.expect("latest");
    assert_eq!(drained(&b, latest, 1).await, 1);
    grant_acme(&app, 40_000, "LAST").await;
    assert_eq!(applied_once(&a).await, 1, "a applies LAST only");
    assert_eq!(count(db, "SELECT count(*) FROM credit_entries").await, 34);
    assert_eq!(
        count(db, "SELECT balance FROM accounts WHERE id = 'acc_acme'").await,
        465 + 1000 + 10_000 + 20_000 + 40_000
    );
}

/// One pass of `p` that applies something (see `drained` for the waits).
async fn applied_once(p: &Projector) -> usize {
    for _ in 0..200 {
        let n = p.run_once().await.expect("pass");
        if n > 0 {
            return n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    0
}

each_backend!(
    events_appended_while_stopped_are_projected_once,
    appended_while_stopped
);

/// The views' indexes as each backend lists them (SQLite: the triggers
/// feeding the search index too).
async fn view_indexes(db: &projections::Db) -> i64 {
    let sql = match db.backend {
        projections::Backend::Sqlite => {
            "SELECT count(*) FROM sqlite_master WHERE type IN ('index', 'trigger')
              AND tbl_name IN ('accounts', 'credit_entries', 'licenses')"
        }
        projections::Backend::Postgres => {
            "SELECT count(*) FROM pg_indexes
              WHERE tablename IN ('accounts', 'credit_entries', 'licenses')"
        }
    };
    count(db, sql).await
}

/// A replay cut short after it dropped the views' indexes (a kill, a
/// crash) leaves their definitions saved: the next start builds them, and
/// the projector finishes the views from its checkpoint.
async fn replay_cut_short(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database(backend, dir.path()).await;
    let app = license_portal::server::build_app(&serve_args(url.clone(), dir.path()))
        .await
        .expect("app");
    acme_with_grants(&app, 5).await;
    let db = &app.db;
    let projector = Projector::new(db.clone());
    let applied = projector.drain().await.expect("drain");
    assert_eq!(drained(&projector, applied, 6).await, 6);
    let indexes = view_indexes(db).await;

    projections::projector::reset_views_for_replay(db)
        .await
        .expect("reset");
    assert!(view_indexes(db).await < indexes, "the indexes were dropped");
    assert!(count(db, "SELECT count(*) FROM deferred_indexes").await > 0);

    // The process dies here; the next start builds what was deferred.
    let storage = license_portal::storage::open(&url).await.expect("open");
    assert_eq!(view_indexes(&storage.db).await, indexes);
    assert_eq!(
        count(&storage.db, "SELECT count(*) FROM deferred_indexes").await,
        0
    );
    let projector = Projector::new(storage.db.clone());
    let applied = projector.drain().await.expect("drain again");
    assert_eq!(drained(&projector, applied, 6).await, 6);
    assert_eq!(
        count(
            &storage.db,
            "SELECT balance FROM accounts WHERE id = 'acc_acme'"
        )
        .await,
        15
    );
}

each_backend!(
    a_replay_cut_short_has_its_indexes_built_at_the_next_start,
    replay_cut_short
);

/// The hash chain is extended in the views' own transaction. A chain that
/// cannot be extended (here its tip's hash is missing) must not hold up the
/// views; once it can be again, the projector's next pass catches it up.
async fn chain_fails_views_go_on(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (app, p) = chained_acme(backend, dir.path()).await;
    let db = &app.db;

    let (position, ordinal, hash): (i64, i64, String) = sqlx::query_as(
        "SELECT position, ordinal, hash FROM event_hashes ORDER BY ordinal DESC LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("tip");
    sqlx::query("DELETE FROM event_hashes WHERE position = $1")
        .bind(position)
        .execute(&db.pool)
        .await
        .expect("break the chain's tip");
    grant_acme(&app, 100, "AFTER").await;
    let late = p.drain().await.expect("the views go on");
    assert_eq!(drained(&p, late, 1).await, 1);
    assert_eq!(
        count(db, "SELECT balance FROM accounts WHERE id = 'acc_acme'").await,
        106
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM event_hashes").await,
        3,
        "nothing chained past a missing hash"
    );

    sqlx::query("INSERT INTO event_hashes (position, ordinal, hash) VALUES ($1, $2, $3)")
        .bind(position)
        .bind(ordinal)
        .bind(&hash)
        .execute(&db.pool)
        .await
        .expect("mend the chain");
    assert_eq!(p.drain().await.expect("idle pass"), 0);
    assert_eq!(count(db, "SELECT count(*) FROM event_hashes").await, 5);
    assert_eq!(
        license_portal::verify::check_chain(db).await,
        Ok(5),
        "the caught-up chain follows from the events"
    );
}

each_backend!(
    a_chain_that_cannot_be_extended_does_not_hold_up_the_views,
    chain_fails_views_go_on
);

/// A link that cannot be written (on PostgreSQL a failed statement spoils
/// its transaction) leaves the views' batch to commit: the chain is
/// written in a savepoint, and caught up once the obstacle goes.
async fn link_write_fails_views_go_on(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let (app, p) = chained_acme(backend, dir.path()).await;
    let db = &app.db;
    // The next link's ordinal, taken by a row at no event's position.
    sqlx::query("INSERT INTO event_hashes (position, ordinal, hash) VALUES (-1, 5, 'x')")
        .execute(&db.pool)
        .await
        .expect("block the next link");
    grant_acme(&app, 100, "BLOCKED").await;
    assert_eq!(p.run_once().await.expect("the views' batch"), 1);
    assert_eq!(
        count(db, "SELECT balance FROM accounts WHERE id = 'acc_acme'").await,
        106
    );
    assert_eq!(count(db, "SELECT count(*) FROM event_hashes").await, 5);
    sqlx::query("DELETE FROM event_hashes WHERE position = -1")
        .execute(&db.pool)
        .await
        .expect("unblock");
    assert_eq!(p.drain().await.expect("idle pass"), 0);
    assert_eq!(
        license_portal::verify::check_chain(db).await,
        Ok(5),
        "the caught-up chain follows from the events"
    );
}

each_backend!(
    a_link_that_cannot_be_written_does_not_hold_up_the_views,
    link_write_fails_views_go_on
);
