//! Rotations (named pools): list, read, add, change, delete. The default rotation
//! ("Everyone") is the routing settings' own rotation: changing it here changes what the
//! Lead routing page and `/api/v1/routing` show.

use serde_json::json;

use super::Actor;
use super::secrets;
use crate::domain::AuditAction;
use crate::domain::permissions::{self, Action};
use crate::domain::routing::engine::Engine;
use crate::domain::routing::settings::{self, RotationInput, RotationSettings};
use crate::domain::rules::DEFAULT_ROTATION;
use crate::domain::validate::FieldErrors;
use crate::error::{Error, Result};
use crate::store::rotations as store;
use crate::store::{Conn, Db, audit, now_ms, routing, users};

/// A rotation with who it would pick from, and pick, right now.
#[derive(Debug, Clone)]
pub struct RotationView {
    pub id: String,
    pub settings: RotationSettings,
    pub effective_pool: Vec<String>,
    pub next: Option<String>,
}

pub async fn list(db: &Db, actor: &Actor) -> Result<Vec<RotationView>> {
    permissions::check(actor.user.role, Action::ViewRouting)?;
    let mut conn = db.conn().await?;
    views(&mut conn, actor.account_id()).await
}

pub async fn get(db: &Db, actor: &Actor, id: &str) -> Result<RotationView> {
    list(db, actor)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(Error::NotFound)
}

/// Every rotation of the account, the default first, then by when they were added.
async fn views(conn: &mut Conn, account_id: &str) -> Result<Vec<RotationView>> {
    let engine = super::routing::engine(conn, account_id, true).await?;
    let mut all = vec![(
        DEFAULT_ROTATION.to_owned(),
        store::default_settings(&routing::get(conn, account_id).await?),
    )];
    all.extend(
        store::list(conn, account_id)
            .await?
            .into_iter()
            .map(|r| (r.id, r.settings)),
    );
    Ok(all
        .into_iter()
        .map(|(id, settings)| view(&engine, id, settings))
        .collect())
}

fn view(engine: &Engine, id: String, settings: RotationSettings) -> RotationView {
    let rotation = engine.rotations.iter().find(|r| r.id == id);
    let (effective_pool, next) = rotation
        .and_then(|r| {
            let candidates = engine.candidates_for(r);
            let pool = engine.pool(r, &candidates)?;
            let next = crate::domain::routing::pick(r.strategy, &pool, &candidates)
                .map(|i| candidates[i].id.clone());
            Some((
                pool.members
                    .iter()
                    .map(|&i| candidates[i].id.clone())
                    .collect(),
                next,
            ))
        })
        .unwrap_or_default();
    RotationView {
        id,
        settings,
        effective_pool,
        next,
    }
}

/// The ids of the account's sales-capable members, and its rotations' names but `except`'s.
async fn context(
    conn: &mut Conn,
    account_id: &str,
    except: Option<&str>,
) -> Result<(Vec<String>, Vec<String>)> {
    let capable = users::list(conn, account_id)
        .await?
        .into_iter()
        .filter(|u| u.role.is_sales_capable())
        .map(|u| u.id)
        .collect();
    let taken = store::list(conn, account_id)
        .await?
        .into_iter()
        .filter(|r| Some(r.id.as_str()) != except)
        .map(|r| r.settings.name)
        .collect();
    Ok((capable, taken))
}

#[tracing::instrument(skip_all, fields(account_id = %actor.account_id()))]
pub async fn create(db: &Db, actor: &Actor, input: RotationInput) -> Result<RotationView> {
    permissions::check(actor.user.role, Action::SaveRouting)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    db.lock_routing(&mut tx, actor.account_id()).await?;
    let (capable, taken) = context(&mut tx, actor.account_id(), None).await?;
    let mut errors = FieldErrors::default();
    if input.name.is_none() {
        errors.add("name", "is required");
    }
    let settings = settings::apply(
        RotationSettings::new(""),
        input,
        &capable,
        &taken,
        false,
        &mut errors,
    );
    Error::check_fields(errors)?;
    let id = secrets::new_id();
    store::save(&mut tx, actor.account_id(), &id, &settings, now).await?;
    record(
        &mut tx,
        actor,
        AuditAction::RotationCreated,
        &id,
        None,
        Some(&settings),
        now,
    )
    .await?;
    let view = views(&mut tx, actor.account_id()).await?;
    tx.commit().await?;
    view.into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| anyhow::anyhow!("the rotation just added is missing").into())
}

