//! Big reads on SQLite as one row.
//!
//! sqlx's SQLite driver runs statements on a worker thread and hands each
//! result row to the caller on its own, two thread switches a row: reading
//! 100,000 accounts spent half its time in the scheduler and futexes, not in
//! SQLite. So the reads an inspection makes of every account ask SQLite for
//! one row instead, the JSON array of the result's rows (each an array of its
//! columns), decoded here into the same tuples a row-by-row read gives.
//! PostgreSQL streams rows on the caller's task and reads them as they are.

use super::{Result, StorageError};

/// `sql` as one row: the JSON array of its rows, each the array of
/// `columns` (expressions over the names of `sql`'s result columns), in
/// the order `order` gives (ordered aggregate, SQLite 3.44 and later).
pub(super) fn json_rows_sql(sql: &str, columns: &str, order: Option<&str>) -> String {
    let order = order.map(|o| format!(" ORDER BY {o}")).unwrap_or_default();
    format!("SELECT json_group_array(json_array({columns}){order}) FROM ({sql})")
}

/// The rows of a [`json_rows_sql`] result; `what` names the read in the
/// error (a row that does not decode is corrupt data, not a panic).
pub(super) fn decode_json_rows<T: serde::de::DeserializeOwned>(
    json: &str,
    what: &str,
) -> Result<Vec<T>> {
    serde_json::from_str(json).map_err(|e| StorageError::Corrupt(format!("{what}: {e}")))
}

/// Runs `$sql` on `$executor`, its parameters bound by `$bind` (a closure
/// body over the query `$query`), and evaluates to its rows: on SQLite
/// (`$is_sqlite`) as one JSON row whose `$columns` are the result's columns,
/// on PostgreSQL row by row.
macro_rules! fetch_rows {
    ($executor:expr, $is_sqlite:expr, $sql:expr, $columns:expr, $what:expr, |$query:ident| $bind:expr) => {{
        let sql: String = $sql;
        if $is_sqlite {
            let $query = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(
                $crate::storage::bulk::json_rows_sql(&sql, $columns, None),
            ));
            let (json,) = $bind.fetch_one($executor).await?;
            $crate::storage::bulk::decode_json_rows(&json, $what)?
        } else {
            let $query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            $bind.fetch_all($executor).await?
        }
    }};
}
pub(super) use fetch_rows;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn json_rows_give_the_tuples_a_row_by_row_read_gives() {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:")
            .await
            .expect("the test database answers");
        sqlx::query("CREATE TABLE t (id TEXT, n INTEGER, note TEXT, flag BOOLEAN, pos INTEGER)")
            .execute(&pool)
            .await
            .expect("the test database answers");
        let rows = [
            ("b", 2, None, true, 1),
            ("a\"引号\\\n", i64::MAX, Some("政务 \u{1}"), false, 0),
            ("c", -1, Some(""), true, 2),
        ];
        for (id, n, note, flag, pos) in rows {
            sqlx::query("INSERT INTO t VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(n)
                .bind(note)
                .bind(flag)
                .bind(pos)
                .execute(&pool)
                .await
                .expect("the test database answers");
        }
        type Row = (String, i64, Option<String>, bool);
        let direct: Vec<Row> = sqlx::query_as("SELECT id, n, note, flag FROM t ORDER BY pos")
            .fetch_all(&pool)
            .await
            .expect("the test database answers");
        let sql = json_rows_sql(
            "SELECT id, n, note, flag, pos FROM t",
            "id, n, note, json(CASE WHEN flag THEN 'true' ELSE 'false' END)",
            Some("pos"),
        );
        let (json,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(&pool)
            .await
            .expect("the test database answers");
        let via_json: Vec<Row> = decode_json_rows(&json, "t").expect("the rows decode");
        assert_eq!(via_json, direct);
        assert_eq!(direct.len(), 3);
        // No rows: an empty array, not NULL.
        let sql = json_rows_sql("SELECT id FROM t WHERE n = 7", "id", None);
        let (json,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(&pool)
            .await
            .expect("the test database answers");
        assert!(
            decode_json_rows::<(String,)>(&json, "t")
                .expect("the test database answers")
                .is_empty()
        );
        // A row of the wrong shape is corrupt data, named.
        let err = decode_json_rows::<(String, i64)>(r#"[["a","x"]]"#, "fetch states")
            .expect_err("a row of the wrong shape is an error");
        assert!(err.to_string().contains("fetch states"), "{err}");
    }
}
