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
    // kubectl picks its apply patch type from here: no strategic merge.
    let patch =
        &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
    let types: Vec<&String> = patch["requestBody"]["content"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        types,
        [
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json"
        ]
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

const CASES: &str = "/apis/mars.io/v1alpha1/namespaces/default/cases";
const PLANS: &str = "/apis/mars.io/v1alpha1/namespaces/default/changeplans";

/// Installs Mars's Case and ChangePlan definitions.
async fn install_remediation_kinds(h: &Harness) {
    for crd in mars_crds::definitions() {
        let crd = serde_json::to_value(crd).unwrap();
        let name = crd["metadata"]["name"].as_str().unwrap();
        if matches!(name, "cases.mars.io" | "changeplans.mars.io") {
            establish(h, crd).await;
        }
    }
}

fn step(name: &str) -> Value {
    json!({"name": name, "action": "shift-traffic", "timeoutSeconds": 60, "retries": 1})
}

/// Asks for `phase` through the status subresource.
async fn move_case(h: &Harness, phase: &str, reason: &str) -> support::Reply {
    h.send(
        Method::PATCH,
        &format!("{CASES}/outage/status"),
        Some(json!({"status": {"phase": phase, "reason": reason}})),
    )
    .await
}

#[tokio::test]
async fn the_case_state_machine_is_enforced_by_the_api() {
    let h = Harness::new().await;
    install_remediation_kinds(&h).await;
    let case = json!({
        "apiVersion": "mars.io/v1alpha1", "kind": "Case",
        "metadata": {"name": "outage"},
        "spec": {"title": "Beijing–Shanghai fiber congested",
                 "subject": {"kind": "Link", "name": "bj-sh-1"}, "severity": "high",
                 "changePlanRef": {"name": "reroute"}},
        "status": {"phase": "Closed"},
    });
    let created = h
        .send_expecting(Method::POST, CASES, Some(case), StatusCode::CREATED)
        .await
        .json();
    assert_eq!(
        created["status"]["phase"], "New",
        "a Case starts New whatever the body says"
    );

    // Illegal: New → Executing is a 409 and changes nothing.
    let refused = assert_status(
        &move_case(&h, "Executing", "skip ahead").await,
        409,
        "Conflict",
    );
    assert_eq!(
        refused["message"],
        "Operation cannot be fulfilled on cases.mars.io \"outage\": a Case cannot move from New to Executing; from New it may only move to Analyzing"
    );
    assert_eq!(
        h.get(&format!("{CASES}/outage")).await.json()["status"]["phase"],
        "New"
    );

    assert_eq!(
        move_case(&h, "Analyzing", "triage").await.status,
        StatusCode::OK
    );
    assert_eq!(
        move_case(&h, "Planning", "root cause: fiber cut")
            .await
            .status,
        StatusCode::OK
    );

    // Guard: WaitingApproval needs the plan; without it, 422 and nothing changes.
    let missing = assert_status(
        &move_case(&h, "WaitingApproval", "plan ready").await,
        422,
        "Invalid",
    );
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("needs a ChangePlan"),
        "{missing}"
    );
    // A plan without rollback and verify still fails the guard.
    let plan = json!({
        "apiVersion": "mars.io/v1alpha1", "kind": "ChangePlan",
        "metadata": {"name": "reroute"},
        "spec": {"caseRef": {"name": "outage"}, "steps": [step("drain")], "riskScore": 0.2,
                 "approval": {"mode": "manual"}},
    });
    h.send_expecting(Method::POST, PLANS, Some(plan), StatusCode::CREATED)
        .await;
    let incomplete = assert_status(
        &move_case(&h, "WaitingApproval", "plan ready").await,
        422,
        "Invalid",
    );
    let causes = incomplete["details"]["causes"].as_array().unwrap();
    assert_eq!(causes.len(), 2, "{incomplete}");
    assert!(causes.iter().all(|c| c["field"] == "status.phase"));
    assert_eq!(
        h.get(&format!("{CASES}/outage")).await.json()["status"]["phase"],
        "Planning"
    );
    // The refusal is recorded as a Warning Event on the Case.
    let events = h.get("/api/v1/namespaces/default/events").await.json();
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "TransitionRefused"
                && e["involvedObject"]["name"] == "outage"
                && e["type"] == "Warning"),
        "{events}"
    );

    // Invalid plans never get stored: steps are checked by the schema.
    let mut bad_step = step("x");
    bad_step["timeoutSeconds"] = json!(5);
    let bad = json!({
        "apiVersion": "mars.io/v1alpha1", "kind": "ChangePlan", "metadata": {"name": "bad"},
        "spec": {"caseRef": {"name": "outage"}, "steps": [bad_step], "riskScore": 1.5},
    });
    let invalid = assert_status(
        &h.send(Method::POST, PLANS, Some(bad)).await,
        422,
        "Invalid",
    );
    let message = invalid["message"].as_str().unwrap();
    assert!(
        message.contains("spec.steps[0].timeoutSeconds"),
        "{message}"
    );
    assert!(message.contains("spec.riskScore"), "{message}");

    // Complete the plan; the walk goes on to Closed.
    h.send_expecting(
        Method::PATCH,
        &format!("{PLANS}/reroute"),
        Some(json!({"spec": {
            "rollback": [step("restore")],
            "verify": [{"name": "latency", "expr": "link_latency_ms{link=\"bj-sh-1\"}",
                        "threshold": {"operator": "lt", "value": 30}}],
            "approval": {"mode": "manual", "approvedBy": "alice"},
        }})),
        StatusCode::OK,
    )
    .await;
    for (phase, reason) in [
        ("WaitingApproval", "plan ready"),
        ("Executing", "approved by alice"),
        ("Verifying", "steps done"),
        ("Parked", "latency still high"),
        ("Planning", "resume"),
        ("WaitingApproval", "revised plan"),
        ("Executing", "approved again"),
        ("Verifying", "steps done"),
        ("Closed", "latency back to 12 ms"),
    ] {
        let reply = move_case(&h, phase, reason).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{phase}: {}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    // Closed is terminal.
    assert_status(&move_case(&h, "Planning", "reopen").await, 409, "Conflict");

    // The timeline: every accepted move, with the authenticated actor.
    let case = h.get(&format!("{CASES}/outage")).await.json();
    let timeline = case["status"]["timeline"].as_array().unwrap();
    let moves: Vec<(&str, &str)> = timeline
        .iter()
        .map(|e| (e["from"].as_str().unwrap(), e["to"].as_str().unwrap()))
        .collect();
    assert_eq!(moves.len(), 11, "{moves:?}");
    assert_eq!(moves[0], ("New", "Analyzing"));
    assert_eq!(moves[10], ("Verifying", "Closed"));
    assert!(timeline.iter().all(|e| e["actor"] == "mars-admin"));
    assert_eq!(timeline[1]["reason"], "root cause: fiber cut");

    // Clients cannot rewrite the timeline.
    let forged = h
        .send(
            Method::PATCH,
            &format!("{CASES}/outage/status"),
            Some(json!({"status": {"timeline": []}})),
        )
        .await;
    assert_eq!(forged.status, StatusCode::OK);
    assert_eq!(
        forged.json()["status"]["timeline"]
            .as_array()
            .unwrap()
            .len(),
        11
    );
}

