//! Writing fetch results: new posts, the post summaries they change, and
//! fetch states, in one transaction.

use super::polling::{state_batches, upsert_states_sql};
use super::summaries::segment_of;
use super::{Result, Store, from_secs, to_secs, with_pool};
use crate::fetch::{FetchState, Outcome};
use crate::parse::{Post, PostKind};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Posts per SQLite INSERT statement (12 parameters each: 6,000, under
/// SQLite's 32,766). Each statement is a round trip to sqlx's worker thread;
/// 500 instead of 100 (a batch of 64 feeds: 3 statements, not 13) took 2–5 %
/// off the cold cycle.
const POST_BATCH: usize = 500;
/// Segment rows per upsert statement (5 parameters each).
const SEGMENT_BATCH: usize = 200;
/// Account totals per upsert statement (7 parameters each).
const TOTALS_BATCH: usize = 140;

/// SQLite's `INSERT … VALUES (?, …), (?, …), …` for `rows` posts; only
/// placeholders vary. Anonymous `?` placeholders: sqlx asks SQLite for each
/// numbered parameter's name, a scan per parameter that made binding a
/// 500-parameter statement quadratic. Nothing is returned: a statement that
/// stored fewer rows than it was given reads back which (see [`InsertPosts`]
/// for SQLite).
fn insert_posts_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO posts (account_id, dedup_key, published_at, first_seen_at, \
         is_date_estimated, title, link, author, kind, evidence, text_z, is_notice) VALUES ",
    );
    push_rows(&mut sql, rows, 12, true);
    sql.push_str(" ON CONFLICT (account_id, dedup_key) DO NOTHING");
    sql
}

/// Appends `(…), (…)` for `rows` rows of `columns` parameters: `$n` for
/// PostgreSQL, anonymous `?` for SQLite.
pub(super) fn push_rows(sql: &mut String, rows: usize, columns: usize, is_sqlite: bool) {
    use std::fmt::Write as _;
    // Written in place: a string per placeholder was 1.6 % of a cold cycle.
    sql.reserve(rows * (columns * if is_sqlite { 3 } else { 7 } + 4));
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            if is_sqlite {
                sql.push('?');
            } else {
                // Writing to a String cannot fail.
                let _ = write!(sql, "${}", row * columns + column + 1);
            }
        }
        sql.push(')');
    }
}

fn upsert_segments_sql(rows: usize, is_sqlite: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO post_segments (account_id, starts_at, total, original, repost) VALUES ",
    );
    push_rows(&mut sql, rows, 5, is_sqlite);
    sql.push_str(
        " ON CONFLICT (account_id, starts_at) DO UPDATE SET \
         total = post_segments.total + excluded.total, \
         original = post_segments.original + excluded.original, \
         repost = post_segments.repost + excluded.repost",
    );
    sql
}

/// Totals add up; the newest times win (NULL is older than any time); a
/// change of the first successful fetch that undated posts were judged
/// against marks the account for scanning.
fn upsert_totals_sql(rows: usize, is_sqlite: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO post_totals (account_id, total, last_post_at, last_seen_at, has_undated, \
         undated_basis, is_basis_mixed) VALUES ",
    );
    push_rows(&mut sql, rows, 7, is_sqlite);
    sql.push_str(
        " ON CONFLICT (account_id) DO UPDATE SET total = post_totals.total + excluded.total, \
         last_post_at = COALESCE(CASE WHEN excluded.last_post_at > post_totals.last_post_at \
           THEN excluded.last_post_at ELSE post_totals.last_post_at END, excluded.last_post_at), \
         last_seen_at = CASE WHEN excluded.last_seen_at > post_totals.last_seen_at \
           THEN excluded.last_seen_at ELSE post_totals.last_seen_at END, \
         has_undated = post_totals.has_undated OR excluded.has_undated, \
         undated_basis = CASE WHEN excluded.has_undated THEN excluded.undated_basis \
           ELSE post_totals.undated_basis END, \
         is_basis_mixed = post_totals.is_basis_mixed OR (post_totals.has_undated \
           AND excluded.has_undated \
           AND post_totals.undated_basis IS DISTINCT FROM excluded.undated_basis)",
    );
    sql
}

