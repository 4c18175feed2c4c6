//! `leadroute backup PATH`: a consistent copy of a live SQLite database.

use std::path::Path;

use anyhow::{Context, bail};

use super::{Backend, Db};

/// Writes a consistent snapshot with `VACUUM INTO`: it reads inside one transaction, so
/// writers carry on meanwhile (WAL) and the copy is a single, compact database file.
pub async fn to_file(db: &Db, path: &Path) -> anyhow::Result<()> {
    if db.backend == Backend::Postgres {
        bail!("backup copies SQLite databases; for PostgreSQL use pg_dump (see the README)");
    }
    if path.exists() {
        bail!("{} already exists; choose a new file", path.display());
    }
    let target = path
        .to_str()
        .context("the backup path must be valid UTF-8")?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&db.pool)
        .await
        .with_context(|| format!("cannot write the backup to {target}"))?;
    Ok(())
}
