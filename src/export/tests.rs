//! The file format without a database: what the writer puts in a line, the
//! checker reads back to the same bytes, even stored text that is not one
//! line of JSON.

use super::write::{write_event, write_head, write_start};
use super::{FORMAT, Progress, Start, VERSION, check};
use crate::app::LedgerHeadRow;
use crate::signing::Signer25519;
use projections::chain;
use projections::log::{LogPosition, RawEvent};

fn event(position: i64, sequence: i64, payload: &str) -> RawEvent {
    RawEvent {
        at_log: LogPosition {
            transaction_id: 0,
            position,
        },
        aggregate_id: "acc_1".into(),
        sequence,
        event_type: "CreditsGranted".into(),
        payload: payload.into(),
        metadata: r#"{"at": "2026-12-06T10:00:00.000000Z"}"#.into(),
    }
}

/// A whole-log copy of `events`, each with its true hash.
fn copy(events: &[RawEvent], signer: &Signer25519) -> Vec<u8> {
    let mut out = Vec::new();
    let start = Start {
        format: FORMAT.into(),
        version: VERSION,
        from: None,
        after_position: 0,
        after_hash: chain::to_hex(&chain::GENESIS),
    };
    write_start(&mut out, start).expect("start");
    let mut prev = chain::GENESIS;
    for e in events {
        prev = chain::link(&prev, e);
        write_event(&mut out, e, Some(chain::to_hex(&prev))).expect("event");
    }
    let last = events.last().map_or(0, |e| e.at_log.position);
    write_head(
        &mut out,
        LedgerHeadRow::sign(signer, last, chain::to_hex(&prev)),
    )
    .expect("head");
    out
}

fn verify(bytes: &[u8], key: &str) -> Result<check::Verified, check::Broken> {
    check::verify(bytes, key, &mut Progress::new("checked", 1_000_000))
}

#[test]
fn stored_text_of_any_shape_travels_byte_for_byte() {
    let signer = Signer25519::ephemeral();
    let events = [
        event(1, 1, r#"{"CreditsGranted":{"amount":5}}"#),
        // Spaces as PostgreSQL's json keeps them, and text no parser would
        // write: around it, across lines, not JSON at all.
        event(2, 2, r#"{"CreditsGranted": {"amount": 6}}"#),
        event(3, 3, " {\"a\":1} "),
        event(4, 4, "{\"a\":\n1}"),
        event(5, 5, "not json"),
    ];
    let bytes = copy(&events, &signer);
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    assert!(lines[2].contains(r#""payload":{"CreditsGranted": {"amount": 6}}"#));
    for line in &lines[3..6] {
        assert!(line.contains("\"payloadText\":"), "{line}");
    }
    let verified = verify(&bytes, &signer.public_key()).expect("the copy verifies");
    assert_eq!(verified.events, 5);
    assert_eq!(verified.head_position, 5);

    // One changed space in a stored text is a changed event.
    let edited = text.replacen(r#"{"amount": 6}"#, r#"{"amount":6}"#, 1);
    let broken = verify(edited.as_bytes(), &signer.public_key()).expect_err("edited");
    assert_eq!(broken.line, 3, "{}", broken.reason);
}

#[test]
fn a_copy_without_its_start_or_its_head_is_refused() {
    let signer = Signer25519::ephemeral();
    let bytes = copy(&[event(1, 1, "{}")], &signer);
    let text = String::from_utf8(bytes).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    let key = signer.public_key();

    let headless = lines[..2].join("\n");
    let broken = verify(headless.as_bytes(), &key).expect_err("no head");
    assert_eq!(broken.line, 3);
    assert!(broken.reason.contains("cut short"), "{}", broken.reason);

    let startless = lines[1..].join("\n");
    assert_eq!(
        verify(startless.as_bytes(), &key)
            .expect_err("no start")
            .line,
        1
    );

    let trailing = format!("{text}{}\n", lines[1]);
    let broken = verify(trailing.as_bytes(), &key).expect_err("after the head");
    assert_eq!(broken.line, 4, "{}", broken.reason);

    // A head not signed: any other key's signature.
    let other = Signer25519::ephemeral().public_key();
    assert_eq!(
        verify(text.as_bytes(), &other).expect_err("other key").line,
        3
    );
}
