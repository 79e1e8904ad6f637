//! The XML the direct RSS reader ([`super::plain_rss`]) walks: a pull
//! tokenizer over text that is already UTF-8 (the body was validated once,
//! in [`super::decode`]), so no event is validated again. quick-xml, which
//! feed-rs reads with, checks every event's bytes anew; that was 4 % of a
//! cold cycle.
//!
//! It is at least as strict as quick-xml is for feed-rs: whatever it reads,
//! quick-xml reads the same way, and anything it is unsure of (a DOCTYPE,
//! `--` in a comment, a name or attribute out of the ordinary, a dangling
//! `&`, a mismatched or missing end tag) is `None`, so the feed goes to
//! feed-rs, which then reads it or reports it.

/// One step through the document. Comments, processing instructions and
/// the XML declaration are passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event<'a> {
    /// A start tag (an empty element gives a start and an end).
    Start(Tag<'a>),
    /// The end of the innermost open element (its name was checked).
    End,
    /// Character data as written (no reference resolved), or a CDATA
    /// section's content.
    Text(&'a str),
    /// A reference `&name;` or `&#…;`: the part between `&` and `;`.
    Ref(&'a str),
    /// The end of the text.
    Eof,
}

/// A start tag: its name and the raw text of its attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tag<'a> {
    name: &'a str,
    attributes: &'a str,
}

impl<'a> Tag<'a> {
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The prefix before `:`, if any.
    pub fn prefix(&self) -> Option<&'a str> {
        self.name.split_once(':').map(|(prefix, _)| prefix)
    }

    /// The name after the prefix.
    pub fn local_name(&self) -> &'a str {
        self.name
            .split_once(':')
            .map_or(self.name, |(_, local)| local)
    }

    /// The attributes as (key, raw value), or `None` when they are not
    /// well-formed (no `=`, an unquoted value, a `<` in a value, no space
    /// between two, one repeated).
    pub fn attributes(&self) -> Option<Vec<(&'a str, &'a str)>> {
        let mut attributes: Vec<(&str, &str)> = Vec::new();
        let mut rest = self.attributes;
        loop {
            let trimmed = rest.trim_start_matches(is_space);
            if trimmed.is_empty() {
                return Some(attributes);
            }
            if trimmed.len() == rest.len() && !attributes.is_empty() {
                return None;
            }
            let key_len = trimmed.find(|c: char| c == '=' || is_space(c))?;
            let (key, after_key) = trimmed.split_at_checked(key_len)?;
            if !is_name(key) || attributes.iter().any(|(k, _)| *k == key) {
                return None;
            }
            let after_eq = after_key
                .trim_start_matches(is_space)
                .strip_prefix('=')?
                .trim_start_matches(is_space);
            let (value, after) = after_eq
                .strip_prefix('"')
                .and_then(|body| body.split_once('"'))
                .or_else(|| {
                    after_eq
                        .strip_prefix('\'')
                        .and_then(|body| body.split_once('\''))
                })?;
            if value.contains('<') {
                return None;
            }
            attributes.push((key, value));
            rest = after;
        }
    }
}

/// XML's white space.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// A name as this reader accepts it: ASCII letters, digits, `_ - . :` and
/// any non-ASCII character, not starting with a digit, `-` or `.`.
fn is_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    let is_name_byte =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':') || b >= 0x80;
    is_name_byte(first) && !matches!(first, b'0'..=b'9' | b'-' | b'.') && bytes.all(is_name_byte)
}