/// A post this write stored (it was not a duplicate): its place in the
/// write's list of posts and, for posts with findings or 转载任务, its row id.
struct NewPost {
    index: usize,
    id: Option<i64>,
}

#[derive(Debug, Default, Clone, Copy)]
struct SegmentDelta {
    total: i64,
    original: i64,
    repost: i64,
}

#[derive(Debug, Default, Clone, Copy)]
struct AccountDelta {
    total: i64,
    last_dated_at: Option<i64>,
    last_undated_at: Option<i64>,
}

/// What one write adds to the summaries.
#[derive(Debug, Default)]
struct SummaryDelta {
    segments: BTreeMap<(String, i64), SegmentDelta>,
    accounts: BTreeMap<String, AccountDelta>,
}

impl SummaryDelta {
    fn new<'a>(posts: impl Iterator<Item = (&'a str, &'a Post)>) -> Result<SummaryDelta> {
        let mut delta = SummaryDelta::default();
        for (account_id, post) in posts {
            // Whole seconds, as stored.
            let published_at = to_secs(post.published_at);
            let (segment, _) = segment_of(from_secs(published_at)?);
            let s = delta
                .segments
                .entry((account_id.to_string(), to_secs(segment)))
                .or_default();
            s.total += 1;
            s.original += i64::from(post.kind == PostKind::Original);
            s.repost += i64::from(post.kind == PostKind::Repost);
            let a = delta.accounts.entry(account_id.to_string()).or_default();
            a.total += 1;
            let last = if post.is_date_estimated {
                &mut a.last_undated_at
            } else {
                &mut a.last_dated_at
            };
            *last = Some(last.map_or(published_at, |t| t.max(published_at)));
        }
        Ok(delta)
    }

    fn undated_accounts(&self) -> Vec<&str> {
        self.accounts
            .iter()
            .filter(|(_, a)| a.last_undated_at.is_some())
            .map(|(id, _)| id.as_str())
            .collect()
    }
}

impl AccountDelta {
    /// The newest post that counts as activity. Undated posts count only
    /// when first seen (`seen`) after the first successful fetch (`basis`),
    /// as in [`crate::rules::PostSummary::from_posts`].
    fn last_post_at(&self, seen: i64, basis: Option<i64>) -> Option<i64> {
        let undated = self
            .last_undated_at
            .filter(|_| basis.is_some_and(|first| seen > first));
        self.last_dated_at.max(undated)
    }
}

/// What a post keeps of its text: the packed text, packed here if the
/// checks did not pack it, or nothing.
fn kept_text(post: &Post) -> Option<std::borrow::Cow<'_, [u8]>> {
    match (post.packed.is_empty(), post.text.is_empty()) {
        (false, _) => Some(std::borrow::Cow::Borrowed(post.packed.as_slice())),
        (true, false) => Some(std::borrow::Cow::Owned(crate::content::pack(&post.text))),
        (true, true) => None,
    }
}

/// Whether a new post needs its row id: its findings and 转载任务 refer to it.
fn needs_id(post: &Post) -> bool {
    !post.hits.is_empty() || !post.tasks.is_empty()
}

/// Inserts posts (in key order) in a write transaction, duplicates
/// ignored, and returns the ones stored: multi-row `VALUES` on SQLite,
/// arrays on PostgreSQL.
trait InsertPosts {
    async fn insert_posts(&mut self, posts: &[(&str, &Post)], seen: i64) -> Result<Vec<NewPost>>;
}

