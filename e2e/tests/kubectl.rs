//! The real `kubectl` against `mars server`: every test starts its own
//! server, drives it with the admin kubeconfig the server wrote (or the
//! read-only one, or a hand-made one), and checks what kubectl PRINTS — the
//! tables, the YAML, the error lines — as it prints them against
//! kube-apiserver 1.33. Where the two differ, Mars is wrong.
//!
//! The default `kubectl` on PATH runs everything. On machines where it is a
//! version dispatcher, the oldest and newest pinned clients beside it
//! (`kubectl.1.27`, `kubectl.1.33`) also run a smoke subset; a machine
//! without them says so in the test output.
//!
//! Setup goes through `kubectl apply -f` (JSON on the wire); the typed
//! `kubectl create <kind>` commands and `auth whoami`, which send protobuf,
//! are tested on their own so that a codec gap shows up as one failing test.

#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use mars_e2e::kubectl::{Cluster, Kubectl, Run, default_kubectl, pinned_kubectl};

/// One object of each kind, in namespace `${NAMESPACE}`.
const APP: &str = include_str!("fixtures/kubectl/app.yaml");

/// How `kubectl apply|create -f app.yaml` names the objects of [`APP`], in
/// file order (the namespace comes first).
fn app_objects(namespace: &str) -> Vec<String> {
    let mut objects = vec![format!("namespace/{namespace}")];
    objects.extend(
        [
            "configmap/web-config",
            "configmap/db-config",
            "configmap/cache-config",
            "secret/web-secret",
            "serviceaccount/web",
            "deployment.apps/web",
            "service/web",
            "role.rbac.authorization.k8s.io/config-reader",
            "rolebinding.rbac.authorization.k8s.io/web-reads-config",
            "job.batch/migrate",
            "cronjob.batch/nightly",
            "ingress.networking.k8s.io/web",
            "poddisruptionbudget.policy/web",
            "horizontalpodautoscaler.autoscaling/web",
        ]
        .map(String::from),
    );
    objects
}

/// Objects client-side apply reports "configured" on every run, against
/// kube-apiserver too: a PodDisruptionBudget's `spec.selector` has patch
/// strategy `replace`, so kubectl always sends it; a Secret's `stringData`
/// is write-only (the server folds it into `data`), so kubectl always sends
/// it again (kubernetes/kubernetes#87736).
const ALWAYS_CONFIGURED: [&str; 2] = ["secret/web-secret", "poddisruptionbudget.policy/web"];

/// What `kubectl apply|create -f app.yaml` prints: each object of [`APP`]
/// followed by `outcome(object)`.
fn app_report(namespace: &str, outcome: impl Fn(&str) -> &'static str) -> Vec<String> {
    app_objects(namespace)
        .iter()
        .map(|object| format!("{object} {}", outcome(object)))
        .collect()
}

/// The outcome of applying [`APP`] again with only `changed` edited.
fn reapplied(changed: &[&str]) -> impl Fn(&str) -> &'static str {
    move |object| {
        if changed.contains(&object) || ALWAYS_CONFIGURED.contains(&object) {
            "configured"
        } else {
            "unchanged"
        }
    }
}

// ------------------------------------------------------------------ helpers

/// A fresh server driven by the default `kubectl`.
fn cluster() -> Cluster {
    cluster_with(&default_kubectl().unwrap())
}

fn cluster_with(program: &Path) -> Cluster {
    Cluster::start(program).unwrap()
}

/// Writes [`APP`] for `namespace`, with `edit` applied, to a file.
fn app_file(kubectl: &Kubectl, namespace: &str, edit: impl Fn(String) -> String) -> String {
    let manifest = edit(APP.replace("${NAMESPACE}", namespace));
    let path = kubectl
        .write_file(&format!("app-{namespace}.yaml"), &manifest)
        .unwrap();
    path.to_str().unwrap().to_owned()
}

/// `kubectl apply -f app.yaml` into `namespace`; must succeed.
fn apply_app(kubectl: &Kubectl, namespace: &str) -> Run {
    let file = app_file(kubectl, namespace, |manifest| manifest);
    kubectl.run(&format!("apply -f {file}")).ok()
}

/// `kubectl apply -f -` of a YAML manifest; must succeed.
fn apply(kubectl: &Kubectl, manifest: &str) -> Run {
    kubectl.run_stdin("apply -f -", manifest).ok()
}

fn namespace(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

fn configmap(namespace: &str, name: &str, data: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\ndata: {data}\n"
    )
}

/// A namespace with one ConfigMap in it.
fn namespace_with_configmap(namespace_name: &str, name: &str, data: &str) -> String {
    format!(
        "{}---\n{}",
        namespace(namespace_name),
        configmap(namespace_name, name, data)
    )
}

/// The stdout lines of a run.
fn lines(run: &Run) -> Vec<&str> {
    run.stdout.lines().collect()
}

/// The last line of some output.
fn last_line(text: &str) -> &str {
    text.trim_end().lines().last().unwrap_or_default()
}

