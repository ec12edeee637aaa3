//! "Generate a License" (partner guide, section 3): choose the activation
//! key, then the product and whether it is a license or support, then trial
//! or permanent (a trial asks for its duration), the edition and the users;
//! "Review" shows the cost against the balance before anything is spent.
//! The steps are GET requests, so Back and reload are safe; only the final
//! confirmation posts, with an idempotency key so a double click spends once.

use super::WebState;
use super::forms::{FormData, Params, hidden};
use super::layout::{self, error_box, quote_panel};
use super::session::{Session, SignedForm, redirect_with_flash};
use crate::app::{AssignLicense, AssignSupport, Operation, Quote};
use crate::error::{AppError, AppResult};
use aggregates::catalog::Product;
use aggregates::{LicenseKind, Role};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use projections::queries::{KeyRow, PageRequest};

/// Keys offered in the key list, newest first.
const KEYS_OFFERED: i64 = 200;

/// The products the account may sell as licenses and support.
pub fn sellable<'a>(st: &'a WebState, s: &Session) -> Vec<&'a Product> {
    st.app
        .catalog
        .products
        .iter()
        .filter(|p| !p.subscription_only)
        .filter(|p| match (&s.caller.role, &s.account.products) {
            (Role::Reseller, Some(allowed)) => allowed.contains(&p.code),
            _ => true,
        })
        .collect()
}

/// The caller's own keys (what it sells goes on its own keys).
pub async fn own_keys(st: &WebState, s: &Session) -> AppResult<Vec<KeyRow>> {
    let page = PageRequest {
        first: KEYS_OFFERED,
        after: None,
    };
    let keys = st
        .app
        .activation_keys(&s.caller, Some(&s.caller.id), None, &page)
        .await?;
    Ok(keys.rows.into_iter().map(|(_, k)| k).collect())
}

pub async fn page(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    render(&st, &s, &p, None).await
}

pub async fn submit(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let result = match operation(&form) {
        Ok(op) => {
            st.app
                .execute_operation(&s.caller, &op, form.opt("_idem"))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            let support = form.get("what") == "support";
            let product = st
                .app
                .catalog
                .product(form.get("product"))
                .map(|p| p.name.clone())
                .unwrap_or_default();
            let (to, what) = if support {
                ("/support", "Support")
            } else {
                ("/licenses", "License")
            };
            redirect_with_flash(to, &format!("{what} for {product} generated."), s.secure)
        }
        Err(e) => {
            let mut back = form.clone();
            back.0.retain(|(k, _)| k != "review");
            render(&st, &s, &back, Some(e)).await
        }
    }
}

fn operation(p: &FormData) -> AppResult<Operation> {
    let key_id = p.get("key").to_string();
    let product = p.get("product").to_string();
    let edition = p
        .opt("edition")
        .ok_or_else(|| AppError::bad("choose an edition"))?
        .to_string();
    let users = p.int("users", "Users")?;
    if p.get("what") == "support" {
        return Ok(Operation::AssignSupport(AssignSupport {
            key_id,
            product,
            edition,
            users,
            months: p.int("months", "The support's length")?,
            starts_on: None,
        }));
    }
    let kind = match p.get("kind") {
        "TRIAL" => LicenseKind::Trial,
        "PERMANENT" => LicenseKind::Permanent,
        _ => return Err(AppError::bad("choose a trial or a permanent license")),
    };
    let trial_days = match kind {
        LicenseKind::Trial => Some(p.int("trial_days", "The trial's duration in days")?),
        LicenseKind::Permanent => None,
    };
    Ok(Operation::AssignLicense(AssignLicense {
        key_id,
        product,
        edition,
        users,
        kind,
        trial_days,
        email: p.opt("email").map(str::to_string),
        comment: p.opt("comment").map(str::to_string),
    }))
}

async fn render(st: &WebState, s: &Session, p: &FormData, error: Option<AppError>) -> Response {
    let keys = match own_keys(st, s).await {
        Ok(k) => k,
        Err(e) => return layout::session_error(s, &e),
    };
    let title = "Generate a License";
    if keys.is_empty() {
        let body = html! {
            p.notice {
                "To generate a license or support you need an Activation Key first."
            }
            (layout::cta("/keys/new", "Generate an Activation Key"))
        };
        return layout::page(s, title, body);
    }
    let products = sellable(st, s);
    let key = keys.iter().find(|k| k.id == p.get("key"));
    let product = products
        .iter()
        .find(|x| x.code == p.get("product"))
        .copied();
    let what = if p.get("what") == "support" {
        "support"
    } else {
        "license"
    };
    let status = error
        .as_ref()
        .map(layout::status_of)
        .unwrap_or(StatusCode::OK);

    let (Some(key), Some(product)) = (key, product) else {
        let body = html! {
            (error_box(error.as_ref()))
            (step_one(&keys, &products, p, what))
        };
        return layout::page_with_status(s, status, title, body);
    };
    let mut error = error;
    let mut quote: Option<Quote> = None;
    if error.is_none() && p.get("review") == "1" {
        match operation(p) {
            Ok(op) => match st.app.quote(&s.caller, &op).await {
                Ok(q) => quote = Some(q),
                Err(e) => error = Some(e),
            },
            Err(e) => error = Some(e),
        }
    }
    let status = error
        .as_ref()
        .map(layout::status_of)
        .unwrap_or(StatusCode::OK);
    let body = html! {
        (error_box(error.as_ref()))
        p.chosen {
            "Key " strong.mono { (key.key) } " (" (key.name) ") · "
            strong { (product.name) } " · "
            strong { @if what == "support" { "Support" } @else { "License" } } " · "
            a href={ "/licenses/new?" (p.with(&[("product", ""), ("review", "")])) } { "Change" }
        }
        // Once reviewed, the cost comes first (with the warning when credits
        // are short), then the choices to change.
        @if let Some(q) = &quote {
            (summary(product, p, what))
            (quote_panel(s, q, "/licenses/new", confirm_fields(p, what), "Generate"))
            h2 { "Change the choices" }
        }
        (step_two(st, product, p, what, key))
    };
    layout::page_with_status(s, status, title, body)
}

