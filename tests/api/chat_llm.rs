//! The website chat assistant with the LLM provider, end to end: the whole app configured with
//! an OpenAI-compatible server (a fake one started by the test on a free port), driven through
//! `POST /api/v1/public/chat/{form_key}`. A model that answers makes the reply and, through its
//! `create_lead` tool call, the lead; a model that fails leaves the visitor with the guided
//! reply and the lead made from their own words, never an error.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::helpers::{Member, Resp, TestApp};

/// The fake model server: answers each request with the next scripted (status, body), or a
/// 500 once the script is used up, and keeps every request body it received.
#[derive(Clone, Default)]
struct FakeModel {
    script: Arc<Mutex<VecDeque<(u16, String)>>>,
    seen: Arc<Mutex<Vec<Value>>>,
}

impl FakeModel {
    fn requests(&self) -> Vec<Value> {
        self.seen.lock().unwrap().clone()
    }
}

async fn completions(State(fake): State<FakeModel>, body: String) -> Response {
    let body = serde_json::from_str(&body).unwrap_or(Value::Null);
    fake.seen.lock().unwrap().push(body);
    let (status, body) = fake
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(server_error);
    (
        StatusCode::from_u16(status).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Starts the fake on 127.0.0.1:0; returns its port and a handle on what it saw.
async fn serve_model(script: Vec<(u16, String)>) -> (u16, FakeModel) {
    let fake = FakeModel {
        script: Arc::new(Mutex::new(script.into())),
        ..Default::default()
    };
    let router = axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (port, fake)
}

/// An OpenAI chat-completion answer holding `message`.
fn completion(message: Value) -> (u16, String) {
    let body = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    });
    (200, body.to_string())
}

fn text_reply(content: &str) -> (u16, String) {
    completion(json!({"role": "assistant", "content": content}))
}

fn create_lead_call(arguments: Value) -> (u16, String) {
    completion(json!({
        "role": "assistant",
        "content": null,
        "tool_calls": [{
            "id": "call_1",
            "type": "function",
            "function": {"name": "create_lead", "arguments": arguments.to_string()},
        }],
    }))
}

fn server_error() -> (u16, String) {
    let body = json!({"error": {"message": "model crashed", "type": "server_error",
                                "param": null, "code": null}});
    (500, body.to_string())
}

/// The whole app, its assistant the LLM at the fake's address.
async fn app_with_model(backend: &'static str, port: u16) -> Option<TestApp> {
    TestApp::with_config(backend, |c| {
        c.assistant_url = Some(format!("http://127.0.0.1:{port}/v1"));
        c.assistant_model = Some("test-model".into());
    })
    .await
}