/// stdout parsed as JSON.
#[track_caller]
fn json(run: &Run) -> serde_json::Value {
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

/// Asserts stdout is exactly `expected`, one entry a line.
#[track_caller]
fn assert_lines(run: &Run, expected: &[impl AsRef<str>]) {
    let expected: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
    assert_eq!(
        lines(run),
        expected,
        "`{}`\nstderr:\n{}",
        run.command,
        run.stderr
    );
}

/// Asserts stdout has each of `expected` as a whole line.
#[track_caller]
fn assert_has_lines(run: &Run, expected: &[&str]) {
    for line in expected {
        assert!(
            run.stdout.lines().any(|l| l == *line),
            "`{}`: no line {line:?} in\n{}",
            run.command,
            run.stdout
        );
    }
}

// ------------------------------------------------------------ version, ns

#[test]
fn version_reports_kubernetes_1_33() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;

    let run = kubectl.run("version").ok();
    assert!(
        run.stdout
            .lines()
            .any(|line| line.starts_with("Server Version: v1.33.")),
        "no `Server Version: v1.33.x` line:\n{}",
        run.stdout
    );
    assert!(
        !run.stderr.contains("WARNING"),
        "kubectl warned about the server's version:\n{}",
        run.stderr
    );

    let version = json(&kubectl.run("version -o json").ok());
    let server = &version["serverVersion"];
    assert_eq!(server["major"], "1", "{version:#}");
    assert_eq!(server["minor"], "33", "{version:#}");
    assert!(
        server["gitVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("v1.33.")),
        "{version:#}"
    );
}

#[test]
fn get_namespaces_lists_the_system_namespaces() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;

    let run = kubectl.run("get namespaces").ok();
    assert_eq!(run.rows()[0], ["NAME", "STATUS", "AGE"]);
    for namespace in ["default", "kube-node-lease", "kube-public", "kube-system"] {
        run.row(&[namespace, "Active"]);
    }

    // kube-apiserver labels every namespace with its own name.
    let run = kubectl.run("get ns default --show-labels").ok();
    assert_eq!(
        run.row(&["default"]).last().copied(),
        Some("kubernetes.io/metadata.name=default")
    );
    assert_jsonpath(
        kubectl,
        "ns kube-system",
        "{.status.phase} {.spec.finalizers}",
        r#"Active ["kubernetes"]"#,
    );
}

// ------------------------------------------------- typed create (protobuf)

#[test]
fn typed_create_commands_send_protobuf() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;

    let run = kubectl.run("create namespace shop").ok();
    assert_lines(&run, &["namespace/shop created"]);
    kubectl
        .run("get namespace shop")
        .ok()
        .row(&["shop", "Active"]);

    let run = kubectl
        .run("-n shop create configmap settings --from-literal=color=blue --from-literal=size=10")
        .ok();
    assert_lines(&run, &["configmap/settings created"]);
    assert_jsonpath(
        kubectl,
        "-n shop cm settings",
        "{.data.color},{.data.size}",
        "blue,10",
    );

    let run = kubectl
        .run("-n shop create secret generic token --from-literal=value=s3cr3t")
        .ok();
    assert_lines(&run, &["secret/token created"]);
    assert_jsonpath(
        kubectl,
        "-n shop secret token",
        "{.type} {.data.value}",
        "Opaque czNjcjN0",
    );

    let run = kubectl
        .run("-n shop create deployment web --image=nginx:1.25 --replicas=2")
        .ok();
    assert_lines(&run, &["deployment.apps/web created"]);
    assert_jsonpath(
        kubectl,
        "-n shop deploy web",
        "{.spec.replicas} {.spec.template.spec.containers[0].image}",
        "2 nginx:1.25",
    );

    let run = kubectl
        .run("-n shop create configmap settings --from-literal=a=b")
        .fails();
    run.stderr_has(r#"error: failed to create configmap: configmaps "settings" already exists"#);
}

#[test]
fn auth_whoami_shows_the_user_and_impersonation() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;

    let run = kubectl.run("auth whoami").ok();
    assert_eq!(run.rows()[0], ["ATTRIBUTE", "VALUE"]);
    assert_eq!(run.row(&["Username"]), ["Username", "mars-admin"]);
    run.stdout_has("Groups [system:masters system:authenticated]");

    let run = kubectl.run("auth whoami --as=jane --as-group=devs").ok();
    assert_eq!(run.row(&["Username"]), ["Username", "jane"]);
    run.stdout_has("Groups [devs system:authenticated]");

    let review = json(&kubectl.run("auth whoami -o json").ok());
    assert_eq!(review["kind"], "SelfSubjectReview", "{review:#}");
    assert_eq!(
        review["apiVersion"], "authentication.k8s.io/v1",
        "{review:#}"
    );
    assert_eq!(
        review["status"]["userInfo"]["username"], "mars-admin",
        "{review:#}"
    );
}

#[test]
fn create_token_issues_a_bound_service_account_token_the_server_accepts() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    kubectl.run("create serviceaccount builder").ok();
    let as_token = |name: &str, token: &str| {
        let config = cluster
            .kubeconfig_for_user(name, &format!("{{token: {token}}}"))
            .unwrap();
        kubectl.with_kubeconfig(config).unwrap()
    };

    // An unbound token: the service account's identity, nothing more.
    let token = kubectl
        .run("create token builder")
        .ok()
        .stdout
        .trim()
        .to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    let builder = as_token("builder", &token);
    let review = json(&builder.run("auth whoami -o json").ok());
    let info = &review["status"]["userInfo"];
    assert_eq!(info["username"], "system:serviceaccount:default:builder");
    assert_eq!(
        info["groups"],
        serde_json::json!([
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated"
        ])
    );
    let uid = kubectl
        .run("get serviceaccount builder -o jsonpath={.metadata.uid}")
        .ok()
        .stdout;
    assert_eq!(info["uid"], uid.as_str());
    assert!(
        info["extra"]["authentication.kubernetes.io/credential-id"][0]
            .as_str()
            .is_some_and(|id| id.starts_with("JTI=")),
        "{info:#}"
    );
    builder.run("get pods").fails().stderr_has(
        r#"Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:default:builder" cannot list resource "pods" in API group "" in the namespace "default""#,
    );

    // A token bound to a pod names it, and dies with it.
    kubectl
        .run("run job-runner --image=busybox --restart=Never")
        .ok();
    let bound = kubectl
        .run("create token builder --bound-object-kind=Pod --bound-object-name=job-runner --audience=ci --audience=https://kubernetes.default.svc.cluster.local")
        .ok()
        .stdout
        .trim()
        .to_string();
    let runner = as_token("runner", &bound);
    let review = json(&runner.run("auth whoami -o json").ok());
    let extra = &review["status"]["userInfo"]["extra"];
    assert_eq!(
        extra["authentication.kubernetes.io/pod-name"][0],
        "job-runner"
    );
    kubectl.run("delete pod job-runner --now").ok();
    runner
        .run("auth whoami")
        .fails()
        .stderr_has("error: You must be logged in to the server (Unauthorized)");
    // A token for another audience only is not for this server.
    let elsewhere = kubectl
        .run("create token builder --audience=vault")
        .ok()
        .stdout
        .trim()
        .to_string();
    as_token("vault", &elsewhere)
        .run("auth whoami")
        .fails()
        .stderr_has("Unauthorized");

    // Bad requests are refused with kube's words.
    kubectl
        .run("create token builder --duration=5m")
        .fails()
        .stderr_has("may not specify a duration less than 10 minutes");
    kubectl
        .run("create token nobody")
        .fails()
        .stderr_has(r#"serviceaccounts "nobody" not found"#);

    // Deleting the account revokes its tokens.
    builder.run("auth whoami").ok();
    kubectl.run("delete serviceaccount builder").ok();
    builder
        .run("auth whoami")
        .fails()
        .stderr_has("Unauthorized");
    // A forged token is no better.
    let (head, rest) = token.split_once('.').unwrap();
    let forged = format!("{head}.e30.{}", rest.rsplit_once('.').unwrap().1);
    as_token("forged", &forged)
        .run("auth whoami")
        .fails()
        .stderr_has("Unauthorized");
}

