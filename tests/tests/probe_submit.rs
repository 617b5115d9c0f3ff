//! probe-submit through `cargo lambda watch` and its router, over plain HTTP: the seed's two
//! example bodies, as a curl user would post them, against moto's DynamoDB and SES.

use serde_json::{json, Value};
use telltale::auth::Role;
use telltale_testkit::probes::{contact, ProbeFixture};
use telltale_testkit::{moto::moto, watch::Watch};

fn seed_rpm(contact: &str) -> Value {
    json!({
      "name": "poem-probe",
      "description": "A generic probe to check service status. The probe contacts the endpoint and infers from the response if the service is up and running.",
      "docurl": "https://github.com/ARGOeu-Metrics/argo-probe-argo-servicestatus/blob/master/README.md",
      "rpm": "argo-probe-argo-servicestatus-0.2.0-1.el7.noarch.rpm",
      "yum_baseurl": "http://rpm-repo.argo.grnet.gr/ARGO/prod/centos7/",
      "command": "/usr/libexec/argo/probes/argo-servicestatus/check_status.py -u <URL> -t 30",
      "contact": contact
    })
}

fn seed_script(contact: &str) -> Value {
    json!({
      "name": "poem-probe",
      "description": "A generic probe to check service status. The probe contacts the endpoint and infers from the response if the service is up and running.",
      "docurl": "https://github.com/ARGOeu-Metrics/argo-probe-argo-servicestatus/blob/master/README.md",
      "script": "https://some.url.com/script",
      "command": "check_status.py -u <URL> -t 30",
      "contact": contact
    })
}

#[tokio::test]
async fn the_seed_examples_are_accepted_over_http() {
    let f = ProbeFixture::new(Role::Submitter).await;
    let key = f.key.clone();
    let watch = Watch::start(&f.env());
    let client = telltale_testkit::watch::client();
    let url = format!("{}/api/v2/probes/", watch.base_url);
    let contact = contact();

    for body in [seed_rpm(&contact), seed_script(&contact)] {
        let resp = client
            .post(&url)
            .header("x-api-key", &key)
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let answer: Value = resp.json().await.unwrap();
        assert_eq!(status, 201, "{answer}");
        assert_eq!(answer["detail"], "Probe 'poem-probe' POSTed successfully");
        assert_eq!(
            location,
            Some(format!("/api/v2/probes/{}", answer["id"].as_str().unwrap()))
        );
    }

    let resp = client
        .get(&url)
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let items: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(items.len(), 2);
    assert!(items
        .iter()
        .all(|i| i["name"] == "poem-probe" && i["status"] == "submitted"));

    let resp = client
        .post(&url)
        .json(&seed_rpm(&contact))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);

    assert_eq!(
        moto().emails_to(&contact).await.len(),
        2,
        "one confirmation per submission"
    );
}

/// A function whose configuration is incomplete stays up and says what is missing, readably,
/// on every request (a 500 in its own error shape), instead of exiting and being started again.
#[tokio::test]
async fn an_unconfigured_function_answers_what_is_missing() {
    let f = ProbeFixture::new(Role::Submitter).await;
    let mut env = f.env();
    env.retain(|(k, _)| k != "PROBES_TABLE");
    let watch = Watch::start(&env);
    let client = telltale_testkit::watch::client();
    for _ in 0..2 {
        let resp = client
            .get(format!("{}/api/v2/probes/", watch.base_url))
            .header("x-api-key", &f.key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["detail"],
            "this function is not configured: environment variable PROBES_TABLE is required but not set",
            "{body}"
        );
    }
}