#[tokio::test]
async fn a_tightened_schema_ratchets_on_unchanged_fields() {
    let h = Harness::new().await;
    establish(&h, widget_crd()).await;
    h.send_expecting(
        Method::POST,
        WIDGETS,
        Some(widget("w1", 2)),
        StatusCode::CREATED,
    )
    .await;
    // The schema tightens: size must now be at least 5.
    let mut crd = h.get(&format!("{CRDS}/widgets.example.com")).await.json();
    for version in crd["spec"]["versions"].as_array_mut().unwrap() {
        version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"]["minimum"] =
            json!(5);
    }
    let generation = h
        .send_expecting(
            Method::PUT,
            &format!("{CRDS}/widgets.example.com"),
            Some(crd),
            StatusCode::OK,
        )
        .await
        .json()["metadata"]["generation"]
        .clone();
    assert_eq!(generation, 2);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut w = widget("probe", 2);
        w["metadata"]["name"] = json!("probe");
        if h.send(Method::POST, &format!("{WIDGETS}?dryRun=All"), Some(w))
            .await
            .status
            == StatusCode::UNPROCESSABLE_ENTITY
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new schema was never served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Unchanged, the old value does not block other changes…
    h.send_expecting(
        Method::PATCH,
        &format!("{WIDGETS}/w1"),
        Some(json!({"metadata": {"labels": {"team": "noc"}}})),
        StatusCode::OK,
    )
    .await;
    // …but a new bad value is refused.
    let refused = assert_status(
        &h.send(
            Method::PATCH,
            &format!("{WIDGETS}/w1"),
            Some(json!({"spec": {"size": 3}})),
        )
        .await,
        422,
        "Invalid",
    );
    assert!(
        refused["message"].as_str().unwrap().contains("spec.size"),
        "{refused}"
    );
}
