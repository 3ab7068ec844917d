"""`Registry` through the offline engine: repositories, immutability, scanning, lifecycle."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from osp.components.registry import Registry, RegistryArgs, lifecycle_policy, problems
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from tests.support import plan_component, spec_of

TAGS = {"osp:environment": "t", "osp:component": "registry", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
KEY = "arn:aws:kms:us-east-1:123456789012:key/storage"
ACCOUNT = "123456789012"
SERVICES = ("identity", "fee-management", "payment")
REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"


def registry_args(**overrides) -> RegistryArgs:
    return RegistryArgs(
        **{
            "prefix": "osp-t",
            "services": SERVICES,
            "deletion_protection": False,
            "tags": TAGS,
            **overrides,
        }
    )


def plan_registry(name: str = "osp-t-registry", **overrides):
    return plan_component(
        Registry,
        registry_args(**overrides),
        name=name,
        exports=("repository_urls", "repository_arns"),
    )


@pytest.fixture(scope="module")
def dev():
    return plan_registry()


@pytest.fixture(scope="module")
def prod():
    return plan_registry(
        deletion_protection=True, kms_key_arn=KEY, keep_tagged_images=50, untagged_expiry_days=3
    )


def repositories(plan):
    found = {r.inputs["name"]: r for r in plan.of_type(REPOSITORY)}
    assert found, "no repository in the plan"
    return found


def rules(plan, service):
    policy = plan.named(f"osp-t-registry-{service}-lifecycle").inputs["policy"]
    return {r["rulePriority"]: r for r in json.loads(policy)["rules"]}


# -- children --------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_children(fixture, request):
    plan = request.getfixturevalue(fixture)
    assert Counter(r.type for r in plan.resources if r.custom) == {REPOSITORY: 3, LIFECYCLE: 3}
    component = plan.named("osp-t-registry")
    assert component.type == "osp:registry:Registry"
    assert all(r.parent == component.urn for r in plan.resources if r.custom)
    assert {r.name for r in plan.resources if r.custom} == {
        *(f"osp-t-registry-{s}" for s in SERVICES),
        *(f"osp-t-registry-{s}-lifecycle" for s in SERVICES),
    }


def test_one_repository_per_service_under_the_prefix(dev):
    assert sorted(repositories(dev)) == ["osp-t/fee-management", "osp-t/identity", "osp-t/payment"]


def test_each_lifecycle_policy_belongs_to_its_repository(dev):
    for service in SERVICES:
        repo = dev.named(f"osp-t-registry-{service}")
        lifecycle = dev.named(f"osp-t-registry-{service}-lifecycle")
        assert lifecycle.inputs["repository"] == f"osp-t/{service}"
        assert lifecycle.property_dependencies["repository"] == (repo.urn,)


# -- security of every repository ------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_tags_are_immutable_and_pushes_scanned(fixture, request):
    for repo in repositories(request.getfixturevalue(fixture)).values():
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert "imageTagMutabilityExclusionFilters" not in repo.inputs


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_never_force_deleted(fixture, request):
    for repo in repositories(request.getfixturevalue(fixture)).values():
        assert repo.inputs["forceDelete"] is False


def test_encrypted_with_aes256_without_a_key(dev):
    for repo in repositories(dev).values():
        assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]


def test_encrypted_with_the_customer_key_when_given(prod):
    for repo in repositories(prod).values():
        assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": KEY}]


# -- lifecycle -------------------------------------------------------------------------


def test_default_lifecycle_expires_untagged_after_7_days_and_keeps_20_tagged(dev):
    for service in SERVICES:
        assert rules(dev, service) == {
            1: {
                "rulePriority": 1,
                "description": "Expire untagged images 7 days after push",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 7,
                },
                "action": {"type": "expire"},
            },
            2: {
                "rulePriority": 2,
                "description": "Keep only the last 20 tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 20,
                },
                "action": {"type": "expire"},
            },
        }


def test_lifecycle_counts_come_from_args(prod):
    found = rules(prod, "identity")
    assert found[1]["selection"]["countNumber"] == 3
    assert found[2]["selection"]["countNumber"] == 50


def test_lifecycle_rules_follow_ecr_rules():
    for rule in json.loads(lifecycle_policy(untagged_expiry_days=1, keep_tagged_images=1))["rules"]:
        selection = rule["selection"]
        # `any` would have to be the last rule; osp never needs it.
        assert selection["tagStatus"] in ("tagged", "untagged")
        if selection["tagStatus"] == "tagged":
            assert selection.get("tagPatternList") or selection.get("tagPrefixList")
        else:
            assert "tagPatternList" not in selection and "tagPrefixList" not in selection
        if selection["countType"] == "sinceImagePushed":
            assert selection["countUnit"] == "days"
        else:
            assert "countUnit" not in selection
        assert selection["countNumber"] >= 1
    priorities = [r["rulePriority"] for r in json.loads(lifecycle_policy(
        untagged_expiry_days=1, keep_tagged_images=1))["rules"]]  # fmt: skip
    assert len(set(priorities)) == len(priorities)


# -- outputs, protection, tags ---------------------------------------------------------


def test_outputs_map_each_service(dev):
    region = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
    assert dev.outputs["repository_urls"] == {s: f"{region}/osp-t/{s}" for s in SERVICES}
    assert dev.outputs["repository_arns"] == {
        s: f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/osp-t/{s}" for s in SERVICES
    }


def test_dev_is_not_protected(dev):
    assert not any(r.options.protect for r in dev.resources)


def test_prod_protects_the_repositories_only(prod):
    assert {r.name for r in prod.resources if r.options.protect} == {
        f"osp-t-registry-{s}" for s in SERVICES
    }


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_every_repository_is_tagged(fixture, request):
    for repo in repositories(request.getfixturevalue(fixture)).values():
        assert repo.inputs["tags"] == {"Name": repo.name, **TAGS}


def test_nested_prefix():
    plan = plan_registry(prefix="osp/t", services=("identity",))
    assert list(repositories(plan)) == ["osp/t/identity"]


# -- bad args --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"services": ()}, "services: got []; expected at least one service"),
        ({"services": "identity"}, "services: got 'identity'; expected a list of service names"),
        (
            {"services": ("identity", "fee", "identity")},
            "services[2]: got 'identity'; expected each service at most once",
        ),
        ({"services": ("Identity",)}, "services[0]: got 'Identity'; expected a repository name"),
        ({"services": ("fee--mgmt",)}, "services[0]: got 'fee--mgmt'"),
        ({"services": ("-fee",)}, "services[0]: got '-fee'"),
        ({"services": ("fee/api",)}, "services[0]: got 'fee/api'"),
        (
            {"services": ("x" * 251,)},
            f"services[0]: got '{'x' * 251}'; expected a repository name 'osp-t/x",
        ),
        ({"prefix": "OSP-prod"}, "prefix: got 'OSP-prod'; expected an ECR namespace"),
        ({"prefix": "osp-prod/"}, "prefix: got 'osp-prod/'"),
        ({"prefix": ""}, "prefix: got ''"),
        (
            {"keep_tagged_images": 0},
            "keep_tagged_images: got 0; expected an integer from 1 to 1000",
        ),
        ({"keep_tagged_images": 1001}, "keep_tagged_images: got 1001"),
        ({"keep_tagged_images": True}, "keep_tagged_images: got True"),
        (
            {"untagged_expiry_days": 0},
            "untagged_expiry_days: got 0; expected an integer from 1 to 365",
        ),
        ({"untagged_expiry_days": 366}, "untagged_expiry_days: got 366"),
    ],
)
def test_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments, match=f"Registry osp-t-registry: {re.escape(message)}"):
        plan_registry(**overrides)


def test_nothing_is_created_for_bad_args():
    created = []

    def program(spec):
        try:
            Registry("r", registry_args(services=()))
        except InvalidArguments as exc:
            created.append(str(exc))

    plan = offline.run(spec_of("prod"), program)
    assert created and [r.type for r in plan.resources if r.custom] == []


def test_reports_every_problem_at_once():
    found = problems("r", registry_args(prefix="X", keep_tagged_images=0, untagged_expiry_days=0))
    assert [p.split(":")[1].strip() for p in found] == [
        "prefix",
        "keep_tagged_images",
        "untagged_expiry_days",
    ]
    # A services string does not hide the problems after it.
    found = problems("r", registry_args(services="identity", untagged_expiry_days=0))
    assert [p.split(":")[1].strip() for p in found] == ["services", "untagged_expiry_days"]


def test_valid_args_have_no_problems():
    assert problems("r", registry_args()) == []
    assert problems("r", registry_args(services=("a.b_c-d", "e1"))) == []
    # 256 characters in all, ECR's limit.
    assert problems("r", registry_args(services=("x" * 250,))) == []
