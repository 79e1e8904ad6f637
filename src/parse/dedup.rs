//! Stable dedup keys: the guid, else the normalised link, else the content.

use sha2::{Digest, Sha256};

/// SHA-256 (hex) of the first identity the item has.
pub fn dedup_key(guid: &str, link: Option<&str>, title: Option<&str>, text: &str) -> String {
    let guid = guid.trim();
    // The identity is hashed in pieces, as if joined: no copy of it is made.
    let mut hasher = Sha256::new();
    if !guid.is_empty() {
        // A guid that is a WeChat article URL is normalised like a link.
        // Only a guid that is a link is parsed as one.
        match guid
            .starts_with("http")
            .then(|| normalize_link(guid))
            .flatten()
        {
            Some(link) => {
                hasher.update("link:");
                hasher.update(link);
            }
            None => {
                hasher.update("guid:");
                hasher.update(guid);
            }
        }
    } else if let Some(link) = link.and_then(normalize_link) {
        hasher.update("link:");
        hasher.update(link);
    } else {
        hasher.update("content:");
        hasher.update(title.unwrap_or("").trim());
        hasher.update("\n");
        hasher.update(text.trim());
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for b in hasher.finalize() {
        for nibble in [b >> 4, b & 0x0f] {
            hex.push(char::from(
                HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    hex
}

/// A link reduced to what identifies the item: WeChat articles to
/// `__biz/mid/idx/sn`, others without fragment, tracking parameters and
/// default ports, with a lowercase host.
pub fn normalize_link(text: &str) -> Option<String> {
    let text = text.trim();
    plain_link(text).or_else(|| parsed_link(text))
}

/// [`normalize_link`] by the URL parser: any link.
fn parsed_link(text: &str) -> Option<String> {
    let mut url = url::Url::parse(text).ok()?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    if host == "mp.weixin.qq.com" {
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        if let (Some(biz), Some(mid), Some(idx), Some(sn)) = (
            get("__biz"),
            get("mid").or(get("appmsgid")),
            get("idx").or(get("itemidx")),
            get("sn").or(get("sign")),
        ) {
            return Some(format!("wechat:{biz}/{mid}/{idx}/{sn}"));
        }
        return Some(format!("wechat:{}", url.path().trim_end_matches('/')));
    }
    url.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| !is_tracking_param(k))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    let path = url.path().trim_end_matches('/').to_string();
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!("{host}{port}{path}{query}"))
}

/// The normal form of a link simple enough to need no URL parser (see
/// [`PlainUrl`]): what [`parsed_link`] gives, at about 40 % of its
/// instructions (a cold cycle reads every item's guid or link). None for anything else,
/// which the parser then reads; WeChat links always go to the parser.
fn plain_link(text: &str) -> Option<String> {
    let url = PlainUrl::parse(text)?;
    if url.host.eq_ignore_ascii_case("mp.weixin.qq.com") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    url.push_authority(&mut out);
    out.push_str(url.path.trim_end_matches('/'));
    Some(out)
}

/// A URL the parser would read without changing more than its host's case
/// and a default port: `http` or `https`; as host, ASCII labels the last
/// of which starts with a letter and none is punycode, or an IPv4 address
/// in its one canonical spelling (see [`is_canonical_ipv4`]); an optional
/// port; a path of letters, digits and `-._~/` without `.`/`..` segments;
/// and no query, fragment or user. One pass over
/// the bytes and no formatting machinery: the parser took about 3,500
/// instructions a link.
pub(super) struct PlainUrl<'t> {
    scheme: &'static str,
    /// As written; lowercased when written out.
    host: &'t str,
    /// None when absent or the scheme's default.
    port: Option<u16>,
    path: &'t str,
}

impl PlainUrl<'_> {
    pub(super) fn parse(text: &str) -> Option<PlainUrl<'_>> {
        let (scheme, rest, default_port) = match text.strip_prefix("https://") {
            Some(rest) => ("https", rest, 443),
            None => ("http", text.strip_prefix("http://")?, 80),
        };
        let slash = memchr::memchr(b'/', rest.as_bytes()).unwrap_or(rest.len());
        let (authority, path) = rest.split_at_checked(slash)?;
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => {
                let is_digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
                (host, Some(port.parse::<u16>().ok().filter(|_| is_digits)?))
            }
            None => (authority, None),
        };
        ((is_plain_host(host) || is_canonical_ipv4(host)) && is_plain_path(path)).then_some(
            PlainUrl {
                scheme,
                host,
                port: port.filter(|p| *p != default_port),
                path,
            },
        )
    }

    /// The host in lowercase and the port, if any.
    fn push_authority(&self, out: &mut String) {
        let start = out.len();
        out.push_str(self.host);
        if let Some(host) = out.get_mut(start..) {
            host.make_ascii_lowercase();
        }
        if let Some(port) = self.port {
            use std::fmt::Write as _;
            // Writing to a String cannot fail.
            let _ = write!(out, ":{port}");
        }
    }

    /// The URL as the parser writes it (`Url::as_str`).
    pub(super) fn serialized(&self) -> String {
        let mut out = String::with_capacity(
            self.host
                .len()
                .saturating_add(self.path.len())
                .saturating_add(16),
        );
        out.push_str(self.scheme);
        out.push_str("://");
        self.push_authority(&mut out);
        out.push_str(if self.path.is_empty() { "/" } else { self.path });
        out
    }
}

