//! The "API tokens" page over HTTP: a token made there works on /graphql
//! within its scope, its secret is shown once, the list never shows it
//! again, Revoke ends it, and a form without this session's token changes
//! nothing.

use super::{Answer, Visitor};
use crate::common::*;
use serde_json::{Value, json};

const TOKENS: &str = "{ apiTokens { totalCount edges { node { id name scope prefix lastUsedAt expiresAt revokedAt } } } }";
const MUTATION: &str = r#"mutation { createActivationKey(name: "from a token") { id } }"#;

/// The secret in the page that answers a creation.
fn secret_in(body: &str) -> String {
    let marker = "id=\"new-secret\"";
    let at = body.find(marker).expect("the secret is shown");
    let rest = &body[at..];
    let start = rest.find('>').expect("the output's text") + 1;
    let end = rest.find('<').expect("its end");
    rest[start..end].to_string()
}

/// The answer to the new-token form of `page`.
async fn new_token(v: &mut Visitor, page: &str, name: &str, scope: &str, expires: &str) -> Answer {
    let fields = [("name", name), ("scope", scope), ("expires", expires)];
    v.submit("/tokens/new", page, &fields).await
}

async fn tokens(app: &TestApp, session: &str) -> Vec<Value> {
    nodes(&app.query(session, TOKENS).await["apiTokens"])
}

both_backends!(
    tokens_are_made_shown_once_listed_and_revoked_in_the_portal,
    |app: TestApp| async move {
        let (_, _, session) = app.admin_and_partner("acme").await;
        let mut v = Visitor::new(&app);
        v.sign_in("acme", "partner-pass-1").await;
        let home = v.page("/").await;
        assert!(home.contains("href=\"/tokens\""), "{home}");
        let page = v.page("/tokens").await;
        assert!(page.contains("No API token yet."), "{page}");

        let created = new_token(&mut v, &page, "Grafana", "READ", "").await;
        assert_eq!(created.status, 200, "{}", created.body);
        let secret = secret_in(&created.body);
        assert!(secret.starts_with("lpt_"), "{secret}");
        assert!(created.body.contains("data-copy=\"new-secret\""));
        assert!(
            created
                .headers
                .get("cache-control")
                .is_some_and(|v| v == "no-store")
        );

        // The token acts as the partner, read-only.
        let me = app.query(&secret, "{ me { login } }").await;
        assert_eq!(me["me"]["login"], "acme");
        assert_eq!(
            app.error_code(Some(&secret), MUTATION, json!({})).await,
            "FORBIDDEN"
        );

        // Listed with its prefix and last use, never with its secret.
        let listed = tokens(&app, &session).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        let token = &listed[0];
        assert_eq!(token["scope"], "READ");
        let used = token["lastUsedAt"].as_str().expect("used just now");
        let list = v.page("/tokens").await;
        assert!(list.contains("Grafana"), "{list}");
        assert!(
            list.contains(token["prefix"].as_str().expect("prefix")),
            "{list}"
        );
        assert!(!list.contains(&secret), "{list}");
        assert!(
            list.contains(&used.replace('T', " ")[..16]),
            "last used {used}: {list}"
        );

        // A WRITE token with an expiry date: it works through that day.
        let next_year = (chrono::Utc::now() + chrono::Duration::days(365))
            .date_naive()
            .to_string();
        let write = new_token(&mut v, &list, "Provisioning", "WRITE", &next_year).await;
        assert_eq!(write.status, 200, "{}", write.body);
        let write_secret = secret_in(&write.body);
        app.query(&write_secret, MUTATION).await;
        let list = v.page("/tokens").await;
        assert!(list.contains("WRITE"), "{list}");
        let provisioning = tokens(&app, &session)
            .await
            .into_iter()
            .find(|t| t["name"] == "Provisioning")
            .expect("listed");
        assert!(
            provisioning["expiresAt"]
                .as_str()
                .is_some_and(|at| at > next_year.as_str()),
            "{provisioning}"
        );

        // A date already past is refused with the form kept.
        let past = new_token(&mut v, &list, "Too late", "READ", "2020-01-01").await;
        assert_eq!(past.status, 422, "{}", past.body);
        assert!(
            past.body.contains("The expiry date must be in the future"),
            "{}",
            past.body
        );
        assert!(past.body.contains("value=\"Too late\""), "{}", past.body);

        // Revoke: the next request with the secret is not signed in.
        let id = token["id"].as_str().expect("id");
        let revoked = v.submit(&format!("/tokens/{id}/revoke"), &list, &[]).await;
        assert_eq!(revoked.status, 303, "{}", revoked.body);
        assert_eq!(revoked.location.as_deref(), Some("/tokens"));
        assert_eq!(
            app.error_code(Some(&secret), MUTATION, json!({})).await,
            "UNAUTHENTICATED"
        );
        let list = v.page("/tokens").await;
        assert!(list.contains("was revoked"), "{list}");
        assert!(list.contains("Revoked"), "{list}");
        assert!(
            !list.contains(&format!("/tokens/{id}/revoke")),
            "no second Revoke: {list}"
        );

        // Without this session's form token nothing changes.
        let count = tokens(&app, &session).await.len();
        let refused = v
            .post(
                "/tokens/new",
                &[("_csrf", "forged"), ("name", "Sneaky"), ("scope", "WRITE")],
            )
            .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        let other = provisioning["id"].as_str().expect("id");
        let refused = v
            .post(&format!("/tokens/{other}/revoke"), &[("name", "x")])
            .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert_eq!(tokens(&app, &session).await.len(), count);
        app.query(&write_secret, MUTATION).await;
    }
);

both_backends!(
    the_tokens_link_is_there_for_whoever_may_make_tokens,
    |app: TestApp| async move {
        let (admin, _, partner) = app.admin_and_partner("acme").await;
        app.reseller(&partner, "northwind", &["REMOTE_ACCESS"], 0)
            .await;
        app.ok(
            Some(&admin),
            "mutation($i: CreateAuditorInput!) { createAuditor(input: $i) { id } }",
            json!({ "i": { "login": "audrey", "email": "audrey@example.com", "name": "Audrey", "password": "auditor-pass-1" } }),
        )
        .await;
        for (login, password) in [("admin", ADMIN_PASSWORD), ("northwind", "reseller-pass-1")] {
            let mut v = Visitor::new(&app);
            v.sign_in(login, password).await;
            let page = v.page("/tokens").await;
            assert!(page.contains("href=\"/tokens\""), "{login}: {page}");
            assert!(page.contains("action=\"/tokens/new\""), "{login}: {page}");
        }
        // An auditor changes nothing, so it cannot make tokens: no link, no form.
        let mut v = Visitor::new(&app);
        v.sign_in("audrey", "auditor-pass-1").await;
        let page = v.page("/tokens").await;
        assert!(!page.contains("href=\"/tokens\""), "{page}");
        assert!(!page.contains("action=\"/tokens/new\""), "{page}");
        let refused = v
            .submit("/tokens/new", &page, &[("name", "x"), ("scope", "READ")])
            .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
    }
);
