//! Licenses (partner guide, section 4): the table with its filters and pages,
//! and per license Upgrade, Edit (email, comment) and Delete (only while its
//! key is not activated on a device; asks first and shows the refund).

use super::WebState;
use super::forms::{FormData, Params, encode};
use super::keys::keys_of;
use super::layout::{
    self, Col, Shown, Table, credits, csrf_field, cta, data_table, day, error_box, pager,
    product_filter, when,
};
use super::owners::{on_behalf, owner_names, reseller_owner};
use super::review::{self, ChangePage};
use super::session::{Session, SignedForm, redirect_with_flash};
use crate::app::Operation;
use crate::error::{AppError, AppResult};
use aggregates::{LicenseKind, LicenseStatus, Role};
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use projections::queries::{LicenseFilter, LicenseRow};

/// The status filter's choices, in the order the form lists them.
const STATUSES: &[(LicenseStatus, &str)] = &[
    (LicenseStatus::Active, "Permanent"),
    (LicenseStatus::Trial, "Trial running"),
    (LicenseStatus::TrialExpired, "Trial expired"),
    (LicenseStatus::Deleted, "Deleted"),
];

fn status_text(l: &LicenseRow, now: &str) -> &'static str {
    if l.deleted {
        "Deleted"
    } else if is_permanent(l) {
        "Permanent"
    } else if l.trial_ends_at.as_deref().is_some_and(|t| t > now) {
        "Trial"
    } else {
        "Trial expired"
    }
}

fn is_permanent(l: &LicenseRow) -> bool {
    l.kind == LicenseKind::Permanent.as_str()
}

pub async fn list(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    let filter = LicenseFilter {
        product: p.opt("product").map(str::to_string),
        kind: p.opt("kind").and_then(|k| k.parse().ok()),
        statuses: match p.opt("status").and_then(|v| v.parse().ok()) {
            Some(status) => vec![status],
            // By default deleted licenses stay out of the way.
            None => LicenseStatus::LIVE.to_vec(),
        },
        search: p.opt("q").map(str::to_string),
        ..LicenseFilter::default()
    };
    let page = match st.app.licenses(&s.caller, &filter, &p.page()).await {
        Ok(page) => page,
        Err(e) => return layout::session_error(&s, &e),
    };
    let owners = owner_names(&st, &s).await;
    let keys = keys_of(&st, &s, page.rows.iter().map(|(_, l)| l.key_id.as_str())).await;
    let now = projections::db::time_text(Utc::now());
    let seller = s.caller.role != Role::Admin;
    let catalog = &st.app.catalog;
    let body = html! {
        div.toolbar {
            form.filters method="get" action="/licenses" role="search" {
                (product_filter(catalog, &p))
                div {
                    label for="f-kind" { "Kind" }
                    select #f-kind name="kind" {
                        option value="" { "All" }
                        @for (kind, label) in [(LicenseKind::Permanent, "Permanent"), (LicenseKind::Trial, "Trial")] {
                            option value=(kind) selected[p.get("kind") == kind.as_str()] { (label) }
                        }
                    }
                }
                div {
                    label for="f-status" { "Status" }
                    select #f-status name="status" {
                        option value="" { "Not deleted" }
                        @for (code, label) in STATUSES {
                            option value=(code) selected[p.get("status") == code.as_str()] { (label) }
                        }
                    }
                }
                div {
                    label for="f-q" { "Search (key, email, comment)" }
                    input #f-q type="search" name="q" value=(p.get("q"));
                }
                button type="submit" { "Filter" }
            }
            @if seller { (cta("/licenses/new", "Generate a License")) }
        }
        (data_table(
            Table { id: Some("licenses"), caption: "Licenses", columns: &[
                Col::Text("Key"), Col::Text("Product"), Col::Text("Users"), Col::Text("Status"), Col::Text("Email / comment"), Col::Text("Owner"), Col::Text("Created"), Col::Actions
            ] },
            page.rows.is_empty().then_some("No license matches these filters."),
            html! {
                @for (_, l) in &page.rows {
                    tr.reseller-row[!owners.is_own(&l.owner_id)] {
                        td.mono { (keys.get(&l.key_id).map_or("", |k| k.key.as_str())) }
                        td { (catalog.product_name(&l.product)) " " span.muted { (catalog.edition_name(&l.product, &l.edition)) } }
                        td.num { (l.users) }
                        td {
                            (status_text(l, &now))
                            @if let (false, Some(t)) = (l.deleted, &l.trial_ends_at) { br; span.muted.nowrap { "until " (day(t)) } }
                            @if l.activated { br; span.badge { "Activated" } }
                        }
                        td.text { (l.email.as_deref().unwrap_or("")) @if let Some(c) = &l.comment { br; span.muted { (c) } } }
                        td { (owners.label(&l.owner_id)) }
                        td.when title=(when(&l.created_at)) { (day(&l.created_at)) }
                        td.actions {
                            // Only what would be accepted: a trial is not
                            // upgraded (a permanent license is generated
                            // instead), and the administrator only looks.
                            @if !l.deleted && seller {
                                @if is_permanent(l) {
                                    a href={ "/licenses/" (encode(&l.id)) "/upgrade" } { "Upgrade" }
                                }
                                a href={ "/licenses/" (encode(&l.id)) "/edit" } { "Edit" }
                                @if l.activated {
                                    a href={ "/licenses/" (encode(&l.id)) "/delete" } { "Deactivate…" }
                                } @else {
                                    a.danger href={ "/licenses/" (encode(&l.id)) "/delete" } { "Delete" }
                                }
                            }
                        }
                    }
                }
            },
        ))
        (pager("/licenses", &p, &page))
    };
    layout::page(&s, "Licenses", body)
}

