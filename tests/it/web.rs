//! The portal over real HTTP: the sign-in flow, the cookie's flags, CSRF
//! refusals, the forced password change, and that a reseller's pages never
//! show another account's rows. The browser walk is in tests/it/browser.rs.

use crate::common::*;
use serde_json::json;
use std::collections::HashMap;

/// A minimal browser: keeps cookies, follows no redirects (so each
/// Set-Cookie and Location can be checked), reads the form token from pages.
struct Visitor {
    base: String,
    client: reqwest::Client,
    cookies: HashMap<String, String>,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Visitor {
    fn new(app: &TestApp) -> Visitor {
        Visitor {
            base: app.url.trim_end_matches("/graphql").to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let response = request
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let body = response.text().await.expect("body");
        Answer {
            status,
            headers,
            location,
            set_cookies,
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        self.send(request).await
    }

    /// Posts `fields` to `path` with the form token of `page`, the page the
    /// form is on.
    async fn submit(&mut self, path: &str, page: &str, fields: &[(&str, &str)]) -> Answer {
        let token = csrf(page);
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Signs in through the two steps; returns the answer to the second.
    async fn sign_in(&mut self, login: &str, password: &str) -> Answer {
        let page = self.get("/login").await;
        let token = csrf(&page.body);
        let step = self
            .post("/login", &[("_csrf", &token), ("login", login)])
            .await;
        assert!(step.body.contains("id=\"password\""), "{}", step.body);
        self.post(
            "/login",
            &[("_csrf", &token), ("login", login), ("password", password)],
        )
        .await
    }

    /// A page that must answer 200; its body.
    async fn page(&mut self, path: &str) -> String {
        let a = self.get(path).await;
        assert_eq!(a.status, 200, "GET {path}: {}", a.body);
        a.body
    }
}

/// The CSRF token of the first form of a page.
fn csrf(body: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = body.find(marker).expect("a form token") + marker.len();
    body[start..start + 64].to_string()
}

fn cookie_named<'a>(answer: &'a Answer, name: &str) -> &'a str {
    answer
        .set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", answer.set_cookies))
}

both_backends!(
    sign_in_in_two_steps_reveals_nothing,
    |app: TestApp| async move {
        let (_, _, _) = app.admin_and_partner("acme").await;
        let mut v = Visitor::new(&app);
        let page = v.get("/").await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location.as_deref(), Some("/login"));

        // The password step looks the same for an existing and a missing login.
        let login = v.get("/login").await;
        let token = csrf(&login.body);
        let known = v
            .post("/login", &[("_csrf", &token), ("login", "acme")])
            .await;
        let unknown = v
            .post("/login", &[("_csrf", &token), ("login", "nobody-here")])
            .await;
        assert_eq!(known.status, 200);
        assert_eq!(unknown.status, 200);
        assert_eq!(
            known.body.replace("acme", "X"),
            unknown.body.replace("nobody-here", "X")
        );

        // One message for a wrong password and for a missing account.
        for login in ["acme", "nobody-here"] {
            let wrong = v
                .post(
                    "/login",
                    &[
                        ("_csrf", &token),
                        ("login", login),
                        ("password", "not-it-at-all"),
                    ],
                )
                .await;
            assert_eq!(wrong.status, 401);
            assert!(
                wrong.body.contains("Wrong login or password."),
                "{}",
                wrong.body
            );
        }

        let ok = v.sign_in("acme", "partner-pass-1").await;
        assert_eq!(ok.status, 303);
        assert_eq!(ok.location.as_deref(), Some("/"));
        let home = v.page("/").await;
        assert!(home.contains("Credit balance"), "{home}");
        assert!(home.contains("Generate a License"), "{home}");

        // Sign out ends the session on the server, not only in the browser.
        let session = v.cookies.get("lp_session").cloned().expect("session");
        let token = csrf(&home);
        let out = v.post("/logout", &[("_csrf", &token)]).await;
        assert_eq!(out.location.as_deref(), Some("/login?out=1"));
        assert!(v.page("/login?out=1").await.contains("You are signed out."));
        v.cookies.insert("lp_session".into(), session);
        assert_eq!(v.get("/").await.location.as_deref(), Some("/login"));
    }
);

both_backends!(session_cookie_flags, |app: TestApp| async move {
    let mut v = Visitor::new(&app);
    let login = v.get("/login").await;
    let pre = cookie_named(&login, "lp_pre");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(pre.contains(flag), "{pre}");
    }
    let signed = v.sign_in("admin", ADMIN_PASSWORD).await;
    let session = cookie_named(&signed, "lp_session").to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(session.contains(flag), "{session}");
    }
    // PUBLIC_URL is http:// in the harness: a Secure cookie would never come back.
    assert!(!session.contains("Secure"), "{session}");
    // Pages are not cached and say what they took to render.
    let page = v.get("/admin/partners").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(
        page.headers["server-timing"]
            .to_str()
            .is_ok_and(|t| t.starts_with("app;dur="))
    );
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .is_ok_and(|c| c.contains("script-src 'self'"))
    );
});

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cookies_are_secure_behind_https() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(Backend::Sqlite, dir.path()).await;
    let mut args = serve_args(url, dir.path());
    args.public_url = "https://portal.example.test".into();
    let app = TestApp::spawn_with(args, dir).await;
    let mut v = Visitor::new(&app);
    let login = v.get("/login").await;
    assert!(cookie_named(&login, "lp_pre").contains("; Secure"));
    let signed = v.sign_in("admin", ADMIN_PASSWORD).await;
    let session = cookie_named(&signed, "lp_session");
    assert!(session.contains("; Secure"), "{session}");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
}

