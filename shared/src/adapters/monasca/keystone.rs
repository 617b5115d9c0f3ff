//! Keystone v3: a password grant's token and the Monasca endpoint of its catalog, chosen as
//! OpenStack's clients choose it (the `OS_INTERFACE` interface in the `OS_REGION_NAME` region),
//! with or without the API version the catalog may carry.

use serde_json::Value;

/// The Monasca API's base, without the version: `http://monasca:8070/v2.0/` and
/// `http://monasca:8070` both give `http://monasca:8070`, so `/v2.0/...` is added once (as
/// python-monascaclient does).
pub fn api_base(endpoint: &str) -> String {
    let trimmed = endpoint.trim().trim_end_matches('/');
    trimmed.strip_suffix("/v2.0").unwrap_or(trimmed).to_string()
}

/// `OS_INTERFACE` as keystoneauth reads it: `public`, `internal` or `admin`, also written
/// `publicURL` (the v2 catalog's spelling).
pub fn interface(text: &str) -> Option<&'static str> {
    match text.trim().trim_end_matches("URL") {
        "public" => Some("public"),
        "internal" => Some("internal"),
        "admin" => Some("admin"),
        _ => None,
    }
}

/// The `monitoring` endpoint of a token's catalog for `interface`, in `region` when given. With
/// no region and endpoints in several regions, which one is meant cannot be guessed: an error
/// that names them and asks for `OS_REGION_NAME`.
pub fn catalog_endpoint(
    token: &Value,
    region: Option<&str>,
    interface: &str,
) -> Result<String, String> {
    let endpoints: Vec<&Value> = token["token"]["catalog"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|service| service["type"] == "monitoring")
        .flat_map(|service| service["endpoints"].as_array().into_iter().flatten())
        .filter(|e| e["interface"] == interface)
        .collect();
    let region_of = |e: &Value| {
        e["region_id"]
            .as_str()
            .or_else(|| e["region"].as_str())
            .unwrap_or("")
            .to_string()
    };
    let chosen: Vec<&Value> = match region {
        Some(r) => endpoints
            .into_iter()
            .filter(|e| region_of(e) == r)
            .collect(),
        None => endpoints,
    };
    let mut regions: Vec<String> = chosen.iter().map(|e| region_of(e)).collect();
    regions.sort();
    regions.dedup();
    match chosen.first() {
        None => Err(format!(
            "no {interface} monitoring endpoint{} in Keystone's catalog",
            region.map(|r| format!(" in region {r}")).unwrap_or_default()
        )),
        Some(_) if region.is_none() && regions.len() > 1 => Err(format!(
            "Keystone's catalog has {interface} monitoring endpoints in several regions ({}); set OS_REGION_NAME",
            regions.join(", ")
        )),
        Some(e) => e["url"]
            .as_str()
            .map(api_base)
            .ok_or_else(|| "a monitoring endpoint in Keystone's catalog has no url".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Value {
        let mut endpoints = Vec::new();
        for region in ["RegionOne", "RegionTwo"] {
            for interface in ["public", "internal", "admin"] {
                endpoints.push(
                    json!({"region_id": region, "region": region, "interface": interface,
                    "url": format!("http://{interface}.{region}.example:8070/v2.0/")}),
                );
            }
        }
        json!({"token": {"catalog": [{"type": "identity", "endpoints": []},
            {"type": "monitoring", "name": "monasca", "endpoints": endpoints}]}})
    }

    #[test]
    fn the_region_and_interface_choose_and_the_version_goes() {
        let c = catalog();
        assert_eq!(
            catalog_endpoint(&c, Some("RegionTwo"), "internal").unwrap(),
            "http://internal.RegionTwo.example:8070"
        );
        assert_eq!(
            catalog_endpoint(&c, Some("RegionOne"), "public").unwrap(),
            "http://public.RegionOne.example:8070"
        );
        assert_eq!(
            catalog_endpoint(&c, None, "public").unwrap_err(),
            "Keystone's catalog has public monitoring endpoints in several regions (RegionOne, RegionTwo); set OS_REGION_NAME"
        );
        assert_eq!(
            catalog_endpoint(&c, Some("RegionThree"), "public").unwrap_err(),
            "no public monitoring endpoint in region RegionThree in Keystone's catalog"
        );
        for (given, base) in [
            ("http://m:8070", "http://m:8070"),
            ("http://m:8070/", "http://m:8070"),
            ("http://m:8070/v2.0", "http://m:8070"),
            ("http://m:8070/v2.0/", "http://m:8070"),
            (
                "https://cloud.example/monitoring/v2.0",
                "https://cloud.example/monitoring",
            ),
        ] {
            assert_eq!(api_base(given), base);
        }
        assert_eq!(interface("publicURL"), Some("public"));
        assert_eq!(interface("private"), None);
    }
}
