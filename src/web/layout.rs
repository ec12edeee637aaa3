//! The page shell (left navigation, flash message, heading) and the pieces
//! every page reuses: error boxes, the cost summary, pagers, dates.

use super::forms::{FormData, cursor_text};
use super::session::{CSRF_FIELD, FLASH_COOKIE, Session, set_cookie};
use crate::app::Quote;
use crate::error::AppError;
use aggregates::Role;
use aggregates::catalog::Catalog;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use projections::queries::Page;

const ASSETS: &str = env!("CARGO_PKG_VERSION");

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · License Portal" }
            link rel="icon" type="image/svg+xml" href={ "/static/favicon.svg?v=" (ASSETS) };
            link rel="stylesheet" href={ "/static/portal.css?v=" (ASSETS) };
            script src={ "/static/portal.js?v=" (ASSETS) } defer {}
        }
    }
}

fn nav_links(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        // An auditor cannot create tokens (every change is refused), so it
        // has no use for the page.
        Role::Auditor => &[
            ("/admin/partners", "Partners"),
            ("/credits", "Credit history"),
            ("/webhooks", "Webhooks"),
        ],
        Role::Admin => &[
            ("/admin/partners", "Partners"),
            ("/credits", "Credit history"),
            ("/webhooks", "Webhooks"),
            ("/tokens", "API tokens"),
        ],
        Role::Partner => &[
            ("/", "Home"),
            ("/keys", "Activation Keys"),
            ("/licenses", "Licenses"),
            ("/support", "Support"),
            ("/subscriptions", "Subscriptions"),
            ("/resellers", "Resellers"),
            ("/credits", "Credit history"),
            ("/webhooks", "Webhooks"),
            ("/tokens", "API tokens"),
        ],
        Role::Reseller => &[
            ("/", "Home"),
            ("/keys", "Activation Keys"),
            ("/licenses", "Licenses"),
            ("/support", "Support"),
            ("/subscriptions", "Subscriptions"),
            ("/credits", "Credit history"),
            ("/tokens", "API tokens"),
        ],
    }
}

fn is_current(path: &str, href: &str) -> bool {
    if href == "/" {
        path == "/"
    } else {
        path == href || path.starts_with(&format!("{href}/"))
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "Administrator",
        Role::Partner => "Partner",
        Role::Reseller => "Reseller",
        Role::Auditor => "Auditor",
    }
}

pub fn csrf_field(s: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(s.csrf); }
}

/// A full page for the signed-in account, with status 200.
pub fn page(s: &Session, title: &str, body: Markup) -> Response {
    page_with_status(s, StatusCode::OK, title, body)
}

/// A page that answers a form: with the status of `error` when there is
/// one (the form shown again with its message), else 200.
pub fn page_for(s: &Session, error: Option<&AppError>, title: &str, body: Markup) -> Response {
    page_with_status(s, error.map_or(StatusCode::OK, status_of), title, body)
}

/// A form that posts to `action` with the session's CSRF token: its fields
/// and its one primary button.
pub fn post_form(s: &Session, action: &str, fields: Markup, button: &str) -> Markup {
    html! {
        form.stack method="post" action=(action) {
            (csrf_field(s))
            (fields)
            button.primary type="submit" { (button) }
        }
    }
}

/// A page that is one form: what it acts on, the last try's refusal, the
/// form and the way back to the list it came from.
pub struct FormPage<'a> {
    title: &'a str,
    action: &'a str,
    button: &'a str,
    before: Option<Markup>,
    back: Option<(&'a str, &'a str)>,
}

impl<'a> FormPage<'a> {
    pub fn new(title: &'a str, action: &'a str, button: &'a str) -> Self {
        FormPage {
            title,
            action,
            button,
            before: None,
            back: None,
        }
    }

    /// What the form acts on.
    pub fn before(self, before: Markup) -> Self {
        FormPage {
            before: Some(before),
            ..self
        }
    }

    /// The list's address and its link's text.
    pub fn back(self, href: &'a str, text: &'a str) -> Self {
        FormPage {
            back: Some((href, text)),
            ..self
        }
    }

