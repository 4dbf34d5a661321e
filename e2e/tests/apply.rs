//! GitOps-grade writes through the real `kubectl` against `mars server`:
//! client-side apply and its three-way merge, `kubectl diff`, server-side
//! apply with `managedFields` (ownership, conflicts, forced takeover, shared
//! ownership, removal of the fields a manager stops applying), strategic
//! merge, merge and JSON patches, server-side dry run on every write verb,
//! `fieldValidation` Strict / Warn / Ignore, `kubectl edit`, the imperative
//! writers (`replace`, `label`, `annotate`, `set image`), kubectl's migration
//! from client-side to server-side apply, and an ApplySet prune loop that
//! converges a namespace to a directory of manifests.
//!
//! Every test starts its own server and asserts what kube-apiserver 1.33
//! does with kubectl 1.33 (upstream's `test/cmd/*.sh`, the apiserver's patch
//! handler and kubectl's sources are the references): exit codes, the fields
//! of the live object read back with `-o jsonpath` or `-o json`, and the key
//! phrases of messages. Where the two differ, Mars is wrong.
//!
//! Commands that kubectl steers through environment variables (`edit` reads
//! `KUBE_EDITOR`, `--applyset` needs `KUBECTL_APPLYSET=true`, `diff` honours
//! `KUBECTL_EXTERNAL_DIFF`) run through `Kubectl::run_env`.

#![allow(clippy::unwrap_used)]

use mars_e2e::kubectl::{Cluster, Kubectl, Run, default_kubectl};
use serde_json::{Value, json};

/// A Deployment with two containers, env, ports, labels and an annotation,
/// in namespace `${NAMESPACE}`.
const WEB: &str = include_str!("fixtures/apply/web.yaml");

/// The first revision of the GitOps directory (namespace-less manifests).
const GITOPS: [(&str, &str); 4] = [
    (
        "features.yaml",
        include_str!("fixtures/apply/gitops/features.yaml"),
    ),
    (
        "settings.yaml",
        include_str!("fixtures/apply/gitops/settings.yaml"),
    ),
    (
        "web-svc.yaml",
        include_str!("fixtures/apply/gitops/web-svc.yaml"),
    ),
    ("web.yaml", include_str!("fixtures/apply/gitops/web.yaml")),
];

/// The manifest the second revision of the GitOps directory adds.
const GITOPS_LIMITS: &str = include_str!("fixtures/apply/gitops-limits.yaml");

/// The annotation client-side apply keeps its last applied file in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

// ------------------------------------------------------------------ helpers

/// A fresh server driven by the default `kubectl`.
fn cluster() -> Cluster {
    Cluster::start(&default_kubectl().unwrap()).unwrap()
}

fn create_namespace(kubectl: &Kubectl, name: &str) {
    kubectl
        .run_stdin(
            "apply -f -",
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"),
        )
        .ok();
}

/// [`WEB`] in `namespace`.
fn web(namespace: &str) -> String {
    WEB.replace("${NAMESPACE}", namespace)
}

/// `text` with its one occurrence of `from` replaced by `to`. Panics when
/// `from` is missing or repeated, so that a fixture edit that no longer
/// matches cannot make a test pass vacuously.
#[track_caller]
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} should occur exactly once in\n{text}"
    );
    text.replacen(from, to, 1)
}

/// A ConfigMap manifest; no `data` key at all when `data` is empty.
fn configmap(namespace: &str, name: &str, data: &[(&str, &str)]) -> String {
    let mut manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
    );
    if !data.is_empty() {
        manifest.push_str("data:\n");
        for (key, value) in data {
            manifest.push_str(&format!("  {key}: \"{value}\"\n"));
        }
    }
    manifest
}

/// Writes a scratch file; returns its path.
fn write(kubectl: &Kubectl, name: &str, contents: &str) -> String {
    let path = kubectl.write_file(name, contents).unwrap();
    path.to_str().unwrap().to_owned()
}

/// What `kubectl get <what> -o jsonpath=<path>` printed.
fn jsonpath(kubectl: &Kubectl, what: &str, path: &str) -> String {
    kubectl
        .run(&format!("get {what} -o 'jsonpath={path}'"))
        .ok()
        .stdout
}

#[track_caller]
fn assert_jsonpath(kubectl: &Kubectl, what: &str, path: &str, expected: &str) {
    assert_eq!(
        jsonpath(kubectl, what, path),
        expected,
        "kubectl get {what} -o jsonpath={path}"
    );
}

fn resource_version(kubectl: &Kubectl, what: &str) -> String {
    jsonpath(kubectl, what, "{.metadata.resourceVersion}")
}

/// stdout parsed as JSON.
#[track_caller]
fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| {
        panic!(
            "`{}`: stdout is not JSON ({error})\n{}",
            run.command, run.stdout
        )
    })
}

/// The live object as JSON, `metadata.managedFields` included.
#[track_caller]
fn object(kubectl: &Kubectl, what: &str) -> Value {
    json_of(
        &kubectl
            .run(&format!("get {what} -o json --show-managed-fields"))
            .ok(),
    )
}

