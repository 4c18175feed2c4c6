//! A lead's country and company size: accepted as a code or an English name and as a whole
//! number through the API, the pages' forms and the public form; cleared by an edit; bad
//! values refused by field with nothing written; and the Website page's switch that puts
//! them on the hosted form and in the embed snippet.

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::json;

use crate::helpers::{Resp, TestApp};

crate::backend_tests!(
    country_and_size_through_the_api,
    country_and_size_through_the_public_form,
);

async fn country_and_size_through_the_api(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let r = app
        .post(
            "/api/v1/leads",
            Some(&owner.token),
            json!({"name": "Ada", "country": " germany ", "company_size": "1,200"}),
        )
        .await;
    r.expect(201);
    assert_eq!(r.json["country"], "DE");
    assert_eq!(r.json["company_size"], 1200);
    assert!(r.json["sla"].is_null() && r.json["routing_state"].is_null());
    let id = r.json["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/leads/{id}");
    for (body, country, size) in [
        (
            json!({"country": "US", "company_size": 40}),
            json!("US"),
            json!(40),
        ),
        (json!({"name": "Ada L."}), json!("US"), json!(40)),
        (
            json!({"country": "", "company_size": null}),
            json!(null),
            json!(null),
        ),
        (
            json!({"country": "Côte d'Ivoire", "company_size": 0}),
            json!("CI"),
            json!(0),
        ),
        (json!({"country": null}), json!(null), json!(0)),
    ] {
        let r = app.patch(&path, &owner.token, body.clone()).await;
        r.expect(200);
        assert_eq!(
            (&r.json["country"], &r.json["company_size"]),
            (&country, &size),
            "{body}"
        );
    }
    let before = app.snapshot().await;
    for (body, field) in [
        (json!({"name": "X", "country": "Atlantis"}), "country"),
        (json!({"name": "X", "country": "XX"}), "country"),
        (json!({"name": "X", "company_size": -5}), "company_size"),
        (json!({"name": "X", "company_size": "lots"}), "company_size"),
        (json!({"name": "X", "company_size": 1.5}), "company_size"),
        (
            json!({"name": "X", "company_size": 1_000_000_000}),
            "company_size",
        ),
    ] {
        let r = app
            .post("/api/v1/leads", Some(&owner.token), body.clone())
            .await;
        r.expect(422);
        assert!(r.field(field).is_some(), "{body}: {}", r.text);
        let r = app.patch(&path, &owner.token, body.clone()).await;
        r.expect(422);
        assert!(r.field(field).is_some(), "{body}: {}", r.text);
    }
    assert_eq!(app.snapshot().await, before, "nothing written");
    // The list carries them too.
    let list = app.get("/api/v1/leads", &owner.token).await;
    assert_eq!(list.json["leads"][0]["company_size"], 0);
}

async fn post(app: &TestApp, key: &str, content_type: &str, body: String) -> Resp {
    app.send(
        Request::builder()
            .method(Method::POST)
            .uri(format!("/f/{key}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn country_and_size_through_the_public_form(app: TestApp) {
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;
    let hosted = app.call(Method::GET, format!("/f/{key}"), None, None).await;
    assert!(!hosted.text.contains("name=\"country\""), "off by default");
    let r = app.get("/api/v1/website", &owner.token).await;
    assert_eq!(r.json["ask_country_and_size"], false);
    assert!(!r.json["embed_html"].as_str().unwrap().contains("country"));
    let r = app
        .call(
            Method::PUT,
            "/api/v1/website",
            Some(&owner.token),
            Some(json!({"ask_country_and_size": true})),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["ask_country_and_size"], true);
    let embed = r.json["embed_html"].as_str().unwrap();
    assert!(embed.contains("name=\"country\"") && embed.contains("name=\"company_size\""));
    let hosted = app.call(Method::GET, format!("/f/{key}"), None, None).await;
    assert!(
        hosted.text.contains("name=\"country\"") && hosted.text.contains("name=\"company_size\"")
    );

    let r = post(
        &app,
        &key,
        "application/json",
        json!({"name": "Jo", "email": "jo@x.io", "country": "FR", "company_size": 300}).to_string(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let lead = app
        .get(
            format!("/api/v1/leads/{}", r.json["id"].as_str().unwrap()),
            &owner.token,
        )
        .await;
    assert_eq!(
        (&lead.json["country"], &lead.json["company_size"]),
        (&json!("FR"), &json!(300))
    );
    let body = serde_urlencoded::to_string([
        ("name", "Kim"),
        ("email", "kim@x.io"),
        ("country", "Japan"),
        ("company_size", "12"),
    ])
    .unwrap();
    let r = post(&app, &key, "application/x-www-form-urlencoded", body).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let leads = app.get("/api/v1/leads", &owner.token).await;
    assert_eq!(leads.json["leads"][0]["country"], "JP");
    assert_eq!(leads.json["leads"][0]["company_size"], 12);

    // A refused value: JSON names the field; the hosted form comes back with what was typed.
    let before = app.snapshot().await;
    let r = post(
        &app,
        &key,
        "application/json",
        json!({"name": "Jo", "email": "jo@x.io", "company_size": -1}).to_string(),
    )
    .await;
    r.expect(422);
    assert!(r.field("company_size").is_some());
    let body = serde_urlencoded::to_string([
        ("name", "Kim"),
        ("email", "kim@x.io"),
        ("country", "Narnia"),
    ])
    .unwrap();
    let r = post(&app, &key, "application/x-www-form-urlencoded", body).await;
    assert_eq!(r.status, 422);
    assert!(r.text.contains("value=\"Narnia\""), "kept what was typed");
    assert!(
        r.text.contains("Country must be a country code like DE"),
        "{}",
        r.text
    );
    assert_eq!(app.snapshot().await, before, "nothing written");
    // Audited as a website change.
    let audit = app
        .get("/api/v1/audit?action=website.updated", &owner.token)
        .await;
    assert_eq!(audit.json["entries"].as_array().unwrap().len(), 1);
}