/// The tokenizer: the text still to read and the names of the open elements.
pub(super) struct Reader<'a> {
    rest: &'a str,
    open: Vec<&'a str>,
    /// An empty element's end, still to give.
    is_end_pending: bool,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader {
            rest: text.strip_prefix('\u{feff}').unwrap_or(text),
            open: Vec::new(),
            is_end_pending: false,
        }
    }

    /// The next event, or `None` when the text is not XML this reader
    /// follows.
    pub fn next(&mut self) -> Option<Event<'a>> {
        if self.is_end_pending {
            self.is_end_pending = false;
            self.open.pop()?;
            return Some(Event::End);
        }
        loop {
            let rest = self.rest;
            if rest.starts_with('<') {
                if let Some(event) = self.markup()? {
                    return Some(event);
                }
            } else if let Some(body) = rest.strip_prefix('&') {
                // `&name;`: a `&` or `<` before the `;` leaves it dangling.
                let end = memchr::memchr3(b';', b'&', b'<', body.as_bytes())?;
                let (name, after) = body.split_at_checked(end)?;
                self.rest = after.strip_prefix(';')?;
                // feed-rs fails on a bad character reference wherever it is.
                if let Some(number) = name.strip_prefix('#') {
                    char_ref(number)?;
                }
                return (!name.is_empty()).then_some(Event::Ref(name));
            } else if rest.is_empty() {
                return Some(Event::Eof);
            } else {
                let end = memchr::memchr2(b'<', b'&', rest.as_bytes()).unwrap_or(rest.len());
                let (text, after) = rest.split_at_checked(end)?;
                self.rest = after;
                return Some(Event::Text(text));
            }
        }
    }

    /// The character data and references before the next markup, resolved
    /// and added to `out` (made at the first character): what [`Reader::next`]
    /// gives there as `Text` and `Ref` events, read in one loop. `out` is
    /// given room for all of it at once (resolving never lengthens a text);
    /// growing it event by event was a third of the time spent on
    /// descriptions. `None` where `next` would be.
    pub fn text_into(&mut self, out: &mut Option<String>) -> Option<()> {
        if self.is_end_pending {
            return Some(());
        }
        let rest = self.rest;
        let end = memchr::memchr(b'<', rest.as_bytes()).unwrap_or(rest.len());
        let (mut text, after) = rest.split_at_checked(end)?;
        if text.is_empty() {
            return Some(());
        }
        let buffer = out.get_or_insert_with(String::new);
        buffer.reserve(text.len());
        while let Some(at) = memchr::memchr(b'&', text.as_bytes()) {
            let (run, reference) = text.split_at_checked(at)?;
            buffer.push_str(run);
            let body = reference.get(1..)?;
            // The entities of escaped HTML, every few bytes of a
            // description, without searching for their end.
            if let Some((resolved, tail)) = predefined(body) {
                buffer.push(resolved);
                text = tail;
                continue;
            }
            // `&name;`: a `&` (or the markup) before the `;` leaves it dangling.
            let (name, tail) =
                body.split_at_checked(memchr::memchr2(b';', b'&', body.as_bytes())?)?;
            text = tail.strip_prefix(';')?;
            if name.is_empty() {
                return None;
            }
            resolve(name, buffer)?;
        }
        buffer.push_str(text);
        self.rest = after;
        Some(())
    }

    /// Reads the markup at `<`: `Some(None)` for what is passed over.
    fn markup(&mut self) -> Option<Option<Event<'a>>> {
        let rest = self.rest;
        if let Some(body) = rest.strip_prefix("<?") {
            // quick-xml ends `<?>` at once, and fails on it.
            if body.starts_with('>') {
                return None;
            }
            let (_, after) = split_once(body, "?>")?;
            self.rest = after;
            return Some(None);
        }
        if let Some(body) = rest.strip_prefix("<!--") {
            let (comment, after) = split_once(body, "-->")?;
            // quick-xml would end `<!-->` or `<!--->` early; `--` is not XML.
            if comment.starts_with('>') || comment.starts_with("->") || comment.contains("--") {
                return None;
            }
            self.rest = after;
            return Some(None);
        }
        if let Some(body) = rest.strip_prefix("<![CDATA[") {
            let (data, after) = split_once(body, "]]>")?;
            self.rest = after;
            return Some(Some(Event::Text(data)));
        }
        if rest.starts_with("<!") {
            // A DOCTYPE (it may declare entities) or anything else.
            return None;
        }
        if let Some(body) = rest.strip_prefix("</") {
            let (name, after) = body.split_once('>')?;
            if self.open.pop()? != name.trim_end_matches(is_space) {
                return None;
            }
            self.rest = after;
            return Some(Some(Event::End));
        }
        let body = rest.strip_prefix('<')?;
        let (tag, after) = body.split_at_checked(tag_end(body)?)?;
        let (content, is_empty) = match tag.strip_suffix('/') {
            Some(content) => (content, true),
            None => (tag, false),
        };
        let name_len = content.find(is_space).unwrap_or(content.len());
        let (name, attributes) = content.split_at_checked(name_len)?;
        if !is_name(name) {
            return None;
        }
        self.rest = after.strip_prefix('>')?;
        self.open.push(name);
        self.is_end_pending = is_empty;
        Some(Some(Event::Start(Tag { name, attributes })))
    }

    /// Reads to the end of the element whose start was the last event.
    pub fn skip(&mut self) -> Option<()> {
        let mut depth = 1usize;
        loop {
            match self.next()? {
                Event::Start(_) => depth = depth.checked_add(1)?,
                Event::End => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(());
                    }
                }
                Event::Eof => return None,
                Event::Text(_) | Event::Ref(_) => {}
            }
        }
    }
}

