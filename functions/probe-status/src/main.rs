//! `probe-status`: the monitoring team reads a candidate (`GET /api/v2/probes/{id}`) and moves
//! it through its lifecycle (`PUT /api/v2/probes/{id}/status`). Both need the monitoring role.

use lambda_http::{Body, Error, Request, Response};
use telltale::auth::KeyLookup;
use telltale::http::probes::{status_routes, ProbeApi};
use telltale::probes::ports::{CandidateStore, Mailer, Outbox};

async fn handler<S, M, K>(api: &ProbeApi<S, M, K>, req: Request) -> Result<Response<Body>, Error>
where
    S: CandidateStore + Outbox,
    M: Mailer,
    K: KeyLookup,
{
    Ok(status_routes(api, &req).await)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telltale::base::telemetry::init();
    let stack = match telltale::wiring::probe_api().await {
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
    use telltale::auth::Role;
    use telltale_cli::tables::{ensure_sample_candidate, SAMPLE_EVENTS_KEY};
    use telltale_testkit::events::{sample_events, via_api_gateway};
    use telltale_testkit::probes::{ProbeFixture, FROM};

    /// Every sample event in `events/probe-status/` runs, in file-name order, through the
    /// handler against the sample candidate in moto, and gets the status its name announces.
    #[tokio::test]
    async fn every_sample_event_gets_its_expected_answer() {
        let f = ProbeFixture::new(Role::Monitoring).await;
        f.add_key(SAMPLE_EVENTS_KEY, "sample-events", Role::Monitoring)
            .await;
        let api = f.api(FROM);
        ensure_sample_candidate(&api.store).await.unwrap();
        let events = sample_events("probe-status");
        assert!(events.len() >= 7);
        for event in events {
            let name = event.name.clone();
            let resp = via_api_gateway(|req| handler(&api, req), &event).await;
            assert_eq!(resp.status().as_u16(), event.expected_status, "{name}");
            let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref())
                .unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
            if event.expected_status == 200 {
                assert_eq!(
                    body["id"],
                    telltale_cli::tables::SAMPLE_CANDIDATE_ID,
                    "{name}"
                );
            } else {
                assert!(
                    body["detail"].as_str().is_some_and(|d| !d.is_empty()),
                    "{name}: {body}"
                );
            }
        }
    }
}
