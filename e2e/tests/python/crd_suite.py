#!/usr/bin/env python3
"""CustomResourceDefinitions through the official Python `kubernetes` client.

Run by e2e/tests/crds.rs with KUBECONFIG pointing at a fresh `mars server`'s
admin kubeconfig and CRD_FIXTURE at tests/fixtures/crds/crontab-crd.yaml;
usable by hand too:

    KUBECONFIG=D/kubeconfig.yaml CRD_FIXTURE=F python3 crd_suite.py

Every step asserts what a real kube-apiserver answers; the first failure
ends the run with exit status 1 and what differed.
"""

import os
import sys
import time
import traceback
import uuid

import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from checks import Failure, api_error, check, check_eq

GROUP = "stable.example.com"
VERSION = "v1"
PLURAL = "crontabs"
CRD_NAME = f"{PLURAL}.{GROUP}"


def step(name):
    print(f"-- {name}", flush=True)


def crontab(namespace, name, **spec):
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "CronTab",
        "metadata": {"name": name, "namespace": namespace, "labels": {"team": "python"}},
        "spec": {"cronSpec": "*/5 * * * *", "image": "registry.example.com/job:1.0", "size": 1},
    }
    body["spec"].update(spec)
    return body


def condition(crd, kind):
    conditions = (crd.status and crd.status.conditions) or []
    return next((c for c in conditions if c.type == kind), None)


def wait_established(ext, seconds=10):
    deadline = time.monotonic() + seconds
    while True:
        crd = ext.read_custom_resource_definition(CRD_NAME)
        established = condition(crd, "Established")
        if established is not None and established.status == "True":
            return crd
        check(time.monotonic() < deadline, f"{CRD_NAME} not Established within {seconds} s: {crd.status}")
        time.sleep(0.05)


