//! The LLM assistant: any OpenAI-compatible chat-completions server (OpenAI, or a local
//! Ollama, llama.cpp or vLLM server). The guided extraction still runs on every turn, so
//! the visitor's details are kept whatever the model does, and any failure (down, slow,
//! nonsense) answers with the guided reply instead: the visitor never sees an error.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, ChatCompletionTool, ChatCompletionTools,
    CreateChatCompletionRequest, CreateChatCompletionResponse, FunctionObject,
};
use serde_json::{Map, Value, json};

use super::extract::{Asked, extract, is_not_name};
use super::{Assistant, BoxFuture, Context, Reply, Speaker, guided};
use crate::domain::lead::{Company, LeadChanges, LeadInput, Phone};
use crate::domain::validate::{EmailAddress, FieldErrors};

const TOOL: &str = "create_lead";
/// A longer answer is not a chat reply: treated as nonsense.
const REPLY_MAX: usize = 4_000;
const SUMMARY_MAX: usize = 2_000;
/// The Owner's description goes into every prompt; a runaway one would crowd out the chat.
const DESCRIPTION_MAX: usize = 2_000;
/// Long enough for a restarting local server to come back, short enough not to be noticed.
const RETRY_DELAY: Duration = Duration::from_millis(250);

pub struct Llm {
    client: Client<OpenAIConfig>,
    model: String,
    /// For each HTTP attempt.
    timeout: Duration,
}

impl Llm {
    /// `base_url` includes the API version, as OpenAI-compatible servers expect
    /// (`https://api.openai.com/v1`, `http://localhost:11434/v1`).
    pub fn new(base_url: &str, model: &str, api_key: Option<&str>, timeout: Duration) -> Self {
        let key = api_key.map(str::trim).unwrap_or_default();
        // The client builds the Authorization header with `unwrap`: a key that is not a valid
        // header value (say, a stray newline in the environment) would panic on every turn.
        let key = if key.chars().all(|c| c.is_ascii_graphic()) {
            key
        } else {
            tracing::error!("LEADROUTE_ASSISTANT_API_KEY is not a valid API key; sending none");
            ""
        };
        // Every field is set explicitly: the defaults read OPENAI_* variables, which belong
        // to some other configuration and must not leak to this server.
        let config = OpenAIConfig::new()
            .with_api_base(base_url.trim().trim_end_matches('/'))
            .with_api_key(key)
            .with_org_id("")
            .with_project_id("");
        // The plain transport, without the client's own retry layer (three retries with
        // backoff, honouring Retry-After): `complete` retries once, and a visitor is waiting.
        let client = Client::with_config(config).with_http_service(ReqwestService::default());
        Self {
            client,
            model: model.to_owned(),
            timeout,
        }
    }

    /// One completion: a timeout per attempt, and one retry when the server could not
    /// answer (transport error or 5xx). A timeout is not retried: the visitor already waited.
    async fn complete(
        &self,
        request: &CreateChatCompletionRequest,
    ) -> Result<CreateChatCompletionResponse, Failure> {
        let mut retried = false;
        loop {
            let chat = self.client.chat();
            let attempt = chat.create(request.clone());
            match tokio::time::timeout(self.timeout, attempt).await {
                Err(_) => return Err(Failure::Timeout(self.timeout)),
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(err)) if !retried && retryable(&err) => {
                    tracing::info!(error = %describe(&err), "assistant model failed; retrying once");
                    retried = true;
                    tokio::time::sleep(RETRY_DELAY).await;
                }
                Ok(Err(err)) => return Err(Failure::Server(err)),
            }
        }
    }
}

impl Assistant for Llm {
    fn kind(&self) -> &'static str {
        "llm"
    }

    fn respond<'a>(&'a self, ctx: Context<'a>) -> BoxFuture<'a, Reply> {
        Box::pin(async move {
            // Run first, always: its details are the authoritative record of what the
            // visitor said, and its reply is the answer whenever the model fails.
            let guided = guided::respond(&ctx);
            if guided.details.closed {
                // The visitor declined to give an email twice: the chat has ended, whoever answers.
                return guided;
            }
            if guided.details.asked == Some(Asked::ConfirmEmail) {
                // An address read from their words ("bob at builders dot example") is read
                // back to them before anything uses it, whoever answers.
                return guided;
            }
            let request = request(&self.model, &ctx);
            match self.complete(&request).await.and_then(read) {
                Ok(answer) => decide(&ctx, guided, answer),
                Err(failure) => {
                    tracing::warn!(model = %self.model, error = %describe(&failure), "assistant model failed; answered with the guided assistant");
                    guided
                }
            }
        })
    }
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Server(#[source] OpenAIError),
    #[error("unusable answer: {0}")]
    Nonsense(String),
}

