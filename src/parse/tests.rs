use super::*;
use std::collections::BTreeMap;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/feeds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T01:00:00Z")
        .expect("valid")
        .with_timezone(&Utc)
}

fn parse(name: &str, platform: Platform) -> Result<ParsedFeed, ParseError> {
    let classifier = Classifier::new(&BTreeMap::new()).expect("built-in patterns");
    parse_feed(&fixture(name), platform, &classifier, now())
}

fn kinds(feed: &ParsedFeed) -> Vec<PostKind> {
    feed.posts.iter().map(|p| p.kind).collect()
}

#[test]
fn weibo_reposts_are_recognised_by_each_marker() {
    let feed = parse("weibo_rsshub.xml", Platform::Weibo).expect("weibo feed");
    assert_eq!(feed.title.as_deref(), Some("兰山发布的微博"));
    assert_eq!(feed.ttl_minutes, Some(5));
    assert_eq!(
        kinds(&feed),
        vec![
            PostKind::Original,
            PostKind::Original,
            PostKind::Repost,
            PostKind::Repost,
            PostKind::Repost
        ]
    );
    assert_eq!(feed.posts[2].evidence, "weibo: title contains \" - 转发 \"");
    assert_eq!(feed.posts[4].evidence, "weibo: title starts with \"🔁\"");
    assert_eq!(feed.posts[0].author.as_deref(), Some("兰山发布"));
}

#[test]
fn a_repost_of_a_deleted_original_is_still_a_repost() {
    let feed = parse("weibo_rsshub.xml", Platform::Weibo).expect("weibo feed");
    let deleted = &feed.posts[3];
    assert!(
        deleted
            .title
            .as_deref()
            .unwrap_or("")
            .contains("原微博已删除")
    );
    assert_eq!(deleted.kind, PostKind::Repost);
}

#[test]
fn wechat_reprints_and_foreign_sources_are_reposts_but_own_source_is_original() {
    let feed = parse("wechat_wewe.atom", Platform::WechatSubscription).expect("wechat feed");
    assert_eq!(feed.title.as_deref(), Some("市政兰山"));
    assert_eq!(
        kinds(&feed),
        vec![PostKind::Original, PostKind::Repost, PostKind::Repost]
    );
    assert_eq!(
        feed.posts[1].evidence,
        "wechat_subscription: contains \"以下文章来源于\""
    );
    assert_eq!(
        feed.posts[2].evidence,
        "wechat_subscription: \"来源：临沂日报\" names another outlet"
    );
}

#[test]
fn douyin_and_toutiao_posts_are_unknown_for_lack_of_a_signal() {
    let douyin = parse("douyin_rsshub.xml", Platform::Douyin).expect("douyin");
    assert_eq!(kinds(&douyin), vec![PostKind::Unknown, PostKind::Unknown]);
    let toutiao = parse("toutiao_rsshub.xml", Platform::Toutiao).expect("toutiao");
    assert_eq!(kinds(&toutiao), vec![PostKind::Unknown]);
}

#[test]
fn bilibili_forwards_are_reposts() {
    let feed = parse("bilibili_rsshub.xml", Platform::Bilibili).expect("bilibili");
    assert_eq!(kinds(&feed), vec![PostKind::Original, PostKind::Repost]);
}

#[test]
fn missing_dates_become_the_fetch_time_and_future_dates_are_clamped() {
    let feed = parse("website.rss", Platform::Website).expect("website");
    let undated = &feed.posts[2];
    assert_eq!(undated.published_at, now());
    assert!(undated.is_date_estimated);
    let future = &feed.posts[3];
    assert_eq!(future.published_at, now());
    assert!(!future.is_date_estimated);
    assert_eq!(kinds(&feed)[..2], [PostKind::Original, PostKind::Repost]);
}

#[test]
fn atom_and_json_feed_are_read() {
    let atom = parse("website.atom", Platform::Website).expect("atom");
    assert_eq!(atom.posts.len(), 1);
    assert_eq!(
        atom.posts[0].published_at,
        DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z").expect("valid")
    );
    let json = parse("feed.json", Platform::Website).expect("json feed");
    assert_eq!(json.title.as_deref(), Some("柳青街道"));
    assert_eq!(json.posts.len(), 1);
}

#[test]
fn html_malformed_and_hostile_documents_are_errors_not_panics() {
    assert_eq!(
        parse("error_page.html", Platform::Website),
        Err(ParseError::Html("title \"502 Bad Gateway\"".to_string()))
    );
    assert!(matches!(
        parse("malformed.xml", Platform::Website),
        Err(ParseError::Malformed(_))
    ));
    // Entities are never expanded: no billion laughs, no file read.
    match parse("billion_laughs.xml", Platform::Website) {
        Err(ParseError::Malformed(_)) => {}
        Ok(feed) => assert!(feed.title.unwrap_or_default().len() < 100),
        other => panic!("unexpected {other:?}"),
    }
    match parse("xxe.xml", Platform::Website) {
        Err(ParseError::Malformed(_)) => {}
        Ok(feed) => assert!(
            feed.posts
                .iter()
                .all(|p| !p.title.clone().unwrap_or_default().contains("root:")),
            "external entity expanded"
        ),
        other => panic!("unexpected {other:?}"),
    }
    let classifier = Classifier::new(&BTreeMap::new()).expect("patterns");
    assert_eq!(
        parse_feed(b"   ", Platform::Website, &classifier, now()),
        Err(ParseError::Empty)
    );
}

#[test]
fn dedup_keys_are_stable_and_wechat_links_ignore_tracking() {
    let a = normalize_link(
        "https://mp.weixin.qq.com/s?__biz=MzA3&mid=22&idx=1&sn=ab&chksm=1&scene=21#wechat_redirect",
    );
    let b = normalize_link("http://mp.weixin.qq.com/s?sn=ab&idx=1&mid=22&__biz=MzA3");
    assert_eq!(a.as_deref(), Some("wechat:MzA3/22/1/ab"));
    assert_eq!(a, b);
    assert_eq!(
        normalize_link("https://WWW.Lanshan.gov.cn/jyj/info/1001.html?utm_source=rss#top")
            .as_deref(),
        Some("www.lanshan.gov.cn/jyj/info/1001.html")
    );
    let by_link = dedup_key("", Some("https://a.gov.cn/x.html#frag"), None, "");
    assert_eq!(
        by_link,
        dedup_key(
            "",
            Some("https://a.gov.cn/x.html"),
            Some("other title"),
            "x"
        )
    );
    assert_ne!(
        dedup_key("g1", None, None, ""),
        dedup_key("g2", None, None, "")
    );
    assert_eq!(
        dedup_key("", None, Some("标题"), "正文"),
        dedup_key("", None, Some("标题"), "正文")
    );
}

#[test]
fn configured_patterns_mark_reposts_with_their_evidence() {
    let mut extra = BTreeMap::new();
    extra.insert("douyin".to_string(), vec!["#转发#".to_string()]);
    let classifier = Classifier::new(&extra).expect("patterns");
    let (kind, evidence) = classifier.classify(Platform::Douyin, "#转发# 好视频", "", None);
    assert_eq!(kind, PostKind::Repost);
    assert_eq!(evidence, "configured pattern /#转发#/ matched");
}
