//! Replay: every view dropped and rebuilt from the log, with no server
//! running.

use license_portal::app::App;
use license_portal::config::ServeArgs;
use std::sync::Arc;
use std::time::Instant;

/// Rebuilds every view and prints events/s; returns the app, views rebuilt,
/// for the phases that follow.
pub async fn all_views(serve: &ServeArgs) -> Result<Arc<App>, String> {
    let app = license_portal::server::build_app(serve).await?;
    let events = projections::log::count(&app.db)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let replayed = app
        .projector
        .replay(|_| {})
        .await
        .map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "replay: {replayed} of {events} events in {secs:.2} s: {:>10.0} events/s",
        replayed as f64 / secs
    );
    Ok(app)
}
