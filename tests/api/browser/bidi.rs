//! A name stored with a right-to-left override (before names were checked) cannot flip
//! the text after it: in Chromium, what follows the isolated name stays to its right.

use serde_json::json;

use super::ChromeDriver;
use super::fixtures::{PASSWORD, acme};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_in_a_name_stays_inside_the_name() {
    let Some(driver) = ChromeDriver::start().await else {
        return;
    };
    let (app, base, owner) = acme().await;
    app.post(
        "/api/v1/team/invitations",
        Some(&owner.token),
        json!({"email": "sam@acme.test", "name": "Sam", "role": "sales"}),
    )
    .await
    .expect(201);
    sqlx::query("UPDATE invitations SET name = $1")
        .bind("Sam Sales\u{202e} (Owner)")
        .execute(&app.db.pool)
        .await
        .unwrap();

    let browser = driver.browser(&base).await;
    browser.sign_in("olive@acme.test", PASSWORD).await;
    browser.open("/settings/team").await;
    browser.wait_css("ul.pending li bdi").await;
    let script = "const li = document.querySelector('ul.pending li');
        const name = li.querySelector('bdi');
        const range = document.createRange();
        range.selectNodeContents(name.nextSibling);
        const after = range.getBoundingClientRect();
        return [name.getBoundingClientRect().right, after.left, after.top, name.getBoundingClientRect().top];";
    let v = browser.js(script).await;
    let [name_right, after_left, after_top, name_top] =
        [0, 1, 2, 3].map(|i| v[i].as_f64().unwrap());
    assert!((after_top - name_top).abs() < 1.0, "one line: {v}");
    assert!(
        after_left >= name_right - 1.0,
        "the text after the name is drawn after it: {v}"
    );
    browser.close().await;
}
