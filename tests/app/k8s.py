"""The Kubernetes objects of a plan, as manifests, checked against the Kubernetes schema.

`manifests(plan)` turns every Kubernetes resource a plan registers into the manifest the
provider would send: apiVersion and kind from the type token
(`kubernetes:networking.k8s.io/v1:NetworkPolicy` → `networking.k8s.io/v1`, `NetworkPolicy`),
then the recorded inputs. `validate_all(plan, version)` validates each built-in object with
kubernetes-validate in strict mode (unknown fields are errors) for the cluster's Kubernetes
version and reports every failure at once.

Not validated, by design:
- Helm releases, yaml/kustomize groups and `…Patch` resources: they are not manifests (a
  release's objects come from its chart; a patch is partial).
- Instances of custom resources (any API group outside Kubernetes' own, such as
  `elbv2.k8s.aws` TargetGroupBindings): kubernetes-validate ships only the built-in schemas.
  They are returned by `custom_resources(plan)` so tests can check them by hand.

`on_cluster(Component)` is the factory `tests.support.plan_component` takes for an application
building block: the block with a Kubernetes provider of its own, as the estate gives it the
cluster's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
from kubernetes_validate import utils as kv_utils

from osp.platform.plan import Plan, PlannedResource

PROVIDER_TYPE = "pulumi:providers:kubernetes"

#: Kubernetes "modules" of the type token that hold no manifests.
_NOT_MANIFEST_MODULES = ("helm.sh/", "yaml/", "kustomize/")

#: The NetworkPolicy egress rule to CoreDNS that every osp pod's policy starts with.
DNS_EGRESS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}

#: Values the offline engine records in place of secrets and unknowns.
SECRET = "<secret>"
UNKNOWN = "<unknown>"


def api_version_and_kind(type_token: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` → ("apps/v1", "Deployment"); the core group has no
    group part (`kubernetes:core/v1:Service` → ("v1", "Service"))."""
    package, module, kind = type_token.split(":")
    if package != "kubernetes":
        raise ValueError(f"not a Kubernetes type token: {type_token!r}")
    group, _, version = module.rpartition("/")
    return (version if group == "core" else module), kind


def is_manifest(resource: PlannedResource) -> bool:
    """Whether `resource` is a Kubernetes object the provider applies as one manifest."""
    if not resource.custom or not resource.type.startswith("kubernetes:"):
        return False
    _, module, kind = resource.type.split(":")
    return not module.startswith(_NOT_MANIFEST_MODULES) and not kind.endswith("Patch")


def is_builtin(api_version: str) -> bool:
    """Whether `api_version` belongs to Kubernetes itself (core, `apps`, `*.k8s.io`, …) and so
    has a schema in kubernetes-validate; anything else is a custom resource."""
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def manifest(resource: PlannedResource) -> dict[str, Any]:
    """The manifest of one Kubernetes resource of a plan."""
    api_version, kind = api_version_and_kind(resource.type)
    body = dict(resource.inputs)
    for key, expected in (("apiVersion", api_version), ("kind", kind)):
        if body.get(key, expected) != expected:
            raise AssertionError(
                f"{resource.urn}: {key} {body[key]!r} does not match its type {resource.type}"
            )
    return {"apiVersion": api_version, "kind": kind, **body}


def manifests(plan: Plan) -> list[dict[str, Any]]:
    """Every Kubernetes object of `plan` as a manifest (custom resources included), in URN
    order."""
    return [manifest(r) for r in plan.resources if is_manifest(r)]


def custom_resources(plan: Plan) -> list[dict[str, Any]]:
    """The manifests of custom-resource instances (not validated by `validate_all`)."""
    return [m for m in manifests(plan) if not is_builtin(m["apiVersion"])]


def schema_version(version: str) -> str:
    """The kubernetes-validate schema for Kubernetes `version` ("1.33" or "1.33.4"): the same
    minor, or an error listing those it ships (never silently an older one)."""
    parts = version.removeprefix("v").split(".")
    wanted = f"{parts[0]}.{parts[1]}.0"
    shipped = kv_utils.all_versions()
    if wanted not in shipped:
        minors = sorted(
            {v.rsplit(".", 1)[0] for v in shipped}, key=lambda v: tuple(map(int, v.split(".")))
        )
        raise LookupError(
            f"kubernetes-validate {kubernetes_validate.__version__} has no schema for "
            f"Kubernetes {version}; it ships {', '.join(minors)}"
        )
    return wanted


def _where(manifest_: dict[str, Any]) -> str:
    meta = manifest_.get("metadata") or {}
    namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{manifest_['kind']} {namespace}{meta.get('name', '<unnamed>')}"


def validate(manifest_: dict[str, Any], version: str) -> str | None:
    """None if `manifest_` is valid for Kubernetes `version` in strict mode, else why not."""
    try:
        kubernetes_validate.validate(manifest_, schema_version(version), strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(p) for p in error.path) or "<root>"
        return f"{_where(manifest_)}: {path}: {error.message}"
    except kubernetes_validate.SchemaNotFoundError as error:
        return f"{_where(manifest_)}: {error.message} (a removed or misspelt API version?)"
    return None


def validate_manifests(manifests_: Iterable[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    """Validate built-in objects; AssertionError listing every failure. Returns those checked."""
    checked, failures = [], []
    for item in manifests_:
        if not is_builtin(item["apiVersion"]):
            continue
        problem = validate(item, version)
        if problem:
            failures.append(problem)
        checked.append(item)
    if failures:
        raise AssertionError(
            f"{len(failures)} Kubernetes object(s) invalid for {version} (strict):\n"
            + "\n".join(failures)
        )
    return checked


def validate_all(plan: Plan, version: str) -> list[dict[str, Any]]:
    """Validate every built-in Kubernetes object of `plan` for Kubernetes `version` (strict).

    Raises AssertionError listing every invalid object; returns the manifests validated, so a
    caller can also assert that there were some.
    """
    return validate_manifests(manifests(plan), version)


def secrets_in(manifest_: Any) -> list[str]:
    """Paths inside `manifest_` whose value the engine recorded as a secret."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if value == SECRET:
            found.append(path or "<root>")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(manifest_, "")
    return found


def dumps(manifests_: Iterable[dict[str, Any]]) -> str:
    """Manifests as JSON text, for a readable assertion message."""
    return json.dumps(list(manifests_), indent=2, sort_keys=True)


def on_cluster(
    component: Callable[..., pulumi.Resource], *, namespace: str | None = None
) -> Callable[..., pulumi.Resource]:
    """A factory for `plan_component`: `component(name, args)` given a Kubernetes provider by
    package (`providers=[…]`, as stacks/services.py passes the cluster's), created in the
    program as Pulumi requires. With `namespace`, the component also depends on a Namespace of
    that name, as the services' blocks depend on the add-ons' namespace."""

    def build(name: str, args: object, opts: pulumi.ResourceOptions | None = None):
        provider = k8s.Provider("k8s", kubeconfig="{}")
        depends_on = None
        if namespace is not None:
            depends_on = [
                k8s.core.v1.Namespace(
                    "namespace",
                    metadata={"name": namespace},
                    opts=pulumi.ResourceOptions(provider=provider),
                )
            ]
        on_provider = pulumi.ResourceOptions(providers=[provider], depends_on=depends_on)
        return component(name, args, pulumi.ResourceOptions.merge(on_provider, opts))

    build.__name__ = component.__name__
    return build
