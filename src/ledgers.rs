//! The command side: one cqrs-es framework per aggregate (partner, reseller,
//! admin) over the event store, and `Ledgers::execute`, which retries a
//! command that lost an optimistic-concurrency race against the same stream
//! (the command is decided again on the fresh state, so a balance can never
//! be overdrawn).

use crate::error::{AppError, AppResult};
use crate::event_store::{LedgerStore, Repository};
use crate::storage::EventPool;
use aggregates::{
    Admin, DomainError, Ledger, LedgerCommand, LedgerServices, Partner, Reseller, Role,
};
use cqrs_es::{Aggregate, AggregateContext, AggregateError, CqrsFramework, EventStore};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;
use std::collections::HashMap;
use std::time::Duration;

/// A boxed future, so `Commands` can be a trait object over both repositories.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Events between two snapshots of a short stream; a long one is
/// snapshotted less often (`event_store::snapshot_interval`: a partner with
/// 100,000 licenses every 1,024 events).
const SNAPSHOT_EVERY: usize = 100;
const MAX_ATTEMPTS: u32 = 50;

type Outcome<T> = Result<T, AggregateError<DomainError>>;

/// The three frameworks on one backend's repository. Each keeps its own
/// event store; the stores that serve `load` share that store's cache, so a
/// quote reads the state the last command here committed.
struct Frameworks<R: Repository> {
    partner: Framework<R, Partner>,
    reseller: Framework<R, Reseller>,
    admin: Framework<R, Admin>,
}

struct Framework<R: Repository, A: Aggregate + Clone + crate::event_store::Footprint + 'static> {
    commands: CqrsFramework<A, LedgerStore<R, A>>,
    reads: LedgerStore<R, A>,
}

impl<R, A> Framework<R, A>
where
    R: Repository,
    A: Aggregate<Command = LedgerCommand, Error = DomainError, Services = LedgerServices>
        + Clone
        + Send
        + Sync
        + Account
        + crate::event_store::Footprint
        + 'static,
{
    fn new(pool: &R::Pool, services: &LedgerServices) -> Self {
        let store = LedgerStore::new(pool, SNAPSHOT_EVERY);
        Framework {
            reads: LedgerStore::new(pool, SNAPSHOT_EVERY).sharing_cache_with(&store),
            commands: CqrsFramework::new(store, vec![], services.clone()),
        }
    }

    async fn execute(
        &self,
        id: &str,
        command: LedgerCommand,
        metadata: HashMap<String, String>,
    ) -> Outcome<()> {
        self.commands
            .execute_with_metadata(id, command, metadata)
            .await
    }

    async fn load(&self, id: &str) -> Outcome<Ledger> {
        Ok(self
            .reads
            .load_aggregate(id)
            .await?
            .aggregate()
            .ledger()
            .clone())
    }
}

/// The three aggregates are the same `Ledger` under a role.
trait Account {
    fn ledger(&self) -> &Ledger;
}

impl Account for Partner {
    fn ledger(&self) -> &Ledger {
        &self.0
    }
}

impl Account for Reseller {
    fn ledger(&self) -> &Ledger {
        &self.0
    }
}

impl Account for Admin {
    fn ledger(&self) -> &Ledger {
        &self.0
    }
}

/// What `Ledgers` needs of the frameworks, without naming the backend.
trait Commands: Send + Sync {
    fn execute<'a>(
        &'a self,
        role: Role,
        id: &'a str,
        command: LedgerCommand,
        metadata: HashMap<String, String>,
    ) -> BoxFuture<'a, Outcome<()>>;

    fn load<'a>(&'a self, role: Role, id: &'a str) -> BoxFuture<'a, Outcome<Ledger>>;
}

impl<R: Repository> Commands for Frameworks<R> {
    fn execute<'a>(
        &'a self,
        role: Role,
        id: &'a str,
        command: LedgerCommand,
        metadata: HashMap<String, String>,
    ) -> BoxFuture<'a, Outcome<()>> {
        match role {
            Role::Partner => Box::pin(self.partner.execute(id, command, metadata)),
            Role::Reseller => Box::pin(self.reseller.execute(id, command, metadata)),
            // An auditor is vendor staff: its stream is of the Admin type.
            Role::Admin | Role::Auditor => Box::pin(self.admin.execute(id, command, metadata)),
        }
    }

    fn load<'a>(&'a self, role: Role, id: &'a str) -> BoxFuture<'a, Outcome<Ledger>> {
        match role {
            Role::Partner => Box::pin(self.partner.load(id)),
            Role::Reseller => Box::pin(self.reseller.load(id)),
            Role::Admin | Role::Auditor => Box::pin(self.admin.load(id)),
        }
    }
}

impl<R: Repository> Frameworks<R> {
    fn new(pool: &R::Pool, services: &LedgerServices) -> Self {
        Frameworks {
            partner: Framework::new(pool, services),
            reseller: Framework::new(pool, services),
            admin: Framework::new(pool, services),
        }
    }
}

pub struct Ledgers {
    frameworks: Box<dyn Commands>,
}

/// Who asked for a command: recorded in the event's metadata.
#[derive(Debug, Clone)]
pub enum Actor {
    Account(String),
    /// A product on a device (activation), or the service itself.
    System(&'static str),
}

impl Ledgers {
    /// The one place the backend picks the cqrs-es repository; the snapshot
    /// table comes with it.
    pub fn new(pool: EventPool, services: &LedgerServices) -> Ledgers {
        let frameworks: Box<dyn Commands> = match pool {
            EventPool::Sqlite(pool) => {
                Box::new(Frameworks::<SqliteEventRepository>::new(&pool, services))
            }
            EventPool::Postgres(pool) => {
                Box::new(Frameworks::<PostgresEventRepository>::new(&pool, services))
            }
        };
        Ledgers { frameworks }
    }

    pub fn sqlite(pool: sqlx::SqlitePool, services: &LedgerServices) -> Ledgers {
        Ledgers::new(EventPool::Sqlite(pool), services)
    }

    pub fn postgres(pool: sqlx::PgPool, services: &LedgerServices) -> Ledgers {
        Ledgers::new(EventPool::Postgres(pool), services)
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
            let result = self
                .frameworks
                .execute(role, id, command.clone(), metadata)
                .await;
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
        self.frameworks
            .load(role, id)
            .await
            .map_err(|e| AppError::internal("loading an account", e))
    }
}
