//! The test harness: a real server on a free port over a fresh database
//! (SQLite file or a new PostgreSQL database), driven over HTTP with real
//! GraphQL documents. The pieces it shares with the benchmark are in the
//! `testkit` crate; this module adds the tests' accounts and assertions, and
//! fails the test where the kit returns an error.

use license_portal::config::ServeArgs;
use license_portal::server::Running;
use serde_json::{Value, json};
use std::path::PathBuf;
pub use testkit::Backend;

pub mod binary;
pub mod connections;
pub mod past_events;
pub mod sales;
pub mod signatures;

pub use binary::{Run, cli, run, run_bare};
pub use connections::{column, ids, nodes};
pub use past_events::{append_past_event, edit_event_payload, insert_event, support_assigned};
pub use sales::{license_input, subscription_input, support_input, trial_input};
pub use signatures::assert_signed;

pub const ADMIN_PASSWORD: &str = "operator-password-1";

pub struct TestApp {
    pub running: Option<Running>,
    pub url: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub args: ServeArgs,
}

/// A fresh, empty database of the backend; its URL.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    testkit::fresh_database(backend, dir)
        .await
        .unwrap_or_else(|e| panic!("a fresh {backend:?} database: {e}"))
}

pub fn serve_args(database_url: String, dir: &std::path::Path) -> ServeArgs {
    testkit::server::serve_args(database_url, dir, ADMIN_PASSWORD)
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_configured(backend, |_| {}).await
    }

    /// A server on a fresh database of `backend`, its settings changed by `set`.
    pub async fn spawn_configured(backend: Backend, set: impl FnOnce(&mut ServeArgs)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut args = serve_args(fresh_database(backend, dir.path()).await, dir.path());
        set(&mut args);
        TestApp::spawn_with(args, dir).await
    }

    pub async fn spawn_with(args: ServeArgs, dir: tempfile::TempDir) -> TestApp {
        let running = testkit::server::start(&args).await.expect("server starts");
        let url = testkit::graphql::endpoint(running.addr);
        TestApp {
            running: Some(running),
            url,
            client: reqwest::Client::new(),
            dir,
            args,
        }
    }

    /// Stops the server and starts it again on the same database and files.
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let running = testkit::server::start(&self.args)
            .await
            .expect("server restarts");
        self.url = testkit::graphql::endpoint(running.addr);
        self.running = Some(running);
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.args.outbox_dir.clone()
    }

    pub fn database_url(&self) -> String {
        self.args.db.database_url.clone()
    }

    /// What a browser gets at the GraphQL endpoint: it asks for HTML.
    pub async fn browser_page(&self) -> reqwest::Response {
        self.client
            .get(&self.url)
            .header("accept", "text/html")
            .send()
            .await
            .expect("GET")
    }

    /// Posts a GraphQL document; returns the whole JSON answer.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        testkit::graphql::post(&self.client, &self.url, token, query, variables)
            .await
            .unwrap_or_else(|e| panic!("GraphQL request: {e}"))
    }

    /// The data of a document that must succeed.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let answer = self.gql(token, query, variables).await;
        assert!(
            answer.get("errors").is_none(),
            "unexpected errors: {answer}"
        );
        answer["data"].clone()
    }

    /// The data of a document without variables that must succeed.
    pub async fn query(&self, token: &str, query: &str) -> Value {
        self.ok(Some(token), query, json!({})).await
    }

    /// The data of a document that must succeed whose only variable is the
    /// `$id` of the account, key, license or other node it is about.
    pub async fn ok_for_id(&self, token: &str, query: &str, id: impl serde::Serialize) -> Value {
        self.ok(Some(token), query, json!({ "id": id })).await
    }

    /// The answer to one query asking for `field` `n` times under aliases
    /// a0, a1, …: what a client asking for much at once sends.
    pub async fn aliased_query(&self, token: Option<&str>, field: &str, n: usize) -> Value {
        let fields: String = (0..n).map(|i| format!("a{i}: {field} ")).collect();
        self.gql(token, &format!("{{ {fields} }}"), json!({})).await
    }

    /// The code of the first error of a document that must fail.
    pub async fn error_code(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let answer = self.gql(token, query, variables).await;
        let code = answer["errors"][0]["extensions"]["code"].as_str();
        code.unwrap_or_else(|| panic!("expected an error, got {answer}"))
            .to_string()
    }

    pub async fn login(&self, login: &str, password: &str) -> String {
        let d = self
            .ok(
                None,
                "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }",
                json!({ "l": login, "p": password }),
            )
            .await;
        d["login"]["token"].as_str().expect("token").to_string()
    }

    pub async fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// A partner with its password set (no forced change); returns (id, token).
    pub async fn partner(&self, admin: &str, login: &str) -> (String, String) {
        let d = self
            .ok(
                Some(admin),
                "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { id } }",
                json!({ "i": { "login": login, "email": format!("{login}@example.com"), "name": login, "password": "partner-pass-1" } }),
            )
            .await;
        let id = d["createPartner"]["id"].as_str().expect("id").to_string();
        (id, self.login(login, "partner-pass-1").await)
    }

    /// The administrator's token and a new partner of its making, where
    /// most tests start; returns (admin, id, token).
    pub async fn admin_and_partner(&self, login: &str) -> (String, String, String) {
        let admin = self.admin().await;
        let (id, token) = self.partner(&admin, login).await;
        (admin, id, token)
    }

    /// The administrator's token and a partner granted `credits` (invoice
    /// INV-1), where most tests of selling start; returns (admin, id, token).
    pub async fn funded_partner(&self, login: &str, credits: i64) -> (String, String, String) {
        let (admin, id, token) = self.admin_and_partner(login).await;
        self.grant(&admin, &id, credits, "INV-1").await;
        (admin, id, token)
    }

    /// A partner granted `credits` (as by funded_partner) with one activation
    /// key named `key_name`, where most tests of one sale start; returns
    /// (token, key).
    pub async fn funded_partner_key(
        &self,
        login: &str,
        credits: i64,
        key_name: &str,
    ) -> (String, Value) {
        let (_, _, token) = self.funded_partner(login, credits).await;
        let key = self.key(&token, key_name).await;
        (token, key)
    }

    /// A partner the administrator created with no password, so that the
    /// service makes one and mails it to `email`; returns its id.
    pub async fn partner_without_password(&self, login: &str, email: &str, name: &str) -> String {
        let admin = self.admin().await;
        self.ok(
            Some(&admin),
            "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { id } }",
            json!({ "i": { "login": login, "email": email, "name": name } }),
        )
        .await["createPartner"]["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// The password the service made and mailed (to the outbox) for a new
    /// partner created with none.
    pub async fn partner_with_mailed_password(
        &self,
        login: &str,
        email: &str,
        name: &str,
    ) -> String {
        self.partner_without_password(login, email, name).await;
        wait_for_welcome_password(self, email).await
    }

    /// Partner "acme" (ops@acme.example), created with no password; returns
    /// the password the service mailed it.
    pub async fn acme_with_mailed_password(&self) -> String {
        self.partner_with_mailed_password("acme", "ops@acme.example", "Acme")
            .await
    }

    /// A reseller (named as its login) of the partner signed in as
    /// `partner`, selling `products`, given `credits` (none when 0); returns
    /// (id, token).
    pub async fn reseller(
        &self,
        partner: &str,
        login: &str,
        products: &[&str],
        credits: i64,
    ) -> (String, String) {
        let d = self
            .ok(
                Some(partner),
                "mutation($i: CreateResellerInput!) { createReseller(input: $i) { reseller { id } } }",
                json!({ "i": { "login": login, "email": format!("{login}@example.com"), "name": login, "password": "reseller-pass-1", "products": products } }),
            )
            .await;
        let id = d["createReseller"]["reseller"]["id"]
            .as_str()
            .expect("id")
            .to_string();
        if credits > 0 {
            self.ok(
                Some(partner),
                "mutation($r: ID!, $a: Int!) { giveCredits(resellerId: $r, amount: $a) { id } }",
                json!({ "r": id, "a": credits }),
            )
            .await;
        }
        (id, self.login(login, "reseller-pass-1").await)
    }

    pub async fn grant(&self, admin: &str, partner: &str, amount: i64, reference: &str) -> Value {
        self.ok(
            Some(admin),
            "mutation($p: ID!, $a: Int!, $r: String!) { grantCredits(partnerId: $p, amount: $a, reference: $r) { id amount balanceAfter reason reference } }",
            json!({ "p": partner, "a": amount, "r": reference }),
        )
        .await["grantCredits"]
            .clone()
    }

    /// The whole number at `pointer` (a JSON pointer) in the data of `query`.
    pub async fn number_at(&self, token: &str, query: &str, pointer: &str) -> i64 {
        let data = self.query(token, query).await;
        data.pointer(pointer)
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("no number at {pointer} in {data}"))
    }

    pub async fn balance(&self, token: &str) -> i64 {
        self.number_at(token, "{ me { creditBalance } }", "/me/creditBalance")
            .await
    }

    pub async fn key(&self, token: &str, name: &str) -> Value {
        self.ok(
            Some(token),
            "mutation($n: String!) { createActivationKey(name: $n) { id key name } }",
            json!({ "n": name }),
        )
        .await["createActivationKey"]
            .clone()
    }

    /// How many activation keys `token` sees: what a refused or replayed
    /// request must not have changed.
    pub async fn key_count(&self, token: &str) -> i64 {
        let query = "{ activationKeys { totalCount } }";
        self.number_at(token, query, "/activationKeys/totalCount")
            .await
    }

    /// Assigns the license `input` describes and returns its id, for tests
    /// that need a license on a key but not the sale's details.
    pub async fn license_id(&self, token: &str, input: Value) -> String {
        self.ok(
            Some(token),
            "mutation($i: AssignLicenseInput!) { assignLicense(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await["assignLicense"]["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// The newest entry of the credit history `token` sees: what the sale or
    /// refund just made must have written.
    pub async fn last_credit_entry(&self, token: &str) -> Value {
        let d = self
            .query(token, "{ creditHistory(first: 500) { edges { node { id amount balanceAfter reason reference actor { login } } } } }")
            .await;
        nodes(&d["creditHistory"]).pop().expect("an entry")
    }

    /// The sum of the history's amounts must be the balance, and every
    /// balanceAfter the running sum.
    pub async fn assert_history_adds_up(&self, token: &str) {
        let d = self
            .query(token, "{ me { creditBalance } creditHistory(first: 500) { edges { node { amount balanceAfter } } } }")
            .await;
        let mut running = 0;
        for e in d["creditHistory"]["edges"].as_array().expect("edges") {
            running += e["node"]["amount"].as_i64().expect("amount");
            assert_eq!(
                running,
                e["node"]["balanceAfter"].as_i64().expect("after"),
                "{d}"
            );
        }
        assert_eq!(running, d["me"]["creditBalance"].as_i64().expect("balance"));
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Background tasks end with the test's runtime; nothing to wait for.
        self.running.take();
    }
}

/// Declares a test that runs once on SQLite and once on PostgreSQL, each on
/// a fresh server; with `settings: SET`, a server whose settings `SET`
/// (a `FnOnce(&mut ServeArgs)`) changed first.
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        both_backends!($name, settings: |_| {}, $body);
    };
    ($name:ident, settings: $set:expr, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let f = $body;
                f(TestApp::spawn_configured(Backend::Sqlite, $set).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let f = $body;
                f(TestApp::spawn_configured(Backend::Postgres, $set).await).await;
            }
        }
    };
}

