//! Handler tests: every verb's edge cases through the whole request path
//! (authentication, routing, registry, store), in process, over a real
//! embedded store in a temporary directory.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use mars_apiserver::handler::{self, Incoming};
use serde_json::{Value, json};
use support::{ADMIN, Harness, VIEWER, assert_status};

#[tokio::test]
async fn get_found_missing_and_unrouted() {
    let h = Harness::new().await;
    let created = h.create_cm("default", "a", json!({})).await;
    let got = h.get("/api/v1/namespaces/default/configmaps/a").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(
        got.json()["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    let missing = assert_status(
        &h.get("/api/v1/namespaces/default/configmaps/nope").await,
        404,
        "NotFound",
    );
    assert_eq!(missing["message"], "configmaps \"nope\" not found");
    assert_eq!(
        missing["details"],
        json!({"name": "nope", "kind": "configmaps"})
    );
    let deploy = assert_status(
        &h.get("/apis/apps/v1/namespaces/default/deployments/web")
            .await,
        404,
        "NotFound",
    );
    assert_eq!(deploy["message"], "deployments.apps \"web\" not found");
    assert_status(&h.get("/apis/nope.io/v1/things").await, 404, "NotFound");
    assert_status(
        &h.get("/api/v1/namespaces/default/nodes").await,
        404,
        "NotFound",
    );
    assert_status(
        &h.get("/api/v1/namespaces/default/configmaps/a/status")
            .await,
        404,
        "NotFound",
    );
}

#[tokio::test]
async fn create_edge_cases() {
    let h = Harness::new().await;
    let path = "/api/v1/namespaces/default/configmaps";
    let generated = h
        .send(
            Method::POST,
            path,
            Some(json!({"metadata": {"generateName": "gen-"}})),
        )
        .await;
    assert_eq!(generated.status, StatusCode::CREATED);
    let name = generated.json()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    assert_eq!(generated.json()["kind"], "ConfigMap");

    h.create_cm("default", "dup", json!({})).await;
    let dup = h
        .send(
            Method::POST,
            path,
            Some(json!({"metadata": {"name": "dup"}})),
        )
        .await;
    assert_eq!(
        assert_status(&dup, 409, "AlreadyExists")["message"],
        "configmaps \"dup\" already exists"
    );

    let no_ns = h
        .send(
            Method::POST,
            "/api/v1/namespaces/ghost/configmaps",
            Some(json!({"metadata": {"name": "x"}})),
        )
        .await;
    assert_eq!(
        assert_status(&no_ns, 404, "NotFound")["message"],
        "namespaces \"ghost\" not found"
    );

    let mismatch = h
        .send(
            Method::POST,
            path,
            Some(json!({"metadata": {"name": "x", "namespace": "team"}})),
        )
        .await;
    assert_status(&mismatch, 400, "BadRequest");

    let bad_json = h
        .send_raw(Method::POST, path, "application/json", "{not json")
        .await;
    let body = assert_status(&bad_json, 400, "BadRequest");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("must be of type ConfigMap"),
        "{body}"
    );

    let yaml = h
        .send_raw(
            Method::POST,
            path,
            "application/yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n",
        )
        .await;
    assert_eq!(yaml.status, StatusCode::CREATED);
    assert_eq!(yaml.json()["data"]["a"], "b");

    let wrong_kind = h
        .send(
            Method::POST,
            path,
            Some(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})),
        )
        .await;
    assert_status(&wrong_kind, 400, "BadRequest");

    let dry = h
        .send(
            Method::POST,
            &format!("{path}?dryRun=All"),
            Some(json!({"metadata": {"name": "dry"}})),
        )
        .await;
    assert_eq!(dry.status, StatusCode::CREATED);
    assert_status(&h.get(&format!("{path}/dry")).await, 404, "NotFound");
    let bad_dry = h
        .send(
            Method::POST,
            &format!("{path}?dryRun=Some"),
            Some(json!({"metadata": {"name": "dry"}})),
        )
        .await;
    assert_status(&bad_dry, 400, "BadRequest");

    let protobuf_only = h
        .send_raw(Method::POST, path, "application/x-unknown", "x")
        .await;
    assert_status(&protobuf_only, 415, "UnsupportedMediaType");
}

