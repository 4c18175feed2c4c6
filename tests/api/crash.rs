//! Crash safety: website intake at full speed while the real server is killed with SIGKILL,
//! several times. Every lead that got a 201 must survive whole (routed, with its receipt,
//! history events and notification), no lead may exist half-written, seq stays gapless and in
//! round-robin order, and `leadroute check` passes after every crash and at the end.

use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::server::{
    ServerProcess, check_passes, drop_postgres_database, empty_postgres_database, form_key,
    get_json, post_json, routing_on,
};

const ROUNDS: usize = 3;
const WORKERS: usize = 16;
const SERVER_ENV: &[(&str, &str)] = &[
    ("LEADROUTE_PUBLIC_RATE_LIMIT", "0"),
    ("LEADROUTE_LOGIN_RATE_LIMIT", "0"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_website_intake_loses_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    crash_and_verify("sqlite", &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_website_intake_loses_nothing_on_postgres() {
    let Some((url, name)) = empty_postgres_database().await else {
        return;
    };
    crash_and_verify("postgres", &url).await;
    drop_postgres_database(&name).await;
}

/// One website submission the test sent.
struct Sent {
    name: String,
    email: String,
}

/// What the intake workers of one round saw.
#[derive(Default)]
struct Tally {
    /// Answered 201: (lead id, what was sent).
    acked: Vec<(String, Sent)>,
    /// Sent after the kill began and not answered (cut off in flight, or refused).
    failed_after_kill: Vec<Sent>,
    /// Of those, the ones that had a connection (cut off mid-request, not refused).
    cut_off: usize,
    /// Anything else: a non-201 answer, or a failure while the server should be up.
    unexpected: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.acked.extend(other.acked);
        self.failed_after_kill.extend(other.failed_after_kill);
        self.cut_off += other.cut_off;
        self.unexpected.extend(other.unexpected);
    }
}

/// Posts website leads as fast as the server takes them until a request fails after the kill.
async fn intake(
    client: reqwest::Client,
    url: String,
    tag: String,
    killed: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
) -> Tally {
    let mut tally = Tally::default();
    for n in 0.. {
        let sent = Sent {
            name: format!("Crash {tag}-{n}"),
            email: format!("crash.{tag}.{n}@example.com"),
        };
        let body = json!({"name": sent.name, "email": sent.email, "message": "crash test"});
        let outcome = match client.post(&url).json(&body).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                response.json::<Value>().await.map(|body| (status, body))
            }
            Err(err) => Err(err),
        };
        match outcome {
            Ok((201, body)) => match body["id"].as_str() {
                Some(id) => {
                    tally.acked.push((id.to_owned(), sent));
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                None => tally.unexpected.push(format!("201 without an id: {body}")),
            },
            Ok((status, body)) => tally.unexpected.push(format!("{status}: {body}")),
            Err(err) if killed.load(Ordering::SeqCst) => {
                if !err.is_connect() {
                    tally.cut_off += 1;
                }
                tally.failed_after_kill.push(sent);
                break;
            }
            Err(err) => tally
                .unexpected
                .push(format!("failed before the kill: {err:?}")),
        }
        if tally.unexpected.len() > 50 {
            break;
        }
    }
    tally
}

/// Sends SIGKILL and waits for the process to be gone.
async fn kill_hard(mut server: ServerProcess) -> ExitStatus {
    server.signal("KILL");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.try_wait() {
            return status;
        }
        assert!(Instant::now() < deadline, "the server survived SIGKILL");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Signs up, adds three sales reps, turns round-robin routing on; (token, form key, team ids).
async fn set_up(base: &str) -> (String, String, Vec<String>) {
    let (status, signup) = post_json(
        base,
        "/api/v1/signup",
        None,
        json!({"account_name": "Crashco", "name": "Olivia", "email": "o@crash.io", "password": "correct-horse-battery-42"}),
    )
    .await;
    assert_eq!(status, 201, "{signup}");
    let token = signup["token"].as_str().unwrap().to_owned();
    for i in 0..3 {
        let (status, invite) = post_json(
            base,
            "/api/v1/team/invitations",
            Some(&token),
            json!({"email": format!("rep{i}@crash.io"), "name": format!("Rep {i}"), "role": "sales"}),
        )
        .await;
        assert_eq!(status, 201, "{invite}");
        let accept = format!(
            "/api/v1/invitations/{}/accept",
            invite["invitation"]["token"].as_str().unwrap()
        );
        let (status, rep) = post_json(
            base,
            &accept,
            None,
            json!({"password": "correct-horse-battery-42"}),
        )
        .await;
        assert_eq!(status, 201, "{rep}");
    }
    routing_on(base, &token, Some("round_robin"), None).await;
    let form_key = form_key(base, &token).await;
    let (status, team) = get_json(base, "/api/v1/team", &token).await;
    assert_eq!(status, 200, "{team}");
    let team: Vec<String> = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(team.len(), 4, "the Owner and three reps");
    (token, form_key, team)
}

/// One round: intake at full speed from many tasks, SIGKILL 300-700 ms after the first 201.
async fn crash_round(backend: &str, server: ServerProcess, form_key: &str, round: usize) -> Tally {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let url = format!("{}/f/{form_key}", server.base);
    let killed = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        workers.spawn(intake(
            client.clone(),
            url.clone(),
            format!("r{round}w{w}"),
            killed.clone(),
            answered.clone(),
        ));
    }
    // The load is on once the server answers (a busy machine may take a moment to get there).
    let deadline = Instant::now() + Duration::from_secs(10);
    while answered.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let after = 300 + rand::random::<u64>() % 400;
    tokio::time::sleep(Duration::from_millis(after)).await;
    killed.store(true, Ordering::SeqCst);
    let status = kill_hard(server).await;
    assert_eq!(
        status.signal(),
        Some(9),
        "round {round}: the server was still running until SIGKILL ({status})"
    );
    let mut tally = Tally::default();
    for worker in workers.join_all().await {
        tally.merge(worker);
    }
    eprintln!(
        "crash[{backend}] round {round}: SIGKILL after {after} ms: {} acknowledged, {} cut off in flight, {} refused",
        tally.acked.len(),
        tally.cut_off,
        tally.failed_after_kill.len() - tally.cut_off
    );
    assert!(
        tally.unexpected.is_empty(),
        "round {round}: unexpected answers or failures before the kill: {:#?}",
        &tally.unexpected[..tally.unexpected.len().min(10)]
    );
    assert!(
        !tally.acked.is_empty(),
        "round {round}: no lead was acknowledged before the kill"
    );
    assert!(
        tally.cut_off > 0,
        "round {round}: the kill landed while requests were in flight"
    );
    tally
}

async fn crash_and_verify(backend: &str, url: &str) {
    let started = Instant::now();
    let first = ServerProcess::start_with_env(url, SERVER_ENV);
    let (token, form_key, team) = set_up(&first.base).await;

    let mut all = Tally::default();
    let mut per_round = Vec::new();
    let mut server = Some(first);
    for round in 1..=ROUNDS {
        let running = server
            .take()
            .unwrap_or_else(|| ServerProcess::start_with_env(url, SERVER_ENV));
        let tally = crash_round(backend, running, &form_key, round).await;
        per_round.push(tally.acked.len());
        all.merge(tally);
        // Straight after the crash, before any restart: the data already holds together.
        check_passes(url, &format!("right after SIGKILL in round {round}"));
    }

    // Restart: every acknowledged lead is there, whole, through the API.
    let mut server = ServerProcess::start_with_env(url, SERVER_ENV);
    let client = reqwest::Client::new();
    let mut reads = tokio::task::JoinSet::new();
    let acked: Vec<(String, String, String)> = all
        .acked
        .iter()
        .map(|(id, s)| (id.clone(), s.name.clone(), s.email.clone()))
        .collect();
    for chunk in acked.chunks(acked.len().div_ceil(WORKERS)) {
        let (client, base, token, chunk) = (
            client.clone(),
            server.base.clone(),
            token.clone(),
            chunk.to_vec(),
        );
        reads.spawn(async move {
            let mut found = Vec::new();
            for (id, name, email) in chunk {
                let response = client
                    .get(format!("{base}/api/v1/leads/{id}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let lead: Value = response.json().await.unwrap_or(Value::Null);
                found.push((id, name, email, status, lead));
            }
            found
        });
    }
    let mut seq_of_acked = HashMap::new();
    let mut found = 0;
    for (id, name, email, status, lead) in reads.join_all().await.into_iter().flatten() {
        assert_eq!(
            status, 200,
            "acknowledged lead {id} ({name}) is lost: {lead}"
        );
        found += 1;
        assert_eq!(lead["id"], id.as_str(), "{lead}");
        assert_eq!(lead["name"], name.as_str(), "{lead}");
        assert_eq!(lead["email"], email.as_str(), "{lead}");
        assert_eq!(lead["source"], "website", "{lead}");
        assert_eq!(lead["status"], "open", "{lead}");
        let owner = lead["owner"]["id"].as_str().unwrap_or_default();
        assert!(
            team.iter().any(|m| m == owner),
            "lead {id} is owned by a team member: {lead}"
        );
        assert_eq!(lead["routing"]["strategy"], "round_robin", "{lead}");
        let seq = lead["routing"]["seq"]
            .as_i64()
            .unwrap_or_else(|| panic!("lead {id} has a routing seq: {lead}"));
        assert!(
            seq_of_acked.insert(seq, id.clone()).is_none(),
            "seq {seq} is given to two acknowledged leads"
        );
    }
    assert!(
        server.terminate().success(),
        "the final server stops cleanly"
    );

    // The database as a whole, by SQL (one account in it).
    let db = leadroute::store::Db::connect(url).await.unwrap();
    let (stored, routed_website, max_seq, distinct_seq, distinct_names): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN source = 'website' AND routing_seq IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(MAX(routing_seq), 0) AS BIGINT), \
             CAST(COUNT(DISTINCT routing_seq) AS BIGINT), CAST(COUNT(DISTINCT name) AS BIGINT) FROM leads",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let next_seq: i64 = sqlx::query_scalar("SELECT CAST(next_seq AS BIGINT) FROM routing_settings")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    // A lead is whole when it is a routed website lead with its receipt, exactly one created
    // and one routed event (to its owner) and nothing else, and exactly one notification, to
    // its owner.
    let half_written: Vec<String> = sqlx::query_scalar(
        "SELECT l.id FROM leads l WHERE l.source <> 'website' OR l.owner_id IS NULL \
         OR l.routing_seq IS NULL OR l.routing_receipt IS NULL OR l.status <> 'open' \
         OR (SELECT COUNT(*) FROM lead_events e WHERE e.lead_id = l.id AND e.kind = 'created') <> 1 \
         OR (SELECT COUNT(*) FROM lead_events e WHERE e.lead_id = l.id AND e.kind = 'routed' \
             AND e.to_owner_id = l.owner_id) <> 1 \
         OR (SELECT COUNT(*) FROM lead_events e WHERE e.lead_id = l.id) <> 2 \
         OR (SELECT COUNT(*) FROM notifications n WHERE n.lead_id = l.id AND n.user_id = l.owner_id \
             AND n.kind = 'lead_routed') <> 1 \
         OR (SELECT COUNT(*) FROM notifications n WHERE n.lead_id = l.id) <> 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let by_seq: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT CAST(routing_seq AS BIGINT), owner_id, id, name FROM leads \
         WHERE routing_seq IS NOT NULL ORDER BY routing_seq",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    db.pool.close().await;

    let acknowledged = all.acked.len();
    eprintln!(
        "crash[{backend}]: acknowledged per round {per_round:?} = {acknowledged}, found {found} of them; \
         {stored} stored ({} committed but cut off before the answer), max seq {max_seq}, {:.1} s",
        stored - i64::try_from(acknowledged).unwrap(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(found, acknowledged, "every acknowledged lead is found");
    assert!(
        half_written.is_empty(),
        "{} lead(s) are half-written, e.g. {:?}",
        half_written.len(),
        &half_written[..half_written.len().min(5)]
    );
    assert_eq!(
        routed_website, stored,
        "every stored lead is a routed website lead"
    );
    assert_eq!(max_seq, routed_website, "seq runs 1..=N with no gaps");
    assert_eq!(distinct_seq, routed_website, "no seq is used twice");
    assert_eq!(
        next_seq - 1,
        max_seq,
        "the next seq follows the last one given"
    );
    assert_eq!(distinct_names, stored, "no submission was stored twice");
    for (i, (seq, owner, _, _)) in by_seq.iter().enumerate() {
        assert_eq!(*seq, i64::try_from(i).unwrap() + 1, "seq is gapless");
        assert_eq!(
            *owner,
            team[i % team.len()],
            "seq {seq} goes where one-at-a-time round-robin would send it, across crashes"
        );
    }
    // Every acknowledged lead keeps the seq its answer-time read showed, and every stored lead
    // comes from a request that was acknowledged or cut off by a kill (nothing phantom).
    let ids_by_name: HashMap<&str, &str> = by_seq
        .iter()
        .map(|(_, _, id, name)| (name.as_str(), id.as_str()))
        .collect();
    for (seq, id) in &seq_of_acked {
        assert_eq!(by_seq[usize::try_from(*seq).unwrap() - 1].2, *id);
    }
    for (id, sent) in &all.acked {
        assert_eq!(ids_by_name.get(sent.name.as_str()), Some(&id.as_str()));
    }
    let cut_off_names: HashSet<&str> = all
        .failed_after_kill
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    let acked_names: HashSet<&str> = all.acked.iter().map(|(_, s)| s.name.as_str()).collect();
    let unacknowledged: Vec<&str> = by_seq
        .iter()
        .map(|(_, _, _, name)| name.as_str())
        .filter(|name| !acked_names.contains(name))
        .collect();
    for name in &unacknowledged {
        assert!(
            cut_off_names.contains(name),
            "stored lead {name:?} was never acknowledged nor cut off by a kill"
        );
    }
    assert!(
        unacknowledged.len() <= all.cut_off,
        "{} unacknowledged leads stored, but only {} requests were cut off in flight",
        unacknowledged.len(),
        all.cut_off
    );

    check_passes(url, "after the last restart");
}
