//! A member's availability over the API: who may read and change it, what is refused by
//! field, time off, and what "available now" says at instants the test sets on the
//! server's clock.

use serde_json::{Value, json};

use crate::helpers::{Member, Resp, TestApp};
use crate::routing::team;

crate::backend_tests!(
    a_new_member_is_always_available,
    members_change_their_own_and_managers_anyones_availability,
    bad_availability_is_refused_by_field,
    time_off_is_added_and_removed_and_makes_a_member_unavailable,
    working_hours_follow_the_members_time_zone,
);

/// 2026-12-07 is a Monday.
const MON_2026_12_07_UTC: i64 = 1_796_601_600_000;
const HOUR: i64 = 3_600_000;

fn path(who: &Member) -> String {
    format!("/api/v1/team/{}/availability", who.id)
}

async fn put(app: &TestApp, caller: &Member, whose: &Member, body: Value) -> Resp {
    app.call(
        "PUT".parse().unwrap(),
        &path(whose),
        Some(&caller.token),
        Some(body),
    )
    .await
}

async fn get(app: &TestApp, caller: &Member, whose: &Member) -> Value {
    let r = app.get(&path(whose), &caller.token).await;
    r.expect(200);
    r.json
}

async fn a_new_member_is_always_available(app: TestApp) {
    let t = team(&app).await;
    let a = get(&app, &t.accounting, &t.s1).await;
    assert_eq!(
        a,
        json!({"timezone": "UTC", "working_hours": [], "away": false, "daily_cap": null,
               "time_off": [], "available_now": true, "unavailable_reason": null,
               "unavailable_detail": null})
    );
    let r = app
        .get("/api/v1/team/nobody/availability", &t.s1.token)
        .await;
    r.expect(404);
}

async fn members_change_their_own_and_managers_anyones_availability(app: TestApp) {
    let t = team(&app).await;
    let hours = json!([{"day": "mon", "start": "09:00", "end": "17:00"},
                       {"day": "fri", "start": "22:00", "end": "06:00"}]);
    let r = put(
        &app,
        &t.s1,
        &t.s1,
        json!({"timezone": "Europe/Berlin", "working_hours": hours}),
    )
    .await;
    r.expect(200);
    assert_eq!(r.json["timezone"], "Europe/Berlin");
    assert_eq!(r.json["working_hours"], hours);
    // A missing field keeps its value; Away alone.
    let r = put(&app, &t.s1, &t.s1, json!({"away": true})).await;
    r.expect(200);
    assert_eq!(r.json["timezone"], "Europe/Berlin");
    assert_eq!(r.json["away"], true);
    assert_eq!(r.json["available_now"], false);
    assert_eq!(r.json["unavailable_reason"], "away");
    // A rep may not change a teammate's, nor any cap (their own included).
    put(&app, &t.s1, &t.s2, json!({"away": true}))
        .await
        .expect(403);
    put(&app, &t.s1, &t.s1, json!({"daily_cap": 5}))
        .await
        .expect(403);
    // Sending the unchanged cap back is not setting one.
    put(
        &app,
        &t.s1,
        &t.s1,
        json!({"daily_cap": null, "away": false}),
    )
    .await
    .expect(200);
    // Managers and Owners set anyone's, caps included.
    let r = put(
        &app,
        &t.manager,
        &t.s2,
        json!({"daily_cap": 3, "away": true}),
    )
    .await;
    r.expect(200);
    assert_eq!(
        (r.json["daily_cap"].clone(), r.json["away"].clone()),
        (json!(3), json!(true))
    );
    let r = put(&app, &t.owner, &t.s2, json!({"daily_cap": null})).await;
    r.expect(200);
    assert!(r.json["daily_cap"].is_null());
    // Each change is in the audit log.
    let r = app.get("/api/v1/audit", &t.owner.token).await;
    let changes = r.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "team.availability_updated")
        .count();
    assert_eq!(changes, 5);
}

