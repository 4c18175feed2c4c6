//! Sign-up, sign-in, sign-out and resolving a credential to a member.

use crate::domain::AuditAction;
use serde_json::json;

use super::secrets;
use crate::domain::Role;
use crate::domain::validate::{self, EmailAddress, FieldErrors};
use crate::error::{Error, Result};
use crate::store::accounts::{self, Account};
use crate::store::sessions::{self, Kind, NewSession, Session};
use crate::store::users::{self, NewUser, User};
use crate::store::{Db, audit, now_ms};

/// How long a sign-in lasts, for browsers and API tokens alike.
pub const SESSION_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

#[derive(Debug, Default, Clone)]
pub struct SignupInput {
    pub account_name: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
}

/// A fresh sign-in: the member, their account, and the secrets to hand to the client.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: Account,
    pub user: User,
    pub token: String,
    /// Only for browser sessions: the token every form must echo back.
    pub csrf_token: Option<String>,
}

/// Creates an account and its Owner. The handlers count the request against the sign-up
/// limit first ([`throttle_new_accounts`]).
#[tracing::instrument(skip_all)]
pub async fn signup(db: &Db, input: SignupInput, kind: Kind) -> Result<SignedIn> {
    let mut errors = FieldErrors::default();
    let account_name = errors.check(
        "account_name",
        validate::required_text(input.account_name.as_deref(), validate::NAME_MAX),
    );
    let name = errors.check(
        "name",
        validate::required_text(input.name.as_deref(), validate::NAME_MAX),
    );
    let email = errors.check(
        "email",
        EmailAddress::parse(input.email.as_deref().unwrap_or_default()),
    );
    // The member's own words make weak passwords: their email, name and account name.
    let user_inputs = [&input.email, &input.name, &input.account_name].map(|v| v.as_deref());
    let user_inputs: Vec<&str> = user_inputs.into_iter().flatten().collect();
    let password = errors.check(
        "password",
        validate::new_password(input.password.as_deref(), &user_inputs),
    );
    let (Some(account_name), Some(name), Some(email), Some(password)) =
        (account_name, name, email, password)
    else {
        return Err(Error::Validation(errors));
    };
    let taken = {
        let mut conn = db.conn().await?;
        users::email_taken(&mut conn, email.as_str()).await?
    };
    // A taken email still pays for one hash in the same lane, so its 409 is no faster
    // than a fresh email's sign-up (the sign-up limit bounds how often anyone may ask).
    let password_hash = secrets::hash_password(password).await?;
    if taken {
        return Err(email_taken());
    }

    let account_id = secrets::new_id();
    let user_id = secrets::new_id();
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    if users::email_taken(&mut tx, email.as_str()).await? {
        return Err(email_taken());
    }
    accounts::insert(&mut tx, &account_id, &account_name, now).await?;
    let new_user = NewUser {
        id: &user_id,
        account_id: &account_id,
        name: &name,
        email: email.as_str(),
        password_hash: &password_hash,
        role: Role::Owner,
    };
    users::insert(&mut tx, &new_user, now)
        .await
        .map_err(unique_email)?;
    crate::store::routing::create_default(&mut tx, &account_id).await?;
    crate::store::website::create(&mut tx, &account_id, &super::website::new_form_key()).await?;
    audit::record(
        &mut tx,
        audit::NewEntry {
            account_id: &account_id,
            actor_id: Some(&user_id),
            action: AuditAction::AccountCreated,
            target: &format!("account:{account_id}"),
            before: None,
            after: Some(
                json!({"name": account_name, "owner": {"id": user_id, "email": email.as_str()}}),
            ),
        },
        now,
    )
    .await?;
    let (token, csrf_token) = start_session(&mut tx, &account_id, &user_id, kind, now).await?;
    tx.commit().await?;
    let user = User {
        id: user_id,
        account_id: account_id.clone(),
        name,
        email: email.into_string(),
        role: Role::Owner,
        active: true,
        position: 1,
    };
    Ok(SignedIn {
        account: Account {
            id: account_id,
            name: account_name,
        },
        user,
        token,
        csrf_token,
    })
}

