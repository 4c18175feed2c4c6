//! One typed configuration, from command-line flags and the environment.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

/// Leadroute: lead assignment and auto-routing for sales teams.
///
/// With no command it serves the web app and the JSON API.
#[derive(Debug, Clone, Parser)]
#[command(name = "leadroute", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the web app and API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Verify the stored data's invariants; exit non-zero with a report if any fails.
    Check,
    /// Copy a live SQLite database to PATH, consistently, while it serves traffic
    /// (PostgreSQL: use pg_dump, see the README).
    Backup {
        /// Where to write the copy; must not exist yet.
        path: std::path::PathBuf,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (the chosen one is logged).
    #[arg(
        long,
        env = "LEADROUTE_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Database: sqlite://PATH (created if missing) or postgres://...
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://leadroute.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,

    /// Public base URL used in invitation links (default: the request's Host, if allowed).
    #[arg(long, env = "LEADROUTE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Without a public URL, the Host values (host[:port], comma-separated) links may be built
    /// from besides the listen address; any other Host gets links to the listen address.
    #[arg(
        long,
        env = "LEADROUTE_ALLOWED_HOSTS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_hosts: Vec<String>,

    /// Requests per minute per client address on the public endpoints; 0 turns the limit off.
    #[arg(
        long,
        env = "LEADROUTE_PUBLIC_RATE_LIMIT",
        default_value_t = 120,
        global = true
    )]
    pub public_rate_limit: u32,

    /// An OpenAI-compatible chat-completions server for the website chat assistant, with its
    /// version path (e.g. http://localhost:11434/v1). Without it the guided assistant answers.
    #[arg(long, env = "LEADROUTE_ASSISTANT_URL", global = true)]
    pub assistant_url: Option<String>,

    /// The model the assistant asks (e.g. llama3.1, gpt-4o-mini).
    #[arg(long, env = "LEADROUTE_ASSISTANT_MODEL", global = true)]
    pub assistant_model: Option<String>,

    /// The assistant server's API key, if it needs one (never logged).
    #[arg(
        long,
        env = "LEADROUTE_ASSISTANT_API_KEY",
        global = true,
        hide_env_values = true
    )]
    pub assistant_api_key: Option<String>,

    /// Failed sign-in attempts per minute per client address and per email from one
    /// address (successes do not count); 0 turns the limit off.
    #[arg(
        long,
        env = "LEADROUTE_LOGIN_RATE_LIMIT",
        default_value_t = 10,
        global = true
    )]
    pub login_rate_limit: u32,

    /// Sign-ups and invitations per minute per client address (together); 0 turns the
    /// limit off. The default matches the public endpoints': it stops a flood (new
    /// passwords are also hashed in a bounded lane) and never a team setting itself up.
    #[arg(
        long,
        env = "LEADROUTE_SIGNUP_RATE_LIMIT",
        default_value_t = 120,
        global = true
    )]
    pub signup_rate_limit: u32,
}

impl Config {
    /// A configuration for tests and embedding: the given database, everything else default.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.into(),
            public_url: None,
            allowed_hosts: Vec::new(),
            public_rate_limit: 120,
            login_rate_limit: 10,
            signup_rate_limit: 120,
            assistant_url: None,
            assistant_model: None,
            assistant_api_key: None,
        }
    }

    /// The database URL with any password replaced, for logs.
    pub fn redacted_database_url(&self) -> String {
        redact_url(&self.database_url)
    }
}

fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://leadroute.db"), "sqlite://leadroute.db");
    }

    #[test]
    fn no_arguments_means_serve_on_8080_with_sqlite() {
        let cli = Cli::try_parse_from(["leadroute"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.config.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn flags_work_before_and_after_the_command() {
        let cli = Cli::try_parse_from(["leadroute", "serve", "--listen", "127.0.0.1:0"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Serve)));
        assert_eq!(cli.config.listen.port(), 0);
        let cli = Cli::try_parse_from(["leadroute", "--database-url", "sqlite://x.db", "migrate"])
            .unwrap();
        assert_eq!(cli.config.database_url, "sqlite://x.db");
    }

    #[test]
    fn allowed_hosts_are_a_comma_separated_list() {
        let cli = Cli::try_parse_from(["leadroute", "--allowed-hosts", "a.io,b.io:8443"]).unwrap();
        assert_eq!(cli.config.allowed_hosts, ["a.io", "b.io:8443"]);
        let cli = Cli::try_parse_from(["leadroute"]).unwrap();
        assert!(cli.config.allowed_hosts.is_empty());
    }

    #[test]
    fn the_signup_limit_defaults_to_120_and_can_be_turned_off() {
        let cli = Cli::try_parse_from(["leadroute"]).unwrap();
        assert_eq!(cli.config.signup_rate_limit, 120);
        assert_eq!(Config::for_database("sqlite://x.db").signup_rate_limit, 120);
        let cli = Cli::try_parse_from(["leadroute", "--signup-rate-limit", "0"]).unwrap();
        assert_eq!(cli.config.signup_rate_limit, 0);
    }
}
