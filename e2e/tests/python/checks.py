"""Assertions the Python client suites share: failures that say what was
expected, and API errors with their Status bodies parsed."""

import json

from kubernetes import client
from kubernetes.client.rest import ApiException


class Failure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def check_eq(actual, expected, what):
    if actual != expected:
        raise Failure(f"{what}: expected {expected!r}, got {actual!r}")


def api_error(fn, *args, **kwargs):
    """Calls fn, which must fail with an ApiException; returns it with its
    body parsed as a metav1.Status (`e.status_body`)."""
    try:
        result = fn(*args, **kwargs)
    except ApiException as e:
        try:
            e.status_body = json.loads(e.body) if e.body else {}
        except (ValueError, TypeError):
            e.status_body = {"unparsed": e.body}
        return e
    raise Failure(f"{fn.__name__} should have failed but returned {short(result)}")


def check_status(e, code, reason, what, message=None):
    """An ApiException whose HTTP status and metav1.Status body are kube's."""
    check_eq(e.status, code, f"{what}: HTTP status")
    body = e.status_body
    check_eq(body.get("kind"), "Status", f"{what}: body kind (body {body})")
    check_eq(body.get("apiVersion"), "v1", f"{what}: body apiVersion (body {body})")
    check_eq(body.get("status"), "Failure", f"{what}: body status (body {body})")
    check_eq(body.get("reason"), reason, f"{what}: body reason (body {body})")
    check_eq(body.get("code"), code, f"{what}: body code (body {body})")
    if message is not None:
        check_eq(body.get("message"), message, f"{what}: body message")


def short(obj):
    try:
        text = json.dumps(client.ApiClient().sanitize_for_serialization(obj))
    except Exception:
        text = repr(obj)
    return text if len(text) < 400 else text[:400] + "..."
