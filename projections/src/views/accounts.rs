//! The accounts view: who registered, in which role, under which partner,
//! and the welcome email each new partner or reseller is sent.

use super::Tx;
use crate::log::StoredEvent;
use aggregates::{LedgerEvent, Role};

/// Applies this area's events; `views::apply` routes the others elsewhere.
pub(super) async fn apply(tx: &mut Tx<'_>, e: &StoredEvent) -> Result<(), sqlx::Error> {
    use LedgerEvent::*;
    let owner = e.aggregate_id.as_str();
    match &e.event {
        AdminRegistered { login, email, name } => {
            insert_account(tx, e, Role::Admin.as_str(), login, email, name, None, None).await?;
        }
        AuditorRegistered { login, email, name } => {
            insert_account(tx, e, "AUDITOR", login, email, name, None, None).await?;
            welcome(tx, e).await?;
        }
        PartnerRegistered { login, email, name } => {
            insert_account(
                tx,
                e,
                Role::Partner.as_str(),
                login,
                email,
                name,
                None,
                None,
            )
            .await?;
            welcome(tx, e).await?;
        }
        ResellerRegistered {
            partner_id,
            login,
            email,
            name,
            products,
        } => {
            let products = serde_json::to_string(products).unwrap_or_else(|_| "[]".into());
            insert_account(
                tx,
                e,
                Role::Reseller.as_str(),
                login,
                email,
                name,
                Some(partner_id),
                Some(&products),
            )
            .await?;
            welcome(tx, e).await?;
        }
        ResellerProfileEdited {
            email,
            name,
            products,
        } => {
            let products = products
                .as_ref()
                .map(|p| serde_json::to_string(p).unwrap_or_else(|_| "[]".into()));
            sqlx::query(
                "UPDATE accounts SET email = coalesce($1, email), name = coalesce($2, name),
                        products = coalesce($3, products) WHERE id = $4",
            )
            .bind(email.as_deref())
            .bind(name.as_deref())
            .bind(products)
            .bind(owner)
            .execute(&mut **tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_account(
    tx: &mut Tx<'_>,
    e: &StoredEvent,
    role: &str,
    login: &str,
    email: &str,
    name: &str,
    parent: Option<&str>,
    products: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (id, role, login, email, name, parent_id, products, created_at, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&e.aggregate_id)
    .bind(role)
    .bind(login)
    .bind(email)
    .bind(name)
    .bind(parent)
    .bind(products)
    .bind(&e.at)
    .bind(e.position())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The welcome email goes out once per account, even if the views are
/// rebuilt: the outbox is not a view and its id is the account's.
async fn welcome(tx: &mut Tx<'_>, e: &StoredEvent) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (id, kind, account_id, created_at, next_attempt_at)
         VALUES ($1, 'welcome', $2, $3, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(format!("welcome:{}", e.aggregate_id))
    .bind(&e.aggregate_id)
    .bind(&e.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