fn managed_fields(object: &Value) -> &[Value] {
    object["metadata"]["managedFields"]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

/// Every entry of `managedFields` for the main resource as
/// `manager/Operation`, sorted. Entries of subresources are left out: they
/// are controllers' status writes, which kube-apiserver's controllers make
/// at their own pace.
fn managers(object: &Value) -> Vec<String> {
    let mut managers: Vec<String> = managed_fields(object)
        .iter()
        .filter(|entry| entry.get("subresource").is_none())
        .map(|entry| {
            format!(
                "{}/{}",
                entry["manager"].as_str().unwrap_or("?"),
                entry["operation"].as_str().unwrap_or("?")
            )
        })
        .collect();
    managers.sort();
    managers
}

/// Whether an entry of `manager` owns the field at `path` of `fieldsV1`
/// (such as `["f:data", "f:key"]`).
fn owns(object: &Value, manager: &str, path: &[&str]) -> bool {
    managed_fields(object)
        .iter()
        .filter(|entry| entry["manager"] == manager)
        .any(|entry| {
            path.iter()
                .try_fold(&entry["fieldsV1"], |node, key| node.get(*key))
                .is_some()
        })
}

/// Asserts `manager` does (or does not) own `path`, showing the managed
/// fields when it is otherwise.
#[track_caller]
fn assert_owns(object: &Value, manager: &str, path: &[&str], expected: bool) {
    assert_eq!(
        owns(object, manager, path),
        expected,
        "{manager} should{} own {path:?}; managedFields:\n{:#}",
        if expected { "" } else { " not" },
        object["metadata"]["managedFields"]
    );
}

/// Asserts stdout is exactly `expected`, one entry a line.
#[track_caller]
fn assert_lines(run: &Run, expected: &[&str]) {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines, expected,
        "`{}`\nstderr:\n{}",
        run.command, run.stderr
    );
}

/// Asserts stdout has `line` as a whole line.
#[track_caller]
fn assert_has_line(run: &Run, line: &str) {
    assert!(
        run.stdout.lines().any(|l| l == line),
        "`{}`: no line {line:?} in\n{}\nstderr:\n{}",
        run.command,
        run.stdout,
        run.stderr
    );
}

/// Asserts `kubectl get <what>` answers NotFound.
#[track_caller]
fn assert_not_found(kubectl: &Kubectl, what: &str, message: &str) {
    kubectl
        .run(&format!("get {what}"))
        .fails()
        .stderr_has(&format!("Error from server (NotFound): {message}"));
}

// ------------------------------------------------------- client-side apply

#[test]
fn client_side_apply_configures_and_removes_what_the_file_dropped() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "shop");
    let deploy = "-n shop deployment web";

    let original = web("shop");
    let file = write(kubectl, "web.yaml", &original);
    let run = kubectl.run(&format!("apply -f {file}")).ok();
    assert_lines(&run, &["deployment.apps/web created"]);
    let live = object(kubectl, deploy);
    assert!(
        live["metadata"]["annotations"][LAST_APPLIED].is_string(),
        "client-side apply records the file in {LAST_APPLIED}:\n{live:#}"
    );
    assert_eq!(managers(&live), ["kubectl-client-side-apply/Update"]);

    // A new image; a label, an env var and a container port fewer. The
    // three-way merge turns each removal into a delete directive.
    let changed = edit(&original, "image: nginx:1.25", "image: nginx:1.27");
    let changed = edit(&changed, "    tier: frontend\n", "");
    let changed = edit(
        &changed,
        "            - name: DEBUG\n              value: \"false\"\n",
        "",
    );
    let changed = edit(
        &changed,
        "            - name: https\n              containerPort: 8443\n              protocol: TCP\n",
        "",
    );
    let file = write(kubectl, "web.yaml", &changed);
    let run = kubectl.run(&format!("apply -f {file}")).ok();
    assert_lines(&run, &["deployment.apps/web configured"]);

    assert_jsonpath(kubectl, deploy, "{.metadata.labels}", r#"{"app":"web"}"#);
    assert_jsonpath(
        kubectl,
        deploy,
        "{.metadata.annotations.team}",
        "storefront",
    );
    let containers = ".spec.template.spec.containers";
    assert_jsonpath(
        kubectl,
        deploy,
        &format!("{{{containers}[*].name}} {{{containers}[*].image}}"),
        "web sidecar nginx:1.27 busybox:1.35",
    );
    assert_jsonpath(
        kubectl,
        deploy,
        &format!("{{{containers}[0].env[*].name}}"),
        "MODE",
    );
    assert_jsonpath(
        kubectl,
        deploy,
        &format!("{{{containers}[0].ports[*].name}} {{{containers}[0].ports[*].containerPort}}"),
        "http 80",
    );
    assert_jsonpath(
        kubectl,
        deploy,
        &format!("{{{containers}[1].command}}"),
        r#"["sleep","infinity"]"#,
    );
    assert_jsonpath(kubectl, deploy, "{.metadata.generation}", "2");

    // The same file again: kubectl computes an empty patch and sends nothing.
    let before = resource_version(kubectl, deploy);
    let run = kubectl.run(&format!("apply -f {file}")).ok();
    assert_lines(&run, &["deployment.apps/web unchanged"]);
    assert_eq!(resource_version(kubectl, deploy), before);
}

// -------------------------------------------------------------------- diff

