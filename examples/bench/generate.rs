//! The data generator: an account with many Sales reps and leads, written straight into an
//! SQLite file whose schema `leadroute` created (so later migrations' indexes and triggers
//! do their part on every row), in one transaction of a few `INSERT ... SELECT` statements;
//! then the trigram index is optimized into one segment (see `optimize_search_index`).
//!
//! What it writes keeps every invariant `leadroute check` verifies (src/store/check.rs):
//! each lead has one `created` event; routed leads (every website and assistant lead with an
//! owner) have seq 1, 2, 3... in creation order, a receipt, one `routed` event and their
//! owner's notification; `routing_settings.next_seq` follows the last seq; each member's
//! open-lead count and last routed seq match their leads, and their unread count their
//! notifications. Values come from multiplicative hashes of the lead's number, so the same
//! size always gives the same data.

use std::time::Instant;

use anyhow::{Context, Result};
use leadroute::store::{Db, now_ms};
use sqlx::{Acquire, AssertSqlSafe, Executor};

/// Leads are spread over this much time before now.
const SPAN_MS: i64 = 2 * 365 * 24 * 3600 * 1000;

const FIRST: &[&str] = &[
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "Mateo", "Isabella", "Lucas",
    "Mia", "Levi", "Amelia", "Ezra", "Harper", "Asher", "Evelyn", "James", "Luna", "Leo", "Aria",
    "Hiroshi", "Chloe", "Kwame", "Ingrid", "Rahul", "Fatima", "Diego", "Yuki", "Omar", "Priya",
    "Lars", "Zara", "Mehmet", "Anya", "Tomasz", "Leila", "Arjun", "Greta", "Kofi",
];
const LAST: &[&str] = &[
    "Smith", "Johnson", "Garcia", "Miller", "Davis", "Martinez", "Lopez", "Wilson", "Anderson",
    "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Okafor",
    "Schmidt", "Tanaka",
];
/// Company brands are four of these (16^4 = 65,536 brands): a brand names a handful of
/// leads at a million, which is what a selective search looks for.
const SYLLABLES: &[&str] = &[
    "ka", "lo", "vi", "ra", "zen", "tor", "mu", "bel", "dri", "nox", "qua", "sil", "tem", "vor",
    "xa", "pho",
];
/// Every company has one of these: a search for one matches many leads.
const INDUSTRIES: &[&str] = &[
    "Logistics",
    "Analytics",
    "Robotics",
    "Foods",
    "Energy",
    "Dental",
    "Legal",
    "Media",
    "Textiles",
    "Aviation",
    "Pharma",
    "Software",
];
const SUFFIXES: &[&str] = &["Ltd", "Inc", "GmbH", "LLC", "Group", "& Co"];

