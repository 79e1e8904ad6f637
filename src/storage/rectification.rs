//! The 整改 items and their history (see [`crate::rectification`]).

use super::{Result, StorageError, Store, from_secs, to_secs, with_pool};
use crate::alerts::compose::Message;
use crate::rectification::{Change, Item, ItemState, NewItem, Review};
use chrono::{DateTime, NaiveDate, Utc};

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: i64,
    report_key: String,
    report_title: String,
    report_to: String,
    issued_at: i64,
    unit_id: String,
    account_id: String,
    rules: String,
    label: String,
    message: String,
    deadline: String,
    state: String,
    response: Option<String>,
    responded_by: Option<String>,
    responded_at: Option<i64>,
    fixed_at: Option<i64>,
    evidence: Option<String>,
}

macro_rules! item_columns {
    () => {
        "SELECT id, report_key, report_title, report_to, issued_at, unit_id, account_id, rules, \
         label, message, deadline, state, response, responded_by, responded_at, fixed_at, evidence \
         FROM rectification_items "
    };
}

const SELECT_ITEMS: &str = concat!(
    item_columns!(),
    "WHERE ($1 = '' OR unit_id = $1) AND ($2 = 0 OR state <> 'fixed') \
     ORDER BY issued_at DESC, unit_id, account_id"
);

const SELECT_REPORT_ITEMS: &str = concat!(
    item_columns!(),
    "WHERE report_key = $1 ORDER BY unit_id, account_id"
);

const INSERT_EVENT: &str = "INSERT INTO rectification_events (item_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5)";

fn date(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StorageError::Corrupt(format!("rectification date \"{text}\"")))
}

fn item(row: ItemRow) -> Result<Item> {
    Ok(Item {
        id: row.id,
        report_to: date(&row.report_to)?,
        issued_at: from_secs(row.issued_at)?,
        rules: row
            .rules
            .split(',')
            .filter(|r| !r.is_empty())
            .map(String::from)
            .collect(),
        deadline: date(&row.deadline)?,
        state: ItemState::from_id(&row.state).ok_or_else(|| {
            StorageError::Corrupt(format!("rectification state \"{}\"", row.state))
        })?,
        responded_at: row.responded_at.map(from_secs).transpose()?,
        fixed_at: row.fixed_at.map(from_secs).transpose()?,
        report_key: row.report_key,
        report_title: row.report_title,
        unit_id: row.unit_id,
        account_id: row.account_id,
        label: row.label,
        message: row.message,
        response: row.response,
        responded_by: row.responded_by,
        evidence: row.evidence,
    })
}

/// An issued report, as it is recorded.
pub struct Issue<'a> {
    pub key: &'a str,
    pub kind: &'a str,
    pub from: NaiveDate,
    pub title: &'a str,
    pub report_to: NaiveDate,
    pub issued_on: NaiveDate,
    pub deadline: NaiveDate,
    pub actor: &'a str,
}

/// What an issue stores, made once its number in the year is known.
pub struct IssueContent {
    /// 发文字号, from the office's template and the number.
    pub doc_number: Option<String>,
    /// The report as issued (JSON), with its record.
    pub report_json: String,
    pub items: Vec<NewItem>,
    pub notices: Vec<Message>,
}

/// A recorded issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedReport {
    pub key: String,
    pub title: String,
    pub doc_number: Option<String>,
    pub report_json: String,
}

/// The PostgreSQL advisory lock an issue holds for its transaction.
const ISSUE_LOCK: i64 = 0x7875_6e6a_6961_6e01;

