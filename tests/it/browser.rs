//! The partner guide's story in a real browser (Debian's headless Chromium
//! driven through chromedriver): as a partner, then its reseller, then the
//! administrator, asserting on what each page shows. It saves screenshots of
//! the main pages (to docs/screenshots/ with UPDATE_SCREENSHOTS=1).
//!
//! scripts/test installs chromium and chromium-driver when they are missing.
//! Run by hand without them, the test says so and passes; under CI (CI set)
//! their absence fails it.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "chromedriver";

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn driver_path() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(DRIVER))
            .find(|p| p.is_file())
    })
}

async fn start_driver() -> Option<Driver> {
    let (Some(path), true) = (driver_path(), Path::new(CHROMIUM).is_file()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium and chromium-driver are missing; scripts/test installs them"
        );
        eprintln!(
            "SKIPPED: the browser test needs {CHROMIUM} and {DRIVER} (scripts/test installs them)"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on port {port}");
}

struct Browser {
    web: WebDriver,
    base: String,
    shots: PathBuf,
}

impl Browser {
    async fn goto(&self, path: &str) {
        self.web
            .goto(format!("{}{path}", self.base))
            .await
            .expect("navigate");
    }

    /// The value, or a failure that shows the page it happened on.
    async fn must<T>(&self, result: WebDriverResult<T>, what: &str) -> T {
        match result {
            Ok(v) => v,
            Err(e) => panic!("{what}: {e}\n{}", self.text().await),
        }
    }

    async fn by_id(&self, id: &str) -> WebElement {
        let found = self.web.query(By::Id(id)).first().await;
        self.must(found, &format!("no #{id}")).await
    }

    async fn fill(&self, id: &str, text: &str) {
        let input = self.by_id(id).await;
        input.clear().await.expect("clear");
        input.send_keys(text).await.expect("type");
    }

    async fn select(&self, id: &str, value: &str) {
        let select = SelectElement::new(&self.by_id(id).await)
            .await
            .expect("a select");
        select.select_by_value(value).await.expect("select");
    }

    async fn button(&self, label: &str) -> WebElement {
        let found = self
            .web
            .query(By::XPath(format!("//button[normalize-space()='{label}']")))
            .first()
            .await;
        self.must(found, &format!("no button {label}")).await
    }

    async fn press(&self, label: &str) {
        self.button(label).await.click().await.expect("click");
    }

    async fn follow(&self, link: &str) {
        let found = self.web.query(By::LinkText(link)).first().await;
        let link = self.must(found, &format!("no link {link}")).await;
        link.click().await.expect("click");
    }

    async fn tick(&self, css: &str) {
        self.web
            .query(By::Css(css))
            .first()
            .await
            .unwrap_or_else(|e| panic!("nothing matches {css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    async fn text(&self) -> String {
        match self.web.find(By::Tag("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits (up to 5 s) for the text: a click that submits a form returns
    /// before the next page has loaded.
    async fn sees(&self, expected: &str) {
        let mut text = self.text().await;
        for _ in 0..50 {
            if text.contains(expected) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            text = self.text().await;
        }
        assert!(
            text.contains(expected),
            "expected \"{expected}\" on {:?}:\n{text}",
            self.web.current_url().await.map(|u| u.to_string())
        );
    }

    async fn value_of(&self, id: &str) -> String {
        self.by_id(id)
            .await
            .value()
            .await
            .expect("value")
            .unwrap_or_default()
    }

    /// Whether the page's table is wider than its frame.
    async fn table_scrolls_sideways(&self) -> bool {
        self.web
            .execute(
                "var w = document.querySelector('.table-wrap'); return !!w && w.scrollWidth > w.clientWidth;",
                vec![],
            )
            .await
            .expect("script")
            .convert()
            .expect("a boolean")
    }

    /// The page's (visible width, full width).
    async fn page_widths(&self) -> (i64, i64) {
        let number = |v: ScriptRet| v.convert::<i64>().expect("a number");
        let width = self
            .web
            .execute("return document.documentElement.clientWidth;", vec![])
            .await
            .expect("width");
        let scroll = self
            .web
            .execute("return document.documentElement.scrollWidth;", vec![])
            .await
            .expect("scroll width");
        (number(width), number(scroll))
    }

    async fn shot(&self, name: &str) {
        self.web
            .screenshot(&self.shots.join(format!("{name}.png")))
            .await
            .expect("screenshot");
    }

    async fn sign_in(&self, login: &str, password: &str) {
        self.goto("/").await;
        self.sees("Login or email").await;
        self.fill("login", login).await;
        self.press("Next").await;
        self.sees(&format!("Signing in as {login}")).await;
        self.fill("password", password).await;
        self.press("Sign in").await;
    }

    /// The text of the element `id`.
    async fn text_of(&self, id: &str) -> String {
        self.by_id(id).await.text().await.expect("text")
    }

    /// The review's price must be `cost` before anything is bought.
    async fn costs(&self, cost: &str) {
        assert_eq!(self.text_of("quote-cost").await, cost);
    }

    async fn sign_out(&self) {
        self.press("Sign out").await;
        self.sees("Login or email").await;
    }
}

/// The guide's chapters, in order on one browser session: each starts from
/// the balance, keys and accounts the one before left.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_partner_guide_in_a_browser() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (admin, acme, _) = app.admin_and_partner("acme").await;
    app.grant(&admin, &acme, 100, "INV-2026-001").await;

    let b = open_browser(&driver, &app).await;

    let key = the_first_key_is_made(&b).await;
    licenses_cost_what_the_review_shows(&b).await;
    a_license_is_upgraded_edited_and_deleted(&b).await;
    support_and_a_subscription_are_sold(&b).await;
    let password = a_reseller_is_added_and_given_credits(&b).await;
    the_reseller_signs_in_with_its_mailed_password(&b, &app, &password).await;
    the_vendor_grants_credits(&b).await;
    the_key_picker_finds_an_old_key(&b, &app, &key).await;
    pages_fit_a_phone(&b).await;
    let acme_token = app.login("acme", "partner-pass-1").await;
    // The last 10: the permanent license put on the oldest key through the picker.
    assert_eq!(
        app.balance(&acme_token).await,
        100 - 2 - 6 - 8 - 20 + 500 - 10
    );
    b.web.quit().await.expect("quit");
}

/// A headless Chromium session on `app`'s portal, saving its screenshots
/// under target/ (or, with UPDATE_SCREENSHOTS=1, where the README shows them).
async fn open_browser(driver: &Driver, app: &TestApp) -> Browser {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).expect("binary");
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
    ] {
        caps.add_arg(arg).expect("argument");
    }
    let web = WebDriver::new(&driver.url, caps)
        .await
        .expect("a browser session");
    // Kept under target/ so a test run leaves the work tree clean;
    // UPDATE_SCREENSHOTS=1 refreshes the ones the README shows.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shots = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        root.join("docs/screenshots")
    } else {
        root.join("target/screenshots")
    };
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    Browser {
        web,
        base: app.url.trim_end_matches("/graphql").to_string(),
        shots,
    }
}

/// Chapters 1 and 2: the partner signs in and makes its first key; the key.
async fn the_first_key_is_made(b: &Browser) -> String {
    // 1. Sign in: login first, then the password.
    b.sign_in("acme", "partner-pass-1").await;
    b.sees("Credit balance").await;
    assert_eq!(b.text_of("balance").await, "100");
    assert_eq!(b.text_of("count-keys").await, "0");
    b.sees("You have no licenses yet").await;
    b.shot("home").await;

    // 2. The orange button leads to the activation key first.
    b.tick("a.cta").await;
    b.sees("you need an Activation Key first").await;
    b.follow("Generate an Activation Key").await;
    b.fill("name", "Customer One").await;
    b.fill("key", "AB12-").await;
    b.sees("Not yet XXXX-XXXX-XXXX-XXXX").await;
    b.press("Random").await;
    let key = b.value_of("key").await;
    let groups: Vec<&str> = key.split('-').collect();
    assert!(
        groups.len() == 4 && groups.iter().all(|g| g.len() == 4),
        "{key}"
    );
    b.sees("The format is right.").await;
    b.shot("new-key").await;
    b.press("Add").await;
    b.sees(&format!(
        "Activation key \"Customer One\" ({key}) was created"
    ))
    .await;
    key
}

/// Chapter 3: a trial, a permanent license bought once, and too few credits.
async fn licenses_cost_what_the_review_shows(b: &Browser) {
    // 3. A trial license: product, trial with its duration, edition, users.
    b.tick("input[name=product][value=REMOTE_ACCESS]").await;
    b.press("Continue").await;
    b.tick("input[name=kind][value=TRIAL]").await;
    b.fill("trial_days", "14").await;
    b.fill("users", "2").await;
    b.press("Review").await;
    b.sees("Trial, 14 days").await;
    b.costs("0 credits").await;
    b.press("Generate").await;
    b.sees("License for Remote Access generated.").await;
    b.sees("Trial").await;

    // A permanent one costs credits, shown before they are spent.
    b.tick("a.cta").await;
    b.press("Continue").await;
    b.select("edition", "ENTERPRISE").await;
    b.fill("users", "2").await;
    b.press("Review").await;
    b.costs("50 credits").await;
    b.press("Generate").await;
    b.sees("Balance: 50 credits").await;
    // Back to the review and Generate again: the same review buys once.
    b.web.back().await.expect("back");
    b.sees("Change the choices").await;
    b.press("Generate").await;
    b.sees("License for Remote Access generated.").await;
    b.sees("Balance: 50 credits").await;
    b.goto("/licenses?kind=PERMANENT").await;
    assert_eq!(
        b.web
            .find_all(By::Css("#licenses tbody tr"))
            .await
            .expect("rows")
            .len(),
        1,
        "one permanent license"
    );

    // Too few credits: the warning, the reason and a disabled button.
    b.tick("a.cta").await;
    b.press("Continue").await;
    b.select("edition", "ENTERPRISE").await;
    b.fill("users", "10").await;
    b.press("Review").await;
    b.sees("Not enough credits: this costs 250 credits and your balance is 50.")
        .await;
    assert!(
        !b.button("Generate")
            .await
            .is_enabled()
            .await
            .expect("enabled")
    );
    b.shot("credits-short").await;
}

/// Chapter 4: only the reviewed upgrade is made; the edit; the refund.
async fn a_license_is_upgraded_edited_and_deleted(b: &Browser) {
    // 4. Upgrade, edit and delete the permanent license.
    b.goto("/licenses?kind=PERMANENT").await;
    b.follow("Upgrade").await;
    b.fill("users", "3").await;
    b.press("Review").await;
    b.costs("25 credits").await;
    // The review holds no field to edit: the button confirms what it shows.
    assert!(
        b.web
            .find_all(By::Css("main input:not([type=hidden]), main select"))
            .await
            .expect("fields")
            .is_empty()
    );
    // A confirmation whose values differ from the review's is refused.
    let review_url = b.web.current_url().await.expect("url").to_string();
    b.web
        .execute(
            "document.querySelector('input[type=hidden][name=users]').value = '9';",
            vec![],
        )
        .await
        .expect("script");
    b.press("Upgrade").await;
    b.sees("The choices changed after they were reviewed").await;
    b.sees("Balance: 50 credits").await;
    b.web.get(review_url).await.expect("the review again");
    b.sees("Change the choices").await;
    b.press("Upgrade").await;
    b.sees("The license was upgraded.").await;
    b.sees("Balance: 25 credits").await;
    b.goto("/licenses?kind=PERMANENT").await;
    b.follow("Edit").await;
    b.fill("email", "it@customer.example").await;
    b.fill("comment", "Main office").await;
    b.press("Save").await;
    b.sees("The license was saved.").await;
    b.sees("Main office").await;
    b.shot("licenses").await;
    b.goto("/licenses?kind=PERMANENT").await;
    b.follow("Delete").await;
    b.sees("The 75 credits it cost will be refunded to your balance.")
        .await;
    b.press("Delete the license").await;
    b.sees("75 credits were refunded; your balance is 100.")
        .await;
}

/// Support (generated, extended, filtered) and chapter 5, a subscription.
async fn support_and_a_subscription_are_sold(b: &Browser) {
    // Support: generate, extend, and the expired filter.
    b.goto("/support").await;
    b.follow("Generate Support").await;
    b.press("Continue").await;
    b.select("edition", "DESKTOP").await;
    b.fill("users", "2").await;
    b.select("months", "1").await;
    b.press("Review").await;
    b.costs("2 credits").await;
    b.press("Generate").await;
    b.sees("Support for Remote Access generated.").await;
    b.follow("Extend").await;
    b.select("months", "3").await;
    b.press("Review").await;
    b.costs("6 credits").await;
    b.press("Extend").await;
    b.sees("The support was extended to").await;
    b.shot("support").await;
    b.tick("#f-expired").await;
    b.press("Filter").await;
    b.sees("No support matches these filters.").await;
    b.goto("/support?from=2020-01-01&to=2020-12-31").await;
    b.sees("No support matches these filters.").await;

    // 5. A Remote Support subscription.
    b.goto("/subscriptions").await;
    b.follow("Generate a Subscription").await;
    b.sees("concurrent sessions").await;
    b.fill("channels", "2").await;
    b.select("months", "1").await;
    b.press("Review").await;
    b.costs("8 credits").await;
    b.press("Submit").await;
    b.sees("Subscription generated: 2 channels for 1 month.")
        .await;
}

/// Chapters 6 and 7: a reseller with a random password and 20 credits; the password.
async fn a_reseller_is_added_and_given_credits(b: &Browser) -> String {
    // 6–7. A reseller with a random password, then credits for it.
    b.goto("/resellers").await;
    b.follow("Add a new reseller").await;
    b.fill("login", "northwind").await;
    b.press("Random").await;
    let password = b.value_of("password").await;
    assert_eq!(password.chars().count(), 20, "{password}");
    b.fill("email", "northwind@example.com").await;
    b.fill("name", "Northwind Traders").await;
    b.press("Add").await;
    b.sees("Reseller northwind was created").await;
    assert_eq!(b.text_of("new-password").await, password);
    b.by_id("new-password").await;
    b.shot("reseller-created").await;
    b.fill("amount", "20").await;
    b.press("Give credits").await;
    b.sees("20 credits given to northwind").await;
    b.sees("Northwind Traders").await;
    b.shot("resellers").await;
    b.goto("/credits").await;
    b.sees("Given to reseller Northwind Traders").await;
    b.sees("Credits granted").await;
    b.by_id("chart-title").await;
    b.shot("credit-history").await;
    b.sign_out().await;
    password
}

/// The reseller changes its mailed password and sees none of the partner's rows.
async fn the_reseller_signs_in_with_its_mailed_password(
    b: &Browser,
    app: &TestApp,
    password: &str,
) {
    // The reseller signs in with the password from its email, and first
    // chooses its own.
    let mailed = wait_for_welcome_password(app, "northwind@example.com").await;
    assert_eq!(mailed, password);
    let message = wait_for_welcome(app, "northwind@example.com").await;
    assert!(message.contains("Login: northwind"), "{message}");
    b.sign_in("northwind", &mailed).await;
    b.sees("Choose your own password").await;
    b.fill("current", &mailed).await;
    b.fill("new", "Quiet-Harbor-Lantern-42").await;
    b.fill("confirm", "Quiet-Harbor-Lantern-42").await;
    b.press("Change password").await;
    b.sees("Your password was changed.").await;
    // It sees its credits and none of the partner's rows.
    assert_eq!(b.text_of("balance").await, "20");
    assert_eq!(b.text_of("count-licenses").await, "0");
    b.goto("/licenses").await;
    b.sees("No license matches these filters.").await;
    b.goto("/keys").await;
    b.sees("No activation key matches.").await;
    b.sign_out().await;
}

/// The administrator's partner list, a grant, and the form on a phone.
async fn the_vendor_grants_credits(b: &Browser) {
    // The vendor: partners and their balances, and a grant.
    b.sign_in("admin", ADMIN_PASSWORD).await;
    b.sees("Partners").await;
    b.sees("acme").await;
    b.follow("Grant credits").await;
    b.fill("amount", "500").await;
    b.fill("reference", "INV-2026-002").await;
    b.press("Grant credits").await;
    b.sees("500 credits granted to acme").await;
    b.shot("admin-partners").await;
    b.web.set_window_rect(0, 0, 390, 844).await.expect("resize");
    b.goto("/admin/partners/new").await;
    b.sees("Create a partner").await;
    b.shot("phone-create-partner").await;
    b.web
        .set_window_rect(0, 0, 1280, 900)
        .await
        .expect("resize");
    b.sign_out().await;
    b.sees("You are signed out.").await;
}

/// Among 251 keys the picker finds the first by name; wide tables fit.
async fn the_key_picker_finds_an_old_key(b: &Browser, app: &TestApp, key: &str) {
    // A partner with 250 more keys puts a license on its oldest one: the
    // picker finds it by name, and its "Generate a License" link opens
    // with exactly that key.
    let acme_token = app.login("acme", "partner-pass-1").await;
    for i in 0..250 {
        app.key(&acme_token, &format!("Bulk customer {i:03}")).await;
    }
    b.sign_in("acme", "partner-pass-1").await;
    b.sees("Credit balance").await;
    b.goto("/licenses/new").await;
    b.sees("The newest 200 of your 251 matching keys are listed")
        .await;
    b.fill("key-q", "Customer One").await;
    b.press("Find").await;
    b.sees("1 key match").await;
    assert_eq!(
        SelectElement::new(&b.by_id("key").await)
            .await
            .expect("select")
            .first_selected_option()
            .await
            .expect("option")
            .text()
            .await
            .expect("text"),
        format!("{key} — Customer One")
    );
    b.shot("key-picker").await;
    b.press("Continue").await;
    b.sees(&format!("Key {key} (Customer One)")).await;
    b.goto("/keys?q=Customer+One").await;
    b.follow("Generate a License").await;
    b.press("Continue").await;
    b.sees(&format!("Key {key} (Customer One)")).await;
    // The key already holds a running trial of this product (one per key),
    // so this one is permanent.
    b.press("Review").await;
    b.press("Generate").await;
    b.sees("License for Remote Access generated.").await;
    b.goto(&format!("/licenses?q={key}")).await;
    b.sees("Permanent").await;
    b.shot("licenses-wide").await;
    // At 1280 px the table fits: no column is pushed out of sight.
    assert!(
        !b.table_scrolls_sideways().await,
        "the licenses table scrolls sideways at 1280 px"
    );
    // The support and subscription tables carry the key and its name too;
    // they fit as well.
    for (path, name) in [
        ("/support", "support-wide"),
        ("/subscriptions", "subscriptions"),
    ] {
        b.goto(path).await;
        b.shot(name).await;
        assert!(
            !b.table_scrolls_sideways().await,
            "the table of {path} scrolls sideways at 1280 px"
        );
    }
}

/// Phone-sized pages: rows become cards, nothing scrolls sideways.
async fn pages_fit_a_phone(b: &Browser) {
    // The same pages on a phone-sized screen: rows become cards with their
    // actions first.
    b.web.set_window_rect(0, 0, 390, 844).await.expect("resize");
    for (path, name) in [
        ("/", "phone-home"),
        ("/licenses", "phone-licenses"),
        ("/support", "phone-support"),
        ("/subscriptions", "phone-subscriptions"),
        ("/keys", "phone-keys"),
        ("/resellers", "phone-resellers"),
    ] {
        b.goto(path).await;
        b.shot(name).await;
    }
    for path in ["/licenses", "/support", "/subscriptions"] {
        b.goto(path).await;
        let (width, scroll) = b.page_widths().await;
        assert!(
            scroll <= width,
            "{path} scrolls sideways on a phone: {scroll} > {width}"
        );
    }
}