/// The statements, in order. Each reads its parameters from the one-row `bench_params`
/// table and the word lists from `bench_*` temporary tables. Words are looked up by scalar
/// subqueries and joins are CROSS JOINs (which SQLite never reorders): with no statistics
/// the planner would otherwise loop over the million generated rows inside the word tables.
const STEPS: &[(&str, &str)] = &[
    (
        "reps",
        "WITH RECURSIVE r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r \
                                 WHERE k < (SELECT reps FROM bench_params)) \
         INSERT INTO users (id, account_id, name, email, password_hash, role, active, position, \
                            created_at, updated_at) \
         SELECT printf('%012x7%03x9%015x', p.start_ms + r.k, r.k, r.k), p.account_id, \
                f.w || ' ' || l.w, lower(f.w || '.' || l.w) || printf('%03d', r.k) || '@bench.example.com', \
                o.password_hash, 'sales', 1, o.position + r.k, p.start_ms + r.k, p.start_ms + r.k \
         FROM r CROSS JOIN bench_params p CROSS JOIN users o ON o.id = p.owner_id \
         CROSS JOIN bench_first f ON f.k = r.k % p.n_first \
         CROSS JOIN bench_last l ON l.k = (r.k * 7 + r.k / p.n_first) % p.n_last",
    ),
    (
        "names",
        "INSERT INTO bench_name (k, name, local) \
         SELECT f.k * p.n_last + l.k, f.w || ' ' || l.w, lower(f.w || '.' || l.w) \
         FROM bench_params p CROSS JOIN bench_first f CROSS JOIN bench_last l",
    ),
    (
        "company brands",
        "INSERT INTO bench_brand (k, w) \
         SELECT a.k + p.n_syllable * (b.k + p.n_syllable * (c.k + p.n_syllable * d.k)), \
                upper(substr(a.w, 1, 1)) || substr(a.w, 2) || b.w || c.w || d.w \
         FROM bench_params p CROSS JOIN bench_syllable a CROSS JOIN bench_syllable b \
         CROSS JOIN bench_syllable c CROSS JOIN bench_syllable d",
    ),
    (
        "the reps' numbers",
        "INSERT INTO bench_reps (no, id, name) \
         SELECT ROW_NUMBER() OVER (ORDER BY position) - 1, id, name FROM users \
         WHERE account_id = (SELECT account_id FROM bench_params) AND role = 'sales'",
    ),
    (
        "leads",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                                 WHERE i < (SELECT leads FROM bench_params)), \
         h AS (SELECT i, \
                      (i * 2654435761) % 4294967296 / 256 AS a, \
                      (i * 2246822519) % 4294967296 / 256 AS b, \
                      (i * 3266489917) % 4294967296 / 256 AS c, \
                      (i * 668265263) % 4294967296 / 256 AS d, \
                      (i * 374761393) % 4294967296 / 256 AS e \
               FROM n), \
         shaped AS (SELECT h.*, p.start_ms + (i - 1) * p.step_ms + a % p.step_ms AS at, \
                      CASE WHEN c % 100 < 8 THEN NULL ELSE (c / 100) % p.reps END AS rep_no, \
                      CASE WHEN d % 100 < 70 THEN 'open' WHEN d % 100 < 82 THEN 'won' \
                           WHEN d % 100 < 92 THEN 'lost' ELSE 'dormant' END AS status, \
                      CASE WHEN e % 100 < 50 THEN 'website' WHEN e % 100 < 70 THEN 'team' \
                           WHEN e % 100 < 85 THEN 'assistant' ELSE 'import' END AS source \
                    FROM h CROSS JOIN bench_params p), \
         routed AS (SELECT *, source IN ('website', 'assistant') AND rep_no IS NOT NULL AS is_routed \
                    FROM shaped), \
         seqd AS (SELECT *, CASE WHEN is_routed THEN \
                      SUM(is_routed) OVER (ORDER BY i ROWS UNBOUNDED PRECEDING) END AS seq \
                  FROM routed), \
         named AS (SELECT s.*, p.account_id, p.owner_id AS account_owner, p.reps, p.now, \
                      p.leads AS total, nm.name, nm.local || s.i AS local, br.w AS brand, \
                      ind.w AS industry, suf.w AS suffix, r.id AS owner_id, r.name AS owner_name, \
                      CASE WHEN s.is_routed THEN \
                        CASE WHEN s.i <= p.leads / 2 THEN 'round_robin' ELSE 'balanced' END END AS strategy \
                    FROM seqd s CROSS JOIN bench_params p \
                    CROSS JOIN bench_name nm ON nm.k = s.a % (p.n_first * p.n_last) \
                    CROSS JOIN bench_brand br ON br.k = s.b % (p.n_syllable * p.n_syllable * p.n_syllable * p.n_syllable) \
                    CROSS JOIN bench_industry ind ON ind.k = (s.e / 100) % p.n_industry \
                    CROSS JOIN bench_suffix suf ON suf.k = (s.d / 100) % p.n_suffix \
                    LEFT JOIN bench_reps r ON r.no = s.rep_no), \
         lead_rows AS (SELECT *, local || '@' || lower(brand) || '.com' AS email, \
                     CASE WHEN (d / 100) % 100 < 8 THEN NULL \
                          ELSE brand || ' ' || industry || ' ' || suffix END AS company, \
                     CASE strategy \
                       WHEN 'round_robin' THEN 'Round-robin: ' || owner_name || \
                         ' had gone longest without a routed lead among ' || reps || ' reps in the rotation.' \
                       WHEN 'balanced' THEN 'Balanced: ' || owner_name || \
                         ' had the fewest open leads among ' || reps || ' reps in the rotation.' END AS reason \
                  FROM named) \
         INSERT INTO leads (id, account_id, name, email, phone, company, notes, status, source, \
                            owner_id, created_by, created_at, updated_at, routing_strategy, \
                            routing_seq, routing_reason, search_text, routing_receipt) \
         SELECT printf('%012x7%03x8%015x', at, i % 4096, i), account_id, name, email, \
                CASE WHEN (a / 4096) % 3 = 0 THEN NULL \
                     ELSE printf('+1 555 %03d %04d', i % 1000, (i * 7) % 10000) END, \
                company, \
                CASE (e / 100) % 5 WHEN 0 THEN 'Asked for a demo of the ' || lower(industry) || ' package.' \
                                   WHEN 1 THEN 'Wants pricing for ' || (2 + i % 40) || ' seats.' END, \
                status, source, owner_id, \
                CASE WHEN source IN ('team', 'import') THEN coalesce(owner_id, account_owner) END, \
                at, CASE WHEN status = 'open' THEN at ELSE min(at + (a % 30) * 86400000, now) END, \
                strategy, seq, reason, \
                lower(name || ' ' || email || coalesce(' ' || company, '')), \
                CASE WHEN is_routed THEN json_object('strategy', strategy, 'seq', seq, \
                  'owner', json_object('id', owner_id, 'name', owner_name), 'pool', json_array(), \
                  'skipped', json_array(), 'fallback', json('false'), 'reason', reason) END \
         FROM lead_rows",
    ),
    (
        "created events",
        "INSERT INTO lead_events (account_id, lead_id, at, actor_id, kind, from_owner_id, \
                                  to_owner_id, detail) \
         SELECT l.account_id, l.id, l.created_at, l.created_by, 'created', NULL, \
                CASE WHEN l.routing_seq IS NULL THEN l.owner_id END, \
                CASE WHEN l.created_by IS NULL THEN 'Came in from ' || x.label \
                     WHEN l.owner_id IS NOT NULL THEN 'Created by ' || c.name || ' from ' || x.label \
                          || ', owned by ' || o.name \
                     ELSE 'Created by ' || c.name || ' from ' || x.label END \
         FROM leads l \
         JOIN (SELECT 'team' AS source, 'Team' AS label UNION ALL SELECT 'website', 'Website' \
               UNION ALL SELECT 'assistant', 'AI assistant' UNION ALL SELECT 'import', 'Import') x \
           ON x.source = l.source \
         LEFT JOIN users c ON c.id = l.created_by LEFT JOIN users o ON o.id = l.owner_id \
         WHERE l.account_id = (SELECT account_id FROM bench_params) ORDER BY l.created_at, l.id",
    ),
    (
        "routed events",
        "INSERT INTO lead_events (account_id, lead_id, at, actor_id, kind, from_owner_id, \
                                  to_owner_id, detail) \
         SELECT account_id, id, created_at, NULL, 'routed', NULL, owner_id, routing_reason \
         FROM leads WHERE account_id = (SELECT account_id FROM bench_params) \
           AND routing_seq IS NOT NULL ORDER BY routing_seq",
    ),
    (
        "status events",
        "INSERT INTO lead_events (account_id, lead_id, at, actor_id, kind, from_owner_id, \
                                  to_owner_id, detail) \
         SELECT l.account_id, l.id, l.updated_at, coalesce(l.owner_id, p.owner_id), 'status_changed', \
                NULL, NULL, 'Status changed from Open to ' || upper(substr(l.status, 1, 1)) || substr(l.status, 2) \
         FROM leads l CROSS JOIN bench_params p \
         WHERE l.account_id = p.account_id AND l.status <> 'open' ORDER BY l.updated_at",
    ),
    (
        "notifications",
        "INSERT INTO notifications (id, account_id, user_id, kind, lead_id, text, created_at, read_at) \
         SELECT substr(l.id, 1, 16) || 'a' || substr(l.id, 18), l.account_id, l.owner_id, 'lead_routed', l.id, \
                'New ' || CASE l.source WHEN 'website' THEN 'website' ELSE 'AI assistant' END \
                || ' lead routed to you: ' || l.name, l.created_at, \
                CASE WHEN l.created_at < p.now - 7 * 86400000 THEN l.created_at + 3600000 END \
         FROM leads l CROSS JOIN bench_params p \
         WHERE l.account_id = p.account_id AND l.routing_seq IS NOT NULL",
    ),
    (
        "the reps' counters",
        "UPDATE users SET open_leads = t.open, last_routed_seq = t.last_seq, \
           unread_notifications = (SELECT count(*) FROM notifications n \
             WHERE n.account_id = users.account_id AND n.user_id = users.id AND n.read_at IS NULL) \
         FROM (SELECT owner_id, SUM(status = 'open') AS open, MAX(routing_seq) AS last_seq \
               FROM leads WHERE account_id = (SELECT account_id FROM bench_params) \
                 AND owner_id IS NOT NULL GROUP BY owner_id) t \
         WHERE users.id = t.owner_id",
    ),
    (
        "routing settings",
        "UPDATE routing_settings SET enabled = 1, strategy = 'balanced', \
           rotation = (SELECT json_group_array(id) FROM (SELECT id FROM bench_reps ORDER BY no)), \
           next_seq = coalesce((SELECT MAX(routing_seq) FROM leads \
                                WHERE account_id = routing_settings.account_id), 0) + 1, \
           updated_at = (SELECT now FROM bench_params), updated_by = (SELECT owner_id FROM bench_params) \
         WHERE account_id = (SELECT account_id FROM bench_params)",
    ),
];

