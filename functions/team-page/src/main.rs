//! `team-page`: `GET /team/` and its script and style sheet, compiled in. No I/O at cold start
//! or per request; the browser calls the probe API with the reviewer's key.

use lambda_http::{Body, Error, Request, Response};
use telltale::http::team_page::{routes, TeamPage};

async fn handler(page: &TeamPage, req: Request) -> Result<Response<Body>, Error> {
    Ok(routes(page, &req).await)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::team_page() {
        Ok(stack) => stack,
        Err(problem) => {
            return telltale::http::event::unconfigured(problem, |e, _| {
                telltale::http::error::poem(e)
            })
            .await
        }
    };
    telltale::http::event::run(
        |req| handler(&stack, req),
        telltale::http::error::poem_refusal,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_testkit::events::{sample_events, via_api_gateway};

    /// Every sample event in `events/team-page/` gets the status its name announces, and every
    /// answer carries the page's security headers.
    #[tokio::test]
    async fn every_sample_event_gets_its_expected_answer() {
        let page = TeamPage::new(3);
        let events = sample_events("team-page");
        assert!(events.len() >= 6);
        for event in events {
            let name = event.name.clone();
            let resp = via_api_gateway(|req| handler(&page, req), &event).await;
            assert_eq!(resp.status().as_u16(), event.expected_status, "{name}");
            let csp = resp.headers()["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("script-src 'self'"), "{name}: {csp}");
            assert_eq!(
                resp.headers()["x-content-type-options"],
                "nosniff",
                "{name}"
            );
            if event.expected_status == 405 {
                assert_eq!(resp.headers()["allow"], "GET, HEAD", "{name}");
            }
            if event.expected_status >= 400 {
                let json: serde_json::Value = serde_json::from_slice(resp.body().as_ref())
                    .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
                assert!(json["detail"].is_string(), "{name}");
            }
        }
    }
}
