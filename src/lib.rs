//! Leadroute: lead assignment and auto-routing for sales teams.
//!
//! # Layout
//! Arrows point down: `http` -> `service` -> `domain`, and `service` -> `store`.
//! - `config`: the one typed configuration (flags and environment).
//! - `cli`: the binary's commands (`serve`, `migrate`, `check`).
//! - `app`: builds the state and router; `run(listener, ...)` serves on a bound listener.
//! - `domain`: the rules, pure: roles, the one permission table, validated input.
//! - `store`: all SQL, one API over SQLite and PostgreSQL, migrations per backend.
//! - `service`: the use cases; every write takes this path, whatever the channel.
//! - `http`: the JSON API (`api`), the HTML pages (`web`), auth, the error body.
//! - `assistant`: the website chat assistant and its providers (guided, LLM).
//! - `error`: the one error type of the use cases.
//! - `telemetry`: logging.
//!
//! Everything above is a module of this crate.

pub mod app;
pub mod assistant;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod service;
pub mod store;
pub mod telemetry;
