-- An issued 通报 is a record: its number, dates, deadline and the report as
-- issued (JSON). The .docx, XLSX, chart, chat text, 整改通知 and 整改 items
-- are all rendered from it, so regenerating it gives the same document.
CREATE TABLE issued_reports (
    report_key  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    period_from TEXT NOT NULL,
    period_to   TEXT NOT NULL,
    title       TEXT NOT NULL,
    year        INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    doc_number  TEXT,
    issued_at   INTEGER NOT NULL,
    issued_on   TEXT NOT NULL,
    deadline    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    report      TEXT NOT NULL
);
CREATE INDEX issued_reports_kind ON issued_reports (kind, period_to);
