-- A unit's own group (telegram:…, dingtalk:…, feishu:…): its alerts and
-- 整改通知 go there instead of the shared contacts group.
ALTER TABLE units ADD COLUMN chat TEXT;
