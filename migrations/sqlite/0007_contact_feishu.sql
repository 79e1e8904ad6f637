-- A contact's Feishu open_id (ou_…): the long-connection bot knows them by it.
ALTER TABLE contacts ADD COLUMN feishu_open_id TEXT;
