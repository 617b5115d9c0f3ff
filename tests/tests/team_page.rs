//! The team page in Debian's headless Chromium, driven over WebDriver (chromedriver), against
//! the local stack: `cargo lambda watch` routing `/team/` and the probe API, moto's DynamoDB
//! and SES. A reviewer enters the key, filters, opens candidates and moves them through the
//! lifecycle; hostile names stay text; stale versions and wrong keys are explained.
//! Screenshots land in `target/test-output/team-page/` for a person to look at.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use telltale::auth::Role;
use telltale_cli::tables;
use telltale_testkit::probes::{contact, ProbeFixture};
use telltale_testkit::watch::{free_port, Watch};
use telltale_testkit::{repo_root, unique};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const XSS_NAME: &str = "<img src=x onerror=alert(1)>";
/// One browser test at a time: the 10,000 candidates keep moto busy, and two Chromiums on two
/// cores make every wait slower.
static ONE_BROWSER_TEST: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// chromedriver on a free loopback port and one headless Chromium session; both end on drop.
struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    async fn start() -> Browser {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: run `make setup` (apt-get install chromium chromium-driver)"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = std::env::temp_dir().join(unique("team-page-chromium"));
        // Headless, no sandbox (tests may run as root), and none of Chromium's own background
        // connections: the page must work with nothing but the API.
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1600",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session through chromedriver");
        Browser {
            client: Some(client),
            driver,
            profile,
        }
    }

    /// Opens a URL in the page's tab.
    async fn go(&self, url: &str) {
        self.c()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    fn c(&self) -> &Client {
        self.client.as_ref().expect("session")
    }

    async fn js(&self, script: &str) -> Value {
        self.c()
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    async fn text(&self, selector: &str) -> String {
        let v = self
            .js(&format!(
                "const e = document.querySelector({}); return e ? e.textContent : null;",
                json!(selector)
            ))
            .await;
        v.as_str()
            .unwrap_or_else(|| panic!("no element {selector}"))
            .to_string()
    }

    /// Polls a JavaScript condition until it holds (30 s), then says what the page showed.
    async fn wait_for(&self, condition: &str, what: &str) {
        let started = Instant::now();
        loop {
            if self.js(&format!("return Boolean({condition});")).await == json!(true) {
                return;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let messages = self.text("#messages").await;
                panic!("waited 30 s for {what} ({condition}); the page says: {messages:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element `selector` names; a test that expects it fails naming the selector.
    async fn find(&self, selector: &str) -> fantoccini::elements::Element {
        self.c()
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
    }

    async fn click(&self, selector: &str) {
        let e = self.find(selector).await;
        e.click()
            .await
            .unwrap_or_else(|e| panic!("clicking {selector}: {e}"));
    }

    async fn type_into(&self, selector: &str, text: &str) {
        let e = self.find(selector).await;
        e.clear().await.expect("clearing");
        e.send_keys(text).await.expect("typing");
    }

    /// Sends keys to an element, as typed (WebDriver's codes for Tab, Enter, ...).
    async fn keys(&self, selector: &str, keys: &str) {
        let e = self.find(selector).await;
        e.send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("typing into {selector}: {e}"));
    }

    async fn choose(&self, selector: &str, value: &str) {
        let e = self.find(selector).await;
        e.select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choosing {value} in {selector}: {e}"));
    }

    async fn no_dialog(&self) {
        match self.c().get_alert_text().await {
            Err(e) if e.is_no_such_alert() => {}
            Ok(text) => panic!("a dialog opened: {text:?}"),
            Err(e) => panic!("asking for a dialog: {e}"),
        }
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo_root().join("target"))
            .join("test-output")
            .join("team-page");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let png = self.c().screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("writing the screenshot");
        path
    }

    /// The status on screen and the open candidate's version.
    async fn shown(&self) -> (String, u64) {
        let v = self
            .js("return [document.querySelector('#fields dd[data-field=status]').textContent, document.querySelector('#fields dd[data-field=version]').textContent];")
            .await;
        (
            v[0].as_str().unwrap_or_default().to_string(),
            v[1].as_str().and_then(|s| s.parse().ok()).unwrap_or(0),
        )
    }

    /// Opens a candidate from the list and waits for its details.
    async fn open(&self, id: &str) {
        self.click(&format!("#list tr[data-id=\"{id}\"] a.open"))
            .await;
        self.wait_for(
            "!document.querySelector('#detail-view').hidden",
            &format!("the details of {id}"),
        )
        .await;
    }

    /// Back from the details; waits for the list and `condition` on it.
    async fn back_to_list(&self, condition: &str, what: &str) {
        self.click("#back").await;
        self.wait_for(
            &format!("!document.querySelector('#list-view').hidden && {condition}"),
            what,
        )
        .await;
    }

    /// Picks `to`, fills the field it needs and applies; waits for the page's answer.
    async fn change(&self, to: &str, needed: Option<&str>) {
        self.choose("#target", to).await;
        if let Some(value) = needed {
            self.type_into("#needed", value).await;
        }
        self.js("document.querySelector('#messages').replaceChildren();")
            .await;
        self.click("#apply").await;
        self.wait_for(
            "document.querySelector('#messages').textContent !== ''",
            &format!("the answer to the change to {to}"),
        )
        .await;
    }
}

impl Drop for Browser {
    /// Also when a check failed before the session was closed: Chromium outlives a killed
    /// chromedriver, so its processes are found by this run's unique profile directory.
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .args(["-KILL", "-f"])
            .arg(&self.profile)
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

async fn submit(http: &reqwest::Client, base: &str, key: &str, name: &str) -> String {
    let resp = http
        .post(format!("{base}/api/v2/probes/"))
        .header("x-api-key", key)
        .json(&json!({
            "name": name,
            "description": "Checks that the service answers.\nSecond line: <b>not bold</b> & \"quoted\".",
            "docurl": "https://github.com/ARGOeu-Metrics/argo-probe-argo-servicestatus/blob/master/README.md",
            "rpm": "argo-probe-argo-servicestatus-0.2.0-1.el7.noarch.rpm",
            "yum_baseurl": "http://rpm-repo.argo.grnet.gr/ARGO/prod/centos7/",
            "command": "check_status.py -u '<URL>' -t 30 </dev/null && echo \"<script>alert(2)</script>\"",
            "contact": contact(),
        }))
        .send()
        .await
        .expect("submitting");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn a_reviewer_moves_candidates_through_the_lifecycle_in_a_browser() {
    let _alone = ONE_BROWSER_TEST.lock().await;
    let f = ProbeFixture::new(Role::Monitoring).await;
    // A sender of this test's own, so SES can be made to refuse it without touching others.
    let sender = format!("{}@team-page.telltale.test", unique("sender"));
    tables::ensure_email_identity(&f.ses, &sender)
        .await
        .expect("SES identity");
    let mut env = f.env();
    env.retain(|(k, _)| k != "EMAIL_FROM");
    env.push(("EMAIL_FROM".into(), format!("ARGO Monitoring <{sender}>")));
    let watch = Watch::start(&env);
    let base = watch.base_url.clone();
    // The first request to each function compiles it under the emulator.
    let http = telltale_testkit::watch::client();

    // The page itself, as the browser will get it: strict CSP, no sniffing.
    let page = http.get(format!("{base}/team/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    assert!(!html.contains(&f.key), "the key is never in the page");

    let probe = submit(&http, &base, &f.key, "check-web").await;
    let hostile = submit(&http, &base, &f.key, XSS_NAME).await;
    let stale = submit(&http, &base, &f.key, "check-stale").await;
    let warm = http
        .get(format!("{base}/api/v2/probes/{probe}"))
        .header("x-api-key", &f.key)
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status().as_u16(), 200);

    let b = Browser::start().await;
    b.go(&format!("{base}/team/")).await;
    b.wait_for("!document.querySelector('#login').hidden", "the key form")
        .await;

    // A wrong key: the API's 403, shown with its detail; nothing listed.
    b.type_into("#key", "tt_not-a-key-of-this-team").await;
    b.click("#key-form button[type=submit]").await;
    b.wait_for(
        "document.querySelector('#messages').textContent.startsWith('403')",
        "the 403",
    )
    .await;
    // The page's words, not POEM's "credentials were not provided" for a key that was sent.
    let refused = b.text("#messages").await;
    assert!(refused.contains("This key is not valid"), "{refused}");
    assert_eq!(
        b.js("return sessionStorage.length;").await,
        json!(0),
        "a refused key is not kept"
    );

    // A key no header can carry is refused on the page, not sent.
    b.type_into("#key", "tt_clé").await;
    b.click("#key-form button[type=submit]").await;
    b.wait_for(
        "document.querySelector('#messages').textContent.includes('visible ASCII')",
        "the refusal of a non-ASCII key",
    )
    .await;
    assert_eq!(b.js("return sessionStorage.length;").await, json!(0));

    // The right key: the list, a page at a time in the API's order, with id, contact and
    // submitting key for each candidate.
    b.type_into("#key", &f.key).await;
    b.click("#key-form button[type=submit]").await;
    b.wait_for(
        "document.querySelectorAll('#list tbody tr').length === 3",
        "three candidates",
    )
    .await;
    assert_eq!(b.text("#counts button[data-status='']").await, "All");
    assert_eq!(
        b.js("return document.querySelector('#counts button[aria-pressed=true]').dataset.status;")
            .await,
        json!("")
    );
    assert_eq!(
        b.text(&format!("#list tr[data-id=\"{probe}\"] td.id"))
            .await,
        probe[..8]
    );
    let contact = b
        .text(&format!("#list tr[data-id=\"{probe}\"] td.contact"))
        .await;
    assert!(contact.ends_with("@example.org"), "{contact}");
    assert!(b.text("#shown").await.starts_with("3 shown, all"));
    assert!(b.js("return document.querySelector('#more').hidden;").await == json!(true));
    assert_eq!(
        b.js("return Object.keys(sessionStorage);").await,
        json!(["telltale.monitoringKey"]),
    );
    assert_eq!(b.js("return document.cookie;").await, json!(""));
    assert!(!b.c().current_url().await.unwrap().as_str().contains(&f.key));

    // The hostile name is text: no image element, no dialog.
    let shown_name = b
        .js(&format!(
            "return document.querySelector('#list tr[data-id=\"{hostile}\"] a.open').textContent;"
        ))
        .await;
    assert_eq!(shown_name, json!(XSS_NAME));
    assert_eq!(b.js("return document.images.length;").await, json!(0));
    b.no_dialog().await;
    let list_png = b.screenshot("list.png").await;
    let row_height = format!(
        "return document.querySelector('#list tr[data-id=\"{probe}\"]').getBoundingClientRect().height;"
    );
    let height_before = b.js(&row_height).await.as_f64().unwrap();

    // Age in status; the order is the API's (name, then submission).
    assert_eq!(
        b.js("return [...document.querySelectorAll('#list td.age')].map(td => td.textContent);")
            .await,
        json!(["under a minute", "under a minute", "under a minute"])
    );
    let names = "return [...document.querySelectorAll('#list a.open')].map(a => a.textContent);";
    let api_order: Vec<Value> = http
        .get(format!("{base}/api/v2/probes/"))
        .header("x-api-key", &f.key)
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i["name"].clone())
        .collect();
    assert_eq!(b.js(names).await, json!(api_order));

    // Search (any case) by name, then by id; an empty search is the whole list again.
    b.type_into("#search", "CHECK-ST").await;
    b.click("#search-form button[type=submit]").await;
    b.wait_for(
        "document.querySelectorAll('#list tbody tr').length === 1",
        "one candidate found by name",
    )
    .await;
    assert_eq!(b.js(names).await, json!(["check-stale"]));
    b.type_into("#search", &hostile[..8]).await;
    b.click("#search-form button[type=submit]").await;
    b.wait_for(
        &format!("document.querySelectorAll('#list tbody tr').length === 1 && document.querySelector('#list tbody tr').dataset.id === '{hostile}'"),
        "one candidate found by id",
    )
    .await;
    b.js("document.querySelector('#search').value = '';").await;
    b.click("#search-form button[type=submit]").await;
    b.wait_for(
        "document.querySelectorAll('#list tbody tr').length === 3",
        "the whole list again",
    )
    .await;

    // Selected and focused look different: the selected filter is filled, focus is an outline.
    // (Focus moved by the keyboard: Tab from the search box to its button.)
    b.keys("#search", "\u{E004}").await;
    let styles = b
        .js("const sel = document.querySelector('#counts button[aria-pressed=true]'); const focused = document.activeElement; const other = document.querySelector('#counts button[data-status=testing]'); return [focused.textContent, getComputedStyle(sel).backgroundColor, getComputedStyle(other).backgroundColor, getComputedStyle(focused).outlineStyle, getComputedStyle(sel).outlineStyle];")
        .await;
    assert_eq!(styles[0], json!("Search"), "{styles}");
    assert_ne!(styles[1], styles[2], "selected is filled: {styles}");
    assert_ne!(styles[3], json!("none"), "focus has an outline: {styles}");
    assert_eq!(styles[4], json!("none"), "selected has none: {styles}");

    // Filters use the API's ?status=.
    b.click("#counts button[data-status=processing]").await;
    b.wait_for(
        "document.querySelectorAll('#list tbody tr').length === 0 && !document.querySelector('#empty').hidden",
        "an empty processing list",
    )
    .await;
    b.click("#counts button[data-status=submitted]").await;
    b.wait_for(
        "document.querySelectorAll('#list tbody tr').length === 3",
        "the submitted list",
    )
    .await;

    // Open a candidate: every field, links for URLs, the command as text.
    b.open(&probe).await;
    assert_eq!(b.shown().await, ("submitted".to_string(), 1));
    assert_eq!(
        b.js("return document.querySelector('#fields dd[data-field=docurl] a').getAttribute('href');").await,
        json!("https://github.com/ARGOeu-Metrics/argo-probe-argo-servicestatus/blob/master/README.md")
    );
    assert!(b
        .text("#fields dd[data-field=command]")
        .await
        .contains("echo \"<script>alert(2)</script>\""));
    assert_eq!(
        b.js("return document.querySelectorAll('#fields script, #fields b').length;")
            .await,
        json!(0)
    );
    // Only the transitions the API allows from `submitted`.
    assert_eq!(
        b.js("return [...document.querySelectorAll('#target option')].map(o => o.value);")
            .await,
        json!(["processing", "rejected"])
    );

    // submitted → processing → testing, each with the field it needs; history and emails follow.
    b.change("processing", Some("ARGO.test")).await;
    assert_eq!(b.text("#messages").await, "Status changed to processing.");
    assert_eq!(b.shown().await, ("processing".to_string(), 2));
    b.change("testing", Some("https://devel.example.org/check-web"))
        .await;
    assert_eq!(b.shown().await, ("testing".to_string(), 3));
    b.wait_for(
        "document.querySelectorAll('#history tbody tr').length === 3",
        "three history entries",
    )
    .await;
    assert_eq!(
        b.js("return [...document.querySelectorAll('#emails tbody tr')].map(r => r.dataset.status + ':' + r.dataset.state);").await,
        json!(["submitted:sent", "processing:sent", "testing:sent"])
    );
    // In testing, the list says how long until deployed is allowed.
    b.back_to_list("true", "the list").await;
    b.click("#counts button[data-status='']").await;
    b.wait_for(
        "document.querySelectorAll('#list tbody tr').length === 3",
        "all candidates",
    )
    .await;
    let deploy = b
        .text(&format!("#list tr[data-id=\"{probe}\"] td.deploy"))
        .await;
    assert!(deploy.starts_with("in 2 d 23 h"), "{deploy}");
    b.open(&probe).await;

    // testing → deployed before the testing period is over: force, confirmed on the page.
    b.choose("#target", "deployed").await;
    b.wait_for(
        "!document.querySelector('#force-row').hidden",
        "the force option",
    )
    .await;
    let force_label = b.text("#force-label").await;
    assert!(
        force_label.contains("3-day testing period") && force_label.contains("in 2 d 23 h"),
        "{force_label}"
    );
    b.type_into("#needed", "https://production.example.org/check-web")
        .await;
    // Without Force the API refuses (409); the page says what to do here, in its own words.
    b.js("document.querySelector('#messages').replaceChildren();")
        .await;
    b.click("#apply").await;
    b.wait_for(
        "document.querySelector('#messages').textContent !== ''",
        "the 409",
    )
    .await;
    let refusal = b.text("#messages").await;
    assert!(
        refusal.starts_with("409")
            && refusal.contains("Tick Force to deploy before the testing period ends"),
        "{refusal}"
    );
    assert!(!refusal.contains("\"force\": true"), "{refusal}");
    b.click("#force").await;
    b.click("#apply").await;
    b.wait_for(
        "!document.querySelector('#confirm-force').hidden",
        "the confirmation",
    )
    .await;
    // The question is in view and has the keyboard's focus.
    assert_eq!(
        b.js("const r = document.querySelector('#confirm-force').getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight && document.activeElement.id === 'confirm-yes';").await,
        json!(true),
        "the confirmation in view, focused"
    );
    assert_eq!(
        b.shown().await.0,
        "testing",
        "nothing sent before confirming"
    );
    b.js("document.querySelector('#messages').replaceChildren();")
        .await;
    b.click("#confirm-yes").await;
    b.wait_for(
        "document.querySelector('#messages').textContent !== ''",
        "the deployment",
    )
    .await;
    assert_eq!(b.text("#messages").await, "Status changed to deployed.");
    assert_eq!(
        b.js("const r = document.querySelector('#messages').getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight;").await,
        json!(true),
        "the outcome in view"
    );
    assert_eq!(
        b.js("return document.querySelector('#messages').getAttribute('aria-live');")
            .await,
        json!("polite"),
        "and announced"
    );
    assert_eq!(b.shown().await, ("deployed".to_string(), 4));
    assert_eq!(
        b.js("return [...document.querySelectorAll('#history tbody tr')].map(r => r.cells[2].textContent + (r.cells[4].textContent ? '!' : ''));").await,
        json!(["submitted", "processing", "testing", "deployed!"])
    );
    assert_eq!(
        b.js("return document.querySelectorAll('#emails tbody tr[data-state=sent]').length;")
            .await,
        json!(4)
    );
    // Final: no form, and the page says so.
    assert_eq!(
        b.js("return [getComputedStyle(document.querySelector('#change')).display, getComputedStyle(document.querySelector('#final')).display];").await,
        json!(["none", "block"])
    );
    let candidate_png = b.screenshot("candidate.png").await;

    // The hostile candidate: opened from the list, rejected with a reason.
    b.back_to_list(
        "document.querySelectorAll('#list tbody tr[data-status=deployed]').length === 1",
        "the list with the deployed candidate",
    )
    .await;
    b.open(&hostile).await;
    assert_eq!(
        b.text("#detail-title bdi").await,
        XSS_NAME,
        "the name as typed"
    );
    // With the keyboard only: the status picked by typing in the list, Tab to the reason,
    // Enter to send.
    b.js("document.querySelector('#messages').replaceChildren(); document.querySelector('#target').focus();")
        .await;
    b.keys("#target", "r").await;
    assert_eq!(
        b.js("return document.querySelector('#target').value;")
            .await,
        json!("rejected")
    );
    b.keys("#target", "\u{E004}").await;
    assert_eq!(
        b.js("return document.activeElement.id;").await,
        json!("needed"),
        "Tab goes to the field the status needs"
    );
    b.keys("#needed", "Names must not contain markup.\u{E007}")
        .await;
    b.wait_for(
        "document.querySelector('#messages').textContent !== ''",
        "the answer to the keyboard's change",
    )
    .await;
    assert_eq!(b.text("#messages").await, "Status changed to rejected.");
    assert_eq!(b.shown().await, ("rejected".to_string(), 2));
    assert_eq!(
        b.text("#fields dd[data-field=rejection_reason]").await,
        "Names must not contain markup."
    );
    assert_eq!(b.js("return document.images.length;").await, json!(0));
    b.no_dialog().await;

    // A change made meanwhile by someone else: the API's 412, explained; reload shows it.
    b.back_to_list(
        "document.querySelectorAll('#list tbody tr[data-status=rejected]').length === 1",
        "the list with the rejected candidate",
    )
    .await;
    b.open(&stale).await;
    let other = http
        .put(format!("{base}/api/v2/probes/{stale}/status"))
        .header("x-api-key", &f.key)
        .json(&json!({"status": "processing", "service_type": "ARGO.other"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 200);
    b.change("rejected", Some("Duplicate of check-web.")).await;
    let message = b.text("#messages").await;
    assert!(
        message.contains("changed since you opened it") && message.contains("412"),
        "{message}"
    );
    assert_eq!(b.shown().await, ("submitted".to_string(), 1));
    b.click("#reload").await;
    b.wait_for(
        "document.querySelector('#fields dd[data-field=status]').textContent === 'processing'",
        "the reloaded candidate",
    )
    .await;
    assert_eq!(b.shown().await, ("processing".to_string(), 2));

    // SES refusing: the change is made, the page shows the API's warning as a warning and the
    // email as not sent, with its error.
    f.ses
        .delete_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("removing the sender");
    b.change("rejected", Some("Duplicate of check-web.")).await;
    assert_eq!(
        b.js("return document.querySelector('#messages p').dataset.kind;")
            .await,
        json!("warning")
    );
    let warning = b.text("#messages").await;
    assert!(warning.contains("email was not sent"), "{warning}");
    assert_eq!(b.shown().await, ("rejected".to_string(), 3));
    let email = b
        .js("const r = document.querySelector('#emails tbody tr[data-status=rejected]'); return [r.dataset.state, r.cells[4].textContent];")
        .await;
    assert_ne!(email[0], json!("sent"), "{email}");
    assert!(
        !email[1].as_str().unwrap_or_default().is_empty(),
        "the email's error is shown: {email}"
    );

    // A name stored before invisible characters were refused (or by another tool): each of
    // them is shown as a visible [U+…] mark, never as the character itself.
    f.import(telltale_testkit::probes::legacy_candidate(
        "legacy-invisible",
        "look\u{200b}alike\u{2028}\u{e0041}\u{feff}\u{200f}",
    ))
    .await;
    b.go(&format!("{base}/team/")).await;
    b.wait_for(
        "document.querySelector('#list tr[data-id=\"legacy-invisible\"]') !== null",
        "the legacy candidate",
    )
    .await;
    let shown = b
        .js("return document.querySelector('#list tr[data-id=\"legacy-invisible\"] a.open').textContent;")
        .await;
    assert_eq!(
        shown,
        json!("look[U+200B]alike[U+2028][U+E0041][U+FEFF][U+200F]"),
        "invisible characters are shown as marks"
    );

    // A name of the longest allowed length wraps in its column: no horizontal scrollbar at
    // 1280 px, and the other rows keep one line.
    let long_name = format!("long-{}", "abcdefghij".repeat(13))
        .chars()
        .take(128)
        .collect::<String>();
    let long = submit(&http, &base, &f.key, &long_name).await;
    b.go(&format!("{base}/team/")).await;
    b.wait_for(
        &format!("document.querySelector('#list tr[data-id=\"{long}\"]') !== null"),
        "the long-named candidate",
    )
    .await;
    let layout = b
        .js("const d = document.documentElement; return [window.innerWidth, d.scrollWidth <= d.clientWidth];")
        .await;
    assert_eq!(
        layout,
        json!([1280, true]),
        "a horizontal scrollbar at 1280 px"
    );
    let height_after = b.js(&row_height).await.as_f64().unwrap();
    assert!(
        (height_after - height_before).abs() < 1.0,
        "another row grew from {height_before} to {height_after} px"
    );
    let long_png = b.screenshot("long-name.png").await;

    // A deep link opens its candidate; Back returns to the list, Forward to the candidate.
    b.go(&format!("{base}/team/#{stale}")).await;
    b.wait_for(
        &format!("!document.querySelector('#detail-view').hidden && document.querySelector('#fields dd[data-field=id]').textContent === '{stale}'"),
        "the linked candidate",
    )
    .await;
    b.back_to_list("true", "the list").await;
    b.open(&probe).await;
    b.c().back().await.expect("Back");
    b.wait_for(
        "!document.querySelector('#list-view').hidden",
        "the list after Back",
    )
    .await;
    b.c().forward().await.expect("Forward");
    b.wait_for(
        &format!("!document.querySelector('#detail-view').hidden && document.querySelector('#fields dd[data-field=id]').textContent === '{probe}'"),
        "the candidate after Forward",
    )
    .await;

    // A multi-line description keeps its line breaks (and shows every other control mark).
    let lines = http
        .post(format!("{base}/api/v2/probes/"))
        .header("x-api-key", &f.key)
        .json(
            &json!({"name": "multi-line", "docurl": "https://example.org/d",
            "script": "https://example.org/s.py", "command": "s.py -t 10\n  --verbose",
            "description": "First line.\n\tIndented second line.", "contact": "m@example.org"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(lines.status().as_u16(), 201);
    let lines: Value = lines.json().await.unwrap();
    b.go(&format!("{base}/team/#{}", lines["id"].as_str().unwrap()))
        .await;
    b.wait_for(
        "!document.querySelector('#detail-view').hidden && document.querySelector('#fields dd[data-field=name]').textContent === 'multi-line'",
        "the multi-line candidate",
    )
    .await;
    assert_eq!(
        b.js("return [document.querySelector('#fields dd[data-field=description]').textContent, document.querySelector('#fields dd[data-field=command]').textContent];").await,
        json!(["First line.\n\tIndented second line.", "s.py -t 10\n  --verbose"])
    );

    // A link cut inside an escape, followed from an open candidate: the list and an error,
    // not a blank page or the candidate before.
    b.js("window.__errors = []; window.addEventListener('error', (e) => window.__errors.push(String(e.message))); window.addEventListener('unhandledrejection', (e) => window.__errors.push(String(e.reason)));").await;
    b.go(&format!("{base}/team/#%E0%A4%A")).await;
    b.wait_for(
        "document.querySelector('#messages p') !== null && document.querySelector('#messages p').dataset.kind === 'error'",
        "the error for a broken link",
    )
    .await;
    assert_eq!(
        b.js("return [document.querySelector('#detail-view').hidden, document.querySelector('#list-view').hidden, window.__errors];").await,
        json!([true, false, []])
    );

    // Nothing but the page's own assets and the API was fetched.
    let fetched = b
        .js("return performance.getEntriesByType('resource').map(e => e.name);")
        .await;
    let fetched: Vec<String> = serde_json::from_value(fetched).unwrap();
    assert!(!fetched.is_empty());
    for url in &fetched {
        assert!(url.starts_with(&base), "fetched from elsewhere: {url}");
    }
    b.no_dialog().await;

    if let Some(client) = b.client.as_ref() {
        client.clone().close().await.expect("closing the session");
    }
    println!(
        "screenshots: {} {} {}",
        list_png.display(),
        candidate_png.display(),
        long_png.display()
    );
}

/// `/` is the landing page: its links reach the team page, the API reference (every operation
/// of the OpenAPI document shown, with its summary) and health; under the local configuration
/// `make dev` writes, the emails page shows what SES accepted, newest first.
#[tokio::test]
async fn the_landing_page_leads_to_the_reference_and_the_local_emails() {
    let _alone = ONE_BROWSER_TEST.lock().await;
    let f = ProbeFixture::new(Role::Monitoring).await;
    let moto = &telltale_testkit::moto::moto().endpoint;
    let mut env = f.env();
    env.push((
        "LOCAL_LINKS".into(),
        format!("moto (AWS emulator)={moto}/moto-api/"),
    ));
    env.push((
        "LOCAL_EMAILS_URL".into(),
        format!("{moto}/moto-api/data.json"),
    ));
    // `/-/openapi.json` is metric-metadata's, which serves nothing without its mappings.
    let bucket = telltale_testkit::moto::moto()
        .demo_mappings_bucket("landing")
        .await;
    env.push(("MAPPINGS_BUCKET".into(), bucket));
    let watch = Watch::start(&env);
    let base = watch.base_url.clone();
    let http = telltale_testkit::watch::client();
    let id = submit(&http, &base, &f.key, "check-landing").await;
    let document: Value = http
        .get(format!("{base}/-/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .expect("the OpenAPI document");
    let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| methods.iter().filter(|m| item.get(**m).is_some()).count())
        .sum();

    let b = Browser::start().await;
    b.go(&format!("{base}/")).await;
    let links = b
        .js("return [...document.querySelectorAll('main a')].map(a => a.getAttribute('href'));")
        .await;
    for link in [
        "team/",
        "team/api.html",
        "-/openapi.json",
        "-/health",
        "team/emails.html",
    ] {
        assert!(
            links.as_array().unwrap().contains(&json!(link)),
            "{link}: {links}"
        );
    }
    assert!(
        links
            .as_array()
            .unwrap()
            .contains(&json!(format!("{moto}/moto-api/"))),
        "{links}"
    );

    b.click("a[href='team/api.html']").await;
    b.wait_for(
        &format!("document.querySelectorAll('#operations section').length === {operations}"),
        "every operation of the OpenAPI document",
    )
    .await;
    let value = b.text("#get-metrics-resourceId-metricId-value").await;
    let summary = document["paths"]["/metrics/{resourceId}/{metricId}/value"]["get"]["summary"]
        .as_str()
        .unwrap();
    assert!(value.contains(summary), "{value}");
    assert!(b
        .text("#title")
        .await
        .contains(document["info"]["version"].as_str().unwrap()));
    b.screenshot("api-reference.png").await;

    b.c().back().await.expect("Back");
    b.click("a[href='team/emails.html']").await;
    let to = contact_of(&http, &base, &f.key, &id).await;
    let mine = format!(
        "[...document.querySelectorAll('#emails article')].find(a => a.textContent.includes({}))",
        json!(to)
    );
    let started = Instant::now();
    loop {
        if b.js(&format!("return Boolean({mine});")).await == json!(true) {
            break;
        }
        // moto answers its dump with a 500 while another request changes its state.
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no email to {to}: {}",
            b.text("#messages").await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.click("#reload").await;
    }
    let email = b.js(&format!("return {mine}.textContent;")).await;
    let email = email.as_str().unwrap();
    assert!(
        email.contains(&id) && email.contains("check-landing"),
        "{email}"
    );
    // Newest first: the browser tests run one at a time, so the last email is this one.
    let newest = b.text("#emails article").await;
    assert!(newest.contains(&to) && newest.contains(&id), "{newest}");
    b.go(&format!("{base}/team/")).await;
    b.wait_for(
        "!document.querySelector('#login').hidden",
        "the team page's key form",
    )
    .await;
    if let Some(client) = b.client.as_ref() {
        client.clone().close().await.expect("closing the session");
    }
}

/// The contact a candidate was submitted with, as the API answers it.
async fn contact_of(http: &reqwest::Client, base: &str, key: &str, id: &str) -> String {
    let body: Value = http
        .get(format!("{base}/api/v2/probes/{id}"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["contact"].as_str().expect("contact").to_string()
}

/// 10,000 candidates: the page reads them a page at a time (50 rows, never the whole list),
/// shows more on request, and a search finds one among them. (How long that takes is a figure
/// for the benches, not a test.)
#[tokio::test]
async fn ten_thousand_candidates_are_paged_not_loaded() {
    let _alone = ONE_BROWSER_TEST.lock().await;
    let f = ProbeFixture::new(Role::Monitoring).await;
    let all: Vec<_> = (0..10_000)
        .map(|i| {
            telltale_testkit::probes::legacy_candidate(
                &format!(
                    "bulk-{i:05}-{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..8]
                ),
                &format!("bulk probe {:05}", (i * 7919) % 10_000),
            )
        })
        .collect();
    let mut all = all;
    // The one to find, in a status of its own: moto answers a search of all 10,000 (which
    // reads them through) too slowly for a browser test; DynamoDB reads 1 MB per call.
    all[4321].status = telltale::probes::model::Status::Testing;
    f.import_all(&all).await;
    let watch = Watch::start(&f.env());
    let base = watch.base_url.clone();
    // Warm the function (its first request compiles it under the emulator).
    let http = telltale_testkit::watch::client();
    let _warm = http
        .get(format!("{base}/api/v2/probes/?limit=50"))
        .header("x-api-key", &f.key)
        .send()
        .await
        .unwrap();
    let asked = Instant::now();
    let first = http
        .get(format!("{base}/api/v2/probes/?limit=50"))
        .header("x-api-key", &f.key)
        .send()
        .await
        .unwrap();
    let api_page = asked.elapsed();
    assert_eq!(first.status().as_u16(), 200);
    assert!(first.headers().contains_key("link"));

    let b = Browser::start().await;
    b.go(&format!("{base}/team/")).await;
    b.wait_for("!document.querySelector('#login').hidden", "the key form")
        .await;
    b.type_into("#key", &f.key).await;
    let started = Instant::now();
    b.click("#key-form button[type=submit]").await;
    b.wait_for(
        "document.querySelectorAll('#list tbody tr').length === 50",
        "the first page",
    )
    .await;
    // A figure, not a pass mark (tests check behaviour): moto answers a Query by sorting the
    // whole index in Python, so most of it is the emulator's.
    let first_page = started.elapsed();
    assert_eq!(
        b.text("#list tbody tr a.open").await,
        "bulk probe 00000",
        "the API's order"
    );
    assert!(b.text("#shown").await.starts_with("50 shown, more below"));
    b.click("#more").await;
    b.wait_for(
        "document.querySelectorAll('#list tbody tr').length === 100",
        "the second page",
    )
    .await;
    let loaded = b
        .js("return performance.getEntriesByType('resource').filter(e => e.name.includes('/api/v2/probes')).length;")
        .await;
    assert_eq!(loaded, json!(2), "two pages fetched, not 10,000 candidates");
    let target = &all[4321];
    b.click("#counts button[data-status=testing]").await;
    b.type_into("#search", &target.id[..14]).await;
    b.click("#search-form button[type=submit]").await;
    b.wait_for(
        &format!("document.querySelectorAll('#list tbody tr').length === 1 && document.querySelector('#list tbody tr').dataset.id === '{}'", target.id),
        "the one candidate searched for",
    )
    .await;
    println!(
        "10,000 candidates: first page on the page {first_page:?}, the API's answer alone {api_page:?}"
    );
    if let Some(client) = b.client.as_ref() {
        client.clone().close().await.expect("closing the session");
    }
}
