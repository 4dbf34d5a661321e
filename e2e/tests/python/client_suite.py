#!/usr/bin/env python3
"""The official Python `kubernetes` client against a running `mars server`.

Run by e2e/tests/python_client.rs with KUBECONFIG pointing at the server's
admin kubeconfig; usable by hand too:

    KUBECONFIG=D/kubeconfig.yaml python3 client_suite.py [scenario ...]

Every scenario asserts what a real kube-apiserver does and works in its own
namespace. All requested scenarios run (a failure does not hide the next
one); each failure is printed with what was expected and what came back,
and the exit status is 1 if any failed.

The `gone` scenario needs the test harness: it prints a line
`@@MARS compact-restart` and waits for a reply line on stdin, meanwhile the
harness compacts the store's history and restarts the server, so that a
resourceVersion the client kept from before is older than anything the
server still has (as after kube-apiserver's own compaction and a restart).
"""

import os
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from checks import Failure, check, check_eq, api_error, check_status, short

# ------------------------------------------------------------------ helpers


def new_namespace(core, prefix):
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    ns = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    check_eq(ns.metadata.name, name, "created namespace name")
    check_eq(ns.status.phase, "Active", "new namespace phase")
    return name


def config_map(name, data=None, labels=None):
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        data=data,
    )


def names(items):
    return sorted(i.metadata.name for i in items)


def rv_int(obj):
    rv = obj.metadata.resource_version
    check(rv and rv.isdigit(), f"resourceVersion {rv!r} of {obj.metadata.name} is not a number")
    return int(rv)


# ---------------------------------------------------------------- scenarios


def scenario_version(apis):
    info = client.VersionApi().get_code()
    check_eq(info.major, "1", "version major")
    check_eq(info.minor, "33", "version minor")
    check(
        info.git_version.startswith("v1.33."),
        f"gitVersion {info.git_version!r} should start with v1.33.",
    )
    check(info.platform, "version platform is empty")