/// Labels of ASCII letters, digits and `-`, none empty or punycode, the last
/// starting with a letter.
fn is_plain_host(host: &str) -> bool {
    let mut last_start = None;
    for label in host.split('.') {
        let is_plain = !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case("xn--"));
        if !is_plain {
            return false;
        }
        last_start = label.bytes().next();
    }
    last_start.is_some_and(|b| b.is_ascii_alphabetic())
}

/// `a.b.c.d`, each a decimal number to 255 written without leading zeros:
/// the only spelling of an IPv4 address the parser keeps as written (it
/// rewrites `0x7f.1`, `127.1` or `010.0.0.1`). Intranet sites link by it.
fn is_canonical_ipv4(host: &str) -> bool {
    host.split('.').count() == 4
        && host.split('.').all(|part| {
            // Digits only (`u8` parsing takes a `+`), no leading zero, to 255.
            part.bytes().all(|b| b.is_ascii_digit())
                && !(part.len() > 1 && part.starts_with('0'))
                && part.parse::<u8>().is_ok()
        })
}

/// Letters, digits and `-._~/`, and no `.` or `..` segment.
fn is_plain_path(path: &str) -> bool {
    path.split('/').all(|segment| {
        segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    })
}

fn is_tracking_param(key: &str) -> bool {
    key.starts_with("utm_")
        || matches!(
            key,
            "spm"
                | "from"
                | "isappinstalled"
                | "scene"
                | "chksm"
                | "share_token"
                | "refer_flag"
                | "sharer_shareid"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys stored by earlier releases stay what they were: the SHA-256, in
    /// lowercase hex, of the identity written out whole.
    #[test]
    fn keys_are_the_hash_of_the_identity_written_out() {
        let written = |identity: &str| -> String {
            Sha256::digest(identity.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let cases = [
            (("urn:x:0:1", None, None, ""), "guid:urn:x:0:1".to_string()),
            (
                (" https://WWW.a.gov.cn/x/ ", None, None, ""),
                "link:www.a.gov.cn/x".to_string(),
            ),
            (
                ("", Some("http://a.gov.cn:80/y?utm_source=z#f"), None, ""),
                "link:a.gov.cn/y".to_string(),
            ),
            (
                ("", None, Some(" 标题 "), " 正文\n "),
                "content:标题\n正文".to_string(),
            ),
            (
                ("", Some("not a link"), None, "t"),
                "content:\nt".to_string(),
            ),
        ];
        for ((guid, link, title, text), identity) in cases {
            assert_eq!(
                dedup_key(guid, link, title, text),
                written(&identity),
                "{identity}"
            );
        }
        // A key fixed before this code changed.
        assert_eq!(
            dedup_key("urn:x:0:1", None, None, ""),
            "08b50f19557ee42896f8ba679754c7f4abad59428ea5321ea90fbc139d2c2329"
        );
    }

    #[test]
    fn plain_links_take_the_short_path_to_what_the_parser_gives() {
        let schemes = ["http://", "https://", "HTTP://", "ftp://", ""];
        let hosts = [
            "www.Lanshan.gov.cn",
            "a.com",
            "localhost",
            "a.com.",
            ".a.com",
            "a..com",
            "-a.com",
            "127.0.0.1",
            "10.20.255.0",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3.04",
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4.5",
            "127.1",
            "1..3.4",
            "0x7f.1",
            "a.1com",
            "xn--fiqs8s.cn",
            "XN--abc.com",
            "xn--zz.com",
            "mp.weixin.qq.com",
            "u:p@a.com",
            "a_b.com",
            "",
            "例子.cn",
        ];
        let ports = ["", ":80", ":443", ":8080", ":080", ":", ":65536", ":x"];
        let paths = [
            "", "/", "/x/", "//x", "/a/./b", "/a/../b", "/a/.", "/...", "/x.html", "/A~b_c-d",
            "/x?y=1", "/x#f", "/x y", "/%41", "/x\\y", "/\tx", "/路径",
        ];
        let mut plain = 0;
        for scheme in schemes {
            for host in hosts {
                for port in ports {
                    for path in paths {
                        let link = format!("{scheme}{host}{port}{path}");
                        if let Some(short) = plain_link(&link) {
                            plain += 1;
                            assert_eq!(Some(short), parsed_link(&link), "{link}");
                        }
                        if let Some(url) = PlainUrl::parse(&link) {
                            let parsed = url::Url::parse(&link).map(String::from);
                            assert_eq!(Ok(url.serialized()), parsed, "{link}");
                        }
                    }
                }
            }
        }
        assert!(plain > 100, "{plain} links took the short path");
        // An address in its one spelling takes it; any other goes to the parser.
        assert!(PlainUrl::parse("http://10.1.2.3:8089/a/1").is_some());
        for other in ["http://127.1/x", "http://010.1.2.3/x", "http://1.2.3.256/x"] {
            assert!(PlainUrl::parse(other).is_none(), "{other}");
        }
        // The parser drops C0 controls and spaces around a URL, as the
        // direct RSS reader does before it tries the short path.
        for link in [
            " https://A.com/x ",
            "\thttp://a.com:80\n",
            "\u{1}https://a.com/\u{1f}",
        ] {
            let short =
                PlainUrl::parse(link.trim_matches(|c: char| c <= ' ')).map(|u| u.serialized());
            assert_eq!(
                short,
                url::Url::parse(link).ok().map(String::from),
                "{link:?}"
            );
        }
    }
}
