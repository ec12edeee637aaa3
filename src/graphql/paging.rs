//! Relay connections: opaque cursors, page sizes, and one connection type per
//! node type (the contract names each one).

use super::{Account, ActivationKey, CreditEntry, Event, License, ServiceSubscription, Support};
use crate::app::{Cursor, Page, PageRequest};
use crate::error::{AppError, AppResult};
use async_graphql::SimpleObject;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub const DEFAULT_PAGE: i32 = 50;
pub const MAX_PAGE: i32 = 500;

pub fn encode_cursor(c: &Cursor) -> String {
    let raw = match c {
        Cursor::Position(p) => format!("p:{p}"),
        Cursor::DateAndPosition(d, p) => format!("d:{d}:{p}"),
        Cursor::Entry(id) => format!("e:{id}"),
    };
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(text: &str) -> Option<Cursor> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
    if let Some(p) = raw.strip_prefix("p:") {
        return p.parse().ok().map(Cursor::Position);
    }
    if let Some(id) = raw.strip_prefix("e:") {
        return Some(Cursor::Entry(id.to_string()));
    }
    let rest = raw.strip_prefix("d:")?;
    let (date, p) = rest.rsplit_once(':')?;
    projections::db::parse_date(date)?;
    Some(Cursor::DateAndPosition(date.to_string(), p.parse().ok()?))
}

/// Rows a list inside an object (an activation key's licenses, supports
/// and subscriptions) returns at most, and what its `first` defaults to.
pub const MAX_NESTED: i32 = 100;

/// Most any field may add to a document's cost: far beyond every budget,
/// and low enough that the library's sums of costs cannot overflow.
const COST_CEILING: usize = 1 << 40;

fn capped(cost: usize) -> usize {
    cost.min(COST_CEILING)
}

/// What a page costs against the budget (config::RequestLimits::max_cost):
/// each row it may return costs what its selection costs, and the count
/// behind totalCount, made for every page, reads as many rows as a full
/// page, so `first: 0` is not free.
pub fn page_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let rows = first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    capped(
        usize::try_from(rows)
            .unwrap_or(1)
            .saturating_mul(child_complexity)
            .saturating_add(MAX_PAGE as usize),
    )
}

/// A page with a text search: the search scans like a full page on top.
pub fn search_page_complexity(
    first: Option<i32>,
    searching: bool,
    child_complexity: usize,
) -> usize {
    let search = if searching { MAX_PAGE as usize } else { 0 };
    capped(page_complexity(first, child_complexity).saturating_add(search))
}

/// A list inside an object: as many times its selection as it may hold rows.
pub fn nested_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let rows = first.unwrap_or(MAX_NESTED).clamp(1, MAX_NESTED);
    capped(
        usize::try_from(rows)
            .unwrap_or(1)
            .saturating_mul(child_complexity)
            .saturating_add(1),
    )
}

/// How many rows of a list inside an object to return.
pub fn nested_first(first: Option<i32>) -> AppResult<usize> {
    let first = first.unwrap_or(MAX_NESTED);
    if !(0..=MAX_NESTED).contains(&first) {
        return Err(AppError::bad(format!(
            "first must be between 0 and {MAX_NESTED}, not {first}"
        )));
    }
    Ok(usize::try_from(first).unwrap_or(0))
}

pub fn page_request(first: Option<i32>, after: Option<String>) -> AppResult<PageRequest> {
    let first = first.unwrap_or(DEFAULT_PAGE);
    if !(0..=MAX_PAGE).contains(&first) {
        return Err(AppError::bad(format!(
            "first must be between 0 and {MAX_PAGE}, not {first}"
        )));
    }
    let after = match after {
        None => None,
        Some(text) => Some(
            decode_cursor(&text)
                .ok_or_else(|| AppError::bad("after is not a cursor this list gave out"))?,
        ),
    };
    Ok(PageRequest {
        first: i64::from(first),
        after,
    })
}

#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty) => {
        #[derive(SimpleObject)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[derive(SimpleObject)]
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: PageInfo,
            pub total_count: i32,
        }

        impl $connection {
            pub fn from_page<R>(
                page: Page<R>,
                had_cursor: bool,
                node: impl Fn(R) -> $node,
            ) -> Self {
                let edges: Vec<$edge> = page
                    .rows
                    .into_iter()
                    .map(|(c, r)| $edge {
                        cursor: encode_cursor(&c),
                        node: node(r),
                    })
                    .collect();
                let page_info = PageInfo {
                    has_next_page: page.has_next,
                    has_previous_page: had_cursor,
                    start_cursor: edges.first().map(|e| e.cursor.clone()),
                    end_cursor: edges.last().map(|e| e.cursor.clone()),
                };
                $connection {
                    edges,
                    page_info,
                    total_count: i32::try_from(page.total).unwrap_or(i32::MAX),
                }
            }
        }
    };
}

connection!(AccountConnection, AccountEdge, Account);
connection!(ActivationKeyConnection, ActivationKeyEdge, ActivationKey);
connection!(LicenseConnection, LicenseEdge, License);
connection!(SupportConnection, SupportEdge, Support);
connection!(
    ServiceSubscriptionConnection,
    ServiceSubscriptionEdge,
    ServiceSubscription
);
connection!(CreditEntryConnection, CreditEntryEdge, CreditEntry);
connection!(EventConnection, EventEdge, Event);
connection!(WebhookConnection, WebhookEdge, super::webhooks::Webhook);
connection!(
    WebhookDeliveryConnection,
    WebhookDeliveryEdge,
    super::webhooks::WebhookDelivery
);
connection!(
    ApiTokenConnection,
    ApiTokenEdge,
    super::integrations::ApiToken
);
