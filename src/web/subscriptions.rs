//! Subscriptions (partner guide, section 5): the list (key and its name, the
//! period with ended ones marked), "Generate a Subscription" for Remote
//! Support, where channels are the sessions the customer may run at the same
//! time, and per subscription Extend (more months) and More channels, each
//! priced before it is confirmed like a support's.

use super::WebState;
use super::forms::{FormData, Params, encode};
use super::generate::{key_choice, key_picker};
use super::keys::{chosen_on_key, key_cell, keys_of};
use super::layout::{
    self, Col, Shown, Table, credits, cta, data_table, day, error_box, pager, plural, when,
};
use super::owners::{owner_names, reseller_owner};
use super::review::{self, ChangePage};
use super::session::{Session, SignedForm, redirect_with_flash};
use crate::app::{CreateSubscription, Operation};
use crate::error::{AppError, AppResult};
use aggregates::Role;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use projections::db::date_text;
use projections::queries::SubscriptionRow;

pub async fn list(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    let page = match st.app.subscriptions(&s.caller, None, &p.page()).await {
        Ok(page) => page,
        Err(e) => return layout::session_error(&s, &e),
    };
    let owners = owner_names(&st, &s).await;
    let keys = keys_of(&st, &s, page.rows.iter().map(|(_, x)| x.key_id.as_str())).await;
    let today = date_text(Utc::now().date_naive());
    let seller = s.caller.role != Role::Admin;
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
        // Ten columns pushed the actions out of sight at 1280 px:
        // the period is one column and the creation time its title.
        (data_table(
            Table { id: Some("subscriptions"), caption: "Subscriptions", columns: &[
                Col::Text("Key"), Col::Text("Software"), Col::Text("Channels"), Col::Text("Period"), Col::Text("Email / comment"), Col::Text("Credits"), Col::Text("Owner"), Col::Actions
            ] },
            page.rows.is_empty().then_some("No subscription yet."),
            html! {
                @for (_, x) in &page.rows {
                    @let ended = x.ends_on.as_str() < today.as_str();
                    tr.reseller-row[!owners.is_own(&x.owner_id)] {
                        td { (key_cell(&keys, &x.key_id)) }
                        td { (software(&x.software)) }
                        td.num { (x.channels) }
                        td.when title={ "Created " (when(&x.created_at)) } {
                            (day(&x.starts_on)) br;
                            span.muted { "to " } (day(&x.ends_on))
                            @if ended { " " span.badge.expired { "Expired" } }
                        }
                        td.text { (x.email.as_deref().unwrap_or("")) @if let Some(c) = &x.comment { br; span.muted { (c) } } }
                        td.num { (x.credits_spent) }
                        td { (owners.label(&x.owner_id)) }
                        td.actions {
                            // Only what would be accepted: channels are
                            // added to a running subscription only.
                            @if seller {
                                a href={ "/subscriptions/" (encode(&x.id)) "/extend" } { "Extend" }
                                @if !ended {
                                    a href={ "/subscriptions/" (encode(&x.id)) "/upgrade" } { "More channels" }
                                }
                            }
                        }
                    }
                }
            },
        ))
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
    let error = error.or(choice.refused.clone());
    let (quote, error) = review::priced(st, s, p, error, operation(st, p)).await;
    let key = choice.chosen.as_ref();
    let confirm = review::Confirm {
        action: "/subscriptions/new",
        fields: &reviewed(p),
        button: "Submit",
        smaller: "fewer channels or a shorter period",
    };
    let body = html! {
        (error_box(error.as_ref()))
        @if let (Some(q), Some(k)) = (&quote, key) {
            (review::review_step(s, p, q, review::summary("Summary", html! {
                div { dt { "Key" } dd.mono { (k.key) } }
                div { dt { "Channels" } dd { (p.get("channels")) } }
                div { dt { "Length" } dd { (plural(p.get("months").parse().unwrap_or(0), "month")) } }
            }), &confirm))
        } @else {
            (review::choices_form("/subscriptions/new", html! {
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
            }))
        }
    };
    layout::page_for(s, error.as_ref(), title, body)
}

pub async fn create(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let op = operation(&st, &form);
    let result =
        review::confirmed(&st, &s, "/subscriptions/new", &form, &reviewed(&form), op).await;
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
        Err(e) => render(&st, &s, &review::unreviewed(&form), Some(e)).await,
    }
}

