-- Kept in step with migrations/postgres/0016 (where posts' rows are kept in
-- their pages, not moved to the TOAST table); SQLite needs no change.
SELECT 1;
