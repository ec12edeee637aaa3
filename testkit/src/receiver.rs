//! A webhook receiver on a free port of 127.0.0.1 (an axum server): keeps
//! every request it gets, answers 500 to the first `fail_first` of them and
//! 200 to the rest, each after `delay` (a slow or hanging receiver).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct Inbox {
    received: Vec<Received>,
    fail_first: usize,
    delay: Duration,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    pub async fn start(fail_first: usize, delay: Duration) -> Result<Receiver, String> {
        let inbox = Arc::new(Mutex::new(Inbox {
            fail_first,
            delay,
            ..Inbox::default()
        }));
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("a port for the receiver: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("the receiver's address: {e}"))?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Receiver {
            url: format!("http://{addr}/hook"),
            inbox,
        })
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.inbox).received.clone()
    }

    /// How many requests came, without copying them.
    pub fn count(&self) -> usize {
        lock(&self.inbox).received.len()
    }

    pub fn unique_ids(&self) -> HashSet<String> {
        lock(&self.inbox)
            .received
            .iter()
            .map(|r| r.id.clone())
            .collect()
    }

    /// Waits until `done` holds for what was received; what was received,
    /// or Err with it when `timeout` passed first.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Result<Vec<Received>, Vec<Received>> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if done(&got) {
                return Ok(got);
            }
            if Instant::now() > deadline {
                return Err(got);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn lock(inbox: &Mutex<Inbox>) -> MutexGuard<'_, Inbox> {
    // Plain values: a poisoned lock still holds good ones.
    inbox.lock().unwrap_or_else(|e| e.into_inner())
}

async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let delay = {
        let mut inbox = lock(&inbox);
        inbox.received.push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body,
        });
        if inbox.fail_first > 0 {
            inbox.fail_first -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        inbox.delay
    };
    tokio::time::sleep(delay).await;
    StatusCode::OK
}
