//! A real browser for the page tests: Debian's `chromium`, headless, driven
//! through `chromedriver` (WebDriver) with fantoccini. Screenshots go to
//! `target/screenshots/` (or `$HALLQ_SCREENSHOTS`) to be looked at.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// A headless Chromium and its driver, ended when dropped.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
    driver: Child,
    /// This browser's own profile folder: its processes are found by it.
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a
    /// window of `width`×`height`, Chinese UI language.
    pub async fn start(width: u32, height: u32) -> Browser {
        Browser::launch(width, height, None).await
    }

    /// A phone: Chromium's mobile emulation at `width`×`height` CSS pixels
    /// (3× density, touch), with the text scaled by `text_percent`.
    pub async fn phone(width: u32, height: u32, text_percent: u32) -> Browser {
        let b = Browser::launch(width, height, Some((width, height))).await;
        if text_percent != 100 {
            b.client
                .execute(
                    &format!("document.documentElement.style.fontSize = '{text_percent}%'"),
                    vec![],
                )
                .await
                .unwrap();
        }
        b
    }

    async fn launch(width: u32, height: u32, mobile: Option<(u32, u32)>) -> Browser {
        for (bin, package) in [
            ("chromedriver", "chromium-driver"),
            ("chromium", "chromium"),
        ] {
            assert!(
                Command::new("sh")
                    .args(["-c", &format!("command -v {bin}")])
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success()),
                "the browser tests need `{bin}`: apt-get install {package} fonts-wqy-zenhei (.ci/run does)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let profile = tempfile::Builder::new()
            .prefix("hallq-chromium-")
            .tempdir()
            .unwrap();
        // Its own process group: the browsers it starts go with it on drop.
        // Their temporary folders (Chromium's `scoped_dir`s, left behind
        // when it is killed) go in the profile, which goes on drop too.
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("TMPDIR", profile.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let mut caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"), "--lang=zh-CN", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }
        });
        if let Some((w, h)) = mobile {
            caps["goog:chromeOptions"]["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": { "width": w, "height": h, "pixelRatio": 3.0, "touch": true },
            });
        }
        let caps = match caps {
            serde_json::Value::Object(m) => m,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no browser session: {e}"),
            }
        };
        Browser {
            client,
            driver,
            profile,
        }
    }

    /// Opens the kiosk at `base` and logs it in as the demo hall's
    /// `kiosk-1`, as its staff does once; waits for its services.
    pub async fn open_kiosk(&self, base: &str) {
        self.client.goto(&format!("{base}/kiosk")).await.unwrap();
        self.wait("#setup-password")
            .await
            .send_keys("demo-kiosk-1-pass")
            .await
            .unwrap();
        self.click("#setup-ok").await;
        self.wait_text("#zones", "社保", 10).await;
    }

    /// Logs a staff account in on the login form at `base`.
    pub async fn staff_login(&self, base: &str, id: &str, password: &str) {
        self.client
            .goto(&format!("{base}/manager/login"))
            .await
            .unwrap();
        self.wait("#login-id").await.send_keys(id).await.unwrap();
        self.wait("#login-password")
            .await
            .send_keys(password)
            .await
            .unwrap();
        self.click("#login-submit").await;
    }

    /// Waits up to 10 s for an element.
    pub async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
    }

    /// Clicks an element, finding it again when the page redrew it between
    /// finding and clicking (the dashboard redraws on every hall event).
    pub async fn click(&self, css: &str) {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let tried = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.click().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match tried {
                Ok(()) => return,
                Err(e) if Instant::now() > until => panic!("cannot click `{css}`: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Waits up to `secs` for the page's text under `css` to contain `text`.
    pub async fn wait_text(&self, css: &str, text: &str, secs: u64) -> String {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let now = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if now.contains(text) {
                return now;
            }
            if Instant::now() > until {
                self.screenshot("failed-wait").await;
                panic!("`{css}` does not show {text:?} within {secs} s; it shows:\n{now}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to 10 s for the text under `css` to be non-empty.
    pub async fn wait_some_text(&self, css: &str) -> String {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && let Ok(t) = e.text().await
                && !t.trim().is_empty()
            {
                return t;
            }
            if Instant::now() > until {
                self.screenshot("failed-wait").await;
                panic!("`{css}` stays empty");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs axe-core (vendored in `tests/assets/axe-core`) on the page as
    /// it is now, for the WCAG 2.0/2.1 level A and AA rules; panics naming
    /// each violated rule and its elements. `state` names the page's state
    /// in the message and the screenshot.
    pub async fn assert_accessible(&self, state: &str) {
        self.check_accessible(state, false).await;
    }

    /// As [`Browser::assert_accessible`], and contrast at AAA (7:1; 4.5:1
    /// for large text): for screens read from across a hall.
    pub async fn assert_accessible_aaa(&self, state: &str) {
        self.check_accessible(state, true).await;
    }

    async fn check_accessible(&self, state: &str, aaa: bool) {
        const AXE: &str = include_str!("../assets/axe-core/axe.min.js");
        self.client
            .execute(AXE, vec![])
            .await
            .expect("axe-core loads");
        let found = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
                if (arguments[0]) tags.push("wcag2aaa");
                axe.run(document, { runOnly: { type: "tag", values: tags } })
                  .then((r) => done(r.violations.map((v) => ({
                      rule: v.id, impact: v.impact, help: v.help,
                      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
                  }))))
                  .catch((e) => done([{ rule: "axe-error", help: String(e), nodes: [] }]));"#,
                vec![serde_json::json!(aaa)],
            )
            .await
            .expect("axe-core runs");
        let violations = found.as_array().cloned().unwrap_or_default();
        if !violations.is_empty() {
            self.screenshot(&format!("a11y-{state}")).await;
            let text: Vec<String> = violations
                .iter()
                .map(|v| {
                    format!(
                        "  {} ({}): {} — {}",
                        v["rule"], v["impact"], v["help"], v["nodes"]
                    )
                })
                .collect();
            panic!("{state}: WCAG 2.1 A/AA violations:\n{}", text.join("\n"));
        }
    }

    /// Saves a screenshot as `NAME.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        save(&format!("{name}.png"), &png)
    }

    /// Prints the page on A4 as the browser's print would, to `NAME.pdf`;
    /// returns the PDF.
    pub async fn print_a4(&self, name: &str) -> Vec<u8> {
        let pdf = self
            .client
            .print(fantoccini::wd::PrintConfiguration::default())
            .await
            .expect("a PDF");
        save(&format!("{name}.pdf"), &pdf);
        pdf
    }
}

/// Where screenshots go: `target/screenshots/`, or `$HALLQ_SCREENSHOTS`.
fn save(file: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::var_os("HALLQ_SCREENSHOTS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap();
    path
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium's processes by their profile folder (killing the driver
        // alone leaves the browser running), then the driver's group.
        let _ = Command::new("pkill")
            .args(["-9", "-f", &self.profile.path().display().to_string()])
            .status();
        let _ = Command::new("kill")
            .args(["-9", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
