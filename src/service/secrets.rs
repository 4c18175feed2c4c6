//! Ids, tokens and password hashes.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// A new opaque id: time-ordered, so fresh rows land at the end of their indexes.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A new secret token (256 random bits, hex) for sessions, invitations and CSRF.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex(&bytes)
}

/// What the database keeps of a token: its SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Argon2id as OWASP's password-storage guidance lists it, in its 7 MiB form (m=7168,
/// t=5, p=1): as strong as the crate's default (19 MiB, t=2) and about as slow, with a
/// third of the memory, which a server keeps per core (below). Hashes stored with other
/// parameters verify with their own.
fn new_hash_params() -> Params {
    Params::new(7168, 5, 1, None).expect("valid Argon2 parameters")
}

/// Argon2 needs its working memory (7 MiB) per hash. Hashes run on blocking threads, at
/// most one per core at a time, each borrowing a buffer from a small pool: memory stays
/// flat however many people sign in at once (a fresh buffer per hash is never given back
/// to the system by the allocator, and grows the process without bound).
static BUFFERS: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// New-password hashes that may wait for the new-password lane; more are refused at once.
pub const NEW_PASSWORD_QUEUE: usize = 32;
/// What a refused new-password hash tells the client to wait.
const BUSY_RETRY_SECS: u64 = 2;

/// Which work a hash is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// Checking a password at sign-in.
    SignIn,
    /// Hashing a password being set: sign-up, accepting an invitation, a reset.
    NewPassword,
}

/// The hashing lanes. Every hash holds one of `cores` permits (one per core: more would
/// only share the cores, at 7 MiB each). A new password must also hold the new-password
/// lane's single permit, so those hashes use at most one core at a time, however many
/// arrive; sign-in takes a core permit and nothing else, so it may use every core. On 2
/// cores a flood of sign-ups keeps one core busy and sign-in always has the other (and
/// the core permits are handed out in arrival order, so sign-in waits for at most the one
/// new-password hash already running); on 1 core sign-in waits for at most one hash.
/// The new-password lane admits its permit holder and [`NEW_PASSWORD_QUEUE`] waiters;
/// beyond that a request is refused at once instead of queueing without bound.
#[derive(Debug)]
pub struct Lanes {
    cores: Semaphore,
    new_password: Semaphore,
    new_password_admitted: Semaphore,
}

impl Lanes {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            cores: Semaphore::new(cores),
            new_password: Semaphore::new(1),
            new_password_admitted: Semaphore::new(1 + NEW_PASSWORD_QUEUE),
        }
    }
}

#[cfg(test)]
impl Lanes {
    /// Takes the new-password lane and every place in its queue, as a flood would.
    pub(crate) fn fill_new_password_queue(
        &self,
    ) -> (
        tokio::sync::SemaphorePermit<'_>,
        tokio::sync::SemaphorePermit<'_>,
    ) {
        let queue = u32::try_from(1 + NEW_PASSWORD_QUEUE).unwrap();
        (
            self.new_password.try_acquire().unwrap(),
            self.new_password_admitted.try_acquire_many(queue).unwrap(),
        )
    }
}

impl Default for Lanes {
    fn default() -> Self {
        Self::new()
    }
}

tokio::task_local! {
    static LANES: Arc<Lanes>;
}

/// Runs `work` (one request) with its own hashing lanes: each app has its lanes, so
/// apps in one process (the test suite) cannot fill each other's queue.
pub async fn with_lanes<F: Future>(lanes: Arc<Lanes>, work: F) -> F::Output {
    LANES.scope(lanes, work).await
}

/// The lanes of the request being served, or the process's own outside a request.
fn lanes() -> Arc<Lanes> {
    static PROCESS: OnceLock<Arc<Lanes>> = OnceLock::new();
    LANES
        .try_with(Arc::clone)
        .unwrap_or_else(|_| Arc::clone(PROCESS.get_or_init(|| Arc::new(Lanes::new()))))
}

