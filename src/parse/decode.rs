//! Feed bytes in any charset → UTF-8 text that declares UTF-8 or nothing.
//!
//! feed-rs hands XML to quick-xml's decoding reader, which switches decoder
//! when it meets an `<?xml … encoding="…"?>` and panics when that happens
//! after its first 64 bytes were decoded (a UTF-16 body declaring "UTF-16" or
//! "GBK" is enough). So every body is decoded here, and what the XML parser
//! sees is UTF-8 whose declarations all say UTF-8.
//!
//! The charset is decided, in order, by:
//! 1. a byte order mark;
//! 2. the `<?xml` pattern of BOM-less UTF-16 (XML 1.0 appendix F);
//! 3. valid UTF-8, kept as it is: servers and declarations often name a
//!    legacy charset for a body that is already UTF-8;
//! 4. the XML declaration's encoding, then the HTTP `Content-Type` charset,
//!    the first that decodes the body without errors;
//! 5. GB18030 (a superset of GBK and GB2312) when nothing was declared and it
//!    decodes cleanly; else the first declared charset, or UTF-8, with
//!    replacement characters.
//!
//! feed-rs 3.0.0 also slices author strings next to an e-mail address by
//! bytes (`parse_person_name_email`), which panics when the address touches
//! a multi-byte character: `编辑部（bjb@lanshan.gov.cn）`. So e-mail addresses
//! that touch one get a space on that side (see `pad_emails`).

use encoding_rs::{Encoding, GB18030, UTF_8, UTF_16BE, UTF_16LE};
use regex::{Captures, Regex};
use std::borrow::Cow;
use std::sync::LazyLock;

/// An e-mail address as feed-rs finds one, with the literal delimiters its
/// pattern allows (`<[(` … `>])`), raw or escaped in XML.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:(?:<|&lt;)\[\()?[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?:(?:>|&gt;)\]\))?",
    )
    .expect("the e-mail pattern is valid")
});

/// The declaration every XML declaration in the text is replaced by.
const UTF8_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
/// How far into the body the XML declaration is looked for.
const DECLARATION_WINDOW: usize = 1024;

/// The body as UTF-8 text, ready for feed-rs: decoded, without NULs (never
/// legal in XML, and `<\0?\0` would make quick-xml guess UTF-16 again), and
/// with every XML declaration saying UTF-8.
/// A body that is UTF-8 already, declares UTF-8 (or nothing) and has no
/// e-mail address to pad is borrowed as it is: most feeds are copied never.
pub fn to_utf8<'b>(body: &'b [u8], http_charset: Option<&str>) -> Cow<'b, str> {
    let decoded = decode(body, http_charset);
    let text = if memchr::memchr(0, decoded.as_bytes()).is_some() {
        Cow::Owned(decoded.replace('\0', ""))
    } else {
        decoded
    };
    if is_json(&text) {
        return match pad_json_emails(&text) {
            Some(padded) => Cow::Owned(padded),
            None => text,
        };
    }
    let text = if is_declared_utf8(&text) {
        text
    } else {
        Cow::Owned(rewrite_declarations(&text))
    };
    if EMAIL.is_match(&text) {
        Cow::Owned(pad_emails(&text, true).into_owned())
    } else {
        text
    }
}

/// Whether every XML declaration in the text (as quick-xml reads them)
/// already leaves feed-rs reading UTF-8: [`UTF8_DECLARATION`] or one of
/// the plain forms [`declares_utf8`] accepts (most feeds write
/// `encoding="utf-8"`; rewriting those copied every such body).
fn is_declared_utf8(text: &str) -> bool {
    let mut rest = text;
    // memchr's searcher: std's `find` of a string is several times slower on
    // a feed's worth of text.
    let finder = memchr::memmem::Finder::new("<?xml");
    while let Some(start) = finder.find(rest.as_bytes()) {
        let from = rest.get(start..).unwrap_or_default();
        let after_target = from.get("<?xml".len()..).unwrap_or_default();
        let is_declaration =
            after_target.starts_with("?>") || after_target.starts_with([' ', '\t', '\r', '\n']);
        if is_declaration && !from.starts_with(UTF8_DECLARATION) && !declares_utf8(after_target) {
            return false;
        }
        rest = after_target;
    }
    true
}

