//! A direct reader for plain RSS 2.0, the shape nearly every proxy and
//! government site serves: one pass over the text, only what is stored is
//! allocated. It reads a feed exactly as feed-rs would, or not at all:
//! anything it does not read the same way (namespaced elements in items,
//! xml:base, e-mail authors, dates in other forms, XML errors, …) gives
//! `None`, and the caller hands the feed to feed-rs. The tests compare the
//! two on every feed of the test corpus.

use super::Item;
use super::xml::{Event, Reader, Tag};
use chrono::{DateTime, Utc};

/// The channel as read: its title, `<ttl>` and items.
pub(super) struct Channel {
    pub title: Option<String>,
    pub ttl: Option<u32>,
    pub items: Vec<Item>,
}

/// What a prefix is bound to on the root element, as feed-rs sorts namespaces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// Atom and namespaces feed-rs ignores: their elements are skipped.
    Ignored,
    /// RSS, content, Dublin Core, media, iTunes, podcast, comments: read by
    /// feed-rs in ways this reader does not follow.
    Read,
}

fn bound(uri: &str) -> Bound {
    match uri {
        "http://purl.org/rss/1.0/"
        | "http://purl.org/rss/1.0/modules/content/"
        | "http://purl.org/dc/elements/1.1/"
        | "http://search.yahoo.com/mrss/"
        | "http://www.itunes.com/dtds/podcast-1.0.dtd"
        | "https://podcastindex.org/namespace/1.0"
        | "http://wellformedweb.org/CommentAPI/" => Bound::Read,
        _ => Bound::Ignored,
    }
}