// ------------------------------------------------------- apply, create -f

#[test]
fn apply_creates_every_kind_then_reports_unchanged_and_configured() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;

    let run = apply_app(kubectl, "shop");
    assert_lines(&run, &app_report("shop", |_| "created"));

    let run = kubectl
        .run(
            "-n shop get configmaps,secrets,serviceaccounts,deployments,services,roles,\
             rolebindings,jobs,cronjobs,ingresses,poddisruptionbudgets,horizontalpodautoscalers \
             -o name",
        )
        .ok();
    let objects = app_objects("shop");
    let namespaced: Vec<&str> = objects[1..].iter().map(String::as_str).collect();
    assert_has_lines(&run, &namespaced);
    // The server folds stringData into data.
    assert_jsonpath(
        kubectl,
        "-n shop secret web-secret",
        "{.data.password}",
        "czNjcjN0",
    );
    assert_jsonpath(kubectl, "-n shop deploy web", "{.metadata.generation}", "1");

    // The same file again changes nothing.
    let run = apply_app(kubectl, "shop");
    assert_lines(&run, &app_report("shop", reapplied(&[])));
    assert_jsonpath(kubectl, "-n shop deploy web", "{.metadata.generation}", "1");

    // A new image: the Deployment is configured and its generation moves.
    let file = app_file(kubectl, "shop", |m| m.replace("nginx:1.25", "nginx:1.27"));
    let run = kubectl.run(&format!("apply -f {file}")).ok();
    assert_lines(
        &run,
        &app_report("shop", reapplied(&["deployment.apps/web"])),
    );
    assert_jsonpath(
        kubectl,
        "-n shop deploy web",
        "{.metadata.generation} {.spec.template.spec.containers[0].image}",
        "2 nginx:1.27",
    );
}

#[test]
fn create_from_file_then_again_is_already_exists() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    let file = app_file(kubectl, "shop", |manifest| manifest);

    let run = kubectl.run(&format!("create -f {file}")).ok();
    assert_lines(&run, &app_report("shop", |_| "created"));

    let run = kubectl.run(&format!("create -f {file}")).fails();
    assert_eq!(run.stdout, "");
    for what in [
        r#"namespaces "shop" already exists"#,
        r#"configmaps "web-config" already exists"#,
        r#"secrets "web-secret" already exists"#,
        r#"deployments.apps "web" already exists"#,
        r#"services "web" already exists"#,
        r#"horizontalpodautoscalers.autoscaling "web" already exists"#,
    ] {
        run.stderr_has(&format!(
            r#"Error from server (AlreadyExists): error when creating "{file}": {what}"#
        ));
    }
}

// ------------------------------------------------------------------ get

#[test]
fn get_output_formats() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply_app(kubectl, "shop");

    let run = kubectl.run("-n shop get deployments -o wide").ok();
    assert_eq!(
        run.rows()[0],
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    let row = run.row(&["web"]);
    assert_eq!(row[..4], ["web", "0/2", "0", "0"], "{}", run.stdout);
    assert_eq!(row[5..], ["web", "nginx:1.25", "app=web"], "{}", run.stdout);

    // The server defaults the Service's type and port protocol and
    // allocates it a cluster IP.
    let run = kubectl.run("-n shop get services -o wide").ok();
    assert_eq!(
        run.rows()[0],
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR"
        ]
    );
    let row = run.row(&["web"]);
    assert_eq!(row.len(), 7, "{}", run.stdout);
    assert_eq!(row[1], "ClusterIP", "{}", run.stdout);
    assert!(row[2].parse::<Ipv4Addr>().is_ok(), "{}", run.stdout);
    assert_eq!(row[3..5], ["<none>", "80/TCP"], "{}", run.stdout);
    assert_eq!(row[6], "app=web", "{}", run.stdout);

    let run = kubectl.run("-n shop get configmap web-config -o yaml").ok();
    assert_has_lines(
        &run,
        &[
            "apiVersion: v1",
            "kind: ConfigMap",
            "data:",
            "  greeting: hello",
            "  color: blue",
            "  name: web-config",
            "  namespace: shop",
            "    app: web",
        ],
    );
    for field in ["  uid: ", "  resourceVersion: ", "  creationTimestamp: "] {
        assert!(
            run.stdout.lines().any(|l| l.starts_with(field)),
            "no {field:?} in\n{}",
            run.stdout
        );
    }

    let object = json(&kubectl.run("-n shop get configmap web-config -o json").ok());
    assert_eq!(object["kind"], "ConfigMap", "{object:#}");
    assert_eq!(object["data"]["greeting"], "hello", "{object:#}");
    assert_eq!(object["metadata"]["labels"]["tier"], "a", "{object:#}");
    assert!(
        object["metadata"]["uid"]
            .as_str()
            .is_some_and(|uid| !uid.is_empty()),
        "{object:#}"
    );

    let list = json(&kubectl.run("-n shop get configmaps -o json").ok());
    assert_eq!(list["kind"], "List", "{list:#}");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item["metadata"]["name"].as_str())
        .collect();
    for name in ["cache-config", "db-config", "web-config"] {
        assert!(names.contains(&name), "{names:?}");
    }

    assert_jsonpath(
        kubectl,
        "-n shop configmap web-config",
        "{.data.greeting}",
        "hello",
    );
    assert_jsonpath(
        kubectl,
        "-n shop configmaps -l 'app in (web,db)'",
        r#"{range .items[*]}{.metadata.name}={.metadata.labels.tier}{"\n"}{end}"#,
        "db-config=b\nweb-config=a\n",
    );

    let run = kubectl
        .run(
            "-n shop get configmaps \
             -o custom-columns=NAME:.metadata.name,TIER:.metadata.labels.tier,COLOR:.data.color",
        )
        .ok();
    assert_eq!(run.rows()[0], ["NAME", "TIER", "COLOR"]);
    assert_eq!(run.row(&["web-config"]), ["web-config", "a", "blue"]);
    assert_eq!(run.row(&["db-config"]), ["db-config", "b", "<none>"]);

    let run = kubectl.run("-n shop get configmaps --show-labels").ok();
    assert_eq!(run.rows()[0], ["NAME", "DATA", "AGE", "LABELS"]);
    let row = run.row(&["web-config"]);
    assert_eq!((row[1], row[3]), ("2", "app=web,tier=a"), "{}", run.stdout);

    let run = kubectl.run("-n shop get configmap web-config -o name").ok();
    assert_lines(&run, &["configmap/web-config"]);
}

