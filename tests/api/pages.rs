//! A browser-like client for in-process page tests: keeps the session cookie and sends the
//! page's CSRF token back, as a real browser would.

use axum::body::Body;
use axum::http::{Method, Request, header};

use crate::helpers::{Resp, TestApp};

/// A browser-like client: keeps the session cookie and the page's CSRF token.
pub struct Browser<'a> {
    app: &'a TestApp,
    pub cookie: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self { app, cookie: None }
    }

    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "app.test");
        if let Some(cookie) = &self.cookie {
            builder = builder.header(header::COOKIE, format!("lr_session={cookie}"));
        }
        for (k, v) in extra {
            builder = builder.header(*k, *v);
        }
        let request = match form {
            Some(pairs) => builder
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(serde_urlencoded::to_string(pairs).unwrap()))
                .unwrap(),
            None => builder.body(Body::empty()).unwrap(),
        };
        let r = self.app.send(request).await;
        if let Some(set) = r.headers.get(header::SET_COOKIE) {
            let value = set
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .trim_start_matches("lr_session=");
            self.cookie = (!value.is_empty()).then(|| value.to_owned());
        }
        r
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.request(Method::GET, path, None, &[]).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.request(Method::POST, path, Some(form), &[]).await
    }

    /// Posts a form with the CSRF token of the page at `from`, as a browser would.
    pub async fn submit(&mut self, from: &str, path: &str, form: &[(&str, &str)]) -> Resp {
        let page = self.get(from).await;
        let csrf = csrf_of(&page.text);
        let mut pairs = form.to_vec();
        pairs.push(("csrf_token", &csrf));
        self.post(path, &pairs).await
    }

    pub async fn sign_up(&mut self, email: &str) -> Resp {
        self.post(
            "/signup",
            &[
                ("account_name", "Acme"),
                ("name", "Olivia Owner"),
                ("email", email),
                ("password", "correct-horse-battery-42"),
            ],
        )
        .await
    }

    pub async fn sign_in(&mut self, email: &str) -> Resp {
        self.post(
            "/signin",
            &[("email", email), ("password", "correct-horse-battery-42")],
        )
        .await
    }
}

/// A browser already signed in as `email` (password "correct-horse-battery-42").
pub async fn signed_in<'a>(app: &'a TestApp, email: &str) -> Browser<'a> {
    let mut browser = Browser::new(app);
    assert_eq!(browser.sign_in(email).await.status, 303);
    browser
}

pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("the page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn location(r: &Resp) -> &str {
    r.headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}
