//! Website chat conversations: details, transcript and the one lead, in the database so any
//! server process can answer the next turn.

use super::Conn;
use crate::domain::conversation::{Details, Line};

#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: String,
    pub account_id: String,
    pub details: Details,
    pub transcript: Vec<Line>,
    pub lead_id: Option<String>,
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> sqlx::Result<T> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(e.into()))
}

fn encode<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

pub async fn insert(conn: &mut Conn, c: &Conversation, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO conversations (id, account_id, details, transcript, lead_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&c.id)
    .bind(&c.account_id)
    .bind(encode(&c.details))
    .bind(encode(&c.transcript))
    .bind(&c.lead_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(
    conn: &mut Conn,
    account_id: &str,
    id: &str,
) -> sqlx::Result<Option<Conversation>> {
    /// A conversation as stored: details and transcript are JSON.
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        account_id: String,
        details: String,
        transcript: String,
        lead_id: Option<String>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, account_id, details, transcript, lead_id FROM conversations WHERE account_id = $1 AND id = $2",
    )
    .bind(account_id)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(Conversation {
        id: r.id,
        account_id: r.account_id,
        details: decode(&r.details)?,
        transcript: decode(&r.transcript)?,
        lead_id: r.lead_id,
    }))
}

/// Turns of the conversation that made this lead (indexed by `conversations_lead`; a lead
/// comes from at most one conversation).
const TRANSCRIPT_OF_LEAD_SQL: &str = "SELECT transcript FROM conversations \
     WHERE account_id = $1 AND lead_id = $2 LIMIT 1";

/// The transcript of the conversation that made a lead; `None` when no conversation did.
pub async fn transcript_of_lead(
    conn: &mut Conn,
    account_id: &str,
    lead_id: &str,
) -> sqlx::Result<Option<Vec<Line>>> {
    let row: Option<(String,)> = sqlx::query_as(TRANSCRIPT_OF_LEAD_SQL)
        .bind(account_id)
        .bind(lead_id)
        .fetch_optional(conn)
        .await?;
    row.map(|(text,)| decode(&text)).transpose()
}

pub async fn update(conn: &mut Conn, c: &Conversation, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET details = $1, transcript = $2, lead_id = $3, updated_at = $4 \
         WHERE account_id = $5 AND id = $6",
    )
    .bind(encode(&c.details))
    .bind(encode(&c.transcript))
    .bind(&c.lead_id)
    .bind(now)
    .bind(&c.account_id)
    .bind(&c.id)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::TRANSCRIPT_OF_LEAD_SQL;

    #[tokio::test]
    async fn a_leads_conversation_is_found_by_index() {
        let plan = crate::store::sqlite_plan(TRANSCRIPT_OF_LEAD_SQL).await;
        assert!(
            plan[0].starts_with(
                "SEARCH conversations USING INDEX conversations_lead (account_id=? AND lead_id=?)"
            ),
            "{plan:?}"
        );
    }
}
