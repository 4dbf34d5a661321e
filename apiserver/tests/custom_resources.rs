//! CustomResourceDefinitions through the whole request path, in process:
//! establishment, serving, tables, discovery, OpenAPI, scale, versions,
//! validation and deletion.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Harness, assert_status};

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

/// The CRD the reference capture was made with, plus a second version,
/// a scale subresource and a selectable field.
fn widget_crd() -> Value {
    let schema = json!({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "description": "WidgetSpec is the desired state.",
                "required": ["size"],
                "properties": {
                    "size": {"type": "integer", "minimum": 1, "description": "number of things"},
                    "color": {"type": "string", "enum": ["red", "green", "blue"]},
                    "replicas": {"type": "integer"},
                },
            },
            "status": {"type": "object", "properties": {
                "ready": {"type": "boolean"},
                "replicas": {"type": "integer"},
                "selector": {"type": "string"},
            }},
        },
    });
    let version = |name: &str, storage: bool| {
        json!({
            "name": name, "served": true, "storage": storage,
            "schema": {"openAPIV3Schema": schema},
            "subresources": {"status": {}, "scale": {
                "specReplicasPath": ".spec.replicas",
                "statusReplicasPath": ".status.replicas",
                "labelSelectorPath": ".status.selector",
            }},
            "additionalPrinterColumns": [
                {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
            "selectableFields": [{"jsonPath": ".spec.color"}],
        })
    };
    let mut beta = version("v1beta1", false);
    beta["deprecated"] = json!(true);
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                      "shortNames": ["wd"], "categories": ["gadgets"]},
            "scope": "Namespaced",
            "versions": [beta, version("v1", true)],
        },
    })
}

