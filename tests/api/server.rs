//! The real `leadroute` binary as a child process: `serve` on port 0 (`ServerProcess`), its
//! other commands (`run`), the HTTP calls tests make to it, and the empty PostgreSQL
//! databases it starts on.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::routing_on_body;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_leadroute");

/// How many of the warnings and errors a server logs it keeps for `logged`.
const LOGGED_MAX: usize = 1000;

/// A running `leadroute serve` on port 0. It logs at `info` without colour unless its
/// environment says otherwise; the warnings and errors it logs are kept (an internal error is
/// logged, never shown), so a failing test can say what went wrong inside. Killed on drop.
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) base: String,
    logged: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    pub(crate) fn start(database_url: &str) -> ServerProcess {
        ServerProcess::start_with_env(database_url, &[])
    }

    /// Two servers on one database, started at the same instant (their migrations race).
    pub(crate) fn start_two(
        database_url: &str,
        env: &[(&str, &str)],
    ) -> (ServerProcess, ServerProcess) {
        std::thread::scope(|s| {
            let a = s.spawn(|| ServerProcess::start_with_env(database_url, env));
            let b = s.spawn(|| ServerProcess::start_with_env(database_url, env));
            (a.join().unwrap(), b.join().unwrap())
        })
    }

    /// Like `start`, with extra environment variables for the server process (they win over
    /// the logging defaults). Returns once the server logs `listening on <addr>`.
    pub(crate) fn start_with_env(database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let logged = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let logged = logged.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some((_, addr)) = line.split_once("listening on ") {
                        let _ = tx.send(addr.trim().to_owned());
                    } else if line.contains(" WARN ") || line.contains(" ERROR ") {
                        let mut logged = logged.lock().unwrap();
                        if logged.len() < LOGGED_MAX {
                            logged.push(line);
                        }
                    }
                }
            });
        }
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs `listening on <addr>`");
        assert!(
            !addr.ends_with(":0"),
            "the chosen port is logged, not 0: {addr}"
        );
        ServerProcess {
            child,
            base: format!("http://{addr}"),
            logged,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Warnings and errors the server logged so far.
    pub(crate) fn logged(&self) -> Vec<String> {
        self.logged.lock().unwrap().clone()
    }

    /// Sends `signal` (a name `kill` knows: TERM, KILL) to the process.
    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.pid().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    /// The exit status, when the process has ended.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// SIGTERM, then waits (at most 15 s) for the process to end.
    pub(crate) fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `leadroute ARGS` on `database_url` to the end.
pub(crate) fn run(args: &[&str], database_url: &str) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap()
}

/// Runs `leadroute check` on `database_url` and asserts it passes (`when` says at what point,
/// for the failure message); its output.
pub(crate) fn check_passes(database_url: &str, when: &str) -> std::process::Output {
    let out = run(&["check"], database_url);
    assert!(
        out.status.success(),
        "`leadroute check` fails {when}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An HTTP client that shows redirects instead of following them.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) async fn post_json(
    base: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = client().post(format!("{base}{path}")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn get_json(base: &str, path: &str, token: &str) -> (u16, Value) {
    let response = client()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Turns routing on through the server at `base`, like `TestApp::routing_on` (`rotation` is
/// member ids); asserts the 200 and returns the saved settings.
pub(crate) async fn routing_on(
    base: &str,
    token: &str,
    strategy: Option<&str>,
    rotation: Option<&[&str]>,
) -> Value {
    let response = client()
        .put(format!("{base}/api/v1/routing"))
        .bearer_auth(token)
        .json(&routing_on_body(strategy, rotation))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let saved = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{saved}");
    saved
}

/// The account's website form key, through the server at `base`.
pub(crate) async fn form_key(base: &str, token: &str) -> String {
    let (status, website) = get_json(base, "/api/v1/website", token).await;
    assert_eq!(status, 200, "{website}");
    website["form_key"].as_str().unwrap().to_owned()
}

/// A new, empty PostgreSQL database; None (with a notice) when there is no PostgreSQL.
pub(crate) async fn empty_postgres_database() -> Option<(String, String)> {
    let admin_url = crate::helpers::postgres_admin_url()?;
    let admin = leadroute::store::Db::connect(&admin_url).await.unwrap();
    let name = format!(
        "lr_test_proc_{}_{}",
        std::process::id(),
        rand::random::<u32>()
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin.pool)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    Some((format!("{base}/{name}"), name))
}

pub(crate) async fn drop_postgres_database(name: &str) {
    let admin_url = crate::helpers::postgres_admin_url().unwrap();
    let admin = leadroute::store::Db::connect(&admin_url).await.unwrap();
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&admin.pool)
        .await
        .unwrap();
}