/// The license a page acts on, and whose it is when a partner acts on its
/// reseller's.
pub(super) fn describe(st: &WebState, l: &LicenseRow, reseller: Option<&str>) -> Markup {
    let catalog = &st.app.catalog;
    let edition = catalog.edition_name(&l.product, &l.edition);
    html! {
        p.chosen {
            strong { (catalog.product_name(&l.product)) " " (edition) }
            " · " (l.users) " users · "
            @if is_permanent(l) { "Permanent" } @else { "Trial" }
            " · created " (when(&l.created_at))
        }
        (on_behalf(reseller))
    }
}

/// Raising a license's users or edition.
#[derive(Clone, Copy)]
pub struct Upgrade;

impl review::Change for Upgrade {
    fn action(self, id: &str) -> String {
        format!("/licenses/{}/upgrade", encode(id))
    }

    fn operation(self, id: &str, p: &FormData) -> AppResult<Operation> {
        Ok(Operation::UpgradeLicense {
            id: id.to_string(),
            users: p.opt_int("users", "Users")?,
            edition: p.opt("edition").map(str::to_string),
        })
    }

    fn fields(self, p: &FormData) -> Vec<(&'static str, String)> {
        ["users", "edition"]
            .map(|n| (n, p.get(n).to_string()))
            .to_vec()
    }

    async fn render(self, page: ChangePage<'_>, error: Option<AppError>) -> Shown {
        let ChangePage { st, s, id, p } = page;
        let license = layout::shown(s, st.app.license(&s.caller, id).await)?;
        let reseller = reseller_owner(st, s, &license.owner_id).await;
        let (quote, error) = review::priced(st, s, p, error, self.operation(id, p)).await;
        let product = st.app.catalog.product(&license.product);
        let action = self.action(id);
        let users = p
            .opt("users")
            .map(str::to_string)
            .unwrap_or(license.users.to_string());
        let edition = p.opt("edition").unwrap_or(&license.edition).to_string();
        let edition_name = st.app.catalog.edition_name(&license.product, &edition);
        let confirm = review::Confirm {
            action: &action,
            fields: &self.fields(p),
            button: "Upgrade",
            smaller: "fewer users or a lower edition",
        };
        let body = html! {
            (describe(st, &license, reseller.as_deref()))
            (error_box(error.as_ref()))
            @if let Some(q) = &quote {
                (review::review_step(s, p, q, review::summary("After the upgrade", html! {
                    div { dt { "Edition" } dd { (edition_name) } }
                    div { dt { "Users" } dd #review-users { (users) } }
                }), &confirm))
            } @else {
                (review::choices_form(&action, html! {
                    (review::upgrade_fields(
                        review::Upgrade { product, from: (license.users, &license.edition), to: (&users, &edition) },
                        |e| format!("{} per user", credits(e.license_per_user)),
                        "An upgrade never lowers the users or the edition; it costs the difference.",
                    ))
                }))
            }
            p { a href="/licenses" { "Back to the licenses" } }
        };
        Ok(layout::page_for(
            s,
            error.as_ref(),
            "Upgrade a license",
            body,
        ))
    }

    async fn done(self, _: &WebState, _: &Session, _: &str) -> (&'static str, String) {
        ("/licenses", "The license was upgraded.".to_string())
    }
}

pub async fn delete_page(
    State(st): State<WebState>,
    s: Session,
    Path(id): Path<String>,
) -> Response {
    let l = match st.app.license(&s.caller, &id).await {
        Ok(l) => l,
        Err(e) => return layout::session_error(&s, &e),
    };
    delete_render(&st, &s, &l, None).await
}

async fn delete_render(
    st: &WebState,
    s: &Session,
    l: &LicenseRow,
    error: Option<&AppError>,
) -> Response {
    let reseller = reseller_owner(st, s, &l.owner_id).await;
    let key = st.app.activation_key(&s.caller, &l.key_id).await.ok();
    let body = html! {
        (describe(st, l, reseller.as_deref()))
        (error_box(error))
        @if l.deleted {
            p.notice { "This license is already deleted." }
        } @else if l.activated {
            p.warning role="alert" #activated {
                "This license cannot be deleted while its activation key "
                @if let Some(k) = &key { strong.mono { (k.key) } " " }
                "is activated on "
                @match key.as_ref().and_then(|k| k.device_name.as_deref()) {
                    Some(name) => { "the device " strong { (name) } }
                    None => { "a device" }
                }
                @if let Some(at) = key.as_ref().and_then(|k| k.activated_at.as_deref()) { " (since " (when(at)) ")" }
                ". Deactivate it first: the product on that device stops working until the key is activated again."
            }
            @if key.as_ref().is_some_and(|k| k.device_fingerprint.is_some()) {
                form.inline method="post" action={ "/licenses/" (encode(&l.id)) "/deactivate" } {
                    (csrf_field(s))
                    button.danger type="submit" { "Deactivate the device" }
                    a.button href="/licenses" { "Back to the licenses" }
                }
            } @else {
                p { a href="/licenses" { "Back to the licenses" } }
            }
        } @else {
            p.warning #refund {
                @if l.credits_spent > 0 {
                    "Delete this license? The " (credits(l.credits_spent)) " it cost will be refunded to "
                    @if let Some(name) = &reseller { (name) "'s" } @else { "your" }
                    " balance."
                } @else {
                    "Delete this license? It cost no credits, so nothing is refunded."
                }
            }
            form.inline method="post" action={ "/licenses/" (encode(&l.id)) "/delete" } {
                (csrf_field(s))
                input type="hidden" name="_idem" value=(crate::auth::new_id("web"));
                button.danger type="submit" autofocus { "Delete the license" }
                a.button href="/licenses" { "Cancel" }
            }
        }
    };
    layout::page_for(s, error, "Delete a license", body)
}

