//! A WebDriver session on a headless Chromium, and what page tests ask of it.

use std::fmt;
use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use fantoccini::wd::{
    PrintConfiguration, PrintSize, TimeoutConfiguration, WebDriverCompatibleCommand,
};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::driver::{chromium_args, Driver};
use crate::{
    axe_js_path, chromedriver_binary, chromium_binary, cmd_err, given_binary, io_err,
    screenshot_dir, BrowserError, Result, StartError,
};

/// Window size and language of a [`Browser`].
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// Window width in CSS pixels (default 1280).
    pub width: u32,
    /// Window height in CSS pixels (default 900).
    pub height: u32,
    /// UI language (`--lang`) and the first `Accept-Language` entry, e.g. `"zh-CN"`
    /// (default `"en-US"`).
    pub lang: String,
    /// Emulate a phone: touch, `<meta name="viewport">` honoured, the viewport exactly
    /// `width`×`height` at device pixel ratio 1 (chromedriver's `mobileEmulation`). Also used
    /// for any width under 500, the narrowest window headless Chromium makes.
    pub mobile: bool,
    /// More Chromium switches, after [`chromium_args`].
    pub extra_args: Vec<String>,
    /// Run this chromedriver instead of [`crate::chromedriver_binary`]'s.
    pub chromedriver: Option<PathBuf>,
    /// Run this Chromium instead of [`crate::chromium_binary`]'s.
    pub chromium: Option<PathBuf>,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 900,
            lang: "en-US".to_owned(),
            mobile: false,
            extra_args: Vec::new(),
            chromedriver: None,
            chromium: None,
        }
    }
}

impl BrowserOptions {
    /// A desktop window, 1280×900 (the default).
    pub fn desktop() -> Self {
        Self::default()
    }

    /// A phone, 360×780 CSS pixels (see [`BrowserOptions::mobile`]).
    pub fn phone() -> Self {
        Self {
            mobile: true,
            ..Self::default().size(360, 780)
        }
    }

    /// Sets the window size.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// Sets the language, e.g. `"zh-CN"`: `--lang` and `Accept-Language: zh-CN,zh`.
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = lang.into();
        self
    }

    /// Sets [`BrowserOptions::chromedriver`]; a path that is not an executable file is a skip.
    pub fn chromedriver(mut self, path: impl Into<PathBuf>) -> Self {
        self.chromedriver = Some(path.into());
        self
    }

    /// Sets [`BrowserOptions::chromium`]; a path that is not an executable file is a skip.
    pub fn chromium(mut self, path: impl Into<PathBuf>) -> Self {
        self.chromium = Some(path.into());
        self
    }

    /// `Accept-Language` for [`BrowserOptions::lang`]: `"zh-CN,zh"`, `"en-US,en"`, `"fr"`.
    pub fn accept_languages(&self) -> String {
        match self.lang.split_once('-') {
            Some((primary, _)) => format!("{},{primary}", self.lang),
            None => self.lang.clone(),
        }
    }

    fn capabilities(
        &self,
        chromium: &std::path::Path,
        profile: &std::path::Path,
    ) -> serde_json::Map<String, Value> {
        let mut args = chromium_args();
        args.push(format!("--window-size={},{}", self.width, self.height));
        args.push(format!("--lang={}", self.lang));
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend(self.extra_args.iter().cloned());
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": args,
                "prefs": { "intl": { "accept_languages": self.accept_languages() } },
            },
            // The page's console (console.error, uncaught exceptions, failed loads), read by
            // `console_errors` through chromedriver's log endpoint.
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let mut caps = match caps {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        if self.mobile || self.width < 500 {
            let metrics = json!({
                "width": self.width,
                "height": self.height,
                "pixelRatio": 1.0,
                "mobile": self.mobile,
                "touch": self.mobile,
            });
            if let Some(Value::Object(chrome)) = caps.get_mut("goog:chromeOptions") {
                chrome.insert(
                    "mobileEmulation".to_owned(),
                    json!({ "deviceMetrics": metrics }),
                );
            }
        }
        caps
    }
}

