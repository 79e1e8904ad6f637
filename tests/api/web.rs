//! The web console over real HTTP on both backends: `/登录` in a group sends
//! the link privately; a link works once and expires; cookies are HttpOnly,
//! SameSite=Strict (Secure behind https); a contact sees their unit only;
//! forms need the session's CSRF token; a 整改 answer is sent back with its
//! reason told to the unit.

use crate::feed_server::{FeedServer, Reply, feed_fixture};
use crate::helpers::{at, test_dbs};
use std::sync::Arc;
use xunjian::app::App;
use xunjian::commands::{Caller, CommandContext, UserId};
use xunjian::config::Secret;
use xunjian::domain::{Grant, Signin};
use xunjian::inspection::Inspector;
use xunjian::rectification::ItemState;
use xunjian::reports::ReportKind;
use xunjian::web::Console;

const REGISTER: &str = "[[unit]]\nid = \"u1\"\nname = \"义堂镇\"\nkind = \"town\"\ncontacts = [{ name = \"周磊\", telegram_id = 5 }]\n\n\
    [[unit]]\nid = \"u2\"\nname = \"柳青街道\"\nkind = \"town\"\ncontacts = [{ name = \"王敏\", telegram_id = 6 }]\n\n\
    [[account]]\nid = \"w\"\nunit = \"u1\"\nname = \"义堂发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/9\"\n\n\
    [[account]]\nid = \"x\"\nunit = \"u2\"\nname = \"柳青发布\"\nplatform = \"weibo\"\nproxy = \"rsshub\"\nroute = \"/weibo/user/8\"\n";