#[test]
fn diff_shows_what_apply_would_change_and_changes_nothing() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "shop");
    let deploy = "-n shop deployment web";
    let original = web("shop");
    let file = write(kubectl, "web.yaml", &original);
    kubectl.run(&format!("apply -f {file}")).ok();
    let version = resource_version(kubectl, deploy);

    // Identical: exit 0, nothing printed.
    let run = cluster.kubectl.run(&format!("diff -f {file}"));
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (Some(0), ""),
        "`{}`\nstderr:\n{}",
        run.command,
        run.stderr
    );

    // Changed: diff(1)'s exit 1 and a unified diff of live against merged
    // (a server-side dry-run patch).
    let scaled = write(
        kubectl,
        "web-scaled.yaml",
        &edit(&original, "replicas: 1", "replicas: 3"),
    );
    let run = cluster.kubectl.run(&format!("diff -f {scaled}"));
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stdout
            .lines()
            .any(|line| line.starts_with("diff -u -N ")
                && line.ends_with("/apps.v1.Deployment.shop.web")),
        "no diff header for apps.v1.Deployment.shop.web:\n{}",
        run.stdout
    );
    assert_has_line(&run, "-  replicas: 1");
    assert_has_line(&run, "+  replicas: 3");
    assert!(
        !run.stdout.lines().any(|line| line.contains("image:")
            && (line.starts_with('-') || line.starts_with('+'))),
        "unchanged fields are context, not changes:\n{}",
        run.stdout
    );

    // An object that does not exist yet (a dry-run create) is all additions.
    let fresh = write(
        kubectl,
        "fresh.yaml",
        &configmap("shop", "fresh", &[("greeting", "hello")]),
    );
    let run = cluster.kubectl.run(&format!("diff -f {fresh}"));
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stdout
            .lines()
            .any(|line| line.starts_with("@@ -0,0 +1,")),
        "a new object's hunk starts from an empty file:\n{}",
        run.stdout
    );
    for line in [
        "+apiVersion: v1",
        "+kind: ConfigMap",
        "+  name: fresh",
        "+  namespace: shop",
        "+  greeting: hello",
    ] {
        assert_has_line(&run, line);
    }
    assert!(
        !run.stdout
            .lines()
            .any(|line| line.starts_with('-') && !line.starts_with("---")),
        "nothing is removed from a new object:\n{}",
        run.stdout
    );

    // kubectl diff only ever dry-runs.
    assert_eq!(resource_version(kubectl, deploy), version);
    assert_jsonpath(kubectl, deploy, "{.spec.replicas}", "1");
    assert_not_found(
        kubectl,
        "-n shop configmap fresh",
        r#"configmaps "fresh" not found"#,
    );
}

// ------------------------------------------------------- server-side apply