/// Adds what the reference `&name;` stands for: a character, one of XML's
/// five entities, or (an entity XML does not define) the reference as
/// written, as feed-rs keeps it. `None` for a character reference to no
/// character.
pub(super) fn resolve(name: &str, out: &mut String) -> Option<()> {
    match name.strip_prefix('#') {
        Some(number) => out.push(char_ref(number)?),
        None => match quick_xml::escape::resolve_predefined_entity(name) {
            Some(resolved) => out.push_str(resolved),
            None => {
                out.push('&');
                out.push_str(name);
                out.push(';');
            }
        },
    }
    Some(())
}

/// The character of one of XML's five entities at the start of `body` (the
/// text after a `&`), and the text after its `;`.
fn predefined(body: &str) -> Option<(char, &str)> {
    let (resolved, len) = match body.as_bytes() {
        [b'l', b't', b';', ..] => ('<', 3),
        [b'g', b't', b';', ..] => ('>', 3),
        [b'a', b'm', b'p', b';', ..] => ('&', 4),
        [b'q', b'u', b'o', b't', b';', ..] => ('"', 5),
        [b'a', b'p', b'o', b's', b';', ..] => ('\'', 5),
        _ => return None,
    };
    Some((resolved, body.get(len..)?))
}

/// A character reference's character, as quick-xml resolves it: decimal,
/// or hex after a lower-case `x`; no sign, not NUL, a valid code point.
pub(super) fn char_ref(number: &str) -> Option<char> {
    let (digits, radix) = match number.strip_prefix('x') {
        Some(hex) => (hex, 16),
        None => (number, 10),
    };
    if digits.starts_with(['+', '-']) {
        return None;
    }
    let code = u32::from_str_radix(digits, radix).ok()?;
    char::from_u32(code).filter(|c| *c != '\0')
}

/// `str::split_once` with memchr's SIMD search (std's two-way search
/// was 1.4 % of a cycle on the CDATA of descriptions).
fn split_once<'a>(text: &'a str, delimiter: &str) -> Option<(&'a str, &'a str)> {
    let at = memchr::memmem::find(text.as_bytes(), delimiter.as_bytes())?;
    let (before, rest) = text.split_at_checked(at)?;
    Some((before, rest.get(delimiter.len()..)?))
}

