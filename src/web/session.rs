//! The portal's session: the cookie, the signed-in caller of a page, and the
//! CSRF token every form carries.
//!
//! The CSRF token is an HMAC of a fixed label keyed by the secret in the
//! request's cookie (the session token, or before sign-in a pre-session
//! token). Only a page that could read that HttpOnly cookie's owner's pages
//! can know it, nothing has to be stored, and it changes with every session.

use super::WebState;
use super::forms::FormData;
use super::layout;
use crate::app::Caller;
use crate::http::SESSION_COOKIE;
use axum::extract::{ConnectInfo, Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use projections::queries::AccountRow;
use sha2::Sha256;
use std::net::SocketAddr;

/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// Before sign-in: the secret the sign-in form's token is derived from.
pub const PRE_SESSION_COOKIE: &str = "lp_pre";
/// A one-time message shown on the next page (after a redirect).
pub const FLASH_COOKIE: &str = "lp_flash";

type HmacSha256 = Hmac<Sha256>;

fn csrf_mac(secret: &str) -> Option<HmacSha256> {
    if secret.is_empty() {
        return None;
    }
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(b"license-portal form token v1");
    Some(mac)
}

/// The token forms carry for the cookie secret `secret`.
pub fn csrf_token(secret: &str) -> String {
    csrf_mac(secret)
        .map(|m| crate::auth::hex(&m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Compares in constant time; an empty secret or token never matches.
pub fn csrf_ok(secret: &str, given: &str) -> bool {
    let Some(bytes) = unhex(given) else {
        return false;
    };
    csrf_mac(secret).is_some_and(|m| m.verify_slice(&bytes).is_ok())
}

/// Hex text as bytes; None for anything else (an empty text too).
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The portal's cookie `name`, None when absent or cleared.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    crate::http::cookie(headers, name).filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value with the portal's flags; `max_age` 0 removes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let text = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A redirect that leaves a one-time message for the next page.
pub fn redirect_with_flash(to: &str, message: &str, secure: bool) -> Response {
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(message.as_bytes());
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FLASH_COOKIE, &value, 60, secure),
    );
    response
}

/// The signed-in account a page is shown to. Without a live session the
/// page redirects to the sign-in; with a generated password still in place,
/// to the password change.
pub struct Session {
    pub caller: Caller,
    pub account: AccountRow,
    pub csrf: String,
    token: String,
    pub flash: Option<String>,
    pub path: String,
    pub secure: bool,
}

impl Session {
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl FromRequestParts<WebState> for Session {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path().to_string();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/login").into_response());
        };
        let caller = match state.app.caller(&token).await {
            Ok(Some(c)) => c,
            Ok(None) => return Err(Redirect::to("/login").into_response()),
            Err(e) => return Err(layout::error_page(&e)),
        };
        if caller.must_change_password && path != "/password" && path != "/logout" {
            return Err(Redirect::to("/password").into_response());
        }
        let account = match state.app.account_of(&caller.id).await {
            Ok(Some(a)) => a,
            Ok(None) => return Err(Redirect::to("/login").into_response()),
            Err(e) => return Err(layout::error_page(&e)),
        };
        let flash = cookie(&parts.headers, FLASH_COOKIE)
            .and_then(|v| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(v)
                    .ok()
            })
            .and_then(|b| String::from_utf8(b).ok());
        Ok(Session {
            csrf: csrf_token(&token),
            caller,
            account,
            token,
            flash,
            path,
            secure: state.secure_cookies,
        })
    }
}

/// The client address sign-in limits count against (`crate::limits`).
pub struct ClientAddress(pub String);

impl ClientAddress {
    pub fn of(parts: &Parts, state: &WebState) -> ClientAddress {
        ClientAddress(request_client(&parts.headers, &parts.extensions, state))
    }
}

pub fn request_client(
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    state: &WebState,
) -> String {
    match extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(peer) => {
            crate::limits::client_address(peer.0.ip(), headers, &state.app.security.trusted_proxies)
                .to_string()
        }
        // Served without connection info: every request is one client.
        None => "unknown".to_string(),
    }
}

impl FromRequestParts<WebState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress::of(parts, state))
    }
}

/// A posted form from a signed-in page, its CSRF token checked. A missing or
/// wrong token is refused with 403 before the handler runs.
pub struct SignedForm {
    pub session: Session,
    pub form: FormData,
}

impl FromRequest<WebState> for SignedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &WebState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let form = read_form(Request::from_parts(parts, body), state).await?;
        if !csrf_ok(session.token(), form.get(CSRF_FIELD)) {
            return Err(csrf_refused());
        }
        Ok(SignedForm { session, form })
    }
}

pub async fn read_form(request: Request, state: &WebState) -> Result<FormData, Response> {
    match Form::<Vec<(String, String)>>::from_request(request, state).await {
        Ok(Form(fields)) => Ok(FormData(fields)),
        Err(_) => Err(layout::bare_error(
            StatusCode::BAD_REQUEST,
            "This form could not be read",
            "The request was not a form this portal sends. Go back, reload the page and try again.",
        )),
    }
}

pub fn csrf_refused() -> Response {
    layout::bare_error(
        StatusCode::FORBIDDEN,
        "This form was refused",
        "The form did not carry this session's security token: it may be older than your current sign-in, or it came from another site. Nothing was changed. Go back, reload the page and submit it again.",
    )
}
