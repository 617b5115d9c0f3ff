//! The `team-page` function: the landing page at `GET /`, the monitoring team's review page at
//! `GET /team/`, the API reference (`/team/api.html`, the OpenAPI document shown readably) and,
//! under `make dev` only, the emails the local SES accepted, with their scripts and style sheet
//! compiled in. The page calls the probe API from the browser with the key the reviewer types;
//! this function holds no key, reads no table and sets no cookie.

pub mod local;

use crate::base::env::{ConfigError, Env};
use crate::base::error::{Error, Result};
use crate::http::error::poem;
use crate::http::route::request_path;
use lambda_http::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use lambda_http::http::{HeaderValue, Method};
use lambda_http::{Body, Request, Response};
use local::{escape, Local};

const INDEX: &str = include_str!("assets/index.html");
const HOME: &str = include_str!("assets/home.html");
const API: &str = include_str!("assets/api.html");
const EMAILS: &str = include_str!("assets/emails.html");
const SCRIPT: &str = include_str!("assets/app.js");
const API_SCRIPT: &str = include_str!("assets/api.js");
const EMAILS_SCRIPT: &str = include_str!("assets/emails.js");
const DOM_SCRIPT: &str = include_str!("assets/dom.js");
const STYLE: &str = include_str!("assets/app.css");

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Scripts and styles from this origin only (no inline code, no event-handler attributes),
/// requests to this origin only (the API), no frames, no plugins, no forms posted elsewhere.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The pages as served; built once per cold start.
pub struct TeamPage {
    index: String,
    home: String,
    /// The local emails page and its policy (which may also fetch from the emulator).
    emails: Option<(String, HeaderValue)>,
}

impl TeamPage {
    /// `testing_min_days` is probe-status' `TESTING_MIN_DAYS`: the page shows when a candidate
    /// in `testing` may be deployed without `force`.
    pub fn new(testing_min_days: u16) -> TeamPage {
        TeamPage::with_local(testing_min_days, &Local::default())
    }

    pub fn with_local(testing_min_days: u16, local: &Local) -> TeamPage {
        let emails = local.emails_url.as_deref().and_then(|url| {
            let origin = local.emails_origin()?;
            let policy = CONTENT_SECURITY_POLICY_VALUE.replace(
                "connect-src 'self'",
                &format!("connect-src 'self' {origin}"),
            );
            Some((
                EMAILS.replace("{{EMAILS_URL}}", &escape(url)),
                HeaderValue::from_str(&policy).ok()?,
            ))
        });
        TeamPage {
            index: INDEX.replace("{{TESTING_MIN_DAYS}}", &testing_min_days.to_string()),
            home: HOME.replace("{{LOCAL}}", &local.section()),
            emails,
        }
    }

    pub fn from_env() -> Result<TeamPage, ConfigError> {
        let env = Env::process();
        let days = env.parsed_or::<u16>("TESTING_MIN_DAYS", 3)?;
        Ok(TeamPage::with_local(days, &Local::read(&env)?))
    }
}

/// Serves `/`, `/team` (a redirect to `/team/`), `/team/` and its assets.
pub async fn routes(page: &TeamPage, req: &Request) -> Response<Body> {
    let resp = match serve(page, req) {
        Ok((resp, policy)) => secured(resp, policy),
        Err(err) => secured(poem(&err), None),
    };
    if req.method() == Method::HEAD {
        crate::http::as_head(resp)
    } else {
        resp
    }
}

/// What a path serves: `None` for the redirect, else the body, its type and, for the emails
/// page, its own policy.
type Content<'a> = Option<(&'a str, &'static str, Option<HeaderValue>)>;

