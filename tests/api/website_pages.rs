//! Settings -> Website form, the bell and the notifications page, in-process.

use crate::helpers::TestApp;
use crate::pages::{location, signed_in};

crate::backend_tests!(
    website_form_page_is_for_owners_and_managers,
    the_bell_counts_and_opens_notifications
);

async fn website_form_page_is_for_owners_and_managers(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    app.add_member(&owner, "sales", "s@acme.io").await;
    let key = app.form_key(&owner).await;
    let mut boss = signed_in(&app, "o@acme.io").await;
    let page = boss.get("/settings/website").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("href=\"/settings/website\">Website form</a>")
    );
    assert!(page.text.contains(&format!("<code>{key}</code>")));
    assert!(
        page.text
            .contains(&format!("action=&#34;http://app.test/f/{key}&#34;"))
            || page
                .text
                .contains(&format!("action=&quot;http://app.test/f/{key}&quot;"))
    );
    assert!(
        page.text.contains(">Rotate key</button>") && page.text.contains(">Copy HTML</button>")
    );
    let r = boss
        .submit("/settings/website", "/settings/website/rotate", &[])
        .await;
    assert_eq!(location(&r), "/settings/website?done=rotated");
    let new_key = app.form_key(&owner).await;
    assert_ne!(new_key, key);
    let r = boss
        .submit(
            "/settings/website",
            "/settings/website",
            &[("allowed_redirects", "https://acme.io/thanks\nnot a url")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("not a url is not an http(s) address"));
    let r = boss
        .submit(
            "/settings/website",
            "/settings/website",
            &[("allowed_redirects", "https://acme.io/thanks\n\n")],
        )
        .await;
    assert_eq!(r.status, 303);
    let mut rep = signed_in(&app, "s@acme.io").await;
    let page = rep.get("/settings/website").await;
    assert_eq!(page.status, 403);
    assert!(
        !rep.get("/leads")
            .await
            .text
            .contains("href=\"/settings/website\"")
    );
}

async fn the_bell_counts_and_opens_notifications(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let rep = app.add_member(&owner, "sales", "s@acme.io").await;
    app.routing_on(&owner, None, Some(&[&rep]))
        .await
        .expect(200);
    let key = app.form_key(&owner).await;
    let mut browser = signed_in(&app, "s@acme.io").await;
    let page = browser.get("/leads").await;
    assert!(page.text.contains("aria-label=\"Notifications, 0 unread\""));
    assert!(page.text.contains("<span class=\"badge\" hidden>0</span>"));
    let form = [("name", "Visitor <i>"), ("email", "v@x.io")];
    let posted = browser.post(&format!("/f/{key}"), &form).await;
    assert_eq!(posted.status, 303);
    let page = browser.get("/leads").await;
    assert!(
        page.text.contains("<span class=\"badge\">1</span>"),
        "the bell shows the count on every page"
    );
    let list = browser.get("/notifications").await;
    assert!(
        list.text
            .contains("New website lead routed to you: Visitor &#60;i&#62;")
            || list
                .text
                .contains("New website lead routed to you: Visitor &lt;i&gt;")
    );
    assert!(list.text.contains("Mark all as read"));
    let id = list
        .text
        .split("action=\"/notifications/")
        .skip(1)
        .map(|rest| rest.split(['/', '"']).next().unwrap())
        .find(|segment| *segment != "read-all")
        .unwrap()
        .to_owned();
    let r = browser
        .submit("/notifications", &format!("/notifications/{id}/read"), &[])
        .await;
    assert_eq!(r.status, 303);
    assert!(
        location(&r).starts_with("/leads/"),
        "opening a notification goes to its lead"
    );
    let page = browser.get(location(&r).to_owned().as_str()).await;
    assert!(page.text.contains("<span class=\"badge\" hidden>0</span>"));
    // Someone else's notification is not found.
    let mut boss = signed_in(&app, "o@acme.io").await;
    let r = boss
        .submit("/notifications", &format!("/notifications/{id}/read"), &[])
        .await;
    assert_eq!(r.status, 404);
}