#[tokio::test]
async fn invalid_names_are_422_with_causes() {
    let h = Harness::new().await;
    let r = h
        .send(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            Some(json!({"metadata": {"name": "Bad_Name"}})),
        )
        .await;
    let body = assert_status(&r, 422, "Invalid");
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{message}");
    assert_eq!(body["details"]["causes"][0]["field"], "metadata.name");
    assert_eq!(body["details"]["causes"][0]["reason"], "FieldValueInvalid");
}

#[tokio::test]
async fn bodies_over_three_mebibytes_are_413() {
    let h = Harness::new().await;
    let big = "x".repeat(3 * 1024 * 1024 + 10);
    let r = h
        .send(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            Some(json!({"metadata": {"name": "big"}, "data": {"k": big}})),
        )
        .await;
    assert_status(&r, 413, "RequestEntityTooLarge");
}

#[tokio::test]
async fn update_concurrency_and_subresources() {
    let h = Harness::new().await;
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}},
        "status": {"replicas": 42}
    });
    let created = h.send(Method::POST, path, Some(deployment)).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let created = created.json();
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(
        created["status"],
        json!({}),
        "status is the controller's, reset on create"
    );

    let mut stale = created.clone();
    let mut fresh = created.clone();
    fresh["spec"]["replicas"] = json!(3);
    let updated = h
        .send(Method::PUT, &format!("{path}/web"), Some(fresh))
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    let updated = updated.json();
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_ne!(
        updated["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    stale["spec"]["replicas"] = json!(5);
    let conflict = h
        .send(Method::PUT, &format!("{path}/web"), Some(stale))
        .await;
    let body = assert_status(&conflict, 409, "Conflict");
    assert_eq!(
        body["message"],
        "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again"
    );

    // Without a resourceVersion the update is unconditional.
    let mut unconditional = updated.clone();
    unconditional["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    unconditional["metadata"]["labels"] = json!({"x": "y"});
    unconditional["status"] = json!({"replicas": 7});
    let r = h
        .send(Method::PUT, &format!("{path}/web"), Some(unconditional))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json()["status"],
        json!({}),
        "the main resource ignores status"
    );
    assert_eq!(r.json()["metadata"]["generation"], 2, "labels are not spec");

    // The status subresource changes only status.
    let mut status = r.json();
    status["status"] = json!({"replicas": 3, "readyReplicas": 3});
    status["spec"]["replicas"] = json!(9);
    let r = h
        .send(Method::PUT, &format!("{path}/web/status"), Some(status))
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.json()["status"]["readyReplicas"], 3);
    assert_eq!(r.json()["spec"]["replicas"], 3);

    // Scale reads and writes spec.replicas.
    let scale = h.get(&format!("{path}/web/scale")).await.json();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 3);
    assert_eq!(scale["status"]["selector"], "app=web");
    let r = h
        .send(
            Method::PATCH,
            &format!("{path}/web/scale"),
            Some(json!({"spec": {"replicas": 6}})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        h.get(&format!("{path}/web")).await.json()["spec"]["replicas"],
        6
    );

    let missing = h
        .send(
            Method::PUT,
            &format!("{path}/ghost"),
            Some(json!({"metadata": {"name": "ghost"}})),
        )
        .await;
    assert_status(&missing, 404, "NotFound");
    let renamed = h
        .send(
            Method::PUT,
            &format!("{path}/web"),
            Some(json!({"metadata": {"name": "other"}})),
        )
        .await;
    assert_status(&renamed, 400, "BadRequest");
}

