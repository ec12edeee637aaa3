//! GraphQL over HTTP (graphql-http spec): content negotiation, status codes,
//! and mutations only over POST.

use super::{HttpState, graphiql, request_context};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    operation_name: Option<String>,
    extensions: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponse,
    Json,
}

/// The response type the client accepts; None when it accepts neither.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut json = false;
    for part in accept.split(',') {
        let media = part
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            GRAPHQL_RESPONSE => return Some(MediaType::GraphqlResponse),
            JSON | "application/*" | "*/*" => json = true,
            _ => {}
        }
    }
    json.then_some(MediaType::Json)
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn error_body(message: &str, code: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

fn respond(status: StatusCode, media: MediaType, body: &serde_json::Value) -> Response {
    let content_type = match media {
        MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        MediaType::Json => "application/json; charset=utf-8",
    };
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let code = body
        .pointer("/errors/0/extensions/code")
        .and_then(|c| c.as_str())
        .unwrap_or("OK");
    response
        .extensions_mut()
        .insert(ErrorCode(code.to_string()));
    response
}

/// A request whose media type the client cannot take: nothing else is read.
fn not_acceptable() -> Response {
    (
        StatusCode::NOT_ACCEPTABLE,
        "accept application/graphql-response+json or application/json\n",
    )
        .into_response()
}

/// A request the handler refuses before any GraphQL sees it.
fn bad_input(media: MediaType, message: &str) -> Response {
    respond(
        StatusCode::BAD_REQUEST,
        media,
        &error_body(message, "BAD_USER_INPUT"),
    )
}

/// The code of an answer's first error, kept on the response for the metrics.
#[derive(Clone)]
struct ErrorCode(String);

pub async fn get_handler(
    State(state): State<HttpState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if params.is_empty() && wants_html(&headers) {
        return graphiql();
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let params = GetParams {
        query: params.get("query").cloned(),
        variables: params.get("variables").cloned(),
        operation_name: params.get("operationName").cloned(),
        extensions: params.get("extensions").cloned(),
    };
    let Some(query) = params.query.filter(|q| !q.trim().is_empty()) else {
        return bad_input(media, "the query parameter is missing");
    };
    let variables = match params
        .variables
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        None => None,
        Some(Ok(v @ serde_json::Value::Object(_))) => Some(v),
        Some(Ok(serde_json::Value::Null)) => None,
        Some(_) => {
            return bad_input(media, "variables must be a JSON object");
        }
    };
    if let Some(ext) = params.extensions.as_deref()
        && !matches!(
            serde_json::from_str::<serde_json::Value>(ext),
            Ok(serde_json::Value::Object(_))
        )
    {
        return bad_input(media, "extensions must be a JSON object");
    }
    let body = serde_json::json!({ "query": query, "variables": variables, "operationName": params.operation_name });
    let call = Call {
        method: Method::GET,
        peer,
        headers: &headers,
        media,
        body,
    };
    execute(&state, call).await
}

pub async fn post_handler(
    State(state): State<HttpState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence != JSON {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as Content-Type: application/json\n",
        )
            .into_response();
    }
    let body: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return bad_input(media, &format!("the body is not JSON: {e}"));
        }
    };
    let shape_error = match &body {
        serde_json::Value::Object(o) => match o.get("query") {
            Some(serde_json::Value::String(q)) if !q.trim().is_empty() => {
                if !matches!(
                    o.get("variables"),
                    None | Some(serde_json::Value::Null | serde_json::Value::Object(_))
                ) {
                    Some("variables must be a JSON object")
                } else if !matches!(
                    o.get("operationName"),
                    None | Some(serde_json::Value::Null | serde_json::Value::String(_))
                ) {
                    Some("operationName must be a string")
                } else if !matches!(
                    o.get("extensions"),
                    None | Some(serde_json::Value::Null | serde_json::Value::Object(_))
                ) {
                    Some("extensions must be a JSON object")
                } else {
                    None
                }
            }
            _ => Some("the body needs a query string"),
        },
        _ => Some("the body must be a JSON object"),
    };
    if let Some(message) = shape_error {
        return bad_input(media, message);
    }
    let call = Call {
        method: Method::POST,
        peer,
        headers: &headers,
        media,
        body,
    };
    execute(&state, call).await
}

/// A request as either handler has read it, its body in the POST form.
struct Call<'a> {
    method: Method,
    peer: ConnectInfo<SocketAddr>,
    headers: &'a HeaderMap,
    media: MediaType,
    body: serde_json::Value,
}

/// Runs a request and counts it, by operation and outcome, for /metrics.
async fn execute(state: &HttpState, call: Call<'_>) -> Response {
    let started = std::time::Instant::now();
    let mut operation = String::new();
    let response = run(state, call, &mut operation).await;
    let code = response
        .extensions()
        .get::<ErrorCode>()
        .map_or("OK", |c| c.0.as_str());
    state
        .app
        .metrics
        .record_request(&operation, code, started.elapsed());
    response
}

