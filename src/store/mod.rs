//! All SQL lives here. One store API over SQLite and PostgreSQL (sqlx's Any driver):
//! times are epoch milliseconds (BIGINT), ids and JSON are TEXT, flags are 0/1 integers.

pub mod accounts;
pub mod audit;
pub mod availability;
pub mod backup;
pub mod check;
pub mod conversations;
pub mod intake;
pub mod invitations;
pub mod leads;
mod migrate;
pub mod notifications;
pub mod password_resets;
pub mod rotations;
pub mod routing;
pub mod sessions;
pub mod sql;
pub mod sweep;
pub mod users;
pub mod website;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor, Transaction};

/// A 0/1 flag column, read into a `bool` field by a row type (`#[sqlx(try_from = "Flag")]`):
/// the Any driver hands SQLite's and PostgreSQL's integers over as integers, never as bools.
pub(crate) struct Flag(bool);

impl sqlx::Type<sqlx::Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        <i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value).map(|v| Flag(v != 0))
    }
}

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

pub type Tx = Transaction<'static, sqlx::Any>;
pub type Conn = AnyConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The shared database handle: a pool for reads, the connection(s) writes take, and which
/// backend it talks to.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    /// Where write transactions run. On SQLite one connection: the file has one writer at a
    /// time anyway, and a connection that alone writes keeps its page cache (any connection
    /// that sees another's commit throws its cache away). On PostgreSQL the same pool.
    writer: AnyPool,
    pub backend: Backend,
    /// What time it is for decisions that depend on it (working hours, caps): the system
    /// clock, moved only by tests.
    pub clock: Clock,
}

