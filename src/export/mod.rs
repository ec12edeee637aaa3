//! The event log as JSON Lines, for auditors: `export-events` writes it from
//! the database, `verify-export` checks a copy with no database at all.
//!
//! The file is one JSON object a line:
//!
//! 1. `{"start": {...}}`: where the chain of this copy starts: after the
//!    event at `afterPosition`, whose hash is `afterHash` (64 zeros and
//!    position 0 for the whole log).
//! 2. one line per event, in the log's order: `position`, `stream`,
//!    `sequence`, `type`, `payload`, `metadata` and the stored `hash`.
//! 3. `{"head": {...}}`: the newest exported event's position and hash,
//!    signed by the service exactly as `ledgerHead` signs them.
//!
//! The chain covers the payload and metadata as stored, byte for byte, so
//! they are written as that stored JSON, unchanged. A stored text that is not
//! one line of JSON (an edit in the database can leave anything) is carried
//! as a string in `payloadText` or `metadataText` instead, so that the copy
//! still holds exactly what the database held.

pub mod check;
pub mod cli;
#[cfg(test)]
mod tests;
pub mod write;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::time::Instant;

/// Names the file's format in its first line.
pub const FORMAT: &str = "license-portal events";
pub const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    pub format: String,
    pub version: u32,
    /// The `--from` asked for; absent for the whole log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    pub after_position: i64,
    pub after_hash: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head {
    pub position: i64,
    pub hash: String,
    pub at: String,
    pub signed_text: String,
    pub signature: String,
    pub public_key: String,
}

/// Any line of the file. One type for every kind, as the borrowed raw JSON
/// of an event line cannot pass through serde's untagged or flattened
/// enums; which fields are present says the kind.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Line<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Start>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<&'a RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_text: Option<String>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a RawValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_text: Option<String>,
    /// Absent for an event the chain has no hash for (one put in the log
    /// behind the chain's back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<Head>,
}

/// Progress on stderr, every `every` events and at the end, with the rate:
/// stdout carries the export itself.
pub struct Progress {
    verb: &'static str,
    every: u64,
    done: u64,
    started: Instant,
}

impl Progress {
    pub fn new(verb: &'static str, every: u64) -> Progress {
        Progress {
            verb,
            every: every.max(1),
            done: 0,
            started: Instant::now(),
        }
    }

    pub fn tick(&mut self) {
        self.done += 1;
        if self.done.is_multiple_of(self.every) {
            eprintln!(
                "{} {} events ({:.0} events/s)",
                self.verb,
                self.done,
                self.rate()
            );
        }
    }

    pub fn done(&self) -> u64 {
        self.done
    }

    pub fn rate(&self) -> f64 {
        self.done as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
    }

    pub fn finish(&self) {
        eprintln!(
            "{} {} events in {:.2} s: {:.0} events/s",
            self.verb,
            self.done,
            self.started.elapsed().as_secs_f64(),
            self.rate()
        );
    }
}