fn content<'a>(page: &'a TeamPage, path: &str) -> Result<Content<'a>> {
    let not_found = || Error::NotFound("Not found.".into());
    if path.trim_end_matches('/').is_empty() {
        return Ok(Some((page.home.as_str(), HTML, None)));
    }
    // Under an API Gateway stage the path may carry the stage; the page's own links are relative.
    let tail = match path.find("/team") {
        Some(at) => &path[at + "/team".len()..],
        None => return Err(not_found()),
    };
    Ok(match tail {
        "" => None,
        "/" | "/index.html" => Some((page.index.as_str(), HTML, None)),
        "/app.js" => Some((SCRIPT, JAVASCRIPT, None)),
        "/app.css" => Some((STYLE, "text/css; charset=utf-8", None)),
        "/api.html" => Some((API, HTML, None)),
        "/api.js" => Some((API_SCRIPT, JAVASCRIPT, None)),
        "/dom.js" => Some((DOM_SCRIPT, JAVASCRIPT, None)),
        "/emails.html" => {
            let (html, policy) = page.emails.as_ref().ok_or_else(not_found)?;
            Some((html.as_str(), HTML, Some(policy.clone())))
        }
        "/emails.js" if page.emails.is_some() => Some((EMAILS_SCRIPT, JAVASCRIPT, None)),
        _ => return Err(not_found()),
    })
}

fn serve(page: &TeamPage, req: &Request) -> Result<(Response<Body>, Option<HeaderValue>)> {
    let path = request_path(req);
    let content = content(page, &path)?;
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        return Err(Error::MethodNotAllowed {
            method: method.to_string(),
            path,
            allow: "GET, HEAD",
        });
    }
    let Some((body, content_type, policy)) = content else {
        let mut resp = Response::new(Body::Empty);
        *resp.status_mut() = lambda_http::http::StatusCode::PERMANENT_REDIRECT;
        resp.headers_mut()
            .insert(LOCATION, HeaderValue::from_static("team/"));
        return Ok((resp, None));
    };
    let mut resp = Response::new(Body::Text(body.to_string()));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok((resp, policy))
}

