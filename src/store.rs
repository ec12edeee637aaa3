//! The event store: cqrs-es over postgres-es or sqlite-es, one framework per
//! aggregate. Commands go through `execute`, which retries a command that lost
//! an optimistic-concurrency race against the same stream (the command is
//! decided again on the fresh state, so a balance can never be overdrawn).

use crate::error::{AppError, AppResult};
use crate::event_store::{LedgerStore, SnapshotTable};
use aggregates::{Admin, Ledger, LedgerCommand, LedgerServices, Partner, Reseller, Role};
use cqrs_es::{AggregateContext, AggregateError, CqrsFramework, EventStore};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;
use std::collections::HashMap;
use std::time::Duration;

/// Events between two snapshots: a partner with 100,000 licenses still loads
/// from one snapshot and fewer than this many events.
const SNAPSHOT_EVERY: usize = 100;
const MAX_ATTEMPTS: u32 = 50;

macro_rules! frameworks {
    ($name:ident, $repo:ident, $pool:ty, $table:ident) => {
        struct $name {
            partner: CqrsFramework<Partner, LedgerStore<$repo, Partner>>,
            reseller: CqrsFramework<Reseller, LedgerStore<$repo, Reseller>>,
            admin: CqrsFramework<Admin, LedgerStore<$repo, Admin>>,
            partner_store: LedgerStore<$repo, Partner>,
            reseller_store: LedgerStore<$repo, Reseller>,
            admin_store: LedgerStore<$repo, Admin>,
        }

        impl $name {
            fn new(pool: $pool, services: &LedgerServices) -> Self {
                fn store<A: cqrs_es::Aggregate + Clone>(pool: &$pool) -> LedgerStore<$repo, A> {
                    LedgerStore::new(
                        $repo::new(pool.clone()),
                        $repo::new(pool.clone()),
                        SnapshotTable::$table(pool.clone()),
                        SNAPSHOT_EVERY,
                    )
                }
                let (partner, reseller, admin) = (store(&pool), store(&pool), store(&pool));
                $name {
                    partner_store: store(&pool).sharing_cache_with(&partner),
                    reseller_store: store(&pool).sharing_cache_with(&reseller),
                    admin_store: store(&pool).sharing_cache_with(&admin),
                    partner: CqrsFramework::new(partner, vec![], services.clone()),
                    reseller: CqrsFramework::new(reseller, vec![], services.clone()),
                    admin: CqrsFramework::new(admin, vec![], services.clone()),
                }
            }

            async fn execute(
                &self,
                role: Role,
                id: &str,
                command: LedgerCommand,
                metadata: HashMap<String, String>,
            ) -> Result<(), AggregateError<aggregates::DomainError>> {
                match role {
                    Role::Partner => {
                        self.partner
                            .execute_with_metadata(id, command, metadata)
                            .await
                    }
                    Role::Reseller => {
                        self.reseller
                            .execute_with_metadata(id, command, metadata)
                            .await
                    }
                    Role::Admin => {
                        self.admin
                            .execute_with_metadata(id, command, metadata)
                            .await
                    }
                }
            }

            async fn load(
                &self,
                role: Role,
                id: &str,
            ) -> Result<Ledger, AggregateError<aggregates::DomainError>> {
                Ok(match role {
                    Role::Partner => self
                        .partner_store
                        .load_aggregate(id)
                        .await?
                        .aggregate()
                        .0
                        .clone(),
                    Role::Reseller => self
                        .reseller_store
                        .load_aggregate(id)
                        .await?
                        .aggregate()
                        .0
                        .clone(),
                    Role::Admin => self
                        .admin_store
                        .load_aggregate(id)
                        .await?
                        .aggregate()
                        .0
                        .clone(),
                })
            }
        }
    };
}

frameworks!(
    SqliteFrameworks,
    SqliteEventRepository,
    sqlx::SqlitePool,
    Sqlite
);
frameworks!(
    PostgresFrameworks,
    PostgresEventRepository,
    sqlx::PgPool,
    Postgres
);

enum Frameworks {
    Sqlite(SqliteFrameworks),
    Postgres(PostgresFrameworks),
}

pub struct Ledgers {
    frameworks: Frameworks,
}

/// Who asked for a command: recorded in the event's metadata.
#[derive(Debug, Clone)]
pub enum Actor {
    Account(String),
    /// A product on a device (activation), or the service itself.
    System(&'static str),
}

impl Ledgers {
    pub fn sqlite(pool: sqlx::SqlitePool, services: &LedgerServices) -> Ledgers {
        Ledgers {
            frameworks: Frameworks::Sqlite(SqliteFrameworks::new(pool, services)),
        }
    }

    pub fn postgres(pool: sqlx::PgPool, services: &LedgerServices) -> Ledgers {
        Ledgers {
            frameworks: Frameworks::Postgres(PostgresFrameworks::new(pool, services)),
        }
    }

    pub async fn execute(
        &self,
        role: Role,
        id: &str,
        command: LedgerCommand,
        actor: &Actor,
    ) -> AppResult<()> {
        let mut attempt = 0;
        loop {
            let mut metadata = HashMap::new();
            match actor {
                Actor::Account(a) => metadata.insert("actor".to_string(), a.clone()),
                Actor::System(s) => metadata.insert("source".to_string(), s.to_string()),
            };
            metadata.insert(
                "at".to_string(),
                projections::db::time_text(chrono::Utc::now()),
            );
            let result = match &self.frameworks {
                Frameworks::Sqlite(f) => f.execute(role, id, command.clone(), metadata).await,
                Frameworks::Postgres(f) => f.execute(role, id, command.clone(), metadata).await,
            };
            match result {
                Ok(()) => return Ok(()),
                Err(AggregateError::UserError(e)) => return Err(e.into()),
                Err(AggregateError::AggregateConflict) if attempt < MAX_ATTEMPTS => {
                    attempt += 1;
                    // Spread the retries of concurrent writers to one stream.
                    let jitter = rand::random::<u64>() % (2 + u64::from(attempt) * 3);
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                }
                Err(e) => return Err(AppError::internal("event store", e)),
            }
        }
    }

    /// The current state of an account, for pricing a quote.
    pub async fn load(&self, role: Role, id: &str) -> AppResult<Ledger> {
        let result = match &self.frameworks {
            Frameworks::Sqlite(f) => f.load(role, id).await,
            Frameworks::Postgres(f) => f.load(role, id).await,
        };
        result.map_err(|e| AppError::internal("loading an account", e))
    }
}
