"""The code-learn blueprint (seed 003) in the estate, dev and prod: what the seed names is what
the plan holds — its four services and their flows, PostgreSQL 15 on 100 GiB of gp3, a Redis
cluster watched node by node, RabbitMQ, the t3.medium / m5.large workers — and the
environment's own protective stances still come from its preset.

The per-service checks every blueprint gets (objects, grants naming only the service's own
resources, valid manifests) run over code-learn in tests/stacks/test_services.py.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from osp.platform.catalogue import load_catalogue
from osp.stacks.services import NAMESPACE
from tests.support import plan_of, spec_of

BLUEPRINT = "code-learn"
ENVIRONMENTS = ("dev", "prod")
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
DB = "aws:rds/instance:Instance"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def plan(environment):
    return plan_of(environment, BLUEPRINT)


def env_of(plan, service) -> dict[str, str]:
    (deployment,) = [
        d
        for d in plan.of_type(DEPLOYMENT)
        if d.inputs["metadata"].get("namespace") == NAMESPACE
        and d.inputs["metadata"]["name"] == service
    ]
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def test_the_catalogue_is_the_seeds_four_services_behind_one_gateway():
    catalogue = load_catalogue(BLUEPRINT)
    assert [s.name for s in catalogue.services] == ["api-gateway", "user", "post", "group"]
    assert [(s.name, s.route) for s in catalogue.routed] == [("api-gateway", "/api")]
    for name in ("user", "post", "group"):
        assert catalogue.callers_of(name) == ("api-gateway",)
    assert catalogue.transport == "rabbitmq"
    assert {e.name: (e.publisher, e.consumers) for e in catalogue.events.values()} == {
        "user-updated": ("user", ("post", "group")),
        "post-created": ("post", ("group",)),
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_counts_per_service(environment):
    p = plan(environment)
    per_service = Counter(
        r.inputs["metadata"]["name"]
        for r in p.resources
        if r.type.startswith("kubernetes:")
        and r.type != "kubernetes:helm.sh/v3:Release"
        and r.inputs.get("metadata", {}).get("namespace") == NAMESPACE
        and r.inputs["metadata"].get("name") in {"api-gateway", "user", "post", "group"}
    )
    # ServiceAccount, Deployment, Service, HPA, PDB, NetworkPolicy; the gateway also its
    # TargetGroupBinding.
    assert per_service == {"api-gateway": 7, "user": 6, "post": 6, "group": 6}
    assert [g.name for g in p.of_type("aws:lb/targetGroup:TargetGroup")] == [
        f"osp-{environment}-api-tg-api-gateway"
    ]
    repositories = {r.inputs["name"] for r in p.of_type("aws:ecr/repository:Repository")}
    assert repositories == {
        f"osp-{environment}-services/{s}" for s in ("api-gateway", "user", "post", "group")
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_rabbitmq_carries_the_two_events_to_their_consumers(environment):
    p = plan(environment)
    (broker,) = p.of_type("aws:mq/broker:Broker")
    assert broker.inputs["engineType"] == "RabbitMQ"
    (config,) = [
        c
        for c in p.of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"].startswith("rabbitmq-topology-")
    ]
    topology = json.loads(config.inputs["data"]["topology.json"])
    assert {q["name"] for q in topology["queues"]} == {
        "post.user-updated",
        "post.user-updated.dlq",
        "group.user-updated",
        "group.user-updated.dlq",
        "group.post-created",
        "group.post-created.dlq",
    }
    assert {u["name"] for u in topology["users"]} == {"user", "post", "group"}
    assert env_of(p, "group")["QUEUE_POST_CREATED_NAME"] == "group.post-created"
    assert "RABBITMQ_ENDPOINT" not in env_of(p, "api-gateway")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_postgresql_15_on_100_gib_of_gp3_that_grows(environment):
    p = plan(environment)
    primary = p.named(f"osp-{environment}-postgres-primary").inputs
    assert primary["engine"] == "postgres" and primary["engineVersion"] == "15"
    assert primary["instanceClass"] == "db.t3.medium"
    assert (primary["storageType"], primary["allocatedStorage"]) == ("gp3", 100)
    assert primary["maxAllocatedStorage"] == 1000
    # The stances stay the profile's: Multi-AZ and 35-day backups in prod, 7 days in dev
    # (the seed's 7-day retention, and never less than a profile promises).
    prod = environment == "prod"
    assert primary["multiAz"] is prod
    assert primary["backupRetentionPeriod"] == (35 if prod else 7)
    # §4 "read replicas for read-heavy workloads": one, and the post service reads from it.
    assert len(p.of_type(DB)) == 2
    assert env_of(p, "post")["DATABASE_READ_HOSTS"].startswith(
        f"osp-{environment}-postgres-replica-1."
    )
    assert "DATABASE_READ_HOSTS" not in env_of(p, "user")


@pytest.mark.parametrize(
    ("environment", "replicas", "multi_az"), [("dev", 0, False), ("prod", 2, True)]
)
def test_redis_runs_in_cluster_mode_and_every_node_is_watched(environment, replicas, multi_az):
    p = plan(environment)
    (group,) = p.of_type(GROUP)
    rg = group.inputs
    assert rg["clusterMode"] == "enabled"
    assert (rg["numNodeGroups"], rg["replicasPerNodeGroup"]) == (2, replicas)
    assert rg["nodeType"] == "cache.t3.medium"
    assert rg["automaticFailoverEnabled"] is True and rg["multiAzEnabled"] is multi_az
    assert rg["transitEncryptionMode"] == "required" and rg["atRestEncryptionEnabled"] is True
    params = p.named(f"osp-{environment}-redis-params").inputs
    assert params["parameters"] == [{"name": "cluster-enabled", "value": "yes"}]
    assert rg["parameterGroupName"] == params["name"]
    nodes = 2 * (1 + replicas)
    alarms = {a.name: a for a in p.of_type(ALARM) if "-monitoring-redis-" in a.name}
    assert set(alarms) == {
        f"osp-{environment}-monitoring-redis-{n}-{metric}"
        for n in range(1, nodes + 1)
        for metric in ("memory", "engine-cpu")
    }
    members = {
        alarm.inputs["dimensions"]["CacheClusterId"]
        for alarm in alarms.values()
        if "dimensions" in alarm.inputs
    }
    assert members == {
        f"osp-{environment}-redis-{shard:04d}-{node:03d}"
        for shard in (1, 2)
        for node in range(1, replicas + 2)
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_services_reach_the_cache_through_its_configuration_endpoint(environment):
    p = plan(environment)
    for service in ("user", "post", "group"):
        env = env_of(p, service)
        assert env["REDIS_HOST"].startswith(f"clustercfg.osp-{environment}-redis.")
        assert env["REDIS_CLUSTER_MODE"] == "true" and env["REDIS_TLS"] == "true"
        assert "REDIS_READER_HOST" not in env
    assert not {k for k in env_of(p, "api-gateway") if k.startswith("REDIS_")}
    assert p.outputs["redisConfigurationEndpoint"].startswith("clustercfg.")


@pytest.mark.parametrize(("environment", "capacity"), [("dev", "SPOT"), ("prod", "ON_DEMAND")])
def test_the_workers_are_the_seeds_node_group(environment, capacity):
    p = plan(environment)
    workload = p.named(f"osp-{environment}-eks-workload").inputs
    assert workload["instanceTypes"] == ["t3.medium", "m5.large"]
    assert workload["scalingConfig"] == {"minSize": 2, "maxSize": 10, "desiredSize": 3}
    assert workload["capacityType"] == capacity
    # The managed group instead of Karpenter, which would choose instance types itself.
    assert not p.of_type("osp:karpenter:Karpenter")
    assert len(p.of_type(NODE_GROUP)) == 2  # system and workload


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_edge_is_route_53_cloudfront_and_waf_in_front_of_the_alb(environment):
    p = plan(environment)
    assert p.of_type("aws:route53/zone:Zone")
    assert {d.name for d in p.of_type("aws:cloudfront/distribution:Distribution")} == {
        f"osp-{environment}-api-cdn-distribution",
        f"osp-{environment}-www-portal-distribution",
    }
    assert len(p.of_type("aws:wafv2/webAcl:WebAcl")) == 2  # CloudFront's and the ALB's
    assert len(p.of_type("aws:lb/loadBalancer:LoadBalancer")) == 1


def test_the_spec_takes_the_blueprints_infrastructure_under_the_stack_file():
    spec = spec_of("prod", BLUEPRINT)
    assert spec.database.engine_version == "15"
    assert spec.cache.cluster_mode is True and spec.cache.shards == 2
    assert spec.cluster.karpenter.enabled is False
    # The stack file's own keys and the preset's stances are untouched.
    assert spec.cluster.admin_role_arns and spec.deletion_protection is True
    assert spec.cache.replicas == 2 and spec.database.multi_az is True
