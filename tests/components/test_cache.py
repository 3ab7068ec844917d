"""`Redis` through the offline engine: exact children, encryption, AUTH, reach, protection."""

from __future__ import annotations

import json

import pytest

from osp.components.cache import (
    CacheEngine,
    Redis,
    RedisArgs,
    auth_document,
    engine_family,
    node_family,
    problems,
)
from osp.platform.validation import InvalidArguments
from tests.support import custom_counts, plan_component

TAGS = {"osp:environment": "t", "osp:component": "cache", "osp:blueprint": "osp",
        "osp:managed-by": "osp"}  # fmt: skip
KEY = "arn:aws:kms:us-east-1:123456789012:key/"
CLIENTS = ("sg-0eks0nodes000000a", "sg-0eks0pods0000000b")
GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

DEV = {
    "node_type": "cache.t4g.small",
    "replicas_per_shard": 0,
    "multi_az": False,
    "snapshot_retention_days": 1,
    "deletion_protection": False,
    "secret_recovery_window_days": 0,
}
PROD = {
    "node_type": "cache.r7g.large",
    "replicas_per_shard": 2,
    "multi_az": True,
    "snapshot_retention_days": 7,
    "deletion_protection": True,
    "log_retention_days": 365,
    "secret_recovery_window_days": 30,
}


def redis_args(**overrides) -> RedisArgs:
    return RedisArgs(
        **{
            "vpc_id": "vpc-0123456789abcdef0",
            "cache_subnet_group_name": "osp-t-isolated",
            "client_security_group_ids": CLIENTS,
            "kms_key_arn": KEY + "data",
            "secrets_kms_key_arn": KEY + "secrets",
            "logs_kms_key_arn": KEY + "logs",
            "tags": TAGS,
            **DEV,
            **overrides,
        }
    )


def plan_redis(name: str = "osp-t-cache", **overrides):
    return plan_component(Redis, redis_args(**overrides), name=name)


@pytest.fixture(scope="module")
def dev():
    return plan_redis()


@pytest.fixture(scope="module")
def prod():
    return plan_redis(**PROD)


def group(plan):
    (rg,) = plan.of_type(GROUP)
    return rg.inputs


# -- children --------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_children(fixture, request):
    plan = request.getfixturevalue(fixture)
    assert custom_counts(plan) == {
        "ec2/securityGroup": 1,
        "vpc/securityGroupIngressRule": 2,  # one per client group
        "cloudwatch/logGroup": 2,  # slow-log, engine-log
        "index/randomPassword": 1,
        "elasticache/replicationGroup": 1,
        "secretsmanager/secret": 1,
        "secretsmanager/secretVersion": 1,
    }
    component = plan.named("osp-t-cache")
    assert component.type == "osp:cache:Redis"
    assert all(r.parent == component.urn for r in plan.resources if r.custom)
    assert {r.name for r in plan.resources if r.custom} == {
        "osp-t-cache-sg",
        "osp-t-cache-from-client-0",
        "osp-t-cache-from-client-1",
        "osp-t-cache-slow-log",
        "osp-t-cache-engine-log",
        "osp-t-cache-auth-token",
        "osp-t-cache-replication-group",
        "osp-t-cache-auth-secret",
        "osp-t-cache-auth-secret-version",
    }


# -- the replication group -------------------------------------------------------------


def test_dev_is_one_node_without_failover(dev):
    rg = group(dev)
    assert rg["numCacheClusters"] == 1
    assert rg["automaticFailoverEnabled"] is False and rg["multiAzEnabled"] is False
    assert rg["nodeType"] == "cache.t4g.small"
    assert rg["snapshotRetentionLimit"] == 1


def test_prod_has_two_replicas_across_zones(prod):
    rg = group(prod)
    assert rg["numCacheClusters"] == 3
    assert rg["automaticFailoverEnabled"] is True and rg["multiAzEnabled"] is True
    assert rg["nodeType"] == "cache.r7g.large"
    assert rg["snapshotRetentionLimit"] == 7


