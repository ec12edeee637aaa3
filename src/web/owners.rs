//! Telling the caller's own rows from its resellers' in the tables.

use super::WebState;
use super::session::Session;
use aggregates::Role;
use projections::queries::PageRequest;
use std::collections::HashMap;

/// How many resellers' names a table page can show; past this the row says
/// "a reseller" rather than its name.
const MAX_NAMED: i64 = 500;

pub struct OwnerNames {
    me: String,
    names: HashMap<String, String>,
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
                .unwrap_or_else(|| "A reseller".to_string())
        }
    }
}

/// The names of the caller's resellers (a partner's; nobody else has any).
pub async fn owner_names(st: &WebState, s: &Session) -> OwnerNames {
    let mut names = HashMap::new();
    if s.caller.role == Role::Partner {
        let page = PageRequest {
            first: MAX_NAMED,
            after: None,
        };
        // Only labels depend on this: a failure shows "A reseller", and the
        // table itself still comes from the scoped query.
        if let Ok(page) = st.app.visible_accounts(&s.caller, None, &page).await {
            for (_, a) in page.rows {
                names.insert(a.id, format!("{} (reseller)", a.name));
            }
        }
    }
    OwnerNames {
        me: s.caller.id.clone(),
        names,
    }
}
