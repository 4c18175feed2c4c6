//! Sign-up, invitations, the Team page by role, the account menu, and the forms' errors.

use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::json;

use super::{Browser, ChromeDriver, FormExt, XSS_NAME};
use crate::helpers::{TestApp, spawn_server};

const PASSWORD: &str = "correct horse 42";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_invites_a_sales_member_who_joins_in_a_second_browser() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let app = TestApp::new("sqlite").await.unwrap();
    let base = spawn_server(&app).await;

    // 1. The Owner signs up and lands on the Team page.
    let owner = driver.browser(&base).await;
    owner.open("/signup").await;
    let form = owner.wait_css("form[action='/signup']").await;
    assert_eq!(owner.title().await.unwrap(), "Sign up · Leadroute");
    assert_eq!(owner.text("main h1").await, "Create your Leadroute account");
    owner.full_screenshot("01-signup").await;
    form.fill("account_name", "Acme Rockets").await;
    form.fill("name", "Olive Owner").await;
    form.fill("email", "olive@acme.test").await;
    form.fill("password", PASSWORD).await;
    form.press("Create account").await;
    owner.wait_for_location("/settings/team").await;
    assert_eq!(owner.text("main h1").await, "Team");
    assert_eq!(owner.title().await.unwrap(), "Team · Leadroute");
    let summary = owner.text("details.account-menu summary").await;
    assert!(summary.contains("Olive Owner"), "{summary}");
    assert_eq!(owner.texts("nav.mainnav a").await, ["Leads"]);

    // 2. The Owner creates an invitation link for a Sales member.
    let invite = owner
        .wait_css("form[action='/settings/team/invitations']")
        .await;
    let options = owner.texts("#f-role option").await;
    assert_eq!(options, ["Owner", "Manager", "Sales", "Accounting"]);
    assert_eq!(owner.wait_css("#f-role").await.value().await, "sales");
    invite.fill("email", "sam@acme.test").await;
    invite.fill("name", "Sam Sales").await;
    invite.select("role", "sales").await;
    invite.press("Create invitation link").await;
    let link_input = owner.wait_css("#invite-link").await;
    let readonly = link_input.attr("readonly").await.unwrap();
    assert!(readonly.is_some(), "link is readonly");
    let link = link_input.value().await;
    assert!(link.starts_with(&format!("{base}/invitations/")), "{link}");
    let done = owner.text("section.invite-done").await;
    assert!(done.contains("Invitation ready"), "{done}");
    assert!(done.contains("Sam Sales (sam@acme.test)"), "{done}");
    let pending = owner.text("ul.pending").await;
    assert!(
        pending.contains("Sam Sales (sam@acme.test), Sales"),
        "{pending}"
    );
    owner.full_screenshot("02-team-owner-invitation-link").await;

    // 3. Sam opens the link in a browser of their own, joins, and lands on Leads.
    let sales = driver.browser(&base).await;
    sales.goto(&link).await.unwrap();
    let join = sales.wait_css("main form").await;
    assert_eq!(
        sales.text("main h1").await,
        "Join Acme Rockets on Leadroute"
    );
    let intro = sales.text("main section p").await;
    assert!(
        intro.contains("Sam Sales (sam@acme.test) with the role Sales"),
        "{intro}"
    );
    sales.full_screenshot("03-accept").await;
    join.fill("password", PASSWORD).await;
    join.press("Join the team").await;
    sales.wait_for_location("/leads").await;
    assert_eq!(sales.text("main h1").await, "Leads");
    let summary = sales.text("details.account-menu summary").await;
    assert!(summary.contains("Sam Sales"), "{summary}");

    // 4a. What Sam (Sales) sees on Team: both people, and nothing to manage.
    sales.open("/settings/team").await;
    let rows = member_rows(&sales).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().any(|r| r.contains("Olive Owner")
        && r.contains("olive@acme.test")
        && r.contains("Owner")));
    assert!(rows.iter().any(|r| r.contains("Sam Sales")
        && r.contains("sam@acme.test")
        && r.contains("Sales")
        && r.contains("you")));
    assert_eq!(sales.count("#f-role").await, 0);
    let invite_forms = sales.count("form[action='/settings/team/invitations']");
    assert_eq!(invite_forms.await, 0);
    assert!(!sales.body_text().await.contains("Invite a teammate"));
    assert_eq!(sales.count("select").await, 0);
    assert!(sales.buttons("Deactivate").await.is_empty());
    assert!(sales.buttons("Change role").await.is_empty());
    sales.full_screenshot("04-team-sales").await;
    let menu = sales.open_account_menu().await;
    for item in ["Team", "Sign out"] {
        assert!(menu.iter().any(|i| i == item), "{item} not in {menu:?}");
    }
    assert!(!menu.iter().any(|i| i == "Audit log"), "{menu:?}");
    let audit_links = sales.count("details.account-menu a[href='/audit']");
    assert_eq!(audit_links.await, 0);
    sales.full_screenshot("05-team-sales-account-menu").await;
    // Typing the address does not help either.
    sales.open("/audit").await;
    assert_eq!(sales.text("main h1").await, "Not allowed");
    assert_eq!(sales.count("table.audit").await, 0);

    // 4b. What Olive (Owner) sees: Sam with a role select and a Deactivate button.
    owner.open("/settings/team").await;
    let rows = member_rows(&owner).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let sam = member_row(&owner, "sam@acme.test").await;
    let role = sam.find(Locator::Css("select[name='role']")).await;
    assert_eq!(role.expect("a role select for Sam").value().await, "sales");
    let deactivate = Locator::XPath(".//button[normalize-space()='Deactivate']");
    assert!(sam.find(deactivate).await.is_ok());
    let olive = member_row(&owner, "olive@acme.test").await;
    let controls = olive
        .find_all(Locator::Css("select, button"))
        .await
        .unwrap();
    assert!(controls.is_empty(), "the Owner cannot change themself");
    let menu = owner.open_account_menu().await;
    assert!(menu.iter().any(|i| i == "Audit log"), "{menu:?}");
    owner
        .wait_for(Locator::XPath(
            "//details[contains(@class,'account-menu')]//a[normalize-space()='Audit log']",
        ))
        .await
        .click()
        .await
        .unwrap();
    owner.wait_for_location("/audit").await;
    owner.wait_css("table.audit").await;
    let actions = owner.texts("table.audit td[data-label='Action']").await;
    for expected in ["account.created", "team.invited", "team.joined"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected}: {actions:?}"
        );
    }
    owner.full_screenshot("06-audit").await;

    // 5. Sam signs out through the account menu, then signs in again.
    sales.open("/settings/team").await;
    sales.open_account_menu().await;
    sales
        .wait_for(Locator::XPath(
            "//details[contains(@class,'account-menu')]//button[normalize-space()='Sign out']",
        ))
        .await
        .click()
        .await
        .unwrap();
    sales.wait_for_location("/signin").await;
    sales.open("/settings/team").await;
    sales.wait_for_location("/signin").await;
    assert_eq!(sales.count("table.members").await, 0);
    sales.wait_css("form[action='/signin']").await;
    sales.full_screenshot("07-signin").await;
    sales.sign_in("sam@acme.test", PASSWORD).await;
    assert_eq!(sales.text("main h1").await, "Leads");
    let summary = sales.text("details.account-menu summary").await;
    assert!(summary.contains("Sam Sales"), "{summary}");

    // 6. A name that is markup is shown as text, never run.
    owner.open("/settings/team").await;
    let invite = owner
        .wait_css("form[action='/settings/team/invitations']")
        .await;
    invite.fill("email", "mallory@acme.test").await;
    invite.fill("name", XSS_NAME).await;
    invite.select("role", "sales").await;
    invite.press("Create invitation link").await;
    let link = owner.wait_css("#invite-link").await.value().await;
    owner.assert_markup_inert().await;
    assert!(owner.text("section.invite-done").await.contains(XSS_NAME));
    assert!(owner.text("ul.pending").await.contains(XSS_NAME));
    let token = link.rsplit('/').next().unwrap();
    let accept = format!("/api/v1/invitations/{token}/accept");
    app.post(&accept, None, json!({"password": PASSWORD}))
        .await
        .expect(201);
    owner.open("/settings/team").await;
    owner.assert_markup_inert().await;
    let mallory = member_row(&owner, "mallory@acme.test").await;
    let name_cell = mallory.find(Locator::Css("td[data-label='Name']")).await;
    assert_eq!(name_cell.unwrap().text().await.unwrap(), XSS_NAME);
    owner.full_screenshot("08-team-owner-markup-name").await;

    // The Team page at phone width: the members table turns into cards, nothing overflows.
    owner.set_viewport_size(390, 844).await;
    owner.open("/settings/team").await;
    let head = owner.wait_css("table.members thead").await;
    assert!(
        !head.is_displayed().await.unwrap(),
        "no table head on phones"
    );
    assert_eq!(owner.horizontal_overflow().await, 0, "Team overflows");
    // Nor does the members card scroll sideways: the role select and its button wrap.
    let script =
        "const w = document.querySelector('.table-wrap'); return w.scrollWidth - w.clientWidth";
    assert_eq!(
        owner.js(script).await,
        0,
        "the members card scrolls sideways"
    );
    owner.viewport_screenshot("09-team-owner-phone").await;
    owner.full_screenshot("10-team-owner-phone-full").await;
    let invite = owner
        .wait_css("form[action='/settings/team/invitations']")
        .await;
    invite.fill("email", "pat@acme.test").await;
    invite.fill("name", "Pat Phone").await;
    invite.press("Create invitation link").await;
    owner.wait_css("#invite-link").await;
    assert_eq!(owner.horizontal_overflow().await, 0, "the link overflows");
    owner
        .viewport_screenshot("11-team-owner-phone-invitation-link")
        .await;
    owner.open("/audit").await;
    owner.wait_css("table.audit").await;
    assert_eq!(owner.horizontal_overflow().await, 0, "Audit overflows");
    owner.full_screenshot("12-audit-phone-full").await;
    sales.set_viewport_size(390, 844).await;
    sales.open("/settings/team").await;
    sales.wait_css("table.members").await;
    sales.open_account_menu().await;
    sales.viewport_screenshot("13-team-sales-phone-menu").await;

    owner.close().await;
    sales.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_show_their_errors_in_the_browser() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let app = TestApp::new("sqlite").await.unwrap();
    let base = spawn_server(&app).await;
    let browser = driver.browser(&base).await;

    // Sign-up with a bad email and a short password: both fields say why, input is kept.
    browser.open("/signup").await;
    let form = browser.wait_css("form[action='/signup']").await;
    form.fill("account_name", "Acme Rockets").await;
    form.fill("name", "Olive Owner").await;
    form.fill("email", "not-an-email").await;
    form.fill("password", "short").await;
    form.press("Create account").await;
    assert_eq!(
        browser.text("#e-email").await,
        "Email is not a valid email address."
    );
    assert_eq!(
        browser.text("#e-password").await,
        "Password must be at least 8 characters."
    );
    let email = browser.wait_css("#f-email").await;
    let invalid = email.attr("aria-invalid").await.unwrap();
    assert_eq!(invalid.as_deref(), Some("true"));
    assert_eq!(email.value().await, "not-an-email");
    let account = browser.wait_css("#f-account_name").await;
    assert_eq!(account.value().await, "Acme Rockets");
    let password = browser.wait_css("#f-password").await;
    assert_eq!(password.value().await, "", "a password is never sent back");
    browser.full_screenshot("14-signup-errors").await;

    // A wrong password at sign-in: one sentence at the top, the email kept.
    browser.open("/signin").await;
    let form = browser.wait_css("form[action='/signin']").await;
    form.fill("email", "nobody@acme.test").await;
    form.fill("password", PASSWORD).await;
    form.press("Sign in").await;
    assert_eq!(
        browser.text("p.banner.error[role='alert']").await,
        "Email or password is incorrect."
    );
    assert_eq!(browser.location().await, "/signin");
    let email = browser.wait_css("#f-email").await;
    assert_eq!(email.value().await, "nobody@acme.test");
    browser.full_screenshot("15-signin-error").await;

    browser.close().await;
}

