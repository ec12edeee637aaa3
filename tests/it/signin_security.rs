//! Sign-in under abuse, over real HTTP: password hashing that waits its turn,
//! failed sign-ins counted per account and per client (so nobody can lock
//! the owner out), the password policy wherever a password is set, the files
//! holding secrets kept private, and X-Forwarded-For taken only from trusted
//! proxies.

use crate::common::*;
use license_portal::config::ServeArgs;
use serde_json::{Value, json};
use std::collections::HashMap;

const LOGIN: &str =
    "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token } }";
const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(current: $c, new: $n) }";
const CREATE_PARTNER: &str =
    "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { id } }";

/// Posts a document as if through a proxy that names `client` in
/// X-Forwarded-For.
async fn gql_from(
    app: &TestApp,
    client: &str,
    token: Option<&str>,
    query: &str,
    vars: Value,
) -> Value {
    let mut request = app
        .client
        .post(&app.url)
        .header("accept", "application/graphql-response+json")
        .header("x-forwarded-for", client)
        .json(&json!({ "query": query, "variables": vars }));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    request
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON answer")
}

/// The answer to a sign-in from `client`.
async fn sign_in_answer_from(app: &TestApp, client: &str, login: &str, password: &str) -> Value {
    let vars = json!({ "l": login, "p": password });
    gql_from(app, client, None, LOGIN, vars).await
}

/// The error code of a sign-in from `client`, or "OK".
async fn sign_in_from(app: &TestApp, client: &str, login: &str, password: &str) -> String {
    outcome(&sign_in_answer_from(app, client, login, password).await)
}

fn outcome(answer: &Value) -> String {
    match answer["errors"][0]["extensions"]["code"].as_str() {
        Some(code) => code.to_string(),
        None => "OK".to_string(),
    }
}

fn tally(outcomes: &[String]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for o in outcomes {
        *counts.entry(o.clone()).or_insert(0) += 1;
    }
    counts
}

fn trusting_localhost(args: &mut ServeArgs) {
    args.security.trusted_proxies = vec!["127.0.0.1".parse().expect("address")];
}

/// Settings trusting the local proxy, that hold one client to `failures`
/// failed sign-ins.
fn trusting_localhost_with_client_failures(failures: u32) -> impl FnOnce(&mut ServeArgs) {
    move |args| {
        trusting_localhost(args);
        args.security.signin_client_failures = failures;
    }
}

// 3. Hashing waits for a free slot.

both_backends!(
    a_burst_of_sign_ins_hashes_a_few_at_a_time,
    settings: |args: &mut ServeArgs| {
        // Sixteen sign-ins of one account at once are not abuse here.
        args.security.signin_account_failures = 1000;
        args.security.signin_client_failures = 1000;
    },
    |app: TestApp| async move {
        let app = std::sync::Arc::new(app);
        let burst = (0..16).map(|_| {
            let app = app.clone();
            async move {
                app.gql(None, LOGIN, json!({ "l": "admin", "p": ADMIN_PASSWORD }))
                    .await
            }
        });
        let answers = all_at_once(burst).await;
        assert!(answers.iter().all(|a| outcome(a) == "OK"), "{answers:?}");
        let (slots, peak) = license_portal::auth::hashing_stats();
        assert!(peak >= 1 && peak <= slots, "peak {peak}, slots {slots}");
    }
);

// 4. Failures are counted per account, atomically.

both_backends!(
    parallel_guesses_get_only_the_limit_checked,
    |app: TestApp| async move {
        let admin = app.admin().await;
        app.partner(&admin, "acme").await;
        let app = std::sync::Arc::new(app);
        let guesses = (0..60).map(|i| {
            let app = app.clone();
            async move {
                app.gql(
                    None,
                    LOGIN,
                    json!({ "l": "acme", "p": format!("guess-{i}") }),
                )
                .await
            }
        });
        let answers = all_at_once(guesses).await;
        let outcomes: Vec<String> = answers.iter().map(outcome).collect();
        let counts = tally(&outcomes);
        // Exactly the limit had their password checked; the rest were refused unchecked.
        assert_eq!(counts.get("UNAUTHENTICATED"), Some(&10), "{counts:?}");
        assert_eq!(counts.get("RATE_LIMITED"), Some(&50), "{counts:?}");
    }
);

