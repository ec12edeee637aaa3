//! Accounts and sessions over the real HTTP API (seed section 1).

use crate::common::{Backend, TestApp};
use serde_json::json;

const LOGIN: &str = "mutation($l: String!, $p: String!) { login(login: $l, password: $p) { token expiresAt account { login role } } }";
const CREATE_PARTNER: &str = "mutation($i: CreatePartnerInput!) { createPartner(input: $i) { id login email name role creditBalance } }";
const CHANGE_PASSWORD: &str =
    "mutation($c: String!, $n: String!) { changePassword(current: $c, new: $n) }";

both_backends!(sign_in_by_login_or_email, |app: TestApp| async move {
    let admin = app.admin().await;
    app.partner(&admin, "acme").await;
    for login in ["acme", "ACME", "acme@example.com", "Acme@Example.com"] {
        let d = app
            .ok(None, LOGIN, json!({ "l": login, "p": "partner-pass-1" }))
            .await;
        assert_eq!(d["login"]["account"]["login"], "acme");
        assert_eq!(d["login"]["account"]["role"], "PARTNER");
    }
});

both_backends!(
    unknown_login_and_wrong_password_look_the_same,
    |app: TestApp| async move {
        let admin = app.admin().await;
        app.partner(&admin, "acme").await;
        let wrong = app
            .gql(None, LOGIN, json!({ "l": "acme", "p": "nope-nope" }))
            .await;
        let unknown = app
            .gql(None, LOGIN, json!({ "l": "nobody", "p": "nope-nope" }))
            .await;
        assert_eq!(wrong["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert_eq!(
            wrong["errors"][0]["message"],
            unknown["errors"][0]["message"]
        );
        assert_eq!(
            wrong["errors"][0]["extensions"],
            unknown["errors"][0]["extensions"]
        );
    }
);

both_backends!(ten_failures_lock_the_login, |app: TestApp| async move {
    let admin = app.admin().await;
    app.partner(&admin, "acme").await;
    let as_acme = |password: &str| json!({ "l": "acme", "p": password });
    for _ in 0..10 {
        let code = app.error_code(None, LOGIN, as_acme("wrong-pass")).await;
        assert_eq!(code, "UNAUTHENTICATED");
    }
    // Even the right password is refused while the login is locked.
    let code = app.error_code(None, LOGIN, as_acme("partner-pass-1")).await;
    assert_eq!(code, "RATE_LIMITED");
    // Another login is not affected.
    app.admin().await;
});

both_backends!(
    missing_or_bad_session_is_unauthenticated,
    |app: TestApp| async move {
        assert_eq!(
            app.ok(None, "{ me { id } }", json!({})).await["me"],
            json!(null)
        );
        assert_eq!(
            app.error_code(None, "{ activationKeys { totalCount } }", json!({}))
                .await,
            "UNAUTHENTICATED"
        );
        let code = app
            .error_code(
                Some("not-a-token"),
                "{ licenses { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(code, "UNAUTHENTICATED");
        assert_eq!(
            app.ok(None, "{ products { code } }", json!({})).await["products"]
                .as_array()
                .map(Vec::len),
            Some(5)
        );
    }
);

both_backends!(
    logout_and_password_change_end_sessions,
    |app: TestApp| async move {
        let admin = app.admin().await;
        app.partner(&admin, "acme").await;
        let first = app.login("acme", "partner-pass-1").await;
        let second = app.login("acme", "partner-pass-1").await;
        assert_eq!(
            app.query(&first, "mutation { logout }").await["logout"],
            true
        );
        assert_eq!(app.query(&first, "{ me { id } }").await["me"], json!(null));
        assert!(app.query(&second, "{ me { id } }").await["me"]["id"].is_string());

        // A wrong current password, then a new one too short.
        for (current, new) in [
            ("wrong-current", "new-pass-123"),
            ("partner-pass-1", "short"),
        ] {
            let change = json!({ "c": current, "n": new });
            let code = app.error_code(Some(&second), CHANGE_PASSWORD, change).await;
            assert_eq!(code, "BAD_USER_INPUT");
        }
        let third = app.login("acme", "partner-pass-1").await;
        let change = json!({ "c": "partner-pass-1", "n": "new-pass-123" });
        app.ok(Some(&second), CHANGE_PASSWORD, change).await;
        // Every session of the account ends, the one that changed it too.
        for t in [&second, &third] {
            assert_eq!(app.query(t, "{ me { id } }").await["me"], json!(null));
        }
        let code = app
            .error_code(None, LOGIN, json!({ "l": "acme", "p": "partner-pass-1" }))
            .await;
        assert_eq!(code, "UNAUTHENTICATED");
        app.login("acme", "new-pass-123").await;
    }
);

both_backends!(
    admin_creates_partners_with_unique_login_and_email,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let d = app
        .ok(Some(&admin), CREATE_PARTNER, json!({ "i": { "login": "acme", "email": "ops@acme.example", "name": "Acme Ltd", "password": "shared-pass-1" } }))
        .await;
        assert_eq!(d["createPartner"]["role"], "PARTNER");
        assert_eq!(d["createPartner"]["creditBalance"], 0);
        let dup_login = json!({ "i": { "login": "ACME", "email": "other@acme.example", "name": "x", "password": "shared-pass-1" } });
        assert_eq!(
            app.error_code(Some(&admin), CREATE_PARTNER, dup_login)
                .await,
            "CONFLICT"
        );
        let dup_email = json!({ "i": { "login": "acme2", "email": "OPS@acme.example", "name": "x", "password": "shared-pass-1" } });
        assert_eq!(
            app.error_code(Some(&admin), CREATE_PARTNER, dup_email)
                .await,
            "CONFLICT"
        );
        for bad in [
            json!({ "login": "a", "email": "a@b.co", "name": "x" }),
            json!({ "login": "good-login", "email": "not-an-email", "name": "x" }),
            json!({ "login": "good-login", "email": "a@b.co", "name": "" }),
            json!({ "login": "good-login", "email": "a@b.co", "name": "x", "password": "short" }),
        ] {
            assert_eq!(
                app.error_code(Some(&admin), CREATE_PARTNER, json!({ "i": bad }))
                    .await,
                "BAD_USER_INPUT"
            );
        }
        // Refused input changed nothing.
        let list = app
            .query(
                &admin,
                "{ accounts(role: PARTNER) { totalCount edges { node { login } } } }",
            )
            .await;
        assert_eq!(list["accounts"]["totalCount"], 1);

        let (_, partner) = app.partner(&admin, "other").await;
        let again = json!({ "i": { "login": "x-partner", "email": "x@x.example", "name": "x" } });
        assert_eq!(
            app.error_code(Some(&partner), CREATE_PARTNER, again).await,
            "FORBIDDEN"
        );
    }
);

both_backends!(
    a_generated_password_must_be_changed_first,
    |app: TestApp| async move {
        // The generated password reaches the partner by email only.
        let password = app.acme_with_mailed_password().await;
        assert!(password.len() >= 16, "{password}");
        let token = app.login("acme", &password).await;
        let me = app
            .query(&token, "{ me { login mustChangePassword } }")
            .await;
        assert_eq!(me["me"]["mustChangePassword"], true);
        let create_key = "mutation { createActivationKey(name: \"x\") { id } }";
        let code = app.error_code(Some(&token), create_key, json!({})).await;
        assert_eq!(code, "FORBIDDEN");
        let change = json!({ "c": password, "n": "my-own-pass-1" });
        app.ok(Some(&token), CHANGE_PASSWORD, change).await;
        let token = app.login("acme", "my-own-pass-1").await;
        app.query(&token, create_key).await;
    }
);
