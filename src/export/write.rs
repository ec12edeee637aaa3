//! `export-events`: the log from the database to JSON Lines, in batches, so
//! that a log of any size is written in the memory of one batch.

use super::{FORMAT, Head, Line, Progress, Start, VERSION};
use crate::app::LedgerHeadRow;
use crate::signing::Signer25519;
use projections::Db;
use projections::chain;
use projections::log::{self, LogPosition, RawEvent};
use serde_json::value::RawValue;
use std::io::Write;

/// Events a batch reads: a few MB at most. On PostgreSQL each read of the
/// log costs about the same whatever its size (the planner scans and sorts
/// rather than walk the (transaction_id, position) index: ~110 ms at 200,000
/// events), so fewer, larger batches export faster: 200,000 events went at
/// 8,500 events/s with 1,000 a batch, 25,000–31,000 with 5,000.
const BATCH: i64 = 5_000;

/// What an export wrote.
#[derive(Debug)]
pub struct Exported {
    pub events: u64,
    pub after_position: i64,
    pub head_position: i64,
    /// The log ended before the head's event: someone removed it, and the
    /// copy will not verify.
    pub head_missing: bool,
}

/// Chains the events the service's projector has not reached yet (all that
/// came since it stopped, when it is not running), as it would, so that an
/// export reaches the newest event. Returns how many.
pub async fn chain_pending(db: &Db) -> Result<usize, String> {
    chain::drain(db).await.map_err(|e| e.to_string())
}

/// Writes the events after the start `from` names (every event when None)
/// up to the chain's head, then the head signed by `signer`.
pub async fn export(
    db: &Db,
    signer: &Signer25519,
    from: Option<i64>,
    out: &mut impl Write,
    progress: &mut Progress,
) -> Result<Exported, String> {
    // The head is fixed first: events appended while this runs belong to
    // the next export, and the copy ends at the hash that is signed.
    let (head_position, head_hash) = chain::head(db).await.map_err(|e| e.to_string())?;
    let (after_position, after_hash) = match from {
        None => (0, chain::to_hex(&chain::GENESIS)),
        Some(pos) => chain::before(db, pos)
            .await
            .map_err(|e| e.to_string())?
            // Nothing at or after `from`: an empty copy that starts at the head.
            .unwrap_or_else(|| (head_position, head_hash.clone())),
    };
    let start = Start {
        format: FORMAT.into(),
        version: VERSION,
        from,
        after_position,
        after_hash,
    };
    write_start(out, start)?;
    let mut head_missing = false;
    if after_position != head_position {
        let mut at = if after_position == 0 {
            LogPosition::default()
        } else {
            log::position_of(db, after_position)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!("the event at position {after_position}, where this export starts, is missing from the log")
                })?
        };
        head_missing = true;
        'batches: loop {
            let batch = log::read_raw_after(db, at, BATCH)
                .await
                .map_err(|e| e.to_string())?;
            let Some(last) = batch.last() else { break };
            at = last.at_log;
            let low = batch.iter().map(|e| e.at_log.position).min().unwrap_or(0);
            let high = batch.iter().map(|e| e.at_log.position).max().unwrap_or(0);
            let hashes = chain::stored_between(db, low, high)
                .await
                .map_err(|e| e.to_string())?;
            for event in &batch {
                let hash = hashes.get(&event.at_log.position).cloned();
                write_event(out, event, hash)?;
                progress.tick();
                if event.at_log.position == head_position {
                    head_missing = false;
                    break 'batches;
                }
            }
        }
    }
    write_head(out, LedgerHeadRow::sign(signer, head_position, head_hash))?;
    out.flush()
        .map_err(|e| format!("writing the export: {e}"))?;
    Ok(Exported {
        events: progress.done(),
        after_position,
        head_position,
        head_missing,
    })
}

/// The stored text as raw JSON when it is exactly one line of JSON (what the
/// service stores); None when it must travel as a string.
fn raw(text: &str) -> Option<Box<RawValue>> {
    if text.contains(['\n', '\r']) {
        return None;
    }
    // `from_string` drops surrounding whitespace, which the hash covers.
    RawValue::from_string(text.to_string())
        .ok()
        .filter(|r| r.get() == text)
}

pub(super) fn write_start(out: &mut impl Write, start: Start) -> Result<(), String> {
    write_line(
        out,
        &Line {
            start: Some(start),
            ..Line::default()
        },
    )
}

pub(super) fn write_head(out: &mut impl Write, head: LedgerHeadRow) -> Result<(), String> {
    write_line(
        out,
        &Line {
            head: Some(Head {
                position: head.position,
                hash: head.hash,
                at: projections::db::time_text(head.at),
                signed_text: head.signed_text,
                signature: head.signature,
                public_key: head.public_key,
            }),
            ..Line::default()
        },
    )
}

pub(super) fn write_event(
    out: &mut impl Write,
    e: &RawEvent,
    hash: Option<String>,
) -> Result<(), String> {
    let payload = raw(&e.payload);
    let metadata = raw(&e.metadata);
    let line = Line {
        position: Some(e.at_log.position),
        stream: Some(e.aggregate_id.clone()),
        sequence: Some(e.sequence),
        event_type: Some(e.event_type.clone()),
        payload: payload.as_deref(),
        payload_text: payload.is_none().then(|| e.payload.clone()),
        metadata: metadata.as_deref(),
        metadata_text: metadata.is_none().then(|| e.metadata.clone()),
        hash,
        ..Line::default()
    };
    write_line(out, &line)
}

fn write_line(out: &mut impl Write, line: &Line<'_>) -> Result<(), String> {
    serde_json::to_writer(&mut *out, line).map_err(|e| format!("writing the export: {e}"))?;
    out.write_all(b"\n")
        .map_err(|e| format!("writing the export: {e}"))
}