/// The headers every answer of this function carries, errors included.
fn secured(mut resp: Response<Body>, policy: Option<HeaderValue>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(
        CONTENT_SECURITY_POLICY,
        policy.unwrap_or(HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE)),
    );
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // A new deployment is seen at the next load; the page is small.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Request {
        lambda_http::http::Request::builder()
            .method("GET")
            .uri(format!("https://api.example.org{path}"))
            .body(Body::Empty)
            .expect("request")
    }

    #[test]
    fn the_page_carries_the_testing_period_and_no_inline_code() {
        let page = TeamPage::new(5);
        assert!(page
            .index
            .contains(r#"<meta name="telltale-testing-min-days" content="5">"#));
        assert!(!page.index.contains("{{"));
        // The CSP forbids inline scripts, styles and handlers; the page must not need them.
        let lower = page.index.to_ascii_lowercase();
        assert!(!lower.contains("<script>") && !lower.contains("<style"));
        assert!(!lower.contains(" onclick=") && !lower.contains(" onload="));
        assert!(!lower.contains("http://") && !lower.contains("https://"));
        assert!(!SCRIPT.contains("innerHTML") && !SCRIPT.contains("eval("));
    }

    /// What a hostile caller might send: a 6 MB body, a method with a body, control and
    /// non-ASCII characters in the path, duplicate and unreadable headers (none is read: the
    /// answer depends on the path and method alone).
    #[tokio::test]
    async fn hostile_requests_get_precise_answers() {
        let page = TeamPage::new(3);
        let big = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://api.example.org/team/")
            .header("content-type", "application/json")
            .header("content-type", "text/plain")
            .body(Body::Binary(vec![b'x'; 6 * 1024 * 1024]))
            .expect("request");
        let resp = routes(&page, &big).await;
        assert_eq!(resp.status(), 405);
        assert_eq!(
            resp.headers()[lambda_http::http::header::ALLOW],
            "GET, HEAD"
        );
        // The landing page refuses a body the same way.
        let mut big_home = lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://api.example.org/")
            .body(Body::Binary(vec![0xff; 6 * 1024 * 1024]))
            .expect("request");
        assert_eq!(routes(&page, &big_home).await.status(), 405);
        *big_home.method_mut() = Method::DELETE;
        assert_eq!(routes(&page, &big_home).await.status(), 405);
        for path in [
            "/%00",
            "/%E2%80%AE",
            "/-9223372036854775808",
            "/team/api.html%00",
            "/team/emails.html",
            "/team/%E2%80%AEevil",
            "/team/%00",
            "/team/app.js/..",
            "/teams",
        ] {
            let resp = routes(&page, &get(path)).await;
            assert_eq!(resp.status(), 404, "{path}");
            let body: serde_json::Value =
                serde_json::from_slice(resp.body().as_ref()).expect("JSON");
            assert_eq!(body["detail"], "Not found.", "{path}");
        }
        let mut odd = get("/team/app.css");
        odd.headers_mut().insert(
            "accept",
            HeaderValue::from_bytes(b"text/\xff\xfe").expect("header"),
        );
        let resp = routes(&page, &odd).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    }

    /// `/` is the landing page: links to the team page, the API reference, the OpenAPI
    /// document and health; the local section and the emails page exist only when configured.
    #[tokio::test]
    async fn the_landing_page_and_the_local_pages() {
        let deployed = TeamPage::new(3);
        for path in ["/", ""] {
            let resp = routes(&deployed, &get(path)).await;
            assert_eq!(resp.status(), 200, "{path:?}");
            assert_eq!(resp.headers()[CONTENT_TYPE], HTML);
            let html = std::str::from_utf8(resp.body().as_ref()).unwrap();
            for link in ["team/", "team/api.html", "-/openapi.json", "-/health"] {
                assert!(html.contains(&format!("href=\"{link}\"")), "{link}: {html}");
            }
            assert!(
                !html.contains("This machine") && !html.contains("{{"),
                "{html}"
            );
        }
        let resp = routes(&deployed, &get("/team/api.html")).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            routes(&deployed, &get("/team/emails.html")).await.status(),
            404
        );
        assert_eq!(
            routes(&deployed, &get("/team/emails.js")).await.status(),
            404
        );

        let local = Local {
            links: vec![("Prometheus".into(), "http://127.0.0.1:9090/".into())],
            emails_url: Some("http://127.0.0.1:5000/moto-api/data.json".into()),
        };
        let dev = TeamPage::with_local(3, &local);
        let home = routes(&dev, &get("/")).await;
        let html = std::str::from_utf8(home.body().as_ref()).unwrap();
        assert!(
            html.contains("This machine") && html.contains("team/emails.html"),
            "{html}"
        );
        let emails = routes(&dev, &get("/team/emails.html")).await;
        assert_eq!(emails.status(), 200);
        let csp = emails.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("connect-src 'self' http://127.0.0.1:5000;"),
            "{csp}"
        );
        // Every other page keeps the policy that fetches from this origin only.
        let csp = home.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert_eq!(csp, CONTENT_SECURITY_POLICY_VALUE);
        for page in [HOME, API, EMAILS] {
            let lower = page.to_ascii_lowercase();
            assert!(!lower.contains("<script>") && !lower.contains("<style"));
            assert!(!lower.contains(" onclick=") && !lower.contains(" onload="));
        }
        for script in [API_SCRIPT, EMAILS_SCRIPT, DOM_SCRIPT] {
            assert!(!script.contains("innerHTML") && !script.contains("eval("));
        }
    }

    #[tokio::test]
    async fn unknown_paths_are_json_404s_with_the_same_headers() {
        let page = TeamPage::new(3);
        let resp = routes(&page, &get("/team/../../etc/passwd")).await;
        assert_eq!(resp.status(), 404);
        assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            resp.headers()[CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY_VALUE
        );
    }
}
