"""The plan JSON: schema version 1, as documented in README.md."""

from __future__ import annotations

import json

import pytest

from tests.support import ENVIRONMENTS, plan_of

RESOURCE_KEYS = [
    "urn", "type", "name", "parent", "custom", "provider",
    "dependencies", "propertyDependencies", "options", "inputs",
]  # fmt: skip


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_plan_json_has_the_documented_shape(environment):
    document = json.loads(plan_of(environment).dumps())
    assert list(document) == [
        "schemaVersion", "project", "environment", "stack", "blueprint",
        "engine", "resources", "outputs",
    ]  # fmt: skip
    assert document["schemaVersion"] == 1
    assert document["project"] == "osp"
    assert document["environment"] == document["stack"] == environment
    assert document["blueprint"] == "osp"
    assert document["engine"] == "offline"
    urns = [r["urn"] for r in document["resources"]]
    assert urns == sorted(urns) and len(set(urns)) == len(urns)
    for resource in document["resources"]:
        assert list(resource) == RESOURCE_KEYS
        assert list(resource["options"]) == [
            "protect", "retainOnDelete", "ignoreChanges", "deleteBeforeReplace",
        ]  # fmt: skip
        assert resource["parent"] is None or resource["parent"] in urns
        assert all(dep in urns for dep in resource["dependencies"])
        assert list(resource["inputs"]) == sorted(resource["inputs"])


def test_plan_navigation():
    plan = plan_of("dev")
    (stack,) = plan.children(None)
    components = {r.type for r in plan.children(stack.urn)}
    assert "osp:network:Network" in components
    assert {r.urn for r in plan.descendants(stack.urn)} == {
        r.urn for r in plan.resources if r is not stack
    }
    assert plan.component_count == sum(1 for r in plan.resources if r.is_component)
    # Components nest: a portal's bucket is a component inside the portal's.
    site = plan.named("osp-dev-student-portal")
    assert "osp:storage:Bucket" in {r.type for r in plan.children(site.urn)}
    assert plan.custom_count == len(plan.resources) - 1 - plan.component_count
    assert plan.type_counts()["aws:ec2/subnet:Subnet"] == 6
