//! [`Register`] → `accounts.toml` text that [`super::load`] reads back unchanged.

use super::{AccountState, Register, Source, ThresholdOverrides};
use std::fmt::Write;

/// Renders the register as `accounts.toml`.
pub fn to_toml(register: &Register) -> String {
    let mut out = String::from(
        "# 政务新媒体账号台账 — exported by xunjian; edit and run `xunjian import`.\n",
    );
    for unit in &register.units {
        out.push_str("\n[[unit]]\n");
        field(&mut out, "id", &unit.id);
        field(&mut out, "name", &unit.name);
        field(&mut out, "kind", unit.kind.id());
        if let Some(chat) = &unit.chat {
            field(&mut out, "chat", chat);
        }
        if !unit.contacts.is_empty() {
            out.push_str("contacts = [\n");
            for c in &unit.contacts {
                let mut parts = vec![format!("name = {}", quote(&c.name))];
                if let Some(id) = c.telegram_id {
                    parts.push(format!("telegram_id = {id}"));
                }
                if let Some(id) = &c.dingtalk_id {
                    parts.push(format!("dingtalk_id = {}", quote(id)));
                }
                if let Some(id) = &c.feishu_open_id {
                    parts.push(format!("feishu_open_id = {}", quote(id)));
                }
                if let Some(phone) = &c.phone {
                    parts.push(format!("phone = {}", quote(phone)));
                }
                let _ = writeln!(out, "  {{ {} }},", parts.join(", "));
            }
            out.push_str("]\n");
        }
    }
    for account in &register.accounts {
        out.push_str("\n[[account]]\n");
        field(&mut out, "id", &account.id);
        field(&mut out, "unit", &account.unit);
        field(&mut out, "name", &account.name);
        field(&mut out, "platform", account.platform.id());
        match &account.source {
            Source::Proxy { proxy, route } => {
                field(&mut out, "proxy", proxy);
                field(&mut out, "route", route);
            }
            Source::Feed { feed } => field(&mut out, "feed", feed),
            // No source: checked by hand (the platform allows it).
            Source::Manual {} => {}
        }
        field(&mut out, "state", account.state.id());
        if account.state == AccountState::Deregistered {
            if let Some(date) = account.deregistered_on {
                field(
                    &mut out,
                    "deregistered_on",
                    &date.format("%Y-%m-%d").to_string(),
                );
            }
            if let Some(filing) = &account.filing_ref {
                field(&mut out, "filing_ref", filing);
            }
        }
        if !account.is_interactive {
            out.push_str("interactive = false\n");
        }
        for key in ThresholdOverrides::KEYS {
            if let Some(days) = account.thresholds.get(key) {
                let _ = writeln!(out, "{key} = {days}");
            }
        }
        if let Some(note) = &account.note {
            field(&mut out, "note", note);
        }
    }
    out
}

fn field(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {}", quote(value));
}

/// A TOML basic string with everything escaped that must be.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
