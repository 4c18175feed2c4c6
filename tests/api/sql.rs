//! The store's SQL builder on each real backend: a generated multi-row statement in the
//! backend's placeholder style (anonymous on SQLite, numbered on PostgreSQL) run with
//! another in one call, and a numbered statement whose placeholders are reused.

use leadroute::store::Backend;
use leadroute::store::sql::{Sql, Value, execute_all};

use crate::helpers::TestApp;

crate::backend_tests!(built_statements_run_on_their_backend);

async fn built_statements_run_on_their_backend(app: TestApp) {
    let db = &app.db;
    let mut tx = db.begin_write().await.unwrap();
    sqlx::query("CREATE TABLE built (a TEXT NOT NULL, b BIGINT)")
        .execute(&mut *tx)
        .await
        .unwrap();
    // 100 rows of two values, NULLs among them.
    let rows = (0..100i64).map(|n| {
        let b = if n % 7 == 0 { None } else { Some(n) };
        [Value::from(format!("r{n}")), Value::from(b)]
    });
    let mut insert = Sql::multi_row(db.backend);
    insert
        .push("INSERT INTO built (a, b) VALUES ")
        .values_rows(rows);
    assert_eq!(
        insert.text().contains('?'),
        db.backend == Backend::Sqlite,
        "anonymous placeholders on SQLite only"
    );
    let mut update = Sql::multi_row(db.backend);
    update
        .push("UPDATE built SET b = ")
        .push_bind(-1)
        .push(" WHERE a IN ")
        .in_list(["r1", "r2"]);
    execute_all(&mut tx, vec![insert, update]).await.unwrap();

    let mut select = Sql::new();
    let zero = select.bind(0);
    select.push(&format!(
        "SELECT a FROM built WHERE b < {zero} OR b = {zero} OR (b IS NULL AND a IN "
    ));
    select.in_list(["r0", "r7", "r8"]).push(") ORDER BY a");
    assert_eq!(
        select.text(),
        "SELECT a FROM built WHERE b < $1 OR b = $1 OR (b IS NULL AND a IN ($2, $3, $4)) \
         ORDER BY a"
    );
    let found: Vec<String> = select
        .query()
        .fetch_all(&mut *tx)
        .await
        .unwrap()
        .iter()
        .map(|r| sqlx::Row::get(r, "a"))
        .collect();
    assert_eq!(found, ["r0", "r1", "r2", "r7"]);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM built")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(count, 100);
    tx.rollback().await.unwrap();
}
