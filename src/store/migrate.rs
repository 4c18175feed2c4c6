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

/// Never edit a migration once it has landed: add a new one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "leads",
        sqlite: include_str!("../../migrations/sqlite/0002_leads.sql"),
        postgres: include_str!("../../migrations/postgres/0002_leads.sql"),
    },
    Migration {
        version: 3,
        name: "routing",
        sqlite: include_str!("../../migrations/sqlite/0003_routing.sql"),
        postgres: include_str!("../../migrations/postgres/0003_routing.sql"),
    },
    Migration {
        version: 4,
        name: "website",
        sqlite: include_str!("../../migrations/sqlite/0004_website.sql"),
        postgres: include_str!("../../migrations/postgres/0004_website.sql"),
    },
    Migration {
        version: 5,
        name: "login_throttle",
        sqlite: include_str!("../../migrations/sqlite/0005_login_throttle.sql"),
        postgres: include_str!("../../migrations/postgres/0005_login_throttle.sql"),
    },
    Migration {
        version: 6,
        name: "assistant",
        sqlite: include_str!("../../migrations/sqlite/0006_assistant.sql"),
        postgres: include_str!("../../migrations/postgres/0006_assistant.sql"),
    },
    Migration {
        version: 7,
        name: "password_resets",
        sqlite: include_str!("../../migrations/sqlite/0007_password_resets.sql"),
        postgres: include_str!("../../migrations/postgres/0007_password_resets.sql"),
    },
    Migration {
        version: 8,
        name: "check_indexes",
        sqlite: include_str!("../../migrations/sqlite/0008_check_indexes.sql"),
        postgres: include_str!("../../migrations/postgres/0008_check_indexes.sql"),
    },
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