/// Declares a test that runs `$test(backend)` once on SQLite and once on
/// PostgreSQL, for tests that start, stop or build their servers themselves.
macro_rules! each_backend {
    ($name:ident, $test:path) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $test(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                $test(Backend::Postgres).await;
            }
        }
    };
}

/// The first answer of `probe` that is `Some`, asked every 50 ms up to
/// `tries` times: for what the service does in the background.
pub async fn eventually<T, Fut>(tries: u32, mut probe: impl FnMut() -> Fut) -> Option<T>
where
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..tries {
        if let Some(found) = probe().await {
            return Some(found);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    None
}

/// The .eml files written to the outbox so far, as text.
pub fn outbox_messages(app: &TestApp) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(app.outbox_dir()) else {
        return vec![];
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}

/// Waits (up to 10 s) for an email in the outbox that contains `words`
/// (mail goes out in the background); returns its text.
pub async fn wait_for_email(app: &TestApp, words: &str) -> String {
    let found = eventually(200, || async {
        outbox_messages(app).into_iter().find(|m| m.contains(words))
    });
    found
        .await
        .unwrap_or_else(|| panic!("no email with {words:?} in {}", app.outbox_dir().display()))
}

/// Waits (up to 10 s) for the welcome email to `address`; returns its text.
pub async fn wait_for_welcome(app: &TestApp, address: &str) -> String {
    wait_for_email(app, address).await
}

/// The generated password a welcome email carries.
pub async fn wait_for_welcome_password(app: &TestApp, address: &str) -> String {
    let message = wait_for_welcome(app, address).await;
    message
        .lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .map(|p| p.trim().to_string())
        .unwrap_or_else(|| panic!("no password in {message}"))
}

/// `doc` with `fields` where it says FIELDS: the documents about one kind of
/// object ask for one list of its fields, written once.
pub fn with_fields(doc: &str, fields: &str) -> String {
    assert!(doc.contains("FIELDS"), "nowhere to put the fields in {doc}");
    doc.replace("FIELDS", fields)
}

/// The message of an answer's first error ("" when there is none).
pub fn error_message(answer: &Value) -> &str {
    answer["errors"][0]["message"].as_str().unwrap_or("")
}

/// A document refused before it ran: BAD_USER_INPUT, a message naming
/// `words`, and no data.
pub fn assert_bad_input(answer: &Value, words: &str) {
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{answer}"
    );
    assert!(error_message(answer).contains(words), "{answer}");
    assert!(answer.get("data").is_none_or(Value::is_null), "{answer}");
}

/// The outputs of `futures`, run at once (spawned, so that they truly
/// overlap): for races and contention.
pub async fn all_at_once<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}
