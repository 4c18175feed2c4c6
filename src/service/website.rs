//! The public website form: its key and settings (Owner and Manager), and the intake of
//! website leads through the one lead-creation and routing path.

use crate::domain::AuditAction;
use serde_json::json;

use super::intake::Batch;
use super::{Actor, secrets};
use crate::domain::lead::{LeadChanges, LeadInput, LeadSource, NewLead};
use crate::domain::permissions::{self, Action};
use crate::domain::validate::{EmailAddress, FieldErrors};
use crate::error::{Error, Result};
use crate::store::website::{self, WebsiteForm};
use crate::store::{Conn, Db, audit, now_ms};

/// How long an `Idempotency-Key` keeps returning its first lead.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;
pub const MESSAGE_MAX: usize = 5_000;
const MAX_REDIRECTS: usize = 20;
pub const DESCRIPTION_MAX: usize = 1_000;
const REDIRECT_MAX_LEN: usize = 500;

pub fn new_form_key() -> String {
    secrets::new_token()[..32].to_owned()
}

pub async fn settings(db: &Db, actor: &Actor) -> Result<WebsiteForm> {
    permissions::check(actor.user.role, Action::ManageWebsite)?;
    let mut conn = db.conn().await?;
    Ok(website::by_account(&mut conn, actor.account_id()).await?)
}

/// A new key; the old one stops working at once.
pub async fn rotate_key(db: &Db, actor: &Actor) -> Result<WebsiteForm> {
    permissions::check(actor.user.role, Action::ManageWebsite)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let before = website::by_account(&mut tx, actor.account_id()).await?;
    let key = new_form_key();
    website::set_key(&mut tx, actor.account_id(), &key, now).await?;
    // Keys are public (they sit in every embedded form): the log keeps a recognisable prefix.
    let short = |k: &str| format!("{}…", &k[..8.min(k.len())]);
    finish(
        tx,
        actor,
        AuditAction::WebsiteKeyRotated,
        json!({"form_key": short(&before.form_key)}),
        json!({"form_key": short(&key)}),
        now,
    )
    .await
}

/// The chat assistant's switch and the business description its prompt uses.
pub async fn set_assistant(
    db: &Db,
    actor: &Actor,
    enabled: bool,
    description: &str,
) -> Result<WebsiteForm> {
    permissions::check(actor.user.role, Action::ManageWebsite)?;
    let description = description.trim();
    if description.chars().count() > DESCRIPTION_MAX {
        return Err(Error::field(
            "description",
            format!("must be at most {DESCRIPTION_MAX} characters"),
        ));
    }
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let before = website::by_account(&mut tx, actor.account_id()).await?;
    website::set_assistant(&mut tx, actor.account_id(), enabled, description, now).await?;
    finish(
        tx,
        actor,
        AuditAction::WebsiteUpdated,
        json!({"assistant_enabled": before.assistant_enabled, "description": before.description}),
        json!({"assistant_enabled": enabled, "description": description}),
        now,
    )
    .await
}

/// Whether the hosted form and the embed snippet ask for country and company size.
pub async fn set_form_fields(
    db: &Db,
    actor: &Actor,
    ask_country_size: bool,
) -> Result<WebsiteForm> {
    permissions::check(actor.user.role, Action::ManageWebsite)?;
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let before = website::by_account(&mut tx, actor.account_id()).await?;
    website::set_ask_country_size(&mut tx, actor.account_id(), ask_country_size, now).await?;
    finish(
        tx,
        actor,
        AuditAction::WebsiteUpdated,
        json!({"ask_country_and_size": before.ask_country_size}),
        json!({"ask_country_and_size": ask_country_size}),
        now,
    )
    .await
}

