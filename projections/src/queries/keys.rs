//! Activation keys, by id, by code, or listed with a search.

use super::{Page, PageRequest, Scope, by_id, newest_first};
use crate::db::{Db, SqlBuilder, like_pattern};
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct KeyRow {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub key: String,
    pub device_fingerprint: Option<String>,
    pub device_name: Option<String>,
    pub activated_at: Option<String>,
    pub created_at: String,
    pub position: i64,
}

const KEY_COLUMNS: &str = "SELECT k.id, k.owner_id, k.name, k.key, k.device_fingerprint, k.device_name, k.activated_at, k.created_at, k.position";

view_row!(KeyRow, "activation_keys" "k", KEY_COLUMNS);

pub async fn activation_key(
    db: &Db,
    scope: &Scope,
    id: &str,
) -> Result<Option<KeyRow>, sqlx::Error> {
    by_id(db, scope, id).await
}

pub async fn activation_key_by_code(db: &Db, key: &str) -> Result<Option<KeyRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{KEY_COLUMNS} FROM activation_keys k WHERE k.key = $1"
    ))
    .bind(key)
    .fetch_optional(&db.pool)
    .await
}

/// Newest first; `search` matches the name or the key, the key also when
/// typed without its dashes (as read out over the phone).
pub async fn activation_keys(
    db: &Db,
    scope: &Scope,
    owner_id: Option<&str>,
    search: Option<&str>,
    page_req: &PageRequest,
) -> Result<Page<KeyRow>, sqlx::Error> {
    let mut f = SqlBuilder::new("FROM activation_keys k WHERE 1 = 1");
    scope.restrict(&mut f, "k");
    if let Some(owner) = owner_id {
        f.push(" AND k.owner_id = ").bind_text(owner);
    }
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = like_pattern(search);
        f.push(" AND (lower(k.name) LIKE ")
            .bind_text(pattern.clone())
            .push(" ESCAPE '\\'");
        f.push(" OR lower(k.key) LIKE ")
            .bind_text(pattern)
            .push(" ESCAPE '\\'");
        let bare = search.replace('-', "");
        if !bare.is_empty() {
            f.push(" OR replace(lower(k.key), '-', '') LIKE ")
                .bind_text(like_pattern(&bare))
                .push(" ESCAPE '\\'");
        }
        f.push(")");
    }
    newest_first(db, None, f, page_req).await
}
