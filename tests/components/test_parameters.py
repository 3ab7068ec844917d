"""`ParameterHierarchy` through the offline engine: names, types, tier, tags, refusals."""

from __future__ import annotations

import pytest

from osp.components import ParameterHierarchy, ParameterHierarchyArgs, ParameterValue
from osp.components.parameters import ParameterType, branch, problems
from osp.platform.validation import InvalidArguments
from tests.support import plan_component

PARAMETER = "aws:ssm/parameter:Parameter"
TAGS = {"osp:environment": "prod", "osp:component": "parameters"}
FLAGS = ParameterValue(
    owner="fee",
    name="feature-flags",
    type=ParameterType.STRING_LIST,
    value="instalments,late-fees",
    description="Fee features switched on",
)
SHARED = ParameterValue(
    owner="shared",
    name="support-email",
    type=ParameterType.STRING,
    value="help@example.edu",
    description="Where the portals send people",
)


def args(**overrides) -> ParameterHierarchyArgs:
    return ParameterHierarchyArgs(
        **{"root": "/osp/prod", "parameters": [FLAGS, SHARED], "tags": TAGS, **overrides}
    )


@pytest.fixture(scope="module")
def plan():
    return plan_component(
        ParameterHierarchy, args(), name="osp-prod-parameters", exports=("paths",)
    )


def test_one_parameter_each_under_its_owners_branch(plan):
    assert plan.named("osp-prod-parameters").type == "osp:parameters:ParameterHierarchy"
    assert {r.name: r.inputs["name"] for r in plan.of_type(PARAMETER)} == {
        "osp-prod-parameters-fee-feature-flags": "/osp/prod/services/fee/feature-flags",
        "osp-prod-parameters-shared-support-email": "/osp/prod/shared/support-email",
    }
    assert [r.type for r in plan.resources if r.custom] == [PARAMETER, PARAMETER]


def test_types_values_tier_and_descriptions(plan):
    assert {
        r.inputs["name"]: (
            r.inputs["type"],
            r.inputs["insecureValue"],
            r.inputs["tier"],
            r.inputs["dataType"],
            r.inputs["description"],
        )
        for r in plan.of_type(PARAMETER)
    } == {
        "/osp/prod/services/fee/feature-flags": (
            "StringList", "instalments,late-fees", "Standard", "text", "Fee features switched on"
        ),
        "/osp/prod/shared/support-email": (
            "String", "help@example.edu", "Standard", "text", "Where the portals send people"
        ),
    }  # fmt: skip


def test_never_a_secure_string_and_never_a_key(plan):
    for parameter in plan.of_type(PARAMETER):
        assert parameter.inputs["type"] != "SecureString"
        assert "keyId" not in parameter.inputs and "value" not in parameter.inputs


def test_tagged(plan):
    for parameter in plan.of_type(PARAMETER):
        assert parameter.inputs["tags"] == {"Name": parameter.name} | TAGS


def test_paths_by_owner(plan):
    assert plan.outputs["paths"] == {
        "fee": "/osp/prod/services/fee",
        "shared": "/osp/prod/shared",
    }
    assert branch("/osp/dev", "identity") == "/osp/dev/services/identity"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"root": "osp/prod"},
            "root: got 'osp/prod'; expected a path such as /osp/prod: segments of lower-case "
            "letters, digits and '-'",
        ),
        (
            {"root": "/osp/prod/"},
            "root: got '/osp/prod/'; expected a path such as /osp/prod: segments of lower-case "
            "letters, digits and '-'",
        ),
        (
            {"parameters": [FLAGS, FLAGS]},
            "parameters[1].name: got 'feature-flags'; expected each name once per owner",
        ),
        (
            {"parameters": [ParameterValue(**{**FLAGS.__dict__, "type": "SecureString"})]},
            "parameters[0].type: got 'SecureString'; expected String or StringList (a secret "
            "belongs in Secrets Manager, not in a SecureString)",
        ),
        (
            {"parameters": [ParameterValue(**{**FLAGS.__dict__, "value": ""})]},
            "parameters[0].value: got ''; expected a non-empty value of at most 4096 bytes "
            "without '{{' (SSM reads it as a reference)",
        ),
        (
            {"parameters": [ParameterValue(**{**FLAGS.__dict__, "value": "x" * 4097})]},
            f"parameters[0].value: got '{'x' * 4097}'; expected a non-empty value of at most "
            "4096 bytes without '{{' (SSM reads it as a reference)",
        ),
        (
            {"parameters": [ParameterValue(**{**FLAGS.__dict__, "value": "{{resolve:x}}"})]},
            "parameters[0].value: got '{{resolve:x}}'; expected a non-empty value of at most "
            "4096 bytes without '{{' (SSM reads it as a reference)",
        ),
        (
            {"parameters": [ParameterValue(**{**FLAGS.__dict__, "owner": "Fee"})]},
            "parameters[0].owner: got 'Fee'; expected",
        ),
        (
            {"parameters": [ParameterValue(**{**FLAGS.__dict__, "name": "a/b"})]},
            "parameters[0].name: got 'a/b'; expected",
        ),
        (
            {"parameters": [ParameterValue(**{**FLAGS.__dict__, "description": ""})]},
            "parameters[0].description: got ''; expected a description of 1-1024 characters",
        ),
    ],
)
def test_refuses_bad_args(overrides, message):
    found = problems("p", args(**overrides))
    assert len(found) == 1
    assert found[0].startswith(f"ParameterHierarchy p: {message}")


def test_refusal_through_the_constructor():
    with pytest.raises(InvalidArguments, match="root: got 'x'"):
        plan_component(ParameterHierarchy, args(root="x"), name="p")