def scenario_configmap_crud(apis):
    core = apis.core
    ns = new_namespace(core, "py-cm")

    created = core.create_namespaced_config_map(
        ns, config_map("cm1", {"a": "1"}, {"app": "web"})
    )
    check_eq(created.metadata.name, "cm1", "created name")
    check_eq(created.metadata.namespace, ns, "created namespace")
    check_eq(created.data, {"a": "1"}, "created data")
    check_eq(created.metadata.labels, {"app": "web"}, "created labels")
    check(created.metadata.uid, "created object has no uid")
    check(created.metadata.creation_timestamp, "created object has no creationTimestamp")
    rv1 = rv_int(created)

    read = core.read_namespaced_config_map("cm1", ns)
    check_eq(read.metadata.uid, created.metadata.uid, "read uid")
    check_eq(read.metadata.resource_version, created.metadata.resource_version, "read resourceVersion")
    check_eq(read.data, {"a": "1"}, "read data")

    # Creating it again: 409 AlreadyExists.
    e = api_error(core.create_namespaced_config_map, ns, config_map("cm1", {"a": "x"}))
    check_status(e, 409, "AlreadyExists", "create existing", 'configmaps "cm1" already exists')

    # Replace with the resourceVersion just read.
    read.data = {"a": "2", "b": "3"}
    replaced = core.replace_namespaced_config_map("cm1", ns, read)
    check_eq(replaced.data, {"a": "2", "b": "3"}, "replaced data")
    check_eq(replaced.metadata.uid, created.metadata.uid, "replace keeps the uid")
    check_eq(
        replaced.metadata.creation_timestamp,
        created.metadata.creation_timestamp,
        "replace keeps creationTimestamp",
    )
    rv2 = rv_int(replaced)
    check(rv2 > rv1, f"replace must move resourceVersion forward: {rv1} -> {rv2}")

    # Replace with the stale resourceVersion: 409 Conflict.
    stale = core.read_namespaced_config_map("cm1", ns)
    stale.metadata.resource_version = created.metadata.resource_version
    stale.data = {"a": "stale"}
    e = api_error(core.replace_namespaced_config_map, "cm1", ns, stale)
    check_status(
        e,
        409,
        "Conflict",
        "stale replace",
        'Operation cannot be fulfilled on configmaps "cm1": the object has been '
        "modified; please apply your changes to the latest version and try again",
    )
    check_eq(e.reason, "Conflict", "stale replace: HTTP reason phrase")
    details = e.status_body.get("details") or {}
    check_eq(details.get("name"), "cm1", "stale replace: details.name")
    check_eq(details.get("kind"), "configmaps", "stale replace: details.kind")
    check_eq(core.read_namespaced_config_map("cm1", ns).data, {"a": "2", "b": "3"}, "data after a refused replace")

    # A dict body: the client sends a strategic merge patch.
    patched = core.patch_namespaced_config_map(
        "cm1", ns, {"metadata": {"labels": {"patched": "yes"}}, "data": {"c": "4"}}
    )
    check_eq(patched.data, {"a": "2", "b": "3", "c": "4"}, "strategic-merge-patched data")
    check_eq(patched.metadata.labels, {"app": "web", "patched": "yes"}, "patched labels")
    rv3 = rv_int(patched)
    check(rv3 > rv2, f"patch must move resourceVersion forward: {rv2} -> {rv3}")

    # The same dict as an RFC 7386 merge patch; null deletes a key.
    patched = apis.core_merge.patch_namespaced_config_map("cm1", ns, {"data": {"a": None, "d": "5"}})
    check_eq(patched.data, {"b": "3", "c": "4", "d": "5"}, "merge-patched data")

    # A list body: the client sends a JSON patch.
    patched = core.patch_namespaced_config_map(
        "cm1",
        ns,
        [
            {"op": "test", "path": "/data/b", "value": "3"},
            {"op": "replace", "path": "/data/b", "value": "33"},
            {"op": "remove", "path": "/data/c"},
        ],
    )
    check_eq(patched.data, {"b": "33", "d": "5"}, "json-patched data")
    # A JSON patch whose "test" op fails: kube answers 422 Invalid.
    e = api_error(
        core.patch_namespaced_config_map,
        "cm1",
        ns,
        [{"op": "test", "path": "/data/b", "value": "nope"}],
    )
    check_status(e, 422, "Invalid", "json patch with a failing test op")

    # A merge patch carrying a stale resourceVersion is a conflict too.
    e = api_error(
        apis.core_merge.patch_namespaced_config_map,
        "cm1",
        ns,
        {"metadata": {"resourceVersion": created.metadata.resource_version}, "data": {"x": "y"}},
    )
    check_status(e, 409, "Conflict", "merge patch with a stale resourceVersion")

    # Delete: a Success Status naming the object, then 404.
    status = core.delete_namespaced_config_map("cm1", ns)
    check_eq(status.status, "Success", f"delete status ({short(status)})")
    check_eq(status.details.name, "cm1", "delete status details.name")
    check_eq(status.details.kind, "configmaps", "delete status details.kind")
    check_eq(status.details.uid, created.metadata.uid, "delete status details.uid")

    e = api_error(core.read_namespaced_config_map, "cm1", ns)
    check_status(e, 404, "NotFound", "get deleted", 'configmaps "cm1" not found')
    e = api_error(core.read_namespaced_config_map, "never-was", ns)
    check_status(e, 404, "NotFound", "get missing", 'configmaps "never-was" not found')
    check_eq(e.reason, "Not Found", "get missing: HTTP reason phrase")
    details = e.status_body.get("details") or {}
    check_eq(details.get("name"), "never-was", "get missing: details.name")
    check_eq(details.get("kind"), "configmaps", "get missing: details.kind")
    e = api_error(core.delete_namespaced_config_map, "never-was", ns)
    check_status(e, 404, "NotFound", "delete missing")
    e = api_error(core.replace_namespaced_config_map, "never-was", ns, config_map("never-was", {"a": "1"}))
    check_status(e, 404, "NotFound", "replace missing")
    e = api_error(core.patch_namespaced_config_map, "never-was", ns, {"data": {"a": "1"}})
    check_status(e, 404, "NotFound", "patch missing")

    # A namespace that does not exist.
    e = api_error(core.create_namespaced_config_map, "no-such-namespace", config_map("x", {"a": "1"}))
    check_status(e, 404, "NotFound", "create in a missing namespace", 'namespaces "no-such-namespace" not found')

    # Validation: a bad name is 422 Invalid.
    e = api_error(core.create_namespaced_config_map, ns, config_map("Bad_Name", {"a": "1"}))
    check_status(e, 422, "Invalid", "create with an invalid name")


