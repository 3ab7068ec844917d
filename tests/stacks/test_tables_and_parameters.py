"""A blueprint's DynamoDB tables and SSM parameters in the estate, in dev and prod: the tables
(seed 002's sessions, notification queue and payment tokens), their backups, and per service
grants and configuration that name only its own tables and parameter paths."""

from __future__ import annotations

import json

import pytest

from osp.platform.catalogue import Catalogue, load_catalogue
from osp.platform.engine import offline
from osp.stacks.estate import build
from tests.stacks.test_services import DEPLOYMENT, POLICY, env_of, one
from tests.support import spec_of

TABLE = "aws:dynamodb/table:Table"
TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
PARAMETER = "aws:ssm/parameter:Parameter"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ACCOUNT_REGION = "us-east-1:123456789012"


def _service(uses: dict, route: str | None = None) -> dict:
    body = {"port": 8080, "replicas": {"min": 1, "baseline": 2, "max": 4}, "uses": uses}
    return body | ({"route": route} if route else {})


#: Seed 002's tables (§3.3.2, §4.3, §7.2): sessions expire and are the tenant's; the
#: notification queue autoscales with its throughput; payment tokens expire.
CATALOGUE = {
    "name": "demo",
    "description": "tables and parameters",
    "transport": "sns-sqs",
    # A data bucket, so that the DR log bucket has the replica logs it exists for: without
    # any, the shipped rules flag that bucket (a gap of bucketless blueprints, not of tables).
    "buckets": {"files": {"archive": False}},
    "tables": {
        "sessions": {
            "partition_key": {"name": "pk"},
            "sort_key": {"name": "session"},
            "ttl_attribute": "expires_at",
            "tenant_partitioned": True,
            "indexes": {"by-user": {"partition_key": {"name": "user_pk"}}},
        },
        "notification-queue": {
            "partition_key": {"name": "id"},
            "billing": "provisioned",
            "capacity": {"read": {"min": 5, "max": 50}, "write": {"min": 5, "max": 100}},
        },
        "payment-tokens": {"partition_key": {"name": "token"}, "ttl_attribute": "expires_at"},
    },
    "parameters": {
        "shared": {
            "support-email": {"type": "String", "default": "help@x.edu", "description": "d"}
        },
        "payment": {
            "feature-flags": {
                "type": "StringList",
                "default": "cards",
                "values": {"prod": "cards,wallets"},
                "description": "payment features",
            }
        },
    },
    "services": {
        "web": {"image": "web:1.0.0", **_service({"tables": {"sessions": "read-write"}}, "/web")},
        "payment": {
            "image": "payment:1.0.0",
            **_service(
                {"tables": {"payment-tokens": "read-write", "notification-queue": "read-write"}}
            ),
        },
        "reports": {"image": "reports:1.0.0", **_service({})},
    },
}


@pytest.fixture(scope="module", params=["dev", "prod"])
def estate(request):
    catalogue = Catalogue.model_validate(CATALOGUE)
    spec = spec_of(request.param)
    return spec, offline.run(spec, lambda s: build(s, catalogue))


def table(plan, name):
    (found,) = [t for t in plan.of_type(TABLE) if t.inputs["name"] == name]
    return found


def arn(spec, table_name):
    return f"arn:aws:dynamodb:{ACCOUNT_REGION}:table/osp-{spec.name}-{table_name}"


def test_each_table_encrypted_recoverable_and_protected_in_prod(estate):
    spec, plan = estate
    data_key = plan.named(f"osp-{spec.name}-keys-data")
    tenants = table(plan, f"osp-{spec.name}-tenants").inputs["serverSideEncryption"]
    names = {t.inputs["name"] for t in plan.of_type(TABLE)}
    assert names == {
        f"osp-{spec.name}-{n}"
        for n in ("tenants", "sessions", "notification-queue", "payment-tokens")
    }
    for name in ("sessions", "notification-queue", "payment-tokens"):
        inputs = table(plan, f"osp-{spec.name}-{name}").inputs
        assert inputs["serverSideEncryption"]["enabled"] is True
        table_resource = table(plan, f"osp-{spec.name}-{name}")
        assert table_resource.property_dependencies["serverSideEncryption"] == (data_key.urn,)
        assert inputs["serverSideEncryption"]["kmsKeyArn"] == tenants["kmsKeyArn"]
        assert inputs["pointInTimeRecovery"] == {"enabled": True}
        assert inputs["deletionProtectionEnabled"] is (spec.name == "prod")
        assert inputs["streamEnabled"] is False
        assert inputs["tags"]["osp:component"] == "tables"


