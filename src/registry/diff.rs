//! The changes that turn one register into another, with a readable detail
//! of what changed for the audit trail.

use super::{Account, Register, Unit};
use serde_json::{Map, Value, json};

/// One change to apply to the stored register.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    InsertUnit(Unit),
    UpdateUnit { unit: Unit, detail: Value },
    RemoveUnit(Unit),
    InsertAccount(Account),
    UpdateAccount { account: Account, detail: Value },
    RemoveAccount(Account),
}

impl Change {
    /// ("unit" | "account", id, "insert" | "update" | "remove")
    pub fn describe(&self) -> (&'static str, &str, &'static str) {
        match self {
            Change::InsertUnit(u) => ("unit", &u.id, "insert"),
            Change::UpdateUnit { unit, .. } => ("unit", &unit.id, "update"),
            Change::RemoveUnit(u) => ("unit", &u.id, "remove"),
            Change::InsertAccount(a) => ("account", &a.id, "insert"),
            Change::UpdateAccount { account, .. } => ("account", &account.id, "update"),
            Change::RemoveAccount(a) => ("account", &a.id, "remove"),
        }
    }

    /// What the audit trail stores: the whole entry, or the changed fields.
    pub fn detail(&self) -> Value {
        match self {
            Change::InsertUnit(u) | Change::RemoveUnit(u) => json!(u),
            Change::InsertAccount(a) | Change::RemoveAccount(a) => json!(a),
            Change::UpdateUnit { detail, .. } | Change::UpdateAccount { detail, .. } => {
                detail.clone()
            }
        }
    }
}

/// The plan that makes `current` equal to `wanted`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Changes in a safe order: units before accounts, removals last.
    pub changes: Vec<Change>,
    /// Entries in `current` that `wanted` lacks, kept because `prune` was off.
    pub missing_units: Vec<String>,
    pub missing_accounts: Vec<String>,
    pub unchanged: usize,
}

/// Compares two registers; removals only when `is_pruning`.
pub fn plan(current: &Register, wanted: &Register, is_pruning: bool) -> Plan {
    let mut plan = Plan::default();
    // By id, once: a register of 100,000 accounts is compared in one pass.
    let current_accounts = current.accounts_by_id();
    let wanted_accounts = wanted.accounts_by_id();
    for unit in &wanted.units {
        match current.unit(&unit.id) {
            None => plan.changes.push(Change::InsertUnit(unit.clone())),
            Some(old) if old == unit => plan.unchanged += 1,
            Some(old) => plan.changes.push(Change::UpdateUnit {
                unit: unit.clone(),
                detail: changed_fields(&json!(old), &json!(unit)),
            }),
        }
    }
    for account in &wanted.accounts {
        match current_accounts.get(account.id.as_str()).copied() {
            None => plan.changes.push(Change::InsertAccount(account.clone())),
            Some(old) if old == account => plan.unchanged += 1,
            Some(old) => plan.changes.push(Change::UpdateAccount {
                account: account.clone(),
                detail: changed_fields(&json!(old), &json!(account)),
            }),
        }
    }
    for account in &current.accounts {
        if !wanted_accounts.contains_key(account.id.as_str()) {
            if is_pruning {
                plan.changes.push(Change::RemoveAccount(account.clone()));
            } else {
                plan.missing_accounts.push(account.id.clone());
            }
        }
    }
    for unit in &current.units {
        if wanted.unit(&unit.id).is_none() {
            // A unit still owning kept accounts cannot go, even when pruning.
            let is_still_used = current.accounts.iter().any(|a| {
                a.unit == unit.id && (!is_pruning || wanted_accounts.contains_key(a.id.as_str()))
            });
            if is_pruning && !is_still_used {
                plan.changes.push(Change::RemoveUnit(unit.clone()));
            } else {
                plan.missing_units.push(unit.id.clone());
            }
        }
    }
    plan
}

/// `{field: [old, new]}` for every top-level field that differs; a field
/// one side leaves out (an optional one, such as 备注) counts as null.
pub fn changed_fields(old: &Value, new: &Value) -> Value {
    let mut out = Map::new();
    if let (Some(old), Some(new)) = (old.as_object(), new.as_object()) {
        let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for key in keys {
            let old_value = old.get(key).unwrap_or(&Value::Null);
            let new_value = new.get(key).unwrap_or(&Value::Null);
            if old_value != new_value {
                out.insert(key.clone(), json!([old_value, new_value]));
            }
        }
    }
    Value::Object(out)
}
