//! Test harness: a fresh database per test (a temp SQLite file, or a new PostgreSQL database
//! when one answers: see `postgres_admin_url`), the real router driven in-process, and a real server on
//! port 0 for browsers and other processes.

use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use leadroute::config::Config;
use leadroute::store::Db;
use serde_json::{Value, json};
use tower::ServiceExt;

/// When set (CI sets it), a test that would skip for a missing PostgreSQL or browser fails.
pub fn require_all() -> bool {
    std::env::var("LEADROUTE_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Records that a test did not run because `what` is missing. The notice goes past the
/// harness's output capture, and into the file `scripts/test-runner` (cargo's runner for
/// this project) counts at the end of the run, so a skipped test never looks like a pass.
pub fn skip(what: &str) {
    use std::io::Write;
    assert!(
        !require_all(),
        "LEADROUTE_TEST_REQUIRE_ALL=1 but {what} is not available"
    );
    let _ = writeln!(
        std::io::stderr(),
        "NOTICE: skipping: {what} is not available"
    );
    if let Ok(log) = std::env::var("LEADROUTE_SKIP_LOG") {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(log);
        if let Ok(mut file) = file {
            let _ = writeln!(file, "{what}");
        }
    }
}

/// Where the development machine's PostgreSQL answers when nothing else is said.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL server tests may create databases on: `TEST_DATABASE_URL`, else the
/// default address when something listens there. None (with a notice) when there is none,
/// or when `TEST_DATABASE_URL=off`.
pub fn postgres_admin_url() -> Option<String> {
    static FOUND: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let found = FOUND.get_or_init(|| match std::env::var("TEST_DATABASE_URL") {
        Ok(off) if off == "off" => None,
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1))
                .is_ok()
                .then(|| DEFAULT_POSTGRES_URL.to_owned())
        }
    });
    if found.is_none() {
        skip(
            "PostgreSQL (none answers at 127.0.0.1:5432, or set TEST_DATABASE_URL=postgres://...)",
        );
    }
    found.clone()
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Dropping runs outside any runtime we could block on, so use a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(admin) = Db::connect(&admin_url).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                            .execute(&admin.pool)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub router: axum::Router,
    pub db: Db,
    pub database_url: String,
    _cleanup: Cleanup,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh, migrated database; returns (db, url, cleanup).
async fn fresh_database(backend: &str) -> Option<(Db, String, Cleanup)> {
    match backend {
        "sqlite" => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            let db = Db::connect(&url).await.unwrap();
            db.migrate().await.unwrap();
            Some((db, url, Cleanup::Sqlite(dir)))
        }
        _ => {
            let admin_url = postgres_admin_url()?;
            let admin = Db::connect(&admin_url)
                .await
                .expect("the test PostgreSQL server must accept connections");
            let name = format!(
                "lr_test_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst),
                rand::random::<u32>()
            );
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin.pool)
                .await
                .unwrap();
            admin.pool.close().await;
            let (base, _) = admin_url.rsplit_once('/').unwrap();
            let url = format!("{base}/{name}");
            let db = Db::connect(&url).await.unwrap();
            db.migrate().await.unwrap();
            Some((db, url, Cleanup::Postgres { admin_url, name }))
        }
    }
}

impl TestApp {
    pub async fn new(backend: &'static str) -> Option<Self> {
        Self::with_config(backend, |_| {}).await
    }

    /// A test app whose configuration `tweak` adjusts (rate limits, say).
    pub async fn with_config(
        backend: &'static str,
        tweak: impl FnOnce(&mut Config),
    ) -> Option<Self> {
        // Internal errors are logged, never shown: this makes them visible in a failing
        // test (warnings and errors only, unless RUST_LOG says otherwise).
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
        let (db, url, cleanup) = fresh_database(backend).await?;
        let mut config = Config::for_database(url.clone());
        // Tests send many requests from one address; the rate-limit tests turn it back on.
        config.public_rate_limit = 0;
        config.login_rate_limit = 0;
        // The Host every in-process request sends: links may be built from it.
        config.allowed_hosts = vec!["app.test".to_owned()];
        config.signup_rate_limit = 0;
        tweak(&mut config);
        let router = leadroute::app::router(db.clone(), config);
        Some(Self {
            router,
            db,
            database_url: url,
            _cleanup: cleanup,
        })
    }

