//! A reviewed operation and its confirmation.
//!
//! Reviewing (a GET with `review=1`) first redirects to the same address with
//! a fresh review id (`rid`) in it, so Back, reload and a second tab all show
//! the review under the same id. The confirm form derives its idempotency key
//! from that id: submitting one review twice buys once and returns the first
//! result. The form also carries an HMAC of the reviewed values (keyed by the
//! session's secret), so the server only ever confirms what was shown.

use super::WebState;
use super::forms::{FormData, Params, hidden};
use super::layout::{Shown, quote_panel};
use super::session::{Session, SignedForm, redirect_with_flash, unhex};
use crate::app::{Operation, Quote};
use crate::error::{AppError, AppResult};
use aggregates::catalog::{Edition, Product};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get};
use hmac::{Hmac, Mac};
use maud::{Markup, html};
use sha2::Sha256;
use std::future::Future;

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

/// The price of `operation` when the page shows a review and nothing went
/// wrong before; a failure to build or to price it becomes the page's error.
pub async fn priced(
    st: &WebState,
    s: &Session,
    p: &FormData,
    error: Option<AppError>,
    operation: AppResult<Operation>,
) -> (Option<Quote>, Option<AppError>) {
    if error.is_some() || !reviewing(p) {
        return (None, error);
    }
    match operation {
        Ok(op) => match st.app.quote(&s.caller, &op).await {
            Ok(q) => (Some(q), None),
            Err(e) => (None, Some(e)),
        },
        Err(e) => (None, Some(e)),
    }
}

/// Runs a confirmed operation, only when its form carries exactly the
/// reviewed `fields`, under the review's idempotency key.
pub async fn confirmed(
    st: &WebState,
    s: &Session,
    action: &str,
    form: &FormData,
    fields: &[(&str, String)],
    operation: AppResult<Operation>,
) -> AppResult<String> {
    let op = operation?;
    let idem = check(s, action, form, fields)?;
    st.app.execute_operation(&s.caller, &op, Some(idem)).await
}

/// A refused confirmation's form as its page shows it again: the choices,
/// not the review.
pub fn unreviewed(form: &FormData) -> FormData {
    let mut back = form.clone();
    back.0.retain(|(k, _)| k != "review" && k != REVIEW_ID);
    back
}

/// The box that sums up what a review will do.
pub fn summary(title: &str, figures: Markup) -> Markup {
    html! {
        section.summary aria-labelledby="summary-title" {
            h2 #summary-title { (title) }
            dl.figures { (figures) }
        }
    }
}

/// What a review's confirm form posts and how its button reads.
pub struct Confirm<'a> {
    pub action: &'a str,
    /// The reviewed values (see `check`).
    pub fields: &'a [(&'static str, String)],
    pub button: &'a str,
    /// What a cheaper choice would be, for a balance that is too low.
    pub smaller: &'a str,
}

/// The review step: the summary, the cost with the confirm button, and the
/// way back to the choices. The button confirms exactly what it shows.
pub fn review_step(
    s: &Session,
    p: &FormData,
    quote: &Quote,
    summary: Markup,
    c: &Confirm<'_>,
) -> Markup {
    let fields = confirm_fields(s, c.action, p, c.fields);
    html! {
        (summary)
        (quote_panel(s, quote, c.action, fields, c.button, c.smaller))
        p { a #change href=(change_link(s, p)) { "Change the choices" } }
    }
}

/// The choices of a reviewed operation: a GET form whose button asks for the
/// review, so Back and reload are safe.
pub fn choices_form(action: &str, fields: Markup) -> Markup {
    html! {
        form.stack method="get" action=(action) {
            input type="hidden" name="review" value="1";
            (fields)
            button type="submit" { "Review" }
        }
    }
}

/// An upgrade's choices: the product, the users and edition it has, and
/// those chosen so far (as typed).
pub struct Upgrade<'a> {
    pub product: Option<&'a Product>,
    pub from: (i64, &'a str),
    pub to: (&'a str, &'a str),
}

/// The edition (this one or a higher one, each with `price`) and the users
/// (these or more) of an upgrade.
pub fn upgrade_fields(u: Upgrade<'_>, price: impl Fn(&Edition) -> String, hint: &str) -> Markup {
    let ((from_users, from_edition), (users, edition)) = (u.from, u.to);
    html! {
        label for="edition" { "Edition" }
        select #edition name="edition" autofocus {
            @if let Some(product) = u.product {
                @let current = product.rank(from_edition).unwrap_or(0);
                @for e in product.editions.iter().skip(current) {
                    option value=(e.code) selected[e.code == edition] { (e.name) " — " (price(e)) }
                }
            }
        }
        label for="users" { "Users" }
        input #users type="number" name="users" min=(from_users) max=(aggregates::values::MAX_USERS) value=(users) required aria-describedby="users-hint";
        p.hint #users-hint { (hint) }
    }
}

/// What a change's page is drawn from.
#[derive(Clone, Copy)]
pub struct ChangePage<'a> {
    pub st: &'a WebState,
    pub s: &'a Session,
    /// The license, support or subscription changed.
    pub id: &'a str,
    /// The choices so far.
    pub p: &'a FormData,
}

/// A priced change to one license, support or subscription: its page shows
/// the choices or their review, and its confirmation runs the operation.
pub trait Change: Copy + Send + Sync + 'static {
    /// The address of the page and of its confirmation.
    fn action(self, id: &str) -> String;
    fn operation(self, id: &str, p: &FormData) -> AppResult<Operation>;
    /// What the review shows and its confirmation carries.
    fn fields(self, p: &FormData) -> Vec<(&'static str, String)>;
    /// The page of the change; Err is the page shown instead (the thing
    /// changed is not there, or not the caller's to see).
    fn render(
        self,
        page: ChangePage<'_>,
        error: Option<AppError>,
    ) -> impl Future<Output = Shown> + Send;
    /// Where a confirmed change leads, and the message it leaves there.
    fn done(
        self,
        st: &WebState,
        s: &Session,
        id: &str,
    ) -> impl Future<Output = (&'static str, String)> + Send;
}

/// The page (GET) and the confirmation (POST) of a change, at `{id}` in the
/// route's address.
pub fn change_routes<C: Change>(change: C) -> MethodRouter<WebState> {
    get(
        move |State(st): State<WebState>, s: Session, Path(id): Path<String>, Params(p): Params| async move {
            match assign_id(&s, &p) {
                Some(r) => r,
                None => change
                    .render(ChangePage { st: &st, s: &s, id: &id, p: &p }, None)
                    .await
                    .unwrap_or_else(|page| page),
            }
        },
    )
    .post(
        move |State(st): State<WebState>, Path(id): Path<String>, SignedForm { session: s, form }: SignedForm| async move {
            let action = change.action(&id);
            let op = change.operation(&id, &form);
            match confirmed(&st, &s, &action, &form, &change.fields(&form), op).await {
                Ok(_) => {
                    let (to, message) = change.done(&st, &s, &id).await;
                    redirect_with_flash(to, &message, s.secure)
                }
                Err(e) => {
                    let p = unreviewed(&form);
                    change
                        .render(ChangePage { st: &st, s: &s, id: &id, p: &p }, Some(e))
                        .await
                        .unwrap_or_else(|page| page)
                }
            }
        },
    )
}