both_backends!(
    the_login_and_the_email_share_one_count,
    |app: TestApp| async move {
        let admin = app.admin().await;
        app.partner(&admin, "acme").await;
        for i in 0..10 {
            let who = if i % 2 == 0 {
                "acme"
            } else {
                "ACME@example.com"
            };
            let code = app
                .error_code(None, LOGIN, json!({ "l": who, "p": "wrong-guess" }))
                .await;
            assert_eq!(code, "UNAUTHENTICATED");
        }
        for who in ["acme", "acme@example.com"] {
            let code = app
                .error_code(None, LOGIN, json!({ "l": who, "p": "partner-pass-1" }))
                .await;
            assert_eq!(code, "RATE_LIMITED", "{who}");
        }
    }
);

// 5. Nobody can lock another person out.

both_backends!(
    a_flood_of_guesses_locks_out_the_guesser_not_the_owner,
    settings: trusting_localhost,
    |app: TestApp| async move {
        let attacker = "203.0.113.9";
        for i in 0..10 {
            assert_eq!(
                sign_in_from(&app, attacker, "admin", &format!("guess-{i}")).await,
                "UNAUTHENTICATED"
            );
        }
        let locked = sign_in_answer_from(&app, attacker, "admin", "guess-x").await;
        assert_eq!(outcome(&locked), "RATE_LIMITED");
        let message = locked["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("this account") && message.contains("minutes"),
            "{message}"
        );
        // The attacker is refused even with the right password.
        assert_eq!(
            sign_in_from(&app, attacker, "admin", ADMIN_PASSWORD).await,
            "RATE_LIMITED"
        );
        // The owner, from a client that has not been failing, signs in.
        assert_eq!(
            sign_in_from(&app, "198.51.100.7", "admin", ADMIN_PASSWORD).await,
            "OK"
        );
        assert_eq!(
            sign_in_from(&app, "198.51.100.7", "admin", ADMIN_PASSWORD).await,
            "OK"
        );
        // Another client gets one check on the locked account, then waits too.
        assert_eq!(
            sign_in_from(&app, "198.51.100.8", "admin", "guess-y").await,
            "UNAUTHENTICATED"
        );
        assert_eq!(
            sign_in_from(&app, "198.51.100.8", "admin", ADMIN_PASSWORD).await,
            "RATE_LIMITED"
        );
    }
);

both_backends!(
    one_client_is_held_to_its_own_limit_over_all_accounts,
    settings: trusting_localhost_with_client_failures(4),
    |app: TestApp| async move {
        let admin = app.admin().await;
        app.partner(&admin, "acme").await;
        let sprayer = "203.0.113.50";
        for i in 0..4 {
            assert_eq!(
                sign_in_from(&app, sprayer, &format!("user{i}"), "guess-guess").await,
                "UNAUTHENTICATED"
            );
        }
        let refused = sign_in_answer_from(&app, sprayer, "acme", "partner-pass-1").await;
        assert_eq!(outcome(&refused), "RATE_LIMITED");
        let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("from this address"), "{message}");
        // Others are untouched.
        assert_eq!(
            sign_in_from(&app, "198.51.100.7", "acme", "partner-pass-1").await,
            "OK"
        );
    }
);

both_backends!(
    expired_failure_counts_are_deleted,
    |app: TestApp| async move {
        let pool = &app.running.as_ref().expect("running").app.db.pool;
        sqlx::query("INSERT INTO sign_in_failures (subject, window_start, failures) VALUES ('client:192.0.2.1', '2001-01-01T00:00:00.000000Z', 3)")
            .execute(pool)
            .await
            .expect("an old counter");
        assert_eq!(
            app.error_code(None, LOGIN, json!({ "l": "admin", "p": "wrong-guess" }))
                .await,
            "UNAUTHENTICATED"
        );
        let left: Vec<String> = sqlx::query_scalar("SELECT subject FROM sign_in_failures")
            .fetch_all(pool)
            .await
            .expect("counters");
        assert!(!left.iter().any(|s| s == "client:192.0.2.1"), "{left:?}");
        assert!(left.iter().any(|s| s.starts_with("account:")), "{left:?}");
    }
);

// 6. A wrong current password counts like a failed sign-in.

