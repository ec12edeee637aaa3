//! Activation keys (seed section 2).

use crate::common::{Backend, TestApp, column};
use serde_json::json;

const CREATE: &str = "mutation($n: String!, $k: String) { createActivationKey(name: $n, key: $k) { id name key owner { login } device { fingerprint } licenses { id } createdAt } }";
const LIST: &str = "query($s: String, $first: Int, $after: String) { activationKeys(search: $s, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { name key } } } }";

fn is_key_format(k: &str) -> bool {
    let groups: Vec<&str> = k.split('-').collect();
    groups.len() == 4
        && groups.iter().all(|g| {
            g.len() == 4
                && g.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

both_backends!(random_and_chosen_keys, |app: TestApp| async move {
    let (admin, _, token) = app.admin_and_partner("acme").await;
    let random = app
        .ok(Some(&token), CREATE, json!({ "n": "Server 1" }))
        .await["createActivationKey"]
        .clone();
    assert!(is_key_format(random["key"].as_str().unwrap()), "{random}");
    assert_eq!(random["owner"]["login"], "acme");
    assert_eq!(random["device"], json!(null));
    let in_lower_case = json!({ "n": "Server 2", "k": "abcd-1234-efgh-5678" });
    let chosen = app.ok(Some(&token), CREATE, in_lower_case).await;
    assert_eq!(chosen["createActivationKey"]["key"], "ABCD-1234-EFGH-5678");
    // Unused anywhere: another partner cannot take it either.
    let (_, other) = app.partner(&admin, "globex").await;
    assert_eq!(
        app.error_code(
            Some(&other),
            CREATE,
            json!({ "n": "x", "k": "ABCD-1234-EFGH-5678" })
        )
        .await,
        "CONFLICT"
    );
    for bad in [
        "ABCD-1234-EFGH",
        "ABCD-1234-EFGH-567",
        "ABCD_1234_EFGH_5678",
        "ABCD-1234-EFGH-56!8",
    ] {
        assert_eq!(
            app.error_code(Some(&token), CREATE, json!({ "n": "x", "k": bad }))
                .await,
            "BAD_USER_INPUT",
            "{bad}"
        );
    }
    for name in ["", &"n".repeat(101)] {
        assert_eq!(
            app.error_code(Some(&token), CREATE, json!({ "n": name }))
                .await,
            "BAD_USER_INPUT"
        );
    }
    assert_eq!(
        app.error_code(Some(&admin), CREATE, json!({ "n": "admin's" }))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.query(&token, LIST).await["activationKeys"]["totalCount"],
        2
    );
});

both_backends!(list_search_and_pages, |app: TestApp| async move {
    let (admin, _, token) = app.admin_and_partner("acme").await;
    for i in 1..=7 {
        app.ok(Some(&token), CREATE, json!({ "n": format!("Server {i}") }))
            .await;
    }
    app.ok(
        Some(&token),
        CREATE,
        json!({ "n": "Mail box", "k": "MAIL-0000-0000-0001" }),
    )
    .await;
    let page = app.ok(Some(&token), LIST, json!({ "first": 3 })).await["activationKeys"].clone();
    assert_eq!(page["totalCount"], 8);
    let names = column(&page, "name");
    assert_eq!(names, ["Mail box", "Server 7", "Server 6"], "newest first");
    let mut seen = names.len();
    let mut after = page["pageInfo"]["endCursor"].clone();
    loop {
        let next = app
            .ok(Some(&token), LIST, json!({ "first": 3, "after": after }))
            .await["activationKeys"]
            .clone();
        seen += next["edges"].as_array().unwrap().len();
        if next["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = next["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, 8);
    let by_name = app.ok(Some(&token), LIST, json!({ "s": "server 3" })).await;
    assert_eq!(by_name["activationKeys"]["totalCount"], 1);
    let by_key = app
        .ok(Some(&token), LIST, json!({ "s": "mail-0000" }))
        .await;
    assert_eq!(
        by_key["activationKeys"]["edges"][0]["node"]["name"],
        "Mail box"
    );
    // LIKE wildcards are searched for literally.
    assert_eq!(
        app.ok(Some(&token), LIST, json!({ "s": "%" })).await["activationKeys"]["totalCount"],
        0
    );
    // The admin sees everyone's keys.
    assert_eq!(
        app.query(&admin, LIST).await["activationKeys"]["totalCount"],
        8
    );
});