def test_ttl_where_the_data_expires(estate):
    spec, plan = estate
    ttl = {
        t.inputs["name"].removeprefix(f"osp-{spec.name}-"): t.inputs.get("ttl")
        for t in plan.of_type(TABLE)
    }
    assert (
        ttl["sessions"] == ttl["payment-tokens"] == {"attributeName": "expires_at", "enabled": True}
    )
    assert ttl["notification-queue"] is None


def test_the_provisioned_table_autoscales_and_the_others_are_on_demand(estate):
    spec, plan = estate
    queue = table(plan, f"osp-{spec.name}-notification-queue").inputs
    assert (queue["billingMode"], queue["readCapacity"], queue["writeCapacity"]) == (
        "PROVISIONED",
        5,
        5,
    )
    assert table(plan, f"osp-{spec.name}-sessions").inputs["billingMode"] == "PAY_PER_REQUEST"
    targets = {
        (t.inputs["resourceId"], t.inputs["scalableDimension"]): (
            t.inputs["minCapacity"],
            t.inputs["maxCapacity"],
        )
        for t in plan.of_type(TARGET)
    }
    resource = f"table/osp-{spec.name}-notification-queue"
    assert targets == {
        (resource, "dynamodb:table:ReadCapacityUnits"): (5, 50),
        (resource, "dynamodb:table:WriteCapacityUnits"): (5, 100),
    }
    assert {p.inputs["targetTrackingScalingPolicyConfiguration"]["targetValue"]
            for p in plan.of_type(SCALING_POLICY)} == {70}  # fmt: skip


def test_the_backup_plan_selects_every_table(estate):
    spec, plan = estate
    selection = plan.named(f"osp-{spec.name}-backup-selection")
    for name in ("tenants", "sessions", "notification-queue", "payment-tokens"):
        assert arn(spec, name) in selection.inputs["resources"]


def test_parameters_under_the_environment_s_hierarchy(estate):
    spec, plan = estate
    assert {p.inputs["name"]: (p.inputs["type"], p.inputs["insecureValue"])
            for p in plan.of_type(PARAMETER)} == {
        f"/osp/{spec.name}/shared/support-email": ("String", "help@x.edu"),
        f"/osp/{spec.name}/services/payment/feature-flags": (
            "StringList", "cards,wallets" if spec.name == "prod" else "cards"
        ),
    }  # fmt: skip
    assert plan.outputs["parameterPaths"] == {
        "shared": f"/osp/{spec.name}/shared",
        "payment": f"/osp/{spec.name}/services/payment",
    }
    assert plan.outputs["tables"] == {
        n: f"osp-{spec.name}-{n}" for n in ("sessions", "notification-queue", "payment-tokens")
    }


def policy_of(plan, spec, service) -> list[dict]:
    """The statements of the service's own role's policy."""
    policy = plan.named(f"osp-{spec.name}-{service}-identity-policy")
    return json.loads(policy.inputs["policy"])["Statement"]


def table_resources(statements) -> set[str]:
    return {
        r
        for s in statements
        if any(a.startswith("dynamodb:") for a in s["Action"])
        for r in s["Resource"]
    }


def parameter_resources(statements) -> set[str]:
    return {r for s in statements if s["Sid"] == "ReadParameters" for r in s["Resource"]}


def test_payment_reaches_only_its_own_tables_and_paths(estate):
    spec, plan = estate
    statements = policy_of(plan, spec, "payment")
    assert table_resources(statements) == {
        arn(spec, "payment-tokens"),
        arn(spec, "notification-queue"),
    }
    prefix = f"arn:aws:ssm:{ACCOUNT_REGION}:parameter/osp/{spec.name}"
    assert parameter_resources(statements) == {
        f"{prefix}/services/payment",
        f"{prefix}/services/payment/*",
        f"{prefix}/shared",
        f"{prefix}/shared/*",
    }
    env = env_of(one(plan, DEPLOYMENT, "payment"))
    assert env["TABLE_PAYMENT_TOKENS_NAME"] == f"osp-{spec.name}-payment-tokens"
    assert env["TABLE_NOTIFICATION_QUEUE_NAME"] == f"osp-{spec.name}-notification-queue"
    assert env["PARAMETERS_PATH"] == f"/osp/{spec.name}/services/payment"
    assert env["SHARED_PARAMETERS_PATH"] == f"/osp/{spec.name}/shared"
    assert "TENANT_DATA_ROLE_ARN" not in env