both_backends!(
    wrong_current_passwords_count_like_failed_sign_ins,
    settings: |args: &mut ServeArgs| args.security.signin_account_failures = 3,
    |app: TestApp| async move {
        let (_, _, acme) = app.admin_and_partner("acme").await;
        let from = |current: &str| json!({ "c": current, "n": "Quartz-Lantern-41" });
        for i in 0..3 {
            let code = app
                .error_code(Some(&acme), CHANGE, from(&format!("guess-{i}")))
                .await;
            assert_eq!(code, "BAD_USER_INPUT");
        }
        // Locked now: the right current password is refused, and so is a sign-in.
        let code = app
            .error_code(Some(&acme), CHANGE, from("partner-pass-1"))
            .await;
        assert_eq!(code, "RATE_LIMITED");
        let code = app
            .error_code(None, LOGIN, json!({ "l": "acme", "p": "partner-pass-1" }))
            .await;
        assert_eq!(code, "RATE_LIMITED");
    }
);

// 7. The password policy, wherever a password is set.

async fn refusal(app: &TestApp, token: &str, query: &str, vars: Value) -> String {
    let answer = app.gql(Some(token), query, vars).await;
    assert_eq!(outcome(&answer), "BAD_USER_INPUT", "{answer}");
    answer["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

both_backends!(
    weak_passwords_are_refused_with_the_rule_they_fail,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let partner = |password: &str| json!({ "i": { "login": "acme", "email": "jane@example.org", "name": "Acme", "password": password } });
        for (password, rule) in [
            ("password", "at least 12 characters"),
            ("12345678", "at least 12 characters"),
            ("        ", "at least 12 characters"),
            ("passwordpassword", "too easy to guess"),
            ("qwertyuiopasdf", "too easy to guess"),
            ("my-acme-password-2026", "must not contain the login"),
            ("Quartz-Jane@Example.org", "must not contain the email"),
        ] {
            let message = refusal(&app, &admin, CREATE_PARTNER, partner(password)).await;
            assert!(message.contains(rule), "{password:?}: {message}");
        }
        app.ok(Some(&admin), CREATE_PARTNER, partner("Quartz-Lantern-41"))
            .await;
        let acme = app.login("acme", "Quartz-Lantern-41").await;

        let reseller = json!({ "i": { "login": "west", "email": "west@shop.example", "name": "West", "password": "password", "products": ["REMOTE_ACCESS"] } });
        let message = refusal(
            &app,
            &acme,
            "mutation($i: CreateResellerInput!) { createReseller(input: $i) { reseller { id } } }",
            reseller,
        )
        .await;
        assert!(message.contains("at least 12 characters"), "{message}");

        let message = refusal(
            &app,
            &acme,
            CHANGE,
            json!({ "c": "Quartz-Lantern-41", "n": "aaaaaaaaaaaa" }),
        )
        .await;
        assert!(message.contains("too easy to guess"), "{message}");
        app.ok(
            Some(&acme),
            CHANGE,
            json!({ "c": "Quartz-Lantern-41", "n": "Orchid-Falcon-27" }),
        )
        .await;
    }
);

both_backends!(
    generated_passwords_pass_the_policy,
    |app: TestApp| async move {
        let password = app.acme_with_mailed_password().await;
        assert!(
            license_portal::auth::check_new_password(&password, "acme", "ops@acme.example").is_ok(),
            "{password}"
        );
        app.login("acme", &password).await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weak_first_admin_password_stops_the_start() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut args = serve_args(fresh_database(backend, dir.path()).await, dir.path());
        args.admin_password = Some("12345678".into());
        let error = match testkit::server::start(&args).await {
            Ok(_) => panic!("{backend:?}: started with a weak admin password"),
            Err(e) => e,
        };
        assert!(
            error.contains("LICENSE_PORTAL_ADMIN_PASSWORD")
                && error.contains("at least 12 characters"),
            "{error}"
        );
    }
}

both_backends!(
    the_command_line_refuses_a_weak_password,
    |app: TestApp| async move {
        let out = run(
            &app,
            &[
                "create-admin",
                "--login",
                "ops",
                "--email",
                "ops@example.com",
                "--password",
                "password",
            ],
            &[],
        );
        assert!(!out.ok);
        assert!(
            out.stderr.contains("at least 12 characters"),
            "{}",
            out.stderr
        );
    }
);

/// The portal's password change: signs in through the two steps, then posts
/// the form. Returns the status and body of the answer.
async fn portal_password_change(
    app: &TestApp,
    login: &str,
    current: &str,
    new: &str,
) -> (u16, String) {
    let base = app.url.trim_end_matches("/graphql").to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut cookies: HashMap<String, String> = HashMap::new();
    let remember = |cookies: &mut HashMap<String, String>, r: &reqwest::Response| {
        for c in r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            if let Some((k, v)) = c.split(';').next().and_then(|p| p.split_once('=')) {
                cookies.insert(k.to_string(), v.to_string());
            }
        }
    };
    let header = |cookies: &HashMap<String, String>| {
        cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let page = http
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("GET /login");
    remember(&mut cookies, &page);
    let token = csrf(&page.text().await.expect("body"));
    // A form posted with the session's cookies.
    let post = async |path: &str, cookies: String, fields: &[(&str, &str)]| {
        http.post(format!("{base}{path}"))
            .header("cookie", cookies)
            .form(fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    };
    let fields = [
        ("_csrf", token.as_str()),
        ("login", login),
        ("password", current),
    ];
    let signed = post("/login", header(&cookies), &fields).await;
    assert_eq!(signed.status().as_u16(), 303);
    remember(&mut cookies, &signed);
    let form = http
        .get(format!("{base}/password"))
        .header("cookie", header(&cookies))
        .send()
        .await
        .expect("GET /password");
    let token = csrf(&form.text().await.expect("body"));
    let fields = [
        ("_csrf", token.as_str()),
        ("current", current),
        ("new", new),
        ("confirm", new),
    ];
    let answer = post("/password", header(&cookies), &fields).await;
    (answer.status().as_u16(), answer.text().await.expect("body"))
}

fn csrf(body: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    body.find(marker)
        .map(|i| body[i + marker.len()..].chars().take(64).collect())
        .unwrap_or_default()
}

both_backends!(
    the_portal_refuses_a_weak_password_and_names_the_rule,
    |app: TestApp| async move {
        let admin = app.admin().await;
        app.partner(&admin, "acme").await;
        let (status, body) =
            portal_password_change(&app, "acme", "partner-pass-1", "acme-acme-acme-1").await;
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("must not contain the login"), "{body}");
        let (status, _) =
            portal_password_change(&app, "acme", "partner-pass-1", "Quartz-Lantern-41").await;
        assert_eq!(status, 303);
        app.login("acme", "Quartz-Lantern-41").await;
    }
);

// 16. Files holding secrets are private.

#[cfg(unix)]
fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[cfg(unix)]
both_backends!(
    files_holding_secrets_are_readable_by_the_owner_alone,
    |app: TestApp| async move {
        app.acme_with_mailed_password().await;
        let mut private = vec![app.dir.path().join("signing-key")];
        if app.database_url().starts_with("sqlite") {
            for suffix in ["", "-wal", "-shm"] {
                private.push(app.dir.path().join(format!("test.db{suffix}")));
            }
        }
        let emails: Vec<_> = std::fs::read_dir(app.outbox_dir())
            .expect("outbox")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        assert!(!emails.is_empty());
        private.extend(emails);
        for path in private {
            assert_eq!(mode_of(&path), 0o600, "{}", path.display());
        }
    }
);

// 17. X-Forwarded-For counts only from trusted proxies.

async fn failures_from_different_forwarded_addresses(app: &TestApp) -> Vec<String> {
    let mut outcomes = Vec::new();
    for i in 1..=3 {
        let client = format!("203.0.113.{i}");
        outcomes.push(sign_in_from(app, &client, &format!("user{i}"), "guess-guess").await);
    }
    outcomes
}

both_backends!(
    forwarded_for_is_ignored_from_an_untrusted_peer,
    settings: |args: &mut ServeArgs| args.security.signin_client_failures = 2,
    |app: TestApp| async move {
        // The header is the client's own word: all three are one client.
        let outcomes = failures_from_different_forwarded_addresses(&app).await;
        assert_eq!(
            outcomes,
            ["UNAUTHENTICATED", "UNAUTHENTICATED", "RATE_LIMITED"]
        );
    }
);

both_backends!(
    forwarded_for_names_the_client_behind_a_trusted_proxy,
    settings: trusting_localhost_with_client_failures(2),
    |app: TestApp| async move {
        let outcomes = failures_from_different_forwarded_addresses(&app).await;
        assert_eq!(
            outcomes,
            ["UNAUTHENTICATED", "UNAUTHENTICATED", "UNAUTHENTICATED"]
        );
        // What the client itself puts left of the proxy's entry is not taken.
        let mut spoofed = Vec::new();
        for i in 1..=3 {
            let forwarded = format!("198.51.100.{i}, 203.0.113.77");
            spoofed.push(sign_in_from(&app, &forwarded, "nobody", "guess-guess").await);
        }
        assert_eq!(
            spoofed,
            ["UNAUTHENTICATED", "UNAUTHENTICATED", "RATE_LIMITED"]
        );
    }
);