#[test]
fn get_with_selectors_sorting_and_all_namespaces() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply_app(kubectl, "shop");
    apply_app(kubectl, "lab");
    // The ConfigMaps of namespace shop that `get` lists with `flags`.
    let names = |flags: &str| -> Vec<String> {
        let run = kubectl
            .run(&format!("-n shop get configmaps -o name {flags}"))
            .ok();
        lines(&run).into_iter().map(String::from).collect()
    };
    let sorted = |mut names: Vec<String>| {
        names.sort();
        names
    };

    assert_eq!(names("-l app=web"), ["configmap/web-config"]);
    assert_eq!(
        sorted(names("-l 'tier in (a,b)'")),
        ["configmap/db-config", "configmap/web-config"]
    );
    assert_eq!(names("-l 'tier notin (a,b)'"), ["configmap/cache-config"]);
    assert_eq!(names("-l app=web,tier=b"), Vec::<String>::new());
    assert_eq!(
        names("--field-selector metadata.name=db-config"),
        ["configmap/db-config"]
    );
    assert_eq!(
        sorted(names("--field-selector metadata.name!=db-config")),
        ["configmap/cache-config", "configmap/web-config"]
    );
    assert_eq!(
        names("--sort-by=.metadata.name"),
        [
            "configmap/cache-config",
            "configmap/db-config",
            "configmap/web-config"
        ]
    );
    assert_eq!(
        names("--sort-by=.metadata.labels.tier"),
        [
            "configmap/web-config",
            "configmap/db-config",
            "configmap/cache-config"
        ]
    );

    let run = kubectl.run("get deployments -A").ok();
    assert_eq!(run.rows()[0][..3], ["NAMESPACE", "NAME", "READY"]);
    run.row(&["lab", "web", "0/2"]);
    run.row(&["shop", "web", "0/2"]);

    let run = kubectl
        .run("get configmaps --all-namespaces -l tier=a")
        .ok();
    assert_eq!(run.rows()[0], ["NAMESPACE", "NAME", "DATA", "AGE"]);
    run.row(&["lab", "web-config", "2"]);
    run.row(&["shop", "web-config", "2"]);
    assert_eq!(run.rows().len(), 3, "{}", run.stdout);

    let run = kubectl.run("-n nowhere get configmaps").ok();
    assert_eq!(run.stdout, "");
    run.stderr_has("No resources found in nowhere namespace.");
}

#[test]
fn get_all_lists_the_workload_kinds() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply_app(kubectl, "shop");

    let run = kubectl.run("-n shop get all").ok();
    run.row(&["service/web", "ClusterIP"]);
    run.row(&["deployment.apps/web", "0/2", "0", "0"]);
    run.row(&["horizontalpodautoscaler.autoscaling/web", "Deployment/web"]);
    run.row(&["cronjob.batch/nightly", "0", "3", "*", "*", "*"]);
    run.row(&["job.batch/migrate"]);
    assert!(
        !run.stdout.contains("configmap/") && !run.stdout.contains("secret/"),
        "`get all` shows kinds outside the `all` category:\n{}",
        run.stdout
    );
}