both_backends!(
    forms_without_the_session_token_are_refused,
    |app: TestApp| async move {
        let (_, _, partner) = app.admin_and_partner("acme").await;
        let mut v = Visitor::new(&app);
        assert_eq!(v.sign_in("acme", "partner-pass-1").await.status, 303);
        let form = v.page("/keys/new").await;
        let good = csrf(&form);

        // Missing, wrong, and another session's token: 403, nothing created.
        let mut other = Visitor::new(&app);
        other.sign_in("acme", "partner-pass-1").await;
        let foreign = csrf(&other.page("/keys/new").await);
        assert_ne!(foreign, good);
        for token in [None, Some("00".repeat(32)), Some(foreign)] {
            let mut fields = vec![("name", "Refused"), ("key", "AAAA-BBBB-CCCC-DDDD")];
            if let Some(t) = &token {
                fields.push(("_csrf", t.as_str()));
            }
            let refused = v.post("/keys/new", &fields).await;
            assert_eq!(refused.status, 403, "{token:?}");
            assert!(
                refused.body.contains("This form was refused"),
                "{}",
                refused.body
            );
        }
        assert_eq!(app.key_count(&partner).await, 0);

        // Sign-in itself needs the pre-session token; sign-out needs the session's.
        let mut stranger = Visitor::new(&app);
        let refused = stranger
            .post(
                "/login",
                &[("login", "acme"), ("password", "partner-pass-1")],
            )
            .await;
        assert_eq!(refused.status, 403);
        assert!(
            !refused
                .set_cookies
                .iter()
                .any(|c| c.starts_with("lp_session="))
        );
        assert_eq!(v.post("/logout", &[("_csrf", "bad")]).await.status, 403);
        assert_eq!(v.get("/keys").await.status, 200);

        // With its token the same form works, and a malformed key is refused
        // with the API's message on the form, not a bare error.
        let bad = v
            .post(
                "/keys/new",
                &[("_csrf", &good), ("name", "Mine"), ("key", "nope")],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(
            bad.body
                .contains("is not in the format XXXX-XXXX-XXXX-XXXX"),
            "{}",
            bad.body
        );
        assert!(bad.body.contains("BAD_USER_INPUT"));
        let made = v
            .post(
                "/keys/new",
                &[
                    ("_csrf", &good),
                    ("name", "Mine"),
                    ("key", "aaaa-bbbb-cccc-dddd"),
                ],
            )
            .await;
        assert_eq!(made.status, 303, "{}", made.body);
        let list = v.page("/keys").await;
        assert!(list.contains("AAAA-BBBB-CCCC-DDDD"), "{list}");

        // A malformed number gives the form back with a message, not a 400;
        // so does a choice the catalog does not have.
        let key_id = app
            .query(&partner, "{ activationKeys { edges { node { id } } } }")
            .await["activationKeys"]["edges"][0]["node"]["id"]
            .as_str()
            .expect("key id")
            .to_string();
        for (users, edition, message) in [
            (
                "many",
                "DESKTOP",
                "Users must be a whole number, not &quot;many&quot;.",
            ),
            ("2", "GOLD", "GOLD"),
        ] {
            let answer = v
                .post(
                    "/licenses/new",
                    &[
                        ("_csrf", &good),
                        ("key", &key_id),
                        ("what", "license"),
                        ("product", "REMOTE_ACCESS"),
                        ("kind", "PERMANENT"),
                        ("edition", edition),
                        ("users", users),
                    ],
                )
                .await;
            assert_eq!(answer.status, 422, "{}", answer.body);
            assert!(answer.body.contains(message), "{}", answer.body);
            assert!(answer.body.contains("id=\"users\""), "the form again");
            assert!(!answer.body.contains("?_csrf="), "no token in links");
        }
    }
);

both_backends!(
    a_generated_password_must_be_changed_first,
    |app: TestApp| async move {
        let generated = app
            .partner_with_mailed_password("fresh", "fresh@example.com", "Fresh")
            .await;
        let mut v = Visitor::new(&app);
        assert_eq!(v.sign_in("fresh", &generated).await.status, 303);
        for path in ["/", "/keys", "/licenses/new"] {
            assert_eq!(
                v.get(path).await.location.as_deref(),
                Some("/password"),
                "{path}"
            );
        }
        let form = v.page("/password").await;
        assert!(
            form.contains("Your password was generated for you"),
            "{form}"
        );
        let token = csrf(&form);
        let mismatch = v
            .post(
                "/password",
                &[
                    ("_csrf", &token),
                    ("current", &generated),
                    ("new", "my-own-pass-1"),
                    ("confirm", "other-pass-1"),
                ],
            )
            .await;
        assert_eq!(mismatch.status, 422);
        assert!(mismatch.body.contains("The two new passwords differ."));
        let done = v
            .post(
                "/password",
                &[
                    ("_csrf", &token),
                    ("current", &generated),
                    ("new", "my-own-pass-1"),
                    ("confirm", "my-own-pass-1"),
                ],
            )
            .await;
        assert_eq!(done.location.as_deref(), Some("/"), "{}", done.body);
        let home = v.page("/").await;
        assert!(home.contains("Your password was changed."), "{home}");
        // The old password no longer signs in.
        let mut again = Visitor::new(&app);
        assert_eq!(again.sign_in("fresh", &generated).await.status, 401);
    }
);

/// Creates a key and a permanent license on it through the API; the key's code.
async fn key_with_license(
    app: &TestApp,
    token: &str,
    name: &str,
    comment: &str,
) -> (String, String) {
    let key = app.key(token, name).await;
    let mut input = license_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, "PERMANENT");
    input["comment"] = json!(comment);
    let license = app.license_id(token, input).await;
    let support = json!({ "i": support_input(&key, "REMOTE_ACCESS", "DESKTOP", 1, 1) });
    app.ok(
        Some(token),
        "mutation($i: AssignSupportInput!) { assignSupport(input: $i) { id } }",
        support,
    )
    .await;
    (key["key"].as_str().expect("key").to_string(), license)
}

