//! Group commit of website leads: many submissions share a transaction, yet every routing
//! guarantee holds as if they had come one at a time, a refused or broken submission does
//! not take the others down, and several processes still route in one order.

use leadroute::domain::routing::{Strategy, preview};
use leadroute::service::intake::writer::Writer;
use leadroute::service::website::{Caller, Outcome, Submission};
use serde_json::json;

use crate::helpers::{Member, TestApp};
use crate::processes::acme_with_three_reps;
use crate::server::{
    ServerProcess, drop_postgres_database, empty_postgres_database, form_key, routing_on,
};

crate::backend_tests!(
    concurrent_submissions_share_commits_and_route_in_arrival_order,
    two_accounts_rushed_at_once_each_route_in_their_own_order,
    balanced_in_batches_matches_a_sequential_replay,
    one_broken_submission_does_not_fail_its_batch,
    one_idempotency_key_in_a_batch_makes_one_lead,
    one_idempotency_key_with_two_requests_at_once_makes_one_lead_and_one_refusal,
    the_rate_limit_counts_only_what_it_lets_through,
    a_later_batch_counts_on_from_the_stored_windows,
);

struct Team {
    owner: Member,
    reps: Vec<Member>,
    key: String,
}

/// An account with `reps` Sales reps, routing on with `strategy`, and its form key.
async fn team(app: &TestApp, reps: usize, strategy: &str) -> Team {
    team_named(app, "acme", reps, strategy).await
}

async fn team_named(app: &TestApp, name: &str, reps: usize, strategy: &str) -> Team {
    let owner = app.signup(name, &format!("o@{name}.io")).await;
    let mut members = Vec::new();
    for i in 0..reps {
        members.push(
            app.add_member(&owner, "sales", &format!("rep{i}@{name}.io"))
                .await,
        );
    }
    let rotation: Vec<&Member> = members.iter().collect();
    app.routing_on(&owner, Some(strategy), Some(&rotation))
        .await
        .expect(200);
    let key = app.form_key(&owner).await;
    Team {
        owner,
        reps: members,
        key,
    }
}

fn lead(name: &str) -> Submission {
    Submission {
        name: Some(name.to_owned()),
        email: Some(format!(
            "{}@example.com",
            name.to_lowercase().replace(' ', ".")
        )),
        ..Default::default()
    }
}

/// Sends `n` submissions through one writer at once; their answers in sending order.
async fn rush(
    writer: &Writer,
    key: &str,
    n: usize,
    idempotency_key: Option<&str>,
    rate_limit: u32,
) -> Vec<Result<Outcome, leadroute::error::Error>> {
    rush_to(writer, &[key], n, idempotency_key, rate_limit).await
}

/// As [`rush`], submission `i` to form `keys[i % keys.len()]`.
async fn rush_to(
    writer: &Writer,
    keys: &[&str],
    n: usize,
    idempotency_key: Option<&str>,
    rate_limit: u32,
) -> Vec<Result<Outcome, leadroute::error::Error>> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (writer, key) = (writer.clone(), keys[i % keys.len()].to_owned());
        let idem = idempotency_key.map(str::to_owned);
        tasks.spawn(async move {
            let caller = Caller {
                address: "203.0.113.9",
                idempotency_key: idem.as_deref(),
                rate_limit,
            };
            // Retries under one key send the same body.
            let name = match &idem {
                Some(_) => "Retried".to_owned(),
                None => format!("Rush {i}"),
            };
            (i, writer.submit(&key, lead(&name), caller).await)
        });
    }
    let mut answers = tasks.join_all().await;
    answers.sort_by_key(|(i, _)| *i);
    answers.into_iter().map(|(_, a)| a).collect()
}

