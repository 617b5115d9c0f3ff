//! `heartbeat`: `POST /heartbeat` (Monasca or Alertmanager webhook, or a plain ping),
//! `/heartbeat/{check}[/start|/fail|/<exit status>]` (healthchecks.io-style pings) and
//! `GET /heartbeat/metrics` (Prometheus exposition). Every route needs a heartbeat key.

use lambda_http::{run, service_fn, Body, Error, Request, Response};
use telltale::heartbeat::api::{routes, LiveHeartbeatApi};

async fn handler(api: &LiveHeartbeatApi, req: Request) -> Result<Response<Body>, Error> {
    Ok(routes(api, &req).await)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telltale::telemetry::init();
    let api = LiveHeartbeatApi::from_env().await?;
    run(service_fn(|req| handler(&api, req))).await
}