#[test]
fn get_watch_prints_each_change() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply(
        kubectl,
        &namespace_with_configmap("watch", "first", "{a: '1'}"),
    );
    let timeout = Duration::from_secs(10);

    let mut events = kubectl
        .stream("-n watch get configmaps --watch --output-watch-events")
        .unwrap();
    let mut plain = kubectl.stream("-n watch get configmap first -w").unwrap();
    events.expect_line("EVENT NAME DATA AGE", timeout).unwrap();
    events.expect_line("ADDED first 1", timeout).unwrap();
    plain.expect_line("NAME DATA AGE", timeout).unwrap();
    plain.expect_line("first 1", timeout).unwrap();

    apply(kubectl, &configmap("watch", "second", "{a: '1'}"));
    events.expect_line("ADDED second 1", timeout).unwrap();

    let run = kubectl
        .run(r#"-n watch patch configmap second -p '{"data":{"b":"2"}}'"#)
        .ok();
    assert_lines(&run, &["configmap/second patched"]);
    events.expect_line("MODIFIED second 2", timeout).unwrap();

    kubectl
        .run(r#"-n watch patch configmap first -p '{"data":{"c":"3"}}'"#)
        .ok();
    events.expect_line("MODIFIED first 2", timeout).unwrap();
    plain.expect_line("first 2", timeout).unwrap();

    kubectl.run("-n watch delete configmap second").ok();
    events.expect_line("DELETED second 2", timeout).unwrap();
}

// ------------------------------------------------------------------ describe

#[test]
fn describe_deployment_and_configmap() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply_app(kubectl, "shop");

    // The server's defaults show: strategy, rolling-update bounds, protocol.
    let run = kubectl.run("-n shop describe deployment web").ok();
    for line in [
        "Name: web",
        "Namespace: shop",
        "Labels: app=web",
        "Selector: app=web",
        "Replicas: 2 desired | 0 updated | 0 total | 0 available | 0 unavailable",
        "StrategyType: RollingUpdate",
        "MinReadySeconds: 0",
        "RollingUpdateStrategy: 25% max unavailable, 25% max surge",
        "Service Account: web",
        "Image: nginx:1.25",
        "Port: 80/TCP",
        "web-config ConfigMap Optional: false",
    ] {
        run.stdout_has(line);
    }

    let run = kubectl.run("-n shop describe configmap web-config").ok();
    for text in [
        "Name: web-config",
        "Namespace: shop",
        "Labels: app=web\ntier=a",
        // describe hides kubectl's last-applied-configuration annotation.
        "Annotations: <none>",
        // One block a key, in Go's map order.
        "Data\n====\n",
        "color:\n----\nblue\n",
        "greeting:\n----\nhello\n",
        "BinaryData\n====",
        "Events: <none>",
    ] {
        run.stdout_has(text);
    }
}

// ------------------------------------------------- label, annotate, scale

#[test]
fn label_annotate_and_scale() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply_app(kubectl, "shop");
    let cm = "-n shop configmap web-config";

    let run = kubectl.run(&format!("label {cm} env=prod")).ok();
    assert_lines(&run, &["configmap/web-config labeled"]);
    let run = kubectl.run(&format!("label {cm} env=staging")).fails();
    run.stderr_has("error: 'env' already has a value (prod), and --overwrite is false");
    let run = kubectl
        .run(&format!("label {cm} env=staging --overwrite"))
        .ok();
    assert_lines(&run, &["configmap/web-config labeled"]);
    assert_jsonpath(kubectl, cm, "{.metadata.labels.env}", "staging");
    let run = kubectl.run(&format!("label {cm} env-")).ok();
    assert_lines(&run, &["configmap/web-config unlabeled"]);
    let run = kubectl.run(&format!("get {cm} --show-labels")).ok();
    assert_eq!(
        run.row(&["web-config"]).last().copied(),
        Some("app=web,tier=a")
    );

    let run = kubectl.run(&format!("annotate {cm} owner=team-a")).ok();
    assert_lines(&run, &["configmap/web-config annotated"]);
    assert_jsonpath(kubectl, cm, "{.metadata.annotations.owner}", "team-a");
    let run = kubectl.run(&format!("annotate {cm} owner=team-b")).fails();
    run.stderr_has(
        "error: --overwrite is false but found the following declared annotation(s): \
         'owner' already has a value (team-a)",
    );
    kubectl
        .run(&format!("annotate {cm} owner=team-b --overwrite"))
        .ok();
    assert_jsonpath(kubectl, cm, "{.metadata.annotations.owner}", "team-b");

    let run = kubectl
        .run("-n shop scale deployment web --replicas=3")
        .ok();
    assert_lines(&run, &["deployment.apps/web scaled"]);
    assert_jsonpath(
        kubectl,
        "-n shop deployment web",
        "{.spec.replicas} {.metadata.generation}",
        "3 2",
    );
    let run = kubectl.run("-n shop get deployment web").ok();
    run.row(&["web", "0/3"]);
}

// ------------------------------------------------------------ delete, wait

