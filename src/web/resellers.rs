//! Resellers (partner guide, sections 6–7): the list with balances and
//! products; "Add a new reseller" (login, password with a Random button,
//! email, products), followed by the form that gives it credits; giving more
//! later; editing its profile.

use super::WebState;
use super::forms::{FormData, Params, encode};
use super::layout::{self, Col, FormPage, Table, credits, cta, data_table, number, pager, when};
use super::owners::account_of;
use super::session::{Session, SignedForm, redirect_with_flash};
use crate::app::NewAccount;
use crate::error::AppError;
use aggregates::Role;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use projections::queries::AccountRow;

fn partner_only(s: &Session) -> Option<Response> {
    (s.caller.role != Role::Partner).then(|| {
        layout::session_error(
            s,
            &AppError::Forbidden("only a partner has resellers".into()),
        )
    })
}

pub async fn list(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    if let Some(r) = partner_only(&s) {
        return r;
    }
    let page = match st.app.visible_accounts(&s.caller, None, &p.page()).await {
        Ok(page) => page,
        Err(e) => return layout::session_error(&s, &e),
    };
    let body = html! {
        div.toolbar {
            p.hint { "A reseller generates licenses itself, within the credits and products you give it." }
            (cta("/resellers/new", "Add a new reseller"))
        }
        (data_table(
            Table { id: Some("resellers"), caption: "Resellers", columns: &[
                Col::Text("Name"), Col::Text("Login"), Col::Text("Email"), Col::Text("Balance"), Col::Text("Products"), Col::Text("Created"), Col::Actions
            ] },
            page.rows.is_empty().then_some("No reseller yet."),
            html! {
                @for (_, r) in &page.rows {
                    tr {
                        td { (r.name) }
                        td { (r.login) }
                        td { (r.email) }
                        td.num { (r.balance) }
                        td { (products_text(&st, r)) }
                        td.when { (when(&r.created_at)) }
                        td.actions {
                            a href={ "/resellers/" (encode(&r.id)) "/credits" } { "Give credits" }
                            a href={ "/resellers/" (encode(&r.id)) "/edit" } { "Edit" }
                            a href={ "/credits?account=" (encode(&r.id)) } { "History" }
                        }
                    }
                }
            },
        ))
        (pager("/resellers", &p, &page))
    };
    layout::page(&s, "Resellers", body)
}

