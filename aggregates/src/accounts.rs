//! The three aggregates. Each is the shared `Ledger` state with a role that
//! decides which commands it accepts.

use crate::catalog::Catalog;
use crate::commands::LedgerCommand;
use crate::error::DomainError;
use crate::events::LedgerEvent;
use crate::ledger::{Ledger, Role};
use cqrs_es::Aggregate;
use cqrs_es::event_sink::EventSink;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What command handlers may consult: the catalog in force.
#[derive(Clone)]
pub struct LedgerServices {
    pub catalog: Arc<Catalog>,
}

macro_rules! account_aggregate {
    ($name:ident, $role:expr, $type_name:literal) => {
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct $name(pub Ledger);

        impl $name {
            pub const ROLE: Role = $role;
        }

        impl Aggregate for $name {
            const TYPE: &'static str = $type_name;
            type Command = LedgerCommand;
            type Event = LedgerEvent;
            type Error = DomainError;
            type Services = LedgerServices;

            async fn handle(
                &mut self,
                command: Self::Command,
                services: &Self::Services,
                sink: &EventSink<Self>,
            ) -> Result<(), Self::Error> {
                for event in self.0.decide($role, &command, &services.catalog)? {
                    sink.write(event, self).await;
                }
                Ok(())
            }

            fn apply(&mut self, event: Self::Event) {
                self.0.apply(&event);
            }
        }
    };
}

account_aggregate!(Partner, Role::Partner, "Partner");
account_aggregate!(Reseller, Role::Reseller, "Reseller");
account_aggregate!(Admin, Role::Admin, "Admin");