#[tokio::test]
async fn patch_types() {
    let h = Harness::new().await;
    h.create_cm("default", "p", json!({"a": "1"})).await;
    let path = "/api/v1/namespaces/default/configmaps/p";
    let merged = h
        .send(
            Method::PATCH,
            path,
            Some(json!({"metadata": {"labels": {"b": "2", "a": null}}, "data": {"n": "m"}})),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK);
    assert_eq!(merged.json()["metadata"]["labels"], json!({"b": "2"}));
    assert_eq!(merged.json()["data"], json!({"k": "v", "n": "m"}));

    let json_patch = h
        .send_raw(
            Method::PATCH,
            path,
            "application/json-patch+json",
            r#"[{"op":"replace","path":"/data/k","value":"w"}]"#,
        )
        .await;
    assert_eq!(json_patch.json()["data"]["k"], "w");
    let failed_test = h
        .send_raw(
            Method::PATCH,
            path,
            "application/json-patch+json",
            r#"[{"op":"test","path":"/data/k","value":"nope"}]"#,
        )
        .await;
    assert_status(&failed_test, 422, "Invalid");

    let stale = h
        .send(
            Method::PATCH,
            path,
            Some(json!({"metadata": {"resourceVersion": "1"}, "data": {"x": "y"}})),
        )
        .await;
    assert_status(&stale, 409, "Conflict");
    let missing = h
        .send(
            Method::PATCH,
            "/api/v1/namespaces/default/configmaps/ghost",
            Some(json!({"data": {}})),
        )
        .await;
    assert_status(&missing, 404, "NotFound");
}

#[tokio::test]
async fn server_side_apply_edge_cases() {
    let h = Harness::new().await;
    let path = |name: &str| format!("/api/v1/namespaces/default/configmaps/{name}");
    let config = |name: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n")
    };
    let apply = |name: &'static str, query: &'static str| {
        let h = &h;
        let body = config(name);
        async move {
            h.send_raw(
                Method::PATCH,
                &format!("{}{query}", path(name)),
                "application/apply-patch+yaml",
                &body,
            )
            .await
        }
    };

    let no_manager = apply("a", "").await;
    let status = assert_status(&no_manager, 400, "BadRequest");
    assert!(
        status["message"].as_str().unwrap().contains("fieldManager"),
        "{status}"
    );

    // Appliers racing to create the same object all succeed and share it.
    let racers = (0..8).map(|i| {
        let h = &h;
        let body = config("raced");
        async move {
            let query = format!("{}?fieldManager=m{i}", path("raced"));
            h.send_raw(Method::PATCH, &query, "application/apply-patch+yaml", &body)
                .await
        }
    });
    let replies = futures::future::join_all(racers).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "exactly one apply creates");
    assert!(replies.iter().all(|r| r.status.is_success()));
    let stored = h.get(&path("raced")).await.json();
    assert_eq!(
        stored["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .len(),
        8
    );

    let mismatched = h
        .send_raw(
            Method::PATCH,
            &format!("{}?fieldManager=m", path("other")),
            "application/apply-patch+yaml",
            &config("raced"),
        )
        .await;
    assert_status(&mismatched, 400, "BadRequest");
    let with_managed_fields = h
        .send_raw(
            Method::PATCH,
            &format!("{}?fieldManager=m", path("raced")),
            "application/apply-patch+yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: raced\n  managedFields: []\n",
        )
        .await;
    let status = assert_status(&with_managed_fields, 400, "BadRequest");
    assert_eq!(status["message"], "metadata.managedFields must be nil");

    // Unknown fields: a warning by default, dropped; a 400 under Strict.
    let warned = h
        .send_raw(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            "application/json",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"},"dataa":{"x":"y"}}"#,
        )
        .await;
    assert_eq!(warned.status, StatusCode::CREATED);
    assert_eq!(
        warned.headers["warning"],
        r#"299 - "unknown field \"dataa\"""#
    );
    assert!(warned.json().get("dataa").is_none());
    let strict = h
        .send_raw(
            Method::POST,
            "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
            "application/json",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s"},"dataa":{"x":"y"}}"#,
        )
        .await;
    let status = assert_status(&strict, 400, "BadRequest");
    assert_eq!(
        status["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"dataa\""
    );
    let bogus = h
        .send_raw(
            Method::POST,
            "/api/v1/namespaces/default/configmaps?fieldValidation=Loud",
            "application/json",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s"}}"#,
        )
        .await;
    assert_status(&bogus, 400, "BadRequest");
}

#[tokio::test]
async fn delete_finalizers_preconditions_and_dry_run() {
    let h = Harness::new().await;
    let cm = h.create_cm("default", "d", json!({})).await;
    let path = "/api/v1/namespaces/default/configmaps/d";

    let dry = h
        .send(Method::DELETE, &format!("{path}?dryRun=All"), None)
        .await;
    assert_eq!(dry.status, StatusCode::OK);
    assert_eq!(h.get(path).await.status, StatusCode::OK);
    // kubectl 1.33 puts it in the DeleteOptions body instead.
    let dry = h
        .send(Method::DELETE, path, Some(json!({"dryRun": ["All"]})))
        .await;
    assert_eq!(dry.status, StatusCode::OK);
    assert_eq!(h.get(path).await.status, StatusCode::OK);
    let bad = h
        .send(Method::DELETE, path, Some(json!({"dryRun": ["Some"]})))
        .await;
    assert_status(&bad, 400, "BadRequest");

    let wrong_uid = h
        .send(
            Method::DELETE,
            path,
            Some(json!({"preconditions": {"uid": "not-it"}})),
        )
        .await;
    assert_status(&wrong_uid, 409, "Conflict");

    let gone = h
        .send(
            Method::DELETE,
            path,
            Some(json!({"preconditions": {"uid": cm["metadata"]["uid"]}})),
        )
        .await;
    let body = gone.json();
    assert_eq!(body["status"], "Success", "{body}");
    assert_eq!(body["details"]["name"], "d");
    assert_status(&h.get(path).await, 404, "NotFound");

    // A finalizer holds the object until it is removed.
    h.send_expecting(
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        Some(json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})),
        StatusCode::CREATED,
    )
    .await;
    let held = "/api/v1/namespaces/default/configmaps/held";
    let pending = h.send(Method::DELETE, held, None).await.json();
    assert!(
        pending["metadata"]["deletionTimestamp"].is_string(),
        "{pending}"
    );
    assert_eq!(h.get(held).await.status, StatusCode::OK);
    h.send_expecting(
        Method::PATCH,
        held,
        Some(json!({"metadata": {"finalizers": null}})),
        StatusCode::OK,
    )
    .await;
    assert_status(&h.get(held).await, 404, "NotFound");

    let bad_policy = h
        .send(
            Method::DELETE,
            "/api/v1/namespaces/default/configmaps/x?propagationPolicy=Sometimes",
            None,
        )
        .await;
    assert_status(&bad_policy, 422, "Invalid");
}