both_backends!(
    a_resellers_pages_show_only_its_rows,
    |app: TestApp| async move {
        let (admin, acme, acme_token) = app.admin_and_partner("acme").await;
        let (globex, globex_token) = app.partner(&admin, "globex").await;
        app.grant(&admin, &acme, 1000, "INV-A").await;
        app.grant(&admin, &globex, 1000, "INV-G").await;
        let mut resellers = Vec::new();
        for login in ["resa", "resb"] {
            resellers.push(
                app.reseller(
                    &acme_token,
                    login,
                    &["REMOTE_ACCESS", "REMOTE_SUPPORT"],
                    100,
                )
                .await,
            );
        }
        let (acme_key, acme_license) =
            key_with_license(&app, &acme_token, "acme-customer", "acme-comment").await;
        let (globex_key, _) =
            key_with_license(&app, &globex_token, "globex-customer", "globex-comment").await;
        let (resa_key, _) =
            key_with_license(&app, &resellers[0].1, "resa-customer", "resa-comment").await;
        let (resb_key, resb_license) =
            key_with_license(&app, &resellers[1].1, "resb-customer", "resb-comment").await;

        let mut v = Visitor::new(&app);
        assert_eq!(v.sign_in("resa", "reseller-pass-1").await.status, 303);
        let others = [&acme_key, &globex_key, &resb_key];
        for path in [
            "/",
            "/keys",
            "/licenses",
            "/support",
            "/subscriptions",
            "/credits",
            "/licenses/new",
            "/subscriptions/new",
        ] {
            let body = v.page(path).await;
            for other in others {
                assert!(!body.contains(other.as_str()), "{path} shows {other}");
            }
            for word in ["acme-", "globex-", "resb-", "INV-A", "INV-G"] {
                assert!(!body.contains(word), "{path} shows {word}");
            }
        }
        let keys = v.page("/keys").await;
        assert!(keys.contains(&resa_key), "{keys}");
        let licenses = v.page("/licenses").await;
        assert!(licenses.contains("resa-comment"), "{licenses}");

        // Another account's objects and histories are NOT_FOUND, as in the API.
        for path in [
            format!("/licenses/{acme_license}/edit"),
            format!("/licenses/{resb_license}/delete"),
            format!("/credits?account={acme}"),
            format!("/credits?account={}", resellers[1].0),
            format!("/credits.csv?account={globex}"),
        ] {
            let a = v.get(&path).await;
            assert_eq!(a.status, 404, "{path}: {}", a.body);
        }
        // A reseller has no resellers and no admin pages.
        assert_eq!(v.get("/resellers").await.status, 403);
        assert_eq!(v.get("/admin/partners").await.status, 403);

        // The partner sees its resellers' rows, told apart, but not globex's.
        let mut p = Visitor::new(&app);
        p.sign_in("acme", "partner-pass-1").await;
        let support = p.page("/support").await;
        assert!(support.contains("resa (reseller)"), "{support}");
        assert!(support.contains("reseller-row"));
        let licenses = p.page("/licenses").await;
        assert!(licenses.contains("acme-comment") && licenses.contains("resb-comment"));
        assert!(!licenses.contains("globex-comment"));
        let own_only = p.page("/support?resellers=0").await;
        assert!(!own_only.contains("resa (reseller)"), "{own_only}");
        let history = p
            .page(&format!("/credits?account={}", resellers[0].0))
            .await;
        assert!(history.contains("Received from partner"), "{history}");
        let csv = p.get("/credits.csv").await;
        assert_eq!(csv.status, 200);
        assert!(
            csv.body
                .starts_with("date,what,reason,reference,amount,balance_after")
        );
        assert!(csv.body.contains("\"INV-A\""), "{}", csv.body);
        assert!(!csv.body.contains("INV-G"));
    }
);

