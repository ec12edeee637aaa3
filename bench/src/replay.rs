//! Replay: every view dropped and rebuilt from the log, with no server
//! running.

use license_portal::app::App;
use license_portal::config::ServeArgs;
use projections::projector::ReplayProgress;
use std::sync::Arc;
use std::time::Instant;

/// Rebuilds every view and prints events/s; returns the app, views rebuilt,
/// for the phases that follow.
pub async fn all_views(serve: &ServeArgs) -> Result<Arc<App>, String> {
    let app = license_portal::server::build_app(serve).await?;
    let events = projections::log::count(&app.db)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut rows_done = None;
    let replayed = app
        .projector
        .replay(|progress| {
            if matches!(progress, ReplayProgress::BuildingIndexes) {
                rows_done = Some(started.elapsed());
            }
        })
        .await
        .map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    let rows_secs = rows_done.map_or(secs, |d| d.as_secs_f64());
    println!(
        "replay: {replayed} of {events} events in {secs:.2} s: {:>10.0} events/s \
         (rows {rows_secs:.2} s, then indexes and search {:.2} s)",
        replayed as f64 / secs,
        secs - rows_secs
    );
    bulk_insert_baseline(&app.db, events).await?;
    Ok(app)
}

/// Rows of the baseline's multi-row INSERT: 2 parameters each, well under
/// either database's limit of parameters in one statement.
const BULK_ROWS: i64 = 1_000;

/// The replay's baseline: as many rows as the log has events, written into
/// a scratch table by multi-row INSERT … VALUES statements in one
/// transaction (the database's own bulk path short of COPY), each row an
/// id and a payload the size of the log's average event.
async fn bulk_insert_baseline(db: &projections::Db, rows: i64) -> Result<(), String> {
    let e = |e: sqlx::Error| e.to_string();
    // The payload column is json on PostgreSQL, which has no length().
    let average: f64 = sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(avg(length({})), 0) AS DOUBLE PRECISION) FROM events",
        db.backend.json_text("payload")
    ))
    .fetch_one(&db.pool)
    .await
    .map_err(e)?;
    let payload = "x".repeat(average.max(1.0) as usize);
    sqlx::query("CREATE TABLE bench_bulk (id TEXT PRIMARY KEY, payload TEXT NOT NULL)")
        .execute(&db.pool)
        .await
        .map_err(e)?;
    // `placeholder`: with `$n`s SQLite's binding alone is quadratic, which
    // made this baseline report half the rate SQLite can write.
    let p = |n: i64| {
        db.backend
            .placeholder(usize::try_from(n).unwrap_or(usize::MAX))
    };
    let statement = |n: i64| {
        let values: Vec<String> = (0..n)
            .map(|i| format!("({}, {})", p(2 * i + 1), p(2 * i + 2)))
            .collect();
        format!(
            "INSERT INTO bench_bulk (id, payload) VALUES {}",
            values.join(", ")
        )
    };
    let full = statement(BULK_ROWS);
    let started = Instant::now();
    let mut tx = db.begin_write().await.map_err(e)?;
    let mut written = 0;
    while written < rows {
        let n = BULK_ROWS.min(rows - written);
        let sql = if n == BULK_ROWS {
            full.clone()
        } else {
            statement(n)
        };
        let mut query = sqlx::query(&sql);
        for i in written..written + n {
            query = query.bind(format!("row-{i}")).bind(payload.as_str());
        }
        query.execute(&mut *tx).await.map_err(e)?;
        written += n;
    }
    tx.commit().await.map_err(e)?;
    let secs = started.elapsed().as_secs_f64();
    sqlx::query("DROP TABLE bench_bulk")
        .execute(&db.pool)
        .await
        .map_err(e)?;
    println!(
        "baseline: multi-row INSERT of {rows} rows of {average:.0} bytes: {:>10.0} rows/s",
        rows as f64 / secs
    );
    Ok(())
}
