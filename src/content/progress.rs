//! How far each 转载任务 is: the accounts it targets, who reposted on
//! time, late, or not at all. Pure.

use super::{RepostTask, is_targeted};
use crate::calendar::{date_cn, local_date};
use crate::registry::Register;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One task's accounts by outcome (account ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProgress {
    pub id: i64,
    pub title: String,
    pub due_on: NaiveDate,
    pub is_closed: bool,
    pub targeted: usize,
    pub on_time: Vec<String>,
    pub late: Vec<String>,
    pub missing: Vec<String>,
}

impl TaskProgress {
    pub fn new(
        task: &RepostTask,
        register: &Register,
        done: &HashMap<(i64, String), DateTime<Utc>>,
    ) -> TaskProgress {
        let mut p = TaskProgress {
            id: task.id,
            title: task.title.clone(),
            due_on: task.due_on,
            is_closed: task.closed_at.is_some(),
            targeted: 0,
            on_time: Vec::new(),
            late: Vec::new(),
            missing: Vec::new(),
        };
        for account in register.accounts.iter().filter(|a| is_targeted(task, a)) {
            p.targeted += 1;
            match done.get(&(task.id, account.id.clone())) {
                Some(at) if local_date(*at) <= task.due_on => p.on_time.push(account.id.clone()),
                Some(_) => p.late.push(account.id.clone()),
                None => p.missing.push(account.id.clone()),
            }
        }
        p
    }

    /// The units with accounts still missing, by name, in register order.
    pub fn missing_units(&self, register: &Register) -> Vec<String> {
        let mut units: Vec<String> = Vec::new();
        for id in &self.missing {
            let name = register
                .account(id)
                .and_then(|a| register.unit(&a.unit))
                .map_or_else(|| id.clone(), |u| u.name.clone());
            if !units.contains(&name) {
                units.push(name);
            }
        }
        units
    }
}

/// The tasks as a clerk reads them, one paragraph each.
pub fn render_tasks(progress: &[TaskProgress], register: &Register, today: NaiveDate) -> String {
    if progress.is_empty() {
        return "没有转载任务。新增：xunjian task add --title 标题 --due 日期（聊天中：/转载任务 新增 日期 标题）\n"
            .to_string();
    }
    let mut out = String::new();
    for p in progress {
        let state = if p.is_closed {
            "已关闭"
        } else if p.due_on < today {
            "已截止"
        } else {
            "进行中"
        };
        out.push_str(&format!(
            "#{} 「{}」 {}截止（{state}）：应转载{}个账号，按时完成{}个",
            p.id,
            p.title,
            date_cn(p.due_on),
            p.targeted,
            p.on_time.len()
        ));
        if !p.late.is_empty() {
            out.push_str(&format!("，逾期完成{}个", p.late.len()));
        }
        if !p.missing.is_empty() {
            let names: Vec<String> = p
                .missing
                .iter()
                .take(20)
                .map(|id| {
                    register.account(id).map_or_else(
                        || id.clone(),
                        |a| format!("{}「{}」", unit_name(register, &a.unit), a.name),
                    )
                })
                .collect();
            let more = if p.missing.len() > 20 {
                format!("等{}个", p.missing.len())
            } else {
                String::new()
            };
            out.push_str(&format!("；未完成：{}{more}", names.join("、")));
        }
        out.push('\n');
    }
    out
}

fn unit_name(register: &Register, id: &str) -> String {
    register
        .unit(id)
        .map_or_else(|| id.to_string(), |u| u.name.clone())
}

/// "转载任务N项，应转载X个账号次，按时完成Y个，未完成：A、B" for the 通报.
pub fn tasks_sentence(progress: &[TaskProgress], register: &Register) -> Option<String> {
    if progress.is_empty() {
        return None;
    }
    let targeted: usize = progress.iter().map(|p| p.targeted).sum();
    let on_time: usize = progress.iter().map(|p| p.on_time.len()).sum();
    let mut units: Vec<String> = Vec::new();
    for p in progress {
        for u in p.missing_units(register) {
            if !units.contains(&u) {
                units.push(u);
            }
        }
    }
    let missing = if units.is_empty() {
        "全部按时完成".to_string()
    } else {
        format!("未完成：{}", units.join("、"))
    };
    Some(format!(
        "转载任务{}项，应转载{targeted}个账号次，按时完成{on_time}个，{missing}。",
        progress.len()
    ))
}
