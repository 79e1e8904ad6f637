-- Per-account post summaries, kept up to date in the transaction that writes
-- the posts, so an inspection reads these instead of aggregating every post.
-- Keep in lockstep with migrations/postgres.

-- One row per account with posts.
CREATE TABLE post_totals (
    account_id     TEXT PRIMARY KEY,
    total          INTEGER NOT NULL,
    -- The newest post that counts as activity (see PostSummary::last_post_at).
    last_post_at   INTEGER,
    -- The newest first_seen_at: a check at an earlier time scans the posts.
    last_seen_at   INTEGER NOT NULL,
    -- Undated posts were judged (initial or new) against this
    -- fetch_state.first_success_at; when it no longer matches, or changed
    -- between writes (is_basis_mixed), the check scans the posts.
    has_undated    BOOLEAN NOT NULL,
    undated_basis  INTEGER,
    is_basis_mixed BOOLEAN NOT NULL
);

-- Posts per account and segment, by publication time. A segment is a local
-- (Asia/Shanghai) Monday–Sunday week cut at the first of a month, so every
-- week and every calendar month is a whole number of segments; starts_at is
-- the segment's first local midnight.
CREATE TABLE post_segments (
    account_id TEXT NOT NULL,
    starts_at  INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    original   INTEGER NOT NULL,
    repost     INTEGER NOT NULL,
    PRIMARY KEY (account_id, starts_at)
) WITHOUT ROWID;

INSERT INTO post_totals (account_id, total, last_post_at, last_seen_at, has_undated,
                         undated_basis, is_basis_mixed)
SELECT p.account_id, COUNT(*),
       MAX(CASE WHEN p.is_date_estimated
                 AND p.first_seen_at <= COALESCE(f.first_success_at, p.first_seen_at)
           THEN NULL ELSE p.published_at END),
       MAX(p.first_seen_at), MAX(p.is_date_estimated), MAX(f.first_success_at), FALSE
FROM posts p LEFT JOIN fetch_state f ON f.account_id = p.account_id
GROUP BY p.account_id;

INSERT INTO post_segments (account_id, starts_at, total, original, repost)
SELECT account_id, CAST(strftime('%s', segment) AS INTEGER) - 28800, COUNT(*),
       SUM(kind = 'original'), SUM(kind = 'repost')
FROM (SELECT account_id, kind,
             MAX(date(local_day, '-6 days', 'weekday 1'), date(local_day, 'start of month')) AS segment
      FROM (SELECT account_id, kind, date(published_at + 28800, 'unixepoch') AS local_day FROM posts))
GROUP BY account_id, segment;

-- Registration now creates a never-fetched account's placeholder fetch state,
-- so the due-account claim is one indexed statement; older accounts get theirs here.
INSERT INTO fetch_state (account_id, next_check_at)
SELECT a.id, 0 FROM accounts a
WHERE NOT EXISTS (SELECT 1 FROM fetch_state f WHERE f.account_id = a.id);
