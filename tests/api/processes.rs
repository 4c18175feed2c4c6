//! The real binary as separate processes: `serve` on port 0 with graceful shutdown,
//! `migrate` and `check`, concurrent starts, and several servers sharing one database.

use std::process::Command;

use serde_json::{Value, json};

use crate::server::{
    BIN, ServerProcess, check_passes, client, drop_postgres_database, empty_postgres_database,
    get_json, post_json, routing_on, run,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_port_zero_and_stop_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let mut server = ServerProcess::start(&url);
    let health = client()
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = client()
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        dir.path().join("fresh.db").exists(),
        "the SQLite file is created on first run"
    );
    assert!(server.terminate().success(), "SIGTERM is a clean shutdown");
}

#[test]
fn help_names_every_command_and_setting() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "serve",
        "migrate",
        "check",
        "--listen",
        "--database-url",
        "LEADROUTE_LISTEN",
        "DATABASE_URL",
    ] {
        assert!(help.contains(word), "--help mentions {word}:\n{help}");
    }
}

#[test]
fn migrate_and_check_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub-dir-free.db");
    let url = format!("sqlite://{}", path.display());
    // Several processes migrating one new file at once all succeed.
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(BIN)
                .arg("migrate")
                .env("DATABASE_URL", &url)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let out = check_passes(&url, "on the freshly migrated file");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));

    // Break an invariant by hand: an account whose only Owner is inactive.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = leadroute::store::Db::connect(&url).await.unwrap();
        for sql in [
            "INSERT INTO accounts (id, name, created_at) VALUES ('a1', 'Broken', 0)",
            "INSERT INTO users (id, account_id, name, email, password_hash, role, active, position, created_at, updated_at) \
             VALUES ('u1', 'a1', 'X', 'x@x.io', 'h', 'owner', 0, 1, 0, 0)",
            "INSERT INTO routing_settings (account_id) VALUES ('a1')",
            "INSERT INTO website_forms (account_id, form_key) VALUES ('a1', 'k1')",
        ] {
            sqlx::query(sql).execute(&db.pool).await.unwrap();
        }
    });
    let out = run(&["check"], &url);
    assert!(!out.status.success());
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("every account has at least one active Owner") && report.contains("a1"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_one_postgres_database() {
    let Some((url, name)) = empty_postgres_database().await else {
        return;
    };
    // Both start on an empty database at the same instant: migrations run exactly once.
    let (a, b) = ServerProcess::start_two(&url, &[]);
    let (status, signup) = post_json(
        &a.base,
        "/api/v1/signup",
        None,
        json!({"account_name": "Acme", "name": "Olivia", "email": "o@acme.io", "password": "correct-horse-battery-42"}),
    )
    .await;
    assert_eq!(status, 201);
    let token = signup["token"].as_str().unwrap();
    let (status, me) = get_json(&b.base, "/api/v1/me", token).await;
    assert_eq!(status, 200, "a token from one process works on the other");
    assert_eq!(me["user"]["email"], "o@acme.io");

    // A member invited through B signs in through A; deactivated through B, they are out on A.
    let (_, invite) = post_json(
        &b.base,
        "/api/v1/team/invitations",
        Some(token),
        json!({"email": "s@acme.io", "name": "Sam", "role": "sales"}),
    )
    .await;
    let accept = format!(
        "/api/v1/invitations/{}/accept",
        invite["invitation"]["token"].as_str().unwrap()
    );
    let (status, sam) = post_json(
        &a.base,
        &accept,
        None,
        json!({"password": "correct-horse-battery-42"}),
    )
    .await;
    assert_eq!(status, 201);
    let sam_token = sam["token"].as_str().unwrap();
    assert_eq!(get_json(&a.base, "/api/v1/me", sam_token).await.0, 200);

    // A browser session made on A is honoured by B.
    let form = [
        ("email", "o@acme.io"),
        ("password", "correct-horse-battery-42"),
    ];
    let signin = client()
        .post(format!("{}/signin", a.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(signin.status(), 303);
    let cookie = signin.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let team = client()
        .get(format!("{}/settings/team", b.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(team.status(), 200);
    assert!(team.text().await.unwrap().contains("Sam"));

    let request = client()
        .patch(format!(
            "{}/api/v1/team/{}",
            b.base,
            sam["user"]["id"].as_str().unwrap()
        ))
        .bearer_auth(token)
        .json(&json!({"active": false}));
    assert_eq!(request.send().await.unwrap().status(), 200);
    assert_eq!(get_json(&a.base, "/api/v1/me", sam_token).await.0, 401);

    check_passes(&url, "after both servers wrote");
    drop((a, b));
    drop_postgres_database(&name).await;
}

/// Signs up Acme on server `a` and adds three Sales reps, each invited on `a` and accepted
/// on `b`: the sign-up answer and the team's ids in team order (Owner first).
pub(crate) async fn acme_with_three_reps(a: &str, b: &str) -> (Value, Vec<String>) {
    let (_, signup) = post_json(
        a,
        "/api/v1/signup",
        None,
        json!({"account_name": "Acme", "name": "Olivia", "email": "o@acme.io", "password": "correct-horse-battery-42"}),
    )
    .await;
    let token = signup["token"].as_str().unwrap().to_owned();
    let mut team = vec![signup["user"]["id"].as_str().unwrap().to_owned()];
    for i in 0..3 {
        let (_, invite) = post_json(
            a,
            "/api/v1/team/invitations",
            Some(&token),
            json!({"email": format!("rep{i}@acme.io"), "name": format!("Rep {i}"), "role": "sales"}),
        )
        .await;
        let accept = format!(
            "/api/v1/invitations/{}/accept",
            invite["invitation"]["token"].as_str().unwrap()
        );
        let (status, rep) = post_json(
            b,
            &accept,
            None,
            json!({"password": "correct-horse-battery-42"}),
        )
        .await;
        assert_eq!(status, 201);
        team.push(rep["user"]["id"].as_str().unwrap().to_owned());
    }
    (signup, team)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_decisions_are_serialised_across_two_postgres_servers() {
    let Some((url, name)) = empty_postgres_database().await else {
        return;
    };
    let (a, b) = ServerProcess::start_two(&url, &[]);
    let (signup, team) = acme_with_three_reps(&a.base, &b.base).await;
    let token = signup["token"].as_str().unwrap().to_owned();
    routing_on(&a.base, &token, Some("round_robin"), None).await;

    // 200 leads at once, spread over both processes.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let base = if i % 2 == 0 {
            a.base.clone()
        } else {
            b.base.clone()
        };
        let token = token.clone();
        tasks.spawn(async move {
            post_json(
                &base,
                "/api/v1/leads",
                Some(&token),
                json!({"name": format!("Rush {i}")}),
            )
            .await
        });
    }
    let created = tasks.join_all().await;
    assert!(created.iter().all(|(status, _)| *status == 201));
    let mut routed: Vec<(i64, String)> = created
        .iter()
        .map(|(_, lead)| {
            (
                lead["routing"]["seq"].as_i64().unwrap(),
                lead["owner"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    routed.sort();
    let seqs: Vec<i64> = routed.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        seqs,
        (1..=200).collect::<Vec<_>>(),
        "distinct, consecutive seq across processes"
    );
    for (i, (_, owner)) in routed.iter().enumerate() {
        assert_eq!(
            *owner,
            team[i % 4],
            "seq {} goes where one-at-a-time creation would send it",
            i + 1
        );
    }
    check_passes(&url, "after the rush on both servers");
    drop((a, b));
    drop_postgres_database(&name).await;
}