/// The visible text of each row of the members table.
async fn member_rows(browser: &Browser) -> Vec<String> {
    browser.wait_css("table.members").await;
    browser.texts("table.members tbody tr").await
}

/// The members-table row holding `email`.
async fn member_row(browser: &Browser, email: &str) -> Element {
    let xpath = format!(
        "//table[contains(@class,'members')]/tbody/tr[td[@data-label='Email'][normalize-space()='{email}']]"
    );
    browser.wait_for(Locator::XPath(&xpath)).await
}

/// A deactivated Owner's links are dead in the browser too, and the Owner withdraws a
/// pending invitation and a member's reset links from the Team page, at phone width.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_die_with_their_issuer_and_can_be_withdrawn() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let app = TestApp::new("sqlite").await.unwrap();
    let base = spawn_server(&app).await;
    // The Owner signs up on a phone.
    let olive = driver.browser(&base).await;
    olive.set_viewport_size(390, 844).await;
    olive.open("/signup").await;
    let form = olive.wait_css("form[action='/signup']").await;
    form.fill("account_name", "Acme").await;
    form.fill("name", "Olive Owner").await;
    form.fill("email", "owner@acme.io").await;
    form.fill("password", PASSWORD).await;
    form.press("Create account").await;
    olive.wait_for_location("/settings/team").await;
    let r = app
        .post(
            "/api/v1/login",
            None,
            json!({"email": "owner@acme.io", "password": PASSWORD}),
        )
        .await;
    let owner = crate::helpers::Member {
        token: r.json["token"].as_str().unwrap().to_owned(),
        id: r.json["user"]["id"].as_str().unwrap().to_owned(),
        account_id: String::new(),
    };
    let co_owner = app.add_member(&owner, "owner", "co@acme.io").await;
    app.add_member(&owner, "sales", "rep@acme.io").await;
    // The co-Owner prepares a reset link for the Owner and an invitation, then is removed.
    let r = app
        .post(
            &format!("/api/v1/team/{}/password-reset", owner.id),
            Some(&co_owner.token),
            json!({}),
        )
        .await;
    let takeover = r.json["reset_url"]
        .as_str()
        .unwrap()
        .replace("http://app.test", "");
    app.patch(
        format!("/api/v1/team/{}", co_owner.id),
        &owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    let stranger = driver.browser(&base).await;
    stranger.open(&takeover).await;
    assert_eq!(stranger.text("main h1").await, "Not found");
    assert_eq!(stranger.count("input[name='password']").await, 0);

    // The Owner makes a pending invitation and a reset link for the rep.
    olive.open("/settings/team").await;
    let invite = olive
        .wait_css("form[action='/settings/team/invitations']")
        .await;
    invite.fill("email", "pat@acme.test").await;
    invite.fill("name", "Pat Pending").await;
    invite.press("Create invitation link").await;
    let link = olive.wait_css("#invite-link").await.value().await;
    let rep_row = member_row(&olive, "rep@acme.io").await;
    rep_row
        .find(Locator::XPath(
            ".//button[normalize-space()='Reset password']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let reset = olive.wait_css("#reset-link").await.value().await;
    olive.open("/settings/team").await;
    let pending = olive.text("ul.pending").await;
    assert!(
        pending.contains("Pat Pending (pat@acme.test), Sales"),
        "{pending}"
    );
    assert!(pending.contains("by Olive Owner"), "{pending}");
    assert_eq!(olive.horizontal_overflow().await, 0, "Team overflows");
    let script =
        "const w = document.querySelector('.table-wrap'); return w.scrollWidth - w.clientWidth";
    assert_eq!(olive.js(script).await, 0, "the three buttons wrap");
    olive.full_screenshot("14-team-links-phone").await;

    // Confirmations are answered yes; each withdrawal says what happened.
    olive.js("window.confirm = () => true; return true").await;
    olive.buttons("Revoke").await[0].click().await.unwrap();
    olive
        .wait_for_text(
            "p.banner.ok",
            "Invitation withdrawn. Its link no longer works.",
        )
        .await;
    assert_eq!(olive.count("ul.pending").await, 0);
    olive.js("window.confirm = () => true; return true").await;
    olive.buttons("Revoke reset links").await[0]
        .click()
        .await
        .unwrap();
    olive
        .wait_for_text(
            "p.banner.ok",
            "Password-reset links withdrawn. They no longer work.",
        )
        .await;
    assert!(olive.buttons("Revoke reset links").await.is_empty());
    for dead in [&link, &reset] {
        stranger.goto(dead).await.unwrap();
        assert_eq!(stranger.text("main h1").await, "Not found", "{dead}");
    }
    olive.close().await;
    stranger.close().await;
}
