//! A reviewed operation and its confirmation.
//!
//! Reviewing (a GET with `review=1`) first redirects to the same address with
//! a fresh review id (`rid`) in it, so Back, reload and a second tab all show
//! the review under the same id. The confirm form derives its idempotency key
//! from that id: submitting one review twice buys once and returns the first
//! result. The form also carries an HMAC of the reviewed values (keyed by the
//! session's secret), so the server only ever confirms what was shown.

use super::forms::{FormData, hidden};
use super::session::Session;
use crate::error::{AppError, AppResult};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use maud::{Markup, html};
use sha2::Sha256;

/// The query field that names one review.
pub const REVIEW_ID: &str = "rid";
const SIGNATURE: &str = "_sig";
const IDEMPOTENCY: &str = "_idem";

/// True when the page is asked to show a review (not just to search keys).
pub fn reviewing(p: &FormData) -> bool {
    p.get("review") == "1" && !p.has("find")
}

/// A review without its id yet: the same page with a new id in the address.
pub fn assign_id(s: &Session, p: &FormData) -> Option<Response> {
    (reviewing(p) && p.opt(REVIEW_ID).is_none()).then(|| {
        let id = crate::auth::new_id("rv");
        Redirect::to(&format!("{}?{}", s.path, p.with(&[(REVIEW_ID, &id)]))).into_response()
    })
}

/// The address of the same form without the review (to change the choices).
pub fn change_link(s: &Session, p: &FormData) -> String {
    format!("{}?{}", s.path, p.with(&[("review", ""), (REVIEW_ID, "")]))
}

fn mac(s: &Session, action: &str, rid: &str, fields: &[(&str, String)]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(s.token().as_bytes()).ok()?;
    mac.update(b"license-portal review v1\0");
    for part in [action, rid] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    for (name, value) in fields {
        mac.update(name.as_bytes());
        mac.update(&[1]);
        mac.update(value.as_bytes());
        mac.update(&[0]);
    }
    Some(mac)
}

/// The hidden fields of a confirm form: the reviewed values, the key that
/// makes a second submission return the first result, and their signature.
pub fn confirm_fields(
    s: &Session,
    action: &str,
    p: &FormData,
    fields: &[(&str, String)],
) -> Markup {
    let rid = p.get(REVIEW_ID);
    let sig = mac(s, action, rid, fields)
        .map(|m| crate::auth::hex(&m.finalize().into_bytes()))
        .unwrap_or_default();
    html! {
        (hidden(fields))
        input type="hidden" name=(REVIEW_ID) value=(rid);
        input type="hidden" name=(IDEMPOTENCY) value={ "web_" (rid) };
        input type="hidden" name=(SIGNATURE) value=(sig);
    }
}

/// Checks that a posted confirmation carries exactly the reviewed values;
/// returns its idempotency key.
pub fn check<'a>(
    s: &Session,
    action: &str,
    form: &'a FormData,
    fields: &[(&str, String)],
) -> AppResult<&'a str> {
    let rid = form.get(REVIEW_ID);
    let given = unhex(form.get(SIGNATURE));
    let ok = !rid.is_empty()
        && given.is_some_and(|g| {
            mac(s, action, rid, fields).is_some_and(|m| m.verify_slice(&g).is_ok())
        });
    if !ok {
        return Err(AppError::bad(
            "the choices changed after they were reviewed (or the review is from an earlier sign-in): nothing was done; review them again and confirm",
        ));
    }
    form.opt(IDEMPOTENCY)
        .ok_or_else(|| AppError::bad("this confirmation is incomplete: review it again"))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
