//! Activation Keys: the list (search, pages) and "Generate an Activation Key"
//! with a name and a key, random or typed as XXXX-XXXX-XXXX-XXXX.

use super::WebState;
use super::forms::{Params, encode};
use super::layout::{self, Col, FormPage, Table, cta, data_table, pager, when};
use super::owners::{on_behalf, owner_names};
use super::session::{Session, SignedForm, redirect_with_flash};
use crate::error::AppError;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use projections::queries::KeyRow;
use std::collections::HashMap;

pub async fn list(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    let page = match st
        .app
        .activation_keys(&s.caller, None, p.opt("q"), &p.page())
        .await
    {
        Ok(page) => page,
        Err(e) => return layout::session_error(&s, &e),
    };
    let owners = owner_names(&st, &s).await;
    let body = html! {
        div.toolbar {
            form.filters method="get" action="/keys" role="search" {
                label for="q" { "Search by name or key" }
                input #q type="search" name="q" value=(p.get("q"));
                button type="submit" { "Search" }
            }
            @if s.caller.role != aggregates::Role::Admin {
                (cta("/keys/new", "Generate an Activation Key"))
            }
        }
        (data_table(
            Table { id: None, caption: "Activation keys", columns: &[
                Col::Text("Name"), Col::Text("Key"), Col::Text("Device"), Col::Text("Owner"), Col::Text("Created"), Col::Actions
            ] },
            page.rows.is_empty().then_some("No activation key matches."),
            html! {
                @for (_, k) in &page.rows {
                    tr {
                        td { (k.name) }
                        td.mono { (k.key) }
                        td {
                            @match (&k.device_name, &k.activated_at) {
                                (Some(name), Some(at)) => { (name) " · " (when(at)) }
                                (None, Some(at)) => { "Activated " (when(at)) }
                                _ => { span.muted { "Not activated" } }
                            }
                        }
                        td { (owners.label(&k.owner_id)) }
                        td.when { (when(&k.created_at)) }
                        td.actions {
                            @if k.owner_id == s.caller.id {
                                a href={ "/licenses/new?key=" (encode(&k.id)) } { "Generate a License" }
                            }
                        }
                    }
                }
            },
        ))
        (pager("/keys", &p, &page))
    };
    layout::page(&s, "Activation Keys", body)
}

pub async fn new_page(s: Session) -> Response {
    key_form(&s, "", "", None)
}

fn key_form(s: &Session, name: &str, key: &str, error: Option<&AppError>) -> Response {
    let fields = html! {
        label for="name" { "Name" }
        input #name type="text" name="name" value=(name) required maxlength="200" aria-describedby="name-hint" autofocus;
        p.hint #name-hint { "For you to find the key again, e.g. the customer's name." }
        label for="key" { "Key" }
        div.with-button {
            input #key.mono type="text" name="key" value=(key) maxlength="19"
                pattern="[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}"
                placeholder="XXXX-XXXX-XXXX-XXXX" autocapitalize="characters" spellcheck="false"
                data-key-check="key-status" aria-describedby="key-hint key-status";
            button type="button" data-random-key="key" { "Random" }
        }
        p.hint #key-hint { "Four groups of four letters (A–Z) or digits, e.g. AB12-CD34-EF56-GH78. Leave it empty for a random key." }
        p.hint #key-status aria-live="polite" {}
    };
    FormPage::new("Generate an Activation Key", "/keys/new", "Add").show(s, error, fields)
}

pub async fn create(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let (name, key) = (form.get("name"), form.get("key"));
    match st
        .app
        .create_activation_key(&s.caller, name, form.opt("key"))
        .await
    {
        Ok(k) => redirect_with_flash(
            &format!("/licenses/new?key={}", encode(&k.id)),
            &format!(
                "Activation key \"{}\" ({}) was created. Now choose what to put on it.",
                k.name, k.key
            ),
            s.secure,
        ),
        Err(e) => key_form(&s, name, key, Some(&e)),
    }
}

/// The activation keys of a page's rows, looked up once per distinct key.
pub async fn keys_of<'a>(
    st: &WebState,
    s: &Session,
    ids: impl Iterator<Item = &'a str>,
) -> HashMap<String, KeyRow> {
    let mut keys = HashMap::new();
    for id in ids {
        if !keys.contains_key(id)
            // Only a label depends on this: a failed lookup leaves it blank.
            && let Ok(k) = st.app.activation_key(&s.caller, id).await
        {
            keys.insert(id.to_string(), k);
        }
    }
    keys
}

/// A row's key and, under it, the key's name: what tells two customers'
/// "Remote Access Enterprise" apart.
pub fn key_cell(keys: &HashMap<String, KeyRow>, id: &str) -> Markup {
    match keys.get(id) {
        Some(k) => html! { span.mono.nowrap { (k.key) } br; span.muted { (k.name) } },
        None => html! {},
    }
}

/// The support or subscription a page acts on: `what` it is, the key it is
/// on, and whose it is when a partner acts on its reseller's.
pub async fn chosen_on_key(
    st: &WebState,
    s: &Session,
    what: Markup,
    key_id: &str,
    reseller: Option<&str>,
) -> Markup {
    let key = st.app.activation_key(&s.caller, key_id).await.ok();
    html! {
        p.chosen {
            (what)
            @if let Some(k) = &key { " · key " span.mono { (k.key) } " (" (k.name) ")" }
        }
        (on_behalf(reseller))
    }
}