def web_deployment(name, replicas):
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[
                        client.V1Container(
                            name="web",
                            image="nginx:1.25",
                            ports=[client.V1ContainerPort(container_port=80)],
                        ),
                        client.V1Container(name="sidecar", image="busybox:1.36", command=["sleep", "3600"]),
                    ]
                ),
            ),
        ),
    )


def scenario_deployment_crud(apis):
    apps = apis.apps
    ns = new_namespace(apis.core, "py-deploy")

    created = apps.create_namespaced_deployment(ns, web_deployment("web", 2))
    check_eq(created.metadata.generation, 1, "created generation")
    check_eq(created.spec.replicas, 2, "created replicas")
    check_eq(created.metadata.labels, {"app": "web"}, "created labels")
    rv1 = rv_int(created)

    read = apps.read_namespaced_deployment("web", ns)
    check_eq(read.metadata.uid, created.metadata.uid, "read uid")
    check_eq(read.spec.template.spec.containers[0].image, "nginx:1.25", "read image")

    read.spec.replicas = 3
    replaced = apps.replace_namespaced_deployment("web", ns, read)
    check_eq(replaced.spec.replicas, 3, "replaced replicas")
    check_eq(replaced.metadata.generation, 2, "a spec change bumps generation")
    check(rv_int(replaced) > rv1, "replace moves resourceVersion forward")

    stale = apps.read_namespaced_deployment("web", ns)
    stale.metadata.resource_version = created.metadata.resource_version
    stale.spec.replicas = 9
    e = api_error(apps.replace_namespaced_deployment, "web", ns, stale)
    check_status(e, 409, "Conflict", "stale deployment replace")
    check_eq(
        e.status_body.get("message"),
        'Operation cannot be fulfilled on deployments.apps "web": the object has been '
        "modified; please apply your changes to the latest version and try again",
        "stale deployment replace: message",
    )

    # Strategic merge patch (a dict): containers merge by name.
    patched = apps.patch_namespaced_deployment(
        "web", ns, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}}
    )
    containers = patched.spec.template.spec.containers
    check_eq([c.name for c in containers], ["web", "sidecar"], "strategic merge keeps both containers")
    check_eq(containers[0].image, "nginx:1.26", "strategic merge sets the image")
    check_eq(containers[0].ports[0].container_port, 80, "strategic merge keeps the ports")
    check_eq(patched.metadata.generation, 3, "generation after the patch")

    # Merge patch: replicas; a JSON merge patch replaces lists whole.
    patched = apis.apps_merge.patch_namespaced_deployment("web", ns, {"spec": {"replicas": 5}})
    check_eq(patched.spec.replicas, 5, "merge-patched replicas")
    check_eq(len(patched.spec.template.spec.containers), 2, "merge patch of replicas leaves containers")

    scale = apps.read_namespaced_deployment_scale("web", ns)
    check_eq(scale.spec.replicas, 5, "scale subresource spec.replicas")
    check_eq(scale.metadata.name, "web", "scale subresource name")

    listed = apps.list_namespaced_deployment(ns)
    check_eq(names(listed.items), ["web"], "deployments listed")
    check_eq(listed.kind, "DeploymentList", "list kind")

    status = apps.delete_namespaced_deployment("web", ns)
    check_eq(getattr(status, "status", None), "Success", f"delete deployment status ({short(status)})")
    e = api_error(apps.read_namespaced_deployment, "web", ns)
    check_status(e, 404, "NotFound", "get deleted deployment", 'deployments.apps "web" not found')

    # Validation: a selector that does not match the template's labels.
    bad = web_deployment("bad", 1)
    bad.spec.selector = client.V1LabelSelector(match_labels={"app": "other"})
    e = api_error(apps.create_namespaced_deployment, ns, bad)
    check_status(e, 422, "Invalid", "deployment whose selector misses its template")


