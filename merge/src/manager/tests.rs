//! Server-side apply and update attribution, case by case.

use serde_json::{Value, json};

use super::*;
use crate::schema::tests::pod_like;

const T1: &str = "2026-01-01T00:00:00Z";
const T2: &str = "2026-01-01T00:01:00Z";

fn writer<'a>(manager: &'a str, now: &'a str) -> Writer<'a> {
    Writer {
        manager,
        api_version: "v1",
        subresource: "",
        now,
    }
}

struct Fixture {
    schema: Schema,
}

impl Fixture {
    fn new() -> Self {
        Self { schema: pod_like() }
    }

    fn manager(&self) -> FieldManager<'_> {
        FieldManager {
            schema: &self.schema,
            ty: self.schema.named("Pod").unwrap(),
            scope: Scope::Main { status_reset: true },
        }
    }

    fn apply(
        &self,
        live: &Value,
        config: Value,
        manager: &str,
        force: bool,
    ) -> Result<Value, ApplyError> {
        self.manager()
            .apply(live, &object(config), writer(manager, T1), force)
    }

    fn update(&self, live: &Value, new: Value, manager: &str) -> Value {
        let mut new = new;
        self.manager().update(live, &mut new, writer(manager, T2));
        new
    }
}

fn object(mut body: Value) -> Value {
    body["apiVersion"] = json!("v1");
    body["kind"] = json!("Pod");
    body["metadata"]["name"] = json!("p");
    body
}

/// Manager name → its fields as FieldsV1.
fn owners(object: &Value) -> Vec<(String, String, Value)> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap().to_string(),
                        e["operation"].as_str().unwrap().to_string(),
                        e["fieldsV1"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn without_managed(object: &Value) -> Value {
    let mut object = object.clone();
    object["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    object
}

#[test]
fn apply_creates_and_records_only_the_configured_fields() {
    let f = Fixture::new();
    let created = f
        .apply(
            &Value::Null,
            json!({"metadata": {"labels": {"app": "web"}}, "data": {"a": "1"}}),
            "alice",
            false,
        )
        .unwrap();
    assert_eq!(created["data"], json!({"a": "1"}));
    let entry = &created["metadata"]["managedFields"][0];
    assert_eq!(
        entry,
        &json!({
            "manager": "alice", "operation": "Apply", "apiVersion": "v1", "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {"f:app": {}}}},
        })
    );
}

#[test]
fn the_same_value_is_shared_and_a_different_one_conflicts_until_forced() {
    let f = Fixture::new();
    let live = f
        .apply(&Value::Null, json!({"data": {"a": "1"}}), "alice", false)
        .unwrap();
    let shared = f
        .apply(&live, json!({"data": {"a": "1"}}), "bob", false)
        .unwrap();
    assert_eq!(owners(&shared).len(), 2, "{shared:#}");

    let refused = f
        .apply(&shared, json!({"data": {"a": "2"}}), "bob", false)
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Apply failed with 1 conflict: conflict with \"alice\": .data.a"
    );

    let forced = f
        .apply(&shared, json!({"data": {"a": "2"}}), "bob", true)
        .unwrap();
    assert_eq!(forced["data"]["a"], "2");
    assert_eq!(
        owners(&forced),
        [("bob".into(), "Apply".into(), json!({"f:data": {"f:a": {}}}))]
    );
}

#[test]
fn conflicts_with_several_managers_list_each_path() {
    let f = Fixture::new();
    let live = f
        .apply(
            &Value::Null,
            json!({"data": {"a": "1", "b": "1"}}),
            "alice",
            false,
        )
        .unwrap();
    let live = f.update(
        &live,
        json!({"metadata": {"name": "p"}, "data": {"a": "1", "b": "1"}, "spec": {"replicas": 1}}),
        "kubectl-edit",
    );
    let error = f
        .apply(
            &live,
            json!({"data": {"a": "2", "b": "2"}, "spec": {"replicas": 3}}),
            "bob",
            false,
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Apply failed with 3 conflicts: conflicts with \"alice\":\n- .data.a\n- .data.b\nconflicts with \"kubectl-edit\" using v1:\n- .spec.replicas"
    );
}

#[test]
fn dropping_a_field_removes_it_unless_someone_else_owns_it() {
    let f = Fixture::new();
    let live = f
        .apply(
            &Value::Null,
            json!({"data": {"a": "1", "b": "1", "c": "1"}}),
            "alice",
            false,
        )
        .unwrap();
    let live = f
        .apply(&live, json!({"data": {"c": "1"}}), "bob", false)
        .unwrap();
    let after = f
        .apply(&live, json!({"data": {"a": "1"}}), "alice", false)
        .unwrap();
    assert_eq!(after["data"], json!({"a": "1", "c": "1"}));
}

#[test]
fn an_empty_configuration_releases_everything_the_applier_set() {
    let f = Fixture::new();
    let live = f
        .apply(
            &Value::Null,
            json!({"metadata": {"labels": {"x": "y"}}, "data": {"a": "1"}}),
            "alice",
            false,
        )
        .unwrap();
    let after = f.apply(&live, json!({}), "alice", false).unwrap();
    assert_eq!(
        after,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}})
    );
}