fn step_one(keys: &[KeyRow], products: &[&Product], p: &FormData, what: &str) -> Markup {
    html! {
        form.stack method="get" action="/licenses/new" {
            fieldset {
                legend { "1. Activation key" }
                label for="key" { "Key" }
                select #key name="key" required {
                    @for k in keys {
                        option value=(k.id) selected[k.id == p.get("key")] { (k.key) " — " (k.name) }
                    }
                }
            }
            fieldset {
                legend { "2. What to generate" }
                div.choices {
                    label { input type="radio" name="what" value="license" checked[what == "license"]; " A license" }
                    label { input type="radio" name="what" value="support" checked[what == "support"]; " Support" }
                }
            }
            fieldset {
                legend { "3. Product" }
                div.choices.products {
                    @for (i, x) in products.iter().enumerate() {
                        label.product {
                            input type="radio" name="product" value=(x.code)
                                checked[x.code == p.get("product") || (p.get("product").is_empty() && i == 0)];
                            " " (x.name)
                        }
                    }
                }
            }
            button.primary type="submit" { "Continue" }
        }
    }
}

fn step_two(st: &WebState, product: &Product, p: &FormData, what: &str, key: &KeyRow) -> Markup {
    let catalog = &st.app.catalog;
    let kind = if p.get("kind") == "TRIAL" {
        "TRIAL"
    } else {
        "PERMANENT"
    };
    html! {
        form.stack method="get" action="/licenses/new" {
            (hidden(&[("key", key.id.clone()), ("product", product.code.clone()), ("what", what.to_string()), ("review", "1".to_string())]))
            @if what == "license" {
                fieldset {
                    legend { "Trial or permanent" }
                    div.choices {
                        label { input type="radio" name="kind" value="PERMANENT" checked[kind == "PERMANENT"] data-toggles="trial-days"; " Permanent" }
                        label { input type="radio" name="kind" value="TRIAL" checked[kind == "TRIAL"] data-toggles="trial-days"; " Trial" }
                    }
                    div #trial-days data-shown-for="TRIAL" {
                        label for="trial_days" { "Trial duration (days)" }
                        input #trial_days type="number" name="trial_days" min="1" max=(catalog.max_trial_days)
                            value=(p.opt("trial_days").unwrap_or("30")) aria-describedby="trial-hint";
                        p.hint #trial-hint { "Only for a trial: 1 to " (catalog.max_trial_days) " days. A trial costs no credits." }
                    }
                }
            }
            label for="edition" { "Edition" }
            select #edition name="edition" {
                @for e in &product.editions {
                    option value=(e.code) selected[e.code == p.get("edition")] {
                        (e.name) " — "
                        @if what == "support" { (e.support_per_user_month) " credits per user per month" }
                        @else { (e.license_per_user) " credits per user" }
                    }
                }
            }
            label for="users" { "Users" }
            input #users type="number" name="users" min="1" max=(aggregates::values::MAX_USERS) value=(p.opt("users").unwrap_or("1")) required;
            @if what == "support" {
                label for="months" { "Length" }
                select #months name="months" {
                    @for m in &catalog.support_months {
                        option value=(m) selected[p.get("months") == m.to_string()] { (m) " months" }
                    }
                }
            } @else {
                label for="email" { "Customer email (optional)" }
                input #email type="email" name="email" value=(p.get("email")) autocomplete="off";
                label for="comment" { "Comment (optional)" }
                input #comment type="text" name="comment" value=(p.get("comment")) maxlength="500";
            }
            button type="submit" { "Review" }
        }
    }
}

fn summary(product: &Product, p: &FormData, what: &str) -> Markup {
    let edition = product
        .edition(p.get("edition"))
        .map(|e| e.name.clone())
        .unwrap_or_default();
    html! {
        section.summary aria-labelledby="summary-title" {
            h2 #summary-title { "Summary" }
            dl.figures {
                div { dt { "Product" } dd { (product.name) " " (edition) } }
                div { dt { "Users" } dd { (p.get("users")) } }
                @if what == "support" {
                    div { dt { "Length" } dd { (p.get("months")) " months" } }
                } @else if p.get("kind") == "TRIAL" {
                    div { dt { "Kind" } dd { "Trial, " (p.get("trial_days")) " days" } }
                } @else {
                    div { dt { "Kind" } dd { "Permanent" } }
                }
            }
        }
    }
}

fn confirm_fields(p: &FormData, what: &str) -> Markup {
    let names: &[&str] = if what == "support" {
        &["key", "what", "product", "edition", "users", "months"]
    } else {
        &[
            "key",
            "what",
            "product",
            "kind",
            "trial_days",
            "edition",
            "users",
            "email",
            "comment",
        ]
    };
    let fields: Vec<(&str, String)> = names
        .iter()
        .filter(|n| !(**n == "trial_days" && p.get("kind") != "TRIAL"))
        .map(|n| (*n, p.get(n).to_string()))
        .collect();
    hidden(&fields)
}
