-- /bind from any chat: the applicant is a chat user id as the daemon writes
-- it (`telegram:123`, `dingtalk:staffId`), not only a Telegram id.
ALTER TABLE bind_requests ADD COLUMN applicant TEXT;
UPDATE bind_requests SET applicant = 'telegram:' || telegram_id;
ALTER TABLE bind_requests ALTER COLUMN applicant SET NOT NULL;
ALTER TABLE bind_requests DROP COLUMN telegram_id;
CREATE INDEX bind_requests_applicant ON bind_requests (applicant, created_at);