#[test]
fn delete_by_name_by_label_and_namespace() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply_app(kubectl, "shop");

    let run = kubectl.run("-n shop delete configmap web-config").ok();
    assert_lines(&run, &[r#"configmap "web-config" deleted"#]);
    let run = kubectl.run("-n shop get configmap web-config").fails();
    assert_eq!(
        run.stderr.trim_end(),
        r#"Error from server (NotFound): configmaps "web-config" not found"#
    );

    let run = kubectl
        .run("-n shop delete configmaps -l 'tier in (b,c)'")
        .ok();
    let mut deleted = lines(&run);
    deleted.sort();
    assert_eq!(
        deleted,
        [
            r#"configmap "cache-config" deleted"#,
            r#"configmap "db-config" deleted"#
        ]
    );
    let run = kubectl.run("-n shop get configmaps").ok();
    assert_eq!(run.stdout, "");
    run.stderr_has("No resources found in shop namespace.");

    let run = kubectl
        .run("-n shop delete deployments,services -l app=web")
        .ok();
    assert_lines(
        &run,
        &[
            r#"deployment.apps "web" deleted"#,
            r#"service "web" deleted"#,
        ],
    );

    // Deleting the namespace deletes what is in it; kubectl waits for both.
    let run = kubectl.run("delete namespace shop").ok();
    assert_lines(&run, &[r#"namespace "shop" deleted"#]);
    let run = kubectl.run("get namespace shop").fails();
    run.stderr_has(r#"Error from server (NotFound): namespaces "shop" not found"#);
    let run = kubectl.run("-n shop get secrets,jobs,roles").ok();
    assert_eq!(run.stdout, "");
}

#[test]
fn wait_for_delete_and_for_jsonpath() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply_app(kubectl, "shop");

    // A wait that cannot be met times out with kubectl's message.
    let run = kubectl
        .run("-n shop wait configmap/db-config --for=delete --timeout=1s")
        .fails();
    run.stderr_has("error: timed out waiting for the condition on configmaps/db-config");

    // -v=6 logs each request: once the watch is open, delete.
    let mut wait = kubectl
        .stream("-n shop wait configmap/db-config --for=delete --timeout=20s -v=6")
        .unwrap();
    wait.expect_containing("watch=true", Duration::from_secs(10))
        .unwrap();
    kubectl.run("-n shop delete configmap db-config").ok();
    let (code, output) = wait.finish(Duration::from_secs(20)).unwrap();
    assert_eq!(code, Some(0), "{output}");
    assert!(
        output.contains("configmap/db-config condition met"),
        "{output}"
    );

    kubectl
        .run("-n shop scale deployment web --replicas=3")
        .ok();
    let run = kubectl
        .run("-n shop wait deployment/web --for=jsonpath={.spec.replicas}=3 --timeout=10s")
        .ok();
    assert_lines(&run, &["deployment.apps/web condition met"]);
    let run = kubectl
        .run("-n shop wait deployment/web --for=jsonpath={.spec.replicas}=5 --timeout=1s")
        .fails();
    run.stderr_has("error: timed out waiting for the condition on deployments/web");
}

// ------------------------------------------------------- discovery, explain

#[test]
fn api_resources_and_api_versions() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;

    let run = kubectl.run("api-resources").ok();
    assert_eq!(
        run.rows()[0],
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    );
    for row in [
        &["pods", "po", "v1", "true", "Pod"][..],
        &["namespaces", "ns", "v1", "false", "Namespace"],
        &["configmaps", "cm", "v1", "true", "ConfigMap"],
        &["secrets", "v1", "true", "Secret"],
        &["deployments", "deploy", "apps/v1", "true", "Deployment"],
        &["cronjobs", "cj", "batch/v1", "true", "CronJob"],
        &[
            "ingresses",
            "ing",
            "networking.k8s.io/v1",
            "true",
            "Ingress",
        ],
        &[
            "poddisruptionbudgets",
            "pdb",
            "policy/v1",
            "true",
            "PodDisruptionBudget",
        ],
        &[
            "horizontalpodautoscalers",
            "hpa",
            "autoscaling/v2",
            "true",
            "HorizontalPodAutoscaler",
        ],
        &["roles", "rbac.authorization.k8s.io/v1", "true", "Role"],
    ] {
        assert_eq!(run.row(&row[..1]), row, "{}", run.stdout);
    }

    let run = kubectl.run("api-resources -o wide").ok();
    assert_eq!(
        run.row(&["pods"])[5..],
        [
            "create,delete,deletecollection,get,list,patch,update,watch",
            "all"
        ],
        "{}",
        run.stdout
    );

    let run = kubectl.run("api-resources --api-group=apps -o name").ok();
    assert_has_lines(
        &run,
        &[
            "daemonsets.apps",
            "deployments.apps",
            "replicasets.apps",
            "statefulsets.apps",
        ],
    );
    let run = kubectl.run("api-resources --namespaced=false -o name").ok();
    assert_has_lines(&run, &["namespaces"]);
    assert!(!run.stdout.lines().any(|l| l == "pods"), "{}", run.stdout);

    let run = kubectl.run("api-versions").ok();
    assert_has_lines(
        &run,
        &[
            "v1",
            "apps/v1",
            "autoscaling/v1",
            "autoscaling/v2",
            "batch/v1",
            "networking.k8s.io/v1",
            "policy/v1",
            "rbac.authorization.k8s.io/v1",
        ],
    );
}

#[test]
fn explain_shows_field_documentation() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;

    let run = kubectl.run("explain pods.spec.containers").ok();
    for text in [
        "KIND: Pod",
        "VERSION: v1",
        "FIELD: containers <[]Container>",
        "DESCRIPTION:",
        "List of containers belonging to the pod.",
        "FIELDS:",
        "image <string>",
        "name <string> -required-",
    ] {
        run.stdout_has(text);
    }

    let run = kubectl.run("explain deployment.spec.strategy").ok();
    for text in [
        "GROUP: apps",
        "KIND: Deployment",
        "VERSION: v1",
        "FIELD: strategy <DeploymentStrategy>",
        "The deployment strategy to use to replace existing pods with new ones.",
        "rollingUpdate <RollingUpdateDeployment>",
        "type <string>",
    ] {
        run.stdout_has(text);
    }

    let run = kubectl.run("explain nosuchkind").fails();
    run.stderr_has(r#"the server doesn't have a resource type "nosuchkind""#);
}

#[test]
fn raw_discovery_health_and_openapi_endpoints() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    let raw = |path: &str| kubectl.run(&format!("get --raw '{path}'")).ok();
    let named = |list: &serde_json::Value, field: &str, name: &str| {
        list[field]
            .as_array()
            .and_then(|items| items.iter().find(|item| item["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {field} of {list:#}"))
    };

    let api = json(&raw("/api"));
    assert_eq!(api["kind"], "APIVersions", "{api:#}");
    assert_eq!(api["versions"], serde_json::json!(["v1"]), "{api:#}");

    let apis = json(&raw("/apis"));
    assert_eq!(apis["kind"], "APIGroupList", "{apis:#}");
    assert_eq!(
        named(&apis, "groups", "apps")["preferredVersion"]["groupVersion"],
        "apps/v1"
    );
    let autoscaling = named(&apis, "groups", "autoscaling");
    assert_eq!(
        autoscaling["preferredVersion"]["version"], "v2",
        "{autoscaling:#}"
    );
    let versions: Vec<&str> = autoscaling["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["groupVersion"].as_str())
        .collect();
    assert_eq!(versions, ["autoscaling/v2", "autoscaling/v1"]);

    let core = json(&raw("/api/v1"));
    assert_eq!(core["kind"], "APIResourceList", "{core:#}");
    assert_eq!(core["groupVersion"], "v1");
    let configmaps = named(&core, "resources", "configmaps");
    assert_eq!(configmaps["kind"], "ConfigMap");
    assert_eq!(configmaps["namespaced"], true);
    assert_eq!(configmaps["shortNames"], serde_json::json!(["cm"]));
    assert_eq!(
        configmaps["verbs"],
        serde_json::json!([
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ])
    );
    assert_eq!(named(&core, "resources", "namespaces")["namespaced"], false);
    let scale = named(
        &json(&raw("/apis/apps/v1")),
        "resources",
        "deployments/scale",
    );
    assert_eq!(
        [&scale["group"], &scale["version"], &scale["kind"]],
        ["autoscaling", "v1", "Scale"],
        "{scale:#}"
    );

    let version = json(&raw("/version"));
    assert_eq!(
        [&version["major"], &version["minor"]],
        ["1", "33"],
        "{version:#}"
    );

    for path in ["/healthz", "/livez", "/readyz"] {
        assert_eq!(raw(path).stdout, "ok", "{path}");
    }
    let run = raw("/readyz?verbose");
    assert_has_lines(&run, &["[+]ping ok", "[+]etcd ok"]);
    assert_eq!(last_line(&run.stdout), "readyz check passed");

    let index = json(&raw("/openapi/v3"));
    for (path, schema) in [
        ("api/v1", "io.k8s.api.core.v1.ConfigMap"),
        ("apis/apps/v1", "io.k8s.api.apps.v1.Deployment"),
    ] {
        let url = index["paths"][path]["serverRelativeURL"]
            .as_str()
            .unwrap_or_else(|| panic!("no {path} in /openapi/v3:\n{index:#}"));
        assert!(
            url.starts_with(&format!("/openapi/v3/{path}?hash=")),
            "{url}"
        );
        let document = json(&raw(url));
        assert!(
            document["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.")),
            "{url}: no openapi version"
        );
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "{url} has no schema {schema}"
        );
    }
}

// ------------------------------------------------------------------ errors

#[test]
fn server_errors_use_kubernetes_wording() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply(
        kubectl,
        &namespace_with_configmap("errs", "settings", "{a: '1'}"),
    );

    let run = kubectl.run("-n errs get configmap nope").fails();
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "Error from server (NotFound): configmaps \"nope\" not found\n"
    );
    let run = kubectl.run("-n errs get deployment nope").fails();
    assert_eq!(
        run.stderr,
        "Error from server (NotFound): deployments.apps \"nope\" not found\n"
    );

    let existing = kubectl
        .write_file("settings.yaml", &configmap("errs", "settings", "{a: '2'}"))
        .unwrap();
    let existing = existing.to_str().unwrap();
    let run = kubectl.run(&format!("create -f {existing}")).fails();
    run.stderr_has(&format!(
        r#"Error from server (AlreadyExists): error when creating "{existing}": configmaps "settings" already exists"#
    ));

    // replace with a resourceVersion someone else has moved past.
    let stale = kubectl.run("-n errs get configmap settings -o yaml").ok();
    let stale_file = kubectl.write_file("stale.yaml", &stale.stdout).unwrap();
    let stale_file = stale_file.to_str().unwrap();
    kubectl
        .run("-n errs annotate configmap settings moved=yes")
        .ok();
    let run = kubectl.run(&format!("replace -f {stale_file}")).fails();
    run.stderr_has(&format!(
        r#"Error from server (Conflict): error when replacing "{stale_file}": Operation cannot be fulfilled on configmaps "settings": the object has been modified; please apply your changes to the latest version and try again"#
    ));

    let run = kubectl
        .run_stdin("create -f -", &configmap("errs", "Bad_Name", "{a: '1'}"))
        .fails();
    run.stderr_has(
        r#"The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
    );
    let run = kubectl.run("-n errs get configmaps -o name").ok();
    assert_lines(&run, &["configmap/settings"]);
}

