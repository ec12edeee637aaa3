//! `verify-export`: checks a copy of the log offline. It recomputes the hash
//! chain from the lines with the service's own `chain::link`, compares each
//! stored hash, and checks the signed head with a key the caller trusts.

use super::{FORMAT, Head, Line, Progress, Start};
use crate::app::LedgerHeadRow;
use projections::chain;
use projections::log::{LogPosition, RawEvent};
use std::collections::HashMap;
use std::io::BufRead;

/// A copy that checks out.
#[derive(Debug)]
pub struct Verified {
    pub events: u64,
    /// Where the copy's chain starts: 0 and 64 zeros for the whole log.
    pub after_position: i64,
    pub after_hash: String,
    pub head_position: i64,
    pub head_hash: String,
    pub signed_at: String,
}

/// The first line that does not check out, counted from 1.
#[derive(Debug)]
pub struct Broken {
    pub line: u64,
    pub reason: String,
}

fn broken(line: u64, reason: impl Into<String>) -> Broken {
    Broken {
        line,
        reason: reason.into(),
    }
}

/// The chain so far.
struct Walk {
    prev: [u8; 32],
    /// The last event's position (the start's before any).
    position: i64,
    /// Each stream's last sequence, to say what a break looks like. One
    /// entry per account, not per event.
    sequences: HashMap<String, i64>,
    /// A copy of the whole log, where every stream starts at #1.
    whole: bool,
}

pub fn verify(
    mut input: impl BufRead,
    trusted_key: &str,
    progress: &mut Progress,
) -> Result<Verified, Broken> {
    let mut text = String::new();
    let mut number = 0u64;
    let mut walk: Option<(Walk, Start)> = None;
    loop {
        if !read_next(&mut input, &mut text, &mut number)? {
            return Err(broken(
                number,
                "the file ends without the signed head: it was cut short",
            ));
        }
        let content = text.trim_end_matches(['\n', '\r']);
        if content.trim().is_empty() {
            continue;
        }
        let line: Line<'_> = serde_json::from_str(content)
            .map_err(|e| broken(number, format!("is not a line of this export: {e}")))?;
        let Some((chain, start)) = walk.as_mut() else {
            let start = line
                .start
                .ok_or_else(|| broken(number, "the first line is not the export's start"))?;
            walk = Some((begin(&start).map_err(|r| broken(number, r))?, start));
            continue;
        };
        if let Some(head) = line.head {
            check_head(chain, &head, trusted_key).map_err(|r| broken(number, r))?;
            expect_end(&mut input, number)?;
            return Ok(Verified {
                events: progress.done(),
                after_position: start.after_position,
                after_hash: start.after_hash.clone(),
                head_position: head.position,
                head_hash: head.hash,
                signed_at: head.at,
            });
        }
        if line.start.is_some() {
            return Err(broken(number, "a second start line"));
        }
        step(chain, &line).map_err(|r| broken(number, r))?;
        progress.tick();
    }
}

fn begin(start: &Start) -> Result<Walk, String> {
    if start.format != FORMAT || start.version != super::VERSION {
        return Err(format!(
            "the export is \"{}\" version {}; this checks \"{FORMAT}\" version {}",
            start.format,
            start.version,
            super::VERSION
        ));
    }
    let prev =
        chain::from_hex(&start.after_hash).ok_or("the start's afterHash is not 64 hex digits")?;
    if start.after_position == 0 && prev != chain::GENESIS {
        return Err("a copy of the whole log must start from 64 zeros".into());
    }
    Ok(Walk {
        prev,
        position: start.after_position,
        sequences: HashMap::new(),
        whole: start.after_position == 0,
    })
}