async fn owners_in_seq_order(db: &leadroute::store::Db, account_id: &str) -> Vec<(i64, String)> {
    sqlx::query_as(
        "SELECT routing_seq, owner_id FROM leads WHERE account_id = $1 \
         AND routing_seq IS NOT NULL ORDER BY routing_seq",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

async fn concurrent_submissions_share_commits_and_route_in_arrival_order(app: TestApp) {
    let t = team(&app, 3, "round_robin").await;
    let writer = Writer::start(app.db.clone());
    let answers = rush(&writer, &t.key, 300, None, 0).await;
    let created: Vec<String> = answers
        .into_iter()
        .map(|a| match a {
            Ok(Outcome::Created(id)) => id,
            other => panic!("{other:?}"),
        })
        .collect();
    let (batches, submissions) = writer.stats();
    assert_eq!(submissions, 300);
    assert!(
        batches < 300,
        "submissions waiting together share a transaction ({batches} transactions)"
    );
    let routed = owners_in_seq_order(&app.db, &t.owner.account_id).await;
    assert_eq!(
        routed.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (1..=300).collect::<Vec<_>>(),
        "distinct, consecutive seq"
    );
    for (i, (_, owner)) in routed.iter().enumerate() {
        assert_eq!(
            *owner,
            t.reps[i % 3].id,
            "seq {}: the rotation in order",
            i + 1
        );
    }
    // Every acknowledged lead is stored, with its history and its rep's notification.
    for id in &created {
        let r = app
            .get(&format!("/api/v1/leads/{id}"), &t.owner.token)
            .await;
        r.expect(200);
        assert_eq!(r.json["source"], "website");
    }
    let notes: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE kind = 'lead_routed'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(notes, 300);
    app.check().await;
}

/// A batch locks the accounts it starts with; a submission for another account arriving
/// while it is open waits for the next one. Either way each account routes in one order.
async fn two_accounts_rushed_at_once_each_route_in_their_own_order(app: TestApp) {
    let teams = [
        team_named(&app, "acme", 3, "round_robin").await,
        team_named(&app, "globex", 2, "round_robin").await,
    ];
    let writer = Writer::start(app.db.clone());
    for round in 1..=3 {
        let answers = rush_to(&writer, &[&teams[0].key, &teams[1].key], 200, None, 0).await;
        assert!(answers.iter().all(|a| matches!(a, Ok(Outcome::Created(_)))));
        for t in &teams {
            let routed = owners_in_seq_order(&app.db, &t.owner.account_id).await;
            assert_eq!(
                routed.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
                (1..=100 * round).collect::<Vec<_>>(),
                "each account's own gapless seq"
            );
            for (i, (_, owner)) in routed.iter().enumerate() {
                assert_eq!(*owner, t.reps[i % t.reps.len()].id, "seq {}", i + 1);
            }
        }
    }
    let (batches, submissions) = writer.stats();
    assert_eq!(submissions, 600);
    assert!(batches < 600, "shared transactions ({batches})");
    app.check().await;
}

async fn balanced_in_batches_matches_a_sequential_replay(app: TestApp) {
    let t = team(&app, 4, "balanced").await;
    // Uneven start, given by hand: rep 0 has 5 open leads, rep 1 has 2.
    for (rep, n) in [(0, 5), (1, 2)] {
        for _ in 0..n {
            app.post(
                "/api/v1/leads",
                Some(&t.owner.token),
                json!({"name": "Busy", "owner_id": t.reps[rep].id}),
            )
            .await
            .expect(201);
        }
    }
    let candidates = {
        let mut conn = app.db.conn().await.unwrap();
        leadroute::store::routing::candidates(&mut conn, &t.owner.account_id)
            .await
            .unwrap()
    };
    let rotation: Vec<String> = t.reps.iter().map(|m| m.id.clone()).collect();
    let expected: Vec<String> = preview(Strategy::Balanced, &rotation, &candidates, 1, 150)
        .into_iter()
        .map(|i| candidates[i].id.clone())
        .collect();
    let writer = Writer::start(app.db.clone());
    assert!(
        rush(&writer, &t.key, 150, None, 0)
            .await
            .iter()
            .all(Result::is_ok)
    );
    let routed: Vec<String> = owners_in_seq_order(&app.db, &t.owner.account_id)
        .await
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    assert_eq!(routed, expected, "the owners one-at-a-time routing gives");
    assert!(writer.stats().0 < 150, "shared transactions");
    app.check().await;
}

/// A trigger that makes the database refuse one lead by name, as a broken row would.
async fn refuse_leads_named(app: &TestApp, name: &str) {
    let statements: Vec<String> = match app.db.backend {
        leadroute::store::Backend::Sqlite => vec![format!(
            "CREATE TRIGGER refuse BEFORE INSERT ON leads WHEN NEW.name = '{name}' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )],
        leadroute::store::Backend::Postgres => vec![
            format!(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN \
                 IF NEW.name = '{name}' THEN RAISE EXCEPTION 'refused'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql"
            ),
            "CREATE TRIGGER refuse BEFORE INSERT ON leads FOR EACH ROW EXECUTE FUNCTION refuse()"
                .to_owned(),
        ],
    };
    for sql in statements {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
}

async fn one_broken_submission_does_not_fail_its_batch(app: TestApp) {
    let t = team(&app, 2, "round_robin").await;
    refuse_leads_named(&app, "Rush 7").await;
    let writer = Writer::start(app.db.clone());
    let answers = rush(&writer, &t.key, 40, None, 0).await;
    for (i, answer) in answers.iter().enumerate() {
        match (i, answer) {
            (7, Err(leadroute::error::Error::Internal(_))) => {}
            (7, other) => panic!("the refused lead fails alone: {other:?}"),
            (_, Ok(Outcome::Created(_))) => {}
            (_, other) => panic!("lead {i}: {other:?}"),
        }
    }
    let routed = owners_in_seq_order(&app.db, &t.owner.account_id).await;
    assert_eq!(
        routed.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (1..=39).collect::<Vec<_>>(),
        "the refused lead used no seq"
    );
    app.check().await;
}

async fn one_idempotency_key_in_a_batch_makes_one_lead(app: TestApp) {
    let t = team(&app, 2, "round_robin").await;
    let writer = Writer::start(app.db.clone());
    let answers = rush(&writer, &t.key, 30, Some("retry-1"), 0).await;
    let ids: Vec<(bool, String)> = answers
        .into_iter()
        .map(|a| match a {
            Ok(Outcome::Created(id)) => (true, id),
            Ok(Outcome::Repeated(id)) => (false, id),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids.iter().filter(|(created, _)| *created).count(), 1);
    assert!(
        ids.iter().all(|(_, id)| *id == ids[0].1),
        "every answer names one lead"
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
    // A later batch still sees the key.
    let again = rush(&writer, &t.key, 3, Some("retry-1"), 0).await;
    assert!(
        again
            .iter()
            .all(|a| matches!(a, Ok(Outcome::Repeated(id)) if *id == ids[0].1))
    );
    app.check().await;
}

/// Submits a lead named each of `names` under one `Idempotency-Key`, all at once.
async fn at_once_under(
    writer: &Writer,
    form_key: &str,
    idempotency_key: &str,
    names: &[&str],
) -> Vec<Result<Outcome, leadroute::error::Error>> {
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let (writer, form_key) = (writer.clone(), form_key.to_owned());
        let (idem, name) = (idempotency_key.to_owned(), name.to_string());
        tasks.spawn(async move {
            let caller = Caller {
                address: "203.0.113.9",
                idempotency_key: Some(&idem),
                rate_limit: 0,
            };
            writer.submit(&form_key, lead(&name), caller).await
        });
    }
    tasks.join_all().await
}

async fn one_idempotency_key_with_two_requests_at_once_makes_one_lead_and_one_refusal(
    app: TestApp,
) {
    let t = team(&app, 2, "round_robin").await;
    let writer = Writer::start(app.db.clone());
    // Different bodies under one key, at once (one batch or two): one lead, one 422.
    let answers = at_once_under(&writer, &t.key, "retry-2", &["Jane Roe", "John Doe"]).await;
    let created = answers
        .iter()
        .filter(|a| matches!(a, Ok(Outcome::Created(_))))
        .count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(
        answers.iter().any(|a| matches!(
            a,
            Err(leadroute::error::Error::Validation(f)) if f.get("Idempotency-Key").is_some()
        )),
        "{answers:?}"
    );
    // Equal bodies under one key, at once: both name the same lead.
    let ids: Vec<String> = at_once_under(&writer, &t.key, "retry-3", &["Same", "Same"])
        .await
        .into_iter()
        .map(|a| match a {
            Ok(Outcome::Created(id) | Outcome::Repeated(id)) => id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
    app.check().await;
}

async fn the_rate_limit_counts_only_what_it_lets_through(app: TestApp) {
    let t = team(&app, 2, "round_robin").await;
    let writer = Writer::start(app.db.clone());
    let answers = rush(&writer, &t.key, 25, None, 10).await;
    let created = answers.iter().filter(|a| a.is_ok()).count();
    let refused = answers
        .iter()
        .filter(|a| matches!(a, Err(leadroute::error::Error::RateLimited { .. })))
        .count();
    assert_eq!((created, refused), (10, 15));
    let hits: Vec<i64> = sqlx::query_scalar("SELECT hits FROM rate_limits ORDER BY bucket")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(hits, vec![10, 10], "refused requests are not counted");
    let routed = owners_in_seq_order(&app.db, &t.owner.account_id).await;
    assert_eq!(routed.len(), 10);
    app.check().await;
}

async fn a_later_batch_counts_on_from_the_stored_windows(app: TestApp) {
    let t = team(&app, 2, "round_robin").await;
    let writer = Writer::start(app.db.clone());
    let first = rush(&writer, &t.key, 6, None, 10).await;
    assert!(first.iter().all(Result::is_ok), "{first:?}");
    let second = rush(&writer, &t.key, 8, None, 10).await;
    let created = second.iter().filter(|a| a.is_ok()).count();
    assert_eq!(created, 4, "the window held 6 of 10 already");
    let refused = second
        .iter()
        .filter(|a| matches!(a, Err(leadroute::error::Error::RateLimited { .. })))
        .count();
    assert_eq!(refused, 4, "{second:?}");
    let hits: Vec<i64> = sqlx::query_scalar("SELECT hits FROM rate_limits ORDER BY bucket")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(hits, vec![10, 10]);
    // One lead per transaction (the writer's fallback path) reads the same windows.
    let sub = Submission {
        name: Some("Late".to_owned()),
        email: Some("late@example.com".to_owned()),
        ..Default::default()
    };
    let caller = Caller {
        address: "203.0.113.9",
        idempotency_key: None,
        rate_limit: 10,
    };
    assert!(matches!(
        leadroute::service::website::submit(&app.db, &t.key, sub, caller).await,
        Err(leadroute::error::Error::RateLimited { .. })
    ));
    app.check().await;
}

/// Two server processes on one PostgreSQL database, website leads posted to both at once:
/// each process commits batches, and the account's routing lock keeps one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn website_leads_on_two_postgres_servers_route_in_one_order() {
    let Some((url, name)) = empty_postgres_database().await else {
        return;
    };
    // One test client is one address: the per-address limit would refuse it.
    let env = [("LEADROUTE_PUBLIC_RATE_LIMIT", "0")];
    let (a, b) = ServerProcess::start_two(&url, &env);
    let (signup, team) = acme_with_three_reps(&a.base, &b.base).await;
    let token = signup["token"].as_str().unwrap().to_owned();
    routing_on(&a.base, &token, None, None).await;
    let key = form_key(&b.base, &token).await;
    let client = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let (client, path) = (client.clone(), format!("{base}/f/{key}"));
        tasks.spawn(async move {
            let r = client
                .post(path)
                .json(&json!({"name": format!("Rush {i}"), "email": format!("r{i}@example.com")}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        });
    }
    let statuses = tasks.join_all().await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let db = leadroute::store::Db::connect(&url).await.unwrap();
    let account_id = signup["account"]["id"].as_str().unwrap();
    let routed = owners_in_seq_order(&db, account_id).await;
    assert_eq!(
        routed.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (1..=300).collect::<Vec<_>>(),
        "distinct, consecutive seq across processes"
    );
    for (i, (_, owner)) in routed.iter().enumerate() {
        assert_eq!(*owner, team[i % 4], "seq {}: the team in order", i + 1);
    }
    assert!(leadroute::store::check::run(&db).await.unwrap().is_empty());
    db.pool.close().await;
    drop((a, b));
    drop_postgres_database(&name).await;
}