/// On SQLite the posts are inserted with no `RETURNING` and no read of the
/// stored keys first: sqlx's SQLite worker thread hands every returned row
/// to the caller on its own, one wake-up each, and that was the writer's
/// main cost in a cold cycle (200,000 rows). A statement that stored every
/// post it was given (a cold cycle's) needs nothing more; one that stored
/// some reads back which, as the rows whose ids are above the largest id
/// before it (an `INTEGER PRIMARY KEY` takes the largest id + 1, and posts
/// are never deleted), in one row. The write transaction holds SQLite's one
/// write lock, so nothing else can add a post in between.
impl InsertPosts for sqlx::Transaction<'_, sqlx::Sqlite> {
    async fn insert_posts(&mut self, posts: &[(&str, &Post)], seen: i64) -> Result<Vec<NewPost>> {
        // The first of a key repeated in the batch is the one stored, as
        // with `ON CONFLICT DO NOTHING`.
        let mut distinct: Vec<usize> = Vec::with_capacity(posts.len());
        let mut previous: Option<(&str, &str)> = None;
        for (index, (account_id, post)) in posts.iter().enumerate() {
            let key = (*account_id, post.dedup_key.as_str());
            if previous != Some(key) {
                distinct.push(index);
            }
            previous = Some(key);
        }
        if distinct.is_empty() {
            return Ok(Vec::new());
        }
        let (mut last_id,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM posts")
            .fetch_one(&mut **self)
            .await?;
        let mut new_posts = Vec::with_capacity(distinct.len());
        for batch in distinct.chunks(POST_BATCH) {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(insert_posts_sql(batch.len())));
            for &index in batch {
                let (account_id, post) = posts[index];
                query = query
                    .bind(account_id)
                    .bind(&post.dedup_key)
                    .bind(to_secs(post.published_at))
                    .bind(seen)
                    .bind(post.is_date_estimated)
                    .bind(&post.title)
                    .bind(&post.link)
                    .bind(&post.author)
                    .bind(post.kind.id())
                    .bind(&post.evidence)
                    .bind(kept_text(post).map(std::borrow::Cow::into_owned))
                    .bind(post.is_notice);
            }
            let done = query.execute(&mut **self).await?;
            let inserted = usize::try_from(done.rows_affected()).unwrap_or(usize::MAX);
            let stored: Vec<usize> = if inserted == batch.len() {
                batch.to_vec()
            } else if inserted == 0 {
                Vec::new()
            } else {
                let sql = super::bulk::json_rows_sql(
                    "SELECT account_id, dedup_key FROM posts WHERE id > $1",
                    "account_id, dedup_key",
                    None,
                );
                let (json,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(last_id)
                    .fetch_one(&mut **self)
                    .await?;
                let rows: Vec<(String, String)> =
                    super::bulk::decode_json_rows(&json, "new posts")?;
                let added: HashSet<(&str, &str)> =
                    rows.iter().map(|(a, k)| (a.as_str(), k.as_str())).collect();
                batch
                    .iter()
                    .copied()
                    .filter(|&index| {
                        let (account_id, post) = posts[index];
                        added.contains(&(account_id, post.dedup_key.as_str()))
                    })
                    .collect()
            };
            if stored.len() != inserted {
                return Err(super::StorageError::Conflict(format!(
                    "{} of {} new posts were stored, {} found",
                    inserted,
                    batch.len(),
                    stored.len()
                )));
            }
            if inserted > 0 {
                last_id = last_id.max(done.last_insert_rowid());
            }
            for index in stored {
                let (account_id, post) = posts[index];
                let id = if needs_id(post) {
                    let (id,): (i64,) = sqlx::query_as(
                        "SELECT id FROM posts WHERE account_id = $1 AND dedup_key = $2",
                    )
                    .bind(account_id)
                    .bind(&post.dedup_key)
                    .fetch_one(&mut **self)
                    .await?;
                    Some(id)
                } else {
                    None
                };
                new_posts.push(NewPost { index, id });
            }
        }
        Ok(new_posts)
    }
}

/// One statement for the whole batch, whatever its size: each column is
/// one array parameter, so the statement is prepared once and reused.
const INSERT_POSTS_UNNEST: &str = "INSERT INTO posts (account_id, dedup_key, published_at, \
     first_seen_at, is_date_estimated, title, link, author, kind, evidence, text_z, is_notice) \
     SELECT a, k, p, $4, e, t, l, au, kd, ev, z, n FROM UNNEST($1::text[], $2::text[], \
     $3::bigint[], $5::boolean[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
     $11::bytea[], $12::boolean[]) AS u(a, k, p, e, t, l, au, kd, ev, z, n) \
     ON CONFLICT (account_id, dedup_key) DO NOTHING \
     RETURNING account_id, dedup_key, id";

