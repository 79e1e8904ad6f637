//! The one shared HTTP client and a single conditional GET.

use super::{FetchFailure, Outcome, Patterns, classify_failure, hints};
use crate::config::PollSettings;
use reqwest::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use std::time::Duration;
use url::Url;

const USER_AGENT: &str = concat!(
    "xunjian/",
    env!("CARGO_PKG_VERSION"),
    " (government new-media supervision; +https://github.com/xunjian)"
);
/// What a body buffer starts at when the server sends no `Content-Length`.
const FIRST_BODY_CAPACITY: usize = 16 * 1024;
const ACCEPT_FEEDS: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
     application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5";

/// A successful response: a body to parse (or none on 304) and caching hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub outcome: Outcome,
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// `Cache-Control: max-age`.
    pub max_age: Option<Duration>,
    pub retry_after: Option<Duration>,
    /// The `Content-Type` charset, for bodies that neither start with a BOM
    /// nor declare their own.
    pub charset: Option<String>,
}

/// Fetches feeds politely: one client, timeouts, a body cap, same-origin redirects.
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body_bytes: usize,
    timeout: Duration,
    pub patterns: Patterns,
}

impl Fetcher {
    pub fn new(settings: &PollSettings) -> Result<Fetcher, FetchSetupError> {
        let max_redirects = settings.max_redirects;
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            let is_same_origin = attempt
                .previous()
                .first()
                .is_none_or(|origin| same_origin(origin, attempt.url()));
            if attempt.previous().len() > max_redirects {
                attempt.error(format!("重定向超过 {max_redirects} 次"))
            } else if !is_same_origin {
                let to = crate::config::loggable_url(attempt.url());
                attempt.error(format!(
                    "拒绝重定向到其他主机（协议、主机和端口须保持不变）：{to}"
                ))
            } else {
                attempt.follow()
            }
        });
        let timeout = Duration::from_secs(settings.timeout_seconds);
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(settings.connect_timeout_seconds))
            .timeout(timeout)
            .redirect(redirect)
            .gzip(true)
            .brotli(true)
            .pool_max_idle_per_host(settings.max_concurrency)
            .build()
            .map_err(|e| FetchSetupError(e.to_string()))?;
        let patterns = Patterns::new(&settings.gone_patterns, &settings.blocked_patterns)
            .map_err(|e| FetchSetupError(e.to_string()))?;
        Ok(Fetcher {
            client,
            max_body_bytes: settings.max_body_bytes,
            timeout,
            patterns,
        })
    }

    /// One conditional GET. `is_proxy` says whether the URL is a proxy route
    /// (whose errors are the proxy's) or a plain feed.
    pub async fn get(
        &self,
        url: &Url,
        etag: Option<&str>,
        last_modified: Option<&str>,
        is_proxy: bool,
    ) -> Result<Fetched, FetchFailure> {
        let mut request = self.client.get(url.clone()).header(ACCEPT, ACCEPT_FEEDS);
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(last_modified) = last_modified {
            request = request.header(IF_MODIFIED_SINCE, last_modified);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_failure(e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let retry_after = retry_after(&headers);
        if status == 304 {
            return Ok(Fetched {
                outcome: Outcome::NotModified,
                body: Vec::new(),
                etag: header(&headers, ETAG).or_else(|| etag.map(str::to_owned)),
                last_modified: header(&headers, LAST_MODIFIED)
                    .or_else(|| last_modified.map(str::to_owned)),
                max_age: max_age(&headers),
                retry_after,
                charset: None,
            });
        }
        let body = self.read_body(response).await?;
        if !(200..300).contains(&status) {
            let mut failure = classify_failure(status, &body, is_proxy, &self.patterns);
            failure.retry_after = retry_after;
            return Err(failure);
        }
        Ok(Fetched {
            outcome: Outcome::Ok,
            body,
            etag: header(&headers, ETAG),
            last_modified: header(&headers, LAST_MODIFIED),
            max_age: max_age(&headers),
            retry_after,
            charset: header(&headers, CONTENT_TYPE).and_then(|v| hints::charset(&v)),
        })
    }

    /// A health probe: true when the URL answers 2xx.
    pub async fn probe(&self, url: &Url) -> Result<(), String> {
        let shown = crate::config::loggable_url(url);
        match self.client.get(url.clone()).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!(
                "health check {shown} answered HTTP {}",
                r.status().as_u16()
            )),
            Err(e) => Err(format!(
                "health check {shown} failed: {}",
                self.transport_failure(e).message
            )),
        }
    }

    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, FetchFailure> {
        let too_large = || {
            FetchFailure::new(
                Outcome::Invalid,
                format!("响应超过 {} 字节（解压后），未读取", self.max_body_bytes),
            )
        };
        let declared =
            header(response.headers(), CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.max_body_bytes) {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(
            declared
                .unwrap_or(FIRST_BODY_CAPACITY)
                .min(self.max_body_bytes),
        );
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len().saturating_add(chunk.len()) > self.max_body_bytes {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(self.transport_failure(e)),
            }
        }
    }

    /// The failure as stored and shown: what happened in Chinese, then
    /// reqwest's own words in brackets for whoever fixes it, with its URL
    /// (which may hold the proxy's query key) dropped.
    fn transport_failure(&self, err: reqwest::Error) -> FetchFailure {
        let chain = http_error_text(&err);
        if err.is_redirect() {
            FetchFailure::new(Outcome::Invalid, format!("重定向失败（{chain}）"))
        } else if err.is_timeout() {
            FetchFailure::new(
                Outcome::Network,
                format!("超时：{} 秒内未完成（{chain}）", self.timeout.as_secs()),
            )
        } else if err.is_connect() {
            FetchFailure::new(
                Outcome::Network,
                format!("无法连接{}（{chain}）", connect_cause(&chain)),
            )
        } else if err.is_decode() || err.is_body() {
            FetchFailure::new(Outcome::Invalid, format!("响应内容无法读取（{chain}）"))
        } else {
            FetchFailure::new(Outcome::Network, format!("请求失败（{chain}）"))
        }
    }
}

