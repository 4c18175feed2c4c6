//! The integration suite: one binary, every test on SQLite and (with TEST_DATABASE_URL) on
//! PostgreSQL.

mod helpers;
mod hostile;
mod isolation;

mod accounts;
mod audit;
mod backup;
mod browser;
mod chat;
mod chat_llm;
mod crash;
mod housekeeping;
mod intake;
mod lead_pages;
mod leads;
mod list_scale;
mod ops;
mod pages;
mod processes;
mod routing;
mod routing_page;
mod signup_limits;
mod soak;
mod team;
mod web;
mod website;
mod website_pages;
