//! "Generate a License" (partner guide, section 3): choose the activation
//! key, then the product and whether it is a license or support, then trial
//! or permanent (a trial asks for its duration), the edition and the users;
//! "Review" shows the cost against the balance before anything is spent.
//! The steps are GET requests, so Back and reload are safe; only the final
//! confirmation posts, with an idempotency key so a double click spends once.

use super::WebState;
use super::forms::{FormData, Params, hidden};
use super::layout::{self, error_box, plural};
use super::review;
use super::session::{Session, SignedForm, redirect_with_flash};
use crate::app::{AssignLicense, AssignSupport, Operation};
use crate::error::{AppError, AppResult};
use aggregates::catalog::Product;
use aggregates::{LicenseKind, Role};
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use projections::queries::{KeyRow, PageRequest};

/// Keys offered in the key list at once, newest first; a search finds the others.
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

/// The keys a form offers: the caller's own (what it sells goes on its own
/// keys) matching the search, and the key the address names, looked up by
/// id whatever its age.
pub struct KeyChoice {
    pub keys: Vec<KeyRow>,
    /// How many keys match the search (more than `keys` when cut off).
    pub total: i64,
    pub chosen: Option<KeyRow>,
    /// Why the key the address names cannot be used.
    pub refused: Option<AppError>,
    /// Whether the caller has any key at all.
    pub any: bool,
}

