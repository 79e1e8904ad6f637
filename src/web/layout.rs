//! The frame of every page: head, navigation, styles (inline, no script),
//! readable on a phone and on a desk.

use super::Viewer;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:15px/1.6 "WenQuanYi Micro Hei","Microsoft YaHei","PingFang SC",sans-serif;color:#1f2328;background:#f6f7f9}
header{background:#a61b1b;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem}
header .brand{font-weight:bold;font-size:1.1rem;margin-right:.5rem}
header nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem}
header a{color:#fff;text-decoration:none}
header a.on{border-bottom:2px solid #fff}
header .who{margin-left:auto;font-size:.85rem;display:flex;gap:.5rem;align-items:center}
header .who button{background:none;border:1px solid #fff;color:#fff;padding:0 .4rem;font-size:.8rem}
main{padding:1rem;max-width:1200px;margin:0 auto}
h1{font-size:1.35rem;margin:.2rem 0 .8rem}
h2{font-size:1.1rem;margin:1.2rem 0 .5rem;border-left:4px solid #a61b1b;padding-left:.5rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(7rem,1fr));gap:.6rem}
.card{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.6rem .8rem}
.card .n{font-size:1.6rem;font-weight:bold}
.card .l{color:#57606a;font-size:.85rem}
.card.main .n{color:#a61b1b}
.scroll{overflow-x:auto;background:#fff;border:1px solid #d8dde3;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{padding:.35rem .5rem;border-bottom:1px solid #e5e8eb;text-align:left;vertical-align:top}
th{background:#f0f2f4;white-space:nowrap}
td.num,th.num{text-align:right}
.tag{display:inline-block;padding:0 .35rem;border-radius:3px;font-size:.8rem;white-space:nowrap}
.ok{background:#dcf3e1;color:#116329}.bad{background:#fde2e1;color:#a40e26}
.warn{background:#fff3cd;color:#7a5a00}.gray{background:#eaeef2;color:#57606a}
form.inline{display:inline}
form.filters{display:flex;flex-wrap:wrap;gap:.4rem;margin-bottom:.8rem}
input,select,button,textarea{font:inherit;padding:.25rem .4rem;border:1px solid #aab3bd;border-radius:4px;background:#fff;max-width:100%}
.acts input[type=text]{flex:1 1 14rem;min-width:0}
span.acts{flex-wrap:nowrap;white-space:nowrap}
button{background:#a61b1b;color:#fff;border-color:#a61b1b;cursor:pointer}
button.plain{background:#fff;color:#1f2328;border-color:#aab3bd}
.acts{display:flex;flex-wrap:wrap;gap:.3rem;align-items:center}
.muted{color:#57606a;font-size:.85rem}
.note{background:#fff;border:1px solid #d8dde3;border-left:4px solid #7a5a00;padding:.5rem .8rem;margin:.6rem 0}
.done{border-left-color:#116329}
#message{white-space:pre-wrap}
pre.report{white-space:pre-wrap;background:#fff;border:1px solid #d8dde3;padding:.8rem;font:inherit}
svg{max-width:100%;height:auto}
@media (max-width:640px){main{padding:.6rem}th,td{padding:.3rem}header .who{margin-left:0}.card{padding:.4rem .5rem}.card .n{font-size:1.3rem}span.acts{flex-wrap:wrap}}
"#;

/// The pages of the navigation: (path, label, admins only).
const NAV: [(&str, &str, bool); 7] = [
    ("/", "总览", false),
    ("/accounts", "台账", false),
    ("/alerts", "告警", false),
    ("/rectification", "整改", false),
    ("/reports", "通报", false),
    ("/register", "导入导出", true),
    ("/history", "记录", false),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · 巡检工作台" }
            style { (PreEscaped(STYLE)) }
        }
    }
}

/// A signed-in page.
pub fn page(viewer: &Viewer, active: &str, title: &str, body: Markup) -> Response {
    let who = match &viewer.signin.grant {
        crate::domain::Grant::Admin if viewer.signin.person == "管理员" => "管理员".to_string(),
        crate::domain::Grant::Admin => format!("{}（管理员）", viewer.signin.person),
        crate::domain::Grant::Units(_) => format!("{}（单位联系人）", viewer.signin.person),
    };
    let markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (head(title))
            body {
                header {
                    span.brand { "巡检工作台" }
                    nav {
                        @for (path, label, is_admin_only) in NAV {
                            @if !is_admin_only || viewer.is_admin() {
                                a href=(path) class=[(path == active).then_some("on")] { (label) }
                            }
                        }
                    }
                    span.who {
                        span #who { (who) }
                        form.inline method="post" action="/logout" {
                            (csrf(viewer))
                            button type="submit" { "退出" }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// A page without navigation (sign-in).
pub fn bare(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="zh-CN" {
                (head(title))
                body {
                    header { span.brand { "巡检工作台" } }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

/// A message and nothing else (errors, sign-out); `is_linking_back` adds
/// the way back (not for who is signed out: it would lead here again).
pub fn message_page(title: &str, text: &str, is_linking_back: bool) -> Html<String> {
    bare(
        title,
        html! {
            h1 { (title) }
            p #message { (text) }
            @if is_linking_back {
                p.acts { a href="/" { "返回总览" } a href="/alerts" { "告警" } a href="/rectification" { "整改事项" } a href="/reports" { "通报" } }
            }
        },
    )
}

/// The hidden field every form carries.
pub fn csrf(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf); }
}

/// A time as clerks read it, Beijing time: 2026-12-01 09:30.
pub fn time(at: DateTime<Utc>) -> String {
    crate::calendar::to_local(at)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A verdict as a coloured tag.
pub fn verdict(verdict: crate::rules::Verdict) -> Markup {
    use crate::rules::Verdict as V;
    let class = match verdict {
        V::Qualified => "tag ok",
        V::Failed => "tag bad",
        V::Closing | V::Unknown => "tag warn",
        V::Manual => "tag gray",
    };
    html! { span class=(class) { (verdict.label()) } }
}

/// "（共 N 条，仅显示前 M 条）" when a list was cut.
pub fn cut_note(total: usize, shown: usize) -> Markup {
    html! {
        @if total > shown {
            p.muted { "共 " (total) " 条，仅显示前 " (shown) " 条；请用筛选条件缩小范围。" }
        }
    }
}