#[test]
fn server_side_apply_conflicts_forces_and_shares_ownership() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "ssa");
    let cm = "-n ssa configmap settings";
    let apply = |manager: &str, file: &str, extra: &str| {
        kubectl.run(&format!(
            "apply --server-side --field-manager={manager} {extra} -f {file}"
        ))
    };

    let alice = write(
        kubectl,
        "alice.yaml",
        &configmap("ssa", "settings", &[("key", "one"), ("other", "x")]),
    );
    let run = apply("alice", &alice, "").ok();
    assert_lines(&run, &["configmap/settings serverside-applied"]);

    // bob applies another value of alice's field: a conflict, nothing written.
    let bob = write(
        kubectl,
        "bob.yaml",
        &configmap("ssa", "settings", &[("key", "two")]),
    );
    let run = apply("bob", &bob, "").fails();
    assert_eq!(run.stdout, "");
    run.stderr_has(r#"error: Apply failed with 1 conflict: conflict with "alice": .data.key"#);
    run.stderr_has("command with the `--force-conflicts` flag.");
    assert_jsonpath(kubectl, cm, "{.data.key}", "one");

    // Forced, bob takes the field over; alice keeps the rest of hers.
    let run = apply("bob", &bob, "--force-conflicts").ok();
    assert_lines(&run, &["configmap/settings serverside-applied"]);
    assert_jsonpath(kubectl, cm, "{.data.key} {.data.other}", "two x");
    let mut names: Vec<String> = jsonpath(kubectl, cm, "{.metadata.managedFields[*].manager}")
        .split_whitespace()
        .map(String::from)
        .collect();
    names.sort();
    assert_eq!(names, ["alice", "bob"]);
    let live = object(kubectl, cm);
    assert_eq!(managers(&live), ["alice/Apply", "bob/Apply"]);
    assert_owns(&live, "bob", &["f:data", "f:key"], true);
    assert_owns(&live, "alice", &["f:data", "f:key"], false);
    assert_owns(&live, "alice", &["f:data", "f:other"], true);
    assert_owns(&live, "bob", &["f:data", "f:other"], false);

    // carol applies the value bob has: no conflict, the two share the field.
    let carol = write(
        kubectl,
        "carol.yaml",
        &configmap("ssa", "settings", &[("key", "two")]),
    );
    let run = apply("carol", &carol, "").ok();
    assert_lines(&run, &["configmap/settings serverside-applied"]);
    let live = object(kubectl, cm);
    assert_eq!(managers(&live), ["alice/Apply", "bob/Apply", "carol/Apply"]);
    assert_owns(&live, "bob", &["f:data", "f:key"], true);
    assert_owns(&live, "carol", &["f:data", "f:key"], true);
    // ... so bob can no longer change it alone.
    let bob_again = write(
        kubectl,
        "bob-again.yaml",
        &configmap("ssa", "settings", &[("key", "three")]),
    );
    let run = apply("bob", &bob_again, "").fails();
    run.stderr_has(r#"Apply failed with 1 conflict: conflict with "carol": .data.key"#);
    assert_jsonpath(kubectl, cm, "{.data.key}", "two");

    // The same on a Deployment's replicas, bob sending only that field.
    let deploy = "-n ssa deployment web";
    let web_file = write(kubectl, "web.yaml", &web("ssa"));
    apply("alice", &web_file, "").ok();
    let replicas = write(
        kubectl,
        "replicas.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ssa\nspec:\n  replicas: 3\n",
    );
    let run = apply("bob", &replicas, "").fails();
    run.stderr_has(r#"error: Apply failed with 1 conflict: conflict with "alice": .spec.replicas"#);
    assert_jsonpath(kubectl, deploy, "{.spec.replicas}", "1");
    let run = apply("bob", &replicas, "--force-conflicts").ok();
    assert_lines(&run, &["deployment.apps/web serverside-applied"]);
    assert_jsonpath(
        kubectl,
        deploy,
        "{.spec.replicas} {.spec.template.spec.containers[*].name}",
        "3 web sidecar",
    );
    let live = object(kubectl, deploy);
    assert_owns(&live, "bob", &["f:spec", "f:replicas"], true);
    assert_owns(&live, "alice", &["f:spec", "f:replicas"], false);
    assert_owns(&live, "alice", &["f:spec", "f:template"], true);
}

#[test]
fn managed_fields_are_recorded_and_shown_only_on_request() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "mf");
    let cm = "-n mf configmap settings";
    let file = write(
        kubectl,
        "settings.yaml",
        &configmap("mf", "settings", &[("key", "one")]),
    );
    kubectl
        .run(&format!(
            "apply --server-side --field-manager=alice -f {file}"
        ))
        .ok();

    let run = kubectl
        .run(&format!("get {cm} -o yaml --show-managed-fields"))
        .ok();
    let lines: Vec<&str> = run.stdout.lines().map(str::trim).collect();
    for line in [
        "managedFields:",
        "- apiVersion: v1",
        "fieldsType: FieldsV1",
        "fieldsV1:",
        "f:data:",
        "f:key: {}",
        "manager: alice",
        "operation: Apply",
    ] {
        assert!(lines.contains(&line), "no line {line:?} in\n{}", run.stdout);
    }
    assert!(
        lines.iter().any(|line| line.starts_with("time: \"")),
        "no time in\n{}",
        run.stdout
    );

    // The entry exactly: an Apply entry owns what its configuration set
    // (name and namespace are not tracked), with no "." of its own.
    let live = object(kubectl, cm);
    let entries = managed_fields(&live);
    assert_eq!(entries.len(), 1, "{live:#}");
    let alice = &entries[0];
    assert_eq!(alice["apiVersion"], "v1");
    assert_eq!(alice["fieldsType"], "FieldsV1");
    assert_eq!(alice["operation"], "Apply");
    assert_eq!(alice["fieldsV1"], json!({"f:data": {"f:key": {}}}));
    assert!(
        alice.get("subresource").is_none(),
        "no subresource for the main resource: {alice:#}"
    );
    assert_rfc3339(&alice["time"]);

    // An imperative write records an Update entry for its manager.
    let run = kubectl.run(&format!("label {cm} team=a")).ok();
    assert_lines(&run, &["configmap/settings labeled"]);
    let live = object(kubectl, cm);
    assert_eq!(managers(&live), ["alice/Apply", "kubectl-label/Update"]);
    let label = managed_fields(&live)
        .iter()
        .find(|entry| entry["manager"] == "kubectl-label")
        .unwrap();
    assert_eq!(label["apiVersion"], "v1");
    assert_eq!(label["fieldsType"], "FieldsV1");
    assert_rfc3339(&label["time"]);
    assert_owns(
        &live,
        "kubectl-label",
        &["f:metadata", "f:labels", "f:team"],
        true,
    );
    assert_owns(&live, "kubectl-label", &["f:data"], false);
    assert_owns(&live, "alice", &["f:data", "f:key"], true);

    // Without the flag kubectl hides them, in YAML and in JSON.
    for format in ["yaml", "json"] {
        let run = kubectl.run(&format!("get {cm} -o {format}")).ok();
        assert!(
            !run.stdout.contains("managedFields"),
            "`{}` shows managedFields:\n{}",
            run.command,
            run.stdout
        );
        run.stdout_has("team");
    }
}

/// Asserts a managedFields time is RFC 3339 in UTC to the second, as
/// `metav1.Time` serializes (`2025-06-01T12:00:00Z`).
#[track_caller]
fn assert_rfc3339(time: &Value) {
    let text = time.as_str().unwrap_or_default();
    let shape: String = text
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:ddZ", "time {time}");
}

