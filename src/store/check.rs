//! `leadroute check`: invariants of the stored data, each a query that lists violations.

use super::Db;
use crate::domain::lead::{LeadSource, LeadStatus};
use crate::domain::{HistoryKind, NotificationKind, Role};

/// (what must hold, a query returning one text row per violation)
fn invariants() -> Vec<(&'static str, String)> {
    let (owner, accounting) = (Role::Owner.as_str(), Role::Accounting.as_str());
    let open = LeadStatus::Open.as_str();
    let (website, assistant) = (LeadSource::Website.as_str(), LeadSource::Assistant.as_str());
    let (created, routed) = (HistoryKind::Created.as_str(), HistoryKind::Routed.as_str());
    let lead_routed = NotificationKind::LeadRouted.as_str();
    vec![
        (
            "every account has at least one active Owner",
            format!(
                "SELECT a.id FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM users u \
         WHERE u.account_id = a.id AND u.role = '{owner}' AND u.active = 1)"
            ),
        ),
        (
            "every session belongs to a member of its own account",
            "SELECT s.user_id FROM sessions s LEFT JOIN users u \
         ON u.id = s.user_id AND u.account_id = s.account_id WHERE u.id IS NULL"
                .into(),
        ),
        (
            "every invitation was sent by a member of its own account",
            "SELECT i.id FROM invitations i LEFT JOIN users u \
         ON u.id = i.invited_by AND u.account_id = i.account_id WHERE u.id IS NULL"
                .into(),
        ),
        (
            "every audit entry's actor is a member of its own account",
            "SELECT CAST(l.id AS TEXT) FROM audit_log l LEFT JOIN users u \
         ON u.id = l.actor_id AND u.account_id = l.account_id \
         WHERE l.actor_id IS NOT NULL AND u.id IS NULL"
                .into(),
        ),
        (
            "every member's open-lead count equals a recount of their open leads",
            format!(
                "SELECT u.id FROM users u WHERE u.open_leads <> (SELECT COUNT(*) FROM leads l \
         WHERE l.account_id = u.account_id AND l.owner_id = u.id AND l.status = '{open}')"
            ),
        ),
        (
            "every member's unread count equals a recount of their unread notifications",
            "SELECT u.id FROM users u WHERE u.unread_notifications <> (SELECT COUNT(*) \
         FROM notifications n WHERE n.account_id = u.account_id AND n.user_id = u.id \
         AND n.read_at IS NULL)"
                .into(),
        ),
        (
            "every lead's owner is a sales-capable member of the lead's account",
            format!(
                "SELECT l.id FROM leads l LEFT JOIN users u ON u.id = l.owner_id AND u.account_id = l.account_id \
         WHERE l.owner_id IS NOT NULL AND (u.id IS NULL OR u.role = '{accounting}')"
            ),
        ),
        (
            "every lead's creator is a member of the lead's account",
            "SELECT l.id FROM leads l LEFT JOIN users u ON u.id = l.created_by AND u.account_id = l.account_id \
         WHERE l.created_by IS NOT NULL AND u.id IS NULL"
                .into(),
        ),
        (
            "every lead event belongs to a lead of its own account",
            "SELECT CAST(e.id AS TEXT) FROM lead_events e LEFT JOIN leads l \
         ON l.id = e.lead_id AND l.account_id = e.account_id WHERE l.id IS NULL"
                .into(),
        ),
        (
            "every lead has exactly one created event",
            format!(
                "SELECT l.id FROM leads l WHERE (SELECT COUNT(*) FROM lead_events e WHERE e.account_id = l.account_id \
         AND e.lead_id = l.id AND e.kind = '{created}') <> 1"
            ),
        ),
        (
            "routed leads' seq runs 1, 2, 3... per account with no gaps, up to the next seq",
            "SELECT s.account_id FROM routing_settings s WHERE s.next_seq - 1 <> \
         (SELECT COUNT(*) FROM leads l WHERE l.account_id = s.account_id AND l.routing_seq IS NOT NULL) \
         OR s.next_seq - 1 <> COALESCE((SELECT MAX(l.routing_seq) FROM leads l \
         WHERE l.account_id = s.account_id), 0)"
                .into(),
        ),
        (
            "every routed lead has its receipt and one routed history event",
            format!(
                "SELECT l.id FROM leads l WHERE l.routing_seq IS NOT NULL AND (l.routing_receipt IS NULL \
         OR (SELECT COUNT(*) FROM lead_events e WHERE e.account_id = l.account_id \
         AND e.lead_id = l.id AND e.kind = '{routed}') <> 1)"
            ),
        ),
        (
            "every routed website or assistant lead notified the rep it was routed to, once",
            format!(
                "SELECT l.id FROM leads l WHERE l.routing_seq IS NOT NULL AND l.source IN ('{website}', '{assistant}') \
         AND (SELECT COUNT(*) FROM notifications n JOIN lead_events e ON e.account_id = n.account_id \
              AND e.lead_id = n.lead_id AND e.kind = '{routed}' AND e.to_owner_id = n.user_id \
              WHERE n.account_id = l.account_id AND n.lead_id = l.id AND n.kind = '{lead_routed}') <> 1"
            ),
        ),
        (
            "every notification belongs to a member and a lead of its own account",
            "SELECT n.id FROM notifications n LEFT JOIN users u ON u.id = n.user_id AND u.account_id = n.account_id \
         LEFT JOIN leads l ON l.id = n.lead_id AND l.account_id = n.account_id \
         WHERE u.id IS NULL OR (n.lead_id IS NOT NULL AND l.id IS NULL)"
                .into(),
        ),
        (
            "every account has its website form",
            "SELECT a.id FROM accounts a LEFT JOIN website_forms w ON w.account_id = a.id WHERE w.account_id IS NULL"
                .into(),
        ),
        (
            "every account has its routing settings",
            "SELECT a.id FROM accounts a LEFT JOIN routing_settings s ON s.account_id = a.id \
         WHERE s.account_id IS NULL"
                .into(),
        ),
        (
            "team positions are unique within an account",
            "SELECT account_id FROM users GROUP BY account_id, position HAVING COUNT(*) > 1"
                .into(),
        ),
    ]
}

/// Returns one line per violated invariant; empty when everything holds.
pub async fn run(db: &Db) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut conn = db.conn().await?;
    if db.backend == super::Backend::Postgres {
        // The per-lead checks are correlated subqueries: without fresh statistics (right
        // after a burst of leads, before autovacuum has looked) PostgreSQL may plan them
        // as a scan per lead, which made `check` take minutes at tens of thousands of leads.
        sqlx::query("ANALYZE leads, lead_events, notifications, users")
            .execute(&mut *conn)
            .await?;
    }
    for (rule, query) in invariants() {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(query))
            .fetch_all(&mut *conn)
            .await?;
        if !rows.is_empty() {
            let sample: Vec<&str> = rows.iter().take(5).map(String::as_str).collect();
            problems.push(format!(
                "{rule}: {} violation(s), e.g. {}",
                rows.len(),
                sample.join(", ")
            ));
        }
    }
    Ok(problems)
}
