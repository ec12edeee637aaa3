//! The integration tests, gathered in one test binary: each module below is
//! one area of the product driven over the real HTTP API (or the real CLI),
//! on SQLite and PostgreSQL. One binary instead of one per file keeps linking
//! to a single pass and the build directory a fraction of the size.

#[macro_use]
mod common;

mod abuse;
mod accounts;
mod auditor;
mod browser;
mod catalog;
mod cli;
mod concurrency;
mod credits;
mod devices;
mod disk_and_lag;
mod faults;
mod http;
mod keys;
mod licenses;
mod mail;
mod metrics;
mod migrations;
mod projector;
mod resellers;
mod restart;
mod rules_security;
mod schema;
mod signin_security;
mod snapshots;
mod subscriptions;
mod support;
mod tamper;
mod tokens;
mod web;
mod webhooks;