/// Signs in with email and password. Unknown email, wrong password and an inactive member
/// all give the same answer, after the same work.
#[tracing::instrument(skip_all)]
pub async fn login(
    db: &Db,
    email: &str,
    password: &str,
    kind: Kind,
    throttle: Throttle<'_>,
) -> Result<SignedIn> {
    let bad = || Error::Unauthorized("Email or password is incorrect.".into());
    // The one normal form of an address; anything that is not one still gets the
    // equal-time "incorrect" answer below.
    let email = EmailAddress::parse(email)
        .map_or_else(|_| email.trim().to_lowercase(), EmailAddress::into_string);
    let reserved = reserve_login_attempt(db, &email, &throttle).await?;
    let found = {
        let mut conn = db.conn().await?;
        users::find_for_login(&mut conn, &email).await?
    };
    let stored_hash = found.as_ref().map(|(_, hash)| hash.clone());
    if !secrets::verify_password(password.to_owned(), stored_hash).await? {
        return Err(bad());
    }
    let Some((user, _)) = found.filter(|(u, _)| u.active) else {
        return Err(bad());
    };
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    if let Some(reserved) = &reserved {
        reserved.give_back(&mut tx).await?;
    }
    let account = accounts::get(&mut tx, &user.account_id)
        .await?
        .ok_or_else(bad)?;
    let (token, csrf_token) = start_session(&mut tx, &account.id, &user.id, kind, now).await?;
    tx.commit().await?;
    Ok(SignedIn {
        account,
        user,
        token,
        csrf_token,
    })
}

/// Who is asking, for a per-address limit.
pub struct Throttle<'a> {
    /// The client's address: the socket peer, never a forwarded-for header.
    pub address: &'a str,
    /// The limit per minute (see `Config`); 0 turns it off.
    pub per_minute: u32,
}

pub const LOGIN_WINDOW_MS: i64 = 60_000;

/// A sign-in attempt counted against its buckets until it proves to be a success.
struct ReservedAttempt {
    buckets: [String; 2],
    window: i64,
}

impl ReservedAttempt {
    /// A success is not a failure: it gives back what it counted.
    async fn give_back(&self, tx: &mut crate::store::Conn) -> Result<()> {
        for bucket in &self.buckets {
            sessions::uncount_login_attempt(tx, bucket, self.window).await?;
        }
        Ok(())
    }
}

/// The sign-in limit counts failures by (address, email) and by address, never by email
/// alone: anyone may fail against anyone's email, so a per-email count would let them lock
/// its owner out. Guessing is still slowed: one address gets `per_minute` failures a
/// minute whatever emails it tries. Each attempt is counted before the password is
/// checked (so parallel guesses cannot overshoot the limit) and given back when it
/// succeeds; it is refused once either bucket is full.
async fn reserve_login_attempt(
    db: &Db,
    email: &str,
    throttle: &Throttle<'_>,
) -> Result<Option<ReservedAttempt>> {
    if throttle.per_minute == 0 {
        return Ok(None);
    }
    let address = throttle.address;
    let buckets = [
        format!("login-addr:{address}"),
        format!("login-pair:{address}|{email}"),
    ];
    let window = count_in_window(db, &buckets, throttle.per_minute).await?;
    Ok(Some(ReservedAttempt { buckets, window }))
}

/// The sign-up limit: sign-ups and invitations, together, per client address (every
/// request counts, valid or not). Both answer whether an email has an account, and
/// sign-ups hash a password.
pub async fn throttle_new_accounts(db: &Db, throttle: &Throttle<'_>) -> Result<()> {
    if throttle.per_minute == 0 {
        return Ok(());
    }
    let bucket = format!("signup-addr:{}", throttle.address);
    count_in_window(db, &[bucket], throttle.per_minute).await?;
    Ok(())
}

