//! Reading forms and query strings without ever failing on them: every field
//! is text, and turning it into a number or a date gives the form back with
//! a message instead of a bare 400.

use crate::error::{AppError, AppResult};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use chrono::NaiveDate;
use maud::{Markup, html};
use projections::queries::{Cursor, PageRequest};
use std::convert::Infallible;

/// Rows per page of the portal's tables.
pub const PAGE_SIZE: i64 = 25;

#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The field's first value, trimmed; "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    /// The field when it is present and not blank.
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    pub fn int(&self, name: &str, label: &str) -> AppResult<i64> {
        self.opt_int(name, label)?
            .ok_or_else(|| AppError::bad(format!("{label} is required")))
    }

    pub fn opt_int(&self, name: &str, label: &str) -> AppResult<Option<i64>> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| AppError::bad(format!("{label} must be a whole number, not \"{v}\""))),
        }
    }

    pub fn date(&self, name: &str, label: &str) -> AppResult<Option<NaiveDate>> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    AppError::bad(format!("{label} must be a date (YYYY-MM-DD), not \"{v}\""))
                }),
        }
    }

    /// This query string with some fields replaced (or removed when the new
    /// value is empty): for filter and paging links.
    pub fn with(&self, changes: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .0
            .iter()
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
            // A form re-shown after a post still holds its token and
            // idempotency key: neither belongs in a link (history, Referer).
            .filter(|(k, _)| !k.starts_with('_'))
            .filter(|(_, v)| !v.trim().is_empty())
            .cloned()
            .collect();
        for (k, v) in changes {
            if !v.is_empty() {
                pairs.push((k.to_string(), v.to_string()));
            }
        }
        query_string(&pairs)
    }

    /// The page this query string asks for; a cursor that does not parse
    /// starts at the first page.
    pub fn page(&self) -> PageRequest {
        PageRequest {
            first: PAGE_SIZE,
            after: parse_cursor(self.get("after")),
        }
    }
}

pub fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A cursor in a link: a position, or an end-of-support date and position.
pub fn cursor_text(cursor: &Cursor) -> String {
    match cursor {
        Cursor::Position(p) => p.to_string(),
        Cursor::DateAndPosition(d, p) => format!("{d}~{p}"),
        Cursor::Entry(id) => id.clone(),
    }
}

fn parse_cursor(text: &str) -> Option<Cursor> {
    match text.split_once('~') {
        Some((d, p)) => {
            let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
            Some(Cursor::DateAndPosition(
                projections::db::date_text(date),
                p.parse().ok()?,
            ))
        }
        None if text.starts_with("crd_") => Some(Cursor::Entry(text.to_string())),
        None => text.parse().ok().map(Cursor::Position),
    }
}

/// The query string of a GET request as form fields; malformed ones are
/// dropped rather than refused.
pub struct Params(pub FormData);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let fields = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        Ok(Params(FormData(fields)))
    }
}

/// Hidden inputs that carry a form's choices to its next step.
pub fn hidden(fields: &[(&str, String)]) -> Markup {
    html! {
        @for (name, value) in fields {
            input type="hidden" name=(name) value=(value);
        }
    }
}
