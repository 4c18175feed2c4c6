//! The release binary as a child process: `serve` on port 0 as API.md says (the chosen
//! address is read from its `listening on` line), `check`, its resident memory read from
//! /proc, and a graceful SIGTERM stop.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Starting includes the migrations; generous, so a slow disk is not a failure.
const START_TIMEOUT: Duration = Duration::from_secs(120);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// The last lines the server logged, quoted when it fails.
const LOG_LINES: usize = 20;

/// A running `leadroute serve`; killed on drop if it was not stopped.
pub struct Server {
    child: Child,
    pub base: String,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Server {
    /// Starts the server on `database_url` with the product's defaults plus `env`.
    pub fn start(bin: &Path, database_url: &str, env: &[(&str, &str)]) -> Result<Server> {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--database-url", database_url])
            // The product's own default log filter, whatever the caller's shell has set.
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stderr = child.stderr.take().context("the server's stderr")?;
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (ready, address) = mpsc::channel();
        let keep = Arc::clone(&log);
        // Drained for the server's whole life: a full pipe would stall it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, addr)) = line.split_once("listening on ") {
                    let _ = ready.send(addr.trim().to_owned());
                }
                let mut log = keep.lock().unwrap_or_else(PoisonError::into_inner);
                if log.len() == LOG_LINES {
                    log.pop_front();
                }
                log.push_back(line);
            }
        });
        let mut server = Server {
            child,
            base: String::new(),
            log,
        };
        match address.recv_timeout(START_TIMEOUT) {
            Ok(addr) => {
                server.base = format!("http://{addr}");
                Ok(server)
            }
            Err(_) => bail!(
                "the server did not log `listening on`; it said: {}",
                server.recent_log()
            ),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn memory(&self) -> Result<Memory> {
        Memory::of(self.pid())
    }

    /// SIGTERM, then waits for the graceful exit; the last lines the server logged.
    pub fn stop(mut self) -> Result<String> {
        Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .context("kill -TERM")?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("the server exited with {status}: {}", self.recent_log());
                }
                return Ok(self.recent_log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("the server did not stop within {STOP_TIMEOUT:?} of SIGTERM")
    }

    fn recent_log(&self) -> String {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A process's resident memory now and at its peak, from /proc/PID/status.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kb: u64,
    pub peak_kb: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status"))?;
        let field = |name: &str| -> Result<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .with_context(|| format!("no {name} in /proc/{pid}/status"))
        };
        Ok(Memory {
            rss_kb: field("VmRSS:")?,
            peak_kb: field("VmHWM:")?,
        })
    }
}

/// Megabytes (10^6 bytes), as the targets are written.
pub fn mb(kb: u64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

/// `leadroute check` on a database; the report is the error when an invariant fails.
pub fn check(bin: &Path, database_url: &str) -> Result<()> {
    let out = Command::new(bin)
        .args(["check", "--database-url", database_url])
        .env_remove("RUST_LOG")
        .output()
        .with_context(|| format!("cannot run {} check", bin.display()))?;
    if !out.status.success() {
        bail!(
            "leadroute check: {}{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