#[test]
fn request_bodies_over_3_mib_are_413() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply(kubectl, &namespace("errs"));

    // kube-apiserver refuses bodies over 3 MiB before decoding them.
    let big = serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "big", "namespace": "errs"},
        "data": {"blob": "x".repeat(3 * 1024 * 1024 + 16)},
    });
    let file = kubectl.write_file("big.json", &big.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let run = kubectl.run(&format!("create -f {file}")).fails();
    run.stderr_has(&format!(
        r#"Error from server (RequestEntityTooLarge): error when creating "{file}": Request entity too large: limit is 3145728"#
    ));
    let run = kubectl.run("-n errs get configmap big").fails();
    run.stderr_has(r#"Error from server (NotFound): configmaps "big" not found"#);
}

// ---------------------------------------------------------- authorization

#[test]
fn readonly_kubeconfig_can_read_but_not_write() {
    let cluster = cluster();
    apply(
        &cluster.kubectl,
        &namespace_with_configmap("ro", "settings", "{a: '1'}"),
    );
    let viewer = cluster
        .kubectl
        .with_kubeconfig(cluster.readonly_kubeconfig())
        .unwrap();

    viewer.run("get namespaces").ok().row(&["ro", "Active"]);
    viewer
        .run("-n ro get configmaps")
        .ok()
        .row(&["settings", "1"]);
    assert_jsonpath(&viewer, "-n ro configmap settings", "{.data.a}", "1");

    let file = viewer
        .write_file("new.yaml", &configmap("ro", "new", "{a: '1'}"))
        .unwrap();
    let file = file.to_str().unwrap();
    let run = viewer.run(&format!("create -f {file}")).fails();
    run.stderr_has(&format!(
        r#"Error from server (Forbidden): error when creating "{file}": configmaps is forbidden: User "mars-viewer" cannot create resource "configmaps" in API group "" in the namespace "ro""#
    ));
    let run = viewer.run("-n ro delete configmap settings").fails();
    run.stderr_has(
        r#"Error from server (Forbidden): configmaps "settings" is forbidden: User "mars-viewer" cannot delete resource "configmaps" in API group "" in the namespace "ro""#,
    );
    let run = viewer.run("create namespace mine").fails();
    run.stderr_has(
        r#"Error from server (Forbidden): namespaces is forbidden: User "mars-viewer" cannot create resource "namespaces" in API group "" at the cluster scope"#,
    );
    cluster.kubectl.run("-n ro get configmap settings").ok();
}

#[test]
fn requests_without_valid_credentials_are_refused() {
    let cluster = cluster();

    // A user with a name but no password, certificate or token: kubectl
    // sends nothing the server accepts, so the request is anonymous.
    let config = cluster
        .kubeconfig_for_user("nobody", "{username: nobody}")
        .unwrap();
    let anonymous = cluster.kubectl.with_kubeconfig(config).unwrap();
    let run = anonymous.run("get --raw /api/v1/namespaces").fails();
    assert_eq!(
        run.stderr.trim_end(),
        r#"Error from server (Forbidden): namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope"#
    );
    let run = anonymous.run("get --raw /api").fails();
    assert_eq!(
        run.stderr.trim_end(),
        r#"Error from server (Forbidden): forbidden: User "system:anonymous" cannot get path "/api""#
    );
    // Discovery is forbidden too, so `get` fails before it lists anything
    // (client-go words a 403 on discovery "unknown", against kube-apiserver
    // as well).
    let run = anonymous.run("get namespaces").fails();
    assert_eq!(run.stdout, "");
    assert!(
        last_line(&run.stderr).starts_with("Error from server (Forbidden)"),
        "{}",
        run.stderr
    );
    // ... except what system:public-info-viewer allows everyone.
    assert_eq!(anonymous.run("get --raw /healthz").ok().stdout, "ok");
    assert_eq!(
        json(&anonymous.run("get --raw /version").ok())["minor"],
        "33"
    );

    // A token the server never issued.
    let config = cluster
        .kubeconfig_for_user("forger", "{token: not-a-real-token}")
        .unwrap();
    let forger = cluster.kubectl.with_kubeconfig(config).unwrap();
    let run = forger.run("get --raw /api/v1/namespaces").fails();
    assert_eq!(
        run.stderr.trim_end(),
        "error: You must be logged in to the server (Unauthorized)"
    );
    let run = forger.run("get namespaces").fails();
    assert!(
        last_line(&run.stderr).starts_with("error: You must be logged in to the server ("),
        "{}",
        run.stderr
    );
    let run = forger.run("get --raw /healthz").fails();
    run.stderr_has("error: You must be logged in to the server (Unauthorized)");
}

// ------------------------------------------------------------------ dry run

#[test]
fn server_side_dry_run_stores_nothing() {
    let cluster = cluster();
    let kubectl = &cluster.kubectl;
    apply(
        kubectl,
        &namespace_with_configmap("dry", "keep", "{a: '1'}"),
    );
    let draft = configmap("dry", "draft", "{a: '1'}");

    let run = kubectl
        .run_stdin("create --dry-run=server -f -", &draft)
        .ok();
    assert_lines(&run, &["configmap/draft created (server dry run)"]);
    let object = json(
        &kubectl
            .run_stdin("create --dry-run=server -o json -f -", &draft)
            .ok(),
    );
    assert!(
        object["metadata"]["uid"]
            .as_str()
            .is_some_and(|uid| !uid.is_empty()),
        "a dry-run create returns the object as it would be stored:\n{object:#}"
    );
    let run = kubectl
        .run_stdin("apply --dry-run=server -f -", &draft)
        .ok();
    assert_lines(&run, &["configmap/draft created (server dry run)"]);
    let run = kubectl.run("-n dry get configmap draft").fails();
    run.stderr_has(r#"Error from server (NotFound): configmaps "draft" not found"#);

    let run = kubectl
        .run("-n dry label configmap keep x=y --dry-run=server")
        .ok();
    assert_lines(&run, &["configmap/keep labeled (server dry run)"]);
    assert_jsonpath(kubectl, "-n dry configmap keep", "{.metadata.labels}", "");

    // kubectl sends dryRun in the DELETE body's DeleteOptions.
    let run = kubectl
        .run("-n dry delete configmap keep --dry-run=server")
        .ok();
    assert_lines(&run, &[r#"configmap "keep" deleted (server dry run)"#]);
    assert_jsonpath(kubectl, "-n dry configmap keep", "{.metadata.name}", "keep");
}

// ------------------------------------------------------- pinned clients

/// get, apply, create, delete, api-resources, explain and wait: what every
/// supported client version must be able to do against Mars.
fn smoke(program: &Path) {
    let cluster = cluster_with(program);
    let kubectl = &cluster.kubectl;

    let run = kubectl.run("api-resources").ok();
    assert_eq!(run.row(&["pods"]), ["pods", "po", "v1", "true", "Pod"]);
    assert_eq!(
        run.row(&["deployments"]),
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );

    let run = apply_app(kubectl, "smoke");
    assert_lines(&run, &app_report("smoke", |_| "created"));
    kubectl.run("get namespaces").ok().row(&["smoke", "Active"]);
    kubectl
        .run("-n smoke get deployments")
        .ok()
        .row(&["web", "0/2"]);

    let run = kubectl
        .run_stdin("create -f -", &configmap("smoke", "extra", "{a: '1'}"))
        .ok();
    assert_lines(&run, &["configmap/extra created"]);
    assert_jsonpath(kubectl, "-n smoke configmap extra", "{.data.a}", "1");

    kubectl
        .run("explain deployment.spec.strategy")
        .ok()
        .stdout_has("The deployment strategy to use to replace existing pods with new ones.");

    let run = kubectl
        .run("-n smoke wait deployment/web --for=jsonpath={.spec.replicas}=2 --timeout=10s")
        .ok();
    assert_lines(&run, &["deployment.apps/web condition met"]);

    let run = kubectl.run("-n smoke delete configmap extra").ok();
    assert_lines(&run, &[r#"configmap "extra" deleted"#]);
    let run = kubectl.run("-n smoke get configmap extra").fails();
    run.stderr_has(r#"Error from server (NotFound): configmaps "extra" not found"#);
}

/// Runs [`smoke`] with `kubectl.1.<minor>`, or says why it cannot.
fn smoke_pinned(minor: u32) {
    match pinned_kubectl(minor) {
        Some(program) => smoke(&program),
        None => eprintln!(
            "SKIPPED: no kubectl.1.{minor} beside {} (only machines with pinned clients run this)",
            default_kubectl().map_or_else(|e| e.to_string(), |p| p.display().to_string())
        ),
    }
}

#[test]
fn smoke_with_oldest_pinned_kubectl_1_27() {
    smoke_pinned(27);
}

#[test]
fn smoke_with_newest_pinned_kubectl_1_33() {
    smoke_pinned(33);
}