/// Reads `text` as plain RSS 2.0, or `None` when feed-rs must.
pub(super) fn read(text: &str) -> Option<Channel> {
    let mut reader = Reader::new(text);
    let mut prefixes: Vec<(String, Bound)> = Vec::new();
    // The root: <rss version="2.0"> (or an empty version), as feed-rs dispatches.
    loop {
        match reader.next()? {
            Event::Start(root) => {
                if root.name() != "rss" {
                    return None;
                }
                let mut version = None;
                for (key, value) in root.attributes()? {
                    if key == "xmlns" || key.starts_with("xml:") {
                        return None;
                    }
                    if let Some(prefix) = key.strip_prefix("xmlns:") {
                        prefixes.push((prefix.to_string(), bound(value)));
                    } else if key == "version" {
                        version = Some(value);
                    }
                }
                if !matches!(version, Some("2.0" | "")) {
                    return None;
                }
                break;
            }
            // Before the root only blanks: feed-rs finds no root after a
            // reference or other text.
            Event::Text(t) if t.trim_start_matches([' ', '\t', '\r', '\n']).is_empty() => {}
            Event::Eof | Event::End | Event::Text(_) | Event::Ref(_) => return None,
        }
    }
    let mut cursor = Cursor { reader, prefixes };
    // feed-rs reads the first <channel> child and nothing after it.
    loop {
        match cursor.reader.next()? {
            Event::Start(e) => {
                if cursor.kind(&e)? == Kind::Plain && e.name() == "channel" {
                    return cursor.channel();
                }
                cursor.skip()?;
            }
            Event::End | Event::Eof => return None,
            _ => {}
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No prefix: an RSS element.
    Plain,
    /// A prefix bound to a namespace feed-rs ignores (or Atom).
    Ignored,
}

struct Cursor<'a> {
    reader: Reader<'a>,
    prefixes: Vec<(String, Bound)>,
}

impl Cursor<'_> {
    /// How feed-rs would treat the element, or `None` when this reader
    /// cannot follow it (a namespace declared below the root, a prefix
    /// feed-rs reads or one never declared, xml:base).
    fn kind(&self, e: &Tag<'_>) -> Option<Kind> {
        for (key, _) in e.attributes()? {
            if key == "xmlns" || key.starts_with("xmlns:") || key.starts_with("xml:") {
                return None;
            }
        }
        match e.prefix() {
            None => Some(Kind::Plain),
            Some(prefix) => {
                let (_, bound) = self.prefixes.iter().find(|(p, _)| p == prefix)?;
                (*bound == Bound::Ignored).then_some(Kind::Ignored)
            }
        }
    }

    /// Skips the rest of the element just started.
    fn skip(&mut self) -> Option<()> {
        self.reader.skip()
    }

    /// The text before the element's first child, as feed-rs's
    /// `child_as_text`: text, CDATA and entities joined; `None` without any.
    /// The rest of the element is skipped.
    fn text(&mut self) -> Option<Option<String>> {
        let mut text: Option<String> = None;
        loop {
            // Character data and references in one pass; markup (CDATA, a
            // comment, the end) by events.
            self.reader.text_into(&mut text)?;
            match self.reader.next()? {
                Event::Text(t) => {
                    if !t.is_empty() {
                        text.get_or_insert_with(String::new).push_str(t);
                    }
                }
                Event::Ref(name) => {
                    super::xml::resolve(name, text.get_or_insert_with(String::new))?;
                }
                Event::End => return Some(text),
                Event::Start(child) => {
                    // A child ends the text; the rest of the element is skipped
                    // (its children must still be well-formed).
                    self.kind(&child)?;
                    self.skip()?;
                    self.skip()?;
                    return Some(text);
                }
                Event::Eof => return None,
            }
        }
    }

    fn channel(&mut self) -> Option<Channel> {
        let mut channel = Channel {
            title: None,
            ttl: None,
            items: Vec::new(),
        };
        loop {
            match self.reader.next()? {
                Event::Start(e) => match (self.kind(&e)?, e.name()) {
                    (Kind::Plain, "title") => {
                        channel.title = self.text()?.map(trimmed);
                    }
                    (Kind::Plain, "ttl") => {
                        if let Some(ttl) = self.text()?.and_then(|t| t.parse().ok()) {
                            channel.ttl = Some(ttl);
                        }
                    }
                    (Kind::Plain, "item") => channel.items.push(self.item()?),
                    _ => self.skip()?,
                },
                Event::End => return Some(channel),
                Event::Eof => return None,
                Event::Text(_) | Event::Ref(_) => {}
            }
        }
    }

    fn item(&mut self) -> Option<Item> {
        let mut item = Item::default();
        let mut published = None;
        let mut updated = None;
        loop {
            match self.reader.next()? {
                Event::Start(e) => {
                    let kind = self.kind(&e)?;
                    if kind == Kind::Ignored {
                        // Atom's <updated> in an item is read by feed-rs.
                        if e.local_name() == "updated" {
                            return None;
                        }
                        self.skip()?;
                        continue;
                    }
                    match e.name() {
                        "title" => item.title = self.text()?.map(trimmed),
                        "link" => {
                            if let Some(href) = self.text()? {
                                if item.link.is_none() {
                                    item.link = Some(link_href(&href));
                                }
                            }
                        }
                        "description" => {
                            item.summary = self.text()?.map(trimmed);
                        }
                        "author" => {
                            if let Some(name) = self.text()? {
                                // feed-rs splits an address from a name.
                                if name.contains('@') {
                                    return None;
                                }
                                if item.author.is_none() {
                                    item.author = Some(trimmed(name));
                                }
                            }
                        }
                        "guid" => {
                            if let Some(guid) = self.text()? {
                                item.id = trimmed(guid);
                            }
                        }
                        "pubDate" => published = Some(self.text()?),
                        "updated" => updated = Some(self.text()?),
                        // A comments link can come first in feed-rs's links.
                        "comments" => return None,
                        _ => self.skip()?,
                    }
                }
                Event::End => break,
                Event::Eof => return None,
                Event::Text(_) | Event::Ref(_) => {}
            }
        }
        // Every date given must be one this reader parses as feed-rs would.
        item.published = match published {
            Some(Some(text)) => Some(date(&text)?),
            Some(None) | None => None,
        };
        let updated = match updated {
            Some(Some(text)) => Some(date(&text)?),
            Some(None) | None => None,
        };
        item.updated = updated.or(item.published);
        Some(item)
    }
}

/// A link's href as feed-rs keeps it: the parsed URL when it parses
/// (no xml:base here), else the text, trimmed.
fn link_href(text: &str) -> String {
    // The parser first drops C0 controls and spaces around the text.
    let plain = text.trim_matches(|c: char| c <= ' ');
    if let Some(url) = super::dedup::PlainUrl::parse(plain) {
        return url.serialized();
    }
    match url::Url::parse(text) {
        Ok(url) => url.as_str().trim().to_string(),
        Err(_) => text.trim().to_string(),
    }
}

/// `text` without its leading and trailing whitespace, in its own buffer
/// (a description is most of a feed: trimming into a copy copied it again).
fn trimmed(mut text: String) -> String {
    let end = text.trim_end().len();
    text.truncate(end);
    let start = text.len().saturating_sub(text.trim_start().len());
    if start > 0 {
        text.drain(..start);
    }
    text
}