/// Which addresses a form post may be sent on to after it is accepted.
pub async fn set_redirects(db: &Db, actor: &Actor, redirects: Vec<String>) -> Result<WebsiteForm> {
    permissions::check(actor.user.role, Action::ManageWebsite)?;
    let mut clean: Vec<String> = Vec::new();
    for raw in redirects.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        let ok = (raw.starts_with("https://") || raw.starts_with("http://"))
            && raw.len() <= REDIRECT_MAX_LEN
            && raw
                .split_once("://")
                .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'))
            && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(Error::field(
                "allowed_redirects",
                format!("{raw:.80} is not an http(s) address"),
            ));
        }
        if !clean.iter().any(|c| c == raw) {
            clean.push(raw.to_owned());
        }
    }
    if clean.len() > MAX_REDIRECTS {
        return Err(Error::field(
            "allowed_redirects",
            format!("at most {MAX_REDIRECTS} addresses"),
        ));
    }
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let before = website::by_account(&mut tx, actor.account_id()).await?;
    website::set_redirects(&mut tx, actor.account_id(), &clean, now).await?;
    finish(
        tx,
        actor,
        AuditAction::WebsiteUpdated,
        json!({"allowed_redirects": before.allowed_redirects}),
        json!({"allowed_redirects": clean}),
        now,
    )
    .await
}

/// Ends a settings change: its audit entry, and the form as it is now, committed together.
async fn finish(
    mut tx: crate::store::Tx,
    actor: &Actor,
    action: AuditAction,
    before: serde_json::Value,
    after: serde_json::Value,
    now: i64,
) -> Result<WebsiteForm> {
    let entry = audit::NewEntry {
        account_id: actor.account_id(),
        actor_id: Some(&actor.user.id),
        action,
        target: &format!("account:{}", actor.account_id()),
        before: Some(before),
        after: Some(after),
    };
    audit::record(&mut tx, entry, now).await?;
    let form = website::by_account(&mut tx, actor.account_id()).await?;
    tx.commit().await?;
    Ok(form)
}

/// May a form post send the visitor on to `target`? Only to an allowed address: the same
/// scheme, host and port, and a path under the allowed one (at a `/` boundary), so
/// `https://shop.example` does not let through `https://shop.example.evil.io/` or
/// `https://shop.example@evil.io/`.
pub fn redirect_allowed(target: &str, allowed: &[String]) -> bool {
    fn split(url: &str) -> Option<(&str, &str, &str)> {
        let (scheme, rest) = url.split_once("://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let bad = authority.is_empty()
            || authority.contains(['@', '\\'])
            || authority
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        (!bad && matches!(scheme, "http" | "https")).then_some((scheme, authority, path))
    }
    let Some((scheme, authority, path)) = split(target) else {
        return false;
    };
    if path.chars().any(|c| c.is_control()) {
        return false;
    }
    allowed
        .iter()
        .filter_map(|a| split(a))
        .any(|(a_scheme, a_authority, a_path)| {
            let under = a_path.is_empty()
                || a_path.ends_with('/') && path.starts_with(a_path)
                || path == a_path
                || path
                    .strip_prefix(a_path)
                    .is_some_and(|rest| rest.starts_with(['/', '?', '#']));
            scheme == a_scheme && authority.eq_ignore_ascii_case(a_authority) && under
        })
}

/// The form behind a public key; an unknown (or rotated-away) key is `NotFound`.
pub async fn public_form(db: &Db, form_key: &str) -> Result<WebsiteForm> {
    let mut conn = db.conn().await?;
    website::by_key(&mut conn, form_key)
        .await?
        .ok_or(Error::NotFound)
}

/// What a visitor sent.
#[derive(Debug, Default, Clone)]
pub struct Submission {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub message: Option<String>,
    /// The hidden field people never see; bots fill it in.
    pub honeypot: Option<String>,
    /// A code or an English name.
    pub country: Option<String>,
    /// Employees, as typed.
    pub company_size: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new lead.
    Created(String),
    /// The same `Idempotency-Key` within 24 hours: the first lead, nothing created.
    Repeated(String),
    /// The honeypot was filled: answered like a success, stored nowhere.
    Ignored,
}

/// Where the request came from, for the rate limit.
pub struct Caller<'a> {
    pub address: &'a str,
    pub idempotency_key: Option<&'a str>,
    /// Requests per minute per address; 0 turns the limit off.
    pub rate_limit: u32,
}

