//! Telling the caller's own rows from its resellers' in the tables.

use super::WebState;
use super::layout;
use super::session::Session;
use crate::error::AppError;
use aggregates::Role;
use axum::response::Response;
use maud::{Markup, html};
use projections::queries::{AccountRow, PageRequest};
use std::collections::HashMap;

/// How many resellers' names a table page can show; past this the row says
/// "a reseller" rather than its name.
const MAX_NAMED: i64 = 500;

pub struct OwnerNames {
    me: String,
    names: HashMap<String, String>,
    /// The label of an owner past the names loaded.
    unknown: &'static str,
}

impl OwnerNames {
    pub fn is_own(&self, owner_id: &str) -> bool {
        owner_id == self.me
    }

    pub fn label(&self, owner_id: &str) -> String {
        if self.is_own(owner_id) {
            "You".to_string()
        } else {
            self.names
                .get(owner_id)
                .cloned()
                .unwrap_or_else(|| self.unknown.to_string())
        }
    }
}

/// The names of the accounts whose rows the caller sees: a partner's
/// resellers, or for the administrator every account, labelled by its role.
pub async fn owner_names(st: &WebState, s: &Session) -> OwnerNames {
    let admin = s.caller.role == Role::Admin;
    let mut names = HashMap::new();
    if admin || s.caller.role == Role::Partner {
        let page = PageRequest {
            first: MAX_NAMED,
            after: None,
        };
        // Only labels depend on this: a failure shows the unknown label, and
        // the table itself still comes from the scoped query.
        if let Ok(page) = st.app.visible_accounts(&s.caller, None, &page).await {
            for (_, a) in page.rows {
                // A partner sees only its resellers; the administrator sees
                // every account, so its rows say which kind each one is.
                let role = if !admin {
                    "reseller"
                } else {
                    match a.role.parse() {
                        Ok(Role::Partner) => "partner",
                        Ok(Role::Reseller) => "reseller",
                        _ => "administrator",
                    }
                };
                names.insert(a.id, format!("{} ({role})", a.name));
            }
        }
    }
    OwnerNames {
        me: s.caller.id.clone(),
        names,
        unknown: if admin {
            "Another account"
        } else {
            "A reseller"
        },
    }
}

/// The name of the reseller a row belongs to, when it is not the caller's
/// own: what the caller does to it is charged to (or refunded to) that
/// reseller's credits.
pub async fn reseller_owner(st: &WebState, s: &Session, owner_id: &str) -> Option<String> {
    if owner_id == s.caller.id {
        return None;
    }
    // The row itself was already fetched through the caller's scope, so the
    // owner is visible; a lookup failure only loses the name.
    Some(
        st.app
            .visible_account(&s.caller, owner_id)
            .await
            .map(|a| a.name)
            .unwrap_or_else(|_| "a reseller".to_string()),
    )
}

/// Says whose credits a change to a reseller's row moves.
pub fn on_behalf(reseller: Option<&str>) -> Markup {
    html! {
        @if let Some(name) = reseller {
            p.notice #on-behalf {
                "This belongs to your reseller " strong { (name) }
                ": credits are spent from, and refunded to, its balance."
            }
        }
    }
}

/// The account `id` when the caller sees it and it is a `role` (`noun` to a
/// person); else the page that says it is not there, as for any other id.
pub async fn account_of(
    st: &WebState,
    s: &Session,
    id: &str,
    (role, noun): (Role, &str),
) -> Result<AccountRow, Response> {
    match st.app.visible_account(&s.caller, id).await {
        Ok(a) if a.role == role.as_str() => Ok(a),
        Ok(_) => Err(layout::session_error(s, &AppError::not_found(noun))),
        Err(e) => Err(layout::session_error(s, &e)),
    }
}
