"""`osp.stacks.tenant_gate.declare_gate` (a tenant's keys in the gate's store), and the estate's
gate: the store, the function on the portal that answers tenants' names, the export."""

from __future__ import annotations

import inspect

import pulumi
import pulumi_aws as aws
import pytest

from osp.components.gate import ACTIVE, SUSPENDED
from osp.platform import limits
from osp.platform.engine import offline
from osp.platform.validation import InvalidArguments
from osp.stacks.tenant_gate import declare_gate, gate_value, problems
from tests.support import ENVIRONMENTS, plan_of, spec_of

KEY = "aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey"
STORE = "aws:cloudfront/keyValueStore:KeyValueStore"
FUNCTION = "aws:cloudfront/function:Function"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
STORE_ARN = "arn:aws:cloudfront::123456789012:key-value-store/8562a61f-caba-2845-9d99-b97d1bae5d3c"
HOST = "springfield.osp.example.com"
CUSTOM = "learn.springfield.edu"


def plan_gate(hosts, *, suspended, store_arn=STORE_ARN):
    def program(_spec):
        keys = declare_gate(
            "osp-prod-tenant-springfield-gate",
            store_arn=store_arn,
            hosts=hosts,
            suspended=suspended,
        )
        pulumi.export("keys", [k.key for k in keys])

    return offline.run(spec_of("prod"), program)


@pytest.mark.parametrize(("suspended", "value"), [(True, SUSPENDED), (False, ACTIVE)])
def test_one_key_per_host_valued_by_the_tenants_state(suspended, value):
    plan = plan_gate([HOST, CUSTOM], suspended=suspended)
    keys = {k.name: k.inputs for k in plan.of_type(KEY)}
    assert keys == {
        f"osp-prod-tenant-springfield-gate-{host}": {
            "keyValueStoreArn": STORE_ARN,
            "key": host,
            "value": value,
        }
        for host in (HOST, CUSTOM)
    }
    assert plan.outputs["keys"] == [HOST, CUSTOM]
    assert plan.custom_count == 2


def test_a_tenant_without_a_custom_domain_has_one_key():
    plan = plan_gate([HOST], suspended=False)
    assert [k.inputs["key"] for k in plan.of_type(KEY)] == [HOST]


def test_the_values_are_the_ones_the_function_compares():
    assert gate_value(suspended=True) == SUSPENDED == "suspended"
    assert gate_value(suspended=False) == ACTIVE == "active"


def test_keys_take_no_tags():
    # Nothing to tag: the tenant's osp:tenant / osp:tier tags do not apply to these.
    parameters = inspect.signature(aws.cloudfront.KeyvaluestoreKey._internal_init).parameters
    assert "tags" not in parameters


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"store_arn": "arn:aws:cloudfront::123456789012:function/gate"},
         "store_arn: got 'arn:aws:cloudfront::123456789012:function/gate'; expected a CloudFront "
         "KeyValueStore ARN"),
        ({"hosts": ["Springfield.osp.example.com"]},
         "hosts[0]: got 'Springfield.osp.example.com'; expected a lower-case DNS name"),
        ({"hosts": [HOST, HOST]}, f"hosts: got ['{HOST}', '{HOST}']; expected each host once"),
        ({"hosts": []}, "hosts: got []; expected a list of at least one host name"),
        ({"hosts": HOST}, f"hosts: got '{HOST}'; expected a list of at least one host name"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_before_anything_is_declared(kwargs, message):
    arguments = {"store_arn": STORE_ARN, "hosts": [HOST]} | kwargs
    (found,) = problems("g", **arguments)
    assert found.startswith(f"tenant gate g: {message}"), found

    def program(_spec):
        with pytest.raises(InvalidArguments):
            declare_gate("g", suspended=True, **arguments)

    assert offline.run(spec_of("prod"), program).custom_count == 0


def test_a_store_arn_from_another_resource_is_the_clouds_to_check():
    def program(_spec):
        declare_gate(
            "g", store_arn=pulumi.Output.from_input(STORE_ARN), hosts=[HOST], suspended=True
        )

    (key,) = offline.run(spec_of("prod"), program).of_type(KEY)
    assert key.inputs["keyValueStoreArn"] == STORE_ARN


# --- the estate's gate ---------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_estate_exports_its_one_store_for_the_tenant_program(environment):
    plan = plan_of(environment)
    (store,) = plan.of_type(STORE)
    assert store.inputs["name"] == f"osp-{environment}-tenant-gate"
    arn = plan.outputs["tenantGateStoreArn"]
    assert limits.CLOUDFRONT_KEY_VALUE_STORE_ARN.accepts(arn)
    # What the tenant program will hand declare_gate passes its checks.
    assert problems("g", store_arn=arn, hosts=[f"springfield.{spec_of(environment).domain}"]) == []


@pytest.mark.parametrize(("blueprint", "portal"), [("osp", "student"), ("learning-hub", "www")])
def test_the_gate_runs_on_the_portal_that_answers_tenants_names_only(blueprint, portal):
    plan = plan_of("prod", blueprint)
    (function,) = plan.of_type(FUNCTION)
    (store,) = plan.of_type(STORE)
    assert function.inputs["keyValueStoreAssociations"] == [plan.outputs["tenantGateStoreArn"]]
    assert function.property_dependencies["keyValueStoreAssociations"] == (store.urn,)
    gated = {}
    for distribution in plan.of_type(DISTRIBUTION):
        behaviours = [
            distribution.inputs["defaultCacheBehavior"],
            *distribution.inputs.get("orderedCacheBehaviors", []),
        ]
        associations = [b.get("functionAssociations") for b in behaviours]
        if any(associations):
            gated[distribution.name] = associations
            assert function.urn in distribution.property_dependencies["defaultCacheBehavior"]
    function_arn = f"arn:aws:cloudfront::123456789012:function/{function.inputs['name']}"
    assert gated == {
        f"osp-prod-{portal}-portal-distribution": [
            [{"eventType": "viewer-request", "functionArn": function_arn}]
        ]
    }