/// One turn; asserts the 200 and the CORS header every answer carries.
async fn say(app: &TestApp, key: &str, conversation: Option<&str>, message: &str) -> Resp {
    let r = app
        .post(
            format!("/api/v1/public/chat/{key}"),
            None,
            json!({"conversation_id": conversation, "message": message}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.headers["access-control-allow-origin"], "*");
    r
}

fn reply(r: &Resp) -> &str {
    r.json["reply"].as_str().unwrap()
}

async fn assistant_leads(app: &TestApp, member: &Member) -> Vec<Value> {
    let r = app
        .get("/api/v1/leads?source=assistant", &member.token)
        .await;
    r.expect(200);
    r.json["leads"].as_array().unwrap().clone()
}

async fn lead_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM leads")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

const FIRST_REPLY: &str = "Forty standing desks, great! May I have your name and email address so the team can send a quote?";

/// A model that answers: its text is the reply, its `create_lead` call makes one routed lead
/// with the validated fields and the transcript, and later turns never ask it again.
async fn the_model_replies_and_its_tool_call_creates_the_lead(backend: &'static str) {
    let (port, model) = serve_model(vec![
        text_reply(FIRST_REPLY),
        // Untidy on purpose: the server validates and normalises what the model passes on.
        create_lead_call(json!({
            "name": "  Dana Scully ",
            "email": "Dana@FBI.example",
            "company": "FBI",
            "phone": "",
            "summary": "A quote for 40 standing desks",
        })),
    ])
    .await;
    let Some(app) = app_with_model(backend, port).await else {
        return;
    };
    let owner = app.signup("Acme Desks", "o@acmedesks.io").await;
    let rep = app.add_member(&owner, "sales", "rep@acmedesks.io").await;
    app.routing_on(&owner, None, Some(&[&rep]))
        .await
        .expect(200);
    app.call(
        Method::PUT,
        "/api/v1/website",
        Some(&owner.token),
        Some(json!({"description": "We sell standing desks to offices."})),
    )
    .await
    .expect(200);
    let key = app.form_key(&owner).await;

    // The hosted page says an AI model answers, not the guided assistant.
    let page = app
        .call(Method::GET, format!("/chat/{key}"), None, None)
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text
            .contains("AI assistant. A person from the team follows up."),
        "{}",
        page.text
    );
    assert!(!page.text.contains("Guided assistant"), "{}", page.text);

    // Turn 1: the model's text is the reply; no lead yet.
    let r = say(&app, &key, None, "Hi, we need 40 standing desks").await;
    assert_eq!(reply(&r), FIRST_REPLY);
    assert!(r.json["lead_id"].is_null(), "{}", r.text);
    let id = r.json["conversation_id"].as_str().unwrap().to_owned();
    assert!(!id.is_empty());
    assert_eq!(lead_count(&app).await, 0);

    // Turn 2: an address spelled out: read back to the visitor before anything uses it
    // (the guided assistant's question; the model is not asked).
    let second = "Dana Scully, from the FBI. Mail me: dana at fbi dot example";
    let r = say(&app, &key, Some(&id), second).await;
    assert_eq!(r.json["conversation_id"], id.as_str());
    assert_eq!(
        reply(&r),
        "Just to check: is your email address dana@fbi.example?"
    );
    assert!(r.json["lead_id"].is_null(), "{}", r.text);
    // Turn 3: confirmed; the model's create_lead call makes the lead.
    let r = say(&app, &key, Some(&id), "yes").await;
    let lead_id = r.json["lead_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the tool call creates the lead: {}", r.text))
        .to_owned();
    assert_eq!(
        reply(&r),
        "Thanks, Dana! I've passed your details to the Acme Desks team. Someone will be in touch soon."
    );

    let leads = assistant_leads(&app, &owner).await;
    assert_eq!(leads.len(), 1, "{leads:?}");
    assert_eq!(leads[0]["id"], lead_id.as_str());
    let lead = app
        .get(format!("/api/v1/leads/{lead_id}"), &owner.token)
        .await;
    lead.expect(200);
    let lead = &lead.json;
    assert_eq!(lead["source"], "assistant");
    assert_eq!(lead["name"], "Dana Scully", "trimmed");
    assert_eq!(lead["email"], "dana@fbi.example", "normalised");
    assert_eq!(lead["company"], "FBI");
    assert!(
        lead["phone"].is_null(),
        "an empty phone is no phone: {lead}"
    );
    assert!(lead["created_by"].is_null());
    assert_eq!(lead["owner"]["id"], rep.id.as_str(), "routed: {lead}");
    let notes = lead["notes"].as_str().unwrap();
    for line in [
        "Looking for: Hi, we need 40 standing desks",
        "Chat transcript",
        "Assistant: Hi! I'm the Acme Desks assistant. What can we help you with today?",
        "Visitor: Hi, we need 40 standing desks",
        &format!("Assistant: {FIRST_REPLY}"),
        &format!("Visitor: {second}"),
        "Assistant: Just to check: is your email address dana@fbi.example?",
        "Visitor: yes",
        "Assistant: Thanks, Dana! I've passed your details",
    ] {
        assert!(notes.contains(line), "{line:?} not in notes:\n{notes}");
    }
    let inbox = app.get("/api/v1/notifications", &rep.token).await;
    assert_eq!(inbox.json["unread_count"], 1, "{}", inbox.text);

    // What the model was sent: the configured model, the Owner's description, the tool, and
    // on the third turn the conversation so far, read back from the database.
    let requests = model.requests();
    assert_eq!(
        requests.len(),
        2,
        "one request per turn bar the read-back: {requests:#?}"
    );
    for body in &requests {
        assert_eq!(body["model"], "test-model");
        assert_eq!(body["tools"][0]["function"]["name"], "create_lead");
        let system = body["messages"][0]["content"].as_str().unwrap();
        assert!(
            system.contains("Acme Desks") && system.contains("We sell standing desks to offices."),
            "{system}"
        );
    }
    let messages = requests[1]["messages"].as_array().unwrap();
    let turns: Vec<(&str, &str)> = messages[1..]
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap(),
                m["content"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        turns,
        [
            (
                "assistant",
                "Hi! I'm the Acme Desks assistant. What can we help you with today?"
            ),
            ("user", "Hi, we need 40 standing desks"),
            ("assistant", FIRST_REPLY),
            ("user", second),
            (
                "assistant",
                "Just to check: is your email address dana@fbi.example?"
            ),
            ("user", "yes"),
        ]
    );

    // Later turns: the same one lead, and the model is not asked again.
    let r = say(
        &app,
        &key,
        Some(&id),
        "Thanks! Also my colleague is fox@fbi.example",
    )
    .await;
    assert_eq!(r.json["lead_id"], lead_id.as_str());
    assert!(reply(&r).contains("already has your details"), "{}", r.text);
    assert_eq!(model.requests().len(), 2, "no model call after the lead");
    assert_eq!(lead_count(&app).await, 1);

    // The page of the conversation shows it done: every bubble, no composer.
    let page = app
        .call(
            Method::GET,
            format!("/chat/{key}?conversation={id}"),
            None,
            None,
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("Forty standing desks, great!"),
        "{}",
        page.text
    );
    assert!(!page.text.contains("<textarea"), "no composer once done");
    app.check().await;
}

