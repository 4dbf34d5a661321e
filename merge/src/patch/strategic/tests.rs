//! Strategic merge patch cases, each an original, a patch and the result
//! kube-apiserver gives.

use serde_json::{Value, json};

use super::*;
use crate::schema::tests::pod_like;

fn patched(original: Value, patch: Value) -> Result<Value, PatchError> {
    let schema = pod_like();
    strategic_merge_patch(&schema, schema.named("Pod").unwrap(), &original, &patch)
}

fn pod(containers: Value) -> Value {
    json!({"spec": {"containers": containers}})
}

#[test]
fn cases() {
    let cases: Vec<(&str, Value, Value, Value)> = vec![
        (
            "containers merge by name, other fields kept",
            pod(
                json!([{"name": "web", "image": "1", "args": ["a"]}, {"name": "log", "image": "1"}]),
            ),
            pod(json!([{"name": "web", "image": "2"}])),
            pod(
                json!([{"name": "web", "image": "2", "args": ["a"]}, {"name": "log", "image": "1"}]),
            ),
        ),
        (
            "a new element is appended",
            pod(json!([{"name": "web"}])),
            pod(json!([{"name": "side", "image": "busybox"}])),
            pod(json!([{"name": "web"}, {"name": "side", "image": "busybox"}])),
        ),
        (
            "$patch: delete removes an element",
            pod(json!([{"name": "web"}, {"name": "log"}])),
            pod(json!([{"name": "log", "$patch": "delete"}])),
            pod(json!([{"name": "web"}])),
        ),
        (
            "$patch: replace replaces the list",
            pod(json!([{"name": "web"}, {"name": "log"}])),
            pod(json!([{"name": "new"}, {"$patch": "replace"}])),
            pod(json!([{"name": "new"}])),
        ),
        (
            "ports merge by containerPort inside a container",
            pod(json!([{"name": "web", "ports": [{"containerPort": 80, "name": "http"}]}])),
            pod(
                json!([{"name": "web", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}]),
            ),
            pod(
                json!([{"name": "web", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}]),
            ),
        ),
        (
            "env merges by name and null deletes a field of an element",
            pod(json!([{"name": "web", "env": [{"name": "A", "image": "x"}, {"name": "B"}]}])),
            pod(json!([{"name": "web", "env": [{"name": "A", "image": null}]}])),
            pod(json!([{"name": "web", "env": [{"name": "A"}, {"name": "B"}]}])),
        ),
        (
            "lists without a merge strategy are replaced",
            json!({"spec": {"args": ["a", "b"]}}),
            json!({"spec": {"args": ["c"]}}),
            json!({"spec": {"args": ["c"]}}),
        ),
        (
            "merged primitive lists are a union",
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["b", "c"]}}),
            json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
        ),
        (
            "$deleteFromPrimitiveList removes values",
            json!({"metadata": {"finalizers": ["a", "b"]}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            json!({"metadata": {"finalizers": ["b"]}}),
        ),
        (
            "$setElementOrder orders the merged list",
            pod(json!([{"name": "a"}, {"name": "b"}])),
            json!({"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "b"}, {"name": "a"}],
                "containers": [{"name": "c"}]}}),
            pod(json!([{"name": "c"}, {"name": "b"}, {"name": "a"}])),
        ),
        (
            "maps merge and null deletes a key",
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
            json!({"metadata": {"labels": {"b": null, "c": "3"}}}),
            json!({"metadata": {"labels": {"a": "1", "c": "3"}}}),
        ),
        (
            "$patch: replace on a map replaces it",
            json!({"metadata": {"labels": {"a": "1"}}}),
            json!({"metadata": {"labels": {"b": "2", "$patch": "replace"}}}),
            json!({"metadata": {"labels": {"b": "2"}}}),
        ),
        (
            "$patch: delete on a map removes it",
            json!({"metadata": {"labels": {"a": "1"}, "name": "x"}}),
            json!({"metadata": {"labels": {"$patch": "delete"}}}),
            json!({"metadata": {"name": "x"}}),
        ),
        (
            "$retainKeys clears the keys it does not list",
            json!({"spec": {"raw": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}),
            json!({"spec": {"raw": {"$retainKeys": ["type"], "type": "Recreate"}}}),
            json!({"spec": {"raw": {"type": "Recreate"}}}),
        ),
        (
            "untyped values merge like a merge patch",
            json!({"spec": {"raw": {"a": [1, 2], "b": {"c": 1}}}}),
            json!({"spec": {"raw": {"a": [3], "b": {"d": 2}}}}),
            json!({"spec": {"raw": {"a": [3], "b": {"c": 1, "d": 2}}}}),
        ),
    ];
    for (name, original, patch, expected) in cases {
        assert_eq!(patched(original, patch).unwrap(), expected, "{name}");
    }
}

#[test]
fn elements_without_the_merge_key_are_refused() {
    let error = patched(pod(json!([{"name": "web"}])), pod(json!([{"image": "x"}]))).unwrap_err();
    assert!(
        error
            .0
            .contains("does not contain declared merge key: name"),
        "{error}"
    );
    assert!(patched(json!({}), json!([1])).is_err());
    assert!(patched(json!({}), json!({"spec": {"$patch": "bogus"}})).is_err());
}
