//! Reading the audit log (Owner and Manager only). Entries are written by the use cases
//! themselves, inside the transaction of the change they describe.

use super::Actor;
use crate::domain::permissions::{self, Action};
use crate::error::{Error, Result};
use crate::store::{Db, audit};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

pub struct Page {
    pub entries: Vec<audit::Entry>,
    pub next_cursor: Option<String>,
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    action: Option<&str>,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page> {
    permissions::check(actor.user.role, Action::ViewAudit)?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let before_id = match cursor {
        None | Some("") => None,
        Some(c) => Some(
            c.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::field("cursor", "is not a cursor this API returned"))?,
        ),
    };
    let action = action.filter(|a| !a.is_empty());
    let mut conn = db.conn().await?;
    let mut entries =
        audit::list(&mut conn, actor.account_id(), action, before_id, limit + 1).await?;
    let next_cursor = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|e| e.id.to_string())
    } else {
        None
    };
    Ok(Page {
        entries,
        next_cursor,
    })
}
