//! `heartbeat`: `POST /heartbeat` (Monasca or Alertmanager webhook, or a plain ping),
//! `/heartbeat/{check}[/start|/fail|/<exit status>]` (healthchecks.io-style pings) and
//! `GET /heartbeat/metrics` (Prometheus exposition), all behind a heartbeat key; and
//! healthchecks.io's ping API, `/ping/{uuid}[/…]` and `/ping/{ping_key}/{slug}[/…]`.

use lambda_http::{Body, Error, Request, Response};
use telltale::auth::KeyLookup;
use telltale::heartbeat::ports::Heartbeats;
use telltale::http::heartbeat::{routes, HeartbeatApi};

async fn handler<S, K>(api: &HeartbeatApi<S, K>, req: Request) -> Result<Response<Body>, Error>
where
    S: Heartbeats,
    K: KeyLookup,
{
    Ok(routes(api, &req).await)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::heartbeat_api().await {
        Ok(stack) => stack,
        Err(problem) => {
            return telltale::http::event::unconfigured(problem, telltale::http::error::heartbeat)
                .await
        }
    };
    telltale::http::event::run(|req| handler(&stack, req), telltale::http::error::heartbeat).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale::auth::Role;
    use telltale_cli::tables::SAMPLE_EVENTS_KEY;
    use telltale_testkit::events::{sample_events, via_api_gateway};
    use telltale_testkit::heartbeat::HeartbeatFixture;

    /// Every sample event in `events/heartbeat/` runs, in file-name order, through the handler
    /// against moto and gets the status its name announces; errors are JSON (plain text on the
    /// `/ping` URLs, as healthchecks.io answers), HEAD is empty.
    #[tokio::test]
    async fn every_sample_event_gets_its_expected_answer() {
        let f = HeartbeatFixture::new().await;
        f.add_key(SAMPLE_EVENTS_KEY, "sample-events", Role::Monitoring)
            .await;
        let api = f.api();
        let events = sample_events("heartbeat");
        assert!(events.len() >= 10);
        for event in events {
            let name = event.name.clone();
            let method = event.request.method().clone();
            let resp = via_api_gateway(|req| handler(&api, req), &event).await;
            let body = resp.body().as_ref().to_vec();
            assert_eq!(
                resp.status().as_u16(),
                event.expected_status,
                "{name}: {}",
                String::from_utf8_lossy(&body)
            );
            if method == lambda_http::http::Method::HEAD {
                assert!(body.is_empty(), "{name}");
            } else if name.contains("-hc-ping-") {
                // healthchecks.io's plain-text answers.
                let text = String::from_utf8_lossy(&body);
                assert!(
                    ["OK", "Created", "not found", "invalid url format"].contains(&&*text),
                    "{name}: {text}"
                );
            } else if name.contains("metrics") {
                assert!(
                    String::from_utf8_lossy(&body).contains("monasca_monitor_heartbeat_total 2")
                );
            } else {
                let json: serde_json::Value = serde_json::from_slice(&body)
                    .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
                if event.expected_status >= 400 {
                    assert_eq!(json["status"], event.expected_status, "{name}");
                }
            }
        }
    }
}
