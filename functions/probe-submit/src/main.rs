//! `probe-submit`: `POST /api/v2/probes/` submits a probe candidate, `GET /api/v2/probes/`
//! lists them (`?status=` filters). Both need an `x-api-key` with the submitter role.

use lambda_http::{Body, Error, Request, Response};
use telltale::auth::KeyLookup;
use telltale::http::probes::{submit_routes, ProbeApi};
use telltale::probes::ports::{CandidateStore, Mailer, Outbox};

async fn handler<S, M, K>(api: &ProbeApi<S, M, K>, req: Request) -> Result<Response<Body>, Error>
where
    S: CandidateStore + Outbox,
    M: Mailer,
    K: KeyLookup,
{
    Ok(submit_routes(api, &req).await)
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
    use telltale_cli::tables::SAMPLE_EVENTS_KEY;
    use telltale_testkit::events::{sample_events, via_api_gateway};
    use telltale_testkit::probes::{ProbeFixture, FROM};

    /// Every sample event in `events/probe-submit/` runs through the handler against moto and
    /// gets the status its file name announces; errors carry POEM's `detail`.
    #[tokio::test]
    async fn every_sample_event_gets_its_expected_answer() {
        let f = ProbeFixture::new(Role::Submitter).await;
        f.add_key(SAMPLE_EVENTS_KEY, "sample-events", Role::Submitter)
            .await;
        let api = f.api(FROM);
        let events = sample_events("probe-submit");
        assert!(events.len() >= 8);
        for event in events {
            let name = event.name.clone();
            let resp = via_api_gateway(|req| handler(&api, req), &event).await;
            assert_eq!(resp.status().as_u16(), event.expected_status, "{name}");
            let body: serde_json::Value = serde_json::from_slice(resp.body().as_ref())
                .unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
            match event.expected_status {
                201 => assert_eq!(body["status"], "submitted", "{name}: {body}"),
                200 => assert!(body.is_array(), "{name}: {body}"),
                _ => assert!(
                    body["detail"].as_str().is_some_and(|d| !d.is_empty()),
                    "{name}: {body}"
                ),
            }
        }
    }
}
