//! Writing fetch results: new posts, the post summaries they change, and
//! fetch states, in one transaction.

use super::polling::{state_batches, upsert_states_sql};
use super::summaries::segment_of;
use super::{FetchResult, Result, Store, from_secs, to_secs, with_pool};
use crate::fetch::{FetchState, Outcome};
use crate::parse::{Post, PostKind};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

/// Accounts per read of their first successful fetch (PostgreSQL).
const BASIS_BATCH: usize = 500;
/// Segment rows per upsert statement (5 parameters each).
const SEGMENT_BATCH: usize = 200;
/// Account totals per upsert statement (7 parameters each).
const TOTALS_BATCH: usize = 140;

/// SQLite's `INSERT … VALUES (?, …), …` for `rows` posts (the writer thread
/// inserts one row at a time, see `super::writer`).
pub(super) fn insert_posts_sql(rows: usize) -> String {
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

pub(super) fn upsert_segments_sql(rows: usize, is_sqlite: bool) -> String {
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
pub(super) fn upsert_totals_sql(rows: usize, is_sqlite: bool) -> String {
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
pub(super) struct NewPost {
    pub index: usize,
    pub id: Option<i64>,
}

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct SegmentDelta {
    pub total: i64,
    pub original: i64,
    pub repost: i64,
}

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct AccountDelta {
    pub total: i64,
    pub last_dated_at: Option<i64>,
    pub last_undated_at: Option<i64>,
}

/// What one write adds to the summaries.
#[derive(Debug, Default)]
pub(super) struct SummaryDelta {
    /// Per account, per segment start.
    pub segments: BTreeMap<String, BTreeMap<i64, SegmentDelta>>,
    pub accounts: BTreeMap<String, AccountDelta>,
}

impl SummaryDelta {
    pub fn new<'a>(posts: impl Iterator<Item = (&'a str, &'a Post)>) -> Result<SummaryDelta> {
        let mut delta = SummaryDelta::default();
        // A segment is found once for the posts of its days (a post's
        // segment took a tenth of the writer's own time), and an account's
        // entries are made once for its posts, which come together.
        let mut segment: Option<(i64, i64)> = None;
        for (account_id, post) in posts {
            // Whole seconds, as stored.
            let published_at = to_secs(post.published_at);
            let starts_at = match segment {
                Some((start, end)) if (start..end).contains(&published_at) => start,
                _ => {
                    let (start, end) = segment_of(from_secs(published_at)?);
                    segment = Some((to_secs(start), to_secs(end)));
                    to_secs(start)
                }
            };
            let segments = match delta.segments.get_mut(account_id) {
                Some(segments) => segments,
                None => delta.segments.entry(account_id.to_string()).or_default(),
            };
            let s = segments.entry(starts_at).or_default();
            s.total += 1;
            s.original += i64::from(post.kind == PostKind::Original);
            s.repost += i64::from(post.kind == PostKind::Repost);
            let a = match delta.accounts.get_mut(account_id) {
                Some(a) => a,
                None => delta.accounts.entry(account_id.to_string()).or_default(),
            };
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

    /// Each account's segments, by account and start.
    pub fn segment_rows(&self) -> impl Iterator<Item = (&str, i64, &SegmentDelta)> {
        self.segments.iter().flat_map(|(account_id, segments)| {
            segments
                .iter()
                .map(move |(starts_at, s)| (account_id.as_str(), *starts_at, s))
        })
    }

    /// How many posts were new, per account of `results`, in their order.
    pub fn new_posts_of(&self, results: &[(&FetchState, &[Post])]) -> Vec<u64> {
        results
            .iter()
            .map(|(state, _)| {
                self.accounts
                    .get(&state.account_id)
                    .map_or(0, |a| u64::try_from(a.total).unwrap_or(0))
            })
            .collect()
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
    pub fn last_post_at(&self, seen: i64, basis: Option<i64>) -> Option<i64> {
        let undated = self
            .last_undated_at
            .filter(|_| basis.is_some_and(|first| seen > first));
        self.last_dated_at.max(undated)
    }
}

/// What a post keeps of its text: the packed text, packed here if the
/// checks did not pack it, or nothing.
pub(super) fn kept_text(post: &Post) -> Option<std::borrow::Cow<'_, [u8]>> {
    match (post.packed.is_empty(), post.text.is_empty()) {
        (false, _) => Some(std::borrow::Cow::Borrowed(post.packed.as_slice())),
        (true, false) => Some(std::borrow::Cow::Owned(crate::content::pack(&post.text))),
        (true, true) => None,
    }
}

/// Whether a new post needs its row id: its findings and 转载任务 refer to it.
pub(super) fn needs_id(post: &Post) -> bool {
    !post.hits.is_empty() || !post.tasks.is_empty()
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

/// Inserts posts (in key order) in a PostgreSQL write transaction,
/// duplicates ignored, and returns the ones stored.
async fn insert_posts(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    posts: &[(&str, &Post)],
    seen: i64,
) -> Result<Vec<NewPost>> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    // One array per column, in the posts' order.
    fn each<'a, T>(posts: &[(&'a str, &'a Post)], f: impl Fn(&'a str, &'a Post) -> T) -> Vec<T> {
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
        .fetch_all(&mut **tx)
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

/// A batch's posts and fetch states in key order: two transactions that
/// share an account (a `poll` beside a daemon, a cycle that outlived its
/// lease) then lock them in the same order, and PostgreSQL has no deadlock
/// to break.
pub(super) fn in_key_order<'a>(
    results: &[(&'a FetchState, &'a [Post])],
) -> (Vec<(&'a str, &'a Post)>, Vec<&'a FetchState>) {
    let mut posts: Vec<(&str, &Post)> = results
        .iter()
        .flat_map(|(state, posts)| posts.iter().map(|p| (state.account_id.as_str(), p)))
        .collect();
    posts.sort_by(|a, b| (a.0, a.1.dedup_key.as_str()).cmp(&(b.0, b.1.dedup_key.as_str())));
    let mut states: Vec<&FetchState> = results.iter().map(|(state, _)| *state).collect();
    states.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    (posts, states)
}

/// [`Store::record_fetches`] on PostgreSQL: multi-row statements, few
/// round trips in a big cycle.
async fn record_fetches_pg(
    pool: &sqlx::PgPool,
    results: &[(&FetchState, &[Post])],
    now: DateTime<Utc>,
) -> Result<Vec<u64>> {
    let seen = to_secs(now);
    let (posts, states) = in_key_order(results);
    let mut tx = pool.begin_with(super::write_begin(pool)).await?;
    let new_posts = insert_posts(&mut tx, &posts, seen).await?;
    let checked: Vec<super::content::CheckedPost<'_>> = new_posts
        .iter()
        .filter_map(|new| {
            let (account_id, post) = posts[new.index];
            Some(super::content::CheckedPost {
                id: new.id?,
                account_id,
                post,
            })
        })
        .collect();
    super::content::insert_checked!(tx, &checked, false, seen);
    for batch in state_batches(&states) {
        let sql = upsert_states_sql(batch.len(), false);
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
    // Undated posts are judged against the first successful fetch as stored
    // now (the upsert above keeps an earlier one).
    let mut bases: HashMap<String, Option<i64>> = HashMap::new();
    for batch in delta.undated_accounts().chunks(BASIS_BATCH) {
        let mut sql = String::from(
            "SELECT account_id, first_success_at FROM fetch_state WHERE account_id IN ",
        );
        push_rows(&mut sql, 1, batch.len(), false);
        let mut query = sqlx::query_as::<_, (String, Option<i64>)>(sqlx::AssertSqlSafe(sql));
        for id in batch {
            query = query.bind(*id);
        }
        bases.extend(query.fetch_all(&mut *tx).await?);
    }
    let segments: Vec<_> = delta.segment_rows().collect();
    for batch in segments.chunks(SEGMENT_BATCH) {
        let sql = upsert_segments_sql(batch.len(), false);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (account_id, starts_at, s) in batch {
            query = query
                .bind(*account_id)
                .bind(*starts_at)
                .bind(s.total)
                .bind(s.original)
                .bind(s.repost);
        }
        query.execute(&mut *tx).await?;
    }
    let accounts: Vec<_> = delta.accounts.iter().collect();
    for batch in accounts.chunks(TOTALS_BATCH) {
        let sql = upsert_totals_sql(batch.len(), false);
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
    Ok(delta.new_posts_of(results))
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

    /// Saves several accounts' attempts in one transaction and updates the
    /// post summaries by what was new; returns how many posts were new, per
    /// account. On SQLite the results are copied for the writer thread:
    /// [`Store::save_fetches`] hands them over instead.
    pub async fn record_fetches(
        &self,
        results: &[(&FetchState, &[Post])],
        now: DateTime<Utc>,
    ) -> Result<Vec<u64>> {
        match self {
            Store::Sqlite(_, writer) => {
                let owned: Vec<FetchResult> = results
                    .iter()
                    .map(|(state, posts)| ((*state).clone(), posts.to_vec()))
                    .collect();
                writer.record_fetches(owned, now).await.1
            }
            Store::Postgres(pool) => record_fetches_pg(pool, results, now).await,
        }
    }

    /// [`Store::record_fetches`] of owned results, which come back with the
    /// answer (to be tried again one by one when the batch failed). On
    /// SQLite the writer thread reads them in place.
    pub async fn save_fetches(
        &self,
        results: Vec<FetchResult>,
        now: DateTime<Utc>,
    ) -> (Vec<FetchResult>, Result<Vec<u64>>) {
        match self {
            Store::Sqlite(_, writer) => writer.record_fetches(results, now).await,
            Store::Postgres(pool) => {
                let rows: Vec<(&FetchState, &[Post])> = results
                    .iter()
                    .map(|(state, posts)| (state, posts.as_slice()))
                    .collect();
                let saved = record_fetches_pg(pool, &rows, now).await;
                drop(rows);
                (results, saved)
            }
        }
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
