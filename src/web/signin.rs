//! Sign-in in two steps as the partner guide describes (login first, then the
//! password), sign-out, and the password change forced after a generated
//! password. The first step accepts any well-formed login, so it never tells
//! whether an account exists; only the second step checks, with one message
//! for both a wrong login and a wrong password.

use super::WebState;
use super::forms::Params;
use super::layout::{self, error_box, post_form};
use super::session::{
    self, CSRF_FIELD, ClientAddress, PRE_SESSION_COOKIE, Session, SignedForm, cookie, csrf_ok,
    csrf_token, redirect_with_flash, set_cookie,
};
use crate::auth::SESSION_HOURS;
use crate::error::AppError;
use crate::http::SESSION_COOKIE;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

/// The pre-session secret lives as long as a sign-in may reasonably take.
const PRE_SESSION_SECONDS: i64 = 3600;

pub async fn login_page(
    State(st): State<WebState>,
    headers: HeaderMap,
    Params(p): Params,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = st.app.caller(&token).await
    {
        return Redirect::to("/").into_response();
    }
    let (pre, fresh) = match cookie(&headers, PRE_SESSION_COOKIE) {
        Some(p) => (p, false),
        None => (crate::auth::new_token().0, true),
    };
    let notice = (p.get("out") == "1").then_some("You are signed out.");
    let mut response = login_form(&pre, "", None, None, StatusCode::OK, notice);
    if fresh {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(
                PRE_SESSION_COOKIE,
                &pre,
                PRE_SESSION_SECONDS,
                st.secure_cookies,
            ),
        );
    }
    response
}

/// Step 1 (no password field) shows the password step for any well-formed
/// login; step 2 signs in.
pub async fn login_post(State(st): State<WebState>, request: Request) -> Response {
    let pre = cookie(request.headers(), PRE_SESSION_COOKIE).unwrap_or_default();
    let client = session::request_client(request.headers(), request.extensions(), &st);
    let form = match session::read_form(request, &st).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !csrf_ok(&pre, form.get(CSRF_FIELD)) {
        return session::csrf_refused();
    }
    let login = form.get("login");
    if let Err(e) = check_login_shape(login) {
        return login_form(
            &pre,
            login,
            None,
            Some(&e),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        );
    }
    if !form.has("password") {
        return login_form(&pre, login, Some(""), None, StatusCode::OK, None);
    }
    // The password is taken as typed: spaces may be part of it.
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    match st.app.login(login, password, &client).await {
        Ok((token, _, _)) => signed_in(&token, &st, "/"),
        Err(e) => login_form(&pre, login, Some(""), Some(&e), layout::status_of(&e), None),
    }
}

/// A login or an email: not blank, one line, of a sane length. Whether it
/// exists is not checked here.
fn check_login_shape(login: &str) -> Result<(), AppError> {
    if login.is_empty() {
        return Err(AppError::bad("enter your login or email"));
    }
    if login.chars().count() > 254 || login.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(AppError::bad(
            "a login or email is one word of at most 254 characters",
        ));
    }
    Ok(())
}

fn signed_in(token: &str, st: &WebState, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            token,
            SESSION_HOURS * 3600,
            st.secure_cookies,
        ),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(PRE_SESSION_COOKIE, "", 0, st.secure_cookies),
    );
    response
}

/// `notice` is the line shown above the form when the visitor has just
/// signed out.
fn login_form(
    pre: &str,
    login: &str,
    password_step: Option<&str>,
    error: Option<&AppError>,
    status: StatusCode,
    notice: Option<&str>,
) -> Response {
    let csrf = csrf_token(pre);
    let body = html! {
        @if let Some(n) = notice { p.flash role="status" #signed-out { (n) } }
        (error_box(error))
        form.stack method="post" action="/login" {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            @if password_step.is_some() {
                input type="hidden" name="login" value=(login);
                p.signed-as {
                    "Signing in as " strong #login-shown { (login) } " · "
                    a href="/login" { "Use another login" }
                }
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required autofocus;
                button.primary type="submit" { "Sign in" }
            } @else {
                label for="login" { "Login or email" }
                input #login type="text" name="login" value=(login) autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus;
                button.primary type="submit" { "Next" }
            }
        }
    };
    layout::bare(status, "Sign in", body)
}

pub async fn logout(
    State(st): State<WebState>,
    SignedForm { session, .. }: SignedForm,
) -> Response {
    if let Err(e) = st.app.logout(&session.caller).await {
        return layout::session_error(&session, &e);
    }
    let mut response = Redirect::to("/login?out=1").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, st.secure_cookies),
    );
    response
}

pub async fn password_page(s: Session) -> Response {
    password_form(&s, None, StatusCode::OK)
}

fn password_form(s: &Session, error: Option<&AppError>, status: StatusCode) -> Response {
    let forced = s.caller.must_change_password;
    let body = html! {
        @if forced {
            p.notice role="status" {
                "Your password was generated for you, or chosen by whoever created your account. Choose your own password before you continue."
            }
        }
        (error_box(error))
        (post_form(s, "/password", html! {
            label for="current" { "Current password" }
            input #current type="password" name="current" autocomplete="current-password" required autofocus;
            label for="new" { "New password" }
            input #new type="password" name="new" autocomplete="new-password" minlength=(crate::auth::MIN_PASSWORD) required aria-describedby="new-hint";
            p.hint #new-hint { "At least " (crate::auth::MIN_PASSWORD) " characters, hard to guess (a few unrelated words do well), without your login or email." }
            label for="confirm" { "New password again" }
            input #confirm type="password" name="confirm" autocomplete="new-password" required;
        }, "Change password"))
    };
    layout::page_with_status(s, status, "Change your password", body)
}

pub async fn password_post(
    State(st): State<WebState>,
    ClientAddress(client): ClientAddress,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let raw = |name: &str| -> String {
        form.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (current, new, confirm) = (raw("current"), raw("new"), raw("confirm"));
    if new != confirm {
        let e = AppError::bad("the two new passwords differ");
        return password_form(&s, Some(&e), StatusCode::UNPROCESSABLE_ENTITY);
    }
    if let Err(e) = st
        .app
        .change_password(&s.caller, &current, &new, &client)
        .await
    {
        return password_form(&s, Some(&e), layout::status_of(&e));
    }
    // Changing the password ends every session, this one too: sign in again
    // with the new password so the user simply carries on.
    match st.app.login(&s.account.login, &new, &client).await {
        Ok((token, _, _)) => {
            let mut response = signed_in(&token, &st, "/");
            let flash = redirect_with_flash("/", "Your password was changed.", st.secure_cookies);
            for v in flash.headers().get_all(header::SET_COOKIE) {
                response.headers_mut().append(header::SET_COOKIE, v.clone());
            }
            response
        }
        Err(_) => Redirect::to("/login").into_response(),
    }
}