def scenario_deployment_defaults(apis):
    """kube's defaulting of apps/v1 Deployment, on create and as stored."""
    ns = new_namespace(apis.core, "py-defaults")
    created = apis.apps.create_namespaced_deployment(ns, web_deployment("web", 2))
    for what, d in (("created", created), ("read back", apis.apps.read_namespaced_deployment("web", ns))):
        check(d.spec.strategy is not None, f"{what}: spec.strategy not defaulted ({short(d.spec)})")
        check_eq(d.spec.strategy.type, "RollingUpdate", f"{what}: defaulted strategy")
        check_eq(d.spec.strategy.rolling_update.max_surge, "25%", f"{what}: defaulted maxSurge")
        check_eq(d.spec.strategy.rolling_update.max_unavailable, "25%", f"{what}: defaulted maxUnavailable")
        check_eq(d.spec.revision_history_limit, 10, f"{what}: defaulted revisionHistoryLimit")
        check_eq(d.spec.progress_deadline_seconds, 600, f"{what}: defaulted progressDeadlineSeconds")
        pod = d.spec.template.spec
        check_eq(pod.restart_policy, "Always", f"{what}: defaulted restartPolicy")
        check_eq(pod.dns_policy, "ClusterFirst", f"{what}: defaulted dnsPolicy")
        check_eq(pod.termination_grace_period_seconds, 30, f"{what}: defaulted terminationGracePeriodSeconds")
        check_eq(pod.scheduler_name, "default-scheduler", f"{what}: defaulted schedulerName")
        web = pod.containers[0]
        check_eq(web.image_pull_policy, "IfNotPresent", f"{what}: defaulted imagePullPolicy")
        check_eq(web.termination_message_path, "/dev/termination-log", f"{what}: defaulted terminationMessagePath")
        check_eq(web.termination_message_policy, "File", f"{what}: defaulted terminationMessagePolicy")
        check_eq(web.ports[0].protocol, "TCP", f"{what}: defaulted port protocol")


SELECTOR_OBJECTS = {
    "a": {"app": "web", "tier": "a"},
    "b": {"app": "web", "tier": "b", "canary": "true"},
    "c": {"app": "db", "tier": "c"},
    "d": {"app": "web"},
    "x": None,
}


def scenario_selectors(apis):
    core = apis.core
    ns = new_namespace(apis.core, "py-sel")
    for name, labels in SELECTOR_OBJECTS.items():
        core.create_namespaced_config_map(ns, config_map(name, {"k": name}, labels))
    everything = sorted(SELECTOR_OBJECTS)

    def by_labels(selector):
        return names(core.list_namespaced_config_map(ns, label_selector=selector).items)

    def by_fields(selector):
        return names(core.list_namespaced_config_map(ns, field_selector=selector).items)

    check_eq(by_labels("app=web"), ["a", "b", "d"], "label selector app=web")
    check_eq(by_labels("app==web"), ["a", "b", "d"], "label selector app==web")
    check_eq(by_labels("app!=web"), ["c", "x"], "label selector app!=web")
    check_eq(by_labels("tier in (a,b)"), ["a", "b"], "label selector tier in (a,b)")
    check_eq(by_labels("tier notin (a,b)"), ["c", "d", "x"], "label selector tier notin (a,b)")
    check_eq(by_labels("!canary"), ["a", "c", "d", "x"], "label selector !canary")
    check_eq(by_labels("tier"), ["a", "b", "c"], "label selector tier (exists)")
    check_eq(by_labels("app=web,!canary"), ["a", "d"], "label selector app=web,!canary")
    check_eq(by_labels("app=web,tier in (a,b),!canary"), ["a"], "label selector app=web,tier in (a,b),!canary")
    check_eq(by_labels(""), everything, "empty label selector")
    check_eq(by_labels("app=none"), [], "label selector that matches nothing")

    check_eq(by_fields("metadata.name=x"), ["x"], "field selector metadata.name=x")
    check_eq(by_fields("metadata.name==x"), ["x"], "field selector metadata.name==x")
    check_eq(by_fields("metadata.name!=x"), ["a", "b", "c", "d"], "field selector metadata.name!=x")
    check_eq(by_fields(f"metadata.namespace={ns}"), everything, "field selector metadata.namespace")
    check_eq(
        names(core.list_namespaced_config_map(ns, label_selector="app=web", field_selector="metadata.name!=a").items),
        ["b", "d"],
        "label and field selector together",
    )

    # Across namespaces, selectors narrow to this namespace's objects.
    across = core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={ns}", label_selector="tier")
    check_eq(names(across.items), ["a", "b", "c"], "all-namespaces list with selectors")

    e = api_error(core.list_namespaced_config_map, ns, label_selector="tier in (a,b")
    check_status(e, 400, "BadRequest", "malformed label selector")
    # ConfigMaps have no field label conversion of their own: kube's
    # default one names the two it knows.
    e = api_error(core.list_namespaced_config_map, ns, field_selector="data.k=a")
    check_status(
        e,
        400,
        "BadRequest",
        "unsupported field selector",
        '"data.k" is not a known field selector: only "metadata.name", "metadata.namespace"',
    )


