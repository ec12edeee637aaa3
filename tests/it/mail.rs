//! Welcome emails: through a real SMTP conversation, and as .eml files.

use crate::common;
use crate::common::{Backend, TestApp, fresh_database, serve_args};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A minimal SMTP server: accepts every message and keeps its DATA.
async fn smtp_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 test ESMTP\r\n").await;
                let mut in_data = false;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().expect("lock").push(std::mem::take(&mut data));
                            let _ = write.write_all(b"250 OK queued\r\n").await;
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 test\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, received)
}

async fn delivered_through_smtp(backend: Backend) {
    let (port, received) = smtp_server().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut args = serve_args(fresh_database(backend, dir.path()).await, dir.path());
    args.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    let app = TestApp::spawn_with(args, dir).await;
    app.partner_without_password("acme", "ops@acme.example", "Acme")
        .await;
    let mut message = None;
    for _ in 0..200 {
        if let Some(m) = received.lock().expect("lock").first().cloned() {
            message = Some(m);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let message = message.expect("a message reached the SMTP server");
    assert!(message.contains("ops@acme.example"), "{message}");
    assert!(message.contains("Login: acme"), "{message}");
    assert!(message.contains("http://portal.example.test"), "{message}");
    let password = message
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("password line")
        .trim();
    assert!(password.len() >= 16);
    app.login("acme", password).await;
    // Exactly once: nothing more arrives, and nothing was written as a file.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(received.lock().expect("lock").len(), 1);
    assert!(common::outbox_messages(&app).is_empty());
}

each_backend!(welcome_email_through_smtp, delivered_through_smtp);

both_backends!(welcome_email_as_eml_file_once, |app: TestApp| async move {
    let mut app = app;
    let admin = app.admin().await;
    app.partner(&admin, "acme").await;
    let message = common::wait_for_welcome(&app, "acme@example.com").await;
    assert!(message.contains("Login: acme"));
    assert!(message.contains("http://portal.example.test"));
    // A chosen password is not mailed.
    assert!(!message.contains("partner-pass-1"));
    // Restarting (and rebuilding the views) sends nothing again.
    app.restart().await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(common::outbox_messages(&app).len(), 1);
});

both_backends!(
    a_failing_smtp_server_is_retried_not_lost,
    |app: TestApp| async move {
        // Point a second server at an SMTP port where nobody listens.
        let mut app = app;
        let mut args = app.args.clone();
        if let Some(first) = app.running.take() {
            first.stop().await;
        }
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        args.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        args.listen = "127.0.0.1:0".parse().expect("addr");
        let dir = tempfile::tempdir().expect("dir");
        let app = TestApp::spawn_with(args, dir).await;
        let admin = app.admin().await;
        app.partner(&admin, "acme").await;
        let db = &app.running.as_ref().expect("running").app.db;
        let attempted = common::eventually(100, || async move {
            let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM outbox")
                .fetch_one(&db.pool)
                .await
                .expect("row");
            (attempts > 0).then_some(attempts)
        });
        assert!(attempted.await.is_some_and(|attempts| attempts >= 1));
        let (sent, error): (Option<String>, Option<String>) =
            sqlx::query_as("SELECT sent_at, last_error FROM outbox")
                .fetch_one(&db.pool)
                .await
                .expect("row");
        assert!(sent.is_none(), "not marked sent");
        assert!(
            error.is_some(),
            "the failure is recorded for the next attempt"
        );
    }
);
