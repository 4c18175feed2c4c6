//! The integration suite: one binary, every test on SQLite and on PostgreSQL (the server in
//! TEST_DATABASE_URL, else the one at 127.0.0.1:5432 when it answers). Tests that cannot run
//! here (no PostgreSQL, no Chromium) say so, and the run ends with a count of them.

mod fixtures;
mod helpers;
mod hostile;
mod isolation;

mod accounts;
mod audit;
mod availability;
mod backup;
mod browser;
mod chat;
mod chat_llm;
mod crash;
mod disguise;
mod hosts;
mod housekeeping;
mod intake;
mod lead_fields;
mod lead_pages;
mod leads;
mod links;
mod list_scale;
mod logs;
mod ops;
mod pages;
mod processes;
mod routing;
mod routing_page;
mod rules;
mod server;
mod signup_limits;
mod soak;
mod sql;
mod team;
mod web;
mod website;
mod website_pages;
