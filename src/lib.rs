//! xunjian (巡检): supervises government new-media accounts.
//!
//! The pipeline: `registry` (who is checked) → `fetch` + `parse` (posts) →
//! `storage` → `rules` (findings, verdicts) → alerts and reports.

/// mimalloc for every binary built on this library (the daemon, the
/// benchmarks, the tests): per-thread heaps, so the poll cycle's parsing
/// threads do not queue on one allocator lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod alerts;
pub mod app;
pub mod calendar;
pub mod cli;
pub mod commands;
pub mod config;
pub mod content;
pub mod daemon;
pub mod demo;
pub mod domain;
pub mod escape;
pub mod fetch;
pub mod health;
pub mod inspection;
pub mod notify;
pub mod parse;
pub mod poll;
pub mod process;
pub mod publish;
pub mod rectification;
pub mod registry;
pub mod reports;
pub mod rules;
pub mod schedule;
pub mod scheduler;
pub mod screening;
pub mod server;
pub mod storage;
pub mod web;

#[cfg(test)]
mod architecture_tests;
#[cfg(test)]
mod test_random;