def test_multi_az_follows_replicas_when_not_given():
    assert group(plan_redis(replicas_per_shard=1, multi_az=None))["multiAzEnabled"] is True
    assert group(plan_redis(replicas_per_shard=0, multi_az=None))["multiAzEnabled"] is False


def test_multi_az_can_be_turned_off_with_replicas_keeping_failover():
    rg = group(plan_redis(replicas_per_shard=1, multi_az=False))
    assert rg["multiAzEnabled"] is False and rg["automaticFailoverEnabled"] is True


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_cluster_mode_disabled_engine_and_identity(fixture, request):
    rg = group(request.getfixturevalue(fixture))
    assert rg["replicationGroupId"] == "osp-t-cache"
    assert rg["clusterMode"] == "disabled"
    assert "numNodeGroups" not in rg and "replicasPerNodeGroup" not in rg
    assert (rg["engine"], rg["engineVersion"]) == ("redis", "7.1")
    assert rg["parameterGroupName"] == "default.redis7"
    assert rg["port"] == 6379
    assert rg["subnetGroupName"] == "osp-t-isolated"


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_encrypted_in_transit_and_at_rest_with_the_customer_key(fixture, request):
    rg = group(request.getfixturevalue(fixture))
    assert rg["transitEncryptionEnabled"] is True
    assert rg["transitEncryptionMode"] == "required"
    assert rg["atRestEncryptionEnabled"] is True
    assert rg["kmsKeyId"] == KEY + "data"


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_auth_token_is_the_generated_secret(fixture, request):
    plan = request.getfixturevalue(fixture)
    rg = plan.named("osp-t-cache-replication-group")
    password = plan.named("osp-t-cache-auth-token")
    assert rg.inputs["authToken"] == "<secret>"
    assert rg.property_dependencies["authToken"] == (password.urn,)
    assert password.inputs == {"length": 64, "special": False}


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_maintenance_snapshots_and_upgrades(fixture, request):
    rg = group(request.getfixturevalue(fixture))
    assert rg["snapshotWindow"] == "03:00-05:00"
    assert rg["maintenanceWindow"] == "sun:05:30-sun:06:30"
    assert rg["autoMinorVersionUpgrade"] is True
    assert rg["applyImmediately"] is False
    assert rg["finalSnapshotIdentifier"] == "osp-t-cache-final"


def test_logs_are_delivered_to_encrypted_log_groups(prod):
    rg = prod.named("osp-t-cache-replication-group")
    assert rg.inputs["logDeliveryConfigurations"] == [
        {
            "destination": f"/aws/elasticache/osp-t-cache/{log_type}",
            "destinationType": "cloudwatch-logs",
            "logFormat": "json",
            "logType": log_type,
        }
        for log_type in ("slow-log", "engine-log")
    ]
    for log_type in ("slow-log", "engine-log"):
        log_group = prod.named(f"osp-t-cache-{log_type}")
        assert log_group.inputs["name"] == f"/aws/elasticache/osp-t-cache/{log_type}"
        assert log_group.inputs["retentionInDays"] == 365
        assert log_group.inputs["kmsKeyId"] == KEY + "logs"
        assert log_group.urn in rg.property_dependencies["logDeliveryConfigurations"]


def test_log_retention_defaults_to_thirty_days(dev):
    assert dev.named("osp-t-cache-slow-log").inputs["retentionInDays"] == 30


# -- parameters and engines ------------------------------------------------------------


def test_parameters_get_a_group_of_the_engine_family():
    plan = plan_redis(parameters={"maxmemory-policy": "volatile-lru", "timeout": "300"})
    params = plan.named("osp-t-cache-params")
    assert params.type == "aws:elasticache/parameterGroup:ParameterGroup"
    assert params.inputs["family"] == "redis7"
    assert params.inputs["name"] == "osp-t-cache-redis7"
    assert params.inputs["parameters"] == [
        {"name": "maxmemory-policy", "value": "volatile-lru"},
        {"name": "timeout", "value": "300"},
    ]
    assert params.inputs["tags"] == {"Name": "osp-t-cache-params", **TAGS}
    rg = plan.named("osp-t-cache-replication-group")
    assert rg.inputs["parameterGroupName"] == "osp-t-cache-redis7"
    assert rg.property_dependencies["parameterGroupName"] == (params.urn,)


