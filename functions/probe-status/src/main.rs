//! `probe-status`: the monitoring team reads a candidate (`GET /api/v2/probes/{id}`) and moves
//! it through its lifecycle (`PUT /api/v2/probes/{id}/status`). Both need the monitoring role.

use lambda_http::{run, service_fn, Body, Error, Request, Response};
use telltale::aws::{keys::ApiKeys, probes::ProbeTable, ses::Ses};
use telltale::config::{AuthConfig, ProbesConfig};
use telltale::probes::api::{status_routes, ProbeApi};

type Api = ProbeApi<ProbeTable, Ses, ApiKeys>;

async fn handler(api: &Api, req: Request) -> Result<Response<Body>, Error> {
    Ok(status_routes(api, &req).await)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telltale::telemetry::init();
    let probes = ProbesConfig::from_env()?;
    let auth = AuthConfig::from_env()?;
    let sdk = telltale::aws::sdk_config().await;
    let dynamodb = telltale::aws::dynamodb_client(&sdk);
    let api = ProbeApi {
        store: ProbeTable::new(dynamodb.clone(), probes.table),
        mailer: Ses::new(telltale::aws::ses_client(&sdk)),
        keys: ApiKeys::new(dynamodb, auth.api_keys_table),
        email: probes.email,
        min_testing: probes.min_testing,
    };
    run(service_fn(|req| handler(&api, req))).await
}
