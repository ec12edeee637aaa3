//! Credit history: the ledger of an account with its running balance, a date
//! filter, a CSV download of the same rows, and a chart of the balance.
//! A partner may look at its resellers' histories, the administrator at
//! anyone's; the application layer decides, as for the API.

use super::WebState;
use super::chart;
use super::forms::{FormData, Params, encode};
use super::layout::{self, Col, Table, data_table, error_box, pager, when};
use super::session::Session;
use crate::error::{AppError, AppResult};
use aggregates::Role;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Days, Utc};
use maud::html;
use projections::queries::{AccountRow, CreditEntryRow, PageRequest};
use std::collections::HashMap;

/// Entries the chart shows at most: the newest of the range. Enough for a
/// year of daily activity, and cheap however long the history is.
const CHART_POINTS: i64 = 1_000;
/// Rows per query while writing the CSV, and the most it writes.
const CSV_BATCH: i64 = 5_000;
const CSV_MAX: usize = 1_000_000;

/// A filter's bounds; either may be open.
type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// [from, to] as times: `to` is inclusive of its whole day.
fn range(p: &FormData) -> AppResult<Range> {
    let from = p.date("from", "The first date")?;
    let to = p.date("to", "The last date")?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::bad("the date range starts after it ends"));
    }
    let start = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    Ok((
        from.and_then(start),
        to.and_then(|d| d.checked_add_days(Days::new(1)))
            .and_then(start)
            .map(|t| t - chrono::Duration::milliseconds(1)),
    ))
}

/// Who made each entry, as the viewer knows them, by actor id: "You", the
/// account whose history it is, "Your partner" (for a reseller), "The
/// vendor", or the name of an account the viewer may see. An auditor reads
/// from this who spent a reseller's credits: the reseller, or its partner.
async fn actor_labels<'a>(
    st: &WebState,
    s: &Session,
    subject: &AccountRow,
    entries: impl Iterator<Item = &'a CreditEntryRow>,
) -> HashMap<String, String> {
    let mut labels = HashMap::new();
    for id in entries.filter_map(|e| e.actor_id.as_deref()) {
        if labels.contains_key(id) {
            continue;
        }
        let label = if id == s.caller.id {
            "You".to_string()
        } else if id == subject.id {
            subject.name.clone()
        } else if s.account.parent_id.as_deref() == Some(id) {
            "Your partner".to_string()
        } else {
            // Only a label depends on this: a failed lookup leaves it blank.
            match st.app.account_of(id).await {
                Ok(Some(a)) if a.role == Role::Admin.as_str() => "The vendor".to_string(),
                Ok(Some(a)) if s.caller.may_see(&a) => a.name,
                _ => String::new(),
            }
        };
        labels.insert(id.to_string(), label);
    }
    labels
}

fn actor_label<'a>(labels: &'a HashMap<String, String>, e: &CreditEntryRow) -> &'a str {
    e.actor_id
        .as_deref()
        .and_then(|id| labels.get(id))
        .map(String::as_str)
        .unwrap_or("")
}

