//! Server-side render times of the portal's pages for the heavy partner:
//! its licenses, its credit history, and 1 % of the synthetic supports
//! handed to it. Each page is fetched 53 times in a row, the first three
//! warming the caches; the time is the server's own (its Server-Timing
//! header), so the client's parsing of the HTML is left out.

use crate::heavy::{Heavy, license_count};
use crate::measure::p50_p99;
use license_portal::app::App;
use license_portal::config::ServeArgs;

const WARM_UP: usize = 3;
const MEASURED: usize = 50;

/// (label, path) of each page measured; `after=` stands for the licenses'
/// second page, whose cursor the first page gives.
fn page_list() -> Vec<(&'static str, String)> {
    let today = chrono::Utc::now().date_naive();
    let month = (today + chrono::Days::new(30)).to_string();
    vec![
        ("home", "/".into()),
        ("activation keys", "/keys".into()),
        ("licenses", "/licenses".into()),
        (
            "licenses, permanent Remote Access",
            "/licenses?product=REMOTE_ACCESS&kind=PERMANENT&status=ACTIVE".into(),
        ),
        (
            "licenses, search an email",
            "/licenses?q=user4242%40".into(),
        ),
        (
            "licenses, deleted (none are)",
            "/licenses?status=DELETED".into(),
        ),
        ("licenses, page 2", "/licenses?after=".into()),
        ("support", "/support".into()),
        (
            "support, ending in 30 days",
            format!("/support?from={today}&to={month}"),
        ),
        ("support, expired", "/support?expired=1".into()),
        ("subscriptions", "/subscriptions".into()),
        ("resellers", "/resellers".into()),
        ("credit history", "/credits".into()),
        ("generate a license", "/licenses/new".into()),
    ]
}

pub async fn pages(app: &App, serve: &ServeArgs, heavy: &Heavy) -> Result<(), String> {
    let moved = hand_supports_over(&app.db, heavy).await?;
    let running = testkit::server::start(serve).await?;
    let portal = Portal {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?,
        base: format!("http://{}", running.addr),
        cookie: format!("{}={}", license_portal::http::SESSION_COOKIE, heavy.token),
    };
    println!(
        "portal pages, server-side render for a partner with {} licenses and {moved} supports ({MEASURED} each):",
        license_count(&app.db, &heavy.id).await?
    );
    for (label, mut path) in page_list() {
        if path.ends_with("after=") {
            // The second page's cursor, as the first page's "Next" link gives it.
            let first = portal.fetch("/licenses").await?.1;
            match next_link(&first) {
                Some(next) => path = next,
                None => continue,
            }
        }
        let mut took = Vec::with_capacity(WARM_UP + MEASURED);
        for _ in 0..WARM_UP + MEASURED {
            took.push(portal.fetch(&path).await?.0);
        }
        let mut took = took.split_off(WARM_UP);
        took.sort_by(f64::total_cmp);
        println!("  {label:<36} {}", p50_p99(&took));
    }
    running.stop().await;
    Ok(())
}

/// Gives the heavy partner the synthetic supports of one made-up owner (1 %
/// of them); returns how many.
async fn hand_supports_over(db: &projections::Db, heavy: &Heavy) -> Result<u64, String> {
    let moved = sqlx::query(
        "UPDATE supports SET owner_id = $1, scope_id = $1, key_id = $2 WHERE owner_id = 'acc_bench_0'",
    )
    .bind(&heavy.id)
    .bind(&heavy.key)
    .execute(&db.pool)
    .await
    .map_err(|e| e.to_string())?
    .rows_affected();
    if db.backend == projections::Backend::Postgres {
        sqlx::query("ANALYZE")
            .execute(&db.pool)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(moved)
}

/// The portal as a signed-in browser that does not follow redirects.
struct Portal {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Portal {
    /// One page: the server's time for it in ms, and its HTML.
    async fn fetch(&self, path: &str) -> Result<(f64, String), String> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{path} answered {}", response.status()));
        }
        let server = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("dur=").nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("{path} has no Server-Timing header"))?;
        let body = response.text().await.map_err(|e| e.to_string())?;
        Ok((server, body))
    }
}

/// The href of the page's "Next" link, HTML entities undone.
fn next_link(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\"")?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&amp;", "&"))
}
