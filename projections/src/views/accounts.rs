//! The accounts view: who registered, in which role, under which partner,
//! and the welcome email each new partner or reseller is sent.

use super::batch::{AccountRow, Balance, Batch, OutboxRow};
use super::{Applied, Tx};
use crate::log::StoredEvent;
use aggregates::{LedgerEvent, Role};

/// Applies this area's events; `views::apply` routes the others elsewhere.
pub(super) async fn apply(tx: &mut Tx, batch: &mut Batch, e: &StoredEvent) -> Applied {
    use LedgerEvent::*;
    let owner = e.aggregate_id.as_str();
    match &e.event {
        AdminRegistered { login, email, name }
        | AuditorRegistered { login, email, name }
        | PartnerRegistered { login, email, name } => {
            let role = match &e.event {
                AdminRegistered { .. } => Role::Admin,
                AuditorRegistered { .. } => Role::Auditor,
                _ => Role::Partner,
            };
            insert_account(batch, e, role.as_str(), login, email, name, None, None);
            // Every account but an admin is sent the welcome email.
            if role != Role::Admin {
                welcome(batch, e);
            }
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
                batch,
                e,
                Role::Reseller.as_str(),
                login,
                email,
                name,
                Some(partner_id),
                Some(products),
            );
            welcome(batch, e);
        }
        ResellerProfileEdited {
            email,
            name,
            products,
        } => {
            let products = products
                .as_ref()
                .map(|p| serde_json::to_string(p).unwrap_or_else(|_| "[]".into()));
            if let Some(account) = batch.accounts.get_mut(owner) {
                if let Some(email) = email {
                    account.email = email.clone();
                }
                if let Some(name) = name {
                    account.name = name.clone();
                }
                if products.is_some() {
                    account.products = products;
                }
                return Ok(());
            }
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
fn insert_account(
    batch: &mut Batch,
    e: &StoredEvent,
    role: &str,
    login: &str,
    email: &str,
    name: &str,
    parent: Option<&str>,
    products: Option<String>,
) {
    // Movements before the registration found no row; from here on the
    // balance is this row's.
    if matches!(batch.balances.get(&e.aggregate_id), Some(Balance::Absent)) {
        batch.balances.remove(&e.aggregate_id);
    }
    batch.accounts.insert(
        &e.aggregate_id,
        AccountRow {
            id: e.aggregate_id.clone(),
            role: role.to_string(),
            login: login.to_string(),
            email: email.to_string(),
            name: name.to_string(),
            parent_id: parent.map(str::to_string),
            products,
            created_at: e.at.clone(),
            position: e.position(),
            balance: 0,
            entries: 0,
        },
    );
}

/// The welcome email goes out once per account, even if the views are
/// rebuilt: the outbox is not a view and its id is the account's.
fn welcome(batch: &mut Batch, e: &StoredEvent) {
    batch.outbox.push(OutboxRow {
        id: format!("welcome:{}", e.aggregate_id),
        kind: "welcome".to_string(),
        account_id: e.aggregate_id.clone(),
        created_at: e.at.clone(),
        next_attempt_at: e.at.clone(),
    });
}