#[tokio::test]
async fn bound_pods_are_deleted_gracefully_and_bindings_assign_once() {
    let h = Harness::new().await;
    let pods = "/api/v1/namespaces/default/pods";
    let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    let created = h.send(Method::POST, pods, Some(pod)).await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.json()["status"]["phase"], "Pending");
    assert_eq!(created.json()["spec"]["restartPolicy"], "Always");

    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}});
    let bound = h
        .send(
            Method::POST,
            &format!("{pods}/p/binding"),
            Some(binding.clone()),
        )
        .await;
    assert_eq!(
        bound.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&bound.body)
    );
    assert_eq!(
        h.get(&format!("{pods}/p")).await.json()["spec"]["nodeName"],
        "n1"
    );
    let again = h
        .send(Method::POST, &format!("{pods}/p/binding"), Some(binding))
        .await;
    assert_status(&again, 409, "Conflict");

    let graceful = h
        .send(Method::DELETE, &format!("{pods}/p"), None)
        .await
        .json();
    assert_eq!(graceful["metadata"]["deletionGracePeriodSeconds"], 30);
    assert_eq!(h.get(&format!("{pods}/p")).await.status, StatusCode::OK);
    h.send_expecting(
        Method::DELETE,
        &format!("{pods}/p"),
        Some(json!({"gracePeriodSeconds": 0})),
        StatusCode::OK,
    )
    .await;
    assert_status(&h.get(&format!("{pods}/p")).await, 404, "NotFound");
}