#[test]
fn server_side_apply_removes_only_fields_no_one_else_owns() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "rm");
    let cm = "-n rm configmap app";
    let apply = |manager: &str, data: &[(&str, &str)]| {
        let file = write(
            kubectl,
            &format!("{manager}.yaml"),
            &configmap("rm", "app", data),
        );
        kubectl
            .run(&format!(
                "apply --server-side --field-manager={manager} -f {file}"
            ))
            .ok()
    };

    apply("alice", &[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]);
    // alice stops applying b: she was its only owner, so it goes.
    apply("alice", &[("a", "1"), ("c", "3"), ("d", "4")]);
    assert_jsonpath(kubectl, cm, "{.data}", r#"{"a":"1","c":"3","d":"4"}"#);

    // bob changes c with an Update: he takes it from alice.
    let run = kubectl
        .run(&format!(
            r#"patch {cm} --type merge -p '{{"data":{{"c":"bob"}}}}' --field-manager=bob"#
        ))
        .ok();
    assert_lines(&run, &["configmap/app patched"]);
    // carol applies d as it is: she shares it with alice.
    apply("carol", &[("d", "4")]);
    let live = object(kubectl, cm);
    assert_eq!(
        managers(&live),
        ["alice/Apply", "bob/Update", "carol/Apply"]
    );
    assert_owns(&live, "bob", &["f:data", "f:c"], true);
    assert_owns(&live, "alice", &["f:data", "f:c"], false);
    assert_owns(&live, "alice", &["f:data", "f:d"], true);
    assert_owns(&live, "carol", &["f:data", "f:d"], true);

    // alice drops c and d: both stay, as others own them.
    apply("alice", &[("a", "1")]);
    assert_jsonpath(kubectl, cm, "{.data}", r#"{"a":"1","c":"bob","d":"4"}"#);
    let live = object(kubectl, cm);
    assert_owns(&live, "alice", &["f:data", "f:d"], false);
    assert_owns(&live, "carol", &["f:data", "f:d"], true);

    // carol drops d, now hers alone: it goes.
    apply("carol", &[]);
    assert_jsonpath(kubectl, cm, "{.data}", r#"{"a":"1","c":"bob"}"#);
}

// ----------------------------------------------------------------- patches

#[test]
fn strategic_merge_json_and_merge_patches_of_a_container_list() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "patch");
    let deploy = "-n patch deployment web";
    let file = write(kubectl, "web.yaml", &web("patch"));
    kubectl.run(&format!("create -f {file}")).ok();
    let containers = ".spec.template.spec.containers";
    let names_and_images = format!("{{{containers}[*].name}} {{{containers}[*].image}}");

    // Strategic merge: containers merge by name, so only the sidecar changes
    // (and keeps its command).
    let run = kubectl
        .run(&format!(
            r#"patch {deploy} --type strategic -p '{{"spec":{{"template":{{"spec":{{"containers":[{{"name":"sidecar","image":"busybox:1.36"}}]}}}}}}}}'"#
        ))
        .ok();
    assert_lines(&run, &["deployment.apps/web patched"]);
    assert_jsonpath(
        kubectl,
        deploy,
        &names_and_images,
        "web sidecar nginx:1.25 busybox:1.36",
    );
    assert_jsonpath(
        kubectl,
        deploy,
        &format!("{{{containers}[1].command}}"),
        r#"["sleep","infinity"]"#,
    );

    // Nested lists merge by their own keys: env by name.
    kubectl
        .run(&format!(
            r#"patch {deploy} -p '{{"spec":{{"template":{{"spec":{{"containers":[{{"name":"web","env":[{{"name":"LOG","value":"debug"}}]}}]}}}}}}}}'"#
        ))
        .ok();
    assert_jsonpath(
        kubectl,
        deploy,
        &format!("{{{containers}[0].env[*].name}} {{{containers}[0].ports[*].containerPort}}"),
        "MODE DEBUG LOG 80 8443",
    );

    // $patch: delete removes the one element.
    kubectl
        .run(&format!(
            r#"patch {deploy} --type strategic -p '{{"spec":{{"template":{{"spec":{{"containers":[{{"name":"sidecar","$patch":"delete"}}]}}}}}}}}'"#
        ))
        .ok();
    assert_jsonpath(kubectl, deploy, &names_and_images, "web nginx:1.25");

    // A JSON patch whose test fails is refused whole, 422.
    let before = resource_version(kubectl, deploy);
    let run = kubectl
        .run(&format!(
            r#"patch {deploy} --type json -p '[{{"op":"test","path":"/spec/replicas","value":5}},{{"op":"replace","path":"/spec/replicas","value":9}}]'"#
        ))
        .fails();
    // kube-apiserver answers 422 Invalid "the server rejected our request due
    // to an error in our request" without saying why; Mars adds the reason as
    // the Status's one cause, which kubectl prints.
    assert_eq!(
        run.stderr.trim_end(),
        "The request is invalid: : testing value /spec/replicas failed: test failed"
    );
    assert_jsonpath(kubectl, deploy, "{.spec.replicas}", "1");
    assert_eq!(resource_version(kubectl, deploy), before);
    // ... and applied whole when it passes.
    kubectl
        .run(&format!(
            r#"patch {deploy} --type json -p '[{{"op":"test","path":"/spec/replicas","value":1}},{{"op":"replace","path":"/spec/replicas","value":3}}]'"#
        ))
        .ok();
    assert_jsonpath(kubectl, deploy, "{.spec.replicas}", "3");

    // A JSON merge patch replaces lists outright.
    let run = kubectl
        .run(&format!(
            r#"patch {deploy} --type merge -p '{{"spec":{{"template":{{"spec":{{"containers":[{{"name":"app","image":"nginx:1.27"}}]}}}}}}}}'"#
        ))
        .ok();
    assert_lines(&run, &["deployment.apps/web patched"]);
    assert_jsonpath(kubectl, deploy, &names_and_images, "app nginx:1.27");
    assert_jsonpath(
        kubectl,
        deploy,
        &format!("{{{containers}[0].env}}{{{containers}[0].ports}}"),
        "",
    );
}

// ----------------------------------------------------------------- dry run