/// An RFC 822 date in the one form read here — an optional English weekday
/// and comma, `D[D] Mon YYYY HH:MM[:SS]`, and a numeric zone or `GMT`/`UT`/`Z`
/// — parsed as feed-rs parses it (it drops the weekday, which may be wrong);
/// `None` for anything else, which feed-rs then reads.
///
/// The usual dates are computed from their fields; chrono's RFC 2822
/// parser, which feed-rs uses, reads the rest (a leap second, a zone of a
/// day or more, `Z`). It took 3,500 instructions a date, as much as
/// reading the rest of an item's fields.
fn date(text: &str) -> Option<DateTime<Utc>> {
    let date = PlainDate::of(text)?;
    date.by_fields().or_else(|| date.by_chrono())
}

/// A date in the one form [`date`] reads, cut into its fields (checked for
/// their shape only).
struct PlainDate<'a> {
    /// The date without its weekday, as chrono reads it.
    rest: &'a str,
    day: &'a str,
    month: &'a str,
    year: &'a str,
    time: &'a str,
    zone: &'a str,
}

impl<'a> PlainDate<'a> {
    fn of(text: &'a str) -> Option<PlainDate<'a>> {
        let text = text.trim();
        // Searched byte by byte: a `str` searcher for ", " took longer to
        // build than the whole date to read.
        let comma = text.as_bytes().windows(2).position(|w| w == b", ");
        let rest = match comma {
            Some(at) => {
                let day = text.get(..at)?;
                let is_weekday = day.len() >= 3
                    && ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
                        .iter()
                        .any(|d| day.starts_with(d))
                    && day.bytes().skip(3).all(|b| b.is_ascii_lowercase());
                if !is_weekday {
                    return None;
                }
                text.get(at.checked_add(2)?..)?
            }
            None => text,
        };
        let mut parts = rest.split(' ');
        let (Some(day), Some(month), Some(year), Some(time), Some(zone), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let digit = u8::is_ascii_digit;
        // HH:MM or HH:MM:SS.
        let is_time = match time.as_bytes() {
            [h1, h2, b':', m1, m2] => [h1, h2, m1, m2].into_iter().all(digit),
            [h1, h2, b':', m1, m2, b':', s1, s2] => [h1, h2, m1, m2, s1, s2].into_iter().all(digit),
            _ => false,
        };
        let is_zone = matches!(zone, "GMT" | "UT" | "Z")
            || (zone.len() == 5
                && zone.starts_with(['+', '-'])
                && zone.bytes().skip(1).all(|b| b.is_ascii_digit()));
        let is_plain = is_digits(day, &[1, 2])
            && MONTHS.contains(&month)
            && is_digits(year, &[4])
            && is_time
            && is_zone
            && !time.starts_with("24:");
        is_plain.then_some(PlainDate {
            rest,
            day,
            month,
            year,
            time,
            zone,
        })
    }

    fn by_chrono(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc2822(self.rest)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The date from its fields, or None where chrono is left to decide:
    /// an invalid day, a second of 60, a zone not of `GMT`, `UT` or hours
    /// and minutes within a day.
    fn by_fields(&self) -> Option<DateTime<Utc>> {
        let number = |text: &str| -> Option<u32> { text.parse().ok() };
        let month = MONTHS
            .iter()
            .position(|m| *m == self.month && m.len() == 3)
            .and_then(|at| u32::try_from(at).ok())?
            .checked_add(1)?;
        let year = i32::try_from(number(self.year)?).ok()?;
        let date = chrono::NaiveDate::from_ymd_opt(year, month, number(self.day)?)?;
        let mut clock = self.time.split(':');
        let hour = number(clock.next()?)?;
        let minute = number(clock.next()?)?;
        let second = clock.next().map_or(Some(0), number)?;
        if second > 59 {
            return None;
        }
        let local = date.and_hms_opt(hour, minute, second)?;
        let east = match self.zone {
            "GMT" | "UT" => 0,
            zone => {
                let (hours, minutes) = (number(zone.get(1..3)?)?, number(zone.get(3..5)?)?);
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let seconds = i64::from(
                    hours
                        .checked_mul(3600)?
                        .checked_add(minutes.checked_mul(60)?)?,
                );
                match zone.get(..1)? {
                    "+" => seconds,
                    "-" => 0_i64.checked_sub(seconds)?,
                    _ => return None,
                }
            }
        };
        let utc = local.checked_sub_signed(chrono::TimeDelta::try_seconds(east)?)?;
        Some(utc.and_utc())
    }
}

/// The months [`date`] reads; `Fe` only for chrono to refuse, as feed-rs.
const MONTHS: [&str; 12] = [
    "Jan", "Fe", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn is_digits(text: &str, lens: &[usize]) -> bool {
    lens.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::string_slice)]
#[path = "plain_rss_tests.rs"]
mod tests;