#[test]
fn lists_merge_by_key_and_removal_is_per_item() {
    let f = Fixture::new();
    let containers = |images: &[(&str, &str)]| json!({"spec": {"containers": images.iter().map(|(n, i)| json!({"name": n, "image": i})).collect::<Vec<_>>()}});
    let live = f
        .apply(
            &Value::Null,
            containers(&[("web", "nginx"), ("log", "fluent")]),
            "alice",
            false,
        )
        .unwrap();
    let live = f
        .apply(&live, containers(&[("proxy", "envoy")]), "mesh", false)
        .unwrap();
    assert_eq!(live["spec"]["containers"].as_array().unwrap().len(), 3);
    // alice drops the log container; mesh's proxy stays.
    let after = f
        .apply(&live, containers(&[("web", "nginx:2")]), "alice", false)
        .unwrap();
    let names: Vec<&str> = after["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "proxy"]);
    assert_eq!(after["spec"]["containers"][0]["image"], "nginx:2");
}

#[test]
fn finalizers_are_a_set_and_args_are_atomic() {
    let f = Fixture::new();
    let live = f
        .apply(
            &Value::Null,
            json!({"metadata": {"finalizers": ["a"]}, "spec": {"args": ["1"]}}),
            "alice",
            false,
        )
        .unwrap();
    let live = f
        .apply(
            &live,
            json!({"metadata": {"finalizers": ["b"]}}),
            "bob",
            false,
        )
        .unwrap();
    assert_eq!(live["metadata"]["finalizers"], json!(["a", "b"]));
    let error = f
        .apply(&live, json!({"spec": {"args": ["2"]}}), "bob", false)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Apply failed with 1 conflict: conflict with \"alice\": .spec.args"
    );
    let after = f
        .apply(&live, json!({"spec": {"args": ["1"]}}), "alice", false)
        .unwrap();
    assert_eq!(after["metadata"]["finalizers"], json!(["b"]));
}

#[test]
fn updates_take_the_fields_they_change() {
    let f = Fixture::new();
    let live = f
        .apply(
            &Value::Null,
            json!({"spec": {"replicas": 1}, "data": {"a": "1"}}),
            "alice",
            false,
        )
        .unwrap();
    let mut edited = live.clone();
    edited["spec"]["replicas"] = json!(5);
    edited["metadata"]["labels"] = json!({"team": "x"});
    let edited = f.update(&live, edited, "kubectl-edit");
    assert_eq!(
        owners(&edited),
        [
            (
                "alice".into(),
                "Apply".into(),
                json!({"f:data": {"f:a": {}}})
            ),
            (
                "kubectl-edit".into(),
                "Update".into(),
                json!({"f:metadata": {"f:labels": {".": {}, "f:team": {}}}, "f:spec": {"f:replicas": {}}})
            ),
        ]
    );
    // A write that changes nothing records nothing.
    let again = f.update(&edited, edited.clone(), "other");
    assert_eq!(owners(&again), owners(&edited));
}

#[test]
fn create_by_update_owns_every_field_but_identity() {
    let f = Fixture::new();
    let created = f.update(
        &Value::Null,
        object(json!({"metadata": {"uid": "u", "resourceVersion": "3"}, "data": {"a": "1"}, "status": {"phase": "x"}})),
        "kubectl-create",
    );
    assert_eq!(
        owners(&created),
        [(
            "kubectl-create".into(),
            "Update".into(),
            json!({"f:data": {".": {}, "f:a": {}}})
        )]
    );
}

