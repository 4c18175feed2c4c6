//! Applies the embedded, append-only migrations of the backend in use. Safe when several
//! processes start at once: the whole run happens under one lock (an advisory lock on
//! PostgreSQL, the write lock of `BEGIN IMMEDIATE` on SQLite), so exactly one applies each.

use sqlx::Executor;

use super::{Backend, Db};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// One migration: both backends' files of the same name, embedded.
macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $file, ".sql")),
            postgres: include_str!(concat!("../../migrations/postgres/", $file, ".sql")),
        }
    };
}

/// Never edit a migration once it has landed: add a new one.
const MIGRATIONS: &[Migration] = &[
    migration!(1, "foundation", "0001_foundation"),
    migration!(2, "leads", "0002_leads"),
    migration!(3, "routing", "0003_routing"),
    migration!(4, "website", "0004_website"),
    migration!(5, "login_throttle", "0005_login_throttle"),
    migration!(6, "assistant", "0006_assistant"),
    migration!(7, "password_resets", "0007_password_resets"),
    migration!(8, "check_indexes", "0008_check_indexes"),
    migration!(9, "lead_search", "0009_lead_search"),
    migration!(10, "lean_event_index", "0010_lean_event_index"),
    migration!(11, "unread_counter", "0011_unread_counter"),
    migration!(12, "link_revocation", "0012_link_revocation"),
    migration!(13, "conversation_by_lead", "0013_conversation_by_lead"),
    migration!(14, "idem_request_hash", "0014_idem_request_hash"),
    migration!(15, "rules_and_rotations", "0015_rules_and_rotations"),
    migration!(16, "form_fields", "0016_form_fields"),
    migration!(19, "availability", "0019_availability"),
];

/// Any fixed number identifies our advisory lock among others on the same server.
const PG_MIGRATION_LOCK: i64 = 0x1ead_4007e;

pub(super) async fn run(db: &Db) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
    }
    tx.execute(sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    ))
    .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut *tx)
        .await?;
    for migration in MIGRATIONS {
        if applied.contains(&migration.version) {
            continue;
        }
        let sql = match db.backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        tx.execute(sqlx::raw_sql(sql)).await?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(super::now_ms())
        .execute(&mut *tx)
        .await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    tx.commit().await
}
