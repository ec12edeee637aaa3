//! Crash points for tests. A test arms one on an `App` it built without the
//! background tasks; the operation then stops right there, as if the process
//! had died, leaving exactly what a crash at that point leaves. Nothing arms
//! one outside tests.

use crate::error::{AppError, AppResult};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// The reseller's registration is committed; its partner's record is not.
    AfterResellerRegistered,
    /// The login and email are reserved; the registration event is not written.
    AfterCredentialsWritten,
    /// The activation key's text is reserved; its creation event is not written.
    AfterKeyReserved,
}

#[derive(Debug, Default)]
pub struct Faults(Mutex<Option<FaultPoint>>);

impl Faults {
    pub fn arm(&self, point: FaultPoint) {
        *self.armed() = Some(point);
    }

    /// Stops the operation when `point` is armed.
    pub(crate) fn check(&self, point: FaultPoint) -> AppResult<()> {
        if *self.armed() == Some(point) {
            return Err(AppError::internal(
                "stopped at a test crash point",
                format!("{point:?}"),
            ));
        }
        Ok(())
    }

    fn armed(&self) -> std::sync::MutexGuard<'_, Option<FaultPoint>> {
        // One plain value: a poisoned lock still holds a good one.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
