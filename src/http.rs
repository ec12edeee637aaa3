//! The HTTP surface: GraphQL at /graphql (a query explorer on GET from a
//! browser, served from the binary), /healthz and /readyz, and the request
//! context (bearer token or session cookie, client address).

use crate::app::App;
use crate::config::RequestLimits;
use crate::graphql::{ApiSchema, ClientAddr, RequestCaller};
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

pub mod graphql_http;

pub const SESSION_COOKIE: &str = "lp_session";

#[derive(Clone)]
pub struct HttpState {
    pub app: Arc<App>,
    pub schema: ApiSchema,
    pub limits: RequestLimits,
}

/// The API held to `limits` and, at `/`, the portal's pages (`public_url`
/// decides whether the portal's cookies are Secure).
pub fn router(app: Arc<App>, public_url: &str, limits: &RequestLimits) -> Router {
    let schema = crate::graphql::schema(app.clone(), limits);
    let portal = crate::web::router(app.clone(), public_url);
    let state = HttpState {
        app,
        schema,
        limits: limits.clone(),
    };
    let api = Router::new()
        .route(
            "/graphql",
            get(graphql_http::get_handler).post(graphql_http::post_handler),
        )
        .route("/graphql/explorer.js", get(explorer_script))
        .route("/graphql/explorer.css", get(explorer_stylesheet))
        .layer(middleware::from_fn(api_headers));
    Router::new()
        .merge(api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::handler))
        .with_state(state)
        .merge(portal)
}

/// Answers of the API hold balances and session tokens: never cached, never
/// read as another type than the one sent; the explorer is held to the
/// portal's content policy (our own script and stylesheet only). The time
/// taken is in Server-Timing, so a client can tell server time from network.
async fn api_headers(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={millis:.3}")) {
        headers.insert("server-timing", v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::web::CONTENT_SECURITY_POLICY),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// 200 while the database answers and takes writes; 503 otherwise (a full
/// disk, a read-only or unreachable database).
async fn healthz(State(state): State<HttpState>) -> Response {
    match crate::storage::check_writes(&state.app.db).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not take writes");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database unavailable: {e}\n"),
            )
                .into_response()
        }
    }
}

/// As /healthz, in JSON, with how far the views are behind the log:
/// `{"database": "ok" | why not, "projector": {"lagEvents", "lagSeconds",
/// "position"}}`. A lag is reported, not failed on: the service answers
/// while the projector catches up.
async fn readyz(State(state): State<HttpState>) -> Response {
    let database = crate::storage::check_writes(&state.app.db).await;
    let projector = match state.app.projector.lag().await {
        Ok(lag) => serde_json::json!({
            "lagEvents": lag.events,
            "lagSeconds": lag.seconds,
            "position": lag.position.position,
        }),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    };
    let status = if database.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "database": database.err().unwrap_or_else(|| "ok".to_string()),
        "projector": projector,
    });
    (status, axum::Json(body)).into_response()
}

/// A small query editor of our own, all of it in the binary: nothing is
/// loaded from elsewhere, so it works offline and under the portal's policy.
pub fn graphiql() -> Response {
    Html(include_str!("http/explorer/explorer.html")).into_response()
}

async fn explorer_script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("http/explorer/explorer.js"),
    )
}

async fn explorer_stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("http/explorer/explorer.css"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The session token of a request: `Authorization: Bearer …`, else the
/// portal's cookie.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = auth.trim().split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string());
    }
    cookie(headers, SESSION_COOKIE)
}

/// The value of the request's cookie `name`, empty when it was cleared.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// What every GraphQL request carries into the resolvers.
pub async fn request_context(
    app: &App,
    headers: &HeaderMap,
    peer: ConnectInfo<SocketAddr>,
) -> Result<(RequestCaller, ClientAddr), crate::error::AppError> {
    let from_header = headers.contains_key(header::AUTHORIZATION);
    let caller = match session_token(headers) {
        // API tokens count only in the header: the portal's cookie holds sessions.
        Some(token) if from_header && token.starts_with(crate::app::tokens::SECRET_PREFIX) => {
            app.token_caller(&token).await?
        }
        Some(token) => app.caller(&token).await?,
        None => None,
    };
    let client = crate::limits::client_address(peer.0.ip(), headers, &app.security.trusted_proxies)
        .to_string();
    Ok((RequestCaller(caller), ClientAddr(client)))
}