@pytest.mark.parametrize(
    ("engine", "version", "expected_version", "family"),
    [
        (CacheEngine.VALKEY, None, "8.0", "valkey8"),
        ("valkey", "7.2", "7.2", "valkey7"),
        (CacheEngine.REDIS, "7.0", "7.0", "redis7"),
    ],
)
def test_valkey_and_versions(engine, version, expected_version, family):
    rg = group(plan_redis(engine=engine, engine_version=version))
    assert rg["engine"] == str(engine)
    assert rg["engineVersion"] == expected_version
    assert rg["parameterGroupName"] == f"default.{family}"


def test_engine_family():
    assert engine_family(CacheEngine.REDIS, "7.1") == "redis7"
    assert engine_family(CacheEngine.VALKEY, "8.0") == "valkey8"
    assert engine_family(CacheEngine.VALKEY, "7.2") == "valkey7"


def test_r6gd_nodes_declare_data_tiering():
    assert group(plan_redis(node_type="cache.r6gd.xlarge"))["dataTieringEnabled"] is True


def test_long_names_fit_the_replication_group_id():
    name = "osp-staging-tenant-springfield-high-school-cache"
    plan = plan_redis(name)
    rg_id = plan.named(f"{name}-replication-group").inputs["replicationGroupId"]
    assert len(rg_id) <= 40 and rg_id.startswith("osp-staging-tenant")


# -- the AUTH secret -------------------------------------------------------------------


def test_secret_is_encrypted_and_holds_the_connection_document(prod):
    secret = prod.named("osp-t-cache-auth-secret")
    assert secret.inputs["kmsKeyId"] == KEY + "secrets"
    assert secret.inputs["recoveryWindowInDays"] == 30
    assert secret.inputs["name"] == "osp-t-cache-auth-token"
    version = prod.named("osp-t-cache-auth-secret-version")
    assert version.inputs["secretString"] == "<secret>"
    assert version.property_dependencies["secretId"] == (secret.urn,)
    assert set(version.property_dependencies["secretString"]) == {
        prod.named("osp-t-cache-auth-token").urn,
        prod.named("osp-t-cache-replication-group").urn,
    }


def test_secret_recovery_window_comes_from_args(dev):
    assert dev.named("osp-t-cache-auth-secret").inputs["recoveryWindowInDays"] == 0


def test_auth_document_in_cluster_mode_names_the_configuration_endpoint_only():
    text = auth_document(
        engine="redis",
        host="clustercfg.x",
        reader_host="",
        port=6379,
        auth_token="t0k",
        cluster_mode=True,
    )
    assert json.loads(text) == {
        "engine": "redis",
        "host": "clustercfg.x",
        "port": 6379,
        "tls": True,
        "auth_token": "t0k",
        "cluster_mode": True,
    }


def test_auth_document():
    text = auth_document(
        engine="redis", host="master.x", reader_host="replica.x", port=6379, auth_token="t0k"
    )
    assert json.loads(text) == {
        "engine": "redis",
        "host": "master.x",
        "reader_host": "replica.x",
        "port": 6379,
        "tls": True,
        "auth_token": "t0k",
    }


# -- network reach ---------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_only_client_groups_reach_6379(fixture, request):
    plan = request.getfixturevalue(fixture)
    sg = plan.named("osp-t-cache-sg")
    assert sg.inputs["vpcId"] == "vpc-0123456789abcdef0"
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs
    rules = sorted(plan.of_type(INGRESS), key=lambda r: r.name)
    assert [r.inputs["referencedSecurityGroupId"] for r in rules] == list(CLIENTS)
    for rule in rules:
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
            "tcp",
            6379,
            6379,
        )
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
        assert "prefixListId" not in rule.inputs
        assert rule.property_dependencies["securityGroupId"] == (sg.urn,)
    assert plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") == []
    rg = plan.named("osp-t-cache-replication-group")
    assert rg.property_dependencies["securityGroupIds"] == (sg.urn,)


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_nothing_is_open_to_the_world(fixture, request):
    for resource in request.getfixturevalue(fixture).resources:
        text = json.dumps(resource.inputs)
        assert "0.0.0.0/0" not in text and "::/0" not in text