#[tokio::test]
async fn list_selectors_pages_and_representations() {
    let h = Harness::new().await;
    for i in 0..25 {
        let tier = if i % 2 == 0 { "a" } else { "b" };
        h.create_cm("default", &format!("cm-{i:02}"), json!({"tier": tier}))
            .await;
    }
    h.create_cm("team", "other", json!({"tier": "a"})).await;
    let path = "/api/v1/namespaces/default/configmaps";

    let all = h.get(path).await.json();
    assert_eq!(all["kind"], "ConfigMapList");
    assert_eq!(all["items"].as_array().unwrap().len(), 25);
    assert!(
        all["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 0
    );

    let a = h
        .get(&format!("{path}?labelSelector=tier%3Da"))
        .await
        .json();
    assert_eq!(a["items"].as_array().unwrap().len(), 13);
    let everywhere = h
        .get("/api/v1/configmaps?labelSelector=tier+in+(a)")
        .await
        .json();
    assert_eq!(everywhere["items"].as_array().unwrap().len(), 14);
    let by_name = h
        .get(&format!("{path}?fieldSelector=metadata.name%3Dcm-03"))
        .await
        .json();
    assert_eq!(by_name["items"][0]["metadata"]["name"], "cm-03");
    assert_status(
        &h.get(&format!("{path}?labelSelector=%3D%3D%3D")).await,
        400,
        "BadRequest",
    );
    assert_status(
        &h.get(&format!("{path}?fieldSelector=spec.nope%3Dx")).await,
        400,
        "BadRequest",
    );

    // Pages of 10 with continue tokens see every object once.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &token {
            Some(t) => format!("{path}?limit=10&continue={t}"),
            None => format!("{path}?limit=10"),
        };
        let page = h.get(&url).await.json();
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["metadata"]["name"].as_str().unwrap().to_string());
        }
        if pages == 1 {
            assert_eq!(page["metadata"]["remainingItemCount"], 15);
        }
        match page["metadata"]["continue"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 25);
    assert_status(
        &h.get(&format!("{path}?continue=garbage")).await,
        400,
        "BadRequest",
    );

    // The watch cache answers resourceVersion=0 (eventually) with the same set.
    let mut cached = Value::Null;
    for _ in 0..100 {
        cached = h.get(&format!("{path}?resourceVersion=0")).await.json();
        if cached["items"].as_array().map(Vec::len) == Some(25) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(cached["items"].as_array().unwrap().len(), 25);
    let exact = h
        .get(&format!(
            "{path}?resourceVersion={}&resourceVersionMatch=NotOlderThan",
            all["metadata"]["resourceVersion"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(exact["items"].as_array().unwrap().len(), 25);

    let meta = h
        .accept(
            path,
            "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
        )
        .await
        .json();
    assert_eq!(meta["kind"], "PartialObjectMetadataList");
    assert!(meta["items"][0].get("data").is_none());
    let table = h
        .accept(
            path,
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .await
        .json();
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["rows"].as_array().unwrap().len(), 25);
    assert_eq!(table["columnDefinitions"][0]["name"], "Name");
    let refused = h.accept(path, "application/vnd.kubernetes.protobuf").await;
    assert_status(&refused, 406, "NotAcceptable");
}

/// Reads watch lines until `n` arrived or the stream ends.
async fn watch_lines(h: &Harness, path: &str, n: usize, during: impl AsyncFnOnce()) -> Vec<Value> {
    let request = Harness::builder(Method::GET, path, Some(ADMIN))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = handler::handle(
        Arc::clone(&h.api),
        Incoming {
            request,
            client_cert: None,
        },
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    during().await;
    let mut lines = Vec::new();
    let mut buffer = Vec::new();
    while lines.len() < n {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame()).await;
        let Ok(Some(Ok(frame))) = frame else { break };
        if let Ok(data) = frame.into_data() {
            buffer.extend_from_slice(&data);
            while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buffer.drain(..=end).collect();
                lines.push(serde_json::from_slice(&line).unwrap());
            }
        }
    }
    lines
}

#[tokio::test]
async fn watch_from_a_revision_with_selector_transitions() {
    let h = Harness::new().await;
    let first = h.create_cm("default", "w1", json!({"app": "web"})).await;
    let rv = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    h.create_cm("default", "w2", json!({"app": "db"})).await;
    let path = format!(
        "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&labelSelector=app%3Dweb"
    );
    let events = watch_lines(&h, &path, 3, async || {
        // w2 starts matching (ADDED), then w1 stops matching (DELETED).
        h.send_expecting(
            Method::PATCH,
            "/api/v1/namespaces/default/configmaps/w2",
            Some(json!({"metadata": {"labels": {"app": "web"}}})),
            StatusCode::OK,
        )
        .await;
        h.send_expecting(
            Method::PATCH,
            "/api/v1/namespaces/default/configmaps/w1",
            Some(json!({"metadata": {"labels": {"app": "db"}}})),
            StatusCode::OK,
        )
        .await;
        h.send_expecting(
            Method::DELETE,
            "/api/v1/namespaces/default/configmaps/w2",
            None,
            StatusCode::OK,
        )
        .await;
    })
    .await;
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("ADDED".to_string(), "w2".to_string()),
            ("DELETED".to_string(), "w1".to_string()),
            ("DELETED".to_string(), "w2".to_string()),
        ]
    );
    let rvs: Vec<i64> = events
        .iter()
        .map(|e| {
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "{rvs:?}");
}

#[tokio::test]
async fn watch_initial_events_and_bookmarks() {
    let h = Harness::new().await;
    h.create_cm("default", "i1", json!({})).await;
    h.create_cm("default", "i2", json!({})).await;
    let path = "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=";
    let events = watch_lines(&h, path, 3, async || {}).await;
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[1]["type"], "ADDED");
    assert_eq!(events[2]["type"], "BOOKMARK");
    assert_eq!(
        events[2]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );

    // Unset resourceVersion: the current state, then changes.
    let events = watch_lines(
        &h,
        "/api/v1/namespaces/default/configmaps?watch=true",
        3,
        async || {
            h.create_cm("default", "i3", json!({})).await;
        },
    )
    .await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["i1", "i2", "i3"]);
}