def scenario_pagination(apis):
    core = apis.core
    ns = new_namespace(apis.core, "py-page")
    total = 300
    wanted = [f"cm-{i:03d}" for i in range(total)]

    def create(name):
        core.create_namespaced_config_map(ns, config_map(name, {"n": name}, {"page": "yes"}))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, wanted))

    seen = []
    token = None
    pages = 0
    list_rv = None
    while True:
        page = core.list_namespaced_config_map(ns, limit=50, _continue=token)
        pages += 1
        check(pages <= 7, "pagination does not end")
        seen.extend(i.metadata.name for i in page.items)
        meta = page.metadata
        if list_rv is None:
            list_rv = meta.resource_version
            # An object created after the first page is not part of this
            # consistent list.
            core.create_namespaced_config_map(ns, config_map("cm-zzz-late", {"late": "1"}))
        else:
            check_eq(meta.resource_version, list_rv, f"page {pages}: list resourceVersion (one snapshot)")
        if meta._continue:
            check_eq(len(page.items), 50, f"page {pages}: items on a page with a continue token")
            check_eq(meta.remaining_item_count, total - len(seen), f"page {pages}: remainingItemCount")
            token = meta._continue
        else:
            check(
                meta.remaining_item_count in (None, 0),
                f"last page: remainingItemCount {meta.remaining_item_count!r}",
            )
            break
    check_eq(pages, 6, "pages of 50 for 300 objects")
    check_eq(len(seen), len(set(seen)), "no object seen twice")
    check_eq(sorted(seen), wanted, "every object seen exactly once, and nothing newer")
    check_eq(seen, sorted(seen), "pages come in name order")

    # Paging with a label selector: 300 match, then the late one does not.
    seen = []
    token = None
    while True:
        page = core.list_namespaced_config_map(ns, label_selector="page=yes", limit=120, _continue=token)
        seen.extend(i.metadata.name for i in page.items)
        if page.metadata._continue:
            check(len(page.items) == 120, f"selector page of {len(page.items)} items with a continue token")
            # kube cannot count matches cheaply, so it leaves the count out.
            check_eq(page.metadata.remaining_item_count, None, "remainingItemCount with a label selector")
            token = page.metadata._continue
        else:
            break
    check_eq(sorted(seen), wanted, "paging with a label selector")

    # A limit over the total: everything, no continue.
    whole = core.list_namespaced_config_map(ns, limit=1000)
    check_eq(len(whole.items), total + 1, "limit above the count")
    check_eq(whole.metadata._continue, None, "no continue when everything fits")

    # A malformed continue token.
    e = api_error(core.list_namespaced_config_map, ns, limit=50, _continue="not-a-token")
    check_status(e, 400, "BadRequest", "malformed continue token")


class Writer(threading.Thread):
    """Makes changes from another thread, recording each resulting
    (type, name, resourceVersion)."""

    def __init__(self, core, ns, steps):
        super().__init__(daemon=True)
        self.core, self.ns, self.steps = core, ns, steps
        self.done = []
        self.error = None

    def run(self):
        try:
            for step in self.steps:
                self.done.append(step(self.core, self.ns))
                time.sleep(0.05)
        except Exception as e:  # reported by the main thread
            self.error = e


