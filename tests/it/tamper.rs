//! The tamper-evident log: every event carries its link in a hash chain, the
//! service signs the head, and `verify` names the position of an edited event.

use crate::common::*;
use serde_json::{Value, json};

const EVENTS: &str =
    "{ events(first: 500) { edges { node { position globalPosition hash eventType payload } } } }";
const HEAD: &str = "{ ledgerHead { position hash at signedText signature publicKey } }";

fn check_signature(head: &Value) {
    assert_signed(
        head["publicKey"].as_str().expect("publicKey"),
        head["signature"].as_str().expect("signature"),
        head["signedText"].as_str().expect("signedText"),
    );
}

both_backends!(
    hashes_chain_the_log_and_verify_names_an_edited_event,
    |app: TestApp| async move {
        let (admin, id, partner) = app.funded_partner("acme", 100).await;
        app.grant(&admin, &id, 50, "INV-2").await;

        let events = app.query(&admin, EVENTS).await;
        let nodes = nodes(&events["events"]);
        assert!(nodes.len() >= 4, "{events}");
        let mut last_position = 0i64;
        for n in &nodes {
            let hash = n["hash"].as_str().expect("hash");
            assert_eq!(hash.len(), 64, "{n}");
            assert!(
                hash.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
                "{n}"
            );
            assert_ne!(hash, "0".repeat(64));
            assert_eq!(n["position"], n["globalPosition"]);
            let p: i64 = n["position"]
                .as_str()
                .expect("position")
                .parse()
                .expect("decimal");
            assert!(p > last_position, "{events}");
            last_position = p;
        }
        let newest = nodes.last().expect("an event");

        let head = app.query(&admin, HEAD).await["ledgerHead"].clone();
        assert_eq!(head["position"], newest["position"], "{head}");
        assert_eq!(head["hash"], newest["hash"], "{head}");
        let at = head["at"].as_str().expect("at");
        assert_eq!(
            head["signedText"].as_str().expect("signedText"),
            format!(
                "{}\n{}\n{}",
                head["position"].as_str().expect("position"),
                head["hash"].as_str().expect("hash"),
                head["signedText"]
                    .as_str()
                    .and_then(|t| t.lines().nth(2))
                    .expect("a third line")
            )
        );
        assert!(!at.is_empty());
        check_signature(&head);
        assert_eq!(
            app.error_code(Some(&partner), HEAD, json!({})).await,
            "FORBIDDEN"
        );

        let (ok, out) = cli(&app, &["verify"]);
        assert!(ok, "{out}");

        // An edit that keeps the ledger's invariants: only the chain shows it.
        let edited = nodes
            .iter()
            .find(|n| n["payload"].to_string().contains("INV-1"))
            .expect("the grant's event");
        let position: i64 = edited["position"]
            .as_str()
            .and_then(|p| p.parse().ok())
            .expect("position");
        edit_event_payload(&app, position, "INV-1", "INV-9").await;
        let (ok, out) = cli(&app, &["verify"]);
        assert!(!ok, "{out}");
        let breaks = format!("breaks at position {position}:");
        assert!(out.contains(&breaks), "{out}");
    }
);

both_backends!(
    the_head_is_signed_from_the_first_event,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let head = app.query(&admin, HEAD).await["ledgerHead"].clone();
        // The bootstrap administrator is already an event.
        assert_ne!(head["position"], "0", "{head}");
        check_signature(&head);
    }
);

mod export;
