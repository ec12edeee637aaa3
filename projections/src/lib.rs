//! Read models of license-portal: the tables, the projector that feeds them
//! from the event log, and the typed queries the API calls.

pub mod chain;
pub mod db;
pub mod log;
pub mod pacing;
pub mod projector;
pub mod queries;
pub mod views;
pub mod write_gate;

pub use db::{Backend, Db};
pub use log::{LogPosition, StoredEvent};
pub use projector::Projector;
