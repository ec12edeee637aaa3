//! Events written straight to the log as the service would have written them
//! some time ago: the only way to have a trial or a support that has already
//! ended, since no mutation can date a sale in the past. And events edited
//! straight in the log, as someone with the database's password could.

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
    let metadata = testkit::events::metadata(account);
    let payload = event.to_string();
    insert_event(
        db,
        aggregate_type,
        account,
        next,
        event_type,
        &payload,
        &metadata,
    )
    .await;
    let _ = running.app.projector.drain().await;
    let shown = super::eventually(200, || async move {
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
        (seen > 0).then_some(())
    });
    if shown.await.is_none() {
        panic!("the views never showed {visible_id}");
    }
}

/// Inserts one event row with no check and no projection: the bare write
/// under both a sale dated in the past and a forged log.
pub async fn insert_event(
    db: &projections::Db,
    aggregate_type: &str,
    aggregate_id: &str,
    sequence: i64,
    event_type: &str,
    payload: &str,
    metadata: &str,
) {
    sqlx::query(testkit::events::insert_event_sql(db.backend))
        .bind(aggregate_type)
        .bind(aggregate_id)
        .bind(sequence)
        .bind(event_type)
        .bind(payload)
        .bind(metadata)
        .execute(&db.pool)
        .await
        .expect("insert an event");
}

/// Replaces `from` with `to` in the payload of the event at `position`
/// behind the service's back; panics unless exactly that event changed.
pub async fn edit_event_payload(app: &TestApp, position: i64, from: &str, to: &str) {
    let db = &app.running.as_ref().expect("running").app.db;
    let sql = match db.backend {
        projections::Backend::Postgres => {
            "UPDATE events SET payload = replace(payload::text, $2, $3)::json WHERE global_position = $1"
        }
        projections::Backend::Sqlite => {
            "UPDATE events SET payload = replace(payload, $2, $3) WHERE global_position = $1"
        }
    };
    let done = sqlx::query(sql)
        .bind(position)
        .bind(from)
        .bind(to)
        .execute(&db.pool)
        .await
        .expect("edit an event");
    assert_eq!(done.rows_affected(), 1, "no event at position {position}");
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
