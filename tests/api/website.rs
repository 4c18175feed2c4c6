//! The website form and notifications: every sentence of the contract for `POST /f/{key}`,
//! the settings API, and who sees which notification.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::{Value, json};

use crate::helpers::{Member, Resp, TestApp};

crate::backend_tests!(
    settings_are_for_owners_and_managers,
    json_and_form_posts_create_website_leads,
    redirects_go_only_where_the_account_allows,
    bad_input_gets_the_right_status_and_no_lead,
    rotating_the_key_stops_the_old_one_at_once,
    the_honeypot_is_accepted_and_stored_nowhere,
    idempotency_keys_return_the_first_lead,
    an_idempotency_key_reused_with_another_request_is_refused,
    routed_website_leads_notify_their_rep_once,
    notifications_are_private_and_can_be_marked_read,
);

fn raw(
    path: &str,
    content_type: &str,
    body: impl Into<Body>,
    extra: &[(&str, &str)],
) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type);
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    b.body(body.into()).unwrap()
}

async fn post_json(app: &TestApp, key: &str, body: Value, extra: &[(&str, &str)]) -> Resp {
    app.send(raw(
        &format!("/f/{key}"),
        "application/json",
        body.to_string(),
        extra,
    ))
    .await
}

async fn post_form(app: &TestApp, key: &str, pairs: &[(&str, &str)]) -> Resp {
    let body = serde_urlencoded::to_string(pairs).unwrap();
    app.send(raw(
        &format!("/f/{key}"),
        "application/x-www-form-urlencoded",
        body,
        &[],
    ))
    .await
}

async fn lead_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM leads")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn settings_are_for_owners_and_managers(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let manager = app.add_member(&owner, "manager", "m@acme.io").await;
    let sales = app.add_member(&owner, "sales", "s@acme.io").await;
    let r = app.get("/api/v1/website", &manager.token).await;
    r.expect(200);
    let key = r.json["form_key"].as_str().unwrap();
    assert_eq!(r.json["form_url"], format!("http://app.test/f/{key}"));
    assert_eq!(r.json["chat_url"], format!("http://app.test/chat/{key}"));
    let html = r.json["embed_html"].as_str().unwrap();
    assert!(
        html.contains(&format!("action=\"http://app.test/f/{key}\""))
            && html.contains("name=\"email\"")
    );
    app.get("/api/v1/website", &sales.token).await.expect(403);
    app.post("/api/v1/website/rotate-key", Some(&sales.token), json!({}))
        .await
        .expect(403);
    async fn put(app: &TestApp, who: &Member, body: Value) -> Resp {
        app.call(Method::PUT, "/api/v1/website", Some(&who.token), Some(body))
            .await
    }
    put(&app, &sales, json!({"allowed_redirects": []}))
        .await
        .expect(403);
    put(
        &app,
        &owner,
        json!({"allowed_redirects": ["javascript:alert(1)"]}),
    )
    .await
    .expect(422);
    put(&app, &owner, json!({"allowed_redirects": ["//evil.test"]}))
        .await
        .expect(422);
    let r = put(
        &app,
        &owner,
        json!({"allowed_redirects": ["https://acme.io/thanks", " https://acme.io/thanks "]}),
    )
    .await;
    r.expect(200);
    assert_eq!(
        r.json["allowed_redirects"],
        json!(["https://acme.io/thanks"])
    );
    // The hosted form page is public and names the account.
    let page = app.call(Method::GET, format!("/f/{key}"), None, None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("Contact Acme") && page.text.contains("name=\"website\""),
        "{}",
        page.text
    );
    assert_eq!(
        app.call(Method::GET, "/f/nope", None, None).await.status,
        404
    );
}

