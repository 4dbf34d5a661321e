//! CustomResourceDefinitions against a real `mars server`, driven by real
//! clients: `kubectl` (every verb a platform team uses on a CRD and its
//! objects), the official Python `kubernetes` client (`CustomObjectsApi`,
//! `ApiextensionsV1Api`, watches) and kube-rs (a Prometheus-operator-sized
//! CRD, timed from create to first object read back).
//!
//! Every test starts its own server and asserts what kube-apiserver 1.33
//! answers and what kubectl prints for it; where the two differ, Mars is
//! wrong. The CRD is `tests/fixtures/crds/crontab-crd.yaml`: a CronTab with
//! two versions, status and scale subresources, printer columns (one only in
//! `-o wide`, two dates), a short name, a category, OpenAPI checks of every
//! kind and CEL rules.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kube::api::{GetParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use mars_e2e::kubectl::{Cluster, Kubectl, Run, default_kubectl, squash};
use mars_e2e::require_program;
use serde_json::{Map, Value, json};

/// The CronTab CRD (`crontabs.stable.example.com`).
const CRONTAB_CRD: &str = include_str!("fixtures/crds/crontab-crd.yaml");
/// Two CronTabs in namespace `${NAMESPACE}`.
const CRONTABS: &str = include_str!("fixtures/crds/crontabs.yaml");

const CRD: &str = "crontabs.stable.example.com";

/// How long a change to a CRD may take to be served.
const LIVE_UPDATE_LIMIT: Duration = Duration::from_secs(1);

// ------------------------------------------------------------------ helpers

/// A fresh server driven by the default `kubectl`.
fn cluster() -> Cluster {
    Cluster::start(&default_kubectl().unwrap()).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/crds")
        .join(name)
}

/// `kubectl apply -f -` of a manifest; must succeed.
fn apply(kubectl: &Kubectl, manifest: &str) -> Run {
    kubectl.run_stdin("apply -f -", manifest).ok()
}

/// `kubectl apply -f -` of a manifest that must be refused; returns the run.
fn apply_refused(kubectl: &Kubectl, manifest: &str) -> Run {
    kubectl.run_stdin("apply -f -", manifest).fails()
}

/// Applies a CRD manifest and waits (with `kubectl wait`) until it is
/// Established.
fn establish(kubectl: &Kubectl, manifest: &str, name: &str) {
    apply(kubectl, manifest);
    kubectl
        .run(&format!(
            "wait --for condition=established crd/{name} --timeout=10s"
        ))
        .ok();
}

/// Creates a namespace and the CronTabs of [`CRONTABS`] in it.
fn namespace_with_crontabs(kubectl: &Kubectl, namespace: &str) {
    kubectl.run(&format!("create namespace {namespace}")).ok();
    let run = apply(kubectl, &CRONTABS.replace("${NAMESPACE}", namespace));
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        [
            "crontab.stable.example.com/nightly-report created",
            "crontab.stable.example.com/hourly-sync created"
        ],
        "`{}`",
        run.command
    );
}

/// A CronTab manifest in `namespace` whose spec is `spec` (YAML lines
/// indented by four spaces).
fn crontab(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: {name}\n  \
         namespace: {namespace}\nspec:\n{spec}"
    )
}

/// A valid spec, to be extended with more lines.
const VALID_SPEC: &str =
    "    cronSpec: \"*/10 * * * *\"\n    image: registry.example.com/job:2.1\n";

/// stdout parsed as JSON.
#[track_caller]
fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| {
        panic!(
            "`{}`: stdout is not JSON ({error})\n{}",
            run.command, run.stdout
        )
    })
}

/// `kubectl get <what> -o jsonpath=<path>` printed exactly `expected`.
#[track_caller]
fn assert_jsonpath(kubectl: &Kubectl, what: &str, path: &str, expected: &str) {
    let run = kubectl
        .run(&format!("get {what} -o 'jsonpath={path}'"))
        .ok();
    assert_eq!(run.stdout, expected, "`{}`", run.command);
}

/// stdout, blanks squashed, one entry a line.
fn table(run: &Run) -> Vec<String> {
    squash(&run.stdout).lines().map(str::to_string).collect()
}

/// The squashed table line of the row named `name`.
#[track_caller]
fn row(run: &Run, name: &str) -> String {
    table(run)
        .into_iter()
        .find(|line| line.split(' ').next() == Some(name))
        .unwrap_or_else(|| panic!("`{}`: no row {name}\n{}", run.command, run.stdout))
}

