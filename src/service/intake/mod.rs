//! The one path by which new leads enter the database, whatever the channel. A [`Batch`]
//! takes leads in arrival order, routes each one (seeing the decisions before it), and
//! writes them all with a few multi-row statements in the caller's transaction. The API,
//! the pages and the assistant write batches of one; the website form's [`writer`] commits
//! everything waiting at once (group commit).

pub mod writer;

use crate::domain::lead::{Company, NewLead};
use crate::domain::rules::{DEFAULT_ROTATION, Facts};
use crate::domain::validate::EmailAddress;
use crate::domain::{HistoryKind, NotificationKind};
use std::collections::{BTreeMap, HashMap};

use super::rate_limit::Windows;
use super::routing::Router;
use super::secrets;
use crate::domain::lead::LeadSource;
use crate::domain::routing::Receipt;
use crate::error::{Error, Result};
use crate::store::intake::{self, EventRow, LeadRow, MemberDelta, NotificationRow, Rows};
use crate::store::leads::{self, Lead, Routing};
use crate::store::users::User;
use crate::store::{Conn, Db, rotations, website};

/// New leads of one transaction, not yet written.
pub(crate) struct Batch {
    now: i64,
    routers: HashMap<String, Router>,
    leads: Vec<LeadRow>,
    events: Vec<EventRow>,
    notifications: Vec<NotificationRow>,
    /// (account, member) -> what this batch adds to them.
    members: BTreeMap<(String, String), MemberDelta>,
    /// (account, named rotation, member) -> the seq of the last lead it routed to them.
    turns: BTreeMap<(String, String, String), i64>,
    /// (account, Idempotency-Key) -> (lead, request hash), for keys first used in this batch.
    keys: BTreeMap<(String, String), (String, String)>,
    /// Website form key -> its account, `None` for a key that does not exist.
    forms: HashMap<String, Option<String>>,
    /// The public endpoints' rate-limit windows this batch counted hits in.
    windows: Windows,
}