/// The subscription a page acts on, on which key, and whose it is when a
/// partner acts on its reseller's.
async fn describe(st: &WebState, s: &Session, x: &SubscriptionRow) -> Markup {
    let reseller = reseller_owner(st, s, &x.owner_id).await;
    let what = html! {
        strong { (st.app.catalog.product_name(&x.software)) }
        " · " (plural(x.channels, "channel")) " · ends " (day(&x.ends_on))
    };
    chosen_on_key(st, s, what, &x.key_id, reseller.as_deref()).await
}

/// A priced change to a subscription.
#[derive(Clone, Copy)]
pub enum Change {
    Extend,
    Upgrade,
}

impl review::Change for Change {
    fn action(self, id: &str) -> String {
        let path = match self {
            Change::Extend => "extend",
            Change::Upgrade => "upgrade",
        };
        format!("/subscriptions/{}/{path}", encode(id))
    }

    fn fields(self, p: &FormData) -> Vec<(&'static str, String)> {
        let name = match self {
            Change::Extend => "months",
            Change::Upgrade => "channels",
        };
        vec![(name, p.get(name).to_string())]
    }

    fn operation(self, id: &str, p: &FormData) -> AppResult<Operation> {
        Ok(match self {
            Change::Extend => Operation::ExtendSubscription {
                id: id.to_string(),
                months: p.int("months", "The extension's length")?,
            },
            Change::Upgrade => Operation::UpgradeSubscription {
                id: id.to_string(),
                channels: p.int("channels", "Channels")?,
            },
        })
    }

    async fn render(self, page: ChangePage<'_>, error: Option<AppError>) -> Shown {
        let ChangePage { st, s, id, p } = page;
        let x = layout::shown(s, st.app.subscription(&s.caller, id).await)?;
        let (quote, error) = review::priced(st, s, p, error, self.operation(id, p)).await;
        let (title, button, smaller) = match self {
            Change::Extend => ("Extend a subscription", "Extend", "a shorter extension"),
            Change::Upgrade => (
                "Add channels to a subscription",
                "Add channels",
                "fewer channels",
            ),
        };
        let action = self.action(id);
        let price = st
            .app
            .catalog
            .product(&x.software)
            .map(|p| p.subscription_per_channel_month)
            .unwrap_or(0);
        let channels = p
            .opt("channels")
            .map(str::to_string)
            .unwrap_or_else(|| (x.channels + 1).to_string());
        let months = p.get("months").to_string();
        let confirm = review::Confirm {
            action: &action,
            fields: &self.fields(p),
            button,
            smaller,
        };
        let described = describe(st, s, &x).await;
        let body = html! {
            (described)
            (error_box(error.as_ref()))
            @if let Some(q) = &quote {
                (review::review_step(s, p, q, review::summary("Summary", html! {
                    @match self {
                        Change::Extend => {
                            div { dt { "Extend by" } dd { (plural(months.parse().unwrap_or(0), "month")) } }
                        }
                        Change::Upgrade => {
                            div { dt { "Channels" } dd #review-channels { (channels) } }
                        }
                    }
                }), &confirm))
            } @else {
                (review::choices_form(&action, html! {
                    @match self {
                        Change::Extend => {
                            label for="months" { "Extend by" }
                            select #months name="months" aria-describedby="months-hint" autofocus {
                                @for m in &st.app.catalog.subscription_months {
                                    option value=(m) selected[months == m.to_string()] { (plural(i64::from(*m), "month")) }
                                }
                            }
                            p.hint #months-hint {
                                "The new period starts the day after the current end, or today if it has already ended. "
                                (credits(price)) " per channel per month."
                            }
                        }
                        Change::Upgrade => {
                            label for="channels" { "Channels" }
                            input #channels type="number" name="channels" min=(x.channels + 1) max=(aggregates::values::MAX_CHANNELS)
                                value=(channels) required aria-describedby="channels-hint" autofocus;
                            p.hint #channels-hint {
                                "The concurrent sessions the customer can run at the same time. The added channels are charged for the days left until the subscription ends, at "
                                (credits(price)) " per channel per month."
                            }
                        }
                    }
                }))
            }
            p { a href="/subscriptions" { "Back to the subscriptions" } }
        };
        Ok(layout::page_for(s, error.as_ref(), title, body))
    }

    async fn done(self, st: &WebState, s: &Session, id: &str) -> (&'static str, String) {
        let message = match (self, st.app.subscription(&s.caller, id).await) {
            (Change::Extend, Ok(x)) => {
                format!("The subscription was extended to {}.", day(&x.ends_on))
            }
            (Change::Upgrade, Ok(x)) => {
                format!(
                    "The subscription now has {}.",
                    plural(x.channels, "channel")
                )
            }
            _ => "The subscription was changed.".to_string(),
        };
        ("/subscriptions", message)
    }
}