fn products_text(st: &WebState, r: &AccountRow) -> String {
    match &r.products {
        None => "All products".to_string(),
        Some(list) if list.is_empty() => "None".to_string(),
        Some(list) => list
            .iter()
            .map(|c| {
                st.app
                    .catalog
                    .product(c)
                    .map(|x| x.name.clone())
                    .unwrap_or_else(|| c.clone())
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn product_boxes(st: &WebState, chosen: &[String]) -> Markup {
    html! {
        fieldset {
            legend { "Products the reseller may sell" }
            div.choices {
                @for x in &st.app.catalog.products {
                    label {
                        input type="checkbox" name="products" value=(x.code) checked[chosen.contains(&x.code)];
                        " " (x.name)
                    }
                }
            }
        }
    }
}

pub async fn new_page(State(st): State<WebState>, s: Session) -> Response {
    if let Some(r) = partner_only(&s) {
        return r;
    }
    let all: Vec<String> = st
        .app
        .catalog
        .products
        .iter()
        .map(|x| x.code.clone())
        .collect();
    new_form(&st, &s, &FormData::default(), &all, None)
}

fn new_form(
    st: &WebState,
    s: &Session,
    p: &FormData,
    products: &[String],
    error: Option<&AppError>,
) -> Response {
    let fields = html! {
        label for="login" { "Login" }
        input #login type="text" name="login" value=(p.get("login")) required autocapitalize="none" spellcheck="false" autocomplete="off" autofocus;
        label for="password" { "Password" }
        div.with-button {
            input #password type="text" name="password" value=(p.get("password")) minlength=(crate::auth::MIN_PASSWORD) autocomplete="new-password" spellcheck="false" aria-describedby="password-hint";
            button type="button" data-random-password="password" { "Random" }
        }
        p.hint #password-hint {
            "We recommend the Random button; left empty, one is generated. Either way it is emailed to the reseller, shown to you once, and changed by the reseller at first sign-in."
        }
        label for="email" { "Email" }
        input #email type="email" name="email" value=(p.get("email")) required aria-describedby="email-hint";
        p.hint #email-hint { "The reseller receives its login, its password and the portal's address at this address." }
        label for="name" { "Name (optional)" }
        input #name type="text" name="name" value=(p.get("name")) maxlength="200" aria-describedby="name-hint";
        p.hint #name-hint { "The company or person; the login when left empty." }
        (product_boxes(st, products))
    };
    FormPage::new("Add a new reseller", "/resellers/new", "Add").show(s, error, fields)
}

pub async fn create(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let products = form.all("products");
    let new = NewAccount {
        login: form.get("login").to_string(),
        email: form.get("email").to_string(),
        name: form.opt("name").unwrap_or(form.get("login")).to_string(),
        password: form
            .0
            .iter()
            .find(|(k, v)| k == "password" && !v.is_empty())
            .map(|(_, v)| v.clone()),
        parent: Some(s.caller.id.clone()),
        products: products.clone(),
    };
    let chosen = new.password.clone();
    match st
        .app
        .create_reseller_mailing_password(&s.caller, new)
        .await
    {
        Ok((account, generated)) => {
            // Shown once, here: the page is the answer to the post, never a
            // page the address bar can bring back.
            let password = generated.or(chosen).unwrap_or_default();
            let created = html! {
                section.created aria-labelledby="created-title" {
                    h2 #created-title { "Reseller " (account.login) " was created" }
                    p { "Its login, this password and the portal's address were emailed to " strong { (account.email) } ". The password is shown only now; the reseller has to change it at first sign-in." }
                    dl.figures {
                        div { dt { "Login" } dd.mono { (account.login) } }
                        div {
                            dt { "Password" }
                            dd.with-button {
                                output #new-password.mono { (password) }
                                button type="button" data-copy="new-password" { "Copy" }
                            }
                        }
                    }
                }
                p.notice { "Now give it some of your credits." }
            };
            give_form(&s, &account, "", &review_less_id(), Some(created), None)
        }
        Err(e) => new_form(&st, &s, &form, &products, Some(&e)),
    }
}

/// A fresh idempotency key for a credit form opened without one.
fn review_less_id() -> String {
    crate::auth::new_id("web")
}

async fn reseller(st: &WebState, s: &Session, id: &str) -> Result<AccountRow, Response> {
    if let Some(r) = partner_only(s) {
        return Err(r);
    }
    account_of(st, s, id, (Role::Reseller, "reseller")).await
}

pub async fn give_page(
    State(st): State<WebState>,
    s: Session,
    Path(id): Path<String>,
    Params(p): Params,
) -> Response {
    // The form's idempotency key lives in its address, so Back to it and
    // submitting again gives once.
    let Some(idem) = p.opt("op") else {
        return Redirect::to(&format!(
            "/resellers/{}/credits?op={}",
            encode(&id),
            review_less_id()
        ))
        .into_response();
    };
    match reseller(&st, &s, &id).await {
        Ok(r) => give_form(&s, &r, "", idem, None, None),
        Err(resp) => resp,
    }
}

fn give_form(
    s: &Session,
    r: &AccountRow,
    amount: &str,
    idem: &str,
    before: Option<Markup>,
    error: Option<&AppError>,
) -> Response {
    let fields = html! {
        input type="hidden" name="_idem" value=(idem);
        label for="amount" { "Credits to give" }
        input #amount type="number" name="amount" min="1" max=(s.account.balance.max(1)) value=(amount) required aria-describedby="amount-hint" autofocus;
        p.hint #amount-hint { "They move from your balance (" (credits(s.account.balance)) ") to the reseller's." }
    };
    let before = html! {
        @if let Some(before) = before { (before) }
        p.chosen { strong { (r.name) } " (" (r.login) ") has " strong #reseller-balance { (r.balance) } " credits." }
    };
    let action = format!("/resellers/{}/credits", encode(&r.id));
    let page = FormPage::new("Give credits to a reseller", &action, "Give credits").before(before);
    page.back("/resellers", "Back to the resellers")
        .show(s, error, fields)
}

pub async fn give(
    State(st): State<WebState>,
    Path(id): Path<String>,
    SignedForm { session: s, form }: SignedForm,
) -> Result<Response, Response> {
    let r = reseller(&st, &s, &id).await?;
    let result = match form.int("amount", "The amount") {
        Ok(amount) => match st
            .app
            .give_credits(&s.caller, &id, amount, form.opt("_idem"))
            .await
        {
            Err(AppError::InsufficientCredits { balance, .. }) => Err(AppError::bad(format!(
                "this would give {} and your balance is {}",
                credits(amount),
                number(balance)
            ))),
            other => other,
        },
        Err(e) => Err(e),
    };
    Ok(match result {
        Ok(entry) => redirect_with_flash(
            "/resellers",
            &format!(
                "{} given to {}; your balance is {}.",
                credits(-entry.amount),
                r.login,
                number(entry.balance_after)
            ),
            s.secure,
        ),
        Err(e) => give_form(
            &s,
            &r,
            form.get("amount"),
            form.get("_idem"),
            None,
            Some(&e),
        ),
    })
}

pub async fn edit_page(State(st): State<WebState>, s: Session, Path(id): Path<String>) -> Response {
    match reseller(&st, &s, &id).await {
        Ok(r) => {
            let products = r.products.clone().unwrap_or_else(|| {
                st.app
                    .catalog
                    .products
                    .iter()
                    .map(|x| x.code.clone())
                    .collect()
            });
            let p = FormData(vec![
                ("email".into(), r.email.clone()),
                ("name".into(), r.name.clone()),
            ]);
            edit_form(&st, &s, &r, &p, &products, None)
        }
        Err(resp) => resp,
    }
}

fn edit_form(
    st: &WebState,
    s: &Session,
    r: &AccountRow,
    p: &FormData,
    products: &[String],
    error: Option<&AppError>,
) -> Response {
    let fields = html! {
        label for="name" { "Name" }
        input #name type="text" name="name" value=(p.get("name")) required maxlength="200" autofocus;
        label for="email" { "Email" }
        input #email type="email" name="email" value=(p.get("email")) required;
        (product_boxes(st, products))
    };
    let before = html! { p.chosen { "Login " strong { (r.login) } } };
    let action = format!("/resellers/{}/edit", encode(&r.id));
    let page = FormPage::new("Edit a reseller", &action, "Save").before(before);
    page.back("/resellers", "Back to the resellers")
        .show(s, error, fields)
}

pub async fn edit(
    State(st): State<WebState>,
    Path(id): Path<String>,
    SignedForm { session: s, form }: SignedForm,
) -> Result<Response, Response> {
    let r = reseller(&st, &s, &id).await?;
    let products = form.all("products");
    // Unchanged fields are left out, so the log records only what changed.
    let email = Some(form.get("email").to_string()).filter(|e| *e != r.email);
    let name = Some(form.get("name").to_string()).filter(|n| *n != r.name);
    Ok(
        match st
            .app
            .edit_reseller(&s.caller, &id, email, name, Some(products.clone()))
            .await
        {
            Ok(a) => redirect_with_flash(
                "/resellers",
                &format!("Reseller {} was saved.", a.login),
                s.secure,
            ),
            Err(e) => edit_form(&st, &s, &r, &form, &products, Some(&e)),
        },
    )
}