    pub fn show(self, s: &Session, error: Option<&AppError>, fields: Markup) -> Response {
        let body = html! {
            @if let Some(before) = self.before { (before) }
            (error_box(error))
            (post_form(s, self.action, fields, self.button))
            @if let Some((href, text)) = self.back { p { a href=(href) { (text) } } }
        };
        page_for(s, error, self.title, body)
    }
}

pub fn page_with_status(s: &Session, status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                div.shell {
                    header.side {
                        a.brand href="/" { "License Portal" }
                        nav aria-label="Main" {
                            ul {
                                @for (href, label) in nav_links(s.caller.role) {
                                    li {
                                        @if is_current(&s.path, href) {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                            }
                        }
                        div.who {
                            span.name { (s.account.name) }
                            span.role { (role_name(s.caller.role)) " · " (s.account.login) }
                            @if !matches!(s.caller.role, Role::Admin | Role::Auditor) {
                                span.balance { "Balance: " strong { (s.account.balance) } " credits" }
                            }
                            form method="post" action="/logout" {
                                (csrf_field(s))
                                button.linklike type="submit" { "Sign out" }
                            }
                        }
                    }
                    main #main tabindex="-1" {
                        @if let Some(flash) = &s.flash {
                            p.flash role="status" { (flash) }
                        }
                        h1 { (title) }
                        (body)
                    }
                }
            }
        }
    };
    let mut response = (status, markup).into_response();
    if s.flash.is_some() {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(FLASH_COOKIE, "", 0, s.secure),
        );
    }
    response
}

/// A page outside a session: sign-in and errors.
pub fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main #main {
                    p.brand { "License Portal" }
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    (status, markup).into_response()
}

pub fn bare_error(status: StatusCode, title: &str, message: &str) -> Response {
    bare(
        status,
        title,
        html! {
            p.error role="alert" { (message) }
            p { a href="/" { "Back to the portal" } }
        },
    )
}

pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::BadInput(_) | AppError::InsufficientCredits { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error outside any form (e.g. the database failed while loading the session).
pub fn error_page(e: &AppError) -> Response {
    bare_error(status_of(e), "Something went wrong", &message(e))
}

/// A page, or the error page shown in its place.
pub type Shown = Result<Response, Response>;

/// `result`'s value, or the error page to show in its place.
#[allow(
    clippy::result_large_err,
    reason = "the error is the answer itself, returned at once as the async handlers' are"
)]
pub fn shown<T>(s: &Session, result: Result<T, AppError>) -> Result<T, Response> {
    result.map_err(|e| session_error(s, &e))
}

/// An error for a signed-in page with nothing else to show (e.g. NOT_FOUND).
pub fn session_error(s: &Session, e: &AppError) -> Response {
    page_with_status(
        s,
        status_of(e),
        "Something went wrong",
        html! { (error_box(Some(e))) p { a href="/" { "Back to the home page" } } },
    )
}

/// The API's names of fields, as the portal's forms call them.
const FIELD_WORDS: &[(&str, &str)] = &[
    ("trialDays", "the trial's duration in days"),
    ("idempotencyKey", "the form's one-time key"),
    ("activationKeyId", "the activation key"),
    ("startsOn", "the start date"),
    ("deviceFingerprint", "the device's fingerprint"),
    ("deviceName", "the device's name"),
    ("expiresAt", "the expiry date"),
];

/// The message in plain words, with a capital letter; the contract's code
/// stays out of sight (it is in the page's markup for support requests).
pub fn message(e: &AppError) -> String {
    let mut text = match e {
        AppError::InsufficientCredits { required, balance } => format!(
            "not enough credits: this costs {} and the balance is {}",
            credits(*required),
            number(*balance)
        ),
        AppError::Internal(_) => {
            "something went wrong on our side. Try again in a moment; if it keeps happening, tell the vendor the time it happened".to_string()
        }
        _ => e.to_string(),
    };
    for (field, words) in FIELD_WORDS {
        text = text.replace(field, words);
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!(
            "{}{}.",
            first.to_uppercase(),
            chars.as_str().trim_end_matches('.')
        ),
        None => text,
    }
}

