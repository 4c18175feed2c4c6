//! Accounts (tenants).

use super::Conn;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Account {
    pub id: String,
    pub name: String,
}

pub async fn insert(conn: &mut Conn, id: &str, name: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id: &str) -> sqlx::Result<Option<Account>> {
    sqlx::query_as("SELECT id, name FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
}