#[test]
fn server_side_dry_run_of_every_write_leaves_nothing_behind() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "dry");
    let draft = write(
        kubectl,
        "draft.yaml",
        &configmap("dry", "draft", &[("a", "1")]),
    );

    // Creates: each prints the object the server would have stored.
    for (line, printed) in [
        (
            format!("create --dry-run=server -f {draft}"),
            "configmap/draft created (server dry run)",
        ),
        (
            format!("apply --dry-run=server -f {draft}"),
            "configmap/draft created (server dry run)",
        ),
        (
            format!("apply --server-side --dry-run=server -f {draft}"),
            "configmap/draft serverside-applied (server dry run)",
        ),
    ] {
        assert_lines(&kubectl.run(&line).ok(), &[printed]);
        let stored = json_of(&kubectl.run(&format!("{line} -o json")).ok());
        assert_eq!(stored["metadata"]["name"], "draft", "{line}: {stored:#}");
        assert_eq!(stored["data"], json!({"a": "1"}), "{line}: {stored:#}");
        assert!(
            stored["metadata"]["creationTimestamp"].is_string(),
            "{line}: the server fills in what it would store: {stored:#}"
        );
        assert_not_found(
            kubectl,
            "-n dry configmap draft",
            r#"configmaps "draft" not found"#,
        );
    }

    // Changes to an existing object: shown, not stored.
    let cm = "-n dry configmap keep";
    let keep = write(
        kubectl,
        "keep.yaml",
        &configmap("dry", "keep", &[("a", "1")]),
    );
    kubectl.run(&format!("apply -f {keep}")).ok();
    let version = resource_version(kubectl, cm);
    let managers_before = managers(&object(kubectl, cm));
    let changed = write(
        kubectl,
        "keep-2.yaml",
        &configmap("dry", "keep", &[("a", "2")]),
    );
    for (line, printed) in [
        (
            format!("apply --dry-run=server -f {changed}"),
            "configmap/keep configured (server dry run)",
        ),
        (
            format!(
                "apply --server-side --force-conflicts --field-manager=dry --dry-run=server -f {changed}"
            ),
            "configmap/keep serverside-applied (server dry run)",
        ),
        (
            format!("replace --dry-run=server -f {changed}"),
            "configmap/keep replaced (server dry run)",
        ),
        (
            format!(r#"patch {cm} --dry-run=server -p '{{"data":{{"a":"2"}}}}'"#),
            // kubectl patch overwrites the "(server dry run)" suffix its
            // printer was given (patch.go sets Operation after Complete).
            "configmap/keep patched",
        ),
    ] {
        assert_lines(&kubectl.run(&line).ok(), &[printed]);
        assert_eq!(
            kubectl
                .run(&format!("{line} -o 'jsonpath={{.data.a}}'"))
                .ok()
                .stdout,
            "2",
            "{line}: the response shows the change"
        );
        assert_jsonpath(kubectl, cm, "{.data.a}", "1");
        assert_eq!(resource_version(kubectl, cm), version, "{line} wrote");
    }
    assert_eq!(managers(&object(kubectl, cm)), managers_before);
}

// -------------------------------------------------------- field validation

