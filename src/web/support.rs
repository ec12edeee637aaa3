//! Support (partner guide, section 4): the table of support contracts, the
//! caller's and (for a partner) its resellers' told apart, each with its key,
//! the key's name and the customer's email and comment, with the "End of
//! Support" date range and an expired toggle; Upgrade (edition, users) and
//! Extend, each priced before it is confirmed, and Edit (email, comment).

use super::WebState;
use super::forms::{FormData, Params, encode};
use super::keys::{chosen_on_key, key_cell, keys_of};
use super::layout::{
    self, Col, Shown, Table, credits, cta, data_table, day, error_box, pager, plural,
    product_filter,
};
use super::owners::{OwnerNames, owner_names, reseller_owner};
use super::review::{self, ChangePage};
use super::session::Session;
use crate::app::{EXPIRING_DAYS, Operation};
use crate::error::{AppError, AppResult};
use aggregates::Role;
use axum::extract::State;
use axum::response::Response;
use chrono::{Duration, Utc};
use maud::{Markup, html};
use projections::db::date_text;
use projections::queries::{KeyRow, Page, SupportFilter, SupportOrder, SupportRow};
use std::collections::HashMap;

fn filter_of(p: &FormData) -> AppResult<SupportFilter> {
    let mut from = p.date("from", "The first End of Support date")?;
    let mut to = p.date("to", "The last End of Support date")?;
    if p.get("soon") == "1" {
        // The home page's "ending within 30 days" link.
        let today = Utc::now().date_naive();
        from = from.or(Some(today));
        to = to.or(Some(today + Duration::days(EXPIRING_DAYS)));
    }
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::bad(format!(
            "the End of Support range starts ({f}) after it ends ({t}): choose a first date on or before the last one"
        )));
    }
    Ok(SupportFilter {
        product: p.opt("product").map(str::to_string),
        end_from: from.map(date_text),
        end_to: to.map(date_text),
        expired: (p.get("expired") == "1").then_some(true),
        ..SupportFilter::default()
    })
}