pub async fn key_choice(st: &WebState, s: &Session, p: &FormData) -> AppResult<KeyChoice> {
    let page = PageRequest {
        first: KEYS_OFFERED,
        after: None,
    };
    let search = p.opt("key_q");
    let found = st
        .app
        .activation_keys(&s.caller, Some(&s.caller.id), search, &page)
        .await?;
    let mut keys: Vec<KeyRow> = found.rows.into_iter().map(|(_, k)| k).collect();
    let (mut chosen, mut refused) = (None, None);
    // After a search the list holds the matches; a key chosen before stays
    // chosen only when it is one of them.
    if p.has("find") {
        let id = p.get("key");
        chosen = keys.iter().find(|k| k.id == id).cloned();
    } else if let Some(id) = p.opt("key") {
        match st.app.activation_key(&s.caller, id).await {
            Ok(k) if k.owner_id == s.caller.id => chosen = Some(k),
            Ok(_) => {
                refused = Some(AppError::Forbidden(
                    "the activation key in this link belongs to another account, so nothing can be put on it from here; choose one of your keys"
                        .into(),
                ))
            }
            Err(AppError::NotFound(_)) => {
                refused = Some(AppError::NotFound(
                    "the activation key in this link is not one of yours, or no longer exists: choose one of your keys"
                        .into(),
                ))
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(k) = &chosen
        && !keys.iter().any(|x| x.id == k.id)
    {
        keys.insert(0, k.clone());
    }
    let any = !keys.is_empty() || search.is_some() || found.total > 0;
    Ok(KeyChoice {
        keys,
        total: found.total,
        chosen,
        refused,
        any,
    })
}

/// The key picker: a search over the caller's keys (part of the key or its
/// name; "Find" reloads the form with the matches) and the list to choose from.
pub fn key_picker(choice: &KeyChoice, p: &FormData) -> Markup {
    let chosen = choice.chosen.as_ref().map(|k| k.id.as_str()).unwrap_or("");
    html! {
        label for="key-q" { "Find a key" }
        div.with-button {
            input #key-q type="search" name="key_q" value=(p.get("key_q"))
                placeholder="Part of the key or its name" aria-describedby="key-q-hint" autofocus;
            button type="submit" name="find" value="1" formnovalidate { "Find" }
        }
        p.hint #key-q-hint {
            @if choice.total > choice.keys.len() as i64 {
                "The newest " (choice.keys.len()) " of your " (choice.total) " matching keys are listed; type part of a key or its name and press Find to list the others."
            } @else if p.opt("key_q").is_some() {
                (plural(choice.total, "key")) " match \"" (p.get("key_q")) "\"."
            } @else {
                "Type part of a key or its name and press Find to narrow the list."
            }
        }
        label for="key" { "Key" }
        select #key name="key" required {
            @for k in &choice.keys {
                option value=(k.id) selected[k.id == chosen] { (k.key) " — " (k.name) }
            }
        }
    }
}

pub async fn page(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    if let Some(r) = review::assign_id(&s, &p) {
        return r;
    }
    render(&st, &s, &p, None).await
}

pub async fn submit(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let op = operation(&form);
    let result = review::confirmed(&st, &s, "/licenses/new", &form, &reviewed(&form), op).await;
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
        Err(e) => render(&st, &s, &review::unreviewed(&form), Some(e)).await,
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
    let kind = p
        .get("kind")
        .parse::<LicenseKind>()
        .map_err(|_| AppError::bad("choose a trial or a permanent license"))?;
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
    let choice = match key_choice(st, s, p).await {
        Ok(k) => k,
        Err(e) => return layout::session_error(s, &e),
    };
    let title = "Generate a License";
    if !choice.any {
        let body = html! {
            (error_box(choice.refused.as_ref()))
            p.notice {
                "To generate a license or support you need an Activation Key first."
            }
            (layout::cta("/keys/new", "Generate an Activation Key"))
        };
        return layout::page(s, title, body);
    }
    let products = sellable(st, s);
    let product = products
        .iter()
        .find(|x| x.code == p.get("product"))
        .copied();
    let what = if p.get("what") == "support" {
        "support"
    } else {
        "license"
    };
    let error = error.or(choice.refused.clone());

    let (Some(key), Some(product), false) = (choice.chosen.as_ref(), product, p.has("find")) else {
        let body = html! {
            (error_box(error.as_ref()))
            (step_one(&choice, &products, p, what))
        };
        return layout::page_for(s, error.as_ref(), title, body);
    };
    let (quote, error) = review::priced(st, s, p, error, operation(p)).await;
    let smaller = if what == "support" {
        "fewer users, a lower edition or a shorter period"
    } else {
        "fewer users or a lower edition"
    };
    let confirm = review::Confirm {
        action: "/licenses/new",
        fields: &reviewed(p),
        button: "Generate",
        smaller,
    };
    let body = html! {
        (error_box(error.as_ref()))
        p.chosen {
            "Key " strong.mono { (key.key) } " (" (key.name) ") · "
            strong { (product.name) } " · "
            strong { @if what == "support" { "Support" } @else { "License" } } " · "
            a href={ "/licenses/new?" (p.with(&[("product", ""), ("review", ""), (review::REVIEW_ID, "")])) } { "Change" }
        }
        @if let Some(q) = &quote {
            (review::review_step(s, p, q, summary(product, p, what), &confirm))
        } @else {
            (step_two(st, product, p, what, key))
        }
    };
    layout::page_for(s, error.as_ref(), title, body)
}

fn step_one(choice: &KeyChoice, products: &[&Product], p: &FormData, what: &str) -> Markup {
    html! {
        form.stack method="get" action="/licenses/new" {
            fieldset {
                legend { "1. Activation key" }
                (key_picker(choice, p))
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

/// The kind the form holds; anything but a trial is read as permanent, the
/// form's default.
fn chosen_kind(p: &FormData) -> LicenseKind {
    match p.get("kind").parse() {
        Ok(LicenseKind::Trial) => LicenseKind::Trial,
        _ => LicenseKind::Permanent,
    }
}

fn step_two(st: &WebState, product: &Product, p: &FormData, what: &str, key: &KeyRow) -> Markup {
    let catalog = &st.app.catalog;
    let kind = chosen_kind(p);
    html! {
        form.stack method="get" action="/licenses/new" {
            (hidden(&[("key", key.id.clone()), ("product", product.code.clone()), ("what", what.to_string()), ("review", "1".to_string())]))
            @if what == "license" {
                fieldset {
                    legend { "Trial or permanent" }
                    div.choices {
                        label { input type="radio" name="kind" value=(LicenseKind::Permanent) checked[kind == LicenseKind::Permanent] data-toggles="trial-days" autofocus; " Permanent" }
                        label { input type="radio" name="kind" value=(LicenseKind::Trial) checked[kind == LicenseKind::Trial] data-toggles="trial-days"; " Trial" }
                    }
                    div #trial-days data-shown-for=(LicenseKind::Trial) {
                        label for="trial_days" { "Trial duration (days)" }
                        input #trial_days type="number" name="trial_days" min="1" max=(catalog.max_trial_days)
                            value=(p.opt("trial_days").unwrap_or("30")) aria-describedby="trial-hint";
                        p.hint #trial-hint { "Only for a trial: 1 to " (catalog.max_trial_days) " days. A trial costs no credits." }
                    }
                }
            }
            label for="edition" { "Edition" }
            select #edition name="edition" autofocus[what == "support"] {
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
                        option value=(m) selected[p.get("months") == m.to_string()] { (plural(i64::from(*m), "month")) }
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
    review::summary(
        "Summary",
        html! {
            div { dt { "Product" } dd { (product.name) " " (edition) } }
            div { dt { "Users" } dd { (p.get("users")) } }
            @if what == "support" {
                div { dt { "Length" } dd { (plural(p.get("months").parse().unwrap_or(0), "month")) } }
            } @else if chosen_kind(p) == LicenseKind::Trial {
                div { dt { "Kind" } dd { "Trial, " (plural(p.get("trial_days").parse().unwrap_or(0), "day")) } }
            } @else {
                div { dt { "Kind" } dd { "Permanent" } }
            }
        },
    )
}

/// The values a review shows and its confirmation must carry unchanged.
fn reviewed(p: &FormData) -> Vec<(&'static str, String)> {
    let names: &[&'static str] = if p.get("what") == "support" {
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
    names
        .iter()
        .filter(|n| !(**n == "trial_days" && chosen_kind(p) != LicenseKind::Trial))
        .map(|n| (*n, p.get(n).to_string()))
        .collect()
}
