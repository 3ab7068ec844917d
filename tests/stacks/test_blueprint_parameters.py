"""The parameters of the bundled blueprints (seed 000 §5, seed 004 §6) in dev and prod: each
under its reader's path, each service reading only its own path and the shared one."""

from __future__ import annotations

import json

import pytest

from osp.platform.catalogue import load_catalogue
from tests.support import plan_of

PARAMETER = "aws:ssm/parameter:Parameter"
SSM = "arn:aws:ssm:us-east-1:123456789012:parameter"

EXPECTED = {
    "osp": {
        "services/identity/login-attempts-limit": "5",
        "services/identity/login-attempts-window-seconds": "900",
        "services/school/profile-cache-ttl-seconds": "1800",
        "services/fee/fee-structure-cache-ttl-seconds": "3600",
    },
    "learning-hub": {
        "services/api-gateway/response-cache-ttl-seconds": "300",
        "shared/query-cache-ttl-seconds": "60",
    },
}
CASES = [(b, e) for b in EXPECTED for e in ("dev", "prod")]


@pytest.mark.parametrize(("blueprint", "environment"), CASES)
def test_the_seed_s_settings_as_parameters(blueprint, environment):
    plan = plan_of(environment, blueprint)
    found = {
        p.inputs["name"]: (p.inputs["type"], p.inputs["insecureValue"], p.inputs["tier"])
        for p in plan.of_type(PARAMETER)
    }
    assert found == {
        f"/osp/{environment}/{path}": ("String", value, "Standard")
        for path, value in EXPECTED[blueprint].items()
    }


def read_paths(plan, environment, service) -> set[str]:
    policy = plan.named(f"osp-{environment}-{service}-identity-policy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    return {
        r.removeprefix(SSM)
        for s in statements
        if s["Sid"] == "ReadParameters"
        for r in s["Resource"]
    }


@pytest.mark.parametrize(("blueprint", "environment"), CASES)
def test_each_service_reads_only_its_own_path_and_the_shared_one(blueprint, environment):
    plan = plan_of(environment, blueprint)
    catalogue = load_catalogue(blueprint)
    root = f"/osp/{environment}"
    for service in catalogue.services:
        expected = set()
        if service.name in catalogue.parameters:
            expected |= {f"{root}/services/{service.name}", f"{root}/services/{service.name}/*"}
        if "shared" in catalogue.parameters:
            expected |= {f"{root}/shared", f"{root}/shared/*"}
        assert read_paths(plan, environment, service.name) == expected, service.name


def test_in_osp_only_identity_school_and_fee_read_parameters():
    plan = plan_of("prod", "osp")
    readers = {s.name for s in load_catalogue("osp").services if read_paths(plan, "prod", s.name)}
    assert readers == {"identity", "school", "fee"}