def test_web_reaches_the_sessions_only_as_a_tenant(estate):
    spec, plan = estate
    statements = policy_of(plan, spec, "web")
    assert table_resources(statements) == set()
    assert not any("sessions" in json.dumps(s) for s in statements)
    role_arn = f"arn:aws:iam::123456789012:role/osp-{spec.name}-web-tenant"
    (assume,) = [s for s in statements if s["Sid"] == "AssumeTenantDataRole"]
    assert assume["Resource"] == [role_arn]
    # Its own branch holds nothing: only the shared one.
    prefix = f"arn:aws:ssm:{ACCOUNT_REGION}:parameter/osp/{spec.name}"
    assert parameter_resources(statements) == {f"{prefix}/shared", f"{prefix}/shared/*"}
    tenant_role = plan.named(f"osp-{spec.name}-web-identity-tenant-role")
    (tenant_policy,) = [
        p for p in plan.of_type(ROLE_POLICY) if p.name.endswith("web-identity-tenant-policy")
    ]
    tenant = json.loads(tenant_policy.inputs["policy"])["Statement"]
    assert {r for s in tenant for r in s["Resource"]} == {
        arn(spec, "sessions"),
        arn(spec, "sessions") + "/index/by-user",
    }
    for statement in tenant:
        assert statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == [
            "${aws:PrincipalTag/osp:tenant}",
            "${aws:PrincipalTag/osp:tenant}#*",
        ]
    trust = json.loads(tenant_role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [
        {"AWS": f"arn:aws:iam::123456789012:role/osp-{spec.name}-web"}
    ]
    env = env_of(one(plan, DEPLOYMENT, "web"))
    assert env["TENANT_DATA_ROLE_ARN"] == role_arn
    assert env["TABLE_SESSIONS_NAME"] == f"osp-{spec.name}-sessions"
    assert "PARAMETERS_PATH" not in env


def test_a_service_without_tables_reads_only_the_shared_parameters(estate):
    spec, plan = estate
    statements = policy_of(plan, spec, "reports")
    assert table_resources(statements) == set()
    assert [s["Sid"] for s in statements] == ["ReadParameters"]
    tenant_roles = [r.name for r in plan.of_type(ROLE) if r.name.endswith("-tenant-role")]
    assert tenant_roles == [f"osp-{spec.name}-web-identity-tenant-role"]


def reaches_anywhere_on_443(plan, service) -> bool:
    egress = one(plan, POLICY, service).inputs["spec"]["egress"]
    return any(
        {"port": 443, "protocol": "TCP"} in rule["ports"]
        and {"ipBlock": {"cidr": "0.0.0.0/0"}} in rule["to"]
        for rule in egress
    )


def test_ssm_inside_the_vpc_and_dynamodb_on_443(estate):
    spec, plan = estate
    endpoints = {e.name: e.inputs for e in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    if spec.network.interface_endpoints:  # prod; dev reaches AWS's APIs through NAT
        ssm = endpoints[f"osp-{spec.name}-network-ssm"]
        assert (ssm["vpcEndpointType"], ssm["privateDnsEnabled"]) == ("Interface", True)
    else:
        assert f"osp-{spec.name}-network-ssm" not in endpoints
    # DynamoDB has no interface endpoint: its users reach its public addresses on 443.
    assert reaches_anywhere_on_443(plan, "web") and reaches_anywhere_on_443(plan, "payment")
    # Parameters alone need no more than the endpoints in the private subnets (in dev, with
    # no endpoints, every service reaches AWS's APIs through NAT).
    assert reaches_anywhere_on_443(plan, "reports") is not spec.network.interface_endpoints


def test_the_bundled_blueprints_without_parameters_keep_their_plans():
    for blueprint in ("learning-platform", "code-learn"):
        assert load_catalogue(blueprint).parameters == {}


def test_the_guardrails_pass(estate):
    from datetime import date

    from osp.platform.policy import RULES, context_of, evaluate

    spec, plan = estate
    report = evaluate(plan, RULES, context_of(spec), today=date(2026, 6, 1))
    failed = {(f.rule.id, f.resource.name) for f in report.failing()}
    # The shipped osp estate's known failure in dev (tests/platform/policy/test_estate.py);
    # nothing of the tables, their autoscaling, the tenant-data role or the parameters.
    known = {("OSP-EKS-2", "osp-dev-eks-cluster")} if spec.name == "dev" else set()
    assert failed == known
