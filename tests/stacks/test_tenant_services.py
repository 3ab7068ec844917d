"""A silo tenant's own copy of the services: workloads, roles, databases, routes, suspension."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from osp.app.telemetry import agent_egress, trace_env
from osp.components.loadbalancer import ServiceRoute, rule_priorities
from osp.platform.catalogue import load_catalogue
from osp.platform.plan import Plan
from osp.platform.tenancy import TenantState, Tier, transition
from osp.platform.tenancy.isolation import RULE_CROSS_TENANT, verify
from osp.platform.tenancy.tiers import load_tier, parse_tier_text, quota_problem
from osp.stacks.tenant import TenantProgramError
from osp.stacks.tenant_services import SUSPENDED_BODY, rule_priority
from tests.stacks.test_tenant import NOW, run, tenant_of, tenant_plan
from tests.support import plan_of, spec_of, statements

SLUG = "shelbyville"
NS = f"tenant-{SLUG}"


def catalogue(env: str = "dev"):
    return load_catalogue(spec_of(env).blueprint)


def estate_priorities(env: str = "dev") -> dict[str, int]:
    return rule_priorities(
        [
            ServiceRoute(s.name, s.port, s.route, s.probes.readiness.path)
            for s in catalogue(env).routed
        ]
    )


def suspended_plan() -> Plan:
    active = replace(tenant_of(SLUG, Tier.SILO), state=TenantState.ACTIVE)
    return run(
        transition(active, TenantState.SUSPENDED, actor="al@laptop", reason="unpaid", now=NOW)
    )


@pytest.fixture(params=["dev", "prod"])
def env(request) -> str:
    return request.param


def test_each_service_runs_in_the_tenant_namespace_with_the_blueprints_image(env):
    plan, estate = tenant_plan(env, Tier.SILO), plan_of(env).outputs
    replicas = load_tier(Tier.SILO).services.replicas[spec_of(env).profile]
    for service in catalogue(env).services:
        deployment = plan.named(f"osp-{env}-tenant-{SLUG}-{service.name}-workload-deployment")
        assert deployment.inputs["metadata"]["namespace"] == NS
        spec = deployment.inputs["spec"]
        assert spec["replicas"] == replicas.min
        (container,) = spec["template"]["spec"]["containers"]
        repository = estate["repositoryUrls"][service.image.repository]
        assert container["image"] == f"{repository}:{service.image.tag}"
        assert container["resources"]["requests"] == service.resources.requests.model_dump()
        assert container["readinessProbe"]["httpGet"]["path"] == service.probes.readiness.path
        env_vars = {e["name"]: e["value"] for e in container["env"]}
        assert env_vars["TENANT_SLUG"] == SLUG
        # Traces go to the estate's agent, tagged with the tenant (app/telemetry.py).
        assert env_vars["OTEL_SERVICE_NAME"] == service.name
        assert env_vars["OTEL_RESOURCE_ATTRIBUTES"] == (
            f"deployment.environment={env},osp.tenant.tier=silo,osp.tenant.slug={SLUG}"
        )
        assert (
            env_vars["OTEL_EXPORTER_OTLP_ENDPOINT"]
            == trace_env("x", env, "silo")["OTEL_EXPORTER_OTLP_ENDPOINT"]
        )
        policy = plan.named(f"osp-{env}-tenant-{SLUG}-{service.name}-workload-network-policy")
        assert agent_egress() in policy.inputs["spec"]["egress"]
        for callee in (o.name for o in catalogue(env).services if service.name in o.callers):
            url = env_vars[f"SERVICE_{callee.upper()}_URL"]
            assert url.startswith(f"http://{callee}.{NS}.svc.cluster.local:")
        scaler = plan.named(f"osp-{env}-tenant-{SLUG}-{service.name}-workload-autoscaler")
        assert scaler.inputs["spec"]["minReplicas"] == replicas.min
        assert scaler.inputs["spec"]["maxReplicas"] == replicas.max
    assert plan.of_type("kubernetes:apps/v1:DeploymentPatch") == []


def test_each_services_role_is_trusted_by_its_account_in_the_tenant_namespace_only(env):
    plan = tenant_plan(env, Tier.SILO)
    for service in catalogue(env).services:
        role = plan.named(f"osp-{env}-tenant-{SLUG}-{service.name}-identity-role")
        assert role.inputs["name"] == f"osp-{env}-tenant-{SLUG}-{service.name}"
        (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        (sub,) = [v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")]
        assert sub == f"system:serviceaccount:{NS}:{service.name}"
        assert trust["Principal"]["Federated"] == plan_of(env).outputs["oidcProviderArn"]


def test_grants_are_the_tenants_own_or_declared_shared():
    plan, estate = tenant_plan("dev", Tier.SILO), plan_of("dev").outputs
    outputs = plan.outputs
    fee = statements(plan.named(f"osp-dev-tenant-{SLUG}-fee-identity-policy").inputs["policy"])
    assert fee["ConnectDatabase"]["Resource"] == [
        f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{outputs['databaseResourceId']}/fee"
    ]
    assert all(f"osp-dev-tenant-{SLUG}-" in arn for arn in fee["PublishEvents"]["Resource"])
    school = plan.named(f"osp-dev-tenant-{SLUG}-school-identity-policy").inputs["policy"]
    school = statements(school)
    assert school["ListBuckets"]["Resource"] == [f"arn:aws:s3:::{outputs['bucketName']}"]
    for bucket in estate["dataBuckets"].values():
        assert bucket not in json.dumps(school)
    identity = plan.named(f"osp-dev-tenant-{SLUG}-identity-identity-policy").inputs["policy"]
    secrets = statements(identity)["ReadSecrets"]["Resource"]
    assert estate["appSecretArns"]["jwt-signing-key"] in secrets
    assert set(secrets) <= set(outputs["sharedResources"])
    assert estate["postgresMasterSecretArn"] not in json.dumps(outputs["sharedResources"])


def test_the_databases_job_runs_in_the_namespace_against_the_tenants_instance():
    plan = tenant_plan("dev", Tier.SILO)
    (job,) = plan.of_type("kubernetes:batch/v1:Job")
    assert job.inputs["metadata"]["namespace"] == NS
    text = json.dumps(job.inputs)
    (instance,) = plan.of_type("aws:rds/instance:Instance")
    assert plan.outputs["databaseEndpoint"].split(":")[0] in text
    assert "osp-dev-postgres" not in text and instance.inputs["identifier"] in text
    policy = statements(
        plan.named(f"osp-dev-tenant-{SLUG}-databases-identity-policy").inputs["policy"]
    )
    assert policy["ReadSecrets"]["Resource"] == [plan.outputs["databaseMasterSecretArn"]]


def test_each_routed_service_has_its_target_group_and_a_rule_ahead_of_the_estates(env):
    plan, estate = tenant_plan(env, Tier.SILO), plan_of(env).outputs
    ahead = estate_priorities(env)
    groups = plan.outputs["targetGroupArns"]
    for service in catalogue(env).routed:
        rule = plan.named(f"osp-{env}-tenant-{SLUG}-rule-{service.name}")
        assert rule.inputs["listenerArn"] == estate["apiListenerArn"]
        assert rule.inputs["priority"] < ahead[service.name]
        assert rule.inputs["priority"] not in ahead.values()
        conditions = rule.inputs["conditions"]
        assert conditions[0]["pathPattern"]["values"] == [service.route, f"{service.route}/*"]
        headers = {
            c["httpHeader"]["httpHeaderName"]: c["httpHeader"]["values"] for c in conditions[1:]
        }
        assert headers == {
            "X-Origin-Verify": ["<secret>"],
            "Origin": [f"https://{SLUG}.{spec_of(env).domain}"],
        }
        (action,) = rule.inputs["actions"]
        assert action == {"type": "forward", "targetGroupArn": groups[service.name]}
        binding = plan.named(
            f"osp-{env}-tenant-{SLUG}-{service.name}-workload-target-group-binding"
        )
        assert binding.inputs["spec"]["targetGroupARN"] == groups[service.name]
    priorities = [r.inputs["priority"] for r in plan.of_type("aws:lb/listenerRule:ListenerRule")]
    assert len(set(priorities)) == len(priorities)
    # The estate's controller may register the pods: its policy admits the groups by tag, so
    # the tenant's stack changes no role of the estate's (whose inline policy has a limit).
    roles_touched = {r.inputs["role"] for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")}
    assert estate["loadBalancerControllerRoleArn"].rsplit("/")[-1] not in roles_touched
    (controller_policy,) = [
        r for r in plan_of(env).of_type("aws:iam/rolePolicy:RolePolicy")
        if r.name == f"osp-{env}-lb-controller-policy"
    ]  # fmt: skip
    tagged = statements(controller_policy.inputs["policy"])["RegisterTargetsInTaggedGroups"]
    wanted = {
        k.removeprefix("aws:ResourceTag/"): v
        for k, v in tagged["Condition"]["StringEquals"].items()
    }
    for group in plan.of_type("aws:lb/targetGroup:TargetGroup"):
        assert wanted.items() <= group.inputs["tags"].items(), group.name


def test_a_suspended_silo_runs_no_pods_and_its_rules_answer_503():
    plan = suspended_plan()
    assert plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler") == []
    patches = plan.of_type("kubernetes:apps/v1:DeploymentPatch")
    assert sorted(p.inputs["metadata"]["name"] for p in patches) == sorted(
        s.name for s in catalogue().services
    )
    for patch in patches:
        assert patch.inputs["spec"] == {"replicas": 0}
        assert patch.inputs["metadata"]["namespace"] == NS
        assert patch.inputs["metadata"]["annotations"] == {"pulumi.com/patchForce": "true"}
    for rule in plan.of_type("aws:lb/listenerRule:ListenerRule"):
        (action,) = rule.inputs["actions"]
        assert action["type"] == "fixed-response"
        assert action["fixedResponse"]["statusCode"] == "503"
        assert action["fixedResponse"]["messageBody"] == SUSPENDED_BODY
    running = tenant_plan("dev", Tier.SILO)
    assert {r.name for r in plan.of_type("aws:lb/targetGroup:TargetGroup")} == {
        r.name for r in running.of_type("aws:lb/targetGroup:TargetGroup")
    }
    assert plan.of_type("aws:rds/instance:Instance")[0].inputs == (
        running.of_type("aws:rds/instance:Instance")[0].inputs
    )


def test_two_silos_and_a_pool_are_isolated_and_a_reach_into_another_silo_is_named():
    a, b = tenant_plan("dev", Tier.SILO), run(tenant_of("ogdenville", Tier.SILO))
    pool = tenant_plan("dev", Tier.POOL)
    plans = {SLUG: a, "ogdenville": b, "springfield": pool}
    assert verify(plans) == []
    # A service of shelbyville given ogdenville's database user and queue.
    victim = b.outputs["databaseResourceId"]
    policy = a.named(f"osp-dev-tenant-{SLUG}-fee-identity-policy")
    document = json.loads(policy.inputs["policy"])
    document["Statement"].append(
        {
            "Sid": "Leak",
            "Effect": "Allow",
            "Action": ["rds-db:connect", "sqs:ReceiveMessage"],
            "Resource": [
                f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{victim}/fee",
                "arn:aws:sqs:us-east-1:123456789012:osp-dev-tenant-ogdenville-fee-enrollment-created",
            ],
        }
    )
    leaky = replace(
        a,
        resources=[
            replace(r, inputs={**r.inputs, "policy": json.dumps(document)})
            if r.name == policy.name
            else r
            for r in a.resources
        ],
    )
    found = verify({**plans, SLUG: leaky})
    assert [f.rule for f in found] == [RULE_CROSS_TENANT, RULE_CROSS_TENANT]
    assert "ogdenville's database users" in found[0].evidence
    assert (
        "ogdenville's queue osp-dev-tenant-ogdenville-fee-enrollment-created" in found[1].evidence
    )


def test_a_quota_that_cannot_hold_the_services_is_refused_in_one_message():
    text = (
        load_tier_text()
        .replace('requests.cpu: "10"', 'requests.cpu: "4"')
        .replace("pods: 60", "pods: 20")
    )
    small = parse_tier_text(text, source="silo.yaml")
    problem = quota_problem(small, catalogue())
    assert problem == (
        "the silo tier's namespace quota cannot hold the osp blueprint's 9 services at their "
        "busiest (max replicas plus a rolling update's surge): dev: requests.cpu 4 < 5000m "
        "needed; staging: requests.cpu 4 < 7500m needed; staging: pods 20 < 28 needed; prod: "
        "requests.cpu 4 < 10000m needed; prod: pods 20 < 37 needed; raise namespace.quota or "
        "lower services.replicas"
    )
    with pytest.raises(TenantProgramError) as caught:
        run(tenant_of(SLUG, Tier.SILO), blueprint=small)
    assert str(caught.value) == f"tenant {SLUG}: {problem}"
    for blueprint in ("osp", "learning-hub"):
        assert quota_problem(load_tier(Tier.SILO), load_catalogue(blueprint)) is None


def load_tier_text() -> str:
    from importlib.resources import files

    return (files("osp.blueprints") / "tenants" / "silo.yaml").read_text("utf-8")


def test_rule_priorities_stay_below_the_estates_and_clear_of_every_taken_number():
    estate = {"a": 5, "b": 3}
    assert rule_priority("x", "a", estate, set()) in {1, 2, 4}
    assert rule_priority("x", "a", estate, {1, 2}) == 4
    assert rule_priority("x", "a", estate, {1, 2, 4}) is None
    assert rule_priority("x", "b", {"b": 1}, set()) is None
    assert rule_priority("x", "a", estate, set()) == rule_priority("x", "a", estate, set())