def create_step(name):
    def step(core, ns):
        obj = core.create_namespaced_config_map(ns, config_map(name, {"v": "0"}, {"watched": "yes"}))
        return ("ADDED", name, obj.metadata.resource_version)

    return step


def patch_step(name, value):
    def step(core, ns):
        obj = core.patch_namespaced_config_map(name, ns, {"data": {"v": value}})
        return ("MODIFIED", name, obj.metadata.resource_version)

    return step


def delete_step(name):
    def step(core, ns):
        core.delete_namespaced_config_map(name, ns)
        return ("DELETED", name, None)

    return step


def collect(stream, count, seconds, bookmarks):
    """The next `count` non-bookmark events of a watch (bookmarks go to
    `bookmarks`), within `seconds`."""
    events = []
    deadline = time.monotonic() + seconds
    for event in stream:
        if event["type"] == "BOOKMARK":
            bookmarks.append(event["raw_object"])
        else:
            obj = event["raw_object"]
            events.append((event["type"], obj["metadata"]["name"], obj["metadata"]["resourceVersion"], obj))
        if len(events) >= count or time.monotonic() > deadline:
            break
    return events


def check_events(events, expected, what):
    """Events match the writes (type, name; resourceVersions of creates and
    updates equal what the write returned; every resourceVersion is newer
    than the one before)."""
    got = [(t, n) for t, n, _, _ in events]
    check_eq(got, [(t, n) for t, n, _ in expected], f"{what}: event types and names")
    last = 0
    for (t, n, rv, obj), (_, _, want_rv) in zip(events, expected):
        check(rv.isdigit(), f"{what}: {t} {n} resourceVersion {rv!r}")
        check(int(rv) > last, f"{what}: {t} {n} resourceVersion {rv} not after {last}")
        last = int(rv)
        if want_rv is not None:
            check_eq(rv, want_rv, f"{what}: {t} {n} resourceVersion")
        check_eq(obj.get("kind"), "ConfigMap", f"{what}: {t} {n} object kind")
        check_eq(obj.get("apiVersion"), "v1", f"{what}: {t} {n} object apiVersion")


def check_bookmark(bookmark, not_before, what):
    check_eq(bookmark.get("kind"), "ConfigMap", f"{what}: bookmark kind ({bookmark})")
    check_eq(bookmark.get("apiVersion"), "v1", f"{what}: bookmark apiVersion ({bookmark})")
    rv = (bookmark.get("metadata") or {}).get("resourceVersion", "")
    check(rv.isdigit() and int(rv) >= not_before, f"{what}: bookmark resourceVersion {rv!r} before {not_before}")
    check("data" not in bookmark, f"{what}: a bookmark carries only metadata ({bookmark})")