/// How long each step took, in seconds.
pub type Timings = Vec<(&'static str, f64)>;

/// Adds `reps` Sales reps (with the Owner's password) and `leads` leads to the account
/// `owner_id` owns, with balanced routing on over the reps.
pub async fn account(url: &str, owner_id: &str, reps: u64, leads: u64) -> Result<Timings> {
    let db = Db::connect(url).await?;
    let mut conn = db.pool.acquire().await?;
    // Durability is not needed while generating (a crash means generating again); the
    // benchmark's own writes later run with the product's durable settings.
    conn.execute(
        "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY",
    )
    .await?;
    for (table, words) in [
        ("bench_first", FIRST),
        ("bench_last", LAST),
        ("bench_syllable", SYLLABLES),
        ("bench_industry", INDUSTRIES),
        ("bench_suffix", SUFFIXES),
    ] {
        let rows: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(k, w)| format!("({k}, '{w}')"))
            .collect();
        let sql = format!(
            "CREATE TEMP TABLE {table} (k INTEGER PRIMARY KEY, w TEXT NOT NULL); \
             INSERT INTO {table} VALUES {};",
            rows.join(", ")
        );
        conn.execute(AssertSqlSafe(sql)).await?;
    }
    conn.execute(
        "CREATE TEMP TABLE bench_reps (no INTEGER PRIMARY KEY, id TEXT NOT NULL, name TEXT NOT NULL); \
         CREATE TEMP TABLE bench_name (k INTEGER PRIMARY KEY, name TEXT NOT NULL, local TEXT NOT NULL); \
         CREATE TEMP TABLE bench_brand (k INTEGER PRIMARY KEY, w TEXT NOT NULL);",
    )
    .await?;
    let now = now_ms();
    let leads_i64 = i64::try_from(leads)?;
    sqlx::query(
        "CREATE TEMP TABLE bench_params AS SELECT a.id AS account_id, $1 AS owner_id, \
         $2 AS reps, $3 AS leads, $4 AS now, $5 AS start_ms, $6 AS step_ms, $7 AS n_first, \
         $8 AS n_last, $9 AS n_syllable, $10 AS n_industry, $11 AS n_suffix \
         FROM accounts a JOIN users u ON u.account_id = a.id WHERE u.id = $1",
    )
    .bind(owner_id)
    .bind(i64::try_from(reps)?)
    .bind(leads_i64)
    .bind(now)
    .bind(now - SPAN_MS - 24 * 3600 * 1000)
    .bind((SPAN_MS / leads_i64.max(1)).max(1))
    .bind(FIRST.len() as i64)
    .bind(LAST.len() as i64)
    .bind(SYLLABLES.len() as i64)
    .bind(INDUSTRIES.len() as i64)
    .bind(SUFFIXES.len() as i64)
    .execute(&mut *conn)
    .await?;

    let mut timings = Timings::new();
    let mut tx = conn.begin().await?;
    for (what, sql) in STEPS {
        let started = Instant::now();
        tx.execute(*sql)
            .await
            .with_context(|| format!("generating {what}"))?;
        timings.push((what, started.elapsed().as_secs_f64()));
    }
    tx.commit().await?;
    let started = Instant::now();
    optimize_search_index(&mut conn).await?;
    timings.push(("search index optimized", started.elapsed().as_secs_f64()));
    // Fold the large write-ahead log into the database, as a quiet server eventually would.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
    drop(conn);
    db.pool.close().await;
    Ok(timings)
}

/// Leaves the trigram index as one segment. FTS5 keeps an index as segments, merges four
/// of a level into the next a little with every later write, and one huge insert leaves
/// big segments on low levels: the benchmark's first few ten thousand leads then merged
/// them (four segments of ~17,000 pages were mid-merge after the measurement; each lead
/// read ~7 of their pages and wrote more), and finishing that merge only started the
/// next one (4,445 and 2,039 pages on level 3). An index grown lead by lead holds
/// segments that grow by level, and pays each lead's share of the merges along the way
/// (a lead's ~60 trigrams are a few hundred bytes, rewritten once a level). One segment
/// is the nearest state a generator can give without replaying a million writes.
async fn optimize_search_index(conn: &mut sqlx::AnyConnection) -> Result<()> {
    conn.execute("INSERT INTO leads_search (leads_search) VALUES ('optimize')")
        .await
        .context("optimizing the search index")?;
    Ok(())
}
