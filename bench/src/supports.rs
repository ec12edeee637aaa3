//! p50/p99 of the dashboard's query: supports whose endOfSupport falls in a
//! 30-day range, over `--support-rows` rows; through GraphQL and in plain SQL.

use crate::BenchArgs;
use crate::measure::{ms_since, p50_p99};
use license_portal::app::App;
use license_portal::config::ServeArgs;
use projections::Backend;
use serde_json::json;
use std::time::Instant;
use testkit::Graphql;

const RANGE: &str = "query($f: Date!, $t: Date!) { supports(filter: { endOfSupport: { from: $f, to: $t } }, first: 50) { totalCount edges { node { id endOfSupport } } } }";
const ROUNDS: u64 = 200;

pub async fn range(args: &BenchArgs, app: &App, serve: &ServeArgs) -> Result<(), String> {
    let started = Instant::now();
    insert_rows(&app.db, args.support_rows).await?;
    println!(
        "inserted {} support rows in {:.1} s",
        args.support_rows,
        started.elapsed().as_secs_f64()
    );

    let running = testkit::server::start(serve).await?;
    let client = Graphql::new(running.addr);
    let admin = client.login("admin", crate::ADMIN_PASSWORD).await?;
    let mut api = Vec::new();
    let mut sql = Vec::new();
    let mut matched = 0;
    for round in 0..ROUNDS {
        let from = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default()
            + chrono::Days::new(round * 7 % 1400);
        let (f, t) = (from.to_string(), (from + chrono::Days::new(29)).to_string());
        let started = Instant::now();
        let d = client
            .data(Some(&admin), RANGE, json!({ "f": f, "t": t }))
            .await?;
        api.push(ms_since(started));
        matched = d["supports"]["totalCount"].as_i64().unwrap_or(0);
        let started = Instant::now();
        same_sql(&app.db, &f, &t).await?;
        sql.push(ms_since(started));
    }
    api.sort_by(f64::total_cmp);
    sql.sort_by(f64::total_cmp);
    println!(
        "supports, 30-day endOfSupport range over {} rows (~{matched} match, first 50 + totalCount):",
        args.support_rows
    );
    println!("  through GraphQL:  {}", p50_p99(&api));
    println!("  same SQL direct:  {}", p50_p99(&sql));
    running.stop().await;
    Ok(())
}

/// Synthetic rows written straight into the read model: this measures the
/// query, not the ingestion (which the figures before it cover). Owners are
/// spread over 100 made-up accounts, end dates over 1,500 days.
async fn insert_rows(db: &projections::Db, rows: i64) -> Result<(), String> {
    let series = match db.backend {
        Backend::Postgres => format!(
            "INSERT INTO supports (id, key_id, owner_id, scope_id, product, edition, users, starts_on, end_of_support,
                                   credits_spent, created_at, updated_at, position)
             SELECT 'sup_bench_' || i, 'key_bench', 'acc_bench_' || (i % 100), 'acc_bench_' || (i % 100),
                    'REMOTE_ACCESS', 'DESKTOP', 1, '2026-01-01',
                    to_char(date '2024-01-01' + (i % 1500), 'YYYY-MM-DD'), 12,
                    '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1000000000 + i
               FROM generate_series(1, {rows}) AS i"
        ),
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO supports (id, key_id, owner_id, scope_id, product, edition, users, starts_on, end_of_support,
                                   credits_spent, created_at, updated_at, position)
             SELECT 'sup_bench_' || i, 'key_bench', 'acc_bench_' || (i % 100), 'acc_bench_' || (i % 100),
                    'REMOTE_ACCESS', 'DESKTOP', 1, '2026-01-01',
                    date('2024-01-01', '+' || (i % 1500) || ' days'), 12,
                    '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1000000000 + i
               FROM n"
        ),
    };
    sqlx::query(&series)
        .execute(&db.pool)
        .await
        .map_err(|e| e.to_string())?;
    if db.backend == Backend::Postgres {
        sqlx::query("ANALYZE supports")
            .execute(&db.pool)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// What the GraphQL query asks of the database, sent directly: the count,
/// then the first page and one more row.
async fn same_sql(db: &projections::Db, from: &str, to: &str) -> Result<(), String> {
    let _: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM supports WHERE end_of_support >= $1 AND end_of_support <= $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    sqlx::query(
        "SELECT id, end_of_support FROM supports WHERE end_of_support >= $1 AND end_of_support <= $2
          ORDER BY end_of_support, position LIMIT 51",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}