/// The system clock plus an offset that only tests set (shared by every clone of a `Db`).
#[derive(Debug, Clone, Default)]
pub struct Clock(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl Clock {
    /// Epoch milliseconds, UTC.
    pub fn now(&self) -> i64 {
        now_ms().saturating_add(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Moves this database's clock `ms` forward (tests only: nothing in the product
    /// calls it).
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sets the clock to `at` (epoch ms) from now on, as it ticks.
    pub fn set(&self, at: i64) {
        self.0
            .store(at - now_ms(), std::sync::atomic::Ordering::Relaxed);
    }
}

impl Db {
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(url)?;
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        match backend {
            Backend::Sqlite => {
                let sqlite = |size: u32, writer: bool| {
                    pool_options
                        .clone()
                        .max_connections(size)
                        // No ping before handing a connection out: one to a file in this
                        // process cannot have gone away, and each ping is a round trip to
                        // the connection's thread (a transaction, a page read).
                        .test_before_acquire(false)
                        .after_connect(move |conn, _| {
                            Box::pin(async move {
                                conn.execute(EVERY).await?;
                                if writer {
                                    conn.execute(WRITER).await?;
                                }
                                Ok(())
                            })
                        })
                        .connect_with(options.clone())
                };
                // Durable commits, enforced references, and waiting (not failing) while
                // another process holds the write lock. The log is checkpointed in the
                // background (see `checkpoint_in_background`); a committing connection
                // finishes the job and lets the log start over once it holds 10,000 pages.
                const EVERY: &str = "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                                     PRAGMA busy_timeout = 30000; \
                                     PRAGMA wal_autocheckpoint = 10000;";
                // The writer's too: its multi-row inserts' statement journals stay in memory
                // (each bounded by what one statement touches); on disk they were most of
                // its writes (docs/performance.md).
                const WRITER: &str = "PRAGMA temp_store = MEMORY;";
                let writer = sqlite(1, true).await?;
                switch_to_wal(&writer).await?;
                let pool = sqlite(8, false).await?;
                tokio::spawn(checkpoint_in_background(pool.clone()));
                Ok(Self {
                    pool,
                    writer,
                    backend,
                    clock: Clock::default(),
                })
            }
            Backend::Postgres => {
                let pool = pool_options
                    .max_connections(16)
                    .connect_with(options)
                    .await?;
                Ok(Self {
                    writer: pool.clone(),
                    pool,
                    backend,
                    clock: Clock::default(),
                })
            }
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        migrate::run(self).await
    }

    /// A read connection.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// A write transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`),
    /// so a transaction that reads and then writes never fails half-way with SQLITE_BUSY.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        }
    }

    /// Serialises writers of one account until the transaction ends. SQLite already has a
    /// single writer; PostgreSQL locks the account's row.
    pub async fn lock_account(&self, tx: &mut Conn, account_id: &str) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Takes the account's routing lock until the transaction ends: every routing decision
    /// and settings change of the account happens one at a time, on any number of processes.
    /// SQLite's `BEGIN IMMEDIATE` already holds the database's single write lock.
    pub async fn lock_routing(&self, tx: &mut Conn, account_id: &str) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT account_id FROM routing_settings WHERE account_id = $1 FOR UPDATE")
                .bind(account_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Locks one conversation until the transaction ends, so two turns of it sent at once
    /// are answered one after the other (and never create two leads).
    pub async fn lock_conversation(
        &self,
        tx: &mut Conn,
        account_id: &str,
        id: &str,
    ) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            sqlx::query(
                "SELECT id FROM conversations WHERE account_id = $1 AND id = $2 FOR UPDATE",
            )
            .bind(account_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        }
        Ok(())
    }

    /// Locks one lead's row until the transaction ends, so a read-then-write of it (owner,
    /// status, counters) cannot interleave with another. SQLite's single writer already does.
    pub async fn lock_lead(
        &self,
        tx: &mut Conn,
        account_id: &str,
        lead_id: &str,
    ) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM leads WHERE account_id = $1 AND id = $2 FOR UPDATE")
                .bind(account_id)
                .bind(lead_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        Ok(())
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// SQLite: copies committed pages from the write-ahead log into the database file every
/// 100 ms (every 10 ms near the end of the log), off every request's path, until the pool
/// closes: commits seldom copy pages themselves, a page many commits rewrite is copied
/// once, and the log stays under ~40 MB (measured in docs/performance.md). PASSIVE never
/// waits for readers or the writer; a busy answer (another process checkpointing) is
/// simply the next tick's.
async fn checkpoint_in_background(pool: AnyPool) {
    let mut pause = CHECKPOINT_PAUSE;
    while !pool.is_closed() {
        tokio::time::sleep(pause).await;
        pause = match checkpoint(&pool).await {
            Ok((_, log, _)) => checkpoint_pause(log),
            Err(err) => {
                tracing::debug!("background checkpoint: {err}");
                CHECKPOINT_PAUSE
            }
        };
    }
}

/// One PASSIVE checkpoint: (busy, pages in the log, pages copied).
async fn checkpoint(pool: &AnyPool) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await
}

/// The background checkpoint's usual pause.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(100);
/// Its pause once the log holds `CHASE_FROM` pages.
const CHECKPOINT_CHASE: Duration = Duration::from_millis(10);
/// Half of `wal_autocheckpoint` (10,000 pages, in the pragmas every connection runs).
const CHASE_FROM: i64 = 5_000;

/// How long the background checkpoint waits after one that left `log` pages in the log.
/// Near the end of the log it follows the writer closely, so the commit that takes the
/// log past 10,000 pages (copying what is left before it starts over) has little to copy.
fn checkpoint_pause(log: i64) -> Duration {
    if log >= CHASE_FROM {
        CHECKPOINT_CHASE
    } else {
        CHECKPOINT_PAUSE
    }
}

/// Accepts `sqlite://PATH` (relative or absolute, created if missing), `sqlite:PATH`, and
/// `postgres://` / `postgresql://` URLs.
/// WAL is a property of the file: set once, every later connection sees it. The switch
/// needs the file to itself, and SQLite refuses it at once (no busy wait) while another
/// process opening the same new file holds a lock, so several processes starting together
/// on a new file retry for a while instead of one of them failing to start.
async fn switch_to_wal(writer: &AnyPool) -> Result<(), sqlx::Error> {
    let mut attempt = 0;
    loop {
        match writer.execute("PRAGMA journal_mode = WAL").await {
            Err(e) if attempt < 200 && is_busy(&e) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            done => return done.map(drop),
        }
    }
}

/// SQLITE_BUSY, and SQLITE_LOCKED for a shared-cache table lock.
fn is_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("5" | "6")))
}

fn normalise_url(url: &str) -> Result<(Backend, String), sqlx::Error> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| {
            sqlx::Error::Configuration(
                "DATABASE_URL must start with sqlite:// or postgres://".into(),
            )
        })?;
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    if path.is_empty() || path == ":memory:" {
        return Err(sqlx::Error::Configuration(
            "an SQLite database needs a file path (in-memory databases are not shared)".into(),
        ));
    }
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("mode="))
        .collect();
    params.push("mode=rwc");
    Ok((
        Backend::Sqlite,
        format!("sqlite://{path}?{}", params.join("&")),
    ))
}