/// Validates a website submission into a new lead's fields (422 with every field's reason).
pub fn validate(sub: &Submission) -> Result<NewLead> {
    let mut errors = FieldErrors::default();
    let input = LeadInput {
        name: sub.name.clone(),
        email: None,
        phone: sub.phone.clone(),
        company: sub.company.clone(),
        notes: sub.message.clone(),
        country: sub.country.clone(),
        company_size: sub.company_size.clone(),
    };
    let fields = LeadChanges::parse(&input, true, &mut errors);
    let email = errors.check(
        "email",
        EmailAddress::parse(sub.email.as_deref().unwrap_or_default()),
    );
    if sub
        .message
        .as_deref()
        .is_some_and(|m| m.trim().chars().count() > MESSAGE_MAX)
    {
        errors.0.remove("notes");
        errors.add(
            "message",
            format!("must be at most {MESSAGE_MAX} characters"),
        );
    } else if let Some(why) = errors.0.remove("notes") {
        errors.add("message", why);
    }
    Error::check_fields(errors)?;
    let mut lead = fields
        .into_new(LeadSource::Website)
        .ok_or_else(|| Error::field("name", "is required"))?;
    lead.email = email;
    Ok(lead)
}

/// A website submission that passed every check that needs no transaction. Its key is
/// looked up in the transaction that stores it, so a key rotated meanwhile is refused.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub form_key: String,
    pub lead: NewLead,
    pub address: String,
    pub idempotency_key: Option<String>,
    pub rate_limit: u32,
}

/// Validates a submission. `None` when the honeypot was filled in (answered like a
/// success, stored nowhere). A refused submission is checked against the key first, so an
/// unknown key is `NotFound` whatever was sent; a good one reads nothing here.
pub async fn prepare(
    db: &Db,
    form_key: &str,
    sub: &Submission,
    caller: Caller<'_>,
) -> Result<Option<Accepted>> {
    let honeypot = sub
        .honeypot
        .as_deref()
        .is_some_and(|h| !h.trim().is_empty());
    let lead = match validate(sub) {
        Ok(lead) if !honeypot => lead,
        checked => {
            public_form(db, form_key).await?;
            return if honeypot {
                Ok(None)
            } else {
                checked.map(|_| None)
            };
        }
    };
    Ok(Some(Accepted {
        form_key: form_key.to_owned(),
        lead,
        address: caller.address.to_owned(),
        idempotency_key: caller.idempotency_key.map(str::to_owned),
        rate_limit: caller.rate_limit,
    }))
}

/// Takes one accepted submission into `batch`: the rate limit, the `Idempotency-Key`, then
/// the lead itself, routed after every lead before it.
pub(crate) async fn accept(
    db: &Db,
    tx: &mut Conn,
    batch: &mut Batch,
    sub: &Accepted,
) -> Result<Outcome> {
    let account_id = batch.account_of(tx, &sub.form_key).await?;
    let (account_id, now) = (account_id.as_str(), batch.now());
    batch
        .hit_rate(db, tx, account_id, &sub.address, sub.rate_limit)
        .await?;
    let hash = sub
        .idempotency_key
        .as_ref()
        .map(|_| request_hash(&sub.lead));
    if let (Some(key), Some(hash)) = (&sub.idempotency_key, &hash) {
        // Under the account's routing lock, so the same key raced from many requests (on
        // any process) is seen by all but the first.
        db.lock_routing(tx, account_id).await?;
        if let Some((lead_id, first)) = batch
            .repeated(tx, account_id, key, now - IDEMPOTENCY_TTL_MS)
            .await?
        {
            // A different request under a used key is a client bug: returning the first
            // lead would silently drop this one.
            if first.is_some_and(|first| first != *hash) {
                return Err(Error::field(IDEMPOTENCY_KEY, KEY_REUSED));
            }
            return Ok(Outcome::Repeated(lead_id));
        }
    }
    let (id, _) = batch
        .add(db, tx, account_id, None, sub.lead.clone(), None)
        .await?;
    if let (Some(key), Some(hash)) = (&sub.idempotency_key, &hash) {
        batch.remember_key(account_id, key, &id, hash);
    }
    Ok(Outcome::Created(id))
}