/// Polls `probe` every 20 ms until it returns `Some`, for at most `limit`;
/// returns the value and how long it took.
fn poll<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<(T, Duration)> {
    let started = Instant::now();
    loop {
        if let Some(value) = probe() {
            return Some((value, started.elapsed()));
        }
        if started.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `time` as RFC 3339 in UTC (`2024-05-01T12:00:00Z`).
fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

// ------------------------------------------------------------ 1. lifecycle

#[test]
fn kubectl_drives_a_crd_and_its_objects_through_their_lifecycle() {
    let cluster = cluster();
    let k = &cluster.kubectl;
    let ns = "crd-lifecycle";

    // The CRD: created, then Established as `kubectl wait` sees it.
    let created = k
        .run(&format!(
            "apply -f {}",
            fixture("crontab-crd.yaml").display()
        ))
        .ok();
    assert_eq!(
        created.stdout.trim(),
        "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created"
    );
    k.run(&format!(
        "wait --for condition=established crd/{CRD} --timeout=10s"
    ))
    .ok()
    .stdout_has(&format!(
        "customresourcedefinition.apiextensions.k8s.io/{CRD} condition met"
    ));
    let crds = k.run("get crds").ok();
    assert_eq!(table(&crds)[0], "NAME CREATED AT");
    assert!(row(&crds, CRD).ends_with('Z'), "{}", crds.stdout);
    assert_jsonpath(
        k,
        &format!("crd {CRD}"),
        "{.status.acceptedNames.kind}/{.status.acceptedNames.shortNames}/{.status.storedVersions}",
        r#"CronTab/["ct"]/["v1"]"#,
    );

    namespace_with_crontabs(k, ns);

    // The printer columns: headers, values, the wide-only Image column.
    let get = k.run(&format!("-n {ns} get crontabs")).ok();
    let lines = table(&get);
    assert_eq!(
        lines[0], "NAME SPEC REPLICAS LAST-SCHEDULE AGE",
        "{}",
        get.stdout
    );
    // Sorted by name; Last-Schedule is empty while status has no time.
    assert!(
        lines[1].starts_with("hourly-sync 5 * * * * 2 "),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("nightly-report 0 2 * * * 1 "),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    let wide = k.run(&format!("-n {ns} get crontabs -o wide")).ok();
    assert_eq!(
        table(&wide)[0],
        "NAME SPEC REPLICAS IMAGE LAST-SCHEDULE AGE"
    );
    assert!(
        row(&wide, "nightly-report")
            .starts_with("nightly-report 0 2 * * * 1 registry.example.com/reports:1.4.2 "),
        "{}",
        wide.stdout
    );

    // The same objects by short name, singular, category and full name.
    for alias in [
        "ct",
        "crontab",
        "all-crontabs",
        "crontabs.stable.example.com",
        "crontabs.v1.stable.example.com",
    ] {
        let run = k.run(&format!("-n {ns} get {alias}")).ok();
        assert_eq!(
            run.names(),
            ["hourly-sync", "nightly-report"],
            "`{}`",
            run.command
        );
        assert_eq!(table(&run)[0], lines[0], "`{}`", run.command);
    }
    assert_eq!(
        k.run(&format!("-n {ns} get ct -l team=data -o name"))
            .ok()
            .stdout,
        "crontab.stable.example.com/hourly-sync\n"
    );

    // The deprecated version: its own columns and kubectl's warning.
    let beta = k
        .run(&format!("-n {ns} get crontabs.v1beta1.stable.example.com"))
        .ok();
    beta.stderr_has(
        "Warning: stable.example.com/v1beta1 CronTab is deprecated; use stable.example.com/v1 CronTab",
    );
    assert_eq!(table(&beta)[0], "NAME SPEC AGE");
    assert_eq!(beta.names(), ["hourly-sync", "nightly-report"]);
    let beta_object = json(
        &k.run(&format!(
            "-n {ns} get crontabs.v1beta1.stable.example.com nightly-report -o json"
        ))
        .ok(),
    );
    assert_eq!(beta_object["apiVersion"], "stable.example.com/v1beta1");

    // explain: descriptions and types from the schema.
    let explain = k.run("explain crontabs.spec").ok();
    for needle in [
        "GROUP: stable.example.com",
        "KIND: CronTab",
        "VERSION: v1",
        "FIELD: spec <Object>",
        "CronTabSpec is the desired state of a CronTab.",
        "cronSpec <string> -required-",
        "The schedule, in cron format.",
        "size <integer> -required-",
        "How many parallel runs to allow.",
        "suspend <boolean>",
        "ratio <number>",
        "tags <[]string>",
        "env <map[string]string>",
        "color <string>",
        "enum: red, green, blue",
    ] {
        explain.stdout_has(needle);
    }
    k.run("explain crontabs.spec.size")
        .ok()
        .stdout_has("FIELD: size <integer>")
        .stdout_has("How many parallel runs to allow.");
    k.run("explain crontabs.spec.tags")
        .ok()
        .stdout_has("FIELD: tags <[]string>");

    // Status through --subresource=status; the main resource ignores it.
    let scheduled = rfc3339(SystemTime::now() - Duration::from_secs(30 * 3600));
    k.run(&format!(
        "-n {ns} patch crontab nightly-report --subresource=status --type=merge \
         -p '{{\"status\":{{\"replicas\":1,\"selector\":\"team=reporting\",\
         \"lastScheduleTime\":\"{scheduled}\",\"phase\":\"Running\"}}}}'"
    ))
    .ok()
    .stdout_has("crontab.stable.example.com/nightly-report patched");
    let get = k.run(&format!("-n {ns} get crontabs")).ok();
    let nightly = row(&get, "nightly-report");
    assert!(
        nightly.starts_with("nightly-report 0 2 * * * 1 30h "),
        "Last-Schedule is the age of status.lastScheduleTime: {nightly:?}"
    );
    k.run(&format!(
        "-n {ns} patch crontab nightly-report --type=merge -p '{{\"status\":{{\"phase\":\"Hacked\"}}}}'"
    ))
    .ok();
    assert_jsonpath(
        k,
        &format!("-n {ns} crontab nightly-report"),
        "{.status.phase} {.metadata.generation}",
        "Running 1",
    );

    // scale: through the scale subresource, to spec.replicas.
    k.run(&format!(
        "-n {ns} scale crontabs/nightly-report --replicas=3"
    ))
    .ok()
    .stdout_has("crontab.stable.example.com/nightly-report scaled");
    assert_jsonpath(
        k,
        &format!("-n {ns} crontab nightly-report"),
        "{.spec.replicas} {.metadata.generation}",
        "3 2",
    );
    let scale = json(
        &k.run(&format!(
            "get --raw /apis/stable.example.com/v1/namespaces/{ns}/crontabs/nightly-report/scale"
        ))
        .ok(),
    );
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["spec"], json!({"replicas": 3}));
    assert_eq!(
        scale["status"],
        json!({"replicas": 1, "selector": "team=reporting"})
    );
    // --current-replicas is a precondition kubectl checks through the
    // scale subresource.
    k.run(&format!(
        "-n {ns} scale crontab/nightly-report --current-replicas=2 --replicas=5"
    ))
    .fails()
    .stderr_has("Expected replicas to be 2, was 3");

    // Merge and JSON patches.
    k.run(&format!(
        "-n {ns} patch crontab nightly-report --type=merge \
         -p '{{\"spec\":{{\"color\":\"blue\",\"suspend\":true}}}}'"
    ))
    .ok()
    .stdout_has("crontab.stable.example.com/nightly-report patched");
    k.run(&format!(
        "-n {ns} patch crontab nightly-report --type=json \
         -p '[{{\"op\":\"add\",\"path\":\"/spec/tags/-\",\"value\":\"urgent\"}}]'"
    ))
    .ok();
    assert_jsonpath(
        k,
        &format!("-n {ns} crontab nightly-report"),
        "{.spec.color} {.spec.suspend} {.spec.tags} {.metadata.generation}",
        r#"blue true ["reports","finance","urgent"] 4"#,
    );
    // Strategic merge patch is not for custom resources (kubectl's default
    // --type=strategic).
    k.run(&format!(
        "-n {ns} patch crontab nightly-report -p '{{\"spec\":{{\"size\":3}}}}'"
    ))
    .fails()
    .stderr_has("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");

    // Server-side apply: managedFields name the manager; a second manager
    // conflicts until it forces.
    let gitops = |spec: &str| crontab(ns, "weekly-cleanup", spec);
    let applied = k
        .run_stdin(
            "apply --server-side --field-manager=gitops -f -",
            &gitops(&format!(
                "{VALID_SPEC}    size: 1\n    tags: [maintenance]\n"
            )),
        )
        .ok();
    assert_eq!(
        applied.stdout.trim(),
        "crontab.stable.example.com/weekly-cleanup serverside-applied"
    );
    let object = json(
        &k.run(&format!(
            "-n {ns} get crontab weekly-cleanup -o json --show-managed-fields"
        ))
        .ok(),
    );
    let managed = object["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(managed.len(), 1, "{managed:?}");
    assert_eq!(managed[0]["manager"], "gitops");
    assert_eq!(managed[0]["operation"], "Apply");
    assert_eq!(managed[0]["apiVersion"], "stable.example.com/v1");
    assert_eq!(
        managed[0]["fieldsV1"],
        json!({"f:spec": {"f:cronSpec": {}, "f:image": {}, "f:size": {}, "f:tags": {}}})
    );
    // The sole owner applies again without `tags`: they are removed.
    k.run_stdin(
        "apply --server-side --field-manager=gitops -f -",
        &gitops(&format!("{VALID_SPEC}    size: 1\n")),
    )
    .ok();
    assert_jsonpath(
        k,
        &format!("-n {ns} crontab weekly-cleanup"),
        "{.spec}",
        r#"{"cronSpec":"*/10 * * * *","image":"registry.example.com/job:2.1","size":1}"#,
    );
    let other = gitops("    cronSpec: \"0 4 * * 0\"\n");
    k.run_stdin("apply --server-side --field-manager=other -f -", &other)
        .fails()
        .stderr_has(r#"Apply failed with 1 conflict: conflict with "gitops": .spec.cronSpec"#);
    k.run_stdin(
        "apply --server-side --field-manager=other --force-conflicts -f -",
        &other,
    )
    .ok();
    let object = json(
        &k.run(&format!(
            "-n {ns} get crontab weekly-cleanup -o json --show-managed-fields"
        ))
        .ok(),
    );
    assert_eq!(object["spec"]["cronSpec"], "0 4 * * 0");
    let owners: Vec<(&str, &Value)> = object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["manager"].as_str().unwrap(), &m["fieldsV1"]))
        .collect();
    assert_eq!(
        owners,
        [
            ("gitops", &json!({"f:spec": {"f:image": {}, "f:size": {}}})),
            ("other", &json!({"f:spec": {"f:cronSpec": {}}}))
        ]
    );

    // Deleting the CRD deletes its objects and stops serving them.
    k.run(&format!("delete crd {CRD}"))
        .ok()
        .stdout_has(&format!(
            "customresourcedefinition.apiextensions.k8s.io \"{CRD}\" deleted"
        ));
    k.run(&format!("get crd {CRD}"))
        .fails()
        .stderr_has(&format!(
            "Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io \"{CRD}\" not found"
        ));
    // A client with a fresh discovery cache, as after a restart.
    let fresh = k.with_kubeconfig(cluster.server.kubeconfig()).unwrap();
    fresh
        .run(&format!("-n {ns} get crontabs"))
        .fails()
        .stderr_has(r#"error: the server doesn't have a resource type "crontabs""#);
    // Re-created, the CRD starts empty: the objects are gone from storage.
    establish(k, CRONTAB_CRD, CRD);
    k.run(&format!("-n {ns} get crontabs"))
        .ok()
        .stderr_has(&format!("No resources found in {ns} namespace."));
}

/// kube-apiserver's custom resource strategy drops `status` on create when
/// the status subresource is on (apiextensions-apiserver
/// `customResourceStrategy.PrepareForCreate`): an object created without
/// status has none (`../shared/reference/.../objects/widget-w1.json`).
#[test]
fn a_custom_object_created_without_status_has_none() {
    let cluster = cluster();
    let k = &cluster.kubectl;
    establish(k, CRONTAB_CRD, CRD);
    namespace_with_crontabs(k, "crd-no-status");
    let object = json(
        &k.run("-n crd-no-status get crontab hourly-sync -o json")
            .ok(),
    );
    assert_eq!(
        object.get("status"),
        None,
        "created without status, it should have no status field: {object}"
    );
    // Nor does a status sent on create survive.
    let mut manifest = crontab("crd-no-status", "with-status", VALID_SPEC);
    manifest.push_str("    size: 1\nstatus:\n  phase: Forged\n");
    apply(k, &manifest);
    let object = json(
        &k.run("-n crd-no-status get crontab with-status -o json")
            .ok(),
    );
    assert_eq!(object.get("status"), None, "{object}");
}

// ---------------------------------------------------------- 2. live update

#[test]
fn crd_changes_are_served_within_a_second() {
    let cluster = cluster();
    let k = &cluster.kubectl;
    let ns = "crd-live";
    establish(k, CRONTAB_CRD, CRD);
    namespace_with_crontabs(k, ns);
    k.run(&format!("-n {ns} get crontabs.v2.stable.example.com"))
        .fails()
        .stderr_has(r#"the server doesn't have a resource type "crontabs""#);

    // A Color column in v1, and a new served version v2.
    let changed = CRONTAB_CRD.replace(
        "    - name: Image\n",
        "    - name: Color\n      type: string\n      jsonPath: .spec.color\n    - name: Image\n",
    ) + V2_VERSION;
    assert_ne!(changed, CRONTAB_CRD.to_string() + V2_VERSION);
    apply(k, &changed).stdout_has(&format!(
        "customresourcedefinition.apiextensions.k8s.io/{CRD} configured"
    ));
    let v2_path = format!("/apis/stable.example.com/v2/namespaces/{ns}/crontabs/nightly-report");
    let (object, took) = poll(Duration::from_secs(5), || {
        let run = k.run(&format!("get --raw {v2_path}"));
        run.success().then(|| json(&run))
    })
    .unwrap_or_else(|| panic!("{v2_path} was not served within 5 s"));
    println!("the new version was served after {took:?}");
    assert_eq!(object["apiVersion"], "stable.example.com/v2");
    assert_eq!(object["spec"]["cronSpec"], "0 2 * * *");
    assert!(took < LIVE_UPDATE_LIMIT, "v2 took {took:?} to be served");
    let (get, took) = poll(Duration::from_secs(5), || {
        let run = k.run(&format!("-n {ns} get crontabs")).ok();
        table(&run)[0].contains("COLOR").then_some(run)
    })
    .expect("the Color column never appeared within 5 s");
    println!("the new column was served after {took:?}");
    assert!(took < LIVE_UPDATE_LIMIT, "the column took {took:?}");
    assert_eq!(table(&get)[0], "NAME SPEC REPLICAS COLOR LAST-SCHEDULE AGE");
    assert!(
        row(&get, "nightly-report").starts_with("nightly-report 0 2 * * * 1 green "),
        "{}",
        get.stdout
    );
    // kubectl finds the new version through discovery.
    let v2 = k
        .run(&format!("-n {ns} get crontabs.v2.stable.example.com"))
        .ok();
    assert_eq!(table(&v2)[0], "NAME SCHEDULE AGE");
    assert_eq!(v2.names(), ["hourly-sync", "nightly-report"]);
    assert!(
        k.run("api-versions")
            .ok()
            .stdout
            .lines()
            .any(|l| l == "stable.example.com/v2")
    );
    // The preferred version is kube's highest version priority (v2 > v1),
    // not the storage version.
    let group = json(&k.run("get --raw /apis/stable.example.com").ok());
    assert_eq!(group["preferredVersion"]["version"], "v2");
    let versions: Vec<&str> = group["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["v2", "v1", "v1beta1"]);

    // No longer serving v1beta1: gone as quickly.
    let retired = changed.replace(
        "    served: true\n    storage: false\n    deprecated: true\n",
        "    served: false\n    storage: false\n    deprecated: true\n",
    );
    assert_ne!(retired, changed);
    apply(k, &retired);
    let beta_path =
        format!("/apis/stable.example.com/v1beta1/namespaces/{ns}/crontabs/nightly-report");
    let ((), took) = poll(Duration::from_secs(5), || {
        let run = k.run(&format!("get --raw {beta_path}"));
        (!run.success()).then_some(())
    })
    .unwrap_or_else(|| panic!("{beta_path} was still served after 5 s"));
    println!("v1beta1 stopped being served after {took:?}");
    assert!(took < LIVE_UPDATE_LIMIT, "v1beta1 took {took:?} to go");
    k.run(&format!("get --raw {beta_path}"))
        .fails()
        .stderr_has("Error from server (NotFound)");
}

/// A third version, appended to `spec.versions` of [`CRONTAB_CRD`].
const V2_VERSION: &str = r#"  - name: v2
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec:
                type: string
              image:
                type: string
              size:
                type: integer
              replicas:
                type: integer
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
    additionalPrinterColumns:
    - name: Schedule
      type: string
      jsonPath: .spec.cronSpec
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
"#;

// ----------------------------------------------------------- 3. validation

#[test]
fn schema_violations_are_refused_with_kube_apiservers_messages() {
    let cluster = cluster();
    let k = &cluster.kubectl;
    let ns = "crd-invalid";
    establish(k, CRONTAB_CRD, CRD);
    k.run(&format!("create namespace {ns}")).ok();
    let cases = [
        (
            "bad-type",
            "    size: 1\n    replicas: three\n",
            r#"The CronTab "bad-type" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#,
        ),
        (
            "too-small",
            "    size: 0\n",
            r#"The CronTab "too-small" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"#,
        ),
        (
            "too-big",
            "    size: 500\n",
            r#"The CronTab "too-big" is invalid: spec.size: Invalid value: 500: spec.size in body should be less than or equal to 100"#,
        ),
        (
            "purple",
            "    size: 1\n    color: purple\n",
            r#"The CronTab "purple" is invalid: spec.color: Unsupported value: "purple": supported values: "red", "green", "blue""#,
        ),
        (
            "no-size",
            "    color: red\n",
            r#"The CronTab "no-size" is invalid: spec.size: Required value"#,
        ),
        (
            "bad-item",
            "    size: 1\n    tags: [nightly, 42]\n",
            r#"The CronTab "bad-item" is invalid: spec.tags[1]: Invalid value: "integer": spec.tags[1] in body must be of type string: "integer""#,
        ),
        (
            "bad-env",
            "    size: 1\n    env:\n      RETRIES: 3\n",
            r#"The CronTab "bad-env" is invalid: spec.env.RETRIES: Invalid value: "integer": spec.env.RETRIES in body must be of type string: "integer""#,
        ),
    ];
    for (name, extra, message) in cases {
        let manifest = crontab(ns, name, &format!("{VALID_SPEC}{extra}"));
        apply_refused(k, &manifest).stderr_has(message);
    }
    // The pattern, on a spec without the valid cronSpec.
    let manifest = crontab(
        ns,
        "bad-cron",
        "    cronSpec: every night\n    image: registry.example.com/job:2.1\n    size: 1\n",
    );
    apply_refused(k, &manifest).stderr_has(
        r#"The CronTab "bad-cron" is invalid: spec.cronSpec: Invalid value: "every night": spec.cronSpec in body should match '^(\S+\s+){4}\S+$'"#,
    );
    // Several errors: kubectl lists each cause on its own line.
    let manifest = crontab(
        ns,
        "many",
        &format!("{VALID_SPEC}    size: 0\n    color: pink\n"),
    );
    let run = apply_refused(k, &manifest);
    run.stderr_has(r#"The CronTab "many" is invalid:"#);
    run.stderr_has(
        r#"* spec.color: Unsupported value: "pink": supported values: "red", "green", "blue""#,
    );
    run.stderr_has(
        "* spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
    );
    // None of them was stored; a valid object still is.
    let run = k.run(&format!("-n {ns} get crontabs"));
    run.stderr_has(&format!("No resources found in {ns} namespace."));
    apply(
        k,
        &crontab(ns, "good", &format!("{VALID_SPEC}    size: 1\n")),
    );

    // The status subresource validates status against the schema too.
    k.run(&format!(
        "-n {ns} patch crontab good --subresource=status --type=merge \
         -p '{{\"status\":{{\"replicas\":\"two\"}}}}'"
    ))
    .fails()
    .stderr_has(r#"The CronTab "good" is invalid: status.replicas: Invalid value: "string": status.replicas in body must be of type integer: "string""#);
    // So does a patch of the main resource.
    k.run(&format!(
        "-n {ns} patch crontab good --type=merge -p '{{\"spec\":{{\"size\":-1}}}}'"
    ))
    .fails()
    .stderr_has(r#"The CronTab "good" is invalid: spec.size: Invalid value: -1: spec.size in body should be greater than or equal to 1"#);
}

#[test]
fn unknown_fields_are_pruned_and_refused_when_strict() {
    let cluster = cluster();
    let k = &cluster.kubectl;
    let ns = "crd-unknown";
    establish(k, CRONTAB_CRD, CRD);
    k.run(&format!("create namespace {ns}")).ok();
    let with_bogus = |name: &str| {
        crontab(
            ns,
            name,
            &format!("{VALID_SPEC}    size: 1\n    bogus: surprise\n"),
        )
    };

    // Strict (kubectl's default): refused with the field's full path.
    for flags in ["", "--validate=strict"] {
        k.run_stdin(&format!("apply {flags} -f -"), &with_bogus("strict"))
            .fails()
            .stderr_has(
                r#"Error from server (BadRequest): error when creating "STDIN": CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: unknown field "spec.bogus""#,
            );
    }
    k.run(&format!("-n {ns} get crontab strict"))
        .fails()
        .stderr_has(r#"crontabs.stable.example.com "strict" not found"#);

    // Warn: stored without the field, and kubectl shows the warning.
    let run = k
        .run_stdin("apply --validate=warn -f -", &with_bogus("warned"))
        .ok();
    run.stdout_has("crontab.stable.example.com/warned created");
    run.stderr_has(r#"Warning: unknown field "spec.bogus""#);
    assert_jsonpath(
        k,
        &format!("-n {ns} crontab warned"),
        "{.spec}",
        r#"{"cronSpec":"*/10 * * * *","image":"registry.example.com/job:2.1","size":1}"#,
    );

    // Ignore: pruned silently.
    let run = k
        .run_stdin("apply --validate=false -f -", &with_bogus("ignored"))
        .ok();
    assert_eq!(run.stderr, "", "`{}`", run.command);
    let object = json(&k.run(&format!("-n {ns} get crontab ignored -o json")).ok());
    assert_eq!(object["spec"].get("bogus"), None, "{object}");
    assert_eq!(object["spec"]["size"], 1);

    // Unknown fields under status are pruned too.
    k.run(&format!(
        "-n {ns} patch crontab ignored --subresource=status --type=merge \
         -p '{{\"status\":{{\"phase\":\"Idle\",\"mood\":\"sleepy\"}}}}'"
    ))
    .ok();
    assert_jsonpath(
        k,
        &format!("-n {ns} crontab ignored"),
        "{.status}",
        r#"{"phase":"Idle"}"#,
    );
}

#[test]
fn cel_rules_refuse_violations_with_their_messages() {
    let cluster = cluster();
    let k = &cluster.kubectl;
    let ns = "crd-cel";
    establish(k, CRONTAB_CRD, CRD);
    k.run(&format!("create namespace {ns}")).ok();

    let manifest = crontab(
        ns,
        "bad-range",
        &format!("{VALID_SPEC}    size: 1\n    minReplicas: 5\n    maxReplicas: 2\n"),
    );
    apply_refused(k, &manifest).stderr_has(
        r#"The CronTab "bad-range" is invalid: spec: Invalid value: "object": minReplicas must not exceed maxReplicas"#,
    );
    let manifest = crontab(
        ns,
        "good-range",
        &format!("{VALID_SPEC}    size: 1\n    minReplicas: 2\n    maxReplicas: 5\n"),
    );
    apply(k, &manifest);

    // A transition rule: `region` may be set on create, never changed.
    let pinned = |region: &str, size: u32| {
        crontab(
            ns,
            "pinned",
            &format!("{VALID_SPEC}    size: {size}\n    region: {region}\n"),
        )
    };
    apply(k, &pinned("eu-west", 1));
    apply_refused(k, &pinned("us-east", 1)).stderr_has(
        r#"The CronTab "pinned" is invalid: spec.region: Invalid value: "string": value is immutable"#,
    );
    k.run(&format!(
        "-n {ns} patch crontab pinned --type=merge -p '{{\"spec\":{{\"region\":\"ap-south\"}}}}'"
    ))
    .fails()
    .stderr_has(r#"The CronTab "pinned" is invalid: spec.region: Invalid value: "string": value is immutable"#);
    // Other changes still go through.
    apply(k, &pinned("eu-west", 2)).stdout_has("crontab.stable.example.com/pinned configured");
    assert_jsonpath(
        k,
        &format!("-n {ns} crontab pinned"),
        "{.spec.region} {.spec.size}",
        "eu-west 2",
    );

    // A rule that does not compile makes the CRD invalid.
    let broken = CRONTAB_CRD
        .replace(
            "crontabs.stable.example.com",
            "brokentabs.stable.example.com",
        )
        .replace("plural: crontabs", "plural: brokentabs")
        .replace("singular: crontab", "singular: brokentab")
        .replace("kind: CronTab\n", "kind: BrokenTab\n")
        .replace("listKind: CronTabList", "listKind: BrokenTabList")
        .replace("shortNames: [ct]", "shortNames: [bt]")
        .replace(
            "self.minReplicas <= self.maxReplicas\"",
            "self.minReplicas <= \"",
        );
    let run = k.run_stdin("create -f -", &broken).fails();
    run.stderr_has(
        r#"The CustomResourceDefinition "brokentabs.stable.example.com" is invalid: spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value:"#,
    );
    run.stderr_has("compilation failed");
}

#[test]
fn a_non_structural_crd_is_refused_with_422() {
    let cluster = cluster();
    let k = &cluster.kubectl;
    let crd = "gadgets.nonstructural.example.com";
    let manifest = format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {crd}
spec:
  group: nonstructural.example.com
  scope: Namespaced
  names:
    plural: gadgets
    singular: gadget
    kind: Gadget
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              name:
                type: string
              settings:
                description: Free-form settings, but with no type.
"
    );
    let run = k.run_stdin("create -f - -v=6", &manifest).fails();
    run.stderr_has("422 Unprocessable Entity");
    run.stderr_has(&format!(
        r#"The CustomResourceDefinition "{crd}" is invalid: spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[settings].type: Required value: must not be empty for specified object fields"#
    ));
    k.run(&format!("get crd {crd}"))
        .fails()
        .stderr_has(&format!(
            r#"customresourcedefinitions.apiextensions.k8s.io "{crd}" not found"#
        ));
}

// ------------------------------------------------------- 4. Python client

/// What pip installs: the client generated for Kubernetes 1.33 (the same
/// requirement and virtualenv as `python_client.rs`).
const PYTHON_CLIENT: &str = "kubernetes>=33,<34";

/// The virtualenv's python with the `kubernetes` client: the one
/// `python_client.rs` makes under `<target>/python-venv`, made here the same
/// way (under the same lock) if this test runs first.
fn python_with_client() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    std::fs::create_dir_all(&target).unwrap();
    let lock = std::fs::File::create(target.join("python-venv.lock")).unwrap();
    lock.lock().unwrap();
    let venv = target.join("python-venv");
    let python = venv.join("bin").join("python");
    let imports = || {
        Command::new(&python)
            .args(["-c", "import kubernetes, yaml"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if venv.join("mars-client-ready").exists() && imports() {
        return python;
    }
    let python3 = require_program("python3", "python3 python3-venv").unwrap();
    let run = |command: &mut Command, what: &str| {
        let output = command.stdin(Stdio::null()).output().unwrap();
        assert!(
            output.status.success(),
            "{what} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    run(
        Command::new(python3)
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
        "python3 -m venv",
    );
    run(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            PYTHON_CLIENT,
        ]),
        "pip install",
    );
    let version = run(
        Command::new(&python).args(["-c", "import kubernetes; print(kubernetes.__version__)"]),
        "import kubernetes",
    );
    std::fs::write(venv.join("mars-client-ready"), version).unwrap();
    python
}

#[test]
fn python_client_serves_crds_and_custom_objects() {
    let cluster = cluster();
    let python = python_with_client();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/crd_suite.py");
    let mut child = Command::new(&python)
        .arg("-u")
        .arg(&script)
        .env("KUBECONFIG", cluster.server.kubeconfig())
        .env("CRD_FIXTURE", fixture("crontab-crd.yaml"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("crd_suite.py did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        status.success(),
        "crd_suite.py failed ({status}):\n{stdout}\n--- stderr ---\n{}\n--- server log ---\n{}",
        String::from_utf8_lossy(&output.stderr),
        cluster.server.log_tail()
    );
    assert!(stdout.contains("PASS crd suite"), "{stdout}");
}

// ------------------------------------------------------------- 5. big CRD

/// A kube-rs client from the server's admin kubeconfig.
async fn kube_client(kubeconfig: &Path) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = Kubeconfig::read_from(kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

/// controller-gen's pattern for a `resource.Quantity`.
const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

/// Turns the built-in OpenAPI v3 schemas into a structural CRD schema, the
/// way controller-gen writes the operator CRDs that embed core/v1 types:
/// every `$ref` (bare or as a one-element `allOf`) inlined, int-or-string
/// types and Quantities as `x-kubernetes-int-or-string` with controller-gen's
/// `anyOf`, extensions a CRD schema cannot hold (`x-kubernetes-patch-*`)
/// dropped, and map-list keys given a default when they are optional (as
/// `+kubebuilder:default` does for `LocalObjectReference.name`).
/// Descriptions keep their first sentence: with them whole, the schema
/// would outgrow what a store takes for one object (~1.5 MiB).
struct Inliner<'a> {
    definitions: &'a Map<String, Value>,
}

impl Inliner<'_> {
    fn schema(&self, schema: &Value) -> Value {
        let object = schema.as_object().unwrap();
        let mut out = if let Some(reference) = object.get("$ref") {
            self.named(reference.as_str().unwrap())
        } else if let Some([only]) = object
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            self.schema(only)
        } else {
            self.plain(object)
        };
        if let Some(description) = object.get("description").and_then(Value::as_str) {
            out["description"] = json!(first_sentence(description));
        }
        out
    }

    fn named(&self, reference: &str) -> Value {
        let name = reference.rsplit('/').next().unwrap();
        match name {
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => int_or_string(None),
            "io.k8s.apimachinery.pkg.api.resource.Quantity" => {
                int_or_string(Some(QUANTITY_PATTERN))
            }
            _ => self.schema(
                self.definitions
                    .get(name)
                    .unwrap_or_else(|| panic!("no schema {name} in /openapi/v3/api/v1")),
            ),
        }
    }

    fn plain(&self, object: &Map<String, Value>) -> Value {
        if object.get("format").and_then(Value::as_str) == Some("int-or-string") {
            return int_or_string(None);
        }
        let mut out = Map::new();
        for (key, value) in object {
            let kept = match key.as_str() {
                "properties" => json!(
                    value
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(name, property)| (name.clone(), self.schema(property)))
                        .collect::<Map<_, _>>()
                ),
                "items" | "additionalProperties" if value.is_object() => self.schema(value),
                "type"
                | "format"
                | "required"
                | "enum"
                | "minimum"
                | "maximum"
                | "pattern"
                | "nullable"
                | "x-kubernetes-list-type"
                | "x-kubernetes-list-map-keys"
                | "x-kubernetes-map-type" => value.clone(),
                // Scalar defaults (a port's protocol); `{}` adds nothing.
                "default" if !value.is_object() && !value.is_array() => value.clone(),
                _ => continue,
            };
            out.insert(key.clone(), kept);
        }
        if !out.contains_key("type") {
            out.insert("type".into(), json!("object"));
            if !out.contains_key("properties") {
                out.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
            }
        }
        let mut out = Value::Object(out);
        if out["x-kubernetes-list-type"] == "map" {
            let keys = out["x-kubernetes-list-map-keys"].clone();
            let items = &mut out["items"];
            let required = items["required"].clone();
            for key in keys.as_array().unwrap() {
                let property = &mut items["properties"][key.as_str().unwrap()];
                let is_required = required.as_array().is_some_and(|r| r.contains(key));
                if !is_required && property.get("default").is_none() {
                    property["default"] = json!("");
                }
            }
        }
        out
    }
}

fn int_or_string(pattern: Option<&str>) -> Value {
    let mut schema = json!({
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": true,
    });
    if let Some(pattern) = pattern {
        schema["pattern"] = json!(pattern);
    }
    schema
}

fn first_sentence(text: &str) -> &str {
    text.find(". ").map_or(text, |end| &text[..=end])
}

/// Schema nodes: the schema and every schema under it.
fn schema_nodes(schema: &Value) -> usize {
    let mut count = 1;
    if let Some(properties) = schema["properties"].as_object() {
        count += properties.values().map(schema_nodes).sum::<usize>();
    }
    for key in ["items", "additionalProperties"] {
        if schema[key].is_object() {
            count += schema_nodes(&schema[key]);
        }
    }
    if let Some(any_of) = schema["anyOf"].as_array() {
        count += any_of.iter().map(schema_nodes).sum::<usize>();
    }
    count
}

/// A CRD shaped like prometheus-operator's `prometheuses`: the PodSpec
/// fields (containers, initContainers, volumes, affinity, tolerations,
/// security context…) directly in `spec`, operator fields beside them, and
/// one embedded pod spec per managed component.
fn prometheus_sized_crd(core_v1: &Value) -> Value {
    let inliner = Inliner {
        definitions: core_v1["components"]["schemas"].as_object().unwrap(),
    };
    let pod = inliner.schema(&json!({"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}));
    let mut spec = pod["properties"].as_object().unwrap().clone();
    spec.insert(
        "replicas".into(),
        json!({"type": "integer", "format": "int32", "minimum": 0,
               "description": "Number of replicas of each shard to deploy."}),
    );
    spec.insert(
        "shards".into(),
        json!({"type": "integer", "format": "int32", "minimum": 1,
               "description": "Number of shards to distribute the scraped targets onto."}),
    );
    spec.insert(
        "version".into(),
        json!({"type": "string", "description": "Version of Prometheus being deployed."}),
    );
    spec.insert(
        "retention".into(),
        json!({"type": "string", "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
               "description": "How long to retain the Prometheus data."}),
    );
    for component in [
        "thanos",
        "alertmanager",
        "configReloader",
        "remoteWriteProxy",
        "queryFrontend",
        "ruler",
        "pushgateway",
    ] {
        spec.insert(
            component.into(),
            json!({
                "type": "object",
                "description": format!("The {component} component deployed beside Prometheus."),
                "properties": {
                    "image": {"type": "string", "description": "Container image to run."},
                    "replicas": {"type": "integer", "format": "int32", "minimum": 0},
                    "podSpec": pod,
                },
            }),
        );
    }
    let schema = json!({
        "type": "object",
        "description": "Prometheus defines a Prometheus deployment.",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "description": "Specification of the desired behavior of the Prometheus cluster.",
                "required": ["containers"],
                "properties": spec,
                "x-kubernetes-validations": [{
                    "rule": "!has(self.replicas) || !has(self.shards) || self.replicas * self.shards <= 100",
                    "message": "replicas times shards must not exceed 100",
                }],
            },
            "status": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer", "format": "int32"},
                    "shards": {"type": "integer", "format": "int32"},
                    "availableReplicas": {"type": "integer", "format": "int32"},
                    "selector": {"type": "string"},
                    "conditions": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["type"],
                        "items": {
                            "type": "object",
                            "required": ["type", "status"],
                            "properties": {
                                "type": {"type": "string"},
                                "status": {"type": "string"},
                                "reason": {"type": "string"},
                                "message": {"type": "string"},
                                "lastTransitionTime": {"type": "string", "format": "date-time"},
                            },
                        },
                    },
                },
            },
        },
    });
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "prometheuses.monitoring.example.com"},
        "spec": {
            "group": "monitoring.example.com",
            "scope": "Namespaced",
            "names": {
                "plural": "prometheuses",
                "singular": "prometheus",
                "kind": "Prometheus",
                "listKind": "PrometheusList",
                "shortNames": ["prom"],
                "categories": ["prometheus-operator"],
            },
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": schema},
                "subresources": {
                    "status": {},
                    "scale": {
                        "specReplicasPath": ".spec.shards",
                        "statusReplicasPath": ".status.shards",
                        "labelSelectorPath": ".status.selector",
                    },
                },
                "additionalPrinterColumns": [
                    {"name": "Version", "type": "string", "jsonPath": ".spec.version",
                     "description": "The version of Prometheus"},
                    {"name": "Desired", "type": "integer", "jsonPath": ".spec.replicas",
                     "description": "The number of desired replicas"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
            }],
        },
    })
}

fn is_established(crd: &Value) -> bool {
    crd["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    })
}

const PROMETHEUS_CRD: &str = "prometheuses.monitoring.example.com";

/// What [`big_crd`] measured, from the CRD's POST being sent.
struct Timings {
    /// The CRD's create answered.
    created: Duration,
    /// The CRD was read back Established.
    established: Duration,
    /// The first object was created and read back.
    first_object: Duration,
}

/// A server with the Prometheus-sized CRD created through the API (kube-rs,
/// bodies serialized before the clock starts and replies only parsed where
/// needed) and a first Prometheus created and read back, timed.
///
/// The two tests that use it take turns (a lock file beside the test
/// binaries, so separate processes under nextest do too): on a small
/// machine, two megabyte CRDs compiled at once would time each other.
async fn big_crd() -> (Cluster, Timings, std::fs::File) {
    let exe = std::env::current_exe().unwrap();
    let lock = std::fs::File::create(exe.with_file_name("crds-big-crd.lock")).unwrap();
    lock.lock().unwrap();
    let cluster = cluster();
    let client = kube_client(&cluster.server.kubeconfig()).await;
    let core_v1: Value = client
        .request(
            kube::core::Request::new("/openapi/v3/api")
                .get("v1", &GetParams::default())
                .unwrap(),
        )
        .await
        .unwrap();
    let crd = prometheus_sized_crd(&core_v1);
    let body = serde_json::to_vec(&crd).unwrap();
    let nodes = schema_nodes(&crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]);
    println!(
        "the CRD is {} bytes of JSON with {nodes} schema nodes",
        body.len()
    );
    assert!(body.len() >= 1024 * 1024, "only {} bytes", body.len());
    assert!(nodes >= 10_000, "only {nodes} schema nodes");
    let object = serde_json::to_vec(&json!({
        "apiVersion": "monitoring.example.com/v1",
        "kind": "Prometheus",
        "metadata": {"name": "k8s", "labels": {"prometheus": "k8s"}},
        "spec": {
            "version": "v2.53.0",
            "replicas": 2,
            "shards": 1,
            "retention": "15d",
            "containers": [{"name": "prometheus", "image": "quay.io/prometheus/prometheus:v2.53.0",
                            "ports": [{"name": "web", "containerPort": 9090}],
                            "resources": {"requests": {"memory": "400Mi", "cpu": "250m"}}}],
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "monitoring",
                             "effect": "NoSchedule"}],
            "thanos": {"image": "quay.io/thanos/thanos:v0.35.1", "replicas": 1,
                       "podSpec": {"containers": [{"name": "sidecar",
                                                   "image": "quay.io/thanos/thanos:v0.35.1"}]}},
        },
    }))
    .unwrap();
    let crds = kube::core::Request::new("/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    let prometheuses =
        kube::core::Request::new("/apis/monitoring.example.com/v1/namespaces/default/prometheuses");

    let started = Instant::now();
    client
        .request_text(crds.create(&PostParams::default(), body).unwrap())
        .await
        .unwrap();
    let created = started.elapsed();
    loop {
        let current: Value = client
            .request(crds.get(PROMETHEUS_CRD, &GetParams::default()).unwrap())
            .await
            .unwrap();
        if is_established(&current) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "not Established within 15 s: {}",
            current["status"]
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let established = started.elapsed();
    client
        .request_text(prometheuses.create(&PostParams::default(), object).unwrap())
        .await
        .unwrap();
    let read: Value = client
        .request(prometheuses.get("k8s", &GetParams::default()).unwrap())
        .await
        .unwrap();
    let first_object = started.elapsed();
    println!(
        "the CRD's create answered after {created:?}, it was Established after {established:?}, \
         the first object created and read back after {first_object:?}"
    );
    assert_eq!(
        read["spec"]["containers"][0]["ports"][0]["containerPort"],
        9090
    );
    assert_eq!(
        read["spec"]["thanos"]["podSpec"]["containers"][0]["name"],
        "sidecar"
    );
    let timings = Timings {
        created,
        established,
        first_object,
    };
    (cluster, timings, lock)
}

/// A Prometheus whose `spec.thanos.podSpec.containers[0]` is `container`
/// (YAML flow style).
fn prometheus_with_sidecar(name: &str, container: &str) -> String {
    format!(
        "apiVersion: monitoring.example.com/v1\nkind: Prometheus\nmetadata:\n  name: {name}\n  \
         namespace: default\nspec:\n  containers: [{{name: prometheus, image: prom}}]\n  \
         thanos:\n    podSpec:\n      containers:\n      - {container}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prometheus_sized_crd_is_served_promptly() {
    let (cluster, timings, _turn) = big_crd().await;
    let k = &cluster.kubectl;

    // kubectl sees it too: its columns, its short name.
    let get = k.run("-n default get prom").ok();
    assert_eq!(table(&get)[0], "NAME VERSION DESIRED AGE");
    assert!(
        row(&get, "k8s").starts_with("k8s v2.53.0 2 "),
        "{}",
        get.stdout
    );
    k.run("explain prometheuses.spec.thanos.podSpec.containers.ports.containerPort")
        .ok()
        .stdout_has("FIELD: containerPort <integer>");
    // A typo deep in an embedded pod spec is refused (kubectl's default
    // strict field validation), with its full path.
    k.run_stdin(
        "create -f -",
        &prometheus_with_sidecar(
            "typo",
            "{name: sidecar, image: thanos, imagePullPolice: Always}",
        ),
    )
    .fails()
    .stderr_has(
        r#"Error from server (BadRequest): error when creating "STDIN": Prometheus in version "v1" cannot be handled as a Prometheus: strict decoding error: unknown field "spec.thanos.podSpec.containers[0].imagePullPolice""#,
    );

    // The product target (usable within a second) is measured in release
    // by `mars bench api --phases crd`; here, in a debug build beside other
    // tests on two cores, this only catches a pathology.
    assert!(
        timings.first_object < Duration::from_secs(5),
        "create → Established → first object read back took {:?} (create {:?}, Established {:?})",
        timings.first_object,
        timings.created,
        timings.established
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prometheus_sized_crd_validates_deep_fields() {
    let (cluster, _, _turn) = big_crd().await;
    let k = &cluster.kubectl;
    // A value of the wrong type deep in an embedded pod spec.
    k.run_stdin(
        "create -f -",
        &prometheus_with_sidecar(
            "typo-type",
            "{name: sidecar, image: thanos, ports: [{containerPort: http}]}",
        ),
    )
    .fails()
    .stderr_has(
        r#"The Prometheus "typo-type" is invalid: spec.thanos.podSpec.containers[0].ports[0].containerPort: Invalid value: "string": spec.thanos.podSpec.containers[0].ports[0].containerPort in body must be of type integer: "string""#,
    );
    // A required field missing deep down.
    k.run_stdin(
        "create -f -",
        &prometheus_with_sidecar("nameless", "{image: thanos}"),
    )
    .fails()
    .stderr_has(
        r#"The Prometheus "nameless" is invalid: spec.thanos.podSpec.containers[0].name: Required value"#,
    );
    // The CEL rule over the huge spec is enforced.
    let crowded = "apiVersion: monitoring.example.com/v1\nkind: Prometheus\nmetadata:\n  \
                   name: crowded\n  namespace: default\nspec:\n  containers: [{name: p, image: p}]\n  \
                   replicas: 20\n  shards: 10\n";
    k.run_stdin("create -f -", crowded).fails().stderr_has(
        r#"The Prometheus "crowded" is invalid: spec: Invalid value: "object": replicas times shards must not exceed 100"#,
    );
    // A valid one still goes through.
    k.run_stdin(
        "create -f -",
        &prometheus_with_sidecar(
            "valid",
            "{name: sidecar, image: thanos, ports: [{containerPort: 10902}]}",
        ),
    )
    .ok();
}