/// Creates the CRD and waits until it is Established.
async fn establish(h: &Harness, crd: Value) -> Value {
    let name = crd["metadata"]["name"].as_str().unwrap().to_string();
    h.send_expecting(Method::POST, CRDS, Some(crd), StatusCode::CREATED)
        .await;
    wait_for(h, &format!("{CRDS}/{name}"), |crd| {
        crd["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        })
    })
    .await
}

/// Polls `path` until `done` holds for its body (5 s at most).
async fn wait_for(h: &Harness, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let reply = h.get(path).await;
        if reply.status == StatusCode::OK && done(&reply.json()) {
            return reply.json();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never got there: {}",
            String::from_utf8_lossy(&reply.body)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn widget(name: &str, size: i64) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": name}, "spec": {"size": size, "color": "red"}})
}

#[tokio::test]
async fn a_crd_is_established_and_its_resources_served() {
    let h = Harness::new().await;
    let started = std::time::Instant::now();
    let crd = establish(&h, widget_crd()).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let status = &crd["status"];
    assert_eq!(status["acceptedNames"]["kind"], "Widget");
    assert_eq!(status["acceptedNames"]["listKind"], "WidgetList");
    assert_eq!(status["storedVersions"], json!(["v1"]));
    let names: Vec<&str> = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reason"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["NoConflicts", "InitialNamesAccepted"]);
    assert_eq!(
        crd["metadata"]["managedFields"][1]["manager"],
        "kube-apiserver"
    );

    // CRUD.
    let created = h
        .send_expecting(
            Method::POST,
            WIDGETS,
            Some(widget("w1", 3)),
            StatusCode::CREATED,
        )
        .await
        .json();
    assert_eq!(created["metadata"]["generation"], 1);
    let got = h.get(&format!("{WIDGETS}/w1")).await.json();
    assert_eq!(got["spec"]["size"], 3);
    // Discovery: legacy, per version (kube's verb order), aggregated.
    let list = h.get("/apis/example.com/v1").await.json();
    assert_eq!(list["resources"][0]["name"], "widgets");
    assert_eq!(
        list["resources"][0]["verbs"],
        json!([
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch"
        ])
    );
    assert_eq!(list["resources"][0]["categories"], json!(["gadgets"]));
    let group = h.get("/apis/example.com").await.json();
    assert_eq!(group["preferredVersion"]["version"], "v1");
    let groups = h.get("/apis").await.json();
    assert!(
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "example.com")
    );

    // Table: the printer columns, dates as ages, wide columns included.
    let table = h
        .accept(WIDGETS, "application/json;as=Table;v=v1;g=meta.k8s.io")
        .await
        .json();
    let columns: Vec<(&str, &str, i64)> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["type"].as_str().unwrap(),
                c["priority"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        columns,
        vec![
            ("Name", "string", 0),
            ("Size", "integer", 0),
            ("Color", "string", 1),
            ("Age", "date", 0)
        ]
    );
    assert_eq!(
        table["columnDefinitions"][1]["description"],
        "Custom resource definition column (in JSONPath format): .spec.size"
    );
    let cells = &table["rows"][0]["cells"];
    assert_eq!(cells[0], "w1");
    assert_eq!(cells[1], 3);
    assert_eq!(cells[2], "red");
    assert!(cells[3].as_str().unwrap().ends_with('s'), "{cells}");

    // OpenAPI v3 has the schema for `kubectl explain`.
    let doc = h.get("/openapi/v3/apis/example.com/v1").await.json();
    let schema = &doc["components"]["schemas"]["com.example.v1.Widget"];
    assert_eq!(
        schema["properties"]["spec"]["properties"]["size"]["description"],
        "number of things"
    );
    assert_eq!(
        schema["x-kubernetes-group-version-kind"][0]["kind"],
        "Widget"
    );
    let index = h.get("/openapi/v3").await.json();
    assert!(index["paths"]["apis/example.com/v1"].is_object(), "{index}");
}

#[tokio::test]
async fn versions_scale_status_and_field_selectors() {
    let h = Harness::new().await;
    establish(&h, widget_crd()).await;
    let mut w = widget("w1", 2);
    w["spec"]["replicas"] = json!(1);
    h.send_expecting(Method::POST, WIDGETS, Some(w), StatusCode::CREATED)
        .await;

    // The other version reads the same object, with its own apiVersion,
    // and warns that it is deprecated.
    let beta = h
        .get("/apis/example.com/v1beta1/namespaces/default/widgets/w1")
        .await;
    assert_eq!(beta.json()["apiVersion"], "example.com/v1beta1");
    let warning = beta.headers.get("warning").unwrap().to_str().unwrap();
    assert_eq!(
        warning,
        "299 - \"example.com/v1beta1 Widget is deprecated\""
    );
    // A write through v1beta1 is stored as v1.
    let mut through_beta = beta.json();
    through_beta["spec"]["size"] = json!(5);
    h.send_expecting(
        Method::PUT,
        "/apis/example.com/v1beta1/namespaces/default/widgets/w1",
        Some(through_beta),
        StatusCode::OK,
    )
    .await;
    let v1 = h.get(&format!("{WIDGETS}/w1")).await.json();
    assert_eq!(
        (v1["apiVersion"].as_str(), v1["spec"]["size"].as_i64()),
        (Some("example.com/v1"), Some(5))
    );
    assert_eq!(v1["metadata"]["generation"], 2);

    // Status goes through /status only; the main resource keeps it.
    let mut with_status = v1.clone();
    with_status["status"] = json!({"ready": true, "replicas": 1, "selector": "app=w"});
    h.send_expecting(
        Method::PUT,
        &format!("{WIDGETS}/w1/status"),
        Some(with_status),
        StatusCode::OK,
    )
    .await;
    let mut sneaky = h.get(&format!("{WIDGETS}/w1")).await.json();
    sneaky["status"]["ready"] = json!(false);
    let after = h
        .send_expecting(
            Method::PUT,
            &format!("{WIDGETS}/w1"),
            Some(sneaky),
            StatusCode::OK,
        )
        .await
        .json();
    assert_eq!(after["status"]["ready"], true);

    // Scale reads and writes the declared paths.
    let scale = h.get(&format!("{WIDGETS}/w1/scale")).await.json();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 1);
    assert_eq!(scale["status"], json!({"replicas": 1, "selector": "app=w"}));
    h.send_expecting(
        Method::PATCH,
        &format!("{WIDGETS}/w1/scale"),
        Some(json!({"spec": {"replicas": 4}})),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        h.get(&format!("{WIDGETS}/w1")).await.json()["spec"]["replicas"],
        4
    );

    // Selectable fields filter lists; other fields are refused.
    let mut blue = widget("w2", 1);
    blue["spec"]["color"] = json!("blue");
    h.send_expecting(Method::POST, WIDGETS, Some(blue), StatusCode::CREATED)
        .await;
    let listed = h
        .get(&format!("{WIDGETS}?fieldSelector=spec.color%3Dblue"))
        .await
        .json();
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["w2"]);
    let refused = assert_status(
        &h.get(&format!("{WIDGETS}?fieldSelector=spec.size%3D1"))
            .await,
        400,
        "BadRequest",
    );
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("\"spec.color\""),
        "{refused}"
    );

    // Strategic merge patch is not for custom resources.
    let smp = h
        .send_raw(
            Method::PATCH,
            &format!("{WIDGETS}/w1"),
            "application/strategic-merge-patch+json",
            "{}",
        )
        .await;
    assert_eq!(smp.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn conflicting_names_are_not_accepted() {
    let h = Harness::new().await;
    establish(&h, widget_crd()).await;
    let mut rival = widget_crd();
    rival["metadata"]["name"] = json!("gizmos.example.com");
    rival["spec"]["names"] = json!({"plural": "gizmos", "kind": "Gizmo", "shortNames": ["wd"]});
    h.send_expecting(Method::POST, CRDS, Some(rival), StatusCode::CREATED)
        .await;
    let crd = wait_for(&h, &format!("{CRDS}/gizmos.example.com"), |c| {
        c["status"]["conditions"].is_array()
    })
    .await;
    let conditions = crd["status"]["conditions"].as_array().unwrap();
    let names = conditions
        .iter()
        .find(|c| c["type"] == "NamesAccepted")
        .unwrap();
    assert_eq!(names["status"], "False");
    assert_eq!(names["reason"], "ShortNamesConflict");
    assert_eq!(names["message"], "\"wd\" is already in use");
    let established = conditions
        .iter()
        .find(|c| c["type"] == "Established")
        .unwrap();
    assert_eq!(established["status"], "False");
    assert_status(&h.get("/apis/example.com/v1/gizmos").await, 404, "NotFound");
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_objects_and_stops_serving() {
    let h = Harness::new().await;
    establish(&h, widget_crd()).await;
    for i in 0..3 {
        h.send_expecting(
            Method::POST,
            WIDGETS,
            Some(widget(&format!("w{i}"), 1)),
            StatusCode::CREATED,
        )
        .await;
    }
    h.send_expecting(
        Method::DELETE,
        &format!("{CRDS}/widgets.example.com"),
        None,
        StatusCode::OK,
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while h.get(&format!("{CRDS}/widgets.example.com")).await.status != StatusCode::NOT_FOUND {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the CRD was never deleted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_status(&h.get(WIDGETS).await, 404, "NotFound");
    let groups = h.get("/apis").await.json();
    assert!(
        !groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "example.com")
    );
    // Re-created, it starts empty: the objects are gone from storage.
    establish(&h, widget_crd()).await;
    let listed = h.get(WIDGETS).await.json();
    assert_eq!(listed["items"], json!([]));
}
