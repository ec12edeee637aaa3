//! Events written straight to the log as the service would have written them
//! some time ago: the only way to have a trial or a support that has already
//! ended, since no mutation can date a sale in the past.

use super::TestApp;
use chrono::{Days, Months, NaiveDate};
use serde_json::{Value, json};

/// Appends `event` (`{ "Variant": { … } }`) to a stream of `aggregate_type`
/// and waits until the views show the license or support `visible_id`.
pub async fn append_past_event(
    app: &TestApp,
    aggregate_type: &str,
    account: &str,
    event: &Value,
    visible_id: &str,
) {
    let running = app.running.as_ref().expect("running");
    let db = &running.app.db;
    let event_type = event
        .as_object()
        .and_then(|o| o.keys().next())
        .expect("one variant");
    let next = testkit::events::stream_head(db, aggregate_type, account)
        .await
        .expect("stream head")
        + 1;
    sqlx::query(testkit::events::insert_event_sql(db.backend))
        .bind(aggregate_type)
        .bind(account)
        .bind(next)
        .bind(event_type)
        .bind(event.to_string())
        .bind(testkit::events::metadata(account))
        .execute(&db.pool)
        .await
        .expect("append an event");
    let _ = running.app.projector.drain().await;
    for _ in 0..200 {
        let mut seen = 0i64;
        for table in ["licenses", "supports"] {
            seen += sqlx::query_scalar::<_, i64>(&format!(
                "SELECT count(*) FROM {table} WHERE id = $1"
            ))
            .bind(visible_id)
            .fetch_one(&db.pool)
            .await
            .expect("look");
        }
        if seen > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the views never showed {visible_id}");
}

/// The SupportAssigned event of a REMOTE_ACCESS DESKTOP support `id` on
/// `key` for `users`, from `starts_on` for `months`, at its list price (1
/// credit a user and month).
pub fn support_assigned(
    key: &Value,
    id: &str,
    users: i64,
    starts_on: NaiveDate,
    months: u32,
) -> Value {
    let end = starts_on
        .checked_add_months(Months::new(months))
        .expect("date")
        - Days::new(1);
    json!({ "SupportAssigned": {
        "support_id": id,
        "key_id": key["id"],
        "product": "REMOTE_ACCESS",
        "edition": "DESKTOP",
        "users": users,
        "months": months,
        "starts_on": day(starts_on),
        "end_of_support": day(end),
        "credits": users * i64::from(months),
    } })
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}