/// Whether a declaration's attributes (`after_target`, what follows
/// `<?xml`, up to `?>`) are plain and leave the text UTF-8: blank-separated
/// `version`, `encoding` and `standalone`, each at most once, quoted, and an
/// encoding, if any, whose label is UTF-8's (`utf-8`, `UTF8`…; feed-rs asks
/// encoding_rs the same). Anything else is rewritten, so that feed-rs never
/// switches its decoder on a label read differently from this one.
fn declares_utf8(after_target: &str) -> bool {
    const BLANKS: [char; 4] = [' ', '\t', '\r', '\n'];
    let Some(end) = memchr::memmem::find(after_target.as_bytes(), b"?>") else {
        return false;
    };
    let mut rest = after_target.get(..end).unwrap_or_default();
    let mut seen = [false; 3];
    loop {
        let attribute = rest.trim_start_matches(BLANKS);
        if attribute.is_empty() {
            return true;
        }
        if attribute.len() == rest.len() {
            // Attributes are separated by blanks.
            return false;
        }
        let Some((name, value)) = attribute.split_once('=') else {
            return false;
        };
        let name = name.trim_end_matches(BLANKS);
        let Some(slot) = ["version", "encoding", "standalone"]
            .iter()
            .position(|known| *known == name)
            .and_then(|at| seen.get_mut(at))
        else {
            return false;
        };
        if std::mem::replace(slot, true) {
            return false;
        }
        let value = value.trim_start_matches(BLANKS);
        let Some(quote) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            return false;
        };
        let Some((value, after)) = value.get(1..).and_then(|v| v.split_once(quote)) else {
            return false;
        };
        if name == "encoding" && Encoding::for_label(value.as_bytes()) != Some(UTF_8) {
            return false;
        }
        rest = after;
    }
}

/// `text` with a space between an e-mail address and a character next to it
/// that may decode to a multi-byte one: a non-ASCII character and, in XML,
/// the ends of entities, CDATA sections and markup.
fn pad_emails(text: &str, is_xml: bool) -> Cow<'_, str> {
    EMAIL.replace_all(text, |found: &Captures<'_>| {
        let Some(address) = found.get(0) else {
            return String::new();
        };
        let before = text
            .get(..address.start())
            .and_then(|t| t.chars().next_back());
        let after = text.get(address.end()..).and_then(|t| t.chars().next());
        let is_risky = |c: Option<char>, xml_ends: &[char]| {
            c.is_some_and(|c| !c.is_ascii() || (is_xml && xml_ends.contains(&c)))
        };
        let left = if is_risky(before, &[';', '[', '>']) {
            " "
        } else {
            ""
        };
        let right = if is_risky(after, &['&', ']', '<']) {
            " "
        } else {
            ""
        };
        format!("{left}{}{right}", address.as_str())
    })
}

/// A JSON Feed with `pad_emails` applied to every string; `None` when the
/// text is no JSON (feed-rs will say so) or has no e-mail address.
fn pad_json_emails(text: &str) -> Option<String> {
    if !EMAIL.is_match(text) {
        return None;
    }
    let mut json: serde_json::Value = serde_json::from_str(text).ok()?;
    pad_json_strings(&mut json);
    serde_json::to_string(&json).ok()
}

fn pad_json_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(padded) = pad_emails(s, false) {
                *s = padded;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(pad_json_strings),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(pad_json_strings),
        _ => {}
    }
}

