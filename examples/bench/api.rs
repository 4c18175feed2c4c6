//! The JSON API calls the benchmark needs to set an account up and sign in, as a client
//! would make them (see docs/api.md).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::{Method, header};
use serde_json::{Value, json};

/// Every member the benchmark creates signs in with this (the generator copies its hash).
pub const PASSWORD: &str = "tidal-lantern-orchid-93";
/// The Owner of every account the benchmark signs up (one account per database).
pub const OWNER_EMAIL: &str = "owner@bench.example.com";

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// A signed-up member.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub token: String,
}

/// An account with an Owner, Sales reps and its website form key.
#[derive(Debug, Clone)]
pub struct Team {
    pub account_id: String,
    pub owner: Member,
    pub reps: Vec<Member>,
    pub form_key: String,
}

impl Team {
    pub fn rep_ids(&self) -> Vec<String> {
        self.reps.iter().map(|r| r.id.clone()).collect()
    }
}

impl Api {
    pub fn new(base: &str) -> Result<Api> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Api {
            http,
            base: base.to_owned(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A JSON call that must succeed; its body (null when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A new account; its Owner is `email`.
    pub async fn signup(&self, email: &str) -> Result<(String, Member)> {
        let body = json!({"account_name": "Bench Co", "name": "Bench Owner", "email": email, "password": PASSWORD});
        let r = self
            .call(Method::POST, "/api/v1/signup", None, Some(body))
            .await?;
        Ok((text(&r["account"]["id"])?, member(&r)?))
    }

    /// Invites a Sales rep and accepts the invitation, as a new member would.
    pub async fn add_rep(&self, owner: &Member, email: &str, name: &str) -> Result<Member> {
        let body = json!({"email": email, "name": name, "role": "sales"});
        let r = self
            .call(
                Method::POST,
                "/api/v1/team/invitations",
                Some(&owner.token),
                Some(body),
            )
            .await?;
        let invitation = text(&r["invitation"]["token"])?;
        let path = format!("/api/v1/invitations/{invitation}/accept");
        let r = self
            .call(
                Method::POST,
                &path,
                None,
                Some(json!({"password": PASSWORD})),
            )
            .await?;
        member(&r)
    }

    pub async fn set_routing(
        &self,
        owner: &Member,
        strategy: &str,
        rotation: &[String],
    ) -> Result<()> {
        let body = json!({"enabled": true, "strategy": strategy, "rotation": rotation});
        self.call(
            Method::PUT,
            "/api/v1/routing",
            Some(&owner.token),
            Some(body),
        )
        .await?;
        Ok(())
    }

    pub async fn form_key(&self, owner: &Member) -> Result<String> {
        let r = self
            .call(Method::GET, "/api/v1/website", Some(&owner.token), None)
            .await?;
        text(&r["form_key"])
    }

    /// An API token (`POST /api/v1/login`).
    pub async fn login(&self, email: &str) -> Result<String> {
        let body = json!({"email": email, "password": PASSWORD});
        let r = self
            .call(Method::POST, "/api/v1/login", None, Some(body))
            .await?;
        text(&r["token"])
    }

    /// A browser session cookie (`name=value`) from the sign-in page.
    pub async fn signin_cookie(&self, email: &str) -> Result<String> {
        let response = self
            .http
            .post(self.url("/signin"))
            .form(&[("email", email), ("password", PASSWORD)])
            .send()
            .await?;
        let cookie = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("lr_session="))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        cookie.with_context(|| {
            format!(
                "signing in {email}: {} and no session cookie",
                response.status()
            )
        })
    }
}

fn text(v: &Value) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .with_context(|| format!("expected a string, got {v}"))
}

fn member(signed_in: &Value) -> Result<Member> {
    Ok(Member {
        id: text(&signed_in["user"]["id"])?,
        token: text(&signed_in["token"])?,
    })
}

/// Signs up an account on the server at `base`, adds `reps` Sales reps through invitations,
/// turns routing on with `strategy` over exactly those reps, and reads the form key.
pub async fn set_up_team(base: &str, reps: usize, strategy: &str) -> Result<Team> {
    let api = Api::new(base)?;
    let (account_id, owner) = api.signup(OWNER_EMAIL).await?;
    let mut members = Vec::with_capacity(reps);
    for i in 1..=reps {
        let email = format!("rep{i:02}@bench.example.com");
        members.push(api.add_rep(&owner, &email, &format!("Rep {i:02}")).await?);
    }
    let team = Team {
        account_id,
        form_key: api.form_key(&owner).await?,
        owner,
        reps: members,
    };
    api.set_routing(&team.owner, strategy, &team.rep_ids())
        .await?;
    Ok(team)
}