/// One entry of the browser console, as chromedriver reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConsoleEntry {
    /// `SEVERE` (errors), `WARNING`, `INFO`, `DEBUG`.
    pub level: String,
    /// `console-api` (console.error), `javascript` (uncaught exceptions), `network` (failed
    /// loads), ...
    #[serde(default)]
    pub source: String,
    /// Where and what, e.g. `http://127.0.0.1:4711/ 5:16 "boom"`.
    pub message: String,
}

/// One axe-core rule a page breaks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AxeViolation {
    /// The rule, e.g. `label`, `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    /// What the rule asks, e.g. "Form elements must have labels".
    pub help: String,
    /// Deque's page about the rule.
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    /// The elements that break it.
    pub nodes: Vec<AxeNode>,
}

/// An element that breaks an axe-core rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AxeNode {
    /// CSS selector of the element (frames and shadow roots joined by spaces).
    pub target: String,
    /// The element's opening HTML.
    pub html: String,
}

impl fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let impact = self.impact.as_deref().unwrap_or("?");
        write!(f, "{} ({impact}): {}", self.id, self.help)?;
        for node in &self.nodes {
            write!(f, "\n    {}  {}", node.target, node.html)?;
        }
        Ok(())
    }
}

/// A headless Chromium driven through chromedriver on 127.0.0.1. Dropping it ends the session
/// and kills chromedriver and Chromium; [`Browser::close`] does the same and reports errors.
#[derive(Debug)]
pub struct Browser {
    client: Client,
    options: BrowserOptions,
    /// Last field: dropped (session ended, processes killed) after the client.
    driver: Driver,
}

impl Browser {
    /// A 1280×900 `en-US` browser; see [`Browser::start_with`].
    pub async fn start() -> Result<Self, StartError> {
        Self::start_with(BrowserOptions::default()).await
    }