/// The body decoded to text by the rules in the module header.
fn decode<'b>(body: &'b [u8], http_charset: Option<&str>) -> Cow<'b, str> {
    if let Some((encoding, bom_length)) = Encoding::for_bom(body) {
        let rest = body.get(bom_length..).unwrap_or_default();
        return encoding.decode_without_bom_handling(rest).0;
    }
    if let Some(encoding) = utf16_without_bom(body) {
        return encoding.decode_without_bom_handling(body).0;
    }
    if let Ok(text) = simdutf8::basic::from_utf8(body) {
        return Cow::Borrowed(text);
    }
    // Without a BOM or the UTF-16 pattern the body is ASCII-compatible, so a
    // declared UTF-16 is a lie and decoding with it would make nonsense.
    let declared: Vec<&'static Encoding> = [declared_encoding(body), http_charset]
        .into_iter()
        .flatten()
        .filter_map(|label| Encoding::for_label(label.trim().as_bytes()))
        .filter(|encoding| *encoding != UTF_16LE && *encoding != UTF_16BE)
        .collect();
    let clean = declared
        .iter()
        .copied()
        .chain(declared.is_empty().then_some(GB18030))
        .find_map(|encoding| encoding.decode_without_bom_handling_and_without_replacement(body));
    if let Some(text) = clean {
        return text;
    }
    let fallback = declared.first().copied().unwrap_or(UTF_8);
    fallback.decode_without_bom_handling(body).0
}

/// UTF-16 announced by the byte pattern of `<?` without a BOM.
fn utf16_without_bom(body: &[u8]) -> Option<&'static Encoding> {
    match body {
        [0, b'<', 0, b'?', ..] => Some(UTF_16BE),
        [b'<', 0, b'?', 0, ..] => Some(UTF_16LE),
        _ => None,
    }
}

/// The `encoding` of an XML declaration at the start of an ASCII-compatible body.
fn declared_encoding(body: &[u8]) -> Option<&str> {
    let head = body.get(..body.len().min(DECLARATION_WINDOW))?;
    let head = head.trim_ascii_start();
    let declaration = head.strip_prefix(b"<?xml")?;
    let end = declaration.windows(2).position(|w| w == b"?>")?;
    let declaration = std::str::from_utf8(declaration.get(..end)?).ok()?;
    let (_, after) = declaration.split_once("encoding")?;
    let value = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = value.strip_prefix(quote)?;
    value.split(quote).next()
}

/// True when feed-rs will read the text as a JSON Feed: its first `<` or
/// `{` is a `{` (the test feed-rs itself makes).
fn is_json(text: &str) -> bool {
    text.find(['<', '{'])
        .and_then(|at| text.get(at..))
        .is_some_and(|rest| rest.starts_with('{'))
}

/// Every `<?xml …?>` (what quick-xml reads as a declaration: `<?xml` then
/// whitespace or `?>`) replaced by one that declares UTF-8.
fn rewrite_declarations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<?xml") {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        let after_target = from.get("<?xml".len()..).unwrap_or_default();
        let is_declaration =
            after_target.starts_with("?>") || after_target.starts_with([' ', '\t', '\r', '\n']);
        match after_target.find("?>") {
            Some(end) if is_declaration => {
                out.push_str(UTF8_DECLARATION);
                rest = after_target
                    .get(end..)
                    .and_then(|r| r.strip_prefix("?>"))
                    .unwrap_or_default();
            }
            _ => {
                out.push_str("<?xml");
                rest = after_target;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The namespaces RSS 0.9x/2.0 was published under (feedparser's corpus).
/// feed-rs reads an `<rss>` root only without a default namespace, so one of
/// these on the root is dropped; nothing else in the document changes.
const RSS_NAMESPACES: [&str; 4] = [
    "http://backend.userland.com/rss",
    "http://backend.userland.com/rss2",
    "http://blogs.law.harvard.edu/tech/rss",
    "http://purl.org/net/rss2",
];

/// `text` with the default RSS namespace of its `<rss>` root removed.
pub fn without_rss_namespace(text: &str) -> Cow<'_, str> {
    let head = text.get(..text.len().min(4096)).unwrap_or(text);
    let Some(start) = head.find("<rss") else {
        return Cow::Borrowed(text);
    };
    let Some(tag) = head.get(start..).and_then(|t| t.get(..t.find('>')?)) else {
        return Cow::Borrowed(text);
    };
    // Most roots declare no default namespace: nothing to look for.
    if !tag.contains(" xmlns=") {
        return Cow::Borrowed(text);
    }
    for quote in ['"', '\''] {
        for namespace in RSS_NAMESPACES {
            for trailing in ["", "/"] {
                let attribute = format!(" xmlns={quote}{namespace}{trailing}{quote}");
                if let Some(at) = tag.find(&attribute) {
                    let from = start.saturating_add(at);
                    let to = from.saturating_add(attribute.len());
                    let (Some(before), Some(after)) = (text.get(..from), text.get(to..)) else {
                        return Cow::Borrowed(text);
                    };
                    return Cow::Owned(format!("{before}{after}"));
                }
            }
        }
    }
    Cow::Borrowed(text)
}

/// An Atom text construct with an empty `type` (`<title type="">`), which
/// feed-rs refuses: the attribute is dropped, so it is text as RFC 4287's default.
pub fn without_empty_atom_types(text: &str) -> Cow<'_, str> {
    static EMPTY_TYPE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(<(?:[A-Za-z_][\w.-]*:)?(?:title|subtitle|summary|content|rights)\b[^<>]*?)\s+type\s*=\s*(?:""|'')"#,
        )
        .ok()
    });
    match EMPTY_TYPE.as_ref() {
        Some(pattern) if has_empty_type(text) => pattern.replace_all(text, "$1"),
        _ => Cow::Borrowed(text),
    }
}