impl Batch {
    pub(crate) fn new(now: i64) -> Self {
        Self {
            now,
            routers: HashMap::new(),
            leads: Vec::new(),
            events: Vec::new(),
            notifications: Vec::new(),
            members: BTreeMap::new(),
            turns: BTreeMap::new(),
            keys: BTreeMap::new(),
            forms: HashMap::new(),
            windows: Windows::default(),
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.now
    }

    /// The account of a website form key, looked up once per batch; `NotFound` for a key
    /// that does not exist (or was rotated away).
    pub(crate) async fn account_of(&mut self, tx: &mut Conn, form_key: &str) -> Result<String> {
        if !self.forms.contains_key(form_key) {
            let account = website::account_of_key(tx, form_key).await?;
            self.forms.insert(form_key.to_owned(), account);
        }
        self.forms
            .get(form_key)
            .cloned()
            .flatten()
            .ok_or(Error::NotFound)
    }

    /// Counts a public request from `address` against `account_id`'s rate limits (see
    /// [`Windows::hit`]); its hits are written with the batch.
    pub(crate) async fn hit_rate(
        &mut self,
        db: &Db,
        tx: &mut Conn,
        account_id: &str,
        address: &str,
        per_minute: u32,
    ) -> Result<()> {
        self.windows
            .hit(db, tx, account_id, address, per_minute, self.now)
            .await
    }

    /// Reads the rate-limit windows of requests from `addresses` to `account_id` that this
    /// batch has not read yet, by one query (see [`Windows::read`]).
    pub(crate) async fn read_windows(
        &mut self,
        db: &Db,
        tx: &mut Conn,
        account_id: &str,
        addresses: &[&str],
    ) -> Result<()> {
        self.windows
            .read(db, tx, account_id, addresses, self.now)
            .await
    }

    async fn router(&mut self, db: &Db, tx: &mut Conn, account_id: &str) -> Result<&mut Router> {
        if !self.routers.contains_key(account_id) {
            let router = Router::load(db, tx, account_id).await?;
            self.routers.insert(account_id.to_owned(), router);
        }
        Ok(self
            .routers
            .get_mut(account_id)
            .expect("the router was just loaded"))
    }

    /// Adds a new lead: with no explicit owner it is routed (when routing is on); an explicit
    /// owner always wins. Plans the lead, its `created` (and `routed`) history, the owner's
    /// open-lead count and, for a routed public lead or a lead someone else gave them, the
    /// owner's notification and unread count. Returns the new lead's id and the routing
    /// receipt.
    pub(crate) async fn add(
        &mut self,
        db: &Db,
        tx: &mut Conn,
        account_id: &str,
        creator: Option<&User>,
        new: NewLead,
        owner: Option<User>,
    ) -> Result<(String, Option<Receipt>)> {
        let router = self.router(db, tx, account_id).await?;
        let receipt = match &owner {
            Some(o) => {
                router.owner_given(&o.id);
                None
            }
            None => router.route(&Facts::new(
                new.source,
                new.name.as_str(),
                new.email.as_ref().map(EmailAddress::as_str),
                new.company.as_ref().map(Company::as_str),
                new.country.as_deref(),
                new.company_size,
            )),
        };
        let id = secrets::new_id();
        let owner_id = owner
            .as_ref()
            .map(|u| u.id.clone())
            .or(receipt.as_ref().map(|r| r.owner.id.clone()));
        if let Some(owner_id) = &owner_id {
            let entry = self
                .members
                .entry((account_id.to_owned(), owner_id.clone()))
                .or_default();
            entry.open += 1;
            // A named rotation keeps its own turns; the default's are the member's.
            match receipt.as_ref().map(|r| (r, r.rotation.as_ref())) {
                Some((r, Some(rotation))) if rotation.id != DEFAULT_ROTATION => {
                    self.turns.insert(
                        (account_id.to_owned(), rotation.id.clone(), owner_id.clone()),
                        r.seq,
                    );
                }
                Some((r, _)) => entry.last_routed_seq = Some(r.seq),
                None => {}
            }
        }
        let source = new.source.label();
        let detail = match (creator, &owner) {
            (Some(c), Some(o)) => {
                format!("Created by {} from {source}, owned by {}", c.name, o.name)
            }
            (Some(c), None) => format!("Created by {} from {source}", c.name),
            (None, _) => format!("Came in from {source}"),
        };
        let event = |kind, to_owner: Option<&str>, detail: String| EventRow {
            account_id: account_id.to_owned(),
            lead_id: id.clone(),
            actor_id: creator.map(|u| u.id.clone()),
            kind,
            to_owner: to_owner.map(str::to_owned),
            detail,
            at: self.now,
        };
        self.events.push(event(
            HistoryKind::Created,
            owner.as_ref().map(|u| u.id.as_str()),
            detail,
        ));
        if let Some(r) = &receipt {
            self.events.push(event(
                HistoryKind::Routed,
                Some(r.owner.id.as_str()),
                r.reason.clone(),
            ));
        }
        // Tell the new owner: a routed website or assistant lead, or a lead someone else
        // created for them.
        let public = matches!(new.source, LeadSource::Website | LeadSource::Assistant);
        let note = match (&owner, &receipt, creator) {
            (Some(o), _, Some(c)) if o.id != c.id => Some((
                o.id.clone(),
                NotificationKind::LeadAssigned,
                format!("{} gave you a new lead: {}", c.name, new.name),
            )),
            (None, Some(r), _) if public => {
                let what = match new.source {
                    LeadSource::Website => "website",
                    _ => "AI assistant",
                };
                Some((
                    r.owner.id.clone(),
                    NotificationKind::LeadRouted,
                    format!("New {what} lead routed to you: {}", new.name),
                ))
            }
            _ => None,
        };
        if let Some((user_id, kind, text)) = note {
            self.members
                .entry((account_id.to_owned(), user_id.clone()))
                .or_default()
                .unread += 1;
            self.notifications.push(NotificationRow {
                id: secrets::new_id(),
                account_id: account_id.to_owned(),
                user_id,
                kind,
                lead_id: id.clone(),
                text,
                created_at: self.now,
            });
        }
        self.leads.push(LeadRow {
            id: id.clone(),
            account_id: account_id.to_owned(),
            lead: new,
            owner_id,
            created_by: creator.map(|u| u.id.clone()),
            routing: receipt.as_ref().map(|r| Routing {
                strategy: r.strategy.as_str().to_owned(),
                seq: r.seq,
                reason: r.reason.clone(),
                rotation: r.rotation.as_ref().map(|n| (n.id.clone(), n.name.clone())),
                rule: r.rule.as_ref().map(|n| (n.id.clone(), n.name.clone())),
            }),
            receipt: receipt
                .as_ref()
                .map(|r| serde_json::to_string(r).unwrap_or_default()),
            created_at: self.now,
        });
        Ok((id, receipt))
    }

    /// The lead an `Idempotency-Key` already produced within 24 hours, in this batch or
    /// before it, with the hash of its request (if stored). Call while holding the
    /// account's routing lock.
    pub(crate) async fn repeated(
        &self,
        tx: &mut Conn,
        account_id: &str,
        key: &str,
        since: i64,
    ) -> Result<Option<(String, Option<String>)>> {
        if let Some((id, hash)) = self.keys.get(&(account_id.to_owned(), key.to_owned())) {
            return Ok(Some((id.clone(), Some(hash.clone()))));
        }
        Ok(website::idempotent_lead(tx, account_id, key, since).await?)
    }

    pub(crate) fn remember_key(&mut self, account_id: &str, key: &str, lead_id: &str, hash: &str) {
        self.keys.insert(
            (account_id.to_owned(), key.to_owned()),
            (lead_id.to_owned(), hash.to_owned()),
        );
    }

    /// Leads planned and not yet written.
    pub(crate) fn unwritten(&self) -> usize {
        self.leads.len()
    }

    /// Writes the leads planned so far with their history and notifications, in the
    /// caller's transaction, so a batch still taking leads can write as it goes. The
    /// counters, routing state and keys wait for [`Batch::write`].
    pub(crate) async fn write_leads(&mut self, db: &Db, tx: &mut Conn) -> Result<()> {
        intake::write(tx, db.backend, &self.planned()).await?;
        self.leads.clear();
        self.events.clear();
        self.notifications.clear();
        Ok(())
    }

    fn planned(&self) -> Rows<'_> {
        Rows {
            leads: &self.leads,
            events: &self.events,
            notifications: &self.notifications,
            ..Rows::default()
        }
    }

