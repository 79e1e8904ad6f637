-- 备注: a clerk's note on an account (the 台账's 备注 column, `note` in accounts.toml).
ALTER TABLE accounts ADD COLUMN note TEXT;
