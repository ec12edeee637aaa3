//! Webhooks: partners' (and the administrator's) HTTP endpoints told of the
//! ledger's events and of supports about to end. Two processes feed one
//! outbox, `webhook_deliveries`: a consumer of the global log with its own
//! checkpoint (deliveries.rs) and the daily support reminders (reminders.rs),
//! each writing its rows in the same transaction as its checkpoint. A sender
//! task posts them, signed (signing.rs), with retries; a command never waits
//! for any of it.

pub mod deliveries;
pub mod reminders;
pub mod signing;

use crate::config::WebhookArgs;
use aggregates::LedgerEvent;
use projections::Db;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Every event type an endpoint may ask for, as the contract names them.
pub const EVENT_TYPES: &[&str] = &[
    "CREDITS_GRANTED",
    "CREDITS_TRANSFERRED",
    "ACTIVATION_KEY_CREATED",
    "LICENSE_ASSIGNED",
    "LICENSE_UPGRADED",
    "LICENSE_EDITED",
    "LICENSE_DELETED",
    "SUPPORT_ASSIGNED",
    "SUPPORT_UPGRADED",
    "SUPPORT_EXTENDED",
    "SUBSCRIPTION_CREATED",
    "RESELLER_CREATED",
    "KEY_ACTIVATED",
    "KEY_DEACTIVATED",
    "SUPPORT_ENDING_SOON",
    "SUPPORT_EXPIRED",
];

/// The webhook event type of a ledger event; None for the events endpoints
/// are not told of (registrations of partners and administrators, profile
/// edits, and the reseller's side of a transfer, which the partner's side
/// already reports).
pub fn event_type(event: &LedgerEvent) -> Option<&'static str> {
    use LedgerEvent::*;
    Some(match event {
        CreditsGranted { .. } => "CREDITS_GRANTED",
        CreditsTransferredOut { .. } => "CREDITS_TRANSFERRED",
        ActivationKeyCreated { .. } => "ACTIVATION_KEY_CREATED",
        LicenseAssigned { .. } => "LICENSE_ASSIGNED",
        LicenseUpgraded { .. } => "LICENSE_UPGRADED",
        LicenseEdited { .. } => "LICENSE_EDITED",
        LicenseDeleted { .. } => "LICENSE_DELETED",
        SupportAssigned { .. } => "SUPPORT_ASSIGNED",
        SupportUpgraded { .. } => "SUPPORT_UPGRADED",
        SupportExtended { .. } => "SUPPORT_EXTENDED",
        SubscriptionCreated { .. } => "SUBSCRIPTION_CREATED",
        ResellerRegistered { .. } => "RESELLER_CREATED",
        KeyActivated { .. } => "KEY_ACTIVATED",
        KeyDeactivated { .. } => "KEY_DEACTIVATED",
        AdminRegistered { .. }
        | AuditorRegistered { .. }
        | PartnerRegistered { .. }
        | ResellerAdded { .. }
        | ResellerProfileEdited { .. }
        | CreditsTransferredIn { .. }
        // The contract has no webhook type for these yet.
        | SupportEdited { .. }
        | SubscriptionExtended { .. }
        | SubscriptionUpgraded { .. } => return None,
    })
}

/// An event's fields as the payload's `data`: the stored event without its
/// variant wrapper and without the client's idempotency key.
pub fn event_data(event: &LedgerEvent) -> Value {
    let mut data = match serde_json::to_value(event) {
        Ok(Value::Object(outer)) => outer.into_iter().next().map(|(_, v)| v),
        _ => None,
    }
    .unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut data {
        fields.remove("idempotency");
    }
    data
}

/// The body of one delivery: `{id, type, at, account, data}`.
pub fn payload(message_id: &str, event_type: &str, at: &str, account: &str, data: Value) -> String {
    json!({
        "id": message_id,
        "type": event_type,
        "at": at,
        "account": account,
        "data": data,
    })
    .to_string()
}

/// The settings in force and the HTTP client the sender uses.
pub struct Webhooks {
    pub db: Db,
    pub settings: WebhookArgs,
    http: reqwest::Client,
    /// Nudged when a delivery is made or redelivered, so it goes out now
    /// rather than at the next poll.
    wake: Notify,
    /// Tells the owners of disabled endpoints where to look.
    public_url: String,
    /// How far the log consumer has read past its stored checkpoint.
    read: projections::projector::LazyCheckpoint,
}

impl Webhooks {
    pub fn new(db: Db, settings: WebhookArgs, public_url: &str) -> Result<Arc<Webhooks>, String> {
        let timeout = Duration::from_millis(settings.webhook_timeout_ms.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // A redirect could lead a delivery, secret-signed, to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("license-portal-webhooks")
            .build()
            .map_err(|e| format!("the webhook HTTP client: {e}"))?;
        Ok(Arc::new(Webhooks {
            db,
            settings,
            http,
            wake: Notify::new(),
            public_url: public_url.trim_end_matches('/').to_string(),
            read: Default::default(),
        }))
    }

    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// The background tasks: the log consumer, the sender, the reminders.
    pub fn spawn(
        self: &Arc<Self>,
        shutdown: &watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = vec![
            tokio::spawn(self.clone().run_consumer(shutdown.clone())),
            tokio::spawn(self.clone().run_sender(shutdown.clone())),
        ];
        if self.settings.support_reminders {
            tasks.push(tokio::spawn(self.clone().run_reminders(shutdown.clone())));
        }
        tasks
    }
}
