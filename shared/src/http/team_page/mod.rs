//! The `team-page` function: the monitoring team's review page at `GET /team/`, with its
//! script and style sheet compiled in. The page calls the probe API from the browser with the
//! key the reviewer types; this function holds no key, reads no table and sets no cookie.

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

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// Scripts and styles from this origin only (no inline code, no event-handler attributes),
/// requests to this origin only (the API), no frames, no plugins, no forms posted elsewhere.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The page as served; built once per cold start.
pub struct TeamPage {
    index: String,
}

impl TeamPage {
    /// `testing_min_days` is probe-status' `TESTING_MIN_DAYS`: the page shows when a candidate
    /// in `testing` may be deployed without `force`.
    pub fn new(testing_min_days: u16) -> TeamPage {
        TeamPage {
            index: INDEX.replace("{{TESTING_MIN_DAYS}}", &testing_min_days.to_string()),
        }
    }

    pub fn from_env() -> Result<TeamPage, ConfigError> {
        let env = Env::process();
        Ok(TeamPage::new(env.parsed_or::<u16>("TESTING_MIN_DAYS", 3)?))
    }
}

/// Serves `/team` (a redirect to `/team/`), `/team/`, `/team/app.js` and `/team/app.css`.
pub async fn routes(page: &TeamPage, req: &Request) -> Response<Body> {
    let resp = match serve(page, req) {
        Ok(resp) => resp,
        Err(err) => poem(&err),
    };
    secured(resp)
}

fn serve(page: &TeamPage, req: &Request) -> Result<Response<Body>> {
    let path = request_path(req);
    // Under an API Gateway stage the path may carry the stage; the page's own links are relative.
    let tail = match path.find("/team") {
        Some(at) => &path[at + "/team".len()..],
        None => return Err(Error::NotFound("Not found.".into())),
    };
    // `None`: the redirect from `/team` to `team/` (relative, so a stage prefix is kept).
    let content = match tail {
        "" => None,
        "/" | "/index.html" => Some((page.index.as_str(), "text/html; charset=utf-8")),
        "/app.js" => Some((SCRIPT, "text/javascript; charset=utf-8")),
        "/app.css" => Some((STYLE, "text/css; charset=utf-8")),
        _ => return Err(Error::NotFound("Not found.".into())),
    };
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        return Err(Error::MethodNotAllowed {
            method: method.to_string(),
            path,
            allow: "GET, HEAD",
        });
    }
    let Some((body, content_type)) = content else {
        let mut resp = Response::new(Body::Empty);
        *resp.status_mut() = lambda_http::http::StatusCode::PERMANENT_REDIRECT;
        resp.headers_mut()
            .insert(LOCATION, HeaderValue::from_static("team/"));
        return Ok(resp);
    };
    let mut resp = Response::new(if method == Method::HEAD {
        Body::Empty
    } else {
        Body::Text(body.to_string())
    });
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}

/// The headers every answer of this function carries, errors included.
fn secured(mut resp: Response<Body>) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
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
        for path in [
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
