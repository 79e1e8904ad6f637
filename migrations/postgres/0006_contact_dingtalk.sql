-- A contact's DingTalk staffId (钉钉 userid): the Stream bot knows them by it.
ALTER TABLE contacts ADD COLUMN dingtalk_id TEXT;