def scenario_watch(apis):
    core = apis.core
    ns = new_namespace(apis.core, "py-watch")
    core.create_namespaced_config_map(ns, config_map("before", {"v": "0"}, {"watched": "yes"}))
    listed = core.list_namespaced_config_map(ns)
    check_eq(names(listed.items), ["before"], "list before the watch")
    start_rv = listed.metadata.resource_version
    bookmarks_expected = os.environ.get("MARS_BOOKMARKS") == "1"

    # The client sends booleans as `watch=True`; kube parses query booleans
    # with Go's strconv.ParseBool (true, True, TRUE, t, 1, ...).
    raw = core.list_namespaced_config_map(
        ns, watch=True, resource_version=start_rv, timeout_seconds=1, _preload_content=False
    )
    body = raw.data.decode()
    check(
        '"kind":"ConfigMapList"' not in body.replace(" ", ""),
        f"the server answered ?watch=True with a list instead of a watch stream: {body[:200]}",
    )

    # Watch 1, from the list's resourceVersion, while another thread writes.
    writer = Writer(core, ns, [create_step("w1"), patch_step("w1", "1"), create_step("w2"), delete_step("w1")])
    w = watch.Watch()
    stream = w.stream(
        core.list_namespaced_config_map,
        ns,
        resource_version=start_rv,
        allow_watch_bookmarks=True,
        timeout_seconds=30,
    )
    writer.start()
    bookmarks = []
    events = collect(stream, 4, 20, bookmarks)
    writer.join(10)
    check(writer.error is None, f"writer thread failed: {writer.error}")
    check_events(events, writer.done, "watch 1")
    check_eq(events[2][3]["data"], {"v": "0"}, "watch 1: ADDED w2 object data")
    check_eq(events[1][3]["data"], {"v": "1"}, "watch 1: MODIFIED w1 object data")
    check_eq(events[3][3]["data"], {"v": "1"}, "watch 1: DELETED w1 carries the last state")
    last_rv = events[-1][2]

    if bookmarks_expected:
        # The server was started with a short bookmark interval: an idle
        # watch that allows bookmarks gets one, at or after the last event.
        w_idle = collect_bookmark(stream, 10)
        check(w_idle is not None, "watch 1: no BOOKMARK within 10 s of idling (bookmark interval is 1 s)")
        check_bookmark(w_idle, int(last_rv), "watch 1")
    for b in bookmarks:
        check_bookmark(b, int(start_rv), "watch 1")
    w.stop()
    stream.close()

    # Changes while nobody watches.
    gap = Writer(core, ns, [patch_step("w2", "2"), create_step("w3"), delete_step("w2")])
    gap.run()
    check(gap.error is None, f"writes between the watches failed: {gap.error}")

    # Watch 2 resumes from the last event seen: exactly the later changes.
    w2 = watch.Watch()
    stream2 = w2.stream(
        core.list_namespaced_config_map,
        ns,
        resource_version=last_rv,
        allow_watch_bookmarks=True,
        timeout_seconds=30,
    )
    bookmarks = []
    events = collect(stream2, 3, 20, bookmarks)
    check_events(events, gap.done, "watch 2 (resumed)")
    check(int(events[0][2]) > int(last_rv), "watch 2 replays nothing at or before its resourceVersion")
    # Nothing else is queued: the next change is the next event.
    marker = core.create_namespaced_config_map(ns, config_map("marker", {"v": "m"}))
    events = collect(stream2, 1, 20, bookmarks)
    check_eq(
        [(t, n, rv) for t, n, rv, _ in events],
        [("ADDED", "marker", marker.metadata.resource_version)],
        "watch 2: the event after the resumed ones",
    )
    for b in bookmarks:
        check_bookmark(b, int(last_rv), "watch 2")
    w2.stop()
    stream2.close()

    # A label-selected watch sees an object leave its selection as DELETED
    # and enter it as ADDED.
    rv = core.list_namespaced_config_map(ns, label_selector="watched=yes").metadata.resource_version
    w3 = watch.Watch()
    stream3 = w3.stream(
        core.list_namespaced_config_map,
        ns,
        label_selector="watched=yes",
        resource_version=rv,
        timeout_seconds=30,
    )
    core.patch_namespaced_config_map("w3", ns, {"metadata": {"labels": {"watched": "no"}}})
    core.patch_namespaced_config_map("marker", ns, {"metadata": {"labels": {"watched": "yes"}}})
    events = collect(stream3, 2, 20, [])
    check_eq(
        [(t, n) for t, n, _, _ in events],
        [("DELETED", "w3"), ("ADDED", "marker")],
        "selector watch: leaving and entering the selection",
    )
    w3.stop()
    stream3.close()

    # A watch with timeout_seconds ends by itself.
    begun = time.monotonic()
    leftover = list(
        watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=marker.metadata.resource_version, timeout_seconds=2)
    )
    took = time.monotonic() - begun
    check(1.5 <= took <= 10, f"watch with timeout_seconds=2 lasted {took:.1f} s")
    check(
        all(e["type"] in ("MODIFIED", "BOOKMARK") for e in leftover),
        f"timed watch: unexpected events {[(e['type'], e['raw_object'].get('metadata', {}).get('name')) for e in leftover]}",
    )


def collect_bookmark(stream, seconds):
    deadline = time.monotonic() + seconds
    for event in stream:
        if event["type"] == "BOOKMARK":
            return event["raw_object"]
        if time.monotonic() > deadline:
            return None
    return None