def test_no_clients_means_no_ingress():
    plan = plan_redis(client_security_group_ids=())
    assert plan.of_type(INGRESS) == []


# -- protection and tags ---------------------------------------------------------------


def test_dev_is_not_protected(dev):
    assert not any(r.options.protect for r in dev.resources)


def test_prod_protects_the_group_and_its_secret_only(prod):
    assert {r.name for r in prod.resources if r.options.protect} == {
        "osp-t-cache-replication-group",
        "osp-t-cache-auth-secret",
    }


@pytest.mark.parametrize("fixture", ["dev", "prod"])
def test_every_taggable_resource_is_tagged(fixture, request):
    plan = request.getfixturevalue(fixture)
    untaggable = {
        "random:index/randomPassword:RandomPassword",
        "aws:secretsmanager/secretVersion:SecretVersion",
    }
    for resource in plan.resources:
        if resource.custom and resource.type not in untaggable:
            assert resource.inputs["tags"] == {"Name": resource.name, **TAGS}, resource.name


# -- bad args --------------------------------------------------------------------------

LOG_PERIODS = ("1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, "
               "2557, 2922, 3288, 3653")  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"multi_az": True, "replicas_per_shard": 0},
         "multi_az: requires replicas_per_shard >= 1; got 0"),
        ({"replicas_per_shard": 6}, "replicas_per_shard: got 6; expected an integer from 0 to 5"),
        ({"replicas_per_shard": -1},
         "replicas_per_shard: got -1; expected an integer from 0 to 5"),
        ({"node_type": "db.r6g.large"}, "node_type: got 'db.r6g.large'; expected an ElastiCache "
         "node type such as cache.t4g.small or cache.r7g.large"),
        ({"node_type": "cache.r7g"}, "node_type: got 'cache.r7g'; expected an ElastiCache node "
         "type such as cache.t4g.small or cache.r7g.large"),
        ({"engine": "memcached"}, "engine: got 'memcached'; expected one of redis, valkey"),
        ({"engine_version": "6.2"},
         "engine_version: got '6.2'; expected a redis 7 version such as 7.1"),
        ({"engine": CacheEngine.VALKEY, "engine_version": "7.1"},
         "engine_version: got '7.1'; expected a valkey version: 7.2 or 8.0"),
        ({"snapshot_retention_days": 0},
         "snapshot_retention_days: got 0; expected an integer from 1 to 35"),
        ({"snapshot_retention_days": 36},
         "snapshot_retention_days: got 36; expected an integer from 1 to 35"),
        ({"secret_recovery_window_days": 5},
         "secret_recovery_window_days: got 5; expected 0 (delete at once) or 7 to 30"),
        ({"secret_recovery_window_days": 31},
         "secret_recovery_window_days: got 31; expected 0 (delete at once) or 7 to 30"),
        ({"log_retention_days": 10},
         f"log_retention_days: got 10; expected a CloudWatch Logs retention period: {LOG_PERIODS}"),
        ({"snapshot_window": "3:00-5:00"}, "snapshot_window: got '3:00-5:00'; expected a daily "
         "UTC window hh:mm-hh:mm such as 03:00-04:00"),
        ({"snapshot_window": "03:00-03:30"},
         "snapshot_window: got '03:00-03:30'; expected a window of at least 60 minutes"),
        ({"maintenance_window": "sunday:05:30"}, "maintenance_window: got 'sunday:05:30'; "
         "expected a weekly UTC window ddd:hh:mm-ddd:hh:mm such as sun:04:30-sun:05:30"),
        ({"maintenance_window": "xyz:05:30-xyz:06:30"}, "maintenance_window: got "
         "'xyz:05:30-xyz:06:30'; expected a weekly UTC window ddd:hh:mm-ddd:hh:mm such as "
         "sun:04:30-sun:05:30"),
        ({"maintenance_window": "wed:04:00-wed:05:00"},
         "maintenance_window: got 'wed:04:00-wed:05:00'; expected a window that does not "
         "overlap snapshot_window '03:00-05:00'"),
        ({"parameters": {"cluster-enabled": "yes"}}, "parameters['cluster-enabled']: got 'yes'; "
         "expected no such parameter: cluster_mode turns cluster mode on or off"),
        ({"shards": 3}, "shards: more than 1 requires cluster_mode; got 3"),
        ({"cluster_mode": True, "shards": 0},
         "shards: got 0; expected an integer from 1 to 500"),
        ({"cluster_mode": True, "shards": 501},
         "shards: got 501; expected an integer from 1 to 500"),
        ({"cluster_mode": True, "shards": 100, "replicas_per_shard": 5},
         "shards: 100 shards of 6 nodes make 600 nodes; expected at most 500 in one "
         "replication group"),
        ({"parameters": {"timeout": 300}},
         "parameters['timeout']: got 300; expected a named parameter with a str value"),
        ({"client_security_group_ids": ("sg-1", "sg-1")},
         "client_security_group_ids: got ['sg-1', 'sg-1']; expected each security group "
         "at most once"),
    ],
)  # fmt: skip
def test_refuses_bad_args(overrides, message):
    with pytest.raises(InvalidArguments) as caught:
        plan_redis(**overrides)
    assert caught.value.problems == [f"Redis osp-t-cache: {message}"]