/// A model that answers 500 to everything: every turn still gets the guided reply (no error
/// status), and the lead is made from the visitor's own words.
async fn a_failing_model_falls_back_to_the_guided_assistant(backend: &'static str) {
    let (port, model) = serve_model(Vec::new()).await;
    let Some(app) = app_with_model(backend, port).await else {
        return;
    };
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;

    let turns = [
        (
            "Hi, I need a quote for 40 desks",
            "Thanks, happy to help with that. Who am I speaking with?",
        ),
        (
            "I'm Vera Visitor from Globex",
            "Nice to meet you, Vera. What's the best email address to reach you?",
        ),
        (
            "vera@globex.example",
            "Thanks, Vera! I've passed your details to the Acme team (Vera Visitor, vera@globex.example, Globex). Someone will be in touch soon.",
        ),
    ];
    let mut id: Option<String> = None;
    let mut asked = 0;
    let mut lead_id = None;
    for (i, (message, expected)) in turns.iter().enumerate() {
        let r = say(&app, &key, id.as_deref(), message).await;
        assert_eq!(reply(&r), *expected, "turn {i}: {}", r.text);
        id = Some(r.json["conversation_id"].as_str().unwrap().to_owned());
        let now = model.requests().len();
        assert!(now > asked, "turn {i} tried the model first");
        asked = now;
        lead_id = r.json["lead_id"].as_str().map(str::to_owned);
        assert_eq!(lead_id.is_some(), i == 2, "turn {i}: {}", r.text);
    }
    let lead_id = lead_id.unwrap();
    let lead = app
        .get(format!("/api/v1/leads/{lead_id}"), &owner.token)
        .await;
    lead.expect(200);
    let lead = &lead.json;
    assert_eq!(lead["source"], "assistant");
    assert_eq!(lead["name"], "Vera Visitor");
    assert_eq!(lead["email"], "vera@globex.example");
    assert_eq!(lead["company"], "Globex");
    let notes = lead["notes"].as_str().unwrap();
    assert!(
        notes.contains("Looking for: Hi, I need a quote for 40 desks")
            && notes.contains("Visitor: I'm Vera Visitor from Globex")
            && notes.contains("Assistant: Nice to meet you, Vera."),
        "{notes}"
    );
    assert_eq!(lead_count(&app).await, 1);
    app.check().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_reply_and_tool_call_on_sqlite() {
    the_model_replies_and_its_tool_call_creates_the_lead("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_reply_and_tool_call_on_postgres() {
    the_model_replies_and_its_tool_call_creates_the_lead("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_down_falls_back_on_sqlite() {
    a_failing_model_falls_back_to_the_guided_assistant("sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_down_falls_back_on_postgres() {
    a_failing_model_falls_back_to_the_guided_assistant("postgres").await;
}

/// The evaluation set and its score, shared with the guided assistant's unit test.
#[allow(dead_code)]
#[path = "../../src/assistant/eval/score.rs"]
mod score;

/// The replaying model server: answers each request with the current conversation's
/// recorded answer for that turn (the number of visitor messages in the request), or a 500
/// when none was recorded.
#[derive(Clone, Default)]
struct Replay {
    answers: Arc<Mutex<Vec<Value>>>,
}

async fn replay(State(replay): State<Replay>, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let turn = body["messages"]
        .as_array()
        .map_or(0, |m| m.iter().filter(|m| m["role"] == "user").count());
    let answer = replay
        .answers
        .lock()
        .unwrap()
        .get(turn.wrapping_sub(1))
        .cloned();
    let (status, body) = match answer {
        Some(a) if a.get("call").is_some() => create_lead_call(a["call"].clone()),
        Some(a) => text_reply(a["say"].as_str().unwrap_or_default()),
        None => server_error(),
    };
    (
        StatusCode::from_u16(status).unwrap(),
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Issue 26: the evaluation set through the whole app with the LLM provider, the model's
/// answers replayed from the recorded fixtures in the set (hand-written, plausible answers,
/// some deliberately wrong), scored per field on the stored leads: the same 95% bar as the
/// guided assistant, and no lead without consent or with someone else's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_evaluation_set_replayed_against_the_llm_provider() {
    let state = Replay::default();
    let router = axum::Router::new()
        .route("/v1/chat/completions", post(replay))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let app = TestApp::with_config("sqlite", |c| {
        c.assistant_url = Some(format!("http://127.0.0.1:{port}/v1"));
        c.assistant_model = Some("test-model".into());
        c.public_rate_limit = 0;
    })
    .await
    .expect("SQLite is always available");
    let owner = app.signup("Acme", "o@acme.io").await;
    let key = app.form_key(&owner).await;
    let mut result = score::Score::default();
    let mut made = 0;
    for case in score::cases() {
        *state.answers.lock().unwrap() = case.model.clone();
        let mut conversation: Option<String> = None;
        let mut lead_id: Option<String> = None;
        for message in &case.messages {
            let r = say(&app, &key, conversation.as_deref(), message).await;
            conversation = r.json["conversation_id"].as_str().map(str::to_owned);
            lead_id = r.json["lead_id"].as_str().map(str::to_owned);
        }
        let got = match &lead_id {
            Some(id) => {
                made += 1;
                let lead = app.get(format!("/api/v1/leads/{id}"), &owner.token).await;
                lead.expect(200);
                let text = |f: &str| lead.json[f].as_str().map(str::to_owned);
                Some(score::Expected {
                    name: text("name"),
                    email: text("email"),
                    company: text("company"),
                    phone: text("phone"),
                })
            }
            None => None,
        };
        result.add(&case, got.as_ref());
    }
    assert_eq!(
        lead_count(&app).await,
        made,
        "one lead per conversation that made one"
    );
    result.assert_passes("llm (replayed)");
    app.check().await;
}
