//! license-portal: a licensing service for a software vendor's partners and
//! resellers. An event-sourced credit ledger (cqrs-es) with read models built
//! from the global log, served through GraphQL.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod event_store;
pub mod export;
pub mod files;
pub mod graphql;
pub mod http;
pub mod ledgers;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod server;
pub mod signing;
pub mod storage;
pub mod transfers;
pub mod verify;
pub mod web;
pub mod webhooks;