/// One event line: the next link must be the hash stored beside it.
fn step(walk: &mut Walk, line: &Line<'_>) -> Result<(), String> {
    let missing = |field: &str| format!("an event line without its {field}");
    let text =
        |raw: Option<&serde_json::value::RawValue>, text: &Option<String>, field: &str| match (
            raw, text,
        ) {
            (Some(r), None) => Ok(r.get().to_string()),
            (None, Some(t)) => Ok(t.clone()),
            (None, None) => Err(missing(field)),
            (Some(_), Some(_)) => Err(format!("both {field} and {field}Text")),
        };
    let event = RawEvent {
        at_log: LogPosition {
            transaction_id: 0,
            position: line.position.ok_or_else(|| missing("position"))?,
        },
        aggregate_id: line.stream.clone().ok_or_else(|| missing("stream"))?,
        sequence: line.sequence.ok_or_else(|| missing("sequence"))?,
        event_type: line.event_type.clone().ok_or_else(|| missing("type"))?,
        payload: text(line.payload, &line.payload_text, "payload")?,
        metadata: text(line.metadata, &line.metadata_text, "metadata")?,
    };
    let what = format!(
        "position {} ({} #{})",
        event.at_log.position, event.aggregate_id, event.sequence
    );
    let stored = line.hash.as_deref().ok_or_else(|| {
        format!("{what} has no stored hash: it was put in the log outside the chain")
    })?;
    let next = chain::link(&walk.prev, &event);
    if chain::from_hex(stored) != Some(next) {
        return Err(format!(
            "{what}: the stored hash does not follow from the lines before it: {}",
            hint(walk, &event)
        ));
    }
    walk.prev = next;
    walk.position = event.at_log.position;
    walk.sequences.insert(event.aggregate_id, event.sequence);
    Ok(())
}

/// What a break most likely is, from the stream's sequence numbers.
fn hint(walk: &Walk, event: &RawEvent) -> String {
    match walk.sequences.get(&event.aggregate_id) {
        Some(&last) if event.sequence > last + 1 => format!(
            "its stream jumps from #{last} to #{}, so an event before this line was removed",
            event.sequence
        ),
        Some(&last) if event.sequence <= last => format!(
            "its stream goes back from #{last} to #{}, so lines were moved or repeated",
            event.sequence
        ),
        None if walk.whole && event.sequence != 1 => format!(
            "its stream starts here at #{}, and in a copy of the whole log every stream starts at #1, \
             so an event before this line was removed or moved",
            event.sequence
        ),
        _ => "this event was altered, or one before it was removed, added or moved".into(),
    }
}

fn check_head(walk: &Walk, head: &Head, trusted_key: &str) -> Result<(), String> {
    if let Err(why) = crate::signing::verify_text(&head.signed_text, &head.signature, trusted_key) {
        let named = if head.public_key.trim() == trusted_key.trim() {
            String::new()
        } else {
            format!(
                " (the head names another key, {}, which is not trusted)",
                head.public_key
            )
        };
        return Err(format!(
            "the head's signature does not verify with the trusted key: {why}{named}"
        ));
    }
    let signed = LedgerHeadRow::parse_signed_text(&head.signed_text)
        .ok_or("the signed head's text is not position, hash and time, one a line")?;
    if signed != (head.position, head.hash.clone(), head.at.clone()) {
        return Err(
            "the head's position, hash or time differ from the text its signature covers".into(),
        );
    }
    let reached = chain::to_hex(&walk.prev);
    if head.position != walk.position || head.hash != reached {
        return Err(format!(
            "the signed head is position {} with hash {}, but the lines end at position {} with hash {reached}: \
             events were removed from the end, or the stored hashes were rewritten",
            head.position, head.hash, walk.position
        ));
    }
    Ok(())
}

/// Reads the next line into `text`, counting it in `number` for the
/// messages; false at the end of the file.
fn read_next(
    input: &mut impl BufRead,
    text: &mut String,
    number: &mut u64,
) -> Result<bool, Broken> {
    text.clear();
    *number += 1;
    let read = input
        .read_line(text)
        .map_err(|e| broken(*number, format!("cannot be read: {e}")))?;
    Ok(read > 0)
}

/// Nothing but blank lines may follow the head.
fn expect_end(input: &mut impl BufRead, mut number: u64) -> Result<(), Broken> {
    let mut text = String::new();
    loop {
        if !read_next(input, &mut text, &mut number)? {
            return Ok(());
        }
        if !text.trim().is_empty() {
            return Err(broken(
                number,
                "a line after the signed head, which covers nothing after it",
            ));
        }
    }
}