async fn json_and_form_posts_create_website_leads(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;
    let r = post_json(&app, &key, json!({"name": "Jane Roe", "email": "JANE@roe.io", "phone": "+1 555", "company": "Roe", "message": "Call me"}), &[("origin", "https://acme.io")]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    let id = r.json["id"].as_str().unwrap();
    assert_eq!(r.json.as_object().unwrap().len(), 1, "only the id");
    let lead = app.get(format!("/api/v1/leads/{id}"), &owner.token).await;
    assert_eq!(lead.json["source"], "website");
    assert_eq!(lead.json["email"], "jane@roe.io");
    assert_eq!(lead.json["notes"], "Call me");
    assert!(lead.json["created_by"].is_null());
    assert!(lead.json["owner"].is_null(), "routing is off");

    let r = post_form(&app, &key, &[("name", "Form Person"), ("email", "f@p.io")]).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers[header::LOCATION], format!("/f/{key}/thanks"));
    let thanks = app
        .call(Method::GET, format!("/f/{key}/thanks"), None, None)
        .await;
    assert!(thanks.text.contains("Thank you!") && thanks.text.contains("Acme"));
    assert_eq!(lead_count(&app).await, 2);
    let history = app
        .get(format!("/api/v1/leads/{id}/history"), &owner.token)
        .await;
    assert_eq!(history.json["events"][0]["detail"], "Came in from Website");
    assert!(history.json["events"][0]["actor"].is_null());
    // Preflight for a site's own script.
    let pre = app
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri(format!("/f/{key}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(pre.status, 204);
    assert!(
        pre.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("idempotency-key")
    );
}

async fn redirects_go_only_where_the_account_allows(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;
    app.call(
        Method::PUT,
        "/api/v1/website",
        Some(&owner.token),
        Some(json!({"allowed_redirects": ["https://acme.io/"]})),
    )
    .await
    .expect(200);
    let r = post_form(
        &app,
        &key,
        &[
            ("name", "A"),
            ("email", "a@a.io"),
            ("redirect", "https://acme.io/thanks?x=1"),
        ],
    )
    .await;
    assert_eq!(
        (
            r.status.as_u16(),
            r.headers[header::LOCATION].to_str().unwrap()
        ),
        (303, "https://acme.io/thanks?x=1")
    );
    let r = post_form(
        &app,
        &key,
        &[
            ("name", "B"),
            ("email", "b@b.io"),
            ("redirect", "https://evil.test/"),
        ],
    )
    .await;
    assert_eq!(
        r.headers[header::LOCATION],
        format!("/f/{key}/thanks"),
        "not allowed: our thank-you page"
    );
}

async fn bad_input_gets_the_right_status_and_no_lead(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;
    let path = format!("/f/{key}");
    post_json(
        &app,
        "no-such-key",
        json!({"name": "A", "email": "a@a.io"}),
        &[],
    )
    .await
    .expect(404);
    assert_eq!(
        post_form(&app, "no-such-key", &[("name", "A"), ("email", "a@a.io")])
            .await
            .status,
        404
    );
    let r = post_json(&app, &key, json!({"name": "", "email": "nope", "phone": "1".repeat(51), "company": "c".repeat(201), "message": "m".repeat(5001)}), &[]).await;
    r.expect(422);
    for f in ["name", "email", "phone", "company", "message"] {
        assert!(r.field(f).is_some(), "{f}: {}", r.text);
    }
    post_json(&app, &key, json!({"name": "A"}), &[])
        .await
        .expect(422);
    post_json(&app, &key, json!({"name": 5, "email": "a@a.io"}), &[])
        .await
        .expect(422);
    app.send(raw(&path, "application/json", "{not json", &[]))
        .await
        .expect(400);
    app.send(raw(&path, "application/json", "", &[]))
        .await
        .expect(400);
    app.send(raw(
        &path,
        "application/json",
        b"{\"name\": \"\xff\xfe\"}".to_vec(),
        &[],
    ))
    .await
    .expect(400);
    app.send(raw(&path, "text/plain", "name=A&email=a@a.io", &[]))
        .await
        .expect(400);
    let r = app
        .send(raw(
            &path,
            "application/x-www-form-urlencoded",
            "name=%FF%FE&email=a%40a.io",
            &[],
        ))
        .await;
    assert_eq!(r.status, 400, "a form post gets a page, not JSON");
    let big = format!(
        "{{\"name\": \"A\", \"email\": \"a@a.io\", \"message\": \"{}\"}}",
        "x".repeat(64 * 1024)
    );
    app.send(raw(&path, "application/json", big, &[]))
        .await
        .expect(413);
    let megabyte = format!("name=A&email=a%40a.io&message={}", "x".repeat(1024 * 1024));
    let r = app
        .send(raw(
            &path,
            "application/x-www-form-urlencoded",
            megabyte,
            &[],
        ))
        .await;
    assert_eq!(r.status, 413);
    // A person posting the form sees the reasons next to the fields, with what they typed.
    let r = post_form(
        &app,
        &key,
        &[
            ("name", "Jane <b>"),
            ("email", "jane-at-roe"),
            ("message", "Hi"),
        ],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("Email is not a valid email address."));
    assert!(r.text.contains("value=\"jane-at-roe\"") && r.text.contains(">Hi</textarea>"));
    assert!(r.text.contains("Jane &#60;b&#62;") || r.text.contains("Jane &lt;b&gt;"));
    assert_eq!(lead_count(&app).await, 0, "no lead from any of it");
}

async fn rotating_the_key_stops_the_old_one_at_once(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let old = app.form_key(&owner).await;
    let r = app
        .post("/api/v1/website/rotate-key", Some(&owner.token), json!({}))
        .await;
    r.expect(200);
    let new = r.json["form_key"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    post_json(&app, &old, json!({"name": "A", "email": "a@a.io"}), &[])
        .await
        .expect(404);
    assert_eq!(
        app.call(Method::GET, format!("/f/{old}"), None, None)
            .await
            .status,
        404
    );
    assert_eq!(
        post_json(&app, &new, json!({"name": "A", "email": "a@a.io"}), &[])
            .await
            .status,
        201
    );
    let audit = app
        .get("/api/v1/audit?action=website.key_rotated", &owner.token)
        .await;
    let entry = &audit.json["entries"][0];
    assert_eq!(entry["actor"]["id"], owner.id.as_str());
    assert!(
        entry["before"]["form_key"]
            .as_str()
            .unwrap()
            .starts_with(&old[..8])
    );
}

async fn the_honeypot_is_accepted_and_stored_nowhere(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;
    let r = post_json(
        &app,
        &key,
        json!({"name": "Bot", "email": "bot@spam.io", "website": "http://spam"}),
        &[],
    )
    .await;
    assert_eq!(r.status, 201);
    assert!(r.json["id"].is_string());
    let r = post_form(
        &app,
        &key,
        &[
            ("name", "Bot"),
            ("email", "bot@spam.io"),
            ("website", "http://spam"),
        ],
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(lead_count(&app).await, 0);
}

async fn idempotency_keys_return_the_first_lead(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;
    let body = json!({"name": "Once", "email": "once@x.io"});
    let first = post_json(&app, &key, body.clone(), &[("idempotency-key", "abc-1")]).await;
    let again = post_json(&app, &key, body.clone(), &[("idempotency-key", "abc-1")]).await;
    assert_eq!(first.status, 201);
    assert_eq!(again.status, 201);
    assert_eq!(first.json["id"], again.json["id"]);
    assert_eq!(lead_count(&app).await, 1);
    // The same key raced from 20 requests at once: one lead, one id.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let request = raw(
            &format!("/f/{key}"),
            "application/json",
            body.to_string(),
            &[("idempotency-key", "race-7")],
        );
        let router = app.router.clone();
        tasks.spawn(async move {
            use tower::ServiceExt;
            let response = router.oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let bytes = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap()["id"].clone(),
            )
        });
    }
    let results = tasks.join_all().await;
    assert!(results.iter().all(|(s, _)| *s == 201), "{results:?}");
    assert!(results.iter().all(|(_, id)| *id == results[0].1));
    assert_eq!(lead_count(&app).await, 2);
    // After 24 hours the key is free again.
    sqlx::query("UPDATE idempotency_keys SET created_at = created_at - 86400001")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let later = post_json(&app, &key, body, &[("idempotency-key", "abc-1")]).await;
    assert_ne!(later.json["id"], first.json["id"]);
    assert_eq!(lead_count(&app).await, 3);
}

async fn an_idempotency_key_reused_with_another_request_is_refused(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;
    let body = json!({"name": "Once", "email": "once@x.io", "message": "Call me"});
    let first = post_json(&app, &key, body.clone(), &[("idempotency-key", "k-1")]).await;
    first.expect(201);
    // The same fields, spaced and cased otherwise and sent as a form: the same request.
    let same = json!({"name": " Once ", "email": "ONCE@x.io", "message": "Call me"});
    let again = post_json(&app, &key, same, &[("idempotency-key", "k-1")]).await;
    again.expect(201);
    assert_eq!(again.json["id"], first.json["id"]);
    let form = serde_urlencoded::to_string([
        ("name", "Once"),
        ("email", "once@x.io"),
        ("message", "Call me"),
    ])
    .unwrap();
    let as_form = app
        .send(raw(
            &format!("/f/{key}"),
            "application/x-www-form-urlencoded",
            form,
            &[("idempotency-key", "k-1")],
        ))
        .await;
    assert_eq!(as_form.status, 303, "{}", as_form.text);
    let before = app.snapshot().await;
    // Another request under the used key: refused, the first lead untouched.
    for other in [
        json!({"name": "Twice", "email": "once@x.io", "message": "Call me"}),
        json!({"name": "Once", "email": "once@x.io"}),
    ] {
        let r = post_json(&app, &key, other, &[("idempotency-key", "k-1")]).await;
        r.expect(422);
        assert_eq!(
            r.field("Idempotency-Key"),
            Some("was already used with a different request"),
            "{}",
            r.text
        );
    }
    let form = serde_urlencoded::to_string([("name", "Twice"), ("email", "once@x.io")]).unwrap();
    let page = app
        .send(raw(
            &format!("/f/{key}"),
            "application/x-www-form-urlencoded",
            form,
            &[("idempotency-key", "k-1")],
        ))
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.text
            .contains("Idempotency-Key was already used with a different request."),
        "{}",
        page.text
    );
    // Keys a client cannot have meant as sent are refused, not ignored.
    for bad in ["x".repeat(256), "caf\u{e9}".to_owned()] {
        let mut request = raw(
            &format!("/f/{key}"),
            "application/json",
            body.to_string(),
            &[],
        );
        request.headers_mut().insert(
            "idempotency-key",
            axum::http::HeaderValue::from_bytes(bad.as_bytes()).unwrap(),
        );
        let r = app.send(request).await;
        r.expect(422);
        assert!(r.field("Idempotency-Key").is_some(), "{}", r.text);
    }
    assert_eq!(app.snapshot().await, before);
    let longest = "y".repeat(255);
    post_json(&app, &key, body.clone(), &[("idempotency-key", &longest)])
        .await
        .expect(201);
    // A key stored before requests were hashed keeps returning its lead.
    sqlx::query("UPDATE idempotency_keys SET request_hash = NULL WHERE idem_key = 'k-1'")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let other = json!({"name": "Twice", "email": "once@x.io"});
    let legacy = post_json(&app, &key, other, &[("idempotency-key", "k-1")]).await;
    legacy.expect(201);
    assert_eq!(legacy.json["id"], first.json["id"]);
}

