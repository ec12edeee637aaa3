//! Edit of a license or a support (partner guide, section 4): the customer's
//! email and a comment, the only things of a sold item that change freely,
//! so the page and its save are the same for both.

use super::WebState;
use super::forms::encode;
use super::layout::{self, FormPage};
use super::owners::reseller_owner;
use super::session::{Session, SignedForm, redirect_with_flash};
use super::{licenses, support};
use crate::error::{AppError, AppResult};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use maud::{Markup, html};

/// What is edited.
#[derive(Clone, Copy)]
pub enum Sold {
    License,
    Support,
}

/// What the page shows of the item: what it is, its email and its comment.
struct Shown {
    what: Markup,
    email: String,
    comment: String,
}

impl Shown {
    fn of(what: Markup, email: &Option<String>, comment: &Option<String>) -> Shown {
        Shown {
            what,
            email: email.clone().unwrap_or_default(),
            comment: comment.clone().unwrap_or_default(),
        }
    }
}

impl Sold {
    /// The list's address (which the page's address extends), the page's
    /// title, the saved message and the way back's text.
    fn texts(self) -> [&'static str; 4] {
        match self {
            Sold::License => [
                "/licenses",
                "Edit a license",
                "The license was saved.",
                "Back to the licenses",
            ],
            Sold::Support => [
                "/support",
                "Edit a support",
                "The support was saved.",
                "Back to the support list",
            ],
        }
    }

    async fn read(self, st: &WebState, s: &Session, id: &str) -> AppResult<Shown> {
        Ok(match self {
            Sold::License => {
                let l = st.app.license(&s.caller, id).await?;
                let reseller = reseller_owner(st, s, &l.owner_id).await;
                let what = licenses::describe(st, &l, reseller.as_deref());
                Shown::of(what, &l.email, &l.comment)
            }
            Sold::Support => {
                let x = st.app.support(&s.caller, id).await?;
                let reseller = reseller_owner(st, s, &x.owner_id).await;
                let what = support::describe(st, s, &x, reseller.as_deref()).await;
                Shown::of(what, &x.email, &x.comment)
            }
        })
    }

    async fn save(
        self,
        st: &WebState,
        s: &Session,
        id: &str,
        email: &str,
        comment: &str,
    ) -> AppResult<()> {
        let (email, comment) = (Some(email.to_string()), Some(comment.to_string()));
        match self {
            Sold::License => st
                .app
                .edit_license(&s.caller, id, email, comment)
                .await
                .map(drop),
            Sold::Support => st
                .app
                .edit_support(&s.caller, id, email, comment)
                .await
                .map(drop),
        }
    }
}

/// The page (GET) and the save (POST) at `{id}` in the route's address.
pub fn edit_routes(sold: Sold) -> MethodRouter<WebState> {
    get(
        move |State(st): State<WebState>, s: Session, Path(id): Path<String>| async move {
            match sold.read(&st, &s, &id).await {
                Ok(shown) => form(sold, &s, &id, shown, None),
                Err(e) => layout::session_error(&s, &e),
            }
        },
    )
    .post(
        move |State(st): State<WebState>,
              Path(id): Path<String>,
              SignedForm {
                  session: s,
                  form: f,
              }: SignedForm| async move {
            let (email, comment) = (f.get("email"), f.get("comment"));
            match sold.save(&st, &s, &id, email, comment).await {
                Ok(()) => redirect_with_flash(sold.texts()[0], sold.texts()[2], s.secure),
                Err(e) => match sold.read(&st, &s, &id).await {
                    // The form comes back with what was typed, not what is kept.
                    Ok(shown) => {
                        let typed = Shown {
                            email: email.to_string(),
                            comment: comment.to_string(),
                            ..shown
                        };
                        form(sold, &s, &id, typed, Some(&e))
                    }
                    Err(_) => layout::session_error(&s, &e),
                },
            }
        },
    )
}

fn form(sold: Sold, s: &Session, id: &str, shown: Shown, error: Option<&AppError>) -> Response {
    let [list, title, _, back] = sold.texts();
    let action = format!("{list}/{}/edit", encode(id));
    let fields = html! {
        label for="email" { "Customer email" }
        input #email type="email" name="email" value=(shown.email) autofocus;
        label for="comment" { "Comment" }
        input #comment type="text" name="comment" value=(shown.comment) maxlength="500";
    };
    FormPage::new(title, &action, "Save")
        .before(shown.what)
        .back(list, back)
        .show(s, error, fields)
}
