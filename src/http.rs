//! The HTTP surface: GraphQL at /graphql (GraphiQL on GET from a browser),
//! /healthz and /readyz, and the request context (bearer token or session cookie, client
//! address).

use crate::app::App;
use crate::graphql::{ApiSchema, ClientAddr, RequestCaller};
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;

pub mod graphql_http;

pub const SESSION_COOKIE: &str = "lp_session";

#[derive(Clone)]
pub struct HttpState {
    pub app: Arc<App>,
    pub schema: ApiSchema,
}

/// The API and, at `/`, the portal's pages (`public_url` decides whether
/// the portal's cookies are Secure).
pub fn router(app: Arc<App>, public_url: &str) -> Router {
    let schema = crate::graphql::schema(app.clone());
    let portal = crate::web::router(app.clone(), public_url);
    let state = HttpState { app, schema };
    Router::new()
        .route(
            "/graphql",
            get(graphql_http::get_handler).post(graphql_http::post_handler),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .merge(portal)
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

pub fn graphiql() -> Response {
    Html(
        async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .finish(),
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
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

/// What every GraphQL request carries into the resolvers.
pub async fn request_context(
    app: &App,
    headers: &HeaderMap,
    peer: ConnectInfo<SocketAddr>,
) -> Result<(RequestCaller, ClientAddr), crate::error::AppError> {
    let caller = match session_token(headers) {
        Some(token) => app.caller(&token).await?,
        None => None,
    };
    let client = peer.0.ip().to_string();
    Ok((RequestCaller(caller), ClientAddr(client)))
}