#[tokio::test]
async fn watch_from_a_compacted_revision_is_410() {
    let mut h = Harness::new().await;
    let first = h.create_cm("default", "c1", json!({})).await;
    let old = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    for i in 0..5 {
        h.create_cm("default", &format!("c-{i}"), json!({})).await;
    }
    let now = h.store.revision();
    // The cache holds the history...
    let path = format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={old}");
    let events = watch_lines(&h, &path, 5, async || {}).await;
    assert_eq!(events.len(), 5, "{events:?}");
    // ...after a restart the store's history serves a client resuming
    // from before the cache's window...
    h.restart().await;
    let events = watch_lines(&h, &path, 5, async || {}).await;
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["c-0", "c-1", "c-2", "c-3", "c-4"]);
    assert!(events.iter().all(|e| e["type"] == "ADDED"));
    // ...until the store compacts it away.
    h.store.compact(now).await.unwrap();
    h.restart().await;
    let events = watch_lines(&h, &path, 1, async || {}).await;
    assert_eq!(events[0]["type"], "ERROR", "{events:?}");
    assert_eq!(events[0]["object"]["code"], 410);
    assert_eq!(events[0]["object"]["reason"], "Expired");
}

#[tokio::test]
async fn authentication_and_authorization() {
    let h = Harness::new().await;
    let anonymous = |path: &str| {
        Harness::builder(Method::GET, path, None)
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let health = h.request(anonymous("/healthz")).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(&health.body[..], b"ok");
    assert_eq!(h.request(anonymous("/version")).await.json()["minor"], "33");
    let verbose = h.request(anonymous("/readyz?verbose")).await;
    assert!(String::from_utf8_lossy(&verbose.body).ends_with("readyz check passed\n"));

    let forbidden = h.request(anonymous("/api/v1/namespaces")).await;
    let body = assert_status(&forbidden, 403, "Forbidden");
    assert_eq!(
        body["message"],
        "namespaces is forbidden: User \"system:anonymous\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
    );
    let bad_token = Harness::builder(Method::GET, "/api/v1/namespaces", Some("wrong"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let r = h.request(bad_token).await;
    assert_status(&r, 401, "Unauthorized");
    assert!(r.headers.contains_key("www-authenticate"));

    let viewer_read = Harness::builder(Method::GET, "/api/v1/namespaces", Some(VIEWER))
        .body(Full::new(Bytes::new()))
        .unwrap();
    assert_eq!(h.request(viewer_read).await.status, StatusCode::OK);
    let viewer_write = Harness::builder(
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        Some(VIEWER),
    )
    .header("content-type", "application/json")
    .body(Full::new(Bytes::from(r#"{"metadata":{"name":"x"}}"#)))
    .unwrap();
    assert_status(&h.request(viewer_write).await, 403, "Forbidden");

    // The admin may act as someone else; SelfSubjectReview reports who.
    let review = Harness::builder(
        Method::POST,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        Some(ADMIN),
    )
    .header("content-type", "application/json")
    .header("impersonate-user", "jane")
    .header("impersonate-group", "devs")
    .body(Full::new(Bytes::from(
        r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#,
    )))
    .unwrap();
    let review = h.request(review).await;
    assert_eq!(
        review.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&review.body)
    );
    let info = &review.json()["status"]["userInfo"];
    assert_eq!(info["username"], "jane");
    assert!(info["groups"].as_array().unwrap().contains(&json!("devs")));
}

#[tokio::test]
async fn discovery_and_health_documents() {
    let h = Harness::new().await;
    let aggregated = h
        .accept(
            "/apis",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        )
        .await;
    assert_eq!(
        aggregated.headers["content-type"],
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    assert_eq!(aggregated.json()["kind"], "APIGroupDiscoveryList");
    assert_eq!(h.get("/api").await.json()["kind"], "APIVersions");
    assert_eq!(h.get("/apis").await.json()["kind"], "APIGroupList");
    assert_eq!(h.get("/api/v1").await.json()["kind"], "APIResourceList");
    assert_eq!(
        h.get("/apis/apps/v1").await.json()["groupVersion"],
        "apps/v1"
    );
    let missing = h.get("/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn objects_over_the_store_limit_are_413() {
    let h = Harness::new().await;
    // Under the 3 MiB body limit, over the store's 1.5 MiB object limit
    // (an Event: its message has no size rule of its own).
    let big = "x".repeat(2 * 1024 * 1024);
    let event = json!({"metadata": {"name": "big"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}, "message": big, "reason": "Big", "type": "Normal"});
    let r = h
        .send(
            Method::POST,
            "/api/v1/namespaces/default/events",
            Some(event),
        )
        .await;
    let body = assert_status(&r, 413, "RequestEntityTooLarge");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("too large to store"),
        "{body}"
    );
}

#[tokio::test]
async fn continue_tokens_expire_with_compaction() {
    let h = Harness::new().await;
    for i in 0..4 {
        h.create_cm("default", &format!("e-{i}"), json!({})).await;
    }
    let path = "/api/v1/namespaces/default/configmaps";
    let first = h.get(&format!("{path}?limit=2")).await.json();
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    h.create_cm("default", "later", json!({})).await;
    h.store.compact(h.store.revision()).await.unwrap();
    let expired = h.get(&format!("{path}?limit=2&continue={token}")).await;
    let body = assert_status(&expired, 410, "Expired");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("The provided continue parameter is too old")
    );
    // The token in the answer continues the list, inconsistently, at the latest revision.
    let fresh = body["metadata"]["continue"].as_str().unwrap();
    let rest = h
        .get(&format!("{path}?limit=10&continue={fresh}"))
        .await
        .json();
    let names: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["e-2", "e-3", "later"]);
}
