//! The website form's key and settings, idempotency keys and rate-limit windows of the
//! public endpoints.

use super::sql::Sql;
use super::{Conn, Flag};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebsiteForm {
    pub account_id: String,
    pub account_name: String,
    pub form_key: String,
    /// URL prefixes a form post may redirect to after sending.
    pub allowed_redirects: Vec<String>,
    /// The website chat assistant answers visitors.
    pub assistant_enabled: bool,
    /// What the business does, in the Owner's words (the assistant's prompt).
    pub description: String,
    /// The hosted form and the embed snippet ask for country and company size.
    pub ask_country_size: bool,
}

pub async fn create(conn: &mut Conn, account_id: &str, form_key: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO website_forms (account_id, form_key) VALUES ($1, $2)")
        .bind(account_id)
        .bind(form_key)
        .execute(conn)
        .await?;
    Ok(())
}

/// A form as stored: the redirects are a JSON list.
#[derive(sqlx::FromRow)]
struct FormRow {
    account_id: String,
    account_name: String,
    form_key: String,
    allowed_redirects: String,
    #[sqlx(try_from = "Flag")]
    assistant_enabled: bool,
    description: String,
    #[sqlx(try_from = "Flag")]
    ask_country_size: bool,
}

impl From<FormRow> for WebsiteForm {
    fn from(r: FormRow) -> Self {
        WebsiteForm {
            account_id: r.account_id,
            account_name: r.account_name,
            form_key: r.form_key,
            allowed_redirects: serde_json::from_str(&r.allowed_redirects).unwrap_or_default(),
            assistant_enabled: r.assistant_enabled,
            description: r.description,
            ask_country_size: r.ask_country_size,
        }
    }
}

const SELECT: &str = "SELECT w.account_id, a.name AS account_name, w.form_key, w.allowed_redirects, \
     w.assistant_enabled, w.description, w.ask_country_size \
     FROM website_forms w JOIN accounts a ON a.id = w.account_id ";

pub async fn by_account(conn: &mut Conn, account_id: &str) -> sqlx::Result<WebsiteForm> {
    let sql = format!("{SELECT} WHERE w.account_id = $1");
    let r: FormRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .fetch_one(conn)
        .await?;
    Ok(r.into())
}

/// The account a public form key belongs to (the key is the only way in).
pub async fn by_key(conn: &mut Conn, form_key: &str) -> sqlx::Result<Option<WebsiteForm>> {
    let sql = format!("{SELECT} WHERE w.form_key = $1");
    let r: Option<FormRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(form_key)
        .fetch_optional(conn)
        .await?;
    Ok(r.map(WebsiteForm::from))
}

/// The account a form key belongs to.
pub async fn account_of_key(conn: &mut Conn, form_key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT account_id FROM website_forms WHERE form_key = $1")
        .bind(form_key)
        .fetch_optional(conn)
        .await
}

pub async fn set_key(
    conn: &mut Conn,
    account_id: &str,
    form_key: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE website_forms SET form_key = $1, updated_at = $2 WHERE account_id = $3")
        .bind(form_key)
        .bind(now)
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_redirects(
    conn: &mut Conn,
    account_id: &str,
    redirects: &[String],
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE website_forms SET allowed_redirects = $1, updated_at = $2 WHERE account_id = $3",
    )
    .bind(serde_json::to_string(redirects).unwrap_or_else(|_| "[]".into()))
    .bind(now)
    .bind(account_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_assistant(
    conn: &mut Conn,
    account_id: &str,
    enabled: bool,
    description: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE website_forms SET assistant_enabled = $1, description = $2, updated_at = $3 WHERE account_id = $4")
        .bind(i64::from(enabled))
        .bind(description)
        .bind(now)
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_ask_country_size(
    conn: &mut Conn,
    account_id: &str,
    ask: bool,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE website_forms SET ask_country_size = $1, updated_at = $2 WHERE account_id = $3",
    )
    .bind(i64::from(ask))
    .bind(now)
    .bind(account_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The lead an idempotency key already produced, if it is younger than `since`, and the
/// hash of the request that produced it (none for keys stored before hashes were kept).
pub async fn idempotent_lead(
    conn: &mut Conn,
    account_id: &str,
    key: &str,
    since: i64,
) -> sqlx::Result<Option<(String, Option<String>)>> {
    sqlx::query_as(
        "SELECT lead_id, request_hash FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2 AND created_at > $3",
    )
    .bind(account_id)
    .bind(key)
    .bind(since)
    .fetch_optional(conn)
    .await
}

/// Remembers which lead a key produced and from which request (replacing an expired use
/// of the same key).
pub async fn remember_key(
    conn: &mut Conn,
    account_id: &str,
    key: &str,
    lead_id: &str,
    request_hash: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND idem_key = $2")
        .bind(account_id)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO idempotency_keys (account_id, idem_key, lead_id, created_at, request_hash) VALUES ($1, $2, $3, $4, $5)")
        .bind(account_id)
        .bind(key)
        .bind(lead_id)
        .bind(now)
        .bind(request_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// The hits stored in `account_id`'s windows starting at `window_start` for `buckets`
/// (those with none are left out).
pub async fn window_hits(
    conn: &mut Conn,
    account_id: &str,
    window_start: i64,
    buckets: &[&str],
) -> sqlx::Result<Vec<(String, i64)>> {
    // `IN ()` is not SQL PostgreSQL accepts, and there is nothing to read anyway.
    if buckets.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new();
    sql.push("SELECT bucket, hits FROM rate_limits WHERE account_id = ")
        .push_bind(account_id)
        .push(" AND window_start = ")
        .push_bind(window_start)
        .push(" AND bucket IN ")
        .in_list(buckets.iter().copied());
    let rows = sql.query().fetch_all(conn).await?;
    rows.iter().map(sqlx::FromRow::from_row).collect()
}
