//! A small W3C WebDriver client over reqwest, driving Debian's headless
//! `chromium` through `chromedriver` (both installed by `.ci/run`).

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver, running on a free port until dropped.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

/// Where chromedriver is, or `None` (the test is skipped outside CI).
pub fn chromedriver() -> Option<&'static str> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
}

impl Driver {
    pub async fn start(path: &str) -> Driver {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let mut child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    return Driver { child, base, http };
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("chromedriver did not start");
    }

    /// A new headless browser window of `width`×`height`.
    pub async fn session(&self, width: u32, height: u32) -> Browser {
        let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .unwrap_or("/usr/bin/chromium");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--window-size={width},{height}"), "--lang=zh-CN"]
            }
        }}});
        let reply: Value = self
            .http
            .post(format!("{}/session", self.base))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let id = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"))
            .to_string();
        Browser {
            url: format!("{}/session/{id}", self.base),
            http: self.http.clone(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
pub struct Browser {
    url: String,
    http: reqwest::Client,
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply: Value = request
            .send()
            .await
            .expect("webdriver request")
            .json()
            .await
            .expect("webdriver JSON");
        if let Some(error) = reply["value"].get("error") {
            panic!("webdriver {path}: {error} {}", reply["value"]["message"]);
        }
        reply["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The first element matching a CSS selector, if any.
    async fn try_find(&self, css: &str) -> Option<String> {
        let reply: Value = self
            .http
            .post(format!("{}/element", self.url))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        reply["value"][ELEMENT].as_str().map(str::to_string)
    }

    /// The first element matching a CSS selector; panics with the page when none.
    pub async fn find(&self, css: &str) -> String {
        match self.try_find(css).await {
            Some(id) => id,
            None => panic!("no element {css} on:\n{}", self.text("body").await),
        }
    }

    /// How many elements match.
    pub async fn count(&self, css: &str) -> usize {
        let found = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found.as_array().map_or(0, Vec::len)
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn type_in(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// The visible text of the first match ("" when there is none).
    pub async fn text(&self, css: &str) -> String {
        let Some(id) = self.try_find(css).await else {
            return String::new();
        };
        // The page may change under us (a form just sent): "" then.
        let reply: Value = match self
            .http
            .get(format!("{}/element/{id}/text", self.url))
            .send()
            .await
        {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => Value::Null,
        };
        reply["value"].as_str().unwrap_or_default().to_string()
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("a base64 PNG")
    }

    /// The text of `css` once it contains `needle` (a page after a click
    /// may still be loading), or what it was after 10 s.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let mut text = String::new();
        for _ in 0..100 {
            text = self.text(css).await;
            if text.contains(needle) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        text
    }

    /// A cookie's value, HttpOnly ones too (WebDriver sees them all).
    pub async fn cookie(&self, name: &str) -> String {
        let cookie = self
            .call(reqwest::Method::GET, &format!("/cookie/{name}"), None)
            .await;
        cookie["value"].as_str().unwrap_or_default().to_string()
    }

    pub async fn forget_cookies(&self) {
        self.call(reqwest::Method::DELETE, "/cookie", None).await;
    }

    pub async fn close(self) {
        let _ = self.http.delete(&self.url).send().await;
    }
}