/// Deactivates the device the license's key is active on, through the same
/// application call a device makes, so the license can then be deleted.
pub async fn deactivate(
    State(st): State<WebState>,
    Path(id): Path<String>,
    SignedForm { session: s, .. }: SignedForm,
) -> Response {
    let l = match st.app.license(&s.caller, &id).await {
        Ok(l) => l,
        Err(e) => return layout::session_error(&s, &e),
    };
    if s.caller.role == Role::Admin {
        let e = AppError::Forbidden("the administrator does not manage devices".into());
        return delete_render(&st, &s, &l, Some(&e)).await;
    }
    let key = match st.app.activation_key(&s.caller, &l.key_id).await {
        Ok(k) => k,
        Err(e) => return delete_render(&st, &s, &l, Some(&e)).await,
    };
    let Some(fingerprint) = key.device_fingerprint.clone() else {
        return redirect_with_flash(
            &format!("/licenses/{}/delete", encode(&id)),
            "The key was not active on any device.",
            s.secure,
        );
    };
    let client = format!("portal:{}", s.caller.id);
    match st.app.deactivate_key(&client, &key.key, &fingerprint).await {
        Ok(()) => redirect_with_flash(
            &format!("/licenses/{}/delete", encode(&id)),
            &format!(
                "The key {} was deactivated on {}; the license can now be deleted.",
                key.key,
                key.device_name.as_deref().unwrap_or("its device")
            ),
            s.secure,
        ),
        Err(e) => delete_render(&st, &s, &l, Some(&e)).await,
    }
}

pub async fn delete(
    State(st): State<WebState>,
    Path(id): Path<String>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    match st
        .app
        .delete_license(&s.caller, &id, form.opt("_idem"))
        .await
    {
        Ok(Some(entry)) => {
            let whose = match reseller_owner(&st, &s, &entry.account_id).await {
                Some(name) => format!("{name}'s"),
                None => "your".to_string(),
            };
            redirect_with_flash(
                "/licenses",
                &format!(
                    "The license was deleted and {} credits were refunded; {whose} balance is {}.",
                    entry.amount, entry.balance_after
                ),
                s.secure,
            )
        }
        Ok(None) => redirect_with_flash("/licenses", "The license was deleted.", s.secure),
        Err(e) => match st.app.license(&s.caller, &id).await {
            Ok(l) => delete_render(&st, &s, &l, Some(&e)).await,
            Err(_) => layout::session_error(&s, &e),
        },
    }
}