def test_reports_every_problem_at_once():
    found = problems(
        "c", redis_args(node_type="m5.large", replicas_per_shard=9, snapshot_retention_days=0)
    )
    assert [p.split(":")[1].strip() for p in found] == [
        "node_type",
        "replicas_per_shard",
        "snapshot_retention_days",
    ]


def test_node_family():
    assert node_family("cache.r6gd.xlarge") == "r6gd"
    assert node_family("cache.t4g.small") == "t4g"


@pytest.mark.parametrize(
    ("snapshot", "maintenance"),
    [
        ("03:00-05:00", "sun:05:30-sun:06:30"),  # the defaults
        ("23:00-01:00", "mon:01:00-mon:02:00"),  # snapshot crosses midnight, meets at the edge
        ("06:00-07:00", "sat:23:30-sun:05:00"),  # maintenance crosses a day
        ("06:00-07:00", "sat:23:30-sun:00:30"),  # maintenance crosses the week's end
    ],
)
def test_windows_that_do_not_overlap(snapshot, maintenance):
    args = redis_args(snapshot_window=snapshot, maintenance_window=maintenance)
    assert problems("c", args) == []


@pytest.mark.parametrize(
    ("snapshot", "maintenance"),
    [
        ("23:00-01:00", "mon:00:30-mon:01:30"),  # snapshot crosses midnight into it
        ("00:00-01:00", "sat:23:30-sun:00:30"),  # maintenance crosses the week's end into it
        ("10:00-11:00", "tue:09:00-thu:09:00"),  # a long maintenance window covers days
        ("04:00-05:00", "fri:03:00-fri:06:00"),  # snapshot inside maintenance
    ],
)
def test_windows_that_overlap(snapshot, maintenance):
    args = redis_args(snapshot_window=snapshot, maintenance_window=maintenance)
    assert problems("c", args) == [
        f"Redis c: maintenance_window: got {maintenance!r}; expected a window that does not "
        f"overlap snapshot_window {snapshot!r}"
    ]


# -- cluster mode ----------------------------------------------------------------------

#: Seed 003's cache (the code-learn blueprint's prod): cluster mode, two shards, two replicas
#: of each primary across zones.
CLUSTER = {
    **PROD,
    "node_type": "cache.t3.medium",
    "cluster_mode": True,
    "shards": 2,
}


