//! Stable dedup keys: the guid, else the normalised link, else the content.

use sha2::{Digest, Sha256};

/// SHA-256 (hex) of the first identity the item has.
pub fn dedup_key(guid: &str, link: Option<&str>, title: Option<&str>, text: &str) -> String {
    let guid = guid.trim();
    let identity = if !guid.is_empty() {
        // A guid that is a WeChat article URL is normalised like a link.
        match normalize_link(guid) {
            Some(link) if guid.starts_with("http") => format!("link:{link}"),
            _ => format!("guid:{guid}"),
        }
    } else if let Some(link) = link.and_then(normalize_link) {
        format!("link:{link}")
    } else {
        format!("content:{}\n{}", title.unwrap_or("").trim(), text.trim())
    };
    let digest = Sha256::digest(identity.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        for nibble in [b >> 4, b & 0x0f] {
            hex.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    hex
}

/// A link reduced to what identifies the item: WeChat articles to
/// `__biz/mid/idx/sn`, others without fragment, tracking parameters and
/// default ports, with a lowercase host.
pub fn normalize_link(text: &str) -> Option<String> {
    let mut url = url::Url::parse(text.trim()).ok()?;
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
