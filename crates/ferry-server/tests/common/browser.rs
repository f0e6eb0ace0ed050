//! A browser without the browser: it keeps cookies and opens pages of the
//! in-process router, as the web UI's stories need.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::Api;

/// A browser's view of one answer.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    /// The value of the hidden input `name` of the page's form.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker).expect("the form has the input") + marker.len();
        let end = self.html[start..].find('"').unwrap() + start;
        self.html[start..end].to_owned()
    }
}

/// A browser: the cookies it holds.
#[derive(Default)]
pub struct Browser {
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    pub async fn open(
        &mut self,
        api: &Api,
        method: Method,
        path: &str,
        form: Option<&str>,
    ) -> Page {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:8740");
        if !self.cookies.is_empty() {
            let cookies: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        if form.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let request = request
            .body(Body::from(form.unwrap_or_default().to_owned()))
            .unwrap();
        let response = api.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let page = Page {
            status,
            headers,
            html: String::from_utf8_lossy(&bytes).into_owned(),
        };
        for value in page.headers.get_all(header::SET_COOKIE) {
            let value = value.to_str().unwrap();
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let (name, cookie) = pair.split_once('=').unwrap();
            self.cookies.retain(|(held, _)| held != name);
            if !attributes.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), cookie.to_owned()));
            }
        }
        page
    }

    pub async fn get(&mut self, api: &Api, path: &str) -> Page {
        self.open(api, Method::GET, path, None).await
    }

    pub async fn post(&mut self, api: &Api, path: &str, form: &[(&str, &str)]) -> Page {
        let body: Vec<String> = form
            .iter()
            .map(|(key, value)| format!("{key}={}", encode(value)))
            .collect();
        self.open(api, Method::POST, path, Some(&body.join("&")))
            .await
    }

    /// Opens the sign-in page and sends it filled in.
    pub async fn sign_in(&mut self, api: &Api, user: &str, password: &str, next: &str) -> Page {
        let form = self
            .get(api, &format!("/login?next={}", encode(next)))
            .await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.html);
        let csrf = form.hidden("csrf");
        let next = form.hidden("next");
        self.post(
            api,
            "/login",
            &[
                ("csrf", &csrf),
                ("next", &next),
                ("username", user),
                ("password", password),
            ],
        )
        .await
    }

    pub fn holds(&self, name: &str) -> bool {
        self.cookies.iter().any(|(held, _)| held == name)
    }
}

pub fn encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}