#[test]
fn field_validation_strict_warn_and_ignore() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "valid");
    let deploy = "-n valid deployment web";
    let typo = write(
        kubectl,
        "typo.yaml",
        &edit(&web("valid"), "  replicas: 1\n", "  replicass: 1\n"),
    );

    // Strict is kubectl's default: the create is refused, 400.
    for flag in ["", "--validate=strict", "--validate=true"] {
        let run = kubectl.run(&format!("apply {flag} -f {typo}")).fails();
        run.stderr_has(&format!(
            r#"Error from server (BadRequest): error when creating "{typo}": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass""#
        ));
        assert_not_found(kubectl, deploy, r#"deployments.apps "web" not found"#);
    }

    // Warn: stored without the field, and kubectl prints the warning.
    let run = kubectl
        .run(&format!("apply --validate=warn -f {typo}"))
        .ok();
    assert_lines(&run, &["deployment.apps/web created"]);
    run.stderr_has(r#"Warning: unknown field "spec.replicass""#);
    let live = object(kubectl, deploy);
    assert!(live["spec"].get("replicass").is_none(), "{live:#}");
    assert_eq!(live["spec"]["replicas"], 1, "defaulted");

    // Strict on the patch path too (the object exists now).
    let run = kubectl.run(&format!("apply -f {typo}")).fails();
    run.stderr_has(r#"strict decoding error: unknown field "spec.replicass""#);

    // Ignore: silently dropped.
    kubectl.run(&format!("delete {deploy}")).ok();
    let run = kubectl
        .run(&format!("apply --validate=false -f {typo}"))
        .ok();
    assert_lines(&run, &["deployment.apps/web created"]);
    assert_eq!(run.stderr, "");
    let live = object(kubectl, deploy);
    assert!(live["spec"].get("replicass").is_none(), "{live:#}");

    // Duplicate fields. kubectl decodes manifests into maps before sending
    // them (a duplicate key collapses to its last value on the client), so
    // only a raw body carries one to the server.
    let dup = write(
        kubectl,
        "dup.json",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","namespace":"valid"},"data":{"a":"1","a":"2"}}"#,
    );
    let url = "/api/v1/namespaces/valid/configmaps";
    let run = kubectl
        .run(&format!(
            "create --raw '{url}?fieldValidation=Strict' -f {dup}"
        ))
        .fails();
    run.stderr_has(
        r#"Error from server (BadRequest): ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "data.a""#,
    );
    assert_not_found(
        kubectl,
        "-n valid configmap dup",
        r#"configmaps "dup" not found"#,
    );
    let run = kubectl
        .run(&format!(
            "create --raw '{url}?fieldValidation=Warn' -f {dup}"
        ))
        .ok();
    run.stderr_has(r#"Warning: duplicate field "data.a""#);
    assert_jsonpath(kubectl, "-n valid configmap dup", "{.data.a}", "2");
}

// -------------------------------------------------------------------- edit

#[test]
fn edit_with_a_scripted_editor_changes_the_object() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "edit");
    let deploy = "-n edit deployment web";
    let file = write(kubectl, "web.yaml", &web("edit"));
    kubectl.run(&format!("create -f {file}")).ok();

    let run = cluster.kubectl.run_env(
        &[("KUBE_EDITOR", "sed -i 's/replicas: 1/replicas: 2/'")],
        "-n edit edit deployment web",
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_lines(&run, &["deployment.apps/web edited"]);
    assert_jsonpath(
        kubectl,
        deploy,
        "{.spec.replicas} {.metadata.generation}",
        "2 2",
    );
    let live = object(kubectl, deploy);
    assert!(
        managers(&live).contains(&"kubectl-edit/Update".to_owned()),
        "{:?}",
        managers(&live)
    );
    assert_owns(&live, "kubectl-edit", &["f:spec", "f:replicas"], true);
    assert_owns(&live, "kubectl-create", &["f:spec", "f:replicas"], false);
}

// ------------------------------------------------------ imperative writers

#[test]
fn replace_label_annotate_and_set_image_take_effect() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "imp");
    let deploy = "-n imp deployment web";
    let original = web("imp");
    let file = write(kubectl, "web.yaml", &original);
    kubectl.run(&format!("create -f {file}")).ok();

    // replace: the object becomes the file.
    let replaced = edit(&original, "replicas: 1", "replicas: 4");
    let replaced = edit(&replaced, "tier: frontend", "tier: edge");
    let replaced = edit(&replaced, "  annotations:\n    team: storefront\n", "");
    let file = write(kubectl, "web-replaced.yaml", &replaced);
    let run = kubectl.run(&format!("replace -f {file}")).ok();
    assert_lines(&run, &["deployment.apps/web replaced"]);
    assert_jsonpath(
        kubectl,
        deploy,
        "{.spec.replicas} {.metadata.labels.tier} {.metadata.generation}",
        "4 edge 2",
    );
    assert_jsonpath(kubectl, deploy, "{.metadata.annotations}", "");

    let run = kubectl
        .run(&format!("label {deploy} tier=backend --overwrite"))
        .ok();
    assert_lines(&run, &["deployment.apps/web labeled"]);
    assert_jsonpath(kubectl, deploy, "{.metadata.labels.tier}", "backend");

    kubectl
        .run(&format!("annotate {deploy} team=storefront"))
        .ok();
    let run = kubectl
        .run(&format!("annotate {deploy} team=payments --overwrite"))
        .ok();
    assert_lines(&run, &["deployment.apps/web annotated"]);
    assert_jsonpath(kubectl, deploy, "{.metadata.annotations.team}", "payments");

    let run = kubectl
        .run("-n imp set image deployment/web web=nginx:1.27")
        .ok();
    assert_lines(&run, &["deployment.apps/web image updated"]);
    assert_jsonpath(
        kubectl,
        deploy,
        "{.spec.template.spec.containers[*].image} {.metadata.generation}",
        "nginx:1.27 busybox:1.35 3",
    );

    let live = object(kubectl, deploy);
    assert_eq!(
        managers(&live),
        [
            "kubectl-annotate/Update",
            "kubectl-create/Update",
            "kubectl-label/Update",
            "kubectl-replace/Update",
            "kubectl-set/Update",
        ]
    );
    assert_owns(&live, "kubectl-replace", &["f:spec", "f:replicas"], true);
    assert_owns(
        &live,
        "kubectl-label",
        &["f:metadata", "f:labels", "f:tier"],
        true,
    );
    assert_owns(
        &live,
        "kubectl-annotate",
        &["f:metadata", "f:annotations", "f:team"],
        true,
    );
    assert_owns(
        &live,
        "kubectl-set",
        &[
            "f:spec",
            "f:template",
            "f:spec",
            "f:containers",
            r#"k:{"name":"web"}"#,
            "f:image",
        ],
        true,
    );
}

// ------------------------------------------- client-side to server-side

#[test]
fn server_side_apply_takes_over_from_client_side_apply() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "upgrade");
    let cm = "-n upgrade configmap app";
    let file = write(
        kubectl,
        "app.yaml",
        &configmap("upgrade", "app", &[("a", "1"), ("b", "2")]),
    );

    let run = kubectl.run(&format!("apply -f {file}")).ok();
    assert_lines(&run, &["configmap/app created"]);
    assert_eq!(
        managers(&object(kubectl, cm)),
        ["kubectl-client-side-apply/Update"]
    );

    // The same file server-side: no conflict (same values), and kubectl
    // migrates the client-side manager's fields to its Apply manager and
    // hands the last-applied annotation to a manager of its own.
    let run = kubectl.run(&format!("apply --server-side -f {file}")).ok();
    assert_lines(&run, &["configmap/app serverside-applied"]);
    assert_eq!(run.stderr, "", "no conflict, no failed migration");
    let live = object(kubectl, cm);
    assert_eq!(
        managers(&live),
        ["kubectl-last-applied/Apply", "kubectl/Apply"]
    );
    assert_owns(&live, "kubectl", &["f:data", "f:a"], true);
    assert_owns(&live, "kubectl", &["f:data", "f:b"], true);
    assert_owns(
        &live,
        "kubectl-last-applied",
        &["f:metadata", "f:annotations", &format!("f:{LAST_APPLIED}")],
        true,
    );

    // Now dropping a field from the file removes it, and the server keeps
    // the last-applied annotation in step with what `kubectl` applied.
    let file = write(
        kubectl,
        "app.yaml",
        &configmap("upgrade", "app", &[("a", "1")]),
    );
    let run = kubectl.run(&format!("apply --server-side -f {file}")).ok();
    assert_lines(&run, &["configmap/app serverside-applied"]);
    assert_jsonpath(kubectl, cm, "{.data}", r#"{"a":"1"}"#);
    let live = object(kubectl, cm);
    let last_applied: Value = serde_json::from_str(
        live["metadata"]["annotations"][LAST_APPLIED]
            .as_str()
            .unwrap_or_else(|| panic!("the annotation is kept: {live:#}")),
    )
    .unwrap();
    assert_eq!(last_applied["data"], json!({"a": "1"}), "{last_applied:#}");
}