def scenario_gone(apis):
    core = apis.core
    ns = new_namespace(apis.core, "py-gone")
    core.create_namespaced_config_map(ns, config_map("old", {"v": "0"}))
    old_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    for i in range(5):
        core.patch_namespaced_config_map("old", ns, {"data": {"v": str(i + 1)}})

    # The harness compacts the history and restarts the server.
    print("@@MARS compact-restart", flush=True)
    reply = sys.stdin.readline().strip()
    check_eq(reply, "ok", "harness reply to compact-restart")
    wait_ready(core, ns)

    # A list at an exact, compacted resourceVersion: 410 Expired.
    e = api_error(core.list_namespaced_config_map, ns, resource_version=old_rv, resource_version_match="Exact")
    check_status(e, 410, "Expired", "list at a compacted resourceVersion")

    # The client gives up on a watch with timeout_seconds at the first 410.
    try:
        events = list(
            watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=old_rv, timeout_seconds=5)
        )
        raise Failure(f"watch from compacted resourceVersion {old_rv} gave events {events} instead of 410")
    except ApiException as e:
        check_eq(e.status, 410, f"watch from a too-old resourceVersion: status ({e})")
        check(
            str(e.reason).startswith("Expired: too old resource version"),
            f"watch from a too-old resourceVersion: reason {e.reason!r}",
        )

    # Without timeout_seconds the client retries once, then raises 410.
    try:
        for event in watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=old_rv):
            raise Failure(f"watch from compacted resourceVersion {old_rv} gave event {event['type']}")
    except ApiException as e:
        check_eq(e.status, 410, f"watch (retrying once) from a too-old resourceVersion: status ({e})")

    # Recovery: relist, then watch from the new list's resourceVersion.
    listed = core.list_namespaced_config_map(ns)
    check_eq(names(listed.items), ["old"], "relist after 410")
    check_eq(listed.items[0].data, {"v": "5"}, "relisted state")
    w = watch.Watch()
    stream = w.stream(
        core.list_namespaced_config_map, ns, resource_version=listed.metadata.resource_version, timeout_seconds=20
    )
    fresh = core.create_namespaced_config_map(ns, config_map("fresh", {"v": "0"}))
    events = collect(stream, 1, 15, [])
    check_eq(
        [(t, n, rv) for t, n, rv, _ in events],
        [("ADDED", "fresh", fresh.metadata.resource_version)],
        "watch from the relisted resourceVersion",
    )
    w.stop()
    stream.close()


def wait_ready(core, ns):
    deadline = time.monotonic() + 20
    while True:
        try:
            core.list_namespaced_config_map(ns, limit=1)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


SCENARIOS = {
    "version": scenario_version,
    "configmap-crud": scenario_configmap_crud,
    "deployment-crud": scenario_deployment_crud,
    "deployment-defaults": scenario_deployment_defaults,
    "selectors": scenario_selectors,
    "pagination": scenario_pagination,
    "watch": scenario_watch,
    "gone": scenario_gone,
}


class Apis:
    def __init__(self):
        self.core = client.CoreV1Api()
        self.apps = client.AppsV1Api()
        # The generated patch methods send a dict as a strategic merge patch
        # and a list as a JSON patch; a default header is how a caller of
        # this client sends an RFC 7386 merge patch instead.
        merge = client.ApiClient()
        merge.set_default_header("Content-Type", "application/merge-patch+json")
        self.core_merge = client.CoreV1Api(merge)
        self.apps_merge = client.AppsV1Api(merge)


def main(argv):
    wanted = argv[1:] or [s for s in SCENARIOS if s != "gone"]
    unknown = [s for s in wanted if s not in SCENARIOS]
    if unknown:
        print(f"unknown scenarios {unknown}; known: {list(SCENARIOS)}", file=sys.stderr)
        return 2
    import kubernetes

    print(f"kubernetes client {kubernetes.__version__}, python {sys.version.split()[0]}", flush=True)
    config.load_kube_config()
    apis = Apis()
    failed = []
    for name in wanted:
        begun = time.monotonic()
        try:
            SCENARIOS[name](apis)
            print(f"PASS {name} ({time.monotonic() - begun:.1f} s)", flush=True)
        except Exception as e:  # every failure, assertion or client error
            failed.append(name)
            print(f"FAIL {name}: {e}", flush=True)
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
    print(f"python client suite: {len(wanted) - len(failed)} of {len(wanted)} scenarios passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