impl InsertPosts for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn insert_posts(&mut self, posts: &[(&str, &Post)], seen: i64) -> Result<Vec<NewPost>> {
        if posts.is_empty() {
            return Ok(Vec::new());
        }
        // One array per column, in the posts' order.
        fn each<'a, T>(
            posts: &[(&'a str, &'a Post)],
            f: impl Fn(&'a str, &'a Post) -> T,
        ) -> Vec<T> {
            posts
                .iter()
                .map(|(account, post)| f(account, post))
                .collect()
        }
        let rows: Vec<(String, String, i64)> = sqlx::query_as(INSERT_POSTS_UNNEST)
            .bind(each(posts, |account, _| account))
            .bind(each(posts, |_, p| p.dedup_key.as_str()))
            .bind(each(posts, |_, p| to_secs(p.published_at)))
            .bind(seen)
            .bind(each(posts, |_, p| p.is_date_estimated))
            .bind(each(posts, |_, p| p.title.as_deref()))
            .bind(each(posts, |_, p| p.link.as_deref()))
            .bind(each(posts, |_, p| p.author.as_deref()))
            .bind(each(posts, |_, p| p.kind.id()))
            .bind(each(posts, |_, p| p.evidence.as_str()))
            .bind(each(posts, |_, p| {
                kept_text(p).map(std::borrow::Cow::into_owned)
            }))
            .bind(each(posts, |_, p| p.is_notice))
            .fetch_all(&mut **self)
            .await?;
        // The first of a repeated key is the one the array inserted.
        let mut first: HashMap<(&str, &str), usize> = HashMap::with_capacity(posts.len());
        for (index, (account_id, post)) in posts.iter().enumerate() {
            first
                .entry((*account_id, post.dedup_key.as_str()))
                .or_insert(index);
        }
        let mut new_posts = Vec::with_capacity(rows.len());
        for (account_id, key, id) in &rows {
            let index = first
                .get(&(account_id.as_str(), key.as_str()))
                .copied()
                .ok_or_else(|| {
                    super::StorageError::Corrupt(format!(
                        "stored post {account_id}/{key} is not in the batch"
                    ))
                })?;
            new_posts.push(NewPost {
                index,
                id: needs_id(posts[index].1).then_some(*id),
            });
        }
        new_posts.sort_by_key(|n| n.index);
        Ok(new_posts)
    }
}

impl Store {
    /// Saves one attempt: new posts (duplicates ignored) and the fetch state,
    /// in one transaction. Returns how many posts were new.
    pub async fn record_fetch(
        &self,
        state: &FetchState,
        posts: &[Post],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let counts = self.record_fetches(&[(state, posts)], now).await?;
        Ok(counts.first().copied().unwrap_or(0))
    }