/// The header's name, as the field a refusal names.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
pub const IDEMPOTENCY_KEY_MAX: usize = 255;
const KEY_REUSED: &str = "was already used with a different request";

/// What a retry must repeat to get the first lead back: the validated fields, so the same
/// submission sent as JSON or as a form (or with other spacing) is the same request.
fn request_hash(lead: &NewLead) -> String {
    let mut fields = vec![
        json!(lead.name),
        json!(lead.email),
        json!(lead.phone),
        json!(lead.company),
        json!(lead.notes),
    ];
    // Only when given: a submission without them hashes as it did before they existed.
    if lead.country.is_some() || lead.company_size.is_some() {
        fields.extend([json!(lead.country), json!(lead.company_size)]);
    }
    let fields = serde_json::Value::Array(fields);
    secrets::token_hash(&fields.to_string())
}

/// One accepted submission in a transaction of its own.
pub async fn submit_accepted(db: &Db, sub: &Accepted) -> Result<Outcome> {
    let mut tx = db.begin_write().await?;
    let mut batch = Batch::new(now_ms());
    let outcome = accept(db, &mut tx, &mut batch, sub).await?;
    batch.write(db, &mut tx).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// A website submission, one lead per transaction. The server sends the form's leads
/// through the group-commit [`writer`](super::intake::writer) instead; this path is the
/// benchmark's ceiling and the writer's fallback.
#[tracing::instrument(skip_all)]
pub async fn submit(
    db: &Db,
    form_key: &str,
    sub: Submission,
    caller: Caller<'_>,
) -> Result<Outcome> {
    match prepare(db, form_key, &sub, caller).await? {
        None => Ok(Outcome::Ignored),
        Some(accepted) => submit_accepted(db, &accepted).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_go_only_to_allowed_addresses() {
        let allowed = vec![
            "https://shop.example.com".to_owned(),
            "https://acme.io/thanks".to_owned(),
        ];
        for ok in [
            "https://shop.example.com/",
            "https://shop.example.com/done?x=1",
            "https://acme.io/thanks",
            "https://acme.io/thanks/you",
            "https://acme.io/thanks?x=1",
        ] {
            assert!(redirect_allowed(ok, &allowed), "{ok}");
        }
        for bad in [
            "https://shop.example.com.evil.io/",
            "https://shop.example.com@evil.io/",
            "http://shop.example.com/",
            "https://shop.example.com:8443/",
            "https://acme.io/thanksgiving",
            "https://acme.io/",
            "//shop.example.com/",
            "javascript:alert(1)",
            "https://shop.example.com\\@evil.io",
        ] {
            assert!(!redirect_allowed(bad, &allowed), "{bad}");
        }
    }

    #[test]
    fn submissions_are_validated_field_by_field() {
        let ok = Submission {
            name: Some("Jane".into()),
            email: Some("JANE@x.io".into()),
            message: Some("Call me".into()),
            ..Default::default()
        };
        let lead = validate(&ok).unwrap();
        assert_eq!(
            lead.email.as_ref().map(EmailAddress::as_str),
            Some("jane@x.io")
        );
        assert_eq!(lead.notes.as_deref(), Some("Call me"));
        assert_eq!(lead.source, LeadSource::Website);
        let bad = Submission {
            message: Some("m".repeat(MESSAGE_MAX + 1)),
            ..Default::default()
        };
        match validate(&bad) {
            Err(Error::Validation(f)) => {
                assert!(
                    f.get("name").is_some()
                        && f.get("email").is_some()
                        && f.get("message").is_some()
                );
                assert!(f.get("notes").is_none());
            }
            other => panic!("{other:?}"),
        }
    }
}
