//! `export-events` and `verify-export`: a copy of the log that an auditor
//! checks without the database. Each kind of tampering with the copy (an
//! edited payload, a deleted line, a swapped pair, a forged head) fails and
//! names its line; an edit made in the database fails the copy too.

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::Value;
use std::path::PathBuf;

/// A partner with two grants and a key: a few events of more than one stream.
async fn some_history(app: &TestApp) {
    let (admin, id, token) = app.funded_partner("acme", 100).await;
    app.grant(&admin, &id, 50, "INV-2").await;
    app.key(&token, "Acme file server").await;
    app.grant(&admin, &id, 25, "INV-3").await;
}

/// The trusted public key and the whole export of some history, where
/// each test of a copy starts.
async fn exported_history(app: &TestApp) -> (String, Vec<String>) {
    some_history(app).await;
    (public_key(app), export(app, &[]))
}

fn export(app: &TestApp, args: &[&str]) -> Vec<String> {
    let mut all = vec!["export-events"];
    all.extend_from_slice(args);
    let r = run(app, &all, &[]);
    assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("events/s"), "{}", r.stderr);
    r.stdout.lines().map(str::to_string).collect()
}

fn public_key(app: &TestApp) -> String {
    let r = run(app, &["public-key"], &[]);
    assert!(r.ok, "{}", r.stderr);
    r.stdout.trim().to_string()
}

/// Writes `lines` to a file and runs verify-export on it with `key`.
fn verify(app: &TestApp, name: &str, lines: &[String], key: &str) -> Run {
    let path: PathBuf = app.dir.path().join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write the copy");
    let file = path.to_str().expect("a UTF-8 path");
    run(app, &["verify-export", file, "--public-key", key], &[])
}

fn fails_at(r: &Run, line: usize) {
    assert!(!r.ok, "{}", r.stdout);
    assert_eq!(r.code, Some(2), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("export verification FAILED at line {line}:")),
        "line {line}: {}",
        r.stdout
    );
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).expect("a JSON line")
}

both_backends!(
    an_export_verifies_and_each_edit_of_it_names_its_line,
    |app: TestApp| async move {
        let (key, lines) = exported_history(&app).await;
        // Start, the events, the head.
        assert!(lines.len() >= 8, "{lines:?}");
        let start = json(&lines[0]);
        assert_eq!(start["start"]["afterPosition"], 0, "{start}");
        assert_eq!(start["start"]["afterHash"], "0".repeat(64));
        let head = json(lines.last().expect("a head"));
        let newest = json(&lines[lines.len() - 2]);
        assert_eq!(head["head"]["position"], newest["position"], "{head}");
        assert_eq!(head["head"]["hash"], newest["hash"], "{head}");
        assert_eq!(head["head"]["publicKey"], key.as_str());
        let grant = lines
            .iter()
            .position(|l| l.contains("INV-1"))
            .expect("the first grant");
        let event = json(&lines[grant]);
        for field in ["position", "stream", "sequence", "type", "hash"] {
            assert!(!event[field].is_null(), "{field}: {event}");
        }
        assert!(event["payload"].is_object(), "{event}");
        assert!(event["metadata"]["at"].is_string(), "{event}");

        let ok = verify(&app, "log.jsonl", &lines, &key);
        assert!(ok.ok, "{}", ok.stdout);
        let events = lines.len() - 2;
        let verified = format!("export verified: {events} events chain");
        assert!(ok.stdout.contains(&verified), "{}", ok.stdout);
        assert!(ok.stdout.contains("the start of the log"), "{}", ok.stdout);

        // File lines count from 1: line i + 1 is lines[i].
        let mut edited = lines.clone();
        edited[grant] = edited[grant].replace("INV-1", "INV-9");
        fails_at(&verify(&app, "edited.jsonl", &edited, &key), grant + 1);

        let mut deleted = lines.clone();
        deleted.remove(2);
        fails_at(&verify(&app, "deleted.jsonl", &deleted, &key), 3);

        let mut swapped = lines.clone();
        swapped.swap(3, 4);
        fails_at(&verify(&app, "swapped.jsonl", &swapped, &key), 4);

        // The last event removed: every line left still chains, the head does not.
        let mut cut = lines.clone();
        cut.remove(lines.len() - 2);
        fails_at(&verify(&app, "cut.jsonl", &cut, &key), lines.len() - 1);

        // A head signed by another key, naming that key: the trusted key decides.
        let forger = SigningKey::from_bytes(&[7; 32]);
        let mut forged_head = head.clone();
        let text = head["head"]["signedText"].as_str().expect("signedText");
        forged_head["head"]["signature"] = STANDARD
            .encode(forger.sign(text.as_bytes()).to_bytes())
            .into();
        forged_head["head"]["publicKey"] =
            STANDARD.encode(forger.verifying_key().to_bytes()).into();
        let mut forged = lines.clone();
        let last = forged.len() - 1;
        forged[last] = forged_head.to_string();
        let r = verify(&app, "forged.jsonl", &forged, &key);
        fails_at(&r, lines.len());
        assert!(r.stdout.contains("not trusted"), "{}", r.stdout);
        // The genuine copy does not verify with the forger's key either.
        let other = STANDARD.encode(forger.verifying_key().to_bytes());
        fails_at(
            &verify(&app, "other-key.jsonl", &lines, &other),
            lines.len(),
        );

        // No trusted key at hand: refused, not passed.
        let path = app.dir.path().join("log.jsonl");
        let nowhere = app.dir.path().join("no-such-key");
        let r = run(
            &app,
            &["verify-export", path.to_str().expect("path")],
            &[("SIGNING_KEY_PATH", &nowhere)],
        );
        assert_eq!(r.code, Some(2), "{}", r.stdout);
        assert!(r.stdout.contains("NOT checked"), "{}", r.stdout);
        // By default the trusted key is the public half of the signing key.
        let r = run(&app, &["verify-export", path.to_str().expect("path")], &[]);
        assert!(r.ok, "{}", r.stdout);
    }
);

