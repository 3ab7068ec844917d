"""The tenant program: a pool and a silo tenant's offline plans hold what their tiers promise."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import keyword
from dataclasses import replace
from datetime import UTC, datetime
from importlib.resources import files

import pytest

from osp.components.network import subnet_cidrs
from osp.platform.catalogue import load_catalogue
from osp.platform.engine import offline
from osp.platform.naming import REQUIRED_TAG_KEYS
from osp.platform.plan import Plan
from osp.platform.tenancy import (
    Tenant,
    TenantRequest,
    TenantState,
    Tier,
    new_tenant,
    transition,
)
from osp.platform.tenancy.isolation import verify
from osp.platform.tenancy.tiers import load_tier, parse_tier_text, tenant_version
from osp.stacks.tenant import TenantProgramError, build
from tests.support import plan_of, spec_of, statements

SLUG = {Tier.POOL: "springfield", Tier.SILO: "shelbyville"}
NOW = datetime(2026, 5, 9, 10, 0, tzinfo=UTC)


def tenant_of(slug: str, tier: Tier, domain: str | None = None) -> Tenant:
    request = TenantRequest(
        slug=slug, name=slug.title(), tier=tier, admin_email="it@school.example.org", domain=domain
    )
    return new_tenant(request, actor="al@laptop", now=NOW)


@functools.cache
def tenant_plan(environment: str, tier: Tier) -> Plan:
    tenant = tenant_of(SLUG[tier], tier)
    outputs = plan_of(environment).outputs
    return offline.run(spec_of(environment), lambda spec: build(spec, tenant, outputs))


def run(tenant: Tenant, environment: str = "dev", **options) -> Plan:
    """The offline plan of `tenant` in `environment`, on that environment's own outputs (read
    before the run: the offline engine runs one program at a time)."""
    outputs = plan_of(environment).outputs
    return offline.run(spec_of(environment), lambda spec: build(spec, tenant, outputs, **options))


@functools.cache
def is_taggable(type_token: str) -> bool:
    module, cls = type_token.split(":")[1:]
    package = module.split("/")[0]
    package += "_" if keyword.iskeyword(package) else ""
    resource = getattr(importlib.import_module(f"pulumi_aws.{package}"), cls)
    return "tags" in inspect.signature(resource._internal_init).parameters


@pytest.fixture(params=["dev", "prod"])
def env(request) -> str:
    return request.param


@pytest.fixture(params=list(Tier))
def tier(request) -> Tier:
    return request.param


def test_every_resource_is_named_tagged_and_labelled_for_its_tenant(env, tier):
    plan, spec, slug = tenant_plan(env, tier), spec_of(env), SLUG[tier]
    tagged = 0
    for resource in plan.resources:
        if resource.type == "pulumi:pulumi:Stack":
            continue
        assert resource.name.startswith(f"osp-{env}-tenant-{slug}"), resource.name
        if resource.type.startswith("kubernetes:") and resource.custom:
            labels = resource.inputs["metadata"]["labels"]
            assert labels["osp.io/tenant"] == slug and labels["osp.io/tier"] == tier.value
        if not (resource.custom and resource.type.startswith("aws:")):
            continue
        if not is_taggable(resource.type):
            continue
        tags = resource.inputs.get("tags")
        assert tags, f"{resource.name} ({resource.type}) has no tags"
        assert tags["osp:tenant"] == slug and tags["osp:tier"] == tier.value, resource.name
        assert set(REQUIRED_TAG_KEYS) <= set(tags)
        assert tags["osp:environment"] == env and tags["osp:blueprint"] == spec.blueprint
        assert tags.items() >= spec.tags.items()
        tagged += 1
    assert tagged >= (2 if tier is Tier.POOL else 10)


def test_pool_declares_its_record_name_role_and_configuration_only(env):
    counts = tenant_plan(env, Tier.POOL).type_counts()
    assert counts == {
        "osp:tenant:Tenant": 1,
        "aws:route53/record:Record": 1,
        "aws:iam/role:Role": 1,
        "aws:iam/rolePolicy:RolePolicy": 1,
        "aws:ssm/parameter:Parameter": 1,
        "aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey": 1,
    }


@pytest.mark.parametrize("tier", list(Tier))
def test_the_tenants_name_is_open_at_the_edge_until_it_is_suspended(tier):
    plan = tenant_plan("dev", tier)
    (key,) = plan.of_type("aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey")
    assert key.inputs["key"] == plan.outputs["hostname"]
    assert key.inputs["value"] == "active"
    assert key.inputs["keyValueStoreArn"] == plan_of("dev").outputs["tenantGateStoreArn"]

    tenant = tenant_of(SLUG[tier], tier, domain="www.springfield-school.org")
    tenant = transition(tenant, TenantState.ACTIVE, actor="al", reason="provisioned", now=NOW)
    tenant = transition(tenant, TenantState.SUSPENDED, actor="al", reason="unpaid", now=NOW)
    outputs = plan_of("dev").outputs
    suspended = offline.run(spec_of("dev"), lambda spec: build(spec, tenant, outputs))
    keys = suspended.of_type("aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey")
    assert {(k.inputs["key"], k.inputs["value"]) for k in keys} == {
        (f"{SLUG[tier]}.dev.osp.example.com", "suspended"),
        ("www.springfield-school.org", "suspended"),
    }


def test_silo_adds_its_key_bucket_database_and_namespace(env):
    counts = tenant_plan(env, Tier.SILO).type_counts()
    for kind in (
        "aws:kms/key:Key",
        "osp:storage:Bucket",
        "aws:s3/bucket:Bucket",
        "osp:database:Postgres",
        "aws:rds/instance:Instance",
        "aws:rds/subnetGroup:SubnetGroup",
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:ResourceQuota",
        "kubernetes:core/v1:LimitRange",
        "pulumi:providers:kubernetes",
    ):
        assert counts[kind] == 1, kind


def test_dns_name_on_the_student_portal(env, tier):
    plan, spec, slug = tenant_plan(env, tier), spec_of(env), SLUG[tier]
    (record,) = plan.of_type("aws:route53/record:Record")
    assert record.inputs["name"] == f"{slug}.{spec.domain}"
    assert record.inputs["records"] == [f"student.{spec.domain}"]
    assert plan.outputs["urls"] == [f"https://{slug}.{spec.domain}"]


def test_role_reaches_its_prefix_only(env, tier):
    plan, slug = tenant_plan(env, tier), SLUG[tier]
    shared = plan_of(env).outputs["dataBuckets"]
    role = plan.named(f"osp-{env}-tenant-{slug}-role")
    assert role.inputs["name"] == f"osp-{env}-tenant-{slug}"
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"]["AWS"] == sorted(plan_of(env).outputs["serviceRoleArns"].values())
    policy = plan.named(f"osp-{env}-tenant-{slug}-access")
    by_sid = statements(policy.inputs["policy"])
    objects = by_sid["TenantPrefixObjects"]["Resource"]
    assert objects == [
        f"arn:aws:s3:::{bucket}/tenants/{slug}/*"
        for purpose, bucket in sorted(shared.items())
        if purpose != "backups"
    ]
    listing = by_sid["TenantPrefixListing"]
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"tenants/{slug}/*"]}}
    assert by_sid["TenantConfiguration"]["Resource"] == plan.outputs["configParameterArn"]
    own = {"OwnBucketObjects", "OwnBucketListing"}
    if tier is Tier.SILO:
        bucket = plan.outputs["bucketName"]
        assert by_sid["OwnBucketObjects"]["Resource"] == f"arn:aws:s3:::{bucket}/*"
        assert bucket.startswith(f"osp-{env}-tenant-{slug}-")
    else:
        assert not own & set(by_sid)


def test_configuration_parameter(env, tier):
    plan, slug = tenant_plan(env, tier), SLUG[tier]
    (parameter,) = plan.of_type("aws:ssm/parameter:Parameter")
    assert parameter.inputs["name"] == f"/osp/{env}/tenants/{slug}/config"
    assert parameter.inputs["type"] == "String"
    config = json.loads(parameter.inputs["insecureValue"])
    assert config["slug"] == slug and config["tier"] == tier.value
    assert config["state"] == "provisioning"
    assert config["domains"] == [plan.outputs["hostname"]]


@pytest.mark.parametrize(
    ("env", "multi_az", "protected"), [("dev", False, False), ("prod", True, True)]
)
def test_silo_database(env, multi_az, protected):
    plan = tenant_plan(env, Tier.SILO)
    (instance,) = plan.of_type("aws:rds/instance:Instance")
    inputs = instance.inputs
    assert inputs["identifier"] == f"osp-{env}-tenant-shelbyville-db"
    assert inputs["multiAz"] is multi_az
    assert inputs["deletionProtection"] is protected
    assert instance.options.protect is protected
    assert inputs["skipFinalSnapshot"] is False and inputs["finalSnapshotIdentifier"]
    assert inputs["storageEncrypted"] is True
    assert inputs["kmsKeyId"] == plan.outputs["keyArn"]
    profile = load_tier(Tier.SILO).database.profiles[spec_of(env).profile]
    assert inputs["instanceClass"] == profile.instance_class


def test_silo_key_names_only_the_account_and_its_role(env):
    plan = tenant_plan(env, Tier.SILO)
    (key,) = plan.of_type("aws:kms/key:Key")
    principals = [s["Principal"] for s in statements(key.inputs["policy"]).values()]
    aws = [p["AWS"] for p in principals if "AWS" in p]
    assert aws == ["arn:aws:iam::123456789012:root", plan.outputs["roleArn"]]
    assert key.inputs["enableKeyRotation"] is True
    (bucket,) = plan.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    rule = bucket.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule["kmsMasterKeyId"] == plan.outputs["keyArn"]


def test_silo_namespace_is_bounded_and_default_deny(env):
    plan, spec = tenant_plan(env, Tier.SILO), spec_of(env)
    (ns,) = plan.of_type("kubernetes:core/v1:Namespace")
    assert ns.inputs["metadata"]["name"] == "tenant-shelbyville"
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    (quota,) = plan.of_type("kubernetes:core/v1:ResourceQuota")
    assert quota.inputs["metadata"]["namespace"] == "tenant-shelbyville"
    assert quota.inputs["spec"]["hard"] == load_tier(Tier.SILO).namespace.quota.hard()
    (limits,) = plan.of_type("kubernetes:core/v1:LimitRange")
    assert limits.inputs["spec"]["limits"][0]["type"] == "Container"
    policy = plan.named(f"osp-{env}-tenant-shelbyville-default-deny")
    body = policy.inputs["spec"]
    assert body["podSelector"] == {} and body["policyTypes"] == ["Ingress", "Egress"]
    own, balancer = body["ingress"]
    assert own == {
        "from": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": ns.inputs["metadata"]["name"]}
                }
            }
        ]
    }
    public = subnet_cidrs(spec.network.subnets, spec.zones)["public"]
    assert [peer["ipBlock"]["cidr"] for peer in balancer["from"]] == public
    assert balancer["ports"] == [{"port": 8080, "protocol": "TCP"}]
    # Every Kubernetes object goes through the provider built from the env's kubeconfig.
    (provider,) = plan.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == plan_of(env).outputs["kubeconfig"]
    for kind in ("Namespace", "ResourceQuota", "LimitRange"):
        (resource,) = plan.of_type(f"kubernetes:core/v1:{kind}")
        assert resource.provider == provider.urn


def test_outputs(env, tier):
    outputs = tenant_plan(env, tier).outputs
    assert outputs["tenant"] == SLUG[tier] and outputs["tier"] == tier.value
    assert outputs["blueprintVersion"] == tenant_version(tier, spec_of(env))
    assert outputs["roleName"] == f"osp-{env}-tenant-{SLUG[tier]}"
    silo_only = {"keyArn", "bucketName", "databaseIdentifier", "databaseEndpoint", "namespace"}
    assert silo_only <= set(outputs) if tier is Tier.SILO else not silo_only & set(outputs)


def test_a_custom_domain_is_one_of_the_tenants_urls():
    tenant = tenant_of("ogdenville", Tier.POOL, domain="learn.ogdenville.example.org")
    plan = run(tenant)
    assert plan.outputs["urls"] == [
        "https://ogdenville.dev.osp.example.com",
        "https://learn.ogdenville.example.org",
    ]


def test_the_first_portal_the_blueprint_has_answers_for_the_tenant():
    tenant = tenant_of("ogdenville", Tier.POOL)
    outputs = plan_of("dev", "learning-hub").outputs
    assert "student" not in outputs["portalUrls"]
    plan = offline.run(spec_of("dev", "learning-hub"), lambda s: build(s, tenant, outputs))
    (record,) = plan.of_type("aws:route53/record:Record")
    assert record.inputs["records"] == ["www.dev.osp.example.com"]
    without = {**outputs, "portalUrls": {"admin": "https://admin.dev.osp.example.com"}}
    with pytest.raises(TenantProgramError, match=r"student or www portal, which environment dev"):
        offline.run(spec_of("dev", "learning-hub"), lambda s: build(s, tenant, without))


def test_a_silo_is_refused_where_its_events_would_need_a_broker_of_its_own():
    silo = tenant_of("ogdenville", Tier.SILO)
    outputs = plan_of("dev", "learning-hub").outputs
    with pytest.raises(TenantProgramError) as caught:
        offline.run(spec_of("dev", "learning-hub"), lambda s: build(s, silo, outputs))
    assert str(caught.value) == (
        "tenant ogdenville: the learning-hub blueprint's events travel over RabbitMQ, and a "
        "silo tenant would need a broker (or virtual host) of its own: osp gives silo tenants "
        "their own events over SNS and SQS only; run silo tenants on an sns-sqs blueprint"
    )


def test_an_environment_without_what_the_tier_needs_is_named():
    outputs = {k: v for k, v in plan_of("dev").outputs.items() if k != "dataBuckets"}
    tenant = tenant_of("ogdenville", Tier.POOL)
    with pytest.raises(TenantProgramError) as caught:
        offline.run(spec_of("dev"), lambda s: build(s, tenant, outputs))
    assert str(caught.value) == (
        "tenant ogdenville: the environment dev's outputs have no 'dataBuckets', which the "
        "pool tier needs; run `osp up --env dev` to bring the environment up to date"
    )


def test_silo_kubernetes_objects_are_valid_for_the_cluster(env):
    from tests.app.k8s import custom_resources, manifests, validate_all

    plan = tenant_plan(env, Tier.SILO)
    validated = validate_all(plan, spec_of(env).cluster.kubernetes_version)
    services = len(load_catalogue(spec_of(env).blueprint).services)
    # The namespace's four, each service's six (account, Deployment, Service, autoscaler,
    # disruption budget, policy) and the setup Job's four (account, policy, ConfigMap, Job).
    assert len(validated) == 4 + 6 * services + 4
    bindings = custom_resources(plan)
    assert {m["kind"] for m in bindings} == {"TargetGroupBinding"}
    assert len(validated) + len(bindings) == len(manifests(plan))


def test_a_suspended_silo_no_longer_admits_the_load_balancer():
    tenant = transition(
        replace(tenant_of("shelbyville", Tier.SILO), state=TenantState.ACTIVE),
        TenantState.SUSPENDED,
        actor="al@laptop",
        reason="unpaid invoice",
        now=NOW,
    )
    plan = run(tenant)
    policy = plan.named("osp-dev-tenant-shelbyville-default-deny")
    (own,) = policy.inputs["spec"]["ingress"]
    assert own["from"] == [
        {
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": "tenant-shelbyville"}
            }
        }
    ]
    (parameter,) = plan.of_type("aws:ssm/parameter:Parameter")
    assert json.loads(parameter.inputs["insecureValue"])["state"] == "suspended"
    # Everything else, data included, stays; the services are held at zero pods.
    counts, running = plan.type_counts(), tenant_plan("dev", Tier.SILO).type_counts()
    autoscalers = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
    patches = "kubernetes:apps/v1:DeploymentPatch"
    assert counts.pop(autoscalers, 0) == 0 and counts.pop(patches) == running.pop(autoscalers)
    assert counts == running


def test_the_cluster_nodes_and_only_they_reach_a_silo_database():
    nodes = plan_of("dev").outputs["nodeSecurityGroupId"]
    assert nodes.startswith("sg-")
    rules = tenant_plan("dev", Tier.SILO).of_type(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    )
    assert [r.inputs["referencedSecurityGroupId"] for r in rules] == [nodes]
    assert rules[0].inputs["fromPort"] == rules[0].inputs["toPort"] == 5432


def test_a_blueprint_can_be_given_and_must_be_of_the_tenants_tier():
    text = (files("osp.blueprints") / "tenants" / "pool.yaml").read_text("utf-8")
    account = parse_tier_text(
        text.replace("trusted_by: services", "trusted_by: account"), source="pool.yaml"
    )
    tenant = tenant_of("springfield", Tier.POOL)
    plan = run(tenant, blueprint=account)
    role = plan.named("osp-dev-tenant-springfield-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"]["AWS"] == "arn:aws:iam::123456789012:root"
    assert plan.outputs["blueprintVersion"] == account.version != load_tier(Tier.POOL).version
    with pytest.raises(TenantProgramError, match="tenant springfield is pool: it cannot be given"):
        run(tenant, blueprint=load_tier(Tier.SILO))


def test_the_longest_slug_still_gives_valid_names():
    slug = "a" * 28 + "-b2c"
    tenant = tenant_of(slug, Tier.SILO)
    plan = run(tenant, "staging")
    (bucket,) = plan.of_type("aws:s3/bucket:Bucket")
    (instance,) = plan.of_type("aws:rds/instance:Instance")
    role = plan.named(f"osp-staging-tenant-{slug}-role")
    assert len(bucket.inputs["bucket"]) <= 63 and bucket.inputs["bucket"].startswith("osp-staging")
    assert len(instance.inputs["identifier"]) <= 63
    assert len(role.inputs["name"]) <= 64
    assert plan.outputs["namespace"] == f"tenant-{slug}"
    assert verify({slug: plan, "springfield": tenant_plan("dev", Tier.POOL)}) == []


# --- offboarding: the form of the stack a destroy goes through -------------------------------


@functools.cache
def offboarding_plan(delete_data: bool) -> Plan:
    tenant = tenant_of(SLUG[Tier.SILO], Tier.SILO)
    tenant = transition(tenant, TenantState.ACTIVE, actor="al", reason="provisioned", now=NOW)
    tenant = transition(tenant, TenantState.OFFBOARDING, actor="al", reason="left", now=NOW)
    outputs = plan_of("prod").outputs
    return offline.run(
        spec_of("prod"), lambda spec: build(spec, tenant, outputs, delete_data=delete_data)
    )


@pytest.mark.parametrize("delete_data", [False, True])
def test_offboarding_lifts_protection_and_keeps_the_final_snapshot_and_the_key(delete_data):
    plan = offboarding_plan(delete_data)
    assert not [r.name for r in plan.resources if r.options.protect]  # prod protects them
    (instance,) = plan.of_type("aws:rds/instance:Instance")
    assert instance.inputs["deletionProtection"] is False
    assert instance.inputs["skipFinalSnapshot"] is False
    assert instance.inputs["finalSnapshotIdentifier"] == "osp-prod-tenant-shelbyville-db-final"
    (key,) = plan.of_type("aws:kms/key:Key")
    assert key.options.retain_on_delete is True  # the snapshot is encrypted with it


def test_offboarding_empties_the_bucket_only_with_delete_data():
    kept = offboarding_plan(delete_data=False)
    (bucket,) = kept.of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["forceDestroy"] is False
    # The bucket and everything that secures it stay in AWS, out of the stack.
    own = [
        r for r in kept.resources if r.custom and r.name.startswith(bucket.name[: -len("-bucket")])
    ]
    assert own and all(r.options.retain_on_delete for r in own)
    policy = [r for r in own if r.type == "aws:s3/bucketPolicy:BucketPolicy"]
    assert policy, "the TLS-only bucket policy stays with the kept bucket"

    emptied = offboarding_plan(delete_data=True)
    (bucket,) = emptied.of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["forceDestroy"] is True and not bucket.options.retain_on_delete


def test_while_served_a_silo_bucket_is_never_emptied_by_a_delete():
    (bucket,) = tenant_plan("prod", Tier.SILO).of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["forceDestroy"] is False and not bucket.options.retain_on_delete
    assert bucket.options.protect is True


@pytest.mark.parametrize("delete_data", [False, True])
def test_an_offboarding_never_serves_the_tenant_again(delete_data):
    """The release update before the destroy keeps a suspended tenant closed: were the destroy
    to fail, the school stays refused, never back online."""
    plan = offboarding_plan(delete_data)
    (key,) = plan.of_type("aws:cloudfront/keyvaluestoreKey:KeyvaluestoreKey")
    assert key.inputs["value"] == "suspended"
    assert plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler") == []
    patches = plan.of_type("kubernetes:apps/v1:DeploymentPatch")
    assert patches and all(p.inputs["spec"] == {"replicas": 0} for p in patches)
    for rule in plan.of_type("aws:lb/listenerRule:ListenerRule"):
        (action,) = rule.inputs["actions"]
        assert action["type"] == "fixed-response"
    config = json.loads(plan.of_type("aws:ssm/parameter:Parameter")[0].inputs["insecureValue"])
    assert config["state"] == "offboarding"


def test_a_silo_is_behind_when_the_services_catalogue_changes():
    """A new image (or service) must reach every silo on the next rollout: the silo's version
    follows the catalogue; a pool tenant's only its tier file."""
    from osp.platform.catalogue import load_catalogue

    silo, pool = load_tier(Tier.SILO), load_tier(Tier.POOL)
    catalogue = load_catalogue("osp")
    first = catalogue.services[0]
    bumped = catalogue.model_copy(
        update={"service_map": {**catalogue.service_map, first.name: first.model_copy(
            update={"image": first.image.model_copy(update={"tag": "9.9.9"})})}}
    )  # fmt: skip
    assert silo.stack_version(catalogue) != silo.stack_version(bumped)
    assert silo.stack_version(catalogue) != silo.version
    assert pool.stack_version(catalogue) == pool.stack_version(bumped) == pool.version
