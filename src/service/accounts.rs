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
    let password = errors.check("password", validate::password(input.password.as_deref()));
    let (Some(account_name), Some(name), Some(email), Some(password)) =
        (account_name, name, email, password)
    else {
        return Err(Error::Validation(errors));
    };
    let password_hash = secrets::hash_password(password).await?;

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
/// all give the same answer.
#[tracing::instrument(skip_all)]
pub async fn login(
    db: &Db,
    email: &str,
    password: &str,
    kind: Kind,
    throttle: Throttle<'_>,
) -> Result<SignedIn> {
    let bad = || Error::Unauthorized("Email or password is incorrect.".into());
    let email = email.trim().to_lowercase();
    throttle_login(db, &email, &throttle).await?;
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

/// Who is trying to sign in, for the attempt limit.
pub struct Throttle<'a> {
    pub address: &'a str,
    /// Attempts per minute per address and per email; 0 turns the limit off.
    pub per_minute: u32,
}

pub const LOGIN_WINDOW_MS: i64 = 60_000;

/// Counts the attempt (before the password is checked, so guessing is slowed too) and
/// refuses it once the address or the email has used up this minute's attempts.
async fn throttle_login(db: &Db, email: &str, throttle: &Throttle<'_>) -> Result<()> {
    if throttle.per_minute == 0 {
        return Ok(());
    }
    let now = now_ms();
    let window = now - now.rem_euclid(LOGIN_WINDOW_MS);
    let mut tx = db.begin_write().await?;
    let by_address =
        sessions::count_login_attempt(&mut tx, &format!("addr:{}", throttle.address), window)
            .await?;
    let by_email =
        sessions::count_login_attempt(&mut tx, &format!("email:{email}"), window).await?;
    tx.commit().await?;
    if by_address.max(by_email) > i64::from(throttle.per_minute) {
        let retry_after_secs =
            u64::try_from((window + LOGIN_WINDOW_MS - now + 999) / 1000).unwrap_or(60);
        return Err(Error::RateLimited { retry_after_secs });
    }
    Ok(())
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