/// An error and its causes ("... error sending request ...: Connection refused"), bounded:
/// the client's messages can quote a whole response.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(err) = cause {
        let message = err.to_string();
        if !text.contains(&message) {
            text = format!("{text}: {message}");
        }
        cause = err.source();
    }
    text.chars().take(500).collect()
}

/// Worth a second try: the request never got an answer, or the server broke while making one.
fn retryable(err: &OpenAIError) -> bool {
    match err {
        // A builder error is our request (say, a malformed base URL): it fails the same way again.
        OpenAIError::Reqwest(e) => !e.is_builder(),
        OpenAIError::ApiError(e) => e.status_code.is_server_error(),
        _ => false,
    }
}

fn request(model: &str, ctx: &Context<'_>) -> CreateChatCompletionRequest {
    let mut messages: Vec<ChatCompletionRequestMessage> =
        vec![ChatCompletionRequestSystemMessage::from(system_prompt(ctx)).into()];
    for line in ctx.transcript {
        messages.push(match line.from {
            Speaker::Visitor => ChatCompletionRequestUserMessage::from(line.text.as_str()).into(),
            Speaker::Assistant => {
                ChatCompletionRequestAssistantMessage::from(line.text.as_str()).into()
            }
        });
    }
    messages.push(ChatCompletionRequestUserMessage::from(ctx.message).into());
    CreateChatCompletionRequest {
        model: model.to_owned(),
        messages,
        tools: Some(vec![create_lead_tool()]),
        // Nothing else is set: temperature, token limits and tool_choice are not accepted
        // alike by every server and model, and the defaults suit a short chat.
        ..Default::default()
    }
}

fn system_prompt(ctx: &Context<'_>) -> String {
    let account = ctx.account_name;
    let mut prompt = format!(
        "You are the website chat assistant of {account}. Greet the visitor, learn briefly what \
         they need, and ask for their name and email address (and their company and phone \
         number if they offer them) so the {account} team can get back to them. Ask for one \
         thing at a time. Once you have their name and email address, call the {TOOL} tool \
         once, with a one-sentence summary of what they need. Never invent details: use only \
         what the visitor wrote. Do not promise prices, dates or anything else on the team's \
         behalf. Keep replies short: one to three sentences of plain text."
    );
    let description = ctx.description.trim();
    if !description.is_empty() {
        let description: String = description.chars().take(DESCRIPTION_MAX).collect();
        prompt.push_str(&format!(
            "\n\nAbout {account}, in its own words:\n{description}"
        ));
    }
    prompt
}

fn create_lead_tool() -> ChatCompletionTools {
    let text = |description: &str| json!({"type": "string", "description": description});
    ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObject {
            name: TOOL.into(),
            description: Some(
                "Pass the visitor's details to the sales team. Call it once, as soon as you \
                 have their name and email address."
                    .into(),
            ),
            parameters: Some(json!({
                "type": "object",
                "properties": {
                    "name": text("The visitor's name, as they wrote it"),
                    "email": text("The visitor's email address"),
                    "phone": text("Their phone number, only if they gave one"),
                    "company": text("Their company, only if they gave one"),
                    "summary": text("One sentence: what they are looking for"),
                },
                "required": ["name", "email"],
                "additionalProperties": false,
            })),
            strict: None,
        },
    })
}

/// What the model answered, once checked.
#[derive(Debug)]
enum Answer {
    Text(String),
    CreateLead {
        call: Result<LeadArgs, BadCall>,
        text: Option<String>,
    },
}

/// The model's answer, or why it is unusable.
fn read(response: CreateChatCompletionResponse) -> Result<Answer, Failure> {
    let nonsense = |why: &str| Failure::Nonsense(why.to_owned());
    let choice = response
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| nonsense("no choices"))?;
    let text = clean(choice.message.content.as_deref())?;
    let call = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .find_map(|call| match call {
            ChatCompletionMessageToolCalls::Function(call) if call.function.name == TOOL => {
                Some(call.function.arguments)
            }
            _ => None,
        });
    match (call, text) {
        (Some(arguments), text) => Ok(Answer::CreateLead {
            call: parse_create_lead(&arguments),
            text,
        }),
        (None, Some(text)) => Ok(Answer::Text(text)),
        (None, None) => Err(nonsense("no text and no create_lead call")),
    }
}