    /// Saves several accounts' attempts in one transaction, with multi-row
    /// statements (few round trips in a big cycle), and updates the post
    /// summaries by what was new; returns how many posts were new, per account.
    pub async fn record_fetches(
        &self,
        results: &[(&FetchState, &[Post])],
        now: DateTime<Utc>,
    ) -> Result<Vec<u64>> {
        let is_sqlite = matches!(self, Store::Sqlite(_));
        let seen = to_secs(now);
        // Rows in key order: two transactions that share an account (a
        // `poll` beside a daemon, a cycle that outlived its lease) then lock
        // them in the same order, and PostgreSQL has no deadlock to break.
        let mut posts: Vec<(&str, &Post)> = results
            .iter()
            .flat_map(|(state, posts)| posts.iter().map(|p| (state.account_id.as_str(), p)))
            .collect();
        posts.sort_by(|a, b| (a.0, a.1.dedup_key.as_str()).cmp(&(b.0, b.1.dedup_key.as_str())));
        let mut states: Vec<&FetchState> = results.iter().map(|(state, _)| *state).collect();
        states.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        let delta = with_pool!(self, pool => {
            let mut tx = pool.begin_with(super::write_begin(pool)).await?;
            let new_posts = InsertPosts::insert_posts(&mut tx, &posts, seen).await?;
            let checked: Vec<super::content::CheckedPost<'_>> = new_posts
                .iter()
                .filter_map(|new| {
                    let (account_id, post) = posts[new.index];
                    Some(super::content::CheckedPost { id: new.id?, account_id, post })
                })
                .collect();
            super::content::insert_checked!(tx, &checked, is_sqlite, seen);
            for batch in state_batches(&states) {
                let sql = upsert_states_sql(batch.len(), is_sqlite);
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for state in batch {
                    let optional = |t: Option<DateTime<Utc>>| t.map(to_secs);
                    query = query
                        .bind(&state.account_id)
                        .bind(to_secs(state.next_check_at.unwrap_or(now)))
                        .bind(optional(state.last_checked_at))
                        .bind(optional(state.last_success_at))
                        .bind(state.outcome.map(Outcome::id))
                        .bind(&state.message)
                        .bind(state.http_status.map(i64::from))
                        .bind(i64::from(state.consecutive_failures))
                        .bind(i64::from(state.gone_streak))
                        .bind(optional(state.gone_since))
                        .bind(&state.etag)
                        .bind(&state.last_modified)
                        .bind(&state.feed_title)
                        .bind(optional(state.first_success_at))
                        // Kept only from a fetch that read the feed.
                        .bind(
                            state
                                .feed_keys
                                .as_deref()
                                .filter(|_| state.outcome == Some(Outcome::Ok)),
                        );
                }
                query.execute(&mut *tx).await?;
            }
            let delta = SummaryDelta::new(new_posts.iter().map(|new| posts[new.index]))?;
            // Undated posts are judged against the first successful fetch
            // as stored now (the upsert above keeps an earlier one).
            let mut bases: HashMap<String, Option<i64>> = HashMap::new();
            for batch in delta.undated_accounts().chunks(POST_BATCH) {
                let mut sql = String::from(
                    "SELECT account_id, first_success_at FROM fetch_state WHERE account_id IN ",
                );
                push_rows(&mut sql, 1, batch.len(), is_sqlite);
                let mut query = sqlx::query_as::<_, (String, Option<i64>)>(sqlx::AssertSqlSafe(sql));
                for id in batch {
                    query = query.bind(*id);
                }
                bases.extend(query.fetch_all(&mut *tx).await?);
            }
            let segments: Vec<_> = delta.segments.iter().collect();
            for batch in segments.chunks(SEGMENT_BATCH) {
                let sql = upsert_segments_sql(batch.len(), is_sqlite);
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for ((account_id, starts_at), s) in batch {
                    query = query
                        .bind(account_id.as_str())
                        .bind(*starts_at)
                        .bind(s.total)
                        .bind(s.original)
                        .bind(s.repost);
                }
                query.execute(&mut *tx).await?;
            }
            let accounts: Vec<_> = delta.accounts.iter().collect();
            for batch in accounts.chunks(TOTALS_BATCH) {
                let sql = upsert_totals_sql(batch.len(), is_sqlite);
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (account_id, a) in batch {
                    let basis = bases.get(account_id.as_str()).copied().flatten();
                    query = query
                        .bind(account_id.as_str())
                        .bind(a.total)
                        .bind(a.last_post_at(seen, basis))
                        .bind(seen)
                        .bind(a.last_undated_at.is_some())
                        .bind(basis)
                        .bind(false);
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            delta
        });
        Ok(results
            .iter()
            .map(|(state, _)| {
                delta
                    .accounts
                    .get(&state.account_id)
                    .map_or(0, |a| u64::try_from(a.total).unwrap_or(0))
            })
            .collect())
    }

    /// Number of stored posts of one account.
    pub async fn post_count(&self, account_id: &str) -> Result<i64> {
        let (count,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as("SELECT COUNT(*) FROM posts WHERE account_id = $1")
                .bind(account_id)
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}