/// Whether `type=""` or `type=''` occurs: one pass over the text.
fn has_empty_type(text: &str) -> bool {
    memchr::memmem::find_iter(text.as_bytes(), "type=").any(|at| {
        let after = at.saturating_add("type=".len());
        let quotes = text.as_bytes().get(after..after.saturating_add(2));
        quotes == Some(b"\"\"") || quotes == Some(b"''")
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        if bom {
            bytes.extend_from_slice(if big_endian {
                &[0xFE, 0xFF]
            } else {
                &[0xFF, 0xFE]
            });
        }
        for unit in text.encode_utf16() {
            let pair = if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            bytes.extend_from_slice(&pair);
        }
        bytes
    }

    fn gbk(text: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(text).0.into_owned()
    }

    #[test]
    fn each_charset_source_decodes_to_the_same_text() {
        let xml = r#"<?xml version="1.0" encoding="GBK"?><rss><channel><title>兰山发布</title></channel></rss>"#;
        let plain = r#"<rss><channel><title>兰山发布</title></channel></rss>"#;
        let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
            ("UTF-16BE with a BOM", utf16(xml, true, true), None),
            ("UTF-16LE with a BOM", utf16(xml, false, true), None),
            ("UTF-16LE without a BOM", utf16(xml, false, false), None),
            ("UTF-16BE without a BOM", utf16(xml, true, false), None),
            ("GBK as declared", gbk(xml), None),
            ("GBK from the HTTP charset", gbk(plain), Some("gbk")),
            ("GBK named nowhere", gbk(plain), None),
            ("GBK declared, HTTP says UTF-8", gbk(xml), Some("utf-8")),
            (
                "UTF-8 declared GBK",
                xml.as_bytes().to_vec(),
                Some("gb2312"),
            ),
        ];
        for (case, body, charset) in cases {
            let text = to_utf8(&body, charset);
            assert!(text.contains("<title>兰山发布</title>"), "{case}: {text}");
            assert!(!text.contains("GBK"), "{case}: {text}");
        }
    }

    #[test]
    fn every_xml_declaration_is_rewritten_to_declare_utf8() {
        let text = "<?xml version='1.0' encoding='UTF-16'?><a>x</a><?xml\tencoding=\"gbk\"?><?xml?><?xml-stylesheet href=\"s\"?>";
        assert_eq!(
            rewrite_declarations(text),
            format!(
                "{UTF8_DECLARATION}<a>x</a>{UTF8_DECLARATION}{UTF8_DECLARATION}<?xml-stylesheet href=\"s\"?>"
            )
        );
        assert_eq!(
            rewrite_declarations("<?xml encoding='x'"),
            "<?xml encoding='x'"
        );
    }

    #[test]
    fn json_feeds_are_left_as_they_are_apart_from_nuls() {
        let json = "{\"title\":\"<?xml encoding=\\\"gbk\\\"?>\u{0}\"}";
        assert_eq!(to_utf8(json.as_bytes(), None), json.replace('\0', ""));
    }

    #[test]
    fn emails_touching_multibyte_characters_get_a_space_on_that_side() {
        let cases = [
            (
                "编辑部（bjb@lanshan.gov.cn）",
                "编辑部（ bjb@lanshan.gov.cn ）",
            ),
            ("兰山 lsfb@lanshan.gov.cn", "兰山 lsfb@lanshan.gov.cn"),
            ("&#12288;a@b.cn&#12288;", "&#12288; a@b.cn &#12288;"),
            ("<![CDATA[a@b.cn]]>", "<![CDATA[ a@b.cn ]]>"),
            ("<author>a@b.cn</author>", "<author> a@b.cn </author>"),
            ("兰&lt;[(a@b.cn&gt;])。", "兰 &lt;[(a@b.cn&gt;]) 。"),
            ("x a@b.cn y", "x a@b.cn y"),
        ];
        for (raw, padded) in cases {
            assert_eq!(pad_emails(raw, true), padded, "{raw}");
        }
        let json = r#"{"items":[{"author":{"name":"\u3000a@b.cn"}}]}"#;
        let padded = "{\"items\":[{\"author\":{\"name\":\"\u{3000} a@b.cn\"}}]}";
        assert_eq!(pad_json_emails(json).as_deref(), Some(padded));
    }

    #[test]
    fn nuls_cannot_make_the_text_look_like_utf16_again() {
        let body = utf16("<\0?\0xml version=\"1.0\"?><rss/>", false, true);
        assert!(!to_utf8(&body, None).contains('\0'));
    }

    #[test]
    fn a_clean_utf8_body_is_read_in_place_and_only_what_must_change_is_copied() {
        let clean = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>兰山</title></channel></rss>";
        assert!(matches!(
            to_utf8(clean.as_bytes(), Some("gbk")),
            Cow::Borrowed(_)
        ));
        let bare = "<rss version=\"2.0\"><channel><title>兰山</title></channel></rss>";
        assert!(matches!(to_utf8(bare.as_bytes(), None), Cow::Borrowed(_)));
        // The plain forms feeds write are read in place (true); any other
        // is rewritten: another encoding, a repeated or unknown attribute,
        // one run into the next, an unquoted value.
        for (declaration, is_plain) in [
            ("<?xml version=\"1.0\" encoding=\"utf-8\"?>", true),
            (
                "<?xml version='1.0' encoding='UTF8' standalone='yes' ?>",
                true,
            ),
            ("<?xml version=\"1.0\"?>", true),
            ("<?xml\n version = \"1.0\"\tencoding= \" utf-8\"?>", true),
            ("<?xml version=\"1.0\" encoding=\"gbk\"?>", false),
            (
                "<?xml version=\"1.0\" encoding=\"utf-8\" encoding=\"gbk\"?>",
                false,
            ),
            ("<?xml version=\"1.0\" encoding=\"utf-16\"?>", false),
            ("<?xml version=\"1.0\"encoding=\"utf-8\"?>", false),
            ("<?xml version=\"1.0\" encoding=utf-8?>", false),
            ("<?xml version=\"1.0\" lang=\"zh\"?>", false),
            (
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><a/><?xml encoding=\"gb2312\"?>",
                false,
            ),
        ] {
            let body = clean.replace(UTF8_DECLARATION, declaration);
            let text = to_utf8(body.as_bytes(), None);
            let as_expected = if is_plain {
                matches!(text, Cow::Borrowed(_))
            } else {
                matches!(text, Cow::Owned(_)) && text.starts_with(UTF8_DECLARATION)
            };
            assert!(as_expected, "{declaration}: {text}");
        }
        // A declaration without its end is no plain one (and left as it is).
        assert!(!declares_utf8(" version=\"1.0\" encoding=\"utf-8"));
        let email = clean.replace("兰山", "编辑部（bjb@lanshan.gov.cn）");
        assert!(to_utf8(email.as_bytes(), None).contains("编辑部（ bjb@lanshan.gov.cn ）"));
    }
}
