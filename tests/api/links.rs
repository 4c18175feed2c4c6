//! Invitation and password-reset links die with their issuer's access: deactivating or
//! demoting a member withdraws what they issued, a used reset link voids the others, and both
//! kinds can be withdrawn by hand (API and Team page).

use axum::http::Method;
use serde_json::{Value, json};

use crate::fixtures;
use crate::helpers::{Member, TestApp};

crate::backend_tests!(
    a_removed_owners_reset_link_cannot_take_the_account,
    a_removed_issuers_invitations_die,
    demotion_withdraws_what_the_role_no_longer_allows,
    using_a_reset_link_voids_the_members_other_links,
    links_are_checked_against_their_issuer_when_used,
    invitations_can_be_listed_and_withdrawn,
    reset_links_can_be_withdrawn,
    an_owners_password_reset_is_audited_and_notified,
    a_manager_cannot_replace_an_owners_invitation,
    the_team_page_withdraws_links,
);

const NEW_PASSWORD: &str = "Tidal-lantern-orchid-93";

/// The shared team, and a second Owner (co-owner@acme.io) who joined after it.
struct Team {
    owner: Member,
    co_owner: Member,
    manager: Member,
    sales: Member,
    accounting: Member,
}

async fn team(app: &TestApp) -> Team {
    let fixtures::Team {
        owner,
        manager,
        sales,
        accounting,
    } = fixtures::team(app).await;
    let co_owner = app.add_member(&owner, "owner", "co-owner@acme.io").await;
    Team {
        owner,
        co_owner,
        manager,
        sales,
        accounting,
    }
}

/// A reset link `issuer` makes for `member`: the token of its URL.
async fn reset_link(app: &TestApp, issuer: &Member, member: &Member) -> String {
    let r = app
        .post(
            format!("/api/v1/team/{}/password-reset", member.id),
            Some(&issuer.token),
            json!({}),
        )
        .await;
    r.expect(201);
    last_segment(r.json["reset_url"].as_str().unwrap())
}

/// An invitation `issuer` makes: (id, token).
async fn invite(app: &TestApp, issuer: &Member, email: &str, role: &str) -> (String, String) {
    let r = app
        .post(
            "/api/v1/team/invitations",
            Some(&issuer.token),
            json!({"email": email, "name": "New Person", "role": role}),
        )
        .await;
    r.expect(201);
    let inv = &r.json["invitation"];
    (
        inv["id"].as_str().unwrap().to_owned(),
        inv["token"].as_str().unwrap().to_owned(),
    )
}

fn last_segment(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

async fn use_reset(app: &TestApp, token: &str) -> u16 {
    let r = app
        .post(
            format!("/api/v1/password-resets/{token}"),
            None,
            json!({"password": NEW_PASSWORD}),
        )
        .await;
    r.status.as_u16()
}

async fn accept(app: &TestApp, token: &str) -> u16 {
    let r = app
        .post(
            format!("/api/v1/invitations/{token}/accept"),
            None,
            json!({"password": NEW_PASSWORD}),
        )
        .await;
    r.status.as_u16()
}

async fn delete(app: &TestApp, path: String, token: String) -> crate::helpers::Resp {
    app.call(Method::DELETE, path, Some(&token), None).await
}

async fn set_member(app: &TestApp, by: &Member, who: &Member, change: Value) {
    app.patch(format!("/api/v1/team/{}", who.id), &by.token, change)
        .await
        .expect(200);
}

async fn audit(app: &TestApp, by: &Member, action: &str) -> Vec<Value> {
    let r = app
        .get(format!("/api/v1/audit?action={action}"), &by.token)
        .await;
    r.expect(200);
    r.json["entries"].as_array().unwrap().clone()
}

async fn a_removed_owners_reset_link_cannot_take_the_account(app: TestApp) {
    let t = team(&app).await;
    // The co-owner prepares a link for the owner, then is deactivated by them.
    let token = reset_link(&app, &t.co_owner, &t.owner).await;
    set_member(&app, &t.owner, &t.co_owner, json!({"active": false})).await;
    let before = app.snapshot().await;
    assert_eq!(use_reset(&app, &token).await, 404);
    let page = crate::pages::Browser::new(&app)
        .get(&format!("/reset/{token}"))
        .await;
    assert_eq!(page.status, 404, "the page is dead too");
    assert_eq!(app.snapshot().await, before);
    app.get("/api/v1/me", &t.owner.token).await.expect(200);
    let entries = audit(&app, &t.owner, "team.links_revoked").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["target"], format!("user:{}", t.co_owner.id));
    assert_eq!(entries[0]["after"]["reason"], "deactivated");
    assert_eq!(entries[0]["after"]["password_resets"], 1);
    assert_eq!(entries[0]["actor"]["id"], t.owner.id.as_str());
    // Reactivating them does not bring the link back.
    set_member(&app, &t.owner, &t.co_owner, json!({"active": true})).await;
    assert_eq!(use_reset(&app, &token).await, 404);
    app.check().await;
}