both_backends!(
    a_partner_acts_on_its_resellers_rows,
    |app: TestApp| async move {
        let (admin, acme, acme_token) = app.admin_and_partner("acme").await;
        app.grant(&admin, &acme, 1000, "INV-A").await;
        let (resa, resa_token) = app
            .reseller(&acme_token, "resa", &["REMOTE_ACCESS"], 100)
            .await;
        let (_, license) =
            key_with_license(&app, &resa_token, "resa-customer", "resa-comment").await;
        let acme_before = app.balance(&acme_token).await;
        let resa_before = app.balance(&resa_token).await;

        let mut p = Visitor::new(&app);
        p.sign_in("acme", "partner-pass-1").await;
        // The reseller's rows carry the same actions as the partner's own.
        let list = p.page("/licenses").await;
        assert!(
            list.contains(&format!("/licenses/{license}/upgrade")),
            "{list}"
        );
        assert!(
            list.contains(&format!("/licenses/{license}/delete")),
            "{list}"
        );
        let support = p.page("/support").await;
        let marker = "href=\"/support/";
        let start = support.find(marker).expect("a support row") + marker.len();
        let support_id = support[start..]
            .split('/')
            .next()
            .expect("support id")
            .to_string();

        // The review says whose credits pay, and that balance.
        let review = review_page(
            &mut p,
            &format!("/licenses/{license}/upgrade?review=1&users=2&edition=DESKTOP"),
        )
        .await;
        assert!(review.contains("This belongs to your reseller"), "{review}");
        assert!(review.contains("Balance of resa"), "{review}");
        assert!(
            review.contains(&format!("id=\"quote-balance\">{resa_before} credits")),
            "{review}"
        );
        let short = review_page(
            &mut p,
            &format!("/licenses/{license}/upgrade?review=1&users=5000&edition=DESKTOP"),
        )
        .await;
        assert!(short.contains("Give resa more credits"), "{short}");
        let done = confirm(
            &mut p,
            &review,
            &format!("/licenses/{license}/upgrade"),
            &[],
        )
        .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let resa_upgraded = app.balance(&resa_token).await;
        assert!(resa_upgraded < resa_before, "the reseller paid");
        assert_eq!(
            app.balance(&acme_token).await,
            acme_before,
            "the partner did not"
        );

        let extend = review_page(
            &mut p,
            &format!("/support/{support_id}/extend?review=1&months=1"),
        )
        .await;
        assert!(extend.contains("Balance of resa"), "{extend}");
        let done = confirm(
            &mut p,
            &extend,
            &format!("/support/{support_id}/extend"),
            &[],
        )
        .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let resa_extended = app.balance(&resa_token).await;
        assert!(
            resa_extended < resa_upgraded,
            "the reseller paid the extension"
        );

        let ask = p.page(&format!("/licenses/{license}/delete")).await;
        assert!(ask.contains("will be refunded to resa"), "{ask}");
        let done = p
            .submit(&format!("/licenses/{license}/delete"), &ask, &[])
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let after = p.page("/licenses?status=DELETED").await;
        assert!(after.contains("credits were refunded; resa"), "{after}");
        assert!(
            app.balance(&resa_token).await > resa_extended,
            "refunded to the reseller"
        );
        assert_eq!(app.balance(&acme_token).await, acme_before);

        // The reseller's history says who spent its credits, and so does its
        // CSV; the partner reading the same history is "You".
        let mut r = Visitor::new(&app);
        r.sign_in("resa", "reseller-pass-1").await;
        let history = r.page("/credits").await;
        // The row of the upgrade: what it was for in words, and who did it.
        let upgrade_row = |page: &str| -> String {
            let start = page.find("License upgrade · ").expect("the upgrade's row");
            let end = start + page[start..].find("</tr>").expect("the row's end");
            page[start..end].to_string()
        };
        let row = upgrade_row(&history);
        assert!(
            row.contains("<td>Your partner</td>") && !row.contains(&license),
            "{row}"
        );
        assert!(
            history.contains("License · Remote Access") && history.contains("<td>You</td>"),
            "{history}"
        );
        let csv = r.get("/credits.csv").await;
        assert!(
            csv.body
                .contains(&format!(",LICENSE_UPGRADE,\"{license}\",")),
            "{}",
            csv.body
        );
        assert!(csv.body.contains(",\"Your partner\"\r\n"), "{}", csv.body);
        let seen = p.page(&format!("/credits?account={resa}")).await;
        assert!(upgrade_row(&seen).contains("<td>You</td>"), "{seen}");
        assert!(seen.contains("<td>resa</td>"), "{seen}");
    }
);