both_backends!(
    an_export_from_a_position_chains_from_the_event_before,
    |app: TestApp| async move {
        let (key, all) = exported_history(&app).await;
        let before = json(&all[3]);
        let first = json(&all[4]);
        let from = first["position"].to_string();
        let part = export(&app, &["--from", &from]);
        let start = json(&part[0]);
        assert_eq!(
            start["start"]["afterPosition"], before["position"],
            "{start}"
        );
        assert_eq!(start["start"]["afterHash"], before["hash"], "{start}");
        // The same event lines as the whole copy from there on.
        assert_eq!(part[1..part.len() - 1], all[4..all.len() - 1]);
        let r = verify(&app, "part.jsonl", &part, &key);
        assert!(r.ok, "{}", r.stdout);
        assert!(
            r.stdout.contains(&format!(
                "after position {} with hash {}",
                before["position"],
                before["hash"].as_str().expect("hash")
            )),
            "{}",
            r.stdout
        );
        let mut edited = part.clone();
        edited[1] = edited[1].replacen("\"sequence\":", "\"sequence\":1", 1);
        fails_at(&verify(&app, "part-edited.jsonl", &edited, &key), 2);

        // Past the newest event: an empty copy that starts at the head.
        let empty = export(&app, &["--from", "1000000"]);
        assert_eq!(empty.len(), 2, "{empty:?}");
        assert!(verify(&app, "empty.jsonl", &empty, &key).ok);
    }
);

both_backends!(
    an_event_edited_in_the_database_fails_its_export,
    |app: TestApp| async move {
        let (key, lines) = exported_history(&app).await;
        let grant = lines
            .iter()
            .position(|l| l.contains("INV-2"))
            .expect("the second grant");
        let position = json(&lines[grant])["position"].as_i64().expect("position");
        edit_event_payload(&app, position, "INV-2", "INV-8").await;
        let again = export(&app, &[]);
        let r = verify(&app, "after-edit.jsonl", &again, &key);
        fails_at(&r, grant + 1);
        assert!(
            r.stdout.contains(&format!("position {position} (")),
            "{}",
            r.stdout
        );
    }
);