    /// Finds chromedriver and Chromium ([`StartError::Skip`] if either is missing), starts
    /// chromedriver on a free loopback port and opens a headless session with `options`.
    pub async fn start_with(options: BrowserOptions) -> Result<Self, StartError> {
        let chromedriver = match &options.chromedriver {
            Some(path) => given_binary(path, "chromedriver", "chromium-driver"),
            None => chromedriver_binary(),
        }
        .map_err(StartError::Skip)?;
        let chromium = match &options.chromium {
            Some(path) => given_binary(path, "Chromium", "chromium"),
            None => chromium_binary(),
        }
        .map_err(StartError::Skip)?;
        let mut driver = Driver::start(&chromedriver)?;
        let caps = options.capabilities(&chromium, &driver.profile_dir());
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url())
            .await;
        let client = match connected {
            Ok(client) => client,
            Err(source) => {
                return Err(StartError::Failed(BrowserError::Session {
                    source: Box::new(source),
                    log_tail: driver.log_tail(),
                }))
            }
        };
        driver.register_session(client.session_id().await.ok().flatten());
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(60)),
                Some(Duration::ZERO),
            ))
            .await
            .map_err(cmd_err("set timeouts"))?;
        Ok(Self {
            client,
            options,
            driver,
        })
    }

    /// The fantoccini client, for everything else (find, click, forms, waits).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The options the browser was started with.
    pub fn options(&self) -> &BrowserOptions {
        &self.options
    }

    /// Everything chromedriver logged so far (for failure messages).
    pub fn driver_log(&self) -> String {
        self.driver.log()
    }

    /// Opens `url`, waits for its load event and checks that the browser shows a page of that site.
    ///
    /// Why the check: headless Chromium opens its own start-up tab (the new-tab page) while
    /// chromedriver attaches, and on a loaded machine a navigation can land before that tab
    /// has settled and be replaced by it; a test then prints or reads the new-tab page. The
    /// navigation is retried a few times before this gives up with what the browser shows.
    pub async fn goto(&self, url: &str) -> Result<()> {
        const ATTEMPTS: u32 = 3;
        let mut shown = String::new();
        for attempt in 1..=ATTEMPTS {
            self.client.goto(url).await.map_err(cmd_err("navigate"))?;
            shown = self
                .eval("return document.location.href;", vec![])
                .await?
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if same_site(&shown, url) {
                return Ok(());
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
        Err(BrowserError::Script {
            what: "navigate",
            detail: format!("asked for {url}, the browser shows {shown} after {ATTEMPTS} tries"),
        })
    }

    /// Runs `script` in the page (as a function body; `arguments[i]` are `args`) and returns
    /// what it returns.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.client
            .execute(script, args)
            .await
            .map_err(cmd_err("execute script"))
    }

    /// Saves a PNG of the viewport as `<screenshot_dir>/<name>.png` (characters other than
    /// letters, digits, `-`, `_` and `.` become `_`) and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(cmd_err("take a screenshot"))?;
        let dir = screenshot_dir();
        fs::create_dir_all(&dir).map_err(io_err(format!("create {}", dir.display())))?;
        let mut file: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !file.ends_with(".png") {
            file.push_str(".png");
        }
        let path = dir.join(file);
        fs::write(&path, png).map_err(io_err(format!("write {}", path.display())))?;
        Ok(path)
    }

    /// Every URL the current document loaded (its navigation entry and its resource timing
    /// entries: images, scripts, styles, fonts, fetch/XHR, beacons, failed loads included)
    /// whose origin is not `allowed_origin` (e.g. `http://127.0.0.1:8080`). `data:`, `blob:`
    /// and `about:` URLs load nothing from the network and are never reported. Entries belong
    /// to one document: call this before navigating away.
    pub async fn requests_leaving(&self, allowed_origin: &str) -> Result<Vec<String>> {
        let allowed = url::Url::parse(allowed_origin)
            .map_err(|e| BrowserError::Script {
                what: "allowed origin",
                detail: format!("{allowed_origin:?}: {e}"),
            })?
            .origin();
        let names = self
            .eval(
                "return performance.getEntriesByType('navigation')
                    .concat(performance.getEntriesByType('resource'))
                    .map(e => e.name);",
                vec![],
            )
            .await?;
        let names: Vec<String> =
            serde_json::from_value(names).map_err(|e| BrowserError::Script {
                what: "performance entries",
                detail: e.to_string(),
            })?;
        Ok(names
            .into_iter()
            .filter(|name| match url::Url::parse(name) {
                Ok(url) if matches!(url.scheme(), "data" | "blob" | "about") => false,
                Ok(url) => url.origin() != allowed,
                Err(_) => true,
            })
            .collect())
    }

    /// The console entries at level `SEVERE` (console.error, uncaught exceptions, failed
    /// loads) since the previous call or the session start. They come from chromedriver's
    /// browser log (`goog:loggingPrefs`, read with `POST /session/{id}/se/log`), so errors
    /// logged before any script of ours could run are included; reading drains the log.
    pub async fn console_errors(&self) -> Result<Vec<ConsoleEntry>> {
        Ok(self
            .console_log()
            .await?
            .into_iter()
            .filter(|e| e.level == "SEVERE")
            .collect())
    }

    /// Every console entry since the previous read (see [`Browser::console_errors`]).
    pub async fn console_log(&self) -> Result<Vec<ConsoleEntry>> {
        // Once, under load, a console.error of the page just loaded was not in the log yet:
        // the log endpoint is a session command, and chromedriver apparently takes in the
        // DevTools events it has received only for commands on a window. So one goes first.
        self.eval("return 0;", vec![]).await?;
        let value = self
            .client
            .issue_cmd(GetLog { kind: "browser" })
            .await
            .map_err(cmd_err("read the browser log"))?;
        serde_json::from_value(value).map_err(|e| BrowserError::Script {
            what: "browser log",
            detail: e.to_string(),
        })
    }

    /// Runs the pinned axe-core on the current page with the rules of `tags` (e.g.
    /// [`crate::WCAG21_A_AA`]) and returns the violations (empty: the page passes).
    pub async fn axe(&self, tags: &[&str]) -> Result<Vec<AxeViolation>> {
        let loaded = self
            .eval("return typeof window.axe === 'object';", vec![])
            .await?;
        if loaded != Value::Bool(true) {
            self.eval(axe_source()?, vec![]).await?;
        }
        let answer = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: arguments[0] },
                                     resultTypes: ['violations'] })
                   .then(r => done({ violations: r.violations.map(v => ({
                       id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                       nodes: v.nodes.map(n => ({ target: n.target.flat(Infinity).join(' '),
                                                  html: n.html })) })) }))
                   .catch(e => done({ error: String((e && e.stack) || e) }));",
                vec![json!(tags)],
            )
            .await
            .map_err(cmd_err("run axe-core"))?;
        if let Some(error) = answer.get("error") {
            return Err(BrowserError::Script {
                what: "axe.run",
                detail: error.to_string(),
            });
        }
        serde_json::from_value(answer.get("violations").cloned().unwrap_or(Value::Null)).map_err(
            |e| BrowserError::Script {
                what: "axe results",
                detail: e.to_string(),
            },
        )
    }

    /// Prints the current page to PDF with WebDriver's Print command: A4 portrait, 1 cm
    /// margins, backgrounds printed (the print stylesheet applies).
    pub async fn print_pdf(&self) -> Result<Vec<u8>> {
        let config = PrintConfiguration::builder()
            .size(PrintSize::A4)
            .background(true)
            .build()
            .map_err(|e| BrowserError::Script {
                what: "print configuration",
                detail: e.to_string(),
            })?;
        self.client.print(config).await.map_err(cmd_err("print"))
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(self) -> Result<()> {
        let Self { client, driver, .. } = self;
        let closed = client.close().await.map_err(cmd_err("end the session"));
        let mut driver = driver;
        driver.register_session(None);
        drop(driver);
        closed
    }
}

