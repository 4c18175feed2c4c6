//! After an intake run: did the database keep exactly what the server acknowledged, and did
//! routing decide as one-at-a-time creation in seq order would have?

use anyhow::{Context, Result};
use leadroute::domain::routing::{self, Candidate, Strategy};
use leadroute::store::Db;

/// What the checks found; every count but `stored` must be zero.
#[derive(Debug, Default)]
pub struct Verdict {
    pub stored: u64,
    pub acknowledged: u64,
    /// Leads routed with each run's strategy that differ from that run's 2xx count.
    pub per_run_mismatch: u64,
    /// Positions where seq is not the next integer (1, 2, 3, ...), unrouted leads included.
    pub seq_gaps: u64,
    pub unowned: u64,
    /// Leads whose owner is not the one the pure engine picks, replayed in seq order.
    pub order_violations: u64,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.stored == self.acknowledged
            && self.per_run_mismatch == 0
            && self.seq_gaps == 0
            && self.unowned == 0
            && self.order_violations == 0
    }

    pub fn summary(&self) -> String {
        format!(
            "stored {} / acknowledged {}, seq gaps {}, unowned {}, routing-order violations {}{}",
            self.stored,
            self.acknowledged,
            self.seq_gaps,
            self.unowned,
            self.order_violations,
            if self.per_run_mismatch > 0 {
                format!(", per-run count off by {}", self.per_run_mismatch)
            } else {
                String::new()
            }
        )
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "stored": self.stored, "acknowledged": self.acknowledged,
            "per_run_mismatch": self.per_run_mismatch, "seq_gaps": self.seq_gaps,
            "unowned": self.unowned, "order_violations": self.order_violations,
        })
    }
}

/// Checks the leads of a fresh account that only intake runs wrote to: `runs` are each run's
/// strategy and 2xx count, in order; `rotation` is the saved picks.
pub async fn intake(
    db: &Db,
    account_id: &str,
    rotation: &[String],
    runs: &[(Strategy, u64)],
) -> Result<Verdict> {
    let mut conn = db.conn().await?;
    let leads: Vec<(Option<i64>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT routing_seq, owner_id, routing_strategy FROM leads WHERE account_id = $1 \
         ORDER BY routing_seq",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    // The candidates as the engine reads them (team order), with the counters of an
    // account that has no leads yet: the replay rebuilds them lead by lead, so the
    // balanced run starts from the counters the round-robin run left.
    let members: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, name FROM users WHERE account_id = $1 AND role <> 'accounting' \
         ORDER BY position, id",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut candidates: Vec<Candidate> = members
        .into_iter()
        .map(|(id, name)| Candidate {
            id,
            name,
            active: true,
            open_leads: 0,
            last_routed_seq: None,
        })
        .collect();

    let mut verdict = Verdict {
        stored: leads.len() as u64,
        acknowledged: runs.iter().map(|(_, n)| n).sum(),
        ..Verdict::default()
    };
    let mut expected_seq = 1;
    let mut routed_by = std::collections::HashMap::<Strategy, u64>::new();
    for (seq, owner, strategy) in leads {
        if seq != Some(expected_seq) {
            verdict.seq_gaps += 1;
        }
        let (Some(seq), Some(owner)) = (seq, owner) else {
            verdict.unowned += 1;
            continue;
        };
        expected_seq = seq + 1;
        let strategy = strategy
            .as_deref()
            .and_then(Strategy::parse)
            .with_context(|| format!("lead with seq {seq} has no routing strategy"))?;
        *routed_by.entry(strategy).or_default() += 1;
        let decided = routing::decide(strategy, rotation, &candidates, seq);
        if decided.is_none_or(|r| r.owner.id != owner) {
            verdict.order_violations += 1;
        }
        routing::apply(&mut candidates, &owner, seq);
    }
    verdict.per_run_mismatch = runs
        .iter()
        .map(|(strategy, n)| routed_by.get(strategy).copied().unwrap_or(0).abs_diff(*n))
        .sum();
    Ok(verdict)
}