async fn a_removed_issuers_invitations_die(app: TestApp) {
    let t = team(&app).await;
    let (_, owner_invite) = invite(&app, &t.co_owner, "new-owner@acme.io", "owner").await;
    let (_, sales_invite) = invite(&app, &t.manager, "new-rep@acme.io", "sales").await;
    let (_, kept) = invite(&app, &t.owner, "kept@acme.io", "sales").await;
    set_member(&app, &t.owner, &t.co_owner, json!({"active": false})).await;
    set_member(&app, &t.owner, &t.manager, json!({"active": false})).await;
    assert_eq!(accept(&app, &owner_invite).await, 404);
    assert_eq!(accept(&app, &sales_invite).await, 404);
    let page = crate::pages::Browser::new(&app)
        .get(&format!("/invitations/{owner_invite}"))
        .await;
    assert_eq!(page.status, 404);
    let pending = app.get("/api/v1/team/invitations", &t.owner.token).await;
    let emails: Vec<&str> = pending.json["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["kept@acme.io"]);
    let entries = audit(&app, &t.owner, "team.links_revoked").await;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e["after"]["invitations"] == 1));
    // Someone else's invitation is untouched.
    assert_eq!(accept(&app, &kept).await, 201);
    app.check().await;
}

async fn demotion_withdraws_what_the_role_no_longer_allows(app: TestApp) {
    let t = team(&app).await;
    let reset = reset_link(&app, &t.co_owner, &t.sales).await;
    let (_, invitation) = invite(&app, &t.co_owner, "x@acme.io", "manager").await;
    let (_, manager_invite) = invite(&app, &t.manager, "y@acme.io", "sales").await;
    set_member(&app, &t.owner, &t.co_owner, json!({"role": "manager"})).await;
    set_member(&app, &t.owner, &t.manager, json!({"role": "sales"})).await;
    assert_eq!(use_reset(&app, &reset).await, 404);
    assert_eq!(accept(&app, &invitation).await, 404);
    assert_eq!(accept(&app, &manager_invite).await, 404);
    let entries = audit(&app, &t.owner, "team.links_revoked").await;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e["after"]["reason"] == "demoted"));
    // A promotion takes nothing away.
    let (_, fresh) = invite(&app, &t.co_owner, "z@acme.io", "sales").await;
    set_member(&app, &t.owner, &t.co_owner, json!({"role": "owner"})).await;
    assert_eq!(accept(&app, &fresh).await, 201);
    app.check().await;
}

async fn using_a_reset_link_voids_the_members_other_links(app: TestApp) {
    let t = team(&app).await;
    let older = reset_link(&app, &t.owner, &t.sales).await;
    let newer = reset_link(&app, &t.co_owner, &t.sales).await;
    let other_member = reset_link(&app, &t.owner, &t.manager).await;
    assert_eq!(use_reset(&app, &newer).await, 200);
    assert_eq!(
        use_reset(&app, &older).await,
        404,
        "older one after a newer one"
    );
    // And the other way round.
    let first = reset_link(&app, &t.owner, &t.sales).await;
    let second = reset_link(&app, &t.owner, &t.sales).await;
    assert_eq!(use_reset(&app, &first).await, 200);
    assert_eq!(use_reset(&app, &second).await, 404);
    assert_eq!(
        use_reset(&app, &other_member).await,
        200,
        "another member's link is theirs"
    );
    app.check().await;
}