/// `operation` is set to the name of the operation the document runs once
/// it has parsed ("anonymous" for one without a name).
async fn run(state: &HttpState, call: Call<'_>, operation: &mut String) -> Response {
    let Call {
        method,
        peer,
        headers,
        media,
        body,
    } = call;
    let mut request: async_graphql::Request = match serde_json::from_value(body) {
        Ok(r) => r,
        Err(e) => {
            return bad_input(media, &e.to_string());
        }
    };
    // Reading a document takes time in proportion to its length: the limit
    // is held before the first look at it (the schema's guard holds it too).
    if request.query.len() > state.limits.max_document_bytes {
        return respond(
            request_error_status(media),
            media,
            &error_body(
                &format!(
                    "the document is {} bytes; at most {} are accepted",
                    request.query.len(),
                    state.limits.max_document_bytes
                ),
                "BAD_USER_INPUT",
            ),
        );
    }
    // Parse and validate first: a request that cannot run is a 400 with no
    // data, and a mutation over GET is refused before anything happens. The
    // request keeps the parsed document, so the schema does not parse again.
    let wanted = request.operation_name.clone();
    let query = match request.parsed_query() {
        Ok(doc) => doc,
        Err(e) => {
            return respond(
                request_error_status(media),
                media,
                &error_body(&e.message, "BAD_USER_INPUT"),
            );
        }
    };
    *operation = operation_name(query, wanted.as_deref());
    if method == Method::GET {
        let is_mutation = operation_is_mutation(query, wanted.as_deref());
        if is_mutation {
            let mut r = respond(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                &error_body("mutations are only accepted over POST", "BAD_USER_INPUT"),
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return r;
        }
    }
    let (caller, client) = match request_context(&state.app, headers, peer).await {
        Ok(c) => c,
        Err(e) => {
            let status = match e {
                crate::error::AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return respond(status, media, &error_body(&e.to_string(), e.code()));
        }
    };
    let response = state
        .schema
        .execute(request.data(caller).data(client))
        .await;
    // Errors before execution (validation) come back with no data.
    let status = if response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && is_request_error(&response)
    {
        request_error_status(media)
    } else {
        StatusCode::OK
    };
    let mut json = match serde_json::to_value(&response) {
        Ok(v) => v,
        Err(e) => {
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                media,
                &error_body(&e.to_string(), "INTERNAL"),
            );
        }
    };
    add_default_codes(&mut json, status != StatusCode::OK);
    complete_deprecated_locations(&mut json);
    if status != StatusCode::OK
        && let Some(o) = json.as_object_mut()
    {
        o.remove("data");
    }
    respond(status, media, &json)
}

/// With the legacy media type every response is 200; with the GraphQL one a
/// request that could not run is 400.
fn request_error_status(media: MediaType) -> StatusCode {
    match media {
        MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
        MediaType::Json => StatusCode::OK,
    }
}

/// Validation errors carry no path: nothing was executed.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.errors.iter().all(|e| e.path.is_empty())
}

/// Every error carries extensions.code: validation and parse errors that the
/// library raised get BAD_USER_INPUT, anything else INTERNAL.
fn add_default_codes(json: &mut serde_json::Value, request_error: bool) {
    let Some(errors) = json.get_mut("errors").and_then(|e| e.as_array_mut()) else {
        return;
    };
    for error in errors {
        let Some(obj) = error.as_object_mut() else {
            continue;
        };
        let has_path = obj.get("path").is_some();
        // Input coercion (an Int out of range, a malformed Date) fails
        // inside execution and so has a path, but it is still the
        // caller's input that was wrong.
        let coercion = obj
            .get("message")
            .and_then(|m| m.as_str())
            .is_some_and(|m| m.starts_with("Failed to parse") || m.starts_with("Invalid value"));
        let ext = obj
            .entry("extensions")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(ext) = ext.as_object_mut()
            && !ext.contains_key("code")
        {
            let code = if request_error || !has_path || coercion {
                "BAD_USER_INPUT"
            } else {
                "INTERNAL"
            };
            ext.insert("code".into(), code.into());
        }
    }
}

/// The name of the operation a request runs: only names the document holds,
/// so what the metrics count stays within what the client actually sent.
fn operation_name(
    doc: &async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> String {
    use async_graphql::parser::types::DocumentOperations;
    // The parser keeps an anonymous operation as Single, named ones by name.
    match (&doc.operations, name) {
        (DocumentOperations::Single(_), _) => "anonymous".to_string(),
        (DocumentOperations::Multiple(ops), Some(n)) if ops.contains_key(n) => n.to_string(),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops
            .keys()
            .next()
            .map_or_else(|| "unknown".to_string(), |n| n.to_string()),
        _ => "unknown".to_string(),
    }
}

fn operation_is_mutation(
    doc: &async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    match &doc.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => match name {
            Some(n) => ops
                .get(n)
                .is_some_and(|op| op.node.ty == OperationType::Mutation),
            None => ops.values().any(|op| op.node.ty == OperationType::Mutation),
        },
    }
}

/// The current GraphQL specification lets `@deprecated` also stand on
/// directive definitions; the library's introspection predates that and lists
/// four locations. Tools that compare schemas by the current spec (the
/// contract check among them) read the missing location as a removal, so the
/// introspection answer lists it.
fn complete_deprecated_locations(json: &mut serde_json::Value) {
    let Some(directives) = json
        .pointer_mut("/data/__schema/directives")
        .and_then(|d| d.as_array_mut())
    else {
        return;
    };
    for directive in directives {
        if directive.get("name").and_then(|n| n.as_str()) != Some("deprecated") {
            continue;
        }
        if let Some(locations) = directive
            .get_mut("locations")
            .and_then(|l| l.as_array_mut())
        {
            let location = serde_json::Value::from("DIRECTIVE_DEFINITION");
            if !locations.contains(&location) {
                locations.push(location);
            }
        }
    }
}