/// Counts one hit in each bucket's current fixed window and refuses it (429) when any
/// bucket is over `per_minute`; returns the window's start. A window already full is
/// seen by a read and refuses without writing: a flood's overflow costs no write
/// transaction (and counts nowhere, as the window stays full until it ends).
async fn count_in_window(db: &Db, buckets: &[String], per_minute: u32) -> Result<i64> {
    let now = now_ms();
    let window = now - now.rem_euclid(LOGIN_WINDOW_MS);
    let limit = i64::from(per_minute);
    let refuse = || {
        let retry_after_secs =
            u64::try_from((window + LOGIN_WINDOW_MS - now + 999) / 1000).unwrap_or(60);
        Error::RateLimited { retry_after_secs }
    };
    {
        let mut conn = db.conn().await?;
        for bucket in buckets {
            if sessions::login_attempt_hits(&mut conn, bucket, window).await? >= limit {
                return Err(refuse());
            }
        }
    }
    let mut tx = db.begin_write().await?;
    let mut most = 0;
    for bucket in buckets {
        most = most.max(sessions::count_login_attempt(&mut tx, bucket, window).await?);
    }
    tx.commit().await?;
    if most > limit {
        return Err(refuse());
    }
    Ok(window)
}

/// Ends one session: its token stops working at once.
pub async fn logout(db: &Db, session: &Session) -> Result<()> {
    let mut tx = db.begin_write().await?;
    sessions::delete(&mut tx, &session.account.id, &session.token_hash).await?;
    tx.commit().await?;
    Ok(())
}

/// The live session a bearer token or cookie value stands for.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<Session>> {
    let mut conn = db.conn().await?;
    Ok(sessions::lookup(&mut conn, &secrets::token_hash(token), now_ms()).await?)
}

/// Opens a session inside the caller's transaction; returns (token, csrf token).
pub(crate) async fn start_session(
    tx: &mut crate::store::Conn,
    account_id: &str,
    user_id: &str,
    kind: Kind,
    now: i64,
) -> Result<(String, Option<String>)> {
    let token = secrets::new_token();
    let csrf_token = (kind == Kind::Web).then(secrets::new_token);
    sessions::insert(
        tx,
        &NewSession {
            token_hash: &secrets::token_hash(&token),
            account_id,
            user_id,
            kind,
            csrf_token: csrf_token.as_deref(),
            expires_at: now + SESSION_TTL_MS,
        },
        now,
    )
    .await?;
    Ok((token, csrf_token))
}

pub(crate) fn email_taken() -> Error {
    Error::conflict("That email address is already in use.")
}

/// A race on the unique email index is the same answer as the check before it.
pub(crate) fn unique_email(err: sqlx::Error) -> Error {
    if crate::store::is_unique_violation(&err) {
        email_taken()
    } else {
        err.into()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::temp_sqlite;

    fn input(email: &str) -> SignupInput {
        SignupInput {
            account_name: Some("Acme".into()),
            name: Some("Olivia".into()),
            email: Some(email.into()),
            password: Some("correct horse battery".into()),
        }
    }

    /// A taken email is not answered before a password hash (which would make it faster
    /// than a fresh one): with the new-password lane full it waits its turn like any other.
    #[tokio::test]
    async fn a_taken_email_still_goes_through_the_hashing_lane() {
        let (_dir, db) = temp_sqlite().await;
        db.migrate().await.unwrap();
        signup(&db, input("jo@acme.io"), Kind::Api).await.unwrap();
        let lanes = Arc::new(secrets::Lanes::new());
        let full = lanes.fill_new_password_queue();
        let taken = secrets::with_lanes(lanes.clone(), signup(&db, input("JO@acme.io"), Kind::Api));
        assert!(matches!(taken.await, Err(Error::Busy { .. })));
        drop(full);
        let taken = secrets::with_lanes(lanes.clone(), signup(&db, input("JO@acme.io"), Kind::Api));
        assert!(matches!(taken.await, Err(Error::Conflict(_))));
    }
}