/// The text of the pinned axe-core, read once per process.
fn axe_source() -> Result<&'static str> {
    static SOURCE: OnceLock<Result<String, String>> = OnceLock::new();
    SOURCE
        .get_or_init(|| {
            let path = axe_js_path().map_err(|e| e.to_string())?;
            fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))
        })
        .as_deref()
        .map_err(|e| BrowserError::Axe(e.clone()))
}

/// chromedriver's `POST /session/{id}/se/log` (the W3C-mode path of the old `/log`).
#[derive(Debug)]
struct GetLog {
    kind: &'static str,
}

impl WebDriverCompatibleCommand for GetLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": self.kind }).to_string()),
        )
    }
}

/// Whether the browser shows a page of the site asked for: the same origin (scheme, host and
/// port) for http(s) URLs, which lets a server redirect within its site; the same URL
/// otherwise (`about:blank`, `data:`).
fn same_site(shown: &str, asked: &str) -> bool {
    fn origin(url: &str) -> Option<&str> {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))?;
        let host_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        Some(&url[..url.len() - rest.len() + host_len])
    }
    match (origin(shown), origin(asked)) {
        (Some(shown), Some(asked)) => shown == asked,
        (None, None) => shown == asked,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::same_site;

    #[test]
    fn a_page_counts_as_shown_when_it_is_on_the_origin_asked_for() {
        assert!(same_site("http://127.0.0.1:80/", "http://127.0.0.1:80"));
        assert!(same_site(
            "http://127.0.0.1:80/signin?next=%2F",
            "http://127.0.0.1:80/"
        ));
        assert!(same_site("about:blank", "about:blank"));
        assert!(!same_site(
            "chrome://new-tab-page/",
            "http://127.0.0.1:80/print"
        ));
        assert!(!same_site(
            "http://127.0.0.1:81/print",
            "http://127.0.0.1:80/print"
        ));
        assert!(!same_site("http://127.0.0.1:80/", "about:blank"));
    }
}
