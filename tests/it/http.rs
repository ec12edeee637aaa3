//! GraphQL over HTTP as clients meet it: GET for queries only, GraphiQL for
//! browsers, the health check, limits on what one document may ask, and an
//! error code on every error.

use crate::common::{Backend, TestApp, assert_bad_input};
use serde_json::{Value, json};

fn base(app: &TestApp) -> String {
    app.url.trim_end_matches("/graphql").to_string()
}

both_backends!(
    get_serves_queries_but_never_mutations,
    |app: TestApp| async move {
        let client = &app.client;
        let answer: Value = client
            .get(&app.url)
            .query(&[("query", "{ products { code } }")])
            .header("accept", "application/graphql-response+json")
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        assert!(
            answer["data"]["products"]
                .as_array()
                .is_some_and(|p| !p.is_empty()),
            "{answer}"
        );

        // A mutation over GET is refused before it runs: no partner appears.
        let resp = client
            .get(&app.url)
            .query(&[(
                "query",
                "mutation { login(login: \"admin\", password: \"operator-password-1\") { token } }",
            )])
            .header("accept", "application/graphql-response+json")
            .send()
            .await
            .expect("GET");
        assert_eq!(resp.status(), 405);

        // A browser gets GraphiQL.
        let page = app.browser_page().await;
        assert_eq!(page.status(), 200);
        assert!(page.text().await.expect("body").contains("graphiql"));

        let health = client
            .get(format!("{}/healthz", base(&app)))
            .send()
            .await
            .expect("GET");
        assert_eq!(health.status(), 200);
    }
);

both_backends!(
    documents_beyond_the_limits_are_refused,
    |app: TestApp| async move {
        let admin = app.admin().await;
        // owner → parent → parent … nests as deep as a client likes.
        let selection = (0..20).fold(String::from("id"), |inner, _| {
            format!("parent {{ {inner} }}")
        });
        let deep = format!("{{ me {{ {selection} }} }}");
        let answer = app.gql(Some(&admin), &deep, json!({})).await;
        assert_bad_input(&answer, "nested too deep");

        // Wide instead of deep: many aliases of a list.
        let list = "licenses(first: 500) { edges { node { id } } }";
        let answer = app.aliased_query(Some(&admin), list, 40).await;
        assert_bad_input(&answer, "exceeds the budget");
    }
);

both_backends!(every_error_carries_a_code, |app: TestApp| async move {
    let admin = app.admin().await;
    let cases = [
        // Syntax.
        ("{ me { login ", json!({})),
        // Unknown field.
        ("{ me { nonsense } }", json!({})),
        // A variable of the wrong type.
        (
            "query($n: Int) { licenses(first: $n) { totalCount } }",
            json!({ "n": "ten" }),
        ),
        // An Int beyond 32 bits in the document.
        ("{ licenses(first: 99999999999) { totalCount } }", json!({})),
    ];
    for (doc, vars) in cases {
        let answer = app.gql(Some(&admin), doc, vars).await;
        let errors = answer["errors"].as_array().expect("errors");
        assert!(!errors.is_empty(), "{doc}: {answer}");
        for e in errors {
            assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{doc}: {answer}");
        }
    }
    // No session where one is needed.
    assert_eq!(
        app.error_code(None, "{ licenses { totalCount } }", json!({}))
            .await,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.error_code(
            Some("not-a-token"),
            "{ licenses { totalCount } }",
            json!({})
        )
        .await,
        "UNAUTHENTICATED"
    );
});
