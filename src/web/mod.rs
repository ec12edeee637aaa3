//! The portal: server-rendered pages for partners, resellers and the vendor,
//! served at `/` by the same binary as the API. Every page calls the same
//! application layer as the GraphQL resolvers and shows the same messages.
//! Pages work with plain links and form posts; the one small script only adds
//! the Random buttons, the live key-format check and the trial-days toggle.

mod admin;
mod chart;
mod credits;
mod edit;
mod forms;
mod generate;
mod home;
mod keys;
mod layout;
mod licenses;
mod owners;
mod resellers;
mod review;
mod session;
mod signin;
mod subscriptions;
mod support;
mod tokens;
mod webhooks;

use crate::app::App;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use std::time::Instant;

pub use session::{CSRF_FIELD, csrf_token};

#[derive(Clone)]
pub struct WebState {
    pub app: Arc<App>,
    /// Cookies carry `Secure` when the portal is reached over https.
    pub secure_cookies: bool,
}

pub fn router(app: Arc<App>, public_url: &str) -> Router {
    let state = WebState {
        app,
        secure_cookies: public_url
            .trim()
            .to_ascii_lowercase()
            .starts_with("https://"),
    };
    Router::new()
        .route("/", get(home::home))
        .route("/login", get(signin::login_page).post(signin::login_post))
        .route("/logout", axum::routing::post(signin::logout))
        .route(
            "/password",
            get(signin::password_page).post(signin::password_post),
        )
        .route("/keys", get(keys::list))
        .route("/keys/new", get(keys::new_page).post(keys::create))
        .route("/licenses", get(licenses::list))
        .route("/licenses/new", get(generate::page).post(generate::submit))
        .route(
            "/licenses/{id}/upgrade",
            review::change_routes(licenses::Upgrade),
        )
        .route(
            "/licenses/{id}/edit",
            edit::edit_routes(edit::Sold::License),
        )
        .route(
            "/licenses/{id}/delete",
            get(licenses::delete_page).post(licenses::delete),
        )
        .route(
            "/licenses/{id}/deactivate",
            axum::routing::post(licenses::deactivate),
        )
        .route("/support", get(support::list))
        .route(
            "/support/{id}/upgrade",
            review::change_routes(support::Change::Upgrade),
        )
        .route(
            "/support/{id}/extend",
            review::change_routes(support::Change::Extend),
        )
        .route("/support/{id}/edit", edit::edit_routes(edit::Sold::Support))
        .route("/subscriptions", get(subscriptions::list))
        .route(
            "/subscriptions/{id}/extend",
            review::change_routes(subscriptions::Change::Extend),
        )
        .route(
            "/subscriptions/{id}/upgrade",
            review::change_routes(subscriptions::Change::Upgrade),
        )
        .route(
            "/subscriptions/new",
            get(subscriptions::new_page).post(subscriptions::create),
        )
        .route("/resellers", get(resellers::list))
        .route(
            "/resellers/new",
            get(resellers::new_page).post(resellers::create),
        )
        .route(
            "/resellers/{id}/credits",
            get(resellers::give_page).post(resellers::give),
        )
        .route(
            "/resellers/{id}/edit",
            get(resellers::edit_page).post(resellers::edit),
        )
        .route("/credits", get(credits::history))
        .route("/credits.csv", get(credits::csv))
        .route("/admin/partners", get(admin::partners))
        .route(
            "/admin/partners/new",
            get(admin::new_page).post(admin::create),
        )
        .route(
            "/admin/partners/{id}/grant",
            get(admin::grant_page).post(admin::grant),
        )
        .route("/webhooks", get(webhooks::list))
        .route("/webhooks/new", axum::routing::post(webhooks::create))
        .route("/webhooks/digest", axum::routing::post(webhooks::digest))
        .route("/webhooks/{id}", get(webhooks::deliveries))
        .route(
            "/webhooks/{id}/enabled",
            axum::routing::post(webhooks::set_enabled),
        )
        .route(
            "/webhooks/{id}/delete",
            axum::routing::post(webhooks::delete),
        )
        .route(
            "/webhooks/deliveries/{id}/redeliver",
            axum::routing::post(webhooks::redeliver),
        )
        .route("/tokens", get(tokens::list))
        .route("/tokens/new", axum::routing::post(tokens::create))
        .route("/tokens/{id}/revoke", axum::routing::post(tokens::revoke))
        .route("/static/portal.css", get(stylesheet))
        .route("/static/portal.js", get(script))
        .route("/static/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .fallback(not_found)
        .layer(middleware::from_fn(page_headers))
        .with_state(state)
}

const CSS: &str = include_str!("static/portal.css");
const JS: &str = include_str!("static/portal.js");

async fn stylesheet() -> Response {
    static_file("text/css; charset=utf-8", CSS)
}

async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", JS)
}

/// The portal's icon: an orange key on the navigation's dark blue.
const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1e293b"/><circle cx="11" cy="16" r="6" fill="none" stroke="#f97316" stroke-width="3"/><path d="M17 16h11m-4 0v5m-4-5v4" stroke="#f97316" stroke-width="3" stroke-linecap="round" fill="none"/></svg>"##;

async fn favicon() -> Response {
    static_file("image/svg+xml", FAVICON)
}

/// An address the portal does not have: in the portal's layout when signed
/// in, else on the bare page.
async fn not_found(session: Result<session::Session, Response>) -> Response {
    let text = "There is no page at this address. It may have moved, or the link was mistyped.";
    match session {
        Ok(s) => layout::page_with_status(
            &s,
            axum::http::StatusCode::NOT_FOUND,
            "Page not found",
            maud::html! {
                p.notice { (text) }
                p { a href="/" { "Back to the home page" } }
            },
        ),
        Err(_) => layout::bare_error(axum::http::StatusCode::NOT_FOUND, "Page not found", text),
    }
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // The URLs carry the version (see layout), so a day is safe.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// Our own script and stylesheet only, no framing (also the API explorer's).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Headers every page gets: a strict content policy (our own script and
/// stylesheet only, no framing), no caching of pages that show balances, and
/// the server-side time taken, so render times can be read from any client.
async fn page_headers(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    let micros = started.elapsed().as_micros();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={:.3}", micros as f64 / 1000.0)) {
        headers.insert("server-timing", v);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
