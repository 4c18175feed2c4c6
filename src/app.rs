//! Builds the application state and router, and runs the server on a listener the caller
//! bound, so tests and benchmarks can start the real server on port 0.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::assistant::Assistant;
use crate::config::Config;
use crate::service::intake::writer::Writer;
use crate::store::Db;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// The website chat assistant the configuration chose.
    pub assistant: Arc<dyn Assistant>,
    /// The website form's group-commit writer.
    pub intake: Writer,
}

pub fn router(db: Db, config: Config) -> axum::Router {
    crate::http::router(state(db, config))
}

fn state(db: Db, config: Config) -> AppState {
    AppState {
        intake: Writer::start(db.clone()),
        assistant: crate::assistant::from_config(&config),
        db,
        config: Arc::new(config),
    }
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn run(
    listener: TcpListener,
    db: Db,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    // Links fall back to the address really bound (port 0 picks one).
    let mut config = config;
    config.listen = addr;
    if !addr.ip().is_loopback() && config.public_url.is_none() && config.allowed_hosts.is_empty() {
        tracing::warn!(
            "serving beyond loopback without LEADROUTE_PUBLIC_URL: invitation, reset and form \
             links will use {addr} unless LEADROUTE_PUBLIC_URL or LEADROUTE_ALLOWED_HOSTS is set"
        );
    }
    let state = state(db, config);
    let intake = state.intake.clone();
    let housekeeping = tokio::spawn(crate::service::housekeeping::run(state.db.clone()));
    tracing::info!("listening on {addr}");
    axum::serve(
        listener,
        crate::http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    housekeeping.abort();
    // What group commit did, for whoever tunes it (the benchmark reads this line).
    let (batches, submissions) = intake.stats();
    tracing::info!("intake: {submissions} website submissions in {batches} transactions");
    Ok(())
}
