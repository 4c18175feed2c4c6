//! In-app notifications: written in the transaction of the change they announce, read only
//! by their recipient.

use super::{Actor, secrets};
use crate::domain::NotificationKind;
use crate::error::{Error, Result};
use crate::store::notifications::{self, NewNotification, Notification};
use crate::store::{Conn, Db, now_ms};

pub const LIST_LIMIT: i64 = 100;

/// Notifies `user_id` inside the caller's transaction.
pub(crate) async fn notify(
    tx: &mut Conn,
    account_id: &str,
    user_id: &str,
    kind: NotificationKind,
    lead_id: Option<&str>,
    text: &str,
    now: i64,
) -> Result<()> {
    let id = secrets::new_id();
    let new = NewNotification {
        id: &id,
        account_id,
        user_id,
        kind,
        lead_id,
        text,
    };
    notifications::insert(tx, &new, now).await?;
    Ok(())
}

pub struct Inbox {
    pub notifications: Vec<Notification>,
    pub unread_count: i64,
}

pub async fn inbox(db: &Db, actor: &Actor, unread_only: bool) -> Result<Inbox> {
    let mut conn = db.conn().await?;
    let list = notifications::list(
        &mut conn,
        actor.account_id(),
        &actor.user.id,
        unread_only,
        LIST_LIMIT,
    )
    .await?;
    let unread_count =
        notifications::unread_count(&mut conn, actor.account_id(), &actor.user.id).await?;
    Ok(Inbox {
        notifications: list,
        unread_count,
    })
}

pub async fn unread_count(db: &Db, actor: &Actor) -> Result<i64> {
    let mut conn = db.conn().await?;
    Ok(notifications::unread_count(&mut conn, actor.account_id(), &actor.user.id).await?)
}

/// Marks one of the caller's notifications read; returns the lead it points at.
/// Someone else's notification is `NotFound`, exactly like one that does not exist.
pub async fn mark_read(db: &Db, actor: &Actor, id: &str) -> Result<Option<String>> {
    let mut tx = db.begin_write().await?;
    let lead = notifications::find(&mut tx, actor.account_id(), &actor.user.id, id)
        .await?
        .ok_or(Error::NotFound)?;
    notifications::mark_read(&mut tx, actor.account_id(), &actor.user.id, id, now_ms()).await?;
    tx.commit().await?;
    Ok(lead)
}

pub async fn mark_all_read(db: &Db, actor: &Actor) -> Result<()> {
    let mut tx = db.begin_write().await?;
    notifications::mark_all_read(&mut tx, actor.account_id(), &actor.user.id, now_ms()).await?;
    tx.commit().await?;
    Ok(())
}
