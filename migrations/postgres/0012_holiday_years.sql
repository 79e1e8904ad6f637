-- A year's 法定节假日安排 added with `xunjian holidays import` (holiday-cn
-- JSON): it joins the built-in years and replaces one of them.
CREATE TABLE holiday_years (
    year        BIGINT PRIMARY KEY,
    data        TEXT NOT NULL,
    source      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);
