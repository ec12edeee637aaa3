//! Subscriptions (partner guide, section 5): the list, and "Generate a
//! Subscription" for Remote Support, where channels are the sessions the
//! customer may run at the same time.

use super::WebState;
use super::forms::{FormData, Params, hidden};
use super::generate::own_keys;
use super::layout::{self, cta, day, empty_row, error_box, pager, quote_panel, when};
use super::owners::owner_names;
use super::session::{Session, SignedForm, redirect_with_flash};
use crate::app::{CreateSubscription, Operation, Quote};
use crate::error::{AppError, AppResult};
use aggregates::Role;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

pub async fn list(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    let page = match st.app.subscriptions(&s.caller, None, &p.page()).await {
        Ok(page) => page,
        Err(e) => return layout::session_error(&s, &e),
    };
    let owners = owner_names(&st, &s).await;
    let software = |code: &str| {
        st.app
            .catalog
            .product(code)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let body = html! {
        div.toolbar {
            p.hint { "Remote Support is sold as a subscription: a number of channels for a number of months." }
            (cta("/subscriptions/new", "Generate a Subscription"))
        }
        div.table-wrap {
            table #subscriptions {
                caption.visually-hidden { "Subscriptions" }
                thead { tr {
                    th scope="col" { "Software" } th scope="col" { "Channels" } th scope="col" { "Period" }
                    th scope="col" { "Email / comment" } th scope="col" { "Credits" } th scope="col" { "Owner" } th scope="col" { "Created" }
                } }
                tbody {
                    @if page.rows.is_empty() { (empty_row(7, "No subscription yet.")) }
                    @for (_, x) in &page.rows {
                        tr.reseller-row[!owners.is_own(&x.owner_id)] {
                            td { (software(&x.software)) }
                            td.num { (x.channels) }
                            td { (day(&x.starts_on)) " – " (day(&x.ends_on)) " (" (x.months) " months)" }
                            td { (x.email.as_deref().unwrap_or("")) @if let Some(c) = &x.comment { br; span.muted { (c) } } }
                            td.num { (x.credits_spent) }
                            td { (owners.label(&x.owner_id)) }
                            td { (when(&x.created_at)) }
                        }
                    }
                }
            }
        }
        (pager("/subscriptions", &p, &page))
    };
    layout::page(&s, "Subscriptions", body)
}

fn operation(st: &WebState, p: &FormData) -> AppResult<Operation> {
    let software = st
        .app
        .catalog
        .subscription_product()
        .filter(|x| x.code == p.get("software"))
        .ok_or_else(|| AppError::bad("choose the software"))?;
    Ok(Operation::CreateSubscription(CreateSubscription {
        key_id: p.get("key").to_string(),
        software: software.code.clone(),
        channels: p.int("channels", "Channels")?,
        months: p.int("months", "Months")?,
        email: p.opt("email").map(str::to_string),
        comment: p.opt("comment").map(str::to_string),
    }))
}

pub async fn new_page(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    render(&st, &s, &p, None).await
}

async fn render(st: &WebState, s: &Session, p: &FormData, error: Option<AppError>) -> Response {
    let keys = match own_keys(st, s).await {
        Ok(k) => k,
        Err(e) => return layout::session_error(s, &e),
    };
    let title = "Generate a Subscription";
    if keys.is_empty() {
        let body = html! {
            p.notice { "A subscription goes on an Activation Key: create one first." }
            (cta("/keys/new", "Generate an Activation Key"))
        };
        return layout::page(s, title, body);
    }
    let product = st.app.catalog.subscription_product();
    let allowed = match (&s.caller.role, &s.account.products, product) {
        (Role::Reseller, Some(list), Some(x)) => list.contains(&x.code),
        (_, _, x) => x.is_some(),
    };
    let mut error = error;
    let mut quote: Option<Quote> = None;
    if error.is_none() && p.get("review") == "1" {
        match operation(st, p) {
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
        @if !allowed {
            p.warning role="alert" { "Remote Support is not among the products you may sell." }
        }
        (error_box(error.as_ref()))
        @if let Some(q) = &quote {
            @let fields = hidden(&["key", "software", "channels", "months", "email", "comment"].map(|n| (n, p.get(n).to_string())));
            (quote_panel(s, q, "/subscriptions/new", fields, "Submit"))
            h2 { "Change the choices" }
        }
        form.stack method="get" action="/subscriptions/new" {
            input type="hidden" name="review" value="1";
            label for="key" { "Activation key" }
            select #key name="key" {
                @for k in &keys {
                    option value=(k.id) selected[k.id == p.get("key")] { (k.key) " — " (k.name) }
                }
            }
            label for="software" { "Software" }
            select #software name="software" {
                @if let Some(x) = product {
                    option value=(x.code) selected { (x.name) }
                }
            }
            label for="channels" { "Channels" }
            input #channels type="number" name="channels" min="1" max=(aggregates::values::MAX_CHANNELS)
                value=(p.opt("channels").unwrap_or("1")) required aria-describedby="channels-hint";
            p.hint #channels-hint {
                "The number of concurrent sessions: how many Remote Support sessions the customer can run at the same time."
                @if let Some(x) = product { " " (x.subscription_per_channel_month) " credits per channel per month." }
            }
            label for="months" { "Months" }
            select #months name="months" {
                @for m in &st.app.catalog.subscription_months {
                    option value=(m) selected[p.get("months") == m.to_string()] { (m) " months" }
                }
            }
            label for="email" { "Customer email (optional)" }
            input #email type="email" name="email" value=(p.get("email"));
            label for="comment" { "Comment (optional)" }
            input #comment type="text" name="comment" value=(p.get("comment")) maxlength="500";
            button type="submit" { "Review" }
        }
    };
    layout::page_with_status(s, status, title, body)
}

pub async fn create(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let result = match operation(&st, &form) {
        Ok(op) => {
            st.app
                .execute_operation(&s.caller, &op, form.opt("_idem"))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => redirect_with_flash(
            "/subscriptions",
            &format!(
                "Subscription generated: {} channels for {} months.",
                form.get("channels"),
                form.get("months")
            ),
            s.secure,
        ),
        Err(e) => render(&st, &s, &form, Some(e)).await,
    }
}