/// Opens a review: the first answer redirects to the same page with the
/// review's id; returns that page.
async fn review_page(v: &mut Visitor, path: &str) -> String {
    let first = v.get(path).await;
    assert_eq!(first.status, 303, "GET {path}: {}", first.body);
    let to = first.location.expect("a review id");
    assert!(to.contains("rid=rv_"), "{to}");
    v.page(&to).await
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The named fields of the form that posts to `action`.
fn form_fields(body: &str, action: &str) -> Vec<(String, String)> {
    let start = body
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form to {action} in {body}"));
    let end = start + body[start..].find("</form>").expect("the form's end");
    let attr = |piece: &str, name: &str| {
        let marker = format!(" {name}=\"");
        piece.find(&marker).map(|i| {
            let rest = &piece[i + marker.len()..];
            unescape(&rest[..rest.find('"').unwrap_or(rest.len())])
        })
    };
    body[start..end]
        .split("<input")
        .skip(1)
        .filter_map(|piece| Some((attr(piece, "name")?, attr(piece, "value")?)))
        .collect()
}

/// Posts a review's confirm form, with some values replaced.
async fn confirm(v: &mut Visitor, review: &str, action: &str, changes: &[(&str, &str)]) -> Answer {
    let fields: Vec<(String, String)> = form_fields(review, action)
        .into_iter()
        .map(|(k, old)| {
            let new = changes
                .iter()
                .find(|(c, _)| *c == k)
                .map(|(_, v)| v.to_string());
            (k, new.unwrap_or(old))
        })
        .collect();
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    v.post(action, &pairs).await
}

/// The href of the pager link with this rel, as a path.
fn pager_link(body: &str, rel: &str) -> String {
    let end = body
        .find(&format!("\" rel=\"{rel}\""))
        .unwrap_or_else(|| panic!("no {rel} link in {body}"));
    let start = body[..end].rfind("href=\"").expect("href") + "href=\"".len();
    body[start..end].replace("&amp;", "&")
}

/// The key names a keys page lists, in order.
fn listed_keys(body: &str) -> Vec<&str> {
    body.match_indices("customer-")
        .map(|(i, _)| &body[i..i + "customer-00".len()])
        .collect()
}

both_backends!(pages_go_forward_and_back, |app: TestApp| async move {
    let (_, _, token) = app.admin_and_partner("acme").await;
    for i in 0..60 {
        app.key(&token, &format!("customer-{i:02}")).await;
    }
    let mut v = Visitor::new(&app);
    v.sign_in("acme", "partner-pass-1").await;
    let p1 = v.page("/keys").await;
    assert!(!p1.contains("rel=\"prev\""), "{p1}");
    assert_eq!(listed_keys(&p1).len(), 25);
    assert!(p1.contains("1–25 of 60"), "{p1}");
    let p2 = v.page(&pager_link(&p1, "next")).await;
    assert!(p2.contains("26–50 of 60"), "{p2}");
    let p3 = v.page(&pager_link(&p2, "next")).await;
    assert_eq!(listed_keys(&p3).len(), 10);
    assert!(p3.contains("51–60 of 60"), "{p3}");
    assert!(!p3.contains("rel=\"next\""), "{p3}");
    assert!(p3.contains("« First page"), "{p3}");
    // Back one page at a time, to the same rows.
    let back2 = v.page(&pager_link(&p3, "prev")).await;
    assert_eq!(listed_keys(&back2), listed_keys(&p2));
    assert!(back2.contains("26–50 of 60"), "{back2}");
    let back1 = v.page(&pager_link(&back2, "prev")).await;
    assert_eq!(listed_keys(&back1), listed_keys(&p1));
    assert!(!back1.contains("rel=\"prev\""), "{back1}");
    // Forward again from there keeps working.
    let again = v.page(&pager_link(&back1, "next")).await;
    assert_eq!(listed_keys(&again), listed_keys(&p2));
});

both_backends!(
    a_key_link_opens_that_key_or_says_why_not,
    |app: TestApp| async move {
        let (admin, _, acme) = app.admin_and_partner("acme").await;
        let (_, globex) = app.partner(&admin, "globex").await;
        let oldest = app.key(&acme, "oldest-customer").await;
        for i in 0..3 {
            app.key(&acme, &format!("newer-{i}")).await;
        }
        let theirs = app.key(&globex, "globex-customer").await;
        let mut v = Visitor::new(&app);
        v.sign_in("acme", "partner-pass-1").await;
        let id = oldest["id"].as_str().expect("id");
        let page = v.page(&format!("/licenses/new?key={id}")).await;
        assert!(
            page.contains(&format!("<option value=\"{id}\" selected>")),
            "{page}"
        );
        // The search lists only the matching keys.
        let found = v.page("/licenses/new?key_q=oldest&find=1").await;
        assert!(
            found.contains("oldest-customer") && !found.contains("newer-1"),
            "{found}"
        );
        assert!(found.contains("1 key match"), "{found}");
        // Another account's key, or none: said, and nothing preselected.
        let other = v
            .get(&format!(
                "/licenses/new?key={}",
                theirs["id"].as_str().expect("id")
            ))
            .await;
        assert_eq!(other.status, 404, "{}", other.body);
        assert!(other.body.contains("is not one of yours"), "{}", other.body);
        assert!(!other.body.contains("globex-customer"));
        assert!(!other.body.contains(" selected>"), "{}", other.body);
        let gone = v.get("/licenses/new?key=key_nothing").await;
        assert_eq!(gone.status, 404, "{}", gone.body);
        assert!(!gone.body.contains("Code:"), "{}", gone.body);
        let sub = v.page(&format!("/subscriptions/new?key={id}")).await;
        assert!(
            sub.contains(&format!("<option value=\"{id}\" selected>")),
            "{sub}"
        );
    }
);

both_backends!(
    a_review_is_confirmed_once_and_only_as_reviewed,
    |app: TestApp| async move {
        let (token, key) = app.funded_partner_key("acme", 1000, "customer").await;
        let mut v = Visitor::new(&app);
        v.sign_in("acme", "partner-pass-1").await;
        let path = format!(
            "/licenses/new?key={}&what=license&product=REMOTE_ACCESS&kind=PERMANENT&edition=DESKTOP&users=2&review=1",
            key["id"].as_str().expect("id")
        );
        let review = review_page(&mut v, &path).await;
        assert!(
            !review.contains("id=\"users\""),
            "no editable field on the review"
        );
        let before = app.balance(&token).await;
        let first = confirm(&mut v, &review, "/licenses/new", &[]).await;
        assert_eq!(first.status, 303, "{}", first.body);
        let paid = app.balance(&token).await;
        assert!(paid < before);
        // Back to the same review (reload, a second tab) and confirm again.
        let again = confirm(&mut v, &review, "/licenses/new", &[]).await;
        assert_eq!(again.status, 303, "{}", again.body);
        assert_eq!(app.balance(&token).await, paid, "charged once");
        // Values other than the reviewed ones are refused, nothing is spent.
        let other = review_page(&mut v, &path).await;
        let changed = confirm(&mut v, &other, "/licenses/new", &[("users", "9")]).await;
        assert_eq!(changed.status, 422, "{}", changed.body);
        assert!(
            changed.body.contains("changed after they were reviewed"),
            "{}",
            changed.body
        );
        assert_eq!(app.balance(&token).await, paid);
        // A new review of the same choices is a new purchase.
        let bought = confirm(&mut v, &other, "/licenses/new", &[]).await;
        assert_eq!(bought.status, 303, "{}", bought.body);
        assert!(app.balance(&token).await < paid);
    }
);

both_backends!(
    filters_messages_and_links_say_what_holds,
    |app: TestApp| async move {
        let (_, acme, token) = app.funded_partner("acme", 100).await;
        let (key, license) = key_with_license(&app, &token, "customer", "c").await;
        let trial_key = app.key(&token, "trial-customer").await;
        app.license_id(
            &token,
            trial_input(&trial_key, "REMOTE_ACCESS", "DESKTOP", 1, 5),
        )
        .await;
        let mut v = Visitor::new(&app);
        v.sign_in("acme", "partner-pass-1").await;

        // The home card's filter is shown, with a way out.
        let today = chrono::Utc::now().date_naive();
        let soon = v.page("/support?soon=1").await;
        assert!(soon.contains(&format!("value=\"{today}\"")), "{soon}");
        assert!(
            soon.contains(&format!("value=\"{}\"", today + chrono::Duration::days(30))),
            "{soon}"
        );
        assert!(soon.contains("Clear filters"), "{soon}");
        // A reversed range: the error and no rows.
        let reversed = v.get("/support?from=2030-02-01&to=2030-01-01").await;
        assert_eq!(reversed.status, 422);
        assert!(
            reversed.body.contains("starts (2030-02-01) after it ends"),
            "{}",
            reversed.body
        );
        assert!(!reversed.body.contains("/extend"), "{}", reversed.body);

        // Plain words: no codes, no API field names, singulars.
        let trial = v
            .get(&format!(
                "/licenses/new?key={}&what=license&product=REMOTE_ACCESS&kind=TRIAL&trial_days=0&edition=DESKTOP&users=1&review=1&rid=rv_x",
                trial_key["id"].as_str().expect("id")
            ))
            .await;
        assert_eq!(trial.status, 422, "{}", trial.body);
        assert!(
            trial.body.contains("trial&#39;s duration in days")
                || trial.body.contains("trial's duration in days"),
            "{}",
            trial.body
        );
        assert!(
            !trial.body.contains("trialDays") && !trial.body.contains("Code:"),
            "{}",
            trial.body
        );
        let support = v
            .page(&format!(
                "/licenses/new?key={}&what=support&product=REMOTE_ACCESS",
                trial_key["id"].as_str().expect("id")
            ))
            .await;
        assert!(support.contains(">1 month<"), "{support}");
        let short = v
            .page(&format!(
                "/licenses/new?key={}&what=license&product=REMOTE_ACCESS&kind=PERMANENT&edition=ENTERPRISE&users=100&review=1&rid=rv_y",
                trial_key["id"].as_str().expect("id")
            ))
            .await;
        assert!(short.contains("fewer users or a lower edition"), "{short}");
        assert!(!short.contains("shorter period"), "{short}");

        // Only the links that work: no Upgrade on a trial, Deactivate first
        // on an activated key.
        let list = v.page("/licenses").await;
        assert_eq!(list.matches("/upgrade\"").count(), 1, "{list}");
        assert!(
            list.contains(&format!("/licenses/{license}/upgrade")),
            "{list}"
        );
        app.ok(
            None,
            "mutation($k: String!, $f: String!, $n: String) { activateKey(key: $k, deviceFingerprint: $f, deviceName: $n) { signature } }",
            json!({ "k": key, "f": "fp-1", "n": "Front desk PC" }),
        )
        .await;
        let refused = v.page(&format!("/licenses/{license}/delete")).await;
        assert!(
            refused.contains("Front desk PC") && refused.contains(&key),
            "{refused}"
        );
        assert!(refused.contains("Back to the licenses"), "{refused}");
        let off = v
            .submit(&format!("/licenses/{license}/deactivate"), &refused, &[])
            .await;
        assert_eq!(off.status, 303, "{}", off.body);
        let ask = v.page(&format!("/licenses/{license}/delete")).await;
        assert!(ask.contains("will be refunded"), "{ask}");

        // Giving more than the balance, and a grant made twice, said plainly.
        let (resa, _) = app.reseller(&token, "resa", &["REMOTE_ACCESS"], 1).await;
        let give = review_less(&mut v, &format!("/resellers/{resa}/credits")).await;
        let answer = v
            .submit(
                &format!("/resellers/{resa}/credits"),
                &give,
                &[("_idem", "web_give_1"), ("amount", "999999")],
            )
            .await;
        assert!(
            answer
                .body
                .contains("This would give 999,999 credits and your balance is"),
            "{}",
            answer.body
        );
        let mut a = Visitor::new(&app);
        a.sign_in("admin", ADMIN_PASSWORD).await;
        let grant = a.page(&format!("/admin/partners/{acme}/grant")).await;
        let again = a
            .submit(
                &format!("/admin/partners/{acme}/grant"),
                &grant,
                &[
                    ("_idem", "web_g2"),
                    ("amount", "100"),
                    ("reference", "INV-1"),
                ],
            )
            .await;
        assert_eq!(again.status, 303, "{}", again.body);
        let partners = a.page("/admin/partners").await;
        assert!(partners.contains("was already made"), "{partners}");
        // The administrator only looks, and owners are named by role.
        let seen = a.page("/licenses").await;
        assert!(seen.contains("acme (partner)"), "{seen}");
        assert!(
            !seen.contains("/upgrade\"") && !seen.contains("A reseller"),
            "{seen}"
        );

        // A 404 in the portal's layout, and the icon.
        let missing = v.get("/no-such-page").await;
        assert_eq!(missing.status, 404);
        assert!(missing.body.contains("Page not found") && missing.body.contains("Sign out"));
        let icon = v.get("/favicon.ico").await;
        assert_eq!(icon.status, 200);
        assert!(icon.body.starts_with("<svg"));
    }
);

/// Opens a form whose address carries its one-time key (after a redirect).
async fn review_less(v: &mut Visitor, path: &str) -> String {
    let first = v.get(path).await;
    assert_eq!(first.status, 303, "{}", first.body);
    v.page(&first.location.expect("location")).await
}

both_backends!(random_keys_avoid_look_alikes, |app: TestApp| async move {
    let (_, _, token) = app.admin_and_partner("acme").await;
    for i in 0..40 {
        let key = app.key(&token, &format!("k{i}")).await;
        let text = key["key"].as_str().expect("key");
        assert!(!text.contains(['0', 'O', '1', 'I']), "{text}");
    }
});

/// Two "Remote Access Enterprise" supports on keys named "Tailspin HQ" and
/// "Tailspin Lab", and a subscription on the first; the keys' codes and the
/// support on the lab's key.
async fn two_tailspin_supports(app: &TestApp, token: &str) -> (String, String, String) {
    let mut codes = Vec::new();
    let mut last = String::new();
    for name in ["Tailspin HQ", "Tailspin Lab"] {
        let key = app.key(token, name).await;
        let d = app
            .ok(
                Some(token),
                "mutation($i: AssignSupportInput!) { assignSupport(input: $i) { id } }",
                json!({ "i": support_input(&key, "REMOTE_ACCESS", "ENTERPRISE", 10, 1) }),
            )
            .await;
        last = d["assignSupport"]["id"].as_str().expect("id").to_string();
        if codes.is_empty() {
            app.ok(
                Some(token),
                "mutation($i: CreateServiceSubscriptionInput!) { createServiceSubscription(input: $i) { id } }",
                json!({ "i": subscription_input(&key, 2, 1) }),
            )
            .await;
        }
        codes.push(key["key"].as_str().expect("key").to_string());
    }
    (codes[0].clone(), codes[1].clone(), last)
}

both_backends!(
    supports_and_subscriptions_are_told_apart_by_their_key,
    |app: TestApp| async move {
        let (_, _, token) = app.funded_partner("acme", 1000).await;
        let (hq, lab, lab_support) = two_tailspin_supports(&app, &token).await;
        let mut v = Visitor::new(&app);
        v.sign_in("acme", "partner-pass-1").await;
        let list = v.page("/support").await;
        for text in [hq.as_str(), lab.as_str(), "Tailspin HQ", "Tailspin Lab"] {
            assert!(list.contains(text), "{text} in {list}");
        }
        // The lab's support gets its customer's email through Edit.
        let edit = v.page(&format!("/support/{lab_support}/edit")).await;
        assert!(
            edit.contains(&lab) && edit.contains("Tailspin Lab"),
            "{edit}"
        );
        let saved = v
            .submit(
                &format!("/support/{lab_support}/edit"),
                &edit,
                &[("email", "it@lab.example"), ("comment", "2nd floor")],
            )
            .await;
        assert_eq!(
            saved.location.as_deref(),
            Some("/support"),
            "{}",
            saved.body
        );
        let list = v.page("/support").await;
        assert!(
            list.contains("it@lab.example") && list.contains("2nd floor"),
            "{list}"
        );
        // A malformed email is refused in words, and the form keeps it.
        let edit = v.page(&format!("/support/{lab_support}/edit")).await;
        let refused = v
            .submit(
                &format!("/support/{lab_support}/edit"),
                &edit,
                &[("email", "it@"), ("comment", "")],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(
            refused.body.contains("is not a valid email address"),
            "{}",
            refused.body
        );

        let subs = v.page("/subscriptions").await;
        assert!(subs.contains(&hq) && subs.contains("Tailspin HQ"), "{subs}");
        assert!(
            subs.contains("More channels") && subs.contains(">Extend<"),
            "{subs}"
        );
    }
);

both_backends!(
    a_subscription_is_extended_and_given_channels_once_per_review,
    |app: TestApp| async move {
        let (_, _, token) = app.funded_partner("acme", 1000).await;
        two_tailspin_supports(&app, &token).await;
        let sub = app
            .query(
                &token,
                "{ serviceSubscriptions(first: 1) { edges { node { id endsOn } } } }",
            )
            .await["serviceSubscriptions"]["edges"][0]["node"]
            .clone();
        let id = sub["id"].as_str().expect("id").to_string();
        let before = app.balance(&token).await;
        let mut v = Visitor::new(&app);
        v.sign_in("acme", "partner-pass-1").await;
        let action = format!("/subscriptions/{id}/extend");
        let review = review_page(&mut v, &format!("{action}?review=1&months=3")).await;
        assert!(review.contains("3 months"), "{review}");
        // 2 channels × 4 credits × 3 months.
        assert!(review.contains("24 credits"), "{review}");
        let done = confirm(&mut v, &review, &action, &[]).await;
        assert_eq!(
            done.location.as_deref(),
            Some("/subscriptions"),
            "{}",
            done.body
        );
        // Submitting the same review again charges nothing more.
        confirm(&mut v, &review, &action, &[]).await;
        assert_eq!(app.balance(&token).await, before - 24);
        let list = v.page("/subscriptions").await;
        assert!(list.contains("The subscription was extended to"), "{list}");

        let action = format!("/subscriptions/{id}/upgrade");
        let review = review_page(&mut v, &format!("{action}?review=1&channels=4")).await;
        let done = confirm(&mut v, &review, &action, &[]).await;
        assert_eq!(
            done.location.as_deref(),
            Some("/subscriptions"),
            "{}",
            done.body
        );
        let list = v.page("/subscriptions").await;
        assert!(
            list.contains("The subscription now has 4 channels."),
            "{list}"
        );
        // Fewer channels are refused on the review, in words.
        let first = v.get(&format!("{action}?review=1&channels=1")).await;
        let refused = v.get(first.location.as_deref().expect("a review id")).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        let review = refused.body;
        assert!(review.contains("never lowers channels"), "{review}");
    }
);

both_backends!(
    the_credit_history_says_what_each_entry_was_for,
    |app: TestApp| async move {
        let (admin, acme, token) = app.admin_and_partner("acme").await;
        app.grant(&admin, &acme, 1000, "INV-2026-7").await;
        let key = app.key(&token, "Tailspin HQ").await;
        let code = key["key"].as_str().expect("key").to_string();
        let license = app
            .license_id(
                &token,
                license_input(&key, "REMOTE_ACCESS", "ENTERPRISE", 10, "PERMANENT"),
            )
            .await;
        app.reseller(&token, "northwind", &["REMOTE_ACCESS"], 40)
            .await;
        let mut v = Visitor::new(&app);
        v.sign_in("acme", "partner-pass-1").await;
        let page = v.page("/credits").await;
        let words =
            format!("License · Remote Access Enterprise · 10 users · key {code} (Tailspin HQ)");
        assert!(page.contains(&words), "{page}");
        assert!(page.contains("Given to reseller northwind"), "{page}");
        let table = &page[page.find("<table id=\"history\"").expect("the table")..];
        assert!(
            !table.contains(&license) && !table.contains("acc_"),
            "{table}"
        );
        assert!(page.contains("INV-2026-7"), "{page}");
        // The CSV says the same, with the ids in their own column.
        let csv = v.page("/credits.csv").await;
        assert!(
            csv.contains(&format!("\"{words}\",LICENSE,\"{license}\"")),
            "{csv}"
        );
        // All on one day: the chart's axis shows times, never one date twice.
        let today = chrono::Utc::now().date_naive().to_string();
        assert!(
            page.matches(&format!(">{today}</text>")).count() <= 1,
            "{page}"
        );

        // The administrator's history is the grants it made.
        let mut a = Visitor::new(&app);
        a.sign_in("admin", ADMIN_PASSWORD).await;
        let grants = a.page("/credits").await;
        assert!(
            grants.contains("INV-2026-7") && grants.contains("acme"),
            "{grants}"
        );
        assert!(
            grants.contains(&format!("/credits?account={acme}")),
            "{grants}"
        );
    }
);

both_backends!(
    keys_are_found_without_dashes_and_licenses_by_key_name,
    |app: TestApp| async move {
        let (_, _, token) = app.funded_partner("acme", 1000).await;
        let (code, _) = key_with_license(&app, &token, "Fabrikam Paris", "").await;
        app.key(&token, "Someone else").await;
        let mut v = Visitor::new(&app);
        v.sign_in("acme", "partner-pass-1").await;
        let bare = code.replace('-', "").to_lowercase();
        let keys = v.page(&format!("/keys?q={bare}")).await;
        assert!(
            keys.contains(&code) && !keys.contains("Someone else"),
            "{keys}"
        );
        let keys = v.page("/keys?q=fabrikam").await;
        assert!(keys.contains(&code), "{keys}");
        let licenses = v.page("/licenses?q=Fabrikam+Par").await;
        assert!(licenses.contains(&code), "{licenses}");
        let licenses = v.page(&format!("/licenses?q={bare}")).await;
        assert!(licenses.contains(&code), "{licenses}");
        let none = v.page("/licenses?q=Someone").await;
        assert!(!none.contains(&code), "{none}");
    }
);

mod tokens;
