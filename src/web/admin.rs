//! The vendor's pages for the administrator: partners with their balances,
//! creating a partner, granting credits.

use super::WebState;
use super::forms::{FormData, Params, encode};
use super::layout::{self, Col, FormPage, Table, credits, cta, data_table, number, pager, when};
use super::owners::account_of;
use super::session::{Session, SignedForm, redirect_with_flash};
use crate::app::NewAccount;
use crate::error::AppError;
use aggregates::Role;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use projections::queries::AccountRow;

fn admin_only(s: &Session) -> Option<Response> {
    (s.caller.role != Role::Admin).then(|| {
        layout::session_error(
            s,
            &AppError::Forbidden("only an administrator can do this".into()),
        )
    })
}

pub async fn partners(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    // An auditor reads the list (and each partner's history), without actions.
    let auditor = s.caller.role == Role::Auditor;
    if !auditor && let Some(r) = admin_only(&s) {
        return r;
    }
    let page = match st
        .app
        .visible_accounts(&s.caller, Some(Role::Partner.as_str()), &p.page())
        .await
    {
        Ok(page) => page,
        Err(e) => return layout::session_error(&s, &e),
    };
    let body = html! {
        div.toolbar {
            p.hint { "Partners buy credits from you and sell licenses, support and subscriptions." }
            @if !auditor { (cta("/admin/partners/new", "Create a partner")) }
        }
        (data_table(
            Table { id: Some("partners"), caption: "Partners", columns: &[
                Col::Text("Name"), Col::Text("Login"), Col::Text("Email"), Col::Num("Balance"), Col::Text("Created"), Col::Actions
            ] },
            page.rows.is_empty().then_some("No partner yet."),
            html! {
                @for (_, a) in &page.rows {
                    tr {
                        td { (a.name) } td { (a.login) } td { (a.email) }
                        td.num { (a.balance) } td.when { (when(&a.created_at)) }
                        td.actions {
                            @if !auditor {
                                a href={ "/admin/partners/" (encode(&a.id)) "/grant" } { "Grant credits" }
                            }
                            a href={ "/credits?account=" (encode(&a.id)) } { "History" }
                        }
                    }
                }
            },
        ))
        (pager("/admin/partners", &p, &page))
    };
    layout::page(&s, "Partners", body)
}

pub async fn new_page(s: Session) -> Response {
    if let Some(r) = admin_only(&s) {
        return r;
    }
    new_form(&s, &FormData::default(), None)
}

fn new_form(s: &Session, p: &FormData, error: Option<&AppError>) -> Response {
    let fields = html! {
        label for="login" { "Login" }
        input #login type="text" name="login" value=(p.get("login")) required autocapitalize="none" spellcheck="false" autocomplete="off" autofocus;
        label for="name" { "Name" }
        input #name type="text" name="name" value=(p.get("name")) required maxlength="200";
        label for="email" { "Email" }
        input #email type="email" name="email" value=(p.get("email")) required;
        label for="password" { "Password (optional)" }
        div.with-button {
            input #password type="text" name="password" value=(p.get("password")) minlength=(crate::auth::MIN_PASSWORD) autocomplete="new-password" spellcheck="false" aria-describedby="password-hint";
            button type="button" data-random-password="password" { "Random" }
        }
        p.hint #password-hint { "Leave it empty to email a generated password, which the partner changes at first sign-in." }
    };
    FormPage::new(
        "Create a partner",
        "/admin/partners/new",
        "Create the partner",
    )
    .show(s, error, fields)
}

pub async fn create(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let new = NewAccount::top_level(
        form.get("login").to_string(),
        form.get("email").to_string(),
        form.get("name").to_string(),
        // Untrimmed: spaces are part of a password.
        form.0
            .iter()
            .find(|(k, v)| k == "password" && !v.is_empty())
            .map(|(_, v)| v.clone()),
    );
    match st.app.create_partner(&s.caller, new).await {
        Ok(a) => redirect_with_flash(
            &format!("/admin/partners/{}/grant", encode(&a.id)),
            &format!(
                "Partner {} was created. Grant it credits to start.",
                a.login
            ),
            s.secure,
        ),
        Err(e) => new_form(&s, &form, Some(&e)),
    }
}

async fn partner(st: &WebState, s: &Session, id: &str) -> Result<AccountRow, Response> {
    if let Some(r) = admin_only(s) {
        return Err(r);
    }
    account_of(st, s, id, (Role::Partner, "partner")).await
}

pub async fn grant_page(
    State(st): State<WebState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    match partner(&st, &s, &id).await {
        Ok(a) => grant_form(&s, &a, &FormData::default(), None),
        Err(r) => r,
    }
}

fn grant_form(s: &Session, a: &AccountRow, p: &FormData, error: Option<&AppError>) -> Response {
    let fields = html! {
        input type="hidden" name="_idem" value=(crate::auth::new_id("web"));
        label for="amount" { "Credits" }
        input #amount type="number" name="amount" min="1" max=(aggregates::values::MAX_GRANT) value=(p.get("amount")) required autofocus;
        label for="reference" { "Reference" }
        input #reference type="text" name="reference" value=(p.get("reference")) required maxlength="200" aria-describedby="reference-hint";
        p.hint #reference-hint { "Your order or invoice number; one grant per reference." }
    };
    let before = html! { p.chosen { strong { (a.name) } " (" (a.login) ") has " strong #partner-balance { (a.balance) } " credits." } };
    let action = format!("/admin/partners/{}/grant", encode(&a.id));
    let page = FormPage::new("Grant credits", &action, "Grant credits").before(before);
    page.back("/admin/partners", "Back to the partners")
        .show(s, error, fields)
}

pub async fn grant(
    State(st): State<WebState>,
    Path(id): Path<String>,
    SignedForm { session: s, form }: SignedForm,
) -> Result<Response, Response> {
    let a = partner(&st, &s, &id).await?;
    // A grant whose reference was used before answers with the first entry.
    let started = projections::db::time_text(chrono::Utc::now());
    let result = match form.int("amount", "The amount") {
        Ok(amount) => {
            st.app
                .grant_credits(
                    &s.caller,
                    &id,
                    amount,
                    form.get("reference"),
                    form.opt("_idem"),
                )
                .await
        }
        Err(e) => Err(e),
    };
    Ok(match result {
        Ok(entry) if entry.at < started => redirect_with_flash(
            "/admin/partners",
            &format!(
                "The grant {} was already made on {} ({} to {}); nothing was granted again.",
                form.get("reference"),
                when(&entry.at),
                credits(entry.amount),
                a.login
            ),
            s.secure,
        ),
        Ok(entry) => redirect_with_flash(
            "/admin/partners",
            &format!(
                "{} granted to {}; its balance is {}.",
                credits(entry.amount),
                a.login,
                number(entry.balance_after)
            ),
            s.secure,
        ),
        Err(e) => grant_form(&s, &a, &form, Some(&e)),
    })
}
