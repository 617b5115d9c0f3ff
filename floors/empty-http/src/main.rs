//! The smallest HTTP Lambda function: the floor for the HTTP functions (`make bench`).

use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    run(service_fn(|_req: Request| async move {
        Ok::<_, Error>(Response::new(Body::from("{}")))
    }))
    .await
}