// ------------------------------------------------------------- GitOps loop

/// Writes the given manifests into a fresh directory.
fn manifest_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).unwrap();
    }
    dir
}

/// `kind/name` → resourceVersion of every ConfigMap, Deployment, Service and
/// Secret (the ApplySet parent) in `namespace`.
fn versions(kubectl: &Kubectl, namespace: &str) -> Vec<(String, String)> {
    let list = json_of(
        &kubectl
            .run(&format!(
                "-n {namespace} get configmaps,deployments,services,secrets -o json"
            ))
            .ok(),
    );
    let mut versions: Vec<(String, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                format!(
                    "{}/{}",
                    item["kind"].as_str().unwrap(),
                    item["metadata"]["name"].as_str().unwrap()
                ),
                item["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    versions.sort();
    versions
}

#[test]
fn applyset_prune_converges_a_namespace_to_a_directory() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    create_namespace(kubectl, "gitops");
    let apply = |dir: &tempfile::TempDir| {
        cluster.kubectl.run_env(&[("KUBECTL_APPLYSET", "true")],
            &format!(
                "apply --server-side --field-manager=gitops --applyset=shop --prune -n gitops -f {}",
                dir.path().display()
            ),
        )
    };
    let sorted_lines = |run: &Run| {
        assert_eq!(run.code, Some(0), "{run:?}");
        let mut lines: Vec<String> = run.stdout.lines().map(String::from).collect();
        lines.sort();
        lines
    };

    // Revision 1.
    let first = manifest_dir(&GITOPS);
    let run = apply(&first);
    assert_eq!(
        sorted_lines(&run),
        [
            "configmap/features serverside-applied",
            "configmap/settings serverside-applied",
            "deployment.apps/web serverside-applied",
            "service/web serverside-applied",
        ]
    );
    // The parent Secret names the set and what it holds; members carry its id.
    let parent = object(kubectl, "-n gitops secret shop");
    let id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"]
        .as_str()
        .unwrap_or_else(|| panic!("the parent has an id label: {parent:#}"))
        .to_owned();
    assert!(id.starts_with("applyset-") && id.ends_with("-v1"), "{id}");
    let annotations = &parent["metadata"]["annotations"];
    assert_eq!(
        annotations["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap,Deployment.apps,Service"
    );
    assert!(
        annotations["applyset.kubernetes.io/tooling"]
            .as_str()
            .is_some_and(|tooling| tooling.starts_with("kubectl/v1.")),
        "{parent:#}"
    );
    let members = format!(
        "-n gitops get configmaps,deployments,services -l applyset.kubernetes.io/part-of={id} -o name"
    );
    let mut listed = kubectl.run(&members).ok().stdout;
    assert_eq!(
        listed,
        "configmap/features\nconfigmap/settings\ndeployment.apps/web\nservice/web\n"
    );
    assert_owns(
        &object(kubectl, "-n gitops configmap settings"),
        "gitops",
        &["f:data", "f:mode"],
        true,
    );

    // Revision 2: one object edited, one added, one removed.
    let settings = edit(GITOPS[1].1, "mode: blue", "mode: green");
    let mut files: Vec<(&str, &str)> = GITOPS
        .iter()
        .copied()
        .filter(|(name, _)| *name != "features.yaml")
        .collect();
    for (name, text) in &mut files {
        if *name == "settings.yaml" {
            *text = &settings;
        }
    }
    files.push(("limits.yaml", GITOPS_LIMITS));
    let second = manifest_dir(&files);
    let run = apply(&second);
    assert_eq!(
        sorted_lines(&run),
        [
            "configmap/features pruned",
            "configmap/limits serverside-applied",
            "configmap/settings serverside-applied",
            "deployment.apps/web serverside-applied",
            "service/web serverside-applied",
        ]
    );
    listed = kubectl.run(&members).ok().stdout;
    assert_eq!(
        listed,
        "configmap/limits\nconfigmap/settings\ndeployment.apps/web\nservice/web\n"
    );
    assert_not_found(
        kubectl,
        "-n gitops configmap features",
        r#"configmaps "features" not found"#,
    );
    assert_jsonpath(
        kubectl,
        "-n gitops configmap settings",
        "{.data.mode} {.data.workers}",
        "green 4",
    );
    assert_jsonpath(
        kubectl,
        "-n gitops configmap limits",
        "{.data.maxConnections}",
        "100",
    );

    // The same directory again changes nothing at all: every apply and the
    // parent's update are no-ops, so no resourceVersion moves. (Mars runs no
    // controllers yet; against kube-apiserver this holds once the
    // Deployment's status has settled.)
    let before = versions(kubectl, "gitops");
    let run = apply(&second);
    assert_eq!(
        sorted_lines(&run),
        [
            "configmap/limits serverside-applied",
            "configmap/settings serverside-applied",
            "deployment.apps/web serverside-applied",
            "service/web serverside-applied",
        ]
    );
    assert_eq!(versions(kubectl, "gitops"), before);
    assert_eq!(kubectl.run(&members).ok().stdout, listed);
}