pub async fn list(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    let partner = s.caller.role == Role::Partner;
    let seller = s.caller.role != Role::Admin;
    // A partner sees its resellers' rows unless it unticks the box; the
    // form sends "resellers=0" as a hidden default and "1" when ticked.
    let include_resellers =
        !partner || p.all("resellers").iter().any(|v| v == "1") || !p.has("resellers");
    // A filter that does not hold shows its error and no rows, never
    // everything as if there were no filter.
    let (filter, error) = match filter_of(&p) {
        Ok(f) => (Some(f), None),
        Err(e) => (None, Some(e)),
    };
    let page = match &filter {
        Some(filter) => match st
            .app
            .supports(
                &s.caller,
                filter,
                include_resellers,
                SupportOrder::EndAsc,
                &p.page(),
            )
            .await
        {
            Ok(page) => page,
            Err(e) => return layout::session_error(&s, &e),
        },
        None => Page {
            rows: vec![],
            has_next: false,
            total: 0,
        },
    };
    // The dates in force, shown in the fields (the home page's link only
    // says "soon").
    let from_value = filter
        .as_ref()
        .and_then(|f| f.end_from.clone())
        .unwrap_or_else(|| p.get("from").to_string());
    let to_value = filter
        .as_ref()
        .and_then(|f| f.end_to.clone())
        .unwrap_or_else(|| p.get("to").to_string());
    let filtered = ["from", "to", "product", "expired", "soon"]
        .iter()
        .any(|n| p.opt(n).is_some())
        || (partner && !include_resellers);
    let owners = owner_names(&st, &s).await;
    let keys = keys_of(&st, &s, page.rows.iter().map(|(_, x)| x.key_id.as_str())).await;
    let today = date_text(Utc::now().date_naive());
    let catalog = &st.app.catalog;
    let body = html! {
        (error_box(error.as_ref()))
        div.toolbar {
            form.filters method="get" action="/support" role="search" {
                div {
                    label for="f-from" { "End of Support from" }
                    input #f-from type="date" name="from" value=(from_value);
                }
                div {
                    label for="f-to" { "to" }
                    input #f-to type="date" name="to" value=(to_value);
                }
                (product_filter(catalog, &p))
                div.check {
                    input #f-expired type="checkbox" name="expired" value="1" checked[p.get("expired") == "1"];
                    label for="f-expired" { "Only expired" }
                }
                @if partner {
                    div.check {
                        input type="hidden" name="resellers" value="0";
                        input #f-resellers type="checkbox" name="resellers" value="1" checked[include_resellers];
                        label for="f-resellers" { "Include my resellers' support" }
                    }
                }
                button type="submit" { "Filter" }
                @if filtered { a #clear-filters href="/support" { "Clear filters" } }
            }
            @if seller { (cta("/licenses/new?what=support", "Generate Support")) }
        }
        (data_table(
            Table { id: Some("supports"), caption: "Support contracts", columns: &[
                Col::Text("Key"), Col::Text("Product"), Col::Text("Users"), Col::Text("Starts"), Col::Text("End of Support"), Col::Text("Email / comment"), Col::Text("Owner"), Col::Actions
            ] },
            page.rows.is_empty().then_some(if error.is_some() { "Correct the filters to see supports." } else { "No support matches these filters." }),
            html! {
                @for (_, x) in &page.rows {
                    (support_row(&st, x, (&owners, &keys), &today, seller))
                }
            },
        ))
        (pager("/support", &p, &page))
    };
    layout::page_for(&s, error.as_ref(), "Support", body)
}

/// One support's row in the list: actions only for a seller, and an expired
/// support is extended, not upgraded.
fn support_row(
    st: &WebState,
    x: &SupportRow,
    (owners, keys): (&OwnerNames, &HashMap<String, KeyRow>),
    today: &str,
    seller: bool,
) -> Markup {
    html! {
        tr.reseller-row[!owners.is_own(&x.owner_id)] {
            td { (key_cell(keys, &x.key_id)) }
            td { (product_label(st, x)) }
            td.num { (x.users) }
            td.when { (day(&x.starts_on)) }
            td {
                (day(&x.end_of_support))
                @if x.end_of_support.as_str() < today { " " span.badge.expired { "Expired" } }
            }
            td.text { (x.email.as_deref().unwrap_or("")) @if let Some(c) = &x.comment { br; span.muted { (c) } } }
            td { (owners.label(&x.owner_id)) }
            td.actions {
                @if seller {
                    @if x.end_of_support.as_str() >= today {
                        a href={ "/support/" (encode(&x.id)) "/upgrade" } { "Upgrade" }
                    }
                    a href={ "/support/" (encode(&x.id)) "/extend" } { "Extend" }
                    a href={ "/support/" (encode(&x.id)) "/edit" } { "Edit" }
                }
            }
        }
    }
}

fn product_label(st: &WebState, x: &SupportRow) -> Markup {
    let catalog = &st.app.catalog;
    html! {
        (catalog.product_name(&x.product))
        " " span.muted { (catalog.edition_name(&x.product, &x.edition)) }
    }
}

/// The support a page acts on, on which key, and whose it is when a partner
/// acts on its reseller's.
pub(super) async fn describe(
    st: &WebState,
    s: &Session,
    x: &SupportRow,
    reseller: Option<&str>,
) -> Markup {
    let what = html! {
        strong { (product_label(st, x)) }
        " · " (plural(x.users, "user")) " · ends " (day(&x.end_of_support))
    };
    chosen_on_key(st, s, what, &x.key_id, reseller).await
}

/// A priced change to a support.
#[derive(Clone, Copy)]
pub enum Change {
    Upgrade,
    Extend,
}

impl review::Change for Change {
    fn action(self, id: &str) -> String {
        let path = match self {
            Change::Upgrade => "upgrade",
            Change::Extend => "extend",
        };
        format!("/support/{}/{path}", encode(id))
    }

    fn operation(self, id: &str, p: &FormData) -> AppResult<Operation> {
        Ok(match self {
            Change::Upgrade => Operation::UpgradeSupport {
                id: id.to_string(),
                users: p.opt_int("users", "Users")?,
                edition: p.opt("edition").map(str::to_string),
            },
            Change::Extend => Operation::ExtendSupport {
                id: id.to_string(),
                months: p.int("months", "The extension's length")?,
            },
        })
    }

    fn fields(self, p: &FormData) -> Vec<(&'static str, String)> {
        let names: &[&'static str] = match self {
            Change::Upgrade => &["users", "edition"],
            Change::Extend => &["months"],
        };
        names.iter().map(|n| (*n, p.get(n).to_string())).collect()
    }

    async fn render(self, page: ChangePage<'_>, error: Option<AppError>) -> Shown {
        let ChangePage { st, s, id, p } = page;
        let support = layout::shown(s, st.app.support(&s.caller, id).await)?;
        let reseller = reseller_owner(st, s, &support.owner_id).await;
        let (quote, error) = review::priced(st, s, p, error, self.operation(id, p)).await;
        let (title, button, smaller) = match self {
            Change::Upgrade => (
                "Upgrade a support",
                "Upgrade",
                "fewer users or a lower edition",
            ),
            Change::Extend => ("Extend a support", "Extend", "a shorter extension"),
        };
        let action = self.action(id);
        let product = st.app.catalog.product(&support.product);
        let users = p
            .opt("users")
            .map(str::to_string)
            .unwrap_or(support.users.to_string());
        let edition = p.opt("edition").unwrap_or(&support.edition).to_string();
        let months = p.get("months").to_string();
        let edition_name = st.app.catalog.edition_name(&support.product, &edition);
        let confirm = review::Confirm {
            action: &action,
            fields: &self.fields(p),
            button,
            smaller,
        };
        let described = describe(st, s, &support, reseller.as_deref()).await;
        let body = html! {
            (described)
            (error_box(error.as_ref()))
            @if let Some(q) = &quote {
                (review::review_step(s, p, q, review::summary("Summary", html! {
                    @match self {
                        Change::Upgrade => {
                            div { dt { "Edition" } dd { (edition_name) } }
                            div { dt { "Users" } dd #review-users { (users) } }
                        }
                        Change::Extend => {
                            div { dt { "Extend by" } dd { (plural(months.parse().unwrap_or(0), "month")) } }
                        }
                    }
                }), &confirm))
            } @else {
                (review::choices_form(&action, html! {
                    @match self {
                        Change::Upgrade => {
                            (review::upgrade_fields(
                                review::Upgrade { product, from: (support.users, &support.edition), to: (&users, &edition) },
                                |e| format!("{} per user per month", credits(e.support_per_user_month)),
                                "The difference is charged for the months left until the End of Support.",
                            ))
                        }
                        Change::Extend => {
                            label for="months" { "Extend by" }
                            select #months name="months" aria-describedby="months-hint" autofocus {
                                @for m in &st.app.catalog.support_months {
                                    option value=(m) selected[months == m.to_string()] { (plural(i64::from(*m), "month")) }
                                }
                            }
                            p.hint #months-hint { "The new period starts the day after the current End of Support, or today if it has already expired." }
                        }
                    }
                }))
            }
            p { a href="/support" { "Back to the support list" } }
        };
        Ok(layout::page_for(s, error.as_ref(), title, body))
    }

    async fn done(self, st: &WebState, s: &Session, id: &str) -> (&'static str, String) {
        let message = match self {
            Change::Upgrade => "The support was upgraded.".to_string(),
            Change::Extend => match st.app.support(&s.caller, id).await {
                Ok(x) => format!("The support was extended to {}.", day(&x.end_of_support)),
                Err(_) => "The support was extended.".to_string(),
            },
        };
        ("/support", message)
    }
}
