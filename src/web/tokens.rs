//! API tokens: the caller's tokens (scope, the secret's first characters,
//! last use, expiry, revocation) with Revoke, and the form that creates one.
//! The secret is shown once, on the page that answers the creation.

use super::WebState;
use super::forms::{FormData, Params, encode};
use super::layout::{self, Col, Table, csrf_field, data_table, error_box, pager, post_form, when};
use super::session::{Session, SignedForm, redirect_with_flash};
use crate::app::{ApiTokenRow, TokenScope};
use crate::error::AppError;
use aggregates::Role;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};

pub async fn list(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    render(&st, &s, &p, None, None).await
}

/// What became of a token, as the list says it.
fn state(t: &ApiTokenRow) -> Markup {
    let expired = t
        .expires_at
        .as_deref()
        .and_then(projections::db::parse_time)
        .is_some_and(|at| at <= Utc::now());
    html! {
        @if let Some(at) = &t.revoked_at {
            span.badge.expired { "Revoked" } " " span.muted { (when(at)) }
        } @else if expired {
            span.badge.expired { "Expired" }
        } @else {
            "Active"
        }
    }
}

async fn render(
    st: &WebState,
    s: &Session,
    p: &FormData,
    error: Option<&AppError>,
    created: Option<(&ApiTokenRow, &str)>,
) -> Response {
    let page = match st.app.api_tokens(&s.caller, &p.page()).await {
        Ok(page) => page,
        Err(e) => return layout::session_error(s, &e),
    };
    let body = html! {
        @if let Some((token, secret)) = created {
            section.created aria-labelledby="created-title" {
                h2 #created-title { "Token " (token.name) " was created" }
                p { "Its secret is shown only now: only its hash is kept, so it cannot be shown again. Copy it to the dashboard or script that will use it." }
                dl.figures {
                    div {
                        dt { "Secret" }
                        dd.with-button {
                            output #new-secret.mono { (secret) }
                            button type="button" data-copy="new-secret" { "Copy" }
                        }
                    }
                }
                p.hint { "Send it to " span.mono { "/graphql" } " as the header " span.mono { "Authorization: Bearer " (secret) } "." }
            }
        }
        (data_table(
            Table { id: None, caption: "API tokens", columns: &[
                Col::Text("Name"), Col::Text("Scope"), Col::Text("Starts with"), Col::Text("Created"), Col::Text("Last used"), Col::Text("Expires"), Col::Text("State"), Col::Actions
            ] },
            page.rows.is_empty().then_some("No API token yet."),
            html! {
                @for (_, t) in &page.rows {
                    tr {
                        td { (t.name) }
                        td { (t.scope.as_str()) }
                        td.mono { (t.prefix) "…" }
                        td.when { (when(&t.created_at)) }
                        td.when {
                            @match &t.last_used_at {
                                Some(at) => { (when(at)) }
                                None => { span.muted { "Never" } }
                            }
                        }
                        td.when {
                            @match &t.expires_at {
                                Some(at) => { (when(at)) }
                                None => { span.muted { "Never" } }
                            }
                        }
                        td { (state(t)) }
                        td.actions {
                            @if t.revoked_at.is_none() {
                                form method="post" action={ "/tokens/" (encode(&t.id)) "/revoke" } {
                                    (csrf_field(s))
                                    button type="submit" { "Revoke" }
                                }
                            }
                        }
                    }
                }
            },
        ))
        (pager("/tokens", p, &page))
        (error_box(error))
        @if s.caller.role == Role::Auditor {
            p.notice { "An auditor reads everything and changes nothing, so it cannot create API tokens." }
        } @else {
            h2 { "Create a token" }
            p.hint { "A token acts as your account for dashboards and scripts calling the GraphQL API. It cannot sign in to this portal, create tokens or change your password." }
            (create_form(s, p))
        }
    };
    layout::page_for(s, error, "API tokens", body)
}

fn create_form(s: &Session, p: &FormData) -> Markup {
    let write = p.get("scope") == "WRITE";
    html! {
        (post_form(s, "/tokens/new", html! {
            label for="name" { "Name" }
            input #name type="text" name="name" required maxlength="100" value=(p.get("name")) placeholder="Grafana dashboard";
            fieldset {
                legend { "Scope" }
                label { input type="radio" name="scope" value="READ" checked[!write]; " Read: queries only; every change is refused" }
                label { input type="radio" name="scope" value="WRITE" checked[write]; " Write: queries and changes, like you" }
            }
            label for="expires" { "Expires after (optional)" }
            input #expires type="date" name="expires" value=(p.get("expires")) aria-describedby="expires-hint";
            p.hint #expires-hint { "The token works through that day (UTC). Empty: until it is revoked." }
        }, "Create"))
    }
}

pub async fn create(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let scope = match form.get("scope") {
        "WRITE" => TokenScope::Write,
        _ => TokenScope::Read,
    };
    let expires = match form.date("expires", "The expiry date") {
        // Through the chosen day: it ends when the next one begins.
        Ok(day) => day
            .and_then(|d| d.succ_opt())
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()),
        Err(e) => return render(&st, &s, &form, Some(&e), None).await,
    };
    match st
        .app
        .create_api_token(&s.caller, form.get("name"), scope, expires)
        .await
    {
        Ok((token, secret)) => {
            render(&st, &s, &FormData::default(), None, Some((&token, &secret))).await
        }
        Err(e) => render(&st, &s, &form, Some(&e), None).await,
    }
}

pub async fn revoke(
    State(st): State<WebState>,
    Path(id): Path<String>,
    SignedForm { session: s, .. }: SignedForm,
) -> Response {
    match st.app.revoke_api_token(&s.caller, &id).await {
        Ok(t) => redirect_with_flash(
            "/tokens",
            &format!(
                "The token {} was revoked: it is refused from now on.",
                t.name
            ),
            s.secure,
        ),
        Err(e) => layout::session_error(&s, &e),
    }
}
