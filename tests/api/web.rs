//! The HTML pages driven in-process: cookies, CSRF, cross-site posts, forms and who sees what.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::json;

use crate::helpers::TestApp;
use crate::pages::{Browser, csrf_of, location};

crate::backend_tests!(
    signup_form_signs_the_browser_in,
    form_errors_are_shown_next_to_fields,
    writes_need_the_csrf_token,
    cross_site_posts_are_refused,
    pages_show_each_role_what_it_may_do,
    sign_out_and_deactivation_end_the_browser_session,
);

async fn signup_form_signs_the_browser_in(app: TestApp) {
    let mut browser = Browser::new(&app);
    let page = browser.get("/signup").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Create your Leadroute account"));
    let r = browser.sign_up("olivia@acme.io").await;
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), "/settings/team");
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http gets no Secure flag: {cookie}"
    );
    let team = browser.get("/settings/team").await;
    assert_eq!(team.status, 200);
    assert!(team.text.contains("Olivia Owner") && team.text.contains("olivia@acme.io"));

    // Served over https (behind a proxy), the cookie is Secure.
    let mut secure = Browser::new(&app);
    let r = secure
        .request(
            Method::POST,
            "/signin",
            Some(&[
                ("email", "olivia@acme.io"),
                ("password", "correct-horse-battery-42"),
            ]),
            &[("x-forwarded-proto", "https")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(
        r.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    // A browser session is not an API token, and an API token is not a cookie.
    let cookie = browser.cookie.clone().unwrap();
    app.get("/api/v1/me", &cookie).await.expect(401);
    let api = app.signup("Other", "api@other.io").await;
    let mut forged = Browser::new(&app);
    forged.cookie = Some(api.token);
    assert_eq!(location(&forged.get("/settings/team").await), "/signin");
}

async fn form_errors_are_shown_next_to_fields(app: TestApp) {
    let mut browser = Browser::new(&app);
    let r = browser
        .post(
            "/signup",
            &[
                ("account_name", "Acme <b>"),
                ("name", ""),
                ("email", "not-an-email"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("Your name is required."), "{}", r.text);
    assert!(r.text.contains("Email is not a valid email address."));
    assert!(r.text.contains("Password must be at least 8 characters."));
    assert!(
        r.text.contains("value=\"not-an-email\""),
        "what was typed is kept"
    );
    assert!(
        r.text.contains("Acme &#60;b&#62;") || r.text.contains("Acme &lt;b&gt;"),
        "and escaped"
    );
    assert!(browser.cookie.is_none());

    let r = browser
        .post(
            "/signin",
            &[
                ("email", "nobody@acme.io"),
                ("password", "correct-horse-battery-42"),
            ],
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(r.text.contains("Email or password is incorrect."));
}

async fn writes_need_the_csrf_token(app: TestApp) {
    let mut browser = Browser::new(&app);
    browser.sign_up("olivia@acme.io").await;
    let invite = [("email", "sam@acme.io"), ("name", "Sam"), ("role", "sales")];
    let r = browser.post("/settings/team/invitations", &invite).await;
    assert_eq!(r.status, 403, "no token");
    let mut with_wrong = invite.to_vec();
    with_wrong.push(("csrf_token", "0000"));
    let r = browser
        .post("/settings/team/invitations", &with_wrong)
        .await;
    assert_eq!(r.status, 403, "wrong token");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invitations")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);

    let r = browser
        .submit("/settings/team", "/settings/team/invitations", &invite)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.text.contains("Invitation ready"));
    let marker = "id=\"invite-link\" type=\"text\" readonly value=\"";
    let start = r.text.find(marker).unwrap() + marker.len();
    let link = r.text[start..].split('"').next().unwrap();
    assert!(link.starts_with("http://app.test/invitations/"), "{link}");
    let path = link.trim_start_matches("http://app.test");

    // The invitee accepts in a browser of their own.
    let mut invitee = Browser::new(&app);
    let page = invitee.get(path).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Join <bdi>Acme</bdi> on Leadroute"));
    let r = invitee.post(path, &[("password", "short")]).await;
    assert_eq!(r.status, 422);
    assert!(
        r.text
            .contains("Choose a password must be at least 8 characters.")
    );
    let r = invitee
        .post(path, &[("password", "correct-horse-battery-42")])
        .await;
    assert_eq!(r.status, 303);
    let team = invitee.get("/settings/team").await;
    assert!(team.text.contains("Sam") && team.text.contains(">you<"));
    assert_eq!(invitee.get(path).await.status, 404, "the link works once");

    // A JSON write with the session cookie needs the header instead.
    let cookie = browser.cookie.clone().unwrap();
    let json_post = |csrf: Option<String>| {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/team/invitations")
            .header(header::HOST, "app.test")
            .header(header::COOKIE, format!("lr_session={cookie}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(csrf) = csrf {
            b = b.header("x-csrf-token", csrf);
        }
        b.body(Body::from(
            json!({"email": "x@acme.io", "name": "X", "role": "sales"}).to_string(),
        ))
        .unwrap()
    };
    app.send(json_post(None)).await.expect(403);
    let csrf = csrf_of(&browser.get("/settings/team").await.text);
    app.send(json_post(Some(csrf))).await.expect(201);
}

async fn cross_site_posts_are_refused(app: TestApp) {
    let mut browser = Browser::new(&app);
    browser.sign_up("olivia@acme.io").await;
    let r = browser
        .request(
            Method::POST,
            "/signin",
            Some(&[
                ("email", "olivia@acme.io"),
                ("password", "correct-horse-battery-42"),
            ]),
            &[("origin", "https://evil.test")],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = browser
        .request(
            Method::POST,
            "/signout",
            Some(&[]),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        browser.get("/settings/team").await.status,
        200,
        "still signed in"
    );
    // A same-origin post goes through.
    let page = browser.get("/settings/team").await;
    let csrf = csrf_of(&page.text);
    let r = browser
        .request(
            Method::POST,
            "/signout",
            Some(&[("csrf_token", &csrf)]),
            &[("origin", "http://app.test")],
        )
        .await;
    assert_eq!(r.status, 303);
}

async fn pages_show_each_role_what_it_may_do(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    app.add_member(&owner, "manager", "m@acme.io").await;
    app.add_member(&owner, "sales", "s@acme.io").await;
    app.add_member(&owner, "accounting", "a@acme.io").await;
    // (email, sees invite form, role selects shown, may open the audit log)
    for (email, invite, selects, audit) in [
        ("o@acme.io", true, 3, true),
        ("m@acme.io", true, 2, true),
        ("s@acme.io", false, 0, false),
        ("a@acme.io", false, 0, false),
    ] {
        let mut browser = Browser::new(&app);
        assert_eq!(browser.sign_in(email).await.status, 303);
        let team = browser.get("/settings/team").await;
        assert_eq!(team.status, 200);
        assert_eq!(team.text.contains("Invite a teammate"), invite, "{email}");
        assert_eq!(
            team.text.matches("<select id=\"role-").count(),
            selects,
            "{email}"
        );
        assert_eq!(team.text.contains("href=\"/audit\""), audit, "{email}");
        let page = browser.get("/audit").await;
        assert_eq!(page.status, if audit { 200 } else { 403 }, "{email}");
        if audit {
            assert!(page.text.contains("team.invited") && page.text.contains("team.joined"));
        }
        if email == "m@acme.io" {
            // A Manager is offered only Sales and Accounting when inviting.
            let form = &team.text[team.text.find("id=\"f-role\"").unwrap()..];
            let form = &form[..form.find("</select>").unwrap()];
            assert!(!form.contains("value=\"owner\"") && !form.contains("value=\"manager\""));
        }
    }
}

async fn sign_out_and_deactivation_end_the_browser_session(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let sales = app.add_member(&owner, "sales", "s@acme.io").await;
    let mut browser = Browser::new(&app);
    browser.sign_in("s@acme.io").await;
    let stale_cookie = browser.cookie.clone();
    let r = browser.submit("/settings/team", "/signout", &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), "/signin");
    let mut replay = Browser::new(&app);
    replay.cookie = stale_cookie;
    assert_eq!(
        location(&replay.get("/settings/team").await),
        "/signin",
        "the old cookie is dead"
    );

    browser.sign_in("s@acme.io").await;
    assert_eq!(browser.get("/settings/team").await.status, 200);
    let mut boss = Browser::new(&app);
    boss.sign_in("o@acme.io").await;
    let r = boss
        .submit(
            "/settings/team",
            &format!("/settings/team/{}", sales.id),
            &[("active", "false")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), "/settings/team?done=deactivated");
    assert_eq!(location(&browser.get("/settings/team").await), "/signin");
    let r = browser.sign_in("s@acme.io").await;
    assert_eq!(r.status, 401);
    // The Owner cannot deactivate themselves from the page either.
    let r = boss
        .submit(
            "/settings/team",
            &format!("/settings/team/{}", owner.id),
            &[("active", "false")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(
        r.text
            .contains("You cannot change your own role or deactivate yourself.")
    );
}