pub fn error_box(e: Option<&AppError>) -> Markup {
    html! {
        @if let Some(e) = e {
            div.error role="alert" data-code=(e.code()) {
                p { (message(e)) }
            }
        }
    }
}

/// "1 credit", "1,250 credits".
pub fn credits(n: i64) -> String {
    if n.abs() == 1 {
        format!("{n} credit")
    } else {
        format!("{} credits", number(n))
    }
}

/// "1 month", "3 months" (and any other unit with a plain -s plural).
pub fn plural(n: i64, unit: &str) -> String {
    if n.abs() == 1 {
        format!("{n} {unit}")
    } else {
        format!("{} {unit}s", number(n))
    }
}

/// Thousands separated by commas: 999999 → "999,999".
pub fn number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The cost of an operation against the balance, then its confirm form
/// (`fields`: the reviewed values, see `review`). With too few credits the
/// button is disabled and the reason is next to it; `smaller` says what a
/// cheaper choice would be for this operation ("fewer users", …).
pub fn quote_panel(
    s: &Session,
    quote: &Quote,
    action: &str,
    fields: Markup,
    button: &str,
    smaller: &str,
) -> Markup {
    let after = quote.balance - quote.cost;
    html! {
        section.summary aria-labelledby="cost-title" {
            h2 #cost-title { "Cost" }
            dl.figures {
                div { dt { "Cost" } dd #quote-cost { (credits(quote.cost)) } }
                div {
                    dt { @if let Some(payer) = &quote.payer { "Balance of " (payer) } @else { "Your balance" } }
                    dd #quote-balance { (credits(quote.balance)) }
                }
                div {
                    dt { "Balance afterwards" }
                    dd { @if quote.sufficient { (credits(after)) } @else { "—" } }
                }
            }
            form method="post" action=(action) {
                (csrf_field(s))
                (fields)
                @if quote.sufficient {
                    button.primary type="submit" { (button) }
                } @else {
                    p.warning #short role="alert" {
                        "Not enough credits: this costs " (credits(quote.cost)) " and "
                        @if let Some(payer) = &quote.payer { (payer) "'s" } @else { "your" }
                        " balance is " (number(quote.balance)) ". "
                        @if let Some(payer) = &quote.payer {
                            "Give " (payer) " more credits from the " a href="/resellers" { "Resellers page" } ", or choose " (smaller) "."
                        } @else if s.caller.role == Role::Reseller {
                            "Ask your partner for more credits, or choose " (smaller) "."
                        } @else {
                            "Ask the vendor for more credits, or choose " (smaller) "."
                        }
                    }
                    button.primary type="submit" disabled aria-describedby="short" { (button) }
                }
            }
        }
    }
}

/// How many earlier pages "Previous page" steps back through. Keyset paging
/// only reads forward, so each link carries the cursors of the pages before
/// it ("back", dot-separated); past this many the oldest are dropped and
/// "First page" is the way back.
const TRAIL_MAX: usize = 50;
/// The first page's place in that trail: it has no cursor.
const TRAIL_FIRST: &str = "f";

/// A list's filter by product: the products sold as licenses and supports
/// (not those only sold as subscriptions), the one chosen in `p` selected.
pub fn product_filter(catalog: &Catalog, p: &FormData) -> Markup {
    html! {
        div {
            label for="f-product" { "Product" }
            select #f-product name="product" {
                option value="" { "All" }
                @for x in &catalog.products {
                    @if !x.subscription_only {
                        option value=(x.code) selected[p.get("product") == x.code] { (x.name) }
                    }
                }
            }
        }
    }
}

