//! The commands of the binary: serve (default), migrate, check.

use std::process::ExitCode;

use anyhow::Context;

use crate::config::{Cli, Command};
use crate::store::Db;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config;
    let db = Db::connect(&config.database_url)
        .await
        .with_context(|| format!("cannot open database {}", config.redacted_database_url()))?;
    db.migrate().await.context("cannot apply migrations")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            tracing::info!(database = %config.redacted_database_url(), "migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let problems = crate::store::check::run(&db).await?;
            if problems.is_empty() {
                println!("ok: every invariant holds");
                Ok(ExitCode::SUCCESS)
            } else {
                println!("{} problem(s) found:", problems.len());
                for problem in &problems {
                    println!("- {problem}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Backup { path } => {
            crate::store::backup::to_file(&db, &path).await?;
            println!("backed up to {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            tracing::info!(database = %config.redacted_database_url(), "starting");
            crate::app::run(listener, db, config, shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
