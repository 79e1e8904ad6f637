//! Where an account is fetched from: a proxy's base URL, the account's
//! route and the proxy's configured query, or the account's own feed URL.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use crate::config::Settings;
use crate::registry::{Account, Platform, Source};
use std::collections::BTreeMap;
use url::Url;

/// The URL to fetch for an account: proxy base + route + query, or its feed.
/// Only register entries and configured proxies ever become URLs: a route is
/// a plain path under the proxy's base path, and the proxy's configured
/// query (its key) is the one sent.
pub fn source_url<'s>(
    account: &Account,
    settings: &'s Settings,
) -> Result<(Url, Option<&'s str>), String> {
    match &account.source {
        Source::Feed { feed } => {
            crate::registry::check::check_feed_url(feed)
                .map_err(|why| format!("订阅地址不可用：{why}"))?;
            Url::parse(feed)
                .map(|u| (u, None))
                .map_err(|e| format!("订阅地址无效：{e}"))
        }
        Source::Manual {} => Err("人工检查的账号没有订阅来源，不抓取".to_string()),
        Source::Proxy { proxy, route } => {
            let (name, settings) = settings
                .proxies
                .get_key_value(proxy)
                .ok_or_else(|| format!("代理「{proxy}」未配置（设置文件的 [proxies] 中没有）"))?;
            crate::registry::check::check_route(route)
                .map_err(|why| format!("路由「{route}」不可用：{why}"))?;
            let mut url = join_url(&settings.url, route)?;
            let mut query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            for (key, value) in &settings.query {
                query.insert(key.clone(), value.clone());
            }
            if account.platform == Platform::Weibo {
                // Without it RSSHub silently drops reposts.
                query.insert("showRetweeted".to_string(), "1".to_string());
            }
            if query.is_empty() {
                url.set_query(None);
            } else {
                url.query_pairs_mut().clear().extend_pairs(query);
            }
            Ok((url, Some(name.as_str())))
        }
    }
}

/// The proxy's base URL with `path` appended; it must stay on the proxy's
/// host and port and under its base path once dot segments are resolved.
pub(super) fn join_url(base: &str, path: &str) -> Result<Url, String> {
    let base_url = Url::parse(base).map_err(|e| format!("代理地址无效：{e}"))?;
    let joined = format!("{}{}", base.trim_end_matches('/'), path);
    let url = Url::parse(&joined).map_err(|e| format!("路由「{path}」拼不成有效地址：{e}"))?;
    if url.host_str() != base_url.host_str()
        || url.port_or_known_default() != base_url.port_or_known_default()
        || url.scheme() != base_url.scheme()
    {
        return Err(format!("路由「{path}」离开了代理的主机"));
    }
    let base_path = base_url.path().trim_end_matches('/');
    let is_under_base = url
        .path()
        .strip_prefix(base_path)
        .is_some_and(|rest| rest.starts_with('/'));
    if !is_under_base {
        return Err(format!("路由「{path}」离开了代理的基础路径"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{AccountState, ThresholdOverrides};

    fn account(route: &str) -> Account {
        Account {
            id: "a".into(),
            unit: "u".into(),
            name: "兰山发布".into(),
            platform: Platform::Douyin,
            source: Source::Proxy {
                proxy: "rsshub".into(),
                route: route.into(),
            },
            state: AccountState::Active,
            deregistered_on: None,
            filing_ref: None,
            is_interactive: true,
            thresholds: ThresholdOverrides::default(),
            note: None,
        }
    }

    fn settings() -> Settings {
        Settings::parse(
            "test",
            "[proxies.rsshub]\nurl = \"http://127.0.0.1:1200/rsshub/\"\nquery = { key = \"configured\" }\n",
        )
        .expect("settings parse")
    }

    #[test]
    fn a_route_stays_under_the_proxy_base_path_and_keeps_the_configured_key() {
        let settings = settings();
        let (url, proxy) =
            source_url(&account("/douyin/user/1"), &settings).expect("a plain route");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1200/rsshub/douyin/user/1?key=configured"
        );
        assert_eq!(proxy, Some("rsshub"));
        for route in [
            "/douyin/%2e%2e/%2e%2e/admin",
            "/douyin/.%2e/.%2e/admin",
            "/douyin/%2E%2E/%2E%2E/admin",
            "/%2e%2e/admin",
            "/douyin/user/1?key=mine",
            "/douyin/user/1#frag",
            "/douyin\\..\\..\\admin",
        ] {
            assert!(
                source_url(&account(route), &settings).is_err(),
                "{route} was accepted"
            );
        }
    }

    #[test]
    fn a_joined_url_outside_the_base_path_is_refused_even_without_route_checks() {
        assert!(join_url("http://127.0.0.1:1200/rsshub", "/%2e%2e/admin").is_err());
        assert!(join_url("http://127.0.0.1:1200/rsshub", "/../admin").is_err());
        assert!(join_url("http://127.0.0.1:1200/rsshub", "x/admin").is_err());
        assert!(join_url("http://127.0.0.1:1200", "/healthz").is_ok());
        assert!(join_url("http://127.0.0.1:1200/rsshub/", "/healthz").is_ok());
    }
}
