//! Whether the views were behind what a request wrote. A committed command
//! is answered from what it decided even when the projector has not caught
//! up; the API then tells the client so (`extensions.viewsBehind`) rather
//! than failing. The GraphQL layer runs each request inside [`tracking`];
//! outside it (the portal, the CLI) a lag is only logged.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

tokio::task_local! {
    static BEHIND: Arc<AtomicBool>;
}

/// Runs `work`; returns its output and whether the views were behind one of
/// its writes.
pub async fn tracking<F: Future>(work: F) -> (F::Output, bool) {
    let flag = Arc::new(AtomicBool::new(false));
    let out = BEHIND.scope(flag.clone(), work).await;
    (out, flag.load(Ordering::Relaxed))
}

/// Notes that the views had not caught up with a write of this request.
pub(crate) fn report_behind() {
    let _ = BEHIND.try_with(|f| f.store(true, Ordering::Relaxed));
}

/// Whether this request already found the views behind.
pub fn behind() -> bool {
    BEHIND
        .try_with(|f| f.load(Ordering::Relaxed))
        .unwrap_or(false)
}