/// Every entry of the range, oldest first, read in keyset batches.
async fn all_entries(
    st: &WebState,
    s: &Session,
    account: Option<&str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<Vec<CreditEntryRow>> {
    let mut out = Vec::new();
    let mut page = PageRequest {
        first: CSV_BATCH,
        after: None,
    };
    loop {
        let batch = st
            .app
            .credit_history(&s.caller, account, from, to, &page)
            .await?;
        page.after = batch.rows.last().map(|(c, _)| c.clone());
        out.extend(batch.rows.into_iter().map(|(_, e)| e));
        if !batch.has_next || out.len() >= CSV_MAX {
            return Ok(out);
        }
    }
}

/// Whose history a request asks for (`account`, else the caller's own), if
/// the caller may see it.
async fn subject(st: &WebState, s: &Session, p: &FormData) -> AppResult<AccountRow> {
    st.app
        .visible_account(&s.caller, p.opt("account").unwrap_or(&s.caller.id))
        .await
}

pub async fn history(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    let account = p.opt("account");
    // The administrator's own account moves no credits: its history is the
    // grants it made.
    if s.caller.role == Role::Admin && account.is_none_or(|a| a == s.caller.id) {
        return grants(&st, &s, &p).await;
    }
    let (from, to, error) = match range(&p) {
        Ok((f, t)) => (f, t, None),
        Err(e) => (None, None, Some(e)),
    };
    let subject = match subject(&st, &s, &p).await {
        Ok(a) => a,
        Err(e) => return layout::session_error(&s, &e),
    };
    let page = match st
        .app
        .credit_history(&s.caller, account, from, to, &p.page())
        .await
    {
        Ok(page) => page,
        Err(e) => return layout::session_error(&s, &e),
    };
    let (points, truncated) = match st
        .app
        .recent_balances(&s.caller, account, from, to, CHART_POINTS)
        .await
    {
        Ok(x) => x,
        Err(e) => return layout::session_error(&s, &e),
    };
    let choices = match s.caller.role {
        Role::Partner => {
            let req = PageRequest {
                first: 500,
                after: None,
            };
            st.app
                .visible_accounts(&s.caller, None, &req)
                .await
                .map(|p| p.rows.into_iter().map(|(_, a)| a).collect())
                .unwrap_or_default()
        }
        _ => vec![],
    };
    let csv_link = format!("/credits.csv?{}", p.with(&[("after", ""), ("back", "")]));
    let own = subject.id == s.caller.id;
    let actors = actor_labels(&st, &s, &subject, page.rows.iter().map(|(_, e)| e)).await;
    let body = html! {
        (error_box(error.as_ref()))
        @if !own {
            p.chosen { "History of " strong { (subject.name) } " (" (subject.login) "), balance " strong { (subject.balance) } " credits." }
        }
        form.filters method="get" action="/credits" role="search" {
            @if !choices.is_empty() {
                div {
                    label for="f-account" { "Account" }
                    select #f-account name="account" {
                        option value="" { "My own" }
                        @for a in &choices {
                            option value=(a.id) selected[account == Some(a.id.as_str())] { (a.name) " (reseller)" }
                        }
                    }
                }
            } @else if let Some(a) = account {
                input type="hidden" name="account" value=(a);
            }
            div { label for="f-from" { "From" } input #f-from type="date" name="from" value=(p.get("from")); }
            div { label for="f-to" { "To" } input #f-to type="date" name="to" value=(p.get("to")); }
            button type="submit" { "Show" }
            a.button href=(csv_link) download { "Download CSV" }
        }
        figure.chart {
            (chart::balance_chart(&points))
            figcaption {
                "Balance after each entry"
                @if truncated { " (the newest " (CHART_POINTS) " entries of this range; narrow the dates to see older ones)" }
                "."
            }
        }
        (data_table(
            Table { id: Some("history"), caption: "Credit history", columns: &[
                Col::Text("Date (UTC)"), Col::Text("What"), Col::Text("Reference"), Col::Text("By"), Col::Num("Amount"), Col::Num("Balance")
            ] },
            page.rows.is_empty().then_some("No entry in this range."),
            html! {
                @for (_, e) in &page.rows {
                    tr {
                        td.when { (when(&e.at)) }
                        td.text { (st.app.credit_description(e)) }
                        td { (shown_reference(e)) }
                        td { (actor_label(&actors, e)) }
                        td class={ "num " (if e.amount < 0 { "out" } else { "in" }) } {
                            @if e.amount > 0 { "+" } (e.amount)
                        }
                        td.num { (e.balance_after) }
                    }
                }
            },
        ))
        (pager("/credits", &p, &page))
    };
    layout::page_for(&s, error.as_ref(), "Credit history", body)
}

/// The grants the administrator made, newest first, each with the partner
/// it went to and a link to that partner's history.
async fn grants(st: &WebState, s: &Session, p: &FormData) -> Response {
    let page = match st.app.grants_made(&s.caller, &p.page()).await {
        Ok(page) => page,
        Err(e) => return layout::session_error(s, &e),
    };
    let mut partners: HashMap<String, String> = HashMap::new();
    for (_, e) in &page.rows {
        if !partners.contains_key(&e.account_id)
            && let Ok(Some(a)) = st.app.account_of(&e.account_id).await
        {
            partners.insert(e.account_id.clone(), a.name);
        }
    }
    let body = html! {
        p.hint { "The credits you granted, newest first. A partner's name opens its credit history." }
        (data_table(
            Table { id: Some("grants"), caption: "Grants made", columns: &[
                Col::Text("Date (UTC)"), Col::Text("Partner"), Col::Text("Reference"), Col::Num("Amount"), Col::Num("Partner's balance after")
            ] },
            page.rows.is_empty().then_some("You have not granted credits yet."),
            html! {
                @for (_, e) in &page.rows {
                    tr {
                        td.when { (when(&e.at)) }
                        td {
                            a href={ "/credits?account=" (encode(&e.account_id)) } {
                                (partners.get(&e.account_id).map(String::as_str).unwrap_or(&e.account_id))
                            }
                        }
                        td.text { (e.reference.as_deref().unwrap_or("")) }
                        td.num.in { "+" (e.amount) }
                        td.num { (e.balance_after) }
                    }
                }
            },
        ))
        (pager("/credits", p, &page))
    };
    layout::page(s, "Grants made", body)
}

pub async fn csv(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    let subject = match subject(&st, &s, &p).await {
        Ok(a) => a,
        Err(e) => return layout::session_error(&s, &e),
    };
    let result = match range(&p) {
        Ok((from, to)) => all_entries(&st, &s, p.opt("account"), from, to).await,
        Err(e) => Err(e),
    };
    let rows = match result {
        Ok(x) => x,
        Err(e) => return layout::session_error(&s, &e),
    };
    let actors = actor_labels(&st, &s, &subject, rows.iter()).await;
    let mut out = String::from("date,what,reason,reference,amount,balance_after,by\r\n");
    for e in &rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\r\n",
            e.at,
            cell(&st.app.credit_description(e)),
            e.reason,
            cell(e.reference.as_deref().unwrap_or("")),
            e.amount,
            e.balance_after,
            cell(actor_label(&actors, e))
        ));
    }
    let name = format!(
        "attachment; filename=\"credit-history-{}.csv\"",
        encode(p.opt("account").unwrap_or(&s.account.login))
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        out,
    )
        .into_response()
}

/// The reference a person reads: a grant's own reference, or for an entry
/// written before its parts were kept, the id it concerns. Otherwise the
/// description already says what it was for (the CSV keeps the id).
fn shown_reference(e: &CreditEntryRow) -> &str {
    match (e.reason.as_str(), &e.detail) {
        ("GRANT", _) | (_, None) => e.reference.as_deref().unwrap_or(""),
        _ => "",
    }
}

/// A CSV text cell: quoted, and never read as a formula by a spreadsheet.
fn cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}