@pytest.fixture(scope="module")
def cluster():
    return plan_component(
        Redis,
        redis_args(**CLUSTER),
        name="osp-t-cache",
        exports=("address", "member_clusters"),
    )


def test_cluster_mode_splits_the_keyspace_over_shards(cluster):
    rg = group(cluster)
    assert rg["clusterMode"] == "enabled"
    assert rg["numNodeGroups"] == 2
    assert rg["replicasPerNodeGroup"] == 2
    assert "numCacheClusters" not in rg
    assert rg["automaticFailoverEnabled"] is True and rg["multiAzEnabled"] is True
    assert rg["nodeType"] == "cache.t3.medium"
    # Everything else holds as without cluster mode.
    assert rg["transitEncryptionMode"] == "required" and rg["atRestEncryptionEnabled"] is True
    assert rg["kmsKeyId"] == KEY + "data"
    assert rg["authToken"] == "<secret>"
    assert rg["snapshotRetentionLimit"] == 7


def test_cluster_mode_has_its_own_parameter_group_with_cluster_enabled(cluster):
    params = cluster.named("osp-t-cache-params")
    assert params.type == "aws:elasticache/parameterGroup:ParameterGroup"
    assert params.inputs["family"] == "redis7"
    assert params.inputs["name"] == "osp-t-cache-redis7"
    assert params.inputs["parameters"] == [{"name": "cluster-enabled", "value": "yes"}]
    rg = cluster.named("osp-t-cache-replication-group")
    assert rg.inputs["parameterGroupName"] == "osp-t-cache-redis7"
    assert rg.property_dependencies["parameterGroupName"] == (params.urn,)


def test_cluster_mode_keeps_the_callers_parameters_beside_cluster_enabled():
    plan = plan_redis(**CLUSTER, parameters={"maxmemory-policy": "allkeys-lru"})
    assert plan.named("osp-t-cache-params").inputs["parameters"] == [
        {"name": "cluster-enabled", "value": "yes"},
        {"name": "maxmemory-policy", "value": "allkeys-lru"},
    ]


def test_cluster_mode_without_replicas_still_has_automatic_failover():
    rg = group(plan_redis(cluster_mode=True, shards=3, replicas_per_shard=0, multi_az=False))
    assert (rg["numNodeGroups"], rg["replicasPerNodeGroup"]) == (3, 0)
    assert rg["automaticFailoverEnabled"] is True and rg["multiAzEnabled"] is False


def test_cluster_mode_with_one_shard_is_a_cluster_all_the_same():
    rg = group(plan_redis(cluster_mode=True))
    assert (rg["clusterMode"], rg["numNodeGroups"]) == ("enabled", 1)


def test_clients_get_the_configuration_endpoint_and_every_member(cluster):
    assert cluster.outputs["address"].startswith("clustercfg.osp-t-cache.")
    # Alarms watch each node: every shard's primary and replicas.
    assert cluster.outputs["member_clusters"] == [
        f"osp-t-cache-{shard:04d}-{node:03d}" for shard in (1, 2) for node in (1, 2, 3)
    ]


def test_without_cluster_mode_clients_get_the_primary_endpoint():
    plan = plan_component(
        Redis, redis_args(**PROD), name="osp-t-cache", exports=("address", "member_clusters")
    )
    assert plan.outputs["address"].startswith("master.osp-t-cache.")
    assert plan.outputs["member_clusters"] == [f"osp-t-cache-00{n}" for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("overrides", "nodes"),
    [({}, 1), (PROD, 3), (CLUSTER, 6), ({"cluster_mode": True, "shards": 4}, 4)],
)
def test_node_count_is_every_shards_primary_and_replicas(overrides, nodes):
    from osp.components.cache import node_count

    assert node_count(redis_args(**overrides)) == nodes


def test_cluster_secret_document_depends_on_the_group(cluster):
    version = cluster.named("osp-t-cache-auth-secret-version")
    assert version.inputs["secretString"] == "<secret>"
    assert (
        cluster.named("osp-t-cache-replication-group").urn
        in (version.property_dependencies["secretString"])
    )