async fn routed_website_leads_notify_their_rep_once(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let rep = app.add_member(&owner, "sales", "rep@acme.io").await;
    let key = app.form_key(&owner).await;
    // Routing off: unassigned, nobody notified.
    post_json(&app, &key, json!({"name": "Quiet", "email": "q@x.io"}), &[]).await;
    for who in [&owner, &rep] {
        assert_eq!(
            app.get("/api/v1/notifications", &who.token).await.json["unread_count"],
            0
        );
    }
    app.routing_on(&owner, None, Some(&[&rep]))
        .await
        .expect(200);
    let r = post_json(&app, &key, json!({"name": "Loud", "email": "l@x.io"}), &[]).await;
    let id = r.json["id"].as_str().unwrap();
    let lead = app.get(format!("/api/v1/leads/{id}"), &owner.token).await;
    assert_eq!(lead.json["owner"]["id"], rep.id.as_str());
    assert_eq!(lead.json["routing"]["seq"], 1);
    let inbox = app.get("/api/v1/notifications", &rep.token).await;
    inbox.expect(200);
    assert_eq!(inbox.json["unread_count"], 1);
    let n = &inbox.json["notifications"][0];
    assert_eq!(n["kind"], "lead_routed");
    assert_eq!(n["lead"]["id"], id);
    assert_eq!(n["lead"]["name"], "Loud");
    assert!(n["read_at"].is_null() && n["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        app.get("/api/v1/notifications", &owner.token).await.json["unread_count"],
        0
    );
    // A team lead routed the same way does not ping: only website and assistant leads do.
    app.post("/api/v1/leads", Some(&owner.token), json!({"name": "Team"}))
        .await
        .expect(201);
    assert_eq!(
        app.get("/api/v1/notifications", &rep.token).await.json["unread_count"],
        1
    );
    app.check().await;
}

async fn notifications_are_private_and_can_be_marked_read(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let rep = app.add_member(&owner, "sales", "rep@acme.io").await;
    let other_rep = app.add_member(&owner, "sales", "other@acme.io").await;
    let stranger = app.signup("Else", "x@else.io").await;
    // Someone else assigning (or creating) a lead for you notifies you; claiming does not.
    let lead = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "For you", "owner_id": rep.id}),
        )
        .await;
    let unowned = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "Later"}),
        )
        .await;
    let unowned_id = unowned.json["id"].as_str().unwrap();
    app.post(
        format!("/api/v1/leads/{unowned_id}/assign"),
        Some(&owner.token),
        json!({"owner_id": rep.id}),
    )
    .await
    .expect(200);
    let mine = app
        .post("/api/v1/leads", Some(&rep.token), json!({"name": "Mine"}))
        .await;
    app.post(
        format!("/api/v1/leads/{}/claim", mine.json["id"].as_str().unwrap()),
        Some(&rep.token),
        json!({}),
    )
    .await
    .expect(200);
    let inbox = app.get("/api/v1/notifications", &rep.token).await;
    let texts: Vec<&str> = inbox.json["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Owner of Acme assigned you a lead: Later",
            "Owner of Acme gave you a new lead: For you"
        ],
        "newest first"
    );
    assert_eq!(inbox.json["unread_count"], 2);
    let first = inbox.json["notifications"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Nobody else can see or touch them.
    for who in [&other_rep, &stranger, &owner] {
        app.post(
            format!("/api/v1/notifications/{first}/read"),
            Some(&who.token),
            json!({}),
        )
        .await
        .expect(404);
    }
    assert_eq!(
        app.get("/api/v1/notifications", &other_rep.token)
            .await
            .json["notifications"],
        json!([])
    );
    let r = app
        .call(
            Method::POST,
            format!("/api/v1/notifications/{first}/read"),
            Some(&rep.token),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    // Reading it again changes nothing (the count is kept, not recounted).
    app.call(
        Method::POST,
        format!("/api/v1/notifications/{first}/read"),
        Some(&rep.token),
        None,
    )
    .await
    .expect(204);
    let unread = app
        .get("/api/v1/notifications?unread=true", &rep.token)
        .await;
    assert_eq!(unread.json["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(unread.json["unread_count"], 1);
    app.get("/api/v1/notifications?unread=maybe", &rep.token)
        .await
        .expect(422);
    let count = app
        .get("/api/v1/notifications/unread-count", &rep.token)
        .await;
    assert_eq!(count.json["unread_count"], 1);
    assert_eq!(
        app.call(
            Method::POST,
            "/api/v1/notifications/read-all",
            Some(&rep.token),
            None
        )
        .await
        .status,
        204
    );
    let inbox = app.get("/api/v1/notifications", &rep.token).await;
    assert_eq!(inbox.json["unread_count"], 0);
    let read_at: Vec<&Value> = inbox.json["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["read_at"])
        .collect();
    assert!(read_at.iter().all(|at| at.is_string()), "{read_at:?}");
    // New ones after that count from zero; reading all again reads only them, and the
    // first keeps the time it was read.
    for name in ["Third", "Fourth"] {
        app.post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": name, "owner_id": rep.id}),
        )
        .await
        .expect(201);
    }
    let count = app
        .get("/api/v1/notifications/unread-count", &rep.token)
        .await;
    assert_eq!(count.json["unread_count"], 2);
    app.call(
        Method::POST,
        "/api/v1/notifications/read-all",
        Some(&rep.token),
        None,
    )
    .await
    .expect(204);
    let inbox = app.get("/api/v1/notifications", &rep.token).await;
    assert_eq!(inbox.json["unread_count"], 0);
    let all = inbox.json["notifications"].as_array().unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|n| n["read_at"].is_string()));
    let was_first = all.iter().find(|n| n["id"] == first.as_str()).unwrap();
    assert_eq!(was_first["read_at"], read_at[0].clone());
    assert!(lead.json["id"].is_string());
    app.check().await;
    // `leadroute check` recounts: a counter off by one is reported.
    sqlx::query("UPDATE users SET unread_notifications = 1 WHERE id = $1")
        .bind(&rep.id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let problems = leadroute::store::check::run(&app.db).await.unwrap();
    assert!(
        problems.len() == 1 && problems[0].contains("unread count"),
        "{problems:?}"
    );
}

/// The per-address limit (`LEADROUTE_PUBLIC_RATE_LIMIT`) and its `0` switch.
async fn rate_limit(backend: &'static str) {
    let Some(app) = TestApp::with_config(backend, |c| c.public_rate_limit = 3).await else {
        return;
    };
    let owner = app.signup("Acme", "o@acme.io").await;
    crate::helpers::one_window_for(std::time::Duration::from_secs(20)).await;
    let key = app.form_key(&owner).await;
    for i in 0..3 {
        let r = post_json(
            &app,
            &key,
            json!({"name": format!("V{i}"), "email": "v@x.io"}),
            &[],
        )
        .await;
        assert_eq!(r.status, 201);
    }
    let r = post_json(&app, &key, json!({"name": "Flood", "email": "f@x.io"}), &[]).await;
    r.expect(429);
    r.retry_after_secs();
    let r = post_form(&app, &key, &[("name", "Flood"), ("email", "f@x.io")]).await;
    assert_eq!(r.status, 429);
    assert_eq!(lead_count(&app).await, 3, "refused requests store nothing");

    let Some(open) = TestApp::with_config(backend, |c| c.public_rate_limit = 0).await else {
        return;
    };
    let owner = open.signup("Open", "o@open.io").await;
    let key = open.form_key(&owner).await;
    for i in 0..25 {
        let r = post_json(
            &open,
            &key,
            json!({"name": format!("V{i}"), "email": "v@x.io"}),
            &[],
        )
        .await;
        assert_eq!(r.status, 201, "0 turns the limit off");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_on_sqlite() {
    rate_limit("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_on_postgres() {
    rate_limit("postgres").await;
}
