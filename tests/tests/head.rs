//! HEAD through `cargo lambda watch`, as a client sees it: GET's status and headers with the
//! `Content-Length` GET's body has (RFC 9110 §9.3.2), never a 0 that GET would not send.

use std::time::Duration;
use telltale::auth::Role;
use telltale_testkit::probes::ProbeFixture;
use telltale_testkit::watch::Watch;

#[tokio::test]
async fn head_says_how_long_get_is_on_every_page_and_heartbeat_route() {
    let f = ProbeFixture::new(Role::Monitoring).await;
    let env = f.every_route_env("head").await;
    let watch = Watch::start(&env);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(900))
        .build()
        .unwrap();
    let bearer = format!("Bearer {}", f.key);
    for path in [
        "/",
        "/team/",
        "/team/app.js",
        "/team/no-such-asset",
        "/heartbeat/metrics",
        "/heartbeat/no-such-check",
        "/heartbeat/heartbeat",
    ] {
        let url = format!("{}{path}", watch.base_url);
        let get = http
            .get(&url)
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let get_status = get.status();
        let get_type = get.headers().get("content-type").cloned();
        let body = get.bytes().await.unwrap();
        assert!(!body.is_empty(), "GET {path} has a body");
        let head = http
            .head(&url)
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap_or_else(|e| panic!("HEAD {path}: {e}"));
        assert_eq!(head.status(), get_status, "HEAD {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get_type.as_ref(),
            "HEAD {path}"
        );
        let length = head
            .headers()
            .get("content-length")
            .map(|v| v.to_str().unwrap().to_string());
        assert!(
            length.is_none() || length == Some(body.len().to_string()),
            "HEAD {path}: content-length {length:?}, GET's body is {} bytes",
            body.len()
        );
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} sent a body"
        );
    }
}
