-- The posts the last successful fetch listed, as the first 16 hex digits of
-- each dedup key: all were stored with that fetch's state, so the next fetch
-- skips checking and packing them again (a feed that changed by one post
-- repeats the other nineteen).
ALTER TABLE fetch_state ADD COLUMN feed_keys TEXT;
