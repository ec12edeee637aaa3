//! Activation keys: created by a seller, bound to one device at a time.

use super::{Decision, Ledger};
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::LedgerEvent;
use crate::values;
use chrono::Duration;

/// A license file stays valid this long after it is issued; products refresh
/// it before it ends. The ledger needs it to know when the files a device
/// received have all expired.
pub const LICENSE_FILE_DAYS: i64 = 30;

impl Ledger {
    pub(super) fn decide_key(&self, command: &LedgerCommand) -> Decision {
        use LedgerCommand::*;
        let event = match command {
            CreateActivationKey { key_id, name, key } => {
                if self.keys.contains_key(key_id) {
                    return Err(DomainError::Conflict(
                        "this activation key already exists".into(),
                    ));
                }
                LedgerEvent::ActivationKeyCreated {
                    key_id: key_id.clone(),
                    name: values::parse_name(name, "key's name")?,
                    key: values::ActivationKeyCode::parse(key)?.as_str().to_string(),
                }
            }
            ActivateKey {
                key_id,
                fingerprint,
                device_name,
            } => match self.ensure_key(key_id)? {
                Some(bound) if bound == fingerprint => return Ok(vec![]),
                Some(_) => {
                    return Err(DomainError::Conflict(
                        "this key is activated on another device; deactivate it there first".into(),
                    ));
                }
                None => LedgerEvent::KeyActivated {
                    key_id: key_id.clone(),
                    fingerprint: fingerprint.clone(),
                    device_name: device_name.clone(),
                },
            },
            DeactivateKey {
                key_id,
                fingerprint,
                now,
            } => match self.ensure_key(key_id)? {
                Some(bound) if bound == fingerprint => LedgerEvent::KeyDeactivated {
                    key_id: key_id.clone(),
                    fingerprint: fingerprint.clone(),
                    files_valid_until: Some(*now + Duration::days(LICENSE_FILE_DAYS)),
                },
                _ => {
                    return Err(DomainError::Conflict(
                        "this key is not activated on this device".into(),
                    ));
                }
            },
            other => unreachable!("decide sent {other:?} to the activation key rules"),
        };
        Ok(vec![event])
    }
}
