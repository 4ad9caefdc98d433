#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The harness against a real headless Chromium and tiny pages served on 127.0.0.1: loading,
//! screenshots, requests that leave, console errors, axe-core, printing to A4 PDF, window size
//! and language. Every test skips (prints `skipped: <reason>`) without Chromium.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use pilot_browser_harness::{
    browser_or_skip, pdf_info, pdf_text, Browser, BrowserOptions, StartError, WCAG21_A_AA,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const HEAD: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><link rel="stylesheet" href="/style.css">"#;

fn page(title: &str, body: &str) -> String {
    format!("{HEAD}<title>{title}</title></head><body><main>{body}</main></body></html>")
}

/// A fixed set of pages on a free 127.0.0.1 port; `/lang` echoes the Accept-Language header.
struct Site {
    origin: String,
}

impl Site {
    async fn start() -> Self {
        let clean = page(
            "Clean",
            r#"<h1>Pilot overview</h1><p>Every pilot, its stage and office.</p>
               <form><label for="q">Search titles</label> <input id="q" name="q"></form>
               <img src="/dot.svg" alt="A green dot" width="16" height="16">"#,
        );
        let pages: HashMap<&'static str, (&'static str, String)> = HashMap::from([
            ("/", ("text/html; charset=utf-8", clean.clone())),
            (
                "/style.css",
                ("text/css", "body { font-family: sans-serif; color: #111; background: #fff; }".to_owned()),
            ),
            (
                "/dot.svg",
                (
                    "image/svg+xml",
                    r##"<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" r="7" fill="#2a2"/></svg>"##.to_owned(),
                ),
            ),
            (
                "/leaky",
                (
                    "text/html; charset=utf-8",
                    page("Leaky", r#"<h1>Leaky</h1><img src="http://example.invalid/x.png" alt="x">"#),
                ),
            ),
            (
                "/console",
                (
                    "text/html; charset=utf-8",
                    page("Console", r#"<h1>Console</h1><script>console.error("boom from the page")</script>"#),
                ),
            ),
            (
                "/unlabelled",
                (
                    "text/html; charset=utf-8",
                    page("Unlabelled", r#"<h1>Form</h1><form><input name="q"></form>"#),
                ),
            ),
            (
                "/print",
                (
                    "text/html; charset=utf-8",
                    page(
                        "Dossier",
                        r#"<h1>Briefing dossier: Nanguo HIHC</h1>
                           <p>Insured: 880,000 against a target of 1,000,000.</p>
                           <p lang="zh-CN">南国城乡居民医疗保险试点</p>"#,
                    ),
                ),
            ),
        ]);
        let pages = Arc::new(pages);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let pages = Arc::clone(&pages);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let request = String::from_utf8_lossy(&request);
                    let path = request.split_whitespace().nth(1).unwrap_or("/");
                    let path = path.split('?').next().unwrap_or("/");
                    let (status, kind, body) = if path == "/lang" {
                        let accept = request
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("Accept-Language: ")
                                    .or_else(|| l.strip_prefix("accept-language: "))
                            })
                            .unwrap_or("")
                            .to_owned();
                        let body = page(
                            "Lang",
                            &format!(r#"<h1>Language</h1><p id="accept">{accept}</p>"#),
                        );
                        ("200 OK", "text/html; charset=utf-8", body)
                    } else if let Some((kind, body)) = pages.get(path) {
                        ("200 OK", *kind, body.clone())
                    } else {
                        ("404 Not Found", "text/plain", "not found".to_owned())
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { origin }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

#[tokio::test]
async fn a_page_loads_and_its_screenshot_is_a_png() {
    let started = Instant::now();
    let site = Site::start().await;
    let browser = browser_or_skip!(Browser::start());
    eprintln!("browser started in {:?}", started.elapsed());
    browser.goto(&site.url("/")).await.unwrap();
    assert_eq!(browser.client().title().await.unwrap(), "Clean");

    let path = browser.screenshot("harness clean/page").await.unwrap();
    assert!(
        path.ends_with("harness_clean_page.png"),
        "{}",
        path.display()
    );
    let png = std::fs::read(&path).unwrap();
    assert_eq!(
        &png[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    // IHDR: width and height of the viewport, big-endian at bytes 16..24.
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 1280, "screenshot width");
    browser.close().await.unwrap();
    eprintln!("test done in {:?}", started.elapsed());
}

#[tokio::test]
async fn requests_leaving_the_site_are_reported() {
    let site = Site::start().await;
    let browser = browser_or_skip!(Browser::start());
    browser.goto(&site.url("/")).await.unwrap();
    // The page, its stylesheet and its image: all from the site.
    assert_eq!(
        browser.requests_leaving(&site.origin).await.unwrap(),
        Vec::<String>::new()
    );

    browser.goto(&site.url("/leaky")).await.unwrap();
    let leaving = browser.requests_leaving(&site.origin).await.unwrap();
    assert_eq!(leaving, vec!["http://example.invalid/x.png".to_owned()]);
    // Another port on 127.0.0.1 is another service: it is reported too.
    let other = format!(
        "http://127.0.0.1:{}",
        1 + site
            .origin
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap()
    );
    let from_elsewhere = browser.requests_leaving(&other).await.unwrap();
    assert!(
        from_elsewhere.contains(&site.url("/leaky")),
        "{from_elsewhere:?}"
    );
}

#[tokio::test]
async fn console_errors_are_reported() {
    let site = Site::start().await;
    let browser = browser_or_skip!(Browser::start());
    browser.goto(&site.url("/")).await.unwrap();
    assert_eq!(browser.console_errors().await.unwrap(), vec![]);

    browser.goto(&site.url("/console")).await.unwrap();
    let errors = browser.console_errors().await.unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("boom from the page")),
        "{errors:?}"
    );
    // Reading drains the log.
    assert_eq!(browser.console_errors().await.unwrap(), vec![]);
}

#[tokio::test]
async fn axe_finds_an_unlabelled_input_and_passes_a_clean_page() {
    let site = Site::start().await;
    let browser = browser_or_skip!(Browser::start());
    browser.goto(&site.url("/")).await.unwrap();
    let clean = browser.axe(WCAG21_A_AA).await.unwrap();
    assert!(
        clean.is_empty(),
        "violations on the clean page:\n{}",
        list(&clean)
    );

    browser.goto(&site.url("/unlabelled")).await.unwrap();
    let found = browser.axe(WCAG21_A_AA).await.unwrap();
    let label = found.iter().find(|v| v.id == "label");
    let label = label.unwrap_or_else(|| panic!("no `label` violation in:\n{}", list(&found)));
    assert_eq!(label.nodes.len(), 1, "{label}");
    assert!(label.nodes[0].html.contains(r#"name="q""#), "{label}");
}

fn list(violations: &[pilot_browser_harness::AxeViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_page_prints_to_an_a4_pdf_with_its_text() {
    let site = Site::start().await;
    let browser = browser_or_skip!(Browser::start());
    browser.goto(&site.url("/print")).await.unwrap();
    let pdf = browser.print_pdf().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");

    let text = pdf_text(&pdf).unwrap();
    assert!(text.contains("Briefing dossier: Nanguo HIHC"), "{text}");
    assert!(
        text.contains("880,000 against a target of 1,000,000"),
        "{text}"
    );
    // Rendered with the system's CJK font (fonts-noto-cjk) and extractable again.
    assert!(text.contains("南国城乡居民医疗保险试点"), "{text}");

    let info = pdf_info(&pdf).unwrap();
    assert_eq!(info.pages, 1, "{info:?}");
    assert!(info.is_a4(), "{info:?}");
    // Chromium lays the page out in whole CSS pixels: its MediaBox is 595.92 x 841.92 pt,
    // 210 x 297 mm to within a quarter of a millimetre.
    assert_eq!(
        (info.width_pt.trunc(), info.height_pt.round()),
        (595.0, 842.0),
        "{info:?}"
    );
}

#[tokio::test]
async fn window_size_and_language_are_set() {
    let site = Site::start().await;
    let browser = browser_or_skip!(Browser::start_with(BrowserOptions::phone().lang("zh-CN")));
    browser.goto(&site.url("/lang")).await.unwrap();
    let accept = browser
        .eval(
            "return document.getElementById('accept').textContent;",
            vec![],
        )
        .await
        .unwrap();
    // Chromium adds the weights itself.
    assert_eq!(accept, "zh-CN,zh;q=0.9");
    let seen = browser
        .eval("return [window.innerWidth, navigator.language];", vec![])
        .await
        .unwrap();
    assert_eq!(seen, serde_json::json!([360, "zh-CN"]));
    let path = browser.screenshot("harness-phone-zh").await.unwrap();
    let png = std::fs::read(path).unwrap();
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 360);
}

#[tokio::test]
async fn a_missing_chromedriver_is_a_skip_that_says_how_to_install() {
    let options = BrowserOptions::default().chromedriver("/nonexistent/chromedriver");
    match Browser::start_with(options).await {
        Err(StartError::Skip(skip)) => {
            assert!(skip.reason.contains("/nonexistent/chromedriver"), "{skip}");
            assert!(
                skip.reason.contains("apt-get install chromium-driver"),
                "{skip}"
            );
        }
        Err(StartError::Failed(e)) => panic!("expected a skip, got {e}"),
        Ok(_) => panic!("expected a skip, got a browser"),
    }
}

/// Chromium's own requests, from its net log over 10 idle seconds: only the one that no switch
/// turns off (docs/browser-tests.md), and it fails inside Chromium on the resolver rule. A new
/// Chromium that reaches for something else fails this test; add the switch that stops it.
#[tokio::test]
async fn chromium_itself_reaches_only_for_the_known_blocked_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let net_log = dir.path().join("netlog.json");
    let mut options = BrowserOptions::default();
    options
        .extra_args
        .push(format!("--log-net-log={}", net_log.display()));
    let browser = browser_or_skip!(Browser::start_with(options));
    browser.goto("about:blank").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    browser.close().await.unwrap(); // Chromium finishes the log as it quits

    let log = std::fs::read_to_string(&net_log).unwrap();
    let mut hosts: Vec<&str> = log
        .split("\"url\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|url| url.split_once("://"))
        .filter(|(scheme, _)| matches!(*scheme, "http" | "https" | "ws" | "wss"))
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or(rest))
        .filter(|host| !host.starts_with("127.0.0.1") && !host.starts_with("localhost"))
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    let known = ["accounts.google.com"];
    let unknown: Vec<&&str> = hosts.iter().filter(|h| !known.contains(h)).collect();
    assert!(
        unknown.is_empty(),
        "Chromium reached for {unknown:?} (all: {hosts:?})"
    );
    // Those it did reach for never resolved.
    if !hosts.is_empty() {
        // ERR_NAME_NOT_RESOLVED, on the host the resolver rule maps every name to.
        assert!(
            log.contains("\"net_error\":-105") && log.contains("\"host\":\"https://~notfound\""),
            "no resolver-rule failures in the net log"
        );
    }
    eprintln!("Chromium's own attempts, all blocked: {hosts:?}");
}
