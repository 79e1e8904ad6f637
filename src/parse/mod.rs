//! Feed → posts. Pure: bytes and the fetch time in, posts out.
//!
//! Reads RSS 0.9x/1.0/2.0, Atom and JSON Feed (feed-rs), gives every item a
//! stable dedup key, a publication time that cannot lie about the future, and
//! a kind (original / repost / unknown) with the evidence for it. Bodies in
//! any charset are decoded to UTF-8 first (see `decode`).
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod classify;
mod decode;
mod dedup;
mod plain_rss;
mod xml;

pub use classify::{Classifier, PostKind};
pub use dedup::{dedup_key, normalize_link};

use crate::registry::Platform;
use chrono::{DateTime, Utc};

/// One item of a feed, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub dedup_key: String,
    /// When it was published; the fetch time when the feed gave none or a future one.
    pub published_at: DateTime<Utc>,
    /// True when `published_at` is not the feed's own date (missing).
    pub is_date_estimated: bool,
    pub title: Option<String>,
    pub link: Option<String>,
    pub author: Option<String>,
    pub kind: PostKind,
    /// Which marker decided the kind.
    pub evidence: String,
    /// The item's text as plain text, at most 64 KB (kept for rescanning).
    pub text: String,
    /// A 停更公告 (see [`crate::content::is_closing_notice`]).
    pub is_notice: bool,
    /// What the content checks found in it (filled in by the poller).
    pub hits: Vec<crate::content::Hit>,
    /// The open 转载任务 it carries (filled in by the poller).
    pub tasks: Vec<i64>,
    /// `text` packed for keeping (filled in by the poller's content
    /// checks, off the writer's path; storage packs it when empty).
    pub packed: Vec<u8>,
}

/// A parsed feed: the account name it shows and its posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFeed {
    pub title: Option<String>,
    /// `<ttl>` in minutes, when the feed states one.
    pub ttl_minutes: Option<u32>,
    pub posts: Vec<Post>,
}

/// Why a body is not a usable feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("不是订阅源：服务器返回的是网页（{0}）")]
    Html(String),
    #[error("不是可识别的订阅源（{0}）")]
    Malformed(String),
    #[error("订阅源内容为空")]
    Empty,
}

/// Parses a feed body fetched at `fetched_at` for an account on `platform`,
/// with no charset from HTTP (the body and its declaration decide).
pub fn parse_feed(
    body: &[u8],
    platform: Platform,
    classifier: &Classifier,
    fetched_at: DateTime<Utc>,
) -> Result<ParsedFeed, ParseError> {
    parse_feed_with_charset(body, None, platform, classifier, fetched_at)
}

/// Parses a feed body served with the `Content-Type` charset `http_charset`.
/// A BOM, or a declaration that decodes the body, wins over the HTTP charset.
pub fn parse_feed_with_charset(
    body: &[u8],
    http_charset: Option<&str>,
    platform: Platform,
    classifier: &Classifier,
    fetched_at: DateTime<Utc>,
) -> Result<ParsedFeed, ParseError> {
    parse_feed_knowing(
        body,
        http_charset,
        platform,
        classifier,
        fetched_at,
        &|_| false,
    )
}

/// [`parse_feed_with_charset`] for a poller that knows some of the feed's
/// posts: an item whose dedup key `is_known` says is stored already, and
/// needs no second look, comes back with its key, dates, title, link and
/// author only: no text, kind (`Unknown`) or notice flag. Turning its HTML
/// into text and classifying it were half of a cycle in which most feeds
/// list one new post.
pub fn parse_feed_knowing(
    body: &[u8],
    http_charset: Option<&str>,
    platform: Platform,
    classifier: &Classifier,
    fetched_at: DateTime<Utc>,
    is_known: &dyn Fn(&str) -> bool,
) -> Result<ParsedFeed, ParseError> {
    let text = decode::to_utf8(body, http_charset);
    let head = prefix(&text, 1024).to_ascii_lowercase();
    let trimmed = head.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    if trimmed.starts_with("<!doctype html") || trimmed.starts_with("<html") {
        return Err(ParseError::Html(html_title(&text)));
    }
    let text = decode::without_rss_namespace(&text);
    let text = decode::without_empty_atom_types(&text);
    let (title, ttl_minutes, items) = match plain_rss::read(&text) {
        Some(channel) => (channel.title, channel.ttl, channel.items),
        None => {
            let parser = feed_rs::parser::Builder::new()
                // An empty id marks "the feed gave none": the dedup key then falls back to the link.
                .id_generator(|_, _, _| String::new())
                .sanitize_content(false)
                .build();
            let feed = parser
                .parse(text.as_bytes())
                .map_err(|e| ParseError::Malformed(one_line(&e.to_string())))?;
            let items = feed.entries.into_iter().map(Item::from_entry).collect();
            (feed.title.map(|t| t.content), feed.ttl, items)
        }
    };
    let title = title
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let posts = items
        .into_iter()
        .map(|item| {
            let feed = (platform, title.as_deref());
            to_post(item, feed, classifier, fetched_at, is_known)
        })
        .collect();
    Ok(ParsedFeed {
        title,
        ttl_minutes,
        posts,
    })
}