#[tracing::instrument(skip_all, fields(account_id = %actor.account_id()))]
pub async fn update(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: RotationInput,
) -> Result<RotationView> {
    permissions::check(actor.user.role, Action::SaveRouting)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    db.lock_routing(&mut tx, actor.account_id()).await?;
    let is_default = id == DEFAULT_ROTATION;
    let before = if is_default {
        store::default_settings(&routing::get(&mut tx, actor.account_id()).await?)
    } else {
        store::get(&mut tx, actor.account_id(), id)
            .await?
            .ok_or(Error::NotFound)?
            .settings
    };
    let (capable, taken) = context(&mut tx, actor.account_id(), Some(id)).await?;
    let mut errors = FieldErrors::default();
    let after = settings::apply(
        before.clone(),
        input,
        &capable,
        &taken,
        is_default,
        &mut errors,
    );
    Error::check_fields(errors)?;
    if is_default {
        store::save_default(&mut tx, actor.account_id(), &after, &actor.user.id, now).await?;
    } else {
        store::save(&mut tx, actor.account_id(), id, &after, now).await?;
    }
    record(
        &mut tx,
        actor,
        AuditAction::RotationUpdated,
        id,
        Some(&before),
        Some(&after),
        now,
    )
    .await?;
    let view = views(&mut tx, actor.account_id()).await?;
    tx.commit().await?;
    view.into_iter().find(|r| r.id == id).ok_or(Error::NotFound)
}

#[tracing::instrument(skip_all, fields(account_id = %actor.account_id()))]
pub async fn delete(db: &Db, actor: &Actor, id: &str) -> Result<()> {
    permissions::check(actor.user.role, Action::SaveRouting)?;
    if id == DEFAULT_ROTATION {
        return Err(Error::conflict(
            "The default rotation cannot be deleted: it takes every lead no rule sends elsewhere.",
        ));
    }
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    db.lock_routing(&mut tx, actor.account_id()).await?;
    let before = store::get(&mut tx, actor.account_id(), id)
        .await?
        .ok_or(Error::NotFound)?;
    let settings = routing::get(&mut tx, actor.account_id()).await?;
    if let Some(rule) = settings.rules.iter().find(|r| r.rotation_id == id) {
        return Err(Error::conflict(format!(
            "The rule '{}' routes to this rotation: point it elsewhere or remove it first.",
            rule.name
        )));
    }
    store::delete(&mut tx, actor.account_id(), id).await?;
    record(
        &mut tx,
        actor,
        AuditAction::RotationDeleted,
        id,
        Some(&before.settings),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn record(
    tx: &mut Conn,
    actor: &Actor,
    action: AuditAction,
    id: &str,
    before: Option<&RotationSettings>,
    after: Option<&RotationSettings>,
    now: i64,
) -> Result<()> {
    let snapshot = |s: &RotationSettings| json!(s);
    audit::record(
        tx,
        audit::NewEntry {
            account_id: actor.account_id(),
            actor_id: Some(&actor.user.id),
            action,
            target: &format!("rotation:{id}"),
            before: before.map(snapshot),
            after: after.map(snapshot),
        },
        now,
    )
    .await?;
    Ok(())
}

/// A stored rotation as the engine sees it.
pub(crate) fn engine_rotation(
    id: &str,
    settings: &RotationSettings,
) -> crate::domain::routing::engine::Rotation {
    crate::domain::routing::engine::Rotation {
        id: id.to_owned(),
        name: settings.name.clone(),
        strategy: settings.strategy,
        members: settings.member_ids(),
    }
}
