//! Webhooks: the caller's endpoints (add, pause, enable, delete), each
//! endpoint's deliveries with Send again, and the partner's daily reminder
//! email setting. The signing secret is shown once, on the page after adding.

use super::WebState;
use super::forms::{Params, encode};
use super::layout::{self, Col, Table, csrf_field, data_table, error_box, pager, post_form, when};
use super::session::{Session, SignedForm, redirect_with_flash};
use crate::app::NewWebhook;
use crate::error::AppError;
use crate::webhooks::EVENT_TYPES;
use aggregates::Role;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};

fn type_label(t: &str) -> String {
    let words = t.replace('_', " ").to_lowercase();
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub async fn list(State(st): State<WebState>, s: Session, Params(p): Params) -> Response {
    render_list(&st, &s, &p, None, None).await
}

async fn render_list(
    st: &WebState,
    s: &Session,
    p: &super::forms::FormData,
    error: Option<&AppError>,
    secret: Option<(&str, &str)>,
) -> Response {
    let page = match st.app.webhooks(&s.caller, p.page()).await {
        Ok(page) => page,
        Err(e) => return layout::session_error(s, &e),
    };
    let digest = if s.caller.role == Role::Partner {
        st.app.reminder_digest(&s.caller).await.ok()
    } else {
        None
    };
    let body = html! {
        @if let Some((url, secret)) = secret {
            div.notice role="status" {
                p { "The endpoint " span.mono { (url) } " was added. Its signing secret, shown only now:" }
                p.mono { (secret) }
                p.hint { "Keep it with the receiver: it checks the Webhook-Signature header of every delivery." }
            }
        }
        (data_table(
            Table { id: None, caption: "Webhook endpoints", columns: &[
                Col::Text("URL"), Col::Text("Events"), Col::Text("State"), Col::Text("Created"), Col::Actions
            ] },
            page.rows.is_empty().then_some("No webhook endpoint yet."),
            html! {
                @for (_, w) in &page.rows {
                    tr {
                        td {
                            a.mono href={ "/webhooks/" (encode(&w.id)) } { (w.url) }
                            @if let Some(d) = &w.description { br; span.muted { (d) } }
                        }
                        td { (w.event_types.iter().map(|t| type_label(t)).collect::<Vec<_>>().join(", ")) }
                        td { @if w.enabled { "Enabled" } @else { span.muted { "Disabled" } } }
                        td.when { (when(&w.created_at)) }
                        td.actions {
                            form method="post" action={ "/webhooks/" (encode(&w.id)) "/enabled" } {
                                (csrf_field(s))
                                input type="hidden" name="enabled" value=(if w.enabled { "false" } else { "true" });
                                button type="submit" { (if w.enabled { "Pause" } else { "Enable" }) }
                            }
                            form method="post" action={ "/webhooks/" (encode(&w.id)) "/delete" } {
                                (csrf_field(s))
                                button type="submit" { "Delete" }
                            }
                        }
                    }
                }
            },
        ))
        (pager("/webhooks", p, &page))
        h2 { "Add an endpoint" }
        (error_box(error))
        (post_form(s, "/webhooks/new", html! {
            label for="url" { "URL" }
            input #url.mono type="url" name="url" required maxlength="2048" placeholder="https://example.com/webhooks" aria-describedby="url-hint";
            p.hint #url-hint { "https, or http to 127.0.0.1, ::1 or localhost." }
            label for="description" { "Description" }
            input #description type="text" name="description" maxlength="500";
            fieldset {
                legend { "Events" }
                @for t in EVENT_TYPES {
                    label { input type="checkbox" name="events" value=(t); " " (type_label(t)) }
                }
            }
        }, "Add"))
        @if let Some(on) = digest {
            h2 { "Support reminders by email" }
            form.stack method="post" action="/webhooks/digest" {
                (csrf_field(s))
                label {
                    input type="checkbox" name="digest" value="on" checked[on];
                    " Email me once a day the supports (mine and my resellers') ending in 30 or 7 days or just expired"
                }
                button type="submit" { "Save" }
            }
        }
    };
    layout::page_for(s, error, "Webhooks", body)
}

pub async fn create(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let new = NewWebhook {
        url: form.get("url").to_string(),
        description: form.opt("description").map(str::to_string),
        event_types: form.all("events"),
    };
    match st.app.create_webhook(&s.caller, new).await {
        Ok((w, secret)) => {
            render_list(&st, &s, &Default::default(), None, Some((&w.url, &secret))).await
        }
        Err(e) => render_list(&st, &s, &Default::default(), Some(&e), None).await,
    }
}

pub async fn set_enabled(
    State(st): State<WebState>,
    Path(id): Path<String>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let enabled = form.get("enabled") == "true";
    match st.app.set_webhook_enabled(&s.caller, &id, enabled).await {
        Ok(w) => redirect_with_flash(
            "/webhooks",
            &format!(
                "{} is {}.",
                w.url,
                if w.enabled { "enabled" } else { "paused" }
            ),
            s.secure,
        ),
        Err(e) => layout::session_error(&s, &e),
    }
}

pub async fn delete(
    State(st): State<WebState>,
    Path(id): Path<String>,
    SignedForm { session: s, .. }: SignedForm,
) -> Response {
    match st.app.delete_webhook(&s.caller, &id).await {
        Ok(()) => redirect_with_flash("/webhooks", "The endpoint was deleted.", s.secure),
        Err(e) => layout::session_error(&s, &e),
    }
}

pub async fn digest(
    State(st): State<WebState>,
    SignedForm { session: s, form }: SignedForm,
) -> Response {
    let on = form.get("digest") == "on";
    match st.app.set_reminder_digest(&s.caller, on).await {
        Ok(()) => redirect_with_flash(
            "/webhooks",
            if on {
                "You will get the support reminders by email."
            } else {
                "You will no longer get the support reminders by email."
            },
            s.secure,
        ),
        Err(e) => layout::session_error(&s, &e),
    }
}

fn deliveries_table(s: &Session, rows: &[crate::app::DeliveryRow]) -> Markup {
    html! {
        (data_table(
            Table { id: None, caption: "Deliveries", columns: &[
                Col::Text("Event"), Col::Text("Status"), Col::Text("Attempts"), Col::Text("Response"), Col::Text("Last attempt"), Col::Text("Next attempt"), Col::Actions
            ] },
            rows.is_empty().then_some("No delivery yet."),
            html! {
                @for d in rows {
                    tr {
                        td { (type_label(&d.event_type)) br; span.mono.muted { (d.message_id) } }
                        td { (type_label(&d.status)) }
                        td { (d.attempts) }
                        td {
                            @match (d.last_response_code, &d.last_error) {
                                (Some(code), _) => { (code) }
                                (None, Some(e)) => { span.muted { (e) } }
                                _ => { span.muted { "—" } }
                            }
                        }
                        td.when { (d.last_attempt_at.as_deref().map(when).unwrap_or_default()) }
                        td.when { (d.next_attempt_at.as_deref().map(when).unwrap_or_default()) }
                        td.actions {
                            @if d.status != "PENDING" {
                                form method="post" action={ "/webhooks/deliveries/" (encode(&d.id)) "/redeliver" } {
                                    (csrf_field(s))
                                    button type="submit" { "Send again" }
                                }
                            }
                        }
                    }
                }
            },
        ))
    }
}

pub async fn deliveries(
    State(st): State<WebState>,
    Path(id): Path<String>,
    s: Session,
    Params(p): Params,
) -> Response {
    let hook = match st.app.webhook(&s.caller, &id).await {
        Ok(w) => w,
        Err(e) => return layout::session_error(&s, &e),
    };
    let page = match st.app.webhook_deliveries(&s.caller, &id, p.page()).await {
        Ok(page) => page,
        Err(e) => return layout::session_error(&s, &e),
    };
    let rows: Vec<_> = page.rows.iter().map(|(_, d)| d.clone()).collect();
    let body = html! {
        p { span.mono { (hook.url) } " · " (if hook.enabled { "Enabled" } else { "Disabled" }) }
        (deliveries_table(&s, &rows))
        (pager(&format!("/webhooks/{}", encode(&id)), &p, &page))
        p { a href="/webhooks" { "Back to the endpoints" } }
    };
    layout::page(&s, "Webhook deliveries", body)
}

pub async fn redeliver(
    State(st): State<WebState>,
    Path(id): Path<String>,
    SignedForm { session: s, .. }: SignedForm,
) -> Response {
    match st.app.redeliver_webhook(&s.caller, &id).await {
        Ok(d) => redirect_with_flash(
            &format!("/webhooks/{}", encode(&d.webhook_id)),
            "The delivery will be sent again now.",
            s.secure,
        ),
        Err(e) => layout::session_error(&s, &e),
    }
}