/// One feed item, as read by either reader: only what a post is made of.
#[derive(Debug, Default, PartialEq, Eq)]
struct Item {
    /// The guid (empty when the feed gave none).
    id: String,
    /// The first link's href.
    link: Option<String>,
    title: Option<String>,
    /// `<description>` / Atom summary, trimmed.
    summary: Option<String>,
    /// `<content:encoded>` / Atom content (base64 decoded).
    content: Option<String>,
    published: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
    /// The first author's name.
    author: Option<String>,
}

impl Item {
    fn from_entry(entry: feed_rs::model::Entry) -> Item {
        let content = entry.content.and_then(|c| {
            let body = c.body?;
            let media = c.content_type.to_string().to_ascii_lowercase();
            let essence = media.split(';').next().unwrap_or_default().trim();
            Some(match is_base64_type(essence) {
                true => from_base64(&body).unwrap_or(body),
                false => body,
            })
        });
        Item {
            id: entry.id,
            link: entry.links.into_iter().next().map(|l| l.href),
            title: entry.title.map(|t| t.content),
            summary: entry.summary.map(|t| t.content),
            content,
            published: entry.published,
            updated: entry.updated,
            author: entry.authors.into_iter().next().and_then(|a| a.name),
        }
    }
}

/// One feed item as a post of the feed called `feed_title`.
fn to_post(
    item: Item,
    (platform, feed_title): (Platform, Option<&str>),
    classifier: &Classifier,
    fetched_at: DateTime<Utc>,
    is_known: &dyn Fn(&str) -> bool,
) -> Post {
    let link = item.link.map(|href| href.trim().to_string());
    let item_title = item.title;
    let summary = item.summary.unwrap_or_default();
    let content = item.content.unwrap_or_default();
    let text = if content.len() >= summary.len() {
        content
    } else {
        summary
    };
    let key = dedup_key(&item.id, link.as_deref(), item_title.as_deref(), &text);
    let (published_at, is_date_estimated) = match item.published.or(item.updated) {
        Some(at) if at > fetched_at => (fetched_at, false),
        Some(at) => (at, false),
        None => (fetched_at, true),
    };
    let title = item_title.as_deref().map(|t| truncate(t.trim(), 500));
    let author = item.author.map(|name| truncate(name.trim(), 200));
    let mut post = Post {
        dedup_key: key,
        published_at,
        is_date_estimated,
        title,
        link,
        author,
        kind: PostKind::Unknown,
        evidence: String::new(),
        text: String::new(),
        is_notice: false,
        hits: Vec::new(),
        tasks: Vec::new(),
        packed: Vec::new(),
    };
    if is_known(&post.dedup_key) {
        return post;
    }
    let item_title = item_title.as_deref().unwrap_or_default();
    (post.kind, post.evidence) = classifier.classify(platform, item_title, &text, feed_title);
    post.text = crate::content::plain_text(&text);
    post.is_notice = crate::content::is_closing_notice(item_title, &post.text);
    post
}

/// Atom content of a type neither text nor XML is base64 (RFC 4287 4.1.3.3).
fn is_base64_type(essence: &str) -> bool {
    !(essence.starts_with("text/")
        || essence.ends_with("xml")
        || matches!(essence, "text" | "html" | "xhtml" | ""))
}

/// Base64 text (line breaks allowed) that decodes to UTF-8 text.
fn from_base64(body: &str) -> Option<String> {
    use base64::Engine as _;
    let compact: String = body.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    String::from_utf8(bytes).ok()
}

fn html_title(text: &str) -> String {
    let text = prefix(text, 64 * 1024);
    let lower = text.to_ascii_lowercase();
    let title = lower
        .find("<title>")
        // `lower` and `text` share byte offsets: only ASCII letters changed case.
        .and_then(|start| text.get(start.checked_add("<title>".len())?..))
        .and_then(|rest| rest.get(..rest.find("</")?))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    title.map_or_else(
        || "无标题".to_string(),
        |t| format!("标题「{}」", truncate(t, 120)),
    )
}

/// At most `max` characters, on a character boundary.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", prefix(text, cut)),
        None => text.to_string(),
    }
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a
/// character boundary.
fn prefix(text: &str, max_bytes: usize) -> &str {
    let mut end = max_bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    text.get(..end).unwrap_or_default()
}

fn one_line(text: &str) -> String {
    truncate(&text.split_whitespace().collect::<Vec<_>>().join(" "), 300)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests;