/// The usual causes of a failed connection, named in Chinese from the
/// words of the error chain; empty when none is recognised.
fn connect_cause(chain: &str) -> &'static str {
    let lower = chain.to_ascii_lowercase();
    [
        ("dns error", "：域名无法解析"),
        ("failed to lookup address", "：域名无法解析"),
        ("connection refused", "：对方拒绝连接"),
        ("network is unreachable", "：网络不可达"),
        ("no route to host", "：网络不可达"),
        ("connection reset", "：连接被对方重置"),
        ("certificate", "：证书无效"),
        ("handshake", "：TLS 握手失败"),
        ("timed out", "：连接超时"),
    ]
    .into_iter()
    .find(|(words, _)| lower.contains(words))
    .map_or("", |(_, cause)| cause)
}

/// Same scheme, host and port (a default port counts as written).
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The settings could not produce a client.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct FetchSetupError(String);

/// A reqwest error and its causes on one line, without the URL: the URL
/// may hold a proxy key, a robot token or the bot token. Every module that
/// turns a reqwest error into text uses this one.
pub fn http_error_text(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text
            .replace(&format!(" for url ({url})"), "")
            .replace(url.as_str(), "…");
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn max_age(headers: &HeaderMap) -> Option<Duration> {
    hints::max_age(&header(headers, CACHE_CONTROL)?)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    hints::retry_after(&header(headers, RETRY_AFTER)?, chrono::Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_keeps_scheme_host_and_port() {
        let url = |s: &str| Url::parse(s).expect("url");
        let origin = url("http://127.0.0.1:1200/weibo/user/1");
        assert!(same_origin(&origin, &url("http://127.0.0.1:1200/other")));
        assert!(!same_origin(&origin, &url("http://127.0.0.1:1201/other")));
        assert!(!same_origin(&origin, &url("https://127.0.0.1:1200/other")));
        assert!(!same_origin(&origin, &url("http://localhost:1200/other")));
        assert!(same_origin(
            &url("https://example.gov.cn/rss"),
            &url("https://example.gov.cn:443/rss2")
        ));
        assert!(!same_origin(
            &url("https://example.gov.cn/rss"),
            &url("https://example.gov.cn:8443/rss")
        ));
    }
}
