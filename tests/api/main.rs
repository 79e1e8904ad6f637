//! Integration tests: the real program pieces against real SQLite files,
//! the real PostgreSQL server and real HTTP servers on 127.0.0.1.

mod alerts;
mod browser;
mod chat;
mod check;
mod cli;
mod content;
mod daemon;
mod dingtalk;
mod every_chat;
mod fake_dingtalk;
mod fake_telegram;
mod faults;
mod feed_server;
mod feishu;
mod helpers;
mod history;
mod known_posts;
mod one_source;
mod one_truth;
mod poll;
mod rectification;
mod register;
mod reliability;
mod reports;
mod scale;
mod schedule;
mod security;
mod summaries;
mod web;
mod webdriver;
mod workbook;