async fn bad_availability_is_refused_by_field(app: TestApp) {
    let t = team(&app).await;
    let cases = [
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (
            json!({"working_hours": [{"day": "mon", "start": "09:00", "end": "09:00"}]}),
            "working_hours[0].end",
        ),
        (
            json!({"working_hours": [{"day": "mon", "start": "09:00", "end": "12:00"},
                                     {"day": "mon", "start": "11:00", "end": "13:00"}]}),
            "working_hours[1].start",
        ),
        (
            json!({"working_hours": [{"day": "sun", "start": "22:00", "end": "06:00"},
                                     {"day": "sun", "start": "23:00", "end": "23:30"}]}),
            "working_hours[1].start",
        ),
        (
            json!({"working_hours": [{"day": "someday", "start": "25:00", "end": "9"}]}),
            "working_hours[0].day",
        ),
        (json!({"daily_cap": -1}), "daily_cap"),
        (json!({"daily_cap": 10_001}), "daily_cap"),
    ];
    for (body, field) in cases {
        let r = put(&app, &t.manager, &t.s1, body.clone()).await;
        r.expect(422);
        assert!(r.field(field).is_some(), "{body}: {}", r.text);
    }
    let time_off = format!("/api/v1/team/{}/time-off", t.s1.id);
    for (body, field) in [
        (
            json!({"starts_at": "2026-12-24T00:00:00Z", "ends_at": "2026-12-23T00:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-06-01T00:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"starts_at": "tomorrow", "ends_at": "2027-06-01T00:00:00Z"}),
            "starts_at",
        ),
    ] {
        let r = app.post(&time_off, Some(&t.s1.token), body.clone()).await;
        r.expect(422);
        assert!(r.field(field).is_some(), "{body}: {}", r.text);
    }
    // Nothing was half-written.
    let a = get(&app, &t.s1, &t.s1).await;
    assert_eq!(
        (a["timezone"].clone(), a["working_hours"].clone()),
        (json!("UTC"), json!([]))
    );
    assert!(a["daily_cap"].is_null());
}

async fn time_off_is_added_and_removed_and_makes_a_member_unavailable(app: TestApp) {
    let t = team(&app).await;
    app.db.clock.set(MON_2026_12_07_UTC);
    let time_off = |who: &Member| format!("/api/v1/team/{}/time-off", who.id);
    let r = app
        .post(
            &time_off(&t.s1),
            Some(&t.s1.token),
            json!({"starts_at": "2026-12-07T00:00:00Z", "ends_at": "2026-12-09T00:00:00Z",
                   "reason": "  Dentist  "}),
        )
        .await;
    r.expect(201);
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json["reason"], "Dentist");
    assert_eq!(r.json["starts_at"], "2026-12-07T00:00:00Z");
    let a = get(&app, &t.s2, &t.s1).await;
    assert_eq!(a["time_off"].as_array().unwrap().len(), 1);
    assert_eq!(a["unavailable_reason"], "time_off");
    assert_eq!(a["unavailable_detail"], "on time off until Wed 00:00 UTC");
    // A rep cannot add or remove a teammate's; a Manager can.
    let body = json!({"starts_at": "2026-12-10T00:00:00Z", "ends_at": "2026-12-11T00:00:00Z"});
    app.post(&time_off(&t.s2), Some(&t.s1.token), body.clone())
        .await
        .expect(403);
    app.post(&time_off(&t.s2), Some(&t.manager.token), body)
        .await
        .expect(201);
    let delete = |who: &Member, id: &str| format!("{}/{id}", time_off(who));
    app.call(
        "DELETE".parse().unwrap(),
        &delete(&t.s1, &id),
        Some(&t.s2.token),
        None,
    )
    .await
    .expect(403);
    app.call(
        "DELETE".parse().unwrap(),
        &delete(&t.s2, &id),
        Some(&t.manager.token),
        None,
    )
    .await
    .expect(404);
    app.call(
        "DELETE".parse().unwrap(),
        &delete(&t.s1, &id),
        Some(&t.s1.token),
        None,
    )
    .await
    .expect(204);
    let a = get(&app, &t.s1, &t.s1).await;
    assert_eq!(a["available_now"], true);
    assert_eq!(a["time_off"], json!([]));
    // Time off that is over is no longer listed.
    app.db.clock.set(MON_2026_12_07_UTC + 5 * 24 * HOUR);
    assert_eq!(get(&app, &t.s2, &t.s2).await["time_off"], json!([]));
}

async fn working_hours_follow_the_members_time_zone(app: TestApp) {
    let t = team(&app).await;
    put(
        &app,
        &t.s1,
        &t.s1,
        json!({"timezone": "Europe/Berlin",
               "working_hours": [{"day": "mon", "start": "09:00", "end": "17:00"}]}),
    )
    .await
    .expect(200);
    // Monday 07:30 UTC is 08:30 in Berlin: off until 09:00 there.
    app.db.clock.set(MON_2026_12_07_UTC + 7 * HOUR + HOUR / 2);
    let a = get(&app, &t.s1, &t.s1).await;
    assert_eq!(a["unavailable_reason"], "off_hours");
    assert_eq!(a["unavailable_detail"], "off until Mon 09:00 Europe/Berlin");
    // 08:00 UTC is 09:00 in Berlin.
    app.db.clock.set(MON_2026_12_07_UTC + 8 * HOUR);
    assert_eq!(get(&app, &t.s1, &t.s1).await["available_now"], true);
    // 16:00 UTC is 17:00: off until next Monday.
    app.db.clock.set(MON_2026_12_07_UTC + 16 * HOUR);
    let a = get(&app, &t.s1, &t.s1).await;
    assert_eq!(a["unavailable_detail"], "off until Mon 09:00 Europe/Berlin");
}