/// "First page", "Previous page" and "Next page" links.
pub fn pager<T>(base: &str, params: &FormData, page: &Page<T>) -> Markup {
    let shown = page.rows.len();
    let here = params.get("after");
    // How many rows the earlier pages showed, carried in the address: keyset
    // pages do not know their place otherwise.
    let skip: usize = if here.is_empty() {
        0
    } else {
        params.get(SKIP).parse().unwrap_or(0)
    };
    let page_size = usize::try_from(super::forms::PAGE_SIZE).unwrap_or(shown);
    let mut trail: Vec<&str> = params
        .get("back")
        .split('.')
        .filter(|c| !c.is_empty())
        .collect();
    let next = page.rows.last().filter(|_| page.has_next).map(|(c, _)| {
        let mut back = trail.clone();
        back.push(if here.is_empty() { TRAIL_FIRST } else { here });
        let from = back.len().saturating_sub(TRAIL_MAX);
        params.with(&[
            ("after", &cursor_text(c)),
            ("back", &back[from..].join(".")),
            (SKIP, &(skip + shown).to_string()),
        ])
    });
    let (previous, first) = if here.is_empty() {
        (None, None)
    } else {
        let to = trail.pop().filter(|c| *c != TRAIL_FIRST);
        let before = if to.is_some() {
            skip.saturating_sub(page_size).to_string()
        } else {
            String::new()
        };
        let previous = params.with(&[
            ("after", to.unwrap_or("")),
            ("back", &trail.join(".")),
            (SKIP, &before),
        ]);
        // Only when the previous page is not the first already.
        let first = to.map(|_| params.with(&[("after", ""), ("back", ""), (SKIP, "")]));
        (Some(previous), first)
    };
    let total = usize::try_from(page.total).unwrap_or(0);
    html! {
        nav.pager aria-label="Pages" {
            span.range {
                @if shown == 0 {
                    "0 of " (number(page.total))
                } @else {
                    (number_of(skip + 1)) "–" (number_of(skip + shown)) " of " (number_of(total.max(skip + shown)))
                }
            }
            @if let Some(q) = first {
                a href={ (base) "?" (q) } { "« First page" }
            }
            @if let Some(q) = previous {
                a href={ (base) "?" (q) } rel="prev" { "‹ Previous page" }
            }
            @if let Some(q) = next {
                a href={ (base) "?" (q) } rel="next" { "Next page ›" }
            }
        }
    }
}

/// The address field that carries how many rows came before this page.
const SKIP: &str = "skip";

fn number_of(n: usize) -> String {
    number(i64::try_from(n).unwrap_or(i64::MAX))
}

/// "2026-11-28T10:48:01.123Z" → "2026-11-28 10:48".
pub fn when(text: &str) -> String {
    let t = text.replace('T', " ");
    t.get(..16).unwrap_or(&t).to_string()
}

/// The date part of a stored time or date.
pub fn day(text: &str) -> &str {
    text.get(..10).unwrap_or(text)
}

/// An orange call-to-action link.
pub fn cta(href: &str, label: &str) -> Markup {
    html! { a.cta href=(href) { (label) } }
}

/// A column heading of a `data_table`.
pub enum Col {
    Text(&'static str),
    /// Figures, aligned right.
    Num(&'static str),
    /// The links that act on a row: named for screen readers only.
    Actions,
}

/// What a listed table is: its id for scripts and tests, the caption a
/// screen reader announces, its headings.
pub struct Table<'a> {
    pub id: Option<&'a str>,
    pub caption: &'a str,
    pub columns: &'a [Col],
}

/// A list page's table: the headings, then `rows`, or `empty` in one cell
/// across every column when there is no row to show.
pub fn data_table(t: Table<'_>, empty: Option<&str>, rows: Markup) -> Markup {
    html! {
        div.table-wrap {
            table id=[t.id] {
                caption.visually-hidden { (t.caption) }
                thead { tr {
                    @for c in t.columns {
                        @match c {
                            Col::Text(name) => th scope="col" { (name) },
                            Col::Num(name) => th scope="col" class="num" { (name) },
                            Col::Actions => th scope="col" { span.visually-hidden { "Actions" } },
                        }
                    }
                } }
                tbody {
                    @if let Some(text) = empty {
                        tr { td.empty colspan=(t.columns.len()) { (text) } }
                    }
                    (rows)
                }
            }
        }
    }
}