/// Serves the console on a free port; its base URL.
async fn serve(console: Console) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = xunjian::web::router(Arc::new(console));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// The session cookie a sign-in set ("xunjian_session=…"), and the whole header.
async fn sign_in(http: &reqwest::Client, base: &str, link: &str) -> (String, String) {
    let token = link.rsplit('/').next().expect("a token");
    let page = http
        .get(format!("{base}/login/{token}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(page.status(), 200, "a link preview does not use it up");
    let reply = http
        .post(format!("{base}/login/{token}"))
        .send()
        .await
        .expect("POST");
    assert_eq!(reply.status(), 303, "{:?}", reply.text().await);
    let header = reply.headers()["set-cookie"]
        .to_str()
        .expect("ASCII")
        .to_string();
    let cookie = header.split(';').next().expect("a pair").to_string();
    (cookie, header)
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().expect("a value").to_string()
}

async fn get(http: &reqwest::Client, url: &str, cookie: &str) -> (u16, String) {
    let reply = http
        .get(url)
        .header("Cookie", cookie)
        .send()
        .await
        .expect("GET");
    (reply.status().as_u16(), reply.text().await.expect("a body"))
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let reply = http
        .post(url)
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .expect("POST");
    (reply.status().as_u16(), reply.text().await.expect("a body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_sessions_permissions_and_a_returned_answer_hold_on_both_backends() {
    let server = FeedServer::start().await;
    server.set("/healthz", Reply::ok("ok"));
    server.set("/weibo/user/9", Reply::ok(feed_fixture("weibo_rsshub.xml")));
    server.set("/weibo/user/8", Reply::ok(feed_fixture("weibo_rsshub.xml")));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for db in test_dbs("web_console").await {
        let mut settings = db.settings.clone();
        settings.telegram.token = Some(Secret::new("123456:TEST"));
        settings.telegram.contacts_chat = Some(-100);
        settings.telegram.admins = vec![111];
        settings.proxies.get_mut("rsshub").expect("rsshub").url = server.base();
        let path = db.path("accounts.toml");
        std::fs::write(&path, REGISTER).expect("write");
        let app = App::open(settings.clone(), path.clone())
            .await
            .expect("app");
        app.import(false, false, at("2026-10-01T09:00:00+08:00"))
            .await
            .expect("import");
        let inspector = Inspector::new(db.store.clone(), settings.clone()).expect("inspector");
        let now = at("2026-12-15T09:00:00+08:00");
        inspector.run_once(now, true).await.expect("inspection");
        let report = xunjian::publish::load_report(
            &db.store,
            &inspector.calendar,
            ReportKind::Monthly,
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
            now,
        )
        .await
        .expect("report");
        xunjian::publish::issue_report(
            &db.store,
            &settings,
            &inspector.calendar,
            &report,
            "telegram:111 管理员",
            None,
            now,
        )
        .await
        .expect("issue");
        let console = Console::new(
            db.store.clone(),
            settings.clone(),
            inspector.calendar.clone(),
        )
        .at(Some(now));
        let base = serve(console).await;

        // Nothing without a session but the sign-in path.
        let (code, page) = get(&http, &format!("{base}/"), "").await;
        assert_eq!(code, 401);
        assert!(page.contains("/登录"), "{page}");
        assert_eq!(
            get(
                &http,
                &format!("{base}/accounts/w"),
                "xunjian_session=forged"
            )
            .await
            .0,
            401
        );

        // /登录 in the group: the link goes to 周磊 privately, not to the group.
        let zhou = Caller {
            user: UserId::Telegram(5),
            name: "周磊".into(),
            is_private_chat: false,
            chat: Some("-100".into()),
            bot_username: None,
            is_addressed_to_bot: false,
        };
        let commands = CommandContext::new(db.store.clone(), settings.clone());
        let reply = commands.handle(&zhou, "/登录", now).await.expect("a reply");
        assert!(
            reply.contains("私信") && !reply.contains("/login/"),
            "{reply}"
        );
        let sent = db.store.outbox("telegram").await.expect("outbox");
        let (to, body, _) = sent
            .iter()
            .find(|(_, body, _)| body.contains("/login/"))
            .expect("the link was queued");
        assert_eq!(to, "5", "privately to 周磊: {sent:?}");
        assert!(
            !sent
                .iter()
                .any(|(to, body, _)| to == "-100" && body.contains("/login/"))
        );
        let link = body
            .split_whitespace()
            .find(|w| w.contains("/login/"))
            .expect("a link");
        assert!(link.starts_with("http://127.0.0.1:9464/login/"), "{link}");
        let (contact, header) = sign_in(&http, &base, link).await;
        assert!(
            header.contains("HttpOnly") && header.contains("SameSite=Strict"),
            "{header}"
        );
        assert!(!header.contains("Secure"), "plain http: {header}");
        // Once only.
        let token = link.rsplit('/').next().expect("token");
        let again = http
            .post(format!("{base}/login/{token}"))
            .send()
            .await
            .expect("POST");
        assert_eq!(again.status(), 403);
        assert!(again.text().await.expect("body").contains("已使用过"));

        // 周磊 sees 义堂镇 only; 柳青街道's account is 404, the admin pages 403.
        let (code, page) = get(&http, &format!("{base}/accounts"), &contact).await;
        assert_eq!(code, 200);
        assert!(
            page.contains("义堂发布") && !page.contains("柳青发布"),
            "{page}"
        );
        assert_eq!(
            get(&http, &format!("{base}/accounts/x"), &contact).await.0,
            404
        );
        assert_eq!(
            get(&http, &format!("{base}/accounts/w"), &contact).await.0,
            200
        );
        assert_eq!(
            get(&http, &format!("{base}/register"), &contact).await.0,
            403
        );
        assert_eq!(
            get(&http, &format!("{base}/register/export"), &contact)
                .await
                .0,
            403
        );
        // The issued 通报, not drafts.
        let issued = format!("{base}/reports/view?kind=monthly&period=2026-12");
        let (code, page) = get(&http, &issued, &contact).await;
        assert_eq!(code, 200);
        assert!(page.contains("合格率"), "{page}");
        let draft = format!("{base}/reports/file?kind=monthly&period=2026-11&format=docx");
        assert_eq!(get(&http, &draft, &contact).await.0, 404);
        let (_, alerts) = get(&http, &format!("{base}/alerts"), &contact).await;
        assert!(!alerts.contains("柳青发布"), "{alerts}");
        let csrf = csrf_of(&alerts);
        let others = db.store.open_alerts().await.expect("alerts");
        let other = others
            .iter()
            .find(|a| a.subject == "x")
            .expect("柳青发布's alert");
        let (code, _) = post(
            &http,
            &format!("{base}/alerts/{}/ack", other.id),
            &contact,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(code, 404, "another unit's alert is not there");
        // A contact pauses at most 7 days, and says why.
        let mine = others
            .iter()
            .find(|a| a.subject == "w")
            .expect("义堂发布's alert");
        let snooze = format!("{base}/alerts/{}/snooze", mine.id);
        let (code, _) = post(
            &http,
            &snooze,
            &contact,
            &[("csrf", &csrf), ("days", "30"), ("reason", "改版")],
        )
        .await;
        assert_eq!(code, 400);
        let (code, _) = post(
            &http,
            &snooze,
            &contact,
            &[("csrf", &csrf), ("days", "3"), ("reason", "")],
        )
        .await;
        assert_eq!(code, 400, "a reason is needed");
        let (code, _) = post(
            &http,
            &snooze,
            &contact,
            &[("csrf", &csrf), ("days", "3"), ("reason", "账号改版中")],
        )
        .await;
        assert_eq!(code, 303);
        let said = http
            .post(&snooze)
            .header("Cookie", &contact)
            .form(&[("csrf", csrf.as_str()), ("days", "1"), ("reason", "再暂缓")])
            .send()
            .await
            .expect("POST");
        assert_eq!(
            said.headers()["location"],
            "/alerts?said=kept",
            "a shorter pause keeps the longer one, and says so"
        );
        let (_, page) = get(&http, &format!("{base}/alerts?said=kept"), &contact).await;
        assert!(page.contains("已有更长的暂缓"), "{page}");
        let notes = db.store.silence_notes().await.expect("silences");
        let (until, by, reason) = &notes["w"];
        assert_eq!(
            (by.as_str(), reason.as_str()),
            ("周磊（网页）", "账号改版中")
        );
        assert_eq!(*until, now + chrono::Duration::days(3));

        // The answer, from the browser form.
        let items = db
            .store
            .rectification_items(None, false)
            .await
            .expect("items");
        let item = items
            .iter()
            .find(|i| i.account_id == "w")
            .expect("w's item");
        let other_item = items
            .iter()
            .find(|i| i.account_id == "x")
            .expect("x's item");
        let respond = format!("{base}/rectification/{}/respond", item.id);
        assert_eq!(
            post(&http, &respond, &contact, &[("note", "已更新")])
                .await
                .0,
            403,
            "no CSRF token"
        );
        assert_eq!(
            post(
                &http,
                &format!("{base}/rectification/{}/respond", other_item.id),
                &contact,
                &[("csrf", &csrf), ("note", "已更新")]
            )
            .await
            .0,
            404
        );
        assert_eq!(
            post(
                &http,
                &respond,
                &contact,
                &[("csrf", &csrf), ("note", "已恢复每周更新")]
            )
            .await
            .0,
            303
        );
        // Answering again: nothing is waiting, and the page says so.
        let again = http
            .post(&respond)
            .header("Cookie", &contact)
            .form(&[("csrf", csrf.as_str()), ("note", "再次反馈")])
            .send()
            .await
            .expect("POST");
        assert_eq!(again.headers()["location"], "/rectification?said=none");
        // A contact cannot review.
        let review = format!("{base}/rectification/{}/review", item.id);
        let (code, _) = post(
            &http,
            &review,
            &contact,
            &[("csrf", &csrf), ("decision", "accept")],
        )
        .await;
        assert_eq!(code, 403);

        // An expired link, then the admin's.
        let admin = Signin {
            grant: Grant::Admin,
            person: "王科".into(),
        };
        let old = xunjian::web::links::issue_link(
            &db.store,
            &settings,
            &admin,
            "test",
            1,
            now - chrono::Duration::minutes(5),
        )
        .await
        .expect("a link");
        let token = old.rsplit('/').next().expect("token");
        let expired = http
            .post(format!("{base}/login/{token}"))
            .send()
            .await
            .expect("POST");
        assert_eq!(expired.status(), 403);
        assert!(expired.text().await.expect("body").contains("已过期"));
        let link = xunjian::web::links::issue_link(&db.store, &settings, &admin, "test", 10, now)
            .await
            .expect("a link");
        let (cookie, _) = sign_in(&http, &base, &link).await;
        let (code, page) = get(
            &http,
            &format!("{base}/rectification?state=responded"),
            &cookie,
        )
        .await;
        assert_eq!(code, 200);
        assert!(
            page.contains("已恢复每周更新") && page.contains("周磊（网页）"),
            "{page}"
        );
        let csrf = csrf_of(&page);
        assert_ne!(csrf, csrf_of(&alerts), "each session its own token");
        // 周磊's token is not the admin's.
        assert_eq!(
            post(
                &http,
                &review,
                &cookie,
                &[
                    ("csrf", &csrf_of(&alerts)),
                    ("decision", "return"),
                    ("reason", "x")
                ]
            )
            .await
            .0,
            403
        );
        let (code, _) = post(
            &http,
            &review,
            &cookie,
            &[("csrf", &csrf), ("decision", "return"), ("reason", "")],
        )
        .await;
        assert_eq!(code, 400, "a reason is needed to send back");
        let (code, _) = post(
            &http,
            &review,
            &cookie,
            &[
                ("csrf", &csrf),
                ("decision", "return"),
                ("reason", "未见新发文，请补充链接"),
            ],
        )
        .await;
        assert_eq!(code, 303);
        let (code, page) = post(
            &http,
            &review,
            &cookie,
            &[
                ("csrf", &csrf),
                ("decision", "return"),
                ("reason", "再退一次"),
            ],
        )
        .await;
        assert_eq!(code, 400, "reviewed once: {page}");
        let items = db
            .store
            .rectification_items(Some("u1"), false)
            .await
            .expect("items");
        assert_eq!(items[0].state, ItemState::Open);
        let history = db
            .store
            .rectification_history(items[0].id)
            .await
            .expect("history");
        let returned = history
            .iter()
            .find(|(_, _, action, _)| action == "returned")
            .expect("audited");
        assert_eq!(
            (returned.1.as_str(), returned.3.as_str()),
            ("王科（网页）", "未见新发文，请补充链接")
        );
        // The unit is told why, where its 整改通知 went (周磊, privately).
        let told = db.store.outbox("telegram").await.expect("outbox");
        assert!(
            told.iter().any(|(to, body, _)| to == "5"
                && body.contains("【整改退回】义堂镇")
                && body.contains("未见新发文，请补充链接")
                && body.contains("周磊")),
            "{told:?}"
        );

        // Behind https the cookie is Secure.
        let mut behind = settings.clone();
        behind.server.public_url = "https://xunjian.example.gov.cn".into();
        let secure = serve(
            Console::new(db.store.clone(), behind.clone(), inspector.calendar.clone())
                .at(Some(now)),
        )
        .await;
        let link = xunjian::web::links::issue_link(&db.store, &behind, &admin, "test", 10, now)
            .await
            .expect("a link");
        assert!(
            link.starts_with("https://xunjian.example.gov.cn/login/"),
            "{link}"
        );
        let (_, header) = sign_in(&http, &secure, &link).await;
        assert!(header.contains("; Secure"), "{header}");

        // Signing out ends the session.
        let (_, page) = get(&http, &format!("{base}/"), &cookie).await;
        assert_eq!(
            post(
                &http,
                &format!("{base}/logout"),
                &cookie,
                &[("csrf", &csrf_of(&page))]
            )
            .await
            .0,
            200
        );
        assert_eq!(get(&http, &format!("{base}/"), &cookie).await.0, 401);
        db.finish().await;
    }
}
