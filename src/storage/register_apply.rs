//! Applying a register plan: one transaction, each change in the audit
//! trail after it. A run of account changes goes in multi-row statements.

use super::register::{
    INSERT_ACCOUNT, INSERT_FETCH_PLACEHOLDER, INSERT_REGISTER_EVENT, UPSERT_ACCOUNT_SET,
    bind_account, insert_register_event,
};
use super::{Result, StorageError, Store, to_secs, with_pool};
use crate::registry::diff::{Change, Plan};
use crate::registry::{Account, Source};
use chrono::{DateTime, Utc};

/// Changes of one kind in one multi-row statement. An import of 100,000
/// accounts made 300,000 statements one by one, each two thread switches on
/// SQLite: 17 s, two thirds of it waking threads. 500 accounts bind 8,500
/// parameters, under SQLite's 32,766 and PostgreSQL's 65,535.
pub(super) const ROWS_PER_STATEMENT: usize = 500;

/// Parameters of one account row (see `bind_account!`).
const ACCOUNT_PARAMETERS: usize = 17;
/// Parameters of one audit entry ([`INSERT_REGISTER_EVENT`]).
const EVENT_PARAMETERS: usize = 7;

impl Store {
    pub(super) async fn apply_changes(
        &self,
        plan: &Plan,
        actor: &str,
        source: &str,
        import: Option<(&serde_json::Value, i64)>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let at = to_secs(now);
        let is_postgres = matches!(self, Store::Postgres(_));
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            if let Some((_, seen)) = import {
                // SQLite's BEGIN IMMEDIATE already keeps other writers out;
                // PostgreSQL needs the audit table locked against their inserts.
                if is_postgres {
                    sqlx::query("LOCK TABLE register_events IN SHARE ROW EXCLUSIVE MODE")
                        .execute(&mut *tx)
                        .await?;
                }
                let (newest,): (i64,) =
                    sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM register_events")
                        .fetch_one(&mut *tx)
                        .await?;
                if newest != seen {
                    return Err(StorageError::Conflict(
                        "导入期间台账有了新的变更（如聊天命令），未导入：请重新运行 import".to_string(),
                    ));
                }
            }
            // New entries go after the existing ones, in plan order.
            let (mut unit_position, mut account_position): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COALESCE(MAX(position), 0) FROM units), \
                 (SELECT COALESCE(MAX(position), 0) FROM accounts)",
            )
            .fetch_one(&mut *tx)
            .await?;
            let mut rest = plan.changes.as_slice();
            while let Some((change, tail)) = rest.split_first() {
                let run = account_run(rest);
                if !run.is_empty() {
                    // The accounts, then their fetch states, then their
                    // audit entries, each in plan order.
                    let is_insert = matches!(change, Change::InsertAccount(_));
                    let mut query =
                        sqlx::query(sqlx::AssertSqlSafe(accounts_sql(run.len(), is_insert, is_postgres)));
                    for account in run.iter().filter_map(account_of) {
                        account_position += 1;
                        query = bind_account!(query, account, at, account_position);
                    }
                    query.execute(&mut *tx).await?;
                    // The due-account claim finds a new one from its first
                    // tick (one checked by hand is never fetched).
                    let (manual, fetched): (Vec<&Account>, Vec<&Account>) = run
                        .iter()
                        .filter_map(account_of)
                        .partition(|a| matches!(a.source, Source::Manual {}));
                    if !fetched.is_empty() {
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(rows_sql(
                            INSERT_FETCH_PLACEHOLDER,
                            fetched.len(),
                            1,
                            is_postgres,
                        )));
                        for account in &fetched {
                            query = query.bind(&account.id);
                        }
                        query.execute(&mut *tx).await?;
                    }
                    for account in manual {
                        sqlx::query("DELETE FROM fetch_state WHERE account_id = $1")
                            .bind(&account.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(rows_sql(
                        INSERT_REGISTER_EVENT,
                        run.len(),
                        EVENT_PARAMETERS,
                        is_postgres,
                    )));
                    for change in run {
                        let (entity, entity_id, action) = change.describe();
                        query = query
                            .bind(at)
                            .bind(actor)
                            .bind(source)
                            .bind(entity)
                            .bind(entity_id)
                            .bind(action)
                            .bind(change.detail().to_string());
                    }
                    query.execute(&mut *tx).await?;
                    rest = rest.get(run.len()..).unwrap_or_default();
                    continue;
                }
                match change {
                    Change::InsertUnit(unit) | Change::UpdateUnit { unit, .. } => {
                        sqlx::query(
                            "INSERT INTO units (id, name, kind, position, updated_at, chat) \
                             VALUES ($1, $2, $3, $5, $4, $6) \
                             ON CONFLICT (id) DO UPDATE SET name = $2, kind = $3, updated_at = $4, chat = $6",
                        )
                        .bind(&unit.id)
                        .bind(&unit.name)
                        .bind(unit.kind.id())
                        .bind(at)
                        .bind(unit_position + 1)
                        .bind(&unit.chat)
                        .execute(&mut *tx)
                        .await?;
                        unit_position += 1;
                        sqlx::query("DELETE FROM contacts WHERE unit_id = $1")
                            .bind(&unit.id)
                            .execute(&mut *tx)
                            .await?;
                        for (position, contact) in unit.contacts.iter().enumerate() {
                            sqlx::query(
                                "INSERT INTO contacts (unit_id, position, name, telegram_id, dingtalk_id, feishu_open_id, phone) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            )
                            .bind(&unit.id)
                            .bind(position as i64)
                            .bind(&contact.name)
                            .bind(contact.telegram_id)
                            .bind(&contact.dingtalk_id)
                            .bind(&contact.feishu_open_id)
                            .bind(&contact.phone)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    Change::RemoveAccount(account) => {
                        sqlx::query("DELETE FROM accounts WHERE id = $1")
                            .bind(&account.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    Change::RemoveUnit(unit) => {
                        sqlx::query("DELETE FROM units WHERE id = $1")
                            .bind(&unit.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    // Always in a run (above).
                    Change::InsertAccount(_) | Change::UpdateAccount { .. } => {}
                }
                insert_register_event!(tx, (at, actor, source), change: change);
                rest = tail;
            }
            if let Some((import, _)) = import {
                let file = import["file"].as_str().unwrap_or_default();
                insert_register_event!(
                    tx,
                    (at, actor, source),
                    "register",
                    file,
                    "import",
                    import.to_string(),
                );
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

/// The leading changes of `changes` that are account inserts, or account
/// updates, as the first one is: at most [`ROWS_PER_STATEMENT`]; empty when
/// the first is no account insert or update.
fn account_run(changes: &[Change]) -> &[Change] {
    let kind = |c: &Change| match c {
        Change::InsertAccount(_) => Some(true),
        Change::UpdateAccount { .. } => Some(false),
        _ => None,
    };
    let Some(first) = changes.first().and_then(kind) else {
        return &[];
    };
    let len = changes
        .iter()
        .take(ROWS_PER_STATEMENT)
        .take_while(|c| kind(c) == Some(first))
        .count();
    changes.get(..len).unwrap_or_default()
}

fn account_of(change: &Change) -> Option<&Account> {
    match change {
        Change::InsertAccount(account) | Change::UpdateAccount { account, .. } => Some(account),
        _ => None,
    }
}

/// The statement inserting `rows` accounts: new ones (an id taken since the
/// plan was made fails the plan instead of overwriting that account), or
/// stored ones updated.
fn accounts_sql(rows: usize, is_insert: bool, is_postgres: bool) -> String {
    let mut sql = rows_sql(INSERT_ACCOUNT, rows, ACCOUNT_PARAMETERS, is_postgres);
    if !is_insert {
        sql.push_str(UPSERT_ACCOUNT_SET);
    }
    sql
}

/// `single`, a one-row `INSERT … VALUES (…)` whose parameters `$1` to
/// `$width` each occur once, in order, and whatever follows, with `rows`
/// rows: for PostgreSQL numbered on (row `k`'s from `width × k + 1`), for
/// SQLite as anonymous `?`s bound in turn. SQLite looks a numbered
/// parameter's name up in a list of all of them, so a statement of 8,500
/// `$n`s spent 85 % of an import there.
pub(super) fn rows_sql(single: &str, rows: usize, width: usize, is_postgres: bool) -> String {
    let Some(values) = single.find("VALUES ").map(|at| at + "VALUES ".len()) else {
        return single.to_string();
    };
    let (head, tail) = single.split_at(values);
    // The row's tuple, and what follows it (an ON CONFLICT clause).
    let close = tail.find(')').map_or(tail.len(), |at| at + 1);
    let (row, after) = tail.split_at(close);
    let mut sql = String::with_capacity(head.len() + rows * (row.len() + 2) + after.len());
    sql.push_str(head);
    for k in 0..rows {
        if k > 0 {
            sql.push_str(", ");
        }
        let mut rest = row;
        while let Some(at) = rest.find('$') {
            let (before, from) = rest.split_at(at);
            sql.push_str(before);
            let number = from.get(1..).unwrap_or_default();
            let digits = number.bytes().take_while(u8::is_ascii_digit).count();
            match number.get(..digits).and_then(|d| d.parse::<usize>().ok()) {
                Some(n) if is_postgres => {
                    sql.push('$');
                    sql.push_str(&(k * width + n).to_string());
                }
                Some(_) => sql.push('?'),
                None => sql.push('$'),
            }
            rest = number.get(digits..).unwrap_or_default();
        }
        sql.push_str(rest);
    }
    sql.push_str(after);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_numbered_on_or_anonymous() {
        let single = "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO NOTHING";
        assert_eq!(rows_sql(single, 1, 2, true), single);
        assert_eq!(
            rows_sql(single, 3, 2, true),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6) ON CONFLICT (a) DO NOTHING"
        );
        assert_eq!(
            rows_sql(single, 2, 2, false),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT (a) DO NOTHING"
        );
        let literal = "INSERT INTO t (a, b) VALUES ($1, 0)";
        assert_eq!(
            rows_sql(literal, 2, 1, false),
            "INSERT INTO t (a, b) VALUES (?, 0), (?, 0)"
        );
        assert_eq!(
            rows_sql(literal, 2, 1, true),
            "INSERT INTO t (a, b) VALUES ($1, 0), ($2, 0)"
        );
        // The one-row templates number each parameter once, in order.
        for (template, width) in [
            (INSERT_ACCOUNT, ACCOUNT_PARAMETERS),
            (INSERT_REGISTER_EVENT, EVENT_PARAMETERS),
            (INSERT_FETCH_PLACEHOLDER, 1),
        ] {
            assert_eq!(rows_sql(template, 1, width, true), template);
        }
        assert!(accounts_sql(2, true, true).ends_with("$33, $34)"));
        assert!(accounts_sql(2, false, false).contains("?), (?, ?"));
        assert!(accounts_sql(2, false, true).contains("excluded.note"));
    }

    #[test]
    fn a_run_is_one_kind_of_account_change_and_at_most_a_statement() {
        use crate::registry::{AccountState, Platform, Unit, UnitKind};
        let account = |id: &str| Account {
            id: id.to_string(),
            unit: "szgl".to_string(),
            name: "市政兰山".to_string(),
            platform: Platform::Website,
            source: Source::Manual {},
            state: AccountState::Active,
            deregistered_on: None,
            filing_ref: None,
            is_interactive: true,
            thresholds: Default::default(),
            note: None,
        };
        let unit = Unit {
            id: "szgl".to_string(),
            name: "区市政管理局".to_string(),
            kind: UnitKind::Department,
            contacts: Vec::new(),
            chat: None,
        };
        let mut changes = vec![Change::InsertUnit(unit.clone())];
        changes.extend(
            (0..ROWS_PER_STATEMENT + 3).map(|i| Change::InsertAccount(account(&i.to_string()))),
        );
        changes.push(Change::UpdateAccount {
            account: account("u"),
            detail: serde_json::json!({}),
        });
        assert!(account_run(&changes).is_empty());
        let rest = changes.get(1..).expect("more");
        assert_eq!(account_run(rest).len(), ROWS_PER_STATEMENT);
        let rest = rest.get(ROWS_PER_STATEMENT..).expect("more");
        assert_eq!(account_run(rest).len(), 3);
        let rest = rest.get(3..).expect("more");
        assert_eq!(account_run(rest).len(), 1);
        assert!(account_run(&[]).is_empty());
    }
}