/// Runs one Argon2id computation in its lane with a pooled buffer, off the async threads.
async fn argon2id(
    lane: Lane,
    password: String,
    salt: Vec<u8>,
    params: Params,
    out_len: usize,
) -> Result<Vec<u8>> {
    let lanes = lanes();
    let (_admitted, _lane) = match lane {
        Lane::SignIn => (None, None),
        Lane::NewPassword => {
            let admitted = lanes
                .new_password_admitted
                .try_acquire()
                .map_err(|_| Error::Busy {
                    retry_after_secs: BUSY_RETRY_SECS,
                })?;
            let permit = lanes.new_password.acquire().await.map_err(internal)?;
            (Some(admitted), Some(permit))
        }
    };
    let _core = lanes.cores.acquire().await.map_err(internal)?;
    let out = tokio::task::spawn_blocking(move || {
        let blocks = params.block_count();
        let mut memory = BUFFERS
            .lock()
            .map_err(|_| anyhow::anyhow!("hash buffer pool poisoned"))?
            .pop()
            .filter(|b| b.len() == blocks)
            .unwrap_or_else(|| vec![Block::default(); blocks]);
        let mut out = vec![0u8; out_len];
        let result = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut memory)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"));
        if let Ok(mut pool) = BUFFERS.lock() {
            pool.push(memory);
        }
        result.map(|()| out)
    })
    .await
    .map_err(internal)??;
    Ok(out)
}

fn internal(err: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Internal(anyhow::Error::new(err))
}

/// Argon2id with [`new_hash_params`], as a PHC string, in the new-password lane:
/// `Error::Busy` when its queue is full.
pub async fn hash_password(password: String) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    let params = new_hash_params();
    let out = argon2id(
        Lane::NewPassword,
        password,
        salt.to_vec(),
        params.clone(),
        Params::DEFAULT_OUTPUT_LEN,
    )
    .await?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let out = Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${salt}${out}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost()
    ))
}

/// Verifies a password against a stored hash. With no hash (unknown email) it still does
/// the work, so timing does not reveal which emails exist. Runs in the sign-in lane.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool> {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
    let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored params: {e}"))?;
    let expected = parsed
        .hash
        .ok_or_else(|| anyhow::anyhow!("stored hash has no output"))?;
    let mut salt = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or_else(|| anyhow::anyhow!("stored hash has no salt"))?
        .decode_b64(&mut salt)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?
        .to_vec();
    let out = argon2id(Lane::SignIn, password, salt, params, expected.len()).await?;
    let out = Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?;
    // Output's equality is constant-time.
    Ok(known && out == expected)
}

/// The hash of a random password nobody knows (the parameters new hashes get, so it costs
/// the same as a member's).
const DUMMY_HASH: &str = "$argon2id$v=19$m=7168,t=5,p=1$c29tZXNhbHRzb21lc2FsdA$J2Fq6x7K2Uu8Jm0mnU9XnJ3b8Z8ZyBvNqf2PmW3M1rE";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_from_the_crate_still_verify() {
        // Hashes written before the pooled implementation, by the crate's own hasher.
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let old = Argon2::default()
            .hash_password(b"old secret", &salt)
            .unwrap()
            .to_string();
        assert!(
            verify_password("old secret".into(), Some(old.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("new secret".into(), Some(old))
                .await
                .unwrap()
        );
        let ours = hash_password("x y z 123".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        use argon2::password_hash::PasswordVerifier;
        assert!(
            Argon2::default()
                .verify_password(b"x y z 123", &parsed)
                .is_ok(),
            "readable by the crate too"
        );
    }

    #[test]
    fn an_unknown_email_costs_what_a_member_costs() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let dummy = Params::try_from(&dummy).unwrap();
        let new = new_hash_params();
        assert_eq!(
            (dummy.m_cost(), dummy.t_cost(), dummy.p_cost()),
            (new.m_cost(), new.t_cost(), new.p_cost())
        );
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{hash}");
        assert!(
            verify_password("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!verify_password("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_new_password_queue_refuses_at_once_and_sign_in_goes_on() {
        let lanes = Arc::new(Lanes::new());
        let stored = hash_password("correct horse".into()).await.unwrap();
        with_lanes(Arc::clone(&lanes), async {
            let (lane, queue) = lanes.fill_new_password_queue();
            // Refused without waiting (the lane is held: waiting would never end).
            assert!(matches!(
                hash_password("another one".into()).await,
                Err(Error::Busy { .. })
            ));
            // Sign-in needs no place in that lane.
            assert!(
                verify_password("correct horse".into(), Some(stored.clone()))
                    .await
                    .unwrap()
            );
            drop(queue);
            // One place frees: a new password waits for the lane instead of being refused.
            let waiting = tokio::spawn(with_lanes(
                Arc::clone(&lanes),
                hash_password("third".into()),
            ));
            tokio::task::yield_now().await;
            assert!(!waiting.is_finished());
            drop(lane);
            assert!(waiting.await.unwrap().unwrap().starts_with("$argon2id$"));
        })
        .await;
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), a);
        assert_eq!(new_id().len(), 32);
    }
}