    pub async fn send(&self, request: Request<Body>) -> Resp {
        send_on(self.router.clone(), request).await
    }

    /// Starts a request on its own task, so many run truly at once (race tests).
    pub fn spawn_post(&self, path: String, token: &str) -> tokio::task::JoinHandle<Resp> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, "app.test")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        tokio::spawn(send_on(self.router.clone(), request))
    }

    pub fn call(
        &self,
        method: Method,
        path: impl Into<String>,
        token: Option<&str>,
        body: Option<Value>,
    ) -> impl std::future::Future<Output = Resp> + '_ {
        let mut builder = Request::builder()
            .method(method)
            .uri(path.into())
            .header(header::HOST, "app.test");
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => builder.body(Body::empty()).unwrap(),
        };
        self.send(request)
    }

    pub fn get(
        &self,
        path: impl Into<String>,
        token: &str,
    ) -> impl std::future::Future<Output = Resp> + '_ {
        self.call(Method::GET, path, Some(token), None)
    }

    pub fn post(
        &self,
        path: impl Into<String>,
        token: Option<&str>,
        body: Value,
    ) -> impl std::future::Future<Output = Resp> + '_ {
        self.call(Method::POST, path, token, Some(body))
    }

    pub fn patch(
        &self,
        path: impl Into<String>,
        token: &str,
        body: Value,
    ) -> impl std::future::Future<Output = Resp> + '_ {
        self.call(Method::PATCH, path, Some(token), Some(body))
    }

    /// Signs up a new account; its Owner's session.
    pub async fn signup(&self, account: &str, email: &str) -> Member {
        let r = self
            .post(
                "/api/v1/signup",
                None,
                json!({"account_name": account, "name": format!("Owner of {account}"),
                       "email": email, "password": "correct-horse-battery-42"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        Member {
            token: r.json["token"].as_str().unwrap().to_owned(),
            id: r.json["user"]["id"].as_str().unwrap().to_owned(),
            account_id: r.json["account"]["id"].as_str().unwrap().to_owned(),
        }
    }

    /// Invites and accepts a member with `role`, through the API.
    pub async fn add_member(&self, inviter: &Member, role: &str, email: &str) -> Member {
        let r = self
            .post(
                "/api/v1/team/invitations",
                Some(&inviter.token),
                json!({"email": email, "name": format!("{role} {email}"), "role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let token = r.json["invitation"]["token"].as_str().unwrap().to_owned();
        let r = self
            .post(
                &format!("/api/v1/invitations/{token}/accept"),
                None,
                json!({"password": "correct-horse-battery-42"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        Member {
            token: r.json["token"].as_str().unwrap().to_owned(),
            id: r.json["user"]["id"].as_str().unwrap().to_owned(),
            account_id: inviter.account_id.clone(),
        }
    }

    /// Turns routing on as `who`: `strategy` and `rotation` are sent when given, and left as
    /// saved when not. The answer, for the caller to expect (a refusal is an answer too).
    pub async fn routing_on(
        &self,
        who: &Member,
        strategy: Option<&str>,
        rotation: Option<&[&Member]>,
    ) -> Resp {
        let ids: Option<Vec<&str>> = rotation.map(|ms| ms.iter().map(|m| m.id.as_str()).collect());
        let body = routing_on_body(strategy, ids.as_deref());
        self.call(Method::PUT, "/api/v1/routing", Some(&who.token), Some(body))
            .await
    }

    /// The account's website form key, as `who` (an Owner or Manager) reads it.
    pub async fn form_key(&self, who: &Member) -> String {
        let r = self.get("/api/v1/website", &who.token).await;
        r.expect(200);
        r.json["form_key"].as_str().unwrap().to_owned()
    }

    /// Runs `leadroute check`'s invariants on this database; panics with the report.
    pub async fn check(&self) {
        let problems = leadroute::store::check::run(&self.db).await.unwrap();
        assert!(problems.is_empty(), "invariants broken: {problems:#?}");
    }

    /// Every row of the tables a test may want to prove unchanged, as text.
    pub async fn snapshot(&self) -> Vec<String> {
        let mut rows = Vec::new();
        for query in [
            "SELECT id || '|' || name FROM accounts ORDER BY id",
            "SELECT id || '|' || role || '|' || CAST(active AS TEXT) || '|' || name FROM users ORDER BY id",
            "SELECT id || '|' || COALESCE(CAST(accepted_at AS TEXT), '-') FROM invitations ORDER BY id",
            "SELECT CAST(id AS TEXT) || '|' || action FROM audit_log ORDER BY id",
            "SELECT token_hash FROM sessions ORDER BY token_hash",
            "SELECT id || '|' || COALESCE(owner_id, '-') || '|' || status || '|' || name || '|' || COALESCE(email, '-') FROM leads ORDER BY id",
            "SELECT CAST(id AS TEXT) || '|' || kind FROM lead_events ORDER BY id",
            "SELECT id || '|' || CAST(open_leads AS TEXT) FROM users ORDER BY id",
        ] {
            let found: Vec<String> = sqlx::query_scalar(query)
                .fetch_all(&self.db.pool)
                .await
                .unwrap();
            rows.extend(found);
        }
        rows
    }
}

/// The `PUT /api/v1/routing` body that turns routing on: `strategy` and `rotation` (member
/// ids) only when given, so what is not given stays as saved.
pub fn routing_on_body(strategy: Option<&str>, rotation: Option<&[&str]>) -> Value {
    let mut body = json!({"enabled": true});
    if let Some(strategy) = strategy {
        body["strategy"] = json!(strategy);
    }
    if let Some(rotation) = rotation {
        body["rotation"] = json!(rotation);
    }
    body
}

async fn send_on(router: axum::Router, request: Request<Body>) -> Resp {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        json,
        text,
    }
}

pub struct Member {
    pub token: String,
    pub id: String,
    pub account_id: String,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Resp {
    /// The `Retry-After` seconds of a 429, asserted to be within the minute's window.
    #[track_caller]
    pub fn retry_after_secs(&self) -> u64 {
        let secs: u64 = self.headers[axum::http::header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&secs), "Retry-After {secs}");
        secs
    }

    /// Asserts the status and, for errors, the contract's error code.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        if status >= 400 {
            let code = self.json["error"]["code"].as_str().unwrap_or_default();
            let expected = match status {
                400 => "bad_request",
                401 => "unauthorized",
                403 => "forbidden",
                404 => "not_found",
                409 => "conflict",
                413 => "payload_too_large",
                422 => "validation",
                429 => "rate_limited",
                _ => "internal",
            };
            assert_eq!(code, expected, "body: {}", self.text);
            assert!(
                self.json["error"]["message"].is_string(),
                "body: {}",
                self.text
            );
        }
        self
    }

    /// The reason given for a field of a 422.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.json["error"]["fields"][name].as_str()
    }
}

/// A real server on port 0 for browsers and HTTP clients; returns its base URL.
pub async fn spawn_server(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let db = app.db.clone();
    let config = Config::for_database(app.database_url.clone());
    tokio::spawn(async move {
        leadroute::app::run(listener, db, config, std::future::pending())
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

/// Runs an async test body once per backend: `sqlite` always, `postgres` when configured.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::new("sqlite").await.unwrap();
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::new("postgres").await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Rate limits count in fixed one-minute windows of the real clock: a test of one waits,
/// when fewer than `needed` seconds are left in this minute, for the next to begin, so all
/// its hits fall in one window.
pub async fn one_window_for(needed: std::time::Duration) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into = std::time::Duration::from_millis(u64::try_from(now.as_millis() % 60_000).unwrap());
    let left = std::time::Duration::from_secs(60) - into;
    if left < needed {
        tokio::time::sleep(left + std::time::Duration::from_millis(50)).await;
    }
}