#[test]
fn reapplying_the_same_configuration_changes_nothing() {
    let f = Fixture::new();
    let config =
        json!({"data": {"a": "1"}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}});
    let live = f
        .apply(&Value::Null, config.clone(), "alice", false)
        .unwrap();
    let again = f
        .manager()
        .apply(&live, &object(config), writer("alice", T2), false)
        .unwrap();
    assert_eq!(again, live);
}

#[test]
fn managed_fields_in_the_config_are_refused_and_can_be_cleared_by_update() {
    let f = Fixture::new();
    let error = f
        .apply(
            &Value::Null,
            json!({"metadata": {"managedFields": []}}),
            "alice",
            false,
        )
        .unwrap_err();
    assert_eq!(
        error,
        ApplyError::BadRequest("metadata.managedFields must be nil".into())
    );
    let live = f
        .apply(&Value::Null, json!({"data": {"a": "1"}}), "alice", false)
        .unwrap();
    let mut cleared = without_managed(&live);
    cleared["metadata"]["managedFields"] = json!([{}]);
    let cleared = f.update(&live, cleared, "kubectl-patch");
    assert!(owners(&cleared).is_empty(), "{cleared:#}");
}

#[test]
fn status_writes_own_only_status() {
    let f = Fixture::new();
    let status = FieldManager {
        scope: Scope::Status,
        ..f.manager()
    };
    let live = object(json!({"spec": {"replicas": 1}}));
    let mut new = object(json!({"spec": {"replicas": 2}, "status": {"phase": "Running"}}));
    status.update(
        &live,
        &mut new,
        Writer {
            subresource: "status",
            ..writer("kubelet", T1)
        },
    );
    assert_eq!(new["metadata"]["managedFields"][0]["subresource"], "status");
    assert_eq!(
        new["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:status": {"f:phase": {}}})
    );
}

#[test]
fn too_many_updaters_merge_the_oldest() {
    let f = Fixture::new();
    let mut live = object(json!({"data": {}}));
    for i in 0..12 {
        let mut new = live.clone();
        new["data"][format!("k{i}")] = json!("v");
        let now = format!("2026-01-01T00:00:{i:02}Z");
        f.manager()
            .update(&live, &mut new, writer(&format!("m{i}"), &now));
        live = new;
    }
    let managers: Vec<String> = owners(&live).into_iter().map(|(m, _, _)| m).collect();
    assert_eq!(managers.len(), 10);
    assert_eq!(managers[0], "ancient-changes");
    assert_eq!(managers[9], "m11");
}

#[test]
fn apply_refuses_items_without_their_keys() {
    let f = Fixture::new();
    let error = f
        .apply(
            &Value::Null,
            json!({"spec": {"containers": [{"image": "x"}]}}),
            "alice",
            false,
        )
        .unwrap_err();
    assert!(matches!(error, ApplyError::Invalid(_)), "{error:?}");
}

#[test]
fn entries_an_update_leaves_alone_are_kept_as_recorded() {
    let f = Fixture::new();
    let live = f
        .apply(
            &Value::Null,
            json!({"spec": {"replicas": 1}, "data": {"a": "1", "b": "2"}}),
            "alice",
            false,
        )
        .unwrap();
    // Recorded with a member this code would not write itself.
    let mut live = live;
    live["metadata"]["managedFields"][0]["subresource"] = json!("");
    let recorded = live["metadata"]["managedFields"][0].clone();

    let mut labelled = live.clone();
    labelled["metadata"]["labels"] = json!({"team": "x"});
    let labelled = f.update(&live, labelled, "bob");
    assert_eq!(labelled["metadata"]["managedFields"][0], recorded);

    // Taking one of alice's fields rewrites her entry.
    let mut taken = labelled.clone();
    taken["data"]["a"] = json!("9");
    let taken = f.update(&labelled, taken, "carol");
    let alice = &taken["metadata"]["managedFields"][0];
    assert_eq!(alice["manager"], "alice");
    assert_eq!(
        alice["fieldsV1"],
        json!({"f:data": {"f:b": {}}, "f:spec": {"f:replicas": {}}})
    );
    assert!(alice.get("subresource").is_none());
}