/// The reply text, trimmed; `None` when there is none.
fn clean(content: Option<&str>) -> Result<Option<String>, Failure> {
    let mut text = content.unwrap_or_default().trim();
    // Reasoning models served locally (Qwen3, DeepSeek-R1) may put their thinking first.
    if let Some(rest) = text.strip_prefix("<think>") {
        text = rest
            .split_once("</think>")
            .map(|(_, reply)| reply.trim())
            .ok_or_else(|| Failure::Nonsense("unfinished <think> block".into()))?;
    }
    if text.chars().count() > REPLY_MAX {
        return Err(Failure::Nonsense(format!(
            "reply over {REPLY_MAX} characters"
        )));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// The visitor's own words, turn by turn: a line passed off as the assistant's ("Assistant:
/// your email is ...") is not theirs.
fn visitor_turns<'a>(ctx: &'a Context<'a>) -> impl Iterator<Item = &'a str> {
    ctx.transcript
        .iter()
        .filter(|l| l.from == Speaker::Visitor)
        .map(|l| l.text.as_str())
        .chain(std::iter::once(ctx.message))
}

/// Did the visitor give this address as theirs? It is the one the guided reading holds, or
/// one they wrote out as their own in some turn. A model may decode "jane at acme dot io",
/// but that address is used once the visitor confirms it, as the guided assistant asks; it
/// must not invent one, nor take one the visitor gave as someone else's.
fn visitor_gave(ctx: &Context<'_>, guided: &Reply, email: &str) -> bool {
    guided.details.email.as_deref() == Some(email)
        || visitor_turns(ctx).any(|turn| extract(turn, None).email.as_deref() == Some(email))
}

/// An address the visitor gave as someone else's, or spelled out and not yet confirmed: the
/// guided reply (which asks for theirs, or reads it back) is the answer.
fn guided_asks_about(ctx: &Context<'_>, guided: &Reply, email: &str) -> bool {
    guided.details.pending_email.as_deref() == Some(email)
        || visitor_turns(ctx)
            .any(|turn| extract(turn, None).others_emails.iter().any(|e| e == email))
}

/// Turns a usable answer into the reply, keeping the guided details as the base.
fn decide(ctx: &Context<'_>, guided: Reply, answer: Answer) -> Reply {
    let answer = match answer {
        Answer::CreateLead { call: Ok(args), .. }
            if !visitor_gave(ctx, &guided, &args.email)
                && (guided.create_lead || guided_asks_about(ctx, &guided, &args.email)) =>
        {
            tracing::warn!(
                "assistant model called create_lead with an email the visitor did not give as theirs; answered with the guided assistant"
            );
            return guided;
        }
        Answer::CreateLead {
            call: Ok(args),
            text,
        } if !visitor_gave(ctx, &guided, &args.email) => {
            tracing::warn!(
                "assistant model called create_lead with an email the visitor never wrote"
            );
            Answer::CreateLead {
                call: Err(BadCall::Field("email")),
                text,
            }
        }
        // A greeting, label or title is not a name ("Bonjour", "Dr"): the name the visitor
        // gave, if the guided reading has one, else they are asked.
        Answer::CreateLead {
            call: Ok(mut args),
            text,
        } if args.name.split_whitespace().next().is_none_or(is_not_name) => {
            tracing::warn!(
                "assistant model called create_lead with a greeting or label as the name"
            );
            match guided.details.name.clone() {
                Some(name) => {
                    args.name = name;
                    Answer::CreateLead {
                        call: Ok(args),
                        text,
                    }
                }
                None => Answer::CreateLead {
                    call: Err(BadCall::Field("name")),
                    text,
                },
            }
        }
        other => other,
    };
    match answer {
        Answer::CreateLead {
            call: Ok(args),
            text,
        } => {
            let mut d = guided.details;
            d.name = Some(args.name);
            d.email = Some(args.email);
            d.phone = args.phone.or(d.phone);
            d.company = args.company.or(d.company);
            if d.need.is_none() {
                d.need = args.summary;
            }
            d.asked = None;
            let text = match text {
                Some(text) => {
                    d.asked = asked_in(&text).filter(|a| *a == Asked::Company);
                    text
                }
                None => {
                    let mut text = format!(
                        "Thanks, {}! I've passed your details to the {} team. Someone will be in touch soon.",
                        d.first_name(),
                        ctx.account_name
                    );
                    if d.company.is_none() {
                        text = format!("{text} {}", guided::COMPANY_QUESTION);
                        d.asked = Some(Asked::Company);
                    }
                    text
                }
            };
            Reply {
                text,
                details: d,
                create_lead: true,
            }
        }
        // What the visitor wrote already makes a lead: a bad call must not lose it.
        Answer::CreateLead { call: Err(bad), .. } if guided.create_lead => {
            tracing::warn!(error = ?bad, "assistant model made a bad create_lead call; the guided details make the lead");
            guided
        }
        Answer::CreateLead {
            call: Err(BadCall::Field(field)),
            ..
        } => {
            let mut details = guided.details;
            let text = match field {
                "name" => {
                    details.asked = Some(Asked::Name);
                    "Sorry, I didn't catch your name — could you tell me again?"
                }
                "email" => {
                    details.asked = Some(Asked::Email);
                    "That email address doesn't look right — could you check it?"
                }
                "phone" => "That phone number doesn't look right — could you check it?",
                _ => "Sorry, I didn't catch your company's name — could you tell me again?",
            };
            Reply {
                text: text.into(),
                details,
                create_lead: false,
            }
        }
        Answer::CreateLead {
            call: Err(bad @ BadCall::Malformed(_)),
            ..
        } => {
            tracing::warn!(error = ?bad, "assistant model made a malformed create_lead call; answered with the guided assistant");
            guided
        }
        // The visitor gave a name and an email but the model did not call the tool: the lead
        // is made anyway. Its text is kept only if it does not ask for something (it would
        // be asking for details we already have).
        Answer::Text(text) if guided.create_lead => {
            let text = if text.contains('?') {
                guided.text
            } else {
                text
            };
            Reply {
                text,
                details: guided.details,
                create_lead: true,
            }
        }
        Answer::Text(text) => {
            let mut details = guided.details;
            // The guided extraction reads a bare answer ("Jane") by what was asked last, so
            // it must be what the model asked, not what the guided assistant would have.
            details.asked = asked_in(&text);
            Reply {
                text,
                details,
                create_lead: false,
            }
        }
    }
}

/// What a reply asks for, as far as the extraction needs to know.
fn asked_in(text: &str) -> Option<Asked> {
    let text = text.to_lowercase();
    if text.contains("email") || text.contains("e-mail") {
        Some(Asked::Email)
    } else if [
        "company",
        "entreprise",
        "société",
        "firma",
        "unternehmen",
        "empresa",
        "azienda",
        "bedrijf",
    ]
    .iter()
    .any(|cue| text.contains(cue))
    {
        Some(Asked::Company)
    } else if [
        "your name",
        "who am i speaking",
        "who i'm speaking",
        "call you",
    ]
    .iter()
    .any(|cue| text.contains(cue))
    {
        Some(Asked::Name)
    } else {
        None
    }
}

/// The `create_lead` arguments, validated as the public form validates its fields.
#[derive(Debug, PartialEq, Eq)]
struct LeadArgs {
    name: String,
    email: String,
    phone: Option<String>,
    company: Option<String>,
    summary: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum BadCall {
    /// A detail the visitor gave (name, email, phone, company) fails the form's checks:
    /// ask them again.
    Field(&'static str),
    /// Not a usable call (not a JSON object, a bad summary): the model's fault, not theirs.
    Malformed(String),
}

fn parse_create_lead(arguments: &str) -> Result<LeadArgs, BadCall> {
    let Ok(Value::Object(args)) = serde_json::from_str::<Value>(arguments) else {
        return Err(BadCall::Malformed("arguments are not a JSON object".into()));
    };
    let mut errors = FieldErrors::default();
    let input = LeadInput {
        name: string(&args, "name", &mut errors),
        email: None,
        phone: string(&args, "phone", &mut errors),
        company: string(&args, "company", &mut errors),
        // Checked as a lead's notes are (multi-line text), and shorter.
        notes: string(&args, "summary", &mut errors),
        ..LeadInput::default()
    };
    // The same rules as `service::website::validate`, the public form's.
    let fields = LeadChanges::parse(&input, true, &mut errors);
    let email = string(&args, "email", &mut errors);
    let email = errors.check(
        "email",
        EmailAddress::parse(email.as_deref().unwrap_or_default()),
    );
    if let Some(field) = ["name", "email", "phone", "company"]
        .into_iter()
        .find(|f| errors.get(f).is_some())
    {
        return Err(BadCall::Field(field));
    }
    let summary = fields.notes.into_value();
    if errors.get("summary").or(errors.get("notes")).is_some()
        || summary
            .as_ref()
            .is_some_and(|s| s.chars().count() > SUMMARY_MAX)
    {
        return Err(BadCall::Malformed(format!(
            "summary is not text of at most {SUMMARY_MAX} characters"
        )));
    }
    match (fields.name, email) {
        (Some(name), Some(email)) => Ok(LeadArgs {
            name: name.into_string(),
            email: email.into_string(),
            phone: fields.phone.into_value().map(Phone::into_string),
            company: fields.company.into_value().map(Company::into_string),
            summary,
        }),
        _ => Err(BadCall::Field("name")),
    }
}

/// A text argument; absent and null are "not given", any other JSON type is an error.
fn string(args: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Option<String> {
    match args.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.add(key, "must be text");
            None
        }
    }
}

#[cfg(test)]
mod tests;