/// Now, in epoch milliseconds: the one time format the store uses.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// True when the error is a unique-constraint violation on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.kind() == sqlx::error::ErrorKind::UniqueViolation
                || db.code().as_deref() == Some("23505")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// A fresh SQLite database in a directory of its own (`t.db`), for the store's unit tests.
#[cfg(test)]
pub(crate) async fn temp_sqlite() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let db = Db::connect(&url).await.unwrap();
    (dir, db)
}

/// SQLite's plan for `sql` with its two text parameters (account, then a row's id), one
/// line per step: the store's tests prove a query walks the index it was written for.
#[cfg(test)]
pub(crate) async fn sqlite_plan(sql: &str) -> Vec<String> {
    use sqlx::Row;
    let (_dir, db) = temp_sqlite().await;
    db.migrate().await.unwrap();
    let mut conn = db.conn().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
        .bind("a")
        .bind("l")
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect()
}

#[cfg(test)]
mod tests {
    use sqlx::AssertSqlSafe;

    use super::*;

    #[test]
    fn the_background_checkpoint_follows_closely_near_the_end_of_the_log() {
        assert_eq!(checkpoint_pause(0), CHECKPOINT_PAUSE);
        assert_eq!(checkpoint_pause(4_999), CHECKPOINT_PAUSE);
        assert_eq!(checkpoint_pause(5_000), CHECKPOINT_CHASE);
        assert_eq!(checkpoint_pause(12_000), CHECKPOINT_CHASE);
        assert!(CHECKPOINT_CHASE < CHECKPOINT_PAUSE);
    }

    #[tokio::test]
    async fn a_checkpoint_reports_the_pages_in_the_log() {
        let (_dir, db) = temp_sqlite().await;
        sqlx::query("CREATE TABLE t (a INTEGER)")
            .execute(&db.pool)
            .await
            .unwrap();
        // The background task may have copied them first; the log still holds them.
        let (_, log, copied) = checkpoint(&db.pool).await.unwrap();
        assert!(log > 0, "the new table's pages are in the log");
        assert!((0..=log).contains(&copied));
    }

    /// Committed pages reach the database file without any commit checkpointing them.
    #[tokio::test]
    async fn the_log_is_copied_into_the_database_in_the_background() {
        let (dir, db) = temp_sqlite().await;
        let file = dir.path().join("t.db");
        let mut tx = db.begin_write().await.unwrap();
        sqlx::query("CREATE TABLE t (v TEXT)")
            .execute(&mut *tx)
            .await
            .unwrap();
        // About 2,000 pages: under the 10,000 at which a commit would checkpoint.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO t SELECT hex(randomblob(2000)) FROM n",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let size = || std::fs::metadata(&file).unwrap().len();
        for _ in 0..50 {
            if size() > 8_000_000 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the database file is still {} bytes", size());
    }

    /// Every connection: durable commits, references enforced, commits checkpoint only past
    /// 10,000 pages; the writer's statement journals stay in memory (2), the readers' do not.
    #[tokio::test]
    async fn sqlite_connections_get_their_settings() {
        async fn settings(conn: &mut Conn) -> Vec<i64> {
            let mut values = Vec::new();
            for pragma in [
                "synchronous",
                "foreign_keys",
                "wal_autocheckpoint",
                "temp_store",
            ] {
                let value = sqlx::query_scalar(AssertSqlSafe(format!("PRAGMA {pragma}")))
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap();
                values.push(value);
            }
            values
        }
        let (_dir, db) = temp_sqlite().await;
        let mut tx = db.begin_write().await.unwrap();
        let writer = settings(&mut tx).await;
        tx.commit().await.unwrap();
        let reader = settings(&mut db.conn().await.unwrap()).await;
        assert_eq!(writer, [2, 1, 10_000, 2]);
        assert_eq!(reader, [2, 1, 10_000, 0]);
        for pool in [&db.pool, &db.writer] {
            assert!(!pool.options().get_test_before_acquire(), "no ping");
        }
    }

    #[test]
    fn sqlite_urls_create_the_file() {
        let (b, u) = normalise_url("sqlite://leadroute.db").unwrap();
        assert_eq!(b, Backend::Sqlite);
        assert_eq!(u, "sqlite://leadroute.db?mode=rwc");
        let (_, u) = normalise_url("sqlite:///tmp/x.db?mode=ro").unwrap();
        assert_eq!(u, "sqlite:///tmp/x.db?mode=rwc");
        assert!(normalise_url("sqlite::memory:").is_err());
        assert!(normalise_url("mysql://x").is_err());
        assert_eq!(
            normalise_url("postgres://h/db").unwrap().0,
            Backend::Postgres
        );
    }
}
