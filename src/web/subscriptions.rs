//! Subscriptions (partner guide, section 5): the list, and "Generate a
//! Subscription" for Remote Support, where channels are the sessions the
//! customer may run at the same time.

use super::WebState;
use super::forms::{FormData, Params};
use super::generate::{key_choice, key_picker};
use super::layout::{
    self, credits, cta, day, empty_row, error_box, pager, plural, quote_panel, when,
};
use super::owners::owner_names;
use super::review;
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
            @if may_subscribe(&st, &s) {
                (cta("/subscriptions/new", "Generate a Subscription"))
            }
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
                            td.when { (day(&x.starts_on)) " – " (day(&x.ends_on)) " (" (x.months) " months)" }
                            td { (x.email.as_deref().unwrap_or("")) @if let Some(c) = &x.comment { br; span.muted { (c) } } }
                            td.num { (x.credits_spent) }
                            td { (owners.label(&x.owner_id)) }
                            td.when { (when(&x.created_at)) }
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
    if let Some(r) = review::assign_id(&s, &p) {
        return r;
    }
    render(&st, &s, &p, None).await
}

/// Whether the account may sell the subscription product at all.
pub fn may_subscribe(st: &WebState, s: &Session) -> bool {
    match (
        &s.caller.role,
        &s.account.products,
        st.app.catalog.subscription_product(),
    ) {
        (Role::Admin, _, _) => false,
        (Role::Reseller, Some(list), Some(x)) => list.contains(&x.code),
        (_, _, x) => x.is_some(),
    }
}

/// What the review shows and its confirmation carries.
fn reviewed(p: &FormData) -> Vec<(&'static str, String)> {
    ["key", "software", "channels", "months", "email", "comment"]
        .map(|n| (n, p.get(n).to_string()))
        .to_vec()
}

async fn render(st: &WebState, s: &Session, p: &FormData, error: Option<AppError>) -> Response {
    let title = "Generate a Subscription";
    if !may_subscribe(st, s) {
        let body = html! {
            p.warning role="alert" { "Remote Support is not among the products you may sell, so you cannot generate subscriptions." }
            p { a href="/subscriptions" { "Back to the subscriptions" } }
        };
        return layout::page_with_status(s, StatusCode::FORBIDDEN, title, body);
    }
    let choice = match key_choice(st, s, p).await {
        Ok(k) => k,
        Err(e) => return layout::session_error(s, &e),
    };
    if !choice.any {
        let body = html! {
            (error_box(choice.refused.as_ref()))
            p.notice { "A subscription goes on an Activation Key: create one first." }
            (cta("/keys/new", "Generate an Activation Key"))
        };
        return layout::page(s, title, body);
    }
    let product = st.app.catalog.subscription_product();
    let mut error = error.or(choice.refused.clone());
    let mut quote: Option<Quote> = None;
    if error.is_none() && review::reviewing(p) {
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
    let key = choice.chosen.as_ref();
    let body = html! {
        (error_box(error.as_ref()))
        // The review is its own step: the button confirms what it shows.
        @if let (Some(q), Some(k)) = (&quote, key) {
            section.summary aria-labelledby="summary-title" {
                h2 #summary-title { "Summary" }
                dl.figures {
                    div { dt { "Key" } dd.mono { (k.key) } }
                    div { dt { "Channels" } dd { (p.get("channels")) } }
                    div { dt { "Length" } dd { (plural(p.get("months").parse().unwrap_or(0), "month")) } }
                }
            }
            (quote_panel(s, q, "/subscriptions/new", review::confirm_fields(s, "/subscriptions/new", p, &reviewed(p)), "Submit", "fewer channels or a shorter period"))
            p { a #change href=(review::change_link(s, p)) { "Change the choices" } }
        } @else {
            form.stack method="get" action="/subscriptions/new" {
                input type="hidden" name="review" value="1";
                (key_picker(&choice, p))
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
                    @if let Some(x) = product { " " (credits(x.subscription_per_channel_month)) " per channel per month." }
                }
                label for="months" { "Months" }
                select #months name="months" {
                    @for m in &st.app.catalog.subscription_months {
                        option value=(m) selected[p.get("months") == m.to_string()] { (plural(i64::from(*m), "month")) }
                    }
                }
                label for="email" { "Customer email (optional)" }
                input #email type="email" name="email" value=(p.get("email"));
                label for="comment" { "Comment (optional)" }
                input #comment type="text" name="comment" value=(p.get("comment")) maxlength="500";
                button type="submit" { "Review" }
            }
        }
    };
    layout::page_with_status(s, status, title, body)
}

pub async fn create(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let result = match operation(&st, &form) {
        Ok(op) => match review::check(&s, "/subscriptions/new", &form, &reviewed(&form)) {
            Ok(idem) => st.app.execute_operation(&s.caller, &op, Some(idem)).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => redirect_with_flash(
            "/subscriptions",
            &format!(
                "Subscription generated: {} for {}.",
                plural(form.get("channels").parse().unwrap_or(0), "channel"),
                plural(form.get("months").parse().unwrap_or(0), "month")
            ),
            s.secure,
        ),
        Err(e) => {
            let mut back = form.clone();
            back.0
                .retain(|(k, _)| k != "review" && k != review::REVIEW_ID);
            render(&st, &s, &back, Some(e)).await
        }
    }
}