    /// Writes everything planned, in the caller's transaction: the rest of the leads, the
    /// members' counters, the routing seqs and the rate-limit hits go by one call.
    pub(crate) async fn write(self, db: &Db, tx: &mut Conn) -> Result<()> {
        // In (account, member) order, so two transactions never wait on each other's rows.
        let members: Vec<_> = self.members.iter().collect();
        let next_seqs: Vec<(&str, i64)> = self
            .routers
            .iter()
            .filter_map(|(account_id, router)| Some((account_id.as_str(), router.moved_seq()?)))
            .collect();
        let hits = self.windows.added();
        let rows = Rows {
            members: &members,
            next_seqs: &next_seqs,
            hits: &hits,
            ..self.planned()
        };
        intake::write(tx, db.backend, &rows).await?;
        let turns: Vec<_> = self.turns.iter().collect();
        rotations::write_turns(tx, &turns).await?;
        for ((account_id, key), (lead_id, hash)) in &self.keys {
            website::remember_key(tx, account_id, key, lead_id, hash, self.now).await?;
        }
        Ok(())
    }
}

/// Inserts one new lead in the caller's transaction (a batch of one) and reads it back.
pub(crate) async fn insert_new(
    db: &Db,
    tx: &mut Conn,
    account_id: &str,
    creator: Option<&User>,
    new: NewLead,
    owner: Option<User>,
    now: i64,
) -> Result<(Lead, Option<Receipt>)> {
    let mut batch = Batch::new(now);
    let (id, receipt) = batch.add(db, tx, account_id, creator, new, owner).await?;
    batch.write(db, tx).await?;
    let lead = leads::get(tx, account_id, &id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((lead, receipt))
}