async fn links_are_checked_against_their_issuer_when_used(app: TestApp) {
    // Links issued before withdrawal existed (or by any other path) still die with their
    // issuer: the issuer is checked when the link is used.
    let t = team(&app).await;
    let reset = reset_link(&app, &t.co_owner, &t.sales).await;
    let (_, invitation) = invite(&app, &t.manager, "late@acme.io", "sales").await;
    for (id, active, role) in [(&t.co_owner.id, 0, "owner"), (&t.manager.id, 1, "sales")] {
        sqlx::query("UPDATE users SET active = $1, role = $2 WHERE id = $3")
            .bind(active)
            .bind(role)
            .bind(id.as_str())
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
    assert_eq!(use_reset(&app, &reset).await, 404);
    assert_eq!(accept(&app, &invitation).await, 404);
}

async fn invitations_can_be_listed_and_withdrawn(app: TestApp) {
    let t = team(&app).await;
    let (owner_inv, owner_token) = invite(&app, &t.owner, "boss@acme.io", "manager").await;
    let (sales_inv, sales_token) = invite(&app, &t.manager, "rep@acme.io", "sales").await;
    for who in [&t.sales, &t.accounting] {
        app.get("/api/v1/team/invitations", &who.token)
            .await
            .expect(403);
    }
    let r = app.get("/api/v1/team/invitations", &t.manager.token).await;
    r.expect(200);
    let list = r.json["invitations"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], sales_inv.as_str(), "newest first");
    assert_eq!(list[0]["invited_by"]["id"], t.manager.id.as_str());
    assert_eq!(list[1]["invited_by"]["id"], t.owner.id.as_str());
    assert_eq!(list[1]["role"], "manager");
    assert!(list[1]["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(list[1].get("token").is_none(), "the secret is never listed");

    let delete = |id: &str, who: &Member| {
        delete(
            &app,
            format!("/api/v1/team/invitations/{id}"),
            who.token.clone(),
        )
    };
    let before = app.snapshot().await;
    delete(&owner_inv, &t.manager).await.expect(403);
    delete(&sales_inv, &t.sales).await.expect(403);
    assert_eq!(app.snapshot().await, before);
    delete(&sales_inv, &t.manager).await.expect(204);
    delete(&sales_inv, &t.manager).await.expect(404);
    delete("no-such-id", &t.owner).await.expect(404);
    let other = app.signup("Other", "other@else.io").await;
    delete(&owner_inv, &other).await.expect(404);
    delete(&owner_inv, &t.owner).await.expect(204);
    assert_eq!(accept(&app, &sales_token).await, 404);
    assert_eq!(accept(&app, &owner_token).await, 404);
    let entries = audit(&app, &t.owner, "team.invitation_revoked").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["before"]["email"], "rep@acme.io");
    app.check().await;
}

async fn reset_links_can_be_withdrawn(app: TestApp) {
    let t = team(&app).await;
    let for_sales = reset_link(&app, &t.owner, &t.sales).await;
    let for_owner = reset_link(&app, &t.owner, &t.co_owner).await;
    let delete = |member: &Member, who: &Member| {
        delete(
            &app,
            format!("/api/v1/team/{}/password-resets", member.id),
            who.token.clone(),
        )
    };
    delete(&t.sales, &t.sales).await.expect(403);
    delete(&t.sales, &t.accounting).await.expect(403);
    delete(&t.co_owner, &t.manager).await.expect(403);
    let other = app.signup("Other", "other@else.io").await;
    delete(&t.sales, &other).await.expect(404);
    delete(&t.sales, &t.manager).await.expect(204);
    assert_eq!(use_reset(&app, &for_sales).await, 404);
    assert_eq!(use_reset(&app, &for_owner).await, 200, "only that member's");
    delete(&t.sales, &t.manager).await.expect(204);
    let entries = audit(&app, &t.owner, "team.password_resets_revoked").await;
    assert_eq!(entries.len(), 1, "withdrawing nothing writes nothing");
    assert_eq!(entries[0]["after"]["password_resets"], 1);
}

async fn an_owners_password_reset_is_audited_and_notified(app: TestApp) {
    let t = team(&app).await;
    let token = reset_link(&app, &t.co_owner, &t.owner).await;
    let issued = audit(&app, &t.co_owner, "team.password_reset_issued").await;
    assert_eq!(issued[0]["after"]["member_role"], "owner");
    let r = app
        .post(
            format!("/api/v1/password-resets/{token}"),
            None,
            json!({"password": NEW_PASSWORD}),
        )
        .await;
    r.expect(200);
    let session = r.json["token"].as_str().unwrap().to_owned();
    let used = audit(&app, &t.co_owner, "team.password_reset").await;
    assert_eq!(used.len(), 1);
    assert_eq!(used[0]["after"]["member_role"], "owner");
    assert_eq!(used[0]["after"]["issued_by"], t.co_owner.id.as_str());
    let inbox = app.get("/api/v1/notifications", &session).await;
    inbox.expect(200);
    assert_eq!(inbox.json["unread_count"], 1);
    let note = &inbox.json["notifications"][0];
    assert_eq!(note["kind"], "password_changed");
    assert!(note["lead"].is_null());
    let text = note["text"].as_str().unwrap();
    assert!(
        text.contains("Owner of Acme") || text.contains("owner co-owner@acme.io"),
        "{text}"
    );
    let theirs = app.get("/api/v1/notifications", &t.co_owner.token).await;
    assert_eq!(theirs.json["unread_count"], 0, "only the member is told");
    // A Manager still cannot issue one at all.
    app.post(
        format!("/api/v1/team/{}/password-reset", t.owner.id),
        Some(&t.manager.token),
        json!({}),
    )
    .await
    .expect(403);
    app.check().await;
}

async fn a_manager_cannot_replace_an_owners_invitation(app: TestApp) {
    let t = team(&app).await;
    let (_, owners) = invite(&app, &t.owner, "pat@acme.io", "manager").await;
    let before = app.snapshot().await;
    let r = app
        .post(
            "/api/v1/team/invitations",
            Some(&t.manager.token),
            json!({"email": "pat@acme.io", "name": "Pat", "role": "sales"}),
        )
        .await;
    r.expect(409);
    assert!(r.text.contains("only an Owner can replace"), "{}", r.text);
    assert_eq!(app.snapshot().await, before);
    // Their own invitations they may replace, and an Owner may replace anyone's.
    let (_, first) = invite(&app, &t.manager, "sam@acme.io", "sales").await;
    let (_, second) = invite(&app, &t.manager, "sam@acme.io", "accounting").await;
    assert_eq!(accept(&app, &first).await, 404);
    let (_, replaced) = invite(&app, &t.owner, "pat@acme.io", "sales").await;
    assert_eq!(accept(&app, &owners).await, 404);
    assert_eq!(accept(&app, &replaced).await, 201);
    assert_eq!(accept(&app, &second).await, 201);
}

async fn the_team_page_withdraws_links(app: TestApp) {
    let t = team(&app).await;
    let (owner_inv, _) = invite(&app, &t.owner, "boss@acme.io", "manager").await;
    let (sales_inv, sales_token) = invite(&app, &t.owner, "rep@acme.io", "sales").await;
    let reset = reset_link(&app, &t.owner, &t.sales).await;

    let mut manager = crate::pages::signed_in(&app, "manager@acme.io").await;
    let page = manager.get("/settings/team").await;
    assert!(
        page.text
            .contains(&format!("/settings/team/invitations/{sales_inv}/revoke"))
    );
    assert!(
        !page
            .text
            .contains(&format!("/settings/team/invitations/{owner_inv}/revoke")),
        "a Manager is not offered an Owner-only withdrawal"
    );
    assert!(page.text.contains(">Revoke reset links</button>"));
    let r = manager
        .submit(
            "/settings/team",
            &format!("/settings/team/invitations/{owner_inv}/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("Only an Owner can withdraw"), "{}", r.text);
    let r = manager
        .submit(
            "/settings/team",
            &format!("/settings/team/invitations/{sales_inv}/revoke"),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    let shown = manager.get(crate::pages::location(&r)).await;
    assert!(shown.text.contains("Invitation withdrawn."));
    assert!(!shown.text.contains("rep@acme.io"));
    assert_eq!(accept(&app, &sales_token).await, 404);

    let r = manager
        .submit(
            "/settings/team",
            &format!("/settings/team/{}/password-resets/revoke", t.sales.id),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(use_reset(&app, &reset).await, 404);
    let shown = manager.get("/settings/team").await;
    assert!(!shown.text.contains(">Revoke reset links</button>"));
    // Without a session the form only leads to sign-in.
    let mut stranger = crate::pages::Browser::new(&app);
    let r = stranger
        .post(
            &format!("/settings/team/invitations/{owner_inv}/revoke"),
            &[],
        )
        .await;
    assert!(
        crate::pages::location(&r).starts_with("/signin"),
        "{}",
        r.status
    );
    let pending = app.get("/api/v1/team/invitations", &t.owner.token).await;
    assert_eq!(pending.json["invitations"][0]["id"], owner_inv.as_str());
}
