//! The home page: the balance, the orange "Generate a License" button and the
//! counts of what the account (and a partner's resellers) hold.

use super::WebState;
use super::layout::{self, cta};
use super::session::Session;
use crate::app::EXPIRING_DAYS;
use aggregates::Role;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

pub async fn home(State(st): State<WebState>, s: Session) -> Response {
    if matches!(s.caller.role, Role::Admin | Role::Auditor) {
        return Redirect::to("/admin/partners").into_response();
    }
    let d = match st.app.dashboard(&s.caller).await {
        Ok(d) => d,
        Err(e) => return layout::session_error(&s, &e),
    };
    let partner = s.caller.role == Role::Partner;
    let body = html! {
        section.hero {
            p.big-balance {
                span.label { "Credit balance" }
                strong #balance { (s.account.balance) } " credits"
            }
            (cta("/licenses/new", "Generate a License"))
        }
        @if d.keys == 0 {
            p.notice {
                "You have no licenses yet. To generate one you need an Activation Key: "
                a href="/keys/new" { "generate an Activation Key" } " first."
            }
        }
        ul.counts {
            li { a href="/keys" { strong #count-keys { (d.keys) } span { "Activation keys" } } }
            li { a href="/licenses" { strong #count-licenses { (d.licenses) } span { "Licenses" } } }
            li {
                a href="/support?soon=1" {
                    strong #count-expiring { (d.supports_expiring) }
                    span { "Supports ending within " (EXPIRING_DAYS) " days" }
                }
            }
            @if partner {
                li { a href="/resellers" { strong #count-resellers { (d.resellers) } span { "Resellers" } } }
            }
        }
    };
    layout::page(&s, "Home", body)
}