impl Store {
    /// Records an issued report, its items and its notices, in one
    /// transaction; `content` is made with the report's number in the year
    /// of issue (1, 2, …). `None` (and nothing queued) when it was issued
    /// before; else its 发文字号, if any.
    pub async fn issue_report(
        &self,
        issue: &Issue<'_>,
        content: &(dyn Fn(i64, &[Item]) -> IssueContent + Send + Sync),
        now: DateTime<Utc>,
    ) -> Result<Option<Option<String>>> {
        use chrono::Datelike as _;
        let at = to_secs(now);
        let year = i64::from(issue.issued_on.year());
        let is_postgres = matches!(self, Store::Postgres(_));
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            // One issue at a time: its number in the year and the items it
            // carries on are read here, and must not change before it commits
            // (SQLite's write transaction already excludes every other writer).
            if is_postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(ISSUE_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            let (issued,): (i64,) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM issued_reports WHERE report_key = $1) \
                 + (SELECT COUNT(*) FROM rectification_items WHERE report_key = $1)",
            )
            .bind(issue.key)
            .fetch_one(&mut *tx)
            .await?;
            if issued > 0 {
                tx.commit().await?;
                return Ok(None);
            }
            let (seq,): (i64,) = sqlx::query_as(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM issued_reports WHERE year = $1",
            )
            .bind(year)
            .fetch_one(&mut *tx)
            .await?;
            let open: Vec<ItemRow> = sqlx::query_as(SELECT_ITEMS)
                .bind("")
                .bind(1_i64)
                .fetch_all(&mut *tx)
                .await?;
            let open = open.into_iter().map(item).collect::<Result<Vec<_>>>()?;
            let made = content(seq, &open);
            sqlx::query(
                "INSERT INTO issued_reports (report_key, kind, period_from, period_to, title, year, seq, \
                 doc_number, issued_at, issued_on, deadline, actor, report) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(issue.key)
            .bind(issue.kind)
            .bind(issue.from.to_string())
            .bind(issue.report_to.to_string())
            .bind(issue.title)
            .bind(year)
            .bind(seq)
            .bind(&made.doc_number)
            .bind(at)
            .bind(issue.issued_on.to_string())
            .bind(issue.deadline.to_string())
            .bind(issue.actor)
            .bind(&made.report_json)
            .execute(&mut *tx)
            .await?;
            for new in &made.items {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO rectification_items (report_key, report_title, report_to, issued_at, \
                     unit_id, account_id, rules, label, message, deadline, state) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open') RETURNING id",
                )
                .bind(issue.key)
                .bind(issue.title)
                .bind(issue.report_to.to_string())
                .bind(at)
                .bind(&new.unit_id)
                .bind(&new.account_id)
                .bind(new.rules.join(","))
                .bind(&new.label)
                .bind(&new.message)
                .bind(issue.deadline.to_string())
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(INSERT_EVENT)
                    .bind(id)
                    .bind(at)
                    .bind(issue.actor)
                    .bind("issued")
                    .bind(format!("《{}》下发，整改期限 {}", issue.title, issue.deadline))
                    .execute(&mut *tx)
                    .await?;
            }
            for message in &made.notices {
                super::insert_outbox!(tx, message, at);
            }
            tx.commit().await?;
            Ok(Some(made.doc_number))
        })
    }

    /// The issued report of this key, if it was issued.
    pub async fn issued_report(&self, key: &str) -> Result<Option<IssuedReport>> {
        let row: Option<(String, String, Option<String>, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT report_key, title, doc_number, report FROM issued_reports WHERE report_key = $1",
            )
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        Ok(
            row.map(|(key, title, doc_number, report_json)| IssuedReport {
                key,
                title,
                doc_number,
                report_json,
            }),
        )
    }

    /// The latest issued report of `kind` whose period ended before `from`:
    /// its key and title (a report's 上期通报).
    pub async fn previous_issue(
        &self,
        kind: &str,
        from: NaiveDate,
    ) -> Result<Option<(String, String)>> {
        let pattern = format!("{kind}:%");
        let row: Option<(String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT report_key, title FROM issued_reports WHERE kind = $1 AND period_to < $2 \
                 UNION ALL \
                 SELECT report_key, report_title FROM rectification_items \
                 WHERE report_key LIKE $3 AND report_to < $2 \
                 AND report_key NOT IN (SELECT report_key FROM issued_reports) \
                 ORDER BY 1 DESC LIMIT 1",
            )
            .bind(kind)
            .bind(from.to_string())
            .bind(&pattern)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Items, newest report first; only one unit's, only those not fixed.
    pub async fn rectification_items(
        &self,
        unit: Option<&str>,
        is_open_only: bool,
    ) -> Result<Vec<Item>> {
        let rows: Vec<ItemRow> = with_pool!(self, pool => {
            sqlx::query_as(SELECT_ITEMS)
                .bind(unit.unwrap_or(""))
                .bind(i64::from(is_open_only))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(item).collect()
    }

    /// The items of the latest issued report of `kind` whose period ended
    /// before `from` (a report's 上期通报).
    pub async fn previous_rectification(&self, kind: &str, from: NaiveDate) -> Result<Vec<Item>> {
        let pattern = format!("{kind}:%");
        let key: Option<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT report_key FROM rectification_items WHERE report_key LIKE $1 AND report_to < $2 \
                 ORDER BY report_to DESC, issued_at DESC LIMIT 1",
            )
            .bind(&pattern)
            .bind(from.to_string())
            .fetch_optional(pool)
            .await?
        });
        let Some((key,)) = key else {
            return Ok(Vec::new());
        };
        let rows: Vec<ItemRow> = with_pool!(self, pool => {
            sqlx::query_as(SELECT_REPORT_ITEMS).bind(&key).fetch_all(pool).await?
        });
        rows.into_iter().map(item).collect()
    }

    /// The items of one issued report.
    pub async fn report_items(&self, key: &str) -> Result<Vec<Item>> {
        let rows: Vec<ItemRow> = with_pool!(self, pool => {
            sqlx::query_as(SELECT_REPORT_ITEMS).bind(key).fetch_all(pool).await?
        });
        rows.into_iter().map(item).collect()
    }

    /// A unit's answer: the account's open or overdue items become 已反馈待核实.
    /// Returns how many changed.
    pub async fn respond_rectification(
        &self,
        account_id: &str,
        response: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let at = to_secs(now);
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let ids: Vec<(i64,)> = sqlx::query_as(
                "UPDATE rectification_items SET state = 'responded', response = $2, responded_by = $3, \
                 responded_at = $4 WHERE account_id = $1 AND state IN ('open', 'overdue') RETURNING id",
            )
            .bind(account_id)
            .bind(response)
            .bind(actor)
            .bind(at)
            .fetch_all(&mut *tx)
            .await?;
            for (id,) in &ids {
                sqlx::query(INSERT_EVENT)
                    .bind(id)
                    .bind(at)
                    .bind(actor)
                    .bind("responded")
                    .bind(response)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(ids.len())
        })
    }

    /// Applies what an inspection showed and queues the overdue reminders, in
    /// one transaction. Only items still open move, so two daemons verifying
    /// the same inspection change and announce each item once.
    pub async fn apply_rectification(
        &self,
        changes: &[Change],
        messages: &[Message],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let at = to_secs(now);
        let mut changed = 0usize;
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            for change in changes {
                let (id, state, evidence, sql) = match change {
                    Change::Fixed { id, evidence } => (*id, "fixed", evidence, "UPDATE rectification_items SET state = 'fixed', fixed_at = $2, evidence = $3 WHERE id = $1 AND state <> 'fixed'"),
                    Change::Overdue { id, evidence } => (*id, "overdue", evidence, "UPDATE rectification_items SET state = 'overdue', overdue_at = $2, evidence = $3 WHERE id = $1 AND state IN ('open', 'responded')"),
                };
                let done = sqlx::query(sql)
                    .bind(id)
                    .bind(at)
                    .bind(evidence)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if done > 0 {
                    changed += 1;
                    sqlx::query(INSERT_EVENT)
                        .bind(id)
                        .bind(at)
                        .bind("inspection")
                        .bind(state)
                        .bind(evidence)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            if changed > 0 {
                for message in messages {
                    super::insert_outbox!(tx, message, at);
                }
            }
            tx.commit().await?;
        });
        Ok(changed)
    }

    /// An admin's review of a unit's answer (已反馈待核实 only): accepted
    /// (已整改) or sent back (退回: open again, or overdue past its deadline),
    /// audited, with the messages telling the unit in the same transaction.
    /// False when the item was not waiting for a review (already reviewed).
    pub async fn review_rectification(
        &self,
        item_id: i64,
        review: &Review,
        actor: &str,
        messages: &[Message],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let at = to_secs(now);
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let (sql, action, detail) = match review {
                Review::Accept { note } => (
                    "UPDATE rectification_items SET state = 'fixed', fixed_at = $2, evidence = $3 \
                     WHERE id = $1 AND state = 'responded'",
                    "accepted",
                    note.as_str(),
                ),
                Review::SendBack { reason, is_overdue: true } => (
                    "UPDATE rectification_items SET state = 'overdue', overdue_at = $2, evidence = $3 \
                     WHERE id = $1 AND state = 'responded'",
                    "returned",
                    reason.as_str(),
                ),
                Review::SendBack { reason, is_overdue: false } => (
                    "UPDATE rectification_items SET state = 'open', evidence = $3 \
                     WHERE id = $1 AND state = 'responded' AND $2 > 0",
                    "returned",
                    reason.as_str(),
                ),
            };
            let done = sqlx::query(sql)
                .bind(item_id)
                .bind(at)
                .bind(review.evidence())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                return Ok(false);
            }
            sqlx::query(INSERT_EVENT)
                .bind(item_id)
                .bind(at)
                .bind(actor)
                .bind(action)
                .bind(detail)
                .execute(&mut *tx)
                .await?;
            for message in messages {
                super::insert_outbox!(tx, message, at);
            }
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Every issued report, newest first: (kind, from, to, title, 发文字号, issued at, by).
    pub async fn issued_reports(
        &self,
    ) -> Result<
        Vec<(
            String,
            NaiveDate,
            NaiveDate,
            String,
            Option<String>,
            DateTime<Utc>,
            String,
        )>,
    > {
        type Row = (String, String, String, String, Option<String>, i64, String);
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT kind, period_from, period_to, title, doc_number, issued_at, actor \
                 FROM issued_reports ORDER BY issued_at DESC",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(kind, from, to, title, number, at, actor)| {
                Ok((
                    kind,
                    date(&from)?,
                    date(&to)?,
                    title,
                    number,
                    from_secs(at)?,
                    actor,
                ))
            })
            .collect()
    }

    /// An item's history: (time, actor, action, detail), oldest first.
    pub async fn rectification_history(
        &self,
        item_id: i64,
    ) -> Result<Vec<(DateTime<Utc>, String, String, String)>> {
        let rows: Vec<(i64, String, String, String)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT at, actor, action, detail FROM rectification_events WHERE item_id = $1 ORDER BY id")
                .bind(item_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(at, actor, action, detail)| Ok((from_secs(at)?, actor, action, detail)))
            .collect()
    }
}