/// Where a start tag's `>` is, outside quoted attribute values.
fn tag_end(body: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, b) in body.bytes().enumerate() {
        match (quote, b) {
            (None, b'>') => return Some(i),
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::{Event, Reader, resolve};

    /// Every event, as text, or "none" where the reader gives up.
    fn events(text: &str) -> Vec<String> {
        let mut reader = Reader::new(text);
        let mut out = Vec::new();
        loop {
            match reader.next() {
                None => {
                    out.push("none".to_string());
                    return out;
                }
                Some(Event::Eof) => return out,
                Some(Event::Start(tag)) => {
                    let attributes = tag.attributes().map_or("bad".to_string(), |a| {
                        a.iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    });
                    out.push(format!("<{} {attributes}>", tag.name()));
                }
                Some(Event::End) => out.push("</>".to_string()),
                Some(Event::Text(t)) => out.push(format!("'{t}'")),
                Some(Event::Ref(r)) => out.push(format!("&{r}")),
            }
        }
    }

    #[test]
    fn it_gives_elements_text_references_and_cdata_as_written() {
        let text = "\u{feff}<?xml version=\"1.0\"?><!-- c --><rss version='2.0' a:b=\"x > y\">\
                    <t>a &amp; b&#x4e2d;<![CDATA[<p>中</p>]]></t><e/><f  k = \"v\" /></rss>";
        assert_eq!(
            events(text),
            [
                "<rss version=2.0,a:b=x > y>",
                "<t >",
                "'a '",
                "&amp",
                "' b'",
                "&#x4e2d",
                "'<p>中</p>'",
                "</>",
                "<e >",
                "</>",
                "<f k=v>",
                "</>",
                "</>",
            ]
        );
    }

    #[test]
    fn it_gives_up_on_what_quick_xml_might_read_otherwise() {
        for bad in [
            "<a></b>",
            "<a>x &amp y</a>",
            "<a>&;</a>",
            "<!DOCTYPE rss><rss/>",
            "<a><!-- a -- b --></a>",
            "<a><!--></a>",
            "<a><![cdata[x]]></a>",
            "< a></a>",
            "<1a></1a>",
            "</a>",
            "<a b></a>",
        ] {
            let got = events(bad);
            assert!(
                got.iter().any(|e| e == "none" || e.ends_with(" bad>")),
                "{bad}: {got:?}"
            );
        }
        assert_eq!(events("<a b='1' b='2'/>")[0], "<a bad>");
        assert_eq!(events("<a b='1'c='2'/>")[0], "<a bad>");
        assert_eq!(events("<a b=1/>")[0], "<a bad>");
        // An unclosed element ends at Eof, which the RSS reader refuses.
        assert_eq!(events("<a>unclosed"), ["<a >", "'unclosed'"]);
    }

    /// An element's text, read event by event as the RSS reader read it
    /// before `text_into`, or with `text_into` before each event: the text,
    /// or None where a step fails.
    fn element_text(reader: &mut Reader, is_one_pass: bool) -> Option<Option<String>> {
        let mut text: Option<String> = None;
        loop {
            if is_one_pass {
                reader.text_into(&mut text)?;
            }
            match reader.next()? {
                Event::Text(t) if !t.is_empty() => {
                    text.get_or_insert_with(String::new).push_str(t);
                }
                Event::Text(_) => {}
                Event::Ref(name) => resolve(name, text.get_or_insert_with(String::new))?,
                Event::End => return Some(text),
                Event::Start(_) | Event::Eof => return None,
            }
        }
    }

    /// `text_into` reads every text as the events do, and fails where they
    /// fail: random texts of entities good and bad, dangling `&` and `;`,
    /// CDATA, comments, Chinese and white space.
    #[test]
    fn text_into_reads_what_the_events_read() {
        const PIECES: [&str; 22] = [
            "&lt;p&gt;",
            "&amp;",
            "&amp;nbsp;",
            "&#x4e2d;",
            "&#20013;",
            "&#0;",
            "&#xD800;",
            "&#-1;",
            "&bogus;",
            "&",
            ";",
            "&;",
            "&a&b;",
            "<![CDATA[<b>x</b>]]>",
            "<!-- c -->",
            "<![CDATA[]]>",
            "中文",
            "a",
            " ",
            "\n",
            "&quot;&apos;",
            "<!-- -- -->",
        ];
        let mut random = crate::test_random::Xorshift::new(0x9e37_79b9_7f4a_7c15);
        let mut read = 0;
        for round in 0..5_000 {
            let body = random.text(&PIECES, 12);
            let document = format!("<r><d>{body}</d></r>");
            let mut by_events = Reader::new(&document);
            let mut one_pass = Reader::new(&document);
            assert!(by_events.next().is_some() && by_events.next().is_some());
            assert!(one_pass.next().is_some() && one_pass.next().is_some());
            let expected = element_text(&mut by_events, false);
            assert_eq!(
                element_text(&mut one_pass, true),
                expected,
                "{round}: {document}"
            );
            if expected.is_some() {
                read += 1;
                // Both stand after `</d>`.
                assert_eq!(by_events.rest, one_pass.rest, "{document}");
            }
        }
        // Both outcomes were tried, many times each.
        assert!(read > 500 && read < 4_500, "{read}");
    }

    #[test]
    fn skip_reads_to_the_matching_end() {
        let mut reader = Reader::new("<a><b><c/>x</b><b/></a><d/>");
        assert!(matches!(reader.next(), Some(Event::Start(t)) if t.name() == "a"));
        assert_eq!(reader.skip(), Some(()));
        assert!(matches!(reader.next(), Some(Event::Start(t)) if t.name() == "d"));
        let mut broken = Reader::new("<a><b></a>");
        assert!(broken.next().is_some());
        assert_eq!(broken.skip(), None);
    }
}
