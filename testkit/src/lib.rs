//! What the integration tests (`tests/it`) and the benchmark (`bench/`) share
//! to drive a real license-portal: a fresh database of either backend, the
//! server started in-process on a free port, a GraphQL client, and events
//! appended to the log as the service would have written them.
//!
//! Every function returns `Result<_, String>`: the tests unwrap with a
//! message, the benchmark reports the error and stops.

pub mod database;
pub mod events;
pub mod graphql;
pub mod receiver;
pub mod server;

pub use database::{Backend, ScratchDatabase, fresh_database};
pub use graphql::Graphql;