def run(fixture):
    ext = client.ApiextensionsV1Api()
    core = client.CoreV1Api()
    custom = client.CustomObjectsApi()

    step("create the CRD with ApiextensionsV1Api")
    with open(fixture) as f:
        manifest = yaml.safe_load(f)
    created = ext.create_custom_resource_definition(manifest)
    check_eq(created.metadata.name, CRD_NAME, "created CRD name")
    check_eq(created.spec.names.kind, "CronTab", "created CRD kind")
    check_eq([v.name for v in created.spec.versions], ["v1", "v1beta1"], "created CRD versions")
    check(created.metadata.uid, "the created CRD has a uid")
    check_eq(created.spec.conversion.strategy, "None", "defaulted conversion strategy")

    step("read the CRD back until Established; its conditions and accepted names")
    crd = wait_established(ext)
    names_accepted = condition(crd, "NamesAccepted")
    check(names_accepted is not None, f"no NamesAccepted condition: {crd.status.conditions}")
    check_eq(names_accepted.status, "True", "NamesAccepted status")
    check_eq(names_accepted.reason, "NoConflicts", "NamesAccepted reason")
    established = condition(crd, "Established")
    check_eq(established.reason, "InitialNamesAccepted", "Established reason")
    check(established.last_transition_time is not None, "Established has a lastTransitionTime")
    check_eq(crd.status.accepted_names.kind, "CronTab", "acceptedNames.kind")
    check_eq(crd.status.accepted_names.list_kind, "CronTabList", "acceptedNames.listKind")
    check_eq(crd.status.accepted_names.short_names, ["ct"], "acceptedNames.shortNames")
    check_eq(crd.status.accepted_names.categories, ["all-crontabs"], "acceptedNames.categories")
    check_eq(crd.status.stored_versions, ["v1"], "storedVersions")
    listed = ext.list_custom_resource_definition(field_selector=f"metadata.name={CRD_NAME}")
    check_eq([c.metadata.name for c in listed.items], [CRD_NAME], "CRDs listed by name")

    ns = f"py-crd-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))

    step("create, get and list custom objects with CustomObjectsApi")
    body = crontab(ns, "backup", replicas=1, color="green", tags=["db"], port=5432)
    made = custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    check_eq(made["kind"], "CronTab", "created kind")
    check_eq(made["apiVersion"], f"{GROUP}/{VERSION}", "created apiVersion")
    check_eq(made["metadata"]["generation"], 1, "created generation")
    check(made["metadata"].get("uid"), "created object has a uid")
    check(made["metadata"].get("resourceVersion"), "created object has a resourceVersion")
    got = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "backup")
    check_eq(got["spec"], body["spec"], "spec read back")
    check_eq(got["metadata"]["uid"], made["metadata"]["uid"], "uid read back")
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, crontab(ns, "report", size=3))
    items = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)
    check_eq(items["kind"], "CronTabList", "list kind")
    check_eq(sorted(i["metadata"]["name"] for i in items["items"]), ["backup", "report"], "listed names")
    everywhere = custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
    check_eq(len(everywhere["items"]), 2, "objects listed across namespaces")
    selected = custom.list_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, label_selector="team=python", limit=1
    )
    check_eq(len(selected["items"]), 1, "one item per page")
    check(selected["metadata"].get("continue"), "a continue token for the second page")

    step("the deprecated version reads the same object")
    beta = custom.get_namespaced_custom_object(GROUP, "v1beta1", ns, PLURAL, "backup")
    check_eq(beta["apiVersion"], f"{GROUP}/v1beta1", "apiVersion through v1beta1")
    check_eq(beta["spec"]["cronSpec"], body["spec"]["cronSpec"], "spec through v1beta1")

    step("patch (merge), patch status, read and patch scale")
    patched = custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "backup", {"spec": {"image": "registry.example.com/job:1.1"}}
    )
    check_eq(patched["spec"]["image"], "registry.example.com/job:1.1", "patched image")
    check_eq(patched["spec"]["tags"], ["db"], "merge patch keeps other fields")
    check_eq(patched["metadata"]["generation"], 2, "generation after a spec patch")
    status = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, ns, PLURAL, "backup",
        {"status": {"replicas": 1, "selector": "team=python", "phase": "Active"}},
    )
    check_eq(status["status"]["phase"], "Active", "status patched through /status")
    check_eq(status["metadata"]["generation"], 2, "a status patch leaves generation alone")
    ignored = custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "backup", {"status": {"phase": "Hacked"}}
    )
    check_eq(ignored["status"]["phase"], "Active", "the main resource ignores status")
    scale = custom.get_namespaced_custom_object_scale(GROUP, VERSION, ns, PLURAL, "backup")
    check_eq(scale["kind"], "Scale", "scale kind")
    check_eq(scale["apiVersion"], "autoscaling/v1", "scale apiVersion")
    check_eq(scale["spec"]["replicas"], 1, "scale spec.replicas")
    check_eq(scale["status"], {"replicas": 1, "selector": "team=python"}, "scale status")
    custom.patch_namespaced_custom_object_scale(
        GROUP, VERSION, ns, PLURAL, "backup", {"spec": {"replicas": 4}}
    )
    after = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "backup")
    check_eq(after["spec"]["replicas"], 4, "spec.replicas after scaling")

    step("replace with a stale resourceVersion is a conflict")
    stale = dict(got)
    stale["spec"] = dict(got["spec"], size=7)
    e = api_error(custom.replace_namespaced_custom_object, GROUP, VERSION, ns, PLURAL, "backup", stale)
    check_eq(e.status, 409, "stale replace status")
    check_eq(e.status_body.get("reason"), "Conflict", "stale replace reason")

    step("unknown fields are pruned")
    pruned = custom.create_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, crontab(ns, "pruned", bogus="x")
    )
    check("bogus" not in pruned["spec"], f"spec.bogus should have been pruned: {pruned['spec']}")

    step("watch: ADDED, MODIFIED and DELETED events")
    rv = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["metadata"]["resourceVersion"]
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, crontab(ns, "watched"))
    custom.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "watched", {"spec": {"size": 2}})
    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "watched")
    events = []
    w = watch.Watch()
    for event in w.stream(
        custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL,
        resource_version=rv, timeout_seconds=10,
    ):
        obj = event["object"]
        events.append((event["type"], obj["metadata"]["name"], obj.get("spec", {}).get("size")))
        if event["type"] == "DELETED":
            w.stop()
    check_eq(
        events,
        [("ADDED", "watched", 1), ("MODIFIED", "watched", 2), ("DELETED", "watched", 2)],
        "watch events from the list's resourceVersion",
    )

    step("a live watch sees an object created after it started")
    rv = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["metadata"]["resourceVersion"]
    w = watch.Watch()
    stream = w.stream(
        custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL,
        resource_version=rv, timeout_seconds=10,
    )
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, crontab(ns, "late"))
    first = next(stream)
    w.stop()
    check_eq((first["type"], first["object"]["metadata"]["name"]), ("ADDED", "late"), "live watch event")

    step("delete, then get is kube's NotFound")
    deleted = custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "report")
    check_eq(deleted.get("kind"), "Status", "delete reply kind")
    check_eq(deleted.get("status"), "Success", "delete reply status")
    e = api_error(custom.get_namespaced_custom_object, GROUP, VERSION, ns, PLURAL, "report")
    check_eq(e.status, 404, "get after delete status")
    check_eq(e.status_body.get("reason"), "NotFound", "get after delete reason")
    check_eq(
        e.status_body.get("message"), f'{PLURAL}.{GROUP} "report" not found', "get after delete message"
    )
    check_eq(
        e.status_body.get("details"), {"name": "report", "group": GROUP, "kind": PLURAL}, "details"
    )

    step("delete the CRD; its objects and its API go with it")
    ext.delete_custom_resource_definition(CRD_NAME)
    deadline = time.monotonic() + 10
    while True:
        try:
            ext.read_custom_resource_definition(CRD_NAME)
        except ApiException as e:
            check_eq(e.status, 404, "reading the deleted CRD")
            break
        check(time.monotonic() < deadline, "the CRD was not gone within 10 s")
        time.sleep(0.05)
    e = api_error(custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL)
    check_eq(e.status, 404, "listing a deleted CRD's objects")


def main():
    import kubernetes

    print(f"kubernetes client {kubernetes.__version__}, python {sys.version.split()[0]}", flush=True)
    config.load_kube_config()
    fixture = os.environ["CRD_FIXTURE"]
    begun = time.monotonic()
    try:
        run(fixture)
    except Exception as e:  # every failure, assertion or client error
        print(f"FAIL: {e}", flush=True)
        traceback.print_exc(file=sys.stdout)
        return 1
    print(f"PASS crd suite ({time.monotonic() - begun:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
